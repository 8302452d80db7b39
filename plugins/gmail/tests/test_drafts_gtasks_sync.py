"""engage sync end to end: a CSV export in, Gmail drafts and Google Tasks out, never twice."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_google_write import FakeGoogleWrite
from fake_oauth import write_credentials

from engage.store.sqlite import SQLiteStore
from engage.testing import Project
from engage.testing.samples import (
    CRM_EXPORT,
    CRM_EXPORT_AS_OF,
    CRM_EXPORT_FILE,
    CRM_EXPORT_SOURCE,
)
from engage_gmail.gtasks import key_of

AS_OF = CRM_EXPORT_AS_OF
SINKS = """
[sinks.drafts]
plugin = "gmail"
credentials_file = "gmail-authorized-user.json"
base_url = "{url}"
token_uri = "{token_uri}"

[sinks.todo]
plugin = "gtasks"
credentials_file = "gmail-authorized-user.json"
base_url = "{url}"
token_uri = "{token_uri}"
"""


@pytest.fixture
def fake() -> Iterator[FakeGoogleWrite]:
    with FakeGoogleWrite() as fake:
        fake.add_message(
            "Jane Doe <jane@acme.com>", "carol@ourco.com", "Rollout", message_id="<r@acme.com>"
        )
        yield fake


@pytest.fixture
def project(tmp_path: Path, fake: FakeGoogleWrite) -> Project:
    """The kit's sample CRM export, its source table and both sinks on the fake, and
    credentials; run with the CSV and Gmail plugins, without a $GMAIL_CREDENTIALS_FILE of
    the developer's."""
    project = Project(tmp_path, plugins=("csv", "gmail"), env={"GMAIL_CREDENTIALS_FILE": None})
    project.config(CRM_EXPORT_SOURCE + SINKS.format(url=fake.url, token_uri=fake.oauth.token_uri))
    project.write(CRM_EXPORT_FILE, CRM_EXPORT)
    write_credentials(tmp_path)
    return project


def sync(project: Project, *args: str) -> dict[str, Any]:
    run = project.sync(*args, as_of=AS_OF)
    assert run.code == 0, run.stdout + run.stderr
    report: dict[str, Any] = run.json
    return report


def task_keys(fake: FakeGoogleWrite) -> list[str]:
    return sorted(key_of(t.notes) or "" for t in fake.tasks.values())


def forget_pushes(project: Project) -> None:
    """Simulate a crash after the remote creates: the ledger never learnt the remote ids."""
    store = SQLiteStore(project.path / "engage.db")
    try:
        store.conn.execute("UPDATE ledger SET status = 'pending', remote_id = NULL")
    finally:
        store.close()


def test_sync_writes_one_draft_and_one_google_task_per_follow_up(
    project: Project, fake: FakeGoogleWrite
) -> None:
    """Both sinks receive every planned task once; a re-run writes nothing new."""
    report = sync(project)
    planned = report["tasks_planned"]
    assert planned > 0
    assert report["sinks"]["drafts"]["pushed"] == planned
    assert report["sinks"]["todo"]["pushed"] == planned
    assert len(fake.drafts) == len(fake.tasks) == planned
    jane = [d for d in fake.draft_messages() if "jane@acme.com" in d.header("To")]
    assert jane and all(d.header("In-Reply-To") == "<r@acme.com>" for d in jane)
    again = sync(project)
    assert again["sinks"]["drafts"]["pushed"] == again["sinks"]["todo"]["pushed"] == 0
    assert len(fake.drafts) == len(fake.tasks) == planned


def test_a_crash_between_create_and_ledger_write_makes_no_duplicate(
    project: Project, fake: FakeGoogleWrite
) -> None:
    """Pending entries are found remotely and recorded; only a task that never landed is created."""
    first = sync(project)
    planned = first["tasks_planned"]
    keys = task_keys(fake)
    lost_draft = next(iter(fake.drafts))
    del fake.drafts[lost_draft]  # this create never reached Gmail
    forget_pushes(project)
    report = sync(project)
    drafts, todo = report["sinks"]["drafts"], report["sinks"]["todo"]
    assert (drafts["recovered"], drafts["pushed"]) == (planned - 1, 1)
    assert (todo["recovered"], todo["pushed"]) == (planned, 0)
    assert task_keys(fake) == keys
    assert all(len(ids) == 1 for ids in fake.drafts_by_key().values())
    assert len(fake.drafts_by_key()) == planned


