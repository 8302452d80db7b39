"""Invitations in mbox files: dated at the meeting's start, moved by updates, withdrawn by
cancellations, counted once across mailboxes, and held while they lie in the future.

The messages are BlueMind's real invitations (tests/data/email/bluemind, AGPL-3.0): Outlook
for Mac with a Windows-named zone in quoted-printable, Google Calendar with base64 .ics."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gmail_kit import Recorder

from engage.adapters import AdapterContext, Retire, Skipped, resolve_options
from engage.identity import Identity
from engage.models import Channel, Customer
from engage.pull import pull_source
from engage.store.sqlite import SQLiteStore
from engage.testing import Pull
from engage_gmail.invites import parse_invite
from engage_gmail.sources import GmailSource

DATA = Path(__file__).parent / "data" / "email" / "bluemind"
OUTLOOK_UID = "A93D8AAF-53FE-40D1-990B-C056E13727F2"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def mbox(
    tmp_path: Path, *names: str, file: str = "a.mbox", edit: tuple[bytes, bytes] | None = None
) -> Path:
    """The named samples as one finished mbox file."""
    parts = []
    for name in names:
        raw = (DATA / name).read_bytes()
        if edit:
            raw = raw.replace(*edit)
        parts.append(b"From x@y Thu Jan 14 19:30:22 2021\n" + raw.rstrip(b"\n") + b"\n\n")
    path = tmp_path / file
    path.write_bytes(b"".join(parts))
    old = time.time() - 3600
    os.utime(path, (old, old))
    return path


def source(
    tmp_path: Path, pattern: str, *, now: datetime = NOW, name: str = "archive"
) -> GmailSource:
    options = resolve_options(
        GmailSource.options,
        {"mbox": pattern, "mailbox_owner": "tom@willow.vmw"},
        f"engage.toml: [sources.{name}]",
    )
    identity = Identity.for_domains(["ourco.com", "blue-mind.net"])
    context = AdapterContext(
        name, base_dir=tmp_path, identity=identity, progress=Recorder(), now=lambda: now
    )
    return GmailSource(options, context)


def test_an_invitation_is_dated_at_the_meetings_start(tmp_path: Path) -> None:
    """Outlook's invitation for 20:00 in "Sarajevo, Skopje, Warsaw, Zagreb" (CEST) is a
    meeting at 18:00 UTC, sent two hours earlier; its id and message_id are its UID."""
    mbox(tmp_path, "outlook.invite.new.eml")
    [meeting] = Pull.run(source(tmp_path, "a.mbox")).touchpoints
    assert meeting.occurred_at == datetime(2012, 5, 27, 18, 0, tzinfo=UTC)
    assert meeting.channel == Channel.MEETING
    assert (meeting.external_id, meeting.message_id) == (f"ics:{OUTLOOK_UID}", f"ics:{OUTLOOK_UID}")


def test_a_google_invitation_in_utc_with_an_auto_submitted_header(tmp_path: Path) -> None:
    """Google Calendar's invitation (Auto-Submitted, base64 .ics attachment too) is the
    meeting at DTSTART 09:00 Z."""
    mbox(tmp_path, "google.invite.new.eml")
    [meeting] = Pull.run(source(tmp_path, "a.mbox")).touchpoints
    assert meeting.occurred_at == datetime(2012, 5, 30, 9, 0, tzinfo=UTC)
    assert meeting.customer == "tcataldo@gmail.com"


def test_an_update_moves_the_meeting_and_an_older_one_read_later_does_not(tmp_path: Path) -> None:
    """SEQUENCE 1 moves it to 28 May 15:00 CEST; the SEQUENCE 0 invitation read afterwards
    (a later file) changes nothing."""
    mbox(tmp_path, "outlook.invite.new.eml", "outlook.invite.update.eml")
    first = Pull.run(source(tmp_path, "a.mbox"))
    assert [t.occurred_at for t in first.touchpoints] == [
        datetime(2012, 5, 27, 18, 0, tzinfo=UTC),
        datetime(2012, 5, 28, 13, 0, tzinfo=UTC),
    ]
    mbox(tmp_path, "outlook.invite.new.eml", file="b.mbox")
    later = source(tmp_path, "b.mbox")
    assert Pull.run(later, first.cursor).touchpoints == []
    assert later.counts["skipped meeting superseded"] == 1


def test_a_cancellation_withdraws_the_meeting(tmp_path: Path) -> None:
    """METHOD:CANCEL retires every id the meeting can have had, and stores nothing."""
    mbox(tmp_path, "outlook.invite.cancel.eml")
    result = Pull.run(source(tmp_path, "a.mbox"))
    assert result.touchpoints == []
    assert Retire("touchpoint", f"ics:{OUTLOOK_UID}") in result.items
    assert Skipped("meeting cancelled") in result.items


def test_through_the_store_a_cancelled_meeting_is_gone(tmp_path: Path) -> None:
    """Invitation, then in a later sync its cancellation: the store keeps no meeting."""
    store = SQLiteStore(tmp_path / "engage.db")
    mbox(tmp_path, "outlook.invite.new.eml")
    assert (
        pull_source(store, "archive", "gmail", source(tmp_path, "*.mbox"), now=NOW).touchpoints == 1
    )
    mbox(tmp_path, "outlook.invite.cancel.eml", file="b.mbox")
    report = pull_source(store, "archive", "gmail", source(tmp_path, "*.mbox"), now=NOW)
    assert report.retired == 1
    assert store.touchpoint_count("archive") == 0


def test_a_declined_reply_is_no_meeting(tmp_path: Path) -> None:
    """A reply whose attendee declined gives no touchpoint; an accepted one is the meeting."""
    mbox(tmp_path, "google.reply.decline.eml")
    assert Pull.run(source(tmp_path, "a.mbox")).touchpoints == []
    mbox(tmp_path, "google.reply.accept.eml")
    [meeting] = Pull.run(source(tmp_path, "a.mbox")).touchpoints
    assert meeting.occurred_at == datetime(2012, 5, 30, 9, 0, tzinfo=UTC)


def test_the_same_meeting_in_two_mailboxes_counts_once(tmp_path: Path) -> None:
    """Two sources (two people's exports) holding the same invitation: one merged."""
    (tmp_path / "carol").mkdir()
    (tmp_path / "dave").mkdir()
    mbox(tmp_path / "carol", "outlook.invite.new.eml")
    mbox(tmp_path / "dave", "outlook.invite.new.eml")
    store = SQLiteStore(tmp_path / "engage.db")
    pull_source(store, "carol", "gmail", source(tmp_path, "carol/a.mbox", name="carol"), now=NOW)
    second = pull_source(
        store, "dave", "gmail", source(tmp_path, "dave/a.mbox", name="dave"), now=NOW
    )
    assert second.merged == 1


def test_a_future_meeting_is_held_until_it_has_happened(tmp_path: Path) -> None:
    """A meeting starting after the clock is no touchpoint (nor a customer) yet; the first
    pull at or after its start yields it, even with no new mail."""
    future = (b"20120527T200000", b"20270115T100000")
    mbox(tmp_path, "outlook.invite.new.eml", edit=future)
    first = Pull.run(source(tmp_path, "a.mbox"))
    assert first.touchpoints == [] and first.of(Customer) == []
    assert Skipped("meeting in the future (counted once it has happened)") in first.items
    before = Pull.run(
        source(tmp_path, "a.mbox", now=datetime(2027, 1, 1, tzinfo=UTC)), first.cursor
    )
    assert before.touchpoints == []
    after = Pull.run(
        source(tmp_path, "a.mbox", now=datetime(2027, 1, 16, tzinfo=UTC)), first.cursor
    )
    [meeting] = after.touchpoints
    assert meeting.occurred_at == datetime(2027, 1, 15, 9, 0, tzinfo=UTC)  # CET in January
    assert [c.key for c in after.of(Customer)] == ["willow.vmw"]
    done = Pull.run(source(tmp_path, "a.mbox", now=datetime(2027, 2, 1, tzinfo=UTC)), after.cursor)
    assert done.touchpoints == []


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("DTSTART;VALUE=DATE:20240105", datetime(2024, 1, 5, tzinfo=UTC)),
        ("DTSTART:20240105", datetime(2024, 1, 5, tzinfo=UTC)),
        ("DTSTART:20240105T100000Z", datetime(2024, 1, 5, 10, tzinfo=UTC)),
        ("DTSTART;TZID=Europe/Berlin:20240705T100000", datetime(2024, 7, 5, 8, tzinfo=UTC)),
        (
            'DTSTART;TZID="W. Europe Standard Time":20240105T100000',
            datetime(2024, 1, 5, 9, tzinfo=UTC),
        ),
        (
            "DTSTART;TZID=/mozilla.org/20050126_1/America/New_York:20240105T100000",
            datetime(2024, 1, 5, 15, tzinfo=UTC),
        ),
        ("DTSTART:20240105T100000", datetime(2024, 1, 5, 10, tzinfo=UTC)),
    ],
)
def test_start_times(lines: str, expected: datetime) -> None:
    """DATE values at midnight UTC, UTC `Z`, IANA, Windows and Mozilla TZIDs, floating time."""
    ics = f"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:u1\r\n{lines}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    invite = parse_invite(ics.encode())
    assert invite is not None and invite.start == expected


def test_unreadable_calendars_are_none() -> None:
    """No VEVENT, no UID, a bad date: None, never an error."""
    assert parse_invite(b"") is None
    assert parse_invite(b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:2024\nUID:x\nEND:VEVENT\n") is None
    assert parse_invite(b"\xff\xfe garbage") is None
