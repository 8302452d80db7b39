"""Value maps: a file's own words for channel, direction, outcome and open_work, mapped to engage's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engage.errors import ConfigError
from engage.models import Channel, Direction
from engage.testing import Pull
from engage_csv import CsvSource

Write = Callable[..., Path]
PullFn = Callable[..., Pull]

HEADER = "occurred_at,email,channel,direction,outcome,open_work\n"


class TestValueMaps:
    """values = { field = { "theirs" = "ours" } }."""

    def test_mapped_values_are_read_case_insensitively(self, write: Write, pull: PullFn) -> None:
        """Each file value maps to the engage value it names, whatever its case and spacing."""
        write(
            "t.csv",
            HEADER
            + "2024-03-05,jo@acme.com,Task,Rein,Nope,Läuft\n"
            + "2024-03-06,jo@acme.com, PREP ,rein,,\n"
            + "2024-03-07,jo@acme.com,Call,raus,Nope,\n",
        )
        result = pull(
            path="t.csv",
            values={
                "channel": {"Task": "note", "Prep": "note", "Call": "call"},
                "direction": {"Rein": "inbound", "Raus": "outbound"},
                "outcome": {"Nope": "missed"},
                "open_work": {"läuft": "yes"},
            },
        )
        assert result.problems == []
        assert [(tp.channel, tp.direction, tp.missed) for tp in result.touchpoints] == [
            (Channel.NOTE, Direction.INBOUND, False),  # only calls and meetings can be missed
            (Channel.NOTE, Direction.INBOUND, False),
            (Channel.CALL, Direction.OUTBOUND, True),
        ]
        assert result.customers[0].open_work is True

    def test_built_in_names_still_work_beside_a_map(self, write: Write, pull: PullFn) -> None:
        """A map adds words; engage's own names and synonyms are still understood."""
        write("t.csv", HEADER + "2024-03-05,jo@acme.com,phone,in,,\n")
        [tp] = pull(path="t.csv", values={"channel": {"Prep": "note"}}).touchpoints
        assert tp.channel is Channel.CALL

    def test_an_unmapped_value_lists_the_values_seen_and_the_line_to_add(
        self, write: Write, pull: PullFn
    ) -> None:
        """The message names every unmapped value met so far and shows the values line to add."""
        write(
            "t.csv",
            HEADER
            + "2024-03-05,jo@acme.com,Prep,,,\n"
            + "2024-03-06,jo@acme.com,Sync,,,\n"
            + "2024-03-07,jo@acme.com,Call,,,\n" * 3,
        )
        result = pull(path="t.csv")
        assert len(result.touchpoints) == 3
        first, second = result.problems
        assert first.startswith("t.csv:2: channel: unknown channel; expected one of: email,")
        assert second.startswith("t.csv:3: channel: unknown channel;")
        assert (
            'or map it: values = { channel = { "Prep" = "?", "Sync" = "?" } } with each ? one of: '
            "email, call, meeting, note, feedback, chat, other "
            "(values without a mapping so far: Prep, Sync) (got 'Sync')"
        ) in second


class TestValueMapConfig:
    """A value map is checked when the source is built, before any file is read."""

    def test_a_target_that_is_no_engage_name_is_a_config_error(
        self, source: Callable[..., CsvSource]
    ) -> None:
        """The error names the table, the key and engage's names."""
        with pytest.raises(ConfigError) as error:
            source(path="t.csv", values={"channel": {"Task": "todo"}})
        assert str(error.value) == (
            "engage.toml: [sources.files]: values['channel']['Task']: expected a channel, one of: "
            "email, call, meeting, note, feedback, chat, other (got str 'todo')"
        )

    @pytest.mark.parametrize(
        ("field", "allowed"),
        [
            ("direction", "inbound, outbound, internal"),
            ("outcome", "missed, held"),
            ("open_work", "yes, no"),
        ],
    )
    def test_each_closed_field_names_its_values(
        self, source: Callable[..., CsvSource], field: str, allowed: str
    ) -> None:
        """direction, outcome and open_work are checked the same way."""
        with pytest.raises(ConfigError, match=rf"one of: {allowed} \(got str 'sideways'\)$"):
            source(path="t.csv", values={field: {"x": "sideways"}})

    def test_a_field_without_a_closed_set_cannot_be_mapped(
        self, source: Callable[..., CsvSource]
    ) -> None:
        """Only channel, direction, outcome and open_work have values to map."""
        with pytest.raises(ConfigError, match=r"values: 'subject' has no closed set of values"):
            source(path="t.csv", values={"subject": {"a": "b"}})

    def test_a_map_must_be_a_table(self, source: Callable[..., CsvSource]) -> None:
        """values.channel = "note" is a mistake, named as such."""
        with pytest.raises(
            ConfigError, match=r"values\['channel'\]: expected dict\[str, str\] \(got str 'note'\)"
        ):
            source(path="t.csv", values={"channel": "note"})

    def test_the_users_values_win_over_a_presets(self, write: Write, pull: PullFn) -> None:
        """The salesforce preset reads Task as a note; the user's map can say otherwise."""
        write(
            "t.csv",
            "Id,CompletedDateTime,Email,Type,Status\n1,2024-03-05,jo@acme.com,Task,Completed\n",
        )
        columns = {"email": "Email"}
        [default] = pull(path="t.csv", preset="salesforce", columns=columns).touchpoints
        [mine] = pull(
            path="t.csv", preset="salesforce", columns=columns, values={"channel": {"task": "call"}}
        ).touchpoints
        assert (default.channel, mine.channel) == (Channel.NOTE, Channel.CALL)
