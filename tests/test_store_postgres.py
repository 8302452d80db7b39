"""How a store is chosen, and what only the PostgreSQL store has: schema versions on a
server, its messages, ``engage store migrate`` on both backends."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from engage.cli import cli
from engage.config import Config
from engage.errors import EXIT_TEMPFAIL, StoreBusyError, StoreError, exit_code_of
from engage.store import migrate_store, open_store, redact_url
from engage.store.sqlite import SQLiteStore
from engage.store.sqlite_schema import SCHEMA_VERSION as SQLITE_VERSION
from tests.conftest import Backend


def test_a_postgresql_url_selects_the_postgresql_store(backend: Backend, store_target: str) -> None:
    """open_store opens what the target names: a URL the PostgreSQL store, else SQLite."""
    with open_store(store_target) as store:  # type: ignore[attr-defined]
        kind = type(store).__name__
    assert kind == {"sqlite": "SQLiteStore", "postgresql": "PostgresStore"}[backend.name]


def test_the_config_keeps_a_url_and_engage_store_overrides_the_key(tmp_path: Path) -> None:
    """store = URL stays a URL; $ENGAGE_STORE names the store instead of the key."""
    url = "postgresql://engage@db.example.com/engage"
    assert Config.from_dict({"store": url}, path=tmp_path / "engage.toml").store == url
    config = Config.from_dict(
        {"store": "engage.db"}, path=tmp_path / "engage.toml", environ={"ENGAGE_STORE": url}
    )
    assert config.store == url
    assert Config.from_dict({}, path=tmp_path / "engage.toml").store == tmp_path / "engage.db"


def test_a_password_never_shows() -> None:
    """Messages name the server without the password."""
    url = "postgresql://engage:s3cret@127.0.0.1:1/engage"
    assert redact_url(url) == "postgresql://engage:***@127.0.0.1:1/engage"
    with pytest.raises(StoreError) as raised:
        open_store(url)
    assert "s3cret" not in str(raised.value)
    assert "postgresql://engage:***@127.0.0.1:1/engage" in str(raised.value)


def test_a_server_that_cannot_be_reached_is_temporary_in_one_line(tmp_path: Path) -> None:
    """engage sync on a closed port exits 75 (try again later) with one line naming the
    server without its password, and no traceback."""
    (tmp_path / "engage.toml").write_text(
        'store = "postgresql://postgres:s3cret@127.0.0.1:1/x"\ninternal_domains = ["ourco.com"]\n'
    )
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "engage.toml"), "sync"])
    assert result.exit_code == EXIT_TEMPFAIL, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("engage: error: postgresql://postgres:***@127.0.0.1:1/x: ")
    assert "cannot be reached" in line
    assert "s3cret" not in result.stderr and "Traceback" not in result.stderr


def test_without_psycopg_the_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """A URL without the extra installed says what to install."""
    monkeypatch.setitem(sys.modules, "engage.store.postgres", None)
    with pytest.raises(StoreError, match=r"pip install 'engage-core\[postgres\]'"):
        open_store("postgresql://engage@127.0.0.1/engage")


def _postgres(backend: Backend) -> None:
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL only")


def test_a_schema_from_a_newer_engage_is_refused(backend: Backend, store_target: str) -> None:
    """A higher schema version than this engage knows is refused, on opening and migrating."""
    _postgres(backend)
    with open_store(store_target) as store:  # type: ignore[attr-defined]
        store.conn.execute("INSERT INTO schema_version (version, migrated_at) VALUES (99, 0)")
    with pytest.raises(StoreError, match="newer engage"):
        open_store(store_target)
    with pytest.raises(StoreError, match="newer engage"):
        migrate_store(store_target)


def test_a_search_path_naming_no_schema_is_explained(backend: Backend) -> None:
    """A URL whose search_path names no existing schema says so."""
    _postgres(backend)
    assert backend.database_url is not None
    url = f"{backend.database_url}?options=-csearch_path%3Dnowhere"
    with pytest.raises(StoreError, match="no schema of the search_path exists"):
        open_store(url)


def test_engage_store_migrate_on_both_backends(backend: Backend, store_target: str) -> None:
    """engage store migrate brings a store to this engage's schema, and says so."""
    project = Path(backend.directory)
    (project / "engage.toml").write_text(f"store = {store_target!r}\n", encoding="utf-8")
    if backend.name == "sqlite":
        SQLiteStore(store_target).close()
    else:
        open_store(store_target).close()
    result = CliRunner().invoke(cli, ["--config", str(project / "engage.toml"), "store", "migrate"])
    assert result.exit_code == 0, result.output
    assert "nothing to migrate" in result.output
    if backend.name == "sqlite":
        assert migrate_store(store_target) == (SQLITE_VERSION, SQLITE_VERSION)


def test_a_lost_connection_is_temporary(backend: Backend, store_target: str) -> None:
    """The server ends the store's connection (a restart, an admin): the next use is a
    temporary StoreBusyError, exit 75; a plain SQL error stays a StoreError (78)."""
    _postgres(backend)
    with open_store(store_target) as store:  # type: ignore[attr-defined]
        with pytest.raises(StoreError) as sql, store._errors():
            store.conn.execute("SELECT no_such_column FROM customers")
        assert not isinstance(sql.value, StoreBusyError)
        pid = store.conn.info.backend_pid
        with open_store(store_target) as other:  # type: ignore[attr-defined]
            other.conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(StoreBusyError) as lost:
            store.customer_count()
    assert exit_code_of(lost.value) == EXIT_TEMPFAIL


def test_runners_started_together_on_an_empty_database_all_open_it(
    backend: Backend, store_target: str
) -> None:
    """Six runners opening a new, empty store at once: one creates the schema, the others
    wait for it and find it made (none fails on a table another just created)."""
    _postgres(backend)
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def runner() -> None:
        start.wait()
        try:
            with open_store(store_target) as store:  # type: ignore[attr-defined]
                outcomes.append(f"ok {store.customer_count()}")
        except StoreError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=runner) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes == ["ok 0"] * 6


def test_planning_gives_the_server_statistics_for_what_was_loaded(
    backend: Backend, store_target: str
) -> None:
    """After a load, planning ANALYZEs the tables whose statistics are missing or stale (the
    server's own autovacuum may be off), so the facts query is planned for the real sizes."""
    _postgres(backend)
    from datetime import UTC, datetime

    from engage.models import Channel, Direction, Touchpoint
    from engage.settings import ScoringSettings

    moment = datetime(2026, 3, 1, tzinfo=UTC)
    with open_store(store_target) as store:  # type: ignore[attr-defined]
        store.write(
            [
                Touchpoint(source="crm", external_id=str(n), customer=f"c{n % 300}.com",
                           occurred_at=moment, channel=Channel.EMAIL,
                           direction=Direction.INBOUND)
                for n in range(3000)
            ],
            "crm",
        )  # fmt: skip
        conn = store.conn
        conn.execute("SELECT pg_stat_force_next_flush()")

        def analyzed(table: str) -> bool:
            row = conn.execute(
                "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                "WHERE schemaname = current_schema() AND relname = %s",
                (table,),
            ).fetchone()
            return bool(row and row[0])

        assert not analyzed("touchpoints")
        store.begin_planning(moment, ScoringSettings(), "fingerprint")
        assert analyzed("touchpoints") and analyzed("customers")
