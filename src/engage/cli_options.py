"""The command line's global options, output formats and examples.

The global options (``-c/--config``, ``-q/--quiet``, ``-v/--verbose``, ``--log-file``,
``--debug``) work before or after the command: ``engage -c x.toml health`` and ``engage
health -c x.toml`` are the same. :class:`EngageGroup` gives every command it holds (a
plugin's too) its own copy of them; what is given on the group and on the command is merged
into one :class:`RunOptions` (the command's config and log file win; ``-v`` adds up), and the
run's logging is set up from it just before the command runs.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, Literal, TypeVar

import attrs
import click
from click.core import ParameterSource

from engage import logs

log = logging.getLogger("engage")

F = TypeVar("F", bound=Callable[..., Any])

Format = Literal["table", "tsv", "json"]

_META = "engage.run"
_FORMAT = "engage.format"


@attrs.define
class RunOptions:
    """The global options of one run, wherever they were given, and the run's id."""

    config: str | None = None
    quiet: bool = False
    verbose: int = 0
    log_file: Path | None = None
    debug: bool = False
    run_id: str = attrs.field(factory=logs.new_run_id)
    started: bool = False
    warnings: list[str] = attrs.field(factory=list)


def run_options(ctx: click.Context | None = None) -> RunOptions:
    """The run's options (shared by the group's context and the command's)."""
    ctx = ctx or click.get_current_context()
    options: RunOptions = ctx.meta.setdefault(_META, RunOptions())
    return options


