"""Customer facts computed in PostgreSQL, streamed one customer at a time.

The port of :mod:`engage.store.sqlite_facts` (read it for what each value means): one
``GROUP BY customer`` with ``FILTER`` aggregates over the customer index, the customer's
record joined, and small correlated look-ups (``LATERAL`` for the main contact) for the
values that depend on an aggregate; customers without touchpoints in a second query;
both ordered by key (``"C"`` collation: Python's order) and merged. The rows are the same
as the SQLite store's, so :func:`~engage.store.sqlite_facts._assemble` turns them into
:class:`~engage.facts.CustomerFacts`.

When segments have different windows, each customer's window is a row of two arrays the
aggregate joins (``unnest``), computed in Python from the segment rules.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import psycopg

from engage.clock import ensure_utc, to_micros
from engage.errors import StoreError
from engage.facts import CustomerFacts
from engage.models import Owner
from engage.settings import ScoringSettings
from engage.store.sqlite_facts import (
    _PERSONAL,
    _TOUCH,
    DAY_US,
    OwnerActivity,
    _activity,
    _assemble,
    _Segments,
    is_team_active,
)

Connection = psycopg.Connection[tuple[Any, ...]]

_MIN_TIME = "'-9223372036854775808'::bigint"
_NOW = "%(as_of)s::bigint"
_cursor_ids = itertools.count()

_OWNER_ACTIVITY = """
SELECT owner, max(occurred_at) FILTER (WHERE occurred_at <= %(as_of)s::bigint),
    min(occurred_at) FILTER (WHERE occurred_at > %(as_of)s::bigint), min(occurred_at)
FROM touchpoints
WHERE owner IS NOT NULL AND duplicate_of IS NULL
  AND (direction = 'outbound' OR (channel IN ('call', 'meeting') AND missed = 0))
GROUP BY owner
"""

#: The subset filters of the facts queries: one customer, those chosen for planning, a list.
_ONE = ("AND t.customer = %(customer)s", "AND c.key = %(customer)s")
_DUE = (
    "AND t.customer IN (SELECT key FROM due_customers)",
    "AND c.key IN (SELECT key FROM due_customers)",
)
_LISTED = ("AND t.customer = ANY(%(keys)s)", "AND c.key = ANY(%(keys)s)")

_WITH_TOUCHES = """
SELECT a.key, r.name, r.segment, r.first_seen, r.open_work, r.attributes::text,
    a.touches, a.first_any, a.last_touch, a.last_inbound, a.last_outbound,
    a.last_personal, a.first_engagement, a.last_feedback, a.value_at,
    a.recent_touches, a.previous_touches, a.recent_inbound, a.recent_outbound,
    a.recent_personal, a.recent_email, a.touches_before, a.window_change,
    (SELECT min(n.occurred_at) FROM touchpoints n
        WHERE n.customer = a.key AND n.occurred_at > {now} AND n.duplicate_of IS NULL
    ) AS next_arrival,
    (SELECT count(*) FROM touchpoints e
        WHERE e.customer = a.key AND e.occurred_at <= {now}
          AND e.occurred_at > coalesce(a.last_personal, {min_time})
          AND e.channel = 'email' AND e.direction = 'outbound'
          AND e.duplicate_of IS NULL) AS emails_since_personal,
    (SELECT min(u.occurred_at) FROM touchpoints u
        WHERE u.customer = a.key AND u.occurred_at <= {now} AND u.direction = 'inbound'
          AND u.occurred_at > greatest(coalesce(a.last_outbound, {min_time}),
                                       coalesce(a.last_personal, {min_time}))
          AND NOT (u.{personal}) AND u.duplicate_of IS NULL) AS first_unanswered,
    (SELECT count(*) FROM touchpoints v
        WHERE v.customer = a.key AND v.occurred_at <= {now} AND v.direction = 'inbound'
          AND v.occurred_at > greatest(coalesce(a.last_outbound, {min_time}),
                                       coalesce(a.last_personal, {min_time}))
          AND v.channel IN ('call', 'meeting') AND v.missed = 1
          AND v.duplicate_of IS NULL) AS missed_calls_waiting,
    (SELECT f.feedback FROM touchpoints f
        WHERE f.customer = a.key AND f.occurred_at = a.value_at
          AND f.feedback IS NOT NULL AND f.{touch} AND f.duplicate_of IS NULL
        ORDER BY f.source DESC, f.external_id DESC LIMIT 1) AS value,
    coalesce(r.owner, (SELECT o.owner FROM touchpoints o
        WHERE o.customer = a.key AND o.occurred_at <= {now} AND o.owner IS NOT NULL
          AND o.duplicate_of IS NULL
        ORDER BY o.occurred_at DESC, o.source DESC, o.external_id DESC LIMIT 1)) AS owner,
    main.contact || chr(31) || coalesce(
        (SELECT ct.name FROM contacts ct WHERE ct.email = main.contact), '') AS main_contact
