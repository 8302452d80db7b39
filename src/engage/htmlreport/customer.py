"""A customer's own section of the report: its story at a glance, and its charts' datasets."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from engage.health import Band
from engage.history import month_ends
from engage.htmlreport.collect import TIMELINE_MONTHS
from engage.htmlreport.html import band_badge, esc, figure, table, when
from engage.htmlreport.model import BAND_WORDS, Detail


def datasets(detail: Detail, as_of: datetime) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The named datasets the customer's chart templates read (see :mod:`.charts`)."""
    touches = [
        {
            "month": f"{month}-01",
            "channel": channel,
            "touches": count if direction == "inbound" else -count,
        }
        for month, channel, direction, count in detail.months
        if direction in ("inbound", "outbound")
    ]
    seen = {row["month"] for row in touches}
    touches += [  # months without a touch still take their place: silence shows
        {"month": f"{end:%Y-%m}-01", "channel": "email", "touches": 0}
        for end in [*month_ends(as_of, TIMELINE_MONTHS - 1), as_of]
        if f"{end:%Y-%m}-01" not in seen
    ]
    points = [
        {
            "at": point.at.isoformat(),
            "score": point.score,
            "recorded": "back-filled" if point.backfilled else "by a sync",
        }
        for point in detail.history
        if point.score is not None
    ]
    health = detail.row.health
    if health.score is not None:
        points.append({"at": as_of.isoformat(), "score": health.score, "recorded": "now"})
    zones = [
        {"band": Band.AT_RISK.value, "low": 0, "high": detail.watch_at},
        {"band": Band.WATCH.value, "low": detail.watch_at, "high": detail.healthy_at},
        {"band": Band.HEALTHY.value, "low": detail.healthy_at, "high": 100},
    ]
    factors = [
        {"factor": f.name, "value": round(f.value, 3), "weight": round(f.weight, 3)}
        for f in health.factors
        if f.value is not None
    ]
    return {
        "timeline": {"touches": touches},
        "score": {"zones": zones, "points": points},
        "factors": {"factors": factors},
    }


def render(detail: Detail, as_of: datetime) -> str:
    """The customer's section: who, how healthy, its touches, its score, its factors, its tasks."""
    row, anchor = detail.row, detail.anchor
    health = row.health
    score = "no score" if health.score is None else f"score {health.score}"
    change = "" if row.delta is None else f" ({row.delta:+d} in 30 days)"
    facts = [
        f"{band_badge(health.band.value, BAND_WORDS[health.band])} {esc(score)}{esc(change)}",
        f"stage {esc(health.stage.value.replace('_', ' '))}",
        f"segment {esc(health.segment)}",
        f"owner {esc(row.owner_label)} ({esc(row.owner_status)})",
    ]
    if row.contact:
        facts.append(f"main contact {esc(row.contact)}")
    title = esc(row.label)
    subtitle = f" <small>{esc(row.key)}</small>" if row.label != row.key else ""
    parts = [
        f'<article class="customer" id="{esc(anchor)}" aria-labelledby="{esc(anchor)}-h">',
        f'<h3 id="{esc(anchor)}-h">{title}{subtitle}</h3>',
        f'<p class="facts">{" · ".join(facts)}</p>',
        '<div class="grid">',
        figure(
            f"{anchor}-timeline",
            "Touches by month",
            "touches per month over the last two years by channel, the customer's above "
            "zero and ours below; internal notes are not shown",
            _timeline_numbers(detail),
            template="timeline",
            customer=anchor,
            level=4,
        ),
        figure(
            f"{anchor}-score",
            "Score over time",
            "the score at each recorded change and now, over the bands of its segment",
            _score_numbers(detail, as_of),
            template="score",
            customer=anchor,
            level=4,
        ),
        figure(
            f"{anchor}-factors",
            "Factors now",
            "each factor's value from 0 to 1; the sentences are in the table below",
            _factor_table(detail),
            template="factors",
            customer=anchor,
            level=4,
        ),
        "</div>",
        "<h4>Why: each factor</h4>",
        _factor_table(detail),
        "<h4>Open tasks</h4>",
        _tasks(detail),
        '<p class="back"><a href="#top">Back to the portfolio</a></p>',
        "</article>",
    ]
    return "".join(parts)


def _timeline_numbers(detail: Detail) -> str:
    by_month: defaultdict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    channels: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    for month, channel, direction, count in detail.months:
        by_month[month][direction] += count
        channels[month][channel] += count
    rows = [
        (
            month,
            by_month[month].get("inbound", 0),
            by_month[month].get("outbound", 0),
            by_month[month].get("internal", 0),
            ", ".join(f"{c} {n}" for c, n in sorted(channels[month].items())),
        )
        for month in sorted(by_month)
    ]
    if not rows:
        return "<p>No touches in the last two years.</p>"
    return table(
        ["month", "from them", "from us", "internal", "by channel"], rows, numeric=(1, 2, 3)
    )


def _score_numbers(detail: Detail, as_of: datetime) -> str:
    rows: list[tuple[str, int | None, str, str, str]] = [
        (
            when(point.at),
            point.score,
            BAND_WORDS[point.band],
            point.stage.value,
            "back-filled" if point.backfilled else "by a sync",
        )
        for point in detail.history
    ]
    health = detail.row.health
    rows.append((when(as_of), health.score, BAND_WORDS[health.band], health.stage.value, "now"))
    return table(
        ["from", "score", "band", "stage", "recorded"],
        rows,
        numeric=(1,),
        raw=(0,),
        caption=f"Bands of segment {detail.row.health.segment}: healthy from "
        f"{detail.healthy_at}, watch from {detail.watch_at}.",
    )


def _factor_table(detail: Detail) -> str:
    rows = [
        (
            f.name,
            None if f.value is None else round(f.value, 2),
            None if f.value is None else round(f.weight, 2),
            f.explain,
        )
        for f in detail.row.health.factors
    ]
    return table(["factor", "value", "weight", "why"], rows, numeric=(1, 2))


def _tasks(detail: Detail) -> str:
    if not detail.row.tasks:
        return '<p class="none">No open task: nothing in the playbook asks for one now.</p>'
    items = []
    for task in detail.row.tasks:
        items.append(
            f"<li><strong>{esc(task.title)}</strong> "
            f'<span class="pri pri-{esc(task.priority.value)}">{esc(task.priority.value)}</span>'
            f' <span class="meta">due {esc(task.due.isoformat())} · {esc(task.kind.value)} · '
            f"rule {esc(task.rule)} · for {esc(task.owner or 'nobody')}</span>"
            f'<br><span class="why">{esc(task.reason)}</span></li>'
        )
    return f'<ol class="tasks">{"".join(items)}</ol>'
