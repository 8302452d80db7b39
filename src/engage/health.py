"""Relationship health: a 0–100 score from weighted factors, each with a reason.

A :class:`Factor` looks at a customer's :class:`~engage.facts.CustomerFacts` and returns a
value between 0 (bad) and 1 (good) with one plain sentence, or ``None`` when it has no data
for that customer. Factors without data are excluded and their weight is spread over the
others, and the report says so.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs

from engage.facts import CustomerFacts


class Band(enum.StrEnum):
    """How worried to be about a relationship (``no_data``: no touch recorded to judge by)."""

    HEALTHY = "healthy"
    WATCH = "watch"
    AT_RISK = "at_risk"
    NO_DATA = "no_data"


class Stage(enum.StrEnum):
    """Where a relationship is in its life (``no_data``: no touch recorded yet)."""

    NEW = "new"
    ACTIVE = "active"
    AT_RISK = "at_risk"
    DORMANT = "dormant"
    NO_DATA = "no_data"


def _unit(value: float) -> float:
    value = float(value)
    # min(1.0, max(0.0, value)) without the two calls; NaN and -0.0 give 0.0 as there
    return 1.0 if value > 1.0 else value if value > 0.0 else 0.0


@attrs.frozen
class Assessment:
    """What a factor says about one customer: a value in 0–1 (1 is healthy) and why."""

    value: float = attrs.field(converter=_unit)
    explain: str


@runtime_checkable
class Factor(Protocol):
    """A health factor. Register instances through ``engage_register_factors``.

    Attributes:
        name: Unique name, used in config ``weights`` and in reports.
        default_weight: Weight when the configuration names none.
    """

    name: str
    default_weight: float

    def assess(self, facts: CustomerFacts) -> Assessment | None:
        """Assess one customer, or return None when there is no data to judge by."""
        ...


@attrs.frozen
class FactorResult:
    """One factor's part in a health score.

    ``weight`` is the effective weight after excluded factors' weights were spread over the
    rest (weights of included factors sum to 1). An excluded factor has value None and weight 0.
    """

    name: str
    value: float | None
    weight: float
    explain: str

    def to_json(self) -> dict[str, Any]:
        """The factor as ``engage health --json`` prints it."""
        value = None if self.value is None else round(self.value, 3)
        return {
            "name": self.name,
            "value": value,
            "weight": round(self.weight, 3),
            "explain": self.explain,
        }


@attrs.frozen
class Health:
    """A customer's relationship health as of a moment.

    ``score`` is None, and band and stage ``no_data``, for a customer with no inbound or
    outbound touchpoint up to the moment (a CRM record, internal notes only): there is
    nothing to judge the relationship by, which is not the same as a bad relationship.
    """

    customer: str
    name: str | None
    segment: str
    score: int | None
    band: Band
    stage: Stage
    factors: tuple[FactorResult, ...]
    as_of: datetime
    version: str

    excluded_note: ClassVar[str] = "no data; its weight is spread over the other factors"
    no_data_note: ClassVar[str] = "no touch recorded yet, so no score"

    @property
    def has_data(self) -> bool:
        """False for a customer with no recorded touch (``score`` None, band ``no_data``)."""
        return self.score is not None

    def factor(self, name: str) -> FactorResult | None:
        """The result of the factor called ``name``, if it was assessed."""
        return next((f for f in self.factors if f.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The health report as ``engage health --json`` prints one customer."""
        return {
            "customer": self.customer,
            "name": self.name,
            "segment": self.segment,
            "score": self.score,
            "band": self.band.value,
            "stage": self.stage.value,
            "factors": [f.to_json() for f in self.factors],
            "as_of": self.as_of.isoformat(),
            "version": self.version,
        }


def score(facts: CustomerFacts, factors: Iterable[Factor], version: str) -> Health:
    """Score one customer with ``factors``; the weighted mean of included factors, 0–100.

    A customer with no inbound or outbound touch gets no score (``no_data``): its factors
    are listed with no value.
    """
    settings = facts.settings
    if facts.touches == 0:
        return Health(
            customer=facts.key,
            name=facts.customer.name,
            segment=settings.name,
            score=None,
            band=Band.NO_DATA,
            stage=Stage.NO_DATA,
            factors=tuple(
                FactorResult(f.name, None, 0.0, f"{f.name}: {Health.no_data_note}") for f in factors
            ),
            as_of=facts.as_of,
            version=version,
        )
    assessed: list[tuple[Factor, Assessment | None, float]] = []
    for factor in factors:
        weight = max(0.0, settings.weight(factor.name, factor.default_weight))
        if weight == 0:
            continue
        assessed.append((factor, factor.assess(facts), weight))
    total = sum(weight for _, assessment, weight in assessed if assessment is not None)
    results = []
    weighted = 0.0
    for factor, assessment, weight in assessed:
        if assessment is None or total == 0:
            results.append(
                FactorResult(factor.name, None, 0.0, f"{factor.name}: {Health.excluded_note}")
            )
            continue
        share = weight / total
        weighted += share * assessment.value
        results.append(FactorResult(factor.name, assessment.value, share, assessment.explain))
    value = round(100 * weighted) if total else 0
    band = (
        Band.HEALTHY
        if value >= settings.healthy_at
        else Band.WATCH
        if value >= settings.watch_at
        else Band.AT_RISK
    )
    return Health(
        customer=facts.key,
        name=facts.customer.name,
        segment=settings.name,
        score=value,
        band=band,
        stage=stage_of(facts, band),
        factors=tuple(results),
        as_of=facts.as_of,
        version=version,
    )


def stage_of(facts: CustomerFacts, band: Band) -> Stage:
    """The lifecycle stage: new (on evidence, see :attr:`CustomerFacts.is_new`), then active,
    at_risk when the band is, dormant when silent."""
    settings = facts.settings
    if facts.is_new:
        return Stage.NEW
    last = facts.days_since(facts.last_touch)
    if last is None or last > settings.dormant_days:
        return Stage.DORMANT
    return Stage.AT_RISK if band is Band.AT_RISK else Stage.ACTIVE
