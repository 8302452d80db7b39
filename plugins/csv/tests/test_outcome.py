"""The outcome column: a call or meeting that did not take place as a conversation is missed."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from engage.models import Channel
from engage.testing import Project, Pull
from engage_csv.fields import FieldError, parse_outcome

Write = Callable[..., Path]
PullFn = Callable[..., Pull]

MISSED = [
    "missed",
    "no answer",
    "no-answer",
    "No_Answer",
    "unanswered",
    "voicemail",
    "Left Voicemail",
    "left message",
    "BUSY",
    "not reached",
    "Missed Call",
    "missed-call",
    " no  show ",
]
HELD = ["", "  ", "connected", "Completed", "answered", "held", "reached", "DONE"]


class TestParseOutcome:
    """outcome cells."""

    @pytest.mark.parametrize("text", MISSED)
    def test_missed(self, text: str) -> None:
        """Missed-call words, in any case, with spaces, underscores or hyphens: missed."""
        assert parse_outcome(text) is True

    @pytest.mark.parametrize("text", HELD)
    def test_took_place(self, text: str) -> None:
        """Words for a conversation, and an empty cell: not missed."""
        assert parse_outcome(text) is False

    def test_unknown_lists_accepted_values(self) -> None:
        """An unknown outcome names every accepted value, missed ones and held ones apart."""
        with pytest.raises(FieldError) as error:
            parse_outcome("rescheduled")
        assert str(error.value) == (
            "unknown outcome; expected one of: missed, missed call, no answer, unanswered, "
            "voicemail, left voicemail, left message, busy, not reached, no show (missed) "
            "or connected, completed, answered, held, reached, done (took place)"
        )


class TestOutcomeColumn:
    """The column in a file: found by name or mapped, read for calls and meetings."""

    def test_an_outcome_header_is_found_by_its_name(self, write: Write, pull: PullFn) -> None:
        """A column headed Outcome is read without mapping; missed calls are marked missed."""
        write(
            "t.csv",
            "occurred_at,email,channel,direction,Outcome\n"
            "2024-03-05T10:00Z,jo@acme.com,call,out,No answer\n"
            "2024-03-05T11:00Z,jo@acme.com,call,in,voicemail\n"
            "2024-03-06T10:00Z,jo@acme.com,call,out,connected\n"
            "2024-03-07T10:00Z,jo@acme.com,meeting,out,no show\n"
            "2024-03-08T10:00Z,jo@acme.com,meeting,out,\n",
        )
        result = pull(path="t.csv")
        assert result.problems == []
        assert [tp.missed for tp in result.touchpoints] == [True, True, False, True, False]

    @pytest.mark.parametrize("header", ["Call outcome", "Disposition", "Result"])
    def test_other_headers_are_mapped_with_columns(
        self, write: Write, pull: PullFn, header: str
    ) -> None:
        """CRM headers such as Call outcome or Disposition are mapped in columns."""
        write(
            "t.csv",
            f"occurred_at,email,channel,{header}\n2024-03-05T10:00Z,jo@acme.com,call,Busy\n",
        )
        [tp] = pull(path="t.csv", columns={"outcome": header}).touchpoints
        assert (tp.channel, tp.missed) == (Channel.CALL, True)

    def test_other_channels_ignore_a_missed_outcome(self, write: Write, pull: PullFn) -> None:
        """Only a call or a meeting can be missed: an email marked no answer is a plain email."""
        write(
            "t.csv",
            "occurred_at,email,channel,outcome\n"
            "2024-03-05T10:00Z,jo@acme.com,email,no answer\n"
            "2024-03-05T11:00Z,jo@acme.com,note,missed\n",
        )
        result = pull(path="t.csv")
        assert result.problems == []
        assert [tp.missed for tp in result.touchpoints] == [False, False]

    def test_without_the_column_nothing_is_missed(self, write: Write, pull: PullFn) -> None:
        """A file with no outcome column reads every call as held."""
        write("t.csv", "occurred_at,email,channel\n2024-03-05T10:00Z,jo@acme.com,call\n")
        [tp] = pull(path="t.csv").touchpoints
        assert tp.missed is False

    def test_an_unknown_outcome_is_a_bad_row(self, write: Write, pull: PullFn) -> None:
        """An unknown value is FILE:LINE: outcome: ... (got 'value'); the rows around it load."""
        write(
            "t.csv",
            "occurred_at,email,channel,outcome\n"
            "2024-03-05T10:00Z,jo@acme.com,call,connected\n"
            "2024-03-06T10:00Z,jo@acme.com,call,maybe later\n"
            "2024-03-07T10:00Z,jo@acme.com,call,busy\n",
        )
        result = pull(path="t.csv")
        assert len(result.touchpoints) == 2
        [problem] = result.problems
        assert problem.startswith("t.csv:3: outcome: unknown outcome; expected one of: missed,")
        assert '(took place); or map it: values = { outcome = { "maybe later" = "?" } }' in problem
        assert problem.endswith("(got 'maybe later')")

    def test_correcting_an_outcome_keeps_the_touchpoint_id(
        self, write: Write, pull: PullFn
    ) -> None:
        """Without an id column the row's id ignores the outcome, so a correction updates it."""
        write("t.csv", "occurred_at,email,channel,outcome\n2024-03-05T10:00Z,jo@acme.com,call,\n")
        [before] = pull(path="t.csv").touchpoints
        write(
            "t.csv",
            "occurred_at,email,channel,outcome\n2024-03-05T10:00Z,jo@acme.com,call,no answer\n",
        )
        [after] = pull(path="t.csv").touchpoints
        write("t.csv", "occurred_at,email,channel\n2024-03-05T10:00Z,jo@acme.com,call\n")
        [plain] = pull(path="t.csv").touchpoints
        assert before.external_id == after.external_id == plain.external_id
        assert (before.missed, after.missed) == (False, True)


CONFIG = """
[sources.export]
plugin = "csv"
path = "export.csv"
columns = { occurred_at = "Activity Date", email = "Contact Email", channel = "Type", outcome = "Call outcome" }
"""


def test_engage_sync_stores_missed_calls(csv_project: Project) -> None:
    """Through the CLI and the entry point: the missed call is stored as missed, the other not."""
    csv_project.config(CONFIG)
    csv_project.write(
        "export.csv",
        "id,Activity Date,Contact Email,Type,Direction,Call outcome\n"
        "c1,2026-02-20 09:00,jane@acme.com,Call,out,Left voicemail\n"
        "c2,2026-02-21 09:00,jane@acme.com,Call,in,Answered\n",
    )
    run = csv_project.run("sync", "--as-of", "2026-03-01")
    assert run.code == 0, run.stderr
    with closing(sqlite3.connect(csv_project.path / "engage.db")) as db:
        rows = db.execute("SELECT external_id, missed FROM touchpoints ORDER BY external_id")
        assert list(rows) == [("c1", 1), ("c2", 0)]
