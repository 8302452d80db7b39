"""What engage's helper processes share: when a fork is safe, their pipes, the pickled
messages on them, and how a child ends.

:mod:`engage.readahead` (a source read beside the store) and :mod:`engage.mapahead`
(customers scored and planned beside it) fork a child process that runs Python code this
process already holds. A child is used only where it is safe: on Linux (Windows has no fork;
on macOS a child forked without exec may crash in system frameworks the parent used, an HTTP
library's proxy look-up for one, which is why Python's multiprocessing spawns there), and
when this process runs a single thread (forking beside other threads can leave the child
waiting on a lock one of them held, and Python 3.12 warns of it). ``ENGAGE_READ_AHEAD=0``
keeps everything in one process.

A child never returns into the code that forked it: it runs its body, with Ctrl-C left to
the parent (which ends it), then leaves through ``os._exit``, so it never runs this
process's exit handlers nor flushes its buffers, and never closes a connection this process
holds (a socket, the store).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from engage.errors import SourceError

try:
    import fcntl
except ImportError:  # Windows: no fork either
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DISABLE_ENV",
    "END",
    "ERROR",
    "ITEMS",
    "available",
    "end_child",
    "fork_child",
    "pipe",
    "portable",
    "read_message",
    "receive",
    "send",
]

#: ``ENGAGE_READ_AHEAD=0`` keeps everything in one process.
DISABLE_ENV = "ENGAGE_READ_AHEAD"

#: What a child's message carries: items (or results), the failure that ended it, its end.
ITEMS, ERROR, END = 0, 1, 2

_LENGTH = struct.Struct("<Q")

#: Neither exists on Windows.
_FORK: Callable[[], int] | None = getattr(os, "fork", None)
_KILL: int = getattr(signal, "SIGKILL", signal.SIGTERM)
_LINUX = sys.platform.startswith("linux")


def available() -> bool:
    """Whether a child process would be forked now (see the module)."""
    if os.environ.get(DISABLE_ENV, "").strip() in ("0", "false", "no", "off"):
        return False
    return _FORK is not None and _LINUX and threading.active_count() == 1


def fork_child(body: Callable[[], None]) -> int:
    """Fork a child that runs ``body`` and exits (status 1 when ``body`` raised); returns
    its pid here. Call only when :func:`available`."""
    assert _FORK is not None, "fork_child: no fork on this platform"
    pid = _FORK()
    if pid:
        return pid
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides, and ends us
        body()
    except BaseException:  # the parent stopped listening (a closed pipe), or worse
        status = 1
    finally:
        os._exit(status)


def end_child(pid: int, *, finished: bool) -> None:
    """Reap the child, killing it first unless it ``finished`` its work."""
    if not finished:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, _KILL)
    os.waitpid(pid, 0)


def pipe() -> tuple[int, int]:
    """A pipe (read end, write end) that holds as much as the system allows (Linux: 1 MiB by
    default, not 64 KiB): the child works on while this process does its part of the work
    instead of waiting for it."""
    read_end, write_end = os.pipe()
    setter = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if setter is not None:
        try:
            most = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        except (OSError, ValueError):
            most = 1 << 20
        with contextlib.suppress(OSError):
            fcntl.fcntl(write_end, setter, most)
    return read_end, write_end


def frame(message: Any) -> bytes:
    """``message`` pickled, after its length."""
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def send(out: BinaryIO, message: Any) -> None:
    """Write ``message`` whole to ``out`` and flush it (a checkpoint is never held back)."""
    out.write(frame(message))
    out.flush()


def read_message(stream: BinaryIO) -> Any:
    """The next message on ``stream``, or None at its end (a message is never None)."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    data = stream.read(_LENGTH.unpack(head)[0])
    return pickle.loads(data) if data else None


def receive(stream: BinaryIO, pid: int) -> tuple[int, Any, list[Any]]:
    """The child's next message: (kind, payload, progress events).

    Raises:
        SourceError: the child ended without a word (killed, out of memory).
    """
    message: tuple[int, Any, list[Any]] | None = read_message(stream)
    if message is None:
        raise SourceError(
            f"engage's child process (pid {pid}) ended without finishing; "
            f"run again with {DISABLE_ENV}=0 to work in one process"
        )
    return message


def portable(exc: Exception, doing: str) -> Exception:
    """``exc`` as it can cross to the parent: itself when it pickles, else a stand-in of the
    same words; with the child's traceback as a note (``doing in a child process: ...``)."""
    note = f"{doing} in a child process:\n" + "".join(traceback.format_exception(exc)).rstrip()
    try:
        pickle.loads(pickle.dumps(exc, pickle.HIGHEST_PROTOCOL))
        kept = exc
    except Exception:  # a class that does not pickle
        kept = RuntimeError(f"{type(exc).__name__}: {exc}")
    kept.add_note(note)
    return kept
