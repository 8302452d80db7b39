"""Google's own client (google-api-python-client) works against the fake, so the fake speaks real Gmail."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google.oauth2.credentials
import pytest
import requests
from fake_gmail import FakeGmail
from fake_oauth import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from engage_gmail.auth import SCOPE_METADATA, SCOPE_READONLY
from engage_gmail.gmail_api import METADATA_HEADERS

DATA = Path(__file__).parent / "data" / "email" / "bluemind"


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


def test_full_format_attachments_and_raw_with_the_official_client(fake: FakeGmail) -> None:
    """A real invitation: metadata shows no parts; format=full gives the MIME tree with
    base64url bodies, a named part as an attachmentId that attachments.get serves; format=raw
    is the message itself; a batch of full gets works too."""
    raw = (DATA / "outlook.invite.new.eml").read_bytes()
    gmail_id = fake.add_raw(raw)
    gmail = service(fake)
    messages = gmail.users().messages()
    metadata = messages.get(userId="me", id=gmail_id, format="metadata").execute()
    assert metadata["payload"]["mimeType"] == "multipart/alternative"
    assert "parts" not in metadata["payload"] and "data" not in metadata["payload"]["body"]
    full = messages.get(userId="me", id=gmail_id, format="full").execute()
    html, calendar = full["payload"]["parts"]
    assert (html["partId"], html["mimeType"], html["filename"]) == ("0", "text/html", "")
    assert b"De 8h" in base64.urlsafe_b64decode(html["body"]["data"])
    assert (calendar["mimeType"], calendar["filename"]) == ("text/calendar", "meeting.ics")
    assert "data" not in calendar["body"]
    body = (
        messages.attachments()
        .get(userId="me", messageId=gmail_id, id=calendar["body"]["attachmentId"])
        .execute()
    )
    ics = base64.urlsafe_b64decode(body["data"])
    assert body["size"] == calendar["body"]["size"] == len(ics)
    assert b'DTSTART;TZID="Sarajevo, Skopje, Warsaw, Zagreb":20120527T200000' in ics
    whole = messages.get(userId="me", id=gmail_id, format="raw").execute()
    assert base64.urlsafe_b64decode(whole["raw"]) == raw
    got: dict[str, Any] = {}

    def callback(request_id: str, response: Any, exception: Exception | None) -> None:
        assert exception is None
        got[request_id] = response

    batch = BatchHttpRequest(callback=callback, batch_uri=fake.url + "/batch/gmail/v1")
    batch.add(messages.get(userId="me", id=gmail_id, format="full"), request_id="full")
    attachment = calendar["body"]["attachmentId"]
    batch.add(
        messages.attachments().get(userId="me", messageId=gmail_id, id=attachment),
        request_id="ics",
    )
    batch.execute()
    assert got["full"]["payload"]["parts"][1]["body"]["attachmentId"] == attachment
    assert base64.urlsafe_b64decode(got["ics"]["data"]) == ics


def test_full_format_is_refused_to_the_metadata_scope() -> None:
    """gmail.metadata may read headers only: format=full answers 403, as Gmail does."""
    with FakeGmail(scopes=(SCOPE_METADATA,)) as narrow:
        gmail_id = narrow.add_raw((DATA / "google.invite.new.eml").read_bytes())
        messages = service(narrow).users().messages()
        assert messages.get(userId="me", id=gmail_id, format="metadata").execute()["id"]
        with pytest.raises(HttpError) as caught:
            messages.get(userId="me", id=gmail_id, format="full").execute()
        assert caught.value.status_code == 403
