"""Keep the fake honest: Google's own client drives it, and the sinks read what that client wrote."""

from __future__ import annotations

from collections.abc import Iterator
from email.headerregistry import Address
from pathlib import Path
from typing import Any

import google.oauth2.credentials
import pytest
from fake_google_write import COMPOSE, READONLY, TASKS, FakeGoogleWrite
from fake_oauth import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from googleapiclient.discovery import build  # type: ignore[import-untyped]
from googleapiclient.errors import HttpError  # type: ignore[import-untyped]
from sink_support import drafts_sink, task, tasks_sink

from engage_gmail.compose import build_draft, encode_raw
from engage_gmail.gtasks import resource_for


@pytest.fixture
def fake() -> Iterator[FakeGoogleWrite]:
    with FakeGoogleWrite() as fake:
        yield fake


def service(fake: FakeGoogleWrite, api: str, version: str) -> Any:
    credentials = google.oauth2.credentials.Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=REFRESH_TOKEN,
        token_uri=fake.oauth.token_uri,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=[COMPOSE, READONLY, TASKS],
    )
    return build(
        api,
        version,
        credentials=credentials,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": fake.url + "/"},
    )


def test_google_tasks_client_inserts_lists_and_patches(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """tasklists.list, tasks.insert, tasks.list and tasks.patch work from googleapiclient."""
    tasks = service(fake, "tasks", "v1")
    lists = tasks.tasklists().list().execute()
    assert lists["items"][0]["title"] == "My Tasks"
    inserted = tasks.tasks().insert(tasklist="@default", body=resource_for(task())).execute()
    assert inserted["due"] == "2026-03-02T00:00:00.000Z"
    listed = tasks.tasks().list(tasklist="@default", maxResults=100, showHidden=True).execute()
    assert [t["id"] for t in listed["items"]] == [inserted["id"]]
    assert tasks_sink(fake, tmp_path).find([task()]) == {task().key: inserted["id"]}
    patched = (
        tasks.tasks()
        .patch(tasklist="@default", task=inserted["id"], body={"status": "completed"})
        .execute()
    )
    assert patched["status"] == "completed" and patched["completed"]


def test_google_tasks_client_sees_google_errors(fake: FakeGoogleWrite) -> None:
    """A title over 1,024 characters is a 400 and an unknown list a 404, as the client reports them."""
    tasks = service(fake, "tasks", "v1")
    with pytest.raises(HttpError) as too_long:
        tasks.tasks().insert(tasklist="@default", body={"title": "x" * 1025}).execute()
    assert too_long.value.status_code == 400
    with pytest.raises(HttpError) as unknown:
        tasks.tasks().list(tasklist="no-such-list").execute()
    assert unknown.value.status_code == 404


def test_gmail_client_creates_a_draft_the_sink_recognises(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """drafts.create with our raw message, drafts.list/get and messages.list/get, from googleapiclient."""
    gmail = service(fake, "gmail", "v1")
    fake.add_message("jane@acme.com", "carol@ourco.com", "Hello", message_id="<h@acme.com>")
    found = (
        gmail.users().messages().list(userId="me", q="from:jane@acme.com", maxResults=1).execute()
    )
    message = (
        gmail.users()
        .messages()
        .get(
            userId="me",
            id=found["messages"][0]["id"],
            format="metadata",
            metadataHeaders=["Subject", "Message-ID"],
        )
        .execute()
    )
    assert {h["name"] for h in message["payload"]["headers"]} == {"Subject", "Message-ID"}
    raw = encode_raw(build_draft(task(), Address("Jane", addr_spec="jane@acme.com")))
    draft = gmail.users().drafts().create(userId="me", body={"message": {"raw": raw}}).execute()
    assert draft["message"]["labelIds"] == ["DRAFT"]
    listed = gmail.users().drafts().list(userId="me").execute()
    assert [d["id"] for d in listed["drafts"]] == [draft["id"]]
    assert drafts_sink(fake, tmp_path).find([task()]) == {task().key: draft["id"]}
    with pytest.raises(HttpError) as bad:
        gmail.users().drafts().create(
            userId="me", body={"message": {"raw": "not base64!"}}
        ).execute()
    assert bad.value.status_code == 400
    with pytest.raises(HttpError) as missing:
        gmail.users().drafts().create(
            userId="me", body={"message": {"raw": raw, "threadId": "nope"}}
        ).execute()
    assert missing.value.status_code == 404
