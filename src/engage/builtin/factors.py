"""engage's built-in health factors: recency, frequency, trend, reciprocity, personal,
feedback and ownership.

Each factor is a pure function of :class:`~engage.facts.CustomerFacts` returning a value in
0–1 (1 is healthy) with one plain sentence naming the facts and numbers, or None when the
customer gives it nothing to judge by (then :func:`engage.health.score` spreads its weight
over the others). A customer with no touchpoint and no ``first_seen`` has no known
relationship at all: every factor, ownership included, returns None for it, so a bare
record is never reported healthy on ownership alone.

The formulas are documented on each class; every number comes from the customer's
:class:`~engage.settings.SegmentSettings`. Changing a formula means bumping
:data:`engage.settings.RULES_VERSION`.
"""

from __future__ import annotations

from typing import Final

from engage.builtin.wording import dated, days_ago, number, percent, plural, span, who
from engage.facts import CustomerFacts, OwnerStatus
from engage.health import Assessment, Factor
from engage.hookspecs import RegisterFactor, hookimpl
from engage.settings import DEFAULT_WEIGHTS

#: Share of inbound touches from which a relationship counts as fully two-way.
RECIPROCITY_HEALTHY_SHARE: Final = 0.40
#: Share of calls and meetings among calls, meetings and emails that counts as personal enough.
PERSONAL_HEALTHY_SHARE: Final = 0.25
#: Feedback value when feedback was asked but no score came back.
FEEDBACK_ASKED_VALUE: Final = 0.6
#: Ownership value of an owner who went quiet (may be on leave; the team is still there).
OWNERSHIP_INACTIVE_VALUE: Final = 0.3


def recency_value(days: float, cadence_days: float) -> float:
    """1 up to the cadence, falling linearly to 0 at three cadences; never rises with days."""
    cadence = max(cadence_days, 1e-9)
    if days <= cadence:
        return 1.0
    return max(0.0, 1.0 - (days - cadence) / (2 * cadence))


class Recency:
    """Time since the last two-way exchange against the segment's cadence.

    Value: 1 while the last two-way exchange is at most ``cadence_days`` old, then falling
    linearly to 0 at ``3 × cadence_days`` (:func:`recency_value`). A customer who never had
    a two-way exchange is measured from the first touch instead, so a new relationship gets
    the same grace as one that started with an exchange, and a never-answered one still
    reaches 0 after three cadences. None when the relationship has no known start.
    """

    name = "recency"
    default_weight = DEFAULT_WEIGHTS["recency"]

    def assess(self, facts: CustomerFacts) -> Assessment | None:
        cadence = facts.settings.cadence_days
        if facts.last_two_way is not None:
            days = facts.days_since(facts.last_two_way) or 0.0
            return Assessment(
                recency_value(days, cadence),
                f"Last two-way exchange {days_ago(facts, facts.last_two_way)}; "
                f"the cadence is {plural(cadence, 'day')}.",
            )
        if facts.first_touch is None:
            return None
        days = facts.days_since(facts.first_touch) or 0.0
        return Assessment(
            recency_value(days, cadence),
            f"No two-way exchange yet, {span(days)} after the first touch "
            f"({facts.first_touch.date().isoformat()}); the cadence is {plural(cadence, 'day')}.",
        )


class Frequency:
    """Touches in the recent window against what the cadence expects.

    Expected touches are ``window_days / cadence_days``, prorated for a customer younger than
    the window (``tenure / cadence_days``, at least 1). Value: ``recent_touches / expected``,
    capped at 1. None when the relationship has no known start.
    """

    name = "frequency"
    default_weight = DEFAULT_WEIGHTS["frequency"]

    def assess(self, facts: CustomerFacts) -> Assessment | None:
        if facts.first_touch is None:
            return None
        s = facts.settings
        tenure_days = facts.days_since(facts.first_touch) or 0.0
        young = tenure_days < s.window_days
        period = tenure_days if young else float(s.window_days)
        expected = max(1.0, period / max(s.cadence_days, 1))
        value = min(1.0, facts.recent_touches / expected)
        if not young:
            where = f"the last {s.window_days} days"
        elif tenure_days < 1:
            where = "the first day"
        else:
            where = f"the {span(tenure_days)} since the first touch"
        return Assessment(
            value,
            f"{plural(facts.recent_touches, 'touch', 'touches')} in {where}; "
            f"a {s.cadence_days}-day cadence expects {number(expected)}.",
        )


class Trend:
    """The recent window against the customer's own previous window (complacency).

    Value: ``recent_touches / previous_touches`` capped at 1; 1 when the previous window was
    empty and the recent one is not; 0 when both windows were silent. None for a customer
    younger than two windows, who has no previous window to compare with.
    """

    name = "trend"
    default_weight = DEFAULT_WEIGHTS["trend"]

    def assess(self, facts: CustomerFacts) -> Assessment | None:
        window = facts.settings.window_days
        tenure = facts.days_since(facts.first_touch)
        if tenure is None or tenure < 2 * window:
            return None
        recent, previous = facts.recent_touches, facts.previous_touches
        head = (
            f"{plural(recent, 'touch', 'touches')} in the last {window} days against "
            f"{previous} in the {window} days before"
        )
        if previous == 0:
            if recent == 0:
                return Assessment(
                    0.0, f"No touches in either of the last two {window}-day windows."
                )
            return Assessment(1.0, f"{head} (picking up).")
        ratio = recent / previous
        if ratio >= 1:
            return Assessment(1.0, f"{head} (steady or rising).")
        return Assessment(ratio, f"{head} (down {percent(1 - ratio)}).")


