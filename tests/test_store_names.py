"""Names find their customer: a record that names its customer only by name (a note one of
ours logged under "Northwind Traders", a CSV ``customer`` cell, a CRM company without a
domain) lands on the customer of that name, not on a customer of its own."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from engage.adapters import Retire
from engage.identity import is_strong_key, normalize_customer
from engage.models import Channel, Contact, Customer, Direction, Touchpoint
from engage.settings import ScoringSettings
from engage.store import Store, open_store
from engage.store.base import Record, WriteCounts
from engage.store.sqlite import NAME_KEYS_VERSION, SQLiteStore
from engage.store.sqlite_schema import MIGRATIONS
from tests.conftest import Backend
from tests.test_incremental import engine, from_scratch, planned, replan

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AS_OF = T0 + timedelta(days=3)

#: The customer as its own records know it.
NORTHWIND = Customer("northwind.com", name="Northwind Traders")


def email(
    external_id: str, customer: str = "northwind.com", source: str = "mail", **fields: object
) -> Touchpoint:
    """An email from a person at the customer, in the mailbox (or another ``source``)."""
    values: dict[str, object] = {
        "occurred_at": T0,
        "channel": Channel.EMAIL,
        "direction": Direction.INBOUND,
        "contact_email": f"jo@{customer}",
        "subject": "Re: renewal",
    }
    values.update(fields)
    return Touchpoint(source, external_id, customer, **values)  # type: ignore[arg-type]


def logged_note(external_id: str, company: str = "Northwind Traders") -> list[Record]:
    """What the CSV source sends for a note one of ours logged under a company's name."""
    key = normalize_customer(company)
    return [
        Customer(key, name=company),
        Touchpoint(
            "csv",
            external_id,
            key,
            T0 + timedelta(hours=1),
            Channel.NOTE,
            Direction.INTERNAL,
            owner="ann@ourco.com",
        ),
    ]


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    """For what only the SQLite store has (its bulk load without the customer index)."""
    with SQLiteStore(tmp_path / "engage.db") as s:
        yield s


def pull(store: Store, *records: Record | Retire) -> WriteCounts:
    """One pull in one transaction."""
    with store.transaction():
        return store.write(records, "csv")


def touchpoints_by_customer(store: Store) -> dict[str, int]:
    return dict(store.conn.execute("SELECT customer, count(*) FROM touchpoints GROUP BY customer"))


def name_of(store: Store, key: str) -> str | None:
    customer = store.get_customer(key)
    assert customer is not None, key
    return customer.name


def customer_keys(store: Store) -> list[str]:
    return [f.key for f in store.facts(AS_OF, ScoringSettings())]


# -- a name finds its customer -------------------------------------------------------------


@pytest.mark.parametrize("same_pull", [True, False], ids=["same pull", "separate pulls"])
@pytest.mark.parametrize("note_first", [False, True], ids=["customer first", "note first"])
def test_a_note_under_the_company_name_lands_on_its_customer(
    store: Store, note_first: bool, same_pull: bool
) -> None:
    """The note logged under "Northwind Traders" is northwind.com's, whichever came first."""
    ours: list[Record] = [NORTHWIND, email("m1")]
    note = logged_note("n1")
    first, then = (note, ours) if note_first else (ours, note)
    counts = pull(store, *first, *then) if same_pull else pull(store, *first) + pull(store, *then)
    assert counts.linked == 1
    assert counts.notes == ()
    assert customer_keys(store) == ["northwind.com"]
    assert store.get_customer("northwind traders") is None
    assert name_of(store, "northwind.com") == "Northwind Traders"
    assert touchpoints_by_customer(store) == {"northwind.com": 2}
    (facts,) = store.facts(AS_OF, ScoringSettings())
    assert facts.first_touch == T0
    assert facts.touches == 1  # the note is ours alone: internal, not a touch


