"""The PostgreSQL store's schema, its versions and migrations.

The ``schema_version`` table holds one row: the version of the schema in the database's
current schema (``search_path``). Opening a store creates the tables in an empty database;
a schema written by a newer engage is refused rather than misread, and an older one is
refused until ``engage store migrate`` brings it up (:func:`migrate`): a shared server
changes its schema only when a person says so, never because one runner was upgraded.

Tables mirror the SQLite store's (:mod:`engage.store.sqlite_schema`): times are BIGINT
microseconds since the epoch, UTC; flags are INTEGER 0/1. Text compares with the ``"C"``
collation (byte order, as SQLite and Python compare), so key order, tie-breaks and
``lower()`` (ASCII only) are those of the SQLite store whatever the database's locale.
Customer attributes are ``jsonb``, merged with :func:`engage_json_patch` (RFC 7396, as
SQLite's ``json_patch``).

Incremental planning is kept by statement-level PL/pgSQL triggers with transition tables:
one statement (an upsert of a thousand rows, a ``COPY`` of a first load) marks its
customers stale with one ``INSERT … SELECT``, not one per row. The functions keep the
``search_path`` they were created with, so a change made from any session (``psql`` with
another search_path) still marks the store's own tables.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import psycopg

from engage.clock import to_micros, utcnow
from engage.errors import StoreError

Connection = psycopg.Connection[tuple[Any, ...]]

#: The schema version this engage writes (PostgreSQL counts its own versions).
SCHEMA_VERSION = 2

#: Text that sorts and compares as bytes, like SQLite's and Python's strings.
_TEXT = 'TEXT COLLATE "C"'

_TABLES = f"""
CREATE TABLE customers (
    key         {_TEXT} PRIMARY KEY,
    name        {_TEXT},
    segment     {_TEXT},
    owner       {_TEXT},
    first_seen  BIGINT,
    open_work   INTEGER NOT NULL DEFAULT 0,
    attributes  JSONB NOT NULL DEFAULT '{{}}',
    name_key    {_TEXT}
);
CREATE INDEX customers_name_key ON customers (name_key) WHERE name_key IS NOT NULL;
CREATE TABLE contacts (
    email     {_TEXT} PRIMARY KEY,
    customer  {_TEXT} NOT NULL,
    name      {_TEXT}
);
CREATE INDEX contacts_customer ON contacts (customer);
CREATE TABLE owners (
    id      {_TEXT} PRIMARY KEY,
    email   {_TEXT},
    name    {_TEXT},
    active  INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE touchpoints (
    source         {_TEXT} NOT NULL,
    external_id    {_TEXT} NOT NULL,
    customer       {_TEXT} NOT NULL,
    contact_email  {_TEXT},
    occurred_at    BIGINT NOT NULL,
    channel        {_TEXT} NOT NULL,
    direction      {_TEXT} NOT NULL,
    owner          {_TEXT},
    subject        {_TEXT},
    feedback       DOUBLE PRECISION,
    message_id     {_TEXT},
    missed         INTEGER NOT NULL DEFAULT 0,
    duplicate_of   {_TEXT},
    PRIMARY KEY (source, external_id)
);
CREATE INDEX touchpoints_customer ON touchpoints (customer, occurred_at)
    INCLUDE (direction, channel, missed, duplicate_of, feedback, contact_email, owner);
CREATE INDEX touchpoints_message ON touchpoints (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX touchpoints_duplicate ON touchpoints (duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE TABLE cursors (
    source      {_TEXT} PRIMARY KEY,
    cursor      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE TABLE ledger (
    sink        {_TEXT} NOT NULL,
    key         {_TEXT} NOT NULL,
    customer    {_TEXT} NOT NULL,
    rule        {_TEXT} NOT NULL,
    status      {_TEXT} NOT NULL,
    remote_id   {_TEXT},
    task        TEXT NOT NULL,
    error       TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (sink, key)
);
CREATE INDEX ledger_pending ON ledger (sink) WHERE status = 'pending';
CREATE INDEX ledger_failed ON ledger (sink) WHERE status = 'failed';
CREATE TABLE plans (
    customer     {_TEXT} PRIMARY KEY,
    owner        {_TEXT},
    valid_until  BIGINT,
    planned_at   BIGINT NOT NULL
);
CREATE INDEX plans_owner ON plans (owner) WHERE owner IS NOT NULL;
CREATE INDEX plans_valid_until ON plans (valid_until) WHERE valid_until IS NOT NULL;
CREATE TABLE planned_tasks (
    key       {_TEXT} PRIMARY KEY,
    customer  {_TEXT} NOT NULL
);
CREATE INDEX planned_tasks_customer ON planned_tasks (customer);
CREATE TABLE stale_customers (customer {_TEXT} PRIMARY KEY);
CREATE UNLOGGED TABLE due_customers (key {_TEXT} PRIMARY KEY);
CREATE TABLE owner_states (owner {_TEXT} PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE owner_activity (
    owner         {_TEXT} PRIMARY KEY,
    last_active   BIGINT,
    next_active   BIGINT,
    first_active  BIGINT
);
CREATE TABLE planning (name {_TEXT} PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE customer_aliases (
    alias     {_TEXT} PRIMARY KEY,
    customer  {_TEXT} NOT NULL
);
CREATE INDEX customer_aliases_customer ON customer_aliases (customer);
CREATE TABLE health_history (
    customer    {_TEXT} NOT NULL,
    at          BIGINT NOT NULL,
    score       INTEGER,
    band        TEXT NOT NULL,
    stage       TEXT NOT NULL,
    version     TEXT NOT NULL,
    backfilled  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (customer, at)
);
"""

#: RFC 7396 merge patch, as SQLite's ``json_patch``: a null removes a key, objects merge.
_JSON_PATCH = """
CREATE FUNCTION engage_json_patch(target jsonb, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path FROM CURRENT AS $$
DECLARE
    result jsonb;
    k text;
    v jsonb;
BEGIN
    IF jsonb_typeof(patch) IS DISTINCT FROM 'object' THEN
        RETURN patch;
    END IF;
    result := CASE WHEN jsonb_typeof(target) = 'object' THEN target ELSE '{}'::jsonb END;
    FOR k, v IN SELECT * FROM jsonb_each(patch) LOOP
        IF jsonb_typeof(v) = 'null' THEN
            result := result - k;
        ELSE
            result := jsonb_set(result, ARRAY[k], engage_json_patch(result -> k, v));
        END IF;
    END LOOP;
    RETURN result;
END $$;
"""

#: A trigger: its name, its PL/pgSQL body, and the event, table and transition tables it
#: fires on (once per statement).
_TRIGGERS: tuple[tuple[str, str, str], ...] = (
    (
        # A new touchpoint: its customer is stale; the owners' activity snapshot (latest
        # activity at or before its moment, first one after, first ever) and the first
        # touchpoint's moment stay true (a new row is never a duplicate yet).
        "touchpoints_inserted",
        """
        INSERT INTO stale_customers (customer) SELECT DISTINCT customer FROM new_rows
            ON CONFLICT DO NOTHING;
        INSERT INTO owner_activity AS a (owner, last_active, next_active, first_active)
            SELECT n.owner,
                max(n.occurred_at) FILTER (WHERE n.occurred_at <= p.value::bigint),
                min(n.occurred_at) FILTER (WHERE n.occurred_at > p.value::bigint),
                min(n.occurred_at)
            FROM new_rows n CROSS JOIN planning p
            WHERE p.name = 'activity_as_of' AND n.owner IS NOT NULL
              AND (n.direction = 'outbound'
                   OR (n.channel IN ('call', 'meeting') AND n.missed = 0))
            GROUP BY n.owner, p.value
        ON CONFLICT (owner) DO UPDATE SET
            last_active = greatest(a.last_active, excluded.last_active),
            next_active = least(a.next_active, excluded.next_active),
            first_active = least(a.first_active, excluded.first_active);
        UPDATE planning SET value = m.first::text
            FROM (SELECT min(occurred_at) AS first FROM new_rows) m
            WHERE name = 'history_start' AND value::bigint > m.first;
        """,
        "INSERT ON touchpoints REFERENCING NEW TABLE AS new_rows",
    ),
    (
        "touchpoints_updated",
        """
        IF EXISTS (SELECT 1 FROM new_rows) THEN
            INSERT INTO stale_customers (customer)
                SELECT customer FROM old_rows UNION SELECT customer FROM new_rows
                ON CONFLICT DO NOTHING;
            DELETE FROM planning WHERE name IN ('activity_as_of', 'history_start');
        END IF;
        """,
        "UPDATE ON touchpoints REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    ),
    (
        "touchpoints_deleted",
        """
        IF EXISTS (SELECT 1 FROM old_rows) THEN
            INSERT INTO stale_customers (customer) SELECT DISTINCT customer FROM old_rows
                ON CONFLICT DO NOTHING;
            DELETE FROM planning WHERE name IN ('activity_as_of', 'history_start');
        END IF;
        """,
        "DELETE ON touchpoints REFERENCING OLD TABLE AS old_rows",
    ),
    (
        "customers_inserted",
        """
        INSERT INTO stale_customers (customer) SELECT key FROM new_rows
            ON CONFLICT DO NOTHING;
        """,
        "INSERT ON customers REFERENCING NEW TABLE AS new_rows",
    ),
    (
        "customers_updated",
        """
        INSERT INTO stale_customers (customer)
            SELECT key FROM old_rows UNION SELECT key FROM new_rows
            ON CONFLICT DO NOTHING;
        """,
        "UPDATE ON customers REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    ),
    (
        # A retired customer takes its plan, planned tasks, aliases and history with it.
        "customers_deleted",
        """
        DELETE FROM plans WHERE customer IN (SELECT key FROM old_rows);
        DELETE FROM planned_tasks WHERE customer IN (SELECT key FROM old_rows);
        DELETE FROM customer_aliases WHERE customer IN (SELECT key FROM old_rows);
        DELETE FROM health_history WHERE customer IN (SELECT key FROM old_rows);
        """,
        "DELETE ON customers REFERENCING OLD TABLE AS old_rows",
    ),
    (
        "contacts_inserted",
        """
        INSERT INTO stale_customers (customer) SELECT DISTINCT customer FROM new_rows
            ON CONFLICT DO NOTHING;
        """,
        "INSERT ON contacts REFERENCING NEW TABLE AS new_rows",
    ),
    (
        "contacts_updated",
        """
        INSERT INTO stale_customers (customer)
            SELECT customer FROM old_rows UNION SELECT customer FROM new_rows
            ON CONFLICT DO NOTHING;
        """,
        "UPDATE ON contacts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    ),
    (
        "contacts_deleted",
        """
        INSERT INTO stale_customers (customer) SELECT DISTINCT customer FROM old_rows
            ON CONFLICT DO NOTHING;
        """,
        "DELETE ON contacts REFERENCING OLD TABLE AS old_rows",
    ),
    (
        # An owner's record changed: the customers planned with that owner are stale.
        "owners_inserted",
        """
        INSERT INTO stale_customers (customer)
            SELECT customer FROM plans WHERE owner IN (SELECT id FROM new_rows)
            ON CONFLICT DO NOTHING;
        """,
        "INSERT ON owners REFERENCING NEW TABLE AS new_rows",
    ),
    (
        "owners_updated",
        """
        INSERT INTO stale_customers (customer)
            SELECT customer FROM plans
            WHERE owner IN (SELECT id FROM old_rows UNION SELECT id FROM new_rows)
            ON CONFLICT DO NOTHING;
        """,
        "UPDATE ON owners REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    ),
    (
        "owners_deleted",
        """
        INSERT INTO stale_customers (customer)
            SELECT customer FROM plans WHERE owner IN (SELECT id FROM old_rows)
            ON CONFLICT DO NOTHING;
        """,
        "DELETE ON owners REFERENCING OLD TABLE AS old_rows",
    ),
)


def _trigger(name: str, body: str, event: str) -> list[str]:
    return [
        f"""CREATE FUNCTION engage_{name}() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        BEGIN
        {body}
        RETURN NULL;
        END $$""",
        f"""CREATE TRIGGER {name} AFTER {event}
        FOR EACH STATEMENT EXECUTE FUNCTION engage_{name}()""",
    ]


def _to_v1(conn: Connection) -> None:
    """Everything the SQLite store's version 5 holds, with statement-level triggers."""
    for statement in _TABLES.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(_JSON_PATCH)
    for name, body, event in _TRIGGERS:
        for statement in _trigger(name, body, event):
            conn.execute(statement)


def _to_v2(conn: Connection) -> None:
    """Each source's latest pull, which tells runners sharing the store what is done."""
    conn.execute(
        f"""CREATE TABLE source_pulls (
            source       {_TEXT} PRIMARY KEY,
            runner       TEXT NOT NULL,
            started_at   BIGINT NOT NULL,
            finished_at  BIGINT,
            error        TEXT
        )"""
    )


#: version → the step that brings a schema from ``version - 1`` to ``version``.
MIGRATIONS: Mapping[int, Callable[[Connection], None]] = {
    1: _to_v1,
    2: _to_v2,
}

_HAS_VERSION_TABLE = "SELECT to_regclass('schema_version') IS NOT NULL"

#: Serialises concurrent migrations of one schema: a session lock, taken before the
#: migration's transaction begins, so that transaction sees (and its catalog lookups know of)
#: every table another runner created meanwhile.
_MIGRATION_KEY = "hashtextextended('engage migrate ' || current_schema(), 0)"


def schema_version(conn: Connection) -> int:
    """The version of the schema in ``conn``'s current schema (0: none yet)."""
    row = conn.execute(_HAS_VERSION_TABLE).fetchone()
    if row is None or not row[0]:
        return 0
    found = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return 0 if found is None or found[0] is None else int(found[0])


def check(conn: Connection, where: str) -> int:
    """Create the schema in an empty database; refuse a newer one, and an older one until it is
    migrated. Returns the version found before.

    Raises:
        StoreError: the schema was written by a newer engage, or needs ``engage store migrate``.
    """
    row = conn.execute("SELECT current_schema()").fetchone()
    if row is None or row[0] is None:
        raise StoreError(
            f"{where}: no schema of the search_path exists; create it (CREATE SCHEMA ...) "
            "or leave options=-csearch_path out of the URL"
        )
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{where}: the store was written by a newer engage (schema version {version}; "
            f"this engage reads up to {SCHEMA_VERSION}); upgrade engage to use it"
        )
    if version == 0:
        migrate(conn, where)
    elif version < SCHEMA_VERSION:
        raise StoreError(
            f"{where}: the store has schema version {version}, this engage needs "
            f"{SCHEMA_VERSION}; run 'engage store migrate' (once, with no sync running)"
        )
    return version


def migrate(conn: Connection, where: str) -> tuple[int, int]:
    """Bring the schema of ``conn`` (in autocommit mode) up to :data:`SCHEMA_VERSION`, in
    one transaction; returns the versions (before, after).

    Raises:
        StoreError: the schema was written by a newer engage.
    """
    conn.execute(f"SELECT pg_advisory_lock({_MIGRATION_KEY})")
    try:
        return _migrate_locked(conn, where)
    finally:
        with contextlib.suppress(psycopg.Error):  # a lost connection released it already
            conn.execute(f"SELECT pg_advisory_unlock({_MIGRATION_KEY})")


def _migrate_locked(conn: Connection, where: str) -> tuple[int, int]:
    with conn.transaction():
        # Read again under the lock: another runner may have migrated meanwhile.
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{where}: the store was written by a newer engage (schema version {version}; "
                f"this engage reads up to {SCHEMA_VERSION}); upgrade engage to use it"
            )
        if version == 0:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER PRIMARY KEY, migrated_at BIGINT NOT NULL)"
            )
        for step in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[step](conn)
            conn.execute(
                "INSERT INTO schema_version (version, migrated_at) VALUES (%s, %s)",
                (step, to_micros(utcnow())),
            )
    return version, SCHEMA_VERSION
