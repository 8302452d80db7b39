"""The two kinds of store as :mod:`engage.store.copy` reads and writes them: the catalog's
tables, rows in chunks, a load with triggers set aside, sequences moved past the rows."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from engage.errors import StoreError
from engage.store import Store
from engage.store.sqlite_faults import explain as explain_sqlite

if TYPE_CHECKING:
    from engage.store.postgres.store import Connection as PgConnection

#: Rows per chunk read from SOURCE and written to DEST.
CHUNK = 5000

#: Tables that record the schema's version, not data: DEST has its own.
VERSION_TABLES = frozenset({"schema_version"})

#: Tables that only spare work, rebuilt from the data as needed: SQLite's fact totals
#: (:mod:`engage.store.sqlite_totals`), which DEST starts without.
CACHE_TABLES = frozenset({"fact_totals", "contact_totals"})

Row = tuple[Any, ...]
Tables = dict[str, tuple[str, ...]]  # table → its columns, in the catalog's order


def _quote(name: str) -> str:
    """An SQL identifier, quoted (the same for SQLite and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def _columns(columns: Iterable[str]) -> str:
    return ", ".join(_quote(column) for column in columns)


class Side(Protocol):
    """One store's tables, read or written by the copy."""

    where: str

    def tables(self) -> Tables: ...
    def count(self, table: str) -> int: ...
    def rows(self, table: str, columns: tuple[str, ...]) -> Iterator[list[Row]]: ...
    def load(self, table: str, columns: tuple[str, ...], chunks: Iterator[list[Row]]) -> int: ...
    def reading(self) -> AbstractContextManager[None]: ...
    def writing(self) -> AbstractContextManager[None]: ...
    def triggers_off(self) -> AbstractContextManager[None]: ...
    def reset_sequences(self) -> None: ...


def side_of(store: Store) -> Side:
    from engage.store.sqlite import SQLiteStore

    if isinstance(store, SQLiteStore):
        return SQLiteSide(store.conn, store.path)
    from engage.store.postgres import PostgresStore

    if isinstance(store, PostgresStore):
        return PostgresSide(store.conn, store.path)
    raise StoreError(f"cannot copy a store of type {type(store).__name__}")


_SQLITE_TABLES = r"""SELECT name FROM sqlite_master
    WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name"""

#: What a load sets aside and builds again at the end: triggers (which would mark again what
#: the rows copied record) and indexes (built once, not row by row).
_SQLITE_DERIVED = """SELECT type, name, sql FROM sqlite_master
    WHERE type IN ('trigger', 'index') AND sql IS NOT NULL ORDER BY type DESC, name"""


@attrs.define
class SQLiteSide:
    conn: sqlite3.Connection
    where: str

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise explain_sqlite(self.where, exc) from exc

    def tables(self) -> Tables:
        with self._errors():
            names = [
                name for (name,) in self.conn.execute(_SQLITE_TABLES) if name not in CACHE_TABLES
            ]
            return {
                name: tuple(
                    row[1] for row in self.conn.execute(f"PRAGMA table_info({_quote(name)})")
                )
                for name in names
            }

    def count(self, table: str) -> int:
        with self._errors():
            return int(self.conn.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0])

    def rows(self, table: str, columns: tuple[str, ...]) -> Iterator[list[Row]]:
        with self._errors():
            cursor = self.conn.execute(f"SELECT {_columns(columns)} FROM {_quote(table)}")
            while chunk := cursor.fetchmany(CHUNK):
                yield chunk

    def load(self, table: str, columns: tuple[str, ...], chunks: Iterator[list[Row]]) -> int:
        marks = ", ".join("?" * len(columns))
        insert = f"INSERT INTO {_quote(table)} ({_columns(columns)}) VALUES ({marks})"
        written = 0
        for chunk in chunks:
            with self._errors():
                self.conn.executemany(insert, chunk)
            written += len(chunk)
        return written

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._errors():
            self.conn.execute("BEGIN")  # deferred: one snapshot from the first read on
        try:
            yield
        finally:
            if self.conn.in_transaction:
                with suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._errors():
            self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                with suppress(sqlite3.Error):  # the error that brought us here is the news
                    self.conn.execute("ROLLBACK")
            raise
        with self._errors():
            self.conn.execute("COMMIT")

    @contextmanager
    def triggers_off(self) -> Iterator[None]:
        with self._errors():
            derived = self.conn.execute(_SQLITE_DERIVED).fetchall()
            for kind, name, _ in derived:
                self.conn.execute(f"DROP {kind.upper()} {_quote(name)}")
        yield  # on an error the rollback puts them back
        with self._errors():
            for _, _, sql in reversed(derived):
                self.conn.execute(sql)

    def reset_sequences(self) -> None:
        """Nothing to do: an AUTOINCREMENT table's sqlite_sequence follows its inserts."""