@pytest.mark.parametrize(
    "company",
    [
        "Northwind Traders, Inc.",
        "NORTHWIND  traders",
        "Northwind-Traders GmbH",
        "northwind traders",
    ],
)
def test_names_match_whatever_their_case_spacing_punctuation_and_legal_form(
    store: Store, company: str
) -> None:
    pull(store, NORTHWIND, email("m1"))
    pull(store, *logged_note("n1", company))
    assert touchpoints_by_customer(store) == {"northwind.com": 2}
    assert store.customer_count() == 1


def test_the_customer_keeps_its_own_name(store: Store) -> None:
    """A note's spelling of the name does not rename the customer."""
    pull(store, NORTHWIND)
    pull(store, *logged_note("n1", "NORTHWIND TRADERS LTD"))
    assert name_of(store, "northwind.com") == "Northwind Traders"


def test_a_name_only_key_spells_its_name_without_a_customer_record(store: Store) -> None:
    """A touchpoint alone under ``northwind traders`` (no customer record) finds it too."""
    pull(store, NORTHWIND)
    pull(store, logged_note("n1")[1])
    assert touchpoints_by_customer(store) == {"northwind.com": 1}
    assert store.customer_count() == 1


@pytest.mark.parametrize("company_first", [True, False])
def test_a_crm_company_without_a_domain_merges_into_the_customer_of_its_name(
    store: Store, company_first: bool
) -> None:
    """HubSpot's "Acme" without a domain is acme.com ("Acme Inc"): its record's fields and
    attributes merge, its contacts and touchpoints are acme.com's, and it keeps its name."""
    acme = Customer("acme.com", name="Acme Inc", attributes={"tier": "gold"})
    company: list[Record] = [
        Customer(
            "hubspot-company:7",
            name="Acme",
            owner="bob@ourco.com",
            attributes={"hubspot_company_id": "7"},
        ),
        Contact("sam@acme-mail.net", "hubspot-company:7", name="Sam"),
        Touchpoint("hubspot", "call:1", "hubspot-company:7", T0, "call", "outbound"),
    ]
    if company_first:
        pull(store, *company)
        pull(store, acme)
    else:
        pull(store, acme)
        pull(store, *company)
    merged = store.get_customer("acme.com")
    assert merged is not None
    assert merged.name == "Acme Inc"
    assert merged.owner == "bob@ourco.com"
    assert dict(merged.attributes) == {"tier": "gold", "hubspot_company_id": "7"}
    assert [c.email for c in store.get_contacts("acme.com")] == ["sam@acme-mail.net"]
    assert touchpoints_by_customer(store) == {"acme.com": 1}
    assert customer_keys(store) == ["acme.com"]


def test_records_under_a_found_key_keep_landing_on_its_customer(store: Store) -> None:
    """Once found, later records of the key go straight to the customer, pull after pull."""
    pull(store, NORTHWIND)
    pull(store, *logged_note("n1"))
    counts = pull(store, logged_note("n2")[1], Contact("lee@ourpartner.org", "northwind traders"))
    assert counts.linked == 0
    assert touchpoints_by_customer(store) == {"northwind.com": 2}
    assert [c.email for c in store.get_contacts("northwind.com")] == ["lee@ourpartner.org"]


def test_a_name_matching_no_customer_keeps_its_own_key(store: Store) -> None:
    pull(store, NORTHWIND)
    counts = pull(store, *logged_note("n1", "Contoso"))
    assert counts == WriteCounts(inserted=2)
    assert customer_keys(store) == ["contoso", "northwind.com"]
    assert name_of(store, "contoso") == "Contoso"


def test_pulling_the_same_records_again_changes_nothing(store: Store) -> None:
    records: list[Record] = [
        NORTHWIND,
        email("m1"),
        *logged_note("n1"),
        Customer("hubspot-company:7", name="Northwind Traders", attributes={"hs": "7"}),
    ]
    first = pull(store, *records)
    assert first.linked == 2
    assert pull(store, *records) == WriteCounts(unchanged=len(records))
    assert store.customer_count() == 1
    assert touchpoints_by_customer(store) == {"northwind.com": 2}


