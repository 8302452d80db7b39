"""A parsed mail message → engage records (pure: no I/O).

Who is "us": the mailbox owner and every address in the configured internal domains. A
message from us to outside addresses is **outbound** (one touchpoint per customer among the
recipients, owned by the sender); a message from outside is **inbound** (one touchpoint for
the sender's customer). Each outside address becomes a contact of its customer: the company
domain, or the address itself at a personal mail provider. Mail among ourselves only, spam,
trash, drafts and automated mail produce no touchpoint and are counted instead.

``external_id`` is the message's id (the Gmail id, or the Message-ID for Takeout files); when
one message involves several customers, each touchpoint's id adds ``/customer``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from engage.identity import Identity
from engage.models import Channel, Contact, Customer, Direction, Owner, Touchpoint
from engage_gmail.classify import automated_reason, is_invitation
from engage_gmail.headers import (
    Address,
    Headers,
    decode_words,
    parse_addresses,
    parse_date,
    parse_message_id,
)

#: Gmail system labels (API ids) and Takeout label names whose messages are skipped.
SKIPPED_LABELS = frozenset({"SPAM", "TRASH", "DRAFT", "DRAFTS"})

#: A Date header further than this from the time Gmail received the message is not believed.
DATE_TOLERANCE = timedelta(days=2)

#: Reasons an automated message may still be a calendar invitation.
_INVITE_MAY_OVERRIDE = ("mailing list", "Precedence", "Auto-Submitted")


@attrs.frozen
class MailMessage:
    """What the source knows of one message, from the API or an mbox file.

    Attributes:
        id: The stable id: Gmail's message id, or the Message-ID (or a hash) for Takeout.
        headers: The message's header fields (bodies are never read into this).
        labels: Upper-cased label ids or names (``SPAM``, ``SENT``...).
        received: When the mailbox got it (Gmail ``internalDate``, or the mbox ``From_`` line).
        mime_types: Content types of its parts, when known (to spot ``text/calendar``).
    """

    id: str
    headers: Headers
    labels: frozenset[str] = frozenset()
    received: datetime | None = None
    mime_types: tuple[str, ...] = ()


@attrs.frozen
class Mapped:
    """The outcome of mapping one message.

    ``skipped`` names why no touchpoint came out (``"automated"``, ``"spam/trash/draft"``,
    ``"internal"``); ``problem`` says why the message could not be used at all.
    """

    records: tuple[Customer | Contact | Owner | Touchpoint, ...] = ()
    skipped: str | None = None
    problem: str | None = None
    reason: str | None = None


@attrs.define
class Mapper:
    """Maps messages for one pull, emitting each customer, contact and owner record once.

    Attributes:
        source: The source's config name (every touchpoint's ``source``).
        identity: Resolves addresses to customers and tells who is internal.
        owner: The mailbox owner's address, when known.
        aliases: The owner's other addresses (Gmail send-as aliases), also us.
    """

    source: str
    identity: Identity
    owner: str | None = None
    aliases: frozenset[str] = frozenset()
    _seen: set[str] = attrs.field(factory=set, init=False)

    def is_us(self, email: str) -> bool:
        """True for the mailbox owner, their aliases and addresses in the internal domains."""
        return (
            email == (self.owner or "").lower()
            or email in self.aliases
            or self.identity.is_internal(email)
        )

    def map(self, message: MailMessage) -> Mapped:
        """The records for ``message``, or why it gives none."""
        if message.labels & SKIPPED_LABELS:
            return Mapped(skipped="spam/trash/draft")
        headers = message.headers
        senders = parse_addresses(headers.get_all("From"))
        sender = senders[0] if senders else None
        subject = _subject(headers)
        reason = automated_reason(headers, sender)
        meeting = is_invitation(headers, subject, message.mime_types)
        if reason is not None and not (meeting and reason.startswith(_INVITE_MAY_OVERRIDE)):
            return Mapped(skipped="automated", reason=reason)
        assert sender is not None  # automated_reason flags a missing sender
        occurred_at = self._when(headers, message.received)
        if occurred_at is None:
            return Mapped(problem="no readable Date header and no other date for the message")
        recipients = parse_addresses(
            [*headers.get_all("To"), *headers.get_all("Cc"), *headers.get_all("Bcc")]
        )
        outside = [a for a in [sender, *recipients] if not self.is_us(a.email)]
        by_customer = self._customers(outside)
        if self.is_us(sender.email):
            direction, owner = Direction.OUTBOUND, sender.email
            involved = list(by_customer.items())
        else:
            direction, owner = Direction.INBOUND, None
            key = self.identity.customer_key(sender.email)
            involved = [(key, [sender])] if key else []
        if not involved:
            return Mapped(skipped="internal" if direction is Direction.OUTBOUND else "no customer")
        channel = Channel.EMAIL
        if meeting:
            channel = Channel.MEETING
        elif "CHAT" in message.labels:
            channel = Channel.CHAT  # Takeout keeps old Hangouts chats with the Chat label
        records: list[Customer | Contact | Owner | Touchpoint] = []
        if owner is not None and "owner:" + owner not in self._seen:
            self._seen.add("owner:" + owner)
            records.append(Owner(owner, email=owner, name=sender.name))
        for key, addresses in by_customer.items():
            records.extend(self._contacts(key, addresses))
        message_id = parse_message_id(headers.get("Message-ID"))
        for key, addresses in involved:
            external_id = message.id if len(involved) == 1 else f"{message.id}/{key}"
            records.append(
                Touchpoint(
                    source=self.source,
                    external_id=external_id,
                    customer=key,
                    occurred_at=occurred_at,
                    channel=channel,
                    direction=direction,
                    contact_email=addresses[0].email,
                    owner=owner,
                    subject=subject,
                    message_id=message_id,
                )
            )
        return Mapped(tuple(records))

    def _customers(self, outside: Iterable[Address]) -> dict[str, list[Address]]:
        found: dict[str, list[Address]] = {}
        for address in outside:
            key = self.identity.customer_key(address.email)
            if key is not None:
                found.setdefault(key, []).append(address)
        return found

    def _contacts(self, key: str, addresses: list[Address]) -> list[Customer | Contact]:
        out: list[Customer | Contact] = []
        if "customer:" + key not in self._seen:
            self._seen.add("customer:" + key)
            personal = key == addresses[0].email
            out.append(Customer(key, name=addresses[0].name if personal else None))
        for address in addresses:
            if "contact:" + address.email not in self._seen:
                self._seen.add("contact:" + address.email)
                out.append(Contact(address.email, key, address.name))
        return out

    @staticmethod
    def _when(headers: Headers, received: datetime | None) -> datetime | None:
        written = parse_date(headers.get("Date"))
        if written is None:
            return received
        if received is not None and abs(written - received) > DATE_TOLERANCE:
            return received
        return written


def _subject(headers: Headers) -> str | None:
    value = headers.get("Subject")
    if value is None:
        return None
    return " ".join(decode_words(value).split()) or None
