"""What runners sharing a PostgreSQL store record and claim (see :mod:`engage.store.sqlite_runs`).

A claim is a session-level advisory lock on a pooled connection of its own, keyed by the
schema and the job: the server releases it when the block ends or the runner's connection
does, however the runner died.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg

from engage.store.dialect import POSTGRES
from engage.store.pulls import PullsMixin

log = logging.getLogger(__name__)

Connection = psycopg.Connection[tuple[Any, ...]]

_CLAIM_KEY = "hashtextextended('engage claim ' || current_schema() || ' ' || %s, 0)"


class RunsMixin(PullsMixin):
    """Claims, source pulls and run marks (:class:`~engage.store.pulls.PullsMixin`)."""

    dialect = POSTGRES

    #: Several runners may sync at once: each claims the sources it pulls.
    concurrent_runners = True

    path: str

    if TYPE_CHECKING:

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
