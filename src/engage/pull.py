"""Pulling one source into the store: checkpoints commit records with their cursor.

:func:`pull_source` reads the source up to its next checkpoint (or a chunk's worth) before
it opens the store's write transaction, so a source's network time is never spent holding
the store's write turn (on PostgreSQL, runners' writes take turns); it writes the records and
the sealed cursor (:mod:`engage.cursors`) together, and a failure rolls back to the last
checkpoint. A cursor the source cannot use is set aside and the source starts over, with a
notice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import TypeGuard

import attrs

from engage.adapters import (
    FUTURE_TOLERANCE,
    Checkpoint,
    Notice,
    Problem,
    Retire,
    Skipped,
    Source,
    SourceItem,
    future_problem,
)
from engage.clock import from_micros, to_micros, utcnow
from engage.cursors import CursorError, dropped_notice, open_saved, seal, state_version
from engage.errors import EXIT_ERROR, EngageError, SourceError, StoreError, exit_code_of, unexpected
from engage.models import Touchpoint
from engage.readahead import sending_rows
from engage.report import MAX_MESSAGES, SourceReport
from engage.retries import asked_wait, is_retriable
from engage.store.base import Record, Store, WriteCounts
from engage.store.touchpoint_rows import EXTERNAL_ID_AT, SOURCE_AT, WHEN_AT, TouchpointRows

log = logging.getLogger(__name__)

#: Records written per executemany batch inside a checkpoint's transaction.
WRITE_CHUNK = 2000


@attrs.define
class Chunk:
    """What a pull read for one write: the records (a run of touchpoint rows counting its
    rows), how many are touchpoints and retires, and the checkpoint's cursor when the chunk
    ends at one."""

    batch: list[Record | TouchpointRows | Retire] = attrs.Factory(list)
    size: int = 0
    touchpoints: int = 0
    retired: int = 0
    cursor: str | None = None


def pull_source(
    store: Store, name: str, plugin: str, source: Source, *, now: datetime | None = None
) -> SourceReport:
    """Pull one source from its saved cursor into the store, committing at each checkpoint.

    A touchpoint dated more than a day after ``now`` (the real clock, default the moment the
    pull starts; never ``--as-of``) is not stored but counted as a problem
    (:func:`~engage.adapters.future_problem`).

    Never raises for a source failure: the report carries the error (one line naming the
    source, and the plugin for an unexpected exception, whose traceback goes to the debug
    log), its exit code, whether it is temporary and how long it asked to wait
    (:func:`engage.retries.is_retriable`, :func:`~engage.retries.asked_wait`), and everything
    since the last checkpoint is rolled back. Problems and skipped input are counted when
    read; those of the rolled-back records are also reported apart, as a retry reads them
    again.

    Raises:
        StoreError: the store failed (a full disk, say): not the source's fault, and no other
            source or sink can go on without it.
    """
    clock = utcnow() if now is None else now
    latest = clock + FUTURE_TOLERANCE  # checked inline: this loop sees every record
    counts = WriteCounts()
    records = touchpoints = problems = 0
    messages: list[str] = []
    skipped: dict[str, int] = {}
    notices: dict[str, None] = {}  # insertion-ordered, each message once
    error: str | None = None
    error_code = 0
    retriable = False
    retry_after: float | None = None
    committed_problems = 0  # problems and skips as of the last commit
    committed_skipped: dict[str, int] = {}

    def problem(message: str) -> None:
        nonlocal problems
        problems += 1
        if len(messages) < MAX_MESSAGES:
            messages.append(message)

    def wrong_source(source: str) -> SourceError:
        return SourceError(
            f"plugin '{plugin}' yielded a touchpoint with source {source!r}; "
            f"touchpoints must carry the source's config name {name!r} (context.name)"
        )

    def from_future(external_id: str, occurred_at: datetime) -> None:
        future = future_problem(occurred_at, clock)
        problem(f"{name}: touchpoint {external_id!r}: {future}")

    def admit_touchpoint(item: Touchpoint) -> bool:
        """True for a touchpoint to store; one from the future is counted as a problem."""
        if item.source != name:
            raise wrong_source(item.source)
        if item.occurred_at > latest:
            from_future(item.external_id, item.occurred_at)
            return False
        return True

    latest_micros = to_micros(latest)

    def admit_rows(run: TouchpointRows) -> TouchpointRows:
        """The run less its touchpoints from the future (counted as problems), as
        :func:`admit_touchpoint` would take them one by one."""
        rows = run.rows
        if not rows:
            return run
        if {row[SOURCE_AT] for row in rows} != {name}:  # name the first stray, in order
            raise wrong_source(next(row[SOURCE_AT] for row in rows if row[SOURCE_AT] != name))
        if max(row[WHEN_AT] for row in rows) <= latest_micros:
            return run
        kept = []
        for row in rows:
            if row[WHEN_AT] > latest_micros:
                from_future(row[EXTERNAL_ID_AT], from_micros(row[WHEN_AT]))
            else:
                kept.append(row)
        return TouchpointRows(kept)

    def admit(item: object) -> TypeGuard[Record | Retire]:
        """Count what is not stored; True for what is (a record or a Retire)."""
        if isinstance(item, Touchpoint):
            return admit_touchpoint(item)
        if isinstance(item, Skipped):
            skipped[item.what] = skipped.get(item.what, 0) + item.count
            return False
        if isinstance(item, Notice):
            notices[item.message] = None
            return False
        if isinstance(item, Problem):
            problem(item.message)
            return False
        return True

    def read_chunk(items: Iterator[SourceItem | TouchpointRows]) -> Chunk:
        """What to store up to the next checkpoint (and its cursor) or a chunk's worth."""
        chunk = Chunk()
        batch = chunk.batch
        for item in items:
            if type(item) is Touchpoint:  # most items: the plain class, checked first
                if admit_touchpoint(item):
                    batch.append(item)
                    chunk.touchpoints += 1
                    chunk.size += 1
                    if chunk.size >= WRITE_CHUNK:
                        break
                continue
            if type(item) is TouchpointRows:  # what a source reading ahead sends instead
                run = admit_rows(item)
                batch.append(run)
                chunk.touchpoints += len(run)
                chunk.size += len(run)
                if chunk.size >= WRITE_CHUNK:
                    break
                continue
            if isinstance(item, Checkpoint):
                chunk.cursor = item.cursor
                return chunk
            if admit(item):
                batch.append(item)
                chunk.touchpoints += isinstance(item, Touchpoint)
                chunk.retired += isinstance(item, Retire)
                chunk.size += 1
                if chunk.size >= WRITE_CHUNK:
                    break
        return chunk

    version = state_version(source)
    opened = open_saved(store.get_cursor(name), plugin, version, name)
    if opened.notice:
        notices[opened.notice] = None

    def pulled(cursor: str | None) -> Iterator[SourceItem | TouchpointRows]:
        """The source's items; a cursor it cannot read is set aside and it starts over."""
        try:
            yield from source.pull(cursor)
        except CursorError as exc:
            if cursor is None:
                raise
            log.debug("source %s could not read its cursor", name, exc_info=True)
            notices[dropped_notice(name, str(exc))] = None
            yield from source.pull(None)

    try:
        with sending_rows():  # a source reading ahead sends its touchpoints as rows
            items = pulled(opened.cursor)
            cursor: str | None = ""
            while cursor is not None:
                # Read up to a checkpoint (or a chunk) before the transaction begins: a source's
                # network time is never spent holding the store's write turn.
                chunk = read_chunk(items)
                segment = WriteCounts()
                segment_records = segment_touchpoints = 0
                with store.transaction():
                    while True:
                        segment += store.write(chunk.batch, name)
                        segment_records += chunk.size - chunk.retired
                        segment_touchpoints += chunk.touchpoints
                        cursor = chunk.cursor
                        if cursor is not None or chunk.size < WRITE_CHUNK:
                            break
                        chunk = read_chunk(items)  # a long segment (a local file)
                    if cursor is not None:
                        store.set_cursor(name, seal(plugin, version, cursor))
                # committed: only now do this segment's records count
                counts += segment
                notices.update(dict.fromkeys(segment.notes))
                records += segment_records
                touchpoints += segment_touchpoints
                committed_problems, committed_skipped = problems, dict(skipped)
    except StoreError:
        raise
    except EngageError as exc:
        error, error_code = f"{name}: {exc}", exit_code_of(exc)
        retriable, retry_after = is_retriable(exc), asked_wait(exc)
    except Exception as exc:  # a plugin bug must not take the other sources down
        log.debug("source %s (plugin %s) failed", name, plugin, exc_info=True)
        error, error_code = f"{name}: {unexpected(plugin, exc)}", EXIT_ERROR
    return SourceReport(
        name=name,
        plugin=plugin,
        records=records,
        touchpoints=touchpoints,
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
        retired=counts.retired,
        merged=counts.merged,
        problems=problems,
        skipped=skipped,
        messages=tuple(messages),
        notices=tuple(notices),
        error=error,
        error_code=error_code,
        retriable=retriable,
        retry_after=retry_after,
        rolled_back_problems=problems - committed_problems if error else 0,
        rolled_back_skipped={
            what: n - committed_skipped.get(what, 0)
            for what, n in skipped.items()
            if error and n > committed_skipped.get(what, 0)
        },
    )
