"""CsvSink: append follow-up tasks to a CSV file, one row per task, never the same key twice;
mark the ones engage no longer wants ``cleared``.

The keys already in the file come from a small index beside it (:mod:`engage_csv.keyindex`),
so a sync neither parses the whole file again nor holds every key in memory. The file itself
is handled by :mod:`engage_csv.taskfile`: appends that are taken back when they fail, rewrites
that are atomic, and a record scan that finds a row cut off by a crash.
"""

from __future__ import annotations

import contextlib
import csv
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from engage.adapters import AdapterContext, PushResult
from engage.clock import ensure_utc
from engage.errors import SinkError
from engage.models import Task
from engage_csv import keyindex, taskfile, taskrows, taskscan
from engage_csv.keyindex import KeyIndex
from engage_csv.options import CsvSinkOptions
from engage_csv.taskfile import Record, Stamp
from engage_csv.taskrows import COLUMNS, OPEN, STATUS_COLUMNS

__all__ = ["COLUMNS", "CsvSink"]


#: How often a rewrite starts again when someone else writes the file meanwhile.
_ATTEMPTS = 3


class _State:
    """What the sink knows of its file: the header, the keys, the stamp they belong to."""

    def __init__(
        self, header: list[str] | None, keys: KeyIndex, stamp: Stamp | None, indexed: bool
    ) -> None:
        self.header = header
        self.keys = keys
        self.stamp = stamp
        self.indexed = indexed  # the index beside the file is up to date with ``stamp``


