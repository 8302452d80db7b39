"""engage demo: the whole cycle on the bundled sample, exercising every rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engage.cli import App, cli
from engage.plugins import make_plugin_manager
from tests.test_plugins import BUILTIN_RULES

pytest.importorskip("engage_csv", reason="the demo reads its sample with the CSV adapter")


def test_demo_runs_the_whole_cycle_and_every_rule_fires(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sample has healthy and cooling customers, and every playbook rule fires somewhere."""
    monkeypatch.setenv("ENGAGE_LOAD_PLUGINS", "csv")  # the CSV adapter through its entry point
    keep = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--keep", str(keep)])
    assert result.exit_code == 0, result.output
    assert "40 customers" in result.stdout
    assert "Ran the sync again: 0 pushed" in result.stdout
    tasks = CliRunner().invoke(
        cli,
        [
            "--config",
            str(keep / "engage.toml"),
            "tasks",
            "--json",
            "--as-of",
            "2026-11-02T09:00:00Z",
        ],
    )
    assert {t["rule"] for t in json.loads(tasks.stdout)} == BUILTIN_RULES
    health = CliRunner().invoke(
        cli,
        [
            "--config",
            str(keep / "engage.toml"),
            "health",
            "--json",
            "--as-of",
            "2026-11-02T09:00:00Z",
        ],
    )
    bands = {h["band"] for h in json.loads(health.stdout)}
    assert bands == {"healthy", "watch", "at_risk"}


def test_demo_without_the_csv_adapter_says_what_to_install() -> None:
    """With no adapter installed the core still runs, and the demo names what it needs."""
    result = CliRunner().invoke(
        cli, ["demo"], obj=App(None, pm=make_plugin_manager(entry_points=False))
    )
    assert result.exit_code == 78  # needs a person: install the adapter
    assert "install it: pip install ./plugins/csv" in result.stderr
