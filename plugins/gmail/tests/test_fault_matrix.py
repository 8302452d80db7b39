"""The fault matrix, Google cells: ``engage sync`` from a CSV export to Gmail drafts and Google
Tasks on the loopback fake, killed at named points, hit by storms (429, 403 rate limits, 5xx,
resets, hangs, creates whose answer is lost), robbed of its store and raced.

Every faulty run is the real command line in a child process (the kit's
:mod:`engage.testing.faults`). Kills wrap one named function and send ``SIGKILL`` at its n-th
call, at seeded offsets within the counts a clean run measured; product code is not changed.
Storms are scripted on the fake from a seeded request offset, in bursts the retry budget covers.
After the fault the sync runs again, normally, and every cell asserts: no task twice (a draft or
a Google task per key), every row of the export in the store and every planned task in both
places, and at most one clear ``engage: ...`` line on stderr, never a traceback. The matrix is
printed at the end of the session; run it alone with ``pytest -m faults plugins/gmail/tests``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import random
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
from fake_google_write import FakeGoogleWrite, google_error
from fake_oauth import write_credentials

from engage.testing import Project as ProjectDir
from engage.testing.faults import Child, Matrix, Run, Runner, one_clear_line
from engage.testing.samples import (
    ACTIVITY_HEADER,
    CRM_EXPORT_FILE,
    CRM_EXPORT_SOURCE,
    activity_export,
)
from engage_gmail.gtasks import key_of

pytestmark = pytest.mark.faults

AS_OF = "2026-03-01T09:00:00+00:00"
#: Repetitions of each cell that draws an offset, each at its own seeded offset.
RUNS = 3
#: The config after the kit's ``[sources.export]`` table (CRM_EXPORT_SOURCE, reading export.csv).
SINKS = """
[sinks.drafts]
plugin = "gmail"
credentials_file = "gmail-authorized-user.json"
base_url = "{url}"
token_uri = "{token_uri}"

[sinks.todo]
plugin = "gtasks"
credentials_file = "gmail-authorized-user.json"
base_url = "{url}"
token_uri = "{token_uri}"

[sync]
retry_wait = 0  # a run's retry after an outage goes at once (it waits 10 s by default)
"""
#: The child's Google clients (and google-auth's token refresh) wait milliseconds between
#: tries, as many tries as ever, and give up reading after 0.3 s.
FAST = """
import engage.http as _http
import google.auth._exponential_backoff as _backoff
_http.RetryPolicy.__init__.__defaults__ = (6, 0.001, 0.01, 0.05)
_http.HttpClient.__init__.__kwdefaults__["timeout"] = (2.0, 0.3)
_base = _backoff.ExponentialBackoff.__mro__[1].__init__
_base.__defaults__ = (_base.__defaults__[0], 0.001, *_base.__defaults__[2:])
"""
MATRIX = Matrix("fault matrix: engage sync, CSV export to Gmail drafts and Google Tasks")


@pytest.fixture(scope="module")
def runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    """The fork server of this module's engage children; prints the matrix at the end."""
    MATRIX.register(request.config)
    preload = ["engage_csv", "engage_gmail", "engage_gmail.sinks", "google.auth", "requests"]
    server = Runner(preload, env={"ENGAGE_LOAD_PLUGINS": "csv,gmail"})
    yield server
    server.close()


#: About 80 rows for 16 customers (seeded, the same in every cell).
ROWS = activity_export(31, customers=16, per_customer=(2, 8))
HEADER = ACTIVITY_HEADER


