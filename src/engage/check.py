"""``engage check``: read each source as a sync would, write nothing, and judge what it read.

Every source is built exactly as ``engage sync`` builds it
(:func:`engage.sync.build_adapters`), but with no store behind it: ``check`` opens no store
file and takes no lock. Each source is read through the preview contract
(:func:`engage.preview.preview_of`: its own ``preview``, else ``pull(None)``), and
:func:`check_source` collects what came out: how the input's fields map to engage's, the
first rows as parsed, counts, every problem with its place, the values nothing maps, and a
one-line verdict (``ok``, ``needs mapping`` or ``fails``).

Touchpoints are held to the same rules as in a sync: one dated more than a day after the real
clock is a bad row, and one that does not carry the source's config name fails the source.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import attrs

from engage.adapters import (
    FUTURE_TOLERANCE,
    Checkpoint,
    Problem,
    Retire,
    Skipped,
    Source,
    future_problem,
)
from engage.check_rows import CheckedRow, checked_row
from engage.clock import utcnow
from engage.config import Config
from engage.errors import ConfigError, EngageError, PluginCrashError, SourceError
from engage.models import Contact, Customer, Owner, Touchpoint
from engage.plugins import Registry
from engage.preview import FieldMap, Previewable, PreviewRow, Unmapped, preview_of
from engage.sync import ProgressFactory, build_adapters

log = logging.getLogger(__name__)

#: Rows shown per source unless told otherwise.
DEFAULT_ROWS = 20

#: Problem messages kept per source (the counts stay exact beyond it).
MAX_PROBLEMS = 1000


@attrs.define
class Counts:
    """What one source gave: rows read, records by kind, passed over, bad, problems."""

    rows: int = 0
    touchpoints: int = 0
    customers: int = 0
    contacts: int = 0
    owners: int = 0
    retired: int = 0
    skipped: dict[str, int] = attrs.field(factory=dict)
    bad: int = 0
    problems: int = 0
    unmapped: dict[str, int] = attrs.field(factory=dict)

    @property
    def records(self) -> int:
        """Records a sync would store (customers, contacts, owners, touchpoints)."""
        return self.touchpoints + self.customers + self.contacts + self.owners

    @property
    def passed_over(self) -> int:
        """Input passed over on purpose, all reasons together."""
        return sum(self.skipped.values())

    def to_json(self) -> dict[str, Any]:
        """The counts as ``engage check --json`` prints them."""
        return {
            "rows": self.rows,
            "records": {
                "touchpoints": self.touchpoints,
                "customers": self.customers,
                "contacts": self.contacts,
                "owners": self.owners,
            },
            "touchpoints": self.touchpoints,
            "retired": self.retired,
            "skipped": dict(self.skipped),
            "bad": self.bad,
            "problems": self.problems,
            "unmapped": dict(self.unmapped),
        }


@attrs.frozen
class SourceCheck:
    """What ``engage check`` found in one source.

    Attributes:
        name: The config table's name.
        plugin: The plugin that read it.
        previewed: True when the source has its own ``preview`` (mapping and rows as the
            input has them); False when it was read through ``pull(None)``, one record a row.
        mapping: How each input field maps to an engage field.
        rows: The first rows (all of them when no limit was set).
        counts: Every row counted, shown or not.
        problems: Every problem with its place (the first :data:`MAX_PROBLEMS`).
        unmapped: Values with no mapping, one entry per field, with the hint to map them.
        error: Why reading the source stopped, if it did.
    """

    name: str
    plugin: str
    previewed: bool
    mapping: tuple[FieldMap, ...] = ()
    rows: tuple[CheckedRow, ...] = ()
    counts: Counts = attrs.field(factory=Counts)
    problems: tuple[str, ...] = ()
    unmapped: tuple[Unmapped, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when a sync would read this source as it is."""
        return self.error is None and self.counts.records > 0 and not self.unmapped

    @property
    def problem_total(self) -> int:
        """Problems in all: bad rows' and the file-level ones (more than :attr:`problems` may hold)."""
        return self.counts.bad + self.counts.problems

    @property
    def summary(self) -> str:
        """``1,204 rows: 1,180 touchpoints, 20 passed over (internal 12, ...), 4 bad``."""
        counts = self.counts
        unit = "rows" if self.previewed else "records"
        parts = [_plural(counts.touchpoints, "touchpoint")]
        if counts.skipped:
            reasons = sorted(counts.skipped.items(), key=lambda kv: (-kv[1], kv[0]))
            why = ", ".join(f"{what} {count:,}" for what, count in reasons)
            parts.append(f"{counts.passed_over:,} passed over ({why})")
        if counts.bad:
            parts.append(f"{counts.bad:,} bad")
        if counts.problems:
            parts.append(_plural(counts.problems, "other problem"))
        return f"{counts.rows:,} {unit}: " + ", ".join(parts)

    @property
    def verdict(self) -> str:
        """One line: what was read and ``ok``, ``needs mapping`` or ``fails`` (and why)."""
        if self.error is not None:
            return f"{self.error} — fails"
        if self.counts.records == 0:
            if self.counts.rows == 0 and not self.counts.problems:
                return "no records found — fails"
            return f"{self.summary}; no records found — fails"
        if self.unmapped:
            return f"{self.summary} — needs mapping"
        return f"{self.summary} — ok"

    def to_json(self) -> dict[str, Any]:
        """The source's part of ``engage check --json``."""
        return {
            "plugin": self.plugin,
            "read_by": "preview" if self.previewed else "pull",
            "mapping": [{"name": m.name, "target": m.target, "note": m.note} for m in self.mapping],
            "rows": [row.to_json() for row in self.rows],
            "counts": self.counts.to_json(),
            "problems": list(self.problems),
            "unmapped": {
                u.field: {"values": list(u.values), "hint": u.hint} for u in self.unmapped
            },
            "verdict": self.verdict,
            "ok": self.ok,
        }


