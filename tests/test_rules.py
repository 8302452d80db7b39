"""The built-in playbook rules: when each fires, what its task says, and how its key behaves."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given

from engage.builtin import rules as builtin_rules
from engage.builtin.rules import (
    BUILTIN_RULES,
    Appreciation,
    CheckIn,
    FirstFeedback,
    Handover,
    PeriodicFeedback,
    PickUpPhone,
    Reconnect,
    StatusUpdate,
    Unanswered,
    Welcome,
)
from engage.facts import CustomerFacts, OwnerStatus
from engage.models import Customer, Priority, Task, TaskKind
from engage.playbook import Rule
from engage.settings import SegmentSettings
from tests.factsbuilder import (
    AS_OF,
    FALLBACK,
    SETTINGS,
    ago,
    consistent_facts,
    facts,
    health,
    later,
    run,
    steady,
)

NAMES = [
    "welcome",
    "first_feedback",
    "periodic_feedback",
    "check_in",
    "unanswered",
    "reconnect",
    "pick_up_phone",
    "handover",
    "status_update",
    "appreciation",
]


def fires(rule: Rule, f: CustomerFacts, settings: Any = SETTINGS) -> Task:
    """Plan and insist on a task."""
    task = run(rule, f, settings)
    assert task is not None, f"{rule.name} did not fire"
    return task


#: A segment that answers within a week: a message three days old is not late yet there.
WEEKLY = SegmentSettings(response_hours=7 * 24)


def new_customer(**overrides: Any) -> CustomerFacts:
    """A customer who wrote three days ago and has not heard from us, in a segment that
    answers within a week (so the message is not late and welcome, not a reply, is due)."""
    values: dict[str, Any] = {
        "touches": 1,
        "first_touch": ago(3),
        "last_touch": ago(3),
        "last_inbound": ago(3),
        "settings": WEEKLY,
    }
    values.update(overrides)
    return facts(**values)


def long_standing(**overrides: Any) -> CustomerFacts:
    """A six-year customer whose touches fell from about 4 a month to 1."""
    values: dict[str, Any] = {
        "touches": 303,
        "first_touch": ago(6 * 365),
        "touches_before_window": 300,
        "recent_touches": 3,
        "previous_touches": 12,
        "recent_inbound": 1,
        "recent_outbound": 2,
        "recent_email": 3,
        "recent_personal": 0,
        "last_two_way": ago(20),
        "last_personal": ago(200),
        "emails_since_personal": 9,
    }
    values.update(overrides)
    return steady(**values)


#: One firing situation per rule, still unchanged a day later.
SCENARIOS: dict[str, CustomerFacts] = {
    "welcome": new_customer(),
    "first_feedback": steady(
        first_engagement=ago(20), feedback_since_engagement=False, last_feedback=None
    ),
    "periodic_feedback": steady(last_feedback=ago(200)),
    "check_in": steady(last_two_way=ago(45), last_inbound=ago(45), last_personal=ago(45)),
    "unanswered": steady(last_inbound=ago(3), last_outbound=ago(10)),
    "reconnect": long_standing(),
    "pick_up_phone": steady(emails_since_personal=5, last_personal=ago(40), last_two_way=ago(10)),
    "handover": steady(owner_status=OwnerStatus.GONE),
    "status_update": steady(
        customer=Customer(key="acme.com", name="Acme Corp", open_work=True), last_outbound=ago(20)
    ),
    "appreciation": steady(first_touch=datetime(2021, 6, 25, 12, tzinfo=UTC)),
}
RULES = {rule.name: rule for rule in BUILTIN_RULES}


# registration and shared behaviour


def test_register_hook_yields_the_ten_rules() -> None:
    """The hook registers exactly the ten built-in rules, each with a description."""
    registered: list[Rule] = []

    def register(rule: Rule) -> None:
        registered.append(rule)

    builtin_rules.engage_register_rules(register=register)
    assert [r.name for r in registered] == NAMES
    assert all(isinstance(r, Rule) and r.description for r in registered)


def test_a_steady_relationship_needs_no_task() -> None:
    """A well-kept relationship plans nothing."""
    f = steady()
    assert [r.name for r in BUILTIN_RULES if run(r, f) is not None] == []


@pytest.mark.parametrize("name", NAMES)
def test_each_scenario_fires_its_rule(name: str) -> None:
    """Each rule's scenario plans a task of that rule, keyed by rule and customer."""
    task = fires(RULES[name], SCENARIOS[name])
    assert task.rule == name
    assert task.key.startswith(f"{name}:acme.com:")
    assert "Acme Corp" in task.title
    assert task.reason and task.reason in task.body
    assert f"planned by engage rule '{name}'" in task.body


