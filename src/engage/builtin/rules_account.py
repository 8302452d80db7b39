"""Built-in rules about the account: first_feedback, periodic_feedback, handover,
status_update and appreciation.

Every task key is anchored on the fact the task is about, never on ``as_of``, so an hourly
sync plans the same key until the situation changes (see each rule's docstring).
"""

from __future__ import annotations

from datetime import datetime

from engage.builtin import rules_when as when
from engage.builtin.wording import dated, health_line, plural, span, who
from engage.facts import CustomerFacts, OwnerStatus
from engage.health import Health
from engage.models import Priority, Task, TaskKind
from engage.playbook import anchor_of, build_task
from engage.settings import ScoringSettings

#: A latest feedback score below this makes periodic_feedback medium instead of low.
LOW_FEEDBACK: float = 0.5


def fallback_line(settings: ScoringSettings) -> str:
    """Who gets a reassigned task, for the body."""
    if settings.fallback_owner:
        return f"assigned to the fallback owner {settings.fallback_owner} until someone takes it"
    return "no fallback owner is configured (fallback_owner), so this task has no owner"


class FirstFeedback:
    """The first real engagement was a while ago and nobody asked how it went.

    Fires when the first call or meeting is older than ``first_feedback_days`` (and at most
    ``feedback_days`` old; after that periodic_feedback asks) and no feedback was asked or
    given since. Email, medium, due in two days. Anchor: the date of the first call or
    meeting, which never changes, so the rule asks once.
    """

    name = "first_feedback"
    description = "the first call or meeting was days ago and no feedback was asked since"

    def next_change(
        self, facts: CustomerFacts, health: Health, settings: ScoringSettings
    ) -> datetime | None:
        """The first moment this rule's answer may change with time alone (see rules_when)."""
        return when.earliest(facts, when.first_feedback_changes(facts))

    def plan(self, facts: CustomerFacts, health: Health, settings: ScoringSettings) -> Task | None:
        first = facts.first_engagement
        if not when.first_feedback_due(facts) or first is None:
            return None
        name = facts.display_name
        lines = [f"first call or meeting {dated(facts, first)}", "no feedback asked or given since"]
        if facts.last_feedback is not None:
            lines.append(f"feedback last asked {dated(facts, facts.last_feedback)}, before that")
        lines.append(f"ask after: {plural(facts.settings.first_feedback_days, 'day')}")
        return build_task(
            self,
            facts,
            settings,
            anchor=anchor_of(first),
            title=f"Ask {name} how it went: first call or meeting {dated(facts, first)}",
            reason=(
                f"{name}'s first call or meeting was {dated(facts, first)} and nobody asked how it "
                "went; ask what worked and what to improve."
            ),
            facts_lines=lines,
            kind=TaskKind.EMAIL,
            priority=Priority.MEDIUM,
            due_in_days=2,
        )


class PeriodicFeedback:
    """No feedback within the segment's feedback interval, long-standing customers included.

    Fires when the latest feedback (asked or given) is older than ``feedback_days``, or there
    was none and the tenure is longer than that; stands back while first_feedback fires, so a
    customer is never asked twice, and for a dormant customer or one with no touch at all. Email; low, medium when never asked or the latest score
    was below 0.5. Anchor: the date of the latest feedback (``never``).
    """

    name = "periodic_feedback"
    description = "no feedback asked or given within the segment's feedback interval"

    def next_change(
        self, facts: CustomerFacts, health: Health, settings: ScoringSettings
    ) -> datetime | None:
        """The first moment this rule's answer may change with time alone (see rules_when)."""
        return when.earliest(facts, when.periodic_feedback_changes(facts))

    def plan(self, facts: CustomerFacts, health: Health, settings: ScoringSettings) -> Task | None:
        if not when.periodic_feedback_due(facts):
            return None
        name = facts.display_name
        interval = facts.settings.feedback_days
        tenure = span(facts.days_since(facts.first_touch) or 0.0)
        last = facts.last_feedback
        if last is not None:
            gap = f"last asked {dated(facts, last)}"
            lines = [f"feedback last asked or given {dated(facts, last)}"]
            reason = f"No feedback from {name} since {last.date().isoformat()}"
        else:
            gap = f"never asked in {tenure} together"
            lines = ["no feedback ever asked or given"]
            reason = f"No feedback from {name} in {tenure}"
        value = facts.last_feedback_value
        if value is not None:
            at = facts.last_feedback_value_at
            given = f" ({at.date().isoformat()})" if at is not None else ""
            lines.append(f"latest score {value:.2f} of 1{given}")
        lines.append(
            f"feedback interval of segment '{facts.settings.name}': {plural(interval, 'day')}"
        )
        lines.append(f"customer for {tenure}")
        low = last is None or (value is not None and value < LOW_FEEDBACK)
        return build_task(
            self,
            facts,
            settings,
            anchor=anchor_of(last),
            title=f"Ask {name} for feedback: {gap}",
            reason=f"{reason}, past the {interval}-day interval; needs change over time, so ask again.",
            facts_lines=lines,
            kind=TaskKind.EMAIL,
            priority=Priority.MEDIUM if low else Priority.LOW,
            due_in_days=7,
        )


