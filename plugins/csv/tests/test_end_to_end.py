"""engage sync from a CSV export to a CSV task list, through the installed entry point and the CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from engage.testing import Project, Run
from engage.testing.samples import (
    CRM_EXPORT,
    CRM_EXPORT_AS_OF,
    CRM_EXPORT_FILE,
    CRM_EXPORT_SOURCE,
)

AS_OF = CRM_EXPORT_AS_OF
TASK_FILE = """
[sinks.todo]
plugin = "csv"
path = "follow-ups.csv"
"""


def crm_project(path: Path, extra: str = "") -> Project:
    """The kit's sample CRM export and its source table (with ``extra`` options) in ``path``
    (store engage.db, our domain ourco.com), into a task file; run with the CSV plugin
    through its entry point, whatever else is installed."""
    project = Project(path, plugins=("csv",))
    project.config(CRM_EXPORT_SOURCE + extra + "\n" + TASK_FILE)
    project.write(CRM_EXPORT_FILE, CRM_EXPORT)
    return project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return crm_project(tmp_path)


def sync(project: Project) -> Run:
    """``engage sync --json`` as of AS_OF."""
    return project.sync(as_of=AS_OF)


def task_rows(project: Project) -> list[dict[str, str]]:
    with (project.path / "follow-ups.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_crm_export_becomes_health_and_tasks(project: Project) -> None:
    """The CSV adapter is found through its entry point; tasks land in the task file once."""
    run = sync(project)
    report = run.json
    assert run.code == 0
    assert report["sources"]["export"]["records"] > 0
    assert report["sources"]["export"]["touchpoints"] == 3
    assert report["customers"] == 2
    rows = task_rows(project)
    assert len(rows) == report["sinks"]["todo"]["pushed"] == report["tasks_planned"]
    assert {
        "key",
        "customer",
        "rule",
        "title",
        "due",
        "priority",
        "kind",
        "owner",
        "reason",
    } <= set(rows[0])
    again = sync(project).json
    assert again["sources"]["export"]["records"] == 0  # the unchanged file is not re-read
    assert again["sinks"]["todo"]["pushed"] == 0
    assert len(task_rows(project)) == len(rows)


def test_appended_rows_are_picked_up(project: Project) -> None:
    """Rows added to the export since the last sync are read, and only they."""
    sync(project)
    with (project.path / "export.csv").open("a") as handle:
        handle.write("2026-02-28 15:00,jane@acme.com,Jane Doe,Call,out,carol@ourco.com\n")
    report = sync(project).json
    assert report["sources"]["export"]["touchpoints"] == 1
    assert report["sources"]["export"]["inserted"] >= 1


def test_bad_rows_are_reported_by_file_and_line_and_the_rest_lands(project: Project) -> None:
    """Each bad row is one message FILE:LINE: field: problem (got 'value'); good rows still load."""
    with (project.path / "export.csv").open("a") as handle:
        handle.write("yesterday,bob@acme.com,Bob,Email,in,carol@ourco.com\n")
        handle.write("2026-02-26 10:00,bob@acme.com,Bob,Fax,in,carol@ourco.com\n")
    run = sync(project)
    source = run.json["sources"]["export"]
    assert run.code == 0  # within max_bad_ratio: reported, not a failure
    assert source["errors"] == 2
    assert source["touchpoints"] == 3
    assert source["messages"][0].startswith("export.csv:5: occurred_at: not a date I recognise")
    assert source["messages"][0].endswith("(got 'yesterday')")
    assert "export.csv:6: channel:" in source["messages"][1]
    assert "(got 'Fax')" in source["messages"][1]


def test_strict_file_commits_nothing(tmp_path: Path) -> None:
    """strict = true: one bad row fails the file; nothing from it is stored and no task is pushed."""
    project = crm_project(tmp_path, extra="strict = true")
    with (project.path / "export.csv").open("a") as handle:
        handle.write("2026-02-26 10:00,bob@acme.com,Bob,Fax,in,carol@ourco.com\n")
    run = sync(project)
    assert run.code == 3  # the input was refused (BadInputError): partial
    assert run.json["sources"]["export"]["failed"] is True
    assert run.json["sources"]["export"]["touchpoints"] == 0
    assert "export.csv:5: channel:" in run.stderr
    assert not (project.path / "follow-ups.csv").exists()
    assert project.run("health", "--json").json == []


def test_unknown_csv_option_is_named(tmp_path: Path) -> None:
    """A typo in the adapter's table names the file, the table and the key."""
    run = crm_project(tmp_path, extra='delimeter = ";"').run("sync")
    assert run.code == 78  # needs a person: the config
    assert "[sources.export]: unknown key 'delimeter'" in run.stderr
