"""``engage store copy``: move a whole store to another, SQLite or PostgreSQL, without
pulling anything again.

Every table the schema has is copied row for row, as the catalog lists it (SQLite's
``sqlite_master``, PostgreSQL's ``pg_class`` in the store's schema), so a table a later
version adds travels too; the two stores must have the same tables with the same columns, or
the copy refuses naming the difference. Left out are only what is not data: PostgreSQL's
``schema_version`` (DEST's own, written when it was created) and its ``UNLOGGED`` tables,
scratch space the server itself empties after a crash (SQLite keeps the same as ``TEMP``
tables, outside the file's catalog), and SQLite's fact totals, which only spare planning work
and which DEST builds again.

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

import os
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path

import attrs

from engage.adapters import Progress, expect
from engage.errors import StoreError
from engage.store import is_postgres_url, open_store, redact_url
from engage.store.copy_sides import Row, Side, SQLiteSide, Tables, side_of
from engage.store.sqlite_faults import explain as explain_sqlite

__all__ = ["CopyReport", "copy_store"]


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
            _refuse_data(SQLiteSide(conn, dest_where))
    with ExitStack() as stack:
        source_store = stack.enter_context(closing(open_store(source)))
        stack.enter_context(source_store.lock())  # before DEST is created: a sync may hold it
        dest_store = stack.enter_context(closing(open_store(dest)))
        stack.enter_context(dest_store.lock())
        copied = _copy(side_of(source_store), side_of(dest_store), progress)
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


def _copy(source: Side, dest: Side, progress: Progress | None) -> tuple[tuple[str, int], ...]:
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
    source: Side,
    dest: Side,
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


def _matching_tables(source: Side, dest: Side) -> Tables:
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


def _refuse_data(dest: Side) -> None:
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
