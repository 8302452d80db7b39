"""Mapping a message to records: who is us, directions, customers, meetings and automated mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engage.identity import Identity
from engage.models import Channel, Contact, Customer, Direction, Owner, Touchpoint
from engage_gmail.headers import Headers
from engage_gmail.mapping import MailMessage, Mapped, Mapper

WHEN = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
DATE = "Mon, 02 Nov 2026 11:30:00 +0100"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def mapper(
    owner: str | None = "carol@ourco.com", internal: tuple[str, ...] = ("ourco.com",)
) -> Mapper:
    return Mapper("mail", Identity.for_domains(internal), owner, now=lambda: NOW)


def message(
    *fields: tuple[str, str],
    labels: tuple[str, ...] = (),
    received: datetime | None = None,
    types: tuple[str, ...] = (),
) -> MailMessage:
    base = dict(fields)
    base.setdefault("Date", DATE)
    base.setdefault("Message-ID", "<abc.123@mail.acme.com>")
    return MailMessage("m1", Headers(tuple(base.items())), frozenset(labels), received, types)


def touchpoints(mapped: Mapped) -> list[Touchpoint]:
    return [r for r in mapped.records if isinstance(r, Touchpoint)]


def customers(mapped: Mapped) -> list[str]:
    return [r.key for r in mapped.records if isinstance(r, Customer)]


def contacts(mapped: Mapped) -> dict[str, str]:
    return {r.email: r.customer for r in mapped.records if isinstance(r, Contact)}


def test_inbound_from_a_customer() -> None:
    """Mail from outside to us is inbound for the sender's company, with the sender as contact."""
    mapped = mapper().map(
        message(("From", "Jane Roe <Jane@Acme.com>"), ("To", "carol@ourco.com"), ("Subject", "Hi"))
    )
    [touchpoint] = touchpoints(mapped)
    assert touchpoint == Touchpoint(
        source="mail",
        external_id="m1",
        customer="acme.com",
        occurred_at=WHEN,
        channel=Channel.EMAIL,
        direction=Direction.INBOUND,
        contact_email="jane@acme.com",
        owner=None,
        subject="Hi",
        message_id="abc.123@mail.acme.com",
    )
    assert Contact("jane@acme.com", "acme.com", "Jane Roe") in mapped.records


def test_outbound_to_two_customers_gives_one_touchpoint_each() -> None:
    """Mail from us to two companies is outbound for each, owned by the sender, ids suffixed."""
    mapped = mapper().map(
        message(
            ("From", "Carol <carol@ourco.com>"),
            ("To", "jane@acme.com, Bob <bob@globex.com>"),
            ("Cc", "dave@ourco.com, joe@acme.com"),
        )
    )
    found = {
        (t.external_id, t.customer, t.contact_email, t.direction, t.owner)
        for t in touchpoints(mapped)
    }
    assert found == {
        ("m1/acme.com", "acme.com", "jane@acme.com", Direction.OUTBOUND, "carol@ourco.com"),
        ("m1/globex.com", "globex.com", "bob@globex.com", Direction.OUTBOUND, "carol@ourco.com"),
    }
    assert Owner("carol@ourco.com", email="carol@ourco.com", name="Carol") in mapped.records
    assert Contact("joe@acme.com", "acme.com") in mapped.records


def test_people_copied_on_inbound_mail_are_contacts_only() -> None:
    """Inbound mail is the sender's customer's alone: another company in Cc is a contact of its
    customer, with no customer record and no touchpoint; the sender's copied colleague is a
    contact of the sender's customer."""
    mapped = mapper().map(
        message(
            ("From", "jane@acme.com"),
            ("To", "carol@ourco.com, Bob <bob@globex.com>"),
            ("Cc", "joe@acme.com, ann@initech.com"),
        )
    )
    assert [(t.customer, t.contact_email) for t in touchpoints(mapped)] == [
        ("acme.com", "jane@acme.com")
    ]
    assert customers(mapped) == ["acme.com"]
    assert contacts(mapped) == {
        "jane@acme.com": "acme.com",
        "joe@acme.com": "acme.com",
        "bob@globex.com": "globex.com",
        "ann@initech.com": "initech.com",
    }
    assert Contact("bob@globex.com", "globex.com", "Bob") in mapped.records


def test_outbound_mail_is_for_the_customers_in_to_not_the_copied_ones() -> None:
    """Mail from us To customer A, Cc customer B: one touchpoint, A's; B is a contact only.
    The id keeps its /customer suffix, as when B got a touchpoint too."""
    mapped = mapper().map(
        message(
            ("From", "carol@ourco.com"),
            ("To", "jane@acme.com"),
            ("Cc", "Bob <bob@globex.com>"),
        )
    )
    assert [(t.external_id, t.customer, t.direction) for t in touchpoints(mapped)] == [
        ("m1/acme.com", "acme.com", Direction.OUTBOUND)
    ]
    assert customers(mapped) == ["acme.com"]
    assert Contact("bob@globex.com", "globex.com", "Bob") in mapped.records


