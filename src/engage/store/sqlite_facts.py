"""Customer facts computed in SQL, streamed one customer at a time.

:func:`compute_facts` runs these queries per call:

1. every owner's latest activity (outbound, call or meeting, any customer), which also
   decides ``team_active``: one ``GROUP BY owner`` over touchpoints, or the snapshot the
   last planning saved while no touchpoint changed since;
2. the owners table (one row per person on the team);
3. two streamed queries in key order, merged: customers with touchpoints up to ``as_of`` (a
   ``GROUP BY customer`` with conditional ``FILTER`` aggregates, walking the customer index
   in order, so nothing is sorted whatever the store's size, joined to the counts of the
   last two windows, aggregated over that range of the index alone, with small
   correlated look-ups on that index for the values that depend on an aggregate: emails
   since the latest call or meeting, the first unanswered message, the latest feedback
   score, the owner of the latest touchpoint that names one, the main contact), and
   customers without.

Each customer's window comes from its segment. When every segment shares one
``window_days`` it is a query parameter; otherwise each customer's window is written to a
temporary table the window counts join, so mixed segments are exact in the same query.

Each customer's facts also say when time alone next changes them (``changes_at``): the first
touch to leave the recent or previous window, or the first touchpoint dated after ``as_of``.

Ties between touchpoints at the same moment are broken by the highest
``(source, external_id)``; main-contact ties (same touches, same latest touch) by the
smallest email.
"""

from __future__ import annotations

import heapq
import itertools
import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import attrs

from engage.clock import ensure_utc, from_micros, to_micros
from engage.errors import StoreError
from engage.facts import CustomerFacts, OwnerStatus
from engage.models import Customer, Owner
from engage.settings import ScoringSettings, SegmentSettings
from engage.store import sqlite_alltime as alltime
from engage.store.sqlite_totals import read_main_contact

DAY_US = 86_400 * 1_000_000
_MIN_TIME = -(2**63)
_TOUCH = "direction IN ('inbound', 'outbound')"
_PERSONAL = "channel IN ('call', 'meeting') AND missed = 0"
_table_ids = itertools.count()

#: Each owner's latest activity at or before ``as_of``, first one after it, and first ever.
_OWNER_ACTIVITY = """
SELECT owner, max(occurred_at) FILTER (WHERE occurred_at <= :as_of),
    min(occurred_at) FILTER (WHERE occurred_at > :as_of), min(occurred_at)
FROM touchpoints
WHERE owner IS NOT NULL AND duplicate_of IS NULL
  AND (direction = 'outbound' OR (channel IN ('call', 'meeting') AND missed = 0))
GROUP BY owner
"""

#: The subset filters of the facts query: one customer, or those chosen for planning.
_ONE = ("AND t.customer = :customer", "AND c.key = :customer")
_DUE = (
    "AND t.customer IN (SELECT key FROM temp.engage_due)",
    "AND c.key IN (SELECT key FROM temp.engage_due)",
)

