"""Lookups: ids in one column resolved to fields of a row in other files (``Contact.csv``...).

Lookup files can be large (a million contacts), so they are never held in memory: each
file a pull needs is indexed once, on first use, into a temporary SQLite database (deleted
when the pull ends), and each id is then one indexed query, with the most recent answers
kept in a small cache. The files' sizes and modification times are part of the cursor's
options hash, so a changed lookup file makes the sources that use it read their files again.
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from engage.errors import SourceError
from engage_csv.reader import Lines, detect_encoding, records, sniff
from engage_csv.settings import Lookup, fold

_CACHE = 4096
_BATCH = 5000


class LookupFile:
    """One file of a lookup, as found at pull time."""

    def __init__(self, shown: str, path: Path) -> None:
        self.shown = shown
        self.path = path
        stat = path.stat()
        self.stamp = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


class Active:
    """A lookup whose files exist: the column it reads and where it looks."""

    def __init__(self, spec: Lookup, files: list[LookupFile]) -> None:
        self.spec = spec
        self.files = files
        self.fields = tuple(spec.fields)
        self.shown = ", ".join(f.shown for f in files)
        self.tables: list[str] | None = None
        self.cache: OrderedDict[str, dict[str, str] | None] = OrderedDict()


class Lookups:
    """The lookups of one pull (see the module). Close it to delete the index."""

    def __init__(
        self,
        specs: Sequence[Lookup],
        resolve: Callable[[str], Path],
        beside: Path,
        encoding: str,
        where: str,
        base_dir: Path | None = None,
    ) -> None:
        """Find every lookup's files.

        Args:
            specs: The configured lookups.
            resolve: Resolves a configured path against the config file's directory.
            beside: The directory of the source's files, where preset lookups look.
            encoding: The source's encoding (a file's BOM wins).
            where: The source's table, for messages.
            base_dir: The config file's directory: preset lookup files are shown relative to it.

        Raises:
            SourceError: a configured lookup file is missing.
        """
        self.encoding = encoding
        self.active: list[Active] = []
        #: id column → why a required preset lookup cannot be made (no file of it exists)
        self.missing: dict[str, str] = {}
        self._db: sqlite3.Connection | None = None
        self._dir: str | None = None
        self._tables = 0
        for spec in specs:
            files: list[LookupFile] = []
            for name in spec.paths:
                path = beside / name if spec.preset else resolve(name)
                shown = _shown(path, base_dir) if spec.preset else name
                if path.is_file():
                    files.append(LookupFile(shown, path))
                elif not spec.preset:
                    raise SourceError(
                        f"{where}: lookups.{spec.column}: {name}: no such file (looked for {path})"
                    )
            if files:
                self.active.append(Active(spec, files))
            elif spec.required:  # an error only for files that have the column
                names = ", ".join(spec.paths)
                self.missing[spec.column] = (
                    f"the {spec.preset} preset looks up {spec.column} in {names} beside "
                    f"the source's files ({_shown(beside, base_dir) or '.'}), and none is there; "
                    f"export them too, or set your own [{where.strip('[]')}.lookups.{spec.column}]"
                )

    def stamps(self) -> list[tuple[str, int, int]]:
        """Every lookup file's resolved path, size and mtime, for the cursor's options hash."""
        return [f.stamp for active in self.active for f in active.files]

    def close(self) -> None:
        """Delete the index."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def find(self, active: Active, key: str) -> dict[str, str] | None:
        """The fields of the first row whose key is ``key``, in the lookup's files in order."""
        cache = active.cache
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        if active.tables is None:
            active.tables = [self._index(active, f) for f in active.files]
        db = self._db
        assert db is not None
        found: dict[str, str] | None = None
        for table in active.tables:
            row = db.execute(f"SELECT * FROM {table} WHERE k = ?", (key,)).fetchone()
            if row is not None:
                found = dict(zip(active.fields, row[1:], strict=True))
                break
        cache[key] = found
        if len(cache) > _CACHE:
            cache.popitem(last=False)
        return found

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self._dir = tempfile.mkdtemp(prefix="engage-csv-lookup-")
            self._db = sqlite3.connect(os.path.join(self._dir, "index.db"))
            self._db.execute("PRAGMA journal_mode = OFF")
            self._db.execute("PRAGMA synchronous = OFF")
        return self._db

    def _index(self, active: Active, file: LookupFile) -> str:
        db = self._connect()
        self._tables += 1
        table = f"t{self._tables}"
        columns = ", ".join(f"v{i} TEXT" for i in range(len(active.fields)))
        db.execute(f"CREATE TABLE {table} (k TEXT PRIMARY KEY, {columns}) WITHOUT ROWID")
        marks = ", ".join("?" * (len(active.fields) + 1))
        insert = f"INSERT OR IGNORE INTO {table} VALUES ({marks})"
        batch: list[list[str]] = []
        for row in self._rows(active, file):
            batch.append(row)
            if len(batch) >= _BATCH:
                db.executemany(insert, batch)
                batch.clear()
        db.executemany(insert, batch)
        db.commit()
        return table

    def _rows(self, active: Active, file: LookupFile) -> Iterator[list[str]]:
        spec = active.spec
        with file.path.open("rb") as raw:
            encoding = detect_encoding(raw.read(4), self.encoding)
            delimiter = sniff(raw, encoding)
            raw.seek(0)
            text = io.TextIOWrapper(raw, encoding=encoding, newline="")
            lines = Lines(text)
            header: list[str] | None = None
            picks: list[int] = []
            try:
                for _, cells, _problem in records(lines, delimiter):
                    if cells is None or not any(cells):
                        continue
                    if header is None:
                        header = [cells[0].lstrip("\ufeff"), *cells[1:]]
                        picks = self._picks(active, file, header)
                        continue
                    width = len(cells)
                    key = cells[picks[0]].strip() if picks[0] < width else ""
                    if key:
                        yield [key] + [cells[i].strip() if i < width else "" for i in picks[1:]]
            except UnicodeError as error:  # UTF-16 without a BOM raises a bare UnicodeError
                start = error.start if isinstance(error, UnicodeDecodeError) else 0
                shown = (
                    error.object[start : start + 1]
                    if isinstance(error, UnicodeDecodeError)
                    else b""
                )
                raise SourceError(
                    f"{file.shown}: cannot decode byte 0x{shown.hex().upper() or '?'} "
                    f"as {encoding} (the lookup file of {spec.column}); it is read with the source's "
                    "encoding option"
                ) from None

    @staticmethod
    def _picks(active: Active, file: LookupFile, header: list[str]) -> list[int]:
        folded = [fold(h) for h in header]
        width = len(header)
        spec = active.spec

        def index(name: str) -> int | None:
            if name in header:
                return header.index(name)
            return folded.index(fold(name)) if fold(name) in folded else None

        key = index(spec.key)
        if key is None:
            raise SourceError(
                f"{file.shown}: missing column '{spec.key}', the key of lookups.{spec.column} "
                f"(the header has: {', '.join(header)})"
            )
        picks = [key]
        missing = []
        for field in active.fields:
            at = index(spec.fields[field])
            if at is None:
                missing.append(spec.fields[field])
            picks.append(width if at is None else at)  # width: an empty cell
        if missing and len(active.files) == 1 and not spec.preset:
            raise SourceError(
                f"{file.shown}: missing column {', '.join(repr(m) for m in missing)} of "
                f"lookups.{spec.column}.fields (the header has: {', '.join(header)})"
            )
        return picks


def _shown(path: Path, base_dir: Path | None) -> str:
    if base_dir is not None:
        try:
            shown = str(path.relative_to(base_dir))
            return "" if shown == "." else shown
        except ValueError:
            pass
    return str(path)