@pytest.mark.parametrize(
    "fields",
    [
        (("To", "dave@ourco.com"), ("Cc", "Jane <jane@acme.com>, joe@acme.com")),
        (("To", "undisclosed-recipients:;"), ("Bcc", "Jane <jane@acme.com>")),
        (("Bcc", "Jane <jane@acme.com>"),),
    ],
    ids=["to-a-colleague-cc-the-customer", "bcc-only", "no-to-at-all"],
)
def test_outbound_mail_to_customers_by_copy_only_is_to_them(
    fields: tuple[tuple[str, str], ...],
) -> None:
    """Mail from us with no customer in To (To a colleague, Cc the customer; a Bcc mailing)
    is written to the copied customers: an outbound touchpoint each."""
    mapped = mapper().map(message(("From", "carol@ourco.com"), *fields))
    [touchpoint] = touchpoints(mapped)
    assert (touchpoint.external_id, touchpoint.customer, touchpoint.contact_email) == (
        "m1",
        "acme.com",
        "jane@acme.com",
    )
    assert (touchpoint.direction, touchpoint.owner) == (Direction.OUTBOUND, "carol@ourco.com")
    assert customers(mapped) == ["acme.com"]


def test_contact_email_is_the_first_address_the_touchpoint_is_for() -> None:
    """An outbound touchpoint's contact is the customer's first address in To, even when a
    colleague of theirs is copied in a Cc field written before it."""
    mapped = mapper().map(
        message(
            ("From", "carol@ourco.com"),
            ("Cc", "ann@acme.com"),
            ("To", "bob@globex.com, jane@acme.com"),
        )
    )
    found = {t.customer: t.contact_email for t in touchpoints(mapped)}
    assert found == {"acme.com": "jane@acme.com", "globex.com": "bob@globex.com"}


def test_a_copied_person_becomes_a_customer_with_their_first_own_touchpoint() -> None:
    """Copied first (a contact only), then writing to us: the customer record comes with that
    touchpoint, named after the person (a personal address) as their first mail showed it."""
    m = mapper()
    copied = m.map(
        message(
            ("From", "jane@acme.com"),
            ("To", "carol@ourco.com"),
            ("Cc", "Jo Bloggs <jo.bloggs@gmail.com>"),
        )
    )
    assert "jo.bloggs@gmail.com" not in customers(copied)
    assert Contact("jo.bloggs@gmail.com", "jo.bloggs@gmail.com", "Jo Bloggs") in copied.records
    own = m.map(message(("From", "jo.bloggs@gmail.com"), ("To", "carol@ourco.com")))
    assert Customer("jo.bloggs@gmail.com", name="Jo Bloggs") in own.records
    assert [t.customer for t in touchpoints(own)] == ["jo.bloggs@gmail.com"]


def test_external_ids_name_every_id_a_message_can_have_had() -> None:
    """Mail from us names its id and id/customer for every customer among all recipients
    (copied ones got touchpoints in earlier versions); inbound mail only ever had its id."""
    out = message(("From", "carol@ourco.com"), ("To", "jane@acme.com"), ("Cc", "bob@globex.com"))
    assert mapper().external_ids(out) == {"m1", "m1/acme.com", "m1/globex.com"}
    inbound = message(("From", "jane@acme.com"), ("Cc", "bob@globex.com"))
    assert mapper().external_ids(inbound) == {"m1"}


def test_internal_domain_colleagues_are_us() -> None:
    """A colleague in an internal domain writing to a customer is outbound, owned by the colleague."""
    [touchpoint] = touchpoints(
        mapper().map(message(("From", "dave@eu.ourco.com"), ("To", "jane@acme.com")))
    )
    assert (touchpoint.direction, touchpoint.owner) == (Direction.OUTBOUND, "dave@eu.ourco.com")


def test_mail_among_ourselves_is_skipped_as_internal() -> None:
    """Mail from us to us only gives no touchpoint."""
    mapped = mapper().map(message(("From", "carol@ourco.com"), ("To", "dave@ourco.com")))
    assert (mapped.records, mapped.skipped) == ((), "internal")


def test_personal_mail_domains_are_their_own_customers() -> None:
    """A gmail.com sender is a customer of their own (the address), named after them."""
    mapped = mapper().map(
        message(("From", "Jo Bloggs <jo.bloggs@gmail.com>"), ("To", "carol@ourco.com"))
    )
    [touchpoint] = touchpoints(mapped)
    assert touchpoint.customer == "jo.bloggs@gmail.com"
    assert Customer("jo.bloggs@gmail.com", name="Jo Bloggs") in mapped.records


