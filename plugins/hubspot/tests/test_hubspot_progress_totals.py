"""The HubSpot source tells a progress that takes totals how many records of each object type
to expect: one ``limit=1`` search per object type before a first sync lists it, and the
``total`` of the search answers a later sync reads anyway."""

from __future__ import annotations

from collections.abc import Callable

from conftest import pull, seed
from fake_hubspot import FakeHubSpot

from engage_hubspot import HubSpotSource

Make = Callable[..., HubSpotSource]


class Recorder:
    """A progress that counts what it is told, and remembers each total in order."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.totals: list[tuple[str, int]] = []

    def advance(self, what: str, count: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + count

    def total(self, what: str, count: int) -> None:
        self.totals.append((what, count))


class Counts:
    """A progress without totals: counts only."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def advance(self, what: str, count: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + count


def searches(fake: FakeHubSpot) -> int:
    return len(fake.requests_to("POST", "/search"))


def many_contacts(fake: FakeHubSpot, n: int) -> list[str]:
    return [fake.add("contacts", {"email": f"p{i}@big.com"}) for i in range(n)]


def test_first_sync_expects_each_object_types_total(fake: FakeHubSpot, make_source: Make) -> None:
    """Each object type's total is the account's live records of it, told before listing, and
    the counts reach it; it costs one search per object type and nothing else."""
    seed(fake)
    many_contacts(fake, 250)
    plain = make_source(progress=Counts())
    before = searches(fake), len(fake.requests)
    pull(plain)
    plain_searches, plain_requests = searches(fake) - before[0], len(fake.requests) - before[1]

    progress = Recorder()
    source = make_source(progress=progress)
    before = searches(fake), len(fake.requests)
    pull(source)
    live = {kind: len(fake.live(kind)) for kind in source.object_types}
    assert progress.totals == [(kind, n) for kind, n in live.items() if n]
    assert {kind: progress.counts.get(kind, 0) for kind in live} == live
    assert live["contacts"] == 252
    types = len(source.object_types)
    assert searches(fake) - before[0] == plain_searches + types
    assert len(fake.requests) - before[1] == plain_requests + types
    counted = [r for r in fake.requests_to("POST", "/search") if r.json()["limit"] == 1]
    assert len(counted) == types


def test_a_total_below_what_is_listed_is_raised_then_made_exact(
    fake: FakeHubSpot, make_source: Make
) -> None:
    """Search misses records not yet indexed: the total is raised as listing passes it, and the
    last page makes it what was read."""
    ids = many_contacts(fake, 250)
    fake.unindexed.update(ids[:5])
    progress = Recorder()
    pull(make_source(progress=progress, feedback=False, open_work=False))
    contacts = [n for kind, n in progress.totals if kind == "contacts"]
    assert contacts == [245, 250]
    assert progress.counts["contacts"] == 250


def test_a_plain_progress_costs_no_search(fake: FakeHubSpot, make_source: Make) -> None:
    """A progress that takes no totals gets no counting search."""
    many_contacts(fake, 3)
    pull(make_source(progress=Counts(), feedback=False, open_work=False))
    assert not [r for r in fake.requests_to("POST", "/search") if r.json()["limit"] == 1]


def test_later_syncs_take_the_search_total(fake: FakeHubSpot, make_source: Make) -> None:
    """An incremental sync expects its searches' ``total``: the changes since the watermark,
    across pages; it makes exactly the requests a pull without totals makes."""
    seed(fake)
    first = pull(make_source(overlap_minutes=0))
    fake.now_ms += 60_000
    companies = [r["id"] for r in fake.live("companies")]
    for company in companies[:2]:
        fake.update("companies", company, name="Renamed")
    many_contacts(fake, 250)

    before = len(fake.requests)
    plain = pull(make_source(progress=Counts(), overlap_minutes=0), first.cursor)
    plain_requests = len(fake.requests) - before

    progress = Recorder()
    before = len(fake.requests)
    again = pull(make_source(progress=progress, overlap_minutes=0), first.cursor)
    assert len(fake.requests) - before == plain_requests
    assert progress.totals == [("companies", 2), ("contacts", 250)]
    assert progress.counts["companies"] == 2 and progress.counts["contacts"] == 250
    assert len(again.contacts) == len(plain.contacts) == 250
