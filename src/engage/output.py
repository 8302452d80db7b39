"""How the command line shows things to a person: tables, progress bars, summaries.

Tables are drawn with rich. Progress bars appear only when stderr is a terminal, so a
scheduled run's log stays clean.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from engage.adapters import Progress as ProgressProtocol
from engage.check import MAX_PROBLEMS, SourceCheck
from engage.check_rows import CheckedRow
from engage.health import FactorResult, Health
from engage.models import Task
from engage.report import SyncReport
from engage.sync import ProgressFactory

BAND_STYLE = {"healthy": "green", "watch": "yellow", "at_risk": "red", "no_data": "dim"}

#: Problems ``engage check`` prints per source; ``--json`` lists up to :data:`MAX_PROBLEMS`.
CHECK_PROBLEMS_SHOWN = 50

_OUTCOME_STYLE = {
    "ok": "green",
    "internal": "dim",
    "skipped": "yellow",
    "bad": "red",
    "empty": "dim",
}


def console() -> Console:
    """A console on stdout; wide enough when piped that rows are not cut."""
    return Console(width=None if sys.stdout.isatty() else 160, highlight=False)


class _Counter:
    def __init__(self, bars: Progress, source: str) -> None:
        self._bars = bars
        self._source = source
        self._tasks: dict[str, TaskID] = {}

    def advance(self, what: str, count: int = 1) -> None:
        if what not in self._tasks:
            self._tasks[what] = self._bars.add_task(f"{self._source}: {what}", total=None)
        self._bars.advance(self._tasks[what], count)


class _Silent:
    def advance(self, what: str, count: int = 1) -> None:
        return None


@contextmanager
def progress_bars() -> Iterator[ProgressFactory]:
    """Progress counters per source and kind of record, on a terminal only."""
    if not sys.stderr.isatty():

        def silent(source: str) -> ProgressProtocol:
            return _Silent()

        yield silent
        return
    bars = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:>10,.0f}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bars:

        def counter(source: str) -> ProgressProtocol:
            return _Counter(bars, source)

        yield counter


def print_health(reports: Sequence[Health], *, details: bool = False) -> None:
    """A table of customers, worst first; with ``details``, every factor's reason."""
    out = console()
    if not reports:
        out.print("No customers yet. Run 'engage sync' to pull some.")
        return
    table = Table(title=f"Relationship health as of {reports[0].as_of:%Y-%m-%d %H:%M} UTC")
    for column in ("customer", "score", "band", "stage", "weakest factor"):
        table.add_column(column, justify="right" if column == "score" else "left")
    # worst first; customers with no data to judge by last
    for health in sorted(reports, key=lambda h: (h.score is None, h.score or 0, h.customer)):
        weakest = min(
            (f for f in health.factors if f.value is not None),
            key=lambda f: f.value or 0.0,
            default=None,
        )
        style = BAND_STYLE[health.band.value]
        table.add_row(
            f"{health.name} ({health.customer})"
            if health.name and health.name != health.customer
            else health.customer,
            "–" if health.score is None else str(health.score),
            f"[{style}]{health.band.value}[/]",
            health.stage.value,
            _weakest_text(health, weakest),
        )
    out.print(table)
    if details:
        for health in reports:
            out.print(
                f"\n[bold]{health.name or health.customer}[/]: {'no score' if health.score is None else health.score} ({health.band.value}, {health.stage.value}), scoring {health.version}"
            )
            for factor in health.factors:
                value = "n/a" if factor.value is None else f"{factor.value:.2f}"
                out.print(
                    f"  {factor.name:<12} {value:>5}  weight {factor.weight:.2f}  {factor.explain}"
                )


def _weakest_text(health: Health, weakest: FactorResult | None) -> str:
    if not health.has_data:
        return f"No touch recorded yet: {Health.no_data_note}."
    return weakest.explain if weakest is not None else ""


def print_tasks(tasks: Sequence[Task]) -> None:
    """A table of planned tasks, most urgent first."""
    out = console()
    if not tasks:
        out.print("No follow-ups needed right now.")
        return
    table = Table(title=f"{len(tasks)} follow-up task{'s' if len(tasks) != 1 else ''}")
    for column in ("due", "priority", "kind", "rule", "customer", "title", "owner"):
        table.add_column(column)
    for task in tasks:
        table.add_row(
            task.due.isoformat(),
            task.priority.value,
            task.kind.value,
            task.rule,
            task.customer,
            task.title,
            task.owner or "-",
        )
    out.print(table)


def print_sync(report: SyncReport) -> None:
    """A short summary of a sync: per source, per sink, and the problems."""
    out = console()
    for source in report.sources:
        state = f"[red]failed: {source.error}[/]" if source.error else "ok"
        out.print(
            f"source {source.name} ({source.plugin}): {source.records:,} records "
            f"({source.inserted:,} new, {source.updated:,} changed, {source.unchanged:,} unchanged"
            f"{f', {source.retired:,} retired' if source.retired else ''}"
            f"{f', {source.merged:,} merged with other sources' if source.merged else ''}), "
            f"{source.problems:,} bad records skipped; {state}"
        )
        if source.skipped:
            passed = ", ".join(
                f"{count:,} {what}" for what, count in sorted(source.skipped.items())
            )
            out.print(f"  passed over on purpose: {passed}", markup=False)
        for notice in source.notices[:20]:
            out.print(f"  note: {notice}", markup=False)
        for message in source.messages[:20]:
            out.print(f"  {message}", markup=False)
        if source.problems > 20:
            out.print(
                f"  ... and {source.problems - 20:,} more (engage sync --json lists up to 200)"
            )
    out.print(
        f"{report.customers:,} customers ({report.customers_planned:,} planned again); "
        f"{report.tasks_planned:,} tasks planned as of {report.as_of:%Y-%m-%d %H:%M} UTC"
    )
    for sink in report.sinks:
        if sink.skipped:
            out.print(f"sink {sink.name} ({sink.plugin}): nothing pushed ({sink.skipped})")
            continue
        out.print(
            f"sink {sink.name} ({sink.plugin}): {sink.pushed:,} pushed, {sink.already_pushed:,} already pushed"
            f"{f', {sink.recovered:,} recovered' if sink.recovered else ''}"
            f"{f', {sink.failed:,} failed' if sink.failed else ''}"
            f"{f', {sink.cleared:,} cleared' if sink.cleared else ''}"
        )
        for notice in sink.notices[:20]:
            out.print(f"  note: {notice}", markup=False)
        for error in sink.errors[:20]:
            out.print(f"  {error}", markup=False)


