"""The ``gmail`` source: a mailbox through the Gmail API, or Google Takeout mbox files.

Exactly one of ``credentials_file`` (or the variable named by ``credentials_env``) and
``mbox`` says where the mail is. Both ways map messages the same way
(:mod:`engage_gmail.mapping`); see :mod:`engage_gmail.api_reader` and
:mod:`engage_gmail.takeout` for how each reads incrementally.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from engage.adapters import AdapterContext, Checkpoint, Option, SourceItem, http_url
from engage.errors import ConfigError
from engage.http import RetryPolicy
from engage.preview import PreviewItem, PreviewRow
from engage_gmail.api_reader import ApiReader
from engage_gmail.auth import (
    CREDENTIAL_OPTIONS,
    DEFAULT_CREDENTIALS_ENV,
    SCOPE_METADATA,
    SCOPE_READONLY,
    google_client,
    load_credentials,
)
from engage_gmail.gmail_api import GmailApi, QuotaLimiter
from engage_gmail.takeout import TakeoutReader

GMAIL_URL = "https://gmail.googleapis.com"


class GmailSource:
    """Every customer conversation in a mailbox as touchpoints (Gmail API or Takeout mbox).

    Args:
        options: The resolved options of the config table.
        context: The adapter's context.
        retry: The HTTP retry budget (tests pass tiny delays).
        quota: The per-user quota limiter (tests may pass a smaller one).
    """

    options: ClassVar[Mapping[str, Option]] = {
        **CREDENTIAL_OPTIONS,
        "base_url": Option(str, GMAIL_URL, help="Gmail API root URL", check=http_url),
        "lookback_days": Option(
            int, 365, help="how many days of mail the first sync reads", minimum=1
        ),
        "mbox": Option(str, help="Takeout mbox file or glob to read instead of the API"),
        "mailbox_owner": Option(
            str, help="the mailbox owner's address (default: profile, or the Sent mail's sender)"
        ),
        "checkpoint_every": Option(
            int,
            500,
            help="mbox messages between checkpoints (the API checkpoints every batch)",
            minimum=1,
        ),
        "settle_seconds": Option(
            int,
            60,
            help="mbox: seconds a file must be unchanged before a last message that does not "
            "end with an empty line counts as complete",
            minimum=0,
        ),
    }

    def __init__(
        self,
        options: Mapping[str, Any],
        context: AdapterContext,
        *,
        retry: RetryPolicy | None = None,
        quota: QuotaLimiter | None = None,
    ) -> None:
        self.context = context
        where = context.table("sources")
        owner = options.get("mailbox_owner")
        mbox = options.get("mbox")
        env_name = options.get("credentials_env") or DEFAULT_CREDENTIALS_ENV
        if mbox and options.get("credentials_file"):
            raise ConfigError(
                f"{where}: set either credentials_file (Gmail API) or mbox (Takeout files), not both"
            )
        if options.get("lookback_days", 365) < 1:
            raise ConfigError(f"{where}: lookback_days must be at least 1")
        self._reader: ApiReader | TakeoutReader
        if mbox:
            self._reader = TakeoutReader(
                mbox,
                context,
                owner,
                int(options.get("checkpoint_every") or 500),
                settle_seconds=int(options.get("settle_seconds", 60)),
            )
            return
        if not options.get("credentials_file") and not context.env.get(env_name):
            raise ConfigError(
                f"{where}: say where the mail is: credentials_file (or the variable {env_name}) "
                "for the Gmail API, or mbox for Google Takeout files"
            )
        credentials = load_credentials(options, context, [SCOPE_READONLY], where)
        policy = retry or RetryPolicy()
        client = google_client(
            credentials,
            options.get("base_url") or GMAIL_URL,
            name="Gmail",
            where=where,
            retry=policy,
        )
        api = GmailApi(client, quota, retry=policy)
        self._reader = ApiReader(
            api, context, int(options.get("lookback_days") or 365), owner.lower() if owner else None
        )

    @property
    def counts(self) -> Counter[str]:
        """What the last pull read and skipped (``messages``, ``skipped automated``...)."""
        return self._reader.counts

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        """Yield records since ``cursor`` (None on the first sync), with checkpoints."""
        return self._reader.pull(cursor)

    def preview(self) -> Iterator[PreviewItem]:
        """What ``engage check`` shows (:mod:`engage.preview`), writing nothing.

        mbox files: the header map, one row per message (``FILE: byte N``, with its headers)
        and file problems. The Gmail API: one row per item of a first pull (nothing is
        written there either; the API is only read).
        """
        if isinstance(self._reader, TakeoutReader):
            yield from self._reader.preview()
            return
        number = 0
        for item in self._reader.pull(None):
            if isinstance(item, Checkpoint):
                continue
            number += 1
            yield PreviewRow(f"record {number}", (item,))


__all__ = ["SCOPE_METADATA", "SCOPE_READONLY", "GmailSource"]
