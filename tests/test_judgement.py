"""Judgement on real histories: every planned task is one a person would act on.

Each test builds a small history in a real (in-memory) store, so the facts come from the
same SQL a sync uses, and checks what the playbook plans and how it says it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engage
from engage.builtin.rules import BUILTIN_RULES
from engage.facts import CustomerFacts
from engage.models import Customer, Owner, Priority, Task, TaskKind
from engage.playbook import plan, within_budget
from engage.settings import ScoringSettings, SegmentSettings
from engage.testing import make_task
from tests.factsbuilder import consistent_facts, health

AS_OF = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
OWNER = "carol@ourco.com"


def ago(days: float) -> str:
    return (AS_OF - timedelta(days=days)).isoformat()


def book(settings: ScoringSettings | None = None) -> engage.Engine:
    return engage.Engine.in_memory(internal_domains=["ourco.com"], settings=settings)


def planned(engine: engage.Engine, customer: str) -> list[Task]:
    return engine.tasks(as_of=AS_OF, customer=customer)


def rules_of(tasks: list[Task]) -> set[str]:
    return {t.rule for t in tasks}


def keep_busy(engine: engage.Engine) -> None:
    """Another customer, touched by our owner all along, so the team counts as active and
    the store's history covers the owner-inactivity span."""
    for days in range(400, 0, -10):
        engine.touch("pat@busy.com", ago(days), "email", "outbound", owner=OWNER)
        engine.touch("pat@busy.com", ago(days - 1), "email", "inbound")


# -- age and stage --------------------------------------------------------------------------


class TestADormantOneOff:
    """One inbound email three years ago: one task that fits, not four."""

    @pytest.fixture
    def tasks(self) -> list[Task]:
        engine = book()
        engine.touch("old@longago.com", ago(3 * 365 + 20), "email", "inbound")
        return planned(engine, "longago.com")

    def test_it_gets_one_win_back_task(self, tasks: list[Task]) -> None:
        """Only reconnect, worded as a win-back with the real history."""
        assert [t.rule for t in tasks] == ["reconnect"]
        task = tasks[0]
        assert (
            task.title == "Win back longago.com: last heard from them 3 years ago, 1 touch in all"
        )
        assert task.kind is TaskKind.EMAIL and task.priority is Priority.LOW
        assert "never had an answer" in task.body

    def test_no_reply_thanks_or_feedback_for_a_message_from_years_ago(
        self, tasks: list[Task]
    ) -> None:
        """The message is history; the relationship is not alive enough to thank or survey."""
        assert not rules_of(tasks) & {"unanswered", "appreciation", "periodic_feedback", "check_in"}

    def test_no_number_reads_as_zero_to_zero(self, tasks: list[Task]) -> None:
        """Titles and bodies never say "0 to 0" or count days by the thousand."""
        text = " ".join(t.title + t.body for t in tasks)
        assert "0 to 0" not in text and "1115 days" not in text


def test_a_long_relationship_gone_dormant_is_won_back_by_phone() -> None:
    """Years of regular touches, then silence: a call at medium priority with its history."""
    engine = book()
    keep_busy(engine)
    for days in range(900, 300, -20):
        engine.touch("ann@cooled.com", ago(days), "email", "outbound", owner=OWNER)
    engine.touch("ann@cooled.com", ago(250), "call", "inbound", owner=OWNER)
    tasks = planned(engine, "cooled.com")
    assert [t.rule for t in tasks] == ["reconnect"]
    assert tasks[0].kind is TaskKind.CALL and tasks[0].priority is Priority.MEDIUM
    assert "31 touches in all" in tasks[0].title


def test_a_dormant_customer_is_handed_over_only_when_its_owner_left() -> None:
    """A dormant account with a departed owner: win it back and reassign it; with an owner
    who simply went quiet, or none, only the win-back."""
    for active, expected in ((False, {"reconnect", "handover"}), (True, {"reconnect"})):
        engine = book()
        keep_busy(engine)
        engine.add([Owner("dmitri@ourco.com", active=active)])
        engine.add([Customer("quiet.com", owner="dmitri@ourco.com")])
        engine.touch("x@quiet.com", ago(400), "email", "outbound", owner="dmitri@ourco.com")
        assert rules_of(planned(engine, "quiet.com")) == expected


def test_a_message_past_the_reply_horizon_is_history_but_a_newer_one_waits() -> None:
    """A question from eight months ago gets no reply task; one from three days ago does."""
    engine = book()
    keep_busy(engine)
    engine.touch("jo@acme.com", ago(400), "email", "outbound", owner=OWNER)
    engine.touch("jo@acme.com", ago(240), "email", "inbound")
    assert "unanswered" not in rules_of(planned(engine, "acme.com"))
    engine.touch("jo@acme.com", ago(3), "email", "inbound")
    tasks = [t for t in planned(engine, "acme.com") if t.rule == "unanswered"]
    assert len(tasks) == 1 and "waited 3 days" in tasks[0].title


