"""An adapter's configuration errors name the config file and the table, as core's do."""

from __future__ import annotations

from pathlib import Path

import pytest

from engage.adapters import AdapterContext
from engage.testing import Project

pytest.importorskip("engage_csv", reason="the adapter whose options are checked is the CSV one")

CONFIG = """
store = "engage.db"

[sources.files]
plugin = "csv"
path = "interactions.csv"
values = { channel = { "Task" = "nonsense" } }
"""


def test_a_bad_adapter_option_names_the_file_and_the_table(tmp_path: Path) -> None:
    """engage sync builds adapters with the table's place: the file path comes first."""
    project = Project(tmp_path, plugins=("csv",))
    config = project.write("team.toml", CONFIG)
    project.write("interactions.csv", "occurred_at,email\n2026-01-01,a@b.com\n")
    run = project.run("--config", str(config), "sync")
    assert run.code != 0
    assert f"{config}: [sources.files]: values['channel']" in run.stderr


def test_an_adapter_built_in_code_names_its_table() -> None:
    """Without a config file, the table alone: [sources.NAME] or [sinks.NAME]."""
    context = AdapterContext(name="files")
    assert context.table("sources") == "[sources.files]"
    assert AdapterContext(name="x", where="a.toml: [sinks.x]").table("sinks") == "a.toml: [sinks.x]"
