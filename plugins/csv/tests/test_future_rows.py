"""Rows dated more than a day after the real clock are bad rows, named by file and line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import IDENTITY

from engage.adapters import AdapterContext, resolve_options
from engage.errors import SourceError
from engage.testing import Project, Pull
from engage_csv import CsvSource

Write = Callable[..., Path]
PullFn = Callable[..., Pull]

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


class Clock:
    """The real clock as the source sees it (context.now), moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def at(tmp_path: Path, clock: Clock, **options: Any) -> CsvSource:
    resolved = resolve_options(CsvSource.options, options, "engage.toml: [sources.files]")
    context = AdapterContext("files", base_dir=tmp_path, identity=IDENTITY, now=clock)
    return CsvSource(resolved, context)


class TestFutureRows:
    """A date past the real clock and a day's grace is a typo, refused like any bad cell."""

    def test_a_row_from_the_future_is_a_bad_row(self, write: Write, pull: PullFn) -> None:
        """FILE:LINE: occurred_at: in the future (got the cell as written); the rows around it load."""
        write(
            "t.csv",
            "occurred_at,email\n2024-03-05,jo@acme.com\n3609-01-01,jo@acme.com\n2024-03-06,jo@acme.com\n",
        )
        result = pull(path="t.csv")
        assert result.problems == ["t.csv:3: occurred_at: in the future (got '3609-01-01')"]
        assert [tp.occurred_at.day for tp in result.touchpoints] == [5, 6]

    def test_a_day_of_grace(self, write: Write, tmp_path: Path) -> None:
        """Up to a day after the clock is kept (skew, zones); a minute more is refused."""
        write(
            "t.csv",
            "occurred_at,email\n"
            "2026-03-01T12:00Z,jo@acme.com\n"
            "2026-03-02T12:00Z,jo@acme.com\n"
            "2026-03-02T12:01Z,jo@acme.com\n",
        )
        items = list(at(tmp_path, Clock(NOW), path="t.csv").pull(None))
        result = Pull(items)
        assert len(result.touchpoints) == 2
        assert result.problems == ["t.csv:4: occurred_at: in the future (got '2026-03-02T12:01Z')"]

    def test_the_zone_is_applied_before_the_check(self, write: Write, tmp_path: Path) -> None:
        """A local time is compared as the UTC moment it means."""
        write("t.csv", "occurred_at,email\n2026-03-02 20:00,jo@acme.com\n")
        source = at(
            tmp_path, Clock(NOW), path="t.csv", timezone="America/Los_Angeles", max_bad_ratio=1.0
        )
        result = Pull.run(source)  # 2026-03-03 04:00 UTC: 40 hours ahead
        assert result.problems == ["t.csv:2: occurred_at: in the future (got '2026-03-02 20:00')"]

    def test_the_clock_is_read_at_each_pull(self, write: Write, tmp_path: Path) -> None:
        """A row refused today loads once its day has come and the file is read again."""
        write("t.csv", "occurred_at,email\n2026-03-05T09:00Z,jo@acme.com\n")
        clock = Clock(NOW)
        source = at(tmp_path, clock, path="t.csv", max_bad_ratio=1.0)
        assert Pull.run(source).touchpoints == []
        clock.now = NOW + timedelta(days=4)
        assert len(Pull.run(source).touchpoints) == 1

    def test_strict_stops_at_a_row_from_the_future(self, write: Write, pull: PullFn) -> None:
        """With strict = true it stops the pull like any bad row."""
        write("t.csv", "occurred_at,email\n3609-01-01,jo@acme.com\n")
        with pytest.raises(SourceError, match=r"^t.csv:2: occurred_at: in the future"):
            pull(path="t.csv", strict=True)


CONFIG = """
[sources.export]
plugin = "csv"
path = "export.csv"
"""


def test_engage_sync_reports_the_row_and_keeps_rows_after_as_of(csv_project: Project) -> None:
    """Through the CLI: the 3609 row is one error with its place; a row after a past --as-of is stored."""
    csv_project.config(CONFIG)
    csv_project.write(
        "export.csv",
        "occurred_at,email,channel,direction\n"
        "2026-02-20 09:00,jane@acme.com,email,in\n"
        "3609-01-01,jane@acme.com,email,in\n"
        "2026-06-01 09:00,jane@acme.com,call,out\n",
    )
    run = csv_project.sync(as_of="2026-03-01")
    assert run.code == 0, run.stderr
    export = run.json["sources"]["export"]
    assert (export["touchpoints"], export["errors"]) == (2, 1)
    assert export["messages"] == ["export.csv:3: occurred_at: in the future (got '3609-01-01')"]
