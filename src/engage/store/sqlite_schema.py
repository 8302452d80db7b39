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
SCHEMA_VERSION = 7

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


def _to_v3(conn: sqlite3.Connection) -> None:
    """The customer index covers what scoring reads (as it did then; v5 adds ``missed``)."""
    conn.execute("DROP INDEX IF EXISTS touchpoints_customer")
    conn.execute(
        """CREATE INDEX IF NOT EXISTS touchpoints_customer ON touchpoints
        (customer, occurred_at, direction, channel, duplicate_of, feedback, contact_email, owner)"""
    )


#: The v4 insert trigger (v5 replaces it with :data:`_TOUCHPOINT_INSERTED_V5`): marks the customer of a new touchpoint for re-planning, and keeps the owners' activity
#: snapshot (latest activity at or before its moment, first one after) true, so an hourly
#: sync need not scan every touchpoint for it (a new row is never a duplicate yet: merges
#: mark it afterwards, an update that drops the snapshot). Dropped during a bulk load into an empty
#: store (which re-plans everyone and drops the snapshot), built again at commit.
_TOUCHPOINT_INSERTED_V4 = """CREATE TRIGGER IF NOT EXISTS touchpoints_inserted
    AFTER INSERT ON touchpoints BEGIN
        INSERT OR IGNORE INTO stale_customers (customer) VALUES (new.customer);
        INSERT INTO owner_activity (owner, last_active, next_active)
            SELECT new.owner,
                CASE WHEN new.occurred_at <= CAST(p.value AS INTEGER) THEN new.occurred_at END,
                CASE WHEN new.occurred_at > CAST(p.value AS INTEGER) THEN new.occurred_at END
            FROM planning p
            WHERE p.name = 'activity_as_of' AND new.owner IS NOT NULL
              AND (new.direction = 'outbound' OR new.channel IN ('call', 'meeting'))
        ON CONFLICT (owner) DO UPDATE SET
            last_active = max(coalesce(last_active, excluded.last_active),
                              coalesce(excluded.last_active, last_active)),
            next_active = min(coalesce(next_active, excluded.next_active),
                              coalesce(excluded.next_active, next_active));
    END"""

#: The triggers that mark a customer for re-planning when its record or one of its contacts
#: is inserted or updated. Dropped during a bulk load into an empty store (which re-plans
#: everyone), built again at commit: a statement with a trigger copies every page it changes
#: into the sub-journal, and inside the write's savepoint that copy is a file write per page.
CUSTOMER_MARKS: Mapping[str, str] = {
    "customers_inserted": """CREATE TRIGGER IF NOT EXISTS customers_inserted AFTER INSERT ON customers BEGIN
    INSERT OR IGNORE INTO stale_customers (customer) VALUES (new.key);
END""",
    "customers_updated": """CREATE TRIGGER IF NOT EXISTS customers_updated AFTER UPDATE ON customers BEGIN
    INSERT OR IGNORE INTO stale_customers (customer) VALUES (old.key), (new.key);
END""",
    "contacts_inserted": """CREATE TRIGGER IF NOT EXISTS contacts_inserted AFTER INSERT ON contacts BEGIN
    INSERT OR IGNORE INTO stale_customers (customer) VALUES (new.customer);
END""",
    "contacts_updated": """CREATE TRIGGER IF NOT EXISTS contacts_updated AFTER UPDATE ON contacts BEGIN
    INSERT OR IGNORE INTO stale_customers (customer) VALUES (old.customer), (new.customer);
END""",
}

