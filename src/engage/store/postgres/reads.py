"""What the report, ``engage health --history`` and ``engage timeline`` read from the
PostgreSQL store, and the health history they keep (see :mod:`engage.store.sqlite_history`,
:mod:`engage.store.sqlite_report` and :mod:`engage.store.sqlite_timeline`).

Mixed into :class:`~engage.store.postgres.store.PostgresStore`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

from engage.clock import ensure_utc, to_micros
from engage.facts import CustomerFacts
from engage.settings import ScoringSettings
from engage.store.shared_reads import SharedReadsMixin, State, states_by_customer
from engage.store.sqlite_report import MonthCount

_RECORD = """
INSERT INTO health_history (customer, at, score, band, stage, version, backfilled)
SELECT %(customer)s::text, %(at)s::bigint, %(score)s::integer, %(band)s::text,
    %(stage)s::text, %(version)s::text, %(backfilled)s::integer
WHERE EXISTS (SELECT 1 FROM customers WHERE key = %(customer)s::text)
  AND NOT EXISTS (
    SELECT 1 FROM (
        SELECT score, band, stage, version FROM health_history
        WHERE customer = %(customer)s::text AND at <= %(at)s::bigint ORDER BY at DESC LIMIT 1
    ) p
    WHERE p.score IS NOT DISTINCT FROM %(score)s::integer AND p.band = %(band)s::text
      AND p.stage = %(stage)s::text AND p.version = %(version)s::text
  )
ON CONFLICT DO NOTHING
"""

_TOUCH_MONTHS = """
SELECT customer,
    to_char(timestamp 'epoch' + occurred_at * interval '1 microsecond', 'YYYY-MM') AS month,
    channel, direction, count(*)
FROM touchpoints
WHERE customer = ANY(%s) AND occurred_at > %s AND occurred_at <= %s AND duplicate_of IS NULL
GROUP BY customer, month, channel, direction
ORDER BY customer, month, channel, direction
"""


class ReadMixin(SharedReadsMixin):
    """History, report and timeline methods over the store's connections (the ones both
    backends share in :class:`~engage.store.shared_reads.SharedReadsMixin`)."""

    if TYPE_CHECKING:

        @property
        def conn(self) -> psycopg.Connection[tuple[Any, ...]]: ...

        def _errors(self) -> AbstractContextManager[None]: ...

        def _own_transaction(self, what: str) -> AbstractContextManager[None]: ...

        def _reading(self) -> AbstractContextManager[psycopg.Connection[tuple[Any, ...]]]: ...

        def _facts(
            self,
            as_of: datetime,
            settings: ScoringSettings,
            customer: str | None = None,
            *,
            due_only: bool = False,
            keys: Sequence[str] | None = None,
        ) -> Iterator[CustomerFacts]: ...

    # -- health history ------------------------------------------------------------------

    def _record(self, batch: list[dict[str, object]]) -> int:
        if not batch:
            return 0
        # in order: a point compares with the one written just before it
        with self._own_transaction("record_health"), self.conn.cursor() as cursor:
            cursor.executemany(_RECORD, batch)
            return max(cursor.rowcount, 0)

    def history_states(
        self, moments: Sequence[datetime]
    ) -> Iterator[tuple[str, list[State | None]]]:
        """Each customer with history, in key order, with its state at each of ``moments``
        (the score and band of its latest row at or before it; None before its first)."""
        marks = [to_micros(ensure_utc(m, "history_states: moments")) for m in moments]
        with self._errors(), self._reading() as conn, conn.cursor(name="engage_history") as rows:
            rows.itersize = 2000
            rows.execute(
                "SELECT customer, at, score, band FROM health_history ORDER BY customer, at"
            )
            yield from states_by_customer(rows, marks)

    # -- the report ----------------------------------------------------------------------

    def touch_months(
        self, customers: Sequence[str], since: datetime, until: datetime
    ) -> dict[str, list[MonthCount]]:
        """Each customer's touchpoints in (``since``, ``until``] by UTC month, channel and
        direction, oldest month first (an email another source also holds counts once)."""
        low = to_micros(ensure_utc(since, "touch_months: since"))
        high = to_micros(ensure_utc(until, "touch_months: until"))
        found: dict[str, list[MonthCount]] = {key: [] for key in customers}
        with self._errors():
            rows = self.conn.execute(_TOUCH_MONTHS, (list(customers), low, high))
            for customer, month, channel, direction, count in rows:
                found[customer].append((month, channel, direction, int(count)))
        return found

    def facts_of(
        self, as_of: datetime, settings: ScoringSettings, customers: Sequence[str]
    ) -> Iterator[CustomerFacts]:
        """Facts of these customers as of ``as_of``, in key order, in one pass."""
        return self._facts(as_of, settings, None, keys=list(customers))

    # -- the timeline --------------------------------------------------------------------

    def customer_names(self) -> Iterator[tuple[str, str | None]]:
        """Every customer's key and name, in key order."""
        with self._errors(), self._reading() as conn, conn.cursor(name="engage_names") as rows:
            rows.itersize = 2000
            rows.execute("SELECT key, name FROM customers ORDER BY key")
            yield from rows
