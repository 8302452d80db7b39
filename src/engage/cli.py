"""The ``engage`` command line.

Every command reads the config file (``--config``, else ``$ENGAGE_CONFIG``, else
./engage.toml). Errors become one line on stderr and an exit code a scheduler can act on
(:data:`EXIT_CODES`; each error family carries its own, see :mod:`engage.errors`): 0 done,
3 done but some input or tasks refused, 75 temporary, 78 needs a person, 1 anything else
(an unexpected exception: its traceback only with ``--debug``), 2 bad usage.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import attrs
import click
from click.core import ParameterSource

from engage import collector, logs, output
from engage.check import DEFAULT_ROWS, check_json, check_sources
from engage.cli_options import (
    EXAMPLES,
    EngageGroup,
    chosen_format,
    examples_text,
    format_option,
    run_options,
)
from engage.clock import parse_as_of
from engage.config import Config, find_config_path
from engage.engine import Engine
from engage.errors import (
    EXIT_CONFIG,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_TEMPFAIL,
    ConfigError,
    EngageError,
    LockedError,
    exit_code_of,
)
from engage.plugins import Registry, describe_plugins, make_plugin_manager
from engage.store import Store, migrate_store, open_store, redact_url
from engage.sync import check_adapter_options, run_sync

EXIT_LOCKED = EXIT_TEMPFAIL

log = logging.getLogger(__name__)

#: What each exit code means, for ``engage --help`` and the README.
EXIT_CODES = (
    (EXIT_OK, "done"),
    (EXIT_PARTIAL, "done, but a source's input (too many bad rows) or tasks were refused"),
    (EXIT_TEMPFAIL, "temporary (network, rate limit, another sync): try again later"),
    (EXIT_CONFIG, "needs a person: config, credentials, a plugin, the store or its disk"),
    (EXIT_ERROR, "another error, or a bug (--debug shows its traceback)"),
    (2, "bad usage (an unknown option, a bad value)"),
)

EPILOG = "\b\nExit codes:\n" + "\n".join(f"  {code:<3} {meaning}" for code, meaning in EXIT_CODES)

F = TypeVar("F", bound=Callable[..., Any])


@attrs.define
class App:
    """What the commands share, built lazily so ``--help`` never touches plugins or files."""

    config_option: str | None
    _pm: Any = None
    _registry: Registry | None = None
    _config: Config | None = None

    @property
    def pm(self) -> Any:
        if self._pm is None:
            self._pm = make_plugin_manager()
        return self._pm

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = Registry.from_plugins(self.pm)
        return self._registry

    @property
    def config_path(self) -> Path:
        return find_config_path(self.config_option)

    @property
    def config(self) -> Config:
        if self._config is None:
            config = Config.load(self.config_path)
            config.check_factors(self.registry.factors)  # weights name registered factors
            self._config = config
        return self._config

    def engine(self, store: Store, config: Config | None = None) -> Engine:
        return Engine.from_config(store, self.config if config is None else config, self.registry)

    def existing_store(self) -> Store:
        path = self.config.store
        if isinstance(path, Path) and not path.exists():
            raise EngageError(f"{path}: no store yet; run 'engage sync' first")
        return open_store(path)


def fails_cleanly(command: F) -> F:
    """Turn every error into one stderr line and its exit code (:data:`EXIT_CODES`).

    engage's errors exit with their family's code. An SQLite error that escaped the store
    is explained as the store would. Any other exception is a bug: one line naming it, exit
    1, and its traceback in the debug log (shown on stderr with ``--debug``).
    """

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except LockedError as exc:
            _fail(_one_line(exc), exc.exit_code, prefix="engage: ")
        except EngageError as exc:
            log.debug("%s", type(exc).__name__, exc_info=True)
            _fail(_one_line(exc), exit_code_of(exc))
        except (click.ClickException, click.Abort, click.exceptions.Exit):
            raise
        except sqlite3.Error as exc:
            from engage.store.sqlite_faults import explain

            log.debug("store error", exc_info=True)
            app = next((a for a in args if isinstance(a, App)), None)
            where = str(app._config.store) if app and app._config else "the store"
            error = explain(where, exc)
            _fail(str(error), error.exit_code)
        except Exception as exc:  # a bug (engage's or a plugin's): one line, not a traceback
            log.debug("unexpected error", exc_info=True)
            said = _one_line(exc)
            _fail(
                f"unexpected {type(exc).__name__}{': ' + said if said else ''} "
                "(a bug; run again with --debug for the traceback, and report it)",
                EXIT_ERROR,
            )

    return wrapper  # type: ignore[return-value]


def _fail(line: str, code: int, prefix: str = "engage: error: ") -> NoReturn:
    """Print the error's one line on stderr, log it for ``--log-file`` (``SHOWN``: stderr has
    it already), and exit with ``code``."""
    click.echo(f"{prefix}{line}", err=True)
    log.error("%s", line, extra=logs.SHOWN)
    sys.exit(code)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


class AsOf(click.ParamType):  # type: ignore[type-arg]
    """An ISO 8601 moment for ``--as-of``."""

    name = "DATETIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_as_of(str(value))
        except EngageError as exc:
            self.fail(str(exc).removeprefix("--as-of: "), param, ctx)


def _as_of_given(ctx: click.Context, param: click.Parameter, value: datetime | None) -> Any:
    if value is not None and ctx.get_parameter_source("as_of") is ParameterSource.ENVIRONMENT:
        # say so: a moment left in the environment must not pass for today
        run_options(ctx).warnings.append(
            f"evaluating as of {value:%Y-%m-%d %H:%M} UTC, from $ENGAGE_AS_OF"
        )
    return value


as_of_option = click.option(
    "--as-of",
    type=AsOf(),
    default=None,
    envvar="ENGAGE_AS_OF",
    callback=_as_of_given,
    help="Evaluate as of this ISO 8601 moment, e.g. 2026-11-02T09:00:00Z "
    "(default: $ENGAGE_AS_OF, else now).",
)
json_option = format_option()
table_formats = format_option(tsv=True)


@click.group(
    cls=EngageGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=examples_text(EXAMPLES[""]) + "\n\n" + EPILOG,
)
@click.version_option(package_name="engage-core", prog_name="engage")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Keep customer relationships from going cold.

    engage reads interactions from your tools, scores each relationship's health with
    reasons, and writes follow-up tasks back where your team works.

    The options below work before or after the command: engage health -c x.toml is
    engage -c x.toml health.
    """
    if not isinstance(ctx.obj, App):  # else a caller (a test, a script) supplied the plugins
        ctx.obj = App(None)


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.pass_obj
@fails_cleanly
def init(app: App, force: bool) -> None:
    """Write a starter config file to edit."""
    from engage.templates import STARTER_CONFIG

    path = app.config_path
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists (use --force to overwrite)")
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    click.echo(f"Wrote {path}. Point [sources.files] at your interactions, then run: engage sync")


