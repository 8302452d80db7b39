"""How the command line shows things to a person: tables, summaries, TSV.

Tables are drawn with rich and fit the width (:mod:`engage.tables`): the terminal's, or
when stdout is piped or redirected, ``$COLUMNS`` (160 when it is unset), as plain text with
no colour. Colour only on a terminal, and never with ``NO_COLOR`` set. Progress is drawn
only when stderr is a terminal (:mod:`engage.progress`), so a scheduled run's log stays clean.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from engage.check import MAX_PROBLEMS, SourceCheck
from engage.check_rows import CheckedRow
from engage.errors import EXIT_CONFIG, EXIT_PARTIAL, EXIT_TEMPFAIL
from engage.health import FactorResult, Health
from engage.models import Task
from engage.progress import RunProgress, run_progress
from engage.report import SourceReport, SyncReport
from engage.tables import Cell, Column, fitted, tsv

#: The width of piped or redirected output when ``$COLUMNS`` does not say.
PIPED_WIDTH = 160

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


def piped_width() -> int:
    """``$COLUMNS`` when it is a number of at least 20, else :data:`PIPED_WIDTH`."""
    text = os.environ.get("COLUMNS", "").strip()
    return int(text) if text.isdigit() and int(text) >= 20 else PIPED_WIDTH


def console() -> Console:
    """A console on stdout: the terminal's width and colour (none with ``NO_COLOR``); when
    piped, plain text ``$COLUMNS`` wide (:data:`PIPED_WIDTH` when unset)."""
    if sys.stdout.isatty():
        return Console(highlight=False)
    return Console(width=piped_width(), highlight=False)


@contextmanager
def progress_bars(*, quiet: bool = False) -> Iterator[RunProgress]:
    """Each stage of a run with its counts, on stderr when it is a terminal only."""
    with run_progress(quiet=quiet) as progress:
        yield progress


def _weakest(health: Health) -> FactorResult | None:
    return min(
        (f for f in health.factors if f.value is not None),
        key=lambda f: f.value or 0.0,
        default=None,
    )


def _worst_first(reports: Sequence[Health]) -> list[Health]:
    # worst first; customers with no data to judge by last
    return sorted(reports, key=lambda h: (h.score is None, h.score or 0, h.customer))


HEALTH_COLUMNS = (
    Column("customer", "cut", min_width=14),
    Column("key", "cut", min_width=12, drop=3),
    Column("score", justify="right"),
    Column("band"),
    Column("stage", drop=2),
    Column("weakest factor", "wrap", min_width=30),
)

FACTOR_COLUMNS = (
    Column("factor"),
    Column("value", justify="right"),
    Column("weight", justify="right"),
    Column("reason", "wrap", min_width=30),
)


def print_health(reports: Sequence[Health], *, details: bool = False) -> None:
    """A table of customers, worst first; with ``details``, every factor's reason."""
    out = console()
    if not reports:
        out.print("No customers yet. Run 'engage sync' to pull some.")
        return
    rows: list[list[Cell]] = []
    for health in _worst_first(reports):
        style = BAND_STYLE[health.band.value]
        rows.append(
            [
                health.name or health.customer,
                health.customer,
                "–" if health.score is None else str(health.score),
                Text(health.band.value, style=style),
                health.stage.value,
                _weakest_text(health, _weakest(health)),
            ]
        )
    title = f"Relationship health as of {reports[0].as_of:%Y-%m-%d %H:%M} UTC"
    if not any(h.name and h.name != h.customer for h in reports):  # the key says it all
        columns = [c for c in HEALTH_COLUMNS if c.header != "key"]
        rows = [[cell for n, cell in enumerate(row) if n != 1] for row in rows]
        out.print(fitted(out, columns, rows, title=title))
    else:
        out.print(fitted(out, HEALTH_COLUMNS, rows, title=title))
    if details:
        for health in reports:
            score = "no score" if health.score is None else health.score
            named = bool(health.name) and health.name != health.customer
            heading = Text(f"\n{health.name if named else health.customer}", style="bold")
            heading.append(
                f"{f' ({health.customer})' if named else ''}: {score} "
                f"({health.band.value}, {health.stage.value}), scoring {health.version}"
            )
            out.print(heading)
            factors = [
                [
                    factor.name,
                    "n/a" if factor.value is None else f"{factor.value:.2f}",
                    f"{factor.weight:.2f}",
                    factor.explain,
                ]
                for factor in health.factors
            ]
            out.print(fitted(out, FACTOR_COLUMNS, factors))


def health_tsv(reports: Sequence[Health]) -> str:
    """``engage health --format tsv``: a row per customer, worst first, every column."""
    header = ["customer", "name", "score", "band", "stage", "weakest_factor", "reason"]
    rows = []
    for health in _worst_first(reports):
        weakest = _weakest(health)
        rows.append(
            [
                health.customer,
                health.name or "",
                "" if health.score is None else health.score,
                health.band.value,
                health.stage.value,
                weakest.name if weakest is not None else "",
                _weakest_text(health, weakest),
            ]
        )
    return tsv(header, rows)


