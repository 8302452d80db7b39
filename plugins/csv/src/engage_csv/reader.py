"""Reading a CSV file's records so that nothing but the file itself stops it.

- **Encodings.** A byte-order mark decides (UTF-8, UTF-16 and UTF-32, either byte order);
  without one the configured encoding is used. UTF-16 or UTF-32 text without a mark
  (every other byte NUL) is named in the error instead of being read as garbage.
- **One bad record, not a bad file.** A record longer than :data:`RECORD_LIMIT` characters
  or with a field over :data:`FIELD_LIMIT`, or with a NUL byte, is reported as one bad
  record at its first line; reading goes on after it. After such an error the rest of the
  record is skipped by following its quotes (:func:`scan`), exactly as :mod:`csv` reads
  them, so a huge quoted field spanning lines is skipped whole.
- **Bounded memory.** Lines are read at most :data:`RECORD_LIMIT` characters at a time.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from typing import IO

#: The longest field read (characters); longer is a bad record. csv's own default is 128 KiB.
FIELD_LIMIT = 1 << 20
#: The longest record read (characters, all fields and line breaks).
RECORD_LIMIT = 4 << 20
#: How much of the file's start the delimiter is sniffed from (bytes). :class:`csv.Sniffer`
#: is quadratic in a quoted cell's line breaks, so it is also never shown such a cell.
_SNIFF_BYTES = 8 * 1024
#: The longest line read at once: one character past the longest record.
_READ = RECORD_LIMIT + 1
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_DELIMITERS = ",;\t|"
#: Byte-order marks, longest first (UTF-32-LE's mark starts with UTF-16-LE's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

if csv.field_size_limit() < FIELD_LIMIT:  # only ever raised, never lowered for others
    csv.field_size_limit(FIELD_LIMIT)


class Oversize(Exception):
    """A record grew past :data:`RECORD_LIMIT` characters."""


def detect_encoding(head: bytes, configured: str) -> str:
    """The encoding to read a file whose first bytes are ``head`` with: its BOM's, else ``configured``."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return configured


