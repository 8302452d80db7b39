"""A function applied to a stream of items in a forked child process, its results back in order.

:func:`map_ahead` is ``map(function, items)`` on two cores: this process keeps producing the
items (a query, say) and doing what it does with each result, while a child process it forked
applies ``function``. Scoring and planning a first load's customers goes this way: the store
streams the rows of its facts query here, the child assembles each customer's facts, scores
them and plans their tasks (pure Python: the factors and rules the child inherited at the
fork), and the plans come back to be saved and pushed here, where the store's connection is.

Items go to the child and results come back pickled, a batch at a time, at most ``ahead``
batches in flight, so memory stays bounded however many items there are. A thread of this
process writes the batches to the child (started after the fork: it never runs in the
child), so that neither process can wait on the other with both pipes full. An exception
``function`` raises is raised here after the results of the items before it, with the
child's traceback as a note (as in :mod:`engage.readahead`), and so is one that iterating
the items raises here; either ends the child. Where :func:`engage.readahead.available` says
a fork is not safe (other threads running, not Linux, ``ENGAGE_READ_AHEAD=0``), it is plain
``map``.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from engage.readahead import (
    _END,
    _ERROR,
    _FORK,
    _ITEMS,
    _KILL,
    _LENGTH,
    _portable,
    _receive,
    _widen,
    available,
)

__all__ = ["AHEAD", "BATCH", "map_ahead"]

A = TypeVar("A")
B = TypeVar("B")

#: Items sent to the child at a time.
BATCH = 250

#: Batches sent and not yet answered, at most.
AHEAD = 4


def map_ahead(
    function: Callable[[A], B], items: Iterable[A], *, batch: int = BATCH, ahead: int = AHEAD
) -> Iterator[B]:
    """``function`` of each of ``items``, in order, computed in a forked child process when
    :func:`~engage.readahead.available` (else here).

    ``function`` runs in a copy of this process made when the first result is asked for: it
    must not use a connection this process holds, and what it changes there stays there.
    The items and results must pickle. Closing the returned iterator early ends the child.

    Raises:
        Exception: what ``function`` raised, once the results before it are yielded; what
            iterating ``items`` raised.
        SourceError: the child ended without a word (killed, out of memory).
    """
    if not available():
        yield from map(function, items)
        return
    requests, to_child = _pipe()  # (read end, write end)
    from_child, answers = _pipe()
    assert _FORK is not None  # available() said so
    pid = _FORK()
    if pid == 0:  # the child: never returns
        os.close(to_child)
        os.close(from_child)
        _mapper(requests, answers, function)
    os.close(requests)
    os.close(answers)
    outgoing: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    writer = threading.Thread(
        target=_write_all, args=(to_child, outgoing), name="engage-map-ahead", daemon=True
    )
    writer.start()
    pending = iter(items)
    sent = received = 0
    exhausted = ended = False
    failure: Exception | None = None  # what iterating the items raised, after what it gave

    def feed() -> None:
        nonlocal sent, exhausted, failure
        while not exhausted and sent - received < ahead:
            chunk: list[A] = []
            try:
                for item in pending:
                    chunk.append(item)
                    if len(chunk) >= batch:
                        break
                else:
                    exhausted = True
            except Exception as exc:  # raised once the results before it are yielded
                failure, exhausted = exc, True
            if chunk:
                data = pickle.dumps(chunk, pickle.HIGHEST_PROTOCOL)
                outgoing.put(_LENGTH.pack(len(data)) + data)
                sent += 1
            if exhausted:
                outgoing.put(None)  # the child ends once it has answered everything

    try:
        with open(from_child, "rb", buffering=1 << 16) as pipe:
            feed()
            while received < sent:
                kind, payload, _ = _receive(pipe, pid)
                if kind == _ERROR:  # the results before the failure, then the failure
                    ended = True
                    before, failure = payload
                    yield from before
                    raise failure
                received += 1
                feed()  # the child works on the next batches while these are used here
                yield from payload
            ended = True
        if failure is not None:
            raise failure
    finally:
        outgoing.put(None)
        if not ended:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, _KILL)
        os.waitpid(pid, 0)
        writer.join()


def _pipe() -> tuple[int, int]:
    read_end, write_end = os.pipe()
    _widen(write_end)
    return read_end, write_end


def _write_all(fd: int, outgoing: queue.SimpleQueue[bytes | None]) -> None:
    """Write each frame to ``fd`` until a None; the child gone ends it early."""
    try:
        while (frame := outgoing.get()) is not None:
            view = memoryview(frame)
            while view:
                view = view[os.write(fd, view) :]
    except OSError:  # the child ended (killed, or failed): nothing more to send
        pass
    finally:
        os.close(fd)


def _mapper(fd_in: int, fd_out: int, function: Callable[[Any], Any]) -> None:
    """The child: read batches, answer each with its results, until the parent is done."""
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides, and ends us
        with open(fd_in, "rb", buffering=1 << 16) as source:
            out = open(fd_out, "wb", buffering=1 << 16)  # noqa: SIM115 - flushed per message

            def send(kind: int, payload: Any) -> None:
                data = pickle.dumps((kind, payload, []), pickle.HIGHEST_PROTOCOL)
                out.write(_LENGTH.pack(len(data)))
                out.write(data)
                out.flush()

            while len(head := source.read(_LENGTH.size)) == _LENGTH.size:
                chunk = pickle.loads(source.read(_LENGTH.unpack(head)[0]))
                results: list[Any] = []
                try:
                    for item in chunk:
                        results.append(function(item))
                except Exception as exc:  # after the results before it, like map
                    send(_ERROR, (results, _portable(exc, "computed")))
                    return
                send(_ITEMS, results)
            send(_END, None)
    except BaseException:  # the parent stopped listening, or worse
        status = 1
    finally:
        os._exit(status)
