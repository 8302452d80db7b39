"""The store floor: the same rows stored the way engage stores them, by the standard library.

:mod:`benchmarks.floor` stores each row once, in a table keyed by its id. engage keeps more
per touchpoint: its table (keyed by source and id) and the customer index that carries every
column scoring reads, built once at the end of a first load. This floor creates engage's own
schema (:func:`engage.store.sqlite_schema.migrate`, with the store's pragmas and functions), drops the
customer index and insert trigger as a bulk load does, inserts every row with one
``executemany`` (the csv module reading, ``datetime.fromisoformat`` for the times), builds
the index, commits, and runs one ``GROUP BY customer`` — the part of a first load no Python
code can make cheaper without changing what is stored. Customers, contacts, scoring,
planning and the task file are left out.

    python -m benchmarks.store_floor history.csv store-floor.db
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

from engage.clock import to_micros
from engage.store.sqlite import CACHE_KIB
from engage.store.sqlite_names import register_functions
from engage.store.sqlite_schema import build_customer_index, migrate
from engage.store.sqlite_touchpoints import COLUMNS


def main(source: Path, database: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
    register_functions(conn)
    migrate(conn, str(database))
    insert = (
        f"INSERT INTO touchpoints ({', '.join(COLUMNS)}) "
        f"VALUES ('history', ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 0)"
    )
    parse = datetime.fromisoformat
    with source.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        next(rows)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DROP INDEX touchpoints_customer")
        # id, occurred_at, customer, email, name, channel, direction, owner, subject, feedback
        conn.executemany(
            insert,
            (
                (r[0], r[3].partition("@")[2], r[3], to_micros(parse(r[1])), r[5], r[6], r[7], r[8])
                for r in rows
            ),
        )
        build_customer_index(conn)
        conn.execute("COMMIT")
    customers = conn.execute(
        "SELECT customer, count(*), max(occurred_at), sum(direction = 'inbound') "
        "FROM touchpoints GROUP BY customer"
    ).fetchall()
    conn.close()
    print(f"{len(customers)} customers")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
