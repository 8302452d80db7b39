"""How ``engage check`` shows one input record: its place, its fields as parsed, its outcome."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from engage.models import Contact, Customer, Owner, Touchpoint
from engage.preview import PreviewRow

#: The skip reason shown as ``internal`` rather than ``skipped: internal``.
INTERNAL = "internal"


@attrs.frozen
class CheckedRow:
    """One input record as ``engage check`` shows it.

    The fields come from the row's first touchpoint, else from its contact, customer or owner
    record. ``outcome`` is ``ok``, ``internal`` (our own mail, passed over), ``skipped``,
    ``bad`` or ``empty`` (the row gave nothing and needs no explanation); ``detail`` says
    why it was skipped or what is wrong with it.
    """

    place: str
    outcome: str
    detail: str = ""
    time: datetime | None = None
    customer: str | None = None
    contact: str | None = None
    channel: str | None = None
    direction: str | None = None
    owner: str | None = None
    raw: Mapping[str, str] = attrs.field(factory=dict, eq=False)

    @property
    def label(self) -> str:
        """The outcome in a few words: ``ok``, ``internal``, ``skipped: automated``, ``bad: ...``."""
        if self.outcome in ("skipped", "bad"):
            return f"{self.outcome}: {self.detail}"
        return self.outcome

    def to_json(self) -> dict[str, Any]:
        """The row as ``engage check --json`` prints it."""
        return {
            "place": self.place,
            "time": None if self.time is None else self.time.isoformat(),
            "customer": self.customer,
            "contact": self.contact,
            "channel": self.channel,
            "direction": self.direction,
            "owner": self.owner,
            "outcome": self.outcome,
            "detail": self.detail,
            "raw": dict(self.raw),
        }


def checked_row(
    row: PreviewRow,
    records: Sequence[Customer | Contact | Owner | Touchpoint],
    bad: Sequence[str],
    skipped: Sequence[str],
) -> CheckedRow:
    """The row as shown, from what it gave: its records, its problems, its skip reasons.

    A row with a problem is ``bad``; one only passed over is ``skipped`` (or ``internal``
    when our own mail is why); one with records is ``ok``; one with nothing is ``empty``.
    """
    if bad:
        outcome, detail = "bad", "; ".join(_unplaced(row.place, m) for m in bad)
    elif skipped and not records:
        internal = all(what == INTERNAL for what in skipped)
        outcome = INTERNAL if internal else "skipped"
        detail = ", ".join(dict.fromkeys(skipped))
    else:
        outcome, detail = ("ok", "") if records else ("empty", "")
    fields = _fields(records)
    return CheckedRow(row.place, outcome, detail, raw=row.raw, **fields)


def _fields(records: Sequence[Customer | Contact | Owner | Touchpoint]) -> dict[str, Any]:
    for record in records:
        if isinstance(record, Touchpoint):
            return {
                "time": record.occurred_at,
                "customer": record.customer,
                "contact": record.contact_email,
                "channel": record.channel.value,
                "direction": record.direction.value,
                "owner": record.owner,
            }
    for record in records:
        if isinstance(record, Contact):
            return {"customer": record.customer, "contact": record.email}
    for record in records:
        if isinstance(record, Customer):
            return {"customer": record.key, "owner": record.owner}
    for record in records:
        if isinstance(record, Owner):
            return {"owner": record.email or record.id}
    return {}


def _unplaced(place: str, message: str) -> str:
    return message.removeprefix(f"{place}: ")