class CsvSink:
    """Appends tasks to a CSV file (``plugin = "csv"``); a spreadsheet or script takes it from there.

    The task key is the row's identity: a task whose key is already in the file is not
    written again, so a retried or repeated push never duplicates a row. A new row's
    ``status`` is ``open``; :meth:`complete` marks rows ``cleared`` (with ``cleared_at``)
    by rewriting the file atomically. Rows and columns added by hand are kept as they are.

    Attributes:
        notices: What a person should know about this run that is not an error (a cut-off
            row moved aside, an old file upgraded); engage shows each once.
    """

    options: ClassVar[type[CsvSinkOptions]] = CsvSinkOptions
    #: Each batch costs an append and three ``fsync``\ s (rows, digests, stamp): a whole
    #: planning chunk's tasks go in one.
    batch_size: ClassVar[int] = 2000

    def __init__(self, options: CsvSinkOptions, context: AdapterContext) -> None:
        """Build the sink from its options, built and checked by engage; ``path`` is relative
        to the config's directory.

        Nothing is read or written until the first :meth:`find`, :meth:`create` or
        :meth:`complete`.
        """
        self.context = context
        self.display: str = options.path
        self.path: Path = context.path(options.path)
        self.notices: list[str] = []
        self._state: _State | None = None
        self._index = keyindex.index_path(self.path)

    # -- the Sink protocol ------------------------------------------------------------------

    def find(self, tasks: Sequence[Task]) -> Mapping[str, str]:
        """Task key → remote id (the key itself) for the tasks already in the file.

        A row cut off at the end of the file is not in it (see :meth:`_open`).

        Raises:
            SinkError: the file cannot be read, or is not a task file.
        """
        keys = self._open().keys
        return {task.key: task.key for task in tasks if task.key in keys}

    def create(self, tasks: Sequence[Task]) -> Iterable[PushResult]:
        """Append the tasks not in the file yet, as ``open``; every task's remote id is its key.

        The batch is encoded whole, appended, flushed and ``fsync``\\ ed; if any of that
        fails the file is cut back to its size before, so it never ends in half a row.

        Raises:
            SinkError: the file cannot be read or written; nothing of the batch is in it.
        """
        state = self._open()
        header = state.header or list(COLUMNS)
        created_at = self._now()
        rows: list[list[str]] = [] if state.header is not None else [header]
        added: dict[str, None] = {}  # in the order written
        for task in tasks:
            if task.key in state.keys or task.key in added:
                continue
            added[task.key] = None
            rows.append(taskrows.task_row(task, created_at, header))
        if added:
            text = taskfile.encode_rows(rows)
            self._append(state, text.encode(taskfile.ENCODING, taskfile.ERRORS))
            state.header = header
            self._record(state, [state.keys.add(key) for key in added])
        return [PushResult(task.key, remote_id=task.key) for task in tasks]

    def complete(self, remote_ids: Mapping[str, str]) -> Iterable[PushResult]:
        """Mark the rows of these tasks ``cleared`` with ``cleared_at`` (now), atomically.

        A row whose status someone set by hand to something other than ``open`` keeps it.
        A key not in the file (its row deleted by hand) gets a failed result.

        Raises:
            SinkError: the file cannot be read or rewritten; it is left as it was.
        """
        if not remote_ids:
            return []
        wanted = set(remote_ids)
        for _attempt in range(_ATTEMPTS):
            found = self._clear(wanted)
            if found is not None:
                break
        else:
            raise self._kept_changing("mark cleared tasks")
        return [
            PushResult(key, remote_id=key)
            if key in found
            else PushResult(key, error="not in the task file (its row was deleted?)")
            for key in remote_ids
        ]

    def _clear(self, wanted: set[str]) -> set[str] | None:
        """Mark the open rows of ``wanted`` keys cleared; the keys found, or None if someone
        else wrote the file meanwhile.

        Only the rows of those keys are parsed and written anew, the rest is copied as bytes
        (:mod:`engage_csv.taskscan`).
        """
        state = self._open()
        if state.header is None:
            return set()
        columns = taskrows.Columns(state.header, wanted, self._now())
        found: set[str] = set()
        opened = False

        def clear(record: Record) -> str:  # one pass: find the rows and mark them
            nonlocal opened
            if record.start != 0 and (key := columns.key(record)) in wanted:
                found.add(key)
                opened = opened or columns.is_open(record)
            return columns.clear(record)

        keys = taskscan.encoded(wanted)
        produce = functools.partial(taskscan.edit, self.path, columns.key_column, keys, clear)
        cleared = self._rewrite(produce, "mark cleared tasks", state, keep=lambda: opened)
        return found if cleared else None

    # -- opening: repair, upgrade, keys -----------------------------------------------------

    def _open(self) -> _State:
        """The file's state, read again only when someone else changed the file.

        Opening repairs a file whose last row was cut off (a crash, or an older engage on a
        full disk): the cut-off row is moved to ``NAME.engage-damaged`` beside the file, so
        its key no longer counts as written and its task is pushed again. A file whose
        header lacks the status columns is upgraded (columns added, rows ``open``).
        """
        if self._state is not None and self._state.stamp == taskfile.stamp_of(self.path):
            return self._state
        self._state = None
        for _attempt in range(_ATTEMPTS):
            try:
                state = self._load(taskfile.stamp_of(self.path))
                old = state.header is not None and any(
                    c not in state.header for c in STATUS_COLUMNS
                )
                if old and not self._upgrade(state):
                    continue  # someone else wrote the file meanwhile: read it again
            except (OSError, csv.Error) as error:
                raise self._unreadable(error) from error
            self._state = state
            return state
        raise self._kept_changing("add the status columns")

    def _unreadable(self, error: OSError | csv.Error) -> SinkError:
        why = taskfile.cause(error) if isinstance(error, OSError) else str(error)
        return SinkError(f"{self.display}: cannot read the task file: {why}")

    def _kept_changing(self, what: str) -> SinkError:
        return SinkError(
            f"{self.display}: cannot {what}: the file kept changing while engage rewrote it; "
            "it is unchanged (close the program writing it and sync again)"
        )

    def _load(self, stamp: Stamp | None) -> _State:
        if stamp is None:
            return _State(None, KeyIndex(), None, indexed=False)
        saved = keyindex.load(self._index, stamp)
        head = taskfile.first_record(self.path) if saved is not None else None
        if saved is None or head is None or not head.complete:
            return self._scan()
        self._check_header(head.fields)
        return _State(head.fields, saved, stamp, indexed=True)

    def _check_header(self, header: list[str]) -> None:
        if "key" not in header:
            raise SinkError(f"{self.display}: not a task file: the header has no 'key' column")

    def _scan(self) -> _State:
        """Parse the whole file for its keys, repair a cut-off end, and index it again."""
        keys = KeyIndex()
        header: list[str] | None = None
        last: Record | None = None
        column = 0
        for record in taskfile.records(self.path):
            if header is None:
                header = record.fields
                self._check_header(header)
                column = header.index("key")
            elif record.complete and len(record.fields) > column:
                keys.add(record.fields[column])
            last = record
        if last is not None and not last.complete:
            if last.start > 0 and taskrows.whole_without_line_ending(last, header or []):
                keys.add(last.fields[column])
                self._finish_line()
            else:
                self._move_aside(last)
                if last.start == 0:
                    header = None
        stamp = taskfile.stamp_of(self.path)
        indexed = False
        if stamp is not None:
            with contextlib.suppress(OSError):  # only a speed-up: the next run parses again
                keyindex.save(self._index, keys, stamp)
                indexed = True
        return _State(header, keys, stamp, indexed)

    def _finish_line(self) -> None:
        """End a whole last row that lacks only its line ending (a file saved by hand)."""
        try:
            taskfile.append(self.path, b"\r\n")
        except taskfile.AppendError as error:
            raise SinkError(
                f"{self.display}: cannot end the last row with a line ending: {error}"
            ) from error

    def _move_aside(self, cut: Record) -> None:
        """Move a cut-off last row to ``NAME.engage-damaged`` and cut the file before it."""
        damaged = self.path.with_name(self.path.name + ".engage-damaged")
        shown = f"{self.display}.engage-damaged"
        text = cut.raw if cut.ended else cut.raw + "\r\n"
        try:
            taskfile.append(damaged, text.encode(taskfile.ENCODING, taskfile.ERRORS))
            taskfile.truncate(self.path, cut.start)
        except (OSError, taskfile.AppendError) as error:
            why = error if isinstance(error, taskfile.AppendError) else taskfile.cause(error)
            raise SinkError(
                f"{self.display}: the file ends in a cut-off row that cannot be moved to "
                f"{shown}: {why}"
            ) from error
        what, then = (
            ("header", "") if cut.start == 0 else ("last row", ", so its task is written again")
        )
        self.notices.append(
            f"{self.display}: the {what} was cut off (a crash or a full disk while writing); "
            f"moved it to {shown}{then}"
        )

    def _upgrade(self, state: _State) -> bool:
        """Add the missing status columns at the end of the header; every row is ``open``.

        Returns False when someone else wrote the file meanwhile (nothing was changed).
        """
        assert state.header is not None
        old = state.header
        missing = [c for c in STATUS_COLUMNS if c not in old]

        def upgrade(record: Record) -> str:
            return taskrows.upgraded(record, old, missing)

        if not self._rewrite(self._each_record(upgrade), "add the status columns", state):
            return False
        state.header = [*old, *missing]
        self.notices.append(
            f"{self.display}: added the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}; the rows already there are {OPEN}"
        )
        return True

    # -- writing ----------------------------------------------------------------------------

    def _rewrite(
        self,
        produce: Callable[[], Iterable[bytes]],
        what: str,
        state: _State,
        keep: Callable[[], bool] | None = None,
    ) -> bool:
        """Rewrite the file atomically with what ``produce`` yields; keys stay.

        ``keep`` is asked once every record is read: False leaves the file as it is.
        Returns False when the file is no longer the one ``state`` describes (nothing changed).
        """
        try:
            stamp = taskfile.rewrite(self.path, produce, state.stamp, keep)
        except taskfile.Changed:
            self._state = None
            return False
        except (OSError, csv.Error) as error:
            why = taskfile.cause(error) if isinstance(error, OSError) else str(error)
            raise SinkError(
                f"{self.display}: cannot {what}: {why}; the task file is unchanged"
            ) from error
        if stamp is not None:
            self._moved(state, stamp)
        return True

    def _each_record(self, change: Callable[[Record], str]) -> Callable[[], Iterator[bytes]]:
        """The file parsed whole, each record encoded as ``change`` returns it."""

        def produce() -> Iterator[bytes]:
            for record in taskfile.records(self.path):
                yield change(record).encode(taskfile.ENCODING, taskfile.ERRORS)

        return produce

    def _append(self, state: _State, data: bytes) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SinkError(
                f"{self.display}: cannot create its directory: {taskfile.cause(error)}"
            ) from error
        try:
            taskfile.append(self.path, data)
        except taskfile.AppendError as error:
            if error.undo is not None:
                self._state = None  # the next use parses the file and moves the cut row aside
                raise SinkError(
                    f"{self.display}: {error}; the batch could not be taken back "
                    f"({taskfile.cause(error.undo)}): the next run moves its rows aside"
                ) from error
            stamp = taskfile.stamp_of(self.path)
            if stamp is not None:
                self._moved(state, stamp)  # the same bytes as before, a new time
            raise SinkError(
                f"{self.display}: {error}; nothing of this batch was written"
            ) from error

    def _moved(self, state: _State, stamp: Stamp) -> None:
        """The file has the same keys under a new stamp: move the state and the index on."""
        old, state.stamp = state.stamp, stamp
        if state.indexed and old is not None:
            with contextlib.suppress(OSError):
                state.indexed = keyindex.restamp(self._index, old, stamp)
                return
        state.indexed = False

    def _record(self, state: _State, added: list[int]) -> None:
        """Bring the state and the key index up to date with the rows just appended."""
        old, state.stamp = state.stamp, taskfile.stamp_of(self.path)
        if state.stamp is None:
            return
        # the index is only a speed-up: if it cannot be written, the next run parses the file
        try:
            if state.indexed and old is not None:
                keyindex.append(self._index, added, state.stamp)
            else:
                keyindex.save(self._index, state.keys, state.stamp)
            state.indexed = True
        except OSError:
            state.indexed = False

    def _now(self) -> str:
        return ensure_utc(self.context.now(), "now").isoformat(timespec="seconds")
