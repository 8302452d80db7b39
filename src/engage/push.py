"""Pushing planned tasks to one sink through the ledger, a chunk at a time.

The ledger makes pushes safe to repeat: intent is committed before the sink is called and
the remote id after, so after a crash the next run asks the sink to :meth:`find
<engage.adapters.Sink.find>` what it may already hold before creating anything again. Tasks
arrive in chunks as the planner produces them, so memory stays flat however many customers
there are; the store's saved plans tell which pushed tasks are planned no more, to clear them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import TypeVar

from engage.adapters import PushResult, Sink
from engage.errors import (
    EXIT_ERROR,
    EXIT_PARTIAL,
    EngageError,
    exit_code_of,
    most_urgent,
    unexpected,
)
from engage.models import Task
from engage.report import MAX_MESSAGES, SinkReport
from engage.store.base import LedgerStatus, Store

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Ledger states in which a task needs no push.
DONE = frozenset({LedgerStatus.PUSHED, LedgerStatus.CLEARED, LedgerStatus.COMPLETED})


def chunked(items: Sequence[T] | Iterator[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items."""
    it = iter(items)
    while chunk := list(islice(it, max(1, size))):
        yield chunk


class SinkPush:
    """One sink's part of a sync: recover, push chunk by chunk, then clear.

    A push that stops keeps what stopped it, for the sync to decide whether to push again
    (:mod:`engage.retries`).

    Args:
        store: The store holding the ledger.
        name: The sink's config name.
        plugin: Its plugin, for messages.
        sink: The sink.
        clock: Monotonic seconds, to say when the push stopped.
        leave: Keys of tasks not to send (the sink refused them earlier in this run).

    Attributes:
        failure: The exception that stopped the push (None while it goes on).
        failed_in: The sink call it came from: ``"find"`` (the look for what an interrupted
            run pushed) or ``"create"``.
        failed_at: When it stopped (``clock``).
        refused: Keys of the tasks the sink refused (a failed result) in this push.
    """

    def __init__(
        self,
        store: Store,
        name: str,
        plugin: str,
        sink: Sink,
        *,
        clock: Callable[[], float] = time.monotonic,
        leave: Iterable[str] = (),
    ) -> None:
        self.store = store
        self.name = name
        self.plugin = plugin
        self.sink = sink
        self.clock = clock
        self.leave = frozenset(leave)
        self.pushed = self.already = self.recovered = self.failed = 0
        self.cleared = self.completed = 0
        self.errors: list[str] = []
        self.error_code = 0
        self.stopped = False
        self.failure: BaseException | None = None
        self.failed_in = ""
        self.failed_at = 0.0
        self.refused: set[str] = set()

    def _stop(self, call: str, failure: BaseException) -> None:
        """The push stops here: keep what stopped it, where and when."""
        self.stopped = True
        self.failure, self.failed_in, self.failed_at = failure, call, self.clock()

    def _error(self, message: str, code: int = EXIT_PARTIAL) -> None:
        self.error_code = most_urgent((self.error_code, code))
        if len(self.errors) < MAX_MESSAGES:
            self.errors.append(f"{self.name}: {message}")

    def recover(self) -> None:
        """Find tasks an interrupted run may have created; record them as pushed."""
        pending = [
            entry.task for entry in self.store.ledger_with_status(self.name, LedgerStatus.PENDING)
        ]
        if not pending:
            return
        try:
            found = dict(self.sink.find(pending))
        except EngageError as exc:
            self._error(f"could not look for interrupted pushes: {exc}", exit_code_of(exc))
            self._stop("find", exc)  # creating them blind could duplicate them
            return
        self.store.record_results(
            self.name, [PushResult(key, remote_id=rid) for key, rid in found.items()]
        )
        self.recovered = len(found)

    def push(self, tasks: Sequence[Task]) -> None:
        """Push the tasks of one planning chunk that the ledger has not seen as pushed
        (except those to ``leave``)."""
        if self.leave:
            tasks = [task for task in tasks if task.key not in self.leave]
        statuses = self.store.ledger_statuses(self.name, [t.key for t in tasks])
        todo = [t for t in tasks if statuses.get(t.key) not in DONE]
        self.already += len(tasks) - len(todo)
        if self.stopped:
            return
        for batch in chunked(todo, self.sink.batch_size):
            self.store.record_intent(self.name, batch)
            try:
                results = list(self.sink.create(batch))
            except EngageError as exc:  # the batch stays pending: the next run looks for it first
                self._error(str(exc), exit_code_of(exc))
                self._stop("create", exc)
                return
            except Exception as exc:  # a plugin bug must not lose the record of what was intended
                log.debug("sink %s (plugin %s) failed", self.name, self.plugin, exc_info=True)
                self._error(unexpected(self.plugin, exc), EXIT_ERROR)
                self._stop("create", exc)
                return
            self.store.record_results(self.name, results)
            for result in results:
                if result.ok:
                    self.pushed += 1
                else:
                    self.failed += 1
                    self.refused.add(result.key)
                    self._error(f"task {result.key}: {result.error}")

    def clear(self) -> None:
        """Tasks pushed earlier that no saved plan holds any more: their condition cleared,
        so complete them where the sink can."""
        if self.stopped:
            return
        gone = self.store.ledger_pushed(self.name, unplanned_only=True)
        if not gone:
            return
        try:
            done = {r.key for r in self.sink.complete(gone) if r.ok}
        except EngageError as exc:
            self._error(f"could not complete cleared tasks: {exc}", exit_code_of(exc))
            done = set()
        self.store.record_cleared(self.name, done, completed=True)
        self.store.record_cleared(self.name, set(gone) - done, completed=False)
        self.cleared, self.completed = len(gone), len(done)

    def report(self) -> SinkReport:
        """What this sink's part of the sync did."""
        return SinkReport(
            name=self.name,
            plugin=self.plugin,
            pushed=self.pushed,
            already_pushed=self.already,
            recovered=self.recovered,
            failed=self.failed,
            cleared=self.cleared,
            completed=self.completed,
            errors=tuple(self.errors),
            error_code=self.error_code,
            notices=tuple(dict.fromkeys(str(n) for n in getattr(self.sink, "notices", ()))),
        )
