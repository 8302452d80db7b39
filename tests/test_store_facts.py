"""Customer facts computed by the SQLite store, checked by hand and against a reference."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engage.clock import to_micros
from engage.facts import CustomerFacts, OwnerStatus
from engage.models import Channel, Contact, Customer, Direction, Owner, Touchpoint
from engage.settings import ScoringSettings, SegmentSettings
from engage.store import Store
from tests.conftest import Backend

AS_OF = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
US = timedelta(microseconds=1)
SETTINGS = ScoringSettings(
    segments={"default": SegmentSettings(window_days=30)}, owner_inactive_days=60
)
Record = Customer | Contact | Owner | Touchpoint

_ids = iter(range(1_000_000))


def ago(days: float) -> datetime:
    """The moment ``days`` before AS_OF."""
    return AS_OF - days * DAY


def tp(customer: str, when: datetime, channel: str = "email", direction: str = "inbound", **kw: object) -> Touchpoint:  # fmt: skip
    """A touchpoint with a fresh external id."""
    return Touchpoint("csv", f"t{next(_ids)}", customer, when, channel, direction, **kw)  # type: ignore[arg-type]


def facts_of(
    store: Store, records: Sequence[Record], settings: ScoringSettings = SETTINGS
) -> dict[str, CustomerFacts]:
    with store.transaction():
        store.write(records, "csv")
    return {f.key: f for f in store.facts(AS_OF, settings)}


# -- hand-computed -------------------------------------------------------------------------


def test_every_touch_attribute_of_one_customer(store: Store) -> None:
    """One customer's history, with each aggregate worked out by hand."""
    records = [
        tp("acme.com", ago(100), "email", "inbound", contact_email="jo@acme.com", owner="bob"),
        tp("acme.com", ago(45), "email", "outbound", contact_email="jo@acme.com", owner="bob"),
        tp("acme.com", ago(40), "meeting", "outbound", contact_email="al@acme.com"),
        tp("acme.com", ago(120), "note", "internal", owner="carol"),
        tp("acme.com", ago(20), "call", "inbound", contact_email="al@acme.com"),
        tp("acme.com", ago(10), "email", "inbound", contact_email="al@acme.com"),
        tp("acme.com", ago(5), "feedback", "inbound", contact_email="al@acme.com", feedback=0.9),
        tp("acme.com", ago(2), "email", "outbound", contact_email="jo@acme.com", owner="bob"),
        tp("acme.com", ago(-1), "call", "outbound", contact_email="jo@acme.com", owner="dave"),
        Contact("al@acme.com", "acme.com", name="Al"),
    ]
    f = facts_of(store, records)["acme.com"]
    assert f.touches == 7
    assert f.first_touch == ago(120)
    assert f.last_touch == ago(2)
    assert (f.last_inbound, f.last_outbound) == (ago(5), ago(2))
    assert f.last_personal == ago(20)
    assert f.first_engagement == ago(40)
    assert f.last_two_way == ago(5)  # the older of last inbound/outbound beats the last call
    assert f.last_feedback == ago(5)
    assert (f.last_feedback_value, f.last_feedback_value_at) == (0.9, ago(5))
    assert f.feedback_since_engagement
    assert (f.recent_touches, f.previous_touches, f.touches_before_window) == (4, 2, 3)
    assert (f.recent_inbound, f.recent_outbound) == (3, 1)
    assert (f.recent_personal, f.recent_email) == (1, 2)
    assert f.emails_since_personal == 1  # of the two emails since the call, one was ours
    assert (f.main_contact, f.main_contact_name) == ("al@acme.com", "Al")
    assert f.customer.owner == "bob"  # the latest touchpoint with an owner (dave's is future)
    assert f.owner == Owner("bob")
    assert f.customer.segment == "default"
    assert f.settings.window_days == 30
    assert f.as_of == AS_OF


def test_future_touchpoints_do_not_count(store: Store) -> None:
    """Only touchpoints at or before as_of count, for the customer and its owner."""
    f = facts_of(store, [tp("acme.com", AS_OF + US, "call", "outbound", owner="bob")])["acme.com"]
    assert (f.touches, f.first_touch, f.last_touch) == (0, None, None)
    assert (f.owner, f.owner_last_active, f.team_active) == (None, None, False)


