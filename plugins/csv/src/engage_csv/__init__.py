"""engage-csv: read touchpoints from CSV files (source ``csv``) and append tasks to one (sink ``csv``).

This module holds only the hook implementations; the adapters live in :mod:`engage_csv.source`
and :mod:`engage_csv.sink`.
"""

from __future__ import annotations

from engage.hookspecs import RegisterSink, RegisterSource, hookimpl
from engage_csv.sink import CsvSink
from engage_csv.source import CsvSource

__all__ = ["CsvSink", "CsvSource", "engage_register_sinks", "engage_register_sources"]


@hookimpl
def engage_register_sources(register: RegisterSource) -> None:
    """Make :class:`CsvSource` available as ``plugin = "csv"``."""
    register("csv", CsvSource)


@hookimpl
def engage_register_sinks(register: RegisterSink) -> None:
    """Make :class:`CsvSink` available as ``plugin = "csv"``."""
    register("csv", CsvSink)
