"""Health history in the SQLite store: a row per change of a customer's state.

Mixed into :class:`~engage.store.sqlite.SQLiteStore`. ``health_history`` holds one row per
customer and moment (:class:`~engage.history.HealthPoint`); a point is written only when its
score, band, stage or scoring version differs from the customer's latest row at or before its
moment, so a sync that changes nothing writes nothing. Rows of a retired customer go with it.

When the daily pass and the back-fill last ran is kept in the ``planning`` table
(``history:full_pass``, ``history:backfill``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

from engage.clock import ensure_utc, to_micros
from engage.store.shared_reads import SharedReadsMixin, State, states_by_customer

#: A point, unless the customer is unknown, or its latest row at or before the point's
#: moment has the same state (or the same moment: the primary key ignores it).
_RECORD = """
INSERT OR IGNORE INTO health_history (customer, at, score, band, stage, version, backfilled)
SELECT :customer, :at, :score, :band, :stage, :version, :backfilled
WHERE EXISTS (SELECT 1 FROM customers WHERE key = :customer)
  AND NOT EXISTS (
    SELECT 1 FROM (
        SELECT score, band, stage, version FROM health_history
        WHERE customer = :customer AND at <= :at ORDER BY at DESC LIMIT 1
    ) p
    WHERE p.score IS :score AND p.band = :band AND p.stage = :stage AND p.version = :version
  )
"""


class HistoryMixin(SharedReadsMixin):
    """History methods over the store's connection (the shared ones in
    :class:`~engage.store.shared_reads.SharedReadsMixin`)."""

    if TYPE_CHECKING:

        @property
        def conn(self) -> sqlite3.Connection: ...

        def _errors(self) -> AbstractContextManager[None]: ...

        def _own_transaction(self, what: str) -> AbstractContextManager[None]: ...

    def _record(self, batch: list[dict[str, object]]) -> int:
        if not batch:
            return 0
        with self._own_transaction("record_health"):
            # row after row (executemany runs them in order, and sums what each wrote): a
            # point compares with the one written just before it
            return self.conn.executemany(_RECORD, batch).rowcount

    def history_states(
        self, moments: Sequence[datetime]
    ) -> Iterator[tuple[str, list[State | None]]]:
        """Each customer with history, in key order, with its state at each of ``moments``.

        A state is the score and band of the customer's latest row at or before the moment,
        or None before its first row. Streams the table once in key order.
        """
        marks = [to_micros(ensure_utc(m, "history_states: moments")) for m in moments]
        with self._errors():
            rows = self.conn.execute(
                "SELECT customer, at, score, band FROM health_history ORDER BY customer, at"
            )
            yield from states_by_customer(rows, marks)