def test_window_boundaries(store: Store) -> None:
    """recent is (as_of-w, as_of]; previous is (as_of-2w, as_of-w]; before is <= as_of-w."""
    w = 30 * DAY
    times = [AS_OF - w, AS_OF - w + US, AS_OF - 2 * w, AS_OF - 2 * w + US, AS_OF, AS_OF + US]
    f = facts_of(store, [tp("acme.com", t) for t in times])["acme.com"]
    assert f.touches == 5
    assert f.recent_touches == 2
    assert f.previous_touches == 2
    assert f.touches_before_window == 3


def test_mixed_segments_use_their_own_windows(store: Store) -> None:
    """Each customer is counted with its segment's window, matched or declared."""
    mixed = ScoringSettings(
        segments={
            "default": SegmentSettings(window_days=30),
            "short": SegmentSettings(name="short", match=("*.org",), window_days=10),
        }
    )
    records: list[Record] = [Customer("c.net", segment="short"), Customer("d.com", segment="odd")]
    for key in ("a.org", "b.com", "c.net", "d.com"):
        records += [tp(key, ago(5)), tp(key, ago(15))]
    facts = facts_of(store, records, mixed)
    counts = {
        k: (f.recent_touches, f.previous_touches, f.touches_before_window) for k, f in facts.items()
    }
    assert counts == {
        "a.org": (1, 1, 1),
        "b.com": (2, 0, 0),
        "c.net": (1, 1, 1),
        "d.com": (2, 0, 0),
    }
    assert {k: f.customer.segment for k, f in facts.items()} == {
        "a.org": "short",
        "b.com": "default",
        "c.net": "short",
        "d.com": "odd",
    }
    assert facts["d.com"].settings.window_days == 30


def test_last_two_way_needs_both_directions_or_a_conversation(store: Store) -> None:
    """Inbound alone is not two-way; an internal call is not a conversation."""
    facts = facts_of(
        store,
        [
            tp("a.com", ago(3), "email", "inbound"),
            tp("a.com", ago(1), "call", "internal"),
            tp("b.com", ago(9), "email", "outbound"),
            tp("b.com", ago(4), "email", "inbound"),
            tp("b.com", ago(6), "meeting", "inbound"),
        ],
    )
    assert facts["a.com"].last_two_way is None
    assert facts["a.com"].last_personal is None
    assert facts["b.com"].last_two_way == ago(6)
    assert facts["b.com"].emails_since_personal == 0  # only the customer wrote since the meeting


def test_a_customer_waits_since_their_first_unanswered_message(store: Store) -> None:
    """A chaser does not restart the clock; our reply stops it."""
    facts = facts_of(
        store,
        [
            tp("a.com", ago(10), "email", "outbound"),
            tp("a.com", ago(5), "email", "inbound"),
            tp("a.com", ago(1), "email", "inbound"),
            tp("b.com", ago(5), "email", "inbound"),
            tp("b.com", ago(2), "call", "outbound"),
            tp("c.com", ago(4), "email", "inbound"),
        ],
    )
    assert facts["a.com"].waiting_since == ago(5)
    assert facts["b.com"].waiting_since is None
    assert facts["c.com"].waiting_since == ago(4)


def test_feedback_asked_or_valued(store: Store) -> None:
    """A feedback touchpoint without a score counts as feedback but leaves the last value."""
    facts = facts_of(
        store,
        [
            tp("a.com", ago(50), "email", "inbound", feedback=0.3),
            tp("a.com", ago(40), "call", "outbound"),
            tp("a.com", ago(10), "feedback", "outbound"),
            tp("b.com", ago(50), "feedback", "inbound", feedback=0.7),
            tp("b.com", ago(40), "meeting", "outbound"),
            tp("b.com", ago(20), "note", "internal", feedback=0.1),
        ],
    )
    a, b = facts["a.com"], facts["b.com"]
    assert (a.last_feedback, a.last_feedback_value, a.last_feedback_value_at) == (
        ago(10),
        0.3,
        ago(50),
    )
    assert a.feedback_since_engagement
    assert (b.last_feedback, b.last_feedback_value) == (ago(50), 0.7)
    assert not b.feedback_since_engagement


