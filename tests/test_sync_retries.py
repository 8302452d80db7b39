"""A temporary failure is tried again in the same run; a fatal one never is.

An hourly, unattended ``engage sync``: a source whose API fails for a while (503s past its
own retries, a Retry-After) is pulled again after the other sources, from its last
checkpoint, and the run ends 0 with nothing duplicated; one that keeps failing ends 75 with
its checkpointed records kept; refused credentials or a bug are reported and never retried.
A sink that stopped on a refusal that wrote nothing is pushed again after the other sinks;
one whose create may have landed is left to the next run, which looks for it first.

The sources read a loopback fake API (:class:`engage.testing.FakeServer`) through engage's
HTTP client; no test waits on the wall clock (a fake clock advances only when the sync
sleeps).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest
from click.testing import CliRunner

from engage.adapters import AdapterContext, Checkpoint, Option, PushResult, SourceItem, http_url
from engage.cli import App, cli
from engage.config import Config
from engage.cursors import unseal
from engage.errors import (
    EXIT_CONFIG,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_TEMPFAIL,
    AmbiguousWrite,
    AuthError,
    ConfigError,
    Fault,
    RetriableSourceError,
    RetriesExhausted,
    SourceError,
)
from engage.hookspecs import hookimpl
from engage.http import HttpClient, RetryPolicy
from engage.models import Task, Touchpoint
from engage.plugins import Registry, make_plugin_manager
from engage.report import SyncReport
from engage.store import open_store
from engage.store.base import LedgerStatus
from engage.sync import failed_sources, run_sync
from engage.testing import FakeServer
from engage.testing.fakeserver import Reply, Request
from tests.support import fakeplugins

AS_OF = datetime(2026, 3, 1, 9, tzinfo=UTC)
PAGE = 3
CUSTOMERS = ("acme.com", "globex.com", "initech.com", "umbrella.com")


# -- a fake API with outages, and a source that reads it page by page ----------------------


@attrs.define
class Outage:
    """The API answers ``status`` (with ``headers``) ``count`` times to requests for the page
    after ``after``, then serves it again."""

    after: int
    count: int
    status: int = 503
    headers: Mapping[str, str] = attrs.Factory(dict)


class FeedApi:
    """``GET /NAME/items?after=N``: ``PAGE`` touchpoints a page, ``next`` the next offset."""

    def __init__(self, fake: FakeServer) -> None:
        self.fake = fake
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.outages: dict[str, list[Outage]] = {}
        self.during: dict[str, Any] = {}  # name → a check run when an outage ends
        fake.route("GET", r"/(?P<name>\w+)/items")(self.serve)

    def feed(self, name: str, count: int) -> None:
        day = datetime(2026, 2, 1, 10, tzinfo=UTC)
        self.items[name] = [
            {
                "id": f"{name}-{n}",
                "customer": CUSTOMERS[n % len(CUSTOMERS)],
                "at": (day + timedelta(days=n % 20)).isoformat(),
                "contact": f"c{n % 5}@{CUSTOMERS[n % len(CUSTOMERS)]}",
            }
            for n in range(count)
        ]

    def serve(self, request: Request) -> Reply:
        name = request.match["name"]
        after = int(request.arg("after") or 0)
        for outage in self.outages.get(name, []):
            if outage.after == after and outage.count > 0:
                outage.count -= 1
                return Reply(outage.status, {"message": "try later"}, dict(outage.headers))
        check = self.during.pop(name, None)
        if check is not None:
            check()
        items = self.items[name]
        page = items[after : after + PAGE]
        following = after + PAGE if after + PAGE < len(items) else None
        return Reply(200, {"items": page, "next": following})

    def hits(self, name: str) -> list[int]:
        """The offsets asked for ``name``'s pages, in order (failed requests included)."""
        return [int(r.arg("after") or 0) for r in self.fake.requests if r.path == f"/{name}/items"]


