"""A small Gmail API v1 client: profile, messages.list, history.list, and batched gets.

Every call is paid for from a per-user quota of 15,000 units a minute (list 5, get 5,
attachment 5, history 2, profile 1) kept by :class:`QuotaLimiter`, so a large first sync
slows down instead of being refused. Failed calls are retried by
:class:`engage.http.HttpClient` (429, 5xx, and Google's 403 rate-limit reasons); calls that
fail inside a batch are retried the same way. Messages are read with ``format=metadata``;
only calendar invitations are read whole (``format=full``, and ``messages.attachments.get``
for a calendar part Gmail keeps as an attachment), to date them at the meeting's start.
:attr:`GmailApi.calls` counts every call by method.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from engage.http import HttpClient, HttpError, RateLimiter, RetriesExhausted, RetryPolicy
from engage_gmail import rules
from engage_gmail.batch import MAX_BATCH, BatchError, Part, build_batch, parse_batch

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

#: The content types of a calendar part (as :func:`engage_gmail.bodyscan.is_calendar`).
CALENDAR_TYPES = ("text/calendar", "application/ics", "text/x-vcalendar")

#: Gmail's per-user quota.
UNITS_PER_MINUTE = 15_000

_READS = {
    "messages.get": "message reads",
    "messages.attachments.get": "attachment reads",
    "drafts.get": "draft reads",
}


#: The history records a sync reads (``historyTypes``, sent as repeated parameters).
HISTORY_TYPES = ("messageAdded", "labelAdded", "labelRemoved")


class HistoryExpired(Exception):
    """``startHistoryId`` is too old: Gmail answered 404; a full sync is needed."""


class QuotaLimiter:
    """Keeps the units spent in any 60 seconds under the per-user quota."""

    def __init__(
        self,
        units_per_minute: int = UNITS_PER_MINUTE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limiter = RateLimiter(units_per_minute, 60.0, clock=clock, sleep=sleep)
        self.spent = 0

    def spend(self, units: int) -> None:
        """Wait until ``units`` more fit in the window, then count them."""
        for _ in range(units):
            self.limiter.acquire()
        self.spent += units


class GmailApi:
    """The Gmail calls the source needs, for one user (``me``).

    Args:
        client: An :class:`HttpClient` on the API root (see :func:`engage_gmail.auth.google_client`).
        quota: The per-user quota to spend from.
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

    def profile(self) -> dict[str, Any]:
        """``users.getProfile``: the address and the current ``historyId``."""
        self.quota.spend(UNITS["profile"])
        self.calls["getProfile"] += 1
        return dict(self.client.get_json(f"{self.base}/profile"))

    def send_as(self) -> list[str]:
        """``users.settings.sendAs.list``: the owner's own addresses (aliases included).

        An empty list when the credentials may not read settings (403) or Gmail has none.
        """
        self.quota.spend(UNITS["sendAs"])
        self.calls["settings.sendAs.list"] += 1
        try:
            answer = self.client.get_json(f"{self.base}/settings/sendAs")
        except HttpError as exc:
            if exc.status in (403, 404):
                return []
            raise
        entries = answer.get("sendAs") if isinstance(answer, dict) else None
        return [
            str(e["sendAsEmail"]).lower()
            for e in entries or []
            if isinstance(e, dict) and e.get("sendAsEmail")
        ]

    def list_messages(self, query: str, page_token: str | None = None) -> dict[str, Any]:
        """One page (up to 500) of ``users.messages.list`` for ``query``."""
        params: dict[str, Any] = {"q": query, "maxResults": 500}
        if page_token:
            params["pageToken"] = page_token
        self.quota.spend(UNITS["list"])
        self.calls["messages.list"] += 1
        return dict(self.client.get_json(f"{self.base}/messages", params=params))

    def history(self, start: str, page_token: str | None = None) -> dict[str, Any]:
        """One page of ``users.history.list`` after ``start``: messages added, and labels
        added or removed (mail moved out of spam or trash, or marked as spam).

        Raises:
            HistoryExpired: Gmail no longer knows ``start`` (HTTP 404).
        """
        params: dict[str, Any] = {
            "startHistoryId": start,
            "historyTypes": list(HISTORY_TYPES),
            "maxResults": 500,
        }
        if page_token:
            params["pageToken"] = page_token
        self.quota.spend(UNITS["history"])
        self.calls["history.list"] += 1
        try:
            return dict(self.client.get_json(f"{self.base}/history", params=params))
        except HttpError as exc:
            if exc.status == 404:
                raise HistoryExpired(str(exc)) from None
            raise

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
        found: dict[str, dict[str, Any]] = {}
        keys = list(dict.fromkeys(calls))
        for start in range(0, len(keys), MAX_BATCH):
            chunk = {k: calls[k] for k in keys[start : start + MAX_BATCH]}
            found.update(self._batch(chunk, method, units, kind or method))
        return found

    def _batch(
        self, calls: Mapping[str, str], method: str, units: str, kind: str
    ) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        pending = list(calls)
        last = ""
        for attempt in itertools.count():
            numbered = {f"engage-{n}": key for n, key in enumerate(pending)}
            self.quota.spend(UNITS[units] * len(pending))
            self.calls[kind] += len(pending)
            parts = self._send([(cid, calls[key]) for cid, key in numbered.items()])
            retry: list[str] = []
            for content_id, key in numbered.items():
                part = parts.get(content_id)
                if part is None:
                    retry.append(key)
                    last = f"no answer for {key} in the batch"
                elif part.status == 200 and isinstance(part.body, dict):
                    found[key] = part.body
                elif part.status == 404:
                    continue  # deleted since it was listed
                elif rules.retriable(part.status, part.body):
                    retry.append(key)
                    last = f"HTTP {part.status}: {_message(part)}"
                else:
                    raise HttpError(
                        f"{self.client.name}: {method} {key} in a batch: "
                        f"HTTP {part.status}: {_message(part)}",
                        part.status,
                    )
            if not retry:
                return found
            if attempt + 1 >= self.retry.attempts:
                raise RetriesExhausted(
                    f"{self.client.name}: {len(retry)} {_READS[method]} in a batch failed "
                    f"{self.retry.attempts} times; last: {last}. Nothing was changed; the next "
                    "run tries again.",
                    None,
                )
            self.sleep(self.retry.backoff(attempt))
            pending = retry
        return found  # pragma: no cover - itertools.count never ends

    def _send(self, calls: Sequence[tuple[str, str]]) -> dict[str, Part]:
        body, content_type = build_batch(calls)
        self.batches += 1
        response = self.client.request(
            "POST", "/batch/gmail/v1", data=body, headers={"Content-Type": content_type}
        )
        try:
            return parse_batch(response.headers.get("Content-Type", ""), response.content)
        except BatchError as exc:
            raise HttpError(
                f"{self.client.name}: batch answer: {exc}", response.status_code
            ) from None


