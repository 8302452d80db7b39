"""The fault matrix, core and CSV cells: ``engage sync`` killed, starved of disk, raced and
robbed of its store, from a CSV export to two CSV task files.

Every cell runs the real command line in a child process (the kit's
:mod:`engage.testing.faults`). Kills wrap one named function of engage or its CSV plugin and
send the child ``SIGKILL`` at its n-th call; product code is not changed. Offsets are drawn per
cell and repetition from a seeded generator, within the counts a clean run measured (the
``baseline``). After the fault the sync runs again, normally, and every cell asserts:

- **no duplicate** in either task file (a key on two rows);
- **nothing lost**: the store holds as many touchpoints as the export has rows, and the task
  files hold exactly the tasks a clean run plans;
- **one clear line**: a failing run says what happened in one ``engage: ...`` line on stderr,
  never a traceback.

The rows land in a matrix printed at the end of the session (cell × runs × duplicates × lost
× message). Run alone with ``pytest -m faults tests``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import random
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from engage.testing.faults import Disk, Matrix, Run, Runner, one_clear_line
from engage.testing.samples import ACTIVITY_HEADER, activity_export

pytestmark = pytest.mark.faults

AS_OF = "2026-03-01T09:00:00+00:00"
#: Repetitions of each cell that draws an offset, each at its own seeded offset.
RUNS = 3
TODO, TEAM = "follow-ups.csv", "team/follow-ups.csv"
CONFIG = """
store = "{store}"
internal_domains = ["ourco.com"]

[sources.export]
plugin = "csv"
path = "exports/*.csv"
columns = {{ occurred_at = "Activity Date", email = "Contact Email", channel = "Type", owner = "Rep" }}

[sinks.todo]
plugin = "csv"
path = "{todo}"

[sinks.team]
plugin = "csv"
path = "{team}"
"""
MATRIX = Matrix("fault matrix: engage sync, CSV export to CSV task files")


@pytest.fixture(scope="module")
def runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    """The fork server of this module's engage children; prints the matrix at the end."""
    MATRIX.register(request.config)
    server = Runner(["engage_csv", "engage_csv.sink"], env={"ENGAGE_LOAD_PLUGINS": "csv"})
    yield server
    server.close()


# -- the project: a CRM export in three files, two task files -----------------------------------


#: About 300 rows for 30 customers over 14 months (seeded, the same in every cell).
ROWS = activity_export(13, customers=30, per_customer=(4, 16))
HEADER = ACTIVITY_HEADER


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@attrs.define
class Project:
    """A config directory: the export in ``exports/``, the store, two task files."""

    root: Path
    runner: Runner
    store: str = "engage.db"
    todo: str = TODO

    def __attrs_post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        config = CONFIG.format(store=self.store, todo=self.todo, team=TEAM)
        (self.root / "engage.toml").write_text(config)
        self.export()

    def export(self, files: int = 3) -> None:
        """Write the export's first ``files`` files (of three)."""
        exports = self.root / "exports"
        exports.mkdir(exist_ok=True)
        for part in range(3):
            path = exports / f"part{part}.csv"
            if part >= files:
                path.unlink(missing_ok=True)
                continue
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(HEADER)
                writer.writerows(ROWS[part::3])

    def sync(self, *extra: str, **faults: Any) -> Run:
        """``engage sync --json`` at the fixed moment, with ``faults`` (see Runner.start)."""
        return self.runner.run(self.root, "sync", "--json", "--as-of", AS_OF, *extra, **faults)

    def files(self) -> dict[str, Path]:
        return {"todo": self.root / self.todo, "team": self.root / TEAM}

    def keys(self, sink: str) -> list[str]:
        """The key of every row of a sink's task file."""
        return [row["key"] for row in read_rows(self.files()[sink])]

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.root / self.store)) as db:
            return db.execute(sql).fetchall()

    def drop_store(self) -> None:
        for path in (self.root / self.store).parent.glob("engage.db*"):
            path.unlink()

    def verdict(self) -> tuple[int, int]:
        """(duplicates, lost): rows of a task file sharing a key; rows of the export the
        store lacks, plus tasks the store plans that a file lacks as an open row."""
        planned = {key for (key,) in self.query("SELECT key FROM planned_tasks")}
        (stored,) = self.query("SELECT count(*) FROM touchpoints")[0]
        duplicates, lost = 0, len(ROWS) - stored
        for path in self.files().values():
            rows = read_rows(path)
            duplicates += len(rows) - len({row["key"] for row in rows})
            lost += len(planned - {row["key"] for row in rows if row["status"] == "open"})
        return duplicates, lost

    def recovered(self, cell: str, fault: Run, *, prelude: str = "") -> dict[str, Any]:
        """Sync again normally; record the cell's row; assert one clear line, nothing
        doubled, nothing lost, nothing left pending. Returns the last sync's report."""
        again = self.sync(prelude=prelude)
        duplicates, lost = self.verdict()
        MATRIX.recovered(cell, fault, again, duplicates, lost, hide={f"{self.root}/": ""})
        assert self.query("SELECT key FROM ledger WHERE status = 'pending'") == []
        return again.report


