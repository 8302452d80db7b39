"""Streaming reader for mbox files: Google Takeout, Thunderbird, Mailman (pipermail) archives.

A file is read line by line from a byte offset, keeping only the header block of the current
message (bodies are scanned by :class:`~engage_gmail.bodyscan.BodyScanner` and dropped), so
memory stays flat however large the file. A message starts at a ``From_`` line that carries a
sender and a date (``From 1234@xxx Thu Jan 14 19:30:22 +0000 2021``; Mailman archives write
``From user at example.com  Thu Mar  3 18:20:35 2016``) after a blank line, or without one
when the next line is a header field. An unquoted ``From time to time`` in a body is
therefore not a separator, unlike in Python's :mod:`mailbox`. Lines may end in LF or CRLF;
Gmail's ``X-Gmail-Labels`` header is read when it is there.

A message ends where the next ``From_`` line starts. The last message of a file is marked
``last``, and ``closed`` when the file ends with an empty line after it (every mbox writer
ends a message so): the reader decides whether a message without it is complete yet.

:class:`FileState` remembers how far a file was read: a file read to its end is skipped while
it is unchanged, a grown one resumes at the stored offset, and one whose beginning changed is
read again from the start (the ids are stable, so that duplicates nothing).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import attrs

from engage_gmail.bodyscan import BodyScanner
from engage_gmail.headers import (
    Headers,
    decode_words,
    ends_headers,
    is_from_line,
    parse_from_line,
    parse_header_block,
)

#: The most header bytes kept for one message; a larger header block is reported and skipped.
MAX_HEADER_BYTES = 256 * 1024

#: Longest piece of a line read at once (a line without line ends is read in pieces).
MAX_LINE = 1024 * 1024

#: How many leading bytes identify a file across runs.
HEAD_BYTES = 4096


@attrs.frozen
class RawMessage:
    """One message of an mbox file: its headers, and what its body showed.

    Attributes:
        offset: Byte offset of its ``From_`` line.
        end: Byte offset just past it (where the next message starts).
        from_line: The ``From_`` line.
        header_lines: The raw header lines.
        mime_types: Content types of the message and of its parts (``text/calendar``...).
        oversize: The header block was larger than :data:`MAX_HEADER_BYTES` and was cut.
        calendars: The decoded content of its calendar parts (``.ics``).
        footer: A mailing-list footer was seen in its body.
        last: It is the last message of the file (nothing follows it yet).
        closed: It ends with an empty line, as every mbox writer ends a message.
    """

    offset: int
    end: int
    from_line: bytes
    header_lines: tuple[bytes, ...]
    mime_types: tuple[str, ...] = ()
    oversize: bool = False
    calendars: tuple[bytes, ...] = ()
    footer: bool = False
    last: bool = False
    closed: bool = True

    def parse(self) -> tuple[Headers, frozenset[str]]:
        """The message's headers and its upper-cased Gmail labels (``X-Gmail-Labels``)."""
        headers, _ = parse_header_block(self.header_lines)
        labels = ",".join(decode_words(v) for v in headers.get_all("X-Gmail-Labels"))
        return headers, frozenset(
            label.strip().strip('"').upper() for label in labels.split(",") if label.strip()
        )

    def received(self) -> Any:
        """The date of the ``From_`` line (None when it has none)."""
        return parse_from_line(self.from_line)

    def digest(self) -> str:
        """A stable id from the header block, for messages without a Message-ID."""
        return hashlib.sha256(b"".join(self.header_lines)).hexdigest()[:32]


class _Lines:
    """Lines of a binary file with their offsets and a one-line look-ahead."""

    def __init__(self, handle: IO[bytes], offset: int) -> None:
        handle.seek(offset)
        self.handle = handle
        self.offset = offset
        self._peeked: bytes | None = None

    def next(self) -> tuple[int, bytes]:
        start = self.offset
        if self._peeked is not None:
            line, self._peeked = self._peeked, None
        else:
            line = self.handle.readline(MAX_LINE)
        self.offset += len(line)
        return start, line

    def peek(self) -> bytes:
        if self._peeked is None:
            self._peeked = self.handle.readline(MAX_LINE)
        return self._peeked


def _looks_like_field(line: bytes) -> bool:
    name, colon, _ = line.partition(b":")
    return bool(colon) and bool(name.strip()) and b" " not in name.strip()


@attrs.define
class _Current:
    """The message being read."""

    offset: int
    from_line: bytes
    headers: list[bytes] = attrs.field(factory=list)
    size: int = 0
    oversize: bool = False
    body: BodyScanner | None = None  # set when the header block has ended

    def finish(self, end: int, *, last: bool, closed: bool) -> RawMessage:
        if self.body is None:
            self.body = BodyScanner(parse_header_block(self.headers)[0])
        self.body.finish()
        return RawMessage(
            offset=self.offset,
            end=end,
            from_line=self.from_line,
            header_lines=tuple(self.headers),
            mime_types=tuple(self.body.types),
            oversize=self.oversize,
            calendars=tuple(self.body.calendars),
            footer=self.body.footer,
            last=last,
            closed=closed,
        )


