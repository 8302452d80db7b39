"""Helpers for the gmail source tests: build a source against the fake or on mbox files.

Pull them with :class:`engage.testing.Pull` (``Pull.run(source, cursor)``,
``Pull.until_error(source)``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fake_gmail import FakeGmail
from fake_oauth import write_credentials

from engage.adapters import AdapterContext, Progress, resolve_options
from engage.http import RetryPolicy
from engage.identity import Identity
from engage.testing import OURS, adapter_context
from engage_gmail.gmail_api import QuotaLimiter
from engage_gmail.sources import GmailSource

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.005, max_retry_after=0.01)


class Recorder:
    """A progress sink that remembers what was counted."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def advance(self, what: str, count: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + count


class SizedRecorder(Recorder):
    """A progress sink that also takes totals, remembering each one it was told."""

    def __init__(self) -> None:
        super().__init__()
        self.totals: list[tuple[str, int]] = []

    def total(self, what: str, count: int) -> None:
        self.totals.append((what, count))


def context(
    tmp_path: Path,
    identity: Identity = OURS,
    name: str = "mail",
    progress: Progress | None = None,
) -> AdapterContext:
    """An adapter context rooted at ``tmp_path`` with a fixed clock (NOW) and a Recorder."""
    return adapter_context(
        name, base_dir=tmp_path, identity=identity, progress=progress or Recorder(), now=lambda: NOW
    )


def api_source(
    fake: FakeGmail,
    tmp_path: Path,
    *,
    identity: Identity = OURS,
    retry: RetryPolicy = FAST,
    quota: QuotaLimiter | None = None,
    progress: Progress | None = None,
    **given: Any,
) -> GmailSource:
    """A GmailSource on the fake API, configured as engage would from ``given`` keys."""
    creds = write_credentials(tmp_path)
    keys = {
        "credentials_file": str(creds),
        "token_uri": fake.token_uri,
        "base_url": fake.url,
        **given,
    }
    options = resolve_options(GmailSource.options, keys, "engage.toml: [sources.mail]")
    return GmailSource(
        options, context(tmp_path, identity, progress=progress), retry=retry, quota=quota
    )


def mbox_source(
    tmp_path: Path, pattern: str, *, identity: Identity = OURS, **given: Any
) -> GmailSource:
    """A GmailSource reading mbox files."""
    options = resolve_options(
        GmailSource.options, {"mbox": pattern, **given}, "engage.toml: [sources.archive]"
    )
    return GmailSource(options, context(tmp_path, identity, "archive"))