def test_owner_statuses(store: Store) -> None:
    """ACTIVE, INACTIVE (quiet while the team works), GONE (archived) and NONE."""
    records: list[Record] = [
        Owner("gus", name="Gus", active=False),
        Customer("gone.com", owner="gus"),
        Customer("nobody.com"),
        Customer("ghost.com", owner="zed"),
        tp("active.com", ago(10), "email", "outbound", owner="ann"),
        tp("caller.com", ago(5), "call", "inbound", owner="cal"),
        tp("quiet.com", ago(90), "email", "outbound", owner="ian"),
        tp("quiet.com", ago(1), "note", "internal", owner="ian"),
        tp("quiet.com", ago(1), "email", "inbound"),
        tp("gone.com", ago(1), "email", "outbound", owner="gus"),
    ]
    facts = facts_of(store, records)
    status = {k: f.owner_status for k, f in facts.items()}
    assert status == {
        "active.com": OwnerStatus.ACTIVE,
        "caller.com": OwnerStatus.ACTIVE,
        "ghost.com": OwnerStatus.INACTIVE,
        "gone.com": OwnerStatus.GONE,
        "nobody.com": OwnerStatus.NONE,
        "quiet.com": OwnerStatus.INACTIVE,
    }
    assert facts["quiet.com"].owner_last_active == ago(90)
    assert facts["gone.com"].owner == Owner("gus", name="Gus", active=False)
    assert facts["ghost.com"].owner == Owner("zed")
    assert facts["nobody.com"].owner is None
    assert all(f.team_active for f in facts.values())


def test_a_quiet_owner_stays_active_when_the_whole_team_is_quiet(store: Store) -> None:
    """Without recent activity from anyone, nobody is called inactive."""
    f = facts_of(store, [tp("acme.com", ago(90), "email", "outbound", owner="ian")])["acme.com"]
    assert not f.team_active
    assert f.owner_status == OwnerStatus.ACTIVE


def test_owner_activity_boundary(store: Store) -> None:
    """Activity exactly owner_inactive_days ago still counts as active."""
    f = facts_of(store, [tp("a.com", ago(60), "meeting", "inbound", owner="ann")])["a.com"]
    assert (f.team_active, f.owner_status) == (True, OwnerStatus.ACTIVE)


def test_customer_owner_beats_touchpoint_owner(store: Store) -> None:
    """A customer's declared owner is used even when touchpoints name another."""
    records = [Customer("a.com", owner="ann"), tp("a.com", ago(1), owner="bob")]
    assert facts_of(store, records)["a.com"].customer.owner == "ann"


def test_main_contact_ties_go_to_the_latest_touch(store: Store) -> None:
    """Equal touch counts are broken by the latest touch; internal rows do not count."""
    records = [
        tp("a.com", ago(9), contact_email="x@a.com"),
        tp("a.com", ago(8), contact_email="y@a.com"),
        tp("a.com", ago(7), contact_email="y@a.com"),
        tp("a.com", ago(3), contact_email="x@a.com"),
        tp("a.com", ago(1), "note", "internal", contact_email="y@a.com"),
        tp("a.com", ago(1), "note", "internal", contact_email="y@a.com"),
        Contact("x@a.com", "a.com", name="Xa"),
    ]
    f = facts_of(store, records)["a.com"]
    assert (f.main_contact, f.main_contact_name) == ("x@a.com", "Xa")


def test_main_contact_full_ties_go_to_the_smallest_email(store: Store) -> None:
    """Same touches at the same latest moment: the alphabetically first email wins."""
    records = [tp("a.com", ago(2), contact_email=e) for e in ("y@a.com", "x@a.com")]
    assert facts_of(store, records)["a.com"].main_contact == "x@a.com"


