"""Reading ahead in a child process: the same items, in order, with the same progress and errors."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Generator, Iterator

import pytest

from engage.adapters import Checkpoint, Problem, Progress
from engage.errors import BadInputError, SourceError
from engage.progress import Tally
from engage.readahead import DISABLE_ENV, available, read_ahead

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="forks on Linux only: files are read in one process",
)


@pytest.fixture(autouse=True)
def _forks(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the child process: it must really be used."""
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    assert available(), f"read-ahead unavailable here (threads: {threading.enumerate()})"


def numbers(count: int, *, fail_at: int | None = None) -> object:
    def produce(progress: Progress) -> Iterator[tuple[int, int]]:
        for n in range(count):
            if n == fail_at:
                raise BadInputError(f"rows.csv:{n + 2}: more than max_bad_ratio refused")
            progress.advance("rows")
            yield (n, os.getpid())

    return produce


class RecordingProgress:
    """A plain progress: advances only."""

    def __init__(self) -> None:
        self.advanced: dict[str, int] = {}

    def advance(self, what: str, count: int = 1) -> None:
        self.advanced[what] = self.advanced.get(what, 0) + count


def test_items_come_from_another_process_in_their_order() -> None:
    progress = Tally()
    items = list(read_ahead(numbers(2500), progress, batch=100))  # type: ignore[arg-type]
    assert [n for n, _ in items] == list(range(2500))
    assert {pid for _, pid in items} != {os.getpid()}
    assert len({pid for _, pid in items}) == 1
    assert progress.read() == {"rows": 2500}


def test_totals_reach_a_progress_that_takes_them_and_only_that() -> None:
    def produce(progress: Progress) -> Iterator[int]:
        total = getattr(progress, "total", None)
        if total is not None:
            total("bytes", 1234)
        progress.advance("bytes", 1234)
        yield 1

    sized = Tally()
    assert list(read_ahead(produce, sized)) == [1]
    assert sized.totals == {"bytes": 1234}
    assert sized.counts == {"bytes": 1234}
    plain = RecordingProgress()
    assert list(read_ahead(produce, plain)) == [1]
    assert plain.advanced == {"bytes": 1234}


def test_a_checkpoint_is_sent_at_once_not_held_for_a_full_batch() -> None:
    """A checkpoint is the unit of commit: the store sees it as soon as it is read."""
    release = os.pipe()

    def produce(progress: Progress) -> Iterator[object]:
        yield Problem("row 2: bad date")
        yield Checkpoint("c1")
        os.read(release[0], 1)  # wait until the parent has seen the checkpoint
        yield Checkpoint("c2")

    items = read_ahead(produce, Tally(), batch=1000)
    assert next(items) == Problem("row 2: bad date")
    assert next(items) == Checkpoint("c1")
    os.write(release[1], b"x")
    assert list(items) == [Checkpoint("c2")]


def test_an_error_comes_after_the_items_read_before_it_with_the_childs_traceback() -> None:
    seen: list[int] = []
    progress = Tally()
    with pytest.raises(BadInputError, match=r"rows.csv:702: more than max_bad_ratio") as raised:
        for n, _ in read_ahead(numbers(1000, fail_at=700), progress, batch=64):  # type: ignore[arg-type]
            seen.append(n)
    assert seen == list(range(700))
    assert progress.read() == {"rows": 700}
    notes = "".join(getattr(raised.value, "__notes__", []))
    assert "read ahead in a child process" in notes
    assert "in produce" in notes


def test_an_error_that_cannot_be_pickled_arrives_with_its_words() -> None:
    class Unpicklable(Exception):
        def __init__(self, what: str, lock: object) -> None:
            super().__init__(what)
            self.lock = lock

    def produce(progress: Progress) -> Iterator[int]:
        yield 1
        raise Unpicklable("the parser gave up", threading.Lock())

    items = read_ahead(produce, Tally())
    assert next(items) == 1
    with pytest.raises(RuntimeError, match="Unpicklable: the parser gave up"):
        next(items)


def test_stopping_early_ends_the_child() -> None:
    pids: list[int] = []

    def produce(progress: Progress) -> Iterator[int]:
        n = 0
        while True:  # would run for ever
            yield n
            n += 1

    items = read_ahead(produce, Tally(), batch=10)
    for _ in range(25):
        next(items)
    frame = items.gi_frame  # type: ignore[attr-defined]
    pids.append(frame.f_locals["pid"])
    items.close()  # type: ignore[attr-defined]
    with pytest.raises(ChildProcessError):  # already reaped: no zombie left behind
        os.waitpid(pids[0], os.WNOHANG)


def test_a_child_that_dies_is_a_source_error_not_a_hang() -> None:
    def produce(progress: Progress) -> Iterator[int]:
        yield os.getpid()
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGKILL)
        yield 0

    items = read_ahead(produce, Tally(), batch=1)
    assert next(items) != os.getpid()
    with pytest.raises(SourceError, match="ended without finishing.*ENGAGE_READ_AHEAD=0"):
        list(items)


def test_the_environment_can_keep_reading_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_ENV, "0")
    assert not available()
    assert {pid for _, pid in read_ahead(numbers(3), Tally())} == {os.getpid()}  # type: ignore[arg-type]


def test_with_another_thread_running_it_reads_in_this_process() -> None:
    """Forking beside a running thread can leave the child waiting on a lock it held."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not available()
        assert {pid for _, pid in read_ahead(numbers(3), Tally())} == {os.getpid()}  # type: ignore[arg-type]
    finally:
        stop.set()
        other.join()


def test_what_the_reading_returns_comes_back_from_either_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the child counts in its own memory is lost to the sync; what it returns is not."""

    def produce(progress: Progress) -> Generator[int, None, dict[str, int]]:
        counts = {"messages": 0}
        for n in range(5):
            counts["messages"] += 1
            yield n
        return counts

    def collect() -> tuple[list[int], object]:
        items: list[int] = []

        def outer() -> Generator[int, None, None]:
            result = yield from read_ahead(produce, Tally(), batch=2)
            items.append(-1)
            returned.append(result)

        returned: list[object] = []
        items.extend(outer())
        return items, returned[0]

    assert collect() == ([0, 1, 2, 3, 4, -1], {"messages": 5})
    monkeypatch.setenv(DISABLE_ENV, "0")
    assert collect() == ([0, 1, 2, 3, 4, -1], {"messages": 5})
