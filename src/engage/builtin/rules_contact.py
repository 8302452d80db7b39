"""Built-in rules about keeping in touch: welcome, check_in, unanswered, reconnect, pick_up_phone.

Every task key is anchored on the fact the task is about, never on ``as_of``, so an hourly
sync plans the same key until the situation changes (see each rule's docstring).
"""

from __future__ import annotations

from datetime import datetime

from engage.builtin import rules_when as when
from engage.builtin.wording import (
    ago,
    dated,
    health_line,
    monthly,
    percent,
    plural,
    rate_drop,
    span,
    touches,
    who,
)
from engage.facts import CustomerFacts, OwnerStatus
from engage.health import Health
from engage.models import Priority, Task, TaskKind
from engage.playbook import anchor_of, build_task
from engage.settings import ScoringSettings

#: A dormant relationship with at least this many touches is won back by phone; fewer, by email.
WIN_BACK_CALL_TOUCHES = 5


def waited(hours: float) -> str:
    """A wait as a person says it: ``50 hours`` under three days, else ``4 days``."""
    if hours < 72:
        return plural(max(0, int(hours)), "hour")
    return span(hours / 24)


def owner_away(facts: CustomerFacts) -> str | None:
    """Why the owner cannot answer (``their owner Jo has left``), or None when they can."""
    status = facts.owner_status
    name = who(facts.owner, facts.customer.owner or "the owner")
    if status is OwnerStatus.GONE:
        return f"their owner {name} has left"
    if status is OwnerStatus.INACTIVE:
        return f"their owner {name} has been inactive"
    if status is OwnerStatus.NONE:
        return "nobody owns the account"
    return None


class Welcome:
    """A new customer who has not heard from us: recognise them, say their business is valued.

    Fires when the customer is new — the first touch at most ``onboarding_days`` old, on
    evidence: a source's ``first_seen``, or a store history reaching back at least that long
    before it (on the first days of an import nobody is new) — and we never wrote, called or
    met (a call or meeting that took place is a word from us, whoever started it). Stands back
    while a message of theirs waits: the reply welcomes them (unanswered says so). Email,
    high, due tomorrow. Anchor: the date of the first touch.
    """

    name = "welcome"
    description = (
        "a new customer (first touch within the onboarding window) has not heard from us yet"
    )

    def next_change(
        self, facts: CustomerFacts, health: Health, settings: ScoringSettings
    ) -> datetime | None:
        """The first moment this rule's answer may change with time alone (see rules_when)."""
        return when.earliest(facts, when.welcome_changes(facts))

    def plan(self, facts: CustomerFacts, health: Health, settings: ScoringSettings) -> Task | None:
        if not when.welcome_due(facts) or facts.first_touch is None:
            return None
        name = facts.display_name
        first = facts.first_touch
        lines = [f"first touchpoint {dated(facts, first)}", "no email, call or meeting from us yet"]
        if facts.touches:
            lines.append(f"{plural(facts.touches, 'touch', 'touches')} so far, all from them")
        lines.append(f"onboarding window: {plural(facts.settings.onboarding_days, 'day')}")
        return build_task(
            self,
            facts,
            settings,
            anchor=anchor_of(first),
            title=f"Welcome {name}: new customer since {first.date().isoformat()}, no word from us yet",
            reason=(
                f"{name} is a new customer and has not heard from us; recognise them and say "
                "their business is valued."
            ),
            facts_lines=lines,
            kind=TaskKind.EMAIL,
            priority=Priority.HIGH,
            due_in_days=1,
        )