def test_google_tasks_whose_condition_cleared_are_completed(
    project: Project, fake: FakeGoogleWrite
) -> None:
    """Answering the customers clears their follow-ups: Google Tasks ticks them; drafts stay."""
    first = sync(project)
    with (project.path / "export.csv").open("a") as handle:
        handle.write("2026-02-28 15:00,jane@acme.com,Jane Doe,Email,out,carol@ourco.com\n")
        handle.write("2026-02-28 16:00,jo@gmail.com,Jo,Email,out,carol@ourco.com\n")
    report = sync(project)
    todo, drafts = report["sinks"]["todo"], report["sinks"]["drafts"]
    assert todo["cleared"] > 0
    assert todo["completed"] == todo["cleared"]
    assert drafts["cleared"] == todo["cleared"] and drafts["completed"] == 0
    done = [t for t in fake.tasks.values() if t.status == "completed"]
    assert len(done) == todo["completed"]
    assert len(fake.drafts) == first["tasks_planned"]


def drop_store(project: Project) -> None:
    """The store is gone (deleted, a new machine): the database and its WAL files."""
    for name in ("engage.db", "engage.db-wal", "engage.db-shm"):
        (project.path / name).unlink(missing_ok=True)


def no_duplicates(fake: FakeGoogleWrite, planned: int) -> None:
    assert len(fake.drafts) == len(fake.tasks) == planned
    assert len(fake.drafts_by_key()) == planned
    assert len(set(task_keys(fake))) == planned


def test_a_store_deleted_after_a_full_sync_creates_nothing_when_synced_again(
    project: Project, fake: FakeGoogleWrite
) -> None:
    """Every task is found remotely by its key marker and recorded: 0 new drafts, 0 new Google
    tasks, in one drafts.list, one batch of drafts.get and one tasks.list page."""
    first = sync(project)
    planned = first["tasks_planned"]
    drop_store(project)
    fake.server.requests.clear()
    fake.inner_requests.clear()
    again = sync(project)
    assert again["tasks_planned"] == planned
    drafts, todo = again["sinks"]["drafts"], again["sinks"]["todo"]
    assert drafts["pushed"] == todo["pushed"] == planned  # recorded with the remote ids
    no_duplicates(fake, planned)
    assert fake.calls() == {
        "GET /drafts": 1,
        "POST /batch/gmail/v1": 1,
        "GET /drafts/{id}": planned,
        "GET /tasks/v1/lists/{list}/tasks": 1,
    }
    assert f"{planned} task(s) already had a draft" in " ".join(drafts["notices"])
    assert f"{planned} task(s) already had a Google task" in " ".join(todo["notices"])
    assert sync(project)["sinks"]["drafts"]["pushed"] == 0  # the ledger knows them now


def test_a_backup_restored_after_the_push_duplicates_nothing(
    project: Project, fake: FakeGoogleWrite
) -> None:
    """A backup taken after a --dry-run (plans, nothing pushed), restored after the push:
    the next sync finds every task remotely and creates none."""
    sync(project, "--dry-run")
    with (
        sqlite3.connect(project.path / "engage.db") as live,
        sqlite3.connect(project.path / "backup.db") as backup,
    ):
        live.backup(backup)
    planned = sync(project)["tasks_planned"]
    no_duplicates(fake, planned)
    drop_store(project)
    shutil.copy(project.path / "backup.db", project.path / "engage.db")
    fake.server.requests.clear()
    fake.inner_requests.clear()
    restored = sync(project)
    assert restored["sinks"]["drafts"]["pushed"] == restored["sinks"]["todo"]["pushed"] == planned
    no_duplicates(fake, planned)
    created = [
        r for r in fake.server.requests if r.method == "POST" and not r.path.startswith("/batch")
    ]
    assert [r.path for r in created if r.path != "/token"] == []
