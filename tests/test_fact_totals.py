"""Busy customers' fact totals (SQLite): planning them again reads only the touchpoints after
their totals, and gives exactly the facts and plans that reading everything would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from engage.adapters import Retire
from engage.facts import CustomerFacts
from engage.models import Channel, Direction, Touchpoint
from engage.store import open_store
from engage.store.base import Record
from engage.store.sqlite import SQLiteStore
from engage.store.sqlite_facts import facts_rows
from engage.store.sqlite_totals import read_main_contact
from tests.test_incremental import (
    SETTINGS,
    T0,
    engine,
    from_scratch,
    histories,
    planned,
    replan,
)


@pytest.fixture
def every_customer_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Totals for every customer with a touch, so small stores exercise them."""
    monkeypatch.setattr("engage.store.sqlite_totals.TOTALS_FROM", 1)


@pytest.fixture
def sqlite() -> Iterator[SQLiteStore]:
    with open_store(":memory:") as store:
        assert isinstance(store, SQLiteStore)
        yield store


def through_totals(store: SQLiteStore, moment: datetime) -> list[CustomerFacts]:
    """Every customer's facts as planning a subset reads them (totals + what came after)."""
    conn = store.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS engage_due (key TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM temp.engage_due")
    conn.execute("INSERT INTO temp.engage_due SELECT key FROM customers")
    found = facts_rows(conn, moment, SETTINGS, None, due_only=True)
    return [found.assemble(row) for row in found.rows]


def totals(store: SQLiteStore) -> dict[str, tuple[Any, ...]]:
    rows = store.conn.execute("SELECT * FROM fact_totals").fetchall()
    return {row[0]: row[1:] for row in rows}


def contact_totals(store: SQLiteStore, customer: str) -> dict[str, tuple[int, int]]:
    rows = store.conn.execute(
        "SELECT email, touches, latest FROM contact_totals WHERE customer = ?", (customer,)
    )
    return {email: (n, latest) for email, n, latest in rows}


def tp(number: int, when: datetime, **kw: Any) -> Touchpoint:
    values: dict[str, Any] = {
        "channel": Channel.EMAIL,
        "direction": Direction.INBOUND,
        "contact_email": "x@a.com",
        **kw,
    }
    return Touchpoint("src", str(number), "a.com", when, **values)


def sync(store: SQLiteStore, data: list[Record | Retire], moment: datetime) -> None:
    with store.transaction():
        store.write(data, "src")
    replan(engine(store), moment)


@pytest.mark.usefixtures("every_customer_busy")
def test_incremental_plans_and_facts_equal_reading_everything() -> None:
    """Over random histories (touchpoints logged late or dated ahead, records, retirements,
    syncs at the same moment or earlier), the saved plans and the facts read through the
    totals equal those of reading every touchpoint."""

    @hypothesis_settings(
        max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(histories())
    def check(history: list[tuple[list[Record | Retire], datetime]]) -> None:
        with open_store(":memory:") as store:
            assert isinstance(store, SQLiteStore)
            book = engine(store)
            for data, moment in history:
                with store.transaction():
                    store.write(data, "src")
                replan(book, moment)
                assert planned(store) == from_scratch(book, moment), moment
                assert through_totals(store, moment) == list(store.facts(moment, SETTINGS))

    check()


@pytest.mark.usefixtures("every_customer_busy")
def test_a_planned_busy_customer_gets_totals_as_of_the_planning(sqlite: SQLiteStore) -> None:
    moment = T0 + timedelta(days=10)
    sync(sqlite, [tp(1, T0), tp(2, T0 + timedelta(days=1), direction=Direction.OUTBOUND)], moment)
    assert totals(sqlite)["a.com"][:2] == (int(moment.timestamp() * 1e6), 2)
    assert contact_totals(sqlite, "a.com") == {
        "x@a.com": (2, int((T0 + timedelta(days=1)).timestamp() * 1e6))
    }


def test_customers_with_short_histories_get_none(sqlite: SQLiteStore) -> None:
    sync(sqlite, [tp(i, T0 + timedelta(hours=i)) for i in range(5)], T0 + timedelta(days=1))
    assert totals(sqlite) == {}


@pytest.mark.usefixtures("every_customer_busy")
def test_a_touchpoint_logged_late_is_added_to_the_totals(sqlite: SQLiteStore) -> None:
    """The call this morning, written down after tonight's sync: added, not a reason to read
    the whole history again."""
    moment = T0 + timedelta(days=10)
    sync(sqlite, [tp(1, T0)], moment)
    late = tp(
        2,
        T0 + timedelta(days=9),
        channel=Channel.CALL,
        direction=Direction.OUTBOUND,
        contact_email="y@a.com",
    )
    with sqlite.transaction():
        sqlite.write([late], "src")
    assert totals(sqlite)["a.com"][1] == 2  # touches
    assert contact_totals(sqlite, "a.com")["y@a.com"][0] == 1
    assert through_totals(sqlite, moment) == list(sqlite.facts(moment, SETTINGS))


@pytest.mark.usefixtures("every_customer_busy")
def test_a_changed_or_deleted_touchpoint_drops_its_customers_totals(sqlite: SQLiteStore) -> None:
    moment = T0 + timedelta(days=10)
    sync(sqlite, [tp(1, T0), tp(2, T0 + timedelta(days=1))], moment)
    with sqlite.transaction():
        sqlite.write([tp(1, T0, direction=Direction.OUTBOUND)], "src")  # changed
    assert totals(sqlite) == {} and contact_totals(sqlite, "a.com") == {}
    sync(sqlite, [], moment)
    assert "a.com" in totals(sqlite)
    with sqlite.transaction():
        sqlite.write([Retire("touchpoint", "2")], "src")
    assert totals(sqlite) == {} and contact_totals(sqlite, "a.com") == {}
    assert through_totals(sqlite, moment) == list(sqlite.facts(moment, SETTINGS))


@pytest.mark.usefixtures("every_customer_busy")
def test_a_write_during_planning_keeps_the_customer_without_totals(sqlite: SQLiteStore) -> None:
    """Facts read before a touchpoint landed do not become totals that lack it."""
    moment = T0 + timedelta(days=10)
    with sqlite.transaction():
        sqlite.write([tp(1, T0)], "src")
    book = engine(sqlite)
    plans = iter(book.replan(moment, ()))
    first = next(plans)  # the facts are read
    with sqlite.transaction():
        sqlite.write([tp(2, T0 + timedelta(days=2))], "src")
    sqlite.save_plans([first, *plans], moment)
    assert totals(sqlite) == {}
    assert through_totals(sqlite, moment) == list(sqlite.facts(moment, SETTINGS))


@pytest.mark.usefixtures("every_customer_busy")
def test_totals_for_a_later_moment_are_not_read_for_an_earlier_one(sqlite: SQLiteStore) -> None:
    sync(sqlite, [tp(1, T0), tp(2, T0 + timedelta(days=5))], T0 + timedelta(days=10))
    earlier = T0 + timedelta(days=3)
    assert through_totals(sqlite, earlier) == list(sqlite.facts(earlier, SETTINGS))
    assert through_totals(sqlite, earlier)[0].touches == 1


def test_the_main_contact_has_the_most_touches_then_the_latest_then_the_smallest_email() -> None:
    rows = '[["b@x", 2, 5, "B"], ["a@x", 2, 5, null], ["c@x", 1, 9, "C"], ["c@x", 2, 1, "C"]]'
    assert read_main_contact(rows) == ("c@x", "C")  # 3 touches once both parts are added
    assert read_main_contact('[["b@x", 2, 5, "B"], ["a@x", 2, 5, null]]') == ("a@x", None)
    assert read_main_contact('[["b@x", 2, 6, "B"], ["a@x", 2, 5, null]]') == ("b@x", "B")
    assert read_main_contact("[]") == (None, None)
    assert read_main_contact(None) == (None, None)


@pytest.mark.usefixtures("every_customer_busy")
def test_totals_keep_the_moment_their_facts_were_read_for(sqlite: SQLiteStore) -> None:
    """Plans saved for a later moment than they were made for (a script may) do not pass the
    totals off as that later moment's: a touchpoint between the two stays out of them."""
    with sqlite.transaction():
        sqlite.write([tp(1, T0), tp(2, T0 + timedelta(days=5))], "src")
    planned_for, saved_for = T0 + timedelta(days=2), T0 + timedelta(days=10)
    sqlite.save_plans(list(engine(sqlite).replan(planned_for, ())), saved_for)
    assert totals(sqlite)["a.com"][:2] == (int(planned_for.timestamp() * 1e6), 1)
    assert through_totals(sqlite, saved_for) == list(sqlite.facts(saved_for, SETTINGS))
