"""``engage sync``: pull every source, score and plan, push new tasks to every sink.

The sync is built to run unattended every hour:

- **Nothing lost.** Records and the source's new cursor commit together at each
  checkpoint; a failure rolls back to the last checkpoint and leaves the cursor there, so
  the next run pulls the same records again (upserts make that harmless).
- **Nothing duplicated.** Before a push, the ledger records the intent (committed); after
  it, the remote id. A task left pending by a crash is looked for in the sink
  (:meth:`~engage.adapters.Sink.find`) before it is created again.
- **One at a time.** The store's lock keeps a second sync out.
- **No action on partial data.** If a source failed, tasks are planned but not pushed.
- **A temporary failure is tried again in the run.** A source that failed temporarily is
  pulled again after the others, from its last checkpoint; a sink whose push stopped on a
  temporary failure that wrote nothing is pushed again after the others; a fatal failure
  never is (``[sync]`` in the config; :mod:`engage.retries`).
- **Only what changed.** Each customer's plan is saved with the moment it may next change;
  a sync plans again only the customers whose data changed, whose moment came, or whose
  tasks a sink does not hold yet (:meth:`engage.engine.Engine.replan`). The others' tasks
  stay planned as they were.
- **A history of health.** Each re-planned customer's score, band and stage are recorded
  when they changed; the first sync of each UTC day scores everyone for that
  (:mod:`engage.history`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import ExitStack
from datetime import datetime
from itertools import chain
from typing import Any

import attrs
import pluggy

from engage.adapters import (
    AdapterContext,
    Directory,
    Progress,
    Sink,
    Source,
    resolve_options,
)
from engage.clock import utcnow
from engage.config import AdapterConfig, Config
from engage.engine import Engine
from engage.errors import (
    EngageError,
    PluginCrashError,
)
from engage.plugins import Registry
from engage.progress import RunProgress, SilentProgress, Tally
from engage.pull import pull_source
from engage.push import SinkPush, chunked
from engage.report import SinkReport, SourceReport, SyncReport
from engage.retries import Retrier, finish_pushes, retry_sources
from engage.runners import PLANNING, Runner, select_sources
from engage.store.base import Store

log = logging.getLogger(__name__)

#: Customers planned, saved and pushed at a time (memory stays flat however many there are).
PLAN_CHUNK = 500

ProgressFactory = Callable[[str], Progress]


def build_adapters(
    config: Config,
    registry: Registry,
    *,
    progress: ProgressFactory | None = None,
    env: Mapping[str, str] | None = None,
    directory: Directory | None = None,
    sources: Collection[str] | None = None,
    sinks: bool = True,
) -> tuple[dict[str, Source], dict[str, Sink]]:
    """Build the configured sources (those named in ``sources``; every one by default) and
    sinks (none with ``sinks=False``), checking each table against its plugin's options.

    Raises:
        PluginError: a table names a plugin that is not installed;
            :class:`~engage.errors.PluginCrashError` when a constructor raised an
            unexpected exception (named in one line; the traceback is in the debug log).
        ConfigError: a table has an unknown, missing or bad key.
    """
    env = dict(os.environ if env is None else env)

    def context(entry: AdapterConfig) -> AdapterContext:
        kwargs: dict[str, Any] = {}
        if progress is not None:
            kwargs["progress"] = progress(entry.name)
        return AdapterContext(
            name=entry.name,
            base_dir=config.base_dir,
            identity=config.identity,
            env=env,
            directory=directory,
            where=entry.where,
            **kwargs,
        )

    def build(kind: str, entry: AdapterConfig, cls: Any) -> Any:
        options = resolve_options(cls.options, entry.options, entry.where, env=env)
        try:
            return cls(options, context(entry))
        except EngageError:
            raise
        except Exception as exc:  # a plugin bug: one line naming it, the traceback in the log
            log.debug("building %s %s failed", kind, entry.name, exc_info=True)
            raise PluginCrashError(
                f"{kind} {entry.name!r} ({entry.plugin}) could not be built: "
                f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())}"
            ) from None

    built: dict[str, Source] = {}
    for entry in config.sources.values():
        if sources is None or entry.name in sources:
            built[entry.name] = build("source", entry, registry.source(entry.plugin, entry.where))
    built_sinks: dict[str, Sink] = {}
    for entry in config.sinks.values() if sinks else ():
        built_sinks[entry.name] = build("sink", entry, registry.sink(entry.plugin, entry.where))
    return built, built_sinks


def check_adapter_options(config: Config, registry: Registry) -> None:
    """Check every source's and sink's table against its plugin's options, building nothing.

    ``engage sync`` calls it before it opens the store, so a bad setting (a rate of 0, a
    ``base_url`` with a space, a ``date_format`` strptime cannot read) fails at once and
    touches nothing.

    Raises:
        PluginError: a table names a plugin that is not installed.
        ConfigError: a key is unknown, missing, of the wrong type, out of range or fails its
            check; the message names the file, the table and the key.
    """
    for entry in config.sources.values():
        resolve_options(
            registry.source(entry.plugin, entry.where).options, entry.options, entry.where
        )
    for entry in config.sinks.values():
        resolve_options(
            registry.sink(entry.plugin, entry.where).options, entry.options, entry.where
        )


def _plan_and_push(
    engine: Engine,
    store: Store,
    moment: datetime,
    pushes: list[SinkPush],
    stages: RunProgress,
) -> tuple[int, int]:
    """Score and plan the customers the store chooses, saving and pushing them a chunk at a
    time; returns how many customers were planned and how many tasks their plans hold."""
    started = time.monotonic()
    scored_plans = engine.replan_points(moment, [p.name for p in pushes])
    first = next(scored_plans, None)  # the store chooses the customers to plan here
    due: int | None = getattr(store, "planning_count", None)
    what = "customers" if due is None else f"{due:,} customer{'' if due == 1 else 's'}"
    replanned = replanned_tasks = 0
    with ExitStack() as stack:
        scoring = stack.enter_context(stages.stage(f"scoring {what}", total=due))
        pushing = {
            push.name: stack.enter_context(
                stages.stage(f"pushing new tasks to {push.name}", unit="pushed")
            )
            for push in pushes
        }
        rest = chain([] if first is None else [first], scored_plans)
        for scored in chunked(rest, PLAN_CHUNK):
            chunk = [customer_plan for _point, customer_plan in scored]
            store.save_plans(chunk, moment)
            engine.record_points(point for point, _plan in scored)
            tasks = [task for plan in chunk for task in plan.tasks]
            replanned += len(chunk)
            replanned_tasks += len(tasks)
            scoring.advance(len(chunk))
            for push in pushes:
                before = push.pushed
                push.push(tasks)
                pushing[push.name].advance(push.pushed - before)
    log.info(
        "scored and planned %s of %s customers (%s tasks) in %.1f s",
        f"{replanned:,}",
        f"{store.customer_count():,}",
        f"{replanned_tasks:,}",
        time.monotonic() - started,
    )
    return replanned, replanned_tasks


def run_sync(
    config: Config,
    registry: Registry,
    store: Store,
    *,
    as_of: datetime | None = None,
    dry_run: bool = False,
    progress: ProgressFactory | RunProgress | None = None,
    pm: pluggy.PluginManager | None = None,
    env: Mapping[str, str] | None = None,
    sources: Sequence[str] = (),
    pull: bool = True,
    push: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> SyncReport:
    """Run one whole sync and return what it did: pull, then score, plan and push.

    ``sources`` are shell-style patterns choosing the sources to pull (all by default);
    ``push=False`` pulls only (``engage sync --no-push``), ``pull=False`` plans and pushes
    only (``engage push``). On a store several runners share (PostgreSQL), each source is
    pulled by one runner at a time and the runner that finishes pulling last plans and
    pushes (:mod:`engage.runners`); on SQLite one sync runs at a time.

    ``progress`` gets each source's progress; a :class:`~engage.progress.RunProgress` also
    shows each stage by name (each pull, scoring, pushing to each sink, clearing, the day's
    health record). Each stage is logged at info level when it ends.

    A source or sink that failed temporarily is tried again after the others, as the
    config's ``[sync]`` table says (:mod:`engage.retries`); ``sleep`` waits before such a
    retry and ``clock`` (monotonic seconds) counts the wait from the failure.

    Raises:
        LockedError: another sync holds the store (SQLite), or a copy or migration does.
        ConfigError, PluginError: the configuration cannot be built (an unknown plugin,
            option or factor weight, a pattern matching no source); nothing was pulled.
    """
    moment = as_of or utcnow()
    config.check_factors(registry.factors)  # before pulling: a typo must not cost a pull
    names = select_sources(list(config.sources), sources) if pull else []
    stages = progress if isinstance(progress, RunProgress) else SilentProgress()
    tallies: dict[str, Tally] = {}
    retrier = Retrier(config.sync, sleep=sleep, clock=clock)
    ended: dict[str, float] = {}  # source → when its latest attempt ended (monotonic)

    def counted(name: str) -> Progress:  # what each source reads is counted for its report
        tally = Tally(None if progress is None else progress(name))
        tallies.setdefault(name, tally)  # a sink of the same name comes second
        return tally

    with store.runner_lock():
        built, sinks = build_adapters(
            config,
            registry,
            progress=counted,
            env=env,
            directory=store,
            sources=names,
            sinks=push,
        )
        runner = Runner(store, shared=store.concurrent_runners and pull and push)

        def pull_one(name: str, source: Source | None = None, attempt: int = 1) -> SourceReport:
            plugin = config.sources[name].plugin
            started = time.monotonic()
            what = f"pull {name} ({plugin})" + (f", attempt {attempt}" if attempt > 1 else "")
            with stages.stage(what, source=name):
                pulled = pull_source(store, name, plugin, source or built[name])
            ended[name] = clock()
            pulled = attrs.evolve(pulled, read=tallies[name].read())
            log.info(
                "%s: %s in %.1f s%s",
                what,
                pulled.counted(),
                time.monotonic() - started,
                f"; failed: {pulled.error}" if pulled.error else "",
            )
            return pulled

        def pull_again(earlier: SourceReport) -> SourceReport | None:
            """The source built afresh (its tally goes on) and pulled from its checkpoint."""
            name = earlier.name
            log.info("pull %s: trying again after: %s", name, earlier.error)
            try:
                fresh = build_adapters(
                    config,
                    registry,
                    progress=lambda n: tallies[n],
                    env=env,
                    directory=store,
                    sources=[name],
                    sinks=False,
                )[0][name]
            except Exception:  # it was built once: try again with that one
                log.debug("building source %s again failed", name, exc_info=True)
                fresh = built[name]
            return runner.pull_again(
                name, lambda n: pull_one(n, fresh, earlier.attempts + 1), earlier
            )

        source_reports = runner.pull_all(names, lambda n: config.sources[n].plugin, pull_one)
        source_reports = retry_sources(source_reports, ended, pull_again, retrier)
        for pulled in source_reports:
            if pulled.elsewhere:
                log.info("source %s: %s", pulled.name, pulled.elsewhere)
        if not push:
            pull_only = "pull only (--no-push): 'engage push' or the next sync plans and pushes"
            return _unplanned(config, store, moment, dry_run, source_reports, sinks, pull_only)
        why_not = runner.last_to_finish(names) if runner.shared else None
        if why_not is not None:
            return _unplanned(config, store, moment, dry_run, source_reports, sinks, why_not)
        with runner.planning() as planning:
            why_not = (
                "another runner is still planning: what this run pulled is planned next time"
                if not planning
                else (runner.last_to_finish(names) if runner.shared else None)
            )
            if why_not is not None:
                return _unplanned(config, store, moment, dry_run, source_reports, sinks, why_not)
            if not dry_run:
                store.set_run_mark(PLANNING, utcnow())
            report = _plan(
                config, registry, store, moment, dry_run, source_reports, sinks, stages, retrier
            )
    if pm is not None:
        try:
            pm.hook.engage_sync_finished(report=report)
        except Exception as exc:
            log.debug("a plugin failed in engage_sync_finished", exc_info=True)
            log.warning(
                "a plugin failed after the sync (engage_sync_finished): %s: %s "
                "(run with --debug for the traceback)",
                type(exc).__name__,
                " ".join(str(exc).split())[:300],
            )
    return report


def _unplanned(
    config: Config,
    store: Store,
    moment: datetime,
    dry_run: bool,
    source_reports: Sequence[SourceReport],
    sinks: Mapping[str, Sink],
    why_not: str,
) -> SyncReport:
    """The report of a run that pulled but leaves planning and pushing to another."""
    log.info("planning: %s", why_not)
    return SyncReport(
        as_of=moment,
        dry_run=dry_run,
        sources=tuple(source_reports),
        sinks=tuple(SinkReport(n, config.sinks[n].plugin, skipped=why_not) for n in sinks),
        customers=store.customer_count(),
        tasks_planned=store.planned_task_count(),
        planning=why_not,
    )


def failed_sources(config: Config, store: Store) -> list[str]:
    """The configured sources whose latest pull (by any runner) failed: no task is pushed
    on partial data."""
    latest = store.source_pulls()
    return [n for n in config.sources if (p := latest.get(n)) is not None and p.error]


def _plan(
    config: Config,
    registry: Registry,
    store: Store,
    moment: datetime,
    dry_run: bool,
    source_reports: Sequence[SourceReport],
    sinks: Mapping[str, Sink],
    stages: RunProgress,
    retrier: Retrier,
) -> SyncReport:
    """Score, plan and (unless a dry run, or a source's latest pull failed) push; a push
    that stopped on a temporary failure is tried again after the other sinks'."""
    engine = Engine.from_config(store, config, registry)
    failed = failed_sources(config, store)
    skip = "dry run" if dry_run else (f"source failed: {', '.join(failed)}" if failed else None)
    pushes = [
        SinkPush(store, n, config.sinks[n].plugin, s, clock=retrier.clock)
        for n, s in ({} if skip else sinks).items()
    ]
    for push in pushes:
        with stages.stage(f"looking in {push.name} for tasks an interrupted run pushed"):
            push.recover()
    replanned, replanned_tasks = _plan_and_push(engine, store, moment, pushes, stages)
    if replanned and replanned >= store.customer_count():
        store.set_history_mark("full_pass", moment)  # everyone was scored and recorded
    else:
        with stages.stage("recording today's health of every customer (once a day)"):
            engine.record_daily_history(moment)  # scores drift with time alone
    planned = store.planned_task_count()
    for push in pushes:
        # the tasks of customers not planned again: every sink holds them already
        push.already += planned - replanned_tasks

    def push_again(again: SinkPush) -> None:
        """Look for what the stopped push left pending, then push to the customers whose
        tasks the sink lacks (planned again)."""
        with stages.stage(f"looking in {again.name} for tasks the stopped push left"):
            again.recover()
        _plan_and_push(engine, store, moment, [again], stages)

    sink_reports = finish_pushes(store, pushes, planned, retrier, push_again, stages)
    if skip:
        sink_reports = [SinkReport(n, config.sinks[n].plugin, skipped=skip) for n in sinks]
    return SyncReport(
        as_of=moment,
        dry_run=dry_run,
        sources=tuple(source_reports),
        sinks=tuple(sink_reports),
        customers=store.customer_count(),
        customers_planned=replanned,
        tasks_planned=planned,
    )
