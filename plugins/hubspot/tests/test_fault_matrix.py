"""The fault matrix, HubSpot cells: ``engage sync`` from a fake HubSpot account back to its
tasks, killed at named points, hit by storms of 429/5xx/423/resets/hangs, robbed of its store
and raced.

Every faulty run is the real command line in a child process (the kit's
:mod:`engage.testing.faults`), talking to the loopback fake in this process. Kills wrap one
named function and send ``SIGKILL`` at its n-th call, at seeded offsets within the counts a
clean run measured; product code is not changed. Storms are scripted on the fake from a seeded
request offset, in bursts the retry budget covers (or, for an outage, that it does not). After
the fault the sync runs again, normally, and every cell asserts: no task twice in HubSpot (by
its key), every touchpoint of the account in the store and every planned task in HubSpot, and at
most one clear ``engage: ...`` line on stderr, never a traceback. The matrix is printed at the
end of the session; run it alone with ``pytest -m faults plugins/hubspot/tests``.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from fake_hubspot import FakeHubSpot

from engage.testing.faults import Matrix, Run, Runner
from engage_hubspot import mapping

pytestmark = pytest.mark.faults

#: Repetitions of each cell that draws an offset, each at its own seeded offset.
RUNS = 3
COMPANIES = 110  # two list pages of companies and contacts, more than one batch of tasks
CONFIG = """
store = "engage.db"
internal_domains = ["ourco.com"]
fallback_owner = "boss@ourco.com"

[sync]
retry_wait = 0  # a run's retry after an outage goes at once (it waits 10 s by default)

[sources.crm]
plugin = "hubspot"
base_url = "{url}"
searches_per_second = 1000
requests_per_10s = 100000

[sinks.tasks]
plugin = "hubspot"
base_url = "{url}"
requests_per_10s = 100000
searches_per_second = 1000
complete_cleared = true
"""
#: The child's HubSpot clients wait milliseconds, and give up reading after 0.3 s.
FAST = """
import engage_hubspot.client as _client
from engage.http import RetryPolicy as _Retry
_client.TIMING = _client.Timing(
    ten_secondly=0.001, secondly=0.001, locked=0.001,
    retry=_Retry(attempts=6, base_delay=0.001, max_delay=0.005, max_retry_after=2.0),
    timeout=(2.0, 0.3),
)
"""
MATRIX = Matrix("fault matrix: engage sync, HubSpot to HubSpot tasks")


@pytest.fixture(scope="module")
def runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    """The fork server of this module's engage children; prints the matrix at the end."""
    MATRIX.register(request.config)
    preload = ["engage_hubspot", "engage_hubspot.sink", "engage_hubspot.source", "requests"]
    server = Runner(preload, env={"ENGAGE_LOAD_PLUGINS": "hubspot"})
    yield server
    server.close()


# -- the account and the project ---------------------------------------------------------------


def account(fake: FakeHubSpot) -> int:
    """Owners, companies with a contact each, and their engagements (seeded, with no record
    the source must refuse); returns how many engagements become touchpoints."""
    rng = random.Random(29)
    carol = fake.add_owner("carol@ourco.com", first="Carol")
    dave = fake.add_owner("dave@ourco.com", first="Dave")
    fake.add_owner("boss@ourco.com", first="Boss")
    day = 86_400_000
    engagements = 0
    for number in range(COMPANIES):
        domain = f"c{number:03d}.com"
        owner = carol if number % 3 else dave
        company = fake.add(
            "companies", {"name": f"Company {number}", "domain": domain, "hubspot_owner_id": owner}
        )
        contact = fake.add(
            "contacts",
            {"email": f"ann@{domain}", "firstname": "Ann", "associatedcompanyid": company},
        )
        for _ in range(rng.randint(1, 4)):
            kind = rng.choice(["emails", "calls", "meetings"])
            # half a day off any whole-day boundary, so seconds between runs change no plan
            when = fake.now_ms - rng.randint(2, 300) * day - day // 2
            props: dict[str, Any] = {"hs_timestamp": when, "hubspot_owner_id": owner}
            if kind == "emails":
                inbound = rng.random() < 0.5
                props |= {
                    "hs_email_direction": "INCOMING_EMAIL" if inbound else "EMAIL",
                    "hs_email_subject": "Hello",
                    "hs_email_status": "SENT",
                }
            elif kind == "calls":
                props |= {"hs_call_direction": "OUTBOUND", "hs_call_status": "COMPLETED"}
            else:
                props |= {"hs_meeting_outcome": "COMPLETED"}
            fake.add(kind, props, companies=[company], contacts=[contact])
            engagements += 1
    fake.now_ms += 60_000
    return engagements


