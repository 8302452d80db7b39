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

The child is used only where it is safe: on Linux (not Windows, which has no fork, nor macOS,
where a child forked without exec may crash in system frameworks) and when this process runs
a single thread (forking with other threads running can leave the child waiting on a lock
one of them held, and Python 3.12 warns of it). Otherwise, and with
``ENGAGE_READ_AHEAD=0`` in the environment, the items are read in this process, unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import struct
import sys
import threading
import traceback
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from engage.adapters import Checkpoint, Progress, SizedProgress
from engage.errors import SourceError

try:
    import fcntl
except ImportError:  # Windows: no fork either
    fcntl = None  # type: ignore[assignment]

__all__ = ["BATCH", "DISABLE_ENV", "available", "read_ahead"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Items sent per message (a checkpoint also ends a message: it is the unit of commit).
BATCH = 1000

#: ``ENGAGE_READ_AHEAD=0`` reads in this process.
DISABLE_ENV = "ENGAGE_READ_AHEAD"

_LENGTH = struct.Struct("<Q")
_ITEMS, _ERROR, _END = 0, 1, 2
_ADVANCE, _TOTAL = 0, 1

Event = tuple[int, str, int]

#: Neither exists on Windows, where the items are read in this process.
_FORK: Callable[[], int] | None = getattr(os, "fork", None)
#: Only Linux: on macOS a fork without exec may crash in the child once the parent used
#: system frameworks (proxy look-ups by an HTTP library do), which is why Python's own
#: multiprocessing spawns there.
_FORK_SAFE = sys.platform.startswith("linux")
_KILL: int = getattr(signal, "SIGKILL", signal.SIGTERM)


def available() -> bool:
    """Whether :func:`read_ahead` would read in a child process now."""
    if os.environ.get(DISABLE_ENV, "").strip() in ("0", "false", "no", "off"):
        return False
    return _FORK is not None and _FORK_SAFE and threading.active_count() == 1


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
    read_end, write_end = os.pipe()
    _widen(write_end)
    assert _FORK is not None  # available() said so
    pid = _FORK()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _child(write_end, produce, isinstance(progress, SizedProgress), batch)
    os.close(write_end)
    ended = False
    try:
        with open(read_end, "rb", buffering=1 << 16) as pipe:
            while True:
                kind, payload, events = _receive(pipe, pid)
                _replay(events, progress)
                if kind == _ITEMS:
                    yield from payload
                elif kind == _ERROR:
                    ended = True
                    raise payload
                else:
                    ended = True
                    return payload
    finally:
        if not ended:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, _KILL)
        os.waitpid(pid, 0)


def _widen(fd: int) -> None:
    """Let the pipe hold as much as the system allows (Linux: 1 MiB by default, not 64 KiB):
    about eight batches, so the child reads on while this process writes a chunk to the
    store instead of waiting for it."""
    setter = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if setter is None:
        return
    try:
        most = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    except (OSError, ValueError):
        most = 1 << 20
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, setter, most)


def _receive(pipe: BinaryIO, pid: int) -> tuple[int, Any, list[Event]]:
    head = pipe.read(_LENGTH.size)
    data = pipe.read(_LENGTH.unpack(head)[0]) if len(head) == _LENGTH.size else b""
    if not data:
        raise SourceError(
            f"the process reading ahead (pid {pid}) ended without finishing; "
            "run again with ENGAGE_READ_AHEAD=0 to read in one process"
        )
    message: tuple[int, Any, list[Event]] = pickle.loads(data)
    return message


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


def _child(fd: int, produce: Callable[[Progress], Iterator[Any]], sized: bool, batch: int) -> None:
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides, and ends us
        out = open(fd, "wb", buffering=1 << 16)  # noqa: SIM115 - flushed below, then _exit
        forward = _SizedForward() if sized else _Forward()

        def send(kind: int, payload: Any) -> None:
            data = pickle.dumps((kind, payload, forward.take()), pickle.HIGHEST_PROTOCOL)
            out.write(_LENGTH.pack(len(data)))
            out.write(data)
            out.flush()  # each message whole in the pipe: a checkpoint is never held back

        items: list[Any] = []
        iterator = produce(forward)
        try:
            while True:
                try:
                    item = next(iterator)
                except StopIteration as done:
                    result = done.value
                    break
                items.append(item)
                if len(items) >= batch or type(item) is Checkpoint:
                    send(_ITEMS, items)
                    items = []
        except Exception as exc:  # every failure goes to the parent, after what came before
            if items:
                send(_ITEMS, items)
            send(_ERROR, _portable(exc))
        else:
            if items:
                send(_ITEMS, items)
            send(_END, result)
    except BaseException:  # the pipe closed (the parent stopped reading), or worse
        status = 1
    finally:
        os._exit(status)


def _portable(exc: Exception, doing: str = "read ahead") -> Exception:
    """``exc`` as it can cross to the parent: itself when it pickles, else a stand-in of
    the same words; with the child's traceback as a note."""
    note = f"{doing} in a child process:\n" + "".join(traceback.format_exception(exc)).rstrip()
    try:
        pickle.loads(pickle.dumps(exc, pickle.HIGHEST_PROTOCOL))
        portable = exc
    except Exception:  # a class that does not pickle
        portable = RuntimeError(f"{type(exc).__name__}: {exc}")
    portable.add_note(note)
    return portable
