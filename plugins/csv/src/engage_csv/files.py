"""Reading one file: from the start or from the cursor's offset, row by row, to a new file state.

:func:`read_file` yields a :class:`Bound` once the header is matched, then one
:class:`Row` per record (its cells and what it became), and returns the
:class:`~engage_csv.cursor.FileState` to save. The pull and ``engage check`` both use it.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Generator
from pathlib import Path
from typing import IO

import attrs

from engage.errors import SourceError
from engage.models import Contact, Customer, Touchpoint
from engage_csv.cursor import FileState, HashingReader, prefix_matches
from engage_csv.dates import evidence, format_for
from engage_csv.reader import (
    Lines,
    ascii_compatible,
    detect_encoding,
    nul_pattern,
    records,
    sniff,
)
from engage_csv.rows import BadRow, Layout, PassOver, Rows

Records = list[Customer | Contact | Touchpoint]


@attrs.frozen
class Bound:
    """The file's header was matched."""

    layout: Layout


class Row:
    """One record of the file: where, its cells, and its records, or why it gave none.

    ``refused`` is ``field: problem (got 'value')``; ``passed`` is the reason it was passed
    over. (A plain class: one is made per row, so it is kept cheap.)
    """

    __slots__ = ("cells", "line", "passed", "records", "refused")

    def __init__(
        self,
        line: int,
        cells: list[str] | None,
        records: Records | None = None,
        refused: str | None = None,
        passed: str | None = None,
    ) -> None:
        self.line = line
        self.cells = cells
        self.records: Records = records or []
        self.refused = refused
        self.passed = passed


def _terminated(line: str) -> bool:
    return line.endswith(("\n", "\r"))


@attrs.define
class FileReader:
    """Reads the files of one source (its encoding, delimiter and options hash)."""

    encoding: str
    delimiter: str | None
    fingerprint: str

    def read(
        self,
        display: str,
        path: Path,
        key: str,
        previous: FileState | None,
        rows: Rows,
        size: int | None = None,
        mtime_ns: int = 0,
    ) -> Generator[Bound | Row, None, FileState]:
        """Read ``path`` (from ``previous``'s offset if its first bytes are unchanged).

        Raises:
            SourceError: the file cannot be decoded, or its header lacks a needed column.
        """
        with path.open("rb") as raw:
            if size is None:
                size = path.stat().st_size
            head = raw.read(4096)
            encoding = detect_encoding(head, self.encoding)
            wide = nul_pattern(head) if encoding == self.encoding else None
            if wide is not None and ascii_compatible(encoding):
                raise SourceError(
                    f"{display}: looks like {wide.upper()} text without a byte-order mark "
                    f'(NUL bytes between the letters); set encoding = "{wide}"'
                )
            digest = prefix_matches(raw, previous) if previous is not None else None
            if previous is not None and digest is not None:
                start, base_line, hash_from = previous.offset, previous.line, previous.size
                header: list[str] | None = list(previous.header)
                delimiter = previous.delimiter
                encoding = encoding.removesuffix("-sig")
            else:
                digest, start, base_line, hash_from, header = hashlib.sha256(), 0, 1, 0, None
                delimiter = self.delimiter or sniff(raw, encoding)
            stream = io.BufferedReader(HashingReader(raw, start, size, digest, hash_from), 1 << 16)
            text = io.TextIOWrapper(stream, encoding=encoding, newline="")
            lines = Lines(text)
            rows.infer = lambda: _infer(path, encoding, delimiter, rows.date_columns)
            try:
                end_line, end_chars, resumable = yield from self._rows(
                    display, lines, header, base_line, delimiter, rows
                )
            except UnicodeError as error:  # UTF-16 without a BOM raises a bare UnicodeError
                raise _decode_error(display, raw, start, size, encoding, base_line, error) from None
            tail = lines.chars - end_chars
            if tail == 0:
                offset = size
            elif tail <= len(lines.last):
                offset = size - len(lines.last[-tail:].encode(encoding))
            else:  # an unterminated quoted field spanning lines at the end: measure it
                raw.seek(start)
                consumed = raw.read(size - start).decode(encoding, errors="replace")
                offset = size - len(consumed[end_chars:].encode(encoding, errors="replace"))
            if not ascii_compatible(encoding):
                resumable = None
            return FileState(
                path=key,
                size=size,
                mtime_ns=mtime_ns,
                sha256=digest.hexdigest(),
                offset=offset,
                line=base_line + end_line,
                options=self.fingerprint,
                header=tuple(resumable or ()),
                delimiter=delimiter,
            )

    def _rows(
        self,
        display: str,
        lines: Lines,
        header: list[str] | None,
        base_line: int,
        delimiter: str,
        rows: Rows,
    ) -> Generator[Bound | Row, None, tuple[int, int, list[str] | None]]:
        """Yield each record's :class:`Row`.

        Returns the line count and character count where the last complete record ended,
        and the header, or None when a later pull cannot resume this file from there.
        """
        stream = records(lines, delimiter)
        if header is None:
            for _, cells, _problem in stream:
                if cells is not None and any(cell.strip() for cell in cells):
                    header = [cells[0].lstrip("\ufeff"), *cells[1:]]
                    break
            if header is None or lines.done or not _terminated(lines.last):
                return lines.lines, lines.chars, None  # empty, or a header still being written
        layout = rows.bind(display, header)
        yield Bound(layout)
        end_line, end_chars = lines.lines, lines.chars
        row_line, row_chars = end_line, end_chars
        last_done = False
        count = 0
        for before, cells, problem in stream:
            row_line, row_chars = end_line, end_chars
            end_line, end_chars = lines.lines, lines.chars
            last_done = lines.done
            line = base_line + before
            if problem is not None:
                count += 1
                yield Row(line, None, refused=problem)
                continue
            assert cells is not None
            if not any(cells):
                continue
            count += 1
            try:
                yield Row(line, cells, rows.records(layout, cells))
            except BadRow as error:
                yield Row(line, cells, refused=str(error))
            except PassOver as reason:
                yield Row(line, cells, passed=str(reason))
        if count and (last_done or not _terminated(lines.last)):
            return row_line, row_chars, header  # the last row may still be growing
        return end_line, end_chars, header