#: Customers with touchpoints up to ``as_of``: one streamed ``GROUP BY customer`` over the
#: customer index for the all-time values (in key order, so nothing is sorted or held),
#: joined to the customer's record (``CROSS JOIN`` keeps the aggregate the outer loop, so the
#: key order stays) and to the window counts, and the look-ups that depend on an aggregate
#: by correlated sub-queries, evaluated per group. The window counts are a second
#: ``GROUP BY`` over the last two windows only (a range of the customer index, materialised:
#: one row per recently active customer): every filter a row meets costs, and most of a long
#: history lies before the windows. ``last_touch`` is the later of the last inbound and
#: outbound, and ``touches_before`` the touches less the recent ones.
_WITH_TOUCHES = """
SELECT a.key, r.name, r.segment, r.first_seen, r.open_work, r.attributes,
    a.touches, a.first_any,
    max(coalesce(a.last_inbound, a.last_outbound), coalesce(a.last_outbound, a.last_inbound)),
    a.last_inbound, a.last_outbound,
    a.last_personal, a.first_engagement, a.last_feedback, a.value_at,
    coalesce(win.recent_touches, 0), coalesce(win.previous_touches, 0),
    coalesce(win.recent_inbound, 0), coalesce(win.recent_outbound, 0),
    coalesce(win.recent_personal, 0), coalesce(win.recent_email, 0),
    a.touches - coalesce(win.recent_touches, 0), win.window_change,
    (SELECT min(n.occurred_at) FROM touchpoints n
        WHERE n.customer = a.key AND n.occurred_at > :as_of AND n.duplicate_of IS NULL
    ) AS next_arrival,
    (SELECT count(*) FROM touchpoints e
        WHERE e.customer = a.key AND e.occurred_at <= :as_of
          AND e.occurred_at > coalesce(a.last_personal, {min_time})
          AND e.channel = 'email' AND e.direction = 'outbound'
          AND e.duplicate_of IS NULL) AS emails_since_personal,
    (SELECT min(u.occurred_at) FROM touchpoints u
        WHERE u.customer = a.key AND u.occurred_at <= :as_of AND u.direction = 'inbound'
          AND u.occurred_at > max(coalesce(a.last_outbound, {min_time}),
                                  coalesce(a.last_personal, {min_time}))
          AND NOT (u.{personal}) AND u.duplicate_of IS NULL) AS first_unanswered,
    (SELECT count(*) FROM touchpoints v
        WHERE v.customer = a.key AND v.occurred_at <= :as_of AND v.direction = 'inbound'
          AND v.occurred_at > max(coalesce(a.last_outbound, {min_time}),
                                  coalesce(a.last_personal, {min_time}))
          AND v.channel IN ('call', 'meeting') AND v.missed = 1
          AND v.duplicate_of IS NULL) AS missed_calls_waiting,
    (SELECT f.feedback FROM touchpoints f
        WHERE f.customer = a.key AND f.occurred_at = a.value_at
          AND f.feedback IS NOT NULL AND f.{touch} AND f.duplicate_of IS NULL
        ORDER BY f.source DESC, f.external_id DESC LIMIT 1) AS value,
    coalesce(r.owner,
        (SELECT o.owner FROM touchpoints o
        WHERE o.customer = a.key AND o.occurred_at <= :as_of AND o.owner IS NOT NULL
          AND o.duplicate_of IS NULL
        ORDER BY o.occurred_at DESC, o.source DESC, o.external_id DESC LIMIT 1)) AS owner,
    (SELECT json_group_array(json_array(c.email, c.n, c.latest,
            (SELECT ct.name FROM contacts ct WHERE ct.email = c.email)))
        FROM (
            SELECT k.email AS email, k.touches AS n, k.latest AS latest FROM contact_totals k
            WHERE a.totalled AND k.customer = a.key
            UNION ALL
            SELECT m.contact_email, count(*), max(m.occurred_at) FROM touchpoints m
            WHERE m.customer = a.key AND m.contact_email IS NOT NULL AND m.{touch}
              AND m.occurred_at > a.lo AND m.occurred_at <= :as_of AND m.duplicate_of IS NULL
            GROUP BY m.contact_email
        ) c
    ) AS contacts
FROM (
{all_time}
) a
CROSS JOIN customers r ON r.key = a.key
LEFT JOIN (
    SELECT t.customer AS key,
        count(*) FILTER (WHERE t.{touch} AND t.occurred_at > :as_of - {w}) AS recent_touches,
        count(*) FILTER (WHERE t.{touch} AND t.occurred_at <= :as_of - {w}) AS previous_touches,
        count(*) FILTER (
            WHERE t.direction = 'inbound' AND t.occurred_at > :as_of - {w}
        ) AS recent_inbound,
        count(*) FILTER (
            WHERE t.direction = 'outbound' AND t.occurred_at > :as_of - {w}
        ) AS recent_outbound,
        count(*) FILTER (
            WHERE t.{touch} AND t.{personal} AND t.occurred_at > :as_of - {w}
        ) AS recent_personal,
        count(*) FILTER (
            WHERE t.{touch} AND t.channel = 'email' AND t.occurred_at > :as_of - {w}
        ) AS recent_email,
        min(CASE WHEN t.occurred_at > :as_of - {w} THEN t.occurred_at + {w}
                 ELSE t.occurred_at + 2 * {w} END) FILTER (WHERE t.{touch}) AS window_change
    FROM touchpoints t {join}
    WHERE t.occurred_at <= :as_of AND t.occurred_at > :as_of - 2 * {w}
      AND t.duplicate_of IS NULL {only_t}
    GROUP BY t.customer
) win ON win.key = a.key
"""