def _weakest_text(health: Health, weakest: FactorResult | None) -> str:
    if not health.has_data:
        return f"No touch recorded yet: {Health.no_data_note}."
    return weakest.explain if weakest is not None else ""


TASK_COLUMNS = (
    Column("due"),
    Column("priority", drop=3),
    Column("kind", drop=4),
    Column("rule"),
    Column("customer", "cut", min_width=12, drop=2),
    Column("title", "cut", min_width=36),
    Column("owner", "cut", min_width=14, drop=5),
)


def print_tasks(tasks: Sequence[Task]) -> None:
    """A table of planned tasks, most urgent first."""
    out = console()
    if not tasks:
        out.print("No follow-ups needed right now.")
        return
    rows = [
        [
            task.due.isoformat(),
            task.priority.value,
            task.kind.value,
            task.rule,
            task.customer,
            task.title,
            task.owner or "-",
        ]
        for task in tasks
    ]
    title = f"{len(tasks)} follow-up task{'s' if len(tasks) != 1 else ''}"
    out.print(fitted(out, TASK_COLUMNS, rows, title=title))


def tasks_tsv(tasks: Sequence[Task]) -> str:
    """``engage tasks --format tsv``: a row per task, most urgent first, every column."""
    header = ["due", "priority", "kind", "rule", "customer", "owner", "title", "key"]
    rows = [
        [
            task.due.isoformat(),
            task.priority.value,
            task.kind.value,
            task.rule,
            task.customer,
            task.owner or "",
            task.title,
            task.key,
        ]
        for task in tasks
    ]
    return tsv(header, rows)


def print_sync(report: SyncReport) -> None:
    """A short summary of a sync: per source, per sink, and the problems."""
    out = console()
    for source in report.sources:
        out.print(_source_line(source), markup=False)
        if source.skipped:
            passed = ", ".join(
                f"{count:,} {what}" for what, count in sorted(source.skipped.items())
            )
            out.print(f"  passed over on purpose: {passed}", markup=False)
        for notice in source.notices[:20]:
            out.print(f"  note: {notice}", markup=False)
        for number, error in enumerate(source.earlier_errors, 1):
            out.print(f"  attempt {number} failed: {error}", markup=False)
        if source.not_retried:
            out.print(f"  not tried again in this run: {source.not_retried}", markup=False)
        for message in source.messages[:20]:
            out.print(f"  {message}", markup=False)
        if source.problems > 20:
            out.print(
                f"  ... and {source.problems - 20:,} more (engage sync --json lists up to 200)"
            )
    if report.planning:
        out.print(
            f"{report.customers:,} customers; {report.tasks_planned:,} tasks planned; "
            f"not planned here: {report.planning}",
            markup=False,
        )
    else:
        out.print(
            f"{report.customers:,} customers ({report.customers_planned:,} planned again); "
            f"{report.tasks_planned:,} tasks planned as of {report.as_of:%Y-%m-%d %H:%M} UTC"
        )
    for sink in report.sinks:
        if report.planning:
            continue  # said once above
        if sink.skipped:
            out.print(f"sink {sink.name} ({sink.plugin}): nothing pushed ({sink.skipped})")
            continue
        out.print(
            f"sink {sink.name} ({sink.plugin}): {sink.pushed:,} pushed, {sink.already_pushed:,} already pushed"
            f"{f', {sink.recovered:,} recovered' if sink.recovered else ''}"
            f"{f', {sink.failed:,} failed' if sink.failed else ''}"
            f"{f', {sink.cleared:,} cleared' if sink.cleared else ''}"
            f"{f' in {sink.attempts} attempts' if sink.retried else ''}",
            markup=False,
        )
        for notice in sink.notices[:20]:
            out.print(f"  note: {notice}", markup=False)
        for number, error in enumerate(sink.earlier_errors, 1):
            out.print(f"  attempt {number} stopped: {error}", markup=False)
        for error in sink.errors[:20]:
            out.print(f"  {error}", markup=False)
        if sink.stopped:
            left = f"{sink.pending:,} task{'' if sink.pending == 1 else 's'}"
            out.print(
                f"  pushing stopped: {left} left for the next run; "
                f"{what_to_do(sink.error_code, sink=True)}"
                f"{f' (not tried again in this run: {sink.not_retried})' if sink.not_retried else ''}",
                markup=False,
            )


def _source_line(source: SourceReport) -> Text:
    """``source files (csv): 330,000 records (300,000 touchpoints) from 300,000 rows read:
    ... new, ... changed, ... unchanged; 12 bad rows skipped; ok`` (or who pulls it when
    another runner does)."""
    if source.elsewhere:
        return Text(f"source {source.name} ({source.plugin}): not pulled here: {source.elsewhere}")
    unit = next(iter(source.read), "records")
    changes = (
        f"{source.inserted:,} new, {source.updated:,} changed, {source.unchanged:,} unchanged"
        f"{f', {source.retired:,} retired' if source.retired else ''}"
        f"{f', {source.merged:,} merged with other sources' if source.merged else ''}"
    )
    bad = f"{source.problems:,} bad {unit if source.problems != 1 else unit.rstrip('s')} skipped"
    line = Text(f"source {source.name} ({source.plugin}): {source.counted()}: {changes}; {bad}; ")
    tries = f" after {source.attempts} attempts" if source.retried else ""
    if source.error:
        line.append(f"failed{tries}: {source.error}", "red")
        line.append(f" ({what_to_do(source.exit_code)})")
    else:
        line.append(f"ok{tries}")
    return line