class FeedSource:
    """Touchpoints from the fake API, a checkpoint after each page; two tries a request."""

    options: ClassVar[Mapping[str, Option]] = {
        "base_url": Option(str, required=True, check=http_url),
    }

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        self.name = context.name
        self.client = HttpClient(
            options["base_url"],
            name=f"feed {context.name}",
            retry=RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0),
            sleep=lambda seconds: None,
            timeout=(2.0, 2.0),
        )

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        offset = int(cursor or 0)
        while True:
            page = self.client.get_json(f"/{self.name}/items", params={"after": offset})
            for item in page["items"]:
                yield Touchpoint(
                    source=self.name,
                    external_id=item["id"],
                    customer=item["customer"],
                    occurred_at=datetime.fromisoformat(item["at"]),
                    channel="email",
                    direction="inbound",
                    contact_email=item["contact"],
                    owner="alice@ourco.com",
                )
            offset += len(page["items"])
            yield Checkpoint(str(offset))
            if page["next"] is None:
                return


class BuggySource:
    """A plugin with a bug: it raises what nobody expects."""

    options: ClassVar[Mapping[str, Option]] = {}
    pulls = 0

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        pass

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        BuggySource.pulls += 1
        raise KeyError("items")
        yield


class Throttled(SourceError):
    """An adapter's own "try again later", not an HTTP error: marked retriable."""

    retriable = True


class Postponed(RetriableSourceError):
    """Temporary (exit 75), but not worth trying again in this run: marked so."""

    retriable = False


class ScriptedSource:
    """Fails its first ``fails`` pulls (class-wide) with the error its table names, then
    yields two touchpoints and a checkpoint."""

    options: ClassVar[Mapping[str, Option]] = {
        "error": Option(str, required=True),
        "fails": Option(int, default=1),
    }
    errors: ClassVar[Mapping[str, type[Exception]]] = {
        "throttled": Throttled,
        "postponed": Postponed,
    }
    pulls: ClassVar[dict[str, int]] = {}

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        self.name = context.name
        self.error = self.errors[options["error"]]
        self.fails = options["fails"]

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        done = ScriptedSource.pulls[self.name] = ScriptedSource.pulls.get(self.name, 0) + 1
        if done <= self.fails:
            raise self.error(f"{self.name}: the service says: not now")
        for n in range(2):
            yield Touchpoint(
                source=self.name,
                external_id=f"{self.name}-{n}",
                customer=CUSTOMERS[n],
                occurred_at=datetime(2026, 2, 20, 10, tzinfo=UTC),
                channel="email",
                direction="inbound",
                contact_email=f"c{n}@{CUSTOMERS[n]}",
                owner="alice@ourco.com",
            )
        yield Checkpoint("2")


# -- a sink whose remote can refuse, lose answers or refuse the credentials ----------------


@attrs.define
class Remote:
    """A task service: tasks by remote id, and the failures its next creates meet."""

    tasks: dict[str, str] = attrs.Factory(dict)  # remote id → task key
    failures: list[str] = attrs.Factory(list)  # "refused" | "lost" | "auth" | "find"
    creates: int = 0
    finds: int = 0

    def keys(self) -> list[str]:
        return sorted(self.tasks.values())


REMOTES: dict[str, Remote] = {}