def _message(part: Part) -> str:
    body = part.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))[:300]
    return str(body)[:300]


def header_map(message: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ``payload.headers`` of a metadata message as ``(name, value)`` pairs."""
    payload = message.get("payload") or {}
    return [
        (str(h.get("name", "")), str(h.get("value", "")))
        for h in payload.get("headers") or []
        if isinstance(h, dict)
    ]


def mime_types(message: Mapping[str, Any]) -> tuple[str, ...]:
    """The MIME types of a message's payload and parts, when Gmail gives them."""
    found: list[str] = []

    def walk(part: Mapping[str, Any]) -> None:
        if part.get("mimeType"):
            found.append(str(part["mimeType"]))
        for child in part.get("parts") or []:
            if isinstance(child, dict):
                walk(child)

    walk(message.get("payload") or {})
    return tuple(found)


def message_ids(entries: Iterable[Mapping[str, Any]]) -> list[str]:
    """The ``id`` of each ``{id, threadId}`` entry."""
    return [str(e["id"]) for e in entries if isinstance(e, Mapping) and e.get("id")]


def decode_body(data: Any) -> bytes:
    """A ``MessagePartBody.data`` value (base64url, padded or not) as bytes; b"" when unreadable."""
    if not isinstance(data, str) or not data:
        return b""
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return b""


def calendar_parts(message: Mapping[str, Any]) -> list[tuple[bytes, str | None]]:
    """The calendar parts of a ``format=full`` message, in MIME order.

    Each is ``(bytes, None)`` when Gmail gave its body inline, or ``(b"", attachmentId)``
    when the body must be fetched with ``messages.attachments.get``. A calendar part is a
    ``text/calendar``, ``application/ics`` or ``text/x-vcalendar`` part, or a ``*.ics`` /
    ``*.vcs`` file.
    """
    found: list[tuple[bytes, str | None]] = []

    def walk(part: Mapping[str, Any]) -> None:
        kind = str(part.get("mimeType") or "").lower()
        name = str(part.get("filename") or "").lower()
        body = part.get("body") or {}
        if kind in CALENDAR_TYPES or name.endswith((".ics", ".vcs")):
            if body.get("data"):
                found.append((decode_body(body["data"]), None))
            elif body.get("attachmentId"):
                found.append((b"", str(body["attachmentId"])))
        for child in part.get("parts") or []:
            if isinstance(child, dict):
                walk(child)

    walk(message.get("payload") or {})
    return found
