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

import itertools
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import filelock

from engage.adapters import Retire
from engage.clock import from_micros, to_micros, utcnow
from engage.errors import LockedError, StoreError, ValidationError
from engage.facts import CustomerFacts
from engage.models import Contact, Customer, Owner, Touchpoint
from engage.settings import ScoringSettings
from engage.store import sqlite_touchpoints as touchpoints_sql
from engage.store.base import Record, WriteCounts
from engage.store.sqlite_facts import compute_facts
from engage.store.sqlite_faults import OpenMark, check_integrity, explain
from engage.store.sqlite_history import HistoryMixin
from engage.store.sqlite_ledger import LedgerMixin
from engage.store.sqlite_names import Names, register_functions
from engage.store.sqlite_plans import PlanMixin
from engage.store.sqlite_report import ReportMixin
from engage.store.sqlite_runs import RunsMixin
from engage.store.sqlite_schema import CUSTOMER_INDEX, TOUCHPOINT_INSERTED, migrate
from engage.store.sqlite_statements import (
    CONTACT,
    CUSTOMER,
    IMPLIED_CONTACT,
    IMPLIED_CUSTOMER,
    IMPLIED_OWNER,
    OWNER,
    RETIRE,
    Upsert,
)
from engage.store.sqlite_timeline import TimelineMixin

__all__ = ["SQLiteStore", "open_sqlite"]

log = logging.getLogger(__name__)

#: Records per executemany batch in :meth:`SQLiteStore.write`.
CHUNK = 1000

#: Customers, owners and contacts remembered as stored within one transaction (so the rows
#: a touchpoint implies are not inserted again and again); past this many of a kind, forgotten.
ENSURED_MAX = 50_000

MEMORY = ":memory:"

#: The schema version that gave customers comparable names: a store upgraded from before it
#: folds its stored name-only customers into the customer of their name once, on opening.
NAME_KEYS_VERSION = 5


def _attributes(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), sort_keys=True, default=str)


def _micros(value: datetime | None) -> int | None:
    return None if value is None else to_micros(value)


class Ensured:
    """The customers, owners and contacts known to be stored in the current transaction."""

    __slots__ = ("contacts", "customers", "owners")

    def __init__(self) -> None:
        self.customers: set[str] = set()
        self.owners: set[str] = set()
        self.contacts: set[str] = set()

    def clear(self) -> None:
        """Forget them all (a rollback, a retire, the end of the transaction)."""
        self.customers.clear()
        self.owners.clear()
        self.contacts.clear()

    def trim(self, most: int) -> None:
        """Forget a kind once it holds more than ``most`` keys (memory stays bounded)."""
        for kind in (self.customers, self.owners, self.contacts):
            if len(kind) > most:
                kind.clear()


