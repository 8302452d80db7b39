"""``engage check`` for the CSV source: every file read from the start, nothing written.

No cursor is read or saved, and lookup files are indexed in a temporary database deleted
at the end, as in a pull. See :mod:`engage.preview` for the contract.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from engage.adapters import Problem, Skipped
from engage.errors import SourceError
from engage.preview import FieldMap, PreviewItem, PreviewRow, Unmapped
from engage_csv.files import Bound, Row
from engage_csv.rows import Layout
from engage_csv.values import map_line

if TYPE_CHECKING:
    from engage_csv.source import CsvSource


def field_maps(layout: Layout) -> Iterator[FieldMap]:
    """How each header cell maps to engage: a field, a lookup, a filter, an attribute, or nothing (an empty note)."""
    targets: dict[int, tuple[str, str]] = {}
    slots = dict(layout.multi)
    for field, slot in layout.index.items():
        for at in slots.get(slot, (slot,)):
            if at < layout.width and at not in targets:
                note = "the first non-empty of several columns" if slot in slots else ""
                targets[at] = (field, note)
    for active, at in layout.lookups:
        filled = ", ".join(f"{f} = {h}" for f, h in active.spec.fields.items())
        targets[at] = (
            next(iter(active.spec.fields)),
            f"an id looked up by {active.spec.key} in {active.shown}: {filled}",
        )
    for at, chosen, _ in layout.skip:
        targets.setdefault(at, ("", f"rows with {' / '.join(chosen.values())} are passed over"))
    for at, chosen, _ in layout.only:
        targets.setdefault(at, ("", f"only rows with {' / '.join(chosen.values())} are read"))
    for name, at in layout.attributes:
        targets.setdefault(at, (f"attributes.{name}", "copied to the customer"))
    for at, name in enumerate(layout.header):
        target, note = targets.get(at, ("", ""))
        yield FieldMap(name, target or None, note)


def preview(source: CsvSource) -> Iterator[PreviewItem]:
    """The preview of ``source`` (see the module)."""
    try:
        keyed, lookups, rows, reader = source.open()
    except SourceError as error:
        yield Problem(str(error))
        return
    try:
        for display, path, key in keyed:
            reading = reader.read(display, path, key, None, rows)
            header: tuple[str, ...] = ()
            try:
                for item in reading:
                    if isinstance(item, Bound):
                        header = item.layout.header
                        yield from field_maps(item.layout)
                        continue
                    yield _row(display, header, item)
            except SourceError as error:
                yield Problem(str(error))
    finally:
        lookups.close()
    for field, seen in source.values.unmapped.items():
        if seen:
            values = list(seen)
            yield Unmapped(field, tuple(values), map_line(field, values))


def _row(display: str, header: tuple[str, ...], row: Row) -> PreviewRow:
    raw = dict(zip(header, row.cells or (), strict=False))
    if row.refused is not None:
        items: tuple[Problem | Skipped, ...] = (Problem(f"{display}:{row.line}: {row.refused}"),)
        return PreviewRow(f"{display}:{row.line}", items, raw)
    if row.passed is not None:
        return PreviewRow(f"{display}:{row.line}", (Skipped(row.passed),), raw)
    return PreviewRow(f"{display}:{row.line}", tuple(row.records), raw)