@pytest.mark.parametrize("name", NAMES)
def test_same_facts_give_the_same_task(name: str) -> None:
    """Planning the same facts twice gives identical tasks."""
    assert run(RULES[name], SCENARIOS[name]) == run(RULES[name], SCENARIOS[name])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("days", [1 / 24, 0.5, 1, 2])
def test_key_is_stable_while_the_situation_is_unchanged(name: str, days: float) -> None:
    """An hourly or daily sync with nothing new plans the same key."""
    before = fires(RULES[name], SCENARIOS[name])
    after = fires(RULES[name], later(SCENARIOS[name], days))
    assert after.key == before.key


@given(consistent_facts())
def test_rules_return_a_task_or_none_for_any_facts(f: CustomerFacts) -> None:
    """No consistent facts make a rule fail; any task belongs to its rule and customer."""
    for rule in BUILTIN_RULES:
        task = rule.plan(f, health(f), SETTINGS)
        if task is not None:
            assert task.rule == rule.name and task.customer == "acme.com"
            assert task.due >= f.as_of.date()


# welcome


def test_welcome_a_new_customer_who_has_not_heard_from_us() -> None:
    """First touch 3 days ago and nothing outbound: a high-priority welcome email."""
    task = fires(Welcome(), new_customer())
    assert task.kind is TaskKind.EMAIL and task.priority is Priority.HIGH
    assert task.key == "welcome:acme.com:2024-06-12"
    assert "first touchpoint 3 days ago (2024-06-12)" in task.body
    assert "Welcome Acme Corp" in task.title


def test_no_welcome_once_we_wrote() -> None:
    """Any outbound touch means the welcome happened."""
    assert run(Welcome(), new_customer(last_outbound=ago(2))) is None


def test_no_welcome_while_their_message_waits_the_reply_welcomes() -> None:
    """Past the response time the reply is due, and it carries the welcome."""
    waiting = new_customer(settings=SegmentSettings())
    assert run(Welcome(), waiting) is None
    reply = fires(Unanswered(), waiting)
    assert "welcome them as you answer" in reply.body


def test_no_welcome_without_evidence_that_the_customer_is_new() -> None:
    """A store whose history starts with this customer's first touch cannot tell new from
    old; a source's first_seen can."""
    assert run(Welcome(), new_customer(history_start=ago(3))) is None
    known = Customer(key="acme.com", name="Acme Corp", owner="u1", first_seen=ago(3))
    assert run(Welcome(), new_customer(history_start=ago(3), customer=known)) is not None


def test_welcome_until_the_end_of_the_onboarding_window() -> None:
    """Exactly onboarding_days after the first touch still welcomes; a day later does not."""
    assert run(Welcome(), new_customer(first_touch=ago(30))) is not None
    assert run(Welcome(), new_customer(first_touch=ago(31))) is None


# first_feedback


def test_first_feedback_after_the_first_meeting() -> None:
    """First meeting 20 days ago, no feedback since: ask how it went."""
    task = fires(FirstFeedback(), SCENARIOS["first_feedback"])
    assert task.kind is TaskKind.EMAIL and task.priority is Priority.MEDIUM
    assert task.key == "first_feedback:acme.com:2024-05-26"
    assert "first call or meeting 20 days ago" in task.body
    assert "no feedback asked or given since" in task.body


def test_no_first_feedback_once_asked() -> None:
    """Feedback asked after the first engagement: nothing to do."""
    f = steady(first_engagement=ago(20), last_feedback=ago(2), feedback_since_engagement=True)
    assert run(FirstFeedback(), f) is None


def test_first_feedback_waits_for_first_feedback_days() -> None:
    """Exactly first_feedback_days after the first meeting is not yet overdue."""
    f = steady(first_engagement=ago(14), feedback_since_engagement=False, last_feedback=None)
    assert run(FirstFeedback(), f) is None


