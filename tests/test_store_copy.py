"""engage store copy: a store moves to another (SQLite up to PostgreSQL, and back) in one
command, and the next sync on the copy goes on exactly where the last one stopped.

SOURCE is a real store built by a real ``engage sync`` of a CSV export into a CSV task file;
DEST is a store of each backend (``backend``, from conftest: the PostgreSQL half skips
without a server, except in CI).
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs
import pytest
from click.testing import CliRunner, Result

from engage.cli import cli
from engage.errors import EXIT_CONFIG, LockedError, StoreError
from engage.store import open_store
from engage.store.copy import copy_store
from engage.store.sqlite_names import register_functions
from engage.store.sqlite_schema import MIGRATIONS
from engage.store.sqlite_schema import SCHEMA_VERSION as SQLITE_VERSION
from tests.conftest import Backend
from tests.support.storedump import dump

AS_OF = "2026-03-01T09:00:00+00:00"
HEADER = "Activity Date,Contact Email,Name,Type,Direction,Rep\n"
ROWS = [
    "2025-06-02 10:00,jane@acme.com,Jane Doe,Meeting,out,carol@ourco.com\n",
    "2026-02-20 09:00,jane@acme.com,Jane Doe,Email,in,carol@ourco.com\n",
    "2026-02-27 09:00,jo@gmail.com,Jo,email,in,\n",
    "2025-11-03 14:00,hank@globex.com,Hank,Call,out,dave@ourco.com\n",
]
CONFIG = """
store = "engage.db"
internal_domains = ["ourco.com"]

[sources.export]
plugin = "csv"
path = "export.csv"
columns = { occurred_at = "Activity Date", email = "Contact Email", channel = "Type", owner = "Rep" }

[sinks.todo]
plugin = "csv"
path = "follow-ups.csv"
"""

#: Tables a sync fills: the copy must carry each of them.
FILLED = (
    "contacts",
    "cursors",
    "customers",
    "health_history",
    "ledger",
    "owners",
    "planned_tasks",
    "planning",
    "plans",
    "touchpoints",
)


def engage(*args: str, store: str | None = None) -> Result:
    """Run the engage command line in the project; ``store`` overrides the config's."""
    env = {"ENGAGE_STORE": store} if store else {}
    return CliRunner().invoke(cli, list(args), env=env)


