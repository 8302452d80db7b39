"""Built-in rules about keeping in touch: welcome, check_in, unanswered, pick_up_phone
(reconnect has a module of its own, :mod:`engage.builtin.rules_reconnect`).

Every task key is anchored on the fact the task is about, never on ``as_of``, so an hourly
sync plans the same key until the situation changes (see each rule's docstring).
"""

from __future__ import annotations

from datetime import datetime

from engage.builtin import rules_when as when
from engage.builtin.wording import dated, owner_away, plural, span
from engage.facts import CustomerFacts
from engage.health import Health
from engage.models import Priority, Task, TaskKind
from engage.playbook import anchor_of, build_task
from engage.settings import ScoringSettings


def waited(hours: float) -> str:
    """A wait as a person says it: ``50 hours`` under three days, else ``4 days``."""
    if hours < 72:
        return plural(max(0, int(hours)), "hour")
    return span(hours / 24)


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
    fires, for a dormant customer (reconnect wins it back), and while a status update is due
    before twice the cadence (one email, not two). Email and medium; a call and high from
    twice the cadence. Anchor: the date of the last two-way exchange (``never``
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
