"""When each built-in rule fires, as plain predicates over :class:`CustomerFacts`.

The rules themselves (:mod:`engage.builtin.rules`) build the tasks; the conditions live here
so one rule can stand back for another (check_in waits while a reply or a welcome is due,
periodic_feedback while first_feedback is due, pick_up_phone while reconnect is due) without
the rules importing each other.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from engage.facts import CustomerFacts, OwnerStatus


def welcome_due(facts: CustomerFacts) -> bool:
    """The first touch is at most ``onboarding_days`` old and we never wrote or called."""
    days = facts.days_since(facts.first_touch)
    return (
        days is not None and days <= facts.settings.onboarding_days and facts.last_outbound is None
    )


def first_feedback_due(facts: CustomerFacts) -> bool:
    """The first call or meeting is older than ``first_feedback_days`` with no feedback since.

    Only until the first engagement is ``feedback_days`` old (or ``first_feedback_days``,
    whichever is longer): after that, asking about "the first meeting" makes no sense and
    periodic_feedback asks instead.
    """
    days = facts.days_since(facts.first_engagement)
    if days is None or facts.feedback_since_engagement:
        return False
    s = facts.settings
    return s.first_feedback_days < days <= max(s.feedback_days, s.first_feedback_days)


def periodic_feedback_due(facts: CustomerFacts) -> bool:
    """No feedback for ``feedback_days`` (or never, with a longer tenure); first_feedback first."""
    limit = facts.settings.feedback_days
    if first_feedback_due(facts):
        return False
    if facts.last_feedback is not None:
        return (facts.days_since(facts.last_feedback) or 0.0) > limit
    tenure = facts.days_since(facts.first_touch)
    return tenure is not None and tenure > limit


def unanswered_due(facts: CustomerFacts) -> bool:
    """The customer's latest message has waited longer than ``response_hours`` for a reply."""
    waiting = facts.days_since(facts.waiting_since)
    return waiting is not None and waiting * 24 > facts.settings.response_hours


def check_in_due(facts: CustomerFacts) -> bool:
    """No two-way exchange for more than ``cadence_days`` (or never, with a longer tenure).

    Stands back while unanswered or welcome is due: reply or welcome first.
    """
    cadence = facts.settings.cadence_days
    if facts.last_two_way is not None:
        late = (facts.days_since(facts.last_two_way) or 0.0) > cadence
    else:
        tenure = facts.days_since(facts.first_touch)
        late = tenure is not None and tenure > cadence
    return late and not unanswered_due(facts) and not welcome_due(facts)


def past_rate(facts: CustomerFacts) -> float | None:
    """Touches per day from the first touch to the start of the recent window."""
    tenure = facts.days_since(facts.first_touch)
    if tenure is None:
        return None
    before = tenure - facts.settings.window_days
    if before <= 0:
        return None
    return facts.touches_before_window / before


def recent_rate(facts: CustomerFacts) -> float:
    """Touches per day in the recent window."""
    return facts.recent_touches / max(facts.settings.window_days, 1)


def reconnect_due(facts: CustomerFacts) -> bool:
    """A long-standing customer's touch rate fell below ``reconnect_ratio`` of its past rate.

    Long-standing: tenure of at least ``reconnect_tenure_days``. Past rate: touches before the
    recent window per day from the first touch to the window's start. Stands back while the
    latest call or meeting is within ``cadence_days`` (someone just reconnected).
    """
    s = facts.settings
    tenure = facts.days_since(facts.first_touch)
    past = past_rate(facts)
    if tenure is None or tenure < s.reconnect_tenure_days or not past:
        return False
    personal = facts.days_since(facts.last_personal)
    if personal is not None and personal <= s.cadence_days:
        return False
    return recent_rate(facts) < s.reconnect_ratio * past


def pick_up_phone_due(facts: CustomerFacts) -> bool:
    """We sent ``phone_after_emails`` emails since the last call or meeting, one recently.

    Any email in the window is since the last call or meeting when that call is older than
    the window, and any email after a call inside the window is in the window, so "one of
    them is recent" is ``recent_email > 0``. Stands back while reconnect (also a call) is due.
    """
    enough = facts.emails_since_personal >= max(1, facts.settings.phone_after_emails)
    return enough and facts.recent_email > 0 and not reconnect_due(facts)


def handover_due(facts: CustomerFacts) -> bool:
    """The owner left or nobody owns the account; an inactive owner only while the team is active."""
    status = facts.owner_status
    if status is OwnerStatus.INACTIVE:
        return facts.team_active
    return status in (OwnerStatus.GONE, OwnerStatus.NONE)


def status_update_due(facts: CustomerFacts) -> bool:
    """Running work and no outbound touch for more than ``status_update_days`` (or ever)."""
    if not facts.customer.open_work:
        return False
    days = facts.days_since(facts.last_outbound)
    return days is None or days > facts.settings.status_update_days


def anniversary(start: date, year: int) -> date:
    """The anniversary of ``start`` in ``year``; 29 February falls on the 28th in common years."""
    day = start.day
    if start.month == 2 and day == 29 and not calendar.isleap(year):
        day = 28
    return date(year, start.month, day)


def next_anniversary(facts: CustomerFacts) -> tuple[date, int] | None:
    """The anniversary (date, years) within ``appreciation_days`` from today, at least one year in."""
    if facts.first_touch is None:
        return None
    start = facts.first_touch.date()
    today = facts.as_of.date()
    last_day = today + timedelta(days=max(0, facts.settings.appreciation_days))
    for year in (today.year, today.year + 1):
        years = year - start.year
        if years < 1:
            continue
        day = anniversary(start, year)
        if today <= day <= last_day:
            return day, years
    return None