@attrs.define
class Project:
    """A project directory whose engage.toml syncs the fake account into its own tasks."""

    root: Path
    runner: Runner
    fake: FakeHubSpot
    engagements: int

    def start(self, *args: str, points: Sequence[Mapping[str, Any]] = (), **kwargs: Any) -> Any:
        """Start ``engage ARGS`` as a child with fault points wrapped (see Runner.start)."""
        env = {"HUBSPOT_TOKEN": self.fake.token}
        return self.runner.start(self.root, *args, env=env, points=points, prelude=FAST, **kwargs)

    def sync(self, *extra: str, **kwargs: Any) -> Run:
        """``engage sync --json`` to the end."""
        return self.runner.wait(self.start("sync", "--json", *extra, **kwargs))

    def store(self, query: str) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.root / "engage.db")) as db:
            return db.execute(query).fetchall()

    def remote_keys(self, *, open_only: bool = False) -> list[str]:
        """The key of every task in the account (each task once per copy)."""
        keys = []
        for task in self.fake.objects["tasks"].values():
            props = task["properties"]
            if task["archived"] or (open_only and props.get("hs_task_status") == "COMPLETED"):
                continue
            keys.append(
                props.get("engage_task_key")
                or mapping.key_from_body(props.get("hs_task_body"))
                or ""
            )
        return keys

    def verdict(self) -> tuple[int, int]:
        """(duplicates, lost): tasks sharing a key; engagements the store lacks, plus
        planned tasks HubSpot lacks as an open task."""
        keys = self.remote_keys()
        planned = {key for (key,) in self.store("SELECT key FROM planned_tasks")}
        (stored,) = self.store("SELECT count(*) FROM touchpoints")[0]
        lost = self.engagements - stored + len(planned - set(self.remote_keys(open_only=True)))
        return len(keys) - len(set(keys)), lost

    def recovered(self, cell: str, fault: Run, *extra: str) -> dict[str, Any]:
        """Sync again normally (with ``extra`` arguments); record the cell's row; assert one
        clear line, nothing doubled, nothing lost, nothing left pending. Returns the last
        sync's report."""
        self.fake._faults.clear()
        again = self.sync(*extra)
        duplicates, lost = self.verdict()
        hide = {f"{self.root}/": "", self.fake.url: "URL"}
        MATRIX.recovered(cell, fault, again, duplicates, lost, hide=hide)
        assert self.store("SELECT key FROM ledger WHERE status = 'pending'") == []
        return again.report


@pytest.fixture
def project(tmp_path: Path, runner: Runner, fake: FakeHubSpot) -> Project:
    (tmp_path / "engage.toml").write_text(CONFIG.format(url=fake.url))
    return Project(tmp_path, runner, fake, account(fake))


@attrs.frozen
class Baseline:
    """How often a clean run hits each kill point, and how many requests it sends."""

    counts: dict[str, int]
    requests: int
    tasks: int


KILL_POINTS: dict[str, dict[str, Any]] = {
    "mid-pull page": {"target": "engage_hubspot.source:HubSpotSource.pull", "kind": "items"},
    "after checkpoint commit": {
        "target": "engage_hubspot.source:HubSpotSource.pull",
        "kind": "checkpoint",
    },
    "between intent and create": {
        "target": "engage.store.sqlite:SQLiteStore.record_intent",
        "kind": "after",
    },
    "create landed, answer unread": {
        "target": "requests.sessions:Session.send",
        "kind": "after",
        "url": "/tasks/batch/create",
    },
    "after create, before ledger": {
        "target": "engage_hubspot.sink:HubSpotSink.create",
        "kind": "after",
    },
}


