"""What a batch of new touchpoints changes beside the table, in a few set-based statements.

New touchpoints mark their customers for re-planning (``stale_customers``), keep the owners'
activity snapshot and the store's first moment (``planning``) true, and are added to their
customers' fact totals when those are for a later moment (a touchpoint logged late). A
trigger did this row by row until schema v7; for the rows of one insert statement, the same
work is done here once, over the rows that statement added: they are the table's rows
past the largest rowid before it (SQLite gives a new row the largest rowid plus one), in
the same transaction. At a few thousand rows an hourly sync writes, the trigger cost 10-20 µs
a row (a sub-program and its statement journal per row); these statements cost a scan of
the new rows each.

A bulk load into an empty store skips all of it: it re-plans everyone and drops the activity
snapshot, and no customer has totals yet.
"""

from __future__ import annotations

import sqlite3

from engage.store import sqlite_alltime as alltime

_STALE = """INSERT OR IGNORE INTO stale_customers (customer)
    SELECT DISTINCT customer FROM touchpoints NOT INDEXED WHERE rowid > :after"""

#: Each owner's activity among the new rows, folded into the snapshot when there is one:
#: the latest at or before its moment, the first after it, the first of all.
_ACTIVITY = """INSERT INTO owner_activity (owner, last_active, next_active, first_active)
    SELECT t.owner,
        max(t.occurred_at) FILTER (WHERE t.occurred_at <= CAST(p.value AS INTEGER)),
        min(t.occurred_at) FILTER (WHERE t.occurred_at > CAST(p.value AS INTEGER)),
        min(t.occurred_at)
    FROM touchpoints t NOT INDEXED JOIN planning p ON p.name = 'activity_as_of'
    WHERE t.rowid > :after AND t.owner IS NOT NULL
      AND (t.direction = 'outbound' OR (t.channel IN ('call', 'meeting') AND t.missed = 0))
    GROUP BY t.owner
    ON CONFLICT (owner) DO UPDATE SET
        last_active = coalesce(max(last_active, excluded.last_active),
                               last_active, excluded.last_active),
        next_active = coalesce(min(next_active, excluded.next_active),
                               next_active, excluded.next_active),
        first_active = coalesce(min(first_active, excluded.first_active),
                                first_active, excluded.first_active)"""

_HISTORY_START = """UPDATE planning SET value = n.first
    FROM (SELECT min(occurred_at) AS first FROM touchpoints NOT INDEXED WHERE rowid > :after) n
    WHERE name = 'history_start' AND CAST(value AS INTEGER) > n.first"""


#: New rows at or before the moment of their customer's totals.
_LATE = """FROM touchpoints t NOT INDEXED JOIN fact_totals f ON f.customer = t.customer
    WHERE t.rowid > :after AND t.occurred_at <= f.upto AND t.duplicate_of IS NULL"""

_LATE_CONTACTS = f"""INSERT INTO contact_totals (customer, email, touches, latest)
    SELECT t.customer, t.contact_email, count(*), max(t.occurred_at) {_LATE}
      AND t.contact_email IS NOT NULL AND {alltime.TOUCH}
    GROUP BY t.customer, t.contact_email
    ON CONFLICT (customer, email) DO UPDATE SET
        touches = touches + excluded.touches, latest = max(latest, excluded.latest)"""

_LATE_TOTALS = f"""UPDATE fact_totals SET
{alltime.folded_into("fact_totals", "n")}
    FROM (
        SELECT t.customer,
{alltime.aggregates("            ")}
        {_LATE}
        GROUP BY t.customer
    ) n
    WHERE fact_totals.customer = n.customer"""


def last_rowid(conn: sqlite3.Connection) -> int:
    """The touchpoint table's largest rowid (0 when empty): rows inserted next lie past it."""
    return int(conn.execute("SELECT coalesce(max(rowid), 0) FROM touchpoints").fetchone()[0])


def record_inserted(conn: sqlite3.Connection, after: int) -> None:
    """Mark and fold in the touchpoints inserted past rowid ``after`` (see the module), in
    the caller's transaction."""
    params = {"after": after}
    conn.execute(_STALE, params)
    conn.execute(_ACTIVITY, params)
    conn.execute(_HISTORY_START, params)
    conn.execute(_LATE_CONTACTS, params)  # before the totals: both read the same rows
    conn.execute(_LATE_TOTALS, params)
