"""Scoring and playbook settings: windows, weights and thresholds, per segment.

Every number the factors and rules use lives here, with its default. A team overrides them
per segment in ``[segments.NAME]`` tables of the config file; ``[segments.default]`` changes
the defaults for every customer not in another segment.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

#: Bump when a built-in formula changes, so a change in score can be told from a change in data.
RULES_VERSION = "2"

DEFAULT_SEGMENT = "default"

DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "recency": 0.25,
        "frequency": 0.15,
        "trend": 0.15,
        "reciprocity": 0.10,
        "personal": 0.10,
        "feedback": 0.10,
        "ownership": 0.15,
    }
)


def _frozen_weights(weights: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(weights))


def _frozen_segments(segments: Mapping[str, SegmentSettings]) -> Mapping[str, SegmentSettings]:
    return MappingProxyType({DEFAULT_SEGMENT: SegmentSettings(), **segments})


def _default_segments() -> Mapping[str, SegmentSettings]:
    return {DEFAULT_SEGMENT: SegmentSettings()}


@attrs.frozen
class SegmentSettings:
    """The numbers that define a healthy relationship for one customer type.

    Attributes:
        name: The segment's name (``default`` for customers in no other segment).
        match: Glob patterns on customer keys that put a customer in this segment
            (``["*.bigcorp.com", "acme.com"]``); a source's own segment takes precedence.
        cadence_days: Longest healthy gap between two-way exchanges (check_in, recency).
        window_days: The "recent" window for frequency, trend, reciprocity and personal.
        feedback_days: How often to ask for feedback again (periodic_feedback).
        first_feedback_days: Days after the first real engagement to ask for feedback.
        onboarding_days: How long a customer counts as new (welcome, stage "new").
        response_hours: Longest acceptable wait for a reply to a customer (unanswered).
        reconnect_tenure_days: Tenure from which a customer is long-standing (reconnect).
        reconnect_ratio: reconnect fires when the recent touch rate falls below this
            fraction of the customer's own past rate.
        phone_after_emails: pick_up_phone fires after this many emails in a row.
        status_update_days: Longest silence towards a customer with running work.
        appreciation_days: Days before a relationship anniversary to plan a thank-you.
        dormant_days: With no touch for this long, a customer is dormant: its stage says so
            and the playbook only tries to win it back (reconnect), or hands it over when
            its owner left.
        reply_horizon_days: A customer's message older than this is history, not a message
            waiting for a reply: unanswered stands back (health and reconnect still tell).
        max_tasks: The most tasks planned for one customer at a time; the most urgent are
            kept and the others are listed in the first kept task's body.
        healthy_at: Lowest score in the healthy band.
        watch_at: Lowest score in the watch band; below it a customer is at_risk.
        weights: Factor name → weight; factors not named keep their default weight.
    """

    name: str = DEFAULT_SEGMENT
    match: tuple[str, ...] = ()
    cadence_days: int = 30
    window_days: int = 90
    feedback_days: int = 180
    first_feedback_days: int = 14
    onboarding_days: int = 30
    response_hours: int = 48
    reconnect_tenure_days: int = 365
    reconnect_ratio: float = 0.5
    phone_after_emails: int = 4
    status_update_days: int = 14
    appreciation_days: int = 14
    dormant_days: int = 180
    reply_horizon_days: int = 180
    max_tasks: int = 3
    healthy_at: int = 70
    watch_at: int = 40
    weights: Mapping[str, float] = attrs.field(factory=dict, converter=_frozen_weights, eq=False)

    def weight(self, factor: str, default: float) -> float:
        """The configured weight of ``factor``, else its built-in or declared ``default``."""
        return self.weights.get(factor, DEFAULT_WEIGHTS.get(factor, default))

    def matches(self, customer_key: str) -> bool:
        """True when one of this segment's ``match`` patterns covers ``customer_key``."""
        return any(fnmatch.fnmatchcase(customer_key, pattern.lower()) for pattern in self.match)

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for hashing and display."""
        data = attrs.asdict(self)
        data["weights"] = dict(self.weights)
        data["match"] = list(self.match)
        return data

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as its values: the frozen weights (a mappingproxy) cannot be pickled
        values = attrs.asdict(self, recurse=False)
        values["weights"] = dict(self.weights)
        return (_segment_settings, (values,))


def _segment_settings(values: dict[str, Any]) -> SegmentSettings:
    return SegmentSettings(**values)


#: Integer and float fields of :class:`SegmentSettings` a config table may set.
SEGMENT_NUMBERS: Mapping[str, type] = MappingProxyType(
    {
        field.name: field.type
        if isinstance(field.type, type)
        else {"int": int, "float": float}[str(field.type)]
        for field in attrs.fields(SegmentSettings)
        if str(field.type) in ("int", "float")
    }
)


@attrs.frozen
class ScoringSettings:
    """All scoring and playbook settings of one configuration.

    Attributes:
        segments: Segment name → settings; always holds ``default``.
        owner_inactive_days: For sources with no owner list, an owner with no outbound
            touchpoint, call or meeting for this long (while the team is active) is gone.
        fallback_owner: Who gets a task whose customer has no active owner (handover).
    """

    segments: Mapping[str, SegmentSettings] = attrs.field(
        factory=_default_segments,
        converter=_frozen_segments,
        eq=False,
    )
    owner_inactive_days: int = 60
    fallback_owner: str | None = None

    @property
    def version(self) -> str:
        """Identifies the rules and every number in effect: ``v1-3fa2c1d0``.

        Two health reports with the same version were scored by the same rules; a different
        version means the configuration or engage's formulas changed.
        """
        data = {
            "rules": RULES_VERSION,
            "owner_inactive_days": self.owner_inactive_days,
            "segments": {name: s.as_dict() for name, s in sorted(self.segments.items())},
        }
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:8]
        return f"v{RULES_VERSION}-{digest}"

    def segment_for(self, customer_key: str, declared: str | None = None) -> SegmentSettings:
        """The settings for a customer: its declared segment, else the first matching, else default."""
        if declared:
            return self.segments.get(
                declared, attrs.evolve(self.segments[DEFAULT_SEGMENT], name=declared)
            )
        for name, segment in self.segments.items():
            if name != DEFAULT_SEGMENT and segment.matches(customer_key):
                return segment
        return self.segments[DEFAULT_SEGMENT]