def test_first_feedback_hands_over_to_periodic_feedback_after_the_interval() -> None:
    """A first meeting older than feedback_days is asked about by periodic_feedback instead."""
    f = steady(first_engagement=ago(190), feedback_since_engagement=False, last_feedback=None)
    assert run(FirstFeedback(), f) is None
    assert run(PeriodicFeedback(), f) is not None


# periodic_feedback


def test_periodic_feedback_when_the_last_is_past_the_interval() -> None:
    """Last feedback 200 days ago with a 180-day interval: ask again, low priority."""
    task = fires(PeriodicFeedback(), SCENARIOS["periodic_feedback"])
    assert task.priority is Priority.LOW and task.kind is TaskKind.EMAIL
    assert task.key == "periodic_feedback:acme.com:2023-11-28"
    assert "feedback last asked or given 200 days ago" in task.body


def test_periodic_feedback_for_a_long_standing_customer_never_asked() -> None:
    """Three years and never asked: medium priority, anchored on never."""
    f = steady(
        first_touch=ago(1000),
        first_engagement=ago(900),
        last_feedback=None,
        feedback_since_engagement=False,
    )
    task = fires(PeriodicFeedback(), f)
    assert task.priority is Priority.MEDIUM
    assert task.key == "periodic_feedback:acme.com:never"
    assert "never asked in 2 years 8 months together" in task.title


def test_periodic_feedback_medium_after_a_low_score() -> None:
    """A poor latest score makes asking again more urgent."""
    f = steady(last_feedback=ago(200), last_feedback_value=0.3, last_feedback_value_at=ago(200))
    task = fires(PeriodicFeedback(), f)
    assert task.priority is Priority.MEDIUM
    assert "latest score 0.30 of 1" in task.body


def test_no_periodic_feedback_within_the_interval() -> None:
    """Feedback exactly feedback_days ago is not overdue yet."""
    assert run(PeriodicFeedback(), steady(last_feedback=ago(180))) is None


def test_no_periodic_feedback_while_first_feedback_is_due() -> None:
    """A customer is never asked for feedback twice at once."""
    f = SCENARIOS["first_feedback"]
    f = attrs.evolve(f, first_touch=ago(400))
    assert run(FirstFeedback(), f) is not None
    assert run(PeriodicFeedback(), f) is None


def test_periodic_feedback_key_changes_with_new_feedback() -> None:
    """Once feedback is asked and goes stale again, the next ask is a new task."""
    first = fires(PeriodicFeedback(), steady(last_feedback=ago(200)))
    second = fires(PeriodicFeedback(), steady(last_feedback=ago(190)))
    assert first.key != second.key


# check_in


def test_check_in_after_the_cadence() -> None:
    """No two-way exchange for 45 days with a 30-day cadence: a medium email."""
    task = fires(CheckIn(), SCENARIOS["check_in"])
    assert task.kind is TaskKind.EMAIL and task.priority is Priority.MEDIUM
    assert task.title == "Check in with Acme Corp: no two-way exchange for 45 days"
    assert task.key == "check_in:acme.com:2024-05-01"
    assert "last two-way exchange 45 days ago (2024-05-01)" in task.body
    assert "cadence of segment 'default': 30 days" in task.body


def test_no_check_in_exactly_at_the_cadence() -> None:
    """Exactly cadence_days since the last exchange is still on time."""
    assert run(CheckIn(), steady(last_two_way=ago(30))) is None


def test_check_in_far_past_the_cadence_is_a_high_priority_call() -> None:
    """Twice the cadence or more: call, high priority."""
    task = fires(CheckIn(), steady(last_two_way=ago(75)))
    assert task.kind is TaskKind.CALL and task.priority is Priority.HIGH


def test_check_in_never_two_way() -> None:
    """Never a two-way exchange in more than a cadence: check in, anchored on never."""
    f = steady(last_two_way=None, last_inbound=None, first_touch=ago(100), last_outbound=ago(5))
    task = fires(CheckIn(), f)
    assert task.key == "check_in:acme.com:never"
    assert "no two-way exchange ever" in task.body