@attrs.define
class Project:
    """A config directory syncing the export into the fake's drafts and task list."""

    root: Path
    runner: Runner
    fake: FakeGoogleWrite

    def __attrs_post_init__(self) -> None:
        sinks = SINKS.format(url=self.fake.url, token_uri=self.fake.oauth.token_uri)
        ProjectDir(self.root).config(CRM_EXPORT_SOURCE + sinks)
        write_credentials(self.root)
        with (self.root / CRM_EXPORT_FILE).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(ROWS)

    def start(self, *args: str, **kwargs: Any) -> Child:
        """Start ``engage ARGS`` as a child with fault points wrapped (see Runner.start)."""
        return self.runner.start(self.root, *args, prelude=FAST, **kwargs)

    def sync(self, *extra: str, **kwargs: Any) -> Run:
        """``engage sync --json`` at the fixed moment, to the end."""
        return self.runner.wait(self.start("sync", "--json", "--as-of", AS_OF, *extra, **kwargs))

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.root / "engage.db")) as db:
            return db.execute(sql).fetchall()

    def drop_store(self) -> None:
        for path in self.root.glob("engage.db*"):
            path.unlink()

    def task_keys(self, *, open_only: bool = False) -> list[str]:
        """The key of every Google task (each copy once)."""
        return [
            key_of(task.notes) or ""
            for task in self.fake.tasks.values()
            if not task.deleted and not (open_only and task.status == "completed")
        ]

    def verdict(self) -> tuple[int, int]:
        """(duplicates, lost): drafts or Google tasks sharing a key; rows of the export the
        store lacks, plus planned tasks without a draft or an open Google task."""
        drafts = self.fake.drafts_by_key()
        tasks = self.task_keys()
        duplicates = sum(len(ids) - 1 for ids in drafts.values()) + len(tasks) - len(set(tasks))
        planned = {key for (key,) in self.query("SELECT key FROM planned_tasks")}
        (stored,) = self.query("SELECT count(*) FROM touchpoints")[0]
        lost = len(ROWS) - stored + len(planned - set(drafts))
        lost += len(planned - set(self.task_keys(open_only=True)))
        return duplicates, lost

    def recovered(self, cell: str, fault: Run) -> dict[str, Any]:
        """Sync again normally; record the cell's row; assert one clear line, nothing
        doubled, nothing lost, nothing left pending. Returns the last sync's report."""
        self.fake.server._faults.clear()
        again = self.sync()
        duplicates, lost = self.verdict()
        hide = {f"{self.root}/": "", self.fake.url: "URL"}
        MATRIX.recovered(cell, fault, again, duplicates, lost, hide=hide)
        assert self.query("SELECT key FROM ledger WHERE status = 'pending'") == []
        return again.report


@pytest.fixture
def fake() -> Iterator[FakeGoogleWrite]:
    with FakeGoogleWrite() as fake:
        fake.add_message("Ann <ann1@c01.com>", "carol@ourco.com", "Rollout", message_id="<r@c01>")
        yield fake


@pytest.fixture
def project(tmp_path: Path, runner: Runner, fake: FakeGoogleWrite) -> Project:
    return Project(tmp_path, runner, fake)


@attrs.frozen
class Baseline:
    """How often a clean run hits each kill point, and how many requests it sends."""

    counts: dict[str, int]
    requests: int
    tasks: int


KILL_POINTS: dict[str, dict[str, Any]] = {
    "between intent and create": {
        "target": "engage.store.sqlite:SQLiteStore.record_intent",
        "kind": "after",
    },
    "draft landed, answer unread": {
        "target": "requests.sessions:Session.send",
        "kind": "after",
        "url": "/gmail/v1/users/me/drafts",
        "method": "POST",
    },
    "Google task landed, answer unread": {
        "target": "requests.sessions:Session.send",
        "kind": "after",
        "url": "/tasks/v1/lists/",
        "method": "POST",
    },
    "after drafts create, before ledger": {
        "target": "engage_gmail.drafts:GmailDraftsSink.create",
        "kind": "after",
    },
    "after Google Tasks create, before ledger": {
        "target": "engage_gmail.gtasks:GoogleTasksSink.create",
        "kind": "after",
    },
}


def counted(point: Mapping[str, Any]) -> str:
    return f"{point['target']}#{point['kind']}{point.get('url', '')}{point.get('method', '')}"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory, runner: Runner) -> Baseline:
    """One clean sync, counting every kill point and request."""
    root = tmp_path_factory.mktemp("baseline")
    with FakeGoogleWrite() as fake:
        clean = Project(root, runner, fake)
        run = clean.sync(points=list(KILL_POINTS.values()), counts=root / "counts.json")
        assert run.code == 0, run.stderr
        assert clean.verdict() == (0, 0)
        tasks = run.report["tasks_planned"]
        assert tasks > 20  # more than one batch of drafts
        counts = json.loads((root / "counts.json").read_text())
        return Baseline(counts, len(fake.server.requests), tasks)


# -- SIGKILL at named points -------------------------------------------------------------------