#: The all-time values of every customer (or one): one streamed ``GROUP BY`` over the
#: customer index in key order. ``lo`` (the moment after which the main contact's look-up
#: reads) is the beginning of time, and no customer's contacts come from totals.
_ALL_TIME = (
    "    SELECT t.customer AS key,\n"
    + alltime.aggregates()
    + """,
        {min_time} AS lo, 0 AS totalled
    FROM touchpoints t
    WHERE t.occurred_at <= :as_of AND t.duplicate_of IS NULL {only_t}
    GROUP BY t.customer
    ORDER BY t.customer"""
)

#: The all-time values of the customers chosen for planning, each from its fact totals
#: (:mod:`engage.store.sqlite_totals`, when they are for a moment at or before ``as_of``)
#: and its touchpoints after them: a range of the customer index per customer, walked in
#: the key order of ``temp.engage_due``, added up as :func:`~engage.store.sqlite_alltime.added_to`
#: says. A customer with neither is left to :data:`_WITHOUT_TOUCHES`.
_ALL_TIME_FROM_TOTALS = (
    "    SELECT d.key AS key,\n"
    + alltime.added_to("ft")
    + """,
        coalesce(ft.upto, {min_time}) AS lo, ft.customer IS NOT NULL AS totalled
    FROM temp.engage_due d
    LEFT JOIN fact_totals ft ON ft.customer = d.key AND ft.upto <= :as_of
    LEFT JOIN touchpoints t ON t.customer = d.key
        AND t.occurred_at > coalesce(ft.upto, {min_time}) AND t.occurred_at <= :as_of
        AND t.duplicate_of IS NULL
    GROUP BY d.key
    HAVING ft.customer IS NOT NULL OR count(t.customer) > 0
    ORDER BY d.key"""
)

#: Customers with no touchpoint up to ``as_of`` (a record only, or only later touchpoints),
#: in key order, shaped like the rows of :data:`_WITH_TOUCHES`.
_WITHOUT_TOUCHES = """
SELECT c.key, c.name, c.segment, c.first_seen, c.open_work, c.attributes,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    (SELECT min(n.occurred_at) FROM touchpoints n
        WHERE n.customer = c.key AND n.occurred_at > :as_of AND n.duplicate_of IS NULL
    ) AS next_arrival,
    NULL, NULL, NULL, NULL, c.owner, NULL
FROM customers c
WHERE NOT EXISTS (
    SELECT 1 FROM touchpoints t
    WHERE t.customer = c.key AND t.occurred_at <= :as_of AND t.duplicate_of IS NULL
) {only_c}
ORDER BY c.key
"""


class _Segments:
    """Resolves (and caches) each customer's segment settings."""

    def __init__(self, settings: ScoringSettings) -> None:
        self.settings = settings
        self.by_declared: dict[str, SegmentSettings] = {}

    def __call__(self, key: str, declared: str | None) -> SegmentSettings:
        if declared:
            if declared not in self.by_declared:
                self.by_declared[declared] = self.settings.segment_for(key, declared)
            return self.by_declared[declared]
        return self.settings.segment_for(key)


