"""Several runners on one store: who pulls which source, and who plans.

Every runner may run the same ``engage sync`` on the same config (a CronJob per host, a
systemd timer on several machines). On a store that takes several runners at once
(PostgreSQL, :attr:`~engage.store.base.Store.concurrent_runners`):

- **A source is pulled by one runner at a time.** A runner claims it
  (:meth:`~engage.store.base.Store.claim`, released when the pull ends or the runner's
  connection does, however it died) and records the pull (:class:`SourcePull`) when it
  begins and ends. A source another runner holds is passed over, and looked at again after
  the runner's other sources.
- **A cycle is pulled once.** A source whose latest pull ended after the last planning that
  began before this runner started (and at most :data:`CYCLE_WINDOW` before it started) was
  pulled in this cycle: this runner does not pull it again. A runner that comes late to a
  cycle whose planning has begun pulls nothing and leaves. A pull that never ended (its
  runner was killed) is pulled again, from its last checkpoint.
- **The runner that finishes pulling last plans and pushes**, under the ``planning`` claim
  (waiting for it up to :data:`PLANNING_WAIT`): when no source is left to pull and none is
  still being pulled, and something was pulled since the last planning began. The others
  leave the planning to it.
- **A source tried again in the same run stays this runner's** (:meth:`Runner.pull_again`,
  after a temporary failure, :mod:`engage.retries`): its failed pull is recorded as ended,
  and the claim released, while the runner pulls its other sources; the retry claims the
  source again, and pulls it only if its latest pull is still that failed one of this
  runner's. While it runs, the pull is recorded as begun and still failed, so no runner
  pushes on its partial data, and none plans before it ends.

On a store that takes one sync at a time (SQLite) a runner pulls every source it is given
and plans, as it always did.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from engage.clock import utcnow
from engage.errors import ConfigError
from engage.report import SourceReport
from engage.store.base import SourcePull, Store

log = logging.getLogger(__name__)

#: How long before a runner started a source's pull may have ended and still count as this
#: cycle's (runners of one schedule start within this of each other).
CYCLE_WINDOW = timedelta(minutes=15)

#: How long a runner that finished pulling waits for another runner's planning to end.
PLANNING_WAIT = timedelta(minutes=5)

#: How often a waiting runner looks again.
POLL_SECONDS = 0.5

PLANNING = "planning"


def runner_id() -> str:
    """Who this runner is, as pulls record it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def select_sources(names: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """The source names (in config order) that match any of the shell-style ``patterns``
    (``mail_*``; a comma separates several in one); all of them when there is no pattern.

    Raises:
        ConfigError: a pattern matches no source (naming the sources there are).
    """
    wanted = [p.strip() for pattern in patterns for p in pattern.split(",") if p.strip()]
    if not wanted:
        return list(names)
    for pattern in wanted:
        if not any(fnmatch.fnmatchcase(name, pattern) for name in names):
            known = ", ".join(names) or "none"
            raise ConfigError(f"--sources {pattern!r} matches no source (sources: {known})")
    return [name for name in names if any(fnmatch.fnmatchcase(name, p) for p in wanted)]


def _moment(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC"


def pulled_this_cycle(pull: SourcePull | None, since: datetime) -> bool:
    """Whether ``pull`` ended (failed or not) after ``since``."""
    return pull is not None and pull.finished_at is not None and pull.finished_at > since


class Runner:
    """One runner's part of a sync on a store other runners may share.

    Args:
        store: The store (its :meth:`~engage.store.base.Store.runner_lock` held by the caller).
        shared: Whether this run takes part in a cycle with other runners (the store takes
            several at once, and this run plans); else it pulls every source it is given.
    """

    def __init__(self, store: Store, *, shared: bool) -> None:
        self.store = store
        self.shared = shared
        self.name = runner_id()
        self.started = utcnow()
        # The planning that ended the last cycle: one that begins while this runner runs
        # (a runner of the same schedule that started sooner) does not start another.
        self.planned_before = store.run_mark(PLANNING) if shared else None
        self._began: dict[str, datetime] = {}  # source → when its latest pull here began

    def cycle_start(self) -> datetime:
        """Pulls that ended after this belong to this runner's cycle."""
        earliest = self.started - CYCLE_WINDOW
        planned = self.planned_before
        return earliest if planned is None else max(planned, earliest)

    def pull_all(
        self,
        names: Sequence[str],
        plugin_of: Callable[[str], str],
        pull: Callable[[str], SourceReport],
    ) -> list[SourceReport]:
        """Pull each of ``names`` this runner should, by claim; returns a report per source,
        in the order of ``names`` (one saying who pulls it for a source left to another)."""
        reports: dict[str, SourceReport] = {}
        pending = list(names)
        while pending:
            progressed = False
            for name in list(pending):
                report = self._pull_one(name, plugin_of(name), pull)
                if report is not None:
                    reports[name] = report
                    pending.remove(name)
                    progressed = progressed or report.elsewhere is None
            if pending and not progressed:
                break  # every one left is being pulled by another runner
        latest = self.store.source_pulls() if pending else {}
        for name in pending:
            reports[name] = SourceReport(
                name=name,
                plugin=plugin_of(name),
                elsewhere=_being_pulled(latest.get(name)),
                attempts=0,
            )
        return [reports[name] for name in names]

    def _pull_one(
        self, name: str, plugin: str, pull: Callable[[str], SourceReport]
    ) -> SourceReport | None:
        """Pull ``name`` if this runner may; None when another runner holds it now."""
        store = self.store
        if self.shared:
            done = self._done_elsewhere(name, plugin)
            if done is not None:
                return done
        with store.claim(f"source:{name}") as mine:
            if not mine:
                return None
            if self.shared:  # again under the claim: it may have ended meanwhile
                done = self._done_elsewhere(name, plugin)
                if done is not None:
                    return done
            began = utcnow()
            store.record_pull(SourcePull(name, self.name, began))
            report = pull(name)
            store.record_pull(SourcePull(name, self.name, began, utcnow(), report.error))
            self._began[name] = began
            return report

    def pull_again(
        self, name: str, pull: Callable[[str], SourceReport], earlier: SourceReport
    ) -> SourceReport | None:
        """Pull ``name`` once more after this runner's pull of it failed (``earlier``);
        None when it is no longer this runner's to retry: another runner holds it, or pulled
        it since."""
        store = self.store
        with store.claim(f"source:{name}") as mine:
            latest = store.source_pulls().get(name) if mine else None
            if latest is None or latest.runner != self.name:
                return None
            if latest.started_at != self._began.get(name) or latest.finished_at is None:
                return None
            began = utcnow()
            # still failed until this attempt ends: nobody pushes on its partial data
            store.record_pull(SourcePull(name, self.name, began, None, earlier.error))
            report = pull(name)
            store.record_pull(SourcePull(name, self.name, began, utcnow(), report.error))
            self._began[name] = began
            return report

    def _done_elsewhere(self, name: str, plugin: str) -> SourceReport | None:
        latest = self.store.source_pulls().get(name)
        if latest is None or not pulled_this_cycle(latest, self.cycle_start()):
            return None
        assert latest.finished_at is not None
        how = "failed" if latest.error else "pulled"
        return SourceReport(
            name=name,
            plugin=plugin,
            elsewhere=f"{how} by {latest.runner} at {_moment(latest.finished_at)}",
            attempts=0,
        )

    def last_to_finish(self, names: Iterable[str]) -> str | None:
        """None when this runner should plan now: every source was pulled this cycle and
        one ended after the last planning began; else why not, in words. (Runners' clocks
        are compared: keep the hosts' clocks in time, as NTP does.)"""
        latest = self.store.source_pulls()
        since = self.cycle_start()
        waiting = [n for n in names if not pulled_this_cycle(latest.get(n), since)]
        if waiting:
            return (
                f"left to the runner that pulls {waiting[0]} "
                f"({_being_pulled(latest.get(waiting[0]))}): the last to finish plans"
            )
        planned = self.store.run_mark(PLANNING)
        ended = [p.finished_at for p in latest.values() if p.finished_at is not None]
        if planned is not None and ended and max(ended) <= planned:
            return f"planned by another runner at {_moment(planned)}, after the last pull"
        return None

    @contextmanager
    def planning(self, wait: timedelta = PLANNING_WAIT) -> Iterator[bool]:
        """Hold the ``planning`` claim, waiting up to ``wait`` while another runner plans;
        yields whether it was taken."""
        deadline = time.monotonic() + wait.total_seconds()
        while True:
            with self.store.claim(PLANNING) as mine:
                if mine:
                    yield True
                    return
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS)
        yield False


def _being_pulled(pull: SourcePull | None) -> str:
    if pull is None or pull.finished_at is not None:
        return "being pulled by another runner"
    return f"being pulled by {pull.runner} since {_moment(pull.started_at)}"
