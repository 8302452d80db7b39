"""What ``engage report`` reads from the SQLite store besides health: touches and sources.

Mixed into :class:`~engage.store.sqlite.SQLiteStore`. Both reads aggregate in SQL: a
customer's touches by month come from the customer index, a bounded number of customers
at a time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

from engage.clock import ensure_utc, to_micros
from engage.facts import CustomerFacts
from engage.settings import ScoringSettings
from engage.store.sqlite_facts import compute_facts

#: Customers per touch-timeline query.
_CUSTOMERS_PER_QUERY = 400

#: A month of one customer's touches on one channel in one direction:
#: (``YYYY-MM``, channel, direction, count).
MonthCount = tuple[str, str, str, int]


class ReportMixin:
    """Report reads over the store's connection (``source_rows`` is shared:
    :class:`~engage.store.shared_reads.SharedReadsMixin`)."""

    if TYPE_CHECKING:

        @property
        def conn(self) -> sqlite3.Connection: ...

        def _errors(self) -> AbstractContextManager[None]: ...

    def touch_months(
        self, customers: Sequence[str], since: datetime, until: datetime
    ) -> dict[str, list[MonthCount]]:
        """Each customer's touchpoints from ``since`` up to ``until`` by UTC month, channel
        and direction, oldest month first (an email another source also holds counts once)."""
        low = to_micros(ensure_utc(since, "touch_months: since"))
        high = to_micros(ensure_utc(until, "touch_months: until"))
        found: dict[str, list[MonthCount]] = {key: [] for key in customers}
        with self._errors():
            for start in range(0, len(customers), _CUSTOMERS_PER_QUERY):
                part = list(customers[start : start + _CUSTOMERS_PER_QUERY])
                marks = ",".join("?" * len(part))
                rows = self.conn.execute(
                    f"""SELECT customer,
                        strftime('%Y-%m', occurred_at / 1000000, 'unixepoch') AS month,
                        channel, direction, count(*)
                    FROM touchpoints
                    WHERE customer IN ({marks}) AND occurred_at > ? AND occurred_at <= ?
                      AND duplicate_of IS NULL
                    GROUP BY customer, month, channel, direction
                    ORDER BY customer, month, channel, direction""",
                    [*part, low, high],
                )
                for customer, month, channel, direction, count in rows:
                    found[customer].append((month, channel, direction, int(count)))
        return found

    def facts_of(
        self, as_of: datetime, settings: ScoringSettings, customers: Sequence[str]
    ) -> Iterator[CustomerFacts]:
        """Facts of these customers as of ``as_of``, in key order, in one pass (the owners'
        activity is read once, not once per customer).

        Uses the planning's choice table of this connection; planning refills it first.
        """
        conn = self.conn
        with self._errors():
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS engage_due (key TEXT PRIMARY KEY)")
            conn.execute("DELETE FROM temp.engage_due")
            conn.executemany(
                "INSERT OR IGNORE INTO temp.engage_due (key) VALUES (?)", ((k,) for k in customers)
            )
            yield from compute_facts(conn, as_of, settings, None, due_only=True)
