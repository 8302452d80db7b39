"""``engage demo``: the whole cycle on a bundled sample, in a temporary directory.

The sample (``interactions.csv``, written by ``scripts/make_demo_data.py``) is eighteen months
of a small consultancy's email, calls, meetings and feedback with about forty customers. It
is read by the CSV adapter, exactly as a team's own export would be.
"""

from __future__ import annotations

import json
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


def demo_config(sample: Path, workdir: Path) -> Config:
    """The demo's configuration: the sample as a CSV source, a CSV file as the task sink."""
    text = DEMO_TOML.format(sample=json.dumps(str(sample)))
    path = workdir / "engage.toml"
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
    with as_file(resource) as sample, _workdir(keep) as workdir:
        config = demo_config(sample, workdir)
        store = open_store(config.store)
        try:
            echo = click.echo
            echo(
                f"engage demo: a consultancy's last 18 months, evaluated as of {moment:%Y-%m-%d %H:%M} UTC\n"
            )
            with output.progress_bars() as progress:
                report = run_sync(config, registry, store, as_of=moment, progress=progress, pm=pm)
            output.print_sync(report)
            engine = Engine(
                store=store,
                factors=[r.value for r in registry.factors.values()],
                rules=[r.value for r in registry.rules.values()],
                settings=config.scoring,
                identity=config.identity,
            )
            echo("")
            output.print_health(list(engine.health(moment)))
            echo("")
            output.print_tasks(engine.tasks(moment))
            again = run_sync(config, registry, store, as_of=moment, pm=pm)
            sink = again.sinks[0]
            echo(
                f"\nRan the sync again: {sink.pushed} pushed, {sink.already_pushed} already pushed "
                "(the ledger never pushes a task twice)."
            )
            where = workdir / "follow-ups.csv"
            echo(
                f"Tasks were written to {where}"
                + ("" if keep else " (a temporary file; use --keep DIR to keep it)")
            )
            echo(_write_demo_report(engine, config, moment, keep))
            echo(
                "Try: engage demo --keep demo && engage --config demo/engage.toml health --customer acme-logistics.com"
            )
        finally:
            store.close()


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