def test_no_check_in_while_a_reply_or_welcome_is_due() -> None:
    """Replying or welcoming comes first."""
    waiting = steady(last_two_way=ago(45), last_outbound=ago(45), last_inbound=ago(3))
    assert run(Unanswered(), waiting) is not None
    assert run(CheckIn(), waiting) is None
    assert run(CheckIn(), new_customer(first_touch=ago(29))) is None


def test_no_check_in_email_beside_a_status_update_but_a_call_still() -> None:
    """Running work, nothing from us for 20 days and no exchange for 45: the status update is
    the one email (the demo's Helix Engineering had both, a day apart); from twice the
    cadence the check-in is a call, a different act, and comes too."""
    silent = steady(
        customer=WORKING, last_two_way=ago(45), last_inbound=ago(45), last_outbound=ago(20)
    )
    assert run(StatusUpdate(), silent) is not None
    assert run(CheckIn(), silent) is None
    far = steady(
        customer=WORKING, last_two_way=ago(75), last_inbound=ago(75), last_outbound=ago(20)
    )
    assert run(StatusUpdate(), far) is not None
    assert fires(CheckIn(), far).kind is TaskKind.CALL
    updated = steady(
        customer=WORKING, last_two_way=ago(45), last_inbound=ago(45), last_outbound=ago(5)
    )
    assert fires(CheckIn(), updated).kind is TaskKind.EMAIL  # updated, still no exchange


def test_check_in_key_changes_after_a_new_exchange() -> None:
    """A new two-way exchange that goes stale again makes a new task."""
    first = fires(CheckIn(), steady(last_two_way=ago(45)))
    second = fires(CheckIn(), steady(last_two_way=ago(35)))
    assert first.key != second.key


# unanswered


def test_unanswered_message_past_the_response_time() -> None:
    """A message waiting three days: reply today, high priority."""
    task = fires(Unanswered(), SCENARIOS["unanswered"])
    assert task.kind is TaskKind.EMAIL and task.priority is Priority.HIGH
    assert task.due == AS_OF.date()
    assert task.owner == "u1"
    assert task.title == "Reply to Acme Corp: their message has waited 3 days"
    assert "waiting since their message 3 days ago" in task.body


def test_no_unanswered_within_the_response_time() -> None:
    """47 hours is within a 48-hour response time; answered messages never count."""
    assert run(Unanswered(), steady(last_inbound=ago(47 / 24), last_outbound=ago(10))) is None
    assert run(Unanswered(), steady(last_inbound=ago(5), last_outbound=ago(4))) is None


def test_unanswered_with_the_owner_gone_goes_to_someone_who_can() -> None:
    """The owner left: the task is rerouted to the fallback owner and says why."""
    f = steady(last_inbound=ago(3), last_outbound=ago(10), owner_status=OwnerStatus.GONE)
    task = fires(Unanswered(), f, FALLBACK)
    assert task.owner == "lead@ourco.com"
    assert "their owner Jo Owner has left" in task.title
    assert "route it to someone who can answer" in task.reason


def test_unanswered_key_survives_a_chaser_and_changes_after_our_reply() -> None:
    """A second message from the customer keeps the key; our reply starts a new wait."""
    first = fires(Unanswered(), steady(last_inbound=ago(5), last_outbound=ago(10)))
    chased = fires(Unanswered(), steady(last_inbound=ago(3), last_outbound=ago(10)))
    replied = fires(Unanswered(), steady(last_inbound=ago(3), last_outbound=ago(4)))
    assert chased.key == first.key
    assert replied.key != first.key


# reconnect


def test_reconnect_a_long_standing_customer_gone_quiet() -> None:
    """Six years in, touches fell from about 4 a month to 1: call with a short history."""
    task = fires(Reconnect(), SCENARIOS["reconnect"])
    assert task.kind is TaskKind.CALL and task.priority is Priority.MEDIUM
    assert task.title == "Call Acme Corp: down from 4.3 to 1 touches a month after 6 years together"
    assert "customer for 6 years" in task.body
    assert "past rate: 4.3 touches a month (300 touches before the last 90 days)" in task.body
    assert "recent rate: 1 touch a month (3 touches in the last 90 days)" in task.body
    assert task.key == "reconnect:acme.com:2023-11-28"


def test_no_reconnect_while_the_rate_holds() -> None:
    """A recent rate at the past rate is no complacency."""
    assert run(Reconnect(), long_standing(recent_touches=13)) is None


