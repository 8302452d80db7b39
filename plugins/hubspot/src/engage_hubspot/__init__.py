"""engage-hubspot: HubSpot as a source (``plugin = "hubspot"``) and as a sink for follow-up tasks.

This module holds only the hook implementations; the adapters live in
:mod:`engage_hubspot.source` and :mod:`engage_hubspot.sink`.
"""

from __future__ import annotations

from engage.hookspecs import RegisterSink, RegisterSource, hookimpl
from engage_hubspot.sink import HubSpotSink
from engage_hubspot.source import HubSpotSource

__all__ = ["HubSpotSink", "HubSpotSource", "engage_register_sinks", "engage_register_sources"]


@hookimpl
def engage_register_sources(register: RegisterSource) -> None:
    """Make :class:`HubSpotSource` available as ``plugin = "hubspot"``."""
    register("hubspot", HubSpotSource)


@hookimpl
def engage_register_sinks(register: RegisterSink) -> None:
    """Make :class:`HubSpotSink` available as ``plugin = "hubspot"``."""
    register("hubspot", HubSpotSink)
