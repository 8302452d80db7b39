"""The built-in health factors: values, sentences, exclusions and invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engage.builtin import factors as builtin_factors
from engage.builtin.factors import (
    BUILTIN_FACTORS,
    Feedback,
    Frequency,
    Ownership,
    Personal,
    Recency,
    Reciprocity,
    Trend,
    recency_value,
)
from engage.facts import CustomerFacts, OwnerStatus
from engage.health import Assessment, Factor
from engage.models import Customer, Owner
from engage.settings import DEFAULT_WEIGHTS, SegmentSettings
from tests.factsbuilder import AS_OF, ago, consistent_facts, facts, health


def assess(factor: Factor, f: CustomerFacts) -> Assessment:
    """Assess and insist on a result."""
    result = factor.assess(f)
    assert result is not None
    return result


# registration


def test_register_hook_yields_the_seven_factors() -> None:
    """The hook registers exactly the seven built-in factors, with their default weights."""
    registered: list[Factor] = []

    def register(factor: Factor) -> None:
        registered.append(factor)

    builtin_factors.engage_register_factors(register=register)
    assert [f.name for f in registered] == [
        "recency",
        "frequency",
        "trend",
        "reciprocity",
        "personal",
        "feedback",
        "ownership",
    ]
    assert all(isinstance(f, Factor) for f in registered)
    assert {f.name: f.default_weight for f in registered} == dict(DEFAULT_WEIGHTS)


def test_a_customer_with_no_known_start_has_no_data_for_any_factor() -> None:
    """No touchpoint and no first_seen: every factor is excluded, and there is no score."""
    f = facts()
    assert all(factor.assess(f) is None for factor in BUILTIN_FACTORS)
    report = health(f)
    assert (report.score, report.band.value, report.stage.value) == (None, "no_data", "no_data")
    assert report.to_json()["score"] is None and report.to_json()["band"] == "no_data"


def test_a_customer_with_only_a_record_or_notes_has_no_score() -> None:
    """A CRM record with first_seen, or internal notes only: no touch, so no score, not 0."""
    f = facts(first_touch=ago(400), customer=Customer(key="acme.com", first_seen=ago(400)))
    report = health(f)
    assert report.score is None and report.band.value == "no_data"
    assert all(r.value is None and "no touch recorded yet" in r.explain for r in report.factors)


# recency


def test_recency_is_full_within_the_cadence() -> None:
    """A two-way exchange 10 days ago with a 30-day cadence is fully recent."""
    result = assess(Recency(), facts(first_touch=ago(400), last_two_way=ago(10)))
    assert result.value == 1.0
    assert result.explain == "Last two-way exchange 10 days ago; the cadence is 30 days."


def test_recency_is_full_exactly_at_the_cadence() -> None:
    """Exactly one cadence since the last two-way exchange still counts as recent."""
    assert assess(Recency(), facts(first_touch=ago(400), last_two_way=ago(30))).value == 1.0


def test_recency_falls_linearly_to_zero_at_three_cadences() -> None:
    """Two cadences ago is half-way down; three cadences and beyond is zero."""
    assert assess(
        Recency(), facts(first_touch=ago(400), last_two_way=ago(60))
    ).value == pytest.approx(0.5)
    assert assess(Recency(), facts(first_touch=ago(400), last_two_way=ago(90))).value == 0.0
    result = assess(Recency(), facts(first_touch=ago(400), last_two_way=ago(41)))
    assert result.explain == "Last two-way exchange 41 days ago; the cadence is 30 days."


def test_recency_without_a_two_way_exchange_counts_from_the_first_touch() -> None:
    """Never two-way: a new customer gets the cadence's grace, an old one gets zero."""
    new = assess(Recency(), facts(touches=1, first_touch=ago(5), last_inbound=ago(5)))
    old = assess(Recency(), facts(touches=3, first_touch=ago(200), last_outbound=ago(3)))
    assert new.value == 1.0
    assert old.value == 0.0
    assert "No two-way exchange yet" in old.explain and "6 months" in old.explain


@given(st.floats(0, 10_000), st.floats(0, 10_000), st.integers(1, 365))
def test_recency_never_improves_as_days_grow(a: float, b: float, cadence: int) -> None:
    """More days since the last two-way exchange never give a better recency."""
    early, late = sorted((a, b))
    assert recency_value(late, cadence) <= recency_value(early, cadence)


@given(st.floats(0, 3000), st.floats(0, 3000))
def test_recency_factor_is_monotonic_in_the_last_exchange(a: float, b: float) -> None:
    """Through the factor itself: an older last exchange never scores higher."""
    early, late = sorted((a, b))
    value = [
        assess(Recency(), facts(first_touch=ago(3000), last_two_way=ago(days))).value
        for days in (early, late)
    ]
    assert value[1] <= value[0]


# frequency


