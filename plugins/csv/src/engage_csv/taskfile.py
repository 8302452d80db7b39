"""The CSV task file on disk: its records with their byte offsets, a checked append, an atomic
rewrite.

Three promises the sink builds on:

- **No half row stays.** :func:`append` writes a whole encoded batch, flushes and ``fsync``\\ s
  it; on any error it truncates the file back to its size before the batch, so a full disk
  leaves the file as it was.
- **No half file is ever seen.** :func:`rewrite` writes a temporary file in the same
  directory, ``fsync``\\ s it, renames it over the task file and ``fsync``\\ s the directory: a
  reader (a spreadsheet, a script) sees the old file or the new one, never a mix.
- **A cut-off end is found.** :func:`records` tells for every record whether it ended with a
  line ending outside quotes; the last one of a file cut by a crash (or by an older engage on
  a full disk) does not.

Bytes that are not UTF-8 (a file saved by hand in another encoding) are carried through
unchanged (``surrogateescape``), so a rewrite never alters a row it does not mean to change.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import stat
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

#: How text is encoded and decoded: UTF-8, other bytes kept as they are.
ENCODING = "utf-8"
ERRORS = "surrogateescape"
BOM = "\ufeff"

Stamp = tuple[int, int]


class Record(NamedTuple):
    """One CSV record (the header is the first) and where it lies in the file.

    Attributes:
        fields: The parsed fields.
        raw: The record's text as in the file, line ending included (the header's with the
            byte-order mark, if the file has one).
        start: Byte offset of its first byte.
        end: Byte offset just past its last byte.
        open_quote: The data ended inside a quoted field (only ever the last record).
    """

    fields: list[str]
    raw: str
    start: int
    end: int
    open_quote: bool

    @property
    def ended(self) -> bool:
        """It ends with a line ending (inside quotes or not)."""
        return self.raw.endswith(("\n", "\r"))

    @property
    def complete(self) -> bool:
        """It ended with a line ending outside any quoted field."""
        return self.ended and not self.open_quote


class _Lines:
    """The file's lines for :mod:`csv`, counting the bytes and text handed out."""

    def __init__(self, text: Iterator[str], offset: int) -> None:
        self._text = text
        self.offset = offset
        self.taken: list[str] = []
        self.exhausted = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        try:
            line = next(self._text)
        except StopIteration:
            self.exhausted = True
            raise
        first = self.offset == 0
        self.taken.append(line)
        self.offset += len(line.encode(ENCODING, ERRORS))
        return line.removeprefix(BOM) if first else line


def records(path: Path, offset: int = 0) -> Generator[Record, None, None]:
    """Every record of the file in order, the header first (none for a missing or empty file);
    from ``offset`` on, the byte offset of a record's start, if given.

    Raises:
        OSError: the file cannot be read (a missing file is not an error).
        csv.Error: a record cannot be parsed (a field over the :mod:`csv` size limit).
    """
    try:
        binary = path.open("rb")
    except FileNotFoundError:
        return
    with binary:
        binary.seek(offset)
        with io.TextIOWrapper(binary, encoding=ENCODING, errors=ERRORS, newline="") as handle:
            lines = _Lines(iter(handle), offset)
            reader = csv.reader(lines)
            start = offset
            for fields in reader:
                raw = "".join(lines.taken)
                lines.taken.clear()
                # the reader closes a record at the end of the data only when a quote is
                # still open
                yield Record(fields, raw, start, lines.offset, lines.exhausted)
                start = lines.offset


def first_record(path: Path) -> Record | None:
    """The file's first record (its header), or None for a missing or empty file."""
    with contextlib.closing(records(path)) as found:
        return next(found, None)


def encode_row(fields: Iterable[str]) -> str:
    """One CSV record as text, ending in CRLF (what :mod:`csv` writes by default)."""
    return encode_rows([fields])


def encode_rows(rows: Iterable[Iterable[str]]) -> str:
    """CSV records as text, each ending in CRLF: what :mod:`csv`'s writer writes by default.

    Built with string methods rather than the writer, which copies its fields a character
    at a time: a task's row (about 2.7 KB, most of it the body) took 11 µs, a first load's
    tens of thousands most of a second.
    """
    return "".join([_record(list(fields)) for fields in rows])