class FlakySink:
    """Tasks into a :class:`Remote`; each failure is the error engage.http would raise."""

    options: ClassVar[Mapping[str, Option]] = {"remote": Option(str, required=True)}
    batch_size: ClassVar[int] = 2

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        self.remote = REMOTES[options["remote"]]

    def find(self, tasks: Sequence[Task]) -> Mapping[str, str]:
        self.remote.finds += 1
        if self.remote.failures[:1] == ["find"]:
            self.remote.failures.pop(0)
            raise RetriesExhausted("tasks: GET /tasks failed 6 times; last: HTTP 503", 503)
        wanted = {t.key for t in tasks}
        return {key: rid for rid, key in self.remote.tasks.items() if key in wanted}

    def create(self, tasks: Sequence[Task]) -> Iterable[PushResult]:
        self.remote.creates += 1
        failure = self.remote.failures.pop(0) if self.remote.failures else None
        if failure == "refused":
            raise RetriesExhausted(
                "tasks: POST /tasks: HTTP 429: slow down; refused 6 times, the next run tries "
                "again",
                429,
                endpoint="POST /tasks",
                retry_after=2.0,
            )
        if failure == "auth":
            raise AuthError("tasks: POST /tasks: HTTP 401: token revoked", 401)
        made = []
        for task in tasks:
            rid = f"t{len(self.remote.tasks) + 1}"
            self.remote.tasks[rid] = task.key
            made.append(PushResult(task.key, remote_id=rid))
        if failure == "lost":  # written, and the answer lost
            raise AmbiguousWrite(
                "tasks: POST /tasks: read timed out; it may have been written",
                endpoint="POST /tasks",
                fault=Fault.READ_TIMEOUT,
            )
        return made

    def complete(self, remote_ids: Mapping[str, str]) -> Iterable[PushResult]:
        return []


class RetryKit:
    @hookimpl
    def engage_register_sources(self, register: Any) -> None:
        register("feed", FeedSource)
        register("buggy", BuggySource)
        register("scripted", ScriptedSource)

    @hookimpl
    def engage_register_sinks(self, register: Any) -> None:
        register("flaky", FlakySink)


