"""Reading a source's input in a process of its own while this one stores what it read.

A first load of a large file spends about as long turning rows into records (CPU-bound
Python) as storing them (SQLite). :func:`read_ahead` runs the reading in a forked child
process: the child iterates the items and sends them down a pipe in pickled batches, this
process unpickles and yields them in the same order, so the two halves run on two cores. What
the child reports to its progress is forwarded and replayed here (so the run's counts and a
terminal's bars are the same), and an exception it raises is raised here, after every item
read before it, with the child's traceback attached as a note.

It is for sources that read local input with nothing but their own state: the child is a
copy of this process at the moment of the fork, so whatever it changes (the source object's
attributes, a cache) stays in the child, and it must not use a connection this process
holds (a socket, the store). The child never writes elsewhere than its pipe and never runs
this process's exit handlers.

Within :func:`sending_rows` (the pull does it when its store writes rows), the child sends
the plain touchpoints it reads as :class:`~engage.store.touchpoint_rows.TouchpointRows`, runs
of rows in their order: a row crosses the pipe in a seventh of a touchpoint's time, and this
process, the one storing them, builds no touchpoint objects. A source may spare the child
its touchpoints too, giving rows where :func:`rows_wanted` says so (:func:`checked_row`).

The child is used only where :func:`engage.forking.available` says a fork is safe (Linux,
a single thread, no ``ENGAGE_READ_AHEAD=0``); otherwise the items are read in this process,
unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, BinaryIO, TypeVar

from engage.adapters import Checkpoint, Progress, SizedProgress
from engage.forking import (
    DISABLE_ENV,
    END,
    ERROR,
    ITEMS,
    available,
    end_child,
    fork_child,
    pipe,
    portable,
    receive,
    send,
)
from engage.models import Touchpoint
from engage.store.touchpoint_rows import TouchpointRows, checked_row, rows_of

__all__ = [
    "BATCH",
    "DISABLE_ENV",
    "TouchpointRow",
    "available",
    "checked_row",
    "read_ahead",
    "rows_wanted",
    "sending_rows",
]

T = TypeVar("T")

#: A plain touchpoint in the form the store writes (:func:`checked_row`).
TouchpointRow = tuple[Any, ...]

#: Items sent per message (a checkpoint also ends a message: it is the unit of commit).
BATCH = 1000

_ADVANCE, _TOTAL = 0, 1

Event = tuple[int, str, int]

_SEND_ROWS: ContextVar[bool] = ContextVar("engage_read_ahead_rows", default=False)

#: Set in a child reading ahead whose plain touchpoints are sent as rows (its own memory).
_ROWS_WANTED = False


@contextmanager
def sending_rows() -> Iterator[None]:
    """Within this block, a :func:`read_ahead` that starts sends plain touchpoints as
    :class:`~engage.store.touchpoint_rows.TouchpointRows`: for a consumer that takes them,
    and only where the items are read in a child (read here, they come as they are)."""
    token = _SEND_ROWS.set(True)
    try:
        yield
    finally:
        _SEND_ROWS.reset(token)


def rows_wanted() -> bool:
    """Whether the items being produced here go to a consumer that stores plain touchpoints
    as rows: true only in a child reading ahead within :func:`sending_rows`.

    A source that reads many rows may then give each plain touchpoint as the tuple
    :func:`checked_row` makes of the values it would give ``Touchpoint.from_checked``: the
    child sends rows anyway, and builds no touchpoint only to take it apart (about 1.5 µs a
    row of the child's time, the process a large first load's pull waits on). Nowhere else
    is such a tuple an item.
    """
    return _ROWS_WANTED


def read_ahead(
    produce: Callable[[Progress], Iterator[T]], progress: Progress, *, batch: int = BATCH
) -> Generator[T, None, Any]:
    """The items of ``produce(progress)``, read in a forked child process when
    :func:`available` (else here, as they are).

    ``produce`` gets the progress to report to: in the child, one that forwards to
    ``progress`` here (taking totals when ``progress`` does). When it is a generator, what
    it returns is returned here (``summary = yield from read_ahead(...)``; it must pickle):
    the way to bring back what the reading counted, since nothing it changes in the child's
    memory reaches this process. Closing the returned iterator early ends the child.

    Raises:
        Exception: what ``produce`` raised, once the items before it are yielded.
        SourceError: the child ended without a word (killed, out of memory).
    """
    if not available():
        return (yield from produce(progress))
    read_end, write_end = pipe()
    sized = isinstance(progress, SizedProgress)
    as_rows = _SEND_ROWS.get()

    def child() -> None:
        os.close(read_end)
        with open(write_end, "wb", buffering=1 << 16) as out:
            _read(out, produce, sized, batch, as_rows)

    pid = fork_child(child)
    os.close(write_end)
    finished = False
    try:
        with open(read_end, "rb", buffering=1 << 16) as stream:
            while True:
                kind, payload, events = receive(stream, pid)
                _replay(events, progress)
                if kind == ITEMS:
                    yield from payload
                else:
                    finished = True
                    if kind == ERROR:
                        raise payload
                    return payload
    finally:
        end_child(pid, finished=finished)


def _replay(events: list[Event], progress: Progress) -> None:
    for kind, what, count in events:
        if kind == _ADVANCE:
            progress.advance(what, count)
        elif isinstance(progress, SizedProgress):
            progress.total(what, count)


class _Forward:
    """The child's progress: events kept for the next message."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def advance(self, what: str, count: int = 1) -> None:
        self.events.append((_ADVANCE, what, count))

    def take(self) -> list[Event]:
        events, self.events = self.events, []
        return events


