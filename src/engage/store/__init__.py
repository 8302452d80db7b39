"""Persistent state behind a small interface; SQLite is the embedded default.

:func:`open_store` opens the store a config names: a ``postgresql://`` URL opens the
PostgreSQL store (:mod:`engage.store.postgres`, an optional extra), anything else is the
path of an SQLite file (:mod:`engage.store.sqlite`).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from engage.errors import StoreError
from engage.store.base import (
    LedgerEntry,
    LedgerStatus,
    Record,
    SourcePull,
    Store,
    WriteCounts,
)

__all__ = [
    "LedgerEntry",
    "LedgerStatus",
    "Record",
    "SourcePull",
    "Store",
    "WriteCounts",
    "is_postgres_url",
    "open_store",
    "redact_url",
]

#: URL schemes that select the PostgreSQL store.
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: str | os.PathLike[str]) -> bool:
    """Whether ``target`` is a PostgreSQL URL rather than an SQLite path."""
    return isinstance(target, str) and target.lower().startswith(POSTGRES_SCHEMES)


def redact_url(url: str) -> str:
    """``url`` with its password (if any) left out, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def open_store(target: str | os.PathLike[str]) -> Store:
    """Open (creating if needed) the store at ``target``: a ``postgresql://`` URL, or the
    path of an SQLite file (``":memory:"`` for one in memory).

    Raises:
        StoreError: the store cannot be opened, or the PostgreSQL extra is not installed.
    """
    if is_postgres_url(target):
        url = os.fspath(target)
        try:
            from engage.store.postgres import PostgresStore
        except ImportError as exc:
            raise StoreError(
                f"{redact_url(url)}: the PostgreSQL store needs psycopg ({exc.name} is not "
                "installed); install it with: pip install 'engage-core[postgres]'"
            ) from None
        return PostgresStore(url)
    from engage.store.sqlite import SQLiteStore

    return SQLiteStore(target)


def migrate_store(target: str | os.PathLike[str]) -> tuple[int, int]:
    """Bring the existing store at ``target`` to this engage's schema version (``engage store
    migrate``); returns the versions before and after.

    Raises:
        StoreError: there is no store there, it cannot be opened, or a newer engage wrote it.
    """
    if is_postgres_url(target):
        url = os.fspath(target)
        try:
            from engage.store.postgres.store import migrate_postgres
        except ImportError as exc:
            raise StoreError(
                f"{redact_url(url)}: the PostgreSQL store needs psycopg ({exc.name} is not "
                "installed); install it with: pip install 'engage-core[postgres]'"
            ) from None
        return migrate_postgres(url)
    import sqlite3

    from engage.store.sqlite import SQLiteStore
    from engage.store.sqlite_schema import SCHEMA_VERSION

    path = os.fspath(target)
    if not os.path.exists(path):
        raise StoreError(f"{path}: no store yet; run 'engage sync' first")
    try:
        probe = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            before = int(probe.execute("PRAGMA user_version").fetchone()[0])
        finally:
            probe.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot read the store ({exc})") from exc
    SQLiteStore(path).close()  # opening an SQLite store migrates it
    return before, max(before, SCHEMA_VERSION)
