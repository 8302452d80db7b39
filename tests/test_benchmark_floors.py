"""The benchmark's floors still run against today's store (they are run on demand, not in CI,
so a schema change would otherwise break them unseen). Figures are not checked: the
benchmark prints them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from benchmarks import floor, generate, store_floor


def test_the_floors_load_a_small_history(tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    generate.write(history, 300, 20)
    floor.main(history, tmp_path / "floor.db")
    store_floor.main(history, tmp_path / "store-floor.db")
    with sqlite3.connect(tmp_path / "store-floor.db") as conn:
        assert conn.execute("SELECT count(*) FROM touchpoints").fetchone() == (300,)
        indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "touchpoints_customer" in indexes
