"""The report's charts as Vega-Lite specifications (plain dicts, rendered by Vega in the page).

Colours are the Okabe–Ito palette, which stays distinguishable with the common kinds of
colour blindness; every chart also has its numbers in a table beside it. Portfolio charts
carry their data; a customer's charts are templates that read named datasets
(``datasets``) the page fills per customer, so the spec is written once, not per customer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engage.health import Band

Spec = dict[str, Any]

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"  # identifies the version; never fetched

#: Okabe & Ito (2008), "Color Universal Design".
BLUE, ORANGE, GREEN, VERMILLION = "#0072B2", "#E69F00", "#009E73", "#D55E00"
SKY, PURPLE, YELLOW, GREY = "#56B4E9", "#CC79A7", "#F0E442", "#8C8C8C"

BAND_COLOURS = {
    Band.AT_RISK.value: VERMILLION,
    Band.WATCH.value: ORANGE,
    Band.HEALTHY.value: BLUE,
    Band.NO_DATA.value: GREY,
}
CHANNEL_COLOURS = {
    "email": BLUE,
    "call": ORANGE,
    "meeting": GREEN,
    "feedback": PURPLE,
    "chat": SKY,
    "note": GREY,
    "other": YELLOW,
}
PRIORITY_COLOURS = {"high": VERMILLION, "medium": ORANGE, "low": SKY}

_CONFIG = {
    "font": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "labelLimit": 180},
    "legend": {"labelFontSize": 11, "titleFontSize": 12, "orient": "bottom"},
}


def _base(description: str, height: int = 220) -> Spec:
    return {
        "$schema": SCHEMA,
        "description": description,
        "width": "container",
        "height": height,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "config": _CONFIG,
    }


def _scale(colours: Mapping[str, str], present: Sequence[str] | None = None) -> dict[str, Any]:
    domain = [k for k in colours if present is None or k in present]
    return {"domain": domain, "range": [colours[k] for k in domain]}


def bands_over_time(months: Sequence[str], counts: Sequence[Mapping[str, int]]) -> Spec:
    """Customers by band at each month end and now, stacked, at-risk at the bottom."""
    order = list(BAND_COLOURS)
    values = [
        {"month": month, "band": band, "customers": n, "order": order.index(band)}
        for month, by_band in zip(months, counts, strict=True)
        for band, n in by_band.items()
        if band in BAND_COLOURS
    ]
    spec = _base("Customers by band at the end of each of the last 12 months, and now.")
    spec.update(
        data={"values": values},
        mark={"type": "bar", "tooltip": True},
        encoding={
            "x": {"field": "month", "type": "ordinal", "sort": list(months), "title": None,
                  "axis": {"labelAngle": -40}},
            "y": {"field": "customers", "type": "quantitative", "stack": "zero",
                  "title": "customers"},
            "color": {"field": "band", "type": "nominal", "title": "band",
                      "scale": _scale(BAND_COLOURS)},
            "order": {"field": "order", "type": "quantitative"},
        },
    )  # fmt: skip
    return spec


def bands_by_segment(counts: Mapping[str, Mapping[str, int]]) -> Spec:
    """Each segment's customers by band now."""
    order = list(BAND_COLOURS)
    values = [
        {"segment": segment, "band": band, "customers": n, "order": order.index(band)}
        for segment, by_band in counts.items()
        for band, n in by_band.items()
        if band in BAND_COLOURS
    ]
    spec = _base("Customers of each segment by band now.", height=max(60, 34 * len(counts)))
    spec.update(
        data={"values": values},
        mark={"type": "bar", "tooltip": True},
        encoding={
            "y": {"field": "segment", "type": "nominal", "title": None},
            "x": {"field": "customers", "type": "quantitative", "stack": "zero"},
            "color": {"field": "band", "type": "nominal", "scale": _scale(BAND_COLOURS)},
            "order": {"field": "order", "type": "quantitative"},
        },
    )
    return spec


def at_risk(rows: Sequence[tuple[str, int | None]]) -> Spec:
    """The listed at-risk customers' scores, lowest first."""
    values = [{"customer": name, "score": score} for name, score in rows]
    spec = _base("Scores of the most urgent at-risk customers.", height=max(60, 22 * len(rows)))
    spec.update(
        data={"values": values},
        mark={"type": "bar", "color": VERMILLION, "tooltip": True},
        encoding={
            "y": {"field": "customer", "type": "nominal", "sort": "x", "title": None},
            "x": {"field": "score", "type": "quantitative", "scale": {"domain": [0, 100]}},
        },
    )
    return spec


def movers(rows: Sequence[tuple[str, int]]) -> Spec:
    """Score change over 30 days of the biggest movers, falls in vermillion, rises in blue."""
    values = [
        {"customer": name, "change": delta, "direction": "fell" if delta < 0 else "rose"}
        for name, delta in rows
    ]
    spec = _base(
        "Biggest score changes of the last 30 days, falls and rises.",
        height=max(60, 22 * len(rows)),
    )
    spec.update(
        data={"values": values},
        mark={"type": "bar", "tooltip": True},
        encoding={
            "y": {"field": "customer", "type": "nominal", "sort": "x", "title": None},
            "x": {"field": "change", "type": "quantitative", "title": "score change (points)"},
            "color": {"field": "direction", "type": "nominal", "title": None,
                      "scale": {"domain": ["fell", "rose"], "range": [VERMILLION, BLUE]}},
        },
    )  # fmt: skip
    return spec


