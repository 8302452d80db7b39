"""The embedded SQLite store: one file, WAL, one writer at a time.

Transactions: the connection runs in autocommit mode and engage manages transactions
itself. :meth:`SQLiteStore.transaction` opens ``BEGIN IMMEDIATE`` (the write lock is taken
up front, so a concurrent writer waits up to ``timeout`` instead of failing half-way) and
commits on exit or rolls back on an exception. Used inside another ``transaction()`` it is a
``SAVEPOINT``: an exception rolls back the inner block only, and nothing is durable until
the outermost block commits. :meth:`~SQLiteStore.write` and :meth:`~SQLiteStore.set_cursor`
join the caller's transaction (and run in their own when there is none); the ledger methods
commit on their own and refuse to run inside a transaction, because their whole point is to
be durable before a sink is called.

The sync lock is an operating-system lock on ``<db>.lock`` taken through ``filelock``
(``flock`` on Linux and macOS, ``LockFileEx`` on Windows), which the system releases if the
process dies.

Faults are one line naming the file and the fix (:mod:`engage.store.sqlite_faults`): a full
disk, a read-only file or directory, permission denied, a corrupt file. ``<db>.open`` is the
clean-shutdown mark: when the last process to open the store never closed it, the next open
runs ``PRAGMA quick_check`` first, so damage is found at once.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import filelock

from engage.errors import LockedError, StoreError
from engage.facts import CustomerFacts
from engage.settings import ScoringSettings
from engage.store.records import RecordsMixin
from engage.store.sqlite_checkpoint import (
    BackgroundCheckpoint,
    defer_checkpoints,
    resume_checkpoints,
)
from engage.store.sqlite_facts import compute_facts
from engage.store.sqlite_faults import OpenMark, check_integrity, explain
from engage.store.sqlite_history import HistoryMixin
from engage.store.sqlite_ledger import LedgerMixin
from engage.store.sqlite_names import Names, register_functions
from engage.store.sqlite_plans import PlanMixin
from engage.store.sqlite_report import ReportMixin
from engage.store.sqlite_runs import RunsMixin
from engage.store.sqlite_schema import migrate
from engage.store.sqlite_timeline import TimelineMixin
from engage.store.sqlite_writes import CHUNK as CHUNK  # the write chunk size, for tests
from engage.store.sqlite_writes import Ensured, WriteMixin

__all__ = ["SQLiteStore", "open_sqlite"]

log = logging.getLogger(__name__)

MEMORY = ":memory:"

#: The page cache's size in KiB. SQLite's sorter takes as much again when the customer index
#: is built at the end of a first load: at 64 MiB a million-row first load peaked at 207 MB
#: (74 MB at the 2 MiB default), at 16 MiB at 106 MB, with no measurable difference in time.
CACHE_KIB = 16_384

# The sqlite3 module binds None only after looking for an adapter for it, and a failed look
# costs about 0.4 µs (attribute look-ups that raise); with one registered it costs 0.1 µs. A
# row binds several Nones (feedback, owner, a contact's name...): a million-row first load
# saves about a third of a second. ``dict.get`` is a C callable that returns None here.
_NOTHING: dict[None, None] = {}
sqlite3.register_adapter(type(None), _NOTHING.get)

#: The schema version that gave customers comparable names: a store upgraded from before it
#: folds its stored name-only customers into the customer of their name once, on opening.
NAME_KEYS_VERSION = 5


class SQLiteStore(
    WriteMixin,
    LedgerMixin,
    PlanMixin,
    HistoryMixin,
    ReportMixin,
    TimelineMixin,
    RunsMixin,
    RecordsMixin,
):
    """engage's state in one SQLite file (or ``":memory:"``); implements :class:`~engage.store.base.Store`.

    Args:
        path: The database file; its directory is created if missing. ``":memory:"`` keeps
            everything in memory for the life of the object.
        timeout: Seconds to wait for another process's write transaction before failing.

    Raises:
        StoreError: the file is not an SQLite database, was written by a newer engage, or
            cannot be opened: :class:`~engage.errors.StoreCorruptError` when it is damaged
            (checked at open after an unclean shutdown), :class:`~engage.errors.StoreReadOnlyError`
            when it or its directory cannot be written, :class:`~engage.errors.StoreFullError`
            when the disk is full.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0) -> None:
        self.path = os.fspath(path)
        self._memory = self.path == MEMORY
        self._depth = 0
        self._bulk: bool | None = (
            None  # this transaction loads into an empty store (None: undecided)
        )
        self._thread_lock = threading.Lock()
        # records known to be stored in the current transaction
        self._ensured = Ensured()
        self._names = Names()  # which customer a name-only key's records land on
        self._conn: sqlite3.Connection | None = None
        self._mark: OpenMark | None = None
        self._checkpoint: BackgroundCheckpoint | None = None  # after a bulk load
        try:
            if not self._memory:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                self._mark = OpenMark(self.path)
            conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            self._close_mark()
            raise explain(self.path, exc) from exc
        try:
            if not self._memory:
                conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if self._mark is not None and self._mark.unclean:
                check_integrity(conn, self.path)  # not closed cleanly last time
            conn.execute("PRAGMA synchronous = NORMAL")
            # up to 16 MiB of pages (the default is 2 MiB): a write into a large store
            # touches the customer index all over, and a full cache of changed pages spills
            # each one to the journals before it can read the next
            conn.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
            register_functions(conn)
            before = int(conn.execute("PRAGMA user_version").fetchone()[0])
            migrate(conn, self.path)
            if 0 < before < NAME_KEYS_VERSION:  # names find their customer from now on
                conn.execute("BEGIN IMMEDIATE")
                try:
                    self._names.link_stored(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.close()
            self._close_mark()
            raise explain(self.path, exc) from exc
        except BaseException:
            conn.close()
            self._close_mark()
            raise
        self._conn = conn

    def _close_mark(self, *, clean: bool = False) -> None:
        if self._mark is not None:
            self._mark.close(clean=clean)
            self._mark = None

    # -- plumbing ----------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection (raises StoreError once closed)."""
        if self._conn is None:
            raise StoreError(f"{self.path}: the store is closed")
        return self._conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise explain(self.path, exc) from exc

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit everything written inside together, or nothing on an exception.

        Nested use is a savepoint: an exception rolls back the inner block only (and
        propagates); the outermost block alone makes anything durable.
        """
        conn = self.conn
        depth = self._depth
        savepoint = f"engage_{depth}"
        with self._errors():
            conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT {savepoint}")
        self._depth = depth + 1
        try:
            yield
        except BaseException:
            self._depth = depth
            self._ensured.clear()  # what the rollback undoes is not stored any more
            self._names.forget()
            if depth == 0:
                self._bulk = None  # the rollback restores the index too
                self._names.forget_moves()
            # SQLite rolls a transaction back by itself on some errors (a full disk): then
            # there is nothing left to roll back, and the error that did it is the news
            self._rollback(None if depth == 0 else savepoint)
            raise
        self._depth = depth
        if depth == 0:
            self._ensured.clear()  # another process may delete records between transactions
            self._names.forget()
        deferred = False
        try:
            with self._errors():
                if depth == 0:
                    deferred = self._bulk is True and not self._memory
                    self._end_bulk_load()
                    self._before_commit(deferred)
                conn.execute("COMMIT" if depth == 0 else f"RELEASE {savepoint}")
        except StoreError:
            if depth == 0:
                self._rollback(None)
                if deferred and self._checkpoint is None:
                    self._resume_checkpoints()
            raise
        if deferred and self._checkpoint is None:
            self._checkpoint = BackgroundCheckpoint(self.path)

    def _before_commit(self, bulk_loaded: bool) -> None:
        """Leave a bulk load's checkpoint (a whole store's pages) to a helper that copies
        them meanwhile; once it is done, let commits checkpoint by themselves again."""
        if bulk_loaded:
            defer_checkpoints(self.conn)
        elif self._checkpoint is not None and self._checkpoint.done():
            self._checkpoint.wait()
            self._checkpoint = None
            resume_checkpoints(self.conn)

    def _resume_checkpoints(self) -> None:
        try:
            resume_checkpoints(self.conn)
        except sqlite3.Error as exc:
            log.debug("%s: cannot restore checkpoints: %s", self.path, exc, exc_info=True)

    def _rollback(self, savepoint: str | None) -> None:
        """Undo the transaction (or back to ``savepoint``) if SQLite has not already.

        A failure to roll back is logged, never raised: the error that caused the rollback
        is the one to report.
        """
        conn = self.conn
        if not conn.in_transaction:
            return
        try:
            if savepoint is None:
                conn.execute("ROLLBACK")
            else:
                conn.execute(f"ROLLBACK TO {savepoint}")
                conn.execute(f"RELEASE {savepoint}")
        except sqlite3.Error as exc:
            log.debug("%s: rollback failed: %s", self.path, exc, exc_info=True)

    # -- records -----------------------------------------------------------------------

    def facts(
        self, as_of: datetime, settings: ScoringSettings, customer: str | None = None
    ) -> Iterator[CustomerFacts]:
        """Facts for every customer (or one), in key order, aggregated in SQL and streamed."""
        with self._errors():
            yield from compute_facts(self.conn, as_of, settings, customer)

    # -- lock and lifetime -------------------------------------------------------------

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the one-sync-at-a-time lock, without waiting.

        Not re-entrant: taking it again while held (by this or any store on the same file)
        raises :class:`~engage.errors.LockedError`.
        """
        lock_path = f"{self.path}.lock"
        message = (
            f"another engage sync is running on {self.path} (lock file {lock_path}); "
            "wait for it to finish"
        )
        if self._memory:
            if not self._thread_lock.acquire(blocking=False):
                raise LockedError(message)
            try:
                yield
            finally:
                self._thread_lock.release()
            return
        # Never a soft (marker file) lock: a killed sync would leave it behind for good.
        held = filelock.FileLock(lock_path, thread_local=False, fallback_to_soft=False)
        try:
            held.acquire(blocking=False)
        except filelock.Timeout:
            raise LockedError(message) from None
        except OSError as exc:
            raise StoreError(f"{lock_path}: cannot create the lock file ({exc})") from exc
        try:
            yield
        finally:
            held.release()

    def close(self) -> None:
        """Release the connection and mark a clean shutdown (a second close does nothing)."""
        if self._checkpoint is not None:
            self._checkpoint.wait()  # before the close's own checkpoint of what came after
            self._checkpoint = None
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
                self._close_mark(clean=True)


def open_sqlite(path: str | os.PathLike[str]) -> SQLiteStore:
    """Open (creating if needed) the SQLite store at ``path``."""
    return SQLiteStore(path)
