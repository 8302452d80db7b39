"""The all-time facts of a customer's touchpoints, defined once for the SQL that reads them.

The facts query aggregates them over a customer's history (:mod:`engage.store.sqlite_facts`),
adds the touchpoints after a customer's fact totals to those totals
(:mod:`engage.store.sqlite_totals`), and an insert folds late touchpoints into the totals
(:mod:`engage.store.sqlite_inserted`). Each is generated here from :data:`ALL_TIME`, so the
three cannot drift apart. Conditions read a touchpoint row aliased ``t``; only rows that are
no duplicate count (the callers' ``WHERE``).
"""

from __future__ import annotations

#: A touch: something went in or out (not an internal note).
TOUCH = "t.direction IN ('inbound', 'outbound')"
#: A conversation: a call or meeting that took place.
PERSONAL = "t.channel IN ('call', 'meeting') AND t.missed = 0"

#: (column, aggregate, the rows it counts or None for all), in the facts rows' order.
ALL_TIME: tuple[tuple[str, str, str | None], ...] = (
    ("touches", "count", TOUCH),
    ("first_any", "min", None),
    ("last_inbound", "max", "t.direction = 'inbound'"),
    ("last_outbound", "max", "t.direction = 'outbound'"),
    ("last_personal", "max", f"{TOUCH} AND {PERSONAL}"),
    ("first_engagement", "min", f"{TOUCH} AND {PERSONAL}"),
    ("last_feedback", "max", f"{TOUCH} AND (t.channel = 'feedback' OR t.feedback IS NOT NULL)"),
    ("value_at", "max", f"{TOUCH} AND t.feedback IS NOT NULL"),
)

#: The columns of :data:`ALL_TIME`, in order.
COLUMNS = tuple(column for column, _, _ in ALL_TIME)


def _aggregate(kind: str, rows: str | None) -> str:
    value = "count(*)" if kind == "count" else f"{kind}(t.occurred_at)"
    return value if rows is None else f"{value} FILTER (WHERE {rows})"


def aggregates(indent: str = "        ") -> str:
    """``SELECT`` terms: each all-time fact of the rows ``t``, named by its column."""
    return ",\n".join(
        f"{indent}{_aggregate(kind, rows)} AS {column}" for column, kind, rows in ALL_TIME
    )


def _combined(kind: str, mine: str, more: str) -> str:
    """A total and more of the same (either possibly NULL): counts add up, the earliest of a
    minimum and the latest of a maximum win."""
    if kind == "count":
        return f"coalesce({mine}, 0) + {more}"
    return f"coalesce({kind}({mine}, {more}), {mine}, {more})"


def added_to(totals: str, indent: str = "        ") -> str:
    """``SELECT`` terms: each fact of the rows ``t`` combined with the same column of
    ``totals`` (a row for earlier moments, or all NULL), named by its column."""
    return ",\n".join(
        f"{indent}{_combined(kind, f'{totals}.{column}', _aggregate(kind, rows))} AS {column}"
        for column, kind, rows in ALL_TIME
    )


def folded_into(totals: str, new: str, indent: str = "        ") -> str:
    """``SET`` terms: each column of ``totals`` updated with the same column of ``new``
    (the facts of more rows)."""
    return ",\n".join(
        f"{indent}{column} = {_combined(kind, f'{totals}.{column}', f'{new}.{column}')}"
        for column, kind, _ in ALL_TIME
    )