class Handover:
    """The account owner left or went quiet, or nobody owns the account: reassign it.

    Fires when the owner is gone or missing, or inactive while the rest of the team is
    active (a quiet team is on holiday, not gone) and the store's history of activity covers
    the inactive span (two days of data prove nothing). A dormant customer is handed over
    only when its owner left; a customer with no touch at all gets a first check-in instead. The task goes to the fallback owner
    (``reassign``). Todo, high, due tomorrow. Anchor: ``OWNER-gone``, ``none``, or
    ``OWNER-inactive-DATE`` with the date the owner was last active, so an owner who comes
    back and goes quiet again gets a new task.
    """

    name = "handover"
    description = "the account owner left or is inactive, or nobody owns the account"

    def next_change(
        self, facts: CustomerFacts, health: Health, settings: ScoringSettings
    ) -> datetime | None:
        """The first moment this rule's answer may change with time alone (see rules_when)."""
        # The owner going quiet, and the customer going dormant (then only a departed owner
        # counts). Whatever else changes an owner's status (coming back, leaving, the whole
        # team going quiet, the store's history growing long enough to tell), the store
        # notices at every sync and re-plans that owner's customers.
        moments = when.dormant_changes(facts)
        if facts.owner_status is OwnerStatus.ACTIVE and facts.owner_last_active is not None:
            moments.append(when.after(facts.owner_last_active, settings.owner_inactive_days))
        return when.earliest(facts, moments)

    def plan(self, facts: CustomerFacts, health: Health, settings: ScoringSettings) -> Task | None:
        if not when.handover_due(facts):
            return None
        name = facts.display_name
        owner_id = (
            facts.owner.id if facts.owner is not None else facts.customer.owner
        ) or "unknown"
        owner = who(facts.owner, owner_id)
        last = facts.owner_last_active
        status = facts.owner_status
        lines = []
        if status is OwnerStatus.GONE:
            anchor = f"{owner_id}-gone"
            title = f"Reassign {name}: owner {owner} has left"
            reason = f"{name}'s owner {owner} has left"
            lines.append(f"owner {owner} has left")
        elif status is OwnerStatus.INACTIVE:
            anchor = f"{owner_id}-inactive-{anchor_of(last)}"
            quiet = span(facts.days_since(last) or 0.0) if last is not None else "a long time"
            title = f"Reassign {name}: owner {owner} inactive for {quiet}"
            reason = f"{name}'s owner {owner} has been inactive for {quiet}"
            seen = (
                f"last active {dated(facts, last)}" if last is not None else "no recorded activity"
            )
            lines.append(f"owner {owner}: {seen}")
        else:
            anchor = "none"
            title = f"Assign an owner to {name}: nobody owns the account"
            reason = f"Nobody owns {name}"
            lines.append("no owner")
        lines.extend(self._history(facts))
        lines.append(health_line(health))
        lines.append(fallback_line(settings))
        return build_task(
            self,
            facts,
            settings,
            anchor=anchor,
            title=title,
            reason=f"{reason}; reassign the account so the relationship stays with the company, not one person.",
            facts_lines=lines,
            kind=TaskKind.TODO,
            priority=Priority.HIGH,
            due_in_days=1,
            reassign=True,
        )

    @staticmethod
    def _history(facts: CustomerFacts) -> list[str]:
        lines = []
        if facts.first_touch is not None:
            lines.append(f"customer for {span(facts.days_since(facts.first_touch) or 0.0)}")
        if facts.last_touch is not None:
            lines.append(f"last touch {dated(facts, facts.last_touch)}")
        if facts.waiting_since is not None:
            lines.append(
                f"their latest message, {dated(facts, facts.waiting_since)}, is unanswered"
            )
        return lines


