"""engage.testing.faults: the one fault kit every fault matrix uses, and each of its faults
really happens.

The kit's mechanics are checked on a *probe*: a child whose prelude replaces ``engage``'s
``main`` by a small program calling named functions of a module of its own (``faultprobe``)
and printing, flushed, what it got, so a test sees how far the child came before its fault.
One test runs the real ``engage sync`` on the kit's sample project, killed and then recovered.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import errno
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from engage.testing import Project
from engage.testing.faults import Disk, Matrix, Run, Runner, one_clear_line
from engage.testing.samples import CRM_EXPORT, CRM_EXPORT_AS_OF, CRM_EXPORT_FILE, CRM_EXPORT_SOURCE

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parent.parent

#: The fault matrix of each distribution (each one's tests run on their own).
MATRICES = (
    "tests/test_fault_matrix.py",
    "plugins/hubspot/tests/test_fault_matrix.py",
    "plugins/gmail/tests/test_fault_matrix.py",
)

# -- one kit ------------------------------------------------------------------------------------


@pytest.mark.parametrize("matrix", MATRICES)
def test_every_fault_matrix_takes_its_tools_from_the_kit(matrix: str) -> None:
    """Each fault matrix imports its runner, matrix and checks from engage.testing.faults,
    and no test directory keeps a copy of the kit of its own."""
    path = ROOT / matrix
    if not path.exists():
        pytest.skip(f"{path} is not in this checkout")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    sources = {
        alias.name: node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    for name in ("Runner", "Matrix", "Run"):
        assert sources.get(name) == "engage.testing.faults", (matrix, name, sources.get(name))
    kit = {"Child", "Disk", "one_clear_line"} & set(sources)
    assert {sources[name] for name in kit} <= {"engage.testing.faults"}, sources
    assert not [module for module in sources.values() if "faultkit" in (module or "")]
    assert not (path.parent / "faultkit.py").exists(), f"{path.parent}/faultkit.py: use the kit"


def test_importing_the_kit_does_not_import_pytest() -> None:
    """engage.testing.faults needs only engage's own dependencies at run time."""
    code = (
        "import sys, engage.testing.faults; print(sorted({'pytest', '_pytest'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# -- the probe ----------------------------------------------------------------------------------

#: The probe's module: each word of argv is ``name=argument``; it prints what it did, flushed.
PROBE = r"""
import os, sys, time, types
from engage.adapters import Checkpoint

def step(number, request=None):
    print(f"step {number}", flush=True)
    return number

def numbers(count):
    yield from range(1, count + 1)

def pulled(count):
    for number in range(1, count + 1):
        yield number
        yield Checkpoint(str(number))

def write(fd, data):
    return os.write(fd, data)

def fill(path, size):
    try:
        with open(path, "wb") as handle:
            handle.write(b"x" * size)
    except OSError as error:
        print("error", errno_name(error), flush=True)
    else:
        print("wrote", size, flush=True)

def errno_name(error):
    import errno
    return errno.errorcode.get(error.errno, str(error.errno))

def main():
    for word in sys.argv[1:]:
        name, _, argument = word.partition("=")
        if name == "steps":
            for number in range(1, int(argument) + 1):
                step(number)
        elif name == "requests":  # METHOD:URL,...
            for number, request in enumerate(argument.split(","), 1):
                method, _, url = request.partition(":")
                step(number, types.SimpleNamespace(method=method, url=url))
        elif name == "numbers":
            for item in numbers(int(argument)):
                print("item", item, flush=True)
        elif name == "pulled":
            for item in pulled(int(argument)):
                print("item", item if isinstance(item, int) else "checkpoint", flush=True)
        elif name == "write":  # PATH:CHUNK,CHUNK,...
            path, _, chunks = argument.partition(":")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            for chunk in chunks.split(","):
                write(fd, chunk.encode())
            os.close(fd)
            print("closed", flush=True)
        elif name == "fill":  # PATH:SIZE
            path, _, size = argument.partition(":")
            fill(path, int(size))
        elif name == "env":
            for variable in argument.split(","):
                print(variable, os.environ.get(variable, "-"), flush=True)
        elif name == "cwd":
            print("cwd", os.getcwd(), flush=True)
        elif name == "sleep":
            time.sleep(float(argument))
        elif name == "fail":
            raise SystemExit(f"engage: {argument}")
"""

#: The prelude installing the probe in place of engage's main.
PRELUDE = f"""
import sys as _sys, types as _types, engage.cli as _cli
_probe = _types.ModuleType("faultprobe")
exec({PROBE!r}, _probe.__dict__)
_sys.modules["faultprobe"] = _probe
_cli.main = _probe.main
"""


@pytest.fixture(scope="module")
def runner() -> Iterator[Runner]:
    """A fork server started while this process has an ``ENGAGE_*`` variable of its own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENGAGE_FROM_THE_SHELL", "leaked")
        patch.setenv("FAULTS_FROM_THE_SHELL", "kept")
        server = Runner(["requests"], env={"FAULTS_EVERY_CHILD": "given"})
    yield server
    server.close()


def probe(
    runner: Runner,
    cwd: Path,
    *words: str,
    points: Sequence[Mapping[str, Any]] = (),
    prelude: str = "",
    **kwargs: Any,
) -> Run:
    """Run the probe with ``words`` and fault ``points`` (on ``faultprobe`` functions)."""
    return runner.run(cwd, *words, points=points, prelude=PRELUDE + prelude, **kwargs)


def said(run: Run) -> list[str]:
    return run.stdout.splitlines()


def point(function: str, kind: str, nth: int = 0, **more: Any) -> dict[str, Any]:
    return {"target": f"faultprobe:{function}", "kind": kind, "nth": nth, **more}


def test_a_child_without_faults_runs_to_the_end(runner: Runner, tmp_path: Path) -> None:
    """No point: the probe runs every step and exits 0, in the directory it was given."""
    run = probe(runner, tmp_path, "steps=3", "cwd")
    assert run.code == 0 and not run.killed, run.stderr
    assert said(run) == ["step 1", "step 2", "step 3", f"cwd {tmp_path}"]
    assert run.message == "ok"


def test_a_child_gets_the_runners_environment_less_engages_own(
    runner: Runner, tmp_path: Path
) -> None:
    """A child has this process's environment less its ENGAGE_* variables, the runner's
    ``env`` and the run's own ``env``."""
    names = "FAULTS_FROM_THE_SHELL,ENGAGE_FROM_THE_SHELL,FAULTS_EVERY_CHILD,FAULTS_THIS_RUN"
    run = probe(runner, tmp_path, f"env={names}", env={"FAULTS_THIS_RUN": "mine"})
    assert said(run) == [
        "FAULTS_FROM_THE_SHELL kept",
        "ENGAGE_FROM_THE_SHELL -",
        "FAULTS_EVERY_CHILD given",
        "FAULTS_THIS_RUN mine",
    ]


#: Each kill kind: the probe's words, the point (function, kind, nth), what the child printed
#: before it died.
KILLS = {
    "before: on entering the 3rd call": ("steps=5", ("step", "before", 3), ["step 1", "step 2"]),
    "after: once the 3rd call returned": (
        "steps=5",
        ("step", "after", 3),
        ["step 1", "step 2", "step 3"],
    ),
    "items: instead of handing over the 4th item": (
        "numbers=5",
        ("numbers", "items", 4),
        ["item 1", "item 2", "item 3"],
    ),
    "checkpoint: asked for more after the 2nd checkpoint (handed over: the sync commits it)": (
        "pulled=4",
        ("pulled", "checkpoint", 2),
        ["item 1", "item checkpoint", "item 2", "item checkpoint"],
    ),
}


@pytest.mark.parametrize("kill", list(KILLS))
def test_a_kill_point_kills_the_child_there(runner: Runner, tmp_path: Path, kill: str) -> None:
    words, (function, kind, nth), printed = KILLS[kill]
    run = probe(runner, tmp_path, words, points=[point(function, kind, nth)])
    assert run.killed and run.code == -9, run.stderr
    assert said(run) == printed
    assert run.message == "(killed)"


@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_cut_writes_a_fraction_of_the_nth_write_then_kills(
    runner: Runner, tmp_path: Path, fraction: float
) -> None:
    target = tmp_path / "out.txt"
    cut = point("write", "cut", 2, fraction=fraction)
    run = probe(runner, tmp_path, f"write={target}:aaaa,bbbb,cccc", points=[cut])
    assert run.killed
    assert target.read_text() == "aaaa" + "bbbb"[: int(4 * fraction)]


def test_hold_waits_at_the_nth_call_until_released(runner: Runner, tmp_path: Path) -> None:
    """At the n-th call the child creates ``held`` and goes no further until ``release``
    exists."""
    held, release = tmp_path / "held", tmp_path / "release"
    hold = point("step", "hold", 2, held=str(held), release=str(release))
    child = runner.start(tmp_path, "steps=3", points=[hold], prelude=PRELUDE)
    try:
        deadline = time.monotonic() + 30
        while not held.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert held.exists(), "the child never reached its second step"
        time.sleep(0.2)
        assert child.stdout.read_text().splitlines() == ["step 1"]
    finally:
        release.touch()
        run = runner.wait(child)
    assert run.code == 0, run.stderr
    assert said(run) == ["step 1", "step 2", "step 3"]


def test_pause_sleeps_at_the_nth_call(runner: Runner, tmp_path: Path) -> None:
    started = time.monotonic()
    run = probe(runner, tmp_path, "steps=2", points=[point("step", "pause", 2, seconds=0.5)])
    assert time.monotonic() - started >= 0.5
    assert run.code == 0 and said(run) == ["step 1", "step 2"]


def test_nth_zero_only_counts_into_the_counts_file(runner: Runner, tmp_path: Path) -> None:
    """A clean run with points at ``nth`` 0 writes how often each was reached, by
    ``target#kind`` (plus the url and method when the point names them)."""
    counts = tmp_path / "counts.json"
    points = [
        point("step", "before"),
        point("numbers", "items"),
        point("step", "after", url="/tasks", method="POST"),
    ]
    requests = "requests=POST:http://x/tasks,GET:http://x/tasks,POST:http://x/owners"
    run = probe(runner, tmp_path, "steps=3", "numbers=4", requests, points=points, counts=counts)
    assert run.code == 0, run.stderr
    assert json.loads(counts.read_text()) == {
        "faultprobe:step#before": 6,
        "faultprobe:numbers#items": 4,
        "faultprobe:step#after/tasksPOST": 1,
    }


def test_a_point_with_a_url_counts_only_the_calls_for_that_url_and_method(
    runner: Runner, tmp_path: Path
) -> None:
    """The second POST to /tasks kills the child; other calls do not count."""
    requests = "POST:http://x/tasks,GET:http://x/tasks,POST:http://x/owners,POST:http://x/tasks"
    kill = point("step", "before", 2, url="/tasks", method="POST")
    run = probe(runner, tmp_path, f"requests={requests}", points=[kill])
    assert run.killed
    assert said(run) == ["step 1", "step 2", "step 3"]


def test_an_unknown_kind_stops_the_child_with_its_name(runner: Runner, tmp_path: Path) -> None:
    run = probe(runner, tmp_path, "steps=1", points=[point("step", "melt", 1)])
    assert run.code == 1 and not run.killed
    assert "unknown fault kind 'melt'" in run.stderr
    assert said(run) == []


def test_a_child_past_its_timeout_is_killed(runner: Runner, tmp_path: Path) -> None:
    child = runner.start(tmp_path, "sleep=30", prelude=PRELUDE)
    started = time.monotonic()
    run = runner.wait(child, timeout=0.3)
    assert run.killed
    assert time.monotonic() - started < 10


def test_a_child_that_exits_with_a_message_says_it_on_stderr(
    runner: Runner, tmp_path: Path
) -> None:
    run = probe(runner, tmp_path, "fail=the store is locked")
    assert run.code == 1
    assert run.message == "engage: the store is locked"
    one_clear_line(run)


# -- a finished run -----------------------------------------------------------------------------


def test_a_runs_report_is_its_json_output() -> None:
    assert Run(0, '{"customers": 2}\n', "").report == {"customers": 2}
    assert Run(1, "", "engage: no\n").report == {}
    assert Run(0, "plain text\n", "").report == {}


def test_a_runs_message_is_its_stderr_on_one_line() -> None:
    assert Run(2, "", "engage: a\nengage: b\n").message == "engage: a | engage: b"
    assert Run(0, "", "").message == "ok"
    assert Run(-9, "", "engage: half\n").message == "(killed)"


@pytest.mark.parametrize(
    "stderr",
    [
        "Traceback (most recent call last):\n  ...\nValueError: x\n",
        "engage: one\nengage: two\n",
        "something else\n",
    ],
)
def test_one_clear_line_refuses_a_traceback_two_lines_or_a_stranger(stderr: str) -> None:
    with pytest.raises(AssertionError):
        one_clear_line(Run(1, "", stderr))


@pytest.mark.parametrize("stderr", ["", "engage: the disk is full\n"])
def test_one_clear_line_takes_nothing_or_engages_own_line(stderr: str) -> None:
    one_clear_line(Run(1, "", stderr))


# -- the matrix ---------------------------------------------------------------------------------


class Reporter:
    """What pytest's terminal reporter is to the matrix: sections and lines."""

    def __init__(self) -> None:
        self.out: list[str] = []

    def section(self, title: str) -> None:
        self.out.append(f"== {title}")

    def write_line(self, line: str) -> None:
        self.out.append(line)


def test_the_matrix_sums_each_cells_runs_and_lists_what_they_said() -> None:
    matrix = Matrix("fault matrix: a test")
    matrix.record("kill: mid-pull", 0, 0, "ok")
    matrix.record("kill: mid-pull", 1, 2, "ok")
    matrix.record("kill: mid-pull", 0, 1, "engage: " + "x" * 120)
    matrix.record("lost store", 0, 0, "ok")
    assert matrix.lines() == [
        "cell            runs  duplicates  lost  message",
        "kill: mid-pull     3           1     3  ok",
        "                                        engage: " + "x" * 89 + "...",
        "lost store         1           0     0  ok",
    ]
    reporter = Reporter()
    matrix.pytest_terminal_summary(reporter)
    assert reporter.out == ["== fault matrix: a test", *matrix.lines()]


def test_an_empty_matrix_prints_nothing() -> None:
    reporter = Reporter()
    Matrix("nothing ran").pytest_terminal_summary(reporter)
    assert reporter.out == []


def test_the_matrix_records_a_recovered_cell_with_the_message_that_matters() -> None:
    """A cell's row shows what the faulty run said when it failed on its own, else what the
    run after it said, with the hidden texts replaced."""
    matrix = Matrix("recoveries")
    failed = Run(1, "", "engage: /tmp/x/engage.db: disk full at http://127.0.0.1:5/\n")
    matrix.recovered(
        "full", failed, Run(0, "{}", ""), 0, 0, hide={"/tmp/x/": "", "http://127.0.0.1:5": "URL"}
    )
    matrix.recovered("killed", Run(-9, "", ""), Run(0, "{}", "engage: 2 retries\n"), 0, 0)
    assert matrix.rows == {
        "full": [(0, 0, "engage: engage.db: disk full at URL/")],
        "killed": [(0, 0, "engage: 2 retries")],
    }


@pytest.mark.parametrize(
    ("fault", "again", "duplicates", "lost"),
    [
        (Run(-9, "", ""), Run(1, "", "engage: still broken\n"), 0, 0),
        (Run(-9, "", ""), Run(0, "{}", ""), 1, 0),
        (Run(-9, "", ""), Run(0, "{}", ""), 0, 2),
        (Run(1, "", "Traceback (most recent call last):\n"), Run(0, "{}", ""), 0, 0),
        (Run(-9, "", ""), Run(0, "{}", "engage: one\nengage: two\n"), 0, 0),
    ],
    ids=["again failed", "a duplicate", "a loss", "a traceback", "two lines"],
)
def test_the_matrix_refuses_a_cell_that_did_not_recover(
    fault: Run, again: Run, duplicates: int, lost: int
) -> None:
    """The row is recorded (the matrix shows failures too), then the check fails."""
    matrix = Matrix("failures")
    with pytest.raises(AssertionError):
        matrix.recovered("cell", fault, again, duplicates, lost)
    assert list(matrix.rows) == ["cell"]


def test_the_matrix_registers_with_pytest_once(request: pytest.FixtureRequest) -> None:
    matrix = Matrix("registered")
    manager = request.config.pluginmanager
    try:
        matrix.register(request.config)
        matrix.register(request.config)
        assert manager.is_registered(matrix)
        assert [plugin for plugin in manager.get_plugins() if plugin is matrix] == [matrix]
    finally:
        manager.unregister(matrix)


# -- a small disk -------------------------------------------------------------------------------


@pytest.fixture(params=["tmpfs", "size limit"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Disk]:
    """A 1 MiB disk: a tmpfs (where this process may mount one), or the file size limit
    the kit falls back on (``mount`` hidden from it)."""
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "size limit":
            patch.setattr(shutil, "which", lambda name: None)
        small = Disk(tmp_path / "disk", 1 << 20)
    if request.param == "tmpfs" and not small.mounted:
        small.close()
        pytest.skip("no tmpfs here (mounting needs root and mount)")
    assert small.mounted == (request.param == "tmpfs")
    try:
        yield small
    finally:
        small.close()


def test_a_filled_disk_refuses_a_write_past_what_it_left_free(
    runner: Runner, tmp_path: Path, disk: Disk
) -> None:
    """Filled to leave 64 KiB, the disk takes 32 KiB and refuses 256 KiB (no space on a
    tmpfs, file too large under the size limit); freed, it takes 256 KiB."""
    disk.fill(64 << 10)
    fits = probe(runner, tmp_path, f"fill={disk.path}/small:{32 << 10}", prelude=disk.prelude)
    full = probe(runner, tmp_path, f"fill={disk.path}/big:{256 << 10}", prelude=disk.prelude)
    disk.free_all()
    freed = probe(runner, tmp_path, f"fill={disk.path}/big:{256 << 10}", prelude=disk.prelude)
    assert said(fits) == [f"wrote {32 << 10}"], fits.stderr
    refused = errno.errorcode[errno.ENOSPC if disk.mounted else errno.EFBIG]
    assert said(full) == [f"error {refused}"], full.stderr
    assert said(freed) == [f"wrote {256 << 10}"], freed.stderr
    assert disk.prelude == ""


# -- the real engage ----------------------------------------------------------------------------


def sample_project(path: Path) -> Project:
    """The kit's sample export synced into a CSV task file, ``todo.csv``."""
    project = Project(path, plugins=("csv",))
    project.write(CRM_EXPORT_FILE, CRM_EXPORT)
    project.config(CRM_EXPORT_SOURCE + '\n[sinks.todo]\nplugin = "csv"\npath = "todo.csv"\n')
    return project


def test_a_real_sync_killed_at_a_named_point_dies_there_and_recovers(tmp_path: Path) -> None:
    """``engage sync`` of the kit's sample project, killed after the CSV source's first
    checkpoint: the child dies with the export's rows committed and no task written yet,
    and a normal sync then writes each task a clean sync writes, once."""
    pytest.importorskip("engage_csv", reason="the sample is read by the CSV plugin")
    clean, faulty = sample_project(tmp_path / "clean"), sample_project(tmp_path / "faulty")
    args = ("sync", "--json", "--as-of", CRM_EXPORT_AS_OF)
    kill = {"target": "engage_csv.source:CsvSource.pull", "kind": "checkpoint", "nth": 1}
    engage = Runner(["engage_csv", "engage_csv.sink"])
    try:
        expected = engage.run(clean.path, *args, env=clean.environ({}))
        killed = engage.run(faulty.path, *args, env=faulty.environ({}), points=[kill])
        assert killed.killed and killed.stdout == "", killed.stderr
        with contextlib.closing(sqlite3.connect(faulty.path / "engage.db")) as db:
            assert db.execute("SELECT count(*) FROM touchpoints").fetchone() == (3,)
        assert not (faulty.path / "todo.csv").exists()
        again = engage.run(faulty.path, *args, env=faulty.environ({}))
    finally:
        engage.close()
    assert expected.code == 0 and expected.report["tasks_planned"] > 0, expected.stderr
    assert again.code == 0, again.stderr
    one_clear_line(again)
    assert again.report["tasks_planned"] == expected.report["tasks_planned"]
    assert task_keys(faulty.path / "todo.csv") == task_keys(clean.path / "todo.csv")


def task_keys(path: Path) -> list[str]:
    """The keys of a CSV task file's rows, sorted (a key written twice stays twice)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return sorted(row["key"] for row in csv.DictReader(handle))
