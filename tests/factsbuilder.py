"""Build :class:`CustomerFacts` for factor and rule tests, with days counted back from AS_OF."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from hypothesis import strategies as st

from engage.builtin.factors import BUILTIN_FACTORS
from engage.facts import CustomerFacts, OwnerStatus
from engage.health import Health, score
from engage.models import Customer, Owner, Task
from engage.playbook import Rule
from engage.settings import ScoringSettings, SegmentSettings

AS_OF = datetime(2024, 6, 15, 9, 0, tzinfo=UTC)
OWNER = Owner(id="u1", email="jo@ourco.com", name="Jo Owner")
SETTINGS = ScoringSettings()
FALLBACK = ScoringSettings(fallback_owner="lead@ourco.com")


def ago(days: float, as_of: datetime = AS_OF) -> datetime:
    """The moment ``days`` before ``as_of``."""
    return as_of - timedelta(days=days)


def facts(
    as_of: datetime = AS_OF,
    *,
    customer: Customer | None = None,
    settings: SegmentSettings | None = None,
    **overrides: Any,
) -> CustomerFacts:
    """Facts of Acme Corp (acme.com, owned by an active Jo Owner) with ``overrides``."""
    # the store's history reaches back years, so a young customer is new on evidence
    values: dict[str, Any] = {
        "owner": OWNER,
        "owner_status": OwnerStatus.ACTIVE,
        "history_start": ago(3 * 365, as_of),
    }
    values.update(overrides)
    if "first_unanswered" not in values:  # unless a test says otherwise: one unanswered message
        inbound = values.get("last_inbound")
        answers = [values.get("last_outbound"), values.get("last_personal")]
        if inbound is not None and all(a is None or a < inbound for a in answers):
            values["first_unanswered"] = inbound
    return CustomerFacts(
        customer=customer or Customer(key="acme.com", name="Acme Corp", owner="u1"),
        as_of=as_of,
        settings=settings or SegmentSettings(),
        **values,
    )


def later(f: CustomerFacts, days: float) -> CustomerFacts:
    """The same facts evaluated ``days`` later, nothing else having happened."""
    return attrs.evolve(f, as_of=f.as_of + timedelta(days=days))


def health(f: CustomerFacts) -> Health:
    """The facts scored with the built-in factors."""
    return score(f, BUILTIN_FACTORS, "test")


def run(rule: Rule, f: CustomerFacts, settings: ScoringSettings = SETTINGS) -> Task | None:
    """Plan ``rule`` for ``f``."""
    return rule.plan(f, health(f), settings)


@st.composite
def consistent_facts(draw: st.DrawFn) -> CustomerFacts:
    """Arbitrary facts whose counts and moments agree with each other."""
    seg = SegmentSettings(
        cadence_days=draw(st.integers(1, 120)),
        window_days=draw(st.integers(1, 365)),
        first_feedback_days=draw(st.integers(0, 60)),
        feedback_days=draw(st.integers(1, 400)),
    )
    if draw(st.booleans()):
        return facts(settings=seg, owner_status=draw(st.sampled_from(OwnerStatus)))
    tenure = draw(st.floats(0, 5000))
    first = ago(tenure)

    def moment() -> datetime | None:
        if not draw(st.booleans()):
            return None
        return ago(draw(st.floats(0, tenure)))

    recent_inbound = draw(st.integers(0, 50))
    recent_outbound = draw(st.integers(0, 50))
    recent = recent_inbound + recent_outbound + draw(st.integers(0, 5))
    recent_personal = draw(st.integers(0, recent))
    recent_email = draw(st.integers(0, recent - recent_personal))
    previous = draw(st.integers(0, 200))
    before = draw(st.integers(0, 1000))
    score_value = draw(st.none() | st.floats(0, 1))
    last_feedback = moment()
    return facts(
        settings=seg,
        touches=recent + before,
        first_touch=first,
        last_touch=moment(),
        last_inbound=moment(),
        last_outbound=moment(),
        last_two_way=moment(),
        last_personal=moment(),
        first_engagement=moment(),
        last_feedback=last_feedback,
        last_feedback_value=score_value,
        last_feedback_value_at=last_feedback if score_value is not None else None,
        feedback_since_engagement=draw(st.booleans()),
        recent_touches=recent,
        previous_touches=min(previous, before),
        recent_inbound=recent_inbound,
        recent_outbound=recent_outbound,
        recent_personal=recent_personal,
        recent_email=recent_email,
        emails_since_personal=draw(st.integers(0, 100)),
        touches_before_window=before,
        owner_status=draw(st.sampled_from(OwnerStatus)),
        owner_last_active=moment(),
        team_active=draw(st.booleans()),
        customer=Customer(
            key="acme.com",
            name="Acme Corp",
            owner="u1",
            open_work=draw(st.booleans()),
        ),
    )


def steady(as_of: datetime = AS_OF, **overrides: Any) -> CustomerFacts:
    """An established, well-kept relationship for which no built-in rule fires."""
    values: dict[str, Any] = {
        "touches": 30,
        "first_touch": ago(200, as_of),
        "last_touch": ago(5, as_of),
        "last_inbound": ago(6, as_of),
        "last_outbound": ago(5, as_of),
        "last_two_way": ago(6, as_of),
        "last_personal": ago(10, as_of),
        "first_engagement": ago(190, as_of),
        "last_feedback": ago(30, as_of),
        "feedback_since_engagement": True,
        "recent_touches": 10,
        "previous_touches": 9,
        "recent_inbound": 5,
        "recent_outbound": 5,
        "recent_personal": 3,
        "recent_email": 7,
        "emails_since_personal": 2,
        "touches_before_window": 20,
        "owner_last_active": ago(1, as_of),
        "main_contact": "pat@acme.com",
        "main_contact_name": "Pat Buyer",
    }
    values.update(overrides)
    return facts(as_of, **values)
