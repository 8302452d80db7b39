"""The sinks of engage-gmail: ``gmail`` (draft follow-ups) and ``gtasks`` (Google Tasks)."""

from __future__ import annotations

from engage_gmail.drafts import GmailDraftsSink
from engage_gmail.gtasks import GoogleTasksSink

__all__ = ["GmailDraftsSink", "GoogleTasksSink"]
