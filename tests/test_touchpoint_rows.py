"""Touchpoints in row form: what a source reading ahead in a child process sends to the store.

A large file's touchpoints cross from the reading child to the storing process as runs of
rows (:class:`~engage.store.touchpoint_rows.TouchpointRows`), not as objects. Nothing else
may change: the rows give back the touchpoints they were made of, a store written from rows
holds what it holds written from the touchpoints, and a pull reports the same counts,
problems and errors either way.
"""

from __future__ import annotations

import itertools
import pickle
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engage.adapters import Checkpoint, Progress, SourceItem
from engage.models import Channel, Contact, Customer, Direction, Owner, Touchpoint
from engage.pull import pull_source
from engage.readahead import (
    DISABLE_ENV,
    available,
    checked_row,
    read_ahead,
    rows_wanted,
    sending_rows,
)
from engage.store import open_store
from engage.store.base import Record
from engage.store.touchpoint_rows import TouchpointRows, rows_in, rows_of
from tests.conftest import Backend
from tests.support.storedump import dump

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads ahead in a child on Linux only"
)

addresses = st.none() | st.from_regex(r"[a-z]{1,6}@[a-z]{1,6}\.com", fullmatch=True)
texts = st.none() | st.text(max_size=12)
touchpoints = st.builds(
    Touchpoint,
    source=st.sampled_from(["csv", "mail"]),
    external_id=st.text(min_size=1, max_size=8),
    customer=st.sampled_from(["acme.com", "Northwind Traders", "globex.io"]),
    occurred_at=st.datetimes(
        min_value=datetime(1950, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    channel=st.sampled_from(Channel),
    direction=st.sampled_from(Direction),
    contact_email=addresses,
    owner=texts,
    subject=texts,
    feedback=st.none() | st.floats(min_value=0, max_value=1),
    message_id=texts,
    missed=st.booleans(),
)


@given(st.lists(touchpoints, max_size=20))
def test_rows_give_back_the_touchpoints_they_were_made_of(made: list[Touchpoint]) -> None:
    assert TouchpointRows.of(made).touchpoints() == made


@given(st.lists(touchpoints, max_size=20))
def test_a_checked_row_is_the_row_of_the_touchpoint_of_the_same_values(
    made: list[Touchpoint],
) -> None:
    assert [as_row(t) for t in made] == rows_of(made)


@linux_only
def test_rows_are_wanted_only_in_a_child_reading_ahead_for_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(DISABLE_ENV, raising=False)

    def produce(progress: Progress) -> Iterator[bool]:
        yield rows_wanted()

    assert not rows_wanted()
    assert list(read_ahead(produce, _Quiet())) == [False]
    with sending_rows():
        assert list(read_ahead(produce, _Quiet())) == [True]
        assert not rows_wanted()  # here, in the process that reads the child's items
        monkeypatch.setenv(DISABLE_ENV, "0")
        assert list(read_ahead(produce, _Quiet())) == [False]  # read here: no rows


@given(st.lists(touchpoints, max_size=20))
def test_rows_cross_a_pipe_as_they_were(made: list[Touchpoint]) -> None:
    rows = TouchpointRows.of(made)
    again = pickle.loads(pickle.dumps(rows, pickle.HIGHEST_PROTOCOL))
    assert type(again) is TouchpointRows
    assert again == rows


@given(st.lists(touchpoints, max_size=20), st.lists(st.integers(0, 20), max_size=4))
def test_runs_of_rows_and_touchpoints_are_rows_in_their_order(
    made: list[Touchpoint], cuts: list[int]
) -> None:
    assert rows_in(runs(made, cuts)) == rows_of(made)


def runs(made: Sequence[Any], cuts: list[int]) -> list[Any]:
    """``made`` with the touchpoints between some of the cuts as runs of rows (every other
    stretch), the rest as they are."""
    edges = sorted({0, len(made), *(min(c, len(made)) for c in cuts)})
    mixed: list[Any] = []
    for n, (start, end) in enumerate(itertools.pairwise(edges)):
        stretch = list(made[start:end])
        if n % 2 == 0 and all(type(item) is Touchpoint for item in stretch):
            mixed.append(TouchpointRows.of(stretch))
        else:
            mixed.extend(stretch)
    return mixed


def history(source: str = "csv") -> list[Record]:
    """Records a first load gets: named customers, a contact, an owner, touchpoints of
    which some name their customer only by its name, and a key given twice."""

    def email(number: int, customer: str, **fields: Any) -> Touchpoint:
        values: dict[str, Any] = {
            "occurred_at": NOW - timedelta(days=number),
            "channel": Channel.EMAIL,
            "direction": Direction.INBOUND if number % 2 else Direction.OUTBOUND,
            "contact_email": f"jo@{customer}" if "." in customer else None,
            "owner": "ann@ourco.com",
            "subject": f"Re: renewal {number}",
        }
        values.update(fields)
        return Touchpoint(source, f"t{number}", customer, **values)

    return [
        Owner("ann@ourco.com", email="ann@ourco.com", name="Ann"),
        Customer("northwind.com", name="Northwind Traders"),
        *(email(n, "northwind.com") for n in range(1, 5)),
        *(email(n, "Northwind Traders", channel=Channel.NOTE) for n in range(5, 8)),
        Contact("li@globex.io", "globex.io", name="Li"),
        *(email(n, "globex.io", feedback=0.9, missed=n == 9) for n in range(8, 12)),
        email(3, "northwind.com", subject="Re: renewal, corrected"),  # the same key again
        *(email(n, "acme.com", owner=None) for n in range(12, 16)),
    ]


@pytest.mark.parametrize("cuts", [[3, 9], [0, 4, 8, 12, 17], [2, 6, 11, 15]])
def test_a_store_written_from_rows_holds_what_the_touchpoints_make(
    backend: Backend, cuts: list[int]
) -> None:
    """In a first load and in a write into a store that holds touchpoints already."""
    records = history()
    sent = [r for r in records if isinstance(r, Touchpoint)]
    later = [
        *(attrs.evolve(t, subject="moved") for t in sent[:2]),  # updates
        *(attrs.evolve(t, external_id=f"new-{t.external_id}") for t in sent[3:7]),
    ]
    as_objects, as_rows = backend.new_target(), backend.new_target()
    plain, packed = open_store(as_objects), open_store(as_rows)
    try:
        assert packed.write(runs(records, cuts), "csv") == plain.write(records, "csv")
        assert packed.write(runs(later, [1, 3]), "csv") == plain.write(later, "csv")
    finally:
        plain.close()
        packed.close()
    assert dump(as_rows) == dump(as_objects)


class ReadingAhead:
    """A source that reads its items in a child process, as the CSV source does with a
    large file, and remembers the kinds of item that reached this process."""

    options: ClassVar[dict[str, Any]] = {}

    def __init__(self, items: list[SourceItem], *, gives_rows: bool = False) -> None:
        self.items = items
        self.gives_rows = gives_rows  # plain touchpoints as checked_row where rows are wanted
        self.arrived: set[type] = set()

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        def produce(progress: Progress) -> Iterator[SourceItem]:
            if not (self.gives_rows and rows_wanted()):
                yield from self.items
                return
            for item in self.items:
                yield as_row(item) if type(item) is Touchpoint else item  # type: ignore[misc]

        for item in read_ahead(produce, _Quiet(), batch=7):
            self.arrived.add(type(item))
            yield item


def as_row(t: Touchpoint) -> tuple[Any, ...]:
    return checked_row(
        t.source, t.external_id, t.customer, t.occurred_at, t.channel, t.direction,
        t.contact_email, t.owner, t.subject, t.feedback, t.message_id, t.missed,
    )  # fmt: skip


class _Quiet:
    def advance(self, what: str, count: int = 1) -> None:
        pass


@linux_only
def test_a_pull_reading_ahead_stores_and_reports_the_same_with_rows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Rows from the child, or the touchpoints read in this process: the same report (a
    touchpoint from the future counted as a problem, named as before) and the same store."""
    ahead = Touchpoint(
        "csv", "typo", "acme.com", NOW + timedelta(days=400), Channel.CALL, Direction.OUTBOUND
    )
    items: list[SourceItem] = [*history()[:9], ahead, Checkpoint("half"), *history()[9:]]
    items.append(Checkpoint("done"))
    reports, stores = [], []
    for read_here, gives_rows in ((False, False), (True, False), (False, True)):
        if read_here:
            monkeypatch.setenv(DISABLE_ENV, "0")
        else:
            monkeypatch.delenv(DISABLE_ENV, raising=False)
            assert available()
        source = ReadingAhead(items, gives_rows=gives_rows)
        target = str(tmp_path / f"engage-{read_here}-{gives_rows}.db")
        store = open_store(target)
        reports.append(pull_source(store, "csv", "scripted", source, now=NOW))
        store.close()
        tables = dump(target)
        tables["cursors"] = [  # saved at the real clock's moment
            tuple(pair for pair in row if pair[0] != "updated_at") for row in tables["cursors"]
        ]
        stores.append(tables)
        assert (TouchpointRows in source.arrived) is not read_here
    assert reports[0] == reports[1] == reports[2]
    assert reports[0].problems == 1
    assert "touchpoint 'typo': occurred_at: in the future" in reports[0].messages[0]
    assert stores[0] == stores[1] == stores[2]


@linux_only
def test_rows_of_another_source_fail_the_pull_as_a_touchpoint_of_it_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    errors = []
    for read_here in (False, True):
        if read_here:
            monkeypatch.setenv(DISABLE_ENV, "0")
        else:
            monkeypatch.delenv(DISABLE_ENV, raising=False)
        source = ReadingAhead([*history(source="elsewhere"), Checkpoint("done")])
        store = open_store(":memory:")
        errors.append(pull_source(store, "csv", "scripted", source, now=NOW).error)
        assert store.touchpoint_count() == 0
        store.close()
        assert (TouchpointRows in source.arrived) is not read_here
    assert errors[0] == errors[1]
    assert errors[0] is not None and "touchpoints must carry the source's config name" in errors[0]


@linux_only
def test_outside_a_pull_a_source_reading_ahead_yields_touchpoints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Scripts and tests that list a source's items see the model, never rows."""
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    source = ReadingAhead([*history(), Checkpoint("done")])
    assert list(source.pull(None)) == [*history(), Checkpoint("done")]
    assert TouchpointRows not in source.arrived
    with sending_rows():
        arrived: list[Any] = list(ReadingAhead([*history(), Checkpoint("done")]).pull(None))
    assert TouchpointRows in {type(item) for item in arrived}
    unpacked = [
        t
        for item in arrived
        for t in (item.touchpoints() if type(item) is TouchpointRows else [item])
    ]
    assert unpacked == [*history(), Checkpoint("done")]
