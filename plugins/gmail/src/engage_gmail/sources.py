"""The ``gmail`` source: the Gmail API, or Google Takeout mbox files (work in progress)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from engage.adapters import AdapterContext, Option, SourceItem
from engage_gmail.auth import CREDENTIAL_OPTIONS


class GmailSource:
    """Reads a Gmail mailbox (API) or Takeout mbox files into touchpoints."""

    options: ClassVar[Mapping[str, Option]] = {**CREDENTIAL_OPTIONS}

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        self._options = dict(options)
        self._context = context

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        """Yield touchpoints since ``cursor``."""
        return iter(())
