"""Rows of the ``source_pulls`` table and run marks, the same in every backend.

:class:`PullsMixin` records and reads them for either store through its
:class:`~engage.store.dialect.Dialect`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engage.clock import ensure_utc, from_micros, to_micros
from engage.store.base import SourcePull

if TYPE_CHECKING:
    from engage.store.dialect import Connection, Dialect

#: The columns of ``source_pulls``, in the order :func:`pull_row` gives them.
COLUMNS = "source, runner, started_at, finished_at, error"


def pull_row(pull: SourcePull) -> tuple[str, str, int, int | None, str | None]:
    """``pull`` as a row of :data:`COLUMNS` (times in microseconds)."""
    finished = None if pull.finished_at is None else to_micros(ensure_utc(pull.finished_at))
    return pull.source, pull.runner, to_micros(ensure_utc(pull.started_at)), finished, pull.error


def pull_of(row: tuple[Any, ...]) -> SourcePull:
    """The pull a row of :data:`COLUMNS` holds."""
    source, runner, started, finished, error = row
    return SourcePull(
        source=source,
        runner=runner,
        started_at=from_micros(started),
        finished_at=None if finished is None else from_micros(finished),
        error=error,
    )


def mark_name(kind: str) -> str:
    """The ``planning`` table's name for the run mark ``kind``."""
    return f"run:{kind}"


class PullsMixin:
    """Source pulls and run marks over the store's connection, in its dialect."""

    dialect: Dialect

    if TYPE_CHECKING:

        @property
        def conn(self) -> Connection: ...

        def _errors(self) -> AbstractContextManager[None]: ...

        def _own_transaction(self, what: str) -> AbstractContextManager[None]: ...

    def record_pull(self, pull: SourcePull) -> None:
        """Save ``pull`` as its source's latest (commits on its own)."""
        query = self.dialect.replace("source_pulls", COLUMNS.split(", "), "source")
        with self._own_transaction("record_pull"):
            self.conn.execute(query, pull_row(pull))

    def source_pulls(self) -> dict[str, SourcePull]:
        """Each source's latest pull, by source name (committed ones: a read never waits)."""
        with self._errors():
            rows = self.conn.execute(f"SELECT {COLUMNS} FROM source_pulls").fetchall()
        return {row[0]: pull_of(row) for row in rows}

    def run_mark(self, kind: str) -> datetime | None:
        """When the runners' step ``kind`` last began, if ever."""
        with self._errors():
            row = self.conn.execute(
                self.dialect.sql("SELECT value FROM planning WHERE name = ?"), (mark_name(kind),)
            ).fetchone()
        return None if row is None else from_micros(int(row[0]))

    def set_run_mark(self, kind: str, moment: datetime) -> None:
        """Record that the runners' step ``kind`` began at ``moment`` (commits on its own)."""
        query = self.dialect.replace("planning", ("name", "value"), "name")
        with self._own_transaction("set_run_mark"):
            self.conn.execute(query, (mark_name(kind), str(to_micros(ensure_utc(moment)))))
