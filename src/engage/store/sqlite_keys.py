"""Which of many keys a SQLite table holds, asked in slices a statement can take."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

#: Keys per look-up: well under SQLite's limit on a statement's parameters.
SLICE = 500


def held_keys(conn: sqlite3.Connection, table: str, column: str, keys: Sequence[Any]) -> set[Any]:
    """Those of ``keys`` that ``table`` holds in ``column`` (names from engage's own code,
    never from input)."""
    held: set[Any] = set()
    for start in range(0, len(keys), SLICE):
        part = keys[start : start + SLICE]
        marks = ",".join("?" * len(part))
        held.update(
            key
            for (key,) in conn.execute(
                f"SELECT {column} FROM {table} WHERE {column} IN ({marks})", part
            )
        )
    return held
