"""Row filters (skip, only) and rows between our own people: passed over on purpose, counted, never bad."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engage.errors import ConfigError, SourceError
from engage.testing import Pull
from engage_csv import CsvSource

Write = Callable[..., Path]
PullFn = Callable[..., Pull]

TASKS = (
    "occurred_at,email,Status,Kind\n"
    "2024-03-01,a@acme.com,Completed,Call\n"
    "2024-03-02,b@acme.com,Not Started,Call\n"
    "2024-03-03,c@acme.com,deferred,Call\n"
    "2024-03-04,d@acme.com,In Progress,Call\n"
    "2024-03-05,e@acme.com,Completed,Demo\n"
)


def emails(result: Pull) -> list[str | None]:
    return [tp.contact_email for tp in result.touchpoints]


class TestSkip:
    """skip = { header = [values] }: rows with one of the values are passed over."""

    def test_rows_with_a_skipped_value_are_passed_over_and_counted(
        self, write: Write, pull: PullFn
    ) -> None:
        """Matching is case-insensitive; each reason is counted as 'header = value'."""
        write("t.csv", TASKS)
        result = pull(path="t.csv", skip={"Status": ["Not Started", "Deferred"]})
        assert emails(result) == ["a@acme.com", "d@acme.com", "e@acme.com"]
        assert result.problems == []
        assert result.skipped == {"Status = Not Started": 1, "Status = Deferred": 1}

    def test_passed_over_rows_make_no_customer_or_contact(self, write: Write, pull: PullFn) -> None:
        """A passed-over row leaves no trace: its contact is not recorded."""
        write("t.csv", TASKS)
        result = pull(path="t.csv", skip={"Status": ["Not Started"]})
        assert "b@acme.com" not in [c.email for c in result.contacts]

    def test_several_headers(self, write: Write, pull: PullFn) -> None:
        """Each header's values pass rows over."""
        write("t.csv", TASKS)
        result = pull(path="t.csv", skip={"Status": ["Not Started"], "Kind": ["Demo"]})
        assert emails(result) == ["a@acme.com", "c@acme.com", "d@acme.com"]
        assert result.skipped == {"Status = Not Started": 1, "Kind = Demo": 1}


class TestOnly:
    """only = { header = [values] }: rows without one of the values are passed over."""

    def test_only_rows_with_a_listed_value_are_read(self, write: Write, pull: PullFn) -> None:
        """The other rows are counted under 'header not values'."""
        write("t.csv", TASKS)
        result = pull(path="t.csv", only={"Status": ["completed"]})
        assert emails(result) == ["a@acme.com", "e@acme.com"]
        assert result.skipped == {"Status not completed": 3}

    def test_skip_and_only_together(self, write: Write, pull: PullFn) -> None:
        """A row must pass both."""
        write("t.csv", TASKS)
        result = pull(path="t.csv", only={"Status": ["Completed"]}, skip={"Kind": ["Demo"]})
        assert emails(result) == ["a@acme.com"]


class TestFilterErrors:
    """A filter on a missing header, or of the wrong shape, is named."""

    def test_a_filter_header_missing_from_the_file(self, write: Write, pull: PullFn) -> None:
        """The file's error names the header, the key and what the header has."""
        write("t.csv", TASKS)
        with pytest.raises(SourceError) as error:
            pull(path="t.csv", skip={"State": ["Open"]})
        assert str(error.value) == (
            "t.csv: missing column 'State' of skip (the header has: occurred_at, email, Status, Kind)"
        )

    def test_a_filter_must_list_values(self, source: Callable[..., CsvSource]) -> None:
        """skip = { Status = 3 } is a config error naming the key."""
        with pytest.raises(
            ConfigError, match=r"skip\['Status'\]: expected str or list\[str\] \(got int 3\)"
        ):
            source(path="t.csv", skip={"Status": 3})


class TestPassedOverRowsAndTheRatio:
    """Rows passed over on purpose are not refused rows."""

    def test_a_file_mostly_filtered_is_not_a_failed_file(self, write: Write, pull: PullFn) -> None:
        """Four of five rows passed over: the file still loads, with no problem."""
        write("t.csv", TASKS)
        result = pull(path="t.csv", only={"Kind": ["Demo"]})
        assert emails(result) == ["e@acme.com"]
        assert result.checkpoints