report_top_option = click.option(
    "--top",
    metavar="N",
    type=click.IntRange(min=1),
    default=None,
    help="Give the N most urgent customers their own section (default 100).",
)
report_all_option = click.option(
    "--all", "every", is_flag=True, help="Give every customer its own section."
)


def sync_outputs(command: F) -> F:
    """The options ``sync`` and ``push`` share: ``--report`` (with ``--top``/``--all``),
    ``--format``/``--json`` and ``--as-of``; then the app and clean failures."""
    for option in reversed(
        (
            click.option(
                "--report",
                "report_path",
                metavar="PATH",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="Then write the HTML report there, atomically (see 'engage report').",
            ),
            report_top_option,
            report_all_option,
            json_option,
            as_of_option,
            click.pass_obj,
            fails_cleanly,
        )
    ):
        command = option(command)
    return command


@cli.command()
@click.option("--dry-run", is_flag=True, help="Pull and plan, but push no task.")
@click.option(
    "--sources",
    "patterns",
    metavar="PATTERN",
    multiple=True,
    help="Pull only the sources whose names match (shell-style, e.g. 'mail_*'; repeat it or "
    "separate patterns with commas). Default: every source.",
)
@click.option(
    "--no-push",
    is_flag=True,
    help="Pull only: leave scoring, planning and pushing to 'engage push' (or the next sync).",
)
@sync_outputs
def sync(
    app: App,
    dry_run: bool,
    patterns: tuple[str, ...],
    no_push: bool,
    report_path: Path | None,
    top: int | None,
    every: bool,
    as_json: bool,
    as_of: datetime | None,
) -> None:
    """Pull every source, score every customer, push new tasks to every sink.

    On a terminal each stage is shown as it runs (each source's pull with a percentage and
    the time left when its size is known, scoring, pushing); elsewhere nothing is drawn, and
    -v or --log-file logs each stage instead, with its UTC time and the run's id.

    Several runners may run it at once on a PostgreSQL store: each source is pulled by one
    of them, and the one that finishes pulling last plans and pushes. On SQLite one sync
    runs at a time.
    """
    if no_push and dry_run:
        raise click.UsageError("--no-push pulls only; --dry-run plans without pushing: pick one")
    _run_sync(app, report_path, top, every, as_json, as_of, dry_run=dry_run,
              sources=patterns, push=not no_push)  # fmt: skip