def test_the_reply_horizon_is_a_segment_setting() -> None:
    """With reply_horizon_days = 400 the eight-month-old question still asks for a reply."""
    long = ScoringSettings(segments={"default": SegmentSettings(reply_horizon_days=400)})
    engine = book(long)
    keep_busy(engine)
    engine.touch("jo@acme.com", ago(400), "email", "outbound", owner=OWNER)
    engine.touch("jo@acme.com", ago(240), "email", "inbound")
    assert "unanswered" in rules_of(planned(engine, "acme.com"))


def test_appreciation_thanks_only_a_relationship_that_is_alive() -> None:
    """An anniversary of a one-off contact from two years ago is no reason to write."""
    engine = book()
    keep_busy(engine)
    engine.touch("jo@alive.com", ago(2 * 365 - 5), "meeting", "outbound", owner=OWNER)
    engine.touch("jo@alive.com", ago(20), "meeting", "outbound", owner=OWNER)
    engine.touch("jo@gone.com", ago(2 * 365 - 5), "meeting", "outbound", owner=OWNER)
    assert "appreciation" in rules_of(planned(engine, "alive.com"))
    assert "appreciation" not in rules_of(planned(engine, "gone.com"))


# -- two-way channels -----------------------------------------------------------------------


def test_an_inbound_call_that_took_place_is_a_conversation() -> None:
    """The customer called and we talked: no "reply" task and no "no word from us" welcome."""
    engine = book()
    keep_busy(engine)
    engine.touch("new@caller.com", ago(3), "call", "inbound", owner=OWNER)
    tasks = planned(engine, "caller.com")
    assert not rules_of(tasks) & {"unanswered", "welcome"}
    (report,) = engine.health(as_of=AS_OF, customer="caller.com")
    recency = report.factor("recency")
    assert recency is not None and "Last two-way exchange 3 days ago" in recency.explain


def test_a_call_answers_the_messages_before_it() -> None:
    """They emailed, we then talked on the phone: nothing is waiting."""
    engine = book()
    keep_busy(engine)
    engine.touch("jo@acme.com", ago(60), "email", "outbound", owner=OWNER)
    engine.touch("jo@acme.com", ago(5), "email", "inbound")
    engine.touch("jo@acme.com", ago(4), "call", "inbound", owner=OWNER)
    assert "unanswered" not in rules_of(planned(engine, "acme.com"))


def test_a_missed_call_waits_for_a_call_back() -> None:
    """A missed call or voicemail from the customer is a message waiting for an answer."""
    engine = book()
    keep_busy(engine)
    engine.touch("jo@acme.com", ago(60), "meeting", "outbound", owner=OWNER)
    engine.touch("jo@acme.com", ago(3), "call", "inbound", missed=True)
    tasks = [t for t in planned(engine, "acme.com") if t.rule == "unanswered"]
    assert len(tasks) == 1 and tasks[0].kind is TaskKind.CALL
    assert tasks[0].title == "Call acme.com back: they called and have waited 3 days"
    assert "1 missed call or voicemail from them since our last word" in tasks[0].body


def test_on_the_first_days_of_an_import_nobody_is_new() -> None:
    """Two days of history: a customer first seen yesterday may be years old, so no welcome;
    once the store reaches back past the onboarding window, a newcomer is welcomed."""
    engine = book()
    engine.touch("pat@busy.com", ago(2), "email", "outbound", owner=OWNER)
    engine.touch("old@hidden.com", ago(1), "email", "inbound")
    assert "welcome" not in rules_of(planned(engine, "hidden.com"))
    (report,) = engine.health(as_of=AS_OF, customer="hidden.com")
    assert report.stage.value != "new"
    keep_busy(engine)  # older history arrives
    assert "welcome" in rules_of(planned(engine, "hidden.com"))


def test_a_meeting_is_a_word_from_us_for_welcome() -> None:
    """A new customer we already met needs no welcome; one who only wrote (yesterday) does."""
    engine = book()
    keep_busy(engine)
    engine.touch("a@met.com", ago(5), "meeting", "inbound", owner=OWNER)
    engine.touch("b@wrote.com", ago(1), "email", "inbound")
    assert "welcome" not in rules_of(planned(engine, "met.com"))
    assert "welcome" in rules_of(planned(engine, "wrote.com"))


# -- budget ---------------------------------------------------------------------------------


def task(rule: str, priority: str, kind: str, due_days: int = 1) -> Task:
    """A due action of ``rule`` for the budget (the kit's task otherwise)."""
    due = (AS_OF + timedelta(days=due_days)).date()
    return make_task(rule=rule, title=f"{rule} title", due=due, priority=priority, kind=kind)


def test_the_budget_keeps_the_most_urgent_and_lists_the_rest() -> None:
    """Five due actions, budget three: the three most urgent are kept, the first lists the
    other two, one line each; kept tasks keep their keys."""
    tasks = [
        task("periodic_feedback", "low", "email", 7),
        task("unanswered", "high", "email", 0),
        task("status_update", "medium", "email", 1),
        task("handover", "high", "todo", 1),
        task("first_feedback", "medium", "email", 2),
    ]
    kept = within_budget(tasks, 3)
    assert [t.rule for t in kept] == ["unanswered", "handover", "status_update"]
    first = kept[0].body
    assert "Also due" in first
    assert "- first_feedback title (rule 'first_feedback'" in first
    assert "- periodic_feedback title (rule 'periodic_feedback'" in first
    assert [t.key for t in kept] == [t.key for t in (tasks[1], tasks[3], tasks[2])]