def test_customers_without_touchpoints_get_empty_facts(store: Store) -> None:
    """A customer known only from a CRM gets zeros and Nones, with first_seen as first touch."""
    facts = facts_of(
        store,
        [
            Customer("quiet.com", name="Quiet", first_seen=ago(400), open_work=True),
            Customer("later.com", first_seen=ago(-3)),
        ],
    )
    quiet = facts["quiet.com"]
    assert quiet == CustomerFacts(
        customer=Customer(
            "quiet.com", name="Quiet", segment="default", first_seen=ago(400), open_work=True
        ),
        as_of=AS_OF,
        settings=SETTINGS.segments["default"],
        first_touch=ago(400),
        team_active=False,
    )
    assert facts["later.com"].first_touch is None  # first_seen after as_of is not yet known


def test_first_seen_earlier_than_touchpoints_is_the_first_touch(store: Store) -> None:
    """first_touch is the earlier of first_seen and the first touchpoint."""
    records = [Customer("a.com", first_seen=ago(30)), tp("a.com", ago(10)), tp("b.com", ago(10))]
    facts = facts_of(store, [*records, Customer("b.com", first_seen=ago(5))])
    assert (facts["a.com"].first_touch, facts["b.com"].first_touch) == (ago(30), ago(10))


def test_facts_for_one_customer(store: Store) -> None:
    """Asking for one customer yields only it; an unknown key yields nothing."""
    facts_of(store, [tp("a.com", ago(1)), tp("b.com", ago(1))])
    assert [f.key for f in store.facts(AS_OF, SETTINGS, customer="b.com")] == ["b.com"]
    assert list(store.facts(AS_OF, SETTINGS, customer="zzz")) == []


def test_facts_are_in_key_order(store: Store) -> None:
    """Customers come out sorted by key."""
    facts_of(store, [tp(k, ago(1)) for k in ("c.com", "a.com", "b.com")])
    assert [f.key for f in store.facts(AS_OF, SETTINGS)] == ["a.com", "b.com", "c.com"]


# -- the reference ----------------------------------------------------------------------------

PERSONAL = {Channel.CALL, Channel.MEETING}
T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEYS = ["a.com", "b.org", "c.com", "d.org"]
OWNERS = ["o1", "o2", "o3"]
EMAILS = ["x@a.com", "y@a.com", "z@b.org"]
MIXED = ScoringSettings(
    segments={
        "default": SegmentSettings(window_days=7),
        "big": SegmentSettings(name="big", match=("*.org",), window_days=5),
        "small": SegmentSettings(name="small", window_days=3),
    },
    owner_inactive_days=10,
)
UNIFORM = ScoringSettings(
    segments={
        "default": SegmentSettings(window_days=7),
        "big": SegmentSettings(name="big", match=("*.org",), window_days=7),
    },
    owner_inactive_days=10,
)


def held(t: Touchpoint) -> bool:
    """A call or meeting that took place: a conversation, whoever started it."""
    return t.channel in PERSONAL and not t.missed


def _order(t: Touchpoint) -> tuple[datetime, str, str]:
    return (t.occurred_at, t.source, t.external_id)


