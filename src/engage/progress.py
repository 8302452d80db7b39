"""What a long command shows while it works: each stage by name, with a percentage and the
time left when its size is known.

A sync's stages are: each source's pull (``pull files (csv)``: rows or records read, and for
files the bytes read of how many), ``scoring N customers`` and, at the same time,
``pushing tasks to SINK``, then clearing done tasks and the day's health record. They are
drawn on stderr, and only when stderr is a terminal: a scheduled run's output stays clean
(``-v`` or ``--log-file`` logs the same stages as lines instead, see :mod:`engage.logs`).

:class:`RunProgress` is what :func:`engage.sync.run_sync` is given; :class:`Tally` counts
what each source reports whether anything is drawn or not, for the sync's summary.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, runtime_checkable

from rich.console import Console
from rich.progress import Progress as Bars
from rich.progress import ProgressColumn, SpinnerColumn, Task, TaskID, TextColumn
from rich.text import Text

from engage.adapters import Progress, SizedProgress


class Stage(Protocol):
    """One stage of a run as it goes: advance it by the items done."""

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more items done."""
        ...


@runtime_checkable
class RunProgress(Protocol):
    """A run's progress: a :class:`~engage.adapters.Progress` per source, and named stages."""

    def __call__(self, source: str) -> Progress:
        """The progress the source (or sink) of this config name reports to."""
        ...

    def stage(
        self,
        description: str,
        total: int | None = None,
        *,
        unit: str = "",
        source: str | None = None,
    ) -> AbstractContextManager[Stage]:
        """Show the stage while it runs (a context manager). ``total`` items are expected,
        if known; ``unit`` names them (``pushed``); with ``source``, that source's progress
        is the stage's."""
        ...


class Tally:
    """Counts what a source reports (``rows``, ``bytes``...), passing it on to ``inner``.

    It always takes totals, so a source counts the bytes it reads even when nothing is drawn;
    a total reaches ``inner`` only if ``inner`` takes totals.
    """

    def __init__(self, inner: Progress | None = None) -> None:
        self.inner = inner
        self.counts: dict[str, int] = {}
        self.totals: dict[str, int] = {}

    def advance(self, what: str, count: int = 1) -> None:
        """Count and pass on."""
        self.counts[what] = self.counts.get(what, 0) + count
        if self.inner is not None:
            self.inner.advance(what, count)

    def total(self, what: str, count: int) -> None:
        """Remember the total and pass it on to a progress that takes totals."""
        self.totals[what] = count
        if isinstance(self.inner, SizedProgress):
            self.inner.total(what, count)

    def read(self) -> Mapping[str, int]:
        """What the source counted, by kind, without ``bytes`` (a size, not a count of records)."""
        return {what: n for what, n in self.counts.items() if what != "bytes" and n}


class _NoStage:
    def advance(self, count: int = 1) -> None:
        return None


class _Silent:
    def advance(self, what: str, count: int = 1) -> None:
        return None


class SilentProgress:
    """A :class:`RunProgress` that draws nothing (not a terminal, ``--quiet``)."""

    def __call__(self, source: str) -> Progress:
        """A progress that ignores what it is told."""
        return _Silent()

    @contextmanager
    def stage(
        self,
        description: str,
        total: int | None = None,
        *,
        unit: str = "",
        source: str | None = None,
    ) -> Iterator[Stage]:
        """Nothing to show."""
        yield _NoStage()


def _size(count: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count:,.0f} B"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class _Detail(ProgressColumn):
    """Counts, then the percentage and time left when the total is known, else the rate."""

    def render(self, task: Task) -> Text:
        counts: dict[str, int] = task.fields.get("counts", {})
        unit: str = task.fields.get("unit", "")
        shown = [(what, n) for what, n in list(counts.items()) if what != "bytes" and n]
        parts = [f"{n:,} {what}" for what, n in shown]
        if task.total is not None and task.total > 0:
            if unit == "bytes":
                parts.append(f"{_size(task.completed)} of {_size(task.total)}")
            parts.append(f"{min(100.0, task.percentage):.0f}%")
            left = task.time_remaining
            if left is not None and not task.finished:
                parts.append(f"{_clock(left)} left")
        else:
            if unit and not counts:
                parts.append(f"{task.completed:,.0f} {unit}")
            if shown and task.elapsed:
                what, n = shown[0]
                parts.append(f"{n / task.elapsed:,.0f} {what}/s")
            parts.append(_clock(task.elapsed or 0.0))
        return Text(" · ".join(parts))


class _SourceProgress:
    def __init__(self, owner: TerminalProgress, source: str) -> None:
        self._owner = owner
        self._source = source

    def advance(self, what: str, count: int = 1) -> None:
        self._owner.source_advance(self._source, what, count)

    def total(self, what: str, count: int) -> None:
        self._owner.source_total(self._source, what, count)


class _StageHandle:
    def __init__(self, bars: Bars, task: TaskID) -> None:
        self._bars = bars
        self._task = task

    def advance(self, count: int = 1) -> None:
        self._bars.advance(self._task, count)


#: Redraws a second.
REFRESH_PER_SECOND = 8


