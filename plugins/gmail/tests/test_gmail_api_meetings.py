"""Invitations read through the Gmail API: dated at the meeting's start like mbox ones, moved
by updates, withdrawn by cancellations, one meeting with a Takeout copy of it, and held while
they lie in the future; only invitations are read whole, and every extra call is counted.

The messages are BlueMind's real invitations (tests/data/email/bluemind, AGPL-3.0), served by
the fake with Gmail's ``format=full`` MIME tree and ``attachments.get``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_gmail import FakeGmail
from fake_oauth import write_credentials
from gmail_kit import FAST, Recorder
from test_mbox_meetings import OUTLOOK_UID, mbox
from test_mbox_meetings import source as mbox_source

from engage.adapters import AdapterContext, Retire, Skipped, resolve_options
from engage.identity import Identity
from engage.models import Channel, Customer
from engage.pull import pull_source
from engage.store.sqlite import SQLiteStore
from engage.testing import Pull
from engage_gmail.api_reader import ApiReader
from engage_gmail.sources import GmailSource

DATA = Path(__file__).parent / "data" / "email" / "bluemind"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
IDENTITY = Identity.for_domains(["ourco.com", "blue-mind.net"])
#: What Exchange adds to an Outlook invitation; Outlook for Mac's samples lack it, and
#: nothing else in their metadata says "invitation" (see the README).
EXCHANGE = {"Content-Class": "urn:content-classes:calendarmessage"}


def deliver(fake: FakeGmail, name: str, *, edit: tuple[bytes, bytes] | None = None) -> str:
    """A sample delivered to the fake mailbox a day before the clock (inside the look-back)."""
    raw = (DATA / name).read_bytes()
    if edit:
        raw = raw.replace(*edit)
    headers = EXCHANGE if name.startswith("outlook") else None
    return fake.add_raw(raw, internal_date=NOW - timedelta(days=1), headers=headers)


def api(fake: FakeGmail, tmp_path: Path, *, now: datetime = NOW) -> GmailSource:
    keys = {
        "credentials_file": str(write_credentials(tmp_path)),
        "token_uri": fake.token_uri,
        "base_url": fake.url,
        "mailbox_owner": "tom@willow.vmw",
    }
    options = resolve_options(GmailSource.options, keys, "engage.toml: [sources.mail]")
    context = AdapterContext(
        "mail", base_dir=tmp_path, identity=IDENTITY, progress=Recorder(), now=lambda: now
    )
    return GmailSource(options, context, retry=FAST)


def meetings(store: SQLiteStore) -> list[tuple[str, datetime]]:
    """Every stored touchpoint (merged copies aside) as (external id, occurred_at)."""
    rows = store.conn.execute(
        "SELECT external_id, occurred_at FROM touchpoints WHERE duplicate_of IS NULL"
    ).fetchall()
    return [(r[0], datetime.fromtimestamp(r[1] / 1_000_000, UTC)) for r in rows]


def calls(source: GmailSource) -> dict[str, int]:
    reader = source._reader
    assert isinstance(reader, ApiReader)
    return dict(reader.api.calls)


@pytest.fixture
def fake() -> Iterator[FakeGmail]:
    with FakeGmail(email="tom@willow.vmw") as gmail:
        yield gmail


def test_a_google_invitation_is_dated_at_dtstart_from_its_inline_calendar_part(
    fake: FakeGmail, tmp_path: Path
) -> None:
    """Google Calendar's invitation: one format=full get (its text/calendar part is inline),
    no attachment call; the meeting at DTSTART 09:00 Z, id and message_id ics:UID."""
    deliver(fake, "google.invite.new.eml")
    source = api(fake, tmp_path)
    [meeting] = Pull.run(source).touchpoints
    assert meeting.occurred_at == datetime(2012, 5, 30, 9, 0, tzinfo=UTC)
    assert meeting.channel == Channel.MEETING
    assert meeting.external_id == meeting.message_id
    assert meeting.external_id.startswith("ics:")
    assert dict(fake.gets) == {"metadata": 1, "full": 1}
    assert calls(source)["messages.get full"] == 1
    assert "messages.attachments.get" not in calls(source)


def test_an_outlook_invitation_is_dated_in_its_zone_through_attachments_get(
    fake: FakeGmail, tmp_path: Path
) -> None:
    """Outlook's calendar part is named meeting.ics, so Gmail keeps it as an attachment: one
    attachments.get reads it; 20:00 in "Sarajevo, Skopje, Warsaw, Zagreb" is 18:00 UTC."""
    deliver(fake, "outlook.invite.new.eml")
    source = api(fake, tmp_path)
    [meeting] = Pull.run(source).touchpoints
    assert meeting.occurred_at == datetime(2012, 5, 27, 18, 0, tzinfo=UTC)
    assert (meeting.external_id, meeting.message_id) == (f"ics:{OUTLOOK_UID}", f"ics:{OUTLOOK_UID}")
    assert dict(fake.gets) == {"metadata": 1, "full": 1, "attachment": 1}
    assert fake.units["tom@willow.vmw"] == 1 + 5 + 5 + 5 + 5 + 1  # profile, list, 3 gets, sendAs
    assert source.counts["invitation attachments read"] == 1


def test_ordinary_mail_is_never_read_whole(fake: FakeGmail, tmp_path: Path) -> None:
    """Mail whose metadata shows no invitation costs one metadata get, nothing more."""
    for n in range(3):
        fake.add("jane@acme.com", "tom@willow.vmw", f"Hello {n}", date=NOW - timedelta(days=1))
    source = api(fake, tmp_path)
    assert len(Pull.run(source).touchpoints) == 3
    assert dict(fake.gets) == {"metadata": 3}
    assert "messages.get full" not in calls(source)


def test_an_update_moves_the_meeting(fake: FakeGmail, tmp_path: Path) -> None:
    """The SEQUENCE 1 update read by the next (history) sync moves the same touchpoint to
    28 May 15:00 CEST; the older invitation read afterwards changes nothing."""
    store = SQLiteStore(tmp_path / "engage.db")
    deliver(fake, "outlook.invite.new.eml")
    first = pull_source(store, "mail", "gmail", api(fake, tmp_path), now=NOW)
    assert first.touchpoints == 1
    deliver(fake, "outlook.invite.update.eml")
    pull_source(store, "mail", "gmail", api(fake, tmp_path), now=NOW)
    assert meetings(store) == [(f"ics:{OUTLOOK_UID}", datetime(2012, 5, 28, 13, 0, tzinfo=UTC))]
    deliver(fake, "outlook.invite.new.eml")
    late = api(fake, tmp_path)
    pull_source(store, "mail", "gmail", late, now=NOW)
    assert late.counts["skipped meeting superseded"] == 1
    assert meetings(store) == [(f"ics:{OUTLOOK_UID}", datetime(2012, 5, 28, 13, 0, tzinfo=UTC))]


def test_a_cancellation_retires_the_meeting(fake: FakeGmail, tmp_path: Path) -> None:
    """METHOD:CANCEL read through the API withdraws the stored meeting."""
    store = SQLiteStore(tmp_path / "engage.db")
    deliver(fake, "outlook.invite.new.eml")
    pull_source(store, "mail", "gmail", api(fake, tmp_path), now=NOW)
    assert store.touchpoint_count("mail") == 1
    deliver(fake, "outlook.invite.cancel.eml")
    result = Pull.run(api(fake, tmp_path))  # a fresh pull shows what the cancellation yields
    assert Retire("touchpoint", f"ics:{OUTLOOK_UID}") in result.items
    assert Skipped("meeting cancelled") in result.items
    report = pull_source(store, "mail", "gmail", api(fake, tmp_path), now=NOW)
    assert report.retired == 1
    assert store.touchpoint_count("mail") == 0


def test_the_same_meeting_in_the_api_and_in_a_takeout_file_counts_once(
    fake: FakeGmail, tmp_path: Path
) -> None:
    """The API source and a Takeout source both read the invitation: one meeting, merged by
    its ics:UID message_id."""
    store = SQLiteStore(tmp_path / "engage.db")
    deliver(fake, "outlook.invite.new.eml")
    assert pull_source(store, "mail", "gmail", api(fake, tmp_path), now=NOW).touchpoints == 1
    mbox(tmp_path, "outlook.invite.new.eml")
    second = pull_source(store, "archive", "gmail", mbox_source(tmp_path, "a.mbox"), now=NOW)
    assert second.merged == 1
    assert len(meetings(store)) == 1


def test_a_future_meeting_becomes_a_touchpoint_only_once_due(
    fake: FakeGmail, tmp_path: Path
) -> None:
    """Held in the cursor (no touchpoint, no customer) until a sync at or after its start,
    which yields it with no new mail and without reading any message again."""
    deliver(fake, "outlook.invite.new.eml", edit=(b"20120527T200000", b"20270115T100000"))
    first = Pull.run(api(fake, tmp_path))
    assert first.touchpoints == [] and first.of(Customer) == []
    assert Skipped("meeting in the future (counted once it has happened)") in first.items
    before = Pull.run(api(fake, tmp_path, now=datetime(2027, 1, 1, tzinfo=UTC)), first.cursor)
    assert before.touchpoints == []
    fake.gets.clear()
    after_source = api(fake, tmp_path, now=datetime(2027, 1, 16, tzinfo=UTC))
    after = Pull.run(after_source, before.cursor)
    [meeting] = after.touchpoints
    assert meeting.occurred_at == datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
    assert [c.key for c in after.of(Customer)] == ["willow.vmw"]
    assert dict(fake.gets) == {}
    done = Pull.run(api(fake, tmp_path, now=datetime(2027, 2, 1, tzinfo=UTC)), after.cursor)
    assert done.touchpoints == []