class FakeClock:
    """Monotonic seconds that pass only when the sync sleeps; the sleeps are kept."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self.on_sleep: list[Any] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        for check in self.on_sleep:
            check()
        self.slept.append(seconds)
        self.now += seconds


class World:
    """Sources on the fake API (and a buggy one when asked), a flaky sink, one store."""

    def __init__(self, root: Path, store: str, fake: FakeServer) -> None:
        self.root = root
        self.store = store
        self.api = FeedApi(fake)
        self.fake = fake
        self.clock = FakeClock()
        self.sources: dict[str, dict[str, Any]] = {}
        self.sinks: dict[str, dict[str, Any]] = {}
        self.sync_table: dict[str, Any] = {"retry_wait": 5}
        pm = make_plugin_manager(entry_points=False)
        pm.register(fakeplugins, name="testkit")
        pm.register(RetryKit(), name="retrykit")
        self.registry = Registry.from_plugins(pm)

    def source(self, name: str, count: int) -> None:
        self.api.feed(name, count)
        self.sources[name] = {"plugin": "feed", "base_url": self.fake.url}

    def sink(self, name: str) -> Remote:
        REMOTES[f"{self.root}:{name}"] = remote = Remote()
        self.sinks[name] = {"plugin": "flaky", "remote": f"{self.root}:{name}"}
        return remote

    def config(self) -> Config:
        return Config.from_dict(
            {
                "store": self.store,
                "internal_domains": ["ourco.com"],
                "sync": self.sync_table,
                "sources": self.sources,
                "sinks": self.sinks,
            },
            path=self.root / "engage.toml",
        )

    def sync(self, **kwargs: Any) -> SyncReport:
        config = self.config()
        store = open_store(config.store)
        try:
            return run_sync(
                config,
                self.registry,
                store,
                as_of=AS_OF,
                sleep=self.clock.sleep,
                clock=self.clock,
                **kwargs,
            )
        finally:
            store.close()

    def count(self, source: str) -> int:
        store = open_store(self.store)
        try:
            return store.touchpoint_count(source)
        finally:
            store.close()


@pytest.fixture
def world(tmp_path: Path, store_target: str) -> Iterator[World]:
    with FakeServer() as fake:
        yield World(tmp_path, store_target, fake)


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[World]:
    with FakeServer() as fake:
        yield World(tmp_path, str(tmp_path / "engage.db"), fake)


# -- sources ------------------------------------------------------------------------------


def test_an_api_down_for_a_while_is_pulled_again_after_the_others_and_the_run_succeeds(
    world: World,
) -> None:
    """crm's second page meets 503s past the client's two tries; mail is pulled meanwhile,
    then crm again from its checkpoint: exit 0, every record once, tasks pushed."""
    world.source("crm", 8)
    world.source("mail", 4)
    remote = world.sink("todo")
    world.api.outages["crm"] = [Outage(after=3, count=2)]
    report = world.sync()
    crm = report.sources[0]
    assert report.exit_code == EXIT_OK and report.ok
    assert (crm.attempts, crm.retried, crm.error) == (2, True, None)
    assert len(crm.earlier_errors) == 1 and "503" in crm.earlier_errors[0]
    # the counts add up over both attempts, and nothing was stored twice
    assert (crm.records, crm.touchpoints, crm.inserted, crm.updated) == (8, 8, 8, 0)
    assert world.count("crm") == 8 and world.count("mail") == 4
    # after the other source, from the checkpoint, once the wait (5 s) had passed
    assert world.api.hits("crm") == [0, 3, 3, 3, 6]
    assert [r.path for r in world.fake.requests].index("/mail/items") < 4
    assert world.clock.slept == [5.0]
    # no partial data: the tasks were pushed, each once
    assert report.sinks[0].pushed == report.tasks_planned > 0
    assert len(remote.keys()) == len(set(remote.keys())) == report.tasks_planned
    as_json = report.to_json()["sources"]["crm"]
    assert (as_json["attempts"], as_json["retried"], as_json["failed"]) == (2, True, False)
    assert as_json["earlier_errors"] == list(crm.earlier_errors)
    store = open_store(world.store)
    try:
        assert store.source_pulls()["crm"].error is None
        assert failed_sources(world.config(), store) == []
    finally:
        store.close()


@pytest.mark.parametrize("retries", [1, 2])
def test_an_api_that_stays_down_ends_75_with_the_checkpointed_records_kept(
    world: World, retries: int
) -> None:
    """Every attempt fails on the second page: the first page stays committed with its
    cursor, the run exits 75 and no task is pushed on partial data."""
    world.sync_table["retries"] = retries
    world.source("crm", 8)
    world.sink("todo")
    world.api.outages["crm"] = [Outage(after=3, count=1000)]
    report = world.sync()
    crm = report.sources[0]
    assert report.exit_code == EXIT_TEMPFAIL
    assert crm.attempts == retries + 1 and len(crm.earlier_errors) == retries
    assert crm.retriable and "503" in (crm.error or "")
    assert crm.not_retried is None  # it was, as often as the config says
    assert (crm.records, crm.inserted) == (3, 3)
    assert world.count("crm") == 3
    assert world.clock.slept == [5.0] * retries
    assert world.api.hits("crm") == [0] + [3, 3] * (retries + 1)
    assert report.sinks[0].skipped == "source failed: crm"
    store = open_store(world.store)
    try:
        assert unseal(store.get_cursor("crm")) == "3"
    finally:
        store.close()


def test_refused_credentials_are_never_retried_and_the_other_sources_go_on(
    world: World,
) -> None:
    """A 401 needs a person: one request, no wait, exit 78; mail is pulled all the same."""
    world.source("crm", 8)
    world.source("mail", 4)
    world.sink("todo")
    world.api.outages["crm"] = [Outage(after=0, count=1000, status=401)]
    report = world.sync()
    crm, mail = report.sources
    assert report.exit_code == EXIT_CONFIG
    assert (crm.attempts, crm.retriable, crm.not_retried) == (1, False, None)
    assert "401" in (crm.error or "")
    assert world.api.hits("crm") == [0]
    assert world.clock.slept == []
    assert (mail.error, mail.records) == (None, 4)


def test_a_plugin_bug_is_never_retried(sqlite_world: World) -> None:
    """An unexpected exception is a bug (exit 1): reported once, not pulled again."""
    world = sqlite_world
    world.sources["broken"] = {"plugin": "buggy"}
    world.source("mail", 4)
    BuggySource.pulls = 0
    report = world.sync()
    broken = report.sources[0]
    assert report.exit_code == EXIT_ERROR
    assert (broken.attempts, BuggySource.pulls, world.clock.slept) == (1, 1, [])
    assert "KeyError" in (broken.error or "")
    assert report.sources[1].records == 4


def test_a_retry_after_is_waited_and_a_long_one_is_left_to_the_next_run(
    sqlite_world: World,
) -> None:
    """A 429 asking 7 s is waited out (counted from the failure); one asking an hour is
    past [sync] max_retry_wait: not retried in this run, and the summary says why."""
    world = sqlite_world
    world.source("crm", 5)
    world.source("mail", 5)
    world.api.outages["crm"] = [Outage(after=0, count=2, status=429, headers={"Retry-After": "7"})]
    world.api.outages["mail"] = [
        Outage(after=0, count=1000, status=429, headers={"Retry-After": "3600"})
    ]
    report = world.sync()
    crm, mail = report.sources
    assert (crm.attempts, crm.error, crm.records) == (2, None, 5)
    assert world.clock.slept == [7.0]
    assert (mail.attempts, mail.retry_after, mail.retriable) == (1, 3600.0, True)
    assert mail.not_retried is not None and "3600 s" in mail.not_retried
    assert "max_retry_wait" in mail.not_retried
    assert world.api.hits("mail") == [0]
    assert report.exit_code == EXIT_TEMPFAIL


def test_an_adapters_own_error_marked_retriable_is_pulled_again(sqlite_world: World) -> None:
    """A plain SourceError subclass with ``retriable = True`` (no HTTP error anywhere) is
    temporary by that alone: exit 75 of its own, pulled again after the wait, ok."""
    world = sqlite_world
    assert (Throttled.retriable, Throttled.exit_code) == (True, EXIT_TEMPFAIL)
    ScriptedSource.pulls.clear()
    world.sources["svc"] = {"plugin": "scripted", "error": "throttled"}
    report = world.sync()
    svc = report.sources[0]
    assert report.exit_code == EXIT_OK
    assert (svc.attempts, svc.error, svc.records, ScriptedSource.pulls["svc"]) == (2, None, 2, 2)
    assert svc.earlier_errors == ("svc: svc: the service says: not now",)
    assert world.clock.slept == [5.0]
    assert world.count("svc") == 2


def test_a_temporary_error_marked_not_retriable_is_left_to_the_next_run(
    sqlite_world: World,
) -> None:
    """A 75-family error that says ``retriable = False``: the sync reads that, not the exit
    code: one pull, no wait, and the run still exits 75 (the next run tries again)."""
    world = sqlite_world
    assert (Postponed.retriable, Postponed.exit_code) == (False, EXIT_TEMPFAIL)
    ScriptedSource.pulls.clear()
    world.sources["svc"] = {"plugin": "scripted", "error": "postponed"}
    world.source("mail", 4)
    report = world.sync()
    svc, mail = report.sources
    assert report.exit_code == EXIT_TEMPFAIL
    assert (svc.attempts, svc.retriable, svc.not_retried) == (1, False, None)
    assert ScriptedSource.pulls["svc"] == 1 and world.clock.slept == []
    assert "not now" in (svc.error or "") and mail.records == 4


def test_retries_can_be_turned_off(sqlite_world: World) -> None:
    """``[sync] retries = 0``: a temporary failure waits for the next run, and says so."""
    world = sqlite_world
    world.sync_table["retries"] = 0
    world.source("crm", 5)
    world.api.outages["crm"] = [Outage(after=0, count=2)]
    report = world.sync()
    crm = report.sources[0]
    assert (crm.attempts, report.exit_code, world.clock.slept) == (1, EXIT_TEMPFAIL, [])
    assert crm.not_retried is not None and "retries = 0" in crm.not_retried


def test_problems_in_records_a_failure_rolled_back_are_counted_once(tmp_path: Path) -> None:
    """The JSON-lines source: a bad line after the checkpoint is read by both attempts (the
    failure rolled it back), and counted once; a good record after it lands."""
    good = {
        "external_id": "1",
        "customer": "acme.com",
        "occurred_at": "2026-02-20T10:00:00+00:00",
        "channel": "email",
        "direction": "inbound",
    }
    lines = [good, {"checkpoint": True}, {"problem": "occurred_at: not a date"}]
    lines.append({"skipped": "automated"})
    data = tmp_path / "feed.jsonl"
    data.write_text("".join(json.dumps(x) + "\n" for x in [*lines, {"fail": "connection reset"}]))
    pm = make_plugin_manager(entry_points=False)
    pm.register(fakeplugins, name="testkit")
    registry = Registry.from_plugins(pm)
    config = Config.from_dict(
        {
            "store": "engage.db",
            "sync": {"retry_wait": 1},
            "sources": {"feed": {"plugin": "jsonl", "path": "feed.jsonl"}},
        },
        path=tmp_path / "engage.toml",
    )
    clock = FakeClock()

    def recover() -> None:  # the outage ends while the sync waits
        later = [*lines, {**good, "external_id": "2"}]
        data.write_text("".join(json.dumps(x) + "\n" for x in later))

    clock.on_sleep.append(recover)
    store = open_store(config.store)
    try:
        report = run_sync(config, registry, store, as_of=AS_OF, sleep=clock.sleep, clock=clock)
    finally:
        store.close()
    feed = report.sources[0]
    assert (feed.attempts, feed.error, report.exit_code) == (2, None, EXIT_OK)
    assert (feed.records, feed.problems, dict(feed.skipped)) == (2, 1, {"automated": 1})
    assert feed.messages == ("feed.jsonl:3: occurred_at: not a date",)


# -- many runners: a retried source stays under its runner's claim -------------------------


def test_a_retried_source_is_claimed_again_and_counts_as_failed_until_its_retry_ends(
    world: World,
) -> None:
    """Between the attempts the failed pull is recorded as ended (the claim is released);
    during the retry the source is claimed again and its pull recorded as begun and still
    failed, so no runner sharing the store pushes on its partial data or pulls it too."""
    world.source("crm", 8)
    world.api.outages["crm"] = [Outage(after=3, count=2)]
    seen: dict[str, Any] = {}

    def look(when: str) -> None:
        other = open_store(world.store)  # another runner's view of the store
        try:
            pull = other.source_pulls()["crm"]
            with other.claim("source:crm") as free:
                seen[when] = (pull.finished_at is not None, pull.error is not None, free)
            seen[when + " failed"] = failed_sources(world.config(), other)
        finally:
            other.close()

    def arm() -> None:  # the retry's first request finds the store as the retry left it
        world.api.during["crm"] = lambda: look("retrying")

    world.clock.on_sleep += [lambda: look("waiting"), arm]
    report = world.sync()
    assert report.sources[0].attempts == 2 and report.exit_code == EXIT_OK
    assert seen["waiting"] == (True, True, True)
    assert seen["waiting failed"] == ["crm"]
    assert seen["retrying"] == (False, True, False)
    assert seen["retrying failed"] == ["crm"]
    store = open_store(world.store)
    try:
        latest = store.source_pulls()["crm"]
        assert latest.finished_at is not None and latest.error is None
    finally:
        store.close()


# -- sinks --------------------------------------------------------------------------------


def _held(world: World, sink: str) -> dict[str, str]:
    store = open_store(world.store)
    try:
        return {k: e.status for k, e in store.ledger(sink).items()}
    finally:
        store.close()


def test_a_sink_refusing_for_a_while_is_pushed_again_after_the_other_sinks(
    world: World,
) -> None:
    """The first create meets a 429 past the client's tries (nothing written): the other
    sink is pushed meanwhile, then this one again; every task lands once, exit 0."""
    world.source("crm", 8)
    flaky = world.sink("flaky")
    steady = world.sink("steady")
    flaky.failures = ["refused"]
    report = world.sync()
    first, second = report.sinks
    planned = report.tasks_planned
    assert report.exit_code == EXIT_OK and report.ok
    assert (first.attempts, first.pushed, first.stopped, first.pending) == (2, planned, False, 0)
    assert len(first.earlier_errors) == 1 and "429" in first.earlier_errors[0]
    assert first.errors == ()
    assert second.pushed == planned and second.attempts == 1
    assert len(flaky.keys()) == len(set(flaky.keys())) == planned
    assert world.clock.slept == [2.0]  # the error's own Retry-After
    assert set(_held(world, "flaky").values()) == {LedgerStatus.PUSHED}
    again = world.sync()
    assert again.sinks[0].pushed == 0 and again.sinks[0].already_pushed == planned
    assert len(flaky.keys()) == planned
    assert sorted(flaky.keys()) == sorted(steady.keys())


def test_a_look_for_interrupted_pushes_that_fails_is_tried_again(world: World) -> None:
    """A crash left a batch pending; this run's look for it (a read) fails temporarily: the
    look is tried again after the wait, finds the batch, and the rest is pushed once."""
    world.source("crm", 8)
    flaky = world.sink("flaky")
    flaky.failures = ["lost"]
    first = world.sync()  # the first batch lands, its answer is lost: left pending
    assert first.sinks[0].stopped and first.sinks[0].attempts == 1
    flaky.failures = ["find"]
    report = world.sync()
    sink = report.sinks[0]
    assert report.exit_code == EXIT_OK
    assert (sink.attempts, sink.recovered, sink.stopped) == (2, 2, False)
    assert sink.recovered + sink.pushed == report.tasks_planned
    assert len(flaky.keys()) == len(set(flaky.keys())) == report.tasks_planned


def test_a_create_that_may_have_landed_is_left_to_the_next_run_which_finds_it(
    world: World,
) -> None:
    """The create's answer is lost (it landed): not sent again in this run, exit 75 and the
    summary says how many tasks wait; the next run finds the batch and pushes the rest."""
    world.source("crm", 8)
    flaky = world.sink("flaky")
    flaky.failures = ["lost"]
    report = world.sync()
    sink = report.sinks[0]
    planned = report.tasks_planned
    assert report.exit_code == EXIT_TEMPFAIL
    assert (sink.attempts, sink.stopped, sink.pushed) == (1, True, 0)
    assert sink.pending == planned
    assert sink.not_retried is not None and "may have landed" in sink.not_retried
    assert world.clock.slept == [] and flaky.creates == 1
    assert len(flaky.keys()) == FlakySink.batch_size
    after = world.sync()
    assert after.exit_code == EXIT_OK
    assert after.sinks[0].recovered == FlakySink.batch_size
    assert after.sinks[0].pushed == planned - FlakySink.batch_size
    assert len(flaky.keys()) == len(set(flaky.keys())) == planned


def test_a_retry_whose_create_may_have_landed_stops_there_and_says_so(world: World) -> None:
    """Refused, then on the retry the answer is lost: the retry stops (exit 75), the summary
    says why it is not sent again, and the next run finds the batch: each task once."""
    world.source("crm", 8)
    flaky = world.sink("flaky")
    flaky.failures = ["refused", "lost"]
    report = world.sync()
    sink = report.sinks[0]
    assert report.exit_code == EXIT_TEMPFAIL
    assert (sink.attempts, sink.stopped, sink.pending) == (2, True, report.tasks_planned)
    assert sink.not_retried is not None and "may have landed" in sink.not_retried
    assert "429" in sink.earlier_errors[0] and "may have been written" in sink.errors[-1]
    after = world.sync()
    assert after.exit_code == EXIT_OK and after.sinks[0].recovered == FlakySink.batch_size
    assert len(flaky.keys()) == len(set(flaky.keys())) == report.tasks_planned


def test_with_retries_off_a_stopped_sink_says_the_next_run_pushes(sqlite_world: World) -> None:
    """``[sync] retries = 0``: a refused push waits for the next run, and says so."""
    world = sqlite_world
    world.sync_table["retries"] = 0
    world.source("crm", 8)
    flaky = world.sink("flaky")
    flaky.failures = ["refused"]
    sink = world.sync().sinks[0]
    assert (sink.attempts, sink.stopped, flaky.creates) == (1, True, 1)
    assert sink.not_retried is not None and "retries = 0" in sink.not_retried


def test_refused_credentials_stop_that_sink_only_and_say_so(world: World) -> None:
    """A 401 on the first create: that sink stops (no retry, no wait) with its tasks left
    for the next run; the other sink takes every task."""
    world.source("crm", 8)
    flaky = world.sink("flaky")
    steady = world.sink("steady")
    flaky.failures = ["auth"]
    report = world.sync()
    first, second = report.sinks
    assert report.exit_code == EXIT_CONFIG
    assert (first.attempts, first.stopped, first.pending) == (1, True, report.tasks_planned)
    assert first.not_retried is None
    assert flaky.creates == 1 and world.clock.slept == []
    assert second.pushed == report.tasks_planned == len(steady.keys())
    as_json = report.to_json()["sinks"]["flaky"]
    assert (as_json["stopped"], as_json["pending"], as_json["attempts"]) == (
        True,
        report.tasks_planned,
        1,
    )


# -- the command line ----------------------------------------------------------------------


def test_the_json_and_the_summary_say_what_was_retried(tmp_path: Path) -> None:
    """``engage sync --json`` carries attempts, retried and the earlier errors per source
    and sink; the summary says which attempt failed and how the retry went."""
    with FakeServer() as fake:
        api = FeedApi(fake)
        api.feed("crm", 5)
        api.feed("mail", 5)
        api.outages["crm"] = [Outage(after=3, count=2)]
        api.outages["mail"] = [Outage(after=0, count=1000, status=401)]
        (tmp_path / "engage.toml").write_text(
            f"""
