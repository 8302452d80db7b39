"""The task ledger of the SQLite store: what each sink was asked to hold, and what it holds.

Mixed into :class:`~engage.store.sqlite.SQLiteStore`; every method commits on its own (see
:meth:`engage.store.base.Store.record_intent`) except the read-only ones.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from engage.adapters import PushResult
from engage.clock import to_micros, utcnow
from engage.models import Task
from engage.store.base import LedgerEntry, LedgerStatus
from engage.store.sqlite_statements import CLEARED, FAILED, INTENT, PUSHED

STATUSES = (
    LedgerStatus.PENDING,
    LedgerStatus.PUSHED,
    LedgerStatus.FAILED,
    LedgerStatus.CLEARED,
    LedgerStatus.COMPLETED,
)


class LedgerMixin:
    """Ledger methods over the store's connection."""

    if TYPE_CHECKING:

        @property
        def conn(self) -> sqlite3.Connection: ...

        def _errors(self) -> AbstractContextManager[None]: ...

        def _own_transaction(self, what: str) -> AbstractContextManager[None]: ...

    def ledger(self, sink: str) -> Mapping[str, LedgerEntry]:
        """The sink's ledger: task key → entry."""
        with self._errors():
            rows = self.conn.execute(
                """SELECT key, task, status, remote_id, error, attempts FROM ledger
                WHERE sink = ? ORDER BY key""",
                (sink,),
            ).fetchall()
        return {
            key: LedgerEntry(
                sink, Task.from_json(json.loads(task)), status, remote_id, error, attempts
            )
            for key, task, status, remote_id, error, attempts in rows
        }

    def ledger_statuses(self, sink: str, keys: Sequence[str]) -> dict[str, str]:
        """The ledger status of each of ``keys`` the sink's ledger knows (unknown keys are absent)."""
        statuses: dict[str, str] = {}
        with self._errors():
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                marks = ",".join("?" * len(part))
                statuses.update(
                    self.conn.execute(
                        f"SELECT key, status FROM ledger WHERE sink = ? AND key IN ({marks})",
                        (sink, *part),
                    ).fetchall()
                )
        return statuses

    def ledger_with_status(self, sink: str, status: str) -> list[LedgerEntry]:
        """The sink's ledger entries in one status (``pending`` after a crash, say)."""
        if status not in STATUSES:
            raise ValueError(
                f"ledger status: expected one of {', '.join(STATUSES)} (got {status!r})"
            )
        with self._errors():
            # the status as a literal and no ORDER BY, so the partial index of pending
            # tasks applies (a crash leaves few; the ledger may hold millions)
            rows = self.conn.execute(
                f"""SELECT key, task, status, remote_id, error, attempts FROM ledger
                WHERE sink = ? AND status = '{status}'""",
                (sink,),
            ).fetchall()
        rows.sort()
        return [
            LedgerEntry(sink, Task.from_json(json.loads(task)), status, remote_id, error, attempts)
            for _key, task, status, remote_id, error, attempts in rows
        ]

    def ledger_pushed(self, sink: str, *, unplanned_only: bool = False) -> dict[str, str]:
        """Task key → remote id of every task the sink holds open (status pushed).

        With ``unplanned_only``, only those no saved plan holds any more (see
        :meth:`~engage.store.sqlite.SQLiteStore.save_plans`): the tasks whose condition cleared.
        """
        query = "SELECT key, remote_id FROM ledger WHERE sink = ? AND status = ? AND remote_id IS NOT NULL"
        if unplanned_only:
            query += " AND key NOT IN (SELECT key FROM planned_tasks)"
        with self._errors():
            rows = self.conn.execute(query, (sink, LedgerStatus.PUSHED)).fetchall()
        return dict(rows)

    def record_intent(self, sink: str, tasks: Iterable[Task]) -> None:
        """Mark tasks pending before the push (committed now); pushed tasks stay pushed.

        A new task starts with one attempt; a failed or still-pending one counts another.
        """
        now = to_micros(utcnow())
        rows = [(sink, t.key, t.customer, t.rule, t.json_text(), now) for t in tasks]
        with self._own_transaction("record_intent"):
            self.conn.executemany(INTENT, rows)

    def record_results(self, sink: str, results: Iterable[PushResult]) -> None:
        """Record outcomes (committed now): ok → pushed with its remote id; else failed.

        Results for keys without a recorded intent are ignored; a failure never downgrades
        a task already pushed.
        """
        now = to_micros(utcnow())
        pushed, failed = [], []
        for r in results:
            if r.ok:
                pushed.append((r.remote_id, now, sink, r.key))
            else:
                failed.append((r.error or "the sink returned no remote id", now, sink, r.key))
        with self._own_transaction("record_results"):
            self.conn.executemany(PUSHED, pushed)
            self.conn.executemany(FAILED, failed)

    def record_cleared(self, sink: str, keys: Iterable[str], completed: bool) -> None:
        """Mark pushed tasks cleared, or completed (committed now); other states are kept.

        A cleared task may later be marked completed.
        """
        now = to_micros(utcnow())
        status = LedgerStatus.COMPLETED if completed else LedgerStatus.CLEARED
        rows = [(status, now, sink, key, status) for key in keys]
        with self._own_transaction("record_cleared"):
            self.conn.executemany(CLEARED, rows)
