"""Streaming reader for Google Takeout mbox files.

A file is read line by line from a byte offset, keeping only the header block of the current
message (bodies are scanned for a ``text/calendar`` part and dropped), so memory stays flat
however large the file. A message starts at a ``From_`` line that carries a sender and a date
(``From 1234@xxx Thu Jan 14 19:30:22 +0000 2021``) after a blank line, or without one when the
next line is a header field. An unquoted ``From time to time`` in a body is therefore not a
separator, unlike in Python's :mod:`mailbox`.

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
    """One message of an mbox file, headers only.

    Attributes:
        offset: Byte offset of its ``From_`` line.
        end: Byte offset just past it (where the next message starts).
        from_line: The ``From_`` line.
        header_lines: The raw header lines.
        mime_types: Content types seen in the body's part headers (``text/calendar``...).
        oversize: The header block was larger than :data:`MAX_HEADER_BYTES` and was cut.
    """

    offset: int
    end: int
    from_line: bytes
    header_lines: tuple[bytes, ...]
    mime_types: tuple[str, ...] = ()
    oversize: bool = False

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


def read_messages(handle: IO[bytes], offset: int = 0) -> Iterator[RawMessage]:
    """Stream the messages of an mbox file from ``offset`` (which should start a message).

    Text before the first ``From_`` line (a partial message at a resumed offset) is skipped.
    """
    lines = _Lines(handle, offset)
    current: dict[str, Any] | None = None
    previous_blank = True
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
                yield _finish(current, start)
            current = {
                "offset": start,
                "from_line": line.rstrip(b"\r\n"),
                "headers": [],
                "size": 0,
                "in_headers": True,
                "types": [],
                "oversize": False,
            }
            previous_blank = False
            continue
        previous_blank = not line.strip()
        if current is None:
            continue
        if current["in_headers"]:
            if not line.strip() and ends_headers(line, lines.peek()):
                current["in_headers"] = False
            elif current["size"] + len(line) > MAX_HEADER_BYTES:
                current["in_headers"], current["oversize"] = False, True
            else:
                current["headers"].append(line)
                current["size"] += len(line)
        elif line[:13].lower() == b"content-type:" and b"calendar" in line.lower():
            current["types"].append("text/calendar")
    if current is not None:
        yield _finish(current, lines.offset)


def _finish(current: dict[str, Any], end: int) -> RawMessage:
    return RawMessage(
        offset=current["offset"],
        end=end,
        from_line=current["from_line"],
        header_lines=tuple(current["headers"]),
        mime_types=tuple(current["types"]),
        oversize=current["oversize"],
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