def _infer(
    path: Path, encoding: str, delimiter: str, columns: tuple[int, ...]
) -> tuple[str | None, list[int], int]:
    """Read the file's dates for one that shows the day/month order (a day above 12).

    Returns the order (``"dmy"``, ``"mdy"`` or None), the first lines whose dates could be
    either, and how many such dates there were (up to the one that settled it).
    """
    ambiguous: list[int] = []
    count = 0
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="", errors="replace")
        lines = Lines(text)
        header_seen = False
        for before, cells, _problem in records(lines, delimiter):
            if not cells or not any(cells):
                continue
            if not header_seen:
                header_seen = True
                continue
            cell = next((cells[i] for i in columns if i < len(cells) and cells[i].strip()), "")
            order = evidence(cell)
            if order is not None:
                return order, ambiguous, count
            if format_for(cell, True) is not None:  # numeric, day and month both 12 or less
                count += 1
                if len(ambiguous) < 5:
                    ambiguous.append(before + 1)
    return None, ambiguous, count


def _decode_error(
    display: str,
    raw: IO[bytes],
    start: int,
    size: int,
    encoding: str,
    base_line: int,
    error: UnicodeError,
) -> SourceError:
    raw.seek(start)
    data = raw.read(size - start)
    try:
        data.decode(encoding)
        position = 0
    except UnicodeDecodeError as exact:
        position = exact.start
    except UnicodeError:
        position = 0
    before = data[:position].decode(encoding, errors="replace")
    line = base_line + before.count("\n") + before.count("\r") - before.count("\r\n")
    byte = data[position : position + 1]
    name = encoding.removesuffix("-sig")
    raw.seek(0)
    wide = nul_pattern(raw.read(4096))
    if wide is not None:
        hint = f'the file looks like {wide.upper()}: set encoding = "{wide}"'
    elif byte and 0x80 <= byte[0] <= 0x9F:
        hint = 'the byte is a printable character in Windows-1252 (Excel on Windows): set encoding = "cp1252"'
    elif name != "utf-8" and _decodes(data, "utf-8"):
        hint = 'the file is valid UTF-8: set encoding = "utf-8"'
    else:
        hint = (
            "if the file was saved by Excel or an older system, "
            'set encoding = "latin-1" (or "cp1252")'
        )
    shown = byte.hex().upper() or "?"
    return SourceError(
        f"{display}:{line}: cannot decode byte 0x{shown} as {name} "
        f"({getattr(error, 'reason', error)}); {hint}"
    )


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeError:
        return False
    return True