_V4 = f"""
CREATE TABLE IF NOT EXISTS plans (
    customer     TEXT PRIMARY KEY,
    owner        TEXT,
    valid_until  INTEGER,
    planned_at   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS plans_owner ON plans (owner) WHERE owner IS NOT NULL;
CREATE INDEX IF NOT EXISTS plans_valid_until ON plans (valid_until) WHERE valid_until IS NOT NULL;
CREATE TABLE IF NOT EXISTS planned_tasks (
    key       TEXT PRIMARY KEY,
    customer  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS planned_tasks_customer ON planned_tasks (customer);
CREATE TABLE IF NOT EXISTS stale_customers (customer TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS owner_states (owner TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS owner_activity (
    owner        TEXT PRIMARY KEY,
    last_active  INTEGER,
    next_active  INTEGER
);
CREATE TABLE IF NOT EXISTS planning (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_pending ON ledger (sink) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS ledger_failed ON ledger (sink) WHERE status = 'failed';
{_TOUCHPOINT_INSERTED_V4};
CREATE TRIGGER IF NOT EXISTS touchpoints_updated AFTER UPDATE ON touchpoints BEGIN
    INSERT OR IGNORE INTO stale_customers (customer) VALUES (old.customer), (new.customer);
    DELETE FROM planning WHERE name = 'activity_as_of';
END;
CREATE TRIGGER IF NOT EXISTS touchpoints_deleted AFTER DELETE ON touchpoints BEGIN
    INSERT OR IGNORE INTO stale_customers (customer) VALUES (old.customer);
    DELETE FROM planning WHERE name = 'activity_as_of';
END;
{CUSTOMER_MARKS["customers_inserted"]};
{CUSTOMER_MARKS["customers_updated"]};
CREATE TRIGGER IF NOT EXISTS customers_deleted AFTER DELETE ON customers BEGIN
    DELETE FROM plans WHERE customer = old.key;
    DELETE FROM planned_tasks WHERE customer = old.key;
END;
{CUSTOMER_MARKS["contacts_inserted"]};
{CUSTOMER_MARKS["contacts_updated"]};
CREATE TRIGGER IF NOT EXISTS contacts_deleted AFTER DELETE ON contacts BEGIN
    INSERT OR IGNORE INTO stale_customers (customer) VALUES (old.customer);
END;
CREATE TRIGGER IF NOT EXISTS owners_inserted AFTER INSERT ON owners BEGIN
    INSERT OR IGNORE INTO stale_customers (customer)
        SELECT customer FROM plans WHERE owner = new.id;
END;
CREATE TRIGGER IF NOT EXISTS owners_updated AFTER UPDATE ON owners BEGIN
    INSERT OR IGNORE INTO stale_customers (customer)
        SELECT customer FROM plans WHERE owner IN (old.id, new.id);
END;
CREATE TRIGGER IF NOT EXISTS owners_deleted AFTER DELETE ON owners BEGIN
    INSERT OR IGNORE INTO stale_customers (customer)
        SELECT customer FROM plans WHERE owner = old.id;
END
"""


def _to_v4(conn: sqlite3.Connection) -> None:
    """Incremental planning: each customer's plan with the moment it may next change, the
    tasks it planned, and triggers that mark a customer for re-planning when its data changes.
    Indexes of pending and failed pushes make crash recovery and retries a lookup."""
    for statement in statements(_V4):
        conn.execute(statement)


#: Touchpoints by customer and time, carrying every column scoring reads: the facts queries
#: then never touch the table itself (one sequential index scan instead of a random read per
#: row, about six times faster at a million rows). Dropped during a bulk load, built at commit.
CUSTOMER_INDEX = """CREATE INDEX IF NOT EXISTS touchpoints_customer ON touchpoints
    (customer, occurred_at, direction, channel, missed, duplicate_of, feedback, contact_email,
     owner)"""

#: Threads SQLite's sorter may add while :func:`build_customer_index` sorts: the index is built
#: when a first load's pull is done, so the second core is idle. At a million rows one helper
#: thread took the build from 1.7-2.2 s to 1.25-1.4 s, for 16 MiB more memory (its own share of
#: the sorter); two were no faster and took twice that.
INDEX_SORT_THREADS = 1


def build_customer_index(conn: sqlite3.Connection) -> None:
    """Create :data:`CUSTOMER_INDEX`, sorting with :data:`INDEX_SORT_THREADS` helper threads.

    The helpers live only while the statement runs: after it no thread of SQLite's is left
    that a later ``fork`` (:mod:`engage.forking`) could copy half-way through its work.
    """
    conn.execute(f"PRAGMA threads = {INDEX_SORT_THREADS}")
    try:
        conn.execute(CUSTOMER_INDEX)
    finally:
        conn.execute("PRAGMA threads = 0")


