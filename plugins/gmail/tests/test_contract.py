"""The Gmail source (API and Takeout mbox) and the drafts and Google Tasks sinks keep
engage's promises (engage.testing's contract suites), against the fake Google APIs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fake_gmail import FakeGmail
from fake_google_write import FakeGoogleWrite
from fake_oauth import REFRESH_TOKEN, write_credentials
from gmail_kit import FAST, NOW
from sink_support import FAST as SINK_FAST

from engage.adapters import AdapterContext
from engage.testing import SinkCase, SinkContract, SourceCase, SourceContract
from engage_gmail.gtasks import key_of
from engage_gmail.sinks import GmailDraftsSink, GoogleTasksSink
from engage_gmail.sources import GmailSource

US = "carol@ourco.com"


@pytest.fixture
def gmail() -> Iterator[FakeGmail]:
    """A running fake Gmail for carol@ourco.com."""
    with FakeGmail(US) as fake:
        yield fake


@pytest.fixture
def google() -> Iterator[FakeGoogleWrite]:
    """A running fake of the Gmail drafts and Google Tasks APIs."""
    with FakeGoogleWrite() as fake:
        yield fake


def api_source(options: Mapping[str, Any], context: AdapterContext) -> GmailSource:
    """The Gmail source with test-sized retries."""
    return GmailSource(options, context, retry=FAST)


class TestGmailApiSource(SourceContract):
    """A mailbox of 150 messages (two pages of the list), one dated a month ahead."""

    expected_failures: ClassVar[Mapping[str, str]] = {
        "test_resuming_from_each_checkpoint_repeats_nothing": (
            "by design: a checkpoint inside a page of messages.list saves the page's token, and "
            "a resumed page is read again from its start (messages deleted meanwhile would shift "
            "a saved position past unread ones); up to a page is read twice, stored once"
        ),
    }

    @pytest.fixture
    def source_case(self, gmail: FakeGmail, tmp_path: Path) -> SourceCase:
        for n in range(150):
            sender, to = ("Jane Roe <jane@acme.com>", US) if n % 3 else (US, "bob@globex.io")
            gmail.add(sender, to, f"Question {n}", date=NOW - timedelta(days=3, minutes=n))
        ahead = NOW + timedelta(days=30)
        future = gmail.add("jo@initech.com", US, "Typo", date=ahead, internal_date=ahead)
        return SourceCase(
            adapter="gmail",
            options={
                "credentials_file": str(write_credentials(tmp_path)),
                "token_uri": gmail.token_uri,
                "base_url": gmail.url,
            },
            name="mail",
            now=lambda: NOW,
            secret=REFRESH_TOKEN,
            places=(f"gmail message {future}",),
            fail=lambda: gmail.oauth.revoke(),
            build=api_source,
        )


FROM_LINE = "From 1623347578936238217@xxx Thu Jan 14 19:30:22 +0000 2021"


def takeout(n: int, sender: str = "Jane Roe <jane@acme.com>", to: str = US) -> str:
    """One message as Google Takeout writes it."""
    return (
        f"{FROM_LINE}\nX-Gmail-Labels: Inbox\nDate: Thu, {n + 1} Jan 2026 10:00:00 +0100\n"
        f"From: {sender}\nTo: {to}\nSubject: Question {n}\nMessage-ID: <{n}@acme.com>\n\n"
        "Hello\n\n"
    )


class TestGmailMboxSource(SourceContract):
    """Two Takeout files, a checkpoint every two messages, one message without headers."""

    @pytest.fixture
    def source_case(self, tmp_path: Path) -> SourceCase:
        first = "".join(takeout(n) for n in range(3))
        broken = FROM_LINE + "\n\nno headers at all\n\n"
        (tmp_path / "a.mbox").write_text(first)
        (tmp_path / "b.mbox").write_text(takeout(3) + broken + takeout(4, US, "bob@globex.io"))
        return SourceCase(
            adapter="gmail",
            options={
                "mbox": "*.mbox",
                "mailbox_owner": US,
                "checkpoint_every": 2,
                "settle_seconds": 0,
            },
            name="archive",
            base_dir=tmp_path,
            now=lambda: NOW,
            places=(f"b.mbox: byte {len(takeout(3))}",),
            fail=lambda: [path.unlink() for path in tmp_path.glob("*.mbox")] and None,
        )


def draft_keys(google: FakeGoogleWrite) -> list[str]:
    """The task key of every draft (a duplicate shows twice)."""
    return [key for key, drafts in google.drafts_by_key().items() for _ in drafts]


class TestGmailDraftsSink(SinkContract):
    """Drafts to Jane, from the task's owner."""

    @pytest.fixture
    def sink_case(self, google: FakeGoogleWrite, tmp_path: Path) -> SinkCase:
        return SinkCase(
            adapter="gmail",
            options={
                "credentials_file": str(write_credentials(tmp_path)),
                "token_uri": google.oauth.token_uri,
                "base_url": google.url,
            },
            name="drafts",
            secret=REFRESH_TOKEN,
            remote_keys=lambda: draft_keys(google),
            fail=lambda: google.oauth.revoke(),
            build=lambda options, context: GmailDraftsSink(options, context, retry=SINK_FAST),
        )


class TestGoogleTasksSink(SinkContract):
    """Tasks in the default list, their key in the notes."""

    @pytest.fixture
    def sink_case(self, google: FakeGoogleWrite, tmp_path: Path) -> SinkCase:
        return SinkCase(
            adapter="gtasks",
            options={
                "credentials_file": str(write_credentials(tmp_path)),
                "token_uri": google.oauth.token_uri,
                "base_url": google.url,
            },
            name="todo",
            secret=REFRESH_TOKEN,
            remote_keys=lambda: [key_of(t.notes) or "" for t in google.tasks.values()],
            fail=lambda: google.oauth.revoke(),
            build=lambda options, context: GoogleTasksSink(options, context, retry=SINK_FAST),
        )