class SQLiteStore(LedgerMixin, PlanMixin, HistoryMixin, ReportMixin, TimelineMixin, RunsMixin):
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
        try:
            with self._errors():
                if depth == 0:
                    self._end_bulk_load()
                conn.execute("COMMIT" if depth == 0 else f"RELEASE {savepoint}")
        except StoreError:
            if depth == 0:
                self._rollback(None)
            raise

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

    @contextmanager
    def _own_transaction(self, what: str) -> Iterator[None]:
        if self._depth:
            raise StoreError(f"{what} commits on its own; call it outside store.transaction()")
        with self._errors(), self.transaction():
            yield

    # -- records -----------------------------------------------------------------------

    def write(self, records: Iterable[Record | Retire], source: str) -> WriteCounts:
        """Upsert records in chunks (inside the caller's transaction, or a new one).

        Touchpoints are keyed by their own (source, external_id); a ``Retire`` of kind
        ``touchpoint`` names an external id of ``source``. Within a chunk, owners, customers
        and contacts are written before touchpoints (the result is the same as one at a time);
        a Retire applies after every record before it. Records a touchpoint implies (its
        customer, owner, contact) are created when unknown but not counted. A record whose
        customer key is only a name (or a source's private id) lands on the customer of that
        name (:mod:`engage.store.sqlite_names`); a name of several customers is reported in
        the counts' ``notes``.
        """
        counts = WriteCounts()
        batch: list[Record] = []
        retires: list[Retire] = []
        with self._errors(), self.transaction():
            for item in records:
                if isinstance(item, Retire):
                    if batch:
                        counts += self._write_batch(batch)
                        batch = []
                    retires.append(item)
                    if len(retires) >= CHUNK:
                        counts += self._retire(retires, source)
                        retires = []
                elif isinstance(item, Customer | Contact | Owner | Touchpoint):
                    if retires:
                        counts += self._retire(retires, source)
                        retires = []
                    batch.append(item)
                    if len(batch) >= CHUNK:
                        counts += self._write_batch(batch)
                        batch = []
                else:
                    raise TypeError(f"SQLiteStore.write: cannot store {type(item).__name__}")
            if batch:
                counts += self._write_batch(batch)
            if retires:
                counts += self._retire(retires, source)
        return counts

    def _upsert(self, sql: Upsert, rows: Sequence[tuple[Any, ...]]) -> WriteCounts:
        """Insert the rows the table lacks, update the others where something differs.

        One look-up per chunk finds the keys already stored, so a new record costs one
        INSERT and a known one one UPDATE. A key repeated within the chunk is inserted
        once, then updated in order: the same result as upserting one row at a time. In a
        bulk load the rows are inserted without the look-up; when some were there already,
        every row is applied again as an update (a row inserted a moment ago already holds
        its values, so only those change), with the same result and counts.
        """
        if not rows:
            return WriteCounts()
        conn = self.conn
        if self._bulk:  # loading into an empty store: insert first, update only on a repeat
            inserted = conn.executemany(sql.insert, rows).rowcount
            updated = conn.executemany(sql.update, rows).rowcount if inserted < len(rows) else 0
            return WriteCounts(inserted, updated, len(rows) - inserted - updated)
        keys = [row[0] for row in rows]
        known: set[Any] = set()
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            known.update(
                key
                for (key,) in conn.execute(
                    f"SELECT {sql.key} FROM {sql.table} WHERE {sql.key} IN ({marks})", part
                )
            )
        new: list[tuple[Any, ...]] = []
        old: list[tuple[Any, ...]] = []
        for row in rows:
            if row[0] in known:
                old.append(row)
            else:
                new.append(row)
                known.add(row[0])
        # rowcount, not total_changes: the re-planning triggers' own writes must not count
        inserted = conn.executemany(sql.insert, new).rowcount if new else 0
        updated = conn.executemany(sql.update, old).rowcount if old else 0
        return WriteCounts(inserted, updated, len(rows) - inserted - updated)

    def _write_batch(self, batch: list[Record]) -> WriteCounts:
        conn = self.conn
        owner_records: list[Owner] = []
        customer_records: list[Customer] = []
        contact_records: list[Contact] = []
        touchpoints: list[Touchpoint] = []
        kinds: dict[type, Callable[[Any], None]] = {
            Touchpoint: touchpoints.append,
            Customer: customer_records.append,
            Contact: contact_records.append,
            Owner: owner_records.append,
        }
        for record in batch:  # one pass; a subclass goes by isinstance
            add = kinds.get(type(record))
            if add is None:
                add = next(a for kind, a in kinds.items() if isinstance(record, kind))
            add(record)
        owners = [(r.id, r.email, r.name, int(r.active)) for r in owner_records]
        touched = dict.fromkeys([t.customer for t in touchpoints])
        landing = self._names.plan(
            conn, customer_records, itertools.chain(touched, (r.customer for r in contact_records))
        )
        if landing.redirect:  # records naming a customer by name land on it
            customer_records, contact_records, touchpoints = landing.land(
                customer_records, contact_records, touchpoints
            )
            touched = dict.fromkeys([t.customer for t in touchpoints])
        customers = [
            (r.key, r.name, r.segment, r.owner, _micros(r.first_seen),
             None if r.open_work is None else int(r.open_work),
             _attributes(r.attributes), self._names.comparable(r.key, r.name))
            for r in customer_records
        ]  # fmt: skip
        contacts = [(r.email, r.customer, r.name) for r in contact_records]
        counts = self._upsert(OWNER, owners)
        counts += self._upsert(CUSTOMER, customers)
        merged = self._names.link(conn, landing, bulk=self._bulk is True)
        counts += WriteCounts(merged=merged, linked=len(landing.links), notes=landing.notes)
        counts += self._upsert(CONTACT, contacts)
        ensured = self._ensured
        ensured.trim(ENSURED_MAX)
        ensured.customers.difference_update(key for key, _ in landing.absorb)
        ensured.owners.update(row[0] for row in owners)
        ensured.customers.update(row[0] for row in customers)
        ensured.contacts.update(row[0] for row in contacts)
        if touchpoints:
            counts += self._write_touchpoints(touchpoints, touched)
        return counts

    def _write_touchpoints(
        self, touchpoints: list[Touchpoint], touched: Mapping[str, None]
    ) -> WriteCounts:
        """Store a chunk's touchpoints, creating the customers, owners and contacts they
        imply first (each looked at once per chunk, not once per row)."""
        conn = self.conn
        ensured = self._ensured
        implied_customers = [k for k in touched if k not in ensured.customers]
        implied_owners = [
            o
            for o in dict.fromkeys([t.owner for t in touchpoints])
            if o and o not in ensured.owners
        ]
        first_customer: dict[str | None, str] = {}
        for t in touchpoints:
            if t.contact_email not in first_customer:
                first_customer[t.contact_email] = t.customer
        implied_contacts = [
            (e, k) for e, k in first_customer.items() if e and e not in ensured.contacts
        ]
        comparable = self._names.comparable
        conn.executemany(IMPLIED_CUSTOMER, [(k, comparable(k, None)) for k in implied_customers])
        conn.executemany(IMPLIED_OWNER, [(o,) for o in implied_owners])
        conn.executemany(IMPLIED_CONTACT, implied_contacts)
        ensured.customers.update(implied_customers)
        ensured.owners.update(implied_owners)
        ensured.contacts.update(e for e, _ in implied_contacts)
        rows = touchpoints_sql.rows_of(touchpoints)
        self._begin_bulk_load_if_empty()
        inserted, updated = touchpoints_sql.upsert(conn, rows, bulk=self._bulk is True)
        merged = 0
        if touchpoints_sql.other_sources_exist(conn, {row[0] for row in rows}):
            if self._bulk:  # finding merges needs the customer index: build it now
                self._end_bulk_load()
                self._bulk = False
            merged = touchpoints_sql.mark_merges(conn, rows)
        return WriteCounts(inserted, updated, len(rows) - inserted - updated, merged=merged)

    def _begin_bulk_load_if_empty(self) -> None:
        """Loading into an empty store: build the customer index once at commit, not row by
        row, and re-plan every customer then instead of marking each row's."""
        if self._bulk is not None:
            return
        conn = self.conn
        self._bulk = conn.execute("SELECT 1 FROM touchpoints LIMIT 1").fetchone() is None
        if self._bulk:
            conn.execute("DROP INDEX IF EXISTS touchpoints_customer")
            conn.execute("DROP TRIGGER IF EXISTS touchpoints_inserted")

    def _end_bulk_load(self) -> None:
        if self._bulk:
            conn = self.conn
            self._names.move_put_off(conn)
            conn.execute(CUSTOMER_INDEX)
            conn.execute(TOUCHPOINT_INSERTED)
            conn.execute("DELETE FROM plans")
            conn.execute("DELETE FROM planning WHERE name = 'activity_as_of'")
        self._bulk = None

    def _retire(self, retires: list[Retire], source: str) -> WriteCounts:
        conn = self.conn
        self._ensured.clear()  # a retired customer or contact is stored no more
        self._names.forget()
        retired = 0
        for retire in retires:
            sql = RETIRE.get(retire.kind)
            if sql is None:
                raise ValidationError(
                    f"Retire.kind: expected one of {', '.join(RETIRE)} (got {retire.kind!r})"
                )
            if retire.kind == "touchpoint":
                gone = conn.execute(sql, (source, retire.id)).rowcount
                if gone:
                    conn.execute(touchpoints_sql.UNMERGE, (f"{source}\x1f{retire.id}",))
            elif retire.kind == "contact":
                gone = conn.execute(sql, (retire.id.strip().lower(),)).rowcount
            elif retire.kind == "customer":  # an alias retires its customer, on the same terms
                if self._bulk:
                    self._names.move_put_off(conn)  # its touchpoints are where they belong
                gone = conn.execute(sql, (self._names.customer_of(conn, retire.id),)).rowcount
            else:
                gone = conn.execute(sql, (retire.id,)).rowcount
            retired += gone
        return WriteCounts(retired=retired)

    def get_cursor(self, source: str) -> str | None:
        """The cursor saved for ``source``, or None before its first sync."""
        with self._errors():
            row = self.conn.execute(
                "SELECT cursor FROM cursors WHERE source = ?", (source,)
            ).fetchone()
        return None if row is None else str(row[0])

    def set_cursor(self, source: str, cursor: str) -> None:
        """Save ``source``'s cursor (inside the caller's transaction, or a new one)."""
        with self._errors(), self.transaction():
            self.conn.execute(
                """INSERT INTO cursors (source, cursor, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor,
                    updated_at = excluded.updated_at""",
                (source, cursor, to_micros(utcnow())),
            )

    def get_customer(self, key: str) -> Customer | None:
        """The stored customer record with this key, or None."""
        with self._errors():
            row = self.conn.execute(
                "SELECT key, name, segment, owner, first_seen, open_work, attributes"
                " FROM customers WHERE key = ?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        key, name, segment, owner, first_seen, open_work, attributes = row
        return Customer(
            key,
            name=name,
            segment=segment,
            owner=owner,
            first_seen=None if first_seen is None else from_micros(first_seen),
            open_work=bool(open_work),
            attributes=json.loads(attributes) if attributes else {},
        )

    def get_owner(self, owner_id: str) -> Owner | None:
        """The stored owner record with this id, or None."""
        with self._errors():
            row = self.conn.execute(
                "SELECT id, email, name, active FROM owners WHERE id = ?", (owner_id,)
            ).fetchone()
        return (
            None if row is None else Owner(row[0], email=row[1], name=row[2], active=bool(row[3]))
        )

    def get_contacts(self, customer: str) -> list[Contact]:
        """The customer's known contacts, by email."""
        with self._errors():
            rows = self.conn.execute(
                "SELECT email, customer, name FROM contacts WHERE customer = ? ORDER BY email",
                (customer,),
            ).fetchall()
        return [Contact(email, customer, name=name) for email, customer, name in rows]

    def customer_count(self) -> int:
        """How many customers the store knows."""
        with self._errors():
            return int(self.conn.execute("SELECT count(*) FROM customers").fetchone()[0])

    def touchpoint_count(self, source: str | None = None) -> int:
        """How many touchpoints the store holds, from one source or all."""
        with self._errors():
            if source is None:
                row = self.conn.execute("SELECT count(*) FROM touchpoints").fetchone()
            else:
                row = self.conn.execute(
                    "SELECT count(*) FROM touchpoints WHERE source = ?", (source,)
                ).fetchone()
        return int(row[0])

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
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
                self._close_mark(clean=True)


def open_sqlite(path: str | os.PathLike[str]) -> SQLiteStore:
    """Open (creating if needed) the SQLite store at ``path``."""
    return SQLiteStore(path)