store = "engage.db"
internal_domains = ["ourco.com"]

[sync]
retry_wait = 0

[sources.crm]
plugin = "feed"
base_url = "{fake.url}"

[sources.mail]
plugin = "feed"
base_url = "{fake.url}"
"""
        )
        pm = make_plugin_manager(entry_points=False)
        pm.register(RetryKit(), name="retrykit")
        config = ["-c", str(tmp_path / "engage.toml")]
        as_of = ["--as-of", AS_OF.isoformat()]
        result = CliRunner().invoke(cli, [*config, "sync", "--json", *as_of], obj=App(None, pm=pm))
        assert result.exit_code == EXIT_CONFIG, result.stderr
        sources = json.loads(result.stdout)["sources"]
        assert (sources["crm"]["attempts"], sources["crm"]["retried"]) == (2, True)
        assert sources["crm"]["failed"] is False and len(sources["crm"]["earlier_errors"]) == 1
        assert (sources["mail"]["attempts"], sources["mail"]["retriable"]) == (1, False)
        api.feed("crm", 8)
        api.outages["crm"] = [Outage(after=5, count=2)]
        pm = make_plugin_manager(entry_points=False)
        pm.register(RetryKit(), name="retrykit")
        shown = CliRunner().invoke(cli, [*config, "sync", *as_of], obj=App(None, pm=pm))
    out = shown.stdout
    assert "source crm (feed): 3 records" in out and "ok after 2 attempts" in out
    assert "  attempt 1 failed: crm: feed crm: GET /crm/items failed 2 times" in out
    assert "needs a person: fix what the error names, then run again" in out


# -- the setting -----------------------------------------------------------------------------


def test_the_sync_table_is_checked() -> None:
    """``[sync]`` keys are checked like every other; the defaults are documented ones."""
    defaults = Config.from_dict({}).sync
    assert (defaults.retries, defaults.retry_wait, defaults.max_retry_wait) == (1, 10.0, 120.0)
    with pytest.raises(ConfigError, match=r"'sync.retries' expected a whole number from 0 to 5"):
        Config.from_dict({"sync": {"retries": 9}})
    with pytest.raises(ConfigError, match=r"'sync.retry_wait' expected seconds from 0 to 3600"):
        Config.from_dict({"sync": {"retry_wait": -1}})
    with pytest.raises(ConfigError, match=r"unknown key 'sync.retry'; did you mean"):
        Config.from_dict({"sync": {"retry": 1}})
