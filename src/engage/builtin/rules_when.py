"""When each built-in rule fires, as plain predicates over :class:`CustomerFacts`.

The rules themselves (:mod:`engage.builtin.rules`) build the tasks; the conditions live here
so one rule can stand back for another (check_in waits while a reply or a welcome is due,
periodic_feedback while first_feedback is due, pick_up_phone while reconnect is due) without
the rules importing each other.

Beside each predicate, a ``*_changes`` function lists the moments at which its answer may
flip with time alone, the facts staying as they are (a wait passing the response time, a
tenure passing a threshold). The rules' ``next_change`` takes the earliest of them, so a
sync re-plans a customer only when its data changed or one of those moments has come.
Listing a moment too many costs a re-plan; missing one would leave a task unplanned, so
each list covers every comparison its predicate makes with ``as_of``.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from engage.facts import CustomerFacts, OwnerStatus

Moments = list[datetime | None]

#: A relationship with a touch within this many days is alive (appreciation thanks only those).
ALIVE_DAYS = 365

#: Moments this close before ``as_of`` count as now: float day arithmetic may put a
#: threshold a hair before the moment its comparison flips.
ROUNDING = timedelta(seconds=1)


#: Spans of days already built (settings give few distinct ones); cleared when it grows.
_SPANS: dict[float, timedelta] = {}


def after(moment: datetime | None, days: float) -> datetime | None:
    """``moment`` plus ``days``, or None when there is no moment."""
    if moment is None:
        return None
    span = _SPANS.get(days)
    if span is None:
        if len(_SPANS) >= 4096:
            _SPANS.clear()
        span = _SPANS[days] = timedelta(days=days)
    return moment + span


def earliest(facts: CustomerFacts, moments: Iterable[datetime | None]) -> datetime | None:
    """The first of ``moments`` not before ``as_of`` (one a hair earlier counts as ``as_of``).

    None when every moment is past or missing: time alone changes nothing any more.
    """
    as_of = facts.as_of
    floor = as_of - ROUNDING
    first = None
    for moment in moments:
        if moment is not None and moment >= floor and (first is None or moment < first):
            first = moment
    if first is None:
        return None
    return first if first > as_of else as_of


def no_data(facts: CustomerFacts) -> bool:
    """No inbound or outbound touch recorded: a CRM record, or internal notes only."""
    return facts.touches == 0


def dormant(facts: CustomerFacts) -> bool:
    """Touched once, but not for more than ``dormant_days``: the relationship went quiet."""
    days = facts.days_since(facts.last_touch)
    return days is not None and days > facts.settings.dormant_days


def dormant_changes(facts: CustomerFacts) -> Moments:
    """When dormant may flip: the silence passing ``dormant_days``."""
    return [after(facts.last_touch, facts.settings.dormant_days)]


def alive(facts: CustomerFacts) -> bool:
    """A touch within the last year: a relationship to thank, not a one-off from long ago."""
    days = facts.days_since(facts.last_touch)
    return days is not None and days <= ALIVE_DAYS


def alive_changes(facts: CustomerFacts) -> Moments:
    """When alive may flip: the latest touch turning a year old."""
    return [after(facts.last_touch, ALIVE_DAYS)]


def last_word_from_us(facts: CustomerFacts) -> datetime | None:
    """Our latest word: an outbound touch, or a call or meeting that took place (whoever
    started it, it was a conversation)."""
    moments = [m for m in (facts.last_outbound, facts.last_personal) if m is not None]
    return max(moments) if moments else None


def new_and_unwelcomed(facts: CustomerFacts) -> bool:
    """A new customer (on evidence: :attr:`CustomerFacts.is_new`) who never had an email,
    call or meeting from us."""
    return not no_data(facts) and facts.is_new and last_word_from_us(facts) is None


def welcome_due(facts: CustomerFacts) -> bool:
    """A new customer who has not heard from us, and no message of theirs waiting: while
    one waits, the reply is the welcome (unanswered says so)."""
    return new_and_unwelcomed(facts) and not unanswered_due(facts)


def welcome_changes(facts: CustomerFacts) -> Moments:
    """When welcome_due may flip: the onboarding window closing, or unanswered's moments."""
    return [after(facts.first_touch, facts.settings.onboarding_days), *unanswered_changes(facts)]


def first_feedback_due(facts: CustomerFacts) -> bool:
    """The first call or meeting is older than ``first_feedback_days`` with no feedback since.

    Only until the first engagement is ``feedback_days`` old (or ``first_feedback_days``,
    whichever is longer): after that, asking about "the first meeting" makes no sense and
    periodic_feedback asks instead.
    """
    days = facts.days_since(facts.first_engagement)
    if days is None or facts.feedback_since_engagement or dormant(facts):
        return False
    s = facts.settings
    return s.first_feedback_days < days <= max(s.feedback_days, s.first_feedback_days)