def counted(point: Mapping[str, Any]) -> str:
    return f"{point['target']}#{point['kind']}{point.get('url') or ''}"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory, runner: Runner) -> Baseline:
    """One clean sync of a fresh account, counting every kill point and request."""
    root = tmp_path_factory.mktemp("baseline")
    fake = FakeHubSpot()
    fake.start()
    try:
        (root / "engage.toml").write_text(CONFIG.format(url=fake.url))
        clean = Project(root, runner, fake, account(fake))
        run = clean.sync(points=list(KILL_POINTS.values()), counts=root / "counts.json")
        assert run.code == 0, run.stderr
        assert clean.verdict() == (0, 0)
        tasks = run.report["tasks_planned"]
        assert tasks > 100  # two batches
        return Baseline(json.loads((root / "counts.json").read_text()), len(fake.requests), tasks)
    finally:
        fake.stop()


# -- SIGKILL at named points -------------------------------------------------------------------


@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("cell", list(KILL_POINTS))
def test_a_sync_killed_at_a_named_point_recovers_without_duplicates_or_losses(
    project: Project, baseline: Baseline, cell: str, run: int
) -> None:
    """SIGKILL at a seeded offset of the named point, then a normal sync: every engagement
    stored, every planned task in HubSpot once."""
    point = dict(KILL_POINTS[cell])
    point["nth"] = random.Random(f"{cell}/{run}").randint(1, baseline.counts[counted(point)])
    killed = project.sync(points=[point])
    assert killed.code == -9, f"the kill point was not reached: {killed.stderr}"
    report = project.recovered(f"kill: {cell}", killed)
    assert report["tasks_planned"] == baseline.tasks


# -- storms ------------------------------------------------------------------------------------

Storm = Callable[[FakeHubSpot, random.Random], None]


def server_errors(fake: FakeHubSpot, rng: random.Random) -> None:
    for _ in range(rng.randint(1, 5)):
        fake.fail_next(rng.choice([500, 502, 503, 504]))


#: Each storm scripts one burst of faults on the fake, small enough for the retry budget
#: (six tries) to ride out.
STORMS: dict[str, Storm] = {
    "429 rate limits": lambda fake, rng: fake.rate_limit_next(
        rng.choice(["TEN_SECONDLY_ROLLING", "SECONDLY"]), rng.randint(1, 4)
    ),
    "5xx": lambda fake, rng: server_errors(fake, rng),
    "423 locked": lambda fake, rng: fake.lock_next(rng.randint(1, 4)),
    "connection reset": lambda fake, rng: fake.drop_next(rng.randint(1, 5)),
    "hang (read timeout)": lambda fake, rng: fake.slow_next(0.5, rng.randint(1, 2)),
}


