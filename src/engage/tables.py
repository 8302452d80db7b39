"""Tables that fit the width they are printed at, from 80 columns up.

Each column says how it may give way when the table is too wide (:class:`Column`): a
``fixed`` one (a date, a score, a rule's name) is never cut or wrapped; a ``cut`` one (a
task's title, a customer's name) stays on one line and ends with an ellipsis; a
``cut_start`` one (a file and line) loses its start instead, keeping the end; a ``wrap``
one (a reason in words) wraps at spaces but never narrower than its ``min_width``, so never
a word per line. When even that does not fit, columns are left out, the highest ``drop``
first, and the table's caption says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

Mode = Literal["fixed", "cut", "cut_start", "wrap"]

#: Width a table adds to its columns': an edge on each side and a separator and a space of
#: padding on each side of every cell (rich's default padding, for every box style).
_PER_COLUMN = 3


@attrs.frozen
class Column:
    """One column of a fitted table.

    Attributes:
        header: The heading.
        mode: ``fixed`` (shown whole), ``cut`` (one line, ellipsis at the end),
            ``cut_start`` (one line, ellipsis at the start) or ``wrap`` (at spaces).
        min_width: The narrowest a ``cut`` or ``wrap`` column gets.
        drop: 0 keeps the column always; otherwise the highest number is left out first.
        justify: ``left`` or ``right``.
    """

    header: str
    mode: Mode = "fixed"
    min_width: int = 10
    drop: int = 0
    justify: Literal["left", "right"] = "left"


Cell = str | Text


def _text(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text(cell)


def layout(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int) -> list[int]:
    """Each kept column's width (0 for a column left out) for a table ``width`` wide.

    Fixed columns get their widest cell; the others at least ``min_width`` (or their widest
    cell, if narrower), then share what is left, each up to its widest cell.
    """
    natural = [
        max([len(column.header), *(_text(row[i]).cell_len for row in rows)])
        for i, column in enumerate(columns)
    ]
    least = [
        natural[i] if column.mode == "fixed" else min(natural[i], column.min_width)
        for i, column in enumerate(columns)
    ]
    kept = list(range(len(columns)))

    def needed() -> int:
        return sum(least[i] for i in kept) + _PER_COLUMN * len(kept) + 1

    while needed() > width:
        droppable = [i for i in kept if columns[i].drop]
        if not droppable:
            break
        kept.remove(max(droppable, key=lambda i: (columns[i].drop, i)))
    widths = [least[i] if i in kept else 0 for i in range(len(columns))]
    spare = width - needed()
    growing = [i for i in kept if widths[i] < natural[i]]
    while spare > 0 and growing:
        share = max(1, spare // len(growing))
        for i in growing:
            give = min(share, natural[i] - widths[i], spare)
            widths[i] += give
            spare -= give
        growing = [i for i in growing if widths[i] < natural[i]]
    return widths


def fitted(
    out: Console,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    *,
    title: str | None = None,
) -> Table:
    """A rich table of ``rows`` that fits ``out``'s width (see the module)."""
    widths = layout(columns, rows, out.width)
    hidden = [column.header for column, width in zip(columns, widths, strict=True) if not width]
    caption = (
        f"{', '.join(hidden)} left out at {out.width} columns; a wider window or --format tsv "
        "shows every column"
        if hidden
        else None
    )
    table = Table(
        title=title,
        caption=caption,
        caption_justify="left",
        box=box.HEAVY_HEAD if out.is_terminal else box.SIMPLE,
    )
    shown = [i for i, width in enumerate(widths) if width]
    for i in shown:
        column, width = columns[i], widths[i]
        table.add_column(
            column.header,
            justify=column.justify,
            width=width,
            no_wrap=column.mode != "wrap",
            overflow="fold" if column.mode == "wrap" else "ellipsis",
        )
    for row in rows:
        cells = [_text(row[i]) for i in shown]
        for n, i in enumerate(shown):
            if columns[i].mode == "cut_start" and cells[n].cell_len > widths[i]:
                keep = cells[n].plain[len(cells[n].plain) - widths[i] + 1 :]
                cells[n] = Text("…" + keep, style=cells[n].style)
        table.add_row(*cells)
    return table


def tsv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Tab-separated lines, a header first; tabs and line breaks inside a value become spaces."""

    def clean(value: object) -> str:
        text = "" if value is None else str(value)
        return " ".join(text.replace("\t", " ").splitlines()) if text else ""

    lines = ["\t".join(header), *("\t".join(clean(v) for v in row) for row in rows)]
    return "\n".join(lines) + "\n"
