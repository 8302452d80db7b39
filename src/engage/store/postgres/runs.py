"""What runners sharing a PostgreSQL store record and claim (see :mod:`engage.store.sqlite_runs`).

A claim is a session-level advisory lock on a pooled connection of its own, keyed by the
schema and the job: the server releases it when the block ends or the runner's connection
does, however the runner died.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

from engage.clock import ensure_utc, from_micros, to_micros
from engage.store.base import SourcePull
from engage.store.pulls import COLUMNS, mark_name, pull_of, pull_row

log = logging.getLogger(__name__)

Connection = psycopg.Connection[tuple[Any, ...]]

_CLAIM_KEY = "hashtextextended('engage claim ' || current_schema() || ' ' || %s, 0)"


class RunsMixin:
    """Claims, source pulls and run marks over the store's connections."""

    #: Several runners may sync at once: each claims the sources it pulls.
    concurrent_runners = True

    path: str

    if TYPE_CHECKING:

        @property
        def conn(self) -> Connection: ...

        def _errors(self) -> AbstractContextManager[None]: ...

        def _own_transaction(self, what: str) -> AbstractContextManager[None]: ...

        def _borrow(self) -> Connection: ...

        def _give_back(self, conn: Connection) -> None: ...

    @contextmanager
    def claim(self, job: str) -> Iterator[bool]:
        """Take ``job`` for this runner alone unless another holds it; yields whether taken."""
        holder = self._borrow()
        try:
            with self._errors():
                row = holder.execute(
                    f"SELECT pg_try_advisory_lock({_CLAIM_KEY})", (job,)
                ).fetchone()
        except BaseException:
            self._give_back(holder)
            raise
        taken = bool(row and row[0])
        try:
            yield taken
        finally:
            if taken:
                try:
                    holder.execute(f"SELECT pg_advisory_unlock({_CLAIM_KEY})", (job,))
                except psycopg.Error as exc:  # the connection died: the server released it
                    log.debug("%s: releasing claim %s failed: %s", self.path, job, exc)
                    holder.close()
            self._give_back(holder)

    def record_pull(self, pull: SourcePull) -> None:
        """Save ``pull`` as its source's latest (commits on its own)."""
        with self._own_transaction("record_pull"):
            self.conn.execute(
                """INSERT INTO source_pulls (source, runner, started_at, finished_at, error)
                VALUES (%s, %s, %s, %s, %s)
                ON CONFLICT (source) DO UPDATE SET runner = excluded.runner,
                    started_at = excluded.started_at, finished_at = excluded.finished_at,
                    error = excluded.error""",
                pull_row(pull),
            )

    def source_pulls(self) -> dict[str, SourcePull]:
        """Each source's latest pull, by source name (committed ones: a read never waits)."""
        with self._errors():
            rows = self.conn.execute(f"SELECT {COLUMNS} FROM source_pulls").fetchall()
        return {row[0]: pull_of(row) for row in rows}

    def run_mark(self, kind: str) -> datetime | None:
        """When the runners' step ``kind`` last began, if ever."""
        with self._errors():
            row = self.conn.execute(
                "SELECT value FROM planning WHERE name = %s", (mark_name(kind),)
            ).fetchone()
        return None if row is None else from_micros(int(row[0]))

    def set_run_mark(self, kind: str, moment: datetime) -> None:
        """Record that the runners' step ``kind`` began at ``moment`` (commits on its own)."""
        with self._own_transaction("set_run_mark"):
            self.conn.execute(
                """INSERT INTO planning (name, value) VALUES (%s, %s)
                ON CONFLICT (name) DO UPDATE SET value = excluded.value""",
                (mark_name(kind), str(to_micros(ensure_utc(moment)))),
            )
