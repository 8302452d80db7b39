"""The source's cursor: a fingerprint of every file read, so a later pull reads only what changed.

For each file the cursor keeps its size, modification time and the SHA-256 of its content,
where the last complete row ended (byte offset and next line number), the header and
delimiter it was parsed with, and a hash of the options that shape parsing. On the next pull
a file is skipped (unchanged), resumed at the saved offset (it only grew), or read again
from the start (anything else). A cursor written before the parser last changed
(:data:`PARSER_VERSION`) reads every file again: that is by design, not damage.

A cursor this source cannot read (not JSON, not an object of this shape, or from a newer
parser) raises :class:`~engage.cursors.CursorError`, so the sync sets it aside and reads
every file again with a notice (the rule of every source, :mod:`engage.cursors`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Mapping
from typing import IO, Any, Literal

import attrs

from engage.cursors import CursorError

#: Bump when the parser changes what it yields, so old cursors force a re-read.
PARSER_VERSION = (
    3  # 2: the outcome column (missed calls); 3: values, filters, lookups, internal rows
)
_CHUNK = 1 << 20


@attrs.frozen
class FileState:
    """What the cursor remembers about one file after reading it."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    offset: int
    line: int
    options: str
    header: tuple[str, ...] = ()
    delimiter: str = ","

    def to_json(self) -> dict[str, Any]:
        """The state as a JSON object."""
        data = attrs.asdict(self)
        data["header"] = list(self.header)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileState:
        """Rebuild a state from :meth:`to_json`; raises KeyError/TypeError/ValueError if malformed."""
        return cls(
            path=str(data["path"]),
            size=int(data["size"]),
            mtime_ns=int(data["mtime_ns"]),
            sha256=str(data["sha256"]),
            offset=int(data["offset"]),
            line=int(data["line"]),
            options=str(data["options"]),
            header=tuple(str(h) for h in data["header"]),
            delimiter=str(data["delimiter"]),
        )


def load_cursor(text: str | None) -> dict[str, FileState]:
    """The file states in a cursor: none for no cursor, or one an older parser wrote.

    Raises:
        CursorError: the cursor is not JSON, not this source's shape, or from a newer parser.
    """
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CursorError(f"the cursor is not JSON ({exc})") from None
    if not isinstance(data, dict) or set(data) != {"version", "files"}:
        raise CursorError("the cursor is not a CSV cursor (an object of version and files)")
    version = data["version"]
    if not _is_int(version) or version > PARSER_VERSION:
        raise CursorError(f"the cursor's version {version!r} is not one this parser wrote")
    if version < PARSER_VERSION:
        return {}  # the parser changed since: every file is read again
    files = data["files"]
    if not isinstance(files, list):
        raise CursorError("the cursor's files are not a list")
    states: dict[str, FileState] = {}
    for item in files:
        why = _unreadable(item)
        if why is not None:
            raise CursorError(f"the cursor's file state {item!r:.80} {why}")
        state = FileState.from_json(item)
        states[state.path] = state
    return states


_FIELDS = {
    "path": str,
    "size": int,
    "mtime_ns": int,
    "sha256": str,
    "offset": int,
    "line": int,
    "options": str,
    "header": list,
    "delimiter": str,
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unreadable(item: object) -> str | None:
    """Why ``item`` is not a file state :meth:`FileState.to_json` wrote, or None."""
    if not isinstance(item, dict) or set(item) != set(_FIELDS):
        return f"does not have the keys {sorted(_FIELDS)}"
    for key, kind in _FIELDS.items():
        value = item[key]
        if not (_is_int(value) if kind is int else isinstance(value, kind)):
            return f"has {key} of type {type(value).__name__} (expected {kind.__name__})"
    if not all(isinstance(cell, str) for cell in item["header"]):
        return "has a header that is not a list of strings"
    return None


def dump_cursor(states: Mapping[str, FileState]) -> str:
    """The cursor text for ``states`` (JSON, stable key order)."""
    files = [states[path].to_json() for path in sorted(states)]
    return json.dumps({"version": PARSER_VERSION, "files": files}, sort_keys=True)


def options_hash(options: Mapping[str, Any]) -> str:
    """A short hash of the options that change what a file parses to."""
    text = json.dumps({"parser": PARSER_VERSION, **options}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


Plan = Literal["skip", "resume", "full"]


def plan(previous: FileState | None, stat: os.stat_result, options: str) -> Plan:
    """What to do with a file given its saved state: skip, resume (if it grew), or read fully.

    ``resume`` still needs :func:`prefix_matches` to confirm the old content is unchanged.
    """
    if previous is None or previous.options != options:
        return "full"
    if stat.st_size == previous.size and stat.st_mtime_ns == previous.mtime_ns:
        return "skip"
    if stat.st_size > previous.size and previous.header:
        return "resume"
    return "full"


def prefix_matches(raw: IO[bytes], state: FileState) -> hashlib._Hash | None:
    """Hash the first ``state.size`` bytes; the running hash if they still match, else None."""
    digest = hashlib.sha256()
    raw.seek(0)
    remaining = state.size
    while remaining:
        chunk = raw.read(min(_CHUNK, remaining))
        if not chunk:
            return None
        digest.update(chunk)
        remaining -= len(chunk)
    return digest if digest.hexdigest() == state.sha256 else None


class HashingReader(io.RawIOBase):
    """Reads ``raw`` from its current position up to byte ``limit``, hashing bytes past ``hash_from``.

    Stopping at ``limit`` (the size seen when the pull started) keeps a row a writer is
    appending right now out of this pull; it is read whole next time.
    """

    def __init__(self, raw: IO[bytes], start: int, limit: int, digest: Any, hash_from: int) -> None:
        super().__init__()
        self._raw = raw
        self._pos = start
        self._limit = limit
        self._digest = digest
        self._hash_from = hash_from
        raw.seek(start)

    def readable(self) -> bool:
        """Always true."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` with the next bytes up to the limit; 0 at the end."""
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._limit - self._pos)
        if want <= 0:
            return 0
        data = self._raw.read(want)
        count = len(data)
        view[:count] = data
        if self._pos + count > self._hash_from:
            skip = max(0, self._hash_from - self._pos)
            self._digest.update(data[skip:])
        self._pos += count
        return count