def counts_by_priority(counts: Mapping[str, Mapping[str, int]], what: str) -> Spec:
    """Open tasks per ``what`` (owner, rule), stacked by priority."""
    values = [
        {what: name, "priority": priority, "tasks": n}
        for name, by_priority in counts.items()
        for priority, n in by_priority.items()
    ]
    spec = _base(f"Open tasks by {what}, by priority.", height=max(60, 24 * len(counts)))
    spec.update(
        data={"values": values},
        mark={"type": "bar", "tooltip": True},
        encoding={
            "y": {"field": what, "type": "nominal", "sort": list(counts), "title": None},
            "x": {"field": "tasks", "type": "quantitative", "stack": "zero"},
            "color": {"field": "priority", "type": "nominal", "scale": _scale(PRIORITY_COLOURS)},
            "order": {"field": "priority", "sort": "ascending"},
        },
    )
    return spec


def owner_drift(rows: Sequence[tuple[str, float]]) -> Spec:
    """Mean score change of each drifting owner's accounts over 30 days."""
    values = [{"owner": name, "change": round(delta, 1)} for name, delta in rows]
    spec = _base(
        "Mean score change over 30 days of the accounts of owners whose accounts drift down.",
        height=max(60, 24 * len(rows)),
    )
    spec.update(
        data={"values": values},
        mark={"type": "bar", "color": VERMILLION, "tooltip": True},
        encoding={
            "y": {"field": "owner", "type": "nominal", "sort": "x", "title": None},
            "x": {"field": "change", "type": "quantitative", "title": "mean change (points)"},
        },
    )
    return spec


def timeline_template() -> Spec:
    """A customer's touches by month: theirs above the line, ours below, by channel.

    Reads the dataset ``touches``: ``{month: "YYYY-MM", channel, touches}`` with outbound
    counts negative.
    """
    spec = _base("Touches by month and channel: from the customer above zero, from us below.")
    spec.update(
        data={"name": "touches"},
        mark={"type": "bar", "tooltip": True},
        encoding={
            "x": {"field": "month", "type": "temporal", "timeUnit": "yearmonth", "title": None,
                  "axis": {"format": "%b %y", "labelAngle": -40}},
            "y": {"field": "touches", "type": "quantitative", "stack": "zero",
                  "title": "← from us · from them →"},
            "color": {"field": "channel", "type": "nominal", "scale": _scale(CHANNEL_COLOURS),
                      "legend": {"columns": 4}},
        },
    )  # fmt: skip
    return spec


def score_template() -> Spec:
    """A customer's score over time as a step line over its segment's bands.

    Reads the datasets ``zones`` (``{band, low, high}``) and ``points`` (``{at, score,
    recorded}``; recorded is "back-filled" or "by a sync").
    """
    spec = _base("Score over time, against the segment's bands.", height=200)
    spec.update(
        layer=[
            {
                "data": {"name": "zones"},
                "mark": {"type": "rect", "opacity": 0.16},
                "encoding": {
                    "y": {"field": "low", "type": "quantitative"},
                    "y2": {"field": "high"},
                    "color": {"field": "band", "type": "nominal", "legend": None,
                              "scale": _scale(BAND_COLOURS)},
                },
            },
            {
                "data": {"name": "points"},
                "mark": {"type": "line", "interpolate": "step-after", "color": "#222",
                         "point": {"filled": True, "size": 36, "color": "#222"}},
                "encoding": {
                    "x": {"field": "at", "type": "temporal", "title": None,
                          "axis": {"format": "%b %y"}},
                    "y": {"field": "score", "type": "quantitative", "title": "score",
                          "scale": {"domain": [0, 100]}},
                    "tooltip": [{"field": "at", "type": "temporal"},
                                {"field": "score", "type": "quantitative"},
                                {"field": "recorded", "type": "nominal"}],
                },
            },
        ],
    )  # fmt: skip
    return spec


def factors_template() -> Spec:
    """A customer's factors: each one's value (0–1), the bar's darkness its weight.

    Reads the dataset ``factors``: ``{factor, value, weight}``.
    """
    spec = _base("Each factor's value from 0 (bad) to 1 (good).", height=170)
    spec.update(
        data={"name": "factors"},
        mark={"type": "bar", "color": BLUE, "tooltip": True},
        encoding={
            "y": {"field": "factor", "type": "nominal", "sort": None, "title": None},
            "x": {"field": "value", "type": "quantitative", "scale": {"domain": [0, 1]}},
            "opacity": {"field": "weight", "type": "quantitative", "legend": None,
                        "scale": {"range": [0.35, 1]}},
        },
    )  # fmt: skip
    return spec