@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("cell", list(KILL_POINTS))
def test_a_sync_killed_at_a_named_point_recovers_without_duplicates_or_losses(
    project: Project, baseline: Baseline, cell: str, run: int
) -> None:
    """SIGKILL at a seeded offset of the named point, then a normal sync: every row stored,
    every planned task drafted once and in Google Tasks once."""
    point = dict(KILL_POINTS[cell])
    point["nth"] = random.Random(f"{cell}/{run}").randint(1, baseline.counts[counted(point)])
    killed = project.sync(points=[point])
    assert killed.killed, f"the kill point was not reached: {killed.stderr}"
    report = project.recovered(f"kill: {cell}", killed)
    assert report["tasks_planned"] == baseline.tasks


# -- storms ------------------------------------------------------------------------------------

Storm = Callable[[FakeGoogleWrite, random.Random], None]


def _rate_limited(fake: FakeGoogleWrite, status: int, count: int) -> None:
    reason = "rateLimitExceeded" if status == 429 else "userRateLimitExceeded"
    body = google_error(status, "Rate Limit Exceeded", reason, "RESOURCE_EXHAUSTED").body
    fake.server.fail_next(status, count, body=body)


def server_errors(fake: FakeGoogleWrite, rng: random.Random) -> None:
    for _ in range(rng.randint(1, 4)):
        fake.server.fail_next(rng.choice([500, 502, 503, 504]))


#: Each storm scripts one burst of faults, small enough for the retry budget (six tries).
STORMS: dict[str, Storm] = {
    "429 rate limits": lambda fake, rng: _rate_limited(fake, 429, rng.randint(1, 4)),
    "403 rate limits": lambda fake, rng: _rate_limited(fake, 403, rng.randint(1, 4)),
    "5xx": lambda fake, rng: server_errors(fake, rng),
    "connection reset": lambda fake, rng: fake.server.drop_next(rng.randint(1, 4)),
    "create lands, answer lost": lambda fake, rng: fake.lose_replies(rng.randint(1, 3)),
}


