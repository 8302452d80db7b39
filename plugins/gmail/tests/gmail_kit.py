"""Helpers for the gmail source tests: build a source against the fake, pull it to the end."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
from fake_gmail import FakeGmail
from fake_oauth import write_credentials

from engage.adapters import (
    AdapterContext,
    Checkpoint,
    Problem,
    Progress,
    SourceItem,
    resolve_options,
)
from engage.http import RetryPolicy
from engage.identity import Identity
from engage.models import Touchpoint
from engage_gmail.gmail_api import QuotaLimiter
from engage_gmail.sources import GmailSource

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.005, max_retry_after=0.01)
OURS = Identity.for_domains(["ourco.com"])


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
    """An adapter context rooted at ``tmp_path`` with a fixed clock."""
    return AdapterContext(
        name,
        base_dir=tmp_path,
        identity=identity,
        progress=progress or Recorder(),
        now=lambda: NOW,
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


@attrs.define
class Pulled:
    """Everything one pull yielded, split by kind."""

    items: list[SourceItem]
    cursor: str | None

    @property
    def touchpoints(self) -> list[Touchpoint]:
        return [i for i in self.items if isinstance(i, Touchpoint)]

    @property
    def problems(self) -> list[str]:
        return [i.message for i in self.items if isinstance(i, Problem)]

    @property
    def checkpoints(self) -> list[str]:
        return [i.cursor for i in self.items if isinstance(i, Checkpoint)]

    def by_kind(self, kind: type) -> list[Any]:
        return [i for i in self.items if isinstance(i, kind)]


def pull(source: GmailSource, cursor: str | None = None) -> Pulled:
    """Run a pull to its end; the cursor is the last checkpoint's (or the given one)."""
    items = list(source.pull(cursor))
    last = cursor
    for item in items:
        if isinstance(item, Checkpoint):
            last = item.cursor
    return Pulled(items, last)


def pull_until_error(source: GmailSource, cursor: str | None = None) -> tuple[Pulled, Exception]:
    """Run a pull that must fail; what was checkpointed before the failure, and the error."""
    items: list[SourceItem] = []
    last = cursor
    try:
        for item in source.pull(cursor):
            items.append(item)
            if isinstance(item, Checkpoint):
                last = item.cursor
    except Exception as exc:
        return Pulled(items, last), exc
    raise AssertionError("the pull did not fail")


def ids(touchpoints: Iterable[Touchpoint]) -> list[str]:
    """External ids, sorted."""
    return sorted(t.external_id for t in touchpoints)
