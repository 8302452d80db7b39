"""The engage command line: tables for people, JSON for scripts, one clear line on error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engage.cli import App, cli
from engage.plugins import make_plugin_manager
from engage.store.sqlite import SQLiteStore
from tests.support import fakeplugins

AS_OF = "2026-03-01T09:00:00+00:00"

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

LINES = [
    {
        "external_id": "1",
        "customer": "acme.com",
        "occurred_at": "2025-06-01T10:00:00+00:00",
        "channel": "meeting",
        "direction": "outbound",
        "contact_email": "jane@acme.com",
        "owner": "alice@ourco.com",
    },
    {
        "external_id": "2",
        "customer": "acme.com",
        "occurred_at": "2026-02-20T10:00:00+00:00",
        "channel": "email",
        "direction": "inbound",
        "contact_email": "jane@acme.com",
        "owner": "alice@ourco.com",
    },
    {
        "external_id": "3",
        "customer": "jo@gmail.com",
        "occurred_at": "2026-02-27T10:00:00+00:00",
        "channel": "email",
        "direction": "inbound",
        "contact_email": "jo@gmail.com",
    },
]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "engage.toml").write_text(CONFIG)
    (tmp_path / "touchpoints.jsonl").write_text("".join(json.dumps(x) + "\n" for x in LINES))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENGAGE_CONFIG", raising=False)
    return tmp_path


def run(*args: str) -> Any:
    pm = make_plugin_manager(entry_points=False)
    pm.register(fakeplugins, name="testkit")
    return CliRunner().invoke(cli, list(args), obj=App(None, pm=pm))


def test_sync_json_reports_sources_customers_and_sinks(project: Path) -> None:
    """engage sync --json: per-source records and errors, customers, per-sink pushed and already_pushed."""
    result = run("sync", "--json", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["sources"]["feed"]["records"] == 3
    assert report["sources"]["feed"]["errors"] == 0
    assert report["customers"] == 2
    assert report["sinks"]["remote"]["pushed"] == report["tasks_planned"] > 0
    again = json.loads(run("sync", "--json", "--as-of", AS_OF).stdout)
    assert again["sinks"]["remote"]["pushed"] == 0
    assert again["sinks"]["remote"]["already_pushed"] == report["tasks_planned"]


def test_health_json_has_one_object_per_customer(project: Path) -> None:
    """engage health --json: customer, name, score, band, stage and factors with reasons."""
    run("sync", "--as-of", AS_OF)
    result = run("health", "--json", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    reports = json.loads(result.stdout)
    assert [r["customer"] for r in reports] == ["acme.com", "jo@gmail.com"]
    for report in reports:
        assert {"customer", "name", "score", "band", "stage", "factors"} <= set(report)
        assert 0 <= report["score"] <= 100
        assert report["band"] in {"healthy", "watch", "at_risk"}
        assert report["stage"] in {"new", "active", "at_risk", "dormant"}
        for factor in report["factors"]:
            assert set(factor) == {"name", "value", "weight", "explain"}
            assert factor["explain"]
    one = json.loads(run("health", "--json", "--customer", "acme.com", "--as-of", AS_OF).stdout)
    assert [r["customer"] for r in one] == ["acme.com"]


def test_tasks_json_lists_open_planned_tasks(project: Path) -> None:
    """engage tasks --json: key, customer, rule, title, body, due, priority, kind, owner, reason."""
    run("sync", "--as-of", AS_OF)
    result = run("tasks", "--json", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    tasks = json.loads(result.stdout)
    assert tasks
    for task in tasks:
        assert {
            "key",
            "customer",
            "rule",
            "title",
            "body",
            "due",
            "priority",
            "kind",
            "owner",
            "reason",
        } <= set(task)
    assert any(t["rule"] == "unanswered" and t["customer"] == "acme.com" for t in tasks)


def test_tables_for_people(project: Path) -> None:
    """Without --json the commands print readable tables."""
    run("sync", "--as-of", AS_OF)
    health = run("health", "--as-of", AS_OF)
    assert "acme.com" in health.stdout and "score" in health.stdout
    tasks = run("tasks", "--as-of", AS_OF)
    assert "follow-up task" in tasks.stdout
    detail = run("health", "--customer", "acme.com", "--as-of", AS_OF)
    assert "recency" in detail.stdout


def test_errors_are_one_line_on_stderr(project: Path) -> None:
    """A bad config value is one stderr line naming the file and key, exit 78 (needs a person)."""
    (project / "engage.toml").write_text(CONFIG + "\n[segments.smb]\ncadence_days = -3\n")
    result = run("sync")
    assert result.exit_code == 78
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("engage: error: ") and "segments.smb.cadence_days" in lines[0]


def test_health_before_any_sync_says_what_to_do(project: Path) -> None:
    """Asking for health with no store points to engage sync."""
    result = run("health")
    assert result.exit_code == 1
    assert "run 'engage sync' first" in result.stderr


def test_bad_as_of_is_a_usage_error(project: Path) -> None:
    """--as-of must be ISO 8601."""
    result = run("health", "--as-of", "last tuesday")
    assert result.exit_code == 2
    assert "ISO 8601" in result.stderr


def test_a_failed_source_exits_non_zero_after_reporting(project: Path) -> None:
    """A source failure still prints the summary, then one error line; a retriable one exits 75."""
    with (project / "touchpoints.jsonl").open("a") as handle:
        handle.write(json.dumps({"fail": "HTTP 503 after 5 retries"}) + "\n")
    with (project / "engage.toml").open("a") as handle:
        handle.write("\n[sync]\nretry_wait = 0\n")  # its retry in the run, at once
    result = run("sync", "--json", "--as-of", AS_OF)
    assert result.exit_code == 75
    assert json.loads(result.stdout)["sources"]["feed"]["failed"] is True
    assert "sync incomplete: 1 source(s) failed (feed: HTTP 503 after 5 retries)" in result.stderr


def test_init_writes_a_starter_config_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """engage init writes engage.toml, refuses to overwrite it, and --force does."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENGAGE_CONFIG", raising=False)
    assert run("init").exit_code == 0
    assert "[sources.files]" in (tmp_path / "engage.toml").read_text()
    again = run("init")
    assert again.exit_code == 78 and "already exists" in again.stderr
    assert run("init", "--force").exit_code == 0


def test_config_from_environment(
    project: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENGAGE_CONFIG names the config file when --config is not given."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("ENGAGE_CONFIG", str(project / "engage.toml"))
    assert run("sync", "--as-of", AS_OF).exit_code == 0
    assert (project / "engage.db").exists()


def test_plugins_json_lists_installed_plugins(project: Path) -> None:
    """engage plugins --json --all includes the built-ins with what they register."""
    result = run("plugins", "--json", "--all")
    described = {d["name"]: d for d in json.loads(result.stdout)}
    assert "welcome" in described["engage.builtin.rules"]["rules"]
    assert described["testkit"]["sources"] == ["jsonl"]


def test_concurrent_sync_exits_with_a_clear_message(project: Path) -> None:
    """A second engage sync while one runs exits 75 (try later) with one line."""
    env = fakeplugins.install_as_distribution(project / "site", Path(__file__).resolve().parent)
    env["ENGAGE_LOAD_PLUGINS"] = "testkit"
    holder = SQLiteStore(project / "engage.db")
    with holder.lock():
        result = subprocess.run(
            [sys.executable, "-m", "engage", "sync"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    holder.close()
    assert result.returncode == 75, result.stderr
    assert result.stderr.strip().startswith("engage: another engage sync is running")
    assert len(result.stderr.strip().splitlines()) == 1