def test_no_reconnect_before_the_tenure() -> None:
    """A customer of less than reconnect_tenure_days is not long-standing."""
    assert run(Reconnect(), long_standing(first_touch=ago(300))) is None


def test_no_reconnect_right_after_a_call() -> None:
    """A call within the cadence is a reconnection already."""
    assert run(Reconnect(), long_standing(last_personal=ago(10))) is None


# pick_up_phone


def test_pick_up_the_phone_after_emails_in_a_row() -> None:
    """Five emails since the last call: call instead."""
    task = fires(PickUpPhone(), SCENARIOS["pick_up_phone"])
    assert task.kind is TaskKind.CALL and task.priority is Priority.MEDIUM
    assert task.title == "Call Acme Corp: 5 emails from us since the last call or meeting"
    assert task.key == "pick_up_phone:acme.com:2024-05-06"


def test_no_phone_call_needed_below_the_streak() -> None:
    """Three emails from us is below phone_after_emails."""
    assert run(PickUpPhone(), steady(emails_since_personal=3)) is None


def test_no_phone_call_for_an_old_streak() -> None:
    """Emails in a row that all predate the window are check_in's business."""
    assert run(PickUpPhone(), steady(emails_since_personal=6, recent_email=0)) is None


def test_pick_up_phone_never_called() -> None:
    """Never a call: the title says so and the key is anchored on never."""
    task = fires(PickUpPhone(), steady(emails_since_personal=4, last_personal=None))
    assert task.title == "Call Acme Corp: 4 emails from us and never a call or meeting"
    assert task.key == "pick_up_phone:acme.com:never"


def test_pick_up_phone_stands_back_for_reconnect_and_keeps_its_key() -> None:
    """Reconnect is already a call; more emails alone do not change the key."""
    assert run(PickUpPhone(), SCENARIOS["reconnect"]) is None
    more = steady(emails_since_personal=8, last_personal=ago(40), last_two_way=ago(10))
    assert fires(PickUpPhone(), more).key == fires(PickUpPhone(), SCENARIOS["pick_up_phone"]).key


# handover


def test_handover_when_the_owner_left_goes_to_the_fallback_owner() -> None:
    """Owner gone: a high todo assigned to the fallback owner."""
    task = fires(Handover(), SCENARIOS["handover"], FALLBACK)
    assert task.kind is TaskKind.TODO and task.priority is Priority.HIGH
    assert task.owner == "lead@ourco.com"
    assert task.title == "Reassign Acme Corp: owner Jo Owner has left"
    assert task.key == "handover:acme.com:u1-gone"
    assert "fallback owner lead@ourco.com" in task.body


def test_handover_without_a_fallback_owner_has_no_owner_and_says_so() -> None:
    """No fallback configured: nobody is assigned, and the body explains."""
    task = fires(Handover(), SCENARIOS["handover"])
    assert task.owner is None
    assert "no fallback owner is configured" in task.body


def test_handover_for_an_inactive_owner_only_while_the_team_is_active() -> None:
    """A quiet owner in an active team hands over; a quiet team is on holiday."""
    quiet = steady(owner_status=OwnerStatus.INACTIVE, owner_last_active=ago(75))
    task = fires(Handover(), quiet, FALLBACK)
    assert task.key == "handover:acme.com:u1-inactive-2024-04-01"
    assert "inactive for 2 months" in task.title
    assert run(Handover(), attrs.evolve(quiet, team_active=False)) is None


def test_handover_when_nobody_owns_the_account() -> None:
    """No owner: assign one."""
    f = steady(
        owner=None,
        owner_status=OwnerStatus.NONE,
        customer=Customer(key="acme.com", name="Acme Corp"),
    )
    task = fires(Handover(), f, FALLBACK)
    assert task.title == "Assign an owner to Acme Corp: nobody owns the account"
    assert task.key == "handover:acme.com:none"
    assert task.owner == "lead@ourco.com"


def test_no_handover_for_an_active_owner() -> None:
    """An active owner keeps the account."""
    assert run(Handover(), steady()) is None