#: The v5 insert trigger (v7 drops it for :mod:`engage.store.sqlite_inserted`): marks the
#: customer of a new touchpoint for re-planning, and keeps the owners' activity snapshot
#: (latest activity at or before its moment, first one after, first one ever) and the
#: store's first moment true.
_TOUCHPOINT_INSERTED_V5 = """CREATE TRIGGER IF NOT EXISTS touchpoints_inserted
    AFTER INSERT ON touchpoints BEGIN
        INSERT OR IGNORE INTO stale_customers (customer) VALUES (new.customer);
        INSERT INTO owner_activity (owner, last_active, next_active, first_active)
            SELECT new.owner,
                CASE WHEN new.occurred_at <= CAST(p.value AS INTEGER) THEN new.occurred_at END,
                CASE WHEN new.occurred_at > CAST(p.value AS INTEGER) THEN new.occurred_at END,
                new.occurred_at
            FROM planning p
            WHERE p.name = 'activity_as_of' AND new.owner IS NOT NULL
              AND (new.direction = 'outbound'
                   OR (new.channel IN ('call', 'meeting') AND new.missed = 0))
        ON CONFLICT (owner) DO UPDATE SET
            last_active = max(coalesce(last_active, excluded.last_active),
                              coalesce(excluded.last_active, last_active)),
            next_active = min(coalesce(next_active, excluded.next_active),
                              coalesce(excluded.next_active, next_active)),
            first_active = min(coalesce(first_active, excluded.first_active),
                               coalesce(excluded.first_active, first_active));
        UPDATE planning SET value = new.occurred_at
            WHERE name = 'history_start' AND CAST(value AS INTEGER) > new.occurred_at;
    END"""

_V5 = f"""
ALTER TABLE touchpoints ADD COLUMN missed INTEGER NOT NULL DEFAULT 0;
DROP INDEX IF EXISTS touchpoints_customer;
{CUSTOMER_INDEX};
ALTER TABLE owner_activity ADD COLUMN first_active INTEGER;
DELETE FROM planning WHERE name = 'activity_as_of';
DROP TRIGGER IF EXISTS touchpoints_inserted;
{_TOUCHPOINT_INSERTED_V5};
-- The first touchpoint's moment is kept in planning ('history_start', engage.store.sqlite_facts):
-- the insert trigger moves it earlier, a changed or deleted touchpoint drops it.
DROP TRIGGER IF EXISTS touchpoints_updated;
CREATE TRIGGER IF NOT EXISTS touchpoints_updated AFTER UPDATE ON touchpoints BEGIN
    INSERT OR IGNORE INTO stale_customers (customer) VALUES (old.customer), (new.customer);
    DELETE FROM planning WHERE name IN ('activity_as_of', 'history_start');
END;
DROP TRIGGER IF EXISTS touchpoints_deleted;
CREATE TRIGGER IF NOT EXISTS touchpoints_deleted AFTER DELETE ON touchpoints BEGIN
    INSERT OR IGNORE INTO stale_customers (customer) VALUES (old.customer);
    DELETE FROM planning WHERE name IN ('activity_as_of', 'history_start');
END;
-- Names find their customer (engage.store.sqlite_names): each customer's comparable name, and
-- the name-only keys whose records land on the customer of their name.
ALTER TABLE customers ADD COLUMN name_key TEXT;
UPDATE customers SET name_key = engage_name_key(key, name);
CREATE INDEX IF NOT EXISTS customers_name_key ON customers (name_key) WHERE name_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS customer_aliases (
    alias     TEXT PRIMARY KEY,
    customer  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS customer_aliases_customer ON customer_aliases (customer);
CREATE TRIGGER IF NOT EXISTS customers_deleted_aliases AFTER DELETE ON customers BEGIN
    DELETE FROM customer_aliases WHERE customer = old.key;
END;
-- Health history (engage.history, engage.store.sqlite_history): a row per change of a
-- customer's score, band, stage or scoring version; rows a back-fill computed are marked.
CREATE TABLE IF NOT EXISTS health_history (
    customer    TEXT NOT NULL,
    at          INTEGER NOT NULL,
    score       INTEGER,
    band        TEXT NOT NULL,
    stage       TEXT NOT NULL,
    version     TEXT NOT NULL,
    backfilled  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (customer, at)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS customers_deleted_history AFTER DELETE ON customers BEGIN
    DELETE FROM health_history WHERE customer = old.key;
END
"""


