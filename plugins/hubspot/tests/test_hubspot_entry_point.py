"""The installed distribution registers source and sink ``hubspot`` through its entry point."""

from __future__ import annotations

import json

from click.testing import CliRunner

from engage.cli import cli


def test_engage_plugins_lists_engage_hubspot_as_source_and_sink(monkeypatch: object) -> None:
    """`engage plugins --json` shows engage-hubspot with a source and a sink named hubspot."""
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.stderr
    text = json.dumps(json.loads(result.stdout))
    assert "engage-hubspot" in text and '"hubspot"' in text
