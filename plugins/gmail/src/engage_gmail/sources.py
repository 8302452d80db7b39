"""The ``gmail`` source: a mailbox through the Gmail API, or Google Takeout mbox files.

Exactly one of ``credentials_file`` (or the variable named by ``credentials_env``) and
``mbox`` says where the mail is. Both ways map messages the same way
(:mod:`engage_gmail.mapping`); see :mod:`engage_gmail.api_reader` and
:mod:`engage_gmail.takeout` for how each reads incrementally.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import ClassVar

from engage.adapters import AdapterContext, Checkpoint, SourceItem
from engage.errors import ConfigError
from engage.http import RetryPolicy
from engage.preview import PreviewItem, PreviewRow
from engage_gmail.api_reader import ApiReader
from engage_gmail.auth import SCOPE_METADATA, SCOPE_READONLY, google_client, load_credentials
from engage_gmail.gmail_api import GmailApi, QuotaLimiter
from engage_gmail.options import DEFAULT_CREDENTIALS_ENV, SourceOptions
from engage_gmail.takeout import TakeoutReader


class GmailSource:
    """Every customer conversation in a mailbox as touchpoints (Gmail API or Takeout mbox).

    Args:
        options: The table's keys, built and checked by engage.
        context: The adapter's context.
        retry: The HTTP retry budget (tests pass tiny delays).
        quota: The per-user quota limiter (tests may pass a smaller one).
    """

    options: ClassVar[type[SourceOptions]] = SourceOptions

    def __init__(
        self,
        options: SourceOptions,
        context: AdapterContext,
        *,
        retry: RetryPolicy | None = None,
        quota: QuotaLimiter | None = None,
    ) -> None:
        self.context = context
        where = context.table("sources")
        owner = options.mailbox_owner
        env_name = options.credentials_env or DEFAULT_CREDENTIALS_ENV
        self._reader: ApiReader | TakeoutReader
        if options.mbox:
            self._reader = TakeoutReader(
                options.mbox,
                context,
                owner,
                options.checkpoint_every,
                settle_seconds=options.settle_seconds,
            )
            return
        if not options.credentials_file and not context.env.get(env_name):
            raise ConfigError(
                f"{where}: say where the mail is: credentials_file (or the variable {env_name}) "
                "for the Gmail API, or mbox for Google Takeout files"
            )
        credentials = load_credentials(options, context, [SCOPE_READONLY], where)
        policy = retry or RetryPolicy()
        client = google_client(
            credentials, options.base_url, name="Gmail", where=where, retry=policy
        )
        api = GmailApi(client, quota, retry=policy)
        self._reader = ApiReader(
            api, context, options.lookback_days, owner.lower() if owner else None
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
