"""What runners sharing an SQLite store record: each source's latest pull, and marks.

An SQLite file takes one sync at a time (:meth:`~engage.store.sqlite.SQLiteStore.lock`), so
a claim only keeps one job out of another within the process: claims are kept per file (per
store for one in memory).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from engage.clock import ensure_utc, from_micros, to_micros
from engage.store.base import SourcePull
from engage.store.pulls import COLUMNS, mark_name, pull_of, pull_row

if TYPE_CHECKING:
    import sqlite3


#: The claims this process holds: (file, or the id of a store in memory; job).
_CLAIMS: set[tuple[object, str]] = set()
_CLAIMS_LOCK = threading.Lock()


class RunsMixin:
    """Source pulls, run marks and claims over the store's connection."""

    #: One sync at a time: :meth:`runner_lock` is the store's lock.
    concurrent_runners = False

    path: str
    _memory: bool

    if TYPE_CHECKING:

        @property
        def conn(self) -> sqlite3.Connection: ...

        def _errors(self) -> AbstractContextManager[None]: ...

        def _own_transaction(self, what: str) -> AbstractContextManager[None]: ...

        def lock(self) -> AbstractContextManager[None]: ...

    def runner_lock(self) -> AbstractContextManager[None]:
        """The store's lock: an SQLite file takes one sync at a time."""
        return self.lock()

    @contextmanager
    def claim(self, job: str) -> Iterator[bool]:
        """Take ``job`` unless this process holds it already; yields whether it was taken."""
        held = (id(self) if self._memory else os.path.realpath(self.path), job)
        with _CLAIMS_LOCK:
            taken = held not in _CLAIMS
            _CLAIMS.add(held)
        try:
            yield taken
        finally:
            if taken:
                with _CLAIMS_LOCK:
                    _CLAIMS.discard(held)

    def record_pull(self, pull: SourcePull) -> None:
        """Save ``pull`` as its source's latest (commits on its own)."""
        with self._own_transaction("record_pull"):
            self.conn.execute(
                "INSERT OR REPLACE INTO source_pulls "
                "(source, runner, started_at, finished_at, error) VALUES (?, ?, ?, ?, ?)",
                pull_row(pull),
            )

    def source_pulls(self) -> dict[str, SourcePull]:
        """Each source's latest pull, by source name."""
        with self._errors():
            rows = self.conn.execute(f"SELECT {COLUMNS} FROM source_pulls").fetchall()
        return {row[0]: pull_of(row) for row in rows}

    def run_mark(self, kind: str) -> datetime | None:
        """When the runners' step ``kind`` last began, if ever."""
        with self._errors():
            row = self.conn.execute(
                "SELECT value FROM planning WHERE name = ?", (mark_name(kind),)
            ).fetchone()
        return None if row is None else from_micros(int(row[0]))

    def set_run_mark(self, kind: str, moment: datetime) -> None:
        """Record that the runners' step ``kind`` began at ``moment`` (commits on its own)."""
        with self._own_transaction("set_run_mark"):
            self.conn.execute(
                "INSERT OR REPLACE INTO planning (name, value) VALUES (?, ?)",
                (mark_name(kind), str(to_micros(ensure_utc(moment)))),
            )
