"""CsvSink: append follow-up tasks to a CSV file, one row per task, never the same key twice.

The keys already in the file come from a small index beside it (:mod:`engage_csv.keyindex`),
so a sync neither parses the whole file again nor holds every key in memory.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from engage.adapters import AdapterContext, Option, PushResult
from engage.clock import ensure_utc
from engage.errors import ConfigError, SinkError
from engage.models import Task
from engage_csv import keyindex
from engage_csv.keyindex import KeyIndex

#: The file's columns, in order.
COLUMNS: tuple[str, ...] = (
    "key",
    "customer",
    "rule",
    "title",
    "due",
    "priority",
    "kind",
    "owner",
    "contact",
    "reason",
    "body",
    "created_at",
)


class CsvSink:
    """Appends tasks to a CSV file (``plugin = "csv"``); a spreadsheet or script takes it from there.

    The task key is the row's identity: a task whose key is already in the file is not
    written again, so a retried or repeated push never duplicates a row. A CSV file cannot
    mark work done, so :meth:`complete` does nothing.
    """

    options: ClassVar[Mapping[str, Option]] = {
        "path": Option(
            str, required=True, help="the CSV file to append tasks to, e.g. 'tasks.csv'"
        ),
    }
    batch_size: ClassVar[int] = 500

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        """Build the sink from resolved options; ``path`` is relative to the config's directory."""
        if not options.get("path"):
            raise ConfigError(
                f"[sinks.{context.name}]: missing required key 'path' ({self.options['path'].help})"
            )
        self.context = context
        self.display: str = options["path"]
        self.path: Path = context.path(options["path"])
        self._keys: KeyIndex | None = None
        self._stamp: tuple[int, int] | None = None
        self._index = keyindex.index_path(self.path)

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_size, stat.st_mtime_ns)

    def _existing_keys(self) -> KeyIndex:
        """The task keys already in the file, read again only when someone else changed it."""
        stamp = self._file_stamp()
        if self._keys is None or stamp != self._stamp:
            self._keys = self._load_keys(stamp)
            self._stamp = stamp
        return self._keys

    def _load_keys(self, stamp: tuple[int, int] | None) -> KeyIndex:
        """The file's keys: from its index when up to date, else parsed (and indexed again)."""
        if stamp is None:
            return KeyIndex()
        saved = keyindex.load(self._index, stamp)
        if saved is not None:
            return saved
        keys = KeyIndex()
        for key in self._read_keys():
            keys.add(key)
        with contextlib.suppress(OSError):  # only a speed-up: the next run parses the file again
            keyindex.save(self._index, keys, stamp)
        return keys

    def _read_keys(self) -> Iterator[str]:
        """The task keys in the file (none when it is missing or empty)."""
        try:
            with self.path.open(encoding="utf-8-sig", newline="") as handle:
                rows = csv.reader(handle)
                header = next(rows, None)
                if header is None:
                    return
                if "key" not in header:
                    raise SinkError(
                        f"{self.display}: not a task file: the header has no 'key' column"
                    )
                column = header.index("key")
                for row in rows:
                    if len(row) > column:
                        yield row[column]
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise SinkError(f"{self.display}: cannot read the task file: {error}") from error

    def find(self, tasks: Sequence[Task]) -> Mapping[str, str]:
        """Task key → remote id (the key itself) for the tasks already in the file."""
        keys = self._existing_keys()
        return {task.key: task.key for task in tasks if task.key in keys}

    def create(self, tasks: Sequence[Task]) -> Iterable[PushResult]:
        """Append the tasks not in the file yet; every task's remote id is its key.

        Raises:
            SinkError: the file cannot be read or written.
        """
        keys = self._existing_keys()
        had_index = self._stamp is not None and keyindex.load_stamp(self._index) == self._stamp
        created_at = ensure_utc(self.context.now(), "now").isoformat(timespec="seconds")
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        added = []
        for task in tasks:
            if task.key in keys:
                continue
            added.append(keys.add(task.key))
            writer.writerow(_row(task, created_at))
        if buffer.tell():
            self._append(buffer.getvalue())
            self._stamp = self._file_stamp()
            self._record(keys, added, had_index)
        return [PushResult(task.key, remote_id=task.key) for task in tasks]

    def _record(self, keys: KeyIndex, added: list[int], had_index: bool) -> None:
        """Bring the key index up to date with the rows just appended."""
        if self._stamp is None:
            return
        # the index is only a speed-up: if it cannot be written, the next run parses the file
        with contextlib.suppress(OSError):
            if had_index:
                keyindex.append(self._index, added, self._stamp)
            else:
                keyindex.save(self._index, keys, self._stamp)

    def complete(self, remote_ids: Mapping[str, str]) -> Iterable[PushResult]:
        """Do nothing: a CSV file has no notion of done. Returns an empty list."""
        return []

    def _append(self, text: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+b") as handle:
                size = handle.seek(0, os.SEEK_END)
                prefix = b""
                if size == 0:
                    header = io.StringIO()
                    csv.writer(header).writerow(COLUMNS)
                    prefix = header.getvalue().encode()
                else:
                    handle.seek(size - 1)
                    if handle.read(1) not in (b"\n", b"\r"):  # a row cut short by a crash
                        prefix = b"\r\n"
                handle.write(prefix + text.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            raise SinkError(f"{self.display}: cannot write the task file: {error}") from error


def _row(task: Task, created_at: str) -> list[str]:
    return [
        task.key,
        task.customer,
        task.rule,
        task.title,
        task.due.isoformat(),
        task.priority.value,
        task.kind.value,
        task.owner or "",
        task.contact_email or "",
        task.reason,
        task.body,
        created_at,
    ]
