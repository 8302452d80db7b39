"""One streamed pass over the store that gathers what ``engage report`` shows.

Memory stays bounded whatever the store's size: customers are scored one at a time
(:meth:`engage.engine.Engine.review`); only counters, bounded heaps (the most urgent, the
at-risk list, the movers) and one compact search row per customer are kept. The band history
comes from one ordered walk of the history table; per-customer timelines and histories are
read only for the customers that get a section.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from engage.clock import utcnow
from engage.engine import Engine
from engage.facts import CustomerFacts
from engage.health import Band, Health, score
from engage.history import month_ends
from engage.htmlreport.model import (
    BAND_ORDER,
    CustomerRow,
    Detail,
    Mover,
    OwnerDrift,
    Portfolio,
    SourceLine,
    task_order,
)
from engage.models import Task

#: Customers given their own section by default: the most urgent.
DEFAULT_TOP = 100

#: At-risk customers listed (the total is always given).
AT_RISK_SHOWN = 50

#: Movers shown each way.
MOVERS_SHOWN = 10

#: Owners shown as drifting.
OWNERS_SHOWN = 10

#: The movers' window.
MOVER_DAYS = 30

#: Months of touches a customer's timeline shows.
TIMELINE_MONTHS = 24

_BAND_RANK = {Band.HEALTHY: 0, Band.WATCH: 1, Band.AT_RISK: 2}


class _Top:
    """The ``size`` smallest rows by key (all with None), without holding the rest."""

    def __init__(self, size: int | None) -> None:
        self.size = size
        self._heap: list[tuple[_Inverted, int, CustomerRow]] = []
        self._count = 0

    def offer(self, key: tuple[Any, ...], row: CustomerRow) -> None:
        item = (_Inverted(key), self._count, row)
        self._count += 1
        if self.size is None or len(self._heap) < self.size:
            heapq.heappush(self._heap, item)
        elif self._heap[0][0] < item[0]:  # smaller than the largest kept
            heapq.heapreplace(self._heap, item)

    def rows(self) -> list[CustomerRow]:
        return [row for _key, _n, row in sorted(self._heap, reverse=True)]


class _Inverted:
    """A key that sorts backwards, so a min-heap's top is the largest kept."""

    __slots__ = ("key",)

    def __init__(self, key: tuple[Any, ...]) -> None:
        self.key = key

    def __lt__(self, other: _Inverted) -> bool:
        return bool(self.key > other.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Inverted) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


def collect(
    engine: Engine,
    as_of: datetime | None = None,
    *,
    top: int | None = DEFAULT_TOP,
    sources: Sequence[tuple[str, str]] = (),
) -> Portfolio:
    """Score every customer as of ``as_of`` (default now) and gather the report.

    Args:
        engine: The engine over the store to report on.
        as_of: The moment to report.
        top: How many of the most urgent customers get their own section (None: all).
        sources: The configured sources as (name, plugin), for the header.

    The first report on a store back-fills its history (:meth:`Engine.backfill_history`).
    """
    moment = as_of or utcnow()
    store = engine.store
    engine.backfill_history(moment)
    ends = month_ends(moment)
    mover_from = moment - timedelta(days=MOVER_DAYS)
    by_month: list[Counter[str]] = [Counter() for _ in ends]
    before: dict[str, tuple[int | None, str]] = {}
    for customer, states in store.history_states([*ends, mover_from]):
        for counter, state in zip(by_month, states[:-1], strict=True):
            if state is not None:
                counter[state[1]] += 1
        if states[-1] is not None:
            before[customer] = states[-1]

    now: Counter[str] = Counter()
    by_segment: defaultdict[str, Counter[str]] = defaultdict(Counter)
    by_owner: defaultdict[str, Counter[str]] = defaultdict(Counter)
    by_rule: defaultdict[str, Counter[str]] = defaultdict(Counter)
    owners: dict[str, _OwnerTally] = {}
    urgent, at_risk = _Top(top), _Top(AT_RISK_SHOWN)
    falling, rising = _Top(MOVERS_SHOWN), _Top(MOVERS_SHOWN)
    at_risk_total = 0
    index: list[tuple[str, str, int | None, str, str, str, str, str]] = []
    for facts, health, tasks in engine.review(moment):
        then = before.get(health.customer)
        row = _row(facts, health, tasks, None if then is None else then[0])
        band = health.band.value
        now[band] += 1
        by_segment[health.segment][band] += 1
        for task in row.tasks:
            by_owner[_owner_label(task.owner, facts)][task.priority.value] += 1
            by_rule[task.rule][task.priority.value] += 1
        owners.setdefault(row.owner_label, _OwnerTally(row.owner_status)).add(row, then)
        urgent.offer(row.urgency, row)
        if health.band is Band.AT_RISK:
            at_risk_total += 1
            at_risk.offer(row.urgency, row)
        if row.delta is not None and row.delta < 0:
            falling.offer((row.delta, row.key), row)
        elif row.delta is not None and row.delta > 0:
            rising.offer((-row.delta, row.key), row)
        weakest = row.weakest
        index.append(
            (row.key, health.name or "", health.score, band, health.segment, row.owner_label,
             "" if weakest is None else weakest.name, "")
        )  # fmt: skip

    # every customer a list names gets a section too, so every link leads somewhere
    shown = {row.key: row for row in urgent.rows()}
    for row in (*at_risk.rows(), *falling.rows(), *rising.rows()):
        shown.setdefault(row.key, row)
    details = _details(engine, moment, list(shown.values()))
    anchors = {detail.row.key: detail.anchor for detail in details}
    index = [(*item[:7], anchors.get(item[0], "")) for item in index]
    return Portfolio(
        as_of=moment,
        version=engine.settings.version,
        sources=_sources(store.source_rows(), sources),
        customers=len(index),
        month_ends=(*ends, moment),
        bands_by_month=(*(dict(c) for c in by_month), dict(now)),
        bands_by_segment={k: dict(v) for k, v in sorted(by_segment.items())},
        at_risk=tuple(at_risk.rows()),
        at_risk_total=at_risk_total,
        falling=tuple(_movers(engine, mover_from, falling.rows())),
        rising=tuple(_movers(engine, mover_from, rising.rows())),
        tasks_by_owner=_sorted_counts(by_owner),
        tasks_by_rule=_sorted_counts(by_rule),
        drifting=tuple(_drifting(owners)),
        details=tuple(details),
        index=tuple(index),
        top=top,
        backfilled_until=_backfilled_until(engine, ends),
    )


