"""engage demo: the whole cycle on the bundled sample, exercising every rule."""

from __future__ import annotations

import json
import re
import shlex
import tempfile
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


def _suggested(stdout: str) -> list[list[str]]:
    """The engage commands the demo's last lines suggest, as argument lists."""
    return [
        shlex.split(line.strip())[1:]
        for line in stdout.splitlines()
        if line.startswith("  engage ") and "--keep" not in line
    ]


def test_the_commands_the_demo_suggests_show_what_it_showed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's suggested health and tasks commands carry its moment: Acme's score and the
    number of tasks are the ones the demo printed, and the kept config names the moment."""
    monkeypatch.setenv("ENGAGE_LOAD_PLUGINS", "csv")
    monkeypatch.delenv("ENGAGE_AS_OF", raising=False)
    monkeypatch.chdir(tmp_path)
    shown = CliRunner().invoke(cli, ["demo", "--keep", "demo"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    acme = next(line for line in shown.stdout.splitlines() if "acme-logistics.com" in line)
    score = int(acme.split()[3])  # customer name (2 words), key, score
    count = int(re.search(r"(\d+) follow-up tasks", shown.stdout).group(1))  # type: ignore[union-attr]
    health, tasks = _suggested(shown.stdout)
    assert "--as-of" in health and "--as-of" in tasks
    one = CliRunner().invoke(cli, [*health, "--json"])
    assert one.exit_code == 0, one.output
    assert [h["score"] for h in json.loads(one.stdout)] == [score]
    planned = CliRunner().invoke(cli, [*tasks, "--json"])
    assert len(json.loads(planned.stdout)) == count
    kept = (tmp_path / "demo" / "engage.toml").read_text()
    assert "2026-11-02T09:00:00Z" in kept.split("store =")[0]  # the moment, in the comment
    # ENGAGE_AS_OF (named in the config and the output) stands in for --as-of
    at = health.index("--as-of")
    bare = health[:at] + health[at + 2 :]
    same = CliRunner().invoke(cli, [*bare, "--json"], env={"ENGAGE_AS_OF": "2026-11-02T09:00:00Z"})
    assert [h["score"] for h in json.loads(same.stdout)] == [score]
    assert "from $ENGAGE_AS_OF" in same.stderr


def test_the_demo_names_no_path_it_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --keep the working directory is removed, and no path the demo prints is gone."""
    monkeypatch.setenv("ENGAGE_LOAD_PLUGINS", "csv")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile.tempdir = None  # read TMPDIR again
    try:
        shown = CliRunner().invoke(cli, ["demo"], env={"COLUMNS": "200"})
    finally:
        tempfile.tempdir = None
    assert shown.exit_code == 0, shown.output
    named = re.findall(re.escape(str(tmp_path)) + r"[^\s:,)]*", shown.stdout)
    assert all(Path(path).exists() for path in named), named
    assert "removed" in shown.stdout and "--keep" in shown.stdout
