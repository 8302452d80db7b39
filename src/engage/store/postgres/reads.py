"""What the report, ``engage health --history`` and ``engage timeline`` read from the
PostgreSQL store, and the health history they keep (see :mod:`engage.store.sqlite_history`,
:mod:`engage.store.sqlite_report` and :mod:`engage.store.sqlite_timeline`).

Mixed into :class:`~engage.store.postgres.store.PostgresStore`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

from engage.clock import ensure_utc, from_micros, to_micros
from engage.facts import CustomerFacts
from engage.history import HealthPoint
from engage.settings import ScoringSettings
from engage.store.sqlite_history import CHUNK, State, _point, _states_at
from engage.store.sqlite_report import MonthCount, SourceRow
from engage.store.sqlite_timeline import _COLUMNS as _TIMELINE_COLUMNS
from engage.store.sqlite_timeline import _touchpoint
from engage.timeline import TimelineEntry, assemble

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

_HISTORY_COLUMNS = "customer, at, score, band, stage, version, backfilled"

_TOUCH_MONTHS = """
SELECT customer,
    to_char(timestamp 'epoch' + occurred_at * interval '1 microsecond', 'YYYY-MM') AS month,
    channel, direction, count(*)
FROM touchpoints
WHERE customer = ANY(%s) AND occurred_at > %s AND occurred_at <= %s AND duplicate_of IS NULL
GROUP BY customer, month, channel, direction
ORDER BY customer, month, channel, direction
"""


class ReadMixin:
    """History, report and timeline methods over the store's connections."""

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

    def record_health(self, points: Iterable[HealthPoint]) -> int:
        """Write the points that change their customer's state; returns how many were
        written (commits on its own, a chunk of points at a time)."""
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
        # in order: a point compares with the one written just before it
        with self._own_transaction("record_health"), self.conn.cursor() as cursor:
            cursor.executemany(_RECORD, batch)
            return max(cursor.rowcount, 0)

    def health_history(self, customer: str) -> list[HealthPoint]:
        """The customer's history, oldest first."""
        with self._errors():
            rows = self.conn.execute(
                f"SELECT {_HISTORY_COLUMNS} FROM health_history WHERE customer = %s ORDER BY at",
                (customer,),
            ).fetchall()
        return [_point(row) for row in rows]

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
        return None if row is None or row[0] is None else from_micros(row[0])

    def history_mark(self, kind: str) -> datetime | None:
        """When the history task ``kind`` (``full_pass``, ``backfill``) last ran, if ever."""
        with self._errors():
            row = self.conn.execute(
                "SELECT value FROM planning WHERE name = %s", (f"history:{kind}",)
            ).fetchone()
        return None if row is None else from_micros(int(row[0]))

    def set_history_mark(self, kind: str, moment: datetime) -> None:
        """Record that the history task ``kind`` ran as of ``moment`` (commits on its own)."""
        with self._own_transaction("set_history_mark"):
            self.conn.execute(
                """INSERT INTO planning (name, value) VALUES (%s, %s)
                ON CONFLICT (name) DO UPDATE SET value = excluded.value""",
                (f"history:{kind}", str(to_micros(ensure_utc(moment)))),
            )

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

    def source_rows(self) -> list[SourceRow]:
        """Every source the store holds touchpoints or a cursor of, by name."""
        with self._errors():
            counts = {
                source: (int(count), None if latest is None else from_micros(latest))
                for source, count, latest in self.conn.execute(
                    "SELECT source, count(*), max(occurred_at) FROM touchpoints GROUP BY source"
                )
            }
            pulled = {
                source: from_micros(updated)
                for source, updated in self.conn.execute("SELECT source, updated_at FROM cursors")
            }
        names = sorted({*counts, *pulled})
        return [(n, *counts.get(n, (0, None)), pulled.get(n)) for n in names]

    # -- the timeline --------------------------------------------------------------------

    def timeline(
        self, customer: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[TimelineEntry]:
        """The customer's touchpoints from ``since`` up to ``until`` (both included; None:
        no bound), oldest first, each email once with the copies merged into it."""
        where = ["customer = %s"]
        params: list[object] = [customer]
        if since is not None:
            where.append("occurred_at >= %s")
            params.append(to_micros(ensure_utc(since, "timeline: since")))
        if until is not None:
            where.append("occurred_at <= %s")
            params.append(to_micros(ensure_utc(until, "timeline: until")))
        query = (
            f"SELECT {_TIMELINE_COLUMNS} FROM touchpoints WHERE {' AND '.join(where)}"
            " ORDER BY occurred_at, source, external_id"
        )
        with self._errors():
            rows = self.conn.execute(query, params).fetchall()
        return assemble([(_touchpoint(row), row[12]) for row in rows])

    def customer_names(self) -> Iterator[tuple[str, str | None]]:
        """Every customer's key and name, in key order."""
        with self._errors(), self._reading() as conn, conn.cursor(name="engage_names") as rows:
            rows.itersize = 2000
            rows.execute("SELECT key, name FROM customers ORDER BY key")
            yield from rows
