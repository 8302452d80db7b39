"""The fault kit: ``engage`` run in child processes with named functions wrapped to die,
a small disk, and a matrix of what each fault did, printed at the end of the session.

It is what engage's fault matrices (``tests/test_fault_matrix.py`` and each plugin's) are
built on, and what a plugin author uses to kill their own adapter at a named point::

    from engage.testing.faults import Matrix, Runner, one_clear_line

    runner = Runner(["myplugin"], env={"ENGAGE_LOAD_PLUGINS": "csv,myplugin"})
    point = {"target": "myplugin.sink:MySink.create", "kind": "after", "nth": 2}
    killed = runner.run(project_dir, "sync", "--json", points=[point])
    assert killed.killed
    again = runner.run(project_dir, "sync", "--json")
    one_clear_line(again)
    runner.close()

**Children.** :class:`Runner` starts one *fork server*: a process that imports engage and
the plugins once, then forks a child for every run (a fresh interpreter costs more than the
sync itself). Each child is a process of its own: it changes to the project directory, takes
the run's environment, writes stdout and stderr to files, applies the run's fault points
(:data:`CHILD`) and runs ``engage`` exactly as the console script does. A ``SIGKILL`` kills
that child alone. Product code is never changed: a fault point wraps one function by name,
``"module:Class.attr"``, in the child only. It needs ``os.fork`` (Linux, macOS).

**Fault points** are JSON-able mappings ``{"target": "module:Class.attr", "kind": KIND,
"nth": n}`` (see :data:`CHILD` for the kinds and their other keys); :meth:`Runner.start`'s
``counts`` file tells how often a clean run reaches each point, to draw ``nth`` from.

**A small disk.** :class:`Disk` is a tmpfs of a given size when root can mount one, else a
file size limit the child sets on itself (its :attr:`Disk.prelude`).

**The matrix.** :class:`Matrix` collects one row per faulty run (cell, duplicates, lost,
message), checks that engage recovered (:meth:`Matrix.recovered`) and prints the table at the
end of the pytest session, even under ``-q``.

Only :meth:`Matrix.register` touches pytest, and only the object it is given: importing this
module does not import pytest.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from engage.testing import project

if TYPE_CHECKING:
    import pytest

#: Run by each child (``exec``), with ``ENGAGE_FAULT`` (JSON: ``points``, ``prelude``,
#: ``counts``) in its environment: runs the prelude, wraps each point's target, then runs
#: ``engage`` with ``sys.argv``. A point is ``{"target": "module:Class.attr", "kind": ...,
#: "nth": n}``, counted only for calls with an argument whose ``url`` contains ``url`` (and
#: whose ``method`` is ``method``) when given: a ``requests`` call. Kinds: ``before``/``after``
#: (die on entering / after returning from the n-th call),
#: ``items`` (a generator: die instead of handing over its n-th item), ``checkpoint`` (die when
#: asked for more after the n-th ``Checkpoint``, which the sync has committed by then), ``cut``
#: (``write(fd, data)``: write a ``fraction`` of the n-th call's bytes, then die), ``hold``
#: (at the n-th call create the file ``held``, then wait for ``release`` to exist), ``pause``
#: (sleep ``seconds`` at the n-th call). ``nth`` 0 only counts, into the file ``counts``.
CHILD = r"""
import functools, importlib, json, os, signal, sys, time