def storm_at(fake: FakeHubSpot, request: int, bursts: list[Callable[[], None]]) -> None:
    """Start the bursts at the ``request``-th request (retries count), one every 7 requests."""
    real = fake._serve
    seen = [0]

    def serve(handler: Any) -> None:
        seen[0] += 1
        offset = seen[0] - request
        if offset >= 0 and offset % 7 == 0 and offset // 7 < len(bursts):
            bursts[offset // 7]()
        real(handler)

    fake._serve = serve  # type: ignore[method-assign]


@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("cell", list(STORMS))
def test_a_storm_within_the_retry_budget_is_ridden_out(
    project: Project, baseline: Baseline, cell: str, run: int
) -> None:
    """Up to three bursts of the fault from a seeded request on: the sync succeeds, nothing
    is doubled or lost."""
    rng = random.Random(f"{cell}/{run}")
    storm = STORMS[cell]
    start = rng.randint(1, baseline.requests)
    storm_at(project.fake, start, [lambda: storm(project.fake, rng) for _ in range(3)])
    stormy = project.sync()
    assert stormy.code == 0, stormy.stderr
    project.recovered(f"storm: {cell}", stormy)


OUTAGES: dict[str, Callable[[FakeHubSpot], None]] = {
    "503 for good": lambda fake: fake.fail_next(503, 10_000),
    "connection reset for good": lambda fake: fake.drop_next(10_000),
    "429 daily limit": lambda fake: fake.rate_limit_next("DAILY", 10_000),
}


@pytest.mark.parametrize("run", range(2))
@pytest.mark.parametrize("cell", list(OUTAGES))
def test_an_outage_past_the_retry_budget_fails_in_one_line_and_loses_nothing(
    project: Project, baseline: Baseline, cell: str, run: int
) -> None:
    """The API fails for good from a seeded request on: the run exits non-zero with one
    line; once it is back, the next sync stores and pushes everything once."""
    start = random.Random(f"{cell}/{run}").randint(1, baseline.requests)
    storm_at(project.fake, start, [lambda: OUTAGES[cell](project.fake)])
    down = project.sync()
    assert down.code not in (0, -9), down.stderr
    assert len(down.stderr.strip().splitlines()) == 1
    project.recovered(f"outage: {cell}", down)


def hang_first_create(fake: FakeHubSpot, seconds: float) -> threading.Event:
    """The first ``batch/create`` of tasks waits ``seconds`` (past the child's read timeout)
    before the fake handles it; the event is set once it has."""
    real = fake._serve
    hung = [False]
    done = threading.Event()

    def serve(handler: Any) -> None:
        if hung[0] or handler.command != "POST" or "/tasks/batch/create" not in handler.path:
            return real(handler)
        hung[0] = True
        time.sleep(seconds)
        try:
            return real(handler)
        finally:
            done.set()

    fake._serve = serve  # type: ignore[method-assign]
    return done


def test_a_create_that_hangs_past_the_read_timeout_lands_once(project: Project) -> None:
    """The first batch of tasks hangs 1.5 s (the client gives up after 0.3 s), then lands:
    HubSpot refuses the keys it holds, so no task is made twice."""
    done = hang_first_create(project.fake, 1.5)
    slow = project.sync()
    assert done.wait(10)
    project.recovered("hang on a create, lands late", slow)


def test_without_the_key_property_a_create_that_hangs_lands_once(project: Project) -> None:
    """The same with ``task_key_property = ""`` (a portal without the schema scope): the sink
    must not create the batch again while the first request is still in flight. The mode
    warns on every run by design, so the runs are --quiet: stderr holds errors only."""
    config = project.root / "engage.toml"
    config.write_text(config.read_text() + 'task_key_property = ""\n')
    done = hang_first_create(project.fake, 1.5)
    slow = project.sync("--quiet")
    assert done.wait(10)
    project.recovered("hang on a create, no key property", slow, "--quiet")


# -- a lost store, a restored backup, two syncs at once -----------------------------------------


def drop_store(project: Project) -> None:
    for path in project.root.glob("engage.db*"):
        path.unlink()


def test_a_store_lost_after_a_full_sync_creates_no_task_again(project: Project) -> None:
    """The store is deleted after a full sync: the next one pulls everything again and finds
    every task in HubSpot instead of creating it twice."""
    first = project.sync()
    assert first.code == 0, first.stderr
    drop_store(project)
    project.recovered("lost store", first)


@pytest.mark.parametrize("run", range(2))
def test_a_restored_backup_creates_no_task_again(project: Project, run: int) -> None:
    """A backup (after a dry run, or after a sync that was then followed by new activity) is
    put back: the next sync finds the tasks HubSpot holds and creates none twice."""
    dry = run == 0
    taken = project.sync(*(["--dry-run"] if dry else []))
    assert taken.code == 0, taken.stderr
    backup = project.root / "backup.db"
    with (
        contextlib.closing(sqlite3.connect(project.root / "engage.db")) as live,
        contextlib.closing(sqlite3.connect(backup)) as copy,
    ):
        live.backup(copy)
    if not dry:  # new activity: a customer writes, so a new task is planned and pushed
        company = next(iter(project.fake.objects["companies"]))
        project.fake.add(
            "emails",
            {"hs_timestamp": project.fake.now_ms - 4 * 86_400_000,
             "hs_email_direction": "INCOMING_EMAIL", "hs_email_status": "SENT"},
            companies=[company],
        )  # fmt: skip
        project.engagements += 1
        project.fake.now_ms += 60_000
    later = project.sync()
    assert later.code == 0, later.stderr
    drop_store(project)
    shutil.copy(backup, project.root / "engage.db")
    project.recovered("restored backup", later)


def test_two_syncs_started_together_one_wins_the_other_exits_75(project: Project) -> None:
    """Two syncs at once against HubSpot: one runs, the other exits 75 with one line."""
    pause = {"target": "engage.sync:pull_source", "kind": "pause", "nth": 1, "seconds": 1.0}
    racers = [project.start("sync", "--json", points=[pause]) for _ in range(2)]
    runs = sorted((project.runner.wait(racer) for racer in racers), key=lambda r: r.code)
    assert [r.code for r in runs] == [0, 75], [r.stderr for r in runs]
    project.recovered("concurrent: two started together", runs[1])