@pytest.fixture
def project(tmp_path: Path, runner: Runner) -> Project:
    return Project(tmp_path / "project", runner)


@attrs.frozen
class Baseline:
    """What a clean run does: the tasks each file gets, and how often each kill point is hit."""

    keys: dict[str, frozenset[str]]
    counts: dict[str, int]


KILL_POINTS = {
    "mid-pull": ("engage_csv.source:CsvSource.pull", "items"),
    "after checkpoint commit": ("engage_csv.source:CsvSource.pull", "checkpoint"),
    "between intent and create": ("engage.store.sqlite:SQLiteStore.record_intent", "after"),
    "after create, before ledger": ("engage_csv.sink:CsvSink.create", "after"),
    "mid task-file write": ("engage_csv.taskfile:write_all", "cut"),
}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory, runner: Runner) -> Baseline:
    """One clean sync, counting the calls of every kill point."""
    clean = Project(tmp_path_factory.mktemp("baseline"), runner)
    points = [{"target": t, "kind": k} for t, k in KILL_POINTS.values()]
    run = clean.sync(points=points, counts=clean.root / "counts.json")
    assert run.code == 0, run.stderr
    assert clean.verdict() == (0, 0)
    keys = {sink: frozenset(clean.keys(sink)) for sink in clean.files()}
    assert keys["todo"] and keys["todo"] == keys["team"]
    assert len(keys["todo"]) == run.report["tasks_planned"]
    return Baseline(keys, json.loads((clean.root / "counts.json").read_text()))


# -- SIGKILL at named points -------------------------------------------------------------------


@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("cell", list(KILL_POINTS))
def test_a_sync_killed_at_a_named_point_recovers_without_duplicates_or_losses(
    project: Project, baseline: Baseline, cell: str, run: int
) -> None:
    """SIGKILL at a seeded offset of the named point, then a normal sync: every row stored
    once, each file holds exactly the tasks a clean run writes, once."""
    target, kind = KILL_POINTS[cell]
    rng = random.Random(f"{cell}/{run}")
    point: dict[str, Any] = {"target": target, "kind": kind}
    point["nth"] = rng.randint(1, baseline.counts[f"{target}#{kind}"])
    if kind == "cut":
        point["fraction"] = rng.random()
    killed = project.sync(points=[point])
    assert killed.killed, f"the kill point was not reached: {killed.stderr}"
    project.recovered(f"kill: {cell}", killed)
    for sink in project.files():
        assert set(project.keys(sink)) == baseline.keys[sink]


# -- a full disk -------------------------------------------------------------------------------


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    """A 2 MiB disk at tmp_path/project/disk."""
    (tmp_path / "project").mkdir()
    small = Disk(tmp_path / "project" / "disk", 2 << 20)
    try:
        yield small
    finally:
        small.close()


@pytest.mark.parametrize("run", range(RUNS))
def test_a_full_disk_under_the_store_loses_nothing(
    tmp_path: Path, runner: Runner, disk: Disk, run: int
) -> None:
    """The store's disk fills up mid-sync (a seeded amount left free): one line says so; once
    space is freed the next sync stores every row and writes every task once."""
    rng = random.Random(f"store disk/{run}")
    project = Project(tmp_path / "project", runner, store="disk/engage.db")
    project.export(files=1)
    first = project.sync()
    assert first.code == 0, first.stderr
    project.export()
    disk.fill(rng.randrange(0, 512 << 10, 4096))
    full = project.sync(prelude=disk.prelude)
    disk.free_all()
    assert not full.killed
    project.recovered("full disk: store", full)