def first_feedback_changes(facts: CustomerFacts) -> Moments:
    """When first_feedback_due may flip: the ask opening, and closing for periodic_feedback."""
    s = facts.settings
    first = facts.first_engagement
    return [
        after(first, s.first_feedback_days),
        after(first, max(s.feedback_days, s.first_feedback_days)),
        *dormant_changes(facts),
    ]


def periodic_feedback_due(facts: CustomerFacts) -> bool:
    """No feedback for ``feedback_days`` (or never, with a longer tenure); first_feedback first.

    Stands back for a dormant customer (reconnect first) and one with no touch at all.
    """
    limit = facts.settings.feedback_days
    if first_feedback_due(facts) or dormant(facts) or no_data(facts):
        return False
    if facts.last_feedback is not None:
        return (facts.days_since(facts.last_feedback) or 0.0) > limit
    tenure = facts.days_since(facts.first_touch)
    return tenure is not None and tenure > limit


def periodic_feedback_changes(facts: CustomerFacts) -> Moments:
    """When periodic_feedback_due may flip: the interval passing, or first_feedback's moments."""
    limit = facts.settings.feedback_days
    since = facts.last_feedback if facts.last_feedback is not None else facts.first_touch
    return [after(since, limit), *first_feedback_changes(facts), *dormant_changes(facts)]


def still_waiting(facts: CustomerFacts) -> datetime | None:
    """Since when a message of the customer's still waits for our answer, or None.

    The wait starts at their first message since our last word (a chaser does not restart
    it). A message older than ``reply_horizon_days`` is history, not a message waiting:
    then the wait is their latest message's, if that one is within the horizon (every
    message since the first unanswered one is unanswered too).
    """
    horizon = facts.settings.reply_horizon_days
    for moment in (facts.first_unanswered, facts.last_inbound):
        days = facts.days_since(moment)
        if facts.first_unanswered is not None and days is not None and days <= horizon:
            return moment
    return None


def unanswered_due(facts: CustomerFacts) -> bool:
    """A message still waits (:func:`still_waiting`) longer than ``response_hours``."""
    waiting = facts.days_since(still_waiting(facts))
    return waiting is not None and waiting * 24 > facts.settings.response_hours


def unanswered_changes(facts: CustomerFacts) -> Moments:
    """When unanswered_due may flip: a wait passing the response time or the horizon."""
    s = facts.settings
    if facts.first_unanswered is None:
        return []
    return [
        after(moment, days)
        for moment in (facts.first_unanswered, facts.last_inbound)
        for days in (s.response_hours / 24, s.reply_horizon_days)
    ]


def check_in_due(facts: CustomerFacts) -> bool:
    """No two-way exchange for more than ``cadence_days`` (or never, with a longer tenure).

    Stands back while unanswered or welcome is due (reply or welcome first), for a dormant
    customer (reconnect wins it back), and while a status update is due and the check-in
    would be an email too (before twice the cadence): one email to the customer, not two a
    day apart. A customer with no touch at all is due a first check-in.
    """
    if no_data(facts):
        return True
    if dormant(facts):
        return False
    cadence = facts.settings.cadence_days
    if facts.last_two_way is not None:
        days = facts.days_since(facts.last_two_way) or 0.0
    else:
        days = facts.days_since(facts.first_touch) or 0.0
        if facts.first_touch is None:
            return False
    if days <= cadence or unanswered_due(facts) or new_and_unwelcomed(facts):
        return False
    return days >= 2 * cadence or not status_update_due(facts)


def check_in_changes(facts: CustomerFacts) -> Moments:
    """When check_in_due may flip: the cadence passing (and twice it), or welcome's,
    dormant's or status_update's moments."""
    since = facts.last_two_way if facts.last_two_way is not None else facts.first_touch
    return [
        after(since, facts.settings.cadence_days),
        # from twice the cadence the task is a call at high priority: the budget ranks it anew
        after(since, 2 * facts.settings.cadence_days),
        *welcome_changes(facts),
        *dormant_changes(facts),
        *status_update_changes(facts),
    ]


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
    """A dormant customer, or a long-standing one whose touch rate fell below
    ``reconnect_ratio`` of its past rate.

    Long-standing: tenure of at least ``reconnect_tenure_days``. Past rate: touches before the
    recent window per day from the first touch to the window's start. Stands back while the
    latest call or meeting is within ``cadence_days`` (someone just reconnected).
    """
    if dormant(facts):
        return True
    s = facts.settings
    tenure = facts.days_since(facts.first_touch)
    past = past_rate(facts)
    if tenure is None or tenure < s.reconnect_tenure_days or not past:
        return False
    personal = facts.days_since(facts.last_personal)
    if personal is not None and personal <= s.cadence_days:
        return False
    return recent_rate(facts) < s.reconnect_ratio * past


