"""The SQLite store's schema and its migrations.

``PRAGMA user_version`` holds the schema version. Opening a store applies every migration
between the file's version and :data:`SCHEMA_VERSION` in one transaction; a file written by
a newer engage (a higher version) is refused rather than misread.

Times are INTEGER microseconds since the epoch, UTC (:func:`engage.clock.to_micros`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping

from engage.errors import StoreError

#: The schema version this engage writes.
SCHEMA_VERSION = 3

_V1 = """
CREATE TABLE IF NOT EXISTS customers (
    key         TEXT PRIMARY KEY,
    name        TEXT,
    segment     TEXT,
    owner       TEXT,
    first_seen  INTEGER,
    open_work   INTEGER NOT NULL DEFAULT 0,
    attributes  TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS contacts (
    email     TEXT PRIMARY KEY,
    customer  TEXT NOT NULL,
    name      TEXT
);
CREATE INDEX IF NOT EXISTS contacts_customer ON contacts (customer);
CREATE TABLE IF NOT EXISTS owners (
    id      TEXT PRIMARY KEY,
    email   TEXT,
    name    TEXT,
    active  INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS touchpoints (
    source         TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    customer       TEXT NOT NULL,
    contact_email  TEXT,
    occurred_at    INTEGER NOT NULL,
    channel        TEXT NOT NULL,
    direction      TEXT NOT NULL,
    owner          TEXT,
    subject        TEXT,
    feedback       REAL,
    message_id     TEXT,
    PRIMARY KEY (source, external_id)
);
CREATE INDEX IF NOT EXISTS touchpoints_customer ON touchpoints (customer, occurred_at);
CREATE INDEX IF NOT EXISTS touchpoints_owner ON touchpoints (owner, occurred_at);
CREATE TABLE IF NOT EXISTS cursors (
    source      TEXT PRIMARY KEY,
    cursor      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    sink        TEXT NOT NULL,
    key         TEXT NOT NULL,
    customer    TEXT NOT NULL,
    rule        TEXT NOT NULL,
    status      TEXT NOT NULL,
    remote_id   TEXT,
    task        TEXT NOT NULL,
    error       TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (sink, key)
);
"""


def _to_v1(conn: sqlite3.Connection) -> None:
    for statement in _V1.split(";"):
        if statement.strip():
            conn.execute(statement)


_V2 = """
DROP INDEX IF EXISTS touchpoints_owner;
ALTER TABLE touchpoints ADD COLUMN duplicate_of TEXT;
CREATE INDEX IF NOT EXISTS touchpoints_message ON touchpoints (message_id)
    WHERE message_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS touchpoints_duplicate ON touchpoints (duplicate_of)
    WHERE duplicate_of IS NOT NULL;
"""


def _to_v2(conn: sqlite3.Connection) -> None:
    """Cross-source merges (``duplicate_of``: the touchpoint another source already holds),
    and no owner index: owner activity is one scan per scoring run, cheaper than the index
    costs every write."""
    for statement in _V2.split(";"):
        if statement.strip():
            conn.execute(statement)


#: Touchpoints by customer and time, carrying every column scoring reads: the facts queries
#: then never touch the table itself (one sequential index scan instead of a random read per
#: row, about six times faster at a million rows). Dropped during a bulk load, built at commit.
CUSTOMER_INDEX = """CREATE INDEX IF NOT EXISTS touchpoints_customer ON touchpoints
    (customer, occurred_at, direction, channel, duplicate_of, feedback, contact_email, owner)"""


def _to_v3(conn: sqlite3.Connection) -> None:
    """The customer index covers what scoring reads."""
    conn.execute("DROP INDEX IF EXISTS touchpoints_customer")
    conn.execute(CUSTOMER_INDEX)


#: version → the step that brings a store from ``version - 1`` to ``version``.
MIGRATIONS: Mapping[int, Callable[[sqlite3.Connection], None]] = {
    1: _to_v1,
    2: _to_v2,
    3: _to_v3,
}


def migrate(conn: sqlite3.Connection, where: str) -> None:
    """Bring the schema of ``conn`` (in autocommit mode) up to :data:`SCHEMA_VERSION`.

    Raises:
        StoreError: the file was written by a newer engage.
    """
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{where}: the store was written by a newer engage (schema version {version}; "
            f"this engage reads up to {SCHEMA_VERSION}); upgrade engage to use it"
        )
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Re-read under the write lock: another process may have migrated meanwhile.
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for step in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[step](conn)
        if version < SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