@cli.command()
@click.option("--dry-run", is_flag=True, help="Plan, but push no task.")
@sync_outputs
def push(
    app: App,
    dry_run: bool,
    report_path: Path | None,
    top: int | None,
    every: bool,
    as_json: bool,
    as_of: datetime | None,
) -> None:
    """Score, plan and push new tasks to every sink, pulling nothing.

    The other half of 'engage sync --no-push': runners pull their sources, and one
    scheduled 'engage push' plans and pushes what they stored. Like a sync, it pushes
    nothing while a source's latest pull failed.
    """
    _run_sync(app, report_path, top, every, as_json, as_of, dry_run=dry_run, pull=False)


def _run_sync(
    app: App,
    report_path: Path | None,
    top: int | None,
    every: bool,
    as_json: bool,
    as_of: datetime | None,
    **how: Any,
) -> None:
    """Run a sync (or its pull or push half, as ``how`` says), print what it did and exit
    with its code."""
    run = run_options()
    config = app.config
    if report_path is not None:
        from engage.htmlreport import check_available

        check_available()  # before pulling: a missing extra must not cost a sync
    check_adapter_options(config, app.registry)  # a bad setting fails before the store opens
    store = open_store(config.store)
    try:
        with output.progress_bars(quiet=run.quiet) as progress:
            report = run_sync(
                config, app.registry, store, as_of=as_of, progress=progress, pm=app.pm, **how
            )
        if report_path is not None:
            written = _write_report(app, store, report_path, as_of, top, every)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"run_id": run.run_id, **report.to_json()}, indent=2))
    elif not run.quiet:
        output.print_sync(report)
    if report_path is not None and not run.quiet:
        click.echo(_wrote(written), err=as_json)
    code = report.exit_code
    log.info("sync finished (exit %d): %s", code, output.sync_outcome(report))
    if code != EXIT_OK:
        click.echo(f"engage: error: {output.sync_failure_line(report)}", err=True)
        log.error("%s", output.sync_failure_line(report), extra=logs.SHOWN)
        sys.exit(code)


@cli.command()
@click.argument("name", metavar="[NAME]", required=False)
@click.option(
    "--rows",
    "limit",
    metavar="N",
    type=click.IntRange(min=0),
    default=DEFAULT_ROWS,
    show_default=True,
    help="Show the first N rows of each source.",
)
@click.option("--all", "show_all", is_flag=True, help="Show every row.")
@json_option
@click.pass_obj
@fails_cleanly
def check(app: App, name: str | None, limit: int, show_all: bool, as_json: bool) -> None:
    """Read every source (or NAME) as sync would, write nothing, and show what it makes of it.

    For each source: how its fields map, the first rows as parsed, the values with no
    mapping, every problem with its place, and a verdict. Exits 1 unless every source is ok.
    """
    with output.progress_bars(quiet=run_options().quiet) as progress:
        checks = check_sources(
            app.config,
            app.registry,
            name=name,
            limit=None if show_all else limit,
            progress=progress,
        )
    if as_json:
        click.echo(json.dumps(check_json(checks), indent=2))
    else:
        output.print_check(checks)
    if not all(each.ok for each in checks):
        click.echo(f"engage: error: {output.check_failure_line(checks)}", err=True)
        sys.exit(EXIT_ERROR)


