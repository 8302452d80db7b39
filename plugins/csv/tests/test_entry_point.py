"""The plugin is installed under the engage entry point and registers "csv" through the hooks."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import pluggy

import engage.hookspecs
import engage_csv
from engage_csv import CsvSink, CsvSource


def test_entry_point_names_the_package() -> None:
    """The engage group has csv = engage_csv."""
    [ep] = [ep for ep in entry_points(group="engage") if ep.name == "csv"]
    assert ep.value == "engage_csv"
    assert ep.load() is engage_csv


def test_hook_engage_register_sources_and_sinks_register_csv() -> None:
    """Loaded through its entry point, the plugin registers "csv" as a source and a sink."""
    pm = pluggy.PluginManager("engage")
    pm.add_hookspecs(engage.hookspecs)
    assert pm.load_setuptools_entrypoints("engage", name="csv") == 1
    sources: dict[str, Any] = {}
    sinks: dict[str, Any] = {}
    pm.hook.engage_register_sources(register=sources.__setitem__)
    pm.hook.engage_register_sinks(register=sinks.__setitem__)
    assert sources == {"csv": CsvSource}
    assert sinks == {"csv": CsvSink}
    pm.check_pending()
