"""A parsed mail message → engage records (pure: no I/O).

Who is "us": the mailbox owner and every address in the configured internal domains. Each
outside address belongs to a customer: the company domain, or the address itself at a
personal mail provider.

Who is a customer: only someone with a touchpoint of their own, someone who wrote to us or
to whom we wrote. A person only copied on someone else's mail is a contact seen in that
conversation, not a customer to plan for:

- a message from outside is **inbound**: one touchpoint for the sender's customer, which
  alone gets a :class:`~engage.models.Customer` record. Everyone else outside in To or Cc
  (the sender's colleagues, other companies) is a :class:`~engage.models.Contact` of their
  customer, nothing more;
- a message from us to outside addresses is **outbound**, owned by the sender: one
  touchpoint per customer in **To**. Customers only in Cc or Bcc get one only when no
  customer is in To (we wrote to them by copy: To a colleague, Cc the customer; or a Bcc
  mailing); otherwise they are contacts only.

A touchpoint's ``contact_email`` is the first address of its customer among those it was
written by or to. Mail among ourselves only, spam, trash, drafts and automated mail produce
no touchpoint and are counted instead. A message whose Date (and received time, when
known) is more than a day after the clock is a problem, not a touchpoint.

``external_id`` is the message's id (the Gmail id, or the Message-ID for Takeout files).
When an outbound message names several customers among all its recipients, each of its
touchpoints adds ``/customer``, even if only one of them gets a touchpoint: ids stay what
they were when every copied customer got one, so mail read again is never counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import attrs

from engage.adapters import FUTURE_TOLERANCE
from engage.clock import utcnow
from engage.identity import Identity
from engage.models import Channel, Contact, Customer, Direction, Owner, Touchpoint
from engage_gmail.classify import automated_reason, is_invitation, list_reason, undisclosed
from engage_gmail.headers import (
    Address,
    Headers,
    decode_words,
    parse_addresses,
    parse_date,
    parse_message_id,
)
from engage_gmail.invites import Invite

#: Gmail system labels (API ids) and Takeout label names whose messages are skipped.
SKIPPED_LABELS = frozenset({"SPAM", "TRASH", "DRAFT", "DRAFTS"})

#: A Date header further than this from the time Gmail received the message is not believed.
DATE_TOLERANCE = timedelta(days=2)

#: Reasons an automated message may still be a calendar invitation.
_INVITE_MAY_OVERRIDE = ("mailing list", "Precedence", "Auto-Submitted", "undisclosed")

#: The header fields that name a message's recipients.
_RECIPIENTS = ("To", "Cc", "Bcc")


@attrs.frozen
class MailMessage:
    """What the source knows of one message, from the API or an mbox file.

    Attributes:
        id: The stable id: Gmail's message id, or the Message-ID (or a hash) for Takeout.
        headers: The message's header fields (bodies are never read into this).
        labels: Upper-cased label ids or names (``SPAM``, ``SENT``...).
        received: When the mailbox got it (Gmail ``internalDate``, or the mbox ``From_`` line).
        mime_types: Content types of its parts, when known (to spot ``text/calendar``).
        footer: A mailing-list footer was seen in its body (mbox files only).
        invite: The calendar invitation it carries, when its calendar part was read.
    """

    id: str
    headers: Headers
    labels: frozenset[str] = frozenset()
    received: datetime | None = None
    mime_types: tuple[str, ...] = ()
    footer: bool = False
    invite: Invite | None = None


@attrs.frozen
class Mapped:
    """The outcome of mapping one message.

    ``skipped`` names why no touchpoint came out (``"automated"``, ``"spam/trash/draft"``,
    ``"internal"``); ``problem`` says why the message could not be used at all;
    ``cancelled`` lists every id a cancelled meeting's touchpoints can have had.
    """

    records: tuple[Customer | Contact | Owner | Touchpoint, ...] = ()
    skipped: str | None = None
    problem: str | None = None
    reason: str | None = None
    cancelled: tuple[str, ...] = ()


@attrs.define
class Mapper:
    """Maps messages for one pull, emitting each customer, contact and owner record once.

    Attributes:
        source: The source's config name (every touchpoint's ``source``).
        identity: Resolves addresses to customers and tells who is internal.
        owner: The mailbox owner's address, when known.
        aliases: The owner's other addresses (Gmail send-as aliases), also us.
        now: The real clock (the adapter context's ``now``), to refuse mail from the future.
    """

    source: str
    identity: Identity
    owner: str | None = None
    aliases: frozenset[str] = frozenset()
    now: Callable[[], datetime] = utcnow
    _seen: set[str] = attrs.field(factory=set, init=False)
    _names: dict[str, str] = attrs.field(factory=dict, init=False)

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
        if reason is None and sender is not None:
            reason = list_reason(headers, sender, subject, message.mime_types)
            if reason is None and message.footer:
                reason = "mailing list (footer)"
            if reason is None and not self.is_us(sender.email) and undisclosed(headers):
                reason = "undisclosed recipients"
        meeting = is_invitation(headers, subject, message.mime_types)
        if reason is not None and not (meeting and reason.startswith(_INVITE_MAY_OVERRIDE)):
            return Mapped(skipped="automated", reason=reason)
        assert sender is not None  # automated_reason flags a missing sender
        invite = message.invite
        if invite is not None and invite.method == "CANCEL":
            return Mapped(cancelled=tuple(sorted(self.external_ids(message))))
        if invite is not None and invite.declined:
            return Mapped(skipped="meeting declined")
        if invite is not None:
            occurred_at: datetime | None = invite.start
        else:
            occurred_at, problem = self._when(headers, message.received)
            if occurred_at is None:
                return Mapped(problem=problem)
        addressed = [a for a in parse_addresses(headers.get_all("To")) if not self.is_us(a.email)]
        copied = [
            a
            for a in parse_addresses([*headers.get_all("Cc"), *headers.get_all("Bcc")])
            if not self.is_us(a.email)
        ]
        if self.is_us(sender.email):
            direction, owner = Direction.OUTBOUND, sender.email
            everyone = self._customers([*addressed, *copied])
            touched = self._customers(addressed) or self._customers(copied)
            several = len(everyone) > 1
        else:
            direction, owner = Direction.INBOUND, None
            everyone = self._customers([sender, *addressed, *copied])
            touched = self._customers([sender])
            several = False
        if not touched:
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
        for key, addresses in everyone.items():
            records.extend(self._contacts(key, addresses, customer=key in touched))
        message_id = parse_message_id(headers.get("Message-ID"))
        base = message.id
        if invite is not None:
            base = message_id = f"ics:{invite.uid}"
        for key, addresses in touched.items():
            records.append(
                Touchpoint(
                    source=self.source,
                    external_id=f"{base}/{key}" if several else base,
                    customer=key,
                    occurred_at=occurred_at,  # type: ignore[arg-type]
                    channel=channel,
                    direction=direction,
                    contact_email=addresses[0].email,
                    owner=owner,
                    subject=subject,
                    message_id=message_id,
                )
            )
        return Mapped(tuple(records))

    def external_ids(self, message: MailMessage) -> set[str]:
        """Every id a touchpoint of ``message`` can have had.

        Its id, and for mail from us ``id/customer`` for each customer among the recipients
        (copied ones too, which earlier versions gave touchpoints).
        """
        headers = message.headers
        base = f"ics:{message.invite.uid}" if message.invite else message.id
        senders = parse_addresses(headers.get_all("From"))
        if message.invite is None and (not senders or not self.is_us(senders[0].email)):
            return {base}
        fields = [v for name in _RECIPIENTS for v in headers.get_all(name)]
        named = self._customers(a for a in parse_addresses(fields) if not self.is_us(a.email))
        named.update(self._customers(a for a in senders[:1] if not self.is_us(a.email)))
        return {base, *(f"{base}/{key}" for key in named)}

    def _customers(self, outside: Iterable[Address]) -> dict[str, list[Address]]:
        found: dict[str, list[Address]] = {}
        for address in outside:
            key = self.identity.customer_key(address.email)
            if key is not None:
                found.setdefault(key, []).append(address)
        return found

    def _contacts(
        self, key: str, addresses: list[Address], *, customer: bool
    ) -> list[Customer | Contact]:
        """The customer record (only for a customer with a touchpoint here) and its contacts."""
        out: list[Customer | Contact] = []
        personal = key == addresses[0].email
        if personal:
            name = next((a.name for a in addresses if a.name), None)
            if name is not None:
                self._names.setdefault(key, name)
        if customer and "customer:" + key not in self._seen:
            self._seen.add("customer:" + key)
            out.append(Customer(key, name=self._names.get(key) if personal else None))
        for address in addresses:
            if "contact:" + address.email not in self._seen:
                self._seen.add("contact:" + address.email)
                out.append(Contact(address.email, key, address.name))
        return out

    def _when(
        self, headers: Headers, received: datetime | None
    ) -> tuple[datetime | None, str | None]:
        """When the message was written, else received; or why it cannot be dated.

        The Date header is believed unless it is days away from the received time. A date
        more than ``FUTURE_TOLERANCE`` (a day) after the clock is not believed either; when the
        message has no other date, it is a problem.
        """
        raw = headers.get("Date")
        written = parse_date(raw)
        if written is None and received is None:
            return None, "no readable Date header and no other date for the message"
        dates = [(written, f"Date: in the future (got {raw!r})")]
        if received is not None:
            got = f"received: in the future (got {received.isoformat()!r})"
            if written is None or abs(written - received) > DATE_TOLERANCE:
                dates.insert(0, (received, got))
            else:
                dates.append((received, got))
        latest = self.now() + FUTURE_TOLERANCE
        for moment, _ in dates:
            if moment is not None and moment <= latest:
                return moment, None
        return None, next(why for moment, why in dates if moment is not None)


def _subject(headers: Headers) -> str | None:
    value = headers.get("Subject")
    if value is None:
        return None
    return " ".join(decode_words(value).split()) or None


def looks_like_meeting(message: MailMessage) -> bool:
    """True when a message's headers and known MIME types mark a calendar invitation or reply
    (a ``text/calendar`` type, Outlook's calendar ``Content-Class``, an invitation subject),
    and it is not spam, trash or a draft: worth reading its calendar part."""
    if message.labels & SKIPPED_LABELS:
        return False
    return is_invitation(message.headers, _subject(message.headers), message.mime_types)
