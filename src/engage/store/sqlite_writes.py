"""Writing records to the SQLite store: upserts in chunks, the rows touchpoints imply, bulk loads.

Mixed into :class:`~engage.store.sqlite.SQLiteStore`. :meth:`WriteMixin.write` is the
store's ``write``: owners, customers and contacts are upserted a chunk at a time
(:mod:`engage.store.sqlite_statements`), touchpoints through
:mod:`engage.store.sqlite_touchpoints`, names through :mod:`engage.store.sqlite_names`.

A load into a store without touchpoints is a bulk load: the customer index and the customer
and contact triggers that mark customers for re-planning are dropped and built again once
at commit, new touchpoints are not marked (every customer is re-planned then), and rows are
inserted without looking for them first (a chunk that repeats a key is applied again as updates, with the same result
and counts as looking first).
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engage.adapters import Retire
from engage.clock import to_micros
from engage.errors import ValidationError
from engage.models import Contact, Customer, Owner, Touchpoint
from engage.store import sqlite_touchpoints as touchpoints_sql
from engage.store.base import Record, WriteCounts
from engage.store.sqlite_keys import held_keys
from engage.store.sqlite_names import Names
from engage.store.sqlite_schema import (
    CUSTOMER_MARKS,
    build_customer_index,
)
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
from engage.store.touchpoint_rows import (
    CONTACT_AT,
    CUSTOMER_AT,
    OWNER_AT,
    Row,
    TouchpointRows,
    rows_in,
)
from engage.store.write_loop import CHUNK, WriteLoopMixin

__all__ = ["CHUNK", "ENSURED_MAX", "Ensured", "WriteMixin"]

#: Customers, owners and contacts remembered as stored within one transaction (so the rows
#: a touchpoint implies are not inserted again and again); past this many of a kind, forgotten.
ENSURED_MAX = 50_000


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


class WriteMixin(WriteLoopMixin):
    """The store's write path over its connection (the outer loop is
    :class:`~engage.store.write_loop.WriteLoopMixin`)."""

    if TYPE_CHECKING:
        _bulk: bool | None
        _ensured: Ensured
        _names: Names

        @property
        def conn(self) -> sqlite3.Connection: ...

        def _errors(self) -> AbstractContextManager[None]: ...

        def transaction(self) -> AbstractContextManager[None]: ...

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
        known = held_keys(conn, sql.table, sql.key, [row[0] for row in rows])
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

    def _write_batch(self, batch: list[Record | TouchpointRows]) -> WriteCounts:
        conn = self.conn
        owner_records: list[Owner] = []
        customer_records: list[Customer] = []
        contact_records: list[Contact] = []
        touchpoints: list[Touchpoint | TouchpointRows] = []
        kinds: dict[type, Callable[[Any], None]] = {
            Touchpoint: touchpoints.append,
            TouchpointRows: touchpoints.append,
            Customer: customer_records.append,
            Contact: contact_records.append,
            Owner: owner_records.append,
        }
        for record in batch:  # one pass; a subclass goes by isinstance
            add = kinds.get(type(record))
            if add is None:
                add = next(a for kind, a in kinds.items() if isinstance(record, kind))
            add(record)
        rows = rows_in(touchpoints)
        if rows:  # before the customers: a bulk load marks none of them stale
            self._begin_bulk_load_if_empty()
        owners = [(r.id, r.email, r.name, int(r.active)) for r in owner_records]
        touched = dict.fromkeys([row[CUSTOMER_AT] for row in rows])
        landing = self._names.plan(
            conn, customer_records, itertools.chain(touched, (r.customer for r in contact_records))
        )
        if landing.redirect:  # records naming a customer by name land on it
            customer_records, contact_records, rows = landing.land(
                customer_records, contact_records, rows
            )
            touched = dict.fromkeys([row[CUSTOMER_AT] for row in rows])
        customers = [
            (r.key, r.name, r.segment, r.owner, _micros(r.first_seen),
             None if r.open_work is None else int(r.open_work),
             r.attributes_json(), self._names.comparable(r.key, r.name))
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
        if rows:
            counts += self._write_touchpoints(rows, touched)
        return counts

    def _write_touchpoints(self, rows: list[Row], touched: Mapping[str, None]) -> WriteCounts:
        """Store a chunk's touchpoint rows, creating the customers, owners and contacts they
        imply first (each looked at once per chunk, not once per row)."""
        conn = self.conn
        ensured = self._ensured
        implied_customers = [k for k in touched if k not in ensured.customers]
        implied_owners = [
            o
            for o in dict.fromkeys([row[OWNER_AT] for row in rows])
            if o and o not in ensured.owners
        ]
        first_customer: dict[str | None, str] = {}
        for row in rows:
            if row[CONTACT_AT] not in first_customer:
                first_customer[row[CONTACT_AT]] = row[CUSTOMER_AT]
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
        row, and re-plan every customer then instead of marking each row's (or each
        customer's and contact's)."""
        if self._bulk is not None:
            return
        conn = self.conn
        self._bulk = conn.execute("SELECT 1 FROM touchpoints LIMIT 1").fetchone() is None
        if self._bulk:
            conn.execute("DROP INDEX IF EXISTS touchpoints_customer")
            for trigger in CUSTOMER_MARKS:
                conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")

    def _end_bulk_load(self) -> None:
        if self._bulk:
            conn = self.conn
            self._names.move_put_off(conn)
            build_customer_index(conn)
            for create in CUSTOMER_MARKS.values():
                conn.execute(create)
            conn.execute("DELETE FROM plans")
            conn.execute("DELETE FROM fact_totals")  # none were kept true while loading
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
