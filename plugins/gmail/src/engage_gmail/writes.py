"""What both Google sinks share: credentials, HTTP clients, error translation, safe creates.

Reads (lists, gets) and idempotent writes (a patch) go through an ordinary retrying
:class:`~engage.http.HttpClient`. A *create* is not idempotent: a POST that timed out or got
a 5xx may have landed, and sending it again could make a second draft or task. So creates go
through :meth:`GoogleSink.create_once`, which sends each POST once per try. After a 5xx or
a closed connection (the request is over) it looks for the object before trying again.
After a read timeout the request may still be in flight and land later, where a look now
would miss it: the create is not sent again in this run (:class:`MayLand`), and the next
run looks for the object before creating it. Rejections that certainly created
nothing (429, a rate-limit 403) are simply retried after a backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import requests

from engage.adapters import AdapterContext
from engage.errors import RetriableSinkError, SinkError
from engage.http import (
    AuthError,
    Backoff,
    HttpClient,
    HttpError,
    RetriesExhausted,
    RetryPolicy,
    retry_after,
)
from engage_gmail import rules
from engage_gmail.auth import google_client, load_credentials

PENDING = "The task stays pending: the next run looks for it before creating it again."
#: The network fault of a request that may still be in flight: sent, then no answer in time
#: (``requests.ReadTimeout``). A connection the server closed or refused is over: looked for.
_IN_FLIGHT = ("ReadTimeout",)


class MayLand(HttpError):
    """A create got no answer before the read timeout: it may still land.

    It is not sent again in this run, since a look now could miss it still in flight; the
    task fails this run, and the next run looks for it before creating it.
    """


def short_scope(scope: str) -> str:
    """``gmail.compose`` for ``https://www.googleapis.com/auth/gmail.compose``."""
    return scope.rsplit("/", 1)[-1]


class GoogleSink:
    """Base of the Google sinks: two clients over one set of credentials, and error rules.

    Args:
        options: The table's resolved options (credentials and ``base_url``).
        context: The adapter context.
        api: The API's name in messages (``Gmail``).
        scopes: The scopes the sink needs, for the token and for messages.
        retry: The retry budget (tests pass tiny delays).
        sleep: How to wait between tries.
    """

    def __init__(
        self,
        options: Mapping[str, Any],
        context: AdapterContext,
        *,
        api: str,
        scopes: Sequence[str],
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.context = context
        self.where = context.table("sinks")
        self.scopes = tuple(scopes)
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        credentials = load_credentials(options, context, self.scopes, self.where)
        base_url = str(options["base_url"])
        self.reader: HttpClient = google_client(
            credentials, base_url, name=api, where=self.where, retry=self.retry
        )
        self.reader.sleep = sleep
        self.writer: HttpClient = google_client(
            credentials,
            base_url,
            name=api,
            where=self.where,
            retry=RetryPolicy(attempts=1),
            classify=self._remember_retry_after,
        )
        self._asked: float | None = None

    def _remember_retry_after(
        self, response: requests.Response, attempt: int
    ) -> float | Backoff | None:
        self._asked = retry_after(response)
        return rules.classify(response, attempt)

    def pages(
        self, path: str, params: Mapping[str, Any], field: str = "items"
    ) -> Iterator[dict[str, Any]]:
        """The ``field`` entries of every page of a Google list call (``pageToken`` paging)."""
        token: str | None = None
        seen: set[str] = set()
        while True:
            page = self.reader.get_json(path, params={**params, "pageToken": token}) or {}
            yield from page.get(field) or []
            token = page.get("nextPageToken")
            if not token or token in seen:
                return
            seen.add(token)

    @contextmanager
    def translated(self, doing: str) -> Iterator[None]:
        """Turn HTTP failures while ``doing`` something into sink errors naming the table."""
        try:
            yield
        except rules.ScopeMissing as exc:
            needed = ", ".join(short_scope(s) for s in self.scopes)
            text = f"{exc} (this sink needs the scopes: {needed})"
            raise SinkError(self._named(doing, text)) from None
        except HttpError as exc:
            kind = RetriableSinkError if exc.retriable else SinkError
            raise kind(self._named(doing, str(exc))) from None

    def _named(self, doing: str, text: str) -> str:
        return text if text.startswith(self.where) else f"{self.where}: {doing}: {text}"

    def create_once(
        self, what: str, send: Callable[[], str], recover: Callable[[], str | None]
    ) -> str:
        """Create one remote object and return its id, never creating it twice.

        Args:
            what: The object, for messages (``draft for task K``).
            send: Sends the create once (through :attr:`writer`) and returns the new id.
            recover: Looks for the object an ambiguous earlier try may have created.

        Raises:
            HttpError: the API rejected the object itself (a 400): nothing was created.
            MayLand: a try got no answer and may land late (an :class:`HttpError` too).
            SinkError: the credentials were refused.
            RetriableSinkError: every try failed; the object may exist, so the task must stay
                pending and the next run looks for it first.
        """
        ambiguous = False
        last = "no answer"
        for attempt in range(self.retry.attempts):
            if ambiguous:
                try:
                    found = recover()
                except AuthError:
                    with self.translated(f"looking for the {what} after a failed create"):
                        raise
                except HttpError as exc:
                    raise RetriableSinkError(
                        f"{self.where}: creating the {what}: an earlier try may have landed, and "
                        f"looking for it failed: {_last(exc)}. {PENDING}"
                    ) from None
                if found is not None:
                    return found
            self._asked = None
            try:
                return send()
            except AuthError:
                with self.translated(f"creating the {what}"):
                    raise
            except RetriesExhausted as exc:  # one try, retriable: 429, rate-limit 403, 5xx, network
                last = _last(exc)
                if exc.status is None and last.endswith(_IN_FLIGHT):
                    raise MayLand(
                        f"{self.where}: creating the {what}: {last}: it may have landed (or "
                        "still land); not sent again in this run, the next run looks for it "
                        "before creating it"
                    ) from None
                ambiguous = ambiguous or exc.status is None or exc.status >= 500
            if attempt + 1 < self.retry.attempts:
                asked = self._asked
                self.sleep(
                    min(asked, self.retry.max_retry_after)
                    if asked is not None
                    else self.retry.backoff(attempt)
                )
        raise RetriableSinkError(
            f"{self.where}: creating the {what} failed {self.retry.attempts} times; last: {last}. {PENDING}"
        )


def _last(exc: HttpError) -> str:
    """What an HTTP failure was, without the client's own advice (which assumes a read)."""
    return str(exc).split("; last: ", 1)[-1].split(". Nothing was changed", 1)[0]
