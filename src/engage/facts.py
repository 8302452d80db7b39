"""What the store knows about one customer as of a moment: the input of factors and rules.

The store computes these aggregates in SQL where the touchpoints are, so scoring a customer
never loads its history into memory. Factors and rules are pure functions of
:class:`CustomerFacts`, which makes them easy to test and to write as plugins.

Only touchpoints at or before ``as_of`` count. Internal touchpoints (notes) count for
nothing but owner activity. "Touches" are inbound or outbound touchpoints of any channel.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from engage.models import Customer, Owner
from engage.settings import SegmentSettings


class OwnerStatus(enum.StrEnum):
    """Whether a customer's owner can look after it."""

    ACTIVE = "active"
    INACTIVE = "inactive"  # no outbound touchpoint, call or meeting for owner_inactive_days
    GONE = "gone"  # a source says the person left (archived user)
    NONE = "none"  # nobody owns the account


@attrs.frozen
class CustomerFacts:
    """Aggregates over one customer's touchpoints as of ``as_of``.

    Attributes:
        customer: The customer record, with its resolved segment name and owner id.
        as_of: The moment of evaluation (aware UTC).
        settings: The customer's segment settings.
        touches: Inbound and outbound touchpoints, all time.
        first_touch: The first touchpoint of any kind (or the customer's first_seen if earlier).
        last_touch: The latest inbound or outbound touchpoint.
        last_inbound: The latest touchpoint from the customer.
        last_outbound: The latest touchpoint from us.
        last_two_way: The latest moment the relationship was two-way: a call or meeting,
            or the later of the latest inbound and latest outbound where both exist
            (the older of the two, since both directions must have happened).
        last_personal: The latest call or meeting.
        first_engagement: The first call or meeting.
        last_feedback: The latest feedback touchpoint (asked or given) or feedback value.
        last_feedback_value: The latest feedback score (0–1), if any was ever given.
        last_feedback_value_at: When that score was given.
        feedback_since_engagement: Feedback was asked or given after ``first_engagement``.
        recent_touches: Touches in the last ``window_days``.
        previous_touches: Touches in the ``window_days`` before that.
        recent_inbound: Inbound touches in the window.
        recent_outbound: Outbound touches in the window.
        recent_personal: Calls and meetings in the window.
        recent_email: Emails in the window.
        emails_since_personal: Emails we sent since the latest call or meeting (all we sent if
            there was none): the count behind "call instead of a fifth email".
        touches_before_window: Touches before the recent window (the past rate of reconnect).
        first_unanswered: The customer's first message since our last word (an outbound
            touch, or a call or meeting that took place): how long they have been waiting,
            however often they wrote since. A call or meeting that took place is never a
            message waiting; a missed one is.
        missed_calls_waiting: Missed calls and voicemails from the customer since our last
            word: the wait is for a call back.
        owner: The owner record, if the customer has one.
        owner_status: Whether that owner can look after the customer.
        owner_last_active: The owner's latest outbound touchpoint, call or meeting with any
            customer.
        team_active: Someone on the team was active within ``owner_inactive_days``.
        main_contact: The customer's contact with the most touches (latest breaks ties).
        main_contact_name: That contact's name, if known.
        history_start: The store's first touchpoint of any customer: how far back what
            engage knows reaches (a customer first seen at the start of the history may be
            old, not new).
        changes_at: The next moment these facts change with time alone: a touch leaving the
            recent or the previous window, a touchpoint dated after ``as_of`` coming due.
            None when only new data can change them.
    """

    customer: Customer
    as_of: datetime
    settings: SegmentSettings
    touches: int = 0
    first_touch: datetime | None = None
    last_touch: datetime | None = None
    last_inbound: datetime | None = None
    last_outbound: datetime | None = None
    last_two_way: datetime | None = None
    last_personal: datetime | None = None
    first_engagement: datetime | None = None
    last_feedback: datetime | None = None
    last_feedback_value: float | None = None
    last_feedback_value_at: datetime | None = None
    feedback_since_engagement: bool = False
    recent_touches: int = 0
    previous_touches: int = 0
    recent_inbound: int = 0
    recent_outbound: int = 0
    recent_personal: int = 0
    recent_email: int = 0
    emails_since_personal: int = 0
    touches_before_window: int = 0
    first_unanswered: datetime | None = None
    missed_calls_waiting: int = 0
    owner: Owner | None = None
    owner_status: OwnerStatus = OwnerStatus.NONE
    owner_last_active: datetime | None = None
    team_active: bool = True
    main_contact: str | None = None
    main_contact_name: str | None = None
    history_start: datetime | None = None
    changes_at: datetime | None = None

    @property
    def key(self) -> str:
        """The customer's key."""
        return self.customer.key

    @property
    def display_name(self) -> str:
        """The customer's name, or its key when no source named it."""
        return self.customer.name or self.customer.key

    @property
    def tenure(self) -> timedelta | None:
        """How long the relationship has run, from the first touch to ``as_of``."""
        return None if self.first_touch is None else self.as_of - self.first_touch

    @property
    def is_new(self) -> bool:
        """The relationship started within ``onboarding_days``, and engage can tell.

        New only on evidence: a source's ``first_seen`` says when it started, or the store's
        history reaches back at least ``onboarding_days`` before the first touch. On the
        first days of an import every customer looks new; none is called new then.
        """
        first = self.first_touch
        days = self.days_since(first)
        if first is None or days is None or days > self.settings.onboarding_days:
            return False
        seen = self.customer.first_seen
        if seen is not None and seen <= self.as_of:
            return True
        start = self.history_start
        return start is not None and first - start >= timedelta(days=self.settings.onboarding_days)

    @property
    def waiting_since(self) -> datetime | None:
        """Since when the customer has waited for our reply: their first unanswered message."""
        return self.first_unanswered

    def days_since(self, moment: datetime | None) -> float | None:
        """Days from ``moment`` to ``as_of``, or None when there is no moment."""
        return None if moment is None else (self.as_of - moment).total_seconds() / 86_400
