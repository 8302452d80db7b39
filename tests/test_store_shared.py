"""The backend-neutral pieces of the store: the SQL dialects and splitting a chunk of rows."""

from __future__ import annotations

import sqlite3

from engage.store.dialect import POSTGRES, SQLITE
from engage.store.touchpoint_rows import ids_by_source, split_known


def test_sqlite_keeps_question_marks_and_postgres_gets_percent_s() -> None:
    query = "SELECT value FROM planning WHERE name = ? AND value <> ?"
    assert SQLITE.sql(query) == query
    assert POSTGRES.sql(query) == "SELECT value FROM planning WHERE name = %s AND value <> %s"


def test_replace_is_insert_or_replace_in_sqlite_and_on_conflict_in_postgres() -> None:
    assert SQLITE.replace("planning", ("name", "value"), "name") == (
        "INSERT OR REPLACE INTO planning (name, value) VALUES (?, ?)"
    )
    assert POSTGRES.replace("planning", ("name", "value"), "name") == (
        "INSERT INTO planning (name, value) VALUES (%s, %s)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
    )


def test_sqlite_replace_replaces_the_row_of_its_key() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE planning (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    query = SQLITE.replace("planning", ("name", "value"), "name")
    conn.execute(query, ("a", "1"))
    conn.execute(query, ("a", "2"))
    assert conn.execute("SELECT name, value FROM planning").fetchall() == [("a", "2")]


def test_json_columns_load_as_each_backend_returns_them() -> None:
    assert SQLITE.load_json('{"a": 1}') == {"a": 1}
    assert SQLITE.load_json(None) == {}
    assert SQLITE.load_json("") == {}
    assert POSTGRES.load_json({"a": 1}) == {"a": 1}
    assert POSTGRES.load_json('{"a": 1}') == {"a": 1}


def test_a_chunk_splits_into_new_and_known_rows_a_repeat_updating_its_first() -> None:
    rows = [("s", "1", "x"), ("s", "2", "x"), ("t", "1", "x"), ("s", "1", "y")]
    known = {("s", "2")}
    new, old = split_known(rows, known)
    assert new == [("s", "1", "x"), ("t", "1", "x")]
    assert old == [("s", "2", "x"), ("s", "1", "y")]
    assert known == {("s", "1"), ("s", "2"), ("t", "1")}
    assert ids_by_source(rows) == {"s": ["1", "2", "1"], "t": ["1"]}