def check_json(checks: Iterable[SourceCheck]) -> dict[str, Any]:
    """The object ``engage check --json`` prints: ``{"sources": {NAME: {...}}}``."""
    return {"sources": {check.name: check.to_json() for check in checks}}


def check_sources(
    config: Config,
    registry: Registry,
    *,
    name: str | None = None,
    limit: int | None = DEFAULT_ROWS,
    progress: ProgressFactory | None = None,
    env: Mapping[str, str] | None = None,
) -> list[SourceCheck]:
    """Build and check every configured source, or only ``name``; nothing is written.

    Each source is built on its own by :func:`~engage.sync.build_adapters` (no sinks, no
    store directory), so a failure names it.

    Args:
        config: The loaded configuration.
        registry: The installed plugins.
        name: Only this source.
        limit: How many rows of each source to keep for display; None keeps them all.
        progress: Counters for a long read (as in a sync).
        env: The environment secrets are read from (default ``os.environ``).

    Raises:
        ConfigError: no source is configured, or none is called ``name``; a source's
            table has a bad key.
        PluginError: a source's plugin is not installed, or its constructor broke (PluginCrashError).
    """
    where = str(config.path) if config.path is not None else "<config>"
    if not config.sources:
        raise ConfigError(f"{where}: no sources configured; add a [sources.NAME] table")
    if name is not None and name not in config.sources:
        known = ", ".join(config.sources)
        raise ConfigError(f"{where}: no source named {name!r} (configured sources: {known})")
    names = [name] if name is not None else list(config.sources)
    checks = []
    for each in names:
        entry = config.sources[each]
        source = _build(config, registry, each, progress, env)
        checks.append(check_source(each, entry.plugin, source, limit=limit))
    return checks


def _build(
    config: Config,
    registry: Registry,
    name: str,
    progress: ProgressFactory | None,
    env: Mapping[str, str] | None,
) -> Source:
    alone = attrs.evolve(config, sources={name: config.sources[name]}, sinks={})
    try:
        sources, _ = build_adapters(alone, registry, progress=progress, env=env, directory=None)
    except EngageError:
        raise
    except Exception as exc:  # a plugin bug: one line naming the source, not a traceback
        log.debug("building source %s failed", name, exc_info=True)
        raise PluginCrashError(
            f"source {name!r} ({config.sources[name].plugin}) could not be built: "
            f"unexpected {type(exc).__name__}: {exc}"
        ) from None
    return sources[name]


