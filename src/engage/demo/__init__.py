"""``engage demo``: the whole cycle on a bundled sample, in a temporary directory.

The sample (``interactions.csv``, written by ``scripts/make_demo_data.py``) is eighteen months
of a small consultancy's email, calls, meetings and feedback with about forty customers. It
is read by the CSV adapter, exactly as a team's own export would be.

The demo tells one story at one moment: the sample's "today", :data:`DEMO_AS_OF` (or
``--as-of``). The commands it suggests carry that moment (``--as-of``), and so does the
config ``--keep`` writes (as a comment, with ``ENGAGE_AS_OF``), so they show what the demo
showed rather than the sample seen from the real today.
"""

from __future__ import annotations

import json
import shlex
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import click

from engage import output
from engage.config import Config
from engage.engine import Engine
from engage.errors import PluginError
from engage.plugins import Registry
from engage.store import open_store
from engage.sync import run_sync

#: The sample's "today": its last touchpoints are from the days before.
DEMO_AS_OF = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


DEMO_TOML = """\
# Written by 'engage demo --keep': the demo's configuration, to explore with other commands.
#
# The demo evaluated the sample as of {moment} (its "today"). Seen from another moment,
# the same data gives other scores and tasks, so give each command that moment:
#   engage health -c {config} --as-of {moment}
# or set it once for the shell: export ENGAGE_AS_OF={moment}
store = "engage.db"
internal_domains = ["brightpath.io"]
fallback_owner = "alice@brightpath.io"

[sources.demo]
plugin = "csv"
path = {sample}

[sinks.follow_ups]
plugin = "csv"
path = "follow-ups.csv"

[segments.enterprise]
cadence_days = 21
feedback_days = 120
"""


def iso(moment: datetime) -> str:
    """``2026-11-02T09:00:00Z``: the moment as a person types it after ``--as-of``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def demo_config(sample: Path, workdir: Path, moment: datetime = DEMO_AS_OF) -> Config:
    """The demo's configuration: the sample as a CSV source, a CSV file as the task sink;
    its comment names the demo's moment."""
    path = workdir / "engage.toml"
    text = DEMO_TOML.format(
        sample=json.dumps(str(sample)), moment=iso(moment), config=shlex.quote(str(path))
    )
    path.write_text(text, encoding="utf-8")
    return Config.load(path)


@contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="engage-demo-") as tmp:
        yield Path(tmp)


def run_demo(
    registry: Registry, *, as_of: datetime | None = None, keep: Path | None = None, pm: Any = None
) -> None:
    """Sync the sample into a fresh store, push tasks to a CSV file, show health and tasks.

    Raises:
        PluginError: the CSV adapter (engage-csv) is not installed.
    """
    if "csv" not in registry.sources or "csv" not in registry.sinks:
        raise PluginError(
            "engage demo reads its sample with the CSV adapter; install it: pip install ./plugins/csv"
        )
    moment = as_of or DEMO_AS_OF
    resource = files("engage.demo").joinpath("interactions.csv")
    echo = click.echo
    with as_file(resource) as sample, _workdir(keep) as workdir:
        config = demo_config(sample, workdir, moment)
        store = open_store(config.store)
        try:
            echo(
                "engage demo: a consultancy's last 18 months with its customers,\n"
                f"evaluated as of {moment:%Y-%m-%d %H:%M} UTC (the sample's today)\n"
            )
            with output.progress_bars() as progress:
                report = run_sync(config, registry, store, as_of=moment, progress=progress, pm=pm)
            output.print_sync(report)
            engine = Engine.from_config(store, config, registry)
            echo("")
            output.print_health(list(engine.health(moment)))
            echo("")
            planned = engine.tasks(moment)
            output.print_tasks(planned)
            again = run_sync(config, registry, store, as_of=moment, pm=pm)
            sink = again.sinks[0]
            echo(
                f"\nRan the sync again: {sink.pushed} pushed, {sink.already_pushed} already pushed "
                "(the ledger never pushes a task twice)."
            )
            echo(_write_demo_report(engine, config, moment, keep))
            echo(_where_to_go_on(keep, moment, len(planned)))
        finally:
            store.close()


def _where_to_go_on(keep: Path | None, moment: datetime, tasks: int) -> str:
    """What the demo left, and the commands that show the same as it did (at its moment)."""
    at = iso(moment)
    if keep is None:
        return (
            f"The {tasks} tasks went to follow-ups.csv in a temporary directory, removed\n"
            "now with the store. To keep them and go on from the demo's moment:\n"
            "  engage demo --keep demo\n"
            f"  engage health -c demo/engage.toml --as-of {at} --customer acme"
        )
    config = shlex.quote(str(keep / "engage.toml"))
    return (
        f"Kept in {keep}: engage.toml, engage.db and follow-ups.csv ({tasks} tasks).\n"
        f"Go on from the demo's moment, {moment:%Y-%m-%d %H:%M} UTC (without --as-of,\n"
        "engage evaluates as of now, and the scores and tasks move on):\n"
        f"  engage health -c {config} --as-of {at} --customer acme\n"
        f"  engage tasks -c {config} --as-of {at}\n"
        f"or for every command in this shell: export ENGAGE_AS_OF={at}"
    )


def _write_demo_report(engine: Engine, config: Config, moment: datetime, keep: Path | None) -> str:
    """Write the HTML report beside the kept store, or in a directory of its own that
    outlives the demo's temporary one; say where, or what to install."""
    from engage.htmlreport import (
        INSTALL_HINT,
        ReportUnavailableError,
        check_available,
        write_report,
    )

    try:
        check_available()
    except ReportUnavailableError:
        return f"The HTML report needs the optional charting extra: {INSTALL_HINT}"
    folder = keep if keep is not None else Path(tempfile.mkdtemp(prefix="engage-demo-report-"))
    sources = [(s.name, s.plugin) for s in config.sources.values()]
    written = write_report(engine, folder / "report.html", as_of=moment, top=None, sources=sources)
    return f"The HTML report is at {written.path}: open it in a browser (engage report writes it)."
