"""Placeholder: being written."""

from __future__ import annotations


class GoogleTasksSink:
    """Placeholder."""
