"""``engage sync`` from HubSpot to HubSpot through the installed entry point and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import seed
from fake_hubspot import FakeHubSpot

from engage.cli import cli
from engage_hubspot import mapping

CONNECTED = "f240bbac-87c9-4f6e-bf70-924b57d47db7"
NO_ANSWER = "73a0d17f-1163-4015-bdd5-ec830791da20"

CONFIG = """
store = "engage.db"
internal_domains = ["ourco.com"]
fallback_owner = "boss@ourco.com"

[sync]
retry_wait = 0  # a failed source's retry within the run goes at once

[sources.crm]
plugin = "hubspot"
base_url = "{url}"
searches_per_second = 1000
requests_per_10s = 10000

[sinks.hubspot_tasks]
plugin = "hubspot"
base_url = "{url}"
requests_per_10s = 10000
complete_cleared = true
"""

CRASH_AFTER_CREATE = """
import os, sys
import engage_hubspot.sink as sink_module

def die(self, *args, **kwargs):
    os._exit(70)  # the process dies after HubSpot created the tasks, before the ledger knows

sink_module.HubSpotSink._outcome = die
from engage.cli import main
sys.argv = ["engage", "sync", "--json"]
main()
"""


@pytest.fixture
def project(tmp_path: Path, fake: FakeHubSpot, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory whose engage.toml uses HubSpot as source and sink."""
    (tmp_path / "engage.toml").write_text(CONFIG.format(url=fake.url))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HUBSPOT_TOKEN", fake.token)
    for name in ("ENGAGE_CONFIG", "ENGAGE_LOAD_PLUGINS", "ENGAGE_DISABLE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def sync() -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["sync", "--json"])
    return result.exit_code, json.loads(result.stdout or "{}"), result.stderr


def account(fake: FakeHubSpot) -> dict[str, str]:
    ids = seed(fake)
    ids["boss"] = fake.add_owner("boss@ourco.com", first="Boss")
    return ids


class TestEndToEnd:
    """A whole sync: pull HubSpot, plan, push tasks back, and again without duplicates."""

    def test_hubspot_to_hubspot_then_again_without_duplicates(
        self, fake: FakeHubSpot, project: Path
    ) -> None:
        """Tasks land in HubSpot once; the archived owner's customer gets a handover task for the fallback owner."""
        ids = account(fake)
        code, report, err = sync()
        assert code == 0, err
        assert report["sources"]["crm"]["touchpoints"] >= 5
        sink = report["sinks"]["hubspot_tasks"]
        assert sink["pushed"] == report["tasks_planned"] > 0 and sink["failed"] == 0
        tasks = list(fake.objects["tasks"].values())
        assert len(tasks) == sink["pushed"]
        handover = [
            t
            for t in tasks
            if "engage-task-key: handover:globex.io" in t["properties"]["hs_task_body"]
        ]
        assert len(handover) == 1
        assert handover[0]["properties"]["hubspot_owner_id"] == ids["boss"]
        assert fake.links[("tasks", "companies")][handover[0]["id"]] == {ids["globex"]: 192}

        code, again, err = sync()
        assert code == 0, err
        assert again["sinks"]["hubspot_tasks"]["pushed"] == 0
        assert again["sinks"]["hubspot_tasks"]["already_pushed"] == report["tasks_planned"]
        assert len(fake.objects["tasks"]) == len(tasks)

    def test_a_crash_between_create_and_ledger_never_duplicates(
        self, fake: FakeHubSpot, project: Path
    ) -> None:
        """The process dies after HubSpot created the tasks; the next run finds them and creates none."""
        account(fake)
        env = {**os.environ, "HUBSPOT_TOKEN": fake.token}
        crashed = subprocess.run(
            [sys.executable, "-c", CRASH_AFTER_CREATE],
            cwd=project,
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert crashed.returncode == 70, crashed.stderr.decode()
        created = len(fake.objects["tasks"])
        assert created > 0
        code, report, err = sync()
        assert code == 0, err
        sink = report["sinks"]["hubspot_tasks"]
        assert sink["recovered"] == created and sink["pushed"] == 0
        assert len(fake.objects["tasks"]) == created

    def test_a_persistent_outage_fails_cleanly_and_keeps_the_cursor(
        self, fake: FakeHubSpot, project: Path
    ) -> None:
        """Every request fails: exit code non-zero, one clear line, no task pushed, cursor unchanged."""
        account(fake)
        code, _, err = sync()
        assert code == 0, err
        cursor = _cursor(project)
        fake.fail_next(503, 10_000)
        code, report, err = sync()
        assert code != 0
        assert "503" in err and fake.token not in err
        assert report["sinks"]["hubspot_tasks"]["skipped"]
        assert _cursor(project) == cursor

    def test_a_storm_of_429s_and_5xx_ends_in_success(
        self, fake: FakeHubSpot, project: Path
    ) -> None:
        """Rate limits and server errors scattered through a sync are ridden out within bounds."""
        account(fake)
        fake.rate_limit_next("TEN_SECONDLY_ROLLING", 2)
        fake.fail_next(500)
        fake.rate_limit_next("SECONDLY")
        fake.drop_next()  # five faults in a row: within the budget of six tries
        code, report, err = sync()
        assert code == 0, err
        assert report["sinks"]["hubspot_tasks"]["pushed"] == report["tasks_planned"]

    def test_a_customers_missed_call_asks_for_a_call_back_and_a_connected_one_does_not(
        self, fake: FakeHubSpot, project: Path
    ) -> None:
        """Two customers called us three days ago: the unanswered one gets an unanswered task."""
        ids = account(fake)
        called: dict[str, str] = {}
        for name, outcome in [("initech", NO_ANSWER), ("umbrella", CONNECTED)]:
            company = fake.add("companies", {"name": name.title(), "domain": f"{name}.com",
                                             "hubspot_owner_id": ids["carol"]})  # fmt: skip
            contact = fake.add(
                "contacts", {"email": f"ann@{name}.com", "associatedcompanyid": company}
            )
            called[name] = fake.add(
                "calls",
                {"hs_timestamp": fake.now_ms - 3 * 86_400_000, "hs_call_direction": "INBOUND",
                 "hs_call_status": "COMPLETED", "hs_call_disposition": outcome,
                 "hubspot_owner_id": ids["carol"]},
                companies=[company], contacts=[contact],
            )  # fmt: skip
        fake.now_ms += 60_000
        code, _, err = sync()
        assert code == 0, err
        assert _stored_call(project, called["initech"]) == ("inbound", 1)
        assert _stored_call(project, called["umbrella"]) == ("inbound", 0)
        keys = [mapping.key_from_body(t["properties"]["hs_task_body"]) or ""
                for t in fake.objects["tasks"].values()]  # fmt: skip
        assert [k for k in keys if k.startswith("unanswered:initech.com:")]
        assert not [k for k in keys if k.startswith("unanswered:umbrella.com:")]


def _cursor(project: Path) -> str | None:
    import sqlite3

    with sqlite3.connect(project / "engage.db") as conn:
        row = conn.execute("SELECT cursor FROM cursors WHERE source = 'crm'").fetchone()
    return None if row is None else str(row[0])


def _stored_call(project: Path, call_id: str) -> tuple[str, int] | None:
    """The stored direction and missed flag of a call the source pulled."""
    import sqlite3

    with sqlite3.connect(project / "engage.db") as conn:
        row = conn.execute(
            "SELECT direction, missed FROM touchpoints WHERE source = 'crm' AND external_id = ?",
            (f"call:{call_id}",),
        ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]))