def _record(fields: list[str]) -> str:
    """One record: its fields quoted where they must be, joined by commas, then CRLF."""
    if fields == [""]:
        return '""\r\n'  # as the csv module writes it: a bare line ending reads as no field
    return ",".join([_field(value) for value in fields]) + "\r\n"


def _field(value: str) -> str:
    """A field as the csv module's minimal quoting writes it."""
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    if "," in value or "\n" in value or "\r" in value:
        return '"' + value + '"'
    return value


def stamp_of(path: Path) -> Stamp | None:
    """The file's size and modification time (ns), or None when it is missing."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_size, info.st_mtime_ns)


def cause(error: BaseException) -> str:
    """An OS error as a few lower-case words: ``no space left on device``."""
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror
        return text[:1].lower() + text[1:]
    return str(error) or type(error).__name__


class AppendError(Exception):
    """An append failed; ``undo`` is the error that kept it from being taken back, if any."""

    def __init__(self, error: OSError, undo: OSError | None) -> None:
        super().__init__(cause(error))
        self.error = error
        self.undo = undo


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write only part)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def append(path: Path, data: bytes) -> None:
    """Append ``data`` durably, or not at all.

    Raises:
        AppendError: the bytes could not be written (or flushed to disk); the file was
            truncated back to its size before, unless ``undo`` says that failed too.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    except OSError as error:
        raise AppendError(error, None) from error
    try:
        size = os.fstat(fd).st_size
        try:
            write_all(fd, data)
            os.fsync(fd)
        except OSError as error:
            try:
                os.ftruncate(fd, size)
                os.fsync(fd)
            except OSError as undo:
                raise AppendError(error, undo) from error
            raise AppendError(error, None) from error
    finally:
        os.close(fd)


def truncate(path: Path, size: int) -> None:
    """Cut the file to ``size`` bytes, durably."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)


class Changed(Exception):
    """The file changed while it was being rewritten; nothing was replaced."""


def rewrite(
    path: Path,
    produce: Callable[[], Iterable[bytes]],
    expected: Stamp | None,
    keep: Callable[[], bool] | None = None,
) -> Stamp | None:
    """Replace the file with the bytes ``produce()`` yields, atomically; returns the new
    stamp, or None when ``keep`` (asked once they are written) said the file need not change.

    The content goes to a temporary file beside the task file, which is flushed, ``fsync``\\ ed,
    given the task file's permissions and renamed over it; then the directory is
    ``fsync``\\ ed. On any failure the temporary file is removed and the task file is left as
    it was.

    Args:
        path: The task file.
        produce: Called once; yields the new content.
        expected: The stamp of the file the caller read; if the file has another before the
            rename, someone else wrote it meanwhile.
        keep: Whether the new content differs, known only once ``produce`` is done (a caller
            that reads and rewrites in one pass); when it returns False nothing is replaced.

    Raises:
        OSError: the temporary file could not be written or renamed.
        Changed: the file's stamp is not ``expected``; nothing was replaced.
        Exception: whatever ``produce`` raises; nothing was replaced.
    """
    if stamp_of(path) != expected:
        raise Changed(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".engage-tmp")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in produce():
                handle.write(chunk)
            if keep is not None and not keep():
                raise _Unchanged
            handle.flush()
            os.fsync(handle.fileno())
        if expected is not None:
            os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))
        if stamp_of(path) != expected:
            raise Changed(path)
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(error, _Unchanged):
            return None
        raise
    sync_directory(path.parent)
    after = stamp_of(path)
    if after is None:  # removed by someone else right after the rename
        raise Changed(path)
    return after


class _Unchanged(Exception):
    """The rewritten content would be the file's own: nothing to replace."""


def sync_directory(directory: Path) -> None:
    """``fsync`` a directory so a rename in it survives a power cut (where the OS allows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # some file systems refuse fsync on a directory
            os.fsync(fd)
    finally:
        os.close(fd)
