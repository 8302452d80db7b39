"""The task ledger of the PostgreSQL store (see :mod:`engage.store.sqlite_ledger`).

Mixed into :class:`~engage.store.postgres.store.PostgresStore`; every writing method commits
on its own, before the sink is called, and refuses to run inside a transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import psycopg

from engage.adapters import PushResult
from engage.clock import to_micros, utcnow
from engage.models import Task
from engage.store.base import LedgerEntry, LedgerStatus
from engage.store.postgres.statements import CLEARED, FAILED, INTENT, PUSHED
from engage.store.sqlite_ledger import STATUSES

_ENTRY = "SELECT key, task, status, remote_id, error, attempts FROM ledger"


class LedgerMixin:
    """Ledger methods over the store's connection."""

    if TYPE_CHECKING:

        @property
        def conn(self) -> psycopg.Connection[tuple[Any, ...]]: ...

        def _errors(self) -> AbstractContextManager[None]: ...

        def _own_transaction(self, what: str) -> AbstractContextManager[None]: ...

    def ledger(self, sink: str) -> Mapping[str, LedgerEntry]:
        """The sink's ledger: task key → entry."""
        with self._errors():
            rows = self.conn.execute(f"{_ENTRY} WHERE sink = %s ORDER BY key", (sink,)).fetchall()
        return {
            key: LedgerEntry(
                sink, Task.from_json(json.loads(task)), status, remote_id, error, attempts
            )
            for key, task, status, remote_id, error, attempts in rows
        }

    def ledger_statuses(self, sink: str, keys: Sequence[str]) -> dict[str, str]:
        """The ledger status of each of ``keys`` the sink's ledger knows."""
        with self._errors():
            rows = self.conn.execute(
                "SELECT key, status FROM ledger WHERE sink = %s AND key = ANY(%s)",
                (sink, list(keys)),
            ).fetchall()
        return {key: status for key, status in rows}

    def ledger_with_status(self, sink: str, status: str) -> list[LedgerEntry]:
        """The sink's ledger entries in one status (``pending`` after a crash, say)."""
        if status not in STATUSES:
            raise ValueError(
                f"ledger status: expected one of {', '.join(STATUSES)} (got {status!r})"
            )
        with self._errors():
            # the status as a literal, so the partial index of pending (or failed) tasks applies
            rows = self.conn.execute(
                f"{_ENTRY} WHERE sink = %s AND status = '{status}' ORDER BY key", (sink,)
            ).fetchall()
        return [
            LedgerEntry(sink, Task.from_json(json.loads(task)), status, remote_id, error, attempts)
            for _key, task, status, remote_id, error, attempts in rows
        ]

    def ledger_pushed(self, sink: str, *, unplanned_only: bool = False) -> dict[str, str]:
        """Task key → remote id of every task the sink holds open (status pushed); with
        ``unplanned_only``, only those no saved plan holds any more."""
        query = (
            "SELECT key, remote_id FROM ledger "
            "WHERE sink = %s AND status = %s AND remote_id IS NOT NULL"
        )
        if unplanned_only:
            query += " AND key NOT IN (SELECT key FROM planned_tasks)"
        with self._errors():
            rows = self.conn.execute(query, (sink, LedgerStatus.PUSHED)).fetchall()
        return {key: remote_id for key, remote_id in rows}

    def record_intent(self, sink: str, tasks: Iterable[Task]) -> None:
        """Mark tasks pending before the push (committed now); pushed tasks stay pushed."""
        now = to_micros(utcnow())
        rows = [(sink, t.key, t.customer, t.rule, t.json_text(), now, now) for t in tasks]
        with self._own_transaction("record_intent"), self.conn.cursor() as cursor:
            if rows:
                cursor.executemany(INTENT, rows)

    def record_results(self, sink: str, results: Iterable[PushResult]) -> None:
        """Record outcomes (committed now): ok → pushed with its remote id; else failed."""
        now = to_micros(utcnow())
        pushed, failed = [], []
        for r in results:
            if r.ok:
                pushed.append((r.remote_id, now, sink, r.key))
            else:
                failed.append((r.error or "the sink returned no remote id", now, sink, r.key))
        with self._own_transaction("record_results"), self.conn.cursor() as cursor:
            if pushed:
                cursor.executemany(PUSHED, pushed)
            if failed:
                cursor.executemany(FAILED, failed)

    def record_cleared(self, sink: str, keys: Iterable[str], completed: bool) -> None:
        """Mark pushed tasks cleared, or completed (committed now); other states are kept."""
        now = to_micros(utcnow())
        status = LedgerStatus.COMPLETED if completed else LedgerStatus.CLEARED
        rows = [(status, now, sink, key, status) for key in keys]
        with self._own_transaction("record_cleared"), self.conn.cursor() as cursor:
            if rows:
                cursor.executemany(CLEARED, rows)