class MessageStream:
    """The messages of an mbox file from ``offset`` (which should start a message), streamed.

    Text before the first ``From_`` line is skipped; :attr:`leading` says how many bytes of
    it were not blank (at offset 0, that is text that is no mail; at a resumed offset, the
    rest of a message already read).

    Attributes:
        leading: Bytes of non-blank lines before the first ``From_`` line, final once the
            first message is yielded.
        found: Messages yielded so far.
    """

    def __init__(self, handle: IO[bytes], offset: int = 0) -> None:
        self.handle = handle
        self.offset = offset
        self.leading = 0
        self.found = 0

    def __iter__(self) -> Iterator[RawMessage]:
        lines = _Lines(self.handle, self.offset)
        current: _Current | None = None
        previous_blank = True
        blank_end = True  # the last line read was an empty line with its line end
        while True:
            start, line = lines.next()
            if not line:
                break
            if (
                line.startswith(b"From ")
                and is_from_line(line.rstrip(b"\r\n"))
                and (previous_blank or _looks_like_field(lines.peek()))
            ):
                if current is not None:
                    self.found += 1
                    yield current.finish(start, last=False, closed=True)
                current = _Current(start, line.rstrip(b"\r\n"))
                previous_blank = blank_end = False
                continue
            previous_blank = not line.strip()
            blank_end = previous_blank and line.endswith(b"\n")
            if current is None:
                self.leading += len(line) if line.strip() else 0
            elif current.body is not None:
                current.body.feed(line)
            elif not line.strip() and ends_headers(line, lines.peek()):
                current.body = BodyScanner(parse_header_block(current.headers)[0])
            elif current.size + len(line) > MAX_HEADER_BYTES:
                current.oversize = True
                current.body = BodyScanner(Headers())
            else:
                current.headers.append(line)
                current.size += len(line)
        if current is not None:
            self.found += 1
            yield current.finish(lines.offset, last=True, closed=blank_end)


def read_messages(handle: IO[bytes], offset: int = 0) -> Iterator[RawMessage]:
    """Stream the messages of an mbox file from ``offset`` (see :class:`MessageStream`)."""
    return iter(MessageStream(handle, offset))


#: What a file that is no mbox starts with, and what it is.
_MAGIC = (
    (b"\x1f\x8b", "a gzip file (unpack it first: gunzip)"),
    (b"PK\x03\x04", "a zip archive (unzip it first)"),
    (b"BZh", "a bzip2 file (unpack it first: bunzip2)"),
    (b"\xfd7zXZ", "an xz file (unpack it first: unxz)"),
)


def not_mbox(path: Path) -> str:
    """Why ``path`` holds no message, for a file in which no ``From_`` line was found."""
    with path.open("rb") as handle:
        head = handle.read(512)
    what = next((name for magic, name in _MAGIC if head.startswith(magic)), None)
    seen = f"; it is {what}" if what else ""
    return (
        f"{path.name}: no message found; expected an mbox file whose messages start with "
        f"'From ' lines (Google Takeout, Thunderbird, Mailman archives){seen}"
    )


@attrs.frozen
class FileState:
    """How far one mbox file was read: ``offset`` of ``size`` bytes, and a digest of its head."""

    offset: int
    size: int
    head: str
    head_len: int

    def to_json(self) -> dict[str, Any]:
        """The state as JSON for the cursor."""
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> FileState | None:
        """The state from the cursor, or None when it is not a valid state."""
        try:
            return cls(
                int(data["offset"]), int(data["size"]), str(data["head"]), int(data["head_len"])
            )
        except (KeyError, TypeError, ValueError):
            return None


def head_digest(path: Path, length: int) -> str:
    """A digest of the first ``length`` bytes of ``path``."""
    with path.open("rb") as handle:
        return hashlib.sha256(handle.read(length)).hexdigest()


def resume_offset(path: Path, state: FileState | None) -> int | None:
    """Where to start reading ``path``: None when it is unchanged since ``state``.

    A grown file resumes at the stored offset; a shrunk or rewritten one starts again at 0.
    """
    size = path.stat().st_size
    if state is None:
        return 0
    if head_digest(path, state.head_len) != state.head or size < state.offset:
        return 0
    if size == state.offset:
        return None
    return state.offset


def state_at(path: Path, offset: int) -> FileState:
    """The state to save after reading ``path`` up to ``offset``."""
    head_len = min(HEAD_BYTES, offset)
    return FileState(offset, path.stat().st_size, head_digest(path, head_len), head_len)