customer_option = click.option(
    "--customer",
    metavar="CUSTOMER",
    default=None,
    help="Only this customer: its key (acme.com), its name, or the start of either (any case).",
)


@cli.command()
@customer_option
@click.option(
    "--history",
    is_flag=True,
    help="With --customer: each change of its score, band and stage (the first use "
    "back-fills the last 12 month ends).",
)
@table_formats
@as_of_option
@click.pass_obj
@fails_cleanly
def health(
    app: App, customer: str | None, history: bool, as_json: bool, as_of: datetime | None
) -> None:
    """Show every customer's relationship health, worst first, with the reasons."""
    if history:
        _health_history(app, customer, as_json, as_of)
        return
    store = app.existing_store()
    try:
        engine = app.engine(store)
        key = None if customer is None else engine.find_customer(customer)
        reports = list(engine.health(as_of, key))
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([h.to_json() for h in reports], indent=2))
    elif chosen_format() == "tsv":
        click.echo(output.health_tsv(reports), nl=False)
    else:
        output.print_health(reports, details=customer is not None)


@cli.command()
@click.option(
    "-o",
    "--output",
    "path",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="The HTML file to write (replaced atomically).",
)
@report_top_option
@report_all_option
@as_of_option
@click.pass_obj
@fails_cleanly
def report(app: App, path: Path, top: int | None, every: bool, as_of: datetime | None) -> None:
    """Write one self-contained HTML report: the portfolio and each customer's story.

    It needs no network and opens from disk. Charts need the optional extra:
    pip install 'engage-core[report]'. The first report back-fills the health history.
    """
    from engage.htmlreport import check_available

    check_available()
    store = app.existing_store()
    try:
        written = _write_report(app, store, path, as_of, top, every)
    finally:
        store.close()
    click.echo(_wrote(written))


def _write_report(
    app: App, store: Store, path: Path, as_of: datetime | None, top: int | None, every: bool
) -> Any:
    from engage.htmlreport import DEFAULT_TOP, write_report

    config = app.config
    return write_report(
        app.engine(store),
        path,
        as_of=as_of,
        top=None if every else top or DEFAULT_TOP,
        sources=[(s.name, s.plugin) for s in config.sources.values()],
    )


def _wrote(written: Any) -> str:
    return (
        f"Wrote {written.path} ({written.size / 1e6:.1f} MB; {written.customers:,} customers, "
        f"{written.sections:,} with their own section) in {written.seconds:.1f} s"
    )


def _health_history(app: App, customer: str | None, as_json: bool, as_of: datetime | None) -> None:
    """``engage health --customer KEY --history``: the customer's recorded history."""
    from engage.output_history import print_history

    if customer is None:
        raise click.UsageError("--history shows one customer's history: add --customer KEY")
    store = app.existing_store()
    try:
        engine = app.engine(store)
        customer = engine.find_customer(customer)
        points = engine.history(customer, as_of=as_of)
    finally:
        store.close()
    if as_of is not None:
        points = [point for point in points if point.at <= as_of]
    if as_json:
        click.echo(json.dumps([point.to_json() for point in points], indent=2))
    else:
        print_history(customer, points)


@cli.command()
@customer_option
@table_formats
@as_of_option
@click.pass_obj
@fails_cleanly
def tasks(app: App, customer: str | None, as_json: bool, as_of: datetime | None) -> None:
    """Show the open follow-up tasks the playbook plans, most urgent first."""
    store = app.existing_store()
    try:
        engine = app.engine(store)
        key = None if customer is None else engine.find_customer(customer)
        planned = engine.tasks(as_of, key)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([t.to_json() for t in planned], indent=2))
    elif chosen_format() == "tsv":
        click.echo(output.tasks_tsv(planned), nl=False)
    else:
        output.print_tasks(planned)


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    from engage.clock import parse_moment

    if value is None:
        return None
    try:
        return parse_moment(value, what="--since")  # a bare date: its midnight, UTC
    except EngageError as exc:
        raise click.BadParameter(str(exc).removeprefix("--since: "), ctx, param) from None


