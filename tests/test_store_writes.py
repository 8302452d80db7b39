"""Record upserts: one look-up per chunk decides insert or update, in the order given."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from engage.adapters import Retire
from engage.models import Channel, Contact, Customer, Direction, Touchpoint
from engage.store import Store
from engage.store.base import WriteCounts
from tests.conftest import Backend

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def tp(external_id: str, customer: str, contact: str | None = None) -> Touchpoint:
    return Touchpoint(
        "csv", external_id, customer, T0, Channel.EMAIL, Direction.OUTBOUND, contact_email=contact
    )


def test_a_key_repeated_in_one_batch_is_inserted_then_updated_in_order(store: Store) -> None:
    counts = store.write(
        [Customer("a.com", name="A"), Customer("a.com", name="B"), Customer("a.com")], "csv"
    )
    assert counts == WriteCounts(inserted=1, updated=1, unchanged=1)
    assert store.get_customer("a.com").name == "B"  # type: ignore[union-attr]


def test_upserting_a_batch_equals_upserting_one_record_at_a_time(backend: Backend) -> None:
    # a server round trip per record on PostgreSQL: no deadline, and a third of the examples
    @settings(max_examples=backend.examples(100), deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["a.com", "b.com"]),
                st.sampled_from([None, "A", "B"]),
                st.sampled_from([{}, {"tier": 1}, {"seats": 3}]),
            ),
            max_size=12,
        )
    )
    def check(records: list[tuple[str, str | None, dict[str, int]]]) -> None:
        customers = [Customer(key, name=name, attributes=attrs) for key, name, attrs in records]
        with backend.fresh() as batch, backend.fresh() as single:
            together = batch.write(customers, "csv")
            apart = WriteCounts()
            for customer in customers:
                apart += single.write([customer], "csv")
            assert together == apart
            for key in ("a.com", "b.com"):
                assert batch.get_customer(key) == single.get_customer(key)

    check()


def test_implied_records_come_back_after_a_retire_in_the_same_transaction(
    store: Store,
) -> None:
    """Remembering which records are stored never hides one a retire removed."""
    with store.transaction():
        store.write([Contact("jo@a.com", "a.com"), tp("1", "a.com", "jo@a.com")], "csv")
        store.write([Retire("contact", "jo@a.com")], "csv")
        store.write([tp("2", "a.com", "jo@a.com")], "csv")
    assert [c.email for c in store.get_contacts("a.com")] == ["jo@a.com"]


def test_implied_records_come_back_after_a_rollback(store: Store) -> None:
    try:
        with store.transaction():
            store.write([tp("1", "a.com", "jo@a.com")], "csv")
            raise RuntimeError("source failed")
    except RuntimeError:
        pass
    store.write([tp("1", "a.com", "jo@a.com")], "csv")
    assert store.get_customer("a.com") is not None
    assert [c.email for c in store.get_contacts("a.com")] == ["jo@a.com"]
