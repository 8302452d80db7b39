"""max_bad_ratio: a file mostly refused fails its source, and nothing of it is stored."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engage.adapters import Checkpoint, Problem
from engage.errors import ConfigError, SourceError
from engage.models import Touchpoint
from engage.testing import Project, Pull, Run
from engage_csv import CsvSource

Write = Callable[..., Path]
PullFn = Callable[..., Pull]

GOOD = "occurred_at,email,subject\n2026-02-01,jo@acme.com,a\n2026-02-02,jo@acme.com,b\n"


def bad(refused: int, good: int) -> str:
    return (
        "occurred_at,email,subject\n"
        + "yesterday,ann@initech.com,x\n" * refused
        + ("2026-02-03,ann@initech.com,y\n" * good)
    )


class TestRatio:
    """Past max_bad_ratio of a file's rows refused, the pull fails before the file's checkpoint."""

    def test_a_mostly_refused_file_fails_naming_the_file_and_counts(
        self, write: Write, pull: PullFn
    ) -> None:
        """98 of 100 rows refused: a SourceError, whatever strict says."""
        write("tasks.csv", bad(98, 2))
        with pytest.raises(SourceError) as error:
            pull(path="tasks.csv")
        assert str(error.value) == (
            "tasks.csv: 98 of 100 rows refused (max_bad_ratio 0.5); nothing from this file was stored"
        )

    def test_a_file_whose_every_row_is_refused_fails(self, write: Write, pull: PullFn) -> None:
        """The case that used to report ok."""
        write("tasks.csv", bad(3, 0))
        with pytest.raises(SourceError, match=r"^tasks.csv: 3 of 3 rows refused"):
            pull(path="tasks.csv")

    def test_at_the_ratio_the_file_loads(self, write: Write, pull: PullFn) -> None:
        """Half refused is not past 0.5: the good half loads with its problems."""
        write("tasks.csv", bad(2, 2))
        result = pull(path="tasks.csv")
        assert (len(result.touchpoints), len(result.problems)) == (2, 2)

    def test_the_ratio_is_configurable(self, write: Write, pull: PullFn) -> None:
        """max_bad_ratio = 0.2 fails a file a quarter refused; 1.0 never fails."""
        write("tasks.csv", bad(1, 3))
        with pytest.raises(SourceError, match=r"1 of 4 rows refused \(max_bad_ratio 0.2\)"):
            pull(path="tasks.csv", max_bad_ratio=0.2)
        write("tasks.csv", bad(4, 0))
        assert len(pull(path="tasks.csv", max_bad_ratio=1.0).problems) == 4

    def test_no_checkpoint_follows_the_failed_files_records(
        self, write: Write, source: Callable[..., CsvSource]
    ) -> None:
        """Earlier files are checkpointed; the failed file's records come after the last checkpoint."""
        write("x/a.csv", GOOD)
        write("x/b.csv", bad(3, 1))
        items: list[Any] = []
        with pytest.raises(SourceError, match=r"^x/b.csv: 3 of 4 rows refused"):
            items.extend(source(path="x/*.csv").pull(None))
        last = max(i for i, item in enumerate(items) if isinstance(item, Checkpoint))
        assert [f["path"].rsplit("/", 1)[1] for f in json.loads(items[last].cursor)["files"]] == [
            "a.csv"
        ]
        after = items[last + 1 :]
        assert [tp.subject for tp in after if isinstance(tp, Touchpoint)] == ["y"]
        assert sum(isinstance(i, Problem) for i in after) == 3

    @pytest.mark.parametrize("ratio", [-0.1, 1.5])
    def test_a_ratio_outside_zero_to_one_is_a_config_error(
        self, source: Callable[..., CsvSource], ratio: float
    ) -> None:
        """The key and the value are named."""
        with pytest.raises(ConfigError, match=r"max_bad_ratio' expected a number from 0 to 1"):
            source(path="t.csv", max_bad_ratio=ratio)


CONFIG = """
[sources.export]
plugin = "csv"
path = "exports/*.csv"

[sinks.todo]
plugin = "csv"
path = "follow-ups.csv"
"""


@pytest.fixture
def project(csv_project: Project) -> Project:
    csv_project.config(CONFIG)
    (csv_project.path / "exports").mkdir()
    return csv_project


def sync(project: Project) -> Run:
    return project.sync(as_of="2026-03-01T09:00:00+00:00")


def stored(project: Project) -> list[tuple[str, str]]:
    with sqlite3.connect(project.path / "engage.db") as db:
        rows = db.execute("SELECT external_id, customer FROM touchpoints ORDER BY 1").fetchall()
    return [(str(a), str(b)) for a, b in rows]


class TestThroughSync:
    """engage sync: the failed file fails the source; the good files' records stay as they were."""

    def test_a_failed_file_fails_the_sync_and_stores_nothing_of_it(self, project: Project) -> None:
        """Exit code non-zero, the error in stderr, nothing pushed; the good file before it is stored."""
        project.write("exports/a.csv", GOOD)
        project.write("exports/b.csv", bad(98, 2))
        run = sync(project)
        assert run.code != 0
        assert run.json["sources"]["export"]["failed"] is True
        assert "exports/b.csv: 98 of 100 rows refused (max_bad_ratio 0.5)" in run.stderr
        assert {customer for _, customer in stored(project)} == {"acme.com"}
        assert not (project.path / "follow-ups.csv").exists()

    def test_re_runs_never_change_what_the_good_files_stored(self, project: Project) -> None:
        """A file that goes bad keeps its earlier records and its cursor; fixing it loads it."""
        project.write("exports/a.csv", GOOD)
        project.write("exports/b.csv", bad(0, 2))
        assert sync(project).code == 0
        before = stored(project)
        with (project.path / "exports" / "b.csv").open("a") as handle:
            handle.write("yesterday,ann@initech.com,z\n" * 5)  # appended rows, all refused
        for _ in range(2):
            assert sync(project).code != 0
            assert stored(project) == before
        with (project.path / "exports" / "b.csv").open("w") as handle:
            handle.write(bad(0, 2) + "2026-02-04,ann@initech.com,z\n")
        assert sync(project).code == 0
        assert set(before) < set(stored(project))
        with (project.path / "follow-ups.csv").open(newline="") as handle:
            assert list(csv.DictReader(handle))