spec = json.loads(os.environ["ENGAGE_FAULT"])
counts = {}

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def wrap(point):
    module, _, path = point["target"].partition(":")
    owner = importlib.import_module(module)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    real = getattr(owner, name)
    kind, nth, url, method = point["kind"], point["nth"], point.get("url"), point.get("method")
    key = point["target"] + "#" + kind + (url or "") + (method or "")

    def tick(args=()):
        if url and not any(
            url in str(getattr(a, "url", "")) and method in (None, getattr(a, "method", None))
            for a in args
        ):
            return -1
        counts[key] = counts.get(key, 0) + 1
        return counts[key]

    if kind == "before":
        def patched(*args, **kwargs):
            if tick(args) == nth:
                die()
            return real(*args, **kwargs)
    elif kind == "after":
        def patched(*args, **kwargs):
            result = real(*args, **kwargs)
            if tick(args) == nth:
                die()
            return result
    elif kind == "items":
        def patched(*args, **kwargs):
            for item in real(*args, **kwargs):
                if tick() == nth:
                    die()
                yield item
    elif kind == "checkpoint":
        from engage.adapters import Checkpoint
        def patched(*args, **kwargs):
            for item in real(*args, **kwargs):
                yield item
                if isinstance(item, Checkpoint) and tick() == nth:
                    die()
    elif kind == "cut":
        def patched(fd, data, *args, **kwargs):
            if tick() == nth:
                real(fd, data[: int(len(data) * point["fraction"])])
                die()
            return real(fd, data, *args, **kwargs)
    elif kind == "hold":
        def patched(*args, **kwargs):
            if tick(args) == nth:
                open(point["held"], "w").close()
                deadline = time.monotonic() + 60
                while not os.path.exists(point["release"]) and time.monotonic() < deadline:
                    time.sleep(0.01)
            return real(*args, **kwargs)
    elif kind == "pause":
        def patched(*args, **kwargs):
            if tick(args) == nth:
                time.sleep(point["seconds"])
            return real(*args, **kwargs)
    else:
        raise SystemExit(f"unknown fault kind {kind!r}")
    functools.update_wrapper(patched, real)
    setattr(owner, name, patched)

exec(spec.get("prelude") or "")
for point in spec.get("points") or []:
    point.setdefault("nth", 0)
    wrap(point)
try:
    from engage.cli import main
    main()
finally:
    if spec.get("counts"):
        with open(spec["counts"], "w") as handle:
            json.dump(counts, handle)
"""

#: The fork server: imports the modules named in ``argv``, then serves JSON lines on stdin:
#: ``{"op": "start", cwd, env, args, stdout, stderr}`` forks a child running :data:`CHILD`
#: (answers ``{"pid"}``); ``{"op": "wait", pid, timeout}`` reaps it (answers ``{"code"}``,
#: negative for a signal, as :mod:`subprocess` does; a child past the timeout is killed).
SERVER = r"""
import importlib, json, os, signal, sys, time, traceback

for name in sys.argv[1:]:
    importlib.import_module(name)
CHILD = compile(os.environ.pop("ENGAGE_FAULT_CHILD"), "<engage-child>", "exec")