def sync(store: str | None = None) -> dict[str, Any]:
    result = engage("sync", "--json", "--as-of", AS_OF, store=store)
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def task_keys(project: Path) -> list[str]:
    with (project / "follow-ups.csv").open(newline="", encoding="utf-8") as handle:
        return [row["key"] for row in csv.DictReader(handle)]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A CRM export synced once into ./engage.db, its tasks in ./follow-ups.csv."""
    (tmp_path / "engage.toml").write_text(CONFIG)
    (tmp_path / "export.csv").write_text(HEADER + "".join(ROWS))
    monkeypatch.chdir(tmp_path)
    for name in ("ENGAGE_CONFIG", "ENGAGE_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENGAGE_LOAD_PLUGINS", "csv")
    sync()
    return tmp_path


@pytest.fixture
def source(project: Path) -> str:
    """The synced SQLite store."""
    return str(project / "engage.db")


def execute(target: str, *statements: str) -> None:
    """Run statements on the store at ``target`` directly, as an administrator would."""
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)
        return
    with sqlite3.connect(target, isolation_level=None) as conn:
        for statement in statements:
            conn.execute(statement)


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{password}@{host}"))


def postgres_only(backend: Backend) -> None:
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL only")


# -- the copy carries everything, and the next sync goes on ------------------------------


class TestCopy:
    def test_every_table_arrives_row_for_row(self, source: str, store_target: str) -> None:
        """Each table of the store, the ledger, cursors, plans and marks too, holds the same
        rows in DEST as in SOURCE."""
        report = copy_store(source, store_target)
        before, after = dump(source), dump(store_target)
        assert after == before
        assert all(before[table] for table in FILLED)
        assert report.counts() == {table: len(rows) for table, rows in before.items()}

    def test_health_and_tasks_answer_the_same(self, source: str, store_target: str) -> None:
        """engage health and engage tasks give the same answers on the copy."""
        copy_store(source, store_target)
        for command in ("health", "tasks"):
            on_source = engage(command, "--json", "--as-of", AS_OF)
            on_dest = engage(command, "--json", "--as-of", AS_OF, store=store_target)
            assert on_source.exit_code == on_dest.exit_code == 0, on_dest.output
            assert json.loads(on_dest.stdout) == json.loads(on_source.stdout)

    def test_the_next_sync_pulls_nothing_and_pushes_nothing_again(
        self, project: Path, source: str, store_target: str
    ) -> None:
        """The cursor says the export was read, the ledger that its tasks were pushed: the
        first sync on DEST reads nothing and writes each task once, still."""
        pushed = task_keys(project)
        copy_store(source, store_target)
        report = sync(store_target)
        assert report["sources"]["export"]["records"] == 0
        assert report["sinks"]["todo"]["pushed"] == 0
        assert report["sinks"]["todo"]["already_pushed"] == len(pushed)
        assert task_keys(project) == pushed

    def test_rows_added_to_the_export_are_synced_into_dest(
        self, project: Path, source: str, store_target: str
    ) -> None:
        """New rows after the move: DEST reads them alone, plans them, pushes each new task
        once; SOURCE is left as it was."""
        copy_store(source, store_target)
        kept = dump(source)
        with (project / "export.csv").open("a") as handle:
            handle.write("2026-02-28 10:00,max@initech.com,Max,Email,in,\n")
        report = sync(store_target)
        assert report["sources"]["export"]["touchpoints"] == 1
        assert report["sinks"]["todo"]["pushed"] > 0
        keys = task_keys(project)
        assert [key for key, n in Counter(keys).items() if n > 1] == []
        assert any("initech.com" in key for key in keys)
        assert sync(store_target)["sinks"]["todo"]["pushed"] == 0
        assert dump(source) == kept

    def test_postgresql_back_to_sqlite(self, project: Path, source: str, store_target: str) -> None:
        """SOURCE → DEST → a new SQLite file: the rows come back as they left, and a sync on
        the last copy goes on as well."""
        copy_store(source, store_target)
        back = str(project / "back" / "engage.db")
        copy_store(store_target, back)
        assert dump(back) == dump(source)
        report = sync(back)
        assert (report["sources"]["export"]["records"], report["sinks"]["todo"]["pushed"]) == (
            0,
            0,
        )

    def test_rows_stream_in_chunks_and_progress_follows(
        self, monkeypatch: pytest.MonkeyPatch, project: Path, source: str, store_target: str
    ) -> None:
        """Rows travel a chunk at a time, both ways; a progress that takes totals is told the
        rows to copy, then advanced by each chunk up to it."""

        class Recorder:
            def __init__(self) -> None:
                self.told: list[int] = []
                self.chunks: list[int] = []

            def total(self, what: str, count: int) -> None:
                self.told.append(count)

            def advance(self, what: str, count: int = 1) -> None:
                assert what == "rows"
                self.chunks.append(count)

        monkeypatch.setattr("engage.store.copy_sides.CHUNK", 2)
        there, back = Recorder(), Recorder()
        report = copy_store(source, store_target, progress=there)
        assert copy_store(store_target, str(project / "back.db"), progress=back) == attrs.evolve(
            report, source=store_target, dest=str(project / "back.db")
        )
        for recorder in (there, back):
            assert recorder.told == [report.rows] and sum(recorder.chunks) == report.rows
            assert max(recorder.chunks) == 2 and len(recorder.chunks) > len(report.tables)
        assert dump(str(project / "back.db")) == dump(source)


class TestTablesTheSchemaGains:
    def test_a_table_added_later_is_copied_too(self, source: str, store_target: str) -> None:
        """The copy reads the catalog, not a list: a table both stores have travels, and a
        sequence behind its ids moves past the rows copied."""
        is_pg = store_target.startswith("postgresql://")
        open_store(store_target).close()
        execute(source, "CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT)")
        execute(source, "INSERT INTO notes (body) VALUES ('one'), ('two')")
        identity = "GENERATED BY DEFAULT AS IDENTITY" if is_pg else "PRIMARY KEY AUTOINCREMENT"
        execute(store_target, f"CREATE TABLE notes (id INTEGER {identity}, body TEXT)")
        report = copy_store(source, store_target)
        assert report.counts()["notes"] == 2
        execute(store_target, "INSERT INTO notes (body) VALUES ('three')")
        assert dump(store_target)["notes"] == sorted(
            [
                (("body", "one"), ("id", 1)),
                (("body", "two"), ("id", 2)),
                (("body", "three"), ("id", 3)),
            ],
            key=repr,
        )

    def test_a_table_dest_lacks_is_refused_by_name(self, source: str, store_target: str) -> None:
        """A table SOURCE has and DEST does not is named; nothing is copied."""
        execute(source, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        with pytest.raises(StoreError, match="table 'notes' is in .* but not in"):
            copy_store(source, store_target)
        assert not any(dump(store_target).values())


# -- what is refused, and what a failure leaves ------------------------------------------


class TestRefusals:
    def test_dest_with_data_is_refused_and_left_as_it_was(
        self, source: str, store_target: str
    ) -> None:
        """A second copy into the same DEST names it and its rows, exits 78, changes nothing."""
        copy_store(source, store_target)
        held = dump(store_target)
        result = engage("store", "copy", source, store_target)
        assert result.exit_code == EXIT_CONFIG
        [line] = result.stderr.splitlines()
        rows = sum(len(rows) for rows in held.values())
        assert "DEST holds data already" in line and f"({rows} rows:" in line
        assert "nothing was copied" in line
        assert dump(store_target) == held

    def test_a_missing_source_is_a_clear_error(
        self, backend: Backend, project: Path, store_target: str
    ) -> None:
        """No store at SOURCE (no file; a schema engage never wrote) is said, and neither
        SOURCE nor DEST is created."""
        missing = str(project / "nowhere.db") if backend.name == "sqlite" else store_target
        dest = str(project / "dest.db")
        with pytest.raises(StoreError, match="no engage store there to copy"):
            copy_store(missing, dest)
        assert not Path(dest).exists()
        if backend.name == "sqlite":
            assert not Path(missing).exists()
        else:
            assert dump(missing) == {}

    def test_an_older_source_says_migrate_first(
        self, backend: Backend, project: Path, store_target: str
    ) -> None:
        """A store from an older engage is left alone, with the command that brings it up."""
        if backend.name == "sqlite":
            older = str(project / "older.db")
            with sqlite3.connect(older, isolation_level=None) as conn:
                register_functions(conn)
                for step in range(1, SQLITE_VERSION):
                    MIGRATIONS[step](conn)
                conn.execute(f"PRAGMA user_version = {SQLITE_VERSION - 1}")
        else:
            older = store_target
            _older_postgres_store(older)
        dest = str(project / "dest.db")
        with pytest.raises(StoreError, match="run 'engage store migrate' on it first"):
            copy_store(older, dest)
        assert not Path(dest).exists()
        if backend.name == "sqlite":  # still older: the copy migrated nothing
            with sqlite3.connect(older) as conn:
                assert conn.execute("PRAGMA user_version").fetchone()[0] == SQLITE_VERSION - 1
        else:
            with pytest.raises(StoreError, match="engage store migrate"):
                open_store(older)

    def test_a_newer_source_is_refused(self, source: str, store_target: str) -> None:
        """A store a newer engage wrote is not read."""
        execute(source, "PRAGMA user_version = 99")
        with pytest.raises(StoreError, match="newer engage"):
            copy_store(source, store_target)

    def test_source_and_dest_the_same_is_refused(self, source: str) -> None:
        """Copying a store onto itself is refused before anything happens."""
        with pytest.raises(StoreError, match="the same store"):
            copy_store(source, source)

    def test_a_sync_holding_source_keeps_the_copy_out(self, source: str, store_target: str) -> None:
        """While a sync holds SOURCE's lock, the copy does not start."""
        held = open_store(source)
        try:
            with held.lock(), pytest.raises(LockedError):
                copy_store(source, store_target)
        finally:
            held.close()
        assert not any(dump(store_target).values())

    def test_a_failure_midway_leaves_dest_empty(
        self, backend: Backend, source: str, store_target: str
    ) -> None:
        """DEST refuses a row late in the copy (a CHECK constraint on PostgreSQL; on SQLite a
        unique index the rows break, built at the end): the error names DEST, every table of
        DEST is empty again with its triggers in place, and a copy after the cause is gone
        succeeds."""
        open_store(store_target).close()
        if backend.name == "postgresql":
            fence = (
                "ALTER TABLE touchpoints ADD CONSTRAINT fence CHECK (customer <> 'jo@gmail.com')"
            )
            unfence = "ALTER TABLE touchpoints DROP CONSTRAINT fence"
        else:
            fence = "CREATE UNIQUE INDEX fence ON touchpoints (channel)"
            unfence = "DROP INDEX fence"
        execute(store_target, fence)
        triggers = _triggers(store_target)
        with pytest.raises(StoreError) as raised:
            copy_store(source, store_target)
        assert "nothing was copied" in str(raised.value)
        assert "is as empty as before" in str(raised.value)
        assert not any(dump(store_target).values())
        assert _triggers(store_target) == triggers
        execute(store_target, unfence)
        assert copy_store(source, store_target).rows > 0