class CheckIn:
    """No two-way exchange within the cadence: reach out, listen more than talk.

    Fires when the last two-way exchange is older than ``cadence_days``, or there never was
    one and the tenure is longer than the cadence; stands back while unanswered or welcome
    fires, and for a dormant customer (reconnect wins it back). Email and medium; a call and
    high from twice the cadence. Anchor: the date of the last two-way exchange (``never``
    when there was none).

    A customer with no touch recorded at all (a CRM record, internal notes only) gets this
    task alone, as a first check-in by phone (medium, due in three days, anchor ``first``).
    """

    name = "check_in"
    description = "no two-way exchange within the segment's cadence"

    def next_change(
        self, facts: CustomerFacts, health: Health, settings: ScoringSettings
    ) -> datetime | None:
        """The first moment this rule's answer may change with time alone (see rules_when)."""
        return when.earliest(facts, when.check_in_changes(facts))

    def plan(self, facts: CustomerFacts, health: Health, settings: ScoringSettings) -> Task | None:
        if not when.check_in_due(facts):
            return None
        if when.no_data(facts):
            return self._first(facts, settings)
        name = facts.display_name
        cadence = facts.settings.cadence_days
        lines = []
        if facts.last_two_way is not None:
            days = facts.days_since(facts.last_two_way) or 0.0
            gap = f"for {plural(int(days), 'day')}"
            lines.append(f"last two-way exchange {dated(facts, facts.last_two_way)}")
        else:
            days = facts.days_since(facts.first_touch) or 0.0
            gap = f"in {span(days)} of relationship"
            lines.append("no two-way exchange ever")
        lines.append(f"cadence of segment '{facts.settings.name}': {plural(cadence, 'day')}")
        if facts.last_inbound is not None:
            lines.append(f"last message from them {dated(facts, facts.last_inbound)}")
        if facts.last_outbound is not None:
            lines.append(f"last message from us {dated(facts, facts.last_outbound)}")
        far = days >= 2 * cadence
        return build_task(
            self,
            facts,
            settings,
            anchor=anchor_of(facts.last_two_way),
            title=f"Check in with {name}: no two-way exchange {gap}",
            reason=(
                f"No two-way exchange with {name} {gap}, past the {cadence}-day cadence; "
                "reach out and listen more than talk."
            ),
            facts_lines=lines,
            kind=TaskKind.CALL if far else TaskKind.EMAIL,
            priority=Priority.HIGH if far else Priority.MEDIUM,
            due_in_days=1 if far else 2,
        )

    def _first(self, facts: CustomerFacts, settings: ScoringSettings) -> Task:
        name = facts.display_name
        lines = ["no email, call or meeting with them recorded yet"]
        since = facts.customer.first_seen
        if since is not None and since <= facts.as_of:
            lines.append(f"on record since {since.date().isoformat()}")
        if facts.first_touch is not None and (since is None or facts.first_touch < since):
            lines.append(f"internal notes only, the first {dated(facts, facts.first_touch)}")
        if facts.customer.open_work:
            lines.append("running work: an open deal, ticket or project")
        return build_task(
            self,
            facts,
            settings,
            anchor="first",
            title=f"Call {name} for a first check-in: no touch recorded yet",
            reason=(
                f"{name} is a customer on record with no email, call or meeting yet; call to "
                "introduce yourself and learn what they need."
            ),
            facts_lines=lines,
            kind=TaskKind.CALL,
            priority=Priority.MEDIUM,
            due_in_days=3,
        )


class Unanswered:
    """A customer's message (an email, a missed call, a voicemail) waits past ``response_hours``.

    A missed call or voicemail among the waiting messages makes the task a call back. For a
    new customer who has not heard from us the reply is also the welcome (welcome stands
    back meanwhile), and the task says so.

    A call or meeting that took place is a conversation, never a message waiting; it answers
    every message before it. A message older than ``reply_horizon_days`` is history (see
    :func:`~engage.builtin.rules_when.still_waiting`). Email, high, due today. When the owner
    is not active the task goes to
    someone who can answer (``reassign``) and says so. Anchor: the date of our last word
    before the wait (``never``), so a customer chasing an unanswered message does not get a
    second task; our reply ends the wait and the next wait has a new anchor.
    """

    name = "unanswered"
    description = "a customer's message waited longer than the segment's response time for a reply"

    def next_change(
        self, facts: CustomerFacts, health: Health, settings: ScoringSettings
    ) -> datetime | None:
        """The first moment this rule's answer may change with time alone (see rules_when)."""
        return when.earliest(facts, when.unanswered_changes(facts))

    def plan(self, facts: CustomerFacts, health: Health, settings: ScoringSettings) -> Task | None:
        waiting = when.still_waiting(facts)
        if not when.unanswered_due(facts) or waiting is None:
            return None
        name = facts.display_name
        hours = (facts.days_since(waiting) or 0.0) * 24
        limit = facts.settings.response_hours
        away = owner_away(facts)
        answered = when.last_word_from_us(facts)
        lines = [f"waiting since their message {dated(facts, waiting)}"]
        if facts.last_inbound is not None and facts.last_inbound > waiting:
            lines.append(f"latest message from them {dated(facts, facts.last_inbound)}")
        if answered is not None:
            lines.append(f"our last word {dated(facts, answered)}")
        else:
            lines.append("we have never written, called or met them")
        lines.append(f"response time of segment '{facts.settings.name}': {plural(limit, 'hour')}")
        calls = facts.missed_calls_waiting
        if calls:
            lines.insert(
                0,
                f"{plural(calls, 'missed call or voicemail', 'missed calls or voicemails')} from them since our last word",
            )
        reason = (
            f"{name} has waited {waited(hours)} for an answer, past the {limit}-hour response "
            "time; the customer must never meet silence."
        )
        if calls:
            title = f"Call {name} back: they called and have waited {waited(hours)}"
        else:
            title = f"Reply to {name}: their message has waited {waited(hours)}"
        if when.new_and_unwelcomed(facts):
            lines.append("a new customer who has not heard from us yet: welcome them as you answer")
            reason += " They are new: welcome them and say their business is valued."
        if away is not None:
            lines.append(away)
            reason += f" {away[0].upper()}{away[1:]}, so route it to someone who can answer today."
            title += f" and {away}"
        return build_task(
            self,
            facts,
            settings,
            anchor=anchor_of(answered),
            title=title,
            reason=reason,
            facts_lines=lines,
            kind=TaskKind.CALL if calls else TaskKind.EMAIL,
            priority=Priority.HIGH,
            due_in_days=0,
            reassign=away is not None,
        )