def test_names_of_two_domain_customers_never_merge_them(store: Store) -> None:
    """Only name-only keys look for their customer: two domains of one name stay two."""
    pull(store, NORTHWIND, Customer("northwind.co.uk", name="Northwind Traders Ltd"))
    assert customer_keys(store) == ["northwind.co.uk", "northwind.com"]


# -- a name of two customers ---------------------------------------------------------------

TWO = (
    "customer name 'Northwind Traders' matches 2 customers (northwind.co.uk, northwind.com);"
    " kept as 'northwind traders'"
)


def test_a_name_of_two_customers_keeps_its_own_key_and_is_reported_once(
    store: Store,
) -> None:
    """A note under a name two customers bear stays apart; a pull of several segments (one
    transaction each) reports it once, with both keys."""
    pull(store, NORTHWIND, Customer("northwind.co.uk", name="Northwind Traders Ltd"))
    counts = pull(store, *logged_note("n1")) + pull(store, *logged_note("n2"))
    assert counts.notes == (TWO,)
    assert counts.linked == 0
    assert customer_keys(store) == ["northwind traders", "northwind.co.uk", "northwind.com"]
    assert touchpoints_by_customer(store) == {"northwind traders": 2}


def test_a_second_customer_of_the_name_is_reported_when_it_comes(store: Store) -> None:
    """The other order: the note is stored, then two customers of its name arrive."""
    pull(store, *logged_note("n1"))
    counts = pull(store, NORTHWIND, Customer("northwind.co.uk", name="NORTHWIND TRADERS"))
    assert counts.notes == (TWO,)
    assert touchpoints_by_customer(store) == {"northwind traders": 1}


def test_notes_add_up_without_repeats() -> None:
    one = WriteCounts(inserted=1, notes=("a", "b"))
    assert one + WriteCounts(notes=("b", "c")) + one == WriteCounts(
        inserted=2, notes=("a", "b", "c")
    )


# -- what follows from a merge -------------------------------------------------------------


def test_moved_emails_count_once_with_the_same_email_from_another_source(
    store: Store,
) -> None:
    """The CRM logged an email under a company without a domain and the mailbox has it under
    acme.com: once the company is found to be acme.com, the email counts once."""
    pull(store, email("e1", "hubspot-company:7", source="hubspot", contact_email="jo@acme.com"))
    pull(store, email("m1", "acme.com", occurred_at=T0 + timedelta(seconds=20)))
    assert touchpoints_by_customer(store) == {"acme.com": 1, "hubspot-company:7": 1}
    counts = pull(
        store, Customer("acme.com", name="Acme"), Customer("hubspot-company:7", name="ACME")
    )
    assert counts.merged == 1
    (facts,) = store.facts(AS_OF, ScoringSettings())
    assert facts.touches == 1


@pytest.mark.parametrize("note_first", [False, True], ids=["customer first", "note first"])
def test_plans_after_a_merge_equal_planning_from_scratch(
    store_target: str, note_first: bool
) -> None:
    """The folded-in customer keeps no plan and both are planned again: the saved plans hold
    exactly what planning everyone from scratch gives."""
    with open_store(store_target) as store:  # type: ignore[attr-defined]
        book = engine(store)
        first: Sequence[Record] = logged_note("n1") if note_first else [NORTHWIND, email("m1")]
        then: Sequence[Record] = [NORTHWIND, email("m1")] if note_first else logged_note("n1")
        store.write(first, "csv")
        moment = T0 + timedelta(days=2)
        replan(book, moment)
        store.write(then, "csv")
        replan(book, moment)
        assert planned(store) == from_scratch(book, moment)
        plans = [customer for (customer,) in store.conn.execute("SELECT customer FROM plans")]
        assert plans == ["northwind.com"]