def test_frequency_is_full_at_the_expected_touches() -> None:
    """Three touches in 90 days meet a 30-day cadence."""
    result = assess(Frequency(), facts(first_touch=ago(400), recent_touches=3))
    assert result.value == 1.0
    assert result.explain == "3 touches in the last 90 days; a 30-day cadence expects 3."


def test_frequency_is_low_when_touches_fall_short() -> None:
    """One touch in 90 days is a third of what a 30-day cadence expects; none is zero."""
    assert assess(
        Frequency(), facts(first_touch=ago(400), recent_touches=1)
    ).value == pytest.approx(1 / 3)
    assert assess(Frequency(), facts(first_touch=ago(400), recent_touches=0)).value == 0.0


def test_frequency_is_prorated_for_a_young_customer() -> None:
    """A customer of 45 days is expected 1.5 touches, not 3."""
    result = assess(Frequency(), facts(first_touch=ago(45), recent_touches=1))
    assert result.value == pytest.approx(1 / 1.5)
    assert "since the first touch" in result.explain and "expects 1.5" in result.explain


def test_frequency_excluded_without_a_known_start() -> None:
    """No touch and no first_seen: frequency has no data."""
    assert Frequency().assess(facts()) is None


def test_frequency_counts_from_first_seen_without_touches() -> None:
    """A customer known since first_seen but never touched has frequency zero."""
    f = facts(first_touch=ago(120), customer=Customer(key="acme.com", first_seen=ago(120)))
    assert assess(Frequency(), f).value == 0.0


# trend


def test_trend_is_full_when_steady_or_rising() -> None:
    """As many recent touches as in the previous window is a steady trend."""
    result = assess(Trend(), facts(first_touch=ago(400), recent_touches=6, previous_touches=5))
    assert result.value == 1.0
    assert "6 touches in the last 90 days against 5" in result.explain


def test_trend_falls_with_the_ratio() -> None:
    """Two touches against eight before is a quarter, said as down 75%."""
    result = assess(Trend(), facts(first_touch=ago(400), recent_touches=2, previous_touches=8))
    assert result.value == pytest.approx(0.25)
    assert "down 75%" in result.explain


def test_trend_after_an_empty_previous_window() -> None:
    """Touches after a silent window are a rising trend; two silent windows are zero."""
    assert assess(Trend(), facts(first_touch=ago(400), recent_touches=2)).value == 1.0
    assert assess(Trend(), facts(first_touch=ago(400))).value == 0.0


def test_trend_needs_two_windows_of_tenure() -> None:
    """A customer younger than two windows has no trend; exactly two windows has one."""
    assert Trend().assess(facts(first_touch=ago(179), recent_touches=3)) is None
    assert Trend().assess(facts(first_touch=ago(180), recent_touches=3)) is not None


# reciprocity


def test_reciprocity_is_full_at_forty_percent_inbound() -> None:
    """Four of ten recent touches from the customer is fully two-way."""
    result = assess(Reciprocity(), facts(first_touch=ago(400), recent_touches=10, recent_inbound=4))
    assert result.value == 1.0
    assert result.explain.startswith("4 of 10 recent touches came from the customer (40%)")


def test_reciprocity_is_low_when_we_do_all_the_talking() -> None:
    """One inbound in ten is a quarter of the healthy share; none is zero."""
    low = facts(first_touch=ago(400), recent_touches=10, recent_inbound=1)
    assert assess(Reciprocity(), low).value == pytest.approx(0.25)
    silent = facts(first_touch=ago(400), recent_touches=10, recent_inbound=0)
    assert assess(Reciprocity(), silent).value == 0.0


def test_reciprocity_excluded_without_recent_touches() -> None:
    """No touches in the window: reciprocity has no data."""
    assert Reciprocity().assess(facts(first_touch=ago(400), touches=5)) is None


# personal


def test_personal_is_full_at_a_quarter_calls() -> None:
    """Two calls or meetings against six emails is 25%, fully personal."""
    result = assess(Personal(), facts(first_touch=ago(400), recent_personal=2, recent_email=6))
    assert result.value == 1.0
    assert result.explain.startswith(
        "2 calls or meetings against 6 emails in the last 90 days (25%)"
    )


def test_personal_is_low_for_email_only() -> None:
    """Only email is zero; one call against nine emails is 40% of the healthy share."""
    assert assess(Personal(), facts(first_touch=ago(400), recent_email=5)).value == 0.0
    some = facts(first_touch=ago(400), recent_personal=1, recent_email=9)
    assert assess(Personal(), some).value == pytest.approx(0.4)


def test_personal_excluded_without_calls_or_emails() -> None:
    """No call, meeting or email in the window: personal has no data."""
    assert (
        Personal().assess(facts(first_touch=ago(400), recent_touches=2, recent_inbound=2)) is None
    )


# feedback


def test_feedback_reports_the_latest_score_and_its_date() -> None:
    """A given score is the value, and the sentence names it and when."""
    f = facts(
        first_touch=ago(400),
        last_feedback=ago(40),
        last_feedback_value=0.8,
        last_feedback_value_at=ago(40),
    )
    result = assess(Feedback(), f)
    assert result.value == pytest.approx(0.8)
    assert result.explain == "Latest feedback score 0.80 of 1, given 40 days ago (2024-05-06)."


