"""The PostgreSQL store: engage's state on a server, shared by every runner that opens it.

Selected by a ``postgresql://`` URL (:func:`engage.store.open_store`). It implements the
same :class:`~engage.store.base.Store` interface with the same semantics as the SQLite
store (:mod:`engage.store.sqlite`), through psycopg 3:

- **Connections.** One connection (autocommit; engage opens its transactions itself) does
  the writes; a small pool (``psycopg_pool``) lends others for the sync lock and for long
  reads that stream outside a transaction (facts, history, names), each read in one
  ``REPEATABLE READ READ ONLY`` snapshot.
- **Transactions.** :meth:`PostgresStore.transaction` is ``BEGIN`` … ``COMMIT``, or
  ``ROLLBACK`` on an exception; nested, a ``SAVEPOINT``. The ledger and planning writes
  commit on their own and refuse to run inside a transaction, as in SQLite.
- **The lock.** :meth:`PostgresStore.lock` is a session-level advisory lock on a pooled
  connection of its own, keyed by the schema the store lives in: the server releases it
  when that connection ends, however the process died.
- **The schema.** :mod:`engage.store.postgres.schema`; the URL's ``options=-csearch_path=NAME``
  puts a store in a schema of its own, so one database can hold several.

Errors are :class:`~engage.errors.StoreError` naming the server without its password; a
connection that cannot be made or was lost is :class:`~engage.errors.StoreBusyError`
(temporary, exit 75).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from engage.errors import LockedError, StoreBusyError, StoreError
from engage.facts import CustomerFacts
from engage.settings import ScoringSettings
from engage.store import redact_url
from engage.store.postgres import schema
from engage.store.postgres.facts import compute_facts
from engage.store.postgres.ledger import LedgerMixin
from engage.store.postgres.names import PgNames
from engage.store.postgres.plans import PlanMixin
from engage.store.postgres.reads import ReadMixin
from engage.store.postgres.runs import RunsMixin
from engage.store.postgres.writes import WriteMixin
from engage.store.records import RecordsMixin

__all__ = ["PostgresStore"]

log = logging.getLogger(__name__)

Connection = psycopg.Connection[tuple[Any, ...]]

#: The advisory lock of a store: one key per schema (``current_schema()``).
_LOCK_KEY = "hashtextextended('engage sync ' || current_schema(), 0)"

#: The lock every writing transaction takes (until it ends), so writers take turns.
_WRITE_KEY = "hashtextextended('engage write ' || current_schema(), 0)"


#: SQLSTATEs of a lost or refused connection: class 08 (connection exception), the server
#: shutting down or starting up (57P01-57P03), too many connections (53300).
_CONNECTION_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def explain(where: str, exc: psycopg.Error) -> StoreError:
    """One line for a PostgreSQL error: the server (no password), the error and its code.

    A connection that cannot be made or was lost (the server unreachable, restarting, out of
    connections) is temporary: :class:`~engage.errors.StoreBusyError`, exit 75.
    """
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    code = getattr(getattr(exc, "diag", None), "sqlstate", None)
    if isinstance(exc, psycopg.OperationalError) and (
        code is None or code.startswith("08") or code in _CONNECTION_STATES
    ):
        return StoreBusyError(
            f"{where}: the PostgreSQL server cannot be reached ({text}); try again later"
        )
    return StoreError(f"{where}: PostgreSQL error {code or ''}: {text}".replace(" :", ":"))


class PostgresStore(WriteMixin, LedgerMixin, PlanMixin, ReadMixin, RunsMixin, RecordsMixin):
    """engage's state in a PostgreSQL database; implements :class:`~engage.store.base.Store`.

    Args:
        url: A ``postgresql://user[:password]@host[:port]/database[?options]`` URL.
        connect_timeout: Seconds to wait for the server.
        pool_size: The most connections the pool lends at once (lock and reads).

    Raises:
        StoreError: the server cannot be reached or refuses; the schema was written by a
            newer engage, or an older one that needs ``engage store migrate``.
    """

    def __init__(self, url: str, *, connect_timeout: int = 10, pool_size: int = 6) -> None:
        self.url = url
        self.path = redact_url(url)  # what messages name (the password left out)
        self._timeout = connect_timeout
        self._pool_size = pool_size
        self._pool: ConnectionPool[Connection] | None = None
        self._conn: Connection | None = None
        self._depth = 0
        self._bulk: bool | None = None
        self._ensured: set[tuple[str, str]] = set()
        self._names = PgNames()
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout)
        except psycopg.Error as exc:
            raise explain(self.path, exc) from None
        try:
            schema.check(conn, self.path)
        except psycopg.Error as exc:
            conn.close()
            raise explain(self.path, exc) from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def __repr__(self) -> str:
        return f"PostgresStore({self.path!r})"

    # -- plumbing ----------------------------------------------------------------------

    @property
    def conn(self) -> Connection:
        """The writing connection (raises StoreError once closed)."""
        if self._conn is None:
            raise StoreError(f"{self.path}: the store is closed")
        return self._conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            raise explain(self.path, exc) from exc

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _borrow(self) -> Connection:
        """A connection of the pool (created on first use), in autocommit mode."""
        self.conn  # noqa: B018 -- raises once closed
        if self._pool is None:
            self._pool = ConnectionPool(
                self.url,
                min_size=0,
                max_size=self._pool_size,
                kwargs={"autocommit": True, "connect_timeout": self._timeout},
                open=True,
                name="engage",
            )
        try:
            return self._pool.getconn(timeout=self._timeout)
        except PoolTimeout as exc:
            raise StoreBusyError(
                f"{self.path}: no PostgreSQL connection within {self._timeout} s ({exc}); "
                "try again later"
            ) from None

    def _give_back(self, conn: Connection) -> None:
        if self._pool is not None:
            self._pool.putconn(conn)
        else:
            conn.close()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection in one snapshot for a long read: the writing one inside a transaction
        (to read what it wrote), else a pooled one in a read-only transaction of its own."""
        if self._depth:
            yield self.conn
            return
        conn = self._borrow()
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield conn
        finally:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                conn.close()  # the pool drops a closed connection
            self._give_back(conn)

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
            if depth == 0:
                conn.execute("BEGIN")
                try:
                    # Runners' writes take turns, as in SQLite: merges and names then see
                    # every committed record (a pull reads its source before it begins).
                    conn.execute(f"SELECT pg_advisory_xact_lock({_WRITE_KEY})")
                except BaseException:
                    self._rollback(None)
                    raise
            else:
                conn.execute(f"SAVEPOINT {savepoint}")
        self._depth = depth + 1
        try:
            yield
        except BaseException:
            self._depth = depth
            self._ensured.clear()  # what the rollback undoes is not stored any more
            self._names.forget()
            if depth == 0:
                self._bulk = None
            self._rollback(None if depth == 0 else savepoint)
            raise
        self._depth = depth
        if depth == 0:
            self._ensured.clear()  # another runner may delete records between transactions
            self._names.forget()
            self._bulk = None
        try:
            with self._errors():
                conn.execute("COMMIT" if depth == 0 else f"RELEASE SAVEPOINT {savepoint}")
        except StoreError:
            if depth == 0:
                self._rollback(None)
            raise

    def _rollback(self, savepoint: str | None) -> None:
        """Undo the transaction (or back to ``savepoint``); a failure is logged, never raised:
        the error that caused the rollback is the one to report."""
        conn = self.conn
        if conn.info.transaction_status not in (
            TransactionStatus.INTRANS,
            TransactionStatus.INERROR,
        ):
            return
        try:
            if savepoint is None:
                conn.execute("ROLLBACK")
            else:
                conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                conn.execute(f"RELEASE SAVEPOINT {savepoint}")
        except psycopg.Error as exc:
            log.debug("%s: rollback failed: %s", self.path, exc, exc_info=True)

    # -- records -----------------------------------------------------------------------

    def facts(
        self, as_of: datetime, settings: ScoringSettings, customer: str | None = None
    ) -> Iterator[CustomerFacts]:
        """Facts for every customer (or one), in key order, aggregated on the server and
        streamed."""
        yield from self._facts(as_of, settings, customer)

    def _facts(
        self,
        as_of: datetime,
        settings: ScoringSettings,
        customer: str | None = None,
        *,
        due_only: bool = False,
        keys: Sequence[str] | None = None,
    ) -> Iterator[CustomerFacts]:
        with self._errors(), self._reading() as conn:
            yield from compute_facts(conn, as_of, settings, customer, due_only=due_only, keys=keys)

    # -- lock and lifetime -------------------------------------------------------------

    def lock(self) -> AbstractContextManager[None]:
        """Hold the store for one job alone (a copy, a migration), without waiting.

        Not re-entrant: taking it while any sync runs, or while held (by this or any store on
        the same schema), raises :class:`~engage.errors.LockedError`.
        """
        return self._store_lock(shared=False)

    def runner_lock(self) -> AbstractContextManager[None]:
        """Hold the store for one sync among others (a shared lock), without waiting; raises
        :class:`~engage.errors.LockedError` while :meth:`lock` holds it."""
        return self._store_lock(shared=True)

    @contextmanager
    def _store_lock(self, *, shared: bool) -> Iterator[None]:
        suffix = "_shared" if shared else ""
        holder = self._borrow()
        try:
            with self._errors():
                row = holder.execute(f"SELECT pg_try_advisory_lock{suffix}({_LOCK_KEY})").fetchone()
        except BaseException:
            self._give_back(holder)
            raise
        if not (row and row[0]):
            self._give_back(holder)
            holder_is = (
                f"an engage store copy or migration is running on {self.path}"
                if shared
                else f"another engage sync is running on {self.path} (or a store copy or migration)"
            )
            raise LockedError(f"{holder_is}: a PostgreSQL advisory lock; wait for it to finish")
        try:
            yield
        finally:
            try:
                holder.execute(f"SELECT pg_advisory_unlock{suffix}({_LOCK_KEY})")
            except psycopg.Error as exc:  # the connection died: the server released the lock
                log.debug("%s: unlock failed: %s", self.path, exc, exc_info=True)
                holder.close()
            self._give_back(holder)

    def close(self) -> None:
        """Release the connections (a second close does nothing)."""
        pool, self._pool = self._pool, None
        conn, self._conn = self._conn, None
        try:
            if pool is not None:
                pool.close()
        finally:
            if conn is not None:
                conn.close()


def migrate_postgres(url: str, *, connect_timeout: int = 10) -> tuple[int, int]:
    """Bring the schema at ``url`` to this engage's version; returns (before, after).

    Raises:
        StoreError: the server cannot be reached, or a newer engage wrote the schema.
    """
    where = redact_url(url)
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout) as conn:
            return schema.migrate(conn, where)
    except psycopg.Error as exc:
        raise explain(where, exc) from None
