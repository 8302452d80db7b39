"""Touchpoints as the rows the store writes, the same in every backend.

A row is a tuple of the touchpoint columns (:data:`engage.store.sqlite_touchpoints.COLUMNS`):
``source``, ``external_id``, ``customer``, ``contact_email``, ``occurred_at`` in microseconds
since the epoch, ``channel`` and ``direction`` as their text, ``owner``, ``subject``,
``feedback``, ``message_id`` and ``missed`` as 0 or 1. :class:`TouchpointRows` carries a run of
touchpoints in that form from a source reading ahead in a child process
(:mod:`engage.readahead`) to the store; the helpers below sort a chunk of rows before an
upsert.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs

from engage.clock import EPOCH, MICROSECOND, from_micros
from engage.models import Channel, Direction, Touchpoint

Row = tuple[Any, ...]

#: Positions in a row: source, external_id, customer, contact_email, occurred_at, owner.
SOURCE_AT, EXTERNAL_ID_AT, CUSTOMER_AT, CONTACT_AT, WHEN_AT, OWNER_AT = 0, 1, 2, 3, 4, 7

_TEXT: dict[Channel | Direction, str] = {m: m.value for m in (*Channel, *Direction)}
_CHANNEL = {c.value: c for c in Channel}
_DIRECTION = {d.value: d for d in Direction}


def rows_of(touchpoints: Iterable[Touchpoint]) -> list[Row]:
    """The touchpoints as rows (their times in microseconds since the epoch)."""
    text = _TEXT
    # occurred_at is aware (the model refuses naive times): no UTC check per row
    return [
        (t.source, t.external_id, t.customer, t.contact_email,
         (t.occurred_at - EPOCH) // MICROSECOND, text[t.channel], text[t.direction], t.owner,
         t.subject, t.feedback, t.message_id, int(t.missed))
        for t in touchpoints
    ]  # fmt: skip


def checked_row(
    source: str,
    external_id: str,
    customer: str,
    occurred_at: datetime,
    channel: Channel,
    direction: Direction,
    contact_email: str | None = None,
    owner: str | None = None,
    subject: str | None = None,
    feedback: float | None = None,
    message_id: str | None = None,
    missed: bool = False,
) -> Row:
    """The row :func:`rows_of` makes of ``Touchpoint.from_checked`` of the same values,
    without the touchpoint: for a source reading ahead whose rows are stored as rows
    (:func:`engage.readahead.rows_wanted`), which builds no object only to take it apart.

    The values must be what :meth:`~engage.models.Touchpoint.from_checked` asks for (checked
    by the source: an aware UTC ``occurred_at``, members of the enums, and so on).
    """
    return (
        source, external_id, customer, contact_email, (occurred_at - EPOCH) // MICROSECOND,
        _TEXT[channel], _TEXT[direction], owner, subject, feedback, message_id, int(missed),
    )  # fmt: skip


@attrs.frozen
class TouchpointRows:
    """A run of touchpoints in row form, in their order: what a source reading ahead in a
    child process sends where the pull says it takes them (:mod:`engage.readahead`).

    A row of a dozen strings and numbers crosses between processes in a seventh of the time
    a :class:`~engage.models.Touchpoint` takes, and the store writes rows anyway, so a first
    load of a large file builds no touchpoint object in the process that stores it. Made
    only from touchpoints (checked by their model); :meth:`touchpoints` gives them back.
    """

    rows: list[Row]

    @classmethod
    def of(cls, touchpoints: Iterable[Touchpoint]) -> TouchpointRows:
        """The touchpoints as rows."""
        return cls(rows_of(touchpoints))

    def __len__(self) -> int:
        return len(self.rows)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as its rows alone: attrs' own state is a dict per object, set again
        # attribute by attribute, and a first load's runs are many and short (each new
        # customer or contact ends one): 0.4 of the time to pickle, 0.5 to unpickle
        return (TouchpointRows, (self.rows,))

    def touchpoints(self) -> list[Touchpoint]:
        """The touchpoints again, equal to those the rows were made of."""
        make, channel, direction = Touchpoint.from_checked, _CHANNEL, _DIRECTION
        return [
            make(r[0], r[1], r[2], from_micros(r[4]), channel[r[5]], direction[r[6]], r[3],
                 r[7], r[8], r[9], r[10], bool(r[11]))
            for r in self.rows
        ]  # fmt: skip


def rows_in(items: Iterable[Touchpoint | TouchpointRows]) -> list[Row]:
    """The rows of touchpoints and runs of rows, in their order."""
    rows: list[Row] = []
    single: list[Touchpoint] = []
    for item in items:
        if type(item) is TouchpointRows:
            if single:
                rows += rows_of(single)
                single = []
            rows += item.rows
        else:
            single.append(item)  # type: ignore[arg-type]
    if single:
        rows += rows_of(single)
    return rows


def ids_by_source(rows: Sequence[tuple[Any, ...]]) -> dict[str, list[str]]:
    """The external ids of ``rows``, by source (in the rows' order)."""
    by_source: dict[str, list[str]] = {}
    for row in rows:
        by_source.setdefault(row[0], []).append(row[1])
    return by_source


def split_known(
    rows: Sequence[tuple[Any, ...]], known: set[tuple[str, str]]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """``rows`` split into (new, old): old rows are ``known`` (stored) ones, and repeats of a
    row earlier in the chunk, which update it. Adds the new rows' ids to ``known``."""
    new: list[tuple[Any, ...]] = []
    old: list[tuple[Any, ...]] = []
    for row in rows:
        ident = (row[0], row[1])
        if ident in known:
            old.append(row)
        else:
            new.append(row)
            known.add(ident)  # a repeat later in the chunk is an update of this one
    return new, old
