"""Placeholder: being written."""

from __future__ import annotations


class GmailDraftsSink:
    """Placeholder."""
