"""Small HTML builders the report's pages share: escaping, tables, figures with their numbers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

Cell = object


def esc(value: object) -> str:
    """Text made safe for HTML content and attribute values."""
    return escape(str(value), quote=True)


def when(moment: datetime | None, *, time: bool = True) -> str:
    """A ``<time>`` element for a moment (UTC), or a dash."""
    if moment is None:
        return "–"
    shown = f"{moment:%Y-%m-%d %H:%M} UTC" if time else f"{moment:%Y-%m-%d}"
    return f'<time datetime="{esc(moment.isoformat())}">{shown}</time>'


def number(value: Cell) -> str:
    """A number as the tables show it: thousands separated, signs on changes, dash for none."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return esc(value)


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    caption: str | None = None,
    numeric: Sequence[int] = (),
    raw: Sequence[int] = (),
) -> str:
    """A table; ``numeric`` columns are right-aligned, ``raw`` columns are HTML already."""
    head = "".join(
        f'<th scope="col"{" class=num" if i in numeric else ""}>{esc(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            text = str(cell) if i in raw else number(cell) if i in numeric else esc(cell or "")
            tag = "th scope=row" if i == 0 else "td"
            cls = ' class="num"' if i in numeric else ""
            cells.append(f"<{tag}{cls}>{text}</{tag.split()[0]}>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (
        f'<div class="table-wrap"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def figure(
    ident: str,
    title: str,
    description: str,
    numbers: str,
    *,
    chart: str | None = None,
    template: str | None = None,
    customer: str | None = None,
    level: int = 3,
) -> str:
    """A chart with its title, a description for screen readers, and its numbers behind a
    toggle. ``chart`` names a spec in the page's data; ``template`` and ``customer`` a
    customer chart drawn from a template and that customer's datasets."""
    if chart is not None:
        source = f'data-chart="{esc(chart)}"'
    else:
        source = f'data-template="{esc(template)}" data-customer="{esc(customer)}"'
    return (
        f'<figure class="chart-box" id="{esc(ident)}">'
        f"<figcaption><h{level}>{esc(title)}</h{level}></figcaption>"
        f'<div class="chart" {source} role="img" aria-label="{esc(title)}: {esc(description)}">'
        "</div>"
        f'<button type="button" class="numbers-toggle" aria-expanded="false" '
        f'aria-controls="{esc(ident)}-numbers">Show the numbers</button>'
        f'<div class="numbers" id="{esc(ident)}-numbers" hidden>{numbers}</div>'
        "</figure>"
    )


def json_script(ident: str, data: Any) -> str:
    """Data for the page's script, in a non-executed script element (``</`` escaped)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("</", "<\\/").replace("<!--", "<\\!--")
    return f'<script type="application/json" id="{esc(ident)}">{text}</script>'


def link(anchor: str | None, label: str) -> str:
    """A link to a customer's section, or the plain label when it has none."""
    if not anchor:
        return esc(label)
    return f'<a href="#{esc(anchor)}">{esc(label)}</a>'


def band_badge(band: str, words: str) -> str:
    """A band as a labelled badge: the word carries the meaning, the colour only helps."""
    return f'<span class="band band-{esc(band)}">{esc(words)}</span>'