FROM (
    SELECT t.customer AS key,
        count(*) FILTER (WHERE t.{touch}) AS touches,
        min(t.occurred_at) AS first_any,
        max(t.occurred_at) FILTER (WHERE t.{touch}) AS last_touch,
        max(t.occurred_at) FILTER (WHERE t.direction = 'inbound') AS last_inbound,
        max(t.occurred_at) FILTER (WHERE t.direction = 'outbound') AS last_outbound,
        max(t.occurred_at) FILTER (WHERE t.{touch} AND t.{personal}) AS last_personal,
        min(t.occurred_at) FILTER (WHERE t.{touch} AND t.{personal}) AS first_engagement,
        max(t.occurred_at) FILTER (
            WHERE t.{touch} AND (t.channel = 'feedback' OR t.feedback IS NOT NULL)
        ) AS last_feedback,
        max(t.occurred_at) FILTER (WHERE t.{touch} AND t.feedback IS NOT NULL) AS value_at,
        count(*) FILTER (WHERE t.{touch} AND t.occurred_at > {now} - {w}) AS recent_touches,
        count(*) FILTER (
            WHERE t.{touch} AND t.occurred_at > {now} - 2 * {w} AND t.occurred_at <= {now} - {w}
        ) AS previous_touches,
        count(*) FILTER (
            WHERE t.direction = 'inbound' AND t.occurred_at > {now} - {w}
        ) AS recent_inbound,
        count(*) FILTER (
            WHERE t.direction = 'outbound' AND t.occurred_at > {now} - {w}
        ) AS recent_outbound,
        count(*) FILTER (
            WHERE t.{touch} AND t.{personal} AND t.occurred_at > {now} - {w}
        ) AS recent_personal,
        count(*) FILTER (
            WHERE t.{touch} AND t.channel = 'email' AND t.occurred_at > {now} - {w}
        ) AS recent_email,
        count(*) FILTER (WHERE t.{touch} AND t.occurred_at <= {now} - {w}) AS touches_before,
        min(CASE WHEN t.occurred_at > {now} - {w} THEN t.occurred_at + {w}
                 ELSE t.occurred_at + 2 * {w} END) FILTER (
            WHERE t.{touch} AND t.occurred_at > {now} - 2 * {w}
        ) AS window_change
    FROM touchpoints t {join}
    WHERE t.occurred_at <= {now} AND t.duplicate_of IS NULL {only_t}
    GROUP BY t.customer
) a
JOIN customers r ON r.key = a.key
LEFT JOIN LATERAL (
    SELECT m.contact_email AS contact FROM touchpoints m
    WHERE m.customer = a.key AND m.contact_email IS NOT NULL AND m.{touch}
      AND m.occurred_at <= {now} AND m.duplicate_of IS NULL
    GROUP BY m.contact_email
    ORDER BY count(*) DESC, max(m.occurred_at) DESC, m.contact_email LIMIT 1
) main ON true
ORDER BY a.key
"""

_WITHOUT_TOUCHES = """
SELECT c.key, c.name, c.segment, c.first_seen, c.open_work, c.attributes::text,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    (SELECT min(n.occurred_at) FROM touchpoints n
        WHERE n.customer = c.key AND n.occurred_at > {now} AND n.duplicate_of IS NULL
    ) AS next_arrival,
    NULL, NULL, NULL, NULL, c.owner, NULL