class _SizedForward(_Forward):
    def total(self, what: str, count: int) -> None:
        self.events.append((_TOTAL, what, count))


class _Batch:
    """The items of the next message; with ``as_rows``, plain touchpoints (and the rows a
    source gave for them, see :func:`rows_wanted`) in runs of rows."""

    def __init__(self, as_rows: bool) -> None:
        self.as_rows = as_rows
        self.items: list[Any] = []
        self.run: list[Touchpoint] = []  # plain touchpoints since the last other item
        self.rows: list[TouchpointRow] = []  # the run as rows, when its items came as rows

    def __len__(self) -> int:
        return len(self.items) + len(self.run) + len(self.rows)

    def add(self, item: Any) -> None:
        kind = type(item)
        if self.as_rows and (kind is tuple or kind is Touchpoint):
            if kind is tuple:
                if self.run:  # keep the order: the touchpoints before it are rows first
                    self.rows += rows_of(self.run)
                    self.run = []
                self.rows.append(item)
            else:
                self.run.append(item)
            return
        self._end_run()
        self.items.append(item)

    def take(self) -> list[Any]:
        self._end_run()
        items, self.items = self.items, []
        return items

    def _end_run(self) -> None:
        if self.run:
            self.rows += rows_of(self.run)
            self.run = []
        if self.rows:
            self.items.append(TouchpointRows(self.rows))
            self.rows = []


def _read(
    out: BinaryIO,
    produce: Callable[[Progress], Iterator[Any]],
    sized: bool,
    batch: int,
    as_rows: bool,
) -> None:
    """The child: the items in batches, each with the progress reported since the last."""
    global _ROWS_WANTED
    _ROWS_WANTED = as_rows  # this process is the child's own copy
    forward = _SizedForward() if sized else _Forward()
    items = _Batch(as_rows)
    iterator = produce(forward)
    try:
        while True:
            try:
                item = next(iterator)
            except StopIteration as done:
                result = done.value
                break
            items.add(item)
            if len(items) >= batch or type(item) is Checkpoint:
                send(out, (ITEMS, items.take(), forward.take()))
    except Exception as exc:  # every failure goes to the parent, after what came before
        if items:
            send(out, (ITEMS, items.take(), forward.take()))
        send(out, (ERROR, portable(exc, "read ahead"), forward.take()))
    else:
        if items:
            send(out, (ITEMS, items.take(), forward.take()))
        send(out, (END, result, forward.take()))
