"""Notices: what a person should know about a sync that is neither an error nor a bad record."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import ClassVar

from engage.adapters import Checkpoint, Notice, Option, PushResult, SourceItem
from engage.models import Customer, Task, Touchpoint
from engage.pull import pull_source
from engage.push import SinkPush
from engage.store.sqlite import SQLiteStore

AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


class NoticingSource:
    """Says the same thing twice, and names a customer a way that matches two."""

    options: ClassVar[Mapping[str, Option]] = {}

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        yield Notice("mailbox owner unknown; set mailbox_owner")
        yield Customer("northwind.com", name="Northwind Traders")
        yield Customer("northwind.co.uk", name="Northwind Traders Ltd")
        yield Touchpoint("notes", "n1", "northwind traders", AT, "note", "internal")
        yield Notice("mailbox owner unknown; set mailbox_owner")
        yield Checkpoint("done")


def test_a_source_notice_is_reported_once_and_is_no_error() -> None:
    """The notice appears once in the report and its JSON; nothing failed or was refused."""
    with SQLiteStore(":memory:") as store:
        report = pull_source(store, "notes", "test", NoticingSource())
    assert report.error is None and report.problems == 0
    assert report.notices[0] == "mailbox owner unknown; set mailbox_owner"
    assert report.notices.count("mailbox owner unknown; set mailbox_owner") == 1
    assert report.to_json()["notices"] == list(report.notices)


def test_a_name_matching_two_customers_is_a_notice_naming_both() -> None:
    """The store's note on an ambiguous name reaches the sync report with both keys."""
    with SQLiteStore(":memory:") as store:
        report = pull_source(store, "notes", "test", NoticingSource())
    [ambiguous] = [n for n in report.notices if "northwind" in n.lower()]
    assert "northwind.com" in ambiguous and "northwind.co.uk" in ambiguous


class NoticingSink:
    """Takes every task and says it took a fallback."""

    options: ClassVar[Mapping[str, Option]] = {}
    batch_size: ClassVar[int] = 10

    def __init__(self) -> None:
        self.notices: list[str] = []

    def find(self, tasks: Sequence[Task]) -> Mapping[str, str]:
        return {}

    def create(self, tasks: Sequence[Task]) -> Iterable[PushResult]:
        self.notices.append("no unique key property: looked tasks up by marker")
        self.notices.append("no unique key property: looked tasks up by marker")
        return [PushResult(t.key, remote_id=f"r-{t.key}") for t in tasks]

    def complete(self, remote_ids: Mapping[str, str]) -> Iterable[PushResult]:
        return []


def test_a_sink_notice_is_reported_once() -> None:
    """A sink's ``notices`` reach its report once each, beside a clean push."""
    task = Task(
        key="welcome:a.com:x",
        customer="a.com",
        rule="welcome",
        title="Welcome",
        body="b",
        due=AT.date(),
        priority="high",
        kind="email",
        owner=None,
        reason="r",
    )
    with SQLiteStore(":memory:") as store:
        store.write([Customer("a.com")], "test")
        push = SinkPush(store, "crm", "test", NoticingSink())  # type: ignore[arg-type]
        push.push([task])
        report = push.report()
    assert report.pushed == 1 and report.errors == ()
    assert report.notices == ("no unique key property: looked tasks up by marker",)
    assert report.to_json()["notices"] == list(report.notices)