def test_a_first_load_moves_the_touchpoints_it_folds_in_at_its_end(
    sqlite_store: SQLiteStore,
) -> None:
    """Into an empty store (no customer index until commit) notes come before the customer
    of their name: their touchpoints move in one pass when the load ends."""
    store = sqlite_store
    with store.transaction():
        store.write([*logged_note("n1"), *logged_note("n2")], "csv")
        counts = store.write([NORTHWIND, email("m1", source="csv")], "csv")
        assert store._bulk  # still loading in bulk: the notes have not moved yet
    assert counts.linked == 1
    assert touchpoints_by_customer(store) == {"northwind.com": 3}
    assert customer_keys(store) == ["northwind.com"]
    indexes = store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    assert "touchpoints_customer" in {name for (name,) in indexes}


def test_a_first_load_of_two_sources_moves_the_notes_before_looking_for_merges(
    sqlite_store: SQLiteStore,
) -> None:
    """A second source ends the bulk load early (merges need the index): the notes folded
    in by then move first."""
    store = sqlite_store
    with store.transaction():
        store.write([*logged_note("n1")], "csv")
        store.write([NORTHWIND, email("m1")], "mail")
        assert not store._bulk
        assert touchpoints_by_customer(store) == {"northwind.com": 2}


def test_a_rolled_back_merge_leaves_everything_as_it_was(store: Store) -> None:
    pull(store, *logged_note("n1"))
    with pytest.raises(RuntimeError), store.transaction():
        store.write([NORTHWIND], "csv")
        raise RuntimeError("the source failed")
    assert customer_keys(store) == ["northwind traders"]
    assert touchpoints_by_customer(store) == {"northwind traders": 1}
    pull(store, logged_note("n2")[1])
    assert touchpoints_by_customer(store) == {"northwind traders": 2}


# -- retiring ------------------------------------------------------------------------------


def test_retiring_a_found_key_keeps_a_customer_with_touchpoints(store: Store) -> None:
    """The company archived in the CRM was acme.com, which others still talk to: it stays."""
    pull(store, Customer("acme.com", name="Acme Inc"), email("m1", "acme.com"))
    pull(store, Customer("hubspot-company:7", name="Acme"))
    assert pull(store, Retire("customer", "hubspot-company:7")).retired == 0
    assert customer_keys(store) == ["acme.com"]
    pull(store, Customer("hubspot-company:7", name="Acme", segment="smb"))
    assert store.customer_count() == 1  # still found


def test_retiring_a_found_key_retires_a_customer_without_touchpoints(
    store: Store,
) -> None:
    """As when two sources share one key: a customer nobody talked to goes, and so does the
    link, so the company's next record is a customer of its own."""
    pull(store, Customer("acme.com", name="Acme Inc"), Customer("hubspot-company:7", name="Acme"))
    assert pull(store, Retire("customer", "hubspot-company:7")).retired == 1
    assert store.customer_count() == 0
    assert store.conn.execute("SELECT count(*) FROM customer_aliases").fetchone() == (0,)
    pull(store, Customer("hubspot-company:7", name="Acme"))
    assert customer_keys(store) == ["hubspot-company:7"]


# -- upgrading -----------------------------------------------------------------------------


