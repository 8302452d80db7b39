"""Rows of the ``source_pulls`` table and names of run marks, the same in every backend."""

from __future__ import annotations

from typing import Any

from engage.clock import ensure_utc, from_micros, to_micros
from engage.store.base import SourcePull

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
