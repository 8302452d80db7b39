"""The floor: what the standard library alone needs for the same work.

Read the CSV with the csv module, insert every row into SQLite in one transaction, and run
one GROUP BY per customer. engage does much more (identity, validation, upserts, scoring with
reasons, planning, a ledger), but this is the cost no implementation can go below.

    python -m benchmarks.floor history.csv floor.db
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from pathlib import Path


def main(source: Path, database: Path) -> None:
    database.unlink(missing_ok=True)
    conn = sqlite3.connect(database)
    conn.execute(
        "CREATE TABLE touchpoints (id TEXT PRIMARY KEY, occurred_at TEXT, customer TEXT, email TEXT,"
        " name TEXT, channel TEXT, direction TEXT, owner TEXT, subject TEXT, feedback TEXT)"
    )
    with source.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        next(rows)
        with conn:
            conn.executemany("INSERT INTO touchpoints VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    customers = conn.execute(
        "SELECT customer, count(*), max(occurred_at), sum(direction = 'inbound') FROM touchpoints GROUP BY customer"
    ).fetchall()
    print(f"{len(customers)} customers")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
