"""No touchpoints from the future: a date past the real clock (and a day's grace) is a bad record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

import engage
from engage.adapters import FUTURE_TOLERANCE, Checkpoint, SourceItem, future_problem
from engage.cli import App, cli
from engage.cursors import unseal
from engage.models import Touchpoint
from engage.plugins import make_plugin_manager
from engage.pull import pull_source
from engage.store.sqlite import SQLiteStore
from tests.support import fakeplugins

CONFIG = """
store = "engage.db"
internal_domains = ["ourco.com"]

[sources.feed]
plugin = "jsonl"
path = "touchpoints.jsonl"

[sinks.remote]
plugin = "jsonfile"
path = "remote.json"
"""


def line(external_id: str, occurred_at: str, **changes: str) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "customer": "acme.com",
        "occurred_at": occurred_at,
        "channel": "email",
        "direction": "inbound",
        "contact_email": "jane@acme.com",
        "owner": "alice@ourco.com",
        **changes,
    }


HISTORY = [
    line("1", "2025-06-01T10:00:00+00:00", channel="meeting", direction="outbound"),
    line("2", "2026-02-20T10:00:00+00:00"),
]


def project(root: Path, lines: list[dict[str, Any]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "engage.toml").write_text(CONFIG)
    (root / "touchpoints.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return root / "engage.toml"


def run(config: Path, *args: str) -> Any:
    pm = make_plugin_manager(entry_points=False)
    pm.register(fakeplugins, name="testkit")
    return CliRunner().invoke(cli, ["--config", str(config), *args], obj=App(None, pm=pm))


class TestSync:
    """engage sync refuses touchpoints dated after the real clock, whatever --as-of says."""

    def test_a_touchpoint_from_the_future_is_a_problem_and_the_rest_lands(
        self, tmp_path: Path
    ) -> None:
        """A year-3609 typo is counted in problems with its source and id; the others are stored."""
        config = project(tmp_path, [*HISTORY, line("row-17", "3609-01-01T00:00:00+00:00")])
        result = run(config, "sync", "--json", "--as-of", "2026-03-01")
        assert result.exit_code == 0, result.stderr
        feed = json.loads(result.stdout)["sources"]["feed"]
        assert (feed["records"], feed["errors"]) == (2, 1)
        assert feed["messages"] == [
            "feed: touchpoint 'row-17': occurred_at: in the future (got '3609-01-01T00:00:00+00:00')"
        ]
        store = SQLiteStore(tmp_path / "engage.db")
        try:
            assert store.touchpoint_count() == 2
        finally:
            store.close()

    def test_as_of_in_the_future_does_not_move_the_real_clock(self, tmp_path: Path) -> None:
        """--as-of 3700 evaluates then, but the 3609 touchpoint is still refused on reading."""
        config = project(tmp_path, [*HISTORY, line("row-17", "3609-01-01T00:00:00+00:00")])
        result = run(config, "sync", "--json", "--as-of", "3700-01-01")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["sources"]["feed"]["errors"] == 1

    def test_touchpoints_after_a_past_as_of_are_stored_and_not_counted(
        self, tmp_path: Path
    ) -> None:
        """A touchpoint after --as-of but in the real past is kept; health as of then ignores it."""
        later = line("3", "2026-06-01T10:00:00+00:00", channel="call", direction="outbound")
        with_later = project(tmp_path / "a", [*HISTORY, later])
        without = project(tmp_path / "b", HISTORY)
        synced = run(with_later, "sync", "--json", "--as-of", "2026-03-01")
        feed = json.loads(synced.stdout)["sources"]["feed"]
        assert (feed["records"], feed["errors"]) == (3, 0)
        assert run(without, "sync", "--as-of", "2026-03-01").exit_code == 0
        then = [run(c, "health", "--json", "--as-of", "2026-03-01") for c in (with_later, without)]
        assert json.loads(then[0].stdout) == json.loads(then[1].stdout)
        after = run(with_later, "health", "--json", "--as-of", "2026-06-02")
        assert after.stdout != run(without, "health", "--json", "--as-of", "2026-06-02").stdout


class Scripted:
    """A source yielding the touchpoints it is given, then a checkpoint."""

    options: ClassVar[dict[str, Any]] = {}

    def __init__(self, moments: list[datetime]) -> None:
        self.moments = moments

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        for number, moment in enumerate(self.moments, 1):
            yield Touchpoint(
                source="feed",
                external_id=f"t{number}",
                customer="acme.com",
                occurred_at=moment,
                channel="email",
                direction="inbound",
            )
        yield Checkpoint("done")


class TestTolerance:
    """A day's grace covers clock skew and time zones read wrongly; beyond it, a typo."""

    NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)

    @pytest.fixture
    def store(self) -> Iterator[SQLiteStore]:
        store = SQLiteStore(":memory:")
        yield store
        store.close()

    def test_up_to_a_day_ahead_is_stored(self, store: SQLiteStore) -> None:
        """Dated now, in an hour, or exactly a day ahead: stored."""
        moments = [self.NOW, self.NOW + timedelta(hours=1), self.NOW + FUTURE_TOLERANCE]
        report = pull_source(store, "feed", "scripted", Scripted(moments), now=self.NOW)
        assert (report.touchpoints, report.problems, report.error) == (3, 0, None)

    def test_more_than_a_day_ahead_is_refused(self, store: SQLiteStore) -> None:
        """A second past the day's grace is a problem; the pull goes on and commits the rest."""
        ahead = self.NOW + FUTURE_TOLERANCE + timedelta(seconds=1)
        report = pull_source(store, "feed", "scripted", Scripted([ahead, self.NOW]), now=self.NOW)
        assert (report.touchpoints, report.problems, report.error) == (1, 1, None)
        assert report.messages == (
            "feed: touchpoint 't1': occurred_at: in the future (got '2026-03-02T12:00:01+00:00')",
        )
        assert unseal(store.get_cursor("feed")) == "done"


class TestHelper:
    """Sources check their own records with engage.future_problem to name their place."""

    NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)

    def test_none_within_a_day(self) -> None:
        """No problem up to a day after the real clock."""
        assert engage.future_problem(self.NOW + timedelta(hours=24), self.NOW) is None
        assert timedelta(days=1) == engage.FUTURE_TOLERANCE

    def test_the_problem_shows_the_value_as_the_input_wrote_it(self) -> None:
        """The message is the field and problem, with the raw text when given."""
        moment = datetime(3609, 1, 1, tzinfo=UTC)
        assert future_problem(moment, self.NOW, "3609-01-01") == (
            "occurred_at: in the future (got '3609-01-01')"
        )
        assert future_problem(moment, self.NOW) == (
            "occurred_at: in the future (got '3609-01-01T00:00:00+00:00')"
        )
