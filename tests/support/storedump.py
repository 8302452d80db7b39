"""Reading a store back, table by table, whatever its backend: for tests that compare two
stores (a copy and its original, two ways of writing the same records)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from engage.store.copy_sides import CACHE_TABLES


def dump(target: str) -> dict[str, list[tuple[tuple[str, Any], ...]]]:
    """Every table of the store with its rows, as sorted (column, value) pairs (not the
    tables that only spare work, which a copy leaves out)."""
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target) as conn:
            tables = [
                name
                for (name,) in conn.execute(
                    "SELECT relname FROM pg_class WHERE relkind = 'r' AND relpersistence = 'p'"
                    " AND relnamespace = current_schema()::regnamespace"
                )
                if name != "schema_version"
            ]
            return {name: _rows(conn, name) for name in tables}
    with sqlite3.connect(target) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
            )
            if name not in CACHE_TABLES
        ]
        return {name: _rows(conn, name) for name in tables}


def _rows(conn: Any, table: str) -> list[tuple[tuple[str, Any], ...]]:
    cursor = conn.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cursor.description]
    rows = [
        tuple(sorted((name, _plain(value)) for name, value in zip(names, row, strict=True)))
        for row in cursor.fetchall()
    ]
    return sorted(rows, key=repr)


def _plain(value: Any) -> Any:
    """JSON as its parsed value (jsonb comes back parsed, SQLite keeps text)."""
    if isinstance(value, str) and value.startswith("{"):
        return json.dumps(json.loads(value), sort_keys=True)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value
