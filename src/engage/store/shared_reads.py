"""Reads both backends make alike: the report's sources, a customer's timeline, and health
history (:mod:`engage.store.sqlite_history` keeps its table and rules).

:class:`SharedReadsMixin` runs them over the store's connection in its
:class:`~engage.store.dialect.Dialect`; each backend keeps how it writes history points and
streams the history table.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engage.clock import ensure_utc, from_micros, to_micros
from engage.health import Band, Stage
from engage.history import HealthPoint
from engage.models import Touchpoint
from engage.timeline import TimelineEntry, assemble

if TYPE_CHECKING:
    from engage.store.dialect import Connection, Dialect

#: Points written per transaction.
CHUNK = 2000

#: The columns of ``health_history``, in the order :func:`_point` reads them.
HISTORY_COLUMNS = "customer, at, score, band, stage, version, backfilled"

#: The columns of ``touchpoints`` a timeline reads, in the order :func:`_touchpoint` reads them.
TIMELINE_COLUMNS = """source, external_id, customer, occurred_at, channel, direction,
    contact_email, owner, subject, feedback, message_id, missed, duplicate_of"""

#: A band's state at a moment: the score (None for no_data) and the band's name.
State = tuple[int | None, str]

#: One source as the store holds it: (name, touchpoints, latest touchpoint, last pulled).
SourceRow = tuple[str, int, datetime | None, datetime | None]


class SharedReadsMixin:
    """History, the report's sources and the timeline, over the store's connection."""

    dialect: Dialect

    if TYPE_CHECKING:

        @property
        def conn(self) -> Connection: ...

        def _errors(self) -> AbstractContextManager[None]: ...

        def _own_transaction(self, what: str) -> AbstractContextManager[None]: ...

        def _record(self, batch: list[dict[str, object]]) -> int: ...

    # -- health history ------------------------------------------------------------------

    def record_health(self, points: Iterable[HealthPoint]) -> int:
        """Write the points that change their customer's state; returns how many were written.

        Commits on its own, :data:`CHUNK` points at a time (the backend's ``_record``).
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

    def health_history(self, customer: str) -> list[HealthPoint]:
        """The customer's history, oldest first."""
        with self._errors():
            rows = self.conn.execute(
                self.dialect.sql(
                    f"SELECT {HISTORY_COLUMNS} FROM health_history WHERE customer = ? ORDER BY at"
                ),
                (customer,),
            ).fetchall()
        return [_point(row) for row in rows]

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
                self.dialect.sql("SELECT value FROM planning WHERE name = ?"), (f"history:{kind}",)
            ).fetchone()
        return None if row is None else from_micros(int(row[0]))

    def set_history_mark(self, kind: str, moment: datetime) -> None:
        """Record that the history task ``kind`` ran as of ``moment`` (commits on its own)."""
        query = self.dialect.replace("planning", ("name", "value"), "name")
        with self._own_transaction("set_history_mark"):
            self.conn.execute(query, (f"history:{kind}", str(to_micros(ensure_utc(moment)))))

    # -- the report and the timeline -----------------------------------------------------

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
            f"SELECT {TIMELINE_COLUMNS} FROM touchpoints WHERE {' AND '.join(where)}"
            " ORDER BY occurred_at, source, external_id"
        )
        with self._errors():
            rows = self.conn.execute(self.dialect.sql(query), params).fetchall()
        return assemble([(_touchpoint(row), row[12]) for row in rows])


def states_by_customer(
    rows: Iterable[tuple[str, int, int | None, str]], marks: list[int]
) -> Iterator[tuple[str, list[State | None]]]:
    """Each customer of ``rows`` (customer, at, score, band; in customer and time order) with
    its state at each of ``marks`` (microseconds)."""
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