#: The store's tables in its schema (the search_path's first): logged ones, no scratch.
_PG_COLUMNS = """SELECT c.relname, a.attname, t.typname
    FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        AND a.attgenerated = ''
    JOIN pg_type t ON t.oid = a.atttypid
    WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
        AND c.relkind = 'r' AND c.relpersistence = 'p'
    ORDER BY c.relname, a.attnum"""

#: Columns that take their values from a sequence (serial or identity), with it.
_PG_SEQUENCES = """SELECT table_name, column_name,
        pg_get_serial_sequence(format('%I.%I', table_schema, table_name), column_name)
    FROM information_schema.columns WHERE table_schema = current_schema()"""


@attrs.define
class PostgresSide:
    conn: PgConnection
    where: str
    _json: dict[str, set[str]] = attrs.Factory(dict)  # table → its json/jsonb columns

    @contextmanager
    def _errors(self) -> Iterator[None]:
        import psycopg

        from engage.store.postgres.store import explain

        try:
            yield
        except psycopg.Error as exc:
            raise explain(self.where, exc) from exc

    def tables(self) -> Tables:
        """The store's tables; remembers their JSON columns, which :meth:`rows` gives as text."""
        found: dict[str, list[str]] = {}
        with self._errors():
            for table, column, kind in self.conn.execute(_PG_COLUMNS):
                if table not in VERSION_TABLES:
                    found.setdefault(table, []).append(column)
                    if kind in ("json", "jsonb"):
                        self._json.setdefault(table, set()).add(column)
        return {table: tuple(columns) for table, columns in found.items()}

    def count(self, table: str) -> int:
        with self._errors():
            row = self.conn.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()
        return 0 if row is None else int(row[0])

    def rows(self, table: str, columns: tuple[str, ...]) -> Iterator[list[Row]]:
        as_text = [i for i, c in enumerate(columns) if c in self._json.get(table, ())]
        with self._errors(), self.conn.cursor(name="engage_copy") as cursor:
            cursor.execute(f"SELECT {_columns(columns)} FROM {_quote(table)}")
            while chunk := cursor.fetchmany(CHUNK):
                yield [_json_as_text(row, as_text) for row in chunk] if as_text else chunk

    def load(self, table: str, columns: tuple[str, ...], chunks: Iterator[list[Row]]) -> int:
        written = 0
        statement = f"COPY {_quote(table)} ({_columns(columns)}) FROM STDIN"
        with self._errors(), self.conn.cursor() as cursor, cursor.copy(statement) as copy:
            for chunk in chunks:
                for row in chunk:
                    copy.write_row(row)
                written += len(chunk)
        return written

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._errors(), self.conn.transaction(force_rollback=True):
            self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._errors(), self.conn.transaction():
            yield

    @contextmanager
    def triggers_off(self) -> Iterator[None]:
        tables = [_quote(table) for table in self.tables()]
        with self._errors():
            for table in tables:
                self.conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        yield  # on an error the rollback enables them again
        with self._errors():
            for table in tables:
                self.conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")

    def reset_sequences(self) -> None:
        """Move each sequence past the values copied, so later inserts do not collide."""
        with self._errors():
            serials = [row for row in self.conn.execute(_PG_SEQUENCES) if row[2] is not None]
            for table, column, sequence in serials:
                self.conn.execute(
                    f"SELECT setval(%s, coalesce(max({_quote(column)}), 0) + 1, false) "
                    f"FROM {_quote(table)}",
                    (sequence,),
                )


def _json_as_text(row: Row, columns: list[int]) -> Row:
    """``row`` with its JSON values as compact text, as the SQLite store keeps them."""
    values = list(row)
    for i in columns:
        if values[i] is not None:
            values[i] = json.dumps(values[i], sort_keys=True, separators=(",", ":"))
    return tuple(values)