def _copy_store(project: Path, to: Path) -> None:
    """Copy the store's files (a backup, or putting one back)."""
    import shutil

    to.mkdir(exist_ok=True)
    for old in to.glob("engage.db*"):
        old.unlink()
    for path in project.glob("engage.db*"):
        shutil.copy2(path, to / path.name)


def _restore(backup: Path, project: Path) -> None:
    import shutil

    for path in project.glob("engage.db*"):
        path.unlink()
    for path in backup.glob("engage.db*"):
        shutil.copy2(path, project / path.name)


class TestLostOrRestoredStore:
    """HubSpot itself refuses a second task with a key it holds: the ledger is not the only defence."""

    def test_a_store_deleted_after_a_full_sync_creates_no_task_again(
        self, fake: FakeHubSpot, project: Path
    ) -> None:
        """Sync, delete engage.db, sync: every task is found in HubSpot, none created twice."""
        account(fake)
        code, first, err = sync()
        assert code == 0, err
        created = len(fake.objects["tasks"])
        assert created == first["sinks"]["hubspot_tasks"]["pushed"] > 0
        for path in project.glob("engage.db*"):
            path.unlink()
        before = len(fake.requests)
        code, again, err = sync()
        assert code == 0, err
        assert len(fake.objects["tasks"]) == created  # 0 new tasks
        sink = again["sinks"]["hubspot_tasks"]
        assert sink["failed"] == 0 and sink["pushed"] == again["tasks_planned"] == created
        lookups = [
            r
            for r in fake.requests[before:]
            if r.path.endswith("/tasks/batch/read") and (r.json() or {}).get("idProperty")
        ]
        assert len(lookups) <= 2 * (created // 100 + 1)
        code, third, err = sync()  # the ledger knows them again
        assert code == 0, err
        assert third["sinks"]["hubspot_tasks"]["pushed"] == 0
        assert len(fake.objects["tasks"]) == created

    def test_a_backup_taken_before_the_push_put_back_creates_no_duplicate(
        self, fake: FakeHubSpot, project: Path, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        """Pull without pushing, back up, push, put the backup back, sync: no task twice."""
        account(fake)
        dry = CliRunner().invoke(cli, ["sync", "--dry-run", "--json"])
        assert dry.exit_code == 0, dry.stderr
        assert fake.objects["tasks"] == {}
        backup = tmp_path_factory.mktemp("backup")
        _copy_store(project, backup)  # the store knows the customers, the ledger nothing
        code, pushed, err = sync()
        assert code == 0, err
        created = len(fake.objects["tasks"])
        assert created == pushed["sinks"]["hubspot_tasks"]["pushed"] > 0
        _restore(backup, project)
        code, again, err = sync()
        assert code == 0, err
        sink = again["sinks"]["hubspot_tasks"]
        assert sink["failed"] == 0 and sink["already_pushed"] == 0
        assert len(fake.objects["tasks"]) == created  # 0 duplicates
        keys = [t["properties"]["engage_task_key"] for t in fake.objects["tasks"].values()]
        assert len(keys) == len(set(keys)) == created

    def test_without_the_scope_to_create_the_property_it_falls_back_and_says_so(
        self, fake: FakeHubSpot, project: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """403 on creating the property: one warning a run, and a lost store still duplicates nothing."""
        account(fake)
        fake.denied.add("property-writes")

        def warnings() -> list[str]:
            said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
            caplog.clear()
            return [w for w in said if "crm.schemas.contacts.write" in w]

        code, first, err = sync()
        assert code == 0, err
        assert len(warnings()) == 1
        created = len(fake.objects["tasks"])
        assert created == first["sinks"]["hubspot_tasks"]["pushed"] > 0
        for path in project.glob("engage.db*"):
            path.unlink()
        code, again, err = sync()
        assert code == 0, err
        assert len(warnings()) == 1
        assert again["sinks"]["hubspot_tasks"]["failed"] == 0
        assert len(fake.objects["tasks"]) == created
        assert ("tasks", "engage_task_key") not in fake.definitions
