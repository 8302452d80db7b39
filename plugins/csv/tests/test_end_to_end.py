"""engage sync from a CSV export to a CSV task list, through the installed entry point and the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engage.cli import cli

AS_OF = "2026-03-01T09:00:00+00:00"
HEADER = "Activity Date,Contact Email,Name,Type,Direction,Rep\n"
ROWS = [
    "2025-06-02 10:00,jane@acme.com,Jane Doe,Meeting,out,carol@ourco.com\n",
    "2026-02-20 09:00,jane@acme.com,Jane Doe,Email,in,carol@ourco.com\n",
    "2026-02-27 09:00,jo@gmail.com,Jo,email,in,\n",
]
CONFIG = """
store = "engage.db"
internal_domains = ["ourco.com"]

[sources.export]
plugin = "csv"
path = "export.csv"
columns = {{ occurred_at = "Activity Date", email = "Contact Email", channel = "Type", owner = "Rep" }}
{extra}

[sinks.todo]
plugin = "csv"
path = "follow-ups.csv"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "engage.toml").write_text(CONFIG.format(extra=""))
    (tmp_path / "export.csv").write_text(HEADER + "".join(ROWS))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENGAGE_CONFIG", raising=False)
    monkeypatch.setenv(
        "ENGAGE_LOAD_PLUGINS", "csv"
    )  # through its entry point, whatever else is installed
    return tmp_path


def sync(*extra: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["sync", "--json", "--as-of", AS_OF, *extra])
    return (
        result.exit_code,
        json.loads(result.stdout) if result.stdout.strip() else {},
        result.stderr,
    )


def task_rows(project: Path) -> list[dict[str, str]]:
    with (project / "follow-ups.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_crm_export_becomes_health_and_tasks(project: Path) -> None:
    """The CSV adapter is found through its entry point; tasks land in the task file once."""
    code, report, _ = sync()
    assert code == 0
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
    code, again, _ = sync()
    assert again["sources"]["export"]["records"] == 0  # the unchanged file is not re-read
    assert again["sinks"]["todo"]["pushed"] == 0
    assert len(task_rows(project)) == len(rows)


def test_appended_rows_are_picked_up(project: Path) -> None:
    """Rows added to the export since the last sync are read, and only they."""
    sync()
    with (project / "export.csv").open("a") as handle:
        handle.write("2026-02-28 15:00,jane@acme.com,Jane Doe,Call,out,carol@ourco.com\n")
    _, report, _ = sync()
    assert report["sources"]["export"]["touchpoints"] == 1
    assert report["sources"]["export"]["inserted"] >= 1


def test_bad_rows_are_reported_by_file_and_line_and_the_rest_lands(project: Path) -> None:
    """Each bad row is one message FILE:LINE: field: problem (got 'value'); good rows still load."""
    with (project / "export.csv").open("a") as handle:
        handle.write("yesterday,bob@acme.com,Bob,Email,in,carol@ourco.com\n")
        handle.write("2026-02-26 10:00,bob@acme.com,Bob,Fax,in,carol@ourco.com\n")
    code, report, _ = sync()
    source = report["sources"]["export"]
    assert code == 0  # within max_bad_ratio: reported, not a failure
    assert source["errors"] == 2
    assert source["touchpoints"] == 3
    assert source["messages"][0].startswith("export.csv:5: occurred_at: not a date I recognise")
    assert source["messages"][0].endswith("(got 'yesterday')")
    assert "export.csv:6: channel:" in source["messages"][1]
    assert "(got 'Fax')" in source["messages"][1]


def test_strict_file_commits_nothing(project: Path) -> None:
    """strict = true: one bad row fails the file; nothing from it is stored and no task is pushed."""
    (project / "engage.toml").write_text(CONFIG.format(extra="strict = true"))
    with (project / "export.csv").open("a") as handle:
        handle.write("2026-02-26 10:00,bob@acme.com,Bob,Fax,in,carol@ourco.com\n")
    code, report, stderr = sync()
    assert code == 3  # the input was refused (BadInputError): partial
    assert report["sources"]["export"]["failed"] is True
    assert report["sources"]["export"]["touchpoints"] == 0
    assert "export.csv:5: channel:" in stderr
    assert not (project / "follow-ups.csv").exists()
    health = CliRunner().invoke(cli, ["health", "--json"])
    assert json.loads(health.stdout) == []


def test_unknown_csv_option_is_named(project: Path) -> None:
    """A typo in the adapter's table names the file, the table and the key."""
    (project / "engage.toml").write_text(CONFIG.format(extra='delimeter = ";"'))
    result = CliRunner().invoke(cli, ["sync"])
    assert result.exit_code == 78  # needs a person: the config
    assert "[sources.export]: unknown key 'delimeter'" in result.stderr