class Reconnect:
    """A dormant customer to win back, or a long-standing one whose touch rate fell well below
    its own past rate.

    **Dormant** (no touch for more than ``dormant_days``): a win-back with the real history
    (last heard from them, touches in all, a message of theirs that went unanswered, running
    work). A call at medium priority for a relationship of at least
    :data:`WIN_BACK_CALL_TOUCHES` touches, else an email at low priority. Anchor:
    ``dormant-DATE`` with the date of the last touch, so only new contact ends it.

    **Cooling** otherwise: fires when the tenure is at least ``reconnect_tenure_days`` and the recent rate
    (``recent_touches / window_days``) is below ``reconnect_ratio`` × the past rate
    (``touches_before_window`` per day from the first touch to the window's start), unless
    a call or meeting happened within ``cadence_days``. The body gives a short history.
    Call, medium. Anchor: the date of the last call or meeting (``never``): the task is done
    by a personal exchange, and only after one does a new task come.
    """

    name = "reconnect"
    description = (
        "a dormant customer to win back, or a long-standing one whose touch rate fell well "
        "below its own past rate"
    )

    def next_change(
        self, facts: CustomerFacts, health: Health, settings: ScoringSettings
    ) -> datetime | None:
        """The first moment this rule's answer may change with time alone (see rules_when)."""
        return when.earliest(facts, when.reconnect_changes(facts))

    def plan(self, facts: CustomerFacts, health: Health, settings: ScoringSettings) -> Task | None:
        if when.dormant(facts):
            return self._win_back(facts, health, settings)
        past = when.past_rate(facts)
        if not when.reconnect_due(facts) or facts.first_touch is None or not past:
            return None
        name = facts.display_name
        s = facts.settings
        recent = when.recent_rate(facts)
        together = span(facts.days_since(facts.first_touch) or 0.0)
        lines = [
            f"customer for {together} (since {facts.first_touch.date().isoformat()})",
            f"past rate: {monthly(past)} ({plural(facts.touches_before_window, 'touch', 'touches')} "
            f"before the last {s.window_days} days)",
            f"recent rate: {monthly(recent)} "
            f"({plural(facts.recent_touches, 'touch', 'touches')} in the last {s.window_days} days)",
        ]
        if facts.last_personal is not None:
            lines.append(f"last call or meeting {dated(facts, facts.last_personal)}")
        else:
            lines.append("no call or meeting ever")
        if facts.emails_since_personal >= max(1, s.phone_after_emails):
            lines.append(f"{plural(facts.emails_since_personal, 'email')} sent by us since then")
        lines.append(health_line(health))
        return build_task(
            self,
            facts,
            settings,
            anchor=anchor_of(facts.last_personal),
            title=(
                f"Call {name}: "
                + rate_drop(
                    facts.touches_before_window,
                    (facts.days_since(facts.first_touch) or 0.0) - s.window_days,
                    facts.recent_touches,
                    s.window_days,
                    together,
                )
            ),
            reason=(
                f"{name}, a customer for {together}, is now in touch at {percent(recent / past)} "
                "of its own past rate; reconnect before the relationship goes cold."
            ),
            facts_lines=lines,
            kind=TaskKind.CALL,
            priority=Priority.MEDIUM,
            due_in_days=3,
        )

    def _win_back(self, facts: CustomerFacts, health: Health, settings: ScoringSettings) -> Task:
        name = facts.display_name
        last = facts.last_touch
        assert last is not None  # dormant means touched once
        if facts.last_inbound is not None:
            heard = f"last heard from them {ago(facts.days_since(facts.last_inbound) or 0.0)}"
        else:
            heard = f"never heard from them, last touch {ago(facts.days_since(last) or 0.0)}"
        history = f"{touches(facts.touches)} in all"
        lines = [heard]
        first = facts.first_touch
        if facts.touches == 1 or first is None:
            lines.append(f"{history}: {dated(facts, last)}")
        else:
            lines.append(f"{history}, from {first.date().isoformat()} to {dated(facts, last)}")
        if facts.last_outbound is not None:
            lines.append(f"our last message {dated(facts, facts.last_outbound)}")
        if facts.last_personal is not None:
            lines.append(f"last call or meeting {dated(facts, facts.last_personal)}")
        if facts.first_unanswered is not None:
            lines.append(
                f"their message of {facts.first_unanswered.date().isoformat()} never had an answer"
            )
        if facts.customer.open_work:
            lines.append("running work is still open: an open deal, ticket or project")
        away = owner_away(facts)
        if away is not None:
            lines.append(away)
        substantial = facts.touches >= WIN_BACK_CALL_TOUCHES
        return build_task(
            self,
            facts,
            settings,
            anchor=f"dormant-{anchor_of(last)}",
            title=f"Win back {name}: {heard}, {history}",
            reason=(
                f"{name} has gone quiet: no touch for {span(facts.days_since(last) or 0.0)}, "
                f"past the {facts.settings.dormant_days}-day mark; reach out to win them back "
                "before the relationship is lost."
            ),
            facts_lines=lines,
            kind=TaskKind.CALL if substantial else TaskKind.EMAIL,
            priority=Priority.MEDIUM if substantial else Priority.LOW,
            due_in_days=3 if substantial else 7,
        )


