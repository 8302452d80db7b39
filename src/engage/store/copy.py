"""``engage store copy``: move a whole store to another, SQLite or PostgreSQL, without
pulling anything again.

Every table the schema has is copied row for row, as the catalog lists it (SQLite's
``sqlite_master``, PostgreSQL's ``pg_class`` in the store's schema), so a table a later
version adds travels too; the two stores must have the same tables with the same columns, or
the copy refuses naming the difference. Left out are only what is not data: PostgreSQL's
``schema_version`` (DEST's own, written when it was created) and its ``UNLOGGED`` tables,
scratch space the server itself empties after a crash (SQLite keeps the same as ``TEMP``
tables, outside the file's catalog).

The rows are copied as they are, the re-planning marks, cursors and ledger included, so the
next ``engage sync`` on DEST goes on where the last one on SOURCE stopped: DEST's triggers
are set aside while it loads (they would mark again what SOURCE's rows already record), and
its sequences, if any, are moved past the rows copied.

SOURCE is read in one snapshot and DEST written in one transaction, both under their sync
lock (:meth:`~engage.store.base.Store.lock`); a failure leaves DEST as empty as before.
Rows stream in chunks: PostgreSQL reads through a server-side cursor and loads with
``COPY … FROM STDIN``; SQLite loads with ``executemany``, its indexes built once at the end.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, closing, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from engage.adapters import Progress, expect
from engage.errors import StoreError
from engage.store import Store, is_postgres_url, open_store, redact_url
from engage.store.sqlite_faults import explain as explain_sqlite

if TYPE_CHECKING:
    from engage.store.postgres.store import Connection as PgConnection

__all__ = ["CopyReport", "copy_store"]

#: Rows per chunk read from SOURCE and written to DEST.
CHUNK = 5000

#: Tables that record the schema's version, not data: DEST has its own.
VERSION_TABLES = frozenset({"schema_version"})

Row = tuple[Any, ...]
Tables = dict[str, tuple[str, ...]]  # table → its columns, in the catalog's order


@attrs.frozen
class CopyReport:
    """What :func:`copy_store` copied.

    Attributes:
        source: The store copied from, as messages name it (a URL without its password).
        dest: The store copied into, likewise.
        tables: Each table copied with its rows, in the order copied (empty ones too).
    """

    source: str
    dest: str
    tables: tuple[tuple[str, int], ...]

    @property
    def rows(self) -> int:
        """Rows copied in all."""
        return sum(count for _, count in self.tables)

    def counts(self) -> dict[str, int]:
        """Table → rows copied."""
        return dict(self.tables)

    def summary(self) -> str:
        """One line for people: how much went where, and that it was checked."""
        return (
            f"copied {self.rows:,} rows in {len(self.tables)} tables from {self.source} to "
            f"{self.dest} (every table's row count checked)"
        )


def copy_store(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy every row of the store at ``source`` into the empty store at ``dest``.

    Each is an SQLite path or a ``postgresql://`` URL; DEST is created if missing (as
    :func:`~engage.store.open_store` creates a store). Both are held with their sync lock
    while copying.

    Args:
        source: The store to copy: it must exist and be at this engage's schema version.
        dest: The store to fill: it must hold no rows.
        progress: Advanced by ``rows`` per chunk written (told the total first, if it takes
            totals).

    Returns:
        The tables copied with their row counts, each checked against SOURCE's.

    Raises:
        StoreError: SOURCE is missing or at another schema version; DEST holds data; the two
            schemas differ; a store failed (DEST is then left as empty as before). Messages
            name the stores without their passwords.
        LockedError: a sync (or another copy) holds either store.
    """
    source_where, dest_where = _where(source), _where(dest)
    _refuse_same(source, dest, source_where)
    _check_source(source, source_where)
    if not is_postgres_url(dest) and os.path.exists(dest):
        # opening an older SQLite file migrates it: look before changing anything
        with closing(_read_only(os.fspath(dest))) as conn:
            _refuse_data(_SQLite(conn, dest_where))
    with ExitStack() as stack:
        source_store = stack.enter_context(closing(open_store(source)))
        stack.enter_context(source_store.lock())  # before DEST is created: a sync may hold it
        dest_store = stack.enter_context(closing(open_store(dest)))
        stack.enter_context(dest_store.lock())
        copied = _copy(_side(source_store), _side(dest_store), progress)
    return CopyReport(source_where, dest_where, copied)


def _where(target: str | os.PathLike[str]) -> str:
    return redact_url(os.fspath(target)) if is_postgres_url(target) else os.fspath(target)


def _refuse_same(source: str | os.PathLike[str], dest: str | os.PathLike[str], where: str) -> None:
    if is_postgres_url(source) or is_postgres_url(dest):
        same = os.fspath(source) == os.fspath(dest)
    else:
        same = os.path.exists(source) and os.path.exists(dest) and os.path.samefile(source, dest)
    if same:
        raise StoreError(f"{where}: SOURCE and DEST are the same store; nothing to copy")


def _check_source(target: str | os.PathLike[str], where: str) -> None:
    """Refuse a SOURCE that is not a store at this engage's schema version (before opening
    it, which would create a missing one or migrate an older SQLite file)."""
    if is_postgres_url(target):
        found, expected = _postgres_version(os.fspath(target), where)
    else:
        found, expected = _sqlite_version(os.fspath(target), where)
    if found == 0:
        raise StoreError(f"{where}: no engage store there to copy; check SOURCE")
    if found > expected:
        raise StoreError(
            f"{where}: the store was written by a newer engage (schema version {found}; "
            f"this engage reads up to {expected}); upgrade engage to copy it"
        )
    if found < expected:
        raise StoreError(
            f"{where}: the store has schema version {found}, this engage copies version "
            f"{expected}; run 'engage store migrate' on it first (with it as the store: "
            "store = in engage.toml, or $ENGAGE_STORE), then copy"
        )