def test_a_personal_mailbox_owner_is_us() -> None:
    """The mailbox owner is us even at gmail.com, with no internal domains configured."""
    mapped = Mapper("mail", Identity(), "carol@gmail.com").map(
        message(("From", "carol@gmail.com"), ("To", "jane@acme.com"))
    )
    assert [t.direction for t in touchpoints(mapped)] == [Direction.OUTBOUND]


def test_customer_and_contact_records_come_once_per_pull() -> None:
    """The second message from the same contact yields only its touchpoint."""
    m = mapper()
    first = m.map(message(("From", "jane@acme.com"), ("To", "carol@ourco.com")))
    second = m.map(message(("From", "jane@acme.com"), ("To", "carol@ourco.com")))
    assert len(first.records) == 3 and len(second.records) == 1


@pytest.mark.parametrize(
    "fields",
    [
        (("From", "Acme <news@acme.com>"), ("List-Unsubscribe", "<mailto:x@acme.com>")),
        (("From", "jane@acme.com"), ("List-Id", "<team.acme.com>")),
        (("From", "jane@acme.com"), ("Precedence", "bulk")),
        (("From", "jane@acme.com"), ("Auto-Submitted", "auto-replied")),
        (("From", "no-reply@acme.com"),),
        (("From", "Acme <notifications@acme.com>"),),
        (("From", "MAILER-DAEMON@acme.com"),),
        (("From", "MAILER DAEMON <>"),),
        (
            ("From", "postmaster@acme.com"),
            ("Content-Type", "multipart/report; report-type=delivery-status"),
        ),
    ],
)
def test_automated_mail_is_skipped(fields: tuple[tuple[str, str], ...]) -> None:
    """Newsletters, lists, bulk, auto-replies, no-reply senders and bounces are not conversations."""
    mapped = mapper().map(message(*fields, ("To", "carol@ourco.com")))
    assert (mapped.records, mapped.skipped) == ((), "automated")
    assert mapped.reason


def test_auto_submitted_no_is_a_person() -> None:
    """`Auto-Submitted: no` is what people's mail says: not automated."""
    mapped = mapper().map(
        message(("From", "jane@acme.com"), ("To", "carol@ourco.com"), ("Auto-Submitted", "no"))
    )
    assert len(touchpoints(mapped)) == 1


@pytest.mark.parametrize(
    ("subject", "types", "content_type"),
    [
        ("Invitation: Quarterly review @ Tue 3 Nov 2026 10am - 11am (CET)", (), "multipart/mixed"),
        ("Accepted: Quarterly review @ Tue 3 Nov 2026", (), "multipart/mixed"),
        ("Updated invitation: Kick-off", (), "multipart/mixed"),
        ("Kick-off", ("multipart/mixed", "text/calendar"), "multipart/mixed"),
        ("Kick-off", (), 'text/calendar; method="REQUEST"'),
    ],
)
def test_calendar_invitations_and_replies_are_meetings(
    subject: str, types: tuple[str, ...], content_type: str
) -> None:
    """An invitation subject or a text/calendar part makes a meeting touchpoint."""
    mapped = mapper().map(
        message(
            ("From", "jane@acme.com"),
            ("To", "carol@ourco.com"),
            ("Subject", subject),
            ("Content-Type", content_type),
            types=types,
        )
    )
    assert [t.channel for t in touchpoints(mapped)] == [Channel.MEETING]


def test_an_invitation_sent_through_a_list_header_is_still_a_meeting() -> None:
    """Calendar mail with List-Unsubscribe is a meeting, not a newsletter."""
    mapped = mapper().map(
        message(
            ("From", "jane@acme.com"),
            ("To", "carol@ourco.com"),
            ("Subject", "Invitation: Demo"),
            ("List-Unsubscribe", "<mailto:u@acme.com>"),
        )
    )
    assert [t.channel for t in touchpoints(mapped)] == [Channel.MEETING]


def test_outlook_calendar_messages_are_meetings() -> None:
    """`Content-Class: urn:content-classes:calendarmessage` marks an Outlook invitation."""
    mapped = mapper().map(
        message(
            ("From", "jane@acme.com"),
            ("To", "carol@ourco.com"),
            ("Subject", "Sync"),
            ("Content-Class", "urn:content-classes:calendarmessage"),
        )
    )
    assert [t.channel for t in touchpoints(mapped)] == [Channel.MEETING]