class Reciprocity:
    """Share of recent touches that came from the customer: are we listening, is it two-way?

    Value: ``recent_inbound / recent_touches`` divided by 40% (the healthy share), capped
    at 1. None when there were no touches in the window.
    """

    name = "reciprocity"
    default_weight = DEFAULT_WEIGHTS["reciprocity"]

    def assess(self, facts: CustomerFacts) -> Assessment | None:
        total = facts.recent_touches
        if total <= 0:
            return None
        inbound = min(facts.recent_inbound, total)
        share = inbound / total
        return Assessment(
            min(1.0, share / RECIPROCITY_HEALTHY_SHARE),
            f"{inbound} of {plural(total, 'recent touch', 'recent touches')} came from the customer "
            f"({percent(share)}); healthy is {percent(RECIPROCITY_HEALTHY_SHARE)} or more.",
        )


class Personal:
    """Share of calls and meetings against email in the recent window.

    Value: ``recent_personal / (recent_personal + recent_email)`` divided by 25% (the
    healthy share), capped at 1. Chat and other channels count for neither side. None when
    there was no call, meeting or email in the window.
    """

    name = "personal"
    default_weight = DEFAULT_WEIGHTS["personal"]

    def assess(self, facts: CustomerFacts) -> Assessment | None:
        personal, email = facts.recent_personal, facts.recent_email
        if personal + email <= 0:
            return None
        share = personal / (personal + email)
        window = facts.settings.window_days
        return Assessment(
            min(1.0, share / PERSONAL_HEALTHY_SHARE),
            f"{plural(personal, 'call or meeting', 'calls or meetings')} against "
            f"{plural(email, 'email')} in the last {window} days ({percent(share)}); "
            f"healthy is {percent(PERSONAL_HEALTHY_SHARE)} or more.",
        )


class Feedback:
    """Whether feedback was asked after the first engagement, and the latest score if any.

    Value, first match wins:

    - a score was ever given: the latest score (0–1);
    - feedback was asked (after the first engagement, or at all when there was none) but
      no score came back: 0.6;
    - the first call or meeting is older than ``first_feedback_days`` and no feedback was
      asked since: 0;
    - the first call or meeting is recent and feedback is not due yet: 1.

    None when there was neither a first engagement nor any feedback.
    """

    name = "feedback"
    default_weight = DEFAULT_WEIGHTS["feedback"]

    def assess(self, facts: CustomerFacts) -> Assessment | None:
        due_days = facts.settings.first_feedback_days
        if facts.last_feedback_value is not None:
            when = facts.last_feedback_value_at or facts.last_feedback
            given = f", given {dated(facts, when)}" if when is not None else ""
            return Assessment(
                facts.last_feedback_value,
                f"Latest feedback score {facts.last_feedback_value:.2f} of 1{given}.",
            )
        engaged = facts.first_engagement
        if facts.last_feedback is not None and (engaged is None or facts.feedback_since_engagement):
            return Assessment(
                FEEDBACK_ASKED_VALUE,
                f"Feedback asked {dated(facts, facts.last_feedback)} but no score came back.",
            )
        if engaged is None:
            return None
        days = facts.days_since(engaged) or 0.0
        if days > due_days:
            return Assessment(
                0.0,
                f"First call or meeting {dated(facts, engaged)} and no feedback asked since; "
                f"it was due after {plural(due_days, 'day')}.",
            )
        return Assessment(
            1.0,
            f"First call or meeting {dated(facts, engaged)}; feedback is due after "
            f"{plural(due_days, 'day')}.",
        )


class Ownership:
    """Whether someone can look after the account.

    Value: 1 when the owner is active, 0.3 when they went quiet (no activity for the
    configured inactive period), 0 when they left or nobody owns the account. None when the
    relationship has no known start (no touchpoint and no ``first_seen``).
    """

    name = "ownership"
    default_weight = DEFAULT_WEIGHTS["ownership"]

    def assess(self, facts: CustomerFacts) -> Assessment | None:
        if facts.first_touch is None:
            return None
        status = facts.owner_status
        owner = who(facts.owner, facts.customer.owner or "the owner")
        last = facts.owner_last_active
        if status is OwnerStatus.ACTIVE:
            active = f", last active {days_ago(facts, last)}" if last is not None else ""
            return Assessment(1.0, f"Owned by {owner}{active}.")
        if status is OwnerStatus.INACTIVE:
            quiet = (
                f"has been inactive for {span(facts.days_since(last) or 0.0)} "
                f"(last active {last.date().isoformat()})"
                if last is not None
                else "has no recorded activity"
            )
            return Assessment(OWNERSHIP_INACTIVE_VALUE, f"Owner {owner} {quiet}.")
        if status is OwnerStatus.GONE:
            return Assessment(0.0, f"Owner {owner} has left; nobody looks after this account.")
        return Assessment(0.0, "Nobody owns this account.")


BUILTIN_FACTORS: Final[tuple[Factor, ...]] = (
    Recency(),
    Frequency(),
    Trend(),
    Reciprocity(),
    Personal(),
    Feedback(),
    Ownership(),
)


@hookimpl
def engage_register_factors(register: RegisterFactor) -> None:
    """Register engage's seven built-in health factors."""
    for factor in BUILTIN_FACTORS:
        register(factor)
