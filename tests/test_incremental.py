"""Incremental planning: a sync plans again only the customers that may have changed, and
what stays planned is always what planning everyone from scratch would give."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from engage.adapters import Retire
from engage.builtin.rules import BUILTIN_RULES
from engage.clock import to_micros
from engage.engine import Engine
from engage.errors import StoreError
from engage.facts import CustomerFacts
from engage.models import Channel, Contact, Customer, Direction, Owner, Touchpoint
from engage.plugins import Registry, make_plugin_manager
from engage.settings import ScoringSettings, SegmentSettings
from engage.store import Store, open_store
from engage.store.base import Record
from engage.store.sqlite_facts import owner_activity as sqlite_owner_activity
from tests.conftest import Backend
from tests.factsbuilder import SETTINGS as DEFAULT_SETTINGS
from tests.factsbuilder import consistent_facts, health

T0 = datetime(2025, 1, 1, tzinfo=UTC)
KEYS = ["a.com", "b.com", "c.org"]
OWNERS = ["ann", "bob"]
EMAILS = ["x@a.com", "y@a.com", "z@b.com"]

#: Short thresholds, so a few weeks of history cross every one of them.
QUICK = SegmentSettings(
    cadence_days=3,
    window_days=5,
    feedback_days=10,
    first_feedback_days=2,
    onboarding_days=4,
    response_hours=12,
    reconnect_tenure_days=20,
    phone_after_emails=2,
    status_update_days=3,
    appreciation_days=5,
)
SETTINGS = ScoringSettings(
    segments={"default": QUICK, "slow": SegmentSettings(name="slow", match=("*.org",))},
    owner_inactive_days=6,
)

REGISTRY = Registry.from_plugins(make_plugin_manager(entry_points=False))


def engine(store: Store, settings: ScoringSettings = SETTINGS) -> Engine:
    return Engine(
        store=store,
        factors=[r.value for r in REGISTRY.factors.values()],
        rules=[r.value for r in REGISTRY.rules.values()],
        settings=settings,
    )


def replan(book: Engine, moment: datetime, sinks: Sequence[str] = ()) -> int:
    """Plan what changed and save it, as a sync does; returns how many customers were planned."""
    plans = list(book.replan(moment, sinks))
    book.store.save_plans(plans, moment)
    return len(plans)


def planned(store: Store) -> set[str]:
    return set(store.planned_keys())


def from_scratch(book: Engine, moment: datetime) -> set[str]:
    return {task.key for task in book.tasks(moment)}


def answer(rule: object, f: CustomerFacts) -> str | None:
    task = rule.plan(f, health(f), DEFAULT_SETTINGS)  # type: ignore[attr-defined]
    return None if task is None else task.key


@hypothesis_settings(max_examples=300, deadline=None)
@given(consistent_facts(), st.lists(st.floats(0, 1, exclude_max=True), max_size=4))
def test_no_rule_changes_its_answer_before_its_next_change(
    f: CustomerFacts, fractions: list[float]
) -> None:
    """Each built-in rule plans the same (or nothing) from ``as_of`` until its next_change,
    the facts staying as they are; with no next_change, for years."""
    for rule in BUILTIN_RULES:
        until = rule.next_change(f, health(f), DEFAULT_SETTINGS)  # type: ignore[attr-defined]
        assert until is None or until >= f.as_of
        now = answer(rule, f)
        if until is None:
            moments = [f.as_of + timedelta(days=d) for d in (1 / 24, 1, 30, 400, 2000)]
        else:
            last = max(f.as_of, until - timedelta(microseconds=1))
            moments = [min(f.as_of + (until - f.as_of) * x, last) for x in fractions] + [last]
        for moment in moments:
            assert answer(rule, attrs.evolve(f, as_of=moment)) == now, (rule.name, moment)


# Moments in hours from T0 (around 400 days, so anniversaries come round), some exactly on
# the day a threshold falls, some a microsecond either side.
hours = st.integers(0, 420 * 24)
jitter = st.sampled_from([0, 0, 1, -1])


def at(hour: int, microseconds: int = 0) -> datetime:
    return T0 + timedelta(hours=hour, microseconds=microseconds)


#: Where a new touchpoint falls, in hours from the sync that reads it: mostly the last days
#: (so thresholds of hours and days fall between the next syncs), some long ago, some ahead.
offsets = st.one_of(
    st.integers(-72, 0),
    st.integers(-24 * 60, 0),
    st.integers(-24 * 400, 0),
    st.integers(1, 48),
)


@st.composite
def batches(draw: st.DrawFn, start: int, now: int) -> list[Record | Retire]:
    """One sync's worth of new data: touchpoints (some dated ahead), records, retirements."""
    records: list[Record | Retire] = []
    for i in range(draw(st.integers(0, 6))):
        records.append(
            Touchpoint(
                "src",
                f"{start + i}",
                draw(st.sampled_from(KEYS)),
                at(max(0, now + draw(offsets)), draw(jitter)),
                draw(st.sampled_from(list(Channel))),
                draw(st.sampled_from([Direction.INBOUND, Direction.OUTBOUND, Direction.INTERNAL])),
                contact_email=draw(st.sampled_from([None, *EMAILS])),
                owner=draw(st.sampled_from([None, *OWNERS])),
                feedback=draw(st.sampled_from([None, None, 0.2, 0.9])),
            )
        )
    if draw(st.booleans()):
        records.append(
            Customer(
                draw(st.sampled_from(KEYS)),
                owner=draw(st.sampled_from([None, *OWNERS])),
                open_work=draw(st.sampled_from([None, True, False])),
                first_seen=draw(st.none() | offsets.map(lambda h: at(max(0, now + h)))),
            )
        )
    if draw(st.booleans()):
        records.append(Owner(draw(st.sampled_from(OWNERS)), active=draw(st.booleans())))
    if draw(st.booleans()):
        records.append(Contact(draw(st.sampled_from(EMAILS)), "a.com", name="Name"))
    if start and draw(st.booleans()):
        records.append(Retire("touchpoint", f"{draw(st.integers(0, start - 1))}"))
    return records


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[list[Record | Retire], datetime]]:
    """Syncs in time order (sometimes at the same moment twice), each with its new data."""
    steps = []
    moment = draw(hours)
    for step in range(draw(st.integers(1, 8))):
        data = draw(batches(step * 10, moment)) if draw(st.booleans()) else []
        steps.append((data, at(moment, draw(jitter))))
        moment += draw(st.sampled_from([0, 1, 5, 11, 13, 24, 24 * 3, 24 * 10, 24 * 40]))
    return steps


