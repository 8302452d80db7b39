"""CsvSource: touchpoints, customers and contacts from CSV files exported by anything.

Its config keys are :class:`~engage_csv.options.CsvOptions` (the README's table). One pull reads every file the ``path`` option
matches, skipping files unchanged since the last pull and reading only the rows appended to
files that grew. A file's records are followed by a :class:`~engage.adapters.Checkpoint`
only once its share of refused rows is known to be within ``max_bad_ratio``; past it the
pull stops with a :class:`~engage.errors.SourceError` before that checkpoint, so nothing of
the file is stored and the cursor stays.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Generator, Iterator
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any, ClassVar

from engage.adapters import (
    FUTURE_TOLERANCE,
    AdapterContext,
    Checkpoint,
    Problem,
    Progress,
    Skipped,
    SourceItem,
    expect,
)
from engage.errors import BadInputError
from engage.preview import PreviewItem
from engage.readahead import read_ahead, rows_wanted
from engage_csv.cursor import FileState, dump_cursor, load_cursor, options_hash, plan
from engage_csv.dates import DateParser
from engage_csv.files import Bound, FileReader, Row
from engage_csv.header import find_files
from engage_csv.lookups import Lookups
from engage_csv.options import CsvOptions, delimiter, encoding, zone
from engage_csv.rows import Rows
from engage_csv.settings import Settings, build_settings
from engage_csv.values import ValueMaps

_PROGRESS_EVERY = 5000

#: Files this large in all (bytes still to read) are parsed in a process of their own
#: (:func:`engage.readahead.read_ahead`): about 9,000 rows of a CRM export. The pull of
#: 20,000 rows took 0.30 s instead of 0.40 s that way, of 100,000 1.3 s instead of 1.7 s;
#: below this the fork is not worth it, and a test's small files are read in one process.
READ_AHEAD_BYTES = 1 << 20


class CsvSource:
    """Reads touchpoints from one CSV file or a glob of them (``plugin = "csv"``)."""

    options: ClassVar[type[CsvOptions]] = CsvOptions

    def __init__(self, options: CsvOptions, context: AdapterContext) -> None:
        """Build the source from its options, built and checked by engage
        (:func:`engage.adapters.resolve_options`)."""
        self.where = context.table("sources")
        self.context = context
        self.path: str = options.path
        self.settings: Settings = build_settings(options)
        self.zone: tzinfo = zone(options.timezone) or UTC
        self.encoding: str = encoding(options.encoding) or "utf-8-sig"
        self.delimiter: str | None = delimiter(options.delimiter)
        self.date_format: str | None = options.date_format
        self.strict: bool = options.strict
        self.feedback_scale: float = options.feedback_scale
        self.max_bad_ratio: float = options.max_bad_ratio
        self.values = ValueMaps(self.settings.values)
        identity = context.identity
        self._options: dict[str, Any] = {
            "name": context.name,
            "settings": self.settings.fingerprint(),
            "timezone": options.timezone,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "date_format": self.date_format,
            "feedback_scale": self.feedback_scale,
            "internal": sorted(identity.internal_domains),
            "personal": hashlib.sha256(
                " ".join(sorted(identity.personal_domains)).encode()
            ).hexdigest(),
        }
        #: The options hash of the last pull (it includes the lookup files' stamps).
        self.fingerprint = options_hash(self._options)

    def open(self) -> tuple[list[tuple[str, Path, str]], Lookups, Rows, FileReader]:
        """Find the files and lookup files of a pull, and what reads them.

        Raises:
            SourceError: no file matches ``path``, or a lookup file is missing.
        """
        context = self.context
        files = find_files(self.path, context.path(self.path), context.base_dir)
        keyed = [(display, path, str(path.resolve())) for display, path in files]
        beside = files[0][1].parent
        lookups = Lookups(
            self.settings.lookups, context.path, beside, self.encoding, self.where, context.base_dir
        )
        self.fingerprint = options_hash({**self._options, "lookup_files": lookups.stamps()})
        self.values = ValueMaps(self.settings.values)  # the unmapped values of this pull
        rows = Rows(
            self.settings,
            name=context.name,
            identity=context.identity,
            parse_date=DateParser(self.zone, self.date_format),
            values=self.values,
            feedback_scale=self.feedback_scale,
            latest=context.now() + FUTURE_TOLERANCE,
            lookups=lookups,
        )
        return keyed, lookups, rows, FileReader(self.encoding, self.delimiter, self.fingerprint)

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        """Yield the records of new and changed files, with a checkpoint after each file read.

        Raises:
            CursorError: ``cursor`` is not one this source can read (before anything is
                read); the sync sets it aside and starts over with a notice.
            SourceError: a file cannot be read (undecodable, a needed column missing), or a
                lookup file is missing; :class:`~engage.errors.BadInputError` (the sync
                exits 3, partial) when more than ``max_bad_ratio`` of a file's rows were
                refused (before that file's checkpoint), or with ``strict`` at the first bad row.
        """
        saved = load_cursor(cursor)
        keyed, lookups, rows, reader = self.open()
        try:
            matched = {key for _, _, key in keyed}
            states = {k: s for k, s in saved.items() if k in matched}
            todo: list[tuple[str, Path, str, os.stat_result, FileState | None]] = []
            for display, path, key in keyed:
                stat = path.stat()
                action = plan(states.get(key), stat, self.fingerprint)
                if action != "skip":
                    previous = states.get(key) if action == "resume" else None
                    todo.append((display, path, key, stat, previous))
            size = sum(stat.st_size - (prev.offset if prev else 0) for *_, stat, prev in todo)

            def read(progress: Progress) -> Iterator[SourceItem]:
                if rows_wanted():  # reading ahead, for a store that takes rows
                    rows.send_rows()
                return self._read(todo, states, cursor, rows, reader, size, progress)

            if size >= READ_AHEAD_BYTES:  # parse in a process of its own while engage stores
                yield from read_ahead(read, self.context.progress)
            else:
                yield from read(self.context.progress)
        finally:
            lookups.close()

    def _read(
        self,
        todo: list[tuple[str, Path, str, os.stat_result, FileState | None]],
        states: dict[str, FileState],
        cursor: str | None,
        rows: Rows,
        reader: FileReader,
        size: int,
        progress: Progress,
    ) -> Iterator[SourceItem]:
        """The items of the files to read, ``size`` bytes in all, a checkpoint after each."""
        emitted = cursor
        sized = expect(progress, "bytes", size)  # for a percentage and the time left
        for display, path, key, stat, previous in todo:
            states[key] = yield from self._file(
                reader.read(display, path, key, previous, rows, stat.st_size, stat.st_mtime_ns),
                display,
                progress,
                stat.st_size - (previous.offset if previous else 0) if sized else None,
            )
            emitted = dump_cursor(states)
            yield Checkpoint(emitted)
        final = dump_cursor(states)
        if final != emitted:
            yield Checkpoint(final)

    def _file(
        self,
        reading: Generator[Bound | Row, None, FileState],
        display: str,
        progress: Progress,
        size: int | None = None,
    ) -> Generator[SourceItem, None, FileState]:
        """The items of one file's rows; returns its new state once its ratio is within bounds.

        With ``size`` (the bytes to read), bytes are counted to the progress too: estimated
        from the cells read (never above the true count), then made exact at the end.
        """
        count = refused = 0
        estimated = reported = 0
        passed: dict[str, int] = {}
        # Once per row: only a check of what the row gave, and the usual single record
        # yielded as is (a ``yield from`` of a one-item list costs more than the item).
        try:
            while True:
                row = next(reading)
                if not isinstance(row, Row):
                    continue
                count += 1
                cells = row.cells
                if size is not None and cells is not None:
                    estimated += len("".join(cells)) + len(cells)
                if count % _PROGRESS_EVERY == 0:
                    progress.advance("rows", _PROGRESS_EVERY)
                    if size is not None and estimated > reported:
                        step = min(estimated, size) - reported
                        progress.advance("bytes", step)
                        reported += step
                records = row.records
                if len(records) == 1:
                    yield records[0]
                elif records:
                    yield from records
                elif row.refused is not None:
                    refused += 1
                    message = f"{display}:{row.line}: {row.refused}"
                    if self.strict:
                        raise BadInputError(message)
                    yield Problem(message)
                elif row.passed is not None:
                    passed[row.passed] = passed.get(row.passed, 0) + 1
        except StopIteration as done:
            state: FileState = done.value
        progress.advance("rows", count % _PROGRESS_EVERY)
        if size is not None and size > reported:
            progress.advance("bytes", size - reported)
        read = count - sum(passed.values())
        if read and refused / read > self.max_bad_ratio:
            raise BadInputError(
                f"{display}: {refused} of {read} rows refused (max_bad_ratio {self.max_bad_ratio:g}); "
                "nothing from this file was stored"
            )
        for what, number in passed.items():
            yield Skipped(what, number)
        return state

    def preview(self) -> Iterator[PreviewItem]:
        """Read every file from the start, writing nothing, for ``engage check``.

        Yields a :class:`~engage.preview.FieldMap` per header cell, a
        :class:`~engage.preview.PreviewRow` per row, a :class:`~engage.adapters.Problem`
        for a file that cannot be read, and :class:`~engage.preview.Unmapped` values last.
        """
        from engage_csv.preview import preview

        return preview(self)
