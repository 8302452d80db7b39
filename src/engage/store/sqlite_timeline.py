"""What ``engage timeline`` reads from the SQLite store: one customer's touchpoints, and the
customers' keys and names to find a customer by.

Mixed into :class:`~engage.store.sqlite.SQLiteStore`. The timeline walks the customer index
(customer, occurred_at), so it costs the customer's own touchpoints, not the table's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engage.clock import ensure_utc, from_micros, to_micros
from engage.models import Touchpoint
from engage.timeline import TimelineEntry, assemble

_COLUMNS = """source, external_id, customer, occurred_at, channel, direction, contact_email,
    owner, subject, feedback, message_id, missed, duplicate_of"""


class TimelineMixin:
    """Timeline reads over the store's connection."""

    if TYPE_CHECKING:

        @property
        def conn(self) -> sqlite3.Connection: ...

        def _errors(self) -> AbstractContextManager[None]: ...

    def timeline(
        self, customer: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[TimelineEntry]:
        """The customer's touchpoints from ``since`` up to ``until`` (both included; None:
        no bound), oldest first, each email once with the copies merged into it."""
        where = ["customer = ?"]
        params: list[object] = [customer]
        if since is not None:
            where.append("occurred_at >= ?")
            params.append(to_micros(ensure_utc(since, "timeline: since")))
        if until is not None:
            where.append("occurred_at <= ?")
            params.append(to_micros(ensure_utc(until, "timeline: until")))
        query = (
            f"SELECT {_COLUMNS} FROM touchpoints WHERE {' AND '.join(where)}"
            " ORDER BY occurred_at, source, external_id"
        )
        with self._errors():
            rows = self.conn.execute(query, params).fetchall()
        return assemble([(_touchpoint(row), row[12]) for row in rows])

    def customer_names(self) -> Iterator[tuple[str, str | None]]:
        """Every customer's key and name, in key order."""
        with self._errors():
            yield from self.conn.execute("SELECT key, name FROM customers ORDER BY key")


def _touchpoint(row: tuple[Any, ...]) -> Touchpoint:
    (source, external_id, customer, occurred_at, channel, direction, contact, owner, subject,
     feedback, message_id, missed, _duplicate_of) = row  # fmt: skip
    return Touchpoint(
        source=source,
        external_id=external_id,
        customer=customer,
        occurred_at=from_micros(occurred_at),
        channel=channel,
        direction=direction,
        contact_email=contact,
        owner=owner,
        subject=subject,
        feedback=feedback,
        message_id=message_id,
        missed=bool(missed),
    )