def test_two_calls_become_one_task() -> None:
    """A reconnect call and a late check-in call say the same thing: one call, listing both."""
    kept = within_budget(
        [task("check_in", "high", "call", 1), task("reconnect", "medium", "call", 3)], 3
    )
    assert [t.rule for t in kept] == ["check_in"]
    assert "- reconnect title" in kept[0].body


def test_the_budget_is_a_segment_setting() -> None:
    """max_tasks = 1 leaves one task per customer; the engine applies it when planning."""
    one = ScoringSettings(segments={"default": SegmentSettings(max_tasks=1)})
    engine = book(one)
    keep_busy(engine)
    engine.add(
        [Owner("dmitri@ourco.com", active=False), Customer("x.com", owner="dmitri@ourco.com")]
    )
    engine.touch("x@x.com", ago(3), "email", "inbound")
    tasks = planned(engine, "x.com")
    assert len(tasks) == 1 and "Also due" in tasks[0].body


@settings(max_examples=200, deadline=None)
@given(consistent_facts(), st.integers(1, 4))
def test_no_customer_is_planned_past_its_budget(f: CustomerFacts, limit: int) -> None:
    """Whatever the facts, planning keeps at most max_tasks tasks, and at most one call."""
    f = attrs.evolve(f, settings=attrs.evolve(f.settings, max_tasks=limit))
    tasks = plan(f, health(f), BUILTIN_RULES, ScoringSettings())
    assert len(tasks) <= limit
    assert sum(t.kind is TaskKind.CALL for t in tasks) <= 1
    for t in tasks:
        assert " 0 to 0 " not in t.title and "from 0 to" not in t.title


# -- no customer from a copy line, no score without data --------------------------------------


def test_a_customer_with_no_touch_has_no_score_and_one_first_check_in() -> None:
    """A CRM company with no recorded touch and no owner: band no_data, score null, and a
    single first check-in call (no handover, no welcome)."""
    engine = book()
    keep_busy(engine)
    engine.add(
        [
            Customer(
                "declared.com", name="Declared Ltd", first_seen=datetime(2026, 10, 1, tzinfo=UTC)
            )
        ]
    )
    (report,) = engine.health(as_of=AS_OF, customer="declared.com")
    assert report.to_json()["score"] is None
    assert (report.band.value, report.stage.value) == ("no_data", "no_data")
    tasks = planned(engine, "declared.com")
    assert [(t.rule, t.kind) for t in tasks] == [("check_in", TaskKind.CALL)]
    assert tasks[0].title == "Call Declared Ltd for a first check-in: no touch recorded yet"


# -- inactivity needs evidence ---------------------------------------------------------------


def owned_customer(engine: engage.Engine, history_days: int) -> None:
    """acme.com owned by ivan, who has no recorded activity; the store's only activity is
    our other owner's, spanning ``history_days``."""
    engine.add([Owner("ivan@ourco.com"), Customer("acme.com", owner="ivan@ourco.com")])
    engine.touch("jo@acme.com", ago(1), "email", "inbound")
    for days in range(history_days, -1, -1):
        engine.touch("pat@busy.com", ago(days), "email", "outbound", owner=OWNER)


def test_two_days_of_history_prove_no_owner_inactive() -> None:
    """An owner with no activity in a store holding two days of it is not "inactive"."""
    engine = book()
    owned_customer(engine, history_days=2)
    assert "handover" not in rules_of(planned(engine, "acme.com"))


def test_an_owner_quiet_for_the_whole_covered_span_is_inactive() -> None:
    """With the store's activity reaching back past owner_inactive_days, the same silence
    is evidence: the account is handed over."""
    engine = book()
    owned_customer(engine, history_days=61)
    tasks = [t for t in planned(engine, "acme.com") if t.rule == "handover"]
    assert len(tasks) == 1 and "ivan@ourco.com" in tasks[0].title


def test_a_rate_below_one_a_month_is_said_in_counts() -> None:
    """4.5 touches a month falling to 0.7 reads as counts, never as "0 to 0" or "0.7 to 0"."""
    engine = book()
    keep_busy(engine)
    for days in range(500, 100, -7):  # weekly for a year, then two touches in the window
        engine.touch("jo@cool.com", ago(days), "email", "outbound", owner=OWNER)
    engine.touch("jo@cool.com", ago(20), "email", "inbound")
    engine.touch("jo@cool.com", ago(19), "email", "outbound", owner=OWNER)
    (call,) = [t for t in planned(engine, "cool.com") if t.rule == "reconnect"]
    assert call.title.startswith("Call cool.com: 58 touches before the last 90 days, 2 since (")
