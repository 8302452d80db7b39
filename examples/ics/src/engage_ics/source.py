"""The iCalendar source: meetings from ``.ics`` files, each file read once until it changes.

The cursor remembers each file's SHA-256 (``{"v": 1, "files": {name: sha256}}``): a file
whose content is unchanged is skipped, a changed one is read whole (its events are upserted
by id, so nothing is stored twice), and a checkpoint follows every file. A cursor it cannot
read raises :class:`~engage.cursors.CursorError`: engage then starts the source over and
says so.
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import tzinfo
from pathlib import Path
from typing import Any, ClassVar

from engage.adapters import AdapterContext, Checkpoint, Notice, Option, Problem, SourceItem
from engage.cursors import CursorError
from engage.errors import SourceError
from engage_ics.calendar import CalendarError, Component, parse
from engage_ics.meetings import read_event
from engage_ics.times import TimeError, zone


def _zone_name(value: Any) -> str | None:
    try:
        zone(str(value))
    except TimeError as exc:
        return str(exc)
    return None


class IcsSource:
    """Meetings from iCalendar files exported by Google Calendar or Outlook.

    Built as ``IcsSource(options, context)`` by engage (see :class:`engage.adapters.Source`).
    """

    options: ClassVar[Mapping[str, Option]] = {
        "path": Option(str, required=True, help="an .ics file or a glob such as 'cal/*.ics'"),
        "timezone": Option(
            str,
            "UTC",
            help="the zone of times written without one, when the file names none",
            check=_zone_name,
        ),
    }

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        """Keep the options; nothing is read until :meth:`pull`."""
        self.pattern: str = options["path"]
        self.timezone = zone(options["timezone"])
        self.context = context

    def __repr__(self) -> str:
        return f"IcsSource({self.pattern!r})"

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        """Yield the meetings of every file that changed since ``cursor``, a checkpoint after
        each file.

        Raises:
            CursorError: ``cursor`` is not one this source wrote.
            SourceError: no file matches ``path``, or a file cannot be read.
        """
        seen = _load(cursor)
        recurring = 0
        for path in self._files():
            content = self._read(path)
            digest = hashlib.sha256(content).hexdigest()
            name = self._name(path)
            if seen.get(name) == digest:
                continue
            items, repeating = self._events(content, name)
            yield from items
            recurring += repeating
            seen[name] = digest
            yield Checkpoint(json.dumps({"v": 1, "files": seen}, sort_keys=True))
        if recurring:
            yield Notice(
                f"{self.context.name}: {recurring} repeating event(s) counted once, at their "
                "first occurrence (their repetitions are not expanded)"
            )
        yield Checkpoint(json.dumps({"v": 1, "files": seen}, sort_keys=True))

    def _files(self) -> list[Path]:
        pattern = str(self.context.path(self.pattern))
        files = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
        if not files:
            where = self.context.table("sources")
            raise SourceError(f"{where}: no file matches path {self.pattern!r}")
        return files

    def _read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{self._name(path)}: cannot read ({exc.strerror})") from None

    def _name(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.context.base_dir))
        except ValueError:
            return str(path)

    def _events(self, content: bytes, name: str) -> tuple[list[SourceItem], int]:
        """The file's events as items, and how many of them repeat (``RRULE``)."""
        try:
            calendars = parse(content.decode("utf-8-sig", errors="replace"))
        except CalendarError as exc:
            return [Problem(f"{name}:{exc}; file skipped")], 0
        now = self.context.now()
        items: list[SourceItem] = []
        repeating = 0
        for calendar in calendars:
            floating = self._floating(calendar)
            for event in calendar.walk("VEVENT"):
                items.append(
                    read_event(
                        event,
                        source=self.context.name,
                        where=name,
                        identity=self.context.identity,
                        floating=floating,
                        now=now,
                    )
                )
                repeating += event.first("RRULE") is not None
        return items, repeating

    def _floating(self, calendar: Component) -> tzinfo:
        """The calendar's own zone (``X-WR-TIMEZONE``), else the ``timezone`` option."""
        named = calendar.first("X-WR-TIMEZONE")
        if named is not None:
            try:
                return zone(named.value)
            except TimeError:
                pass
        return self.timezone


def _load(cursor: str | None) -> dict[str, str]:
    if cursor is None:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError as exc:
        raise CursorError(f"the cursor is not JSON ({exc})") from None
    files = data.get("files") if isinstance(data, dict) and data.get("v") == 1 else None
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise CursorError("the cursor is not an ics cursor ({'v': 1, 'files': {...}})")
    return dict(files)
