"""Names find their customer in the PostgreSQL store (see :mod:`engage.store.sqlite_names`).

:class:`PgNames` keeps the SQLite store's rules by reusing its Python (which keys are
looked up, which customer a name lands on, what is noted) and swapping only its SQL: the
two look-ups of :meth:`~engage.store.sqlite_names.Names.plan` run through :class:`_Lookups`,
and :meth:`PgNames.link` and :meth:`PgNames.customer_of` are written for PostgreSQL. Folded-in
touchpoints always move at once (the customer index is never dropped here, so there is
nothing to put off to the end of a first load).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, cast

import psycopg

from engage.errors import StoreError
from engage.store import sqlite_names
from engage.store.postgres.touchpoints import MARK_SAME_EMAIL
from engage.store.sqlite_names import Landing, Names

Connection = psycopg.Connection[tuple[Any, ...]]

_KEYS = """SELECT j.value, a.customer, c.key IS NOT NULL, c.name_key, c.name
FROM unnest(%s::text[]) AS j(value)
LEFT JOIN customer_aliases a ON a.alias = j.value
LEFT JOIN customers c ON c.key = j.value"""

_NAMED = """SELECT c.key, c.name_key, c.name FROM unnest(%s::text[]) AS j(value)
JOIN customers c ON c.name_key = j.value"""

#: The folded-in customer fills the gaps of the one it lands on, which keeps its name;
#: running work on either side is running work.
_FOLD_IN = """UPDATE customers AS c SET
    segment = coalesce(c.segment, f.segment),
    owner = coalesce(c.owner, f.owner),
    first_seen = coalesce(c.first_seen, f.first_seen),
    open_work = greatest(c.open_work, f.open_work),
    attributes = engage_json_patch(f.attributes, c.attributes)
FROM customers f WHERE f.key = %s AND c.key = %s"""

_ALIAS = """INSERT INTO customer_aliases (alias, customer) VALUES (%s, %s)
ON CONFLICT (alias) DO UPDATE SET customer = excluded.customer"""


class _Lookups:
    """Answers the SQLite look-ups :class:`~engage.store.sqlite_names.Names` runs, from
    PostgreSQL: each takes one JSON list of keys or comparable names."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: tuple[str]) -> psycopg.Cursor[tuple[Any, ...]]:
        values = json.loads(params[0])
        if sql is sqlite_names._KEYS:
            return self.conn.execute(_KEYS, (values,))
        if sql is sqlite_names._NAMED:
            return self.conn.execute(_NAMED, (values,))
        raise StoreError("names: an SQL look-up PostgreSQL does not know (please report this)")


class PgNames(Names):
    """Which customer each key's records land on, remembered within a transaction."""

    def plan(self, conn: Any, customers: Any, keys: Any) -> Landing:
        """Where the records land (see :meth:`Names.plan`), looked up in PostgreSQL."""
        # Names needs only execute() of its connection: the look-ups answer it
        return super().plan(cast("sqlite3.Connection", _Lookups(conn)), customers, keys)

    def link(self, conn: Any, landing: Landing, *, bulk: bool = False) -> int:
        """Record the landing's aliases and fold in its stored customers; returns how many
        moved touchpoints were found to be an email another source holds."""
        merged = 0
        with conn.cursor() as cursor:
            for key, into in landing.absorb:
                cursor.execute(_FOLD_IN, (key, into))
                cursor.execute("UPDATE contacts SET customer = %s WHERE customer = %s", (into, key))
                emails = cursor.execute(
                    """SELECT source, external_id FROM touchpoints WHERE customer = %s
                    AND channel = 'email' AND duplicate_of IS NULL""",
                    (key,),
                ).fetchall()
                cursor.execute(
                    "UPDATE touchpoints SET customer = %s WHERE customer = %s", (into, key)
                )
                if emails:  # moved emails may repeat one another source holds
                    cursor.executemany(MARK_SAME_EMAIL, emails)
                    merged += cursor.rowcount
                cursor.execute("DELETE FROM customers WHERE key = %s", (key,))
            if landing.links:
                cursor.executemany(_ALIAS, landing.links)
        return merged

    def move_put_off(self, conn: Any) -> None:
        """Nothing is put off in PostgreSQL (see the module)."""

    def customer_of(self, conn: Any, key: str) -> str:
        """The customer ``key`` is an alias of, else ``key`` itself."""
        row = conn.execute(
            "SELECT customer FROM customer_aliases WHERE alias = %s", (key,)
        ).fetchone()
        return key if row is None else str(row[0])
