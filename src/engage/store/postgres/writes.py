"""Upserting records into the PostgreSQL store (see :meth:`engage.store.base.Store.write`).

Mixed into :class:`~engage.store.postgres.store.PostgresStore`; the same rules as the SQLite
store's :meth:`~engage.store.sqlite.SQLiteStore.write`: records are upserted in chunks,
owners, customers and contacts before touchpoints; a Retire applies after every record
before it; records a touchpoint implies are created when unknown but not counted; names
find their customer (:mod:`engage.store.postgres.names`); emails another source holds are
merged.

A transaction whose first touchpoints land in an empty store is a first load: it takes
the touchpoints table for itself (``SHARE ROW EXCLUSIVE``: readers go on, other writers
wait) and inserts with ``COPY``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import psycopg

from engage.adapters import Retire
from engage.clock import to_micros
from engage.errors import ValidationError
from engage.identity import customer_name_key
from engage.models import Contact, Customer, Owner, Touchpoint
from engage.store.base import Record, WriteCounts
from engage.store.postgres import touchpoints as touchpoints_sql
from engage.store.postgres.names import PgNames
from engage.store.postgres.statements import (
    CONTACT,
    CUSTOMER,
    IMPLIED_CONTACT,
    IMPLIED_CUSTOMER,
    IMPLIED_OWNER,
    OWNER,
    RETIRE,
)
from engage.store.sqlite_statements import Upsert
from engage.store.touchpoint_rows import (
    CONTACT_AT,
    CUSTOMER_AT,
    OWNER_AT,
    Row,
    TouchpointRows,
    rows_in,
)
from engage.store.write_loop import WriteLoopMixin

#: Customers, owners and contacts remembered as stored within one transaction.
ENSURED_MAX = 20_000


class WriteMixin(WriteLoopMixin):
    """Record writes over the store's connection (the outer loop is
    :class:`~engage.store.write_loop.WriteLoopMixin`)."""

    _depth: int
    _bulk: bool | None
    _ensured: set[tuple[str, str]]
    _names: PgNames

    if TYPE_CHECKING:

        @property
        def conn(self) -> psycopg.Connection[tuple[Any, ...]]: ...

        def _errors(self) -> AbstractContextManager[None]: ...

        def transaction(self) -> AbstractContextManager[None]: ...

    def _upsert(self, sql: Upsert, rows: Sequence[tuple[Any, ...]]) -> WriteCounts:
        """Insert the rows the table lacks, update the others where something differs (a key
        repeated within the chunk is inserted once, then updated in order)."""
        if not rows:
            return WriteCounts()
        conn = self.conn
        known: set[Any] = {
            key
            for (key,) in conn.execute(
                f"SELECT {sql.key} FROM {sql.table} WHERE {sql.key} = ANY(%s)",
                ([row[0] for row in rows],),
            )
        }
        new: list[tuple[Any, ...]] = []
        old: list[tuple[Any, ...]] = []
        for row in rows:
            if row[0] in known:
                old.append(row)
            else:
                new.append(row)
                known.add(row[0])
        inserted = updated = 0
        with conn.cursor() as cursor:
            if new:
                cursor.executemany(sql.insert, new)
                inserted = cursor.rowcount
            if old:
                cursor.executemany(sql.update, old)
                updated = cursor.rowcount
        return WriteCounts(inserted, updated, len(rows) - inserted - updated)

    def _write_batch(self, batch: list[Record | TouchpointRows]) -> WriteCounts:
        conn = self.conn
        owners = [(r.id, r.email, r.name, int(r.active)) for r in batch if isinstance(r, Owner)]
        customer_records = [r for r in batch if isinstance(r, Customer)]
        contact_records = [r for r in batch if isinstance(r, Contact)]
        rows = rows_in(r for r in batch if isinstance(r, Touchpoint | TouchpointRows))
        touched = dict.fromkeys(row[CUSTOMER_AT] for row in rows)
        landing = self._names.plan(
            conn, customer_records, itertools.chain(touched, (r.customer for r in contact_records))
        )
        if landing.redirect:  # records naming a customer by name land on it
            customer_records, contact_records, rows = landing.land(
                customer_records, contact_records, rows
            )
            touched = dict.fromkeys(row[CUSTOMER_AT] for row in rows)
        customers = [
            (r.key, r.name, r.segment, r.owner,
             None if r.first_seen is None else to_micros(r.first_seen),
             None if r.open_work is None else int(r.open_work),
             r.attributes_json(), customer_name_key(r.key, r.name))
            for r in customer_records
        ]  # fmt: skip
        contacts = [(r.email, r.customer, r.name) for r in contact_records]
        counts = self._upsert(OWNER, owners)
        counts += self._upsert(CUSTOMER, customers)
        merged = self._names.link(conn, landing)
        counts += WriteCounts(merged=merged, linked=len(landing.links), notes=landing.notes)
        counts += self._upsert(CONTACT, contacts)
        ensured = self._ensured
        if len(ensured) > ENSURED_MAX:
            ensured.clear()
        ensured.difference_update(("c", key) for key, _ in landing.absorb)
        ensured.update(("o", row[0]) for row in owners)
        ensured.update(("c", row[0]) for row in customers)
        ensured.update(("@", row[0]) for row in contacts)
        if rows:
            counts += self._write_touchpoints(rows, touched)
        return counts

    def _write_touchpoints(self, rows: list[Row], touched: Mapping[str, None]) -> WriteCounts:
        conn = self.conn
        ensured = self._ensured
        implied_customers = [k for k in touched if ("c", k) not in ensured]
        implied_owners = {
            row[OWNER_AT]: None
            for row in rows
            if row[OWNER_AT] and ("o", row[OWNER_AT]) not in ensured
        }
        implied_contacts: dict[str, str] = {}
        for row in rows:
            email = row[CONTACT_AT]
            if email and ("@", email) not in ensured:
                implied_contacts.setdefault(email, row[CUSTOMER_AT])
        with conn.cursor() as cursor:
            if implied_customers:
                cursor.executemany(
                    IMPLIED_CUSTOMER, [(k, customer_name_key(k, None)) for k in implied_customers]
                )
            if implied_owners:
                cursor.executemany(IMPLIED_OWNER, [(o,) for o in implied_owners])
            if implied_contacts:
                cursor.executemany(IMPLIED_CONTACT, list(implied_contacts.items()))
        ensured.update(("c", k) for k in implied_customers)
        ensured.update(("o", o) for o in implied_owners)
        ensured.update(("@", e) for e in implied_contacts)
        self._begin_bulk_load_if_empty()
        inserted, updated = touchpoints_sql.upsert(conn, rows, copy=self._bulk is True)
        merged = 0
        if touchpoints_sql.other_sources_exist(conn, {row[0] for row in rows}):
            merged = touchpoints_sql.mark_merges(conn, rows)
        return WriteCounts(inserted, updated, len(rows) - inserted - updated, merged=merged)

    def _begin_bulk_load_if_empty(self) -> None:
        """A transaction whose first touchpoints land in an empty store loads with COPY,
        holding the table against other writers until it commits."""
        if self._bulk is not None:
            return
        conn = self.conn
        if conn.execute("SELECT EXISTS (SELECT 1 FROM touchpoints)").fetchone() == (True,):
            self._bulk = False
            return
        conn.execute("LOCK TABLE touchpoints IN SHARE ROW EXCLUSIVE MODE")
        row = conn.execute("SELECT EXISTS (SELECT 1 FROM touchpoints)").fetchone()
        self._bulk = row == (False,)  # read again under the lock

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
            params: tuple[str, ...]
            if retire.kind == "touchpoint":
                params = (source, retire.id)
            elif retire.kind == "contact":
                params = (retire.id.strip().lower(),)
            elif retire.kind == "customer":  # an alias retires its customer, on the same terms
                key = self._names.customer_of(conn, retire.id)
                params = (key, key)
            else:
                params = (retire.id,)
            gone = conn.execute(sql, params).rowcount
            if gone and retire.kind == "touchpoint":
                conn.execute(touchpoints_sql.UNMERGE, (f"{source}\x1f{retire.id}",))
            retired += gone
        return WriteCounts(retired=retired)
