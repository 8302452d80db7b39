"""The preview contract: how a source shows what it would read, for ``engage check``.

``engage check`` reads a source from the start without writing the store, and shows how its
input maps to engage's fields, each record as parsed, the values it could not map, every
problem with its place, and a verdict. A source offers this by having a ``preview`` method
(:class:`Previewable`) that yields, in any order that suits it:

- :class:`FieldMap` lines, first: how each input field (a CSV header, a mail header, an
  API property) maps to an engage field, or that it is not used;
- one :class:`PreviewRow` per input record (a CSV row, a message, an API object), with its
  place and what it became: records, a :class:`~engage.adapters.Problem`, or a
  :class:`~engage.adapters.Skipped`;
- :class:`~engage.adapters.Problem` items for problems that belong to no record (a file that
  cannot be read);
- :class:`Unmapped` items, last: a field's distinct values that had no mapping, with the line
  of configuration that would map them.

``preview`` must not write anything anywhere (no cursor, no index file, no remote change).
A source without ``preview`` is previewed through ``pull(None)``: each item it yields becomes
a row of its own, placed by its order (``record 17``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import attrs

from engage.adapters import Problem, SourceItem


def _frozen(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen
class FieldMap:
    """How one input field maps to engage.

    Attributes:
        name: The input's own name for the field (``Activity Date``, ``From``).
        target: The engage field it fills (``occurred_at``, ``contact_email``), or None when
            engage does not use it.
        note: How it is read, in a few words (``day first: 03/04 is 3 April``).
    """

    name: str
    target: str | None
    note: str = ""


@attrs.frozen
class PreviewRow:
    """One input record and what the source made of it.

    Attributes:
        place: Where it is: ``exports/tasks.csv:17``, ``inbox.mbox: byte 2048``,
            ``gmail message 18c2f``.
        items: What it became: records (touchpoints, customers...), or a
            :class:`~engage.adapters.Problem` (refused), or a
            :class:`~engage.adapters.Skipped` (passed over on purpose); empty when it
            gave nothing and needs no explanation.
        raw: The record's own fields as read (a CSV row's header → cell), for display.
    """

    place: str
    items: tuple[SourceItem, ...]
    raw: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen, eq=False)


@attrs.frozen
class Unmapped:
    """Distinct values of one field that had no mapping, and how to map them.

    Attributes:
        field: The engage field (``channel``) or input field the values came from.
        values: The distinct values seen, in the order first seen.
        hint: The configuration that would map them
            (``values = { channel = { "Prep" = "note" } }``).
    """

    field: str
    values: tuple[str, ...]
    hint: str = ""


#: What :meth:`Previewable.preview` yields.
PreviewItem = FieldMap | PreviewRow | Problem | Unmapped


@runtime_checkable
class Previewable(Protocol):
    """A source that can show what it would read (see the module)."""

    def preview(self) -> Iterator[PreviewItem]:
        """Read the input from the start, writing nothing, and yield what it finds."""
        ...


def preview_of(source: Any) -> Iterator[PreviewItem]:
    """A source's preview: its own ``preview`` if it has one, else its ``pull(None)``.

    In the fallback every item is a row of its own (``record N``); checkpoints are dropped
    and problems stay problems of their record.
    """
    if isinstance(source, Previewable):
        yield from source.preview()
        return
    from engage.adapters import Checkpoint

    number = 0
    for item in source.pull(None):
        if isinstance(item, Checkpoint):
            continue
        number += 1
        yield PreviewRow(f"record {number}", (item,))
