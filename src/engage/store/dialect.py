"""What differs between the backends' SQL where their logic is the same, and the little
of a DB-API connection that shared code uses.

Shared queries are written with ``?`` placeholders (and no ``%``): :meth:`Dialect.sql` turns
them into the backend's own. :data:`SQLITE` and :data:`POSTGRES` are the two dialects.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class Cursor(Protocol):
    """The part of a DB-API cursor shared code reads through."""

    def fetchone(self) -> Any:
        """The next row, or None."""

    def fetchall(self) -> list[Any]:
        """The remaining rows."""

    def __iter__(self) -> Iterator[Any]:
        """The remaining rows, one at a time."""


class Connection(Protocol):
    """The part of a connection (``sqlite3`` or psycopg) shared code runs queries through."""

    def execute(self, query: str, params: Any = ..., /) -> Cursor:
        """Run one query with its parameters."""


def _sqlite_json(value: Any) -> Any:
    """A JSON column as SQLite returns it (text, possibly empty or NULL)."""
    return json.loads(value) if value else {}


def _postgres_json(value: Any) -> Any:
    """A JSONB column as psycopg returns it (already loaded; text only if asked for)."""
    return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Dialect:
    """One backend's spelling of what shared SQL needs.

    Attributes:
        name: ``"sqlite"`` or ``"postgres"``.
        param: The placeholder: ``"?"`` or ``"%s"``.
        load_json: A stored JSON column's value as Python data.
        replace_or_insert: Whether "insert or replace" is SQLite's ``INSERT OR REPLACE``
            (else ``INSERT … ON CONFLICT (key) DO UPDATE`` of every other column).
    """

    name: str
    param: str
    load_json: Callable[[Any], Any]
    replace_or_insert: bool

    def sql(self, query: str) -> str:
        """``query``, written with ``?`` placeholders, in this backend's placeholders."""
        return query if self.param == "?" else query.replace("?", self.param)

    def replace(self, table: str, columns: Sequence[str], key: str) -> str:
        """Insert a row of ``columns`` into ``table``, replacing the one of the same ``key``."""
        marks = ", ".join([self.param] * len(columns))
        names = ", ".join(columns)
        if self.replace_or_insert:
            return f"INSERT OR REPLACE INTO {table} ({names}) VALUES ({marks})"
        others = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
        return (
            f"INSERT INTO {table} ({names}) VALUES ({marks})"
            f" ON CONFLICT ({key}) DO UPDATE SET {others}"
        )


SQLITE = Dialect("sqlite", "?", _sqlite_json, replace_or_insert=True)
POSTGRES = Dialect("postgres", "%s", _postgres_json, replace_or_insert=False)