def reconnect_changes(facts: CustomerFacts) -> Moments:
    """When reconnect_due may flip.

    The tenure reaching long-standing, the past rate starting (the first touch a window
    old), a recent call or meeting ageing past the cadence, and the past rate falling to
    the recent one's level: the past rate is ``before / (tenure - window)`` and shrinks as
    the tenure grows, so ``recent < ratio * past`` holds until the tenure reaches
    ``window + ratio * before / recent`` days.
    """
    s = facts.settings
    first = facts.first_touch
    moments = [
        after(first, s.reconnect_tenure_days),
        after(first, s.window_days),
        after(facts.last_personal, s.cadence_days),
        *dormant_changes(facts),
    ]
    recent = recent_rate(facts)
    if first is not None and recent > 0 and facts.touches_before_window > 0:
        moments.append(
            after(first, s.window_days + s.reconnect_ratio * facts.touches_before_window / recent)
        )
    return moments


def pick_up_phone_due(facts: CustomerFacts) -> bool:
    """We sent ``phone_after_emails`` emails since the last call or meeting, one recently.

    Any email in the window is since the last call or meeting when that call is older than
    the window, and any email after a call inside the window is in the window, so "one of
    them is recent" is ``recent_email > 0``. Stands back while reconnect (also a call) is due.
    """
    enough = facts.emails_since_personal >= max(1, facts.settings.phone_after_emails)
    return enough and facts.recent_email > 0 and not reconnect_due(facts)


def pick_up_phone_changes(facts: CustomerFacts) -> Moments:
    """When pick_up_phone_due may flip: only with reconnect (its counts change with data)."""
    return reconnect_changes(facts)


def handover_due(facts: CustomerFacts) -> bool:
    """The owner left or nobody owns the account; an inactive owner only while the team is active.

    A dormant customer is handed over only when its owner left (win it back first); a
    customer with no touch at all gets its first check-in instead.
    """
    status = facts.owner_status
    if no_data(facts):
        return False
    if dormant(facts):
        return status is OwnerStatus.GONE
    if status is OwnerStatus.INACTIVE:
        return facts.team_active
    return status in (OwnerStatus.GONE, OwnerStatus.NONE)


def status_update_due(facts: CustomerFacts) -> bool:
    """Running work and no outbound touch for more than ``status_update_days`` (or ever).

    Stands back for a dormant customer (reconnect names the running work) and one with no
    touch at all (first check-in).
    """
    if not facts.customer.open_work or dormant(facts) or no_data(facts):
        return False
    days = facts.days_since(facts.last_outbound)
    return days is None or days > facts.settings.status_update_days


def status_update_changes(facts: CustomerFacts) -> Moments:
    """When status_update_due may flip: our silence passing the update interval."""
    if not facts.customer.open_work:
        return []
    return [after(facts.last_outbound, facts.settings.status_update_days), *dormant_changes(facts)]


def anniversary(start: date, year: int) -> date:
    """The anniversary of ``start`` in ``year``; 29 February falls on the 28th in common years."""
    day = start.day
    if start.month == 2 and day == 29 and not calendar.isleap(year):
        day = 28
    return date(year, start.month, day)


def next_anniversary(facts: CustomerFacts) -> tuple[date, int] | None:
    """The anniversary (date, years) within ``appreciation_days`` from today, at least one year in.

    Only for a relationship that is alive (:func:`alive`): a one-off contact from years ago
    is not thanked for its anniversary.
    """
    if facts.first_touch is None or not alive(facts):
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


def anniversary_changes(facts: CustomerFacts) -> Moments:
    """When next_anniversary may change: the days an anniversary enters and leaves the window.

    An anniversary ``day`` is planned from ``day - appreciation_days`` through ``day``; the
    moments are those days' midnights (UTC), for the anniversaries around today.
    """
    if facts.first_touch is None:
        return []
    edges = _anniversary_edges(
        facts.first_touch.date(), facts.as_of.date(), max(0, facts.settings.appreciation_days)
    )
    return [*alive_changes(facts), *edges]


@functools.lru_cache(maxsize=4096)
def _anniversary_edges(start: date, today: date, ahead_days: int) -> tuple[datetime, ...]:
    """The moments of :func:`anniversary_changes` that depend on dates only (many customers
    share a first day)."""
    ahead = timedelta(days=ahead_days)
    # a new year changes which years the rule looks at (it matters with a long window)
    moments = [datetime(today.year + 1, 1, 1, tzinfo=UTC)]
    for year in range(today.year - 1, today.year + 3):
        if year - start.year < 1:
            continue
        day = anniversary(start, year)
        for edge in (day - ahead, day + timedelta(days=1)):
            moments.append(datetime.combine(edge, time(), tzinfo=UTC))
    return tuple(moments)
