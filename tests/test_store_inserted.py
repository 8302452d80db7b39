"""New touchpoints in the SQLite store: what their insert records beside the table, once for
the rows of the statement (engage.store.sqlite_inserted)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engage.clock import to_micros
from engage.errors import StoreError
from engage.models import Channel, Direction, Touchpoint
from engage.store import open_store
from engage.store.base import WriteCounts
from engage.store.sqlite import SQLiteStore
from engage.store.sqlite_facts import history_start, owner_activity
from engage.store.touchpoint_rows import TouchpointRows, rows_of

T0 = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
def store() -> Iterator[SQLiteStore]:
    with open_store(":memory:") as opened:
        assert isinstance(opened, SQLiteStore)
        with opened.transaction():  # not a bulk load: the store holds a touchpoint already
            opened.write([tp("0", "z.com", T0)], "src")
        opened.conn.execute("DELETE FROM stale_customers")
        yield opened


def tp(ident: str, customer: str, when: datetime, **kw: object) -> Touchpoint:
    values: dict[str, object] = {"channel": Channel.EMAIL, "direction": Direction.OUTBOUND, **kw}
    return Touchpoint("src", ident, customer, when, **values)  # type: ignore[arg-type]


def write(store: SQLiteStore, *touchpoints: Touchpoint) -> None:
    with store.transaction():
        store.write(list(touchpoints), "src")


def stale(store: SQLiteStore) -> set[str]:
    return {key for (key,) in store.conn.execute("SELECT customer FROM stale_customers")}


def test_new_touchpoints_mark_their_customers_and_known_ones_do_not(store: SQLiteStore) -> None:
    write(store, tp("1", "a.com", T0), tp("2", "b.com", T0))
    store.conn.execute("DELETE FROM stale_customers")
    write(store, tp("3", "a.com", T0), tp("4", "a.com", T0), tp("1", "a.com", T0))
    assert stale(store) == {"a.com"}  # not b.com: its record did not change
    store.conn.execute("DELETE FROM stale_customers")
    write(store, tp("1", "a.com", T0), tp("2", "b.com", T0))  # stored already, unchanged
    assert stale(store) == set()


def test_an_older_touchpoint_moves_the_saved_first_moment_earlier(store: SQLiteStore) -> None:
    conn = store.conn
    assert history_start(conn, save=True) == to_micros(T0)
    write(store, tp("1", "a.com", T0 - timedelta(days=30)), tp("2", "a.com", T0 + timedelta(1)))
    saved = conn.execute("SELECT value FROM planning WHERE name = 'history_start'").fetchone()
    assert saved == (str(to_micros(T0 - timedelta(days=30))),)
    write(store, tp("3", "a.com", T0 + timedelta(days=2)))
    assert history_start(conn) == to_micros(T0 - timedelta(days=30))


def test_the_owners_activity_snapshot_takes_in_new_activity(store: SQLiteStore) -> None:
    conn = store.conn
    moment = to_micros(T0 + timedelta(days=10))
    with store.transaction():
        owner_activity(conn, moment, save=True)
    write(
        store,
        tp("1", "a.com", T0 + timedelta(days=1), owner="ann"),
        tp("2", "a.com", T0 + timedelta(days=3), owner="ann"),
        tp("3", "a.com", T0 + timedelta(days=12), owner="ann"),  # after the snapshot's moment
        tp("4", "a.com", T0 + timedelta(days=4), owner="bob", direction=Direction.INBOUND),
        tp("5", "a.com", T0 + timedelta(days=5), owner="cy", channel=Channel.CALL,
           direction=Direction.INBOUND),
    )  # fmt: skip
    rows = conn.execute(
        "SELECT owner, last_active, next_active, first_active FROM owner_activity ORDER BY owner"
    ).fetchall()
    day = lambda n: to_micros(T0 + timedelta(days=n))  # noqa: E731
    assert rows == [("ann", day(3), day(12), day(1)), ("cy", day(5), None, day(5))]
    assert owner_activity(conn, moment).last == {"ann": day(3), "cy": day(5)}


def row_without_channel(ident: str) -> TouchpointRows:
    """A run of rows whose second lacks a required value (no model gives one: a bug upstream)."""
    good, bad = rows_of([tp(ident + "a", "a.com", T0), tp(ident + "b", "a.com", T0)])
    return TouchpointRows([good, (*bad[:5], None, *bad[6:])])


def test_a_row_refused_by_a_required_column_fails_the_write_and_keeps_nothing_of_it(
    store: SQLiteStore,
) -> None:
    before = store.touchpoint_count()
    refused = r"1 row\(s\) refused by the table, such as src '1b'"
    with pytest.raises(StoreError, match=refused), store.transaction():
        store.write([row_without_channel("1")], "src")
    assert store.touchpoint_count() == before


def test_a_first_load_refusing_a_row_fails_too() -> None:
    with open_store(":memory:") as empty:
        assert isinstance(empty, SQLiteStore)
        # a bulk load: inserted without looking first
        with pytest.raises(StoreError, match="refused by the table"), empty.transaction():
            empty.write([row_without_channel("1")], "src")
        assert empty.touchpoint_count() == 0


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 260),  # ids repeat, within and across the statements of a write
            st.sampled_from(["a.com", "b.com"]),
            st.sampled_from([None, "ann@a.com"]),
            st.sampled_from([None, "Re: renewal"]),
        ),
        min_size=95,  # past one statement's hundred rows, often with a remainder
        max_size=450,
    ),
    st.booleans(),
)
def test_a_write_of_many_rows_stores_what_writing_them_one_at_a_time_does(
    rows: list[tuple[int, str, str | None, str | None]], first_load: bool
) -> None:
    made = [
        tp(str(ident), customer, T0 + timedelta(minutes=ident), contact_email=email, subject=subj)
        for ident, customer, email, subj in rows
    ]

    def stored(write_apart: bool) -> tuple[list[WriteCounts], list[tuple[object, ...]]]:
        with open_store(":memory:") as store:
            assert isinstance(store, SQLiteStore)
            if not first_load:  # not empty: every row is looked for before it is inserted
                write(store, tp("held", "z.com", T0))
            batches = [[t] for t in made] if write_apart else [made]
            counts = []
            for batch in batches:
                with store.transaction():
                    counts.append(store.write(batch, "src"))
            table = store.conn.execute("SELECT rowid, * FROM touchpoints ORDER BY rowid")
            return counts, table.fetchall()

    (together,), table = stored(write_apart=False)
    apart, table_apart = stored(write_apart=True)
    assert together == sum(apart, WriteCounts())
    assert table == table_apart
