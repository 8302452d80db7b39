"""The report as one HTML document, written in pieces: header, portfolio, customers, data.

The page needs no network: its styles, its script, Vega's bundle and every chart's data are
inside it, and its Content-Security-Policy forbids any connection, so a copy opened from
disk or published by a web server looks the same. Without script the tables still read.

Search data is compact: one array per customer (key, name, score and indexes into shared
lists of bands, segments, owners and factor names, then its section's anchor or ``""``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from engage.clock import utcnow
from engage.htmlreport import charts, customer
from engage.htmlreport.assets import PAGE_SCRIPT, STYLE
from engage.htmlreport.html import band_badge, esc, figure, json_script, link, table, when
from engage.htmlreport.model import BAND_ORDER, BAND_WORDS, Mover, Portfolio

#: At-risk customers drawn in the at-risk chart (the table lists more).
AT_RISK_CHARTED = 25

_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:"
)


def render(
    portfolio: Portfolio, bundle: str, *, generated: datetime | None = None
) -> Iterator[str]:
    """The document, piece by piece (a caller writes each to the file as it comes)."""
    anchors = {d.row.key: d.anchor for d in portfolio.details}
    specs: dict[str, Any] = {}
    yield (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>engage report, {portfolio.as_of:%Y-%m-%d}</title>"
        f"<style>{STYLE}</style>"
        "<noscript><style>.numbers[hidden]{display:block}.numbers-toggle,.search{display:none}"
        "</style></noscript></head><body>"
        '<a class="skip" href="#main">Skip to the report</a>'
    )
    yield _header(portfolio, generated or utcnow())
    yield '<main id="main">'
    yield _portfolio(portfolio, anchors, specs)
    yield _customers_intro(portfolio)
    for detail in portfolio.details:
        yield customer.render(detail, portfolio.as_of)
    yield "</section></main>"
    yield json_script(
        "engage-data",
        {
            "charts": specs,
            "templates": {
                "timeline": charts.timeline_template(),
                "score": charts.score_template(),
                "factors": charts.factors_template(),
            },
            "customers": {
                d.anchor: customer.datasets(d, portfolio.as_of) for d in portfolio.details
            },
        },
    )
    yield json_script("engage-index", _index(portfolio))
    yield "<!-- Vega, Vega-Lite and Vega-Embed (BSD-3-Clause), bundled by vl-convert -->"
    safe = bundle.replace("</script", "<\\/script")
    yield f"<script>{safe}</script>"
    yield f"<script>{PAGE_SCRIPT}</script></body></html>"


def _header(p: Portfolio, generated: datetime) -> str:
    sources = "; ".join(
        f"<strong>{esc(s.name)}</strong>{f' ({esc(s.plugin)})' if s.plugin else ''}: "
        f"{s.touchpoints:,} touchpoints, latest {when(s.latest, time=False)}, "
        f"pulled {when(s.pulled)}"
        for s in p.sources
    )
    backfill = (
        f"<p class=meta>Band history up to {when(p.backfilled_until, time=False)} was "
        "back-filled: computed afterwards from the touchpoints dated up to each month's end. "
        "Later history was recorded by syncs, a row per change.</p>"
        if p.backfilled_until
        else ""
    )
    return (
        '<header id="top" class="top"><h1>Customer relationships</h1>'
        f"<p class=meta>As of {when(p.as_of)} · {p.customers:,} customers · scoring version "
        f"<code>{esc(p.version)}</code> · written {when(generated)}</p>"
        f"<p class=meta>Sources: {sources or 'none yet'}</p>{backfill}"
        '<nav aria-label="Sections"><ul>'
        '<li><a href="#bands">Bands</a></li><li><a href="#at-risk">At risk</a></li>'
        '<li><a href="#movers">Movers</a></li><li><a href="#tasks">Tasks</a></li>'
        '<li><a href="#owners">Owners</a></li><li><a href="#customers">Customers</a></li>'
        "</ul></nav></header>"
    )


def _portfolio(p: Portfolio, anchors: Mapping[str, str], specs: dict[str, Any]) -> str:
    months = [f"{m:%Y-%m}" for m in p.month_ends[:-1]] + ["now"]
    specs["bands-time"] = charts.bands_over_time(months, p.bands_by_month)
    specs["bands-segment"] = charts.bands_by_segment(p.bands_by_segment)
    bands = [b.value for b in BAND_ORDER]
    time_rows = [
        (month, *(counts.get(b, 0) for b in bands))
        for month, counts in zip(months, p.bands_by_month, strict=True)
    ]
    segment_rows = [(s, *(c.get(b, 0) for b in bands)) for s, c in p.bands_by_segment.items()]
    headers = ["", *(BAND_WORDS[b] for b in BAND_ORDER)]
    numeric = range(1, 5)
    parts = [
        '<section id="bands" aria-labelledby="bands-h"><h2 id="bands-h">Portfolio</h2>',
        '<div class="grid two">',
        figure("fig-bands-time", "Customers by band, last 12 months",
               "customers in each band at each month's end and now, stacked, at risk at the "
               "bottom", table(["month", *headers[1:]], time_rows, numeric=numeric),
               chart="bands-time"),
        figure("fig-bands-segment", "Bands by segment now",
               "each segment's customers by band now",
               table(["segment", *headers[1:]], segment_rows, numeric=numeric),
               chart="bands-segment"),
        "</div></section>",
        _at_risk(p, anchors, specs),
        _movers(p, anchors, specs),
        _tasks(p, specs),
        _owners(p, specs),
    ]  # fmt: skip
    return "".join(parts)


def _at_risk(p: Portfolio, anchors: Mapping[str, str], specs: dict[str, Any]) -> str:
    rows = []
    for row in p.at_risk:
        weakest = row.weakest
        rows.append(
            (
                link(anchors.get(row.key), row.label),
                row.health.score,
                row.health.stage.value.replace("_", " "),
                esc(row.owner_label),
                esc("" if weakest is None else weakest.explain),
                len(row.tasks),
            )
        )
    more = p.at_risk_total - len(p.at_risk)
    note = (
        f"<p>{p.at_risk_total:,} customers are at risk; the {len(p.at_risk)} most urgent "
        f"are listed. {more:,} more are in the search below.</p>"
        if more > 0
        else f"<p>{p.at_risk_total:,} customers are at risk, most urgent first.</p>"
    )
    if not rows:
        return (
            '<section id="at-risk" aria-labelledby="at-risk-h"><h2 id="at-risk-h">At risk</h2>'
            "<p>No customer is at risk.</p></section>"
        )
    charted = p.at_risk[:AT_RISK_CHARTED]
    specs["at-risk"] = charts.at_risk([(r.label, r.health.score) for r in charted])
    chart = figure(
        "fig-at-risk",
        "Scores at risk",
        f"scores of the {len(charted)} most urgent at-risk customers",
        table(["customer", "score"], [(r.label, r.health.score) for r in charted], numeric=(1,)),
        chart="at-risk",
    )
    body = '<div class="grid risk">' + chart + table(
        ["customer", "score", "stage", "owner", "weakest factor", "open tasks"], rows,
        numeric=(1, 5), raw=(0, 3, 4),
    ) + "</div>"  # fmt: skip
    return (
        '<section id="at-risk" aria-labelledby="at-risk-h"><h2 id="at-risk-h">At risk</h2>'
        f"{note}{body}</section>"
    )


def _movers(p: Portfolio, anchors: Mapping[str, str], specs: dict[str, Any]) -> str:
    moved = [*p.falling, *p.rising]
    if not moved:
        return (
            '<section id="movers" aria-labelledby="movers-h"><h2 id="movers-h">Movers, last 30 '
            "days</h2><p>No score moved in the last 30 days, or the history does not reach "
            "back that far yet.</p></section>"
        )
    specs["movers"] = charts.movers([(m.row.label, m.row.health.score - m.before) for m in moved])  # type: ignore[operator]
    numbers = table(
        ["customer", "30 days ago", "now", "change"],
        [(m.row.label, m.before, m.row.health.score, m.row.delta) for m in moved],
        numeric=(1, 2, 3),
    )
    return (
        '<section id="movers" aria-labelledby="movers-h"><h2 id="movers-h">Movers, last 30 '
        "days</h2><p>Ranked by the change since the score the history holds for 30 days ago; "
        "the factor is the one whose part in the score moved most that way.</p>"
        '<div class="grid two">'
        + figure("fig-movers", "Biggest changes", "score change of the biggest movers", numbers,
                 chart="movers")
        + "<div>" + _mover_table("Fell most", p.falling, anchors)
        + _mover_table("Rose most", p.rising, anchors) + "</div></div></section>"
    )  # fmt: skip


def _mover_table(title: str, movers: tuple[Mover, ...], anchors: Mapping[str, str]) -> str:
    if not movers:
        return f"<h3>{esc(title)}</h3><p>None.</p>"
    rows = []
    for m in movers:
        factor = "–"
        if m.factor is not None:
            then = "left out" if m.factor_before is None else f"{m.factor_before:.2f}"
            now = "left out" if m.factor.value is None else f"{m.factor.value:.2f}"
            factor = (
                f"<strong>{esc(m.factor.name)}</strong> {then} → {now}: {esc(m.factor.explain)}"
            )
        change = f"{m.before} → {m.row.health.score} ({m.row.delta:+d})"
        rows.append((link(anchors.get(m.row.key), m.row.label), esc(change), factor))
    return f"<h3>{esc(title)}</h3>" + table(
        ["customer", "score", "the factor that moved"], rows, raw=(0, 1, 2)
    )


def _tasks(p: Portfolio, specs: dict[str, Any]) -> str:
    priorities = ["high", "medium", "low"]
    parts = ['<section id="tasks" aria-labelledby="tasks-h"><h2 id="tasks-h">Open tasks</h2>']
    if not p.tasks_by_owner:
        return parts[0] + "<p>No open task.</p></section>"
    parts.append('<div class="grid two">')
    for what, counts in (("owner", p.tasks_by_owner), ("rule", p.tasks_by_rule)):
        specs[f"tasks-{what}"] = charts.counts_by_priority(counts, what)
        rows = [
            (name, *(c.get(x, 0) for x in priorities), sum(c.values()))
            for name, c in counts.items()
        ]
        parts.append(
            figure(f"fig-tasks-{what}", f"By {what}", f"open tasks by {what}, by priority",
                   table([what, *priorities, "all"], rows, numeric=(1, 2, 3, 4)),
                   chart=f"tasks-{what}")
        )  # fmt: skip
    parts.append("</div></section>")
    return "".join(parts)


def _owners(p: Portfolio, specs: dict[str, Any]) -> str:
    head = (
        '<section id="owners" aria-labelledby="owners-h"><h2 id="owners-h">Owners whose '
        "accounts are drifting</h2>"
    )
    if not p.drifting:
        return head + "<p>No owner's accounts fell over the last 30 days.</p></section>"
    specs["owners"] = charts.owner_drift([(d.owner, d.mean_delta) for d in p.drifting])
    rows = [
        (d.owner, d.status, d.accounts, round(d.mean_delta, 1), d.down, d.at_risk)
        for d in p.drifting
    ]
    numbers = table(
        ["owner", "status", "accounts", "mean change", "fell a band", "at risk now"],
        rows,
        numeric=(2, 3, 4, 5),
    )
    return (
        head
        + "<p>Mean score change of each owner's accounts over 30 days, worst first, with the "
        "accounts that fell to a worse band.</p>"
        + figure("fig-owners", "Mean change by owner", "mean score change of each drifting "
                 "owner's accounts", numbers, chart="owners")
        + numbers + "</section>"
    )  # fmt: skip


def _customers_intro(p: Portfolio) -> str:
    who = (
        "every customer"
        if p.top is None or p.top >= p.customers
        else f"the {p.top} most urgent customers (at risk first, then those with the most "
        "high-priority tasks, lowest score first) and every customer a list above names"
    )
    return (
        '<section id="customers" aria-labelledby="customers-h">'
        '<h2 id="customers-h">Customers</h2>'
        f"<p>Each customer's story for {who}. Search finds any of the {p.customers:,}.</p>"
        '<div class="search" role="search"><label for="find">Find a customer</label> '
        '<input id="find" type="search" autocomplete="off" placeholder="name or key" '
        'aria-describedby="find-help" aria-controls="found">'
        '<p id="find-help" class="meta">Type part of a name or key; Enter opens the first.</p>'
        '<ul id="found" aria-live="polite"></ul><div id="summary" aria-live="polite"></div>'
        "</div>"
    )


def _index(p: Portfolio) -> dict[str, Any]:
    lists: dict[str, dict[str, int]] = {"bands": {}, "segments": {}, "owners": {}, "factors": {}}

    def ref(kind: str, value: str) -> int:
        return lists[kind].setdefault(value, len(lists[kind]))

    rows = [
        [key, name if name != key else "", score, ref("bands", band), ref("segments", segment),
         ref("owners", owner), ref("factors", factor), anchor]
        for key, name, score, band, segment, owner, factor, anchor in p.index
    ]  # fmt: skip
    words = {b.value: BAND_WORDS[b] for b in BAND_ORDER}
    return {
        **{kind: list(values) for kind, values in lists.items()},
        "bandWords": words,
        "badges": {b: band_badge(b, w) for b, w in words.items()},
        "rows": rows,
    }
