"""What ``engage report`` shows, as plain data: the portfolio and the customers in detail.

:func:`engage.htmlreport.collect.collect` fills these in one streamed pass over the store;
:mod:`engage.htmlreport.page` turns them into HTML. Nothing here knows about HTML or charts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from engage.health import Band, FactorResult, Health
from engage.history import HealthPoint
from engage.models import Task

#: Bands from worst to best, the order lists and stacks use.
BAND_ORDER = (Band.AT_RISK, Band.WATCH, Band.HEALTHY, Band.NO_DATA)

#: Words for a band in running text.
BAND_WORDS = {
    Band.AT_RISK: "at risk",
    Band.WATCH: "watch",
    Band.HEALTHY: "healthy",
    Band.NO_DATA: "no data",
}

_PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}
_BAND_RANK = {Band.AT_RISK: 0, Band.WATCH: 1, Band.NO_DATA: 2, Band.HEALTHY: 3}


@attrs.frozen
class CustomerRow:
    """One customer as scored for the report.

    Attributes:
        health: Its health now, with every factor's sentence.
        tasks: The tasks the playbook plans for it now, most urgent first.
        owner: The owner's id, if any.
        owner_label: How to name the owner (name, else email, else id; "nobody").
        owner_status: active, inactive, gone or none.
        contact: The main contact's name and address, if known.
        before: Its score 30 days ago from the history, if recorded.
    """

    health: Health
    tasks: tuple[Task, ...]
    owner: str | None
    owner_label: str
    owner_status: str
    contact: str | None
    before: int | None

    @property
    def key(self) -> str:
        """The customer's key."""
        return self.health.customer

    @property
    def label(self) -> str:
        """The customer's name, or its key when no source named it."""
        return self.health.name or self.health.customer

    @property
    def delta(self) -> int | None:
        """Score change over the last 30 days, when both ends are known."""
        if self.before is None or self.health.score is None:
            return None
        return self.health.score - self.before

    @property
    def weakest(self) -> FactorResult | None:
        """The factor with the lowest value (None without data)."""
        known = [f for f in self.health.factors if f.value is not None]
        return min(known, key=lambda f: (f.value or 0.0, -f.weight), default=None)

    @property
    def urgency(self) -> tuple[int, int, int, int, str]:
        """Sort key, most urgent first: band (at risk first), high-priority tasks, any task,
        score (lowest first), key."""
        high = sum(1 for t in self.tasks if t.priority.value == "high")
        score = 101 if self.health.score is None else self.health.score
        return (_BAND_RANK[self.health.band], -high, -len(self.tasks), score, self.key)


def task_order(task: Task) -> tuple[int, str, str]:
    """Most urgent first: priority, due date, rule."""
    return (_PRIORITY_RANK[task.priority.value], task.due.isoformat(), task.rule)


@attrs.frozen
class Mover:
    """A customer whose score moved most in the last 30 days.

    Attributes:
        row: The customer now.
        before: Its score 30 days ago.
        factor: The factor whose part in the score moved most that way, if any.
        factor_before: That factor's value 30 days ago (None: left out then).
    """

    row: CustomerRow
    before: int
    factor: FactorResult | None
    factor_before: float | None


@attrs.frozen
class OwnerDrift:
    """How one owner's accounts moved over the last 30 days."""

    owner: str
    status: str
    accounts: int
    compared: int  # accounts with a score now and 30 days ago
    mean_delta: float
    down: int  # accounts that fell to a worse band
    at_risk: int


@attrs.frozen
class SourceLine:
    """A source in the report's header."""

    name: str
    plugin: str | None
    touchpoints: int
    latest: datetime | None
    pulled: datetime | None


@attrs.frozen
class Detail:
    """What a customer's own section adds to its row: its story."""

    row: CustomerRow
    anchor: str
    history: tuple[HealthPoint, ...]
    months: tuple[tuple[str, str, str, int], ...]  # (YYYY-MM, channel, direction, count)
    healthy_at: int
    watch_at: int


@attrs.frozen
class Portfolio:
    """Everything the report shows.

    Attributes:
        as_of: The moment the report describes.
        version: The scoring version.
        sources: Where the data came from.
        customers: How many customers the store knows.
        month_ends: The moments of the band history, oldest first (the last is ``as_of``).
        bands_by_month: For each of ``month_ends``, customers per band.
        bands_by_segment: Segment → band → customers, now.
        at_risk: The most urgent at-risk customers shown (at most the list's limit).
        at_risk_total: How many customers are at risk in all.
        falling, rising: The biggest movers of the last 30 days, down and up.
        tasks_by_owner: Owner label → priority → open tasks.
        tasks_by_rule: Rule → priority → open tasks.
        drifting: Owners whose accounts fell most, worst first.
        details: Customers with their own section, most urgent first.
        index: Every customer for the search, compactly (see :mod:`engage.htmlreport.page`).
        top: The number of most urgent customers given a section (None: every customer).
        backfilled_until: The last back-filled moment, when the band history begins with
            back-filled rows.
    """

    as_of: datetime
    version: str
    sources: tuple[SourceLine, ...]
    customers: int
    month_ends: tuple[datetime, ...]
    bands_by_month: tuple[Mapping[str, int], ...]
    bands_by_segment: Mapping[str, Mapping[str, int]]
    at_risk: tuple[CustomerRow, ...]
    at_risk_total: int
    falling: tuple[Mover, ...]
    rising: tuple[Mover, ...]
    tasks_by_owner: Mapping[str, Mapping[str, int]]
    tasks_by_rule: Mapping[str, Mapping[str, int]]
    drifting: tuple[OwnerDrift, ...]
    details: tuple[Detail, ...]
    index: tuple[tuple[str, str, int | None, str, str, str, str, str], ...]
    top: int | None
    backfilled_until: datetime | None
