"""Trying a temporary failure again in the same run: a source after the others, a sink too.

``engage sync`` runs unattended; an API that answers 503 for a minute should not leave a
source behind for an hour. Errors say whether they are temporary (their family's
:attr:`~engage.errors.EngageError.retriable`, an :class:`~engage.errors.HttpError`'s own;
:func:`is_retriable`; an exception that is no EngageError is a bug, never), and the sync
acts on it (``[sync]`` in the config, :class:`~engage.config.SyncSettings`):

- **A temporary source failure is tried again** — after its adapter's own bounded retries
  gave up — once the other sources were pulled, from its last committed checkpoint (the
  failed pull rolled back to it), ``retries`` times at most (default once). The wait counts
  from the failure (the other sources' pulls count): what the error asked (its
  ``Retry-After``), else ``retry_wait``; an error asking more than ``max_retry_wait`` is
  left to the next run. The report adds up the attempts' counts (records rolled back by a
  failure and read again are counted once) and says how many there were and why each
  earlier one failed; the exit code is the last attempt's.
- **A fatal failure is never tried again** (credentials refused, the config, a plugin's
  bug): it is reported with what to fix, and the run goes on with the other sources. A
  store failure stops the run.
- **A sink's push that stopped on a temporary failure is tried again** after the other
  sinks only when nothing it sent may have landed: the look for interrupted pushes failed
  (a read), or the error (or the one it was raised from) is a refusal that wrote nothing
  (:func:`wrote_nothing`: :class:`~engage.errors.RetriesExhausted`, a 429,
  :class:`~engage.errors.NotSent`). The retry does what the next run would: it looks for
  the tasks the ledger left pending (:meth:`~engage.adapters.Sink.find`), then creates the
  rest. A write that may have landed (:class:`~engage.errors.AmbiguousWrite`, an answer
  without the new id, or a sink error that does not say) is left to the next run, which
  looks for it first: a look right away could miss a create still in flight, or one a
  search index has not caught up with. A fatal failure stops pushing to that sink.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence

import attrs

from engage.config import SyncSettings
from engage.errors import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_TEMPFAIL,
    AmbiguousWrite,
    EngageError,
    RetriableHttpError,
    UnexpectedAnswer,
    exit_code_of,
    most_urgent,
)
from engage.progress import RunProgress
from engage.push import SinkPush
from engage.report import MAX_MESSAGES, SinkReport, SourceReport
from engage.store.base import Store

log = logging.getLogger(__name__)

#: How far down an error's chain (each raised from the next) a cause is looked for.
_CHAIN = 8


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error``, then the error it was raised from (``raise ... from``), nearest first.

    Only the explicit cause: an error raised while another was handled, without ``from``,
    did not say it came from it (``from None`` says it did not)."""
    seen: BaseException | None = error
    for _ in range(_CHAIN):
        if seen is None:
            return
        yield seen
        seen = seen.__cause__


def is_retriable(error: BaseException) -> bool:
    """Whether ``error`` may pass on its own: an :class:`~engage.errors.EngageError` says
    (its ``retriable``: its family's, or an :class:`~engage.errors.HttpError`'s own); any
    other exception is a bug, never (its exit code is 1)."""
    if isinstance(error, EngageError):
        return bool(error.retriable)
    return exit_code_of(error) == EXIT_TEMPFAIL


def asked_wait(error: BaseException) -> float | None:
    """Seconds ``error`` (or the error it was raised from) asked to wait before trying
    again (a ``Retry-After``, an adapter's rule), if it said."""
    for cause in _causes(error):
        wait = getattr(cause, "retry_after", None)
        if isinstance(wait, int | float) and not isinstance(wait, bool):
            return max(0.0, float(wait))
    return None


def wrote_nothing(error: BaseException) -> bool:
    """Whether a sink's failure says for certain that what it sent wrote nothing: the
    nearest HTTP failure among it and the errors it was raised from is a temporary refusal
    (retries exhausted, a rate limit, a request never sent), not a write whose answer was
    lost. A sink error that names no HTTP cause says nothing certain."""
    for cause in _causes(error):
        if isinstance(cause, AmbiguousWrite | UnexpectedAnswer):
            return False
        if isinstance(cause, RetriableHttpError):
            return True
    return False


def _seconds(value: float) -> str:
    return f"{value:g} s"