def child(request):
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)
    sys.argv = ["engage", *request["args"]]
    code = 0
    try:
        exec(CHILD, {"__name__": "__main__"})
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 0 if exit.code is None else 1
        if not isinstance(exit.code, int) and exit.code is not None:
            print(exit.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

for line in sys.stdin:
    request = json.loads(line)
    if request["op"] == "start":
        pid = os.fork()
        if pid == 0:
            try:
                child(request)
            finally:
                os._exit(70)
        answer = {"pid": pid}
    else:
        deadline = time.monotonic() + request["timeout"]
        while True:
            done, status = os.waitpid(request["pid"], os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(request["pid"], signal.SIGKILL)
                _, status = os.waitpid(request["pid"], 0)
                break
            time.sleep(0.002)
        answer = {"code": os.waitstatus_to_exitcode(status)}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
"""


@attrs.frozen
class Run(project.Run):
    """One finished ``engage`` child: an :class:`engage.testing.Run` whose ``code`` is
    negative for the signal that ended it (``-9``: killed)."""

    @property
    def killed(self) -> bool:
        """Whether ``SIGKILL`` ended it (a fault point, or :meth:`Runner.wait`'s timeout)."""
        return self.code == -9

    @property
    def report(self) -> dict[str, Any]:
        """The ``--json`` report (empty when the run printed none)."""
        text = self.stdout.strip()
        return json.loads(text) if text.startswith("{") else {}

    @property
    def message(self) -> str:
        """What the run said on stderr, as the matrix shows it."""
        if self.killed:
            return "(killed)"
        return " | ".join(self.stderr.strip().splitlines()) or "ok"


def one_clear_line(run: Run) -> None:
    """stderr holds at most one line, engage's own, and never a traceback."""
    lines = run.stderr.strip().splitlines()
    assert "Traceback" not in run.stderr, run.stderr
    assert len(lines) <= 1, run.stderr
    assert all(line.startswith("engage: ") for line in lines), run.stderr


@attrs.frozen
class Child:
    """A started child (:meth:`Runner.start`): its pid and the files its output goes to;
    hand it to :meth:`Runner.wait`."""

    pid: int
    stdout: Path
    stderr: Path


class Runner:
    """A fork server for ``engage`` children (see the module's docstring); :meth:`close` it.

    Args:
        preload: Modules the server imports once (engage's CLI and the plugins a run uses).
        env: Variables every child gets on top of this process's environment (less its
            ``ENGAGE_*`` variables).
    """

    def __init__(self, preload: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_")}
        self.env.update(env or {})
        self.outputs = Path(tempfile.mkdtemp(prefix="engage-faults-"))
        self.numbers = iter(range(1, 1_000_000))
        self.server = subprocess.Popen(
            [sys.executable, "-c", SERVER, "engage.cli", *preload],
            env={**self.env, "ENGAGE_FAULT_CHILD": CHILD},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _ask(self, request: Mapping[str, Any]) -> dict[str, Any]:
        assert self.server.stdin is not None and self.server.stdout is not None
        self.server.stdin.write(json.dumps(request) + "\n")
        self.server.stdin.flush()
        answer = self.server.stdout.readline()
        assert answer, "the fork server died"
        return dict(json.loads(answer))

    def start(
        self,
        cwd: Path,
        *args: str,
        env: Mapping[str, str] | None = None,
        points: Sequence[Mapping[str, Any]] = (),
        prelude: str = "",
        counts: Path | None = None,
    ) -> Child:
        """Fork ``engage ARGS`` in ``cwd`` with ``points`` wrapped; do not wait for it."""
        number = next(self.numbers)
        out, err = self.outputs / f"{number}.out", self.outputs / f"{number}.err"
        spec = {"points": list(points), "prelude": prelude, "counts": str(counts or "")}
        answer = self._ask(
            {
                "op": "start",
                "cwd": str(cwd),
                "env": {**self.env, **(env or {}), "ENGAGE_FAULT": json.dumps(spec)},
                "args": list(args),
                "stdout": str(out),
                "stderr": str(err),
            }
        )
        return Child(int(answer["pid"]), out, err)

    def wait(self, child: Child, timeout: float = 120) -> Run:
        """Reap a child (killing it past ``timeout`` seconds) and return what it did."""
        code = int(self._ask({"op": "wait", "pid": child.pid, "timeout": timeout})["code"])
        run = Run(code, child.stdout.read_text(), child.stderr.read_text())
        child.stdout.unlink()
        child.stderr.unlink()
        return run

    def run(self, cwd: Path, *args: str, **kwargs: Any) -> Run:
        """Run ``engage ARGS`` in ``cwd`` to the end (see :meth:`start`)."""
        return self.wait(self.start(cwd, *args, **kwargs))

    def close(self) -> None:
        """Stop the fork server and remove the children's output files."""
        if self.server.stdin is not None:
            self.server.stdin.close()
        try:
            self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()
        if self.server.stdout is not None:
            self.server.stdout.close()
        shutil.rmtree(self.outputs, ignore_errors=True)


# -- the matrix printed at the end of the session ----------------------------------------------


class Matrix:
    """Rows of cell × runs × duplicates × lost × message, printed at the end of the session.

    Register it once as a plugin (:meth:`register`): its ``pytest_terminal_summary`` prints
    the table even under ``-q``, after failures too.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: dict[str, list[tuple[int, int, str]]] = {}

    def register(self, config: pytest.Config) -> None:
        """Register with pytest (``request.config``) to print at the end; once is enough."""
        if not config.pluginmanager.is_registered(self):
            config.pluginmanager.register(self, f"engage-fault-matrix-{id(self)}")

    def record(self, cell: str, duplicates: int, lost: int, message: str) -> None:
        """Add one faulty run's row under ``cell``: duplicates and losses it left, and what
        it said (:attr:`Run.message`)."""
        self.rows.setdefault(cell, []).append((duplicates, lost, message))

    def lines(self) -> list[str]:
        """The table: a header, then a line a cell (its runs, the sums of their duplicates
        and losses, its first message) and a line for each other message it gave, cut to
        100 characters."""
        width = max(len(cell) for cell in self.rows)
        out = [f"{'cell':<{width}}  runs  duplicates  lost  message"]
        for cell, rows in self.rows.items():
            said = [
                m if len(m) < 100 else m[:97] + "..." for m in dict.fromkeys(r[2] for r in rows)
            ]
            duplicates, lost = sum(r[0] for r in rows), sum(r[1] for r in rows)
            out.append(f"{cell:<{width}}  {len(rows):>4}  {duplicates:>10}  {lost:>4}  {said[0]}")
            out.extend(f"{'':<{width}}  {'':>4}  {'':>10}  {'':>4}  {m}" for m in said[1:])
        return out

    def recovered(
        self,
        cell: str,
        fault: Run,
        again: Run,
        duplicates: int,
        lost: int,
        *,
        hide: Mapping[str, str] | None = None,
    ) -> None:
        """Record a cell's row and check that engage came back from the fault.

        ``fault`` is the faulty run, ``again`` the normal run after it, ``duplicates`` and
        ``lost`` what the test counted after ``again``. The row's message is what ``fault``
        said when it failed on its own (exited neither 0 nor killed), else what ``again``
        said, with each text of ``hide`` replaced by its value (a temporary directory, a
        fake's URL). Then asserts that both runs said at most :func:`one_clear_line`, that
        ``again`` succeeded, and that nothing was doubled or lost.
        """
        message = fault.message if fault.code not in (0, -9) else again.message
        for text, shown in (hide or {}).items():
            message = message.replace(text, shown)
        self.record(cell, duplicates, lost, message)
        one_clear_line(fault)
        one_clear_line(again)
        assert again.code == 0, again.stderr
        assert (duplicates, lost) == (0, 0)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """pytest's hook: print :meth:`lines` in a section of their own (when any run)."""
        if self.rows:
            terminalreporter.section(self.title)
            for line in self.lines():
                terminalreporter.write_line(line)


# -- a small disk ------------------------------------------------------------------------------


class Disk:
    """A small disk at ``path``: a tmpfs when root can mount one, else a file size limit
    (``RLIMIT_FSIZE``) that a child sets on itself through :attr:`prelude`.

    Args:
        path: The directory to make (its parent must exist); put the files to starve in it.
        size: The tmpfs's size in bytes.

    Fill it with :meth:`fill` before the faulty run (and give that run :attr:`prelude`),
    :meth:`free_all` after it, :meth:`close` at the end.
    """

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.mounted = False
        self.limit: int | None = None
        path.mkdir()
        geteuid = getattr(os, "geteuid", None)  # POSIX only: elsewhere, the size limit
        if geteuid is not None and geteuid() == 0 and shutil.which("mount"):
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                capture_output=True,
                check=False,
            )
            self.mounted = done.returncode == 0

    @property
    def prelude(self) -> str:
        """Code for a child: the file size limit, when there is no tmpfs."""
        if self.limit is None:
            return ""
        return (
            "import resource, signal\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({self.limit}, {self.limit}))\n"
        )

    def fill(self, free: int) -> None:
        """Leave about ``free`` bytes (a tmpfs counts whole 4 KiB pages)."""
        if not self.mounted:
            sizes = [p.stat().st_size for p in self.path.rglob("*") if p.is_file()]
            self.limit = max(sizes, default=0) + free
            return
        fd = os.open(self.path / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            for chunk in (65536, 512):
                try:
                    while True:
                        os.write(fd, b"\0" * chunk)
                except OSError as error:
                    assert error.errno == errno.ENOSPC
            os.ftruncate(fd, max(0, os.fstat(fd).st_size - free))
        finally:
            os.close(fd)

    def free_all(self) -> None:
        """Give back all the space :meth:`fill` took."""
        (self.path / "filler").unlink(missing_ok=True)
        self.limit = None

    def close(self) -> None:
        """Unmount the tmpfs (its files go with it)."""
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, check=False)