def reference_facts(
    records: Sequence[Record], as_of: datetime, settings: ScoringSettings
) -> list[CustomerFacts]:
    """Facts straight from the definitions in engage.facts, one customer at a time."""
    customers = {r.key: r for r in records if isinstance(r, Customer)}
    owners = {r.id: r for r in records if isinstance(r, Owner)}
    names = {r.email: r.name for r in records if isinstance(r, Contact)}
    touchpoints = [r for r in records if isinstance(r, Touchpoint)]
    for t in touchpoints:
        customers.setdefault(t.customer, Customer(t.customer))
    seen = [t for t in touchpoints if t.occurred_at <= as_of]
    activity: dict[str, datetime] = {}
    first_activity: list[datetime] = []
    for t in seen:
        if t.owner and (t.direction == Direction.OUTBOUND or held(t)):
            activity[t.owner] = max(activity.get(t.owner, t.occurred_at), t.occurred_at)
            first_activity.append(t.occurred_at)
    inactive = timedelta(days=settings.owner_inactive_days)
    team_active = any(as_of - m <= inactive for m in activity.values())
    # quiet is inactive only when the recorded activity reaches back the whole span
    evidence = bool(first_activity) and as_of - min(first_activity) >= inactive

    def latest(ts: list[Touchpoint]) -> datetime | None:
        return max((t.occurred_at for t in ts), default=None)

    def earliest(ts: list[Touchpoint]) -> datetime | None:
        return min((t.occurred_at for t in ts), default=None)

    out = []
    for key in sorted(customers):
        c = customers[key]
        segment = settings.segment_for(key, c.segment)
        w = timedelta(days=segment.window_days)
        mine = [t for t in seen if t.customer == key]
        touches = [t for t in mine if t.direction != Direction.INTERNAL]
        inbound = [t for t in touches if t.direction == Direction.INBOUND]
        outbound = [t for t in touches if t.direction == Direction.OUTBOUND]
        personal = [t for t in touches if held(t)]
        emails = [t for t in touches if t.channel == Channel.EMAIL]
        feedback = [t for t in touches if t.channel == Channel.FEEDBACK or t.feedback is not None]
        valued = max((t for t in touches if t.feedback is not None), key=_order, default=None)
        recent = [t for t in touches if t.occurred_at > as_of - w]
        starts = [m for m in (earliest(mine), c.first_seen) if m is not None and m <= as_of]
        last_personal, first_engagement = latest(personal), earliest(personal)
        two_way = [m for m in (last_personal,) if m is not None]
        if inbound and outbound:
            two_way.append(min(latest(inbound), latest(outbound)))  # type: ignore[type-var]
        owner_id = c.owner
        if owner_id is None:
            named = max((t for t in mine if t.owner), key=_order, default=None)
            owner_id = None if named is None else named.owner
        owner = None if owner_id is None else owners.get(owner_id, Owner(owner_id))
        last_active = None if owner_id is None else activity.get(owner_id)
        if owner is None:
            status = OwnerStatus.NONE
        elif not owner.active:
            status = OwnerStatus.GONE
        elif team_active and evidence and (last_active is None or as_of - last_active > inactive):
            status = OwnerStatus.INACTIVE
        else:
            status = OwnerStatus.ACTIVE
        counts: dict[str, int] = {}
        last_by: dict[str, datetime] = {}
        for t in touches:
            if t.contact_email:
                counts[t.contact_email] = counts.get(t.contact_email, 0) + 1
                last_by[t.contact_email] = max(
                    last_by.get(t.contact_email, t.occurred_at), t.occurred_at
                )
        main = min(counts, key=lambda e: (-counts[e], -to_micros(last_by[e]), e), default=None)
        # time alone changes the facts when a touch leaves a window or a later one comes due
        leaving = [t.occurred_at + w for t in recent] + [
            t.occurred_at + 2 * w for t in touches if as_of - 2 * w < t.occurred_at <= as_of - w
        ]
        coming = [t.occurred_at for t in touchpoints if t.customer == key and t.occurred_at > as_of]
        if c.first_seen is not None and c.first_seen > as_of:
            coming.append(c.first_seen)
        out.append(
            CustomerFacts(
                customer=Customer(
                    key,
                    name=c.name,
                    segment=segment.name,
                    owner=owner_id,
                    first_seen=c.first_seen,
                    open_work=bool(c.open_work),
                ),
                as_of=as_of,
                settings=segment,
                touches=len(touches),
                first_touch=min(starts, default=None),
                last_touch=latest(touches),
                last_inbound=latest(inbound),
                last_outbound=latest(outbound),
                last_two_way=max(two_way, default=None),
                last_personal=last_personal,
                first_engagement=first_engagement,
                last_feedback=latest(feedback),
                last_feedback_value=None if valued is None else valued.feedback,
                last_feedback_value_at=None if valued is None else valued.occurred_at,
                feedback_since_engagement=first_engagement is not None
                and any(t.occurred_at >= first_engagement for t in feedback),
                recent_touches=len(recent),
                previous_touches=sum(as_of - 2 * w < t.occurred_at <= as_of - w for t in touches),
                recent_inbound=sum(t.direction == Direction.INBOUND for t in recent),
                recent_outbound=sum(t.direction == Direction.OUTBOUND for t in recent),
                recent_personal=sum(held(t) for t in recent),
                recent_email=sum(t.channel == Channel.EMAIL for t in recent),
                emails_since_personal=sum(
                    (last_personal is None or t.occurred_at > last_personal)
                    and t.direction == Direction.OUTBOUND
                    for t in emails
                ),
                touches_before_window=sum(t.occurred_at <= as_of - w for t in touches),
                first_unanswered=min(
                    (
                        t.occurred_at
                        for t in touches
                        if t.direction == Direction.INBOUND
                        and not held(t)  # a call or meeting that took place answers itself
                        and all(
                            answer is None or t.occurred_at > answer
                            for answer in (latest(outbound), last_personal)
                        )
                    ),
                    default=None,
                ),
                missed_calls_waiting=sum(
                    t.direction == Direction.INBOUND
                    and t.channel in PERSONAL
                    and t.missed
                    and all(
                        answer is None or t.occurred_at > answer
                        for answer in (latest(outbound), last_personal)
                    )
                    for t in touches
                ),
                history_start=min((t.occurred_at for t in touchpoints), default=None),
                owner=owner,
                owner_status=status,
                owner_last_active=last_active,
                team_active=team_active,
                changes_at=min(leaving + coming, default=None),
                main_contact=main,
                main_contact_name=None if main is None else names.get(main),
            )
        )
    return out


