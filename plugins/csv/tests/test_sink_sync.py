"""The task file through the real ``engage sync``: a push cut by a crash, and tasks cleared."""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_end_to_end import AS_OF, crm_project, sync, task_rows

from engage.testing import Project
from engage_csv.sink import COLUMNS

#: ``engage sync`` whose process dies while appending the batch, after the bytes before
#: ``marker`` (and ``extra`` more) reached the file: a crash, or a full disk under an older engage.
CRASHING_SYNC = textwrap.dedent(
    """
    import os, sys
    from engage_csv import taskfile

    marker, extra, as_of = sys.argv[1].encode(), int(sys.argv[2]), sys.argv[3]
    real = taskfile.write_all

    def crash(fd, data):
        if marker not in data:
            return real(fd, data)
        real(fd, data[: data.index(marker) + extra])
        os._exit(70)

    taskfile.write_all = crash
    from engage.cli import cli

    cli.main(["sync", "--as-of", as_of], prog_name="engage")
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """The CRM export and config of test_end_to_end, in tmp_path."""
    return crm_project(tmp_path)


def ledger(project: Project) -> dict[str, int]:
    """Ledger status → count for the task file's sink."""
    with sqlite3.connect(project.path / "engage.db") as db:
        rows = db.execute(
            "SELECT status, count(*) FROM ledger WHERE sink = 'todo' GROUP BY status"
        ).fetchall()
    return {status: count for status, count in rows}


def table(project: Project) -> list[list[str]]:
    with (project.path / "follow-ups.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize(
    ("marker", "extra"),
    [
        # the welcome task's body spans lines: the file ends in a line break inside its quotes
        pytest.param("- first touchpoint", 0, id="inside a quoted field"),
        pytest.param("welcome:jo@gmail.com", 25, id="mid-row"),
    ],
)
def test_a_push_cut_by_a_crash_is_repaired_and_the_task_written_once(
    project: Project, marker: str, extra: int
) -> None:
    """The cut row is moved aside; its task is pushed again, once; the file matches the ledger."""
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_SYNC, marker, str(extra), AS_OF],
        cwd=project.path,
        env=project.environ(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert crashed.returncode == 70, crashed.stderr
    assert ledger(project) == {"pending": 4}

    run = sync(project)
    assert run.code == 0, run.stderr
    report = run.json
    todo = report["sinks"]["todo"]
    assert (todo["recovered"], todo["pushed"]) == (2, 2)
    assert todo["notices"] == [
        "follow-ups.csv: the last row was cut off (a crash or a full disk while writing); "
        "moved it to follow-ups.csv.engage-damaged, so its task is written again"
    ]
    damaged = (project.path / "follow-ups.csv.engage-damaged").read_text(encoding="utf-8")
    assert damaged.startswith("welcome:jo@gmail.com:")

    again = sync(project)
    assert again.code == 0 and again.json["sinks"]["todo"]["pushed"] == 0
    rows = table(project)
    assert rows[0] == list(COLUMNS)
    assert all(len(row) == len(COLUMNS) for row in rows)
    keys = [row[0] for row in rows[1:]]
    assert len(keys) == len(set(keys)) == ledger(project)["pushed"] == report["tasks_planned"]
    assert any(key.startswith("welcome:jo@gmail.com:") for key in keys)


def test_a_task_no_longer_wanted_is_marked_cleared(project: Project) -> None:
    """Our reply clears the 'unanswered' task: its row says cleared, with the time."""
    sync(project)
    before = {row["key"]: row for row in task_rows(project)}
    with (project.path / "export.csv").open("a") as handle:
        handle.write("2026-02-28 15:00,jane@acme.com,Jane Doe,Email,out,carol@ourco.com\n")
    run = sync(project)
    report = run.json
    assert run.code == 0
    assert report["sinks"]["todo"]["cleared"] == report["sinks"]["todo"]["completed"] >= 1
    after = {row["key"]: row for row in task_rows(project)}
    cleared = {key for key, row in after.items() if row["status"] == "cleared"}
    assert any(key.startswith("unanswered:acme.com:") for key in cleared)
    assert len(cleared) == report["sinks"]["todo"]["completed"]
    assert all(after[key]["cleared_at"] for key in cleared)
    assert set(before) <= set(after)
    assert all(after[key]["status"] == "open" for key in set(after) - cleared)
    assert ledger(project).get("completed") == len(cleared)
