"""A customer's touchpoints in time order, each email once however many sources hold it.

The store marks a touchpoint that repeats an email another source already holds
(``duplicate_of``; see :mod:`engage.store.sqlite_touchpoints`). A timeline shows the kept one
once, with the copies merged into it, so a reader sees what happened and where engage heard
of it. ``engage timeline CUSTOMER`` prints it; in Python, :meth:`engage.Engine.timeline`.
"""

from __future__ import annotations

from typing import Any

import attrs

from engage.models import Touchpoint


@attrs.frozen
class MergedCopy:
    """A touchpoint merged into another: the same email as another source holds it.

    Attributes:
        source: The source that holds the copy.
        external_id: Its id there.
    """

    source: str
    external_id: str


@attrs.frozen
class TimelineEntry:
    """One touchpoint of a customer's timeline.

    Attributes:
        touchpoint: The touchpoint as stored (the one that counts, when copies were merged).
        merged: The copies other sources hold of it, merged into it (by source and id).
        duplicate_of: For a copy whose kept touchpoint is not on this timeline (another
            customer's, or outside the range asked for): that touchpoint's (source, id).
            Such an entry does not count towards health.
    """

    touchpoint: Touchpoint
    merged: tuple[MergedCopy, ...] = ()
    duplicate_of: MergedCopy | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        """Every source that holds this touchpoint, its own first, each once."""
        return tuple(dict.fromkeys((self.touchpoint.source, *(c.source for c in self.merged))))

    def to_json(self) -> dict[str, Any]:
        """The entry as ``engage timeline --json`` prints it."""
        touch = self.touchpoint
        return {
            "occurred_at": touch.occurred_at.isoformat(),
            "channel": touch.channel.value,
            "direction": touch.direction.value,
            "missed": touch.missed,
            "contact": touch.contact_email,
            "owner": touch.owner,
            "subject": touch.subject,
            "feedback": touch.feedback,
            "source": touch.source,
            "external_id": touch.external_id,
            "sources": list(self.sources),
            "merged": [{"source": c.source, "external_id": c.external_id} for c in self.merged],
            "duplicate_of": None
            if self.duplicate_of is None
            else {"source": self.duplicate_of.source, "external_id": self.duplicate_of.external_id},
        }


def assemble(rows: list[tuple[Touchpoint, str | None]]) -> list[TimelineEntry]:
    """Entries from touchpoints in time order, each with its ``duplicate_of`` mark.

    Copies join the entry they repeat; a copy whose kept touchpoint is not among ``rows``
    stays an entry of its own, marked.
    """
    kept: dict[str, int] = {}
    for index, (touch, mark) in enumerate(rows):
        if mark is None:
            kept[f"{touch.source}\x1f{touch.external_id}"] = index
    merged: dict[int, list[MergedCopy]] = {}
    orphans: dict[int, MergedCopy] = {}
    for index, (touch, mark) in enumerate(rows):
        if mark is None:
            continue
        copy = MergedCopy(touch.source, touch.external_id)
        if mark in kept:
            merged.setdefault(kept[mark], []).append(copy)
        else:
            source, _, external_id = mark.partition("\x1f")
            orphans[index] = MergedCopy(source, external_id)
    entries: list[TimelineEntry] = []
    for index, (touch, mark) in enumerate(rows):
        if mark is None:
            entries.append(TimelineEntry(touch, tuple(merged.get(index, ()))))
        elif index in orphans:
            entries.append(TimelineEntry(touch, duplicate_of=orphans[index]))
    return entries