def sync_failure_line(report: SyncReport) -> str:
    """One line saying why a sync did not fully succeed."""
    failed = [s.error for s in report.sources if s.error]
    sink_errors = [e for s in report.sinks for e in s.errors]
    parts = []
    if failed:
        parts.append(f"{len(failed)} source(s) failed ({failed[0]})")
    if sink_errors:
        parts.append(f"{len(sink_errors)} push error(s) ({sink_errors[0]})")
    return "sync incomplete: " + "; ".join(parts)


def print_plugins(described: Sequence[dict[str, Any]]) -> None:
    """A table of installed plugins and what each registers."""
    out = console()
    if not described:
        out.print("No plugins installed. Install an adapter, e.g. pip install ./plugins/csv")
        return
    table = Table(title="engage plugins")
    for column in ("plugin", "distribution", "version", "sources", "sinks", "factors", "rules"):
        table.add_column(column)
    for plugin in described:
        table.add_row(
            plugin["name"],
            plugin["distribution"] or "-",
            plugin["version"] or "-",
            ", ".join(plugin["sources"]) or "-",
            ", ".join(plugin["sinks"]) or "-",
            ", ".join(plugin["factors"]) or "-",
            ", ".join(plugin["rules"]) or "-",
        )
    out.print(table)


def print_check(checks: Sequence[SourceCheck]) -> None:
    """Per source: the field mapping, the first rows, the problems, unmapped values, the verdict."""
    out = console()
    for number, check in enumerate(checks):
        if number:
            out.print()
        out.print(Text(f"source {check.name} ({check.plugin})", style="bold"))
        _print_mapping(out, check)
        if check.rows:
            out.print(_rows_table(check))
        _print_problems(out, check)
        for unmapped in check.unmapped:
            values = ", ".join(unmapped.values)
            out.print(f"  no mapping for {unmapped.field}: {values}", markup=False, soft_wrap=True)
            if unmapped.hint:
                hint = f"    add to [sources.{check.name}]: {unmapped.hint}"
                out.print(hint, markup=False, soft_wrap=True)
        style = "green" if check.ok else "red"
        out.print(Text(f"{check.name}: {check.verdict}", style=style), soft_wrap=True)


def _print_mapping(out: Console, check: SourceCheck) -> None:
    if not check.previewed:
        out.print(
            f"  read through pull: the {check.plugin} plugin has no preview, "
            "so each record is a row and no field mapping is shown",
            markup=False,
        )
        return
    if check.mapping:
        out.print("  mapping:")
    for field in check.mapping:
        note = f"  ({field.note})" if field.note else ""
        out.print(f"    {field.name} → {field.target or 'not used'}{note}", markup=False)


def _rows_table(check: SourceCheck) -> Table:
    unit = "rows" if check.previewed else "records"
    total = check.counts.rows
    shown = len(check.rows)
    if shown == total:
        title = f"the one {unit[:-1]}" if total == 1 else f"all {total:,} {unit}"
    else:
        title = f"the first {shown:,} of {total:,} {unit}"
    table = Table(title=f"{check.name}: {title}")
    for column in ("place", "time (UTC)", "customer", "contact", "channel", "direction", "owner"):
        table.add_column(column)
    table.add_column("outcome")
    for row in check.rows:
        table.add_row(*_row_cells(row))
    return table


def _row_cells(row: CheckedRow) -> list[Text]:
    time = "" if row.time is None else f"{row.time:%Y-%m-%d %H:%M}"
    cells = [row.place, time, row.customer, row.contact, row.channel, row.direction, row.owner]
    return [Text(cell or "") for cell in cells] + [
        Text(row.label, style=_OUTCOME_STYLE.get(row.outcome, ""))
    ]


def _print_problems(out: Console, check: SourceCheck) -> None:
    total = check.problem_total
    if not total:
        return
    out.print(f"  problems ({total:,}):")
    for message in check.problems[:CHECK_PROBLEMS_SHOWN]:
        out.print(f"    {message}", markup=False, soft_wrap=True)
    shown = min(len(check.problems), CHECK_PROBLEMS_SHOWN)
    if total > shown:
        out.print(
            f"    ... and {total - shown:,} more (engage check --json lists up to {MAX_PROBLEMS:,})"
        )


def check_failure_line(checks: Sequence[SourceCheck]) -> str:
    """One line naming the sources ``engage check`` found not ready."""
    failed = [check.name for check in checks if not check.ok]
    return f"check: {len(failed)} of {len(checks)} source(s) not ready ({', '.join(failed)})"
