"""engage-ics: meetings from iCalendar (.ics) files (source ``ics``).

This module holds only the hook implementation; the source lives in :mod:`engage_ics.source`.
"""

from __future__ import annotations

from engage.hookspecs import RegisterSource, hookimpl
from engage_ics.source import IcsSource

__all__ = ["IcsSource", "engage_register_sources"]


@hookimpl
def engage_register_sources(register: RegisterSource) -> None:
    """Make :class:`IcsSource` available as ``plugin = "ics"``."""
    register("ics", IcsSource)