def storm_at(fake: FakeGoogleWrite, request: int, bursts: list[Callable[[], None]]) -> None:
    """Start the bursts at the ``request``-th API request (retries count), one every 25.

    The OAuth token endpoint is spared: its faults have their own test (see
    :func:`test_a_rate_limited_token_refresh_is_temporary`).
    """
    server = fake.server
    real = server._serve
    seen = [0]

    def serve(handler: Any) -> None:
        if handler.path.startswith("/token"):
            with server._lock:
                waiting, server._faults = server._faults, []
            try:
                return real(handler)
            finally:
                with server._lock:
                    server._faults[:0] = waiting
        seen[0] += 1
        offset = seen[0] - request
        if offset >= 0 and offset % 25 == 0 and offset // 25 < len(bursts):
            bursts[offset // 25]()
        real(handler)

    server._serve = serve  # type: ignore[method-assign]


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


def hang(fake: FakeGoogleWrite, hung: Callable[[Any], bool], seconds: float = 0.5) -> Any:
    """Requests for which ``hung(handler)`` is true wait ``seconds`` (past the child's read
    timeout) before the fake handles them. Returns an event set when all have been handled."""
    server = fake.server
    real = server._serve
    busy = [0]
    done = threading.Event()
    done.set()

    def serve(handler: Any) -> None:
        if not hung(handler):
            return real(handler)
        busy[0] += 1
        done.clear()
        try:
            time.sleep(seconds)
            return real(handler)
        finally:
            busy[0] -= 1
            if not busy[0]:
                done.set()

    server._serve = serve  # type: ignore[method-assign]
    return done


@pytest.mark.parametrize("run", range(RUNS))
def test_hangs_on_reads_are_ridden_out(project: Project, baseline: Baseline, run: int) -> None:
    """Up to three reads (lists, gets, the token) hang past the read timeout from a seeded
    request on: each is retried, the sync succeeds, nothing is doubled or lost."""
    rng = random.Random(f"hangs/{run}")
    start, left = rng.randint(1, baseline.requests), [rng.randint(1, 3)]
    seen = [0]

    def hung(handler: Any) -> bool:
        seen[0] += 1
        creating = handler.command == "POST" and "/token" not in handler.path
        if seen[0] < start or not left[0] or creating:
            return False
        left[0] -= 1
        return True

    done = hang(project.fake, hung)
    stormy = project.sync()
    assert done.wait(10)
    assert stormy.code == 0, stormy.stderr
    project.recovered("storm: hang on reads (read timeout)", stormy)


CREATES = {"draft": "/gmail/v1/users/me/drafts", "Google task": "/tasks/v1/lists/"}


@pytest.mark.parametrize("create", list(CREATES))
def test_a_create_that_hangs_past_the_read_timeout_is_not_made_twice(
    project: Project, create: str
) -> None:
    """The first create POST hangs 1.5 s (the client gives up after 0.3 s), then lands: the
    sync must not have created the same draft or Google task again meanwhile."""
    first = [True]

    def hung(handler: Any) -> bool:
        if first[0] and handler.command == "POST" and CREATES[create] in handler.path:
            first[0] = False
            return True
        return False

    done = hang(project.fake, hung, 1.5)
    slow = project.sync()
    assert done.wait(10)  # the hung create has landed
    project.recovered(f"hang on a {create} create, lands late", slow)


def test_a_rate_limited_token_refresh_is_temporary(project: Project) -> None:
    """The token endpoint answers 429 four times (within engage's budget of six tries): the
    sync rides it out, or at worst exits 75 (try again later), never 78."""
    fake = project.fake
    real = fake.server._serve
    limited = [4]

    def serve(handler: Any) -> None:
        if handler.path.startswith("/token") and limited[0]:
            limited[0] -= 1
            _rate_limited(fake, 429, 1)
        real(handler)

    fake.server._serve = serve  # type: ignore[method-assign]
    refused = project.sync()
    project.recovered("token refresh: 4 x 429", refused)
    assert refused.code in (0, 75), refused.stderr


@pytest.mark.parametrize("run", range(2))
def test_an_outage_past_the_retry_budget_fails_in_one_line_and_loses_nothing(
    project: Project, baseline: Baseline, run: int
) -> None:
    """Google answers 503 for good from a seeded request on: the run exits non-zero with one
    line; once it is back, the next sync drafts and files everything once."""
    start = random.Random(f"outage/{run}").randint(1, baseline.requests)
    storm_at(project.fake, start, [lambda: project.fake.server.fail_next(503, 10_000)])
    down = project.sync()
    assert down.code not in (0, -9), down.stderr
    project.recovered("outage: 503 for good", down)


# -- a lost store, a restored backup, two syncs at once -----------------------------------------


def test_a_store_lost_after_a_full_sync_creates_nothing_again(project: Project) -> None:
    """The store is deleted after a full sync: the next one finds every draft and Google
    task by its key instead of creating it twice."""
    first = project.sync()
    assert first.code == 0, first.stderr
    project.drop_store()
    project.recovered("lost store", first)


@pytest.mark.parametrize("dry", [True, False], ids=["after a dry run", "after a sync"])
def test_a_restored_backup_creates_nothing_again(project: Project, dry: bool) -> None:
    """A backup taken before (part of) the push is put back after it: nothing is created
    twice."""
    taken = project.sync(*(["--dry-run"] if dry else []))
    assert taken.code == 0, taken.stderr
    backup = project.root / "backup.db"
    with (
        contextlib.closing(sqlite3.connect(project.root / "engage.db")) as live,
        contextlib.closing(sqlite3.connect(backup)) as copy,
    ):
        live.backup(copy)
    if not dry:  # lose the ledger's record of the last Google tasks: as if backed up mid-push
        with contextlib.closing(sqlite3.connect(backup)) as copy:
            copy.execute("DELETE FROM ledger WHERE rowid % 3 = 0")
            copy.commit()
    later = project.sync()
    assert later.code == 0, later.stderr
    project.drop_store()
    shutil.copy(backup, project.root / "engage.db")
    project.recovered("restored backup", later)


def test_two_syncs_started_together_one_wins_the_other_exits_75(project: Project) -> None:
    """Two syncs at once against Google: one runs, the other exits 75 with one line."""
    pause = {"target": "engage.sync:pull_source", "kind": "pause", "nth": 1, "seconds": 1.0}
    racers = [project.start("sync", "--json", "--as-of", AS_OF, points=[pause]) for _ in range(2)]
    runs = sorted((project.runner.wait(racer) for racer in racers), key=lambda r: r.code)
    assert [r.code for r in runs] == [0, 75], [r.stderr for r in runs]
    one_clear_line(runs[0])
    project.recovered("concurrent: two started together", runs[1])
