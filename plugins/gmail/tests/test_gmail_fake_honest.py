"""Google's own client (google-api-python-client) works against the fake, so the fake speaks real Gmail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import google.oauth2.credentials
import pytest
import requests
from fake_gmail import FakeGmail
from fake_oauth import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from engage_gmail.auth import SCOPE_READONLY
from engage_gmail.gmail_api import METADATA_HEADERS


@pytest.fixture
def fake() -> Iterator[FakeGmail]:
    with FakeGmail() as gmail:
        yield gmail


def service(fake: FakeGmail) -> Any:
    creds = google.oauth2.credentials.Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=REFRESH_TOKEN,
        token_uri=fake.token_uri,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=[SCOPE_READONLY],
    )
    return build(
        "gmail",
        "v1",
        credentials=creds,
        static_discovery=True,
        client_options={"api_endpoint": fake.url + "/"},
    )


def test_profile_list_and_metadata_get(fake: FakeGmail) -> None:
    """getProfile, messages.list with q and paging, and messages.get format=metadata."""
    made = [fake.add("jane@acme.com", "carol@ourco.com", f"S{n}") for n in range(3)]
    gmail = service(fake)
    profile = gmail.users().getProfile(userId="me").execute()
    assert profile["emailAddress"] == "carol@ourco.com"
    first = gmail.users().messages().list(userId="me", q="after:0", maxResults=2).execute()
    rest = (
        gmail.users()
        .messages()
        .list(userId="me", q="after:0", pageToken=first["nextPageToken"])
        .execute()
    )
    assert sorted(m["id"] for m in first["messages"] + rest["messages"]) == sorted(made)
    message = (
        gmail.users()
        .messages()
        .get(userId="me", id=made[0], format="metadata", metadataHeaders=["From", "Subject"])
        .execute()
    )
    assert [h["name"] for h in message["payload"]["headers"]] == ["From", "Subject"]


def test_history_and_its_404(fake: FakeGmail) -> None:
    """history.list returns messageAdded records after the id; an expired id is HttpError 404."""
    start = str(fake.history_id)
    added = fake.add("jane@acme.com", "carol@ourco.com")
    gmail = service(fake)
    answer = (
        gmail.users()
        .history()
        .list(userId="me", startHistoryId=start, historyTypes="messageAdded")
        .execute()
    )
    assert [r["messagesAdded"][0]["message"]["id"] for r in answer["history"]] == [added]
    fake.expire_history()
    with pytest.raises(HttpError) as caught:
        gmail.users().history().list(userId="me", startHistoryId=start).execute()
    assert caught.value.status_code == 404


def test_history_of_label_changes(fake: FakeGmail) -> None:
    """historyTypes is repeated; label changes come as labelsAdded / labelsRemoved records
    whose messages carry only ids; a value outside the enum is refused by the client."""
    added = fake.add("jane@acme.com", "carol@ourco.com", labels=("SPAM",))
    start = str(fake.history_id)
    fake.unlabel(added, "SPAM")
    fake.relabel(added, "INBOX")
    gmail = service(fake)
    answer = (
        gmail.users()
        .history()
        .list(
            userId="me",
            startHistoryId=start,
            historyTypes=["messageAdded", "labelAdded", "labelRemoved"],
        )
        .execute()
    )
    removed, labelled = answer["history"]
    assert removed["labelsRemoved"] == [
        {"message": {"id": added, "threadId": added}, "labelIds": ["SPAM"]}
    ]
    assert labelled["labelsAdded"][0]["labelIds"] == ["INBOX"]
    only_removed = (
        gmail.users()
        .history()
        .list(userId="me", startHistoryId=start, historyTypes="labelRemoved")
        .execute()
    )
    assert [r["id"] for r in only_removed["history"]] == [removed["id"]]
    with pytest.raises(TypeError):
        gmail.users().history().list(userId="me", startHistoryId=start, historyTypes="labelChanged")


def test_batch_with_the_official_client(fake: FakeGmail) -> None:
    """BatchHttpRequest against the fake's batch URI: each callback gets its own message."""
    made = [fake.add("jane@acme.com", "carol@ourco.com", f"S{n}") for n in range(4)]
    gmail = service(fake)
    got: dict[str, str] = {}

    def callback(request_id: str, response: Any, exception: Exception | None) -> None:
        assert exception is None
        subject = next(h["value"] for h in response["payload"]["headers"] if h["name"] == "Subject")
        got[response["id"]] = subject

    batch = BatchHttpRequest(callback=callback, batch_uri=fake.url + "/batch/gmail/v1")
    for gmail_id in made:
        batch.add(
            gmail.users()
            .messages()
            .get(
                userId="me", id=gmail_id, format="metadata", metadataHeaders=list(METADATA_HEADERS)
            )
        )
    batch.execute()
    assert got == {gmail_id: f"S{n}" for n, gmail_id in enumerate(made)}
    assert fake.batch_sizes == [4]


def test_an_unknown_history_type_is_refused(fake: FakeGmail) -> None:
    """The fake answers 400 for a historyTypes value Gmail does not define, as Gmail does."""
    token = requests.post(
        fake.token_uri,
        data={
            "grant_type": "refresh_token",
            "refresh_token": REFRESH_TOKEN,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
        timeout=5,
    ).json()["access_token"]
    answer = requests.get(
        f"{fake.url}/gmail/v1/users/me/history",
        params={"startHistoryId": str(fake.history_id), "historyTypes": ["labelChanged"]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert answer.status_code == 400 and "history_types" in answer.text
