"""The playbook: rules that turn a customer's facts into concrete follow-up tasks.

A :class:`Rule` looks at one customer's :class:`~engage.facts.CustomerFacts` and its
:class:`~engage.health.Health` and returns at most one :class:`~engage.models.Task`. Its key
comes from :func:`task_key`: the same rule, customer and anchoring fact give the same key, so
re-planning never duplicates a task, and a new key means the facts changed.

A rule may also say when its answer can next change with time alone (``next_change``); a
sync then re-plans a customer only when its data changed or that moment came
(:func:`plan_until`). A rule without ``next_change`` is asked again at every sync.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

from engage.facts import CustomerFacts, OwnerStatus
from engage.health import Health
from engage.models import Priority, Task, TaskKind
from engage.pickled import as_values
from engage.settings import ScoringSettings


@runtime_checkable
class Rule(Protocol):
    """A playbook rule. Register instances through ``engage_register_rules``.

    Attributes:
        name: Unique name; it is part of every task key, so never rename a rule.
        description: One line on when the rule fires, for ``engage plugins``.
    """

    name: str
    description: str

    def plan(self, facts: CustomerFacts, health: Health, settings: ScoringSettings) -> Task | None:
        """The task this rule asks for, or None when it does not fire for this customer."""
        ...


class NextChange(Protocol):
    """The optional ``next_change`` method of a :class:`Rule`.

    ``next_change(facts, health, settings)`` returns the first moment at or after
    ``facts.as_of`` at which :meth:`Rule.plan` may answer differently (fire or stop,
    another task key, or another priority: the task budget ranks tasks by it) if no new
    data arrives; None when only new data can change it. An
    early moment only costs a re-plan; a late one delays a task, so when in doubt return
    the earlier. ``facts.changes_at`` need not be included: the engine adds it.
    """

    def __call__(
        self, facts: CustomerFacts, health: Health, settings: ScoringSettings
    ) -> datetime | None: ...


@as_values
@attrs.frozen
class CustomerPlan:
    """What the playbook planned for one customer, and until when that plan holds.

    Attributes:
        customer: The customer's key.
        tasks: The tasks planned as of the moment of planning.
        valid_until: Re-plan at or after this moment even without new data; None when only
            new data can change the plan.
        owner: The owner id the plan was made with (a change in that owner's status
            re-plans the customer).
    """

    customer: str
    tasks: tuple[Task, ...]
    valid_until: datetime | None
    owner: str | None


def task_key(rule: str, customer: str, anchor: str) -> str:
    """A deterministic task key: ``rule:customer:anchor``, hashed when long.

    ``anchor`` is the fact the task is about (the date of the last exchange, the
    anniversary year...), so the key changes only when the situation does.
    """
    key = f"{rule}:{customer}:{anchor}"
    if len(key) <= 120:
        return key
    return f"{rule}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def anchor_of(moment: datetime | date | None) -> str:
    """The canonical anchor text for a moment: its UTC date, or ``never``."""
    if moment is None:
        return "never"
    return (moment.date() if isinstance(moment, datetime) else moment).isoformat()


def build_task(
    rule: Rule,
    facts: CustomerFacts,
    settings: ScoringSettings,
    *,
    anchor: str,
    title: str,
    reason: str,
    facts_lines: Iterable[str],
    kind: TaskKind,
    priority: Priority,
    due_in_days: int = 0,
    reassign: bool = False,
) -> Task:
    """Assemble a task with the customer's owner, main contact and a body of facts.

    ``reassign`` sends the task to the configured fallback owner when the customer's own
    owner cannot act (gone, inactive or none), as handover and unanswered need.
    """
    owner = facts.owner.id if facts.owner is not None else None
    if reassign or facts.owner_status is not OwnerStatus.ACTIVE:
        owner = settings.fallback_owner or (
            owner if facts.owner_status is OwnerStatus.ACTIVE else None
        )
    lines = [reason, "", *[f"- {line}" for line in facts_lines]]
    if facts.main_contact:
        who = (
            f"{facts.main_contact_name} <{facts.main_contact}>"
            if facts.main_contact_name
            else facts.main_contact
        )
        lines.append(f"- main contact: {who}")
    today = facts.as_of.date()
    lines.append(f"- planned by engage rule '{rule.name}' as of {today.isoformat()}")
    return Task(
        key=task_key(rule.name, facts.key, anchor),
        customer=facts.key,
        rule=rule.name,
        title=title,
        body="\n".join(lines),
        due=today + timedelta(due_in_days),
        priority=priority,
        kind=kind,
        owner=owner,
        reason=reason,
        contact_email=facts.main_contact,
    )


_URGENCY = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}


def within_budget(tasks: Sequence[Task], limit: int) -> list[Task]:
    """The tasks a customer gets: one call at most, ``limit`` tasks at most, most urgent first.

    Tasks are ranked by priority, then due date, then the order the rules gave them. Two
    calls say the same thing (call them: reconnect, pick up the phone, a late check-in), so
    a later call is folded into the first; past ``limit``, the rest are folded into the most
    urgent task. Nothing is hidden: a task that took others in lists them in its body, one
    line each. The kept tasks' keys do not change.
    """
    if len(tasks) <= 1:
        return list(tasks)
    ranked = sorted(range(len(tasks)), key=lambda i: (_URGENCY[tasks[i].priority], tasks[i].due, i))
    kept: list[Task] = []
    folded: dict[int, list[Task]] = {}
    call: int | None = None  # where in kept the one call is
    for i in ranked:
        task = tasks[i]
        same = call if task.kind is TaskKind.CALL else None
        if same is None and len(kept) < max(1, limit):
            if task.kind is TaskKind.CALL:
                call = len(kept)
            kept.append(task)
            continue
        folded.setdefault(0 if same is None else same, []).append(task)
    if not folded:
        return kept
    return [_with_folded(task, folded.get(n, [])) for n, task in enumerate(kept)]


def _with_folded(task: Task, others: Sequence[Task]) -> Task:
    if not others:
        return task
    lines = [
        f"- {other.title} (rule '{other.rule}', due {other.due.isoformat()})" for other in others
    ]
    body = "\n".join(
        [task.body, "", "Also due, folded into this task to keep the list short:", *lines]
    )
    return attrs.evolve(task, body=body)


def plan(
    facts: CustomerFacts, health: Health, rules: Iterable[Rule], settings: ScoringSettings
) -> list[Task]:
    """The tasks the rules ask for one customer, at most one per rule, within the
    customer's task budget (:func:`within_budget` with the segment's ``max_tasks``)."""
    tasks = []
    for rule in rules:
        task = rule.plan(facts, health, settings)
        if task is not None:
            tasks.append(task)
    return within_budget(tasks, facts.settings.max_tasks)


def plan_until(
    facts: CustomerFacts, health: Health, rules: Iterable[Rule], settings: ScoringSettings
) -> CustomerPlan:
    """The tasks the rules ask for one customer (within its budget, as :func:`plan`), and
    the first moment that may change.

    That moment is the earliest of ``facts.changes_at`` and each rule's ``next_change``; a
    rule without ``next_change`` makes it ``as_of`` (ask again at the next sync).
    """
    tasks = []
    until = facts.changes_at
    for rule in rules:
        task = rule.plan(facts, health, settings)
        if task is not None:
            tasks.append(task)
        next_change: NextChange | None = getattr(rule, "next_change", None)
        moment = facts.as_of if next_change is None else next_change(facts, health, settings)
        if moment is not None and (until is None or moment < until):
            until = moment
    kept = within_budget(tasks, facts.settings.max_tasks)
    return CustomerPlan(facts.key, tuple(kept), until, facts.customer.owner)