def what_to_do(code: int, *, sink: bool = False) -> str:
    """What an exit code asks of the person reading the summary (see :mod:`engage.errors`)."""
    if code == EXIT_TEMPFAIL:
        if sink:
            return "temporary: the next run looks for the interrupted tasks, then pushes the rest"
        return "temporary: the next run tries again from the last checkpoint"
    if code == EXIT_CONFIG:
        return "needs a person: fix what the error names, then run again"
    if code == EXIT_PARTIAL:
        return "input refused: fix what the error names; the rest was synced"
    return "a bug: run again with --debug for the traceback, and report it"


def sync_outcome(report: SyncReport) -> str:
    """One line of what a sync did, for the log: per source what it read, then the plan and
    per sink what it pushed."""
    parts = [
        f"{source.name}: {source.elsewhere}"
        if source.elsewhere
        else f"{source.name}: {source.counted()}{_attempts(source.error, source.attempts)}"
        for source in report.sources
    ]
    parts.append(f"{report.customers:,} customers, {report.tasks_planned:,} tasks planned")
    for sink in report.sinks:
        pushed = sink.skipped or f"{sink.pushed:,} pushed, {sink.already_pushed:,} already there"
        tries = f" after {sink.attempts} attempts" if sink.retried else ""
        if sink.stopped:
            pushed += f" (stopped{tries}, {sink.pending:,} left)"
        elif tries:
            pushed += f" (ok{tries})"
        parts.append(f"{sink.name}: {pushed}")
    return "; ".join(parts)


def _attempts(error: str | None, attempts: int) -> str:
    """`` (failed)``, `` (failed after 2 attempts)``, `` (ok after 2 attempts)`` or nothing."""
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if error:
        return f" (failed{tries})"
    return f" (ok{tries})" if tries else ""


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


PLUGIN_COLUMNS = (
    Column("plugin", "cut", min_width=12),
    Column("distribution", "cut", min_width=12, drop=2),
    Column("version", drop=1),
    Column("sources", "wrap", min_width=8),
    Column("sinks", "wrap", min_width=8),
    Column("factors", "wrap", min_width=10, drop=3),
    Column("rules", "wrap", min_width=10),
)


def _plugin_rows(described: Sequence[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            plugin["name"],
            plugin["distribution"] or "-",
            plugin["version"] or "-",
            ", ".join(plugin["sources"]) or "-",
            ", ".join(plugin["sinks"]) or "-",
            ", ".join(plugin["factors"]) or "-",
            ", ".join(plugin["rules"]) or "-",
        ]
        for plugin in described
    ]


def print_plugins(described: Sequence[dict[str, Any]]) -> None:
    """A table of installed plugins and what each registers."""
    out = console()
    if not described:
        out.print("No plugins installed. Install an adapter, e.g. pip install ./plugins/csv")
        return
    out.print(fitted(out, PLUGIN_COLUMNS, _plugin_rows(described), title="engage plugins"))


def plugins_tsv(described: Sequence[dict[str, Any]]) -> str:
    """``engage plugins --format tsv``: a row per plugin, lists comma-separated."""
    return tsv([column.header for column in PLUGIN_COLUMNS], _plugin_rows(described))


def print_check(checks: Sequence[SourceCheck]) -> None:
    """Per source: the field mapping, the first rows, the problems, unmapped values, the verdict."""
    out = console()
    for number, check in enumerate(checks):
        if number:
            out.print()
        out.print(Text(f"source {check.name} ({check.plugin})", style="bold"))
        _print_mapping(out, check)
        if check.rows:
            out.print(_rows_table(out, check))
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


CHECK_COLUMNS = (
    Column("place", "cut_start", min_width=14),
    Column("time (UTC)"),
    Column("customer", "cut", min_width=12, drop=2),
    Column("contact", "cut", min_width=12, drop=4),
    Column("channel", drop=3),
    Column("direction", drop=5),
    Column("owner", "cut", min_width=12, drop=6),
    Column("outcome", "cut", min_width=12),
)


def _rows_table(out: Console, check: SourceCheck) -> Table:
    unit = "rows" if check.previewed else "records"
    total = check.counts.rows
    shown = len(check.rows)
    if shown == total:
        title = f"the one {unit[:-1]}" if total == 1 else f"all {total:,} {unit}"
    else:
        title = f"the first {shown:,} of {total:,} {unit}"
    rows = [_row_cells(row) for row in check.rows]
    return fitted(out, CHECK_COLUMNS, rows, title=f"{check.name}: {title}")


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
