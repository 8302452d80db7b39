"""After a bulk load, a helper process copies the write-ahead log into the SQLite file while
the sync goes on (engage.store.sqlite_checkpoint)."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engage.models import Channel, Direction, Touchpoint
from engage.store.sqlite import SQLiteStore
from engage.store.sqlite_checkpoint import AUTOCHECKPOINT_PAGES

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def touchpoints(count: int, start: int = 0) -> list[Touchpoint]:
    return [
        Touchpoint(
            "src",
            str(start + i),
            f"c{i % 50}.com",
            T0 + timedelta(minutes=i),
            Channel.EMAIL,
            Direction.INBOUND,
            subject="x" * 200,
        )
        for i in range(count)
    ]


def rows_in_the_file_alone(path: Path, tmp_path: Path) -> int:
    """The touchpoints the database file holds without its log."""
    alone = tmp_path / "alone.db"
    shutil.copyfile(path, alone)
    with sqlite3.connect(alone) as conn:
        return int(conn.execute("SELECT count(*) FROM touchpoints").fetchone()[0])


def autocheckpoint(store: SQLiteStore) -> int:
    return int(store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])


def test_a_bulk_load_is_copied_into_the_file_by_a_helper(tmp_path: Path) -> None:
    path = tmp_path / "engage.db"
    store = SQLiteStore(path)
    try:
        with store.transaction():
            store.write(touchpoints(3000), "src")
        helper = store._checkpoint
        assert helper is not None
        assert autocheckpoint(store) == 0  # the commits leave the log to the helper
        helper.wait()
        assert rows_in_the_file_alone(path, tmp_path) == 3000
        with store.transaction():  # the next commit after it: checkpoints by itself again
            store.write(touchpoints(10, start=3000), "src")
        assert store._checkpoint is None
        assert autocheckpoint(store) == AUTOCHECKPOINT_PAGES
    finally:
        store.close()


def test_a_helper_that_cannot_start_costs_nothing_but_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.executable", str(tmp_path / "no-such-python"))
    path = tmp_path / "engage.db"
    with SQLiteStore(path) as store:
        with store.transaction():
            store.write(touchpoints(500), "src")
        with store.transaction():
            store.write(touchpoints(10, start=500), "src")
        assert autocheckpoint(store) == AUTOCHECKPOINT_PAGES
    with SQLiteStore(path) as store:
        assert store.conn.execute("SELECT count(*) FROM touchpoints").fetchone() == (510,)


def test_a_store_closed_at_once_waits_for_its_helper(tmp_path: Path) -> None:
    path = tmp_path / "engage.db"
    with SQLiteStore(path) as store, store.transaction():
        store.write(touchpoints(2000), "src")
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    assert rows_in_the_file_alone(path, tmp_path) == 2000