class _Refresher:
    """Redraws the bars on a thread of its own, which can be stopped for a while: a source
    reading ahead forks a child process, which is only safe while a single thread runs
    (:mod:`engage.readahead`), so during a pull the bars are redrawn as counts arrive."""

    def __init__(self, bars: Bars) -> None:
        self._bars = bars
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="engage-progress", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(1 / REFRESH_PER_SECOND):
            self._bars.refresh()


class TerminalProgress:
    """A :class:`RunProgress` drawn with rich on a terminal (stderr), gone when it ends.

    The bars are redrawn eight times a second by a thread while a stage is open, except while
    a source is pulled: then as its counts arrive (at most as often). So no other thread runs
    while a source may fork to read ahead (:mod:`engage.readahead`), nor between stages, when
    planning may fork (:mod:`engage.mapahead`).
    """

    def __init__(self, console: Console) -> None:
        self.bars = Bars(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            _Detail(),
            console=console,
            transient=True,
            auto_refresh=False,
        )
        self._refresher = _Refresher(self.bars)
        self._running = False
        self._pulls = 0  # sources being pulled (their stages open)
        self._others = 0  # other stages open
        self._drawn = 0.0
        self._lines: dict[str, TaskID] = {}
        self._counts: dict[TaskID, dict[str, int]] = {}
        self._units: dict[TaskID, str] = {}
        self._totals: dict[TaskID, int] = {}
        self._names: dict[TaskID, str] = {}

    def __call__(self, source: str) -> Progress:
        """The progress the source of this name reports to."""
        return _SourceProgress(self, source)

    def _add(self, description: str, total: int | None, unit: str) -> TaskID:
        counts: dict[str, int] = {}
        task = self.bars.add_task(description, total=total, counts=counts, unit=unit)
        self._counts[task] = counts
        self._units[task] = unit
        self._names[task] = description
        return task

    def _line(self, source: str) -> TaskID:
        if source not in self._lines:  # a source read outside a stage (engage check)
            self._lines[source] = self._add(f"read {source}", None, "")
        return self._lines[source]

    def source_advance(self, source: str, what: str, count: int) -> None:
        """Count ``count`` more ``what`` on the source's line."""
        task = self._line(source)
        counts = self._counts[task]
        counts[what] = counts.get(what, 0) + count
        if self._units[task] == what:
            self.bars.advance(task, count)
            if counts[what] >= self._totals.get(task, -1) >= 0:  # all read: the rest is writing
                self._totals.pop(task)
                self.bars.update(task, description=f"{self._names[task]}: writing to the store")
        self._tick()

    def _tick(self) -> None:
        """Redraw, no more often than the thread would, while it is stopped for a pull."""
        if self._pulls and self._running:
            now = time.monotonic()
            if now - self._drawn >= 1 / REFRESH_PER_SECOND:
                self._drawn = now
                self.bars.refresh()

    def source_total(self, source: str, what: str, count: int) -> None:
        """The source expects ``count`` of ``what``: its line shows a percentage of it (reading
        again, if an earlier kind had all been read)."""
        task = self._line(source)
        self._units[task] = what
        self._totals[task] = count
        done = self._counts[task].get(what, 0)
        self.bars.update(
            task,
            total=count,
            completed=done,
            unit=what,
            description=self._names[task],
            refresh=True,
        )

    @contextmanager
    def stage(
        self,
        description: str,
        total: int | None = None,
        *,
        unit: str = "",
        source: str | None = None,
    ) -> Iterator[Stage]:
        """Show the stage while it runs; with ``source``, the source's counts are its own."""
        task = self._add(description, total, unit)
        if source is not None:
            self._lines[source] = task
            self._pulls += 1
        else:
            self._others += 1
        self._arrange()
        self.bars.refresh()
        try:
            yield _StageHandle(self.bars, task)
        finally:
            if source is not None:
                self._lines.pop(source, None)
                self._pulls -= 1
            else:
                self._others -= 1
            self._arrange()
            self.bars.remove_task(task)
            for held in (self._counts, self._units, self._totals, self._names):
                held.pop(task, None)

    def __enter__(self) -> TerminalProgress:
        self.bars.start()
        self._running = True
        self._arrange()
        return self

    def __exit__(self, *exc: object) -> None:
        self._running = False
        self._arrange()
        self.bars.stop()

    def _arrange(self) -> None:
        """The redrawing thread runs only while a stage other than a pull is open: between
        stages there is nothing to redraw, and that is when planning may fork."""
        if self._running and self._others and not self._pulls:
            self._refresher.start()
        else:
            self._refresher.stop()


def shows_progress(quiet: bool = False) -> bool:
    """Whether progress is drawn: on a terminal (stderr), unless ``--quiet``."""
    return not quiet and sys.stderr.isatty()


@contextmanager
def run_progress(*, quiet: bool = False) -> Iterator[RunProgress]:
    """The run's progress display: drawn on stderr when it is a terminal, else silent."""
    if not shows_progress(quiet):
        yield SilentProgress()
        return
    with TerminalProgress(Console(stderr=True, highlight=False)) as shown:
        yield shown