def _merge(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if (
        param.name is None
        or ctx.get_parameter_source(param.name) is not ParameterSource.COMMANDLINE
    ):
        return
    options = run_options(ctx)
    if param.name == "config":
        options.config = value
    elif param.name == "quiet":
        options.quiet = options.quiet or bool(value)
    elif param.name == "verbose":
        options.verbose += int(value)
    elif param.name == "log_file":
        options.log_file = value
    elif param.name == "debug":
        options.debug = options.debug or bool(value)


def global_params() -> list[click.Parameter]:
    """Fresh copies of the global options (a click option belongs to one command)."""
    common: dict[str, Any] = {"expose_value": False, "callback": _merge}
    return [
        click.Option(
            ["-c", "--config", "config"],
            metavar="PATH",
            default=None,
            help="Config file (default: $ENGAGE_CONFIG, else ./engage.toml).",
            **common,
        ),
        click.Option(
            ["-q", "--quiet", "quiet"],
            is_flag=True,
            help="No progress, no summary: errors only (the exit code says how it went).",
            **common,
        ),
        click.Option(
            ["-v", "--verbose", "verbose"],
            count=True,
            help="Log what each stage did (-vv: debug lines too).",
            **common,
        ),
        click.Option(
            ["--log-file", "log_file"],
            metavar="PATH",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Also append log lines here, each with its UTC time and the run's id.",
            **common,
        ),
        click.Option(
            ["--debug", "debug"],
            is_flag=True,
            help="Print engage's debug log on stderr, with the traceback of an unexpected error.",
            **common,
        ),
    ]


def start_run(ctx: click.Context) -> RunOptions:
    """Set up the run's logging from its options (once), and log that it started.

    Raises:
        click.BadParameter: the log file cannot be opened.
    """
    options = run_options(ctx)
    if options.started:
        return options
    options.started = True
    try:
        logs.configure(
            options.run_id,
            verbosity=options.verbose,
            quiet=options.quiet,
            log_file=options.log_file,
            debug=options.debug,
        )
    except OSError as exc:
        raise click.BadParameter(
            f"cannot write to it: {exc.strerror or exc}", ctx, param_hint="'--log-file'"
        ) from None
    ctx.call_on_close(logs.close)
    if options.config is not None and hasattr(ctx.obj, "config_option"):
        ctx.obj.config_option = options.config
    log.info("started: %s (engage %s, pid %d)", ctx.command_path, _version(), os.getpid())
    for warning in options.warnings:  # found while the options were read
        log.warning("%s", warning)
    return options


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("engage-core")
    except PackageNotFoundError:
        return "unknown"


def _started(command: click.Command) -> None:
    callback = command.callback
    if callback is None:
        return

    @wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        start_run(click.get_current_context())
        began = time.monotonic()
        try:
            result = callback(*args, **kwargs)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
            log.info("ended: exit %d in %.1f s", code, time.monotonic() - began)
            raise
        log.info("ended: exit 0 in %.1f s", time.monotonic() - began)
        return result

    command.callback = run


class EngageGroup(click.Group):
    """A group whose global options every command accepts too, and whose commands show
    examples after their help (from :data:`EXAMPLES`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(global_params())

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Add ``cmd`` with its own copy of the global options and its examples."""
        taken = {opt for param in cmd.params for opt in getattr(param, "opts", ())}
        for param in global_params():
            if not taken & set(getattr(param, "opts", ())):
                cmd.params.append(param)
        examples = EXAMPLES.get(name or cmd.name or "")
        if examples and not cmd.epilog:
            cmd.epilog = examples_text(examples)
        _started(cmd)
        super().add_command(cmd, name)


def examples_text(examples: Sequence[tuple[str, str]]) -> str:
    """An epilog listing ``(command, what it does)`` pairs, kept as written by click."""
    lines = ["\b", "Examples:"]
    for command, what in examples:
        lines.append(f"  {command}")
        lines.append(f"      {what}")
    return "\n".join(lines)


#: Two or three real uses of each command, shown after its ``--help``.
EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "": (
        ("engage init && engage check", "write a starter config, then see how engage reads it"),
        ("engage sync --dry-run", "pull and plan, push nothing"),
        ("engage health -c /srv/engage/engage.toml", "who needs attention, and why"),
    ),
    "init": (
        ("engage init", "write ./engage.toml to edit"),
        ("engage init -c ~/crm/engage.toml --force", "write (or overwrite) it elsewhere"),
    ),
    "check": (
        ("engage check", "every source: mapping, first rows, problems, verdict"),
        ("engage check files --rows 5", "one source, five rows"),
        ("engage check --format json | jq '.sources[].verdict'", "the verdicts, for a script"),
    ),
    "sync": (
        ("engage sync --dry-run", "pull and plan, push nothing"),
        ("engage sync -q --log-file /var/log/engage/sync.log", "for cron: errors only"),
        ("engage sync --sources 'mail_*' --no-push", "pull the mailboxes only; plan later"),
    ),
    "push": (
        ("engage push", "plan and push what the runners pulled"),
        ("engage push --dry-run --json | jq .tasks_planned", "plan only, for a look"),
    ),
    "health": (
        ("engage health", "every customer, worst first"),
        ('engage health --customer "Acme Logistics"', "one customer (key, name or its start)"),
        ("engage health --format tsv > health.tsv", "every column, for a spreadsheet"),
    ),
    "tasks": (
        ("engage tasks", "the open follow-ups, most urgent first"),
        ("engage tasks --customer acme", "one customer's (key, name or its start)"),
        ("engage tasks --format json | jq -r '.[].title'", "the titles, for a script"),
    ),
    "report": (
        ("engage report", "write report.html"),
        ("engage report -o /var/www/engage/report.html --all", "every customer a section"),
    ),
    "plugins": (
        ("engage plugins", "installed adapters and what they register"),
        ("engage plugins --all --format json", "the built-ins too, for a script"),
    ),
    "demo": (
        ("engage demo", "the whole cycle on a sample, in a temporary directory"),
        ("engage demo --keep demo", "keep the store, config, tasks and report in ./demo"),
    ),
    "timeline": (
        ('engage timeline "Acme Logistics"', "every touchpoint, oldest first, then open tasks"),
        ("engage timeline acme --since 2026-01-01", "this year's"),
    ),
}


def format_option(*, tsv: bool = False) -> Callable[[F], F]:
    """``--format table|json`` (``|tsv`` with ``tsv``) and ``--json``: the command gets
    ``as_json``; :func:`chosen_format` says whether TSV was asked for."""
    choices = ["table", "tsv", "json"] if tsv else ["table", "json"]

    def decorate(command: F) -> F:
        @wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            chosen = kwargs.pop("output_format") or ("json" if kwargs.get("as_json") else "table")
            click.get_current_context().meta[_FORMAT] = chosen
            kwargs["as_json"] = chosen == "json"
            return command(*args, **kwargs)

        decorated = click.option(
            "--format",
            "output_format",
            type=click.Choice(choices),
            default=None,
            help=f"Output as {', '.join(choices)} (default table; piped tables are plain text "
            "$COLUMNS wide).",
        )(wrapper)
        decorated = click.option(
            "--json", "as_json", is_flag=True, help="Print JSON (as --format json)."
        )(decorated)
        return decorated  # type: ignore[return-value]

    return decorate


def chosen_format() -> Format:
    """The format the running command was asked for."""
    chosen: Format = click.get_current_context().meta.get(_FORMAT, "table")
    return chosen