def _sqlite_version(path: str, where: str) -> tuple[int, int]:
    from engage.store.sqlite_schema import SCHEMA_VERSION

    if not os.path.isfile(path):
        return 0, SCHEMA_VERSION
    with closing(_read_only(path)) as conn:
        try:
            return int(conn.execute("PRAGMA user_version").fetchone()[0]), SCHEMA_VERSION
        except sqlite3.Error as exc:
            raise explain_sqlite(where, exc) from exc


def _postgres_version(url: str, where: str) -> tuple[int, int]:
    try:
        import psycopg

        from engage.store.postgres.schema import SCHEMA_VERSION, schema_version
        from engage.store.postgres.store import explain
    except ImportError:
        open_store(url)  # raises, naming the extra to install
        raise
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            return schema_version(conn), SCHEMA_VERSION
    except psycopg.Error as exc:
        raise explain(where, exc) from None


def _read_only(path: str) -> sqlite3.Connection:
    try:
        return sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise explain_sqlite(path, exc) from exc


# -- the copy ------------------------------------------------------------------------------


def _copy(source: _Side, dest: _Side, progress: Progress | None) -> tuple[tuple[str, int], ...]:
    """Copy every table in one snapshot of SOURCE and one transaction on DEST."""
    with source.reading():
        tables = _matching_tables(source, dest)
        counts = {name: source.count(name) for name in tables}
        if progress is not None:
            expect(progress, "rows", sum(counts.values()))
        with dest.writing():
            _refuse_data(dest)
            try:
                with dest.triggers_off():
                    for table, columns in tables.items():
                        _copy_table(source, dest, table, columns, counts[table], progress)
                    dest.reset_sequences()
            except StoreError as exc:
                raise type(exc)(
                    f"{exc}; nothing was copied: {dest.where} is as empty as before"
                ) from exc
    return tuple(counts.items())


def _copy_table(
    source: _Side,
    dest: _Side,
    table: str,
    columns: tuple[str, ...],
    expected: int,
    progress: Progress | None,
) -> None:
    """Copy one table's rows and check that DEST holds as many as SOURCE counted."""
    try:
        written = dest.load(table, columns, _advancing(source.rows(table, columns), progress))
        stored = dest.count(table)
    except StoreError as exc:
        raise type(exc)(f"{exc} (copying table {table})") from exc
    if not expected == written == stored:
        raise StoreError(
            f"{dest.where}: table {table}: SOURCE counts {expected:,} rows, {written:,} were "
            f"read and {stored:,} stored"
        )


def _matching_tables(source: _Side, dest: _Side) -> Tables:
    """SOURCE's tables, by name; refuses a table or column one store has and the other lacks."""
    found, wanted = source.tables(), dest.tables()
    unmatched = sorted(found.keys() ^ wanted.keys())
    if unmatched:
        name = unmatched[0]
        has, lacks = (source, dest) if name in found else (dest, source)
        raise StoreError(
            f"table {name!r} is in {has.where} but not in {lacks.where}: their schemas differ "
            "(was either written by another engage?); nothing was copied"
        )
    for name in sorted(found):
        if set(found[name]) != set(wanted[name]):
            differ = sorted(set(found[name]) ^ set(wanted[name]))
            raise StoreError(
                f"table {name!r} has other columns in {source.where} than in {dest.where} "
                f"({', '.join(differ)}): their schemas differ; nothing was copied"
            )
    return {name: found[name] for name in sorted(found)}


def _refuse_data(dest: _Side) -> None:
    held = {name: n for name in sorted(dest.tables()) if (n := dest.count(name))}
    if held:
        listed = ", ".join(f"{name} {n:,}" for name, n in held.items())
        raise StoreError(
            f"{dest.where}: DEST holds data already ({sum(held.values()):,} rows: {listed}); "
            "a store is copied only into an empty one (a new file, database or schema); "
            "nothing was copied"
        )


def _advancing(chunks: Iterator[list[Row]], progress: Progress | None) -> Iterator[list[Row]]:
    for chunk in chunks:
        yield chunk
        if progress is not None:
            progress.advance("rows", len(chunk))


def _quote(name: str) -> str:
    """An SQL identifier, quoted (the same for SQLite and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def _columns(columns: Iterable[str]) -> str:
    return ", ".join(_quote(column) for column in columns)


# -- the two backends ----------------------------------------------------------------------


class _Side(Protocol):
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


def _side(store: Store) -> _Side:
    from engage.store.sqlite import SQLiteStore

    if isinstance(store, SQLiteStore):
        return _SQLite(store.conn, store.path)
    from engage.store.postgres import PostgresStore

    if isinstance(store, PostgresStore):
        return _Postgres(store.conn, store.path)
    raise StoreError(f"cannot copy a store of type {type(store).__name__}")


_SQLITE_TABLES = r"""SELECT name FROM sqlite_master
    WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name"""

#: What a load sets aside and builds again at the end: triggers (which would mark again what
#: the rows copied record) and indexes (built once, not row by row).
_SQLITE_DERIVED = """SELECT type, name, sql FROM sqlite_master
    WHERE type IN ('trigger', 'index') AND sql IS NOT NULL ORDER BY type DESC, name"""


@attrs.define
class _SQLite:
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
            names = [name for (name,) in self.conn.execute(_SQLITE_TABLES)]
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
class _Postgres:
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