class _OwnerTally:
    def __init__(self, status: str) -> None:
        self.status = status
        self.accounts = self.compared = self.down = self.at_risk = 0
        self.delta = 0

    def add(self, row: CustomerRow, then: tuple[int | None, str] | None) -> None:
        self.accounts += 1
        self.at_risk += row.health.band is Band.AT_RISK
        if row.delta is not None:
            self.compared += 1
            self.delta += row.delta
        if then is not None and then[1] in _BAND_RANK and row.health.band in _BAND_RANK:
            self.down += _BAND_RANK[row.health.band] > _BAND_RANK[Band(then[1])]


def _row(
    facts: CustomerFacts, health: Health, tasks: list[Task], before: int | None
) -> CustomerRow:
    contact = None
    if facts.main_contact:
        name = facts.main_contact_name
        contact = f"{name} <{facts.main_contact}>" if name else facts.main_contact
    owner_id = facts.owner.id if facts.owner else facts.customer.owner
    return CustomerRow(
        health=health,
        tasks=tuple(sorted(tasks, key=task_order)),
        owner=owner_id,
        owner_label=_owner_label(owner_id, facts),
        owner_status=facts.owner_status.value,
        contact=contact,
        before=before,
    )


def _owner_label(owner_id: str | None, facts: CustomerFacts) -> str:
    if owner_id is None:
        return "nobody"
    owner = facts.owner
    if owner is not None and owner.id == owner_id:
        return owner.name or owner.email or owner.id
    return owner_id


def _sorted_counts(counts: defaultdict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    ordered = sorted(counts.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    return {name: dict(counter) for name, counter in ordered}


def _drifting(owners: dict[str, _OwnerTally]) -> Iterable[OwnerDrift]:
    drifts = [
        OwnerDrift(name, t.status, t.accounts, t.compared, t.delta / t.compared, t.down, t.at_risk)
        for name, t in owners.items()
        if t.compared and (t.delta < 0 or t.down)
    ]
    drifts.sort(key=lambda d: (d.mean_delta, -d.down, d.owner))
    return drifts[:OWNERS_SHOWN]


def _movers(engine: Engine, then: datetime, rows: list[CustomerRow]) -> Iterable[Mover]:
    """Each mover with the factor whose weighted part in the score moved most its way."""
    version = engine.settings.version
    facts = engine.store.facts_of(then, engine.settings, [row.key for row in rows])
    pasts = {f.key: score(f, engine.factors, version) for f in facts}
    for row in rows:
        assert row.before is not None and row.delta is not None
        past = pasts.get(row.key)
        moved, moved_before, best = None, None, 0.0
        for factor in row.health.factors:
            old = None if past is None else past.factor(factor.name)
            part_now = (factor.value or 0.0) * factor.weight
            part_then = 0.0 if old is None else (old.value or 0.0) * old.weight
            change = (part_now - part_then) * (1 if row.delta > 0 else -1)
            if change > best:
                moved, best = factor, change
                moved_before = None if old is None else old.value
        yield Mover(row, row.before, moved, moved_before)


def _details(engine: Engine, moment: datetime, rows: list[CustomerRow]) -> list[Detail]:
    store = engine.store
    keys = [row.key for row in rows]
    start = month_ends(moment, TIMELINE_MONTHS)[0]
    months = store.touch_months(keys, start, moment)
    anchors: set[str] = set()
    details = []
    for row in rows:
        segment = engine.settings.segment_for(row.key, row.health.segment)
        history = [p for p in store.health_history(row.key) if p.at <= moment]
        details.append(
            Detail(
                row=row,
                anchor=_anchor(row.key, anchors),
                history=tuple(history),
                months=tuple(months.get(row.key, [])),
                healthy_at=int(segment.healthy_at),
                watch_at=int(segment.watch_at),
            )
        )
    return details


def _anchor(key: str, taken: set[str]) -> str:
    base = "c-" + re.sub(r"[^A-Za-z0-9_-]", "-", key)  # usable as a CSS selector too
    anchor, n = base, 1
    while anchor in taken:
        n += 1
        anchor = f"{base}-{n}"
    taken.add(anchor)
    return anchor


def _sources(
    rows: Sequence[tuple[str, int, datetime | None, datetime | None]],
    configured: Sequence[tuple[str, str]],
) -> tuple[SourceLine, ...]:
    plugins = dict(configured)
    held = {row[0]: row for row in rows}
    names = [*plugins, *(name for name in held if name not in plugins)]
    lines = []
    for name in names:
        _, count, latest, pulled = held.get(name, (name, 0, None, None))
        lines.append(SourceLine(name, plugins.get(name), count, latest, pulled))
    return tuple(lines)


def _backfilled_until(engine: Engine, ends: Sequence[datetime]) -> datetime | None:
    first = engine.store.first_recorded()
    earlier = [end for end in ends if first is None or end < first]
    return earlier[-1] if earlier else None


__all__ = ["AT_RISK_SHOWN", "BAND_ORDER", "DEFAULT_TOP", "collect"]