@cli.command()
@click.argument("customer")
@click.option(
    "--since",
    metavar="DATE",
    default=None,
    callback=_since,
    help="Only touchpoints from this ISO 8601 date or moment on (UTC).",
)
@json_option
@as_of_option
@click.pass_obj
@fails_cleanly
def timeline(
    app: App, customer: str, since: datetime | None, as_json: bool, as_of: datetime | None
) -> None:
    """Show CUSTOMER's touchpoints in time order, then its open tasks.

    CUSTOMER is a key (acme.com), a name or the start of one. An email several sources
    hold is shown once, with each source.
    """
    from engage.models import Customer
    from engage.output_timeline import print_timeline, timeline_json

    store = app.existing_store()
    try:
        engine = app.engine(store)
        key = engine.find_customer(customer)
        record = store.get_customer(key) or Customer(key)
        entries = engine.timeline(key, since, as_of=as_of)
        planned = engine.tasks(as_of, key)
    finally:
        store.close()
    if as_json:
        data = timeline_json(record, entries, planned, since=since, as_of=as_of)
        click.echo(json.dumps(data, indent=2))
    else:
        print_timeline(record, entries, planned, since=since)


@cli.command()
@table_formats
@click.option("--all", "show_all", is_flag=True, help="Include engage's built-in plugins.")
@click.pass_obj
@fails_cleanly
def plugins(app: App, as_json: bool, show_all: bool) -> None:
    """List installed plugins and what each registers."""
    described = describe_plugins(app.pm, app.registry, include_builtin=show_all, options=True)
    if as_json:
        click.echo(json.dumps(described, indent=2))
    elif chosen_format() == "tsv":
        click.echo(output.plugins_tsv(described), nl=False)
    else:
        output.print_plugins(described)


@cli.command()
@click.option(
    "--as-of",
    type=AsOf(),
    default=None,
    envvar="ENGAGE_AS_OF",
    callback=_as_of_given,
    help="Evaluate the sample as of this ISO 8601 moment (default: $ENGAGE_AS_OF, else "
    "2026-11-02T09:00:00Z, the sample's today; the commands it suggests carry the moment).",
)
@click.option(
    "--keep",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the store, config, task file and report in DIR (default: a temporary "
    "directory, removed at the end).",
)
@click.pass_obj
@fails_cleanly
def demo(app: App, as_of: datetime | None, keep: Path | None) -> None:
    """Run the whole cycle on a bundled sample: sync, health, tasks. No account needed."""
    from engage.demo import run_demo

    run_demo(app.registry, as_of=as_of, keep=keep, pm=app.pm)


@cli.group(name="store")
def store_group() -> None:
    """The store: ``engage store migrate``, ``engage store copy``."""


@store_group.command(name="migrate")
@click.pass_obj
@fails_cleanly
def store_migrate(app: App) -> None:
    """Bring the store (SQLite or PostgreSQL) to this engage's schema version."""
    target = app.config.store
    before, after = migrate_store(target)
    where = redact_url(target) if isinstance(target, str) else str(target)
    if before == after:
        click.echo(f"{where}: schema version {after}; nothing to migrate")
    else:
        click.echo(f"{where}: migrated from schema version {before} to {after}")


@store_group.command(name="copy")
@click.argument("source")
@click.argument("dest")
@fails_cleanly
def store_copy(source: str, dest: str) -> None:
    """Copy the whole store at SOURCE into the empty store at DEST, each an SQLite file or a
    postgresql:// URL (from SQLite up to PostgreSQL, say): records, cursors, the task ledger,
    plans and history, nothing pulled again. Point engage at DEST afterwards and the next
    sync goes on where the last one stopped."""
    from engage.progress import run_progress
    from engage.store.copy import copy_store

    with run_progress() as shown, shown.stage("copying the store", source="copy"):
        report = copy_store(source, dest, progress=shown("copy"))
    click.echo(report.summary())
    click.echo(
        "next: make DEST the store (store = in engage.toml, or $ENGAGE_STORE); "
        "engage sync goes on from there"
    )


def main() -> None:
    """Entry point of the ``engage`` console script."""
    collector.tune()
    cli(prog_name="engage")
