"""Writing touchpoints to PostgreSQL: upserts, first loads by ``COPY``, and merges.

The same rules as the SQLite store (:mod:`engage.store.sqlite_touchpoints`): one query per
chunk finds the rows already stored; new rows are inserted (with ``COPY`` while a
transaction loads into an empty store), known rows updated only where something differs;
a touchpoint repeating an email another source holds is marked ``duplicate_of`` it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import psycopg

from engage.store.sqlite_touchpoints import COLUMNS, SAME_EMAIL_WINDOW
from engage.store.touchpoint_rows import ids_by_source, split_known

Connection = psycopg.Connection[tuple[Any, ...]]

_TYPES = ("text", "text", "text", "text", "bigint", "text", "text", "text", "text",
          "double precision", "text", "integer")  # fmt: skip

INSERT = f"""INSERT INTO touchpoints ({", ".join(COLUMNS)})
    VALUES ({", ".join(["%s"] * len(COLUMNS))}) ON CONFLICT (source, external_id) DO NOTHING"""

COPY = f"COPY touchpoints ({', '.join(COLUMNS)}) FROM STDIN"

_VALUES = ", ".join(f"%s::{kind}" for kind in _TYPES)

UPDATE = f"""UPDATE touchpoints AS t SET customer = v.customer,
        contact_email = coalesce(v.contact_email, t.contact_email),
        occurred_at = v.occurred_at, channel = v.channel, direction = v.direction,
        owner = coalesce(v.owner, t.owner), subject = coalesce(v.subject, t.subject),
        feedback = coalesce(v.feedback, t.feedback),
        message_id = coalesce(v.message_id, t.message_id), missed = v.missed
    FROM (VALUES ({_VALUES})) AS v ({", ".join(COLUMNS)})
    WHERE t.source = v.source AND t.external_id = v.external_id
      AND (t.customer IS DISTINCT FROM v.customer
        OR t.contact_email IS DISTINCT FROM coalesce(v.contact_email, t.contact_email)
        OR t.occurred_at IS DISTINCT FROM v.occurred_at
        OR t.channel IS DISTINCT FROM v.channel OR t.direction IS DISTINCT FROM v.direction
        OR t.owner IS DISTINCT FROM coalesce(v.owner, t.owner)
        OR t.subject IS DISTINCT FROM coalesce(v.subject, t.subject)
        OR t.feedback IS DISTINCT FROM coalesce(v.feedback, t.feedback)
        OR t.message_id IS DISTINCT FROM coalesce(v.message_id, t.message_id)
        OR t.missed IS DISTINCT FROM v.missed)"""

_SAME_MESSAGE = """
    SELECT d.source || chr(31) || d.external_id FROM touchpoints d
    WHERE d.message_id = t.message_id AND d.source <> t.source AND d.duplicate_of IS NULL
    ORDER BY d.source, d.external_id LIMIT 1"""

_SAME_EMAIL = f"""
    SELECT d.source || chr(31) || d.external_id FROM touchpoints d
    WHERE d.customer = t.customer
      AND d.occurred_at BETWEEN t.occurred_at - {SAME_EMAIL_WINDOW}
                            AND t.occurred_at + {SAME_EMAIL_WINDOW}
      AND d.source <> t.source AND d.duplicate_of IS NULL AND d.channel = 'email'
      AND d.direction = t.direction AND d.contact_email IS NOT DISTINCT FROM t.contact_email
      AND lower(coalesce(d.subject, '')) = lower(coalesce(t.subject, ''))
      AND (d.message_id IS NULL OR t.message_id IS NULL OR d.message_id = t.message_id)
    ORDER BY d.source, d.external_id LIMIT 1"""

MARK_SAME_MESSAGE = f"""UPDATE touchpoints AS t SET duplicate_of = ({_SAME_MESSAGE})
    WHERE t.source = %s AND t.external_id = %s AND t.duplicate_of IS NULL
      AND t.message_id IS NOT NULL AND EXISTS ({_SAME_MESSAGE})"""

MARK_SAME_EMAIL = f"""UPDATE touchpoints AS t SET duplicate_of = ({_SAME_EMAIL})
    WHERE t.source = %s AND t.external_id = %s AND t.duplicate_of IS NULL
      AND t.channel = 'email' AND EXISTS ({_SAME_EMAIL})"""

#: When a canonical touchpoint goes, the ones merged into it count again.
UNMERGE = "UPDATE touchpoints SET duplicate_of = NULL WHERE duplicate_of = %s"


def existing_ids(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> set[tuple[str, str]]:
    """The (source, external_id) pairs of ``rows`` the store already holds."""
    found: set[tuple[str, str]] = set()
    for source, ids in ids_by_source(rows).items():
        found.update(
            (source, external_id)
            for (external_id,) in conn.execute(
                "SELECT external_id FROM touchpoints WHERE source = %s AND external_id = ANY(%s)",
                (source, ids),
            )
        )
    return found


def upsert(
    conn: Connection, rows: Sequence[tuple[Any, ...]], *, copy: bool = False
) -> tuple[int, int]:
    """Insert new rows (by ``COPY`` with ``copy``: the caller holds the table, which had no
    row when its transaction began) and update known ones; returns (inserted, updated)."""
    known = existing_ids(conn, rows)
    new, old = split_known(rows, known)
    inserted = 0
    with conn.cursor() as cursor:
        if new and copy:
            with cursor.copy(COPY) as stream:
                for row in new:
                    stream.write_row(row)
            inserted = len(new)
        elif new:
            cursor.executemany(INSERT, new)
            inserted = cursor.rowcount
        updated = 0
        if old:
            cursor.executemany(UPDATE, old)
            updated = cursor.rowcount
    return inserted, updated


def other_sources_exist(conn: Connection, sources: set[str]) -> bool:
    """True when the store holds touchpoints of a source not in ``sources``."""
    # Ranges around each known source use the primary key: no scan, however large the table.
    bounds = sorted(sources)
    ranges = ["source < %s", *["(source > %s AND source < %s)" for _ in bounds[1:]], "source > %s"]
    params = [bounds[0], *[b for pair in itertools.pairwise(bounds) for b in pair], bounds[-1]]
    query = f"SELECT EXISTS (SELECT 1 FROM touchpoints WHERE {' OR '.join(ranges)})"
    row = conn.execute(query, params).fetchone()
    return bool(row and row[0])


def mark_merges(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Mark rows that repeat an email another source holds; returns how many were merged."""
    merged = 0
    with conn.cursor() as cursor:
        with_id = [(row[0], row[1]) for row in rows if row[10]]
        if with_id:
            cursor.executemany(MARK_SAME_MESSAGE, with_id)
            merged += cursor.rowcount
        emails = [(row[0], row[1]) for row in rows if row[5] == "email"]
        if emails:
            cursor.executemany(MARK_SAME_EMAIL, emails)
            merged += cursor.rowcount
    return merged
