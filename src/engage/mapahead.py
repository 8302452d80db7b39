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
the items raises here; either ends the child. Where :func:`engage.forking.available` says
a fork is not safe (other threads running, not Linux, ``ENGAGE_READ_AHEAD=0``), it is plain
``map``.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO, TypeVar

from engage.forking import (
    END,
    ERROR,
    ITEMS,
    available,
    end_child,
    fork_child,
    frame,
    pipe,
    portable,
    read_message,
    receive,
    send,
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
    :func:`~engage.forking.available` (else here).

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
    requests, to_child = pipe()  # (read end, write end)
    from_child, answers = pipe()

    def child() -> None:
        os.close(to_child)
        os.close(from_child)
        with (
            open(requests, "rb", buffering=1 << 16) as stream,
            open(answers, "wb", buffering=1 << 16) as out,
        ):
            _map(stream, out, function)

    pid = fork_child(child)
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
                outgoing.put(frame(chunk))
                sent += 1
            if exhausted:
                outgoing.put(None)  # the child ends once it has answered everything

    try:
        with open(from_child, "rb", buffering=1 << 16) as stream:
            feed()
            while received < sent:
                kind, payload, _ = receive(stream, pid)
                if kind == ERROR:  # the results before the failure, then the failure
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
        end_child(pid, finished=ended)
        writer.join()


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


def _map(stream: BinaryIO, out: BinaryIO, function: Callable[[Any], Any]) -> None:
    """The child: answer each batch with its results, until the parent sends no more."""
    while (chunk := read_message(stream)) is not None:
        results: list[Any] = []
        try:
            for item in chunk:
                results.append(function(item))
        except Exception as exc:  # after the results before it, like map
            send(out, (ERROR, (results, portable(exc, "computed")), []))
            return
        send(out, (ITEMS, results, []))
    send(out, (END, None, []))
