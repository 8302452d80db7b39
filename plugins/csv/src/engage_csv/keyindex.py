"""The task keys a CSV task file holds: compact in memory, and kept beside the file.

A file of a hundred thousand tasks would otherwise cost its sink a full CSV parse at every
sync (bodies span lines, so no shortcut finds the key column) and a set of every key in
memory. Instead:

- **Digests, not keys.** Each key is held as a 64-bit BLAKE2b digest, 8 bytes whatever the
  key's length, in a sorted array searched by bisection, with the newest in a small set.
  Two different keys share a digest with a probability of about n²/2⁶⁵ (about 3·10⁻⁸ for a
  million tasks); that would only ever mean one task not written, never one written twice.
- **An index file beside the task file** (``.NAME.engage-keys``): the task file's size and
  modification time when the index was last brought up to date, then the digests. Loading
  it is one read; a task file changed behind its back (a mismatch of size or time: edited,
  replaced, appended by an older engage) is parsed again and the index rewritten.
  Appending writes the task rows first, then the digests, then the stamp, each flushed to
  disk before the next, so a crash in between leaves a stale stamp, never an index that
  claims rows the file lacks. A rewrite of the task file that keeps its keys (tasks marked
  cleared, a file upgraded, an append taken back) only moves the stamp on (:func:`restamp`).

The source uses the same compact set to send each customer and contact record once per
pull, however many the file names.
"""

from __future__ import annotations

import hashlib
import os
import struct
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from pathlib import Path

_MAGIC = b"ENGAGEK1"
_HEADER = struct.Struct("<8sqq")  # magic, task file size, task file mtime_ns
#: New digests kept in a set before they are merged into the sorted array.
_RECENT = 8192

Stamp = tuple[int, int]


def digest(key: str) -> int:
    """The key's 64-bit digest, as a signed integer (what ``array('q')`` holds)."""
    raw = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(raw, "little", signed=True)


class KeyIndex:
    """A set of keys held as 64-bit digests (see the module)."""

    def __init__(self, digests: Iterable[int] = ()) -> None:
        self._sorted = array("q", sorted(digests))
        self._recent: set[int] = set()

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._has(digest(key))

    def _has(self, value: int) -> bool:
        if value in self._recent:
            return True
        at = bisect_left(self._sorted, value)
        return at < len(self._sorted) and self._sorted[at] == value

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def add(self, key: str) -> int:
        """Add a key (once: a key added again is not held twice); returns its digest."""
        value = digest(key)
        if not self._has(value):
            self._recent.add(value)
            if len(self._recent) >= _RECENT:
                self._merge()
        return value

    def insert(self, key: str) -> bool:
        """Add a key; returns whether it was new (one digest, where ``in`` then ``add`` take two)."""
        value = digest(key)
        if self._has(value):
            return False
        self._recent.add(value)
        if len(self._recent) >= _RECENT:
            self._merge()
        return True

    def _merge(self) -> None:
        # Each new digest goes in at its place, the runs of old ones between copied whole:
        # a step per new digest, not per digest held (which made many merges quadratic),
        # and no list of a Python int per key on the way.
        old = self._sorted
        merged = array("q")
        at = 0
        for value in sorted(self._recent):
            to = bisect_left(old, value, at)
            merged.extend(old[at:to])
            merged.append(value)
            at = to
        merged.extend(old[at:])
        self._sorted = merged
        self._recent.clear()


def index_path(task_file: Path) -> Path:
    """Where the index of ``task_file`` lives: ``.NAME.engage-keys`` beside it."""
    return task_file.with_name(f".{task_file.name}.engage-keys")


def load_stamp(path: Path) -> Stamp | None:
    """The task file stamp the index at ``path`` is up to date with, or None."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEADER.size)
    except OSError:
        return None
    if len(head) < _HEADER.size:
        return None
    magic, size, mtime = _HEADER.unpack(head)
    return (size, mtime) if magic == _MAGIC else None


def load(path: Path, stamp: Stamp) -> KeyIndex | None:
    """The index saved at ``path`` if it is up to date with a task file of ``stamp``, else None."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) < _HEADER.size or (len(data) - _HEADER.size) % 8:
        return None
    magic, size, mtime = _HEADER.unpack_from(data)
    if magic != _MAGIC or (size, mtime) != stamp:
        return None
    digests = array("q")
    digests.frombytes(data[_HEADER.size :])
    return KeyIndex(digests)


def save(path: Path, keys: KeyIndex, stamp: Stamp) -> None:
    """Write the whole index for a task file of ``stamp`` (atomically: a temporary, then rename)."""
    keys._merge()
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as handle:
        handle.write(_HEADER.pack(_MAGIC, *stamp))
        handle.write(keys._sorted.tobytes())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def append(path: Path, digests: Iterable[int], stamp: Stamp) -> None:
    """Add digests to the saved index, then record the task file's new ``stamp``."""
    with path.open("r+b") as handle:
        handle.seek(0, os.SEEK_END)
        handle.write(array("q", digests).tobytes())
        handle.flush()
        os.fsync(handle.fileno())  # the digests are on disk before the stamp claims them
        handle.seek(0)
        handle.write(_HEADER.pack(_MAGIC, *stamp))
        handle.flush()
        os.fsync(handle.fileno())


def restamp(path: Path, old: Stamp, new: Stamp) -> bool:
    """Move the index on from a task file of stamp ``old`` to one of ``new`` with the same keys.

    Returns False (and changes nothing) when the index is missing or not up to date with
    ``old``: then the task file is parsed again next time.
    """
    try:
        with path.open("r+b") as handle:
            head = handle.read(_HEADER.size)
            if len(head) < _HEADER.size or _HEADER.unpack(head) != (_MAGIC, *old):
                return False
            handle.seek(0)
            handle.write(_HEADER.pack(_MAGIC, *new))
            handle.flush()
            os.fsync(handle.fileno())
    except FileNotFoundError:
        return False
    return True
