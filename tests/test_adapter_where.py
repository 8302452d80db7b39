"""An adapter's configuration errors name the config file and the table, as core's do."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from engage.adapters import AdapterContext
from engage.cli import cli

pytest.importorskip("engage_csv", reason="the adapter whose options are checked is the CSV one")

CONFIG = """
store = "engage.db"

[sources.files]
plugin = "csv"
path = "interactions.csv"
values = { channel = { "Task" = "nonsense" } }
"""


def test_a_bad_adapter_option_names_the_file_and_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """engage sync builds adapters with the table's place: the file path comes first."""
    config = tmp_path / "team.toml"
    config.write_text(CONFIG)
    (tmp_path / "interactions.csv").write_text("occurred_at,email\n2026-01-01,a@b.com\n")
    monkeypatch.setenv("ENGAGE_LOAD_PLUGINS", "csv")
    result = CliRunner().invoke(cli, ["--config", str(config), "sync"])
    assert result.exit_code != 0
    assert f"{config}: [sources.files]: values['channel']" in result.stderr


def test_an_adapter_built_in_code_names_its_table() -> None:
    """Without a config file, the table alone: [sources.NAME] or [sinks.NAME]."""
    context = AdapterContext(name="files")
    assert context.table("sources") == "[sources.files]"
    assert AdapterContext(name="x", where="a.toml: [sinks.x]").table("sinks") == "a.toml: [sinks.x]"