def test_takeout_chats_are_chat_touchpoints() -> None:
    """Old Hangouts chats in a Takeout file (label Chat) are chat touchpoints."""
    mapped = mapper().map(
        message(("From", "jane@acme.com"), ("To", "carol@ourco.com"), labels=("CHAT",))
    )
    assert [t.channel for t in touchpoints(mapped)] == [Channel.CHAT]


def test_outside_senders_without_a_customer_are_skipped() -> None:
    """A sender whose address has no usable domain gives no touchpoint."""
    mapped = mapper().map(message(("From", "root@localhost"), ("To", "carol@ourco.com")))
    assert mapped.skipped == "no customer"


@pytest.mark.parametrize("label", ["SPAM", "TRASH", "DRAFT"])
def test_spam_trash_and_drafts_are_skipped(label: str) -> None:
    """Messages labelled SPAM, TRASH or DRAFT give nothing."""
    mapped = mapper().map(
        message(("From", "jane@acme.com"), ("To", "carol@ourco.com"), labels=(label,))
    )
    assert mapped.skipped == "spam/trash/draft"


def test_date_falls_back_to_the_received_time() -> None:
    """No Date, or one days away from when Gmail received it, uses the received time."""
    received = WHEN + timedelta(hours=1)
    fields = (("From", "jane@acme.com"), ("To", "carol@ourco.com"))
    no_date = message(*fields, received=received)
    no_date = MailMessage(
        "m1", Headers(tuple(f for f in no_date.headers.fields if f[0] != "Date")), received=received
    )
    assert touchpoints(mapper().map(no_date))[0].occurred_at == received
    wrong = message(*fields, ("Date", "Thu, 01 Jan 1970 00:00:00 +0000"), received=received)
    assert touchpoints(mapper().map(wrong))[0].occurred_at == received
    close = message(*fields, received=received)
    assert touchpoints(mapper().map(close))[0].occurred_at == WHEN


@pytest.mark.parametrize(
    ("date", "received", "problem"),
    [
        (
            "Sun, 22 Nov 2026 12:00:01 +0000",
            None,
            "Date: in the future (got 'Sun, 22 Nov 2026 12:00:01 +0000')",
        ),
        (
            "Thu, 01 Jan 2099 00:00:00 +0000",
            datetime(2099, 1, 1, 1, tzinfo=UTC),
            "Date: in the future (got 'Thu, 01 Jan 2099 00:00:00 +0000')",
        ),
        (
            None,
            NOW + timedelta(days=1, seconds=1),
            "received: in the future (got '2026-11-21T12:00:01+00:00')",
        ),
    ],
    ids=["date-only", "date-and-received", "received-only"],
)
def test_mail_dated_more_than_a_day_after_the_clock_is_a_problem(
    date: str | None, received: datetime | None, problem: str
) -> None:
    """A message whose dates (Date, and when it was received) all lie more than a day after
    the clock is a problem saying which date, not a touchpoint."""
    fields = [("From", "jane@acme.com"), ("To", "carol@ourco.com")]
    if date is not None:
        fields.append(("Date", date))
    mapped = mapper().map(MailMessage("m1", Headers(tuple(fields)), received=received))
    assert (mapped.records, mapped.problem) == ((), problem)


def test_a_future_date_header_gives_way_to_the_received_time() -> None:
    """A Date within a day after the clock is believed; one further ahead, on a message
    received before then, gives way to the received time."""
    fields = (("From", "jane@acme.com"), ("To", "carol@ourco.com"))
    soon = message(*fields, ("Date", "Sat, 21 Nov 2026 11:00:00 +0000"))
    assert touchpoints(mapper().map(soon))[0].occurred_at == NOW + timedelta(hours=23)
    ahead = message(*fields, ("Date", "Sun, 22 Nov 2026 00:00:00 +0000"), received=NOW)
    assert touchpoints(mapper().map(ahead))[0].occurred_at == NOW


def test_no_date_at_all_is_a_problem() -> None:
    """Without a readable Date header or a received time, the message is reported."""
    headers = Headers((("From", "jane@acme.com"), ("To", "carol@ourco.com"), ("Date", "someday")))
    mapped = mapper().map(MailMessage("m1", headers))
    assert mapped.problem and "Date" in mapped.problem


def test_subject_is_decoded_and_bodies_are_never_read() -> None:
    """The subject is RFC 2047-decoded and unfolded; a touchpoint has no body field at all."""
    mapped = mapper().map(
        message(
            ("From", "jane@acme.com"),
            ("To", "carol@ourco.com"),
            ("Subject", "=?UTF-8?Q?Caf=C3=A9?=  talk"),
        )
    )
    assert touchpoints(mapped)[0].subject == "Café talk"
    assert not hasattr(touchpoints(mapped)[0], "body")
