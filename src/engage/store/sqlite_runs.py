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
from typing import TYPE_CHECKING

from engage.store.dialect import SQLITE
from engage.store.pulls import PullsMixin

#: The claims this process holds: (file, or the id of a store in memory; job).
_CLAIMS: set[tuple[object, str]] = set()
_CLAIMS_LOCK = threading.Lock()


class RunsMixin(PullsMixin):
    """Source pulls, run marks (:class:`~engage.store.pulls.PullsMixin`) and claims."""

    dialect = SQLITE

    #: One sync at a time: :meth:`runner_lock` is the store's lock.
    concurrent_runners = False

    path: str
    _memory: bool

    if TYPE_CHECKING:

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