class StatusUpdate:
    """Running work and no update from us for a while: send a proactive status update.

    Fires when the customer has open work (deal, ticket, project) and the last outbound
    touch is older than ``status_update_days`` or there never was one; stands back for a
    dormant customer (reconnect names the running work) and one with no touch at all.
    Email, medium, due tomorrow. Anchor: the date of the last outbound touch (``never``), which our update moves.
    """

    name = "status_update"
    description = "running work (open deal, ticket or project) and no outbound update for days"

    def next_change(
        self, facts: CustomerFacts, health: Health, settings: ScoringSettings
    ) -> datetime | None:
        """The first moment this rule's answer may change with time alone (see rules_when)."""
        return when.earliest(facts, when.status_update_changes(facts))

    def plan(self, facts: CustomerFacts, health: Health, settings: ScoringSettings) -> Task | None:
        if not when.status_update_due(facts):
            return None
        name = facts.display_name
        limit = facts.settings.status_update_days
        out: datetime | None = facts.last_outbound
        lines = ["running work: an open deal, ticket or project"]
        if out is not None:
            gap = f"for {plural(int(facts.days_since(out) or 0.0), 'day')}"
            lines.append(f"last message from us {dated(facts, out)}")
        else:
            gap = "yet"
            lines.append("no message from us yet")
        lines.append(f"update at least every {plural(limit, 'day')}")
        return build_task(
            self,
            facts,
            settings,
            anchor=anchor_of(out),
            title=f"Send {name} a status update: nothing from us {gap}",
            reason=(
                f"{name} has running work and has heard nothing from us {gap}, past the "
                f"{limit}-day update interval; tell them where things stand before they ask."
            ),
            facts_lines=lines,
            kind=TaskKind.EMAIL,
            priority=Priority.MEDIUM,
            due_in_days=1,
        )


class Appreciation:
    """An anniversary of the relationship: say thank you.

    Fires when an anniversary of the first touch (or the customer's earlier ``first_seen``),
    at least one year in, falls within the next ``appreciation_days`` days, today included,
    for a relationship that is alive: a touch within the last year.
    A 29 February start is celebrated on 28 February in common years. Email, low, due on the
    anniversary. Anchor: the anniversary's year.
    """

    name = "appreciation"
    description = "an anniversary of the relationship is coming up: say thank you"

    def next_change(
        self, facts: CustomerFacts, health: Health, settings: ScoringSettings
    ) -> datetime | None:
        """The first moment this rule's answer may change with time alone (see rules_when)."""
        return when.earliest(facts, when.anniversary_changes(facts))

    def plan(self, facts: CustomerFacts, health: Health, settings: ScoringSettings) -> Task | None:
        upcoming = when.next_anniversary(facts)
        if upcoming is None or facts.first_touch is None:
            return None
        day, years = upcoming
        name = facts.display_name
        until = (day - facts.as_of.date()).days
        on = "today" if until == 0 else f"in {plural(until, 'day')}"
        together = plural(years, "year")
        lines = [
            f"customer since {facts.first_touch.date().isoformat()}",
            f"{together} together on {day.isoformat()} ({on})",
            f"{plural(facts.touches, 'touch', 'touches')} in that time",
        ]
        return build_task(
            self,
            facts,
            settings,
            anchor=str(day.year),
            title=f"Thank {name}: {together} together on {day.isoformat()}",
            reason=f"{name} has been a customer for {together} on {day.isoformat()}; say thank you.",
            facts_lines=lines,
            kind=TaskKind.EMAIL,
            priority=Priority.LOW,
            due_in_days=until,
        )