def test_incremental_plans_equal_planning_from_scratch(backend: Backend) -> None:
    """After every sync, the saved plans hold exactly the tasks a full planning would give."""

    @hypothesis_settings(
        max_examples=backend.examples(200),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(histories())
    def check(history: list[tuple[list[Record | Retire], datetime]]) -> None:
        with backend.fresh() as store:
            book = engine(store)
            for data, moment in history:
                with store.transaction():
                    store.write(data, "src")
                replan(book, moment)
                assert planned(store) == from_scratch(book, moment), moment

    check()


def test_nothing_changed_nothing_planned_again(store_target: str) -> None:
    """Without new data and before any plan's moment, a sync plans nobody again."""
    with open_store(store_target) as store:
        book = engine(store)
        store.write([tp("1", "a.com", 0), tp("2", "b.com", 1)], "src")
        assert replan(book, at(2)) == 2
        assert replan(book, at(2)) == 0
        assert replan(book, at(2, 1)) == 0


def test_new_touchpoint_plans_only_its_customer_again(store_target: str) -> None:
    with open_store(store_target) as store:
        book = engine(store)
        store.write([tp("1", "a.com", 0), tp("2", "b.com", 1)], "src")
        replan(book, at(2))
        store.write([tp("3", "b.com", 2)], "src")
        plans = list(book.replan(at(2)))
        assert [p.customer for p in plans] == ["b.com"]


def test_rewriting_the_same_data_changes_nothing(store_target: str) -> None:
    """A source that pulls the same records again marks no customer for planning."""
    with open_store(store_target) as store:
        book = engine(store)
        data: list[Record] = [tp("1", "a.com", 0), Customer("a.com", name="A"), Owner("ann")]
        store.write(data, "src")
        replan(book, at(2))
        store.write(data, "src")
        assert replan(book, at(2)) == 0


def test_a_plan_comes_due_when_its_moment_comes(store_target: str) -> None:
    """A customer's inbound message waits: unanswered is planned once the response time passed."""
    with open_store(store_target) as store:
        book = engine(store)
        store.write([tp("1", "a.com", 0, Direction.INBOUND)], "src")
        replan(book, at(1))
        assert not any(k.startswith("unanswered:") for k in planned(store))
        assert replan(book, at(11)) == 0  # response time is 12 hours
        assert replan(book, at(13)) == 1
        assert any(k.startswith("unanswered:") for k in planned(store))


def test_owner_going_quiet_plans_their_customers_again(store_target: str) -> None:
    """An owner with no activity for owner_inactive_days gets handover tasks, with no new data."""
    with open_store(store_target) as store:
        book = engine(store)
        store.write(
            [
                tp("1", "a.com", 0, owner="ann"),
                tp("2", "b.com", 24 * 6, owner="bob"),  # keeps the team active
                Customer("a.com", owner="ann"),
                Customer("b.com", owner="bob"),
            ],
            "src",
        )
        replan(book, at(24))
        assert not any(k.startswith("handover:a.com") for k in planned(store))
        replan(book, at(24 * 7))
        assert any(k.startswith("handover:a.com") for k in planned(store))
        assert planned(store) == from_scratch(book, at(24 * 7))


def test_owner_leaving_plans_their_customers_again(store_target: str) -> None:
    with open_store(store_target) as store:
        book = engine(store)
        store.write([tp("1", "a.com", 0, owner="ann"), Customer("a.com", owner="ann")], "src")
        replan(book, at(1))
        store.write([Owner("ann", active=False)], "src")
        assert replan(book, at(1)) == 1
        assert "handover:a.com:ann-gone" in planned(store)


def test_other_settings_plan_everyone_again(store_target: str) -> None:
    with open_store(store_target) as store:
        store.write([tp("1", "a.com", 0), tp("2", "b.com", 1)], "src")
        replan(engine(store), at(2))
        assert replan(engine(store), at(2)) == 0
        other = ScoringSettings(segments={"default": QUICK}, owner_inactive_days=7)
        assert replan(engine(store, other), at(2)) == 2


def test_a_rule_without_next_change_is_asked_at_every_sync(store_target: str) -> None:
    class Always:
        name = "always"
        description = "plans a call every time"

        def plan(self, facts, health, settings):  # type: ignore[no-untyped-def]
            return None

    with open_store(store_target) as store:
        book = engine(store)
        book = Engine(
            store=store, factors=book.factors, rules=[*book.rules, Always()], settings=SETTINGS
        )
        store.write([tp("1", "a.com", 0)], "src")
        assert replan(book, at(1)) == 1
        assert replan(book, at(1)) == 1


def test_tasks_a_sink_lacks_are_planned_again_for_it(store_target: str) -> None:
    """A sink that does not hold a planned task (new, or its push failed) gets its customer
    planned again, until mark_all_held says it holds everything."""
    with open_store(store_target) as store:
        book = engine(store)
        store.write([tp("1", "a.com", 0, Direction.INBOUND)], "src")
        replan(book, at(24))
        assert planned(store)
        assert replan(book, at(24), sinks=["new"]) == 1
        tasks = [t for plan in book.replan(at(24), sinks=["new"]) for t in plan.tasks]
        store.record_intent("new", tasks)
        store.record_results("new", [r for r in _pushed(tasks)])
        assert replan(book, at(24), sinks=["new"]) == 0
        store.mark_all_held("new")
        assert replan(book, at(24), sinks=["new"]) == 0
        # a push interrupted since (left pending) is looked for again despite the mark
        store.conn.execute("UPDATE ledger SET status = 'pending'")
        assert replan(book, at(24), sinks=["new"]) == 1


def test_a_retired_customer_leaves_no_planned_task(store_target: str) -> None:
    with open_store(store_target) as store:
        book = engine(store)
        store.write([Customer("a.com", first_seen=at(0))], "src")
        replan(book, at(24 * 30))
        assert planned(store)
        store.write([Retire("customer", "a.com")], "src")
        replan(book, at(24 * 30))
        assert planned(store) == set()


def test_planning_for_an_earlier_moment_plans_again(store_target: str) -> None:
    """Plans made for a later moment do not hold for an earlier one (``--as-of`` in the past)."""
    with open_store(store_target) as store:
        book = engine(store)
        store.write([tp("1", "a.com", 0, Direction.INBOUND)], "src")
        replan(book, at(24))
        assert replan(book, at(1)) == 1
        assert planned(store) == from_scratch(book, at(1))


@pytest.mark.parametrize("bulk", [True, False])
def test_first_load_plans_everyone(store_target: str, bulk: bool) -> None:
    """A first load into an empty store (the bulk path) and a later load both mark customers."""
    with open_store(store_target) as store:
        book = engine(store)
        if not bulk:
            store.write([tp("0", "c.org", 0)], "src")
            replan(book, at(1))
        with store.transaction():
            store.write([tp("1", "a.com", 0), tp("2", "b.com", 0)], "src")
        assert {p.customer for p in book.replan(at(1))} == {"a.com", "b.com"}


def tp(
    external_id: str,
    customer: str,
    hour: int,
    direction: Direction = Direction.OUTBOUND,
    *,
    owner: str | None = None,
) -> Touchpoint:
    return Touchpoint("src", external_id, customer, at(hour), Channel.EMAIL, direction, owner=owner)


def _pushed(tasks: Sequence[object]) -> list[object]:
    from engage.adapters import PushResult

    return [PushResult(t.key, remote_id=f"r-{t.key}") for t in tasks]  # type: ignore[attr-defined]


@hypothesis_settings(max_examples=60, deadline=None)
@given(histories())
def test_owner_activity_snapshot_stays_true(
    backend: Backend, history: list[tuple[list[Record | Retire], datetime]]
) -> None:
    """The owners' activity kept up to date by the insert trigger equals a fresh scan."""
    owner_activity = sqlite_owner_activity
    if backend.name == "postgresql":
        from engage.store.postgres.facts import owner_activity
    with backend.fresh() as store:
        for data, moment in history:
            now = to_micros(moment)
            owner_activity(store.conn, now, save=True)
            with store.transaction():
                store.write(data, "src")
            kept = owner_activity(store.conn, now)
            store.conn.execute("DELETE FROM planning WHERE name = 'activity_as_of'")
            assert kept == owner_activity(store.conn, now)


def readme_rule() -> object:
    """The example rule of the README's plugin guide, as written there."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = re.search(
        r"```python\n(from datetime import UTC.*?class RenewalCall.*?)```", readme, re.S
    )
    assert block, "the README's rule example is missing"
    namespace: dict[str, object] = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    return namespace["RenewalCall"]()  # type: ignore[operator]


def test_the_readme_rule_example_plans_incrementally(store_target: str) -> None:
    """The README's renewal rule fires when its 60 days open, with no new data."""
    with open_store(store_target) as store:
        book = Engine(
            store=store, factors=engine(store).factors, rules=[readme_rule()], settings=SETTINGS
        )
        store.write(
            [tp("1", "a.com", 0), Customer("a.com", attributes={"renews_on": "2025-04-01"})],
            "src",
        )
        replan(book, at(24 * 11))  # after the touch left both 5-day windows
        assert planned(store) == set()
        assert replan(book, at(24 * 29)) == 0  # the 60 days open on 2025-01-31
        assert replan(book, at(24 * 31)) == 1
        assert planned(store) == {"renewal_call:a.com:2025-04-01"}
        assert replan(book, at(24 * 80)) == 0
        assert replan(book, at(24 * 91)) == 1  # renewed on 2025-04-01
        assert planned(store) == set()


def test_a_customer_retired_while_it_was_planned_keeps_no_plan(store_target: str) -> None:
    """Another writer retires a customer between its facts and its saved plan: no plan stays."""
    with open_store(store_target) as store:
        book = engine(store)
        store.write([Customer("a.com", first_seen=at(0))], "src")
        plans = list(book.replan(at(24 * 30)))
        assert plans and plans[0].tasks
        with open_store(store_target) as other:
            other.write([Retire("customer", "a.com")], "src")
        store.save_plans(plans, at(24 * 30))
        assert planned(store) == set()
        assert store.conn.execute("SELECT count(*) FROM plans").fetchone() == (0,)


def test_facts_to_plan_needs_begin_planning_first(store_target: str) -> None:
    with (
        open_store(store_target) as store,
        pytest.raises(StoreError, match="call begin_planning first"),
    ):
        list(store.facts_to_plan(at(0), SETTINGS))
