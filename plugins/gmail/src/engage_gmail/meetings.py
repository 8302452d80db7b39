"""Meetings from invitations, kept in step across updates, cancellations and time.

An invitation's touchpoint is the meeting itself: dated at its start, with the event's UID
as its id (``ics:UID``, ``ics:UID/customer`` when it names several customers) and as its
``message_id``, so the same meeting in two mailboxes is one (in one source by its id, across
sources by engage's Message-ID merge). This module keeps, in the source's cursor state:

- ``seq``: the highest SEQUENCE read per UID; an older update read later (another file, a
  re-export) changes nothing;
- ``pending``: meetings whose start is still in the future. A meeting that has not happened
  is no touchpoint yet: it is held (its customer record too) and yielded by the first pull
  at or after its start. An update moving it into the future withdraws what was stored; a
  cancellation withdraws it (``Retire``) and forgets it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from engage.adapters import Retire, Skipped, SourceItem
from engage.errors import EngageError
from engage.models import Customer, Touchpoint
from engage_gmail.invites import Invite


def _dump(touchpoint: Touchpoint, customer: Customer | None) -> dict[str, Any]:
    return {
        "source": touchpoint.source,
        "external_id": touchpoint.external_id,
        "customer": touchpoint.customer,
        "occurred_at": touchpoint.occurred_at.isoformat(),
        "channel": touchpoint.channel.value,
        "direction": touchpoint.direction.value,
        "contact_email": touchpoint.contact_email,
        "owner": touchpoint.owner,
        "subject": touchpoint.subject,
        "message_id": touchpoint.message_id,
        "customer_name": customer.name if customer else None,
    }


def _load(data: dict[str, Any]) -> tuple[Customer, Touchpoint]:
    fields = dict(data)
    name = fields.pop("customer_name", None)
    fields["occurred_at"] = datetime.fromisoformat(fields["occurred_at"])
    return Customer(fields["customer"], name=name), Touchpoint(**fields)


class MeetingBook:
    """The meetings part of a cursor state (``state["meetings"]``), see the module.

    Args:
        state: The cursor state; ``meetings`` is created in it when missing.
        now: The moment of this pull.
    """

    def __init__(self, state: dict[str, Any], now: datetime) -> None:
        book = state.setdefault("meetings", {})
        self.seq: dict[str, int] = book.setdefault("seq", {})
        self.pending: dict[str, dict[str, Any]] = book.setdefault("pending", {})
        self.now = now

    @staticmethod
    def unreadable(state: dict[str, Any]) -> str | None:
        """Why the meetings part of a saved cursor state cannot be read, or None when it can
        (or is absent: it is made empty)."""
        book = state.get("meetings", {})
        if not isinstance(book, dict):
            return "its meetings are not a JSON object"
        seq, pending = book.get("seq", {}), book.get("pending", {})
        if not isinstance(seq, dict) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in seq.values()
        ):
            return "its meetings' sequences are not numbers by UID"
        if not isinstance(pending, dict):
            return "its meetings held for later are not a JSON object"
        for key, data in pending.items():
            try:
                _load(data)
            except (TypeError, ValueError, KeyError, EngageError):
                return f"its meeting held for later {key!r} is not one"
        return None

    def due(self) -> Iterator[SourceItem]:
        """The held meetings whose start has come, as records; they are no longer held."""
        for key in sorted(self.pending):
            data = self.pending[key]
            if datetime.fromisoformat(data["occurred_at"]) <= self.now:
                del self.pending[key]
                yield from _load(data)

    def superseded(self, invite: Invite) -> bool:
        """True when a later revision of this meeting was read already; else remember it."""
        known = self.seq.get(invite.uid)
        if known is not None and invite.sequence < known:
            return True
        self.seq[invite.uid] = invite.sequence
        return False

    def cancel(self, invite: Invite, ids: Sequence[str]) -> Iterator[SourceItem]:
        """Withdraw a cancelled meeting: every id it can have had."""
        for key in [k for k, v in self.pending.items() if v["message_id"] == f"ics:{invite.uid}"]:
            del self.pending[key]
        for external_id in sorted(ids):
            yield Retire("touchpoint", external_id)
        yield Skipped("meeting cancelled")

    def place(self, records: Sequence[Any]) -> Iterator[SourceItem]:
        """Yield a meeting's records, holding its touchpoints (and their customers) while its
        start is in the future."""
        future = {
            r.customer: r for r in records if isinstance(r, Touchpoint) and r.occurred_at > self.now
        }
        for record in records:
            if isinstance(record, Touchpoint) and record.customer in future:
                continue
            if isinstance(record, Customer) and record.key in future:
                continue
            yield record
        for touchpoint in future.values():
            customer = next(
                (r for r in records if isinstance(r, Customer) and r.key == touchpoint.customer),
                None,
            )
            self.pending[touchpoint.external_id] = _dump(touchpoint, customer)
            yield Retire("touchpoint", touchpoint.external_id)
        if future:
            yield Skipped("meeting in the future (counted once it has happened)")