def test_a_store_upgraded_to_comparable_names_folds_in_its_name_only_customers(
    tmp_path: Path,
) -> None:
    """A store from before comparable names, where the note became a customer of its own,
    opens with the note on its customer (and a name of two customers left as it was)."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for step in range(1, NAME_KEYS_VERSION):
        MIGRATIONS[step](conn)
    conn.execute(f"PRAGMA user_version = {NAME_KEYS_VERSION - 1}")
    conn.executemany(
        "INSERT INTO customers (key, name) VALUES (?, ?)",
        [
            ("northwind.com", "Northwind Traders"),
            ("northwind traders", "Northwind Traders"),
            ("globex.com", "Globex"),
            ("globex.co.uk", "Globex Ltd"),
            ("globex", "Globex"),
        ],
    )
    conn.executemany(
        """INSERT INTO touchpoints (source, external_id, customer, occurred_at, channel,
        direction) VALUES ('csv', ?, ?, 0, 'note', 'internal')""",
        [("n1", "northwind traders"), ("n2", "globex")],
    )
    conn.close()
    with SQLiteStore(path) as store:
        assert touchpoints_by_customer(store) == {"globex": 1, "northwind.com": 1}
        assert store.get_customer("northwind traders") is None
        assert store.customer_count() == 4


# -- any order of arrival ------------------------------------------------------------------

KEYS = ["a.com", "b.com", "alpha", "beta", "hubspot-company:1"]
NAMES = [None, "Alpha", "ALPHA Inc.", "Beta", "Gamma"]


@st.composite
def name_batches(draw: st.DrawFn, start: int, hour: int) -> list[Record | Retire]:
    """One pull: touchpoints and customer records under domain and name-only keys, with
    names that come, change and collide; now and then a retire."""
    records: list[Record | Retire] = []
    for i in range(draw(st.integers(0, 4))):
        when = T0 + timedelta(hours=max(0, hour - draw(st.integers(0, 24 * 20))))
        records.append(
            Touchpoint(
                "csv",
                f"{start + i}",
                draw(st.sampled_from(KEYS)),
                when,
                draw(st.sampled_from([Channel.EMAIL, Channel.NOTE, Channel.CALL])),
                draw(st.sampled_from([Direction.INBOUND, Direction.OUTBOUND, Direction.INTERNAL])),
                owner=draw(st.sampled_from([None, "ann"])),
            )
        )
    for _ in range(draw(st.integers(0, 3))):
        records.append(
            Customer(
                draw(st.sampled_from(KEYS)),
                name=draw(st.sampled_from(NAMES)),
                owner=draw(st.sampled_from([None, "ann", "bob"])),
            )
        )
    if draw(st.integers(0, 4)) == 0:
        records.append(Retire("customer", draw(st.sampled_from(KEYS))))
    if start and draw(st.integers(0, 4)) == 0:
        records.append(Retire("touchpoint", f"{draw(st.integers(0, start - 1))}"))
    return draw(st.permutations(records))


@st.composite
def name_histories(draw: st.DrawFn) -> list[tuple[list[Record | Retire], int]]:
    steps = []
    hour = 24 * 30
    for step in range(draw(st.integers(1, 6))):
        steps.append((draw(name_batches(step * 10, hour)), hour))
        hour += draw(st.sampled_from([0, 5, 24, 24 * 7]))
    return steps


def test_whatever_arrives_plans_stay_exact_and_found_keys_hold_nothing(backend: Backend) -> None:
    """After every pull: the saved plans are what planning from scratch gives; no touchpoint,
    contact or customer row is under a key found to be another customer, whose customer is
    a domain customer that exists."""

    @hypothesis_settings(
        max_examples=backend.examples(150),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(name_histories())
    def check(history: list[tuple[list[Record | Retire], int]]) -> None:
        with backend.fresh() as store:
            book = engine(store)
            for records, hour in history:
                with store.transaction():
                    store.write(records, "csv")
                moment = T0 + timedelta(hours=hour)
                replan(book, moment)
                assert planned(store) == from_scratch(book, moment)
                aliases = dict(store.conn.execute("SELECT alias, customer FROM customer_aliases"))
                assert all(is_strong_key(customer) for customer in aliases.values())
                assert set(aliases.values()) <= {
                    key for (key,) in store.conn.execute("SELECT key FROM customers")
                }
                held = store.conn.execute(
                    """SELECT customer FROM touchpoints UNION SELECT customer FROM contacts
                    UNION SELECT key FROM customers"""
                )
                assert not {key for (key,) in held} & set(aliases)

    check()
