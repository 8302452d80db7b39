"""Busy customers' fact totals: what planning them again need not read twice.

A customer with a long history (the account whose team writes every day) is planned again
at nearly every sync, and its facts were each time a walk over every touchpoint it ever had.
Its all-time facts as of a moment ``upto`` — the touches, the first and latest touch of each
kind, every contact's touches and latest touch — are saved in ``fact_totals`` after it is
planned (for customers with at least :data:`TOTALS_FROM` touches); the facts query then
reads only its touchpoints after ``upto`` and adds them to the totals
(:mod:`engage.store.sqlite_facts`).

The totals are kept true: a touchpoint inserted at or before ``upto`` (one logged late) is
added to them by its insert (:mod:`engage.store.sqlite_inserted`); the schema's triggers
drop a customer's totals when any of its touchpoints is changed or deleted (merges and
identity moves included), and when it is retired. Totals are saved in the transaction that
saves the customer's plan, and not for a customer marked for re-planning since the planning
began: a write that landed while its facts were read is not in them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from engage.store import sqlite_alltime as alltime

#: Customers with at least this many touches get fact totals: below it, reading the whole
#: history costs about what reading the totals does.
TOTALS_FROM = 200

#: Positions in a facts row (:data:`engage.store.sqlite_facts._WITH_TOUCHES`) of the key,
#: the all-time values the totals keep, and the contacts.
_KEY, _TOUCHES, _FIRST_ANY = 0, 6, 7
_ALL_TIME = (6, 7, 9, 10, 11, 12, 13, 14)  # alltime.COLUMNS (touches .. value_at), no last_touch
_CONTACTS = 29

_SAVE = (
    f"INSERT OR IGNORE INTO fact_totals (customer, upto, {', '.join(alltime.COLUMNS)}) "
    f"VALUES (?, ?, {', '.join('?' * len(alltime.COLUMNS))})"
)
_SAVE_CONTACT = "INSERT INTO contact_totals (customer, email, touches, latest) VALUES (?, ?, ?, ?)"

Contacts = dict[str, tuple[int, int, str | None]]  # email → (touches, latest touch, name)
#: A customer's totals: the all-time values (key first) and each contact's
#: (email, touches, latest touch).
Totals = tuple[tuple[Any, ...], list[tuple[str, int, int]]]


def merged_contacts(text: str | None) -> Contacts:
    """The contacts of a facts row (JSON ``[[email, touches, latest, name], …]``, where an
    email may come twice: from the totals and from the touchpoints after them), merged."""
    merged: Contacts = {}
    if not text:
        return merged
    for email, touches, latest, name in json.loads(text):
        seen = merged.get(email)
        if seen is not None:
            touches, latest = touches + seen[0], max(latest, seen[1])
        merged[email] = (touches, latest, name)
    return merged


def read_main_contact(text: str | None) -> tuple[str | None, str | None]:
    """The main contact of a facts row's contacts and its name: the most touches, then the
    latest touch, then the smallest email."""
    contacts = merged_contacts(text)
    if not contacts:
        return None, None
    email = min(contacts, key=lambda e: (-contacts[e][0], -contacts[e][1], e))
    return email, contacts[email][2] or None


def totals_of(row: Any) -> Totals | None:
    """What the totals keep of a facts row: the all-time values (key first, without ``upto``)
    and each contact's (email, touches, latest touch); None for a customer with fewer than
    :data:`TOTALS_FROM` touches."""
    touches = row[_TOUCHES]
    if touches is None or touches < TOTALS_FROM or row[_FIRST_ANY] is None:
        return None
    contacts = merged_contacts(row[_CONTACTS])
    return (
        (row[_KEY], *(row[i] for i in _ALL_TIME)),
        [(email, n, latest) for email, (n, latest, _) in contacts.items()],
    )


def save_totals(
    conn: sqlite3.Connection, totals: Mapping[str, Totals], keys: Iterable[str], upto: int
) -> None:
    """Save the totals of these customers as of ``upto``, in the caller's transaction, except
    for a customer marked for re-planning since the planning began (a write its facts have
    not seen) or one that holds totals for a later moment."""
    wanted = [totals[key] for key in keys if key in totals]
    if not wanted:
        return
    stale = {
        key
        for (key,) in conn.execute(
            "SELECT customer FROM stale_customers WHERE customer IN "
            "(SELECT value FROM json_each(?))",
            (json.dumps([values[0] for values, _ in wanted]),),
        )
    }
    for values, contacts in wanted:
        key = values[0]
        if key in stale:
            continue
        conn.execute("DELETE FROM fact_totals WHERE customer = ? AND upto <= ?", (key, upto))
        if conn.execute(_SAVE, (key, upto, *values[1:])).rowcount:
            conn.executemany(_SAVE_CONTACT, [(key, *contact) for contact in contacts])