def check_source(
    name: str,
    plugin: str,
    source: Any,
    *,
    limit: int | None = DEFAULT_ROWS,
    now: datetime | None = None,
) -> SourceCheck:
    """Read ``source`` through its preview and collect what ``engage check`` shows.

    Never raises for a source failure: an :class:`~engage.errors.EngageError` becomes the
    verdict as the source worded it, any other exception one line naming it; what was read
    before it is kept.

    Args:
        name: The source's config name (touchpoints must carry it).
        plugin: The plugin's name, for the report.
        source: The built source.
        limit: How many rows to keep for display; None keeps them all.
        now: The real clock, for refusing touchpoints dated in the future.
    """
    collector = _Collector(name, limit, utcnow() if now is None else now)
    error: str | None = None
    try:
        collector.read(preview_of(source))
    except EngageError as exc:
        error = str(exc)
    except Exception as exc:  # a plugin bug must not take the other sources down
        log.debug("checking source %s failed", name, exc_info=True)
        error = f"unexpected {type(exc).__name__}: {exc}"
    return SourceCheck(
        name=name,
        plugin=plugin,
        previewed=isinstance(source, Previewable),
        mapping=tuple(collector.mapping),
        rows=tuple(collector.rows),
        counts=collector.counts,
        problems=tuple(collector.problems),
        unmapped=tuple(collector.unmapped.values()),
        error=error,
    )


def _plural(count: int, what: str) -> str:
    return f"{count:,} {what}{'' if count == 1 else 's'}"


def _placed(place: str, message: str) -> str:
    return message if message.startswith(place) else f"{place}: {message}"


class _Collector:
    """Counts every item of a preview and keeps the first rows and problems."""

    def __init__(self, name: str, limit: int | None, now: datetime) -> None:
        self.name = name
        self.limit = limit
        self.now = now
        self.latest = now + FUTURE_TOLERANCE
        self.counts = Counts()
        self.mapping: list[FieldMap] = []
        self.rows: list[CheckedRow] = []
        self.problems: list[str] = []
        self.unmapped: dict[str, Unmapped] = {}

    def read(self, items: Iterator[Any]) -> None:
        loose = 0
        for item in items:
            if isinstance(item, PreviewRow):
                self.row(item)
            elif isinstance(item, FieldMap):
                self.mapping.append(item)
            elif isinstance(item, Problem):
                self.counts.problems += 1
                self.problem(item.message)
            elif isinstance(item, Unmapped):
                self.add_unmapped(item)
            elif not isinstance(item, Checkpoint):  # a record outside any row: a row of its own
                loose += 1
                self.row(PreviewRow(f"record {loose}", (item,)))

    def problem(self, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)

    def add_unmapped(self, item: Unmapped) -> None:
        if not item.values:
            return
        known = self.unmapped.get(item.field)
        if known is not None:
            values = known.values + tuple(v for v in item.values if v not in known.values)
            item = Unmapped(item.field, values, known.hint or item.hint)
        self.unmapped[item.field] = item
        self.counts.unmapped[item.field] = len(item.values)

    def row(self, row: PreviewRow) -> None:
        counts = self.counts
        counts.rows += 1
        bad: list[str] = []
        skipped: list[str] = []
        records: list[Customer | Contact | Owner | Touchpoint] = []
        for item in row.items:
            if isinstance(item, Problem):
                bad.append(item.message)
            elif isinstance(item, Skipped):
                skipped.append(item.what)
                counts.skipped[item.what] = counts.skipped.get(item.what, 0) + item.count
            elif isinstance(item, Retire):
                counts.retired += 1
            elif isinstance(item, Touchpoint):
                refused = self.refused(item)
                if refused is None:
                    records.append(item)
                else:
                    bad.append(refused)
            elif isinstance(item, Customer | Contact | Owner):
                records.append(item)
        for record in records:
            self.count(record)
        if bad:
            counts.bad += 1
            for message in bad:
                self.problem(_placed(row.place, message))
        if self.limit is None or len(self.rows) < self.limit:
            self.rows.append(checked_row(row, records, bad, skipped))

    def refused(self, touchpoint: Touchpoint) -> str | None:
        """Why a sync would not store the touchpoint, or None; raises where a sync fails."""
        if touchpoint.source != self.name:
            raise SourceError(
                f"a touchpoint carries source {touchpoint.source!r}; touchpoints must carry "
                f"the source's config name {self.name!r} (context.name)"
            )
        if touchpoint.occurred_at > self.latest:
            future = future_problem(touchpoint.occurred_at, self.now)
            return f"touchpoint {touchpoint.external_id!r}: {future}"
        return None

    def count(self, record: Customer | Contact | Owner | Touchpoint) -> None:
        if isinstance(record, Touchpoint):
            self.counts.touchpoints += 1
        elif isinstance(record, Customer):
            self.counts.customers += 1
        elif isinstance(record, Contact):
            self.counts.contacts += 1
        else:
            self.counts.owners += 1