moments = st.builds(
    lambda d, us: T0 + timedelta(days=d, microseconds=us),
    st.integers(0, 40),
    st.sampled_from([0, 0, 1, -1]),
)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Record], datetime, ScoringSettings]:
    """Random small stores: customers, owners, contacts and touchpoints near one as_of."""
    records: list[Record] = []
    for key in draw(st.lists(st.sampled_from(KEYS), unique=True)):
        records.append(
            Customer(
                key,
                name=draw(st.sampled_from([None, key.upper()])),
                segment=draw(st.sampled_from([None, None, "big", "small", "mystery"])),
                owner=draw(st.sampled_from([None, None, *OWNERS])),
                first_seen=draw(st.none() | moments),
                open_work=draw(st.booleans()),
            )
        )
    for owner in draw(st.lists(st.sampled_from(OWNERS), unique=True)):
        records.append(Owner(owner, active=draw(st.booleans())))
    for email in draw(st.lists(st.sampled_from(EMAILS), unique=True)):
        records.append(Contact(email, "a.com", name=draw(st.sampled_from([None, email[0]]))))
    for i in range(draw(st.integers(0, 30))):
        records.append(
            Touchpoint(
                draw(st.sampled_from(["csv", "crm"])),
                f"{i:03}",
                draw(st.sampled_from(KEYS)),
                draw(moments),
                draw(st.sampled_from(list(Channel))),
                draw(st.sampled_from(list(Direction))),
                contact_email=draw(st.sampled_from([None, *EMAILS])),
                owner=draw(st.sampled_from([None, *OWNERS])),
                feedback=draw(st.sampled_from([None, None, 0.0, 0.4, 1.0])),
                missed=draw(st.sampled_from([False, False, True])),
            )
        )
    as_of = T0 + timedelta(days=draw(st.integers(0, 42)))
    return records, as_of, draw(st.sampled_from([MIXED, UNIFORM]))


def test_facts_match_the_reference(backend: Backend) -> None:
    """SQL facts equal a straightforward Python computation from the definitions."""

    @settings(max_examples=backend.examples(300), deadline=None)
    @given(worlds())
    def check(world: tuple[list[Record], datetime, ScoringSettings]) -> None:
        records, as_of, scoring = world
        with backend.fresh() as store:
            with store.transaction():
                store.write(records, "csv")
            expected = reference_facts(records, as_of, scoring)
            assert list(store.facts(as_of, scoring)) == expected
            for one in expected[:1]:
                assert list(store.facts(as_of, scoring, customer=one.key)) == [one]

    check()