def test_feedback_asked_without_a_score_is_partial() -> None:
    """Feedback asked after the first engagement with no score back is 0.6."""
    f = facts(first_engagement=ago(60), last_feedback=ago(30), feedback_since_engagement=True)
    result = assess(Feedback(), f)
    assert result.value == pytest.approx(0.6)
    assert "asked 30 days ago" in result.explain


def test_feedback_never_asked_after_first_engagement_is_zero() -> None:
    """A first meeting 20 days ago with no feedback since is zero."""
    result = assess(Feedback(), facts(first_engagement=ago(20)))
    assert result.value == 0.0
    assert "First call or meeting 20 days ago" in result.explain
    assert "no feedback asked since" in result.explain


def test_feedback_asked_only_before_the_first_engagement_is_zero() -> None:
    """Feedback asked before the first meeting does not count for it."""
    f = facts(first_engagement=ago(20), last_feedback=ago(50), feedback_since_engagement=False)
    assert assess(Feedback(), f).value == 0.0


def test_feedback_not_yet_due_is_full() -> None:
    """A first meeting exactly first_feedback_days ago is not overdue yet."""
    assert assess(Feedback(), facts(first_engagement=ago(14))).value == 1.0


def test_feedback_excluded_without_engagement_or_feedback() -> None:
    """No first engagement and no feedback ever: feedback has no data."""
    assert Feedback().assess(facts(first_touch=ago(400), touches=9)) is None


# ownership


@pytest.mark.parametrize(
    ("status", "value", "words"),
    [
        (OwnerStatus.ACTIVE, 1.0, "Owned by Jo Owner, last active 3 days ago."),
        (OwnerStatus.INACTIVE, 0.3, "Owner Jo Owner has been inactive for 2 months"),
        (OwnerStatus.GONE, 0.0, "Owner Jo Owner has left"),
        (OwnerStatus.NONE, 0.0, "Nobody owns this account."),
    ],
)
def test_ownership_by_owner_status(status: OwnerStatus, value: float, words: str) -> None:
    """Active owners are full, inactive partial, gone or missing zero; the sentence names them."""
    last = ago(3) if status is OwnerStatus.ACTIVE else ago(75)
    f = facts(first_touch=ago(400), owner_status=status, owner_last_active=last)
    result = assess(Ownership(), f)
    assert result.value == pytest.approx(value)
    assert words in result.explain


def test_ownership_falls_back_to_the_owner_email_or_id() -> None:
    """An owner without a name is named by email."""
    f = facts(first_touch=ago(400), owner=Owner(id="u9", email="sam@ourco.com"))
    assert assess(Ownership(), f).explain == "Owned by sam@ourco.com."


# invariants


@given(consistent_facts())
def test_every_factor_is_within_zero_and_one_or_excluded(f: CustomerFacts) -> None:
    """For any consistent facts each factor is None or a value in 0..1 with a sentence."""
    for factor in BUILTIN_FACTORS:
        result = factor.assess(f)
        if result is not None:
            assert 0.0 <= result.value <= 1.0
            assert result.explain.endswith(".") and not result.explain[0].islower()


@given(consistent_facts())
def test_score_stays_within_bounds_with_weights_summing_to_one(f: CustomerFacts) -> None:
    """The score is 0..100 and the included factors' weights sum to 1."""
    report = health(f)
    assert (report.score is None) == (f.touches == 0)
    assert report.score is None or 0 <= report.score <= 100
    included = [r.weight for r in report.factors if r.value is not None]
    if included:
        assert math.isclose(sum(included), 1.0)
    assert all(r.weight == 0 for r in report.factors if r.value is None)


def test_a_healthy_relationship_scores_healthy() -> None:
    """A regular, two-way, personal, owned relationship with good feedback scores healthy."""
    f = facts(
        touches=40,
        first_touch=ago(800),
        last_two_way=ago(5),
        first_engagement=ago(700),
        last_feedback=ago(30),
        last_feedback_value=0.9,
        last_feedback_value_at=ago(30),
        feedback_since_engagement=True,
        recent_touches=8,
        previous_touches=7,
        recent_inbound=4,
        recent_outbound=4,
        recent_personal=3,
        recent_email=5,
    )
    report = health(f)
    assert report.score >= 95
    assert report.band.value == "healthy"


def test_segment_settings_change_the_factors() -> None:
    """A 14-day enterprise cadence makes a 20-day-old exchange less recent."""
    seg = SegmentSettings(name="enterprise", cadence_days=14)
    f = facts(settings=seg, first_touch=ago(400), last_two_way=ago(20))
    assert assess(Recency(), f).value < 1.0
    assert "the cadence is 14 days" in assess(Recency(), f).explain
    assert AS_OF.tzinfo is not None