def _older_postgres_store(target: str) -> None:
    """A PostgreSQL store one schema version behind this engage's."""
    import psycopg

    from engage.store.postgres.schema import MIGRATIONS as PG_MIGRATIONS
    from engage.store.postgres.schema import SCHEMA_VERSION as PG_VERSION

    if PG_VERSION == 1:
        pytest.skip("PostgreSQL has one schema version: none is older")
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, migrated_at BIGINT)"
        )
        for step in range(1, PG_VERSION):
            PG_MIGRATIONS[step](conn)
            conn.execute("INSERT INTO schema_version VALUES (%s, 0)", (step,))


def _triggers(target: str) -> list[tuple[str, str]]:
    """The store's triggers, with whether each is enabled (PostgreSQL) or its SQL (SQLite)."""
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target) as conn:
            found = conn.execute(
                "SELECT tgname, tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE NOT tgisinternal AND c.relnamespace = current_schema()::regnamespace"
            ).fetchall()
    else:
        with sqlite3.connect(target) as conn:
            found = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            ).fetchall()
    assert found
    return sorted(found)


# -- the command line ----------------------------------------------------------------------


class TestCommand:
    def test_engage_store_copy_says_what_it_copied(self, source: str, store_target: str) -> None:
        """One line of counts and where, then what to do next; exit 0."""
        result = engage("store", "copy", source, store_target)
        assert result.exit_code == 0, result.output
        summary, hint = result.stdout.splitlines()
        assert summary.startswith("copied ") and f"from {source} to {store_target} " in summary
        assert "every table's row count checked" in summary
        assert "ENGAGE_STORE" in hint

    def test_the_password_never_shows(
        self, backend: Backend, source: str, store_target: str
    ) -> None:
        """DEST's password is left out of the summary and of every error."""
        postgres_only(backend)
        url = with_password(store_target, "s3cret")
        done = engage("store", "copy", source, url)
        again = engage("store", "copy", source, url)
        assert done.exit_code == 0, done.output
        assert again.exit_code == EXIT_CONFIG
        assert ":***@" in done.stdout and ":***@" in again.stderr
        for result in (done, again):
            assert "s3cret" not in result.output
