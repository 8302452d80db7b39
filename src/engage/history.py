"""Health history: each customer's score, band and stage whenever they changed.

The store keeps one row per change, not per sync (:class:`HealthPoint`). Rows come from
three places:

- **every sync**, for the customers it plans again (their data changed, or their plan's
  moment came): a row when the score, band, stage or scoring version differs from the
  customer's previous row;
- **a daily pass**: a score drifts with time alone (recency decays between syncs), so the
  first sync of each UTC day scores every customer and records the ones that moved, unless
  that sync planned everyone anyway;
- **a back-fill**, once per store (the first ``engage report`` or ``health --history``):
  the score as of the end of each of the last :data:`BACKFILL_MONTHS` months, computed from
  the touchpoints dated up to then, for the month ends before the first recorded row, each
  row marked ``backfilled``. A customer's back-filled history starts at its first touch.

A row says the state held from its moment until the next row. Between two syncs the score
may have moved and come back; history is sampled at syncs, not continuous.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from engage.clock import ensure_utc
from engage.health import Band, Health, Stage
from engage.pickled import as_values

#: Month ends a back-fill scores, counting back from the moment it runs.
BACKFILL_MONTHS = 12

#: How often a sync scores every customer to catch scores that drifted with time alone.
FULL_PASS_EVERY = timedelta(days=1)


@as_values
@attrs.frozen
class HealthPoint:
    """A customer's health state from ``at`` until its next point.

    Attributes:
        customer: The customer's key.
        at: The moment the state was scored (aware UTC).
        score: 0–100, or None when there was no touch to judge by (band ``no_data``).
        band: The band then.
        stage: The stage then.
        version: The scoring version that computed it.
        backfilled: Computed afterwards from the touchpoints dated up to ``at`` (a
            back-fill), not recorded by a sync at that moment.
    """

    customer: str
    at: datetime
    score: int | None
    band: Band
    stage: Stage
    version: str
    backfilled: bool = False

    @classmethod
    def of(cls, health: Health, *, backfilled: bool = False) -> HealthPoint:
        """The point a health report makes, at its ``as_of``."""
        return cls(
            health.customer,
            health.as_of,
            health.score,
            health.band,
            health.stage,
            health.version,
            backfilled,
        )

    @property
    def state(self) -> tuple[int | None, str, str, str]:
        """What a new row must differ in: score, band, stage, scoring version."""
        return (self.score, self.band.value, self.stage.value, self.version)

    def to_json(self) -> dict[str, Any]:
        """The point as ``engage health --history --json`` prints it."""
        return {
            "customer": self.customer,
            "at": self.at.isoformat(),
            "score": self.score,
            "band": self.band.value,
            "stage": self.stage.value,
            "version": self.version,
            "backfilled": self.backfilled,
        }


def month_end(year: int, month: int) -> datetime:
    """The last second of a month in UTC: the moment ``--as-of YYYY-MM-DD`` gives its last day."""
    last = calendar.monthrange(year, month)[1]
    return datetime(year, month, last, 23, 59, 59, tzinfo=UTC)


def month_ends(as_of: datetime, months: int = BACKFILL_MONTHS) -> list[datetime]:
    """The ends of the ``months`` whole months before ``as_of``, oldest first."""
    moment = ensure_utc(as_of, "month_ends: as_of")
    year, month = moment.year, moment.month
    ends = []
    for _ in range(months):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        ends.append(month_end(year, month))
    return ends[::-1]


def day_start(moment: datetime) -> datetime:
    """Midnight UTC of ``moment``'s day: the daily pass runs once after it."""
    utc = ensure_utc(moment, "day_start: moment")
    return datetime(utc.year, utc.month, utc.day, tzinfo=UTC)
