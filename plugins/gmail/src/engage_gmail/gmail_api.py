"""A small Gmail API v1 client: profile, messages.list, history.list, and batched gets.

Every call reserves what it costs from a per-user quota of 15,000 units a minute (list 5,
get 5, attachment 5, history 2, profile 1; a batch the sum of its calls), kept by
:class:`QuotaLimiter`, so a large first sync slows down instead of being refused. The
mechanics are :mod:`engage.http`'s: failed requests are retried by its
:class:`~engage.http.HttpClient` (429, 5xx, and Google's rate-limit 403s:
:mod:`engage_gmail.rules`), and lists are read page by page with
:func:`~engage.http.paginate`. Calls that fail inside a batch are sent again by
:func:`~engage.http.retry_parts`, with the same rules. Messages are read with ``format=metadata``;
only calendar invitations are read whole (``format=full``, and ``messages.attachments.get``
for a calendar part Gmail keeps as an attachment), to date them at the meeting's start.
:attr:`GmailApi.calls` counts every call by method.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import attrs

from engage.http import (
    Answer,
    HttpClient,
    HttpError,
    Page,
    RateLimiter,
    Reservation,
    RetryPolicy,
    UnexpectedAnswer,
    Units,
    paginate,
    retry_parts,
)
from engage_gmail import rules
from engage_gmail.batch import MAX_BATCH, BatchError, build_batch, parse_batch
from engage_gmail.payloads import decode_body

#: The headers engage reads (``format=metadata``); nothing else of a message is fetched.
METADATA_HEADERS = (
    "From",
    "To",
    "Cc",
    "Bcc",
    "Date",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "List-Unsubscribe",
    "List-Id",
    "List-Post",
    "List-Archive",
    "List-Help",
    "List-Subscribe",
    "Sender",
    "X-Mailman-Version",
    "X-BeenThere",
    "Mailing-List",
    "X-Mailing-List",
    "X-Loop",
    "Precedence",
    "Auto-Submitted",
    "Content-Type",
    "Content-Class",
    "X-Autoreply",
)

#: Quota units per method (https://developers.google.com/gmail/api/reference/quota).
UNITS = {"profile": 1, "list": 5, "get": 5, "attachment": 5, "history": 2, "sendAs": 1}

#: Gmail's per-user quota.
UNITS_PER_MINUTE = 15_000
#: The most entries a list call asks for (messages.list and history.list allow 500).
PAGE_SIZE = 500
#: Where batches of calls are sent.
BATCH_PATH = "/batch/gmail/v1"

_READS = {
    "messages.get": "message reads in a batch",
    "messages.attachments.get": "attachment reads in a batch",
    "drafts.get": "draft reads in a batch",
}


A = TypeVar("A")

#: The history records a sync reads (``historyTypes``, sent as repeated parameters).
HISTORY_TYPES = ("messageAdded", "labelAdded", "labelRemoved")


class HistoryExpired(Exception):
    """``startHistoryId`` is too old: Gmail answered 404; a full sync is needed."""


def google_pages(
    fetch: Callable[[dict[str, Any]], A],
    *,
    items: str,
    size: int,
    where: str,
    start: str | None = None,
) -> Iterator[Page[A]]:
    """The pages of a Google list call (Gmail, Tasks: every Google API pages alike) through
    :func:`engage.http.paginate`: ``pageToken`` and ``maxResults`` (``size``) in,
    ``nextPageToken`` and the ``items`` list out; from the page token ``start``."""
    return paginate(
        fetch,
        token="pageToken",
        next_token="nextPageToken",
        items=items,
        size=("maxResults", size),
        start=start,
        where=where,
    )


class QuotaLimiter(RateLimiter):
    """Gmail's per-user quota: at most ``units_per_minute`` units in any 60 seconds.

    Each call reserves what it costs (:data:`UNITS`) on every try, through
    :meth:`~engage.http.RateLimiter.units`. :attr:`spent` counts the units reserved.
    """

    def __init__(
        self,
        units_per_minute: int = UNITS_PER_MINUTE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(units_per_minute, 60.0, clock=clock, sleep=sleep)
        self.spent = 0

    def acquire(self, units: int = 1) -> Reservation | None:
        """Wait until ``units`` more fit in the window, then count them."""
        reservation = super().acquire(units)
        self.spent += units
        return reservation


class GmailApi:
    """The Gmail calls engage needs, for one user (``me``).

    Args:
        client: An :class:`HttpClient` on the API root (see :func:`engage_gmail.auth.google_client`).
        quota: The per-user quota every call reserves its units from.
        retry: Retry budget for calls that fail inside a batch.
        sleep: How to wait between batch retries.
    """

    def __init__(
        self,
        client: HttpClient,
        quota: QuotaLimiter | None = None,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.quota = quota or QuotaLimiter()
        self.retry = retry or client.retry
        self.sleep = sleep
        self.batches = 0
        self.calls: Counter[str] = Counter()
        self.base = "/gmail/v1/users/me"

    def _get(self, path: str, method: str, units: str, params: Any = None) -> dict[str, Any]:
        """GET one JSON object, reserving ``units``' cost from the quota on every try."""
        self.calls[method] += 1
        limit = self.quota.units(UNITS[units])
        answer: dict[str, Any] = self.client.get_json(
            path, params=params, limiters=[limit], expect=()
        )
        return answer

    def profile(self) -> dict[str, Any]:
        """``users.getProfile``: the address and the current ``historyId``."""
        return self._get(f"{self.base}/profile", "getProfile", "profile")

    def send_as(self) -> list[str]:
        """``users.settings.sendAs.list``: the owner's own addresses (aliases included).

        An empty list when the credentials may not read settings (403) or Gmail has none.
        """
        try:
            answer = self._get(f"{self.base}/settings/sendAs", "settings.sendAs.list", "sendAs")
        except HttpError as exc:
            if exc.status in (403, 404):
                return []
            raise
        return [
            str(e["sendAsEmail"]).lower()
            for e in answer.get("sendAs") or []
            if isinstance(e, dict) and e.get("sendAsEmail")
        ]

    def message_pages(self, query: str, start: str | None = None) -> Iterator[Page[dict[str, Any]]]:
        """``users.messages.list`` for ``query``, 500 a page, from the page token ``start``;
        each page's ``next`` is the token of the page after it."""
        path = f"{self.base}/messages"

        def fetch(more: dict[str, Any]) -> dict[str, Any]:
            return self._get(path, "messages.list", "list", {"q": query, **more})

        where = f"{self.client.name}: GET {path}"
        return google_pages(fetch, items="messages", size=PAGE_SIZE, where=where, start=start)

    def history_pages(self, start: str) -> Iterator[Page[dict[str, Any]]]:
        """``users.history.list`` after the history id ``start``, 500 records a page: messages
        added, and labels added or removed (mail moved out of spam or trash, or marked as spam).

        Raises:
            HistoryExpired: Gmail no longer knows ``start`` (HTTP 404).
        """
        path = f"{self.base}/history"
        params = {"startHistoryId": start, "historyTypes": list(HISTORY_TYPES)}

        def fetch(more: dict[str, Any]) -> dict[str, Any]:
            try:
                return self._get(path, "history.list", "history", {**params, **more})
            except HttpError as exc:
                if exc.status == 404:
                    raise HistoryExpired(str(exc)) from None
                raise

        where = f"{self.client.name}: GET {path}"
        return google_pages(fetch, items="history", size=PAGE_SIZE, where=where)

    def get_metadata(
        self, ids: Sequence[str], headers: Sequence[str] = METADATA_HEADERS
    ) -> dict[str, dict[str, Any]]:
        """Metadata (the named ``headers``) of each message, through batches of at most 50 calls.

        Messages Gmail no longer has (404, deleted meanwhile) are left out of the answer.

        Raises:
            RetriesExhausted: some calls kept failing with rate limits or server errors.
            HttpError: a call failed for another reason.
        """
        query = urlencode([("format", "metadata"), *(("metadataHeaders", h) for h in headers)])
        calls = {m: f"{self._message_path(m)}?{query}" for m in ids}
        return self._get_many(calls, "messages.get", "get")

    def get_full(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Each message with its MIME tree (``format=full``: small parts' bodies inline,
        attachments as ``attachmentId``), in batches; gone messages are left out.

        Raises:
            RetriesExhausted: some calls kept failing with rate limits or server errors.
            HttpError: a call failed for another reason (a 403 when the credentials only
                hold ``gmail.metadata``).
        """
        calls = {m: f"{self._message_path(m)}?format=full" for m in ids}
        return self._get_many(calls, "messages.get", "get", kind="messages.get full")

    def get_attachments(self, wanted: Sequence[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        """The decoded bytes of each ``(message id, attachment id)``, in batches.

        Raises:
            RetriesExhausted: some calls kept failing with rate limits or server errors.
            HttpError: a call failed for another reason.
        """
        keys = {f"{m}/{a}": (m, a) for m, a in wanted}
        calls = {
            key: f"{self._message_path(m)}/attachments/{quote(a, safe='')}"
            for key, (m, a) in keys.items()
        }
        found = self._get_many(calls, "messages.attachments.get", "attachment")
        return {keys[key]: decode_body(body.get("data")) for key, body in found.items()}

    def get_drafts(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Each draft with its message's headers (``drafts.get format=metadata``, which
        ``gmail.compose`` may call), in batches; drafts gone meanwhile are left out.

        Raises:
            RetriesExhausted: some calls kept failing with rate limits or server errors.
            HttpError: a call failed for another reason.
        """
        calls = {d: f"{self.base}/drafts/{quote(d, safe='')}?format=metadata" for d in ids}
        return self._get_many(calls, "drafts.get", "get")

    def _message_path(self, message_id: str) -> str:
        return f"{self.base}/messages/{quote(message_id, safe='')}"

    def _get_many(
        self, calls: Mapping[str, str], method: str, units: str, *, kind: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """Every call's JSON object, in batches no dearer than the quota's whole window;
        calls failing inside a batch are sent again alone (:func:`~engage.http.retry_parts`),
        and those answered 404 (deleted since they were listed) are left out."""
        size = max(1, min(MAX_BATCH, self.quota.limit // UNITS[units]))

        def send(keys: Sequence[str]) -> dict[str, Answer]:
            self.calls[kind or method] += len(keys)
            return self._send(
                {k: calls[k] for k in keys}, self.quota.units(UNITS[units] * len(keys))
            )

        answers = retry_parts(
            calls,
            send,
            retry=self.retry,
            classify=rules.classify,
            accept=lambda answer: isinstance(answer.body, dict),
            gone={404},
            size=size,
            sleep=self.sleep,
            name=self.client.name,
            what=_READS[method],
            secrets=self.client.secrets,
        )
        return {key: answer.body for key, answer in answers.items()}

    def _send(self, calls: Mapping[str, str], cost: Units) -> dict[str, Answer]:
        """One batch request of GET calls (``POST /batch/gmail/v1``), retried as a whole by
        the client; each call's answer by its key, naming the call's endpoint."""
        keys = {f"engage-{n}": key for n, key in enumerate(calls)}
        body, content_type = build_batch([(cid, calls[key]) for cid, key in keys.items()])
        self.batches += 1
        response = self.client.request(
            "POST",
            BATCH_PATH,
            data=body,
            headers={"Content-Type": content_type},
            limiters=[cost],
        )
        try:
            parts = parse_batch(response.headers.get("Content-Type", ""), response.content)
        except BatchError as exc:
            endpoint = self.client.endpoint("POST", BATCH_PATH)
            raise UnexpectedAnswer(
                f"{self.client.name}: {endpoint} answered no batch: {exc}", endpoint=endpoint
            ) from None
        return {
            key: attrs.evolve(parts[cid], endpoint=self.client.endpoint("GET", calls[key]))
            for cid, key in keys.items()
            if cid in parts
        }