class Retrier:
    """When to try a temporary failure again, and the waiting.

    Args:
        settings: The ``[sync]`` table.
        sleep: How to wait (tests pass one that returns at once).
        clock: Monotonic seconds, to count a wait from the failure.
    """

    def __init__(
        self,
        settings: SyncSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.sleep = sleep
        self.clock = clock

    def wait(self, asked: float | None) -> float | None:
        """Seconds to wait after a failure that asked for ``asked``; None when that is
        longer than ``max_retry_wait`` (the next run tries again)."""
        if asked is None:
            return self.settings.retry_wait
        return asked if asked <= self.settings.max_retry_wait else None

    def why_not(self, attempts: int, asked: float | None) -> str | None:
        """Why a temporary failure after ``attempts`` attempts is not tried again in this
        run; None when it is."""
        retries = self.settings.retries
        if retries == 0:
            return "retries are off ([sync] retries = 0); the next run tries again"
        if attempts > retries:
            return None  # it was: the report says how many times
        if self.wait(asked) is None:
            assert asked is not None
            return (
                f"it asked to wait {_seconds(asked)}, longer than [sync] max_retry_wait "
                f"({_seconds(self.settings.max_retry_wait)}); the next run tries again"
            )
        return None

    def wait_until(self, due: float) -> None:
        """Sleep until the monotonic moment ``due`` (at once when it has passed)."""
        left = due - self.clock()
        if left > 0:
            self.sleep(left)


def retry_sources(
    reports: Sequence[SourceReport],
    ended: dict[str, float],
    again: Callable[[SourceReport], SourceReport | None],
    retrier: Retrier,
) -> list[SourceReport]:
    """Pull each source whose pull failed temporarily again, after the others: up to
    ``[sync] retries`` rounds, each source once its wait from the failure (``ended``: when
    its attempt ended, monotonic; updated) has passed, soonest first.

    ``again(report)`` pulls the source once more and returns that attempt's report (None
    when it is no longer this runner's to pull: another runner took it meanwhile). Returns
    the reports in the given order, each retried one merged with its earlier attempts
    (:func:`merged`).
    """
    current = {report.name: report for report in reports}
    for attempt in range(1, retrier.settings.retries + 2):
        due: list[tuple[float, str]] = []
        for name, report in current.items():
            if report.error is None or not report.retriable or report.attempts != attempt:
                continue
            why_not = retrier.why_not(report.attempts, report.retry_after)
            wait = retrier.wait(report.retry_after)
            if why_not is not None or wait is None:
                current[name] = attrs.evolve(report, not_retried=why_not)
            elif attempt <= retrier.settings.retries:
                due.append((ended[name] + wait, name))
        for moment, name in sorted(due):
            retrier.wait_until(moment)
            earlier = current[name]
            later = again(earlier)
            if later is None:
                current[name] = attrs.evolve(
                    earlier, not_retried="another runner pulls it now; it tries it again"
                )
                continue
            ended[name] = retrier.clock()
            current[name] = merged(earlier, later)
    return [current[report.name] for report in reports]


def _minus(counts: Mapping[str, int], taken: Mapping[str, int]) -> Counter[str]:
    return Counter(counts) - Counter(taken)


def merged(earlier: SourceReport, later: SourceReport) -> SourceReport:
    """One source's report over two attempts: ``later`` resumed where ``earlier`` had
    committed, so counts add up, except what ``earlier`` counted in the records its failure
    rolled back (``later`` read them again); ``read`` is ``later``'s (the sync's tally runs
    over every attempt)."""
    skipped = _minus(earlier.skipped, earlier.rolled_back_skipped) + Counter(later.skipped)
    messages = tuple(dict.fromkeys((*earlier.messages, *later.messages)))[:MAX_MESSAGES]
    assert earlier.error is not None
    return attrs.evolve(
        later,
        records=earlier.records + later.records,
        touchpoints=earlier.touchpoints + later.touchpoints,
        inserted=earlier.inserted + later.inserted,
        updated=earlier.updated + later.updated,
        unchanged=earlier.unchanged + later.unchanged,
        retired=earlier.retired + later.retired,
        merged=earlier.merged + later.merged,
        problems=earlier.problems - earlier.rolled_back_problems + later.problems,
        skipped=dict(skipped),
        messages=messages,
        notices=tuple(dict.fromkeys((*earlier.notices, *later.notices))),
        attempts=earlier.attempts + 1,
        earlier_errors=(*earlier.earlier_errors, earlier.error),
        not_retried=None,
    )


# -- sinks ----------------------------------------------------------------------------------


def sink_retry(push: SinkPush, attempts: int, retrier: Retrier) -> float | str | None:
    """For a push that stopped after ``attempts`` attempts: the monotonic moment to push
    again, why a temporary failure is not tried again (in words), or None for a fatal one."""
    failure = push.failure
    if failure is None or not is_retriable(failure):
        return None
    asked = asked_wait(failure)
    why_not = retrier.why_not(attempts, asked)
    if why_not is not None:
        return why_not
    if push.failed_in != "find" and not wrote_nothing(failure):
        return "a create may have landed: the next run looks for it before creating it again"
    wait = retrier.wait(asked)
    assert wait is not None
    return push.failed_at + wait


@attrs.define
class PushTries:
    """One sink's pushes in a run: the first, then each retry; and why the last one's stop
    was not tried again (None when it was, or was fatal, or it did not stop)."""

    attempts: list[SinkPush]
    not_retried: str | None = None

    @property
    def last(self) -> SinkPush:
        """The latest attempt."""
        return self.attempts[-1]

    def report(self, planned: int) -> SinkReport:
        """The sink's report over every attempt (:func:`merged_push`), of ``planned`` tasks."""
        report = sink_report(self.attempts[0], planned)
        for later in self.attempts[1:]:
            report = merged_push(
                report, attrs.evolve(later.report(), stopped=later.stopped), planned
            )
        return attrs.evolve(report, not_retried=self.not_retried if report.stopped else None)


def retry_pushes(
    store: Store,
    pushes: Sequence[SinkPush],
    retrier: Retrier,
    push_again: Callable[[SinkPush], None],
) -> dict[str, PushTries]:
    """Push again, after the other sinks, to each sink whose push stopped on a temporary
    failure that wrote nothing (:func:`sink_retry`), up to ``[sync] retries`` rounds, soonest
    first: ``push_again`` runs a new :class:`~engage.push.SinkPush` (look for what the ledger
    left pending, then push what the sink lacks), which leaves out the tasks the sink
    refused earlier in the run (a 400 for the task itself: the next run sends them).
    Returns each sink's attempts, by name."""
    tries = {push.name: PushTries([push]) for push in pushes}
    for round_ in range(retrier.settings.retries + 1):
        due: list[tuple[float, str]] = []
        for name, tried in tries.items():
            if tried.last.stopped and len(tried.attempts) == round_ + 1:
                when = sink_retry(tried.last, len(tried.attempts), retrier)
                if isinstance(when, str):
                    tried.not_retried = when
                elif when is not None and round_ < retrier.settings.retries:
                    due.append((when, name))
        for when, name in sorted(due):
            retrier.wait_until(when)
            tried = tries[name]
            last = tried.last
            log.info("push to %s: trying again after: %s", name, (last.errors or ("",))[-1])
            refused = {key for attempt in tried.attempts for key in attempt.refused}
            again = SinkPush(
                store, name, last.plugin, last.sink, clock=retrier.clock, leave=refused
            )
            push_again(again)
            tried.attempts.append(again)
    return tries


def finish_pushes(
    store: Store,
    pushes: Sequence[SinkPush],
    planned: int,
    retrier: Retrier,
    push_again: Callable[[SinkPush], None],
    stages: RunProgress,
) -> list[SinkReport]:
    """End each sink's part of the run: push again where a push stopped on a temporary
    failure that wrote nothing (:func:`retry_pushes`), then, on each sink's last attempt,
    clear the tasks no plan holds any more, and report over every attempt (of ``planned``
    tasks). A sink that stopped nowhere and refused nothing holds every planned task."""
    tries = retry_pushes(store, pushes, retrier, push_again)
    reports = []
    for push in pushes:
        tried = tries[push.name]
        with stages.stage(f"clearing done tasks in {push.name}"):
            tried.last.clear()
        report = tried.report(planned)
        if not tried.last.stopped and not report.failed:
            store.mark_all_held(push.name)
        log.info(
            "sink %s (%s): %s pushed, %s already there, %s cleared%s%s",
            push.name,
            push.plugin,
            f"{report.pushed:,}",
            f"{report.already_pushed:,}",
            f"{report.cleared:,}",
            f" in {report.attempts} attempts" if report.retried else "",
            f"; {len(report.errors)} error(s): {report.errors[0]}" if report.errors else "",
        )
        reports.append(report)
    return reports


def sink_report(push: SinkPush, planned: int) -> SinkReport:
    """``push``'s report, with whether it stopped and how many planned tasks it left."""
    report = push.report()
    left = planned - report.already_pushed - report.pushed - report.failed
    return attrs.evolve(report, stopped=push.stopped, pending=max(0, left) if push.stopped else 0)


def merged_push(earlier: SinkReport, later: SinkReport, planned: int) -> SinkReport:
    """One sink's report over two attempts. ``later`` pushed what ``earlier`` left: the
    tasks it finds pending (``recovered``) join ``already_pushed``, and the rest of its
    ``already_pushed`` were counted by ``earlier``. The stopping error becomes an earlier
    error; the exit code is the last attempt's, and 3 for tasks refused in any."""
    stop = earlier.errors[-1:] if earlier.stopped else ()
    refusals = earlier.errors[: len(earlier.errors) - len(stop)]
    already = earlier.already_pushed + later.recovered
    pushed = earlier.pushed + later.pushed
    failed = earlier.failed + later.failed
    code = most_urgent((EXIT_PARTIAL if earlier.failed else EXIT_OK, later.error_code))
    left = planned - already - pushed - failed
    return attrs.evolve(
        later,
        pushed=pushed,
        already_pushed=already,
        recovered=earlier.recovered + later.recovered,
        failed=failed,
        errors=(*refusals, *later.errors),
        notices=tuple(dict.fromkeys((*earlier.notices, *later.notices))),
        error_code=code,
        pending=max(0, left) if later.stopped else 0,
        attempts=earlier.attempts + 1,
        earlier_errors=(*earlier.earlier_errors, *stop),
        not_retried=None,
    )