FROM customers c
WHERE NOT EXISTS (
    SELECT 1 FROM touchpoints t
    WHERE t.customer = c.key AND t.occurred_at <= {now} AND t.duplicate_of IS NULL
) {only_c}
ORDER BY c.key
"""


def owner_activity(conn: Connection, now: int, *, save: bool = False) -> OwnerActivity:
    """The team's activity at or before ``now`` (see
    :func:`engage.store.sqlite_facts.owner_activity`): the saved snapshot while it holds,
    else one scan, saved with ``save``."""
    stamp = conn.execute("SELECT value FROM planning WHERE name = 'activity_as_of'").fetchone()
    if stamp is not None and int(stamp[0]) <= now:
        saved = conn.execute(
            "SELECT owner, last_active, next_active, first_active FROM owner_activity"
        ).fetchall()
        if all(upcoming is None or upcoming > now for _, _, upcoming, _ in saved):
            return _activity(saved)
    rows = conn.execute(_OWNER_ACTIVITY, {"as_of": now}).fetchall()
    if save:
        conn.execute("DELETE FROM owner_activity")
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO owner_activity (owner, last_active, next_active, first_active) "
                "VALUES (%s, %s, %s, %s)",
                rows,
            )
        set_planning(conn, "activity_as_of", str(now))
    return _activity(rows)


def set_planning(conn: Connection, name: str, value: str) -> None:
    """Set one value of the ``planning`` table."""
    conn.execute(
        """INSERT INTO planning (name, value) VALUES (%s, %s)
        ON CONFLICT (name) DO UPDATE SET value = excluded.value""",
        (name, value),
    )


def history_start(conn: Connection, *, save: bool = False) -> int | None:
    """The moment of the store's first touchpoint (microseconds), or None when it has none."""
    row = conn.execute("SELECT value FROM planning WHERE name = 'history_start'").fetchone()
    if row is not None:
        return int(row[0])
    found = conn.execute("SELECT min(occurred_at) FROM touchpoints").fetchone()
    first = None if found is None else found[0]
    if save and first is not None:
        set_planning(conn, "history_start", str(first))
    return None if first is None else int(first)


def load_owners(conn: Connection) -> dict[str, Owner]:
    """Every owner record, by id."""
    return {
        row[0]: Owner(row[0], email=row[1], name=row[2], active=bool(row[3]))
        for row in conn.execute("SELECT id, email, name, active FROM owners")
    }


def compute_facts(
    conn: Connection,
    as_of: datetime,
    settings: ScoringSettings,
    customer: str | None,
    *,
    due_only: bool = False,
    keys: Sequence[str] | None = None,
) -> Iterator[CustomerFacts]:
    """Facts for every customer (or one, or those in ``due_customers``, or ``keys``) as of
    ``as_of``, in key order, streamed through server-side cursors (``conn`` must be in a
    transaction, which the caller keeps open until the iterator ends)."""
    as_of = ensure_utc(as_of, "facts: as_of")
    now = to_micros(as_of)
    params: dict[str, object] = {"as_of": now, "customer": customer, "keys": keys}
    inactive = settings.owner_inactive_days * DAY_US
    activity = owner_activity(conn, now)
    team_active = is_team_active(activity, now, inactive)
    evidence = activity.covers(now, inactive)
    start = history_start(conn)
    owners = load_owners(conn)
    segments = _Segments(settings)
    windows = {s.window_days for s in settings.segments.values()}
    if customer is not None:
        subset = _ONE
    elif keys is not None:
        subset = _LISTED
    else:
        subset = _DUE if due_only else ("", "")
    if len(windows) == 1:
        params["w"] = windows.pop() * DAY_US
        window, join = "%(w)s::bigint", ""
    else:
        rows = conn.execute(
            f"SELECT key, segment FROM customers c WHERE true {subset[1]}", params
        ).fetchall()
        params["wkeys"] = [key for key, _ in rows]
        params["wvalues"] = [segments(key, declared).window_days * DAY_US for key, declared in rows]
        window = "w.w"
        join = "JOIN unnest(%(wkeys)s::text[], %(wvalues)s::bigint[]) AS w (key, w) ON w.key = t.customer"
    with_touches = _WITH_TOUCHES.format(
        touch=_TOUCH, personal=_PERSONAL, w=window, join=join, min_time=_MIN_TIME,
        only_t=subset[0], now=_NOW,
    )  # fmt: skip
    without_touches = _WITHOUT_TOUCHES.format(only_c=subset[1], now=_NOW)
    rows_with = _stream(conn, with_touches, params)
    rows_without = _stream(conn, without_touches, params)
    last = None
    for row in heapq.merge(rows_with, rows_without, key=lambda row: row[0]):
        if last is not None and row[0] <= last:
            raise StoreError(
                f"facts: PostgreSQL returned customer {row[0]!r} after {last!r}; "
                "expected key order (please report this)"
            )
        last = row[0]
        yield _assemble(
            row, as_of, segments, owners, activity, team_active, inactive, evidence, start
        )


def _stream(conn: Connection, query: str, params: dict[str, object]) -> Iterator[Any]:
    """Rows of ``query`` from a server-side cursor, 500 at a time."""
    with conn.cursor(name=f"engage_facts_{next(_cursor_ids)}") as cursor:
        cursor.itersize = 500
        cursor.execute(query, params)
        yield from cursor