class PickUpPhone:
    """Email after email and no call: call or meet instead.

    Fires when we have sent ``phone_after_emails`` emails since the last call or meeting
    (``emails_since_personal``: "call instead of a fifth email") and at least one email is in
    the recent window; stands back while reconnect (also a call) fires. Call,
    medium. Anchor: the date of the last call or meeting (``never``), which only a call or
    meeting changes, so more emails do not make new tasks.
    """

    name = "pick_up_phone"
    description = "the last touches were all email: call or meet instead"

    def next_change(
        self, facts: CustomerFacts, health: Health, settings: ScoringSettings
    ) -> datetime | None:
        """The first moment this rule's answer may change with time alone (see rules_when)."""
        return when.earliest(facts, when.pick_up_phone_changes(facts))

    def plan(self, facts: CustomerFacts, health: Health, settings: ScoringSettings) -> Task | None:
        if not when.pick_up_phone_due(facts):
            return None
        name = facts.display_name
        emails = plural(facts.emails_since_personal, "email")
        window = facts.settings.window_days
        if facts.last_personal is not None:
            streak = f"{emails} from us since the last call or meeting"
            lines = [f"{streak}, {dated(facts, facts.last_personal)}"]
        else:
            streak = f"{emails} from us and never a call or meeting"
            lines = [streak]
        lines.append(
            f"last {window} days: {plural(facts.recent_email, 'email')}, "
            f"{plural(facts.recent_personal, 'call or meeting', 'calls or meetings')}"
        )
        return build_task(
            self,
            facts,
            settings,
            anchor=anchor_of(facts.last_personal),
            title=f"Call {name}: {streak}",
            reason=f"{name} has had {streak}; call or meet instead, a voice builds what email cannot.",
            facts_lines=lines,
            kind=TaskKind.CALL,
            priority=Priority.MEDIUM,
            due_in_days=3,
        )