def _time(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


@attrs.frozen
class OwnerActivity:
    """What the store's touchpoints say of the team's activity as of a moment.

    Attributes:
        last: Each owner's latest activity (outbound, call or meeting, any customer), in
            microseconds, for owners active at or before the moment.
        since: The first recorded activity of anyone (microseconds), or None: how far back
            the store's evidence of activity reaches.
    """

    last: dict[str, int]
    since: int | None

    def covers(self, now: int, span: int) -> bool:
        """The store records activity from at least ``span`` microseconds before ``now``."""
        return self.since is not None and now - self.since >= span


def owner_activity(conn: sqlite3.Connection, now: int, *, save: bool = False) -> OwnerActivity:
    """The team's activity (see :class:`OwnerActivity`) at or before ``now``.

    Read from the saved snapshot while it still holds: taken at or before ``now``, no
    touchpoint changed or deleted since (those triggers drop its stamp; an insert keeps it
    up to date, :mod:`engage.store.sqlite_inserted`), and no owner's next activity come due. Otherwise computed with
    one scan, and saved with ``save`` (the caller's transaction then holds the write lock).
    """
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
        conn.executemany(
            "INSERT INTO owner_activity (owner, last_active, next_active, first_active) "
            "VALUES (?, ?, ?, ?)",
            rows,
        )
        conn.execute(
            "INSERT OR REPLACE INTO planning (name, value) VALUES ('activity_as_of', ?)",
            (str(now),),
        )
    return _activity(rows)


def _activity(rows: list[Any]) -> OwnerActivity:
    """Rows of (owner, last_active, next_active, first_active) as an :class:`OwnerActivity`."""
    firsts = [first for _, last, _, first in rows if last is not None and first is not None]
    return OwnerActivity(
        {owner: last for owner, last, _, _ in rows if last is not None},
        min(firsts) if firsts else None,
    )


def history_start(conn: sqlite3.Connection, *, save: bool = False) -> int | None:
    """The moment of the store's first touchpoint (microseconds), or None when it has none.

    Read from ``planning`` while the stamp holds (an insert moves it earlier; a changed or
    deleted touchpoint drops it), else one scan, saved with ``save``.
    """
    row = conn.execute("SELECT value FROM planning WHERE name = 'history_start'").fetchone()
    if row is not None:
        return int(row[0])
    (first,) = conn.execute("SELECT min(occurred_at) FROM touchpoints").fetchone()
    if save and first is not None:
        conn.execute(
            "INSERT OR REPLACE INTO planning (name, value) VALUES ('history_start', ?)",
            (str(first),),
        )
    return None if first is None else int(first)


def load_owners(conn: sqlite3.Connection) -> dict[str, Owner]:
    """Every owner record, by id."""
    return {
        row[0]: Owner(row[0], email=row[1], name=row[2], active=bool(row[3]))
        for row in conn.execute("SELECT id, email, name, active FROM owners")
    }


def is_team_active(activity: OwnerActivity, now: int, inactive: int) -> bool:
    """Someone on the team was active within ``inactive`` microseconds of ``now``."""
    return any(now - moment <= inactive for moment in activity.last.values())


def owner_status(
    owner: Owner | None,
    last_active: int | None,
    team_active: bool,
    now: int,
    inactive: int,
    evidence: bool = True,
) -> OwnerStatus:
    """Whether an owner can look after a customer (see :class:`~engage.facts.OwnerStatus`).

    Quiet is inactive only with ``evidence``: the store records activity from at least
    ``inactive`` before ``now`` (two days of history prove nothing about a 60-day silence).
    """
    if owner is None:
        return OwnerStatus.NONE
    if not owner.active:
        return OwnerStatus.GONE
    quiet = last_active is None or now - last_active > inactive
    if team_active and evidence and quiet:
        return OwnerStatus.INACTIVE
    return OwnerStatus.ACTIVE


@attrs.frozen
class FactsRows:
    """A facts query's rows, in key order, and what makes one row a customer's facts.

    Assembling a row is Python work a planning child can do (:mod:`engage.mapahead`): the
    rows are tuples of numbers and strings, cheap to send; ``assemble`` holds what the
    query read first (owners, activity, segments) and is a function of the row alone.
    """

    rows: Iterator[Any]
    assemble: Callable[[Any], CustomerFacts]


def compute_facts(
    conn: sqlite3.Connection,
    as_of: datetime,
    settings: ScoringSettings,
    customer: str | None,
    *,
    due_only: bool = False,
) -> Iterator[CustomerFacts]:
    """Facts for every customer (or one, or those in ``temp.engage_due``) as of ``as_of``,
    in key order, streamed."""
    found = facts_rows(conn, as_of, settings, customer, due_only=due_only)
    assemble = found.assemble
    for row in found.rows:
        yield assemble(row)


def facts_rows(
    conn: sqlite3.Connection,
    as_of: datetime,
    settings: ScoringSettings,
    customer: str | None,
    *,
    due_only: bool = False,
) -> FactsRows:
    """The rows :func:`compute_facts` assembles, and how (the queries run as the rows are
    read; the owners, activity and history start are read now)."""
    as_of = ensure_utc(as_of, "facts: as_of")
    now = to_micros(as_of)
    params: dict[str, object] = {"as_of": now, "customer": customer}
    inactive = settings.owner_inactive_days * DAY_US
    activity = owner_activity(conn, now)
    team_active = is_team_active(activity, now, inactive)
    evidence = activity.covers(now, inactive)
    start = history_start(conn)
    owners = load_owners(conn)
    segments = _Segments(settings)
    windows = {s.window_days for s in settings.segments.values()}
    table = None
    if len(windows) == 1:
        params["w"] = windows.pop() * DAY_US
        window, join = ":w", ""
    else:
        table = f"temp.engage_facts_window_{next(_table_ids)}"
        _fill_windows(conn, table, segments, customer, due_only)
        window, join = "sw.w", f"JOIN {table} sw ON sw.key = t.customer"
    subset = _ONE if customer is not None else _DUE if due_only else ("", "")
    only_t, only_c = subset
    parts = {"touch": _TOUCH, "personal": _PERSONAL, "min_time": _MIN_TIME, "only_t": only_t}
    all_time = (_ALL_TIME_FROM_TOTALS if due_only and customer is None else _ALL_TIME).format(
        **parts
    )
    with_touches = _WITH_TOUCHES.format(**parts, w=window, join=join, all_time=all_time)
    without_touches = _WITHOUT_TOUCHES.format(only_c=only_c)

    def assemble(row: Any) -> CustomerFacts:
        return _assemble(
            row,
            as_of,
            segments,
            owners,
            activity,
            team_active,
            inactive,
            evidence,
            start,
            read_main_contact,
        )

    return FactsRows(_in_order(conn, with_touches, without_touches, params, table), assemble)


def _in_order(
    conn: sqlite3.Connection,
    with_touches: str,
    without_touches: str,
    params: dict[str, object],
    table: str | None,
) -> Iterator[Any]:
    """The two queries' rows merged in key order (checked); the window table dropped after."""
    try:
        rows = heapq.merge(
            _stream(conn.execute(with_touches, params)),
            _stream(conn.execute(without_touches, params)),
            key=lambda row: row[0],
        )
        last = None
        for row in rows:
            if last is not None and row[0] <= last:
                raise StoreError(
                    f"facts: SQLite returned customer {row[0]!r} after {last!r}; "
                    "expected key order (please report this)"
                )
            last = row[0]
            yield row
    finally:
        if table is not None:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


def _stream(cursor: sqlite3.Cursor) -> Iterator[Any]:
    while rows := cursor.fetchmany(500):
        yield from rows


def _fill_windows(
    conn: sqlite3.Connection, table: str, segments: _Segments, customer: str | None, due_only: bool
) -> None:
    conn.execute(f"CREATE TABLE {table} (key TEXT PRIMARY KEY, w INTEGER NOT NULL)")
    if customer is not None:
        cursor = conn.execute("SELECT key, segment FROM customers WHERE key = ?", (customer,))
    elif due_only:
        cursor = conn.execute(
            "SELECT key, segment FROM customers WHERE key IN (SELECT key FROM temp.engage_due)"
        )
    else:
        cursor = conn.execute("SELECT key, segment FROM customers")
    while rows := cursor.fetchmany(1000):
        conn.executemany(
            f"INSERT INTO {table} (key, w) VALUES (?, ?)",
            [(key, segments(key, declared).window_days * DAY_US) for key, declared in rows],
        )


def _assemble(
    row: Any,
    as_of: datetime,
    segments: _Segments,
    owners: dict[str, Owner],
    activity: OwnerActivity,
    team_active: bool,
    inactive: int,
    evidence: bool,
    history_start: int | None,
    read_main: Callable[[Any], tuple[str | None, str | None]] | None = None,
) -> CustomerFacts:
    """One row of a facts query as a customer's facts. The row's last value is its main
    contact as ``email`` + U+001F + name, or what ``read_main`` reads as (email, name)."""
    (
        key, name, declared, first_seen, open_work, attributes,
        touches, first_any, last_touch, last_inbound, last_outbound,
        last_personal, first_engagement, last_feedback, value_at,
        recent_touches, previous_touches, recent_inbound, recent_outbound,
        recent_personal, recent_email, touches_before, window_change, next_arrival,
        emails_since_personal, first_unanswered, missed_calls_waiting, value, owner_id, main,
    ) = row  # fmt: skip
    if read_main is not None:
        main_contact, main_contact_name = read_main(main)
    else:
        main_contact, _, name_text = main.partition("\x1f") if main else (None, "", "")
        main_contact_name = name_text or None
    segment = segments(key, declared)
    now = to_micros(as_of)
    starts = [m for m in (first_any, first_seen) if m is not None and m <= now]
    upcoming = [m for m in (window_change, next_arrival, first_seen) if m is not None and m > now]
    two_way = [m for m in (last_personal,) if m is not None]
    if last_inbound is not None and last_outbound is not None:
        two_way.append(min(last_inbound, last_outbound))
    owner = None if owner_id is None else owners.get(owner_id) or Owner(owner_id)
    last_active = None if owner_id is None else activity.last.get(owner_id)
    status = owner_status(owner, last_active, team_active, now, inactive, evidence)
    return CustomerFacts(
        customer=Customer(
            key=key,
            name=name,
            segment=segment.name,
            owner=owner_id,
            first_seen=_time(first_seen),
            open_work=bool(open_work),
            attributes=json.loads(attributes) if attributes != "{}" else {},
        ),
        as_of=as_of,
        settings=segment,
        touches=touches or 0,
        first_touch=_time(min(starts)) if starts else None,
        last_touch=_time(last_touch),
        last_inbound=_time(last_inbound),
        last_outbound=_time(last_outbound),
        last_two_way=_time(max(two_way)) if two_way else None,
        last_personal=_time(last_personal),
        first_engagement=_time(first_engagement),
        last_feedback=_time(last_feedback),
        last_feedback_value=value,
        last_feedback_value_at=_time(value_at),
        feedback_since_engagement=(
            first_engagement is not None
            and last_feedback is not None
            and last_feedback >= first_engagement
        ),
        recent_touches=recent_touches or 0,
        previous_touches=previous_touches or 0,
        recent_inbound=recent_inbound or 0,
        recent_outbound=recent_outbound or 0,
        recent_personal=recent_personal or 0,
        recent_email=recent_email or 0,
        emails_since_personal=emails_since_personal or 0,
        first_unanswered=_time(first_unanswered),
        missed_calls_waiting=missed_calls_waiting or 0,
        history_start=_time(history_start),
        touches_before_window=touches_before or 0,
        owner=owner,
        owner_status=status,
        owner_last_active=_time(last_active),
        team_active=team_active,
        main_contact=main_contact,
        main_contact_name=main_contact_name,
        changes_at=_time(min(upcoming)) if upcoming else None,
    )
