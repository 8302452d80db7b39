"""The store-level records both backends read and write alike: cursors, customers, owners,
contacts and counts, over the store's connection in its :class:`~engage.store.dialect.Dialect`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from engage.clock import from_micros, to_micros, utcnow
from engage.errors import StoreError
from engage.models import Contact, Customer, Owner

if TYPE_CHECKING:
    from engage.store.dialect import Connection, Dialect


class RecordsMixin:
    """Cursors, single records and counts; ``_own_transaction`` for the methods that commit
    on their own."""

    dialect: Dialect
    _depth: int

    if TYPE_CHECKING:

        @property
        def conn(self) -> Connection: ...

        def _errors(self) -> AbstractContextManager[None]: ...

        def transaction(self) -> AbstractContextManager[None]: ...

    def _own_transaction(self, what: str) -> AbstractContextManager[None]:
        """A transaction of its own for ``what``, which refuses to join the caller's."""
        return self._alone(what)

    @contextmanager
    def _alone(self, what: str) -> Iterator[None]:
        if self._depth:
            raise StoreError(f"{what} commits on its own; call it outside store.transaction()")
        with self._errors(), self.transaction():
            yield

    def get_cursor(self, source: str) -> str | None:
        """The cursor saved for ``source``, or None before its first sync."""
        with self._errors():
            row = self.conn.execute(
                self.dialect.sql("SELECT cursor FROM cursors WHERE source = ?"), (source,)
            ).fetchone()
        return None if row is None else str(row[0])

    def set_cursor(self, source: str, cursor: str) -> None:
        """Save ``source``'s cursor (inside the caller's transaction, or a new one)."""
        with self._errors(), self.transaction():
            self.conn.execute(
                self.dialect.sql(
                    """INSERT INTO cursors (source, cursor, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor,
                        updated_at = excluded.updated_at"""
                ),
                (source, cursor, to_micros(utcnow())),
            )

    def get_customer(self, key: str) -> Customer | None:
        """The stored customer record with this key, or None."""
        with self._errors():
            row = self.conn.execute(
                self.dialect.sql(
                    "SELECT key, name, segment, owner, first_seen, open_work, attributes"
                    " FROM customers WHERE key = ?"
                ),
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
            attributes=self.dialect.load_json(attributes),
        )

    def get_owner(self, owner_id: str) -> Owner | None:
        """The stored owner record with this id, or None."""
        with self._errors():
            row = self.conn.execute(
                self.dialect.sql("SELECT id, email, name, active FROM owners WHERE id = ?"),
                (owner_id,),
            ).fetchone()
        return (
            None if row is None else Owner(row[0], email=row[1], name=row[2], active=bool(row[3]))
        )

    def get_contacts(self, customer: str) -> list[Contact]:
        """The customer's known contacts, by email."""
        with self._errors():
            rows = self.conn.execute(
                self.dialect.sql(
                    "SELECT email, customer, name FROM contacts WHERE customer = ? ORDER BY email"
                ),
                (customer,),
            ).fetchall()
        return [Contact(email, customer, name=name) for email, customer, name in rows]

    def customer_count(self) -> int:
        """How many customers the store knows."""
        return self._count("SELECT count(*) FROM customers")

    def touchpoint_count(self, source: str | None = None) -> int:
        """How many touchpoints the store holds, from one source or all."""
        if source is None:
            return self._count("SELECT count(*) FROM touchpoints")
        return self._count("SELECT count(*) FROM touchpoints WHERE source = ?", source)

    def _count(self, query: str, *params: object) -> int:
        """The one number ``query`` (``?`` placeholders) counts."""
        with self._errors():
            if params:
                row = self.conn.execute(self.dialect.sql(query), params).fetchone()
            else:
                row = self.conn.execute(query).fetchone()
        return 0 if row is None else int(row[0])