def test_handover_key_changes_when_the_owner_comes_back_and_goes_quiet_again() -> None:
    """Inactivity from a later date is a new situation."""
    first = fires(Handover(), steady(owner_status=OwnerStatus.INACTIVE, owner_last_active=ago(75)))
    again = fires(Handover(), steady(owner_status=OwnerStatus.INACTIVE, owner_last_active=ago(65)))
    assert first.key != again.key


# status_update

WORKING = Customer(key="acme.com", name="Acme Corp", open_work=True)


def test_status_update_for_running_work() -> None:
    """Open work and nothing from us for 20 days: a medium email."""
    task = fires(StatusUpdate(), SCENARIOS["status_update"])
    assert task.kind is TaskKind.EMAIL and task.priority is Priority.MEDIUM
    assert task.title == "Send Acme Corp a status update: nothing from us for 20 days"
    assert task.key == "status_update:acme.com:2024-05-26"


def test_no_status_update_within_the_interval_or_without_work() -> None:
    """Fourteen days is on time; no running work needs no update."""
    assert run(StatusUpdate(), steady(customer=WORKING, last_outbound=ago(14))) is None
    assert run(StatusUpdate(), steady(last_outbound=ago(40))) is None


def test_status_update_never_written() -> None:
    """Open work and never a message from us: anchored on never."""
    task = fires(StatusUpdate(), steady(customer=WORKING, last_outbound=None))
    assert task.key == "status_update:acme.com:never"
    assert "nothing from us yet" in task.title


# appreciation


def test_appreciation_before_an_anniversary() -> None:
    """Three years together in 10 days: a low thank-you email due on the day."""
    task = fires(Appreciation(), SCENARIOS["appreciation"])
    assert task.kind is TaskKind.EMAIL and task.priority is Priority.LOW
    assert task.key == "appreciation:acme.com:2024"
    assert task.due == date(2024, 6, 25)
    assert task.title == "Thank Acme Corp: 3 years together on 2024-06-25"


def test_appreciation_on_the_day_and_not_too_early() -> None:
    """The anniversary today fires; one 15 days away does not yet."""
    assert (
        run(Appreciation(), steady(first_touch=datetime(2021, 6, 15, 18, tzinfo=UTC))) is not None
    )
    assert run(Appreciation(), steady(first_touch=datetime(2022, 6, 30, 9, tzinfo=UTC))) is None


def test_no_appreciation_in_the_first_year() -> None:
    """A customer of a few months has no anniversary yet."""
    assert run(Appreciation(), steady(first_touch=ago(200))) is None


def test_appreciation_for_a_29_february_start() -> None:
    """A leap-day start is celebrated on 28 February in common years, 29 in leap years."""
    start = datetime(2020, 2, 29, 10, tzinfo=UTC)
    common = steady(as_of=datetime(2025, 2, 20, 9, tzinfo=UTC), first_touch=start)
    leap = steady(as_of=datetime(2024, 2, 20, 9, tzinfo=UTC), first_touch=start)
    assert fires(Appreciation(), common).due == date(2025, 2, 28)
    assert fires(Appreciation(), leap).due == date(2024, 2, 29)
    assert fires(Appreciation(), common).key == "appreciation:acme.com:2025"


def test_appreciation_key_changes_each_year() -> None:
    """Next year's anniversary is a new task."""
    this_year = fires(Appreciation(), SCENARIOS["appreciation"])
    a_year_on = later(SCENARIOS["appreciation"], 365)
    next_year = fires(Appreciation(), attrs.evolve(a_year_on, last_touch=ago(5, a_year_on.as_of)))
    assert this_year.key != next_year.key


def test_appreciation_counts_from_first_seen() -> None:
    """A source's earlier first_seen (folded into first_touch) sets the anniversary."""
    f = steady(
        first_touch=ago(365 * 5 - 3),
        customer=Customer(key="acme.com", name="Acme Corp", first_seen=ago(365 * 5 - 3)),
    )
    assert "5 years together" in fires(Appreciation(), f).title


def test_tasks_name_the_main_contact() -> None:
    """The body names who to write to."""
    assert "main contact: Pat Buyer <pat@acme.com>" in fires(CheckIn(), SCENARIOS["check_in"]).body


def test_facts_builder_defaults_are_sane() -> None:
    """The builder's bare facts belong to Acme Corp with an active owner."""
    f = facts()
    assert f.display_name == "Acme Corp" and f.owner_status is OwnerStatus.ACTIVE
