"""The built-in reconnect rule: win back a dormant customer, or call a long-standing one
whose touch rate fell well below its own past rate.

Its task key is anchored on the fact the task is about, never on ``as_of`` (see the class).
"""

from __future__ import annotations

from datetime import datetime

from engage.builtin import rules_when as when
from engage.builtin.wording import (
    ago,
    dated,
    health_line,
    monthly,
    owner_away,
    percent,
    plural,
    rate_drop,
    span,
    touches,
)
from engage.facts import CustomerFacts
from engage.health import Health
from engage.models import Priority, Task, TaskKind
from engage.playbook import anchor_of, build_task
from engage.settings import ScoringSettings

#: A dormant relationship with at least this many touches is won back by phone; fewer, by email.
WIN_BACK_CALL_TOUCHES = 5


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
