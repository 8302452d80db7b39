"""Health history in the SQLite store: a row per change of a customer's state.

Mixed into :class:`~engage.store.sqlite.SQLiteStore`. ``health_history`` holds one row per
customer and moment (:class:`~engage.history.HealthPoint`); a point is written only when its
score, band, stage or scoring version differs from the customer's latest row at or before its
moment, so a sync that changes nothing writes nothing. Rows of a retired customer go with it.

When the daily pass and the back-fill last ran is kept in the ``planning`` table
(``history:full_pass``, ``history:backfill``).
"""

from __future__ import annotations

import bisect
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

from engage.clock import ensure_utc, from_micros, to_micros
from engage.health import Band, Stage
from engage.history import HealthPoint

#: Points written per transaction.
CHUNK = 2000

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

_COLUMNS = "customer, at, score, band, stage, version, backfilled"

#: A band's state at a moment: the score (None for no_data) and the band's name.
State = tuple[int | None, str]


class HistoryMixin:
    """History methods over the store's connection."""

    if TYPE_CHECKING:

        @property
        def conn(self) -> sqlite3.Connection: ...

        def _errors(self) -> AbstractContextManager[None]: ...

        def _own_transaction(self, what: str) -> AbstractContextManager[None]: ...

    def record_health(self, points: Iterable[HealthPoint]) -> int:
        """Write the points that change their customer's state; returns how many were written.

        Commits on its own, :data:`CHUNK` points at a time.
        """
        written = 0
        batch: list[dict[str, object]] = []
        for point in points:
            batch.append(
                {
                    "customer": point.customer,
                    "at": to_micros(point.at),
                    "score": point.score,
                    "band": point.band.value,
                    "stage": point.stage.value,
                    "version": point.version,
                    "backfilled": int(point.backfilled),
                }
            )
            if len(batch) >= CHUNK:
                written += self._record(batch)
                batch = []
        return written + self._record(batch)

    def _record(self, batch: list[dict[str, object]]) -> int:
        if not batch:
            return 0
        with self._own_transaction("record_health"):
            # one row at a time: a point compares with the one written just before it
            return sum(self.conn.execute(_RECORD, row).rowcount for row in batch)

    def health_history(self, customer: str) -> list[HealthPoint]:
        """The customer's history, oldest first."""
        with self._errors():
            rows = self.conn.execute(
                f"SELECT {_COLUMNS} FROM health_history WHERE customer = ? ORDER BY at",
                (customer,),
            ).fetchall()
        return [_point(row) for row in rows]

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
            current: str | None = None
            times: list[int] = []
            states: list[State] = []
            for customer, at, score, band in rows:
                if customer != current:
                    if current is not None:
                        yield current, _states_at(times, states, marks)
                    current, times, states = customer, [], []
                times.append(at)
                states.append((score, band))
            if current is not None:
                yield current, _states_at(times, states, marks)

    def first_recorded(self) -> datetime | None:
        """The moment of the earliest row a sync recorded (back-filled rows aside)."""
        with self._errors():
            row = self.conn.execute(
                "SELECT min(at) FROM health_history WHERE backfilled = 0"
            ).fetchone()
        return None if row[0] is None else from_micros(row[0])

    def history_mark(self, kind: str) -> datetime | None:
        """When the history task ``kind`` (``full_pass``, ``backfill``) last ran, if ever."""
        with self._errors():
            row = self.conn.execute(
                "SELECT value FROM planning WHERE name = ?", (f"history:{kind}",)
            ).fetchone()
        return None if row is None else from_micros(int(row[0]))

    def set_history_mark(self, kind: str, moment: datetime) -> None:
        """Record that the history task ``kind`` ran as of ``moment`` (commits on its own)."""
        with self._own_transaction("set_history_mark"):
            self.conn.execute(
                "INSERT OR REPLACE INTO planning (name, value) VALUES (?, ?)",
                (f"history:{kind}", str(to_micros(ensure_utc(moment)))),
            )


def _states_at(times: list[int], states: list[State], marks: list[int]) -> list[State | None]:
    found: list[State | None] = []
    for mark in marks:
        index = bisect.bisect_right(times, mark)
        found.append(states[index - 1] if index else None)
    return found


def _point(row: tuple[str, int, int | None, str, str, str, int]) -> HealthPoint:
    customer, at, score, band, stage, version, backfilled = row
    return HealthPoint(
        customer, from_micros(at), score, Band(band), Stage(stage), version, bool(backfilled)
    )