@pytest.mark.parametrize("run", range(RUNS))
def test_a_full_disk_under_the_task_file_writes_every_task_once(
    tmp_path: Path, runner: Runner, disk: Disk, run: int
) -> None:
    """The task file's disk fills up mid-push: one line says so, no half row stays; once space
    is freed every task is in the file once."""
    rng = random.Random(f"task disk/{run}")
    project = Project(tmp_path / "project", runner, todo="disk/follow-ups.csv")
    project.export(files=1)
    first = project.sync()
    assert first.code == 0, first.stderr
    project.export()
    disk.fill(rng.randrange(0, 32 << 10, 1024))
    full = project.sync(prelude=disk.prelude)
    disk.free_all()
    assert not full.killed
    project.recovered("full disk: task file", full)


# -- a lost store, a restored backup ------------------------------------------------------------


def test_a_store_lost_after_a_full_sync_duplicates_nothing(project: Project) -> None:
    """The store is deleted after a full sync: the next one pulls everything again and finds
    every task in the files instead of writing it twice."""
    first = project.sync()
    assert first.code == 0, first.stderr
    project.drop_store()
    project.recovered("lost store", first)


@pytest.mark.parametrize("run", range(RUNS))
def test_a_restored_backup_duplicates_nothing(project: Project, tmp_path: Path, run: int) -> None:
    """A backup of the store (after a sync or a dry run of part of the export) is put back
    after later syncs pushed more: the next sync re-pulls what the backup lacks and writes
    no task twice."""
    rng = random.Random(f"backup/{run}")
    project.export(files=rng.choice([1, 2]))
    taken = project.sync(*(["--dry-run"] if rng.random() < 0.5 else []))
    assert taken.code == 0, taken.stderr
    with (
        contextlib.closing(sqlite3.connect(project.root / project.store)) as live,
        contextlib.closing(sqlite3.connect(tmp_path / "backup.db")) as backup,
    ):
        live.backup(backup)
    project.export()
    later = project.sync()
    assert later.code == 0, later.stderr
    project.drop_store()
    shutil.copy(tmp_path / "backup.db", project.root / project.store)
    project.recovered("restored backup", later)


# -- two syncs at once -------------------------------------------------------------------------


def test_a_second_sync_while_one_runs_exits_75_with_one_line(
    project: Project, runner: Runner, tmp_path: Path
) -> None:
    """One sync holds the store (paused inside its pull); another started then exits 75 at
    once with one line; the first finishes and nothing is doubled."""
    held, release = tmp_path / "held", tmp_path / "release"
    hold = {"target": "engage.sync:pull_source", "kind": "hold", "nth": 1,
            "held": str(held), "release": str(release)}  # fmt: skip
    first = runner.start(project.root, "sync", "--json", "--as-of", AS_OF, points=[hold])
    try:
        deadline = time.monotonic() + 60
        while not held.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert held.exists(), "the first sync never reached its pull"
        second = project.sync()
    finally:
        release.touch()
        winner = runner.wait(first)
    assert second.code == 75, second.stderr
    assert "another engage sync is running" in second.stderr
    assert winner.code == 0, winner.stderr
    project.recovered("concurrent: one while another holds the lock", second)


@pytest.mark.parametrize("run", range(RUNS))
def test_two_syncs_started_together_one_wins_the_other_exits_75(
    project: Project, runner: Runner, run: int
) -> None:
    """Two syncs started at the same moment (each pausing a second inside the lock): exactly
    one runs, the other exits 75 with one line."""
    pause = {"target": "engage.sync:pull_source", "kind": "pause", "nth": 1, "seconds": 1.0}
    args = ("sync", "--json", "--as-of", AS_OF)
    racers = [runner.start(project.root, *args, points=[pause]) for _ in range(2)]
    runs = sorted((runner.wait(racer) for racer in racers), key=lambda r: r.code)
    assert [r.code for r in runs] == [0, 75], [r.stderr for r in runs]
    one_clear_line(runs[0])
    project.recovered("concurrent: two started together", runs[1])