def _to_v5(conn: sqlite3.Connection) -> None:
    """Missed calls (``missed``: a call or meeting that was no conversation, in the customer
    index too), and each owner's first recorded activity, which tells how far back the
    store's evidence of activity reaches (an owner is inactive only on enough history)."""
    for statement in statements(_V5):
        conn.execute(statement)


_V6 = """
-- Each source's latest pull (engage.sync, engage.store.sqlite_runs): when it began and ended,
-- by which runner, and why it failed; a pull that never ended has no finished_at.
CREATE TABLE IF NOT EXISTS source_pulls (
    source       TEXT PRIMARY KEY,
    runner       TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    error        TEXT
) WITHOUT ROWID
"""


def _to_v6(conn: sqlite3.Connection) -> None:
    """Each source's latest pull, which tells runners sharing a store what is done."""
    for statement in statements(_V6):
        conn.execute(statement)


_V7 = """
-- Each busy customer's totals (engage.store.sqlite_totals): the all-time facts of its
-- touchpoints at or before 'upto', and each contact's touches and latest touch, so planning
-- it again reads only what came after. A touchpoint inserted at or before 'upto' is added
-- to them; any other change drops them: a touchpoint of the customer changed or deleted,
-- the customer retired.
CREATE TABLE IF NOT EXISTS fact_totals (
    customer          TEXT PRIMARY KEY,
    upto              INTEGER NOT NULL,
    touches           INTEGER NOT NULL,
    first_any         INTEGER,
    last_inbound      INTEGER,
    last_outbound     INTEGER,
    last_personal     INTEGER,
    first_engagement  INTEGER,
    last_feedback     INTEGER,
    value_at          INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contact_totals (
    customer  TEXT NOT NULL,
    email     TEXT NOT NULL,
    touches   INTEGER NOT NULL,
    latest    INTEGER NOT NULL,
    PRIMARY KEY (customer, email)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS fact_totals_deleted AFTER DELETE ON fact_totals BEGIN
    DELETE FROM contact_totals WHERE customer = old.customer;
END;
-- What the insert trigger did for each new touchpoint, the insert now does once for all the
-- rows of its statement (engage.store.sqlite_inserted).
DROP TRIGGER IF EXISTS touchpoints_inserted;
DROP TRIGGER IF EXISTS touchpoints_updated;
CREATE TRIGGER IF NOT EXISTS touchpoints_updated AFTER UPDATE ON touchpoints BEGIN
    INSERT OR IGNORE INTO stale_customers (customer) VALUES (old.customer), (new.customer);
    DELETE FROM planning WHERE name IN ('activity_as_of', 'history_start');
    DELETE FROM fact_totals WHERE customer IN (old.customer, new.customer);
END;
DROP TRIGGER IF EXISTS touchpoints_deleted;
CREATE TRIGGER IF NOT EXISTS touchpoints_deleted AFTER DELETE ON touchpoints BEGIN
    INSERT OR IGNORE INTO stale_customers (customer) VALUES (old.customer);
    DELETE FROM planning WHERE name IN ('activity_as_of', 'history_start');
    DELETE FROM fact_totals WHERE customer = old.customer;
END;
CREATE TRIGGER IF NOT EXISTS customers_deleted_totals AFTER DELETE ON customers BEGIN
    DELETE FROM fact_totals WHERE customer = old.key;
END
"""


def _to_v7(conn: sqlite3.Connection) -> None:
    """Busy customers' fact totals, which spare an hourly sync their whole histories, and
    new touchpoints marked by their insert's own statements instead of a trigger per row."""
    for statement in statements(_V7):
        conn.execute(statement)


def statements(script: str) -> list[str]:
    """The complete SQL statements of ``script``, triggers' inner statements kept whole."""
    found, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    if pending.strip():
        found.append(pending.strip())
    return found


#: version → the step that brings a store from ``version - 1`` to ``version``.
MIGRATIONS: Mapping[int, Callable[[sqlite3.Connection], None]] = {
    1: _to_v1,
    2: _to_v2,
    3: _to_v3,
    4: _to_v4,
    5: _to_v5,
    6: _to_v6,
    7: _to_v7,
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
