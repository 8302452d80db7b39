"""Writing touchpoints to SQLite: upserts that do only the work each row needs, and merges.

- **Upserts.** One query per chunk finds which rows the store already holds; new rows are
  inserted, known rows updated only where something differs. A first load so never pays
  for updates, and a re-pull never pays for inserts.
- **Merges.** The same email reaches engage from several places (the mailbox, the CRM that
  logged it, a CSV export). A touchpoint is marked ``duplicate_of`` the one another source
  already holds when both carry the same Message-ID, or, when either lacks one, when both
  are emails of the same customer, contact, direction and subject within a minute. Scoring
  counts only unmarked rows. Merges are looked for only when another source has touchpoints.
"""

from __future__ import annotations

import functools
import itertools
import operator
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from engage.errors import StoreError
from engage.store.sqlite_inserted import last_rowid, record_inserted
from engage.store.touchpoint_rows import ids_by_source, split_known

#: Emails this close in time (microseconds) with the same parties and subject are one email.
SAME_EMAIL_WINDOW = 60_000_000

#: Columns of a touchpoint row, in order.
COLUMNS = (
    "source",
    "external_id",
    "customer",
    "contact_email",
    "occurred_at",
    "channel",
    "direction",
    "owner",
    "subject",
    "feedback",
    "message_id",
    "missed",
)

#: Rows one INSERT statement takes: a hundred rows' values bound to one statement spare the
#: other 99 the work SQLite and the sqlite3 module do per statement run (reset, program
#: set-up, step), about 0.7 µs a row (a million rows: 3.1 s instead of 3.8 s).
ROWS_PER_INSERT = 100

#: Positions of the columns a touchpoint may leave empty.
_OPTIONAL = tuple(
    COLUMNS.index(c) for c in ("contact_email", "owner", "subject", "feedback", "message_id")
)

UPDATE = """UPDATE touchpoints SET customer = ?3, contact_email = coalesce(?4, contact_email),
        occurred_at = ?5, channel = ?6, direction = ?7, owner = coalesce(?8, owner),
        subject = coalesce(?9, subject), feedback = coalesce(?10, feedback),
        message_id = coalesce(?11, message_id), missed = ?12
    WHERE source = ?1 AND external_id = ?2 AND (customer IS NOT ?3
        OR contact_email IS NOT coalesce(?4, contact_email) OR occurred_at IS NOT ?5
        OR channel IS NOT ?6 OR direction IS NOT ?7 OR owner IS NOT coalesce(?8, owner)
        OR subject IS NOT coalesce(?9, subject) OR feedback IS NOT coalesce(?10, feedback)
        OR message_id IS NOT coalesce(?11, message_id) OR missed IS NOT ?12)"""

_SAME_MESSAGE = """
    SELECT d.source || char(31) || d.external_id FROM touchpoints d
    WHERE d.message_id = touchpoints.message_id AND d.source <> touchpoints.source AND d.duplicate_of IS NULL
    ORDER BY d.source, d.external_id LIMIT 1"""

_SAME_EMAIL = f"""
    SELECT d.source || char(31) || d.external_id FROM touchpoints d
    WHERE d.customer = touchpoints.customer
      AND d.occurred_at BETWEEN touchpoints.occurred_at - {SAME_EMAIL_WINDOW} AND touchpoints.occurred_at + {SAME_EMAIL_WINDOW}
      AND d.source <> touchpoints.source AND d.duplicate_of IS NULL AND d.channel = 'email'
      AND d.direction = touchpoints.direction AND d.contact_email IS touchpoints.contact_email
      AND lower(coalesce(d.subject, '')) = lower(coalesce(touchpoints.subject, ''))
      AND (d.message_id IS NULL OR touchpoints.message_id IS NULL OR d.message_id = touchpoints.message_id)
    ORDER BY d.source, d.external_id LIMIT 1"""

MARK_SAME_MESSAGE = f"""UPDATE touchpoints SET duplicate_of = ({_SAME_MESSAGE})
    WHERE source = ?1 AND external_id = ?2 AND duplicate_of IS NULL
      AND message_id IS NOT NULL AND EXISTS ({_SAME_MESSAGE})"""

MARK_SAME_EMAIL = f"""UPDATE touchpoints SET duplicate_of = ({_SAME_EMAIL})
    WHERE source = ?1 AND external_id = ?2 AND duplicate_of IS NULL
      AND channel = 'email' AND EXISTS ({_SAME_EMAIL})"""

#: When a canonical touchpoint goes, the ones merged into it count again.
UNMERGE = "UPDATE touchpoints SET duplicate_of = NULL WHERE duplicate_of = ?"