def nul_pattern(head: bytes) -> str | None:
    """The wide encoding ``head`` looks like when it has no BOM (NUL bytes in a pattern), or None."""
    sample = head[: 4096 - len(head[:4096]) % 4]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    quarters = [sample[i::4].count(0) / (len(sample) // 4) for i in range(4)]
    if quarters[1] > 0.9 and quarters[2] > 0.9 and quarters[3] > 0.9:
        return "utf-32-le"
    if quarters[0] > 0.9 and quarters[1] > 0.9 and quarters[2] > 0.9:
        return "utf-32-be"
    odd = (quarters[1] + quarters[3]) / 2
    even = (quarters[0] + quarters[2]) / 2
    if odd > 0.7 and even < 0.1:
        return "utf-16-le"
    if even > 0.7 and odd < 0.1:
        return "utf-16-be"
    return None


def ascii_compatible(encoding: str) -> bool:
    """True when the encoding writes ASCII as ASCII (offsets into the file can be resumed)."""
    probe = 'a,;\t|"\r\n'
    try:
        return probe.encode(encoding.removesuffix("-sig")) == probe.encode("ascii")
    except (UnicodeEncodeError, LookupError):
        return False


def sniff(raw: IO[bytes], encoding: str) -> str:
    """The delimiter of the file: ``,`` ``;`` tab or ``|`` (``,`` if unsure).

    It is sniffed from the whole lines of the first 8 KB, up to the first line that opens a
    quoted cell spanning lines; when not even the first line is whole, the candidate most
    frequent in what there is of it wins.
    """
    raw.seek(0)
    sample = raw.read(_SNIFF_BYTES)
    whole = len(sample) < _SNIFF_BYTES
    try:
        text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, whole)
    except (LookupError, UnicodeError):  # UTF-16 without a BOM: the read names the problem
        text = sample.decode("latin-1")
    text = text.lstrip("\ufeff\r\n")
    lines: list[str] = []
    for line in _LINE.findall(text):
        complete = whole or line.endswith(("\r", "\n"))
        if not complete or line.count('"') % 2:  # cut, or opens a cell spanning lines
            break
        lines.append(line)
    if not lines:
        first = _LINE.match(text)
        head = first.group() if first else ""
        counts = [(head.count(delimiter), delimiter) for delimiter in _DELIMITERS]
        best = max(counts, key=lambda pair: pair[0])  # the first of equals: ``,`` before ``;``
        return best[1] if best[0] else ","
    try:
        return csv.Sniffer().sniff("".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


_BREAKS: dict[str, re.Pattern[str]] = {}


def scan(text: str, state: int, delimiter: str) -> int:
    """Follow csv's quoting through ``text`` from ``state``; returns the state at its end.

    States: 0 a field's start, 1 inside an unquoted field, 2 inside a quoted field, 3 just
    after a quote inside a quoted field. A line break outside quotes ends the record (0).
    """
    breaks = _BREAKS.get(delimiter)
    if breaks is None:
        breaks = _BREAKS[delimiter] = re.compile(f"[{re.escape(delimiter)}\r\n]")
    at, end = 0, len(text)
    while at < end:
        if state == 2:
            found = text.find('"', at)
            if found < 0:
                return 2
            at, state = found + 1, 3
            continue
        char = text[at]
        if state == 1:
            match = breaks.search(text, at)
            if match is None:
                return 1
            at, state = match.end(), 0
            continue
        at += 1
        if char == '"':
            state = 2
        elif char == delimiter or char in "\r\n":
            state = 0
        else:
            state = 1
    return state


class Lines:
    """Feeds lines to :func:`csv.reader`: counts characters and finished lines, keeps the
    current record's lines (for recovery), notices NUL bytes and oversized records."""

    __slots__ = ("_read", "chars", "done", "last", "lines", "nul", "record", "start")

    def __init__(self, text: IO[str]) -> None:
        self._read = text.readline
        self.chars = 0
        self.lines = 0
        self.done = False
        self.last = ""
        self.record: list[str] = []
        #: ``chars`` where the current record began
        self.start = 0
        self.nul = False

    def __iter__(self) -> Lines:
        return self

    def __next__(self) -> str:
        line = self._read(_READ)
        if not line:
            self.done = True
            raise StopIteration
        self.chars += len(line)
        self.last = line
        if line[-1] in "\r\n":
            self.lines += 1
        self.record.append(line)
        if "\x00" in line:
            self.nul = True
        if self.chars - self.start > RECORD_LIMIT:
            raise Oversize
        return line

    def begin(self) -> None:
        """A new record starts here."""
        self.record.clear()
        self.start = self.chars
        self.nul = False

    def skip_rest(self, delimiter: str) -> None:
        """After a bad record's error, read on to where the record ends (outside quotes, at a line end)."""
        state = 0
        for line in self.record:
            state = scan(line, state, delimiter)
        last = self.record[-1] if self.record else "\n"
        self.record.clear()
        while state == 2 or last[-1] not in "\r\n":
            line = self._read(RECORD_LIMIT)
            if not line:
                self.done = True
                return
            self.chars += len(line)
            self.last = last = line
            if line[-1] in "\r\n":
                self.lines += 1
            state = scan(line, state, delimiter)


#: One record: the number of finished lines before it, and its cells or why it is bad.
Record = tuple[int, list[str] | None, str | None]


def records(lines: Lines, delimiter: str) -> Iterator[Record]:
    """The records of ``lines``: (finished lines before it, cells, None) or (…, None, problem).

    A :class:`UnicodeDecodeError` from the text stream is not caught: the file is unreadable.
    """
    rows = csv.reader(lines, delimiter=delimiter)
    while True:
        before = lines.lines
        lines.begin()
        try:
            row = next(rows)
        except StopIteration:
            return
        except (csv.Error, Oversize) as error:
            lines.skip_rest(delimiter)
            if isinstance(error, Oversize) or "field larger" in str(error):
                problem = (
                    f"row: a field longer than {FIELD_LIMIT // (1 << 20)} MiB "
                    f"or a row longer than {RECORD_LIMIT // (1 << 20)} MiB; skipped"
                )
            else:
                problem = f"row: cannot be read as CSV ({error})"
            yield before, None, problem
            continue
        if lines.nul:
            yield before, None, "row: contains a NUL byte (\\x00); skipped"
            continue
        yield before, row, None