@functools.cache
def _insert_statement(empty: tuple[int, ...], rows: int) -> str:
    """An INSERT of ``rows`` new rows, with NULL for the columns at ``empty``.

    ``OR IGNORE``, not ``ON CONFLICT ... DO NOTHING``: an upsert clause makes SQLite look the
    key up before the insert looks for it again, about a second of a million-row load.
    ``OR IGNORE`` would pass over a row breaking a NOT NULL constraint too; the models never
    give one, and :func:`upsert` checks every row landed.
    """
    row = ", ".join("NULL" if i in empty else "?" for i in range(len(COLUMNS)))
    values = ", ".join([f"({row})"] * rows)
    return f"INSERT OR IGNORE INTO touchpoints ({', '.join(COLUMNS)}) VALUES {values}"


@functools.cache
def _given(empty: tuple[int, ...]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """What picks a row's values for the columns not at ``empty``."""
    return operator.itemgetter(*(i for i in range(len(COLUMNS)) if i not in empty))


def insert(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert the rows the table lacks (doing nothing for a stored key); returns how many.

    A column empty in every row is written as a NULL in the statement, not bound row by
    row: the sqlite3 module looks for an adapter for each None it binds, about a
    microsecond each, and a source often leaves a column empty throughout (a CSV export
    carries no Message-ID). The rows go :data:`ROWS_PER_INSERT` to a statement, in order.
    """
    empty = tuple(i for i in _OPTIONAL if all(row[i] is None for row in rows))
    values = list(map(_given(empty), rows)) if empty else rows
    per = ROWS_PER_INSERT
    whole = len(values) - len(values) % per
    inserted = 0
    if whole:
        flat = itertools.chain.from_iterable
        runs = [tuple(flat(values[at : at + per])) for at in range(0, whole, per)]
        inserted += conn.executemany(_insert_statement(empty, per), runs).rowcount
    if whole < len(values):
        inserted += conn.executemany(_insert_statement(empty, 1), values[whole:]).rowcount
    return inserted


def existing_ids(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> set[tuple[str, str]]:
    """The (source, external_id) pairs of ``rows`` the store already holds."""
    found: set[tuple[str, str]] = set()
    for source, ids in ids_by_source(rows).items():
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            query = f"SELECT external_id FROM touchpoints WHERE source = ? AND external_id IN ({','.join('?' * len(part))})"
            found.update(
                (source, external_id) for (external_id,) in conn.execute(query, (source, *part))
            )
    return found


def upsert(
    conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]], *, bulk: bool = False
) -> tuple[int, int]:
    """Insert new rows and update known ones; returns (inserted, updated).

    With ``bulk`` (a load into a store that was empty when its transaction began, so nearly
    every row is new) the rows are inserted without looking first; only when some were
    already there is every row of the chunk applied again as an update, in order, which
    changes just those (a row inserted a moment ago already holds its values): the same
    result and counts as looking first.
    """
    if bulk:
        inserted = insert(conn, rows) if rows else 0
        if inserted == len(rows):
            return inserted, 0
        updated = conn.executemany(UPDATE, rows).rowcount
        _check_landed(conn, rows)
        return inserted, updated
    known = existing_ids(conn, rows)
    new, old = split_known(rows, known)
    inserted = 0
    if new:
        after = last_rowid(conn)
        inserted = insert(conn, new)
        if inserted != len(new):  # each is a key the table lacked: one was refused
            _check_landed(conn, new)
        record_inserted(conn, after)
    updated = conn.executemany(UPDATE, old).rowcount if old else 0
    return inserted, updated


def _check_landed(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Raise unless the table holds every row's key.

    Raises:
        StoreError: a row was refused by a constraint other than its key (a NOT NULL column
            without a value): a bug in the records' checks, which must not pass unseen.
    """
    missing = {(row[0], row[1]) for row in rows} - existing_ids(conn, rows)
    if missing:
        source, external_id = min(missing)
        raise StoreError(
            f"touchpoints: {len(missing)} row(s) refused by the table, such as {source} "
            f"{external_id!r} (a required column without a value); this write is rolled back"
        )


def other_sources_exist(conn: sqlite3.Connection, sources: set[str]) -> bool:
    """True when the store holds touchpoints of a source not in ``sources`` (merges are possible)."""
    # Ranges around each known source use the primary key: no scan, however large the table.
    bounds = sorted(sources)
    ranges = ["source < ?", *["(source > ? AND source < ?)" for _ in bounds[1:]], "source > ?"]
    params = [
        bounds[0],
        *[b for pair in itertools.pairwise(bounds) for b in pair],
        bounds[-1],
    ]
    query = f"SELECT 1 FROM touchpoints WHERE {' OR '.join(ranges)} LIMIT 1"
    return conn.execute(query, params).fetchone() is not None


def mark_merges(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Mark rows that repeat an email another source holds; returns how many were merged.

    Worth calling only when :func:`other_sources_exist`; it uses the customer index.
    """
    if not rows:
        return 0
    merged = 0
    with_id = [(row[0], row[1]) for row in rows if row[10]]
    if with_id:
        merged += conn.executemany(MARK_SAME_MESSAGE, with_id).rowcount
    emails = [(row[0], row[1]) for row in rows if row[5] == "email"]
    if emails:
        merged += conn.executemany(MARK_SAME_EMAIL, emails).rowcount
    return merged
