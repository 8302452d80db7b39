"""A stateful fake of the Gmail API v1 on a loopback :class:`engage.testing.FakeServer`.

It implements what the source uses, as the discovery document and guides describe it:
``users.getProfile``; ``users.messages.list`` (``q`` with ``after:``/``before:`` epoch
seconds, ``maxResults`` 1-500 default 100, ``pageToken``, ``labelIds``, ``includeSpamTrash``;
newest first; ``resultSizeEstimate`` on every page is only an estimate, as Gmail documents it:
the count rounded to two significant figures by default, :attr:`FakeGmail.estimate` to change); ``users.messages.get`` (``format=metadata`` with repeated ``metadataHeaders``: headers and
the top-level ``mimeType``, no ``parts`` and no bodies, as Gmail answers; ``minimal``;
``full``: every header and the MIME tree, each part with ``partId``, ``mimeType``,
``filename``, ``headers`` and ``body{size, data}`` (the decoded bytes, base64url) or, for a
part with a file name, ``body{size, attachmentId}``; ``raw``: the whole message, base64url;
``full`` and ``raw`` are refused (403) to a token holding only ``gmail.metadata``);
``users.messages.attachments.get`` (``{attachmentId, size, data}``, 5 units);
``users.history.list`` (``startHistoryId`` required, records *after* it, 404 ``notFound`` for
an expired id, ``historyTypes`` filter of its four values, label changes, paging); and ``POST /batch/gmail/v1`` (multipart/mixed,
``application/http`` parts, ``Content-ID: <response-ID>`` answers, at most 100 parts). Errors
use Google's body shape. Tokens are checked by :class:`fake_oauth.FakeOAuth`; every call is
charged to the user's quota (list 5, get 5, attachments 5, history 2, profile 1), and
:attr:`FakeGmail.gets` counts ``messages.get`` by format, and an optional per-minute
limit (:attr:`FakeGmail.quota_per_minute`, the units of any 60 seconds) answers 429
``userRateLimitExceeded`` when exceeded (counted in :attr:`FakeGmail.rate_limited`).
"""

from __future__ import annotations

import base64
import email
import email.message
import email.policy
import itertools
import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fake_oauth import FakeOAuth

from engage.testing import FakeServer, Reply, Request
from engage_gmail.auth import SCOPE_METADATA, SCOPE_READONLY

READ_SCOPES = (SCOPE_READONLY, SCOPE_METADATA, "https://mail.google.com/")
UNITS = {"profile": 1, "list": 5, "get": 5, "attachment": 5, "history": 2, "sendAs": 1}
#: history.list's historyTypes values and the record field each selects.
HISTORY_FIELDS = {
    "messageAdded": "messagesAdded",
    "messageDeleted": "messagesDeleted",
    "labelAdded": "labelsAdded",
    "labelRemoved": "labelsRemoved",
}
_USER = r"/gmail/v1/users/(?P<user>[^/]+)"


def google_error(code: int, message: str, reason: str, status: str) -> dict[str, Any]:
    """A Google API error body."""
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"domain": "global", "reason": reason, "message": message}],
            "status": status,
        }
    }


def _bad(message: str) -> Reply:
    return Reply(400, google_error(400, message, "invalidArgument", "INVALID_ARGUMENT"))


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode()


def _offset(token: str | None) -> int | None:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        return int(text[1:]) if text.startswith("o") else None
    except (ValueError, UnicodeDecodeError):
        return None


def _limit(request: Request) -> int | None:
    text = request.arg("maxResults", "100") or "100"
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 1 <= value <= 500 else None


def rough_estimate(count: int) -> int:
    """Gmail's ``resultSizeEstimate`` is an estimate: here, ``count`` to two significant
    figures (exact up to 99, 1234 -> 1200, 1250 -> 1300), so it may be above or below."""
    if count < 100:
        return count
    scale = int(10 ** (len(str(count)) - 2))
    return (count + scale // 2) // scale * scale


class FakeGmail:
    """One mailbox (``email``) behind a fake Gmail API and OAuth token endpoint."""

    def __init__(
        self, email: str = "carol@ourco.com", scopes: tuple[str, ...] = (SCOPE_READONLY,)
    ) -> None:
        self.server = FakeServer()
        self.oauth = FakeOAuth(self.server, scopes)
        self.email = email
        self.messages: dict[str, dict[str, Any]] = {}
        self.history: list[dict[str, Any]] = []
        self.history_id = 1000
        self.expired_before = 0
        self.units: Counter[str] = Counter()
        self.quota_per_minute: int | None = None
        self.rate_limited = 0
        self.batch_sizes: list[int] = []
        self.part_faults: list[tuple[int, str]] = []
        self.api_faults: list[Reply] = []
        self.aliases: list[str] = []
        #: ``resultSizeEstimate`` of messages.list for a given true count (an estimate).
        self.estimate: Callable[[int], int] = rough_estimate
        self.inner_requests: list[Request] = []
        self.gets: Counter[str] = Counter()
        self.raws: dict[str, bytes] = {}
        self.attachments: dict[tuple[str, str], bytes] = {}
        self._spent: deque[tuple[float, int]] = deque()  # (when, units) of the last 60 s
        self._spent_units = 0
        self._ids = itertools.count(0x18C0000000000000)
        self._lock = threading.Lock()
        route = self.server.route
        route("GET", _USER + r"/profile")(self.profile)
        route("GET", _USER + r"/settings/sendAs")(self.send_as)
        route("GET", _USER + r"/messages")(self.list_messages)
        route("GET", _USER + r"/messages/(?P<id>[^/]+)")(self.get_message)
        route("GET", _USER + r"/messages/(?P<id>[^/]+)/attachments/(?P<aid>[^/]+)")(
            self.get_attachment
        )
        route("GET", _USER + r"/history")(self.list_history)
        route("POST", r"/batch/gmail/v1")(self.batch)
        route("POST", r"/batch")(self.batch)

    # -- running ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The fake's base URL."""
        return self.server.url

    @property
    def token_uri(self) -> str:
        """The fake token endpoint."""
        return self.oauth.token_uri

    def __enter__(self) -> FakeGmail:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    # -- state --------------------------------------------------------------------------------
    def add(
        self,
        sender: str,
        to: str | Sequence[str],
        subject: str = "Hello",
        *,
        date: datetime | None = None,
        cc: Sequence[str] = (),
        labels: Iterable[str] = ("INBOX",),
        headers: Mapping[str, str] | None = None,
        mime_type: str = "text/plain",
        message_id: str | None = None,
        internal_date: datetime | None = None,
    ) -> str:
        """Deliver a message (a messageAdded history record); return its Gmail id."""
        when = date or datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
        received = internal_date or when
        with self._lock:
            gmail_id = format(next(self._ids), "x")
        fields: list[tuple[str, str]] = [
            ("From", sender),
            ("To", to if isinstance(to, str) else ", ".join(to)),
        ]
        if cc:
            fields.append(("Cc", ", ".join(cc)))
        fields += [
            ("Subject", subject),
            ("Date", format_datetime(when)),
            ("Message-ID", message_id or f"<{gmail_id}@mail.example>"),
        ]
        fields += list((headers or {}).items())
        payload = {
            "partId": "",
            "mimeType": mime_type,
            "filename": "",
            "headers": [{"name": k, "value": v} for k, v in fields],
            "body": {"size": 0},
        }
        return self._deliver(gmail_id, payload, labels, received)

    def add_raw(
        self,
        raw: bytes,
        *,
        labels: Iterable[str] = ("INBOX",),
        internal_date: datetime | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Deliver a whole RFC 2822 message (its MIME tree served by ``format=full``, its
        named parts by ``attachments.get``); ``headers`` are added on top. Its Gmail id."""
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()).encode()
        raw = extra + raw
        parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
        with self._lock:
            gmail_id = format(next(self._ids), "x")
            self.raws[gmail_id] = raw
        payload = self._part(gmail_id, parsed, "")
        try:
            received = internal_date or parsedate_to_datetime(str(parsed["Date"]))
        except (TypeError, ValueError):
            received = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
        return self._deliver(gmail_id, payload, labels, received)

    def _part(self, gmail_id: str, part: email.message.Message, part_id: str) -> dict[str, Any]:
        """One MessagePart, as Gmail's ``format=full`` shows it."""
        headers = [
            {"name": k, "value": re.sub(r"\r?\n(?=[ \t])", "", str(v))} for k, v in part.items()
        ]
        filename = part.get_filename() or ""
        found: dict[str, Any] = {
            "partId": part_id,
            "mimeType": part.get_content_type(),
            "filename": filename,
            "headers": headers,
        }
        if part.is_multipart():
            children = part.get_payload()
            assert isinstance(children, list)
            prefix = f"{part_id}." if part_id else ""
            found["body"] = {"size": 0}
            found["parts"] = [
                self._part(gmail_id, child, f"{prefix}{n}") for n, child in enumerate(children)
            ]
            return found
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        if filename:
            attachment_id = "ANGjdJ" + base64.urlsafe_b64encode(
                f"{gmail_id}:{part_id}".encode()
            ).decode().rstrip("=")
            self.attachments[(gmail_id, attachment_id)] = data
            found["body"] = {"attachmentId": attachment_id, "size": len(data)}
        else:
            found["body"] = {"size": len(data), "data": base64.urlsafe_b64encode(data).decode()}
        return found

    def _deliver(
        self, gmail_id: str, payload: dict[str, Any], labels: Iterable[str], received: datetime
    ) -> str:
        message = {
            "id": gmail_id,
            "threadId": gmail_id,
            "labelIds": list(labels),
            "snippet": "",
            "internalDate": str(int(received.timestamp() * 1000)),
            "sizeEstimate": 1024,
            "payload": payload,
        }
        with self._lock:
            self.history_id += 3  # ids increase but are not contiguous
            message["historyId"] = str(self.history_id)
            self.messages[gmail_id] = message
            summary = {"id": gmail_id, "threadId": gmail_id}
            self.history.append(
                {
                    "id": str(self.history_id),
                    "messages": [summary],
                    "messagesAdded": [{"message": {**summary, "labelIds": message["labelIds"]}}],
                }
            )
        return gmail_id

    def relabel(self, gmail_id: str, *labels: str) -> None:
        """Add labels to a message (a labelAdded history record)."""
        with self._lock:
            message = self.messages[gmail_id]
            message["labelIds"] = [*message["labelIds"], *labels]
            self.history_id += 2
            summary = {"id": gmail_id, "threadId": gmail_id}
            self.history.append(
                {
                    "id": str(self.history_id),
                    "messages": [summary],
                    "labelsAdded": [{"message": summary, "labelIds": list(labels)}],
                }
            )

    def unlabel(self, gmail_id: str, *labels: str) -> None:
        """Remove labels from a message (a labelRemoved history record): out of spam, say."""
        with self._lock:
            message = self.messages[gmail_id]
            message["labelIds"] = [label for label in message["labelIds"] if label not in labels]
            self.history_id += 2
            summary = {"id": gmail_id, "threadId": gmail_id}
            self.history.append(
                {
                    "id": str(self.history_id),
                    "messages": [summary],
                    "labelsRemoved": [{"message": summary, "labelIds": list(labels)}],
                }
            )

    def expire_history(self) -> None:
        """Every history id issued so far stops being valid (history.list answers 404)."""
        self.expired_before = self.history_id + 1

    def fail_next(
        self,
        status: int = 503,
        count: int = 1,
        *,
        reason: str = "backendError",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The next ``count`` API requests (not token refreshes) fail with ``status``."""
        message = f"injected {reason}"
        reply = Reply(
            status,
            body if body is not None else google_error(status, message, reason, "UNAVAILABLE"),
            dict(headers or {}),
        )
        with self._lock:
            self.api_faults.extend([reply] * count)

    def fail_parts(self, status: int, count: int = 1, reason: str = "backendError") -> None:
        """The next ``count`` calls inside batches fail with ``status`` and ``reason``."""
        with self._lock:
            self.part_faults.extend([(status, reason)] * count)

    # -- quota --------------------------------------------------------------------------------
    def _charge(self, user: str, method: str) -> Reply | None:
        units = UNITS[method]
        now = time.monotonic()
        with self._lock:
            self.units[user] += units
            while self._spent and now - self._spent[0][0] >= 60:
                self._spent_units -= self._spent.popleft()[1]
            self._spent.append((now, units))
            self._spent_units += units
            over = self.quota_per_minute is not None and self._spent_units > self.quota_per_minute
            if over:
                self.rate_limited += 1
        if over:
            message = "User-rate limit exceeded. Retry after a while."
            return Reply(
                429, google_error(429, message, "userRateLimitExceeded", "RESOURCE_EXHAUSTED")
            )
        return None

    def _scripted(self) -> Reply | None:
        with self._lock:
            return self.api_faults.pop(0) if self.api_faults else None

    def _user(self, request: Request) -> tuple[str, Reply | None]:
        scripted = self._scripted()
        if scripted is not None:
            return "", scripted
        user = request.match.get("user", "me")
        if user not in ("me", self.email):
            return user, Reply(
                403, google_error(403, "Delegation denied", "forbidden", "PERMISSION_DENIED")
            )
        return self.email, self.oauth.check(request, *READ_SCOPES)

    # -- routes -------------------------------------------------------------------------------
    def profile(self, request: Request) -> Reply:
        user, refused = self._user(request)
        if refused:
            return refused
        return self._charge(user, "profile") or Reply(
            200,
            {
                "emailAddress": self.email,
                "messagesTotal": len(self.messages),
                "threadsTotal": len(self.messages),
                "historyId": str(self.history_id),
            },
        )

    def send_as(self, request: Request) -> Reply:
        user, refused = self._user(request)
        if refused:
            return refused
        entries = [
            {
                "sendAsEmail": address,
                "isPrimary": address == self.email,
                "verificationStatus": "accepted",
            }
            for address in [self.email, *self.aliases]
        ]
        return self._charge(user, "sendAs") or Reply(200, {"sendAs": entries})

    def list_messages(self, request: Request) -> Reply:
        user, refused = self._user(request)
        if refused:
            return refused
        limit, start = _limit(request), _offset(request.arg("pageToken"))
        if limit is None:
            return _bad("Invalid maxResults: must be between 1 and 500")
        if start is None:
            return _bad("Invalid pageToken")
        query = request.arg("q")
        if query and SCOPE_READONLY not in self._scopes(request):
            return Reply(
                403,
                google_error(
                    403,
                    "Metadata scope does not support 'q' parameter",
                    "forbidden",
                    "PERMISSION_DENIED",
                ),
            )
        bounds = {"after": 0.0, "before": float("inf")}
        for term in (query or "").split():
            match = re.fullmatch(r"(after|before):(\d+)", term)
            if match is None:
                return _bad(f"fake Gmail: unsupported search term {term!r}")
            bounds[match.group(1)] = float(match.group(2))
        wanted = set(request.query.get("labelIds", []))
        spam_trash = request.arg("includeSpamTrash", "false") == "true"
        found = [
            m
            for m in sorted(self.messages.values(), key=lambda m: -int(m["internalDate"]))
            if bounds["after"] < int(m["internalDate"]) / 1000 < bounds["before"]
            and wanted <= set(m["labelIds"])
            and (spam_trash or not {"SPAM", "TRASH"} & set(m["labelIds"]))
        ]
        page = found[start : start + limit]
        body: dict[str, Any] = {"resultSizeEstimate": self.estimate(len(found))}
        if page:
            body["messages"] = [{"id": m["id"], "threadId": m["threadId"]} for m in page]
        if start + limit < len(found):
            body["nextPageToken"] = _token(start + limit)
        return self._charge(user, "list") or Reply(200, body)

    def get_message(self, request: Request) -> Reply:
        user, refused = self._user(request)
        if refused:
            return refused
        charged = self._charge(user, "get")
        if charged:
            return charged
        message = self.messages.get(request.match["id"])
        if message is None:
            return Reply(
                404, google_error(404, "Requested entity was not found.", "notFound", "NOT_FOUND")
            )
        form = request.arg("format", "full") or "full"
        if form not in ("metadata", "minimal", "full", "raw"):
            return _bad(f"Invalid value at 'format' ({form})")
        self.gets[form] += 1
        if form == "minimal":
            return Reply(200, {k: v for k, v in message.items() if k != "payload"})
        if form in ("full", "raw"):
            if SCOPE_READONLY not in self._scopes(request) and not self._full_access(request):
                return Reply(
                    403,
                    google_error(
                        403,
                        f"Metadata scope doesn't allow format {form.upper()}",
                        "forbidden",
                        "PERMISSION_DENIED",
                    ),
                )
            if form == "full":
                return Reply(200, message)
            raw = self.raws.get(message["id"]) or _raw_of(message["payload"])
            body = {k: v for k, v in message.items() if k != "payload"}
            return Reply(200, {**body, "raw": base64.urlsafe_b64encode(raw).decode()})
        names = {h.lower() for h in request.query.get("metadataHeaders", [])}
        full = message["payload"]
        payload = {k: full[k] for k in ("partId", "mimeType", "filename") if k in full}
        payload["headers"] = [h for h in full["headers"] if not names or h["name"].lower() in names]
        payload["body"] = {"size": 0}
        return Reply(200, {**message, "payload": payload})

    def get_attachment(self, request: Request) -> Reply:
        user, refused = self._user(request)
        if refused:
            return refused
        if SCOPE_READONLY not in self._scopes(request) and not self._full_access(request):
            return Reply(
                403,
                google_error(
                    403,
                    "Metadata scope doesn't allow this method",
                    "forbidden",
                    "PERMISSION_DENIED",
                ),
            )
        charged = self._charge(user, "attachment")
        if charged:
            return charged
        found = self.attachments.get((request.match["id"], request.match["aid"]))
        if found is None or request.match["id"] not in self.messages:
            return Reply(
                404, google_error(404, "Requested entity was not found.", "notFound", "NOT_FOUND")
            )
        self.gets["attachment"] += 1
        return Reply(
            200,
            {
                "attachmentId": request.match["aid"],
                "size": len(found),
                "data": base64.urlsafe_b64encode(found).decode(),
            },
        )

    def list_history(self, request: Request) -> Reply:
        user, refused = self._user(request)
        if refused:
            return refused
        start_text = request.arg("startHistoryId")
        if not start_text:
            return _bad("Missing required parameter startHistoryId")
        if not start_text.isdigit():
            return _bad("Invalid startHistoryId")
        limit, offset = _limit(request), _offset(request.arg("pageToken"))
        if limit is None or offset is None:
            return _bad("Invalid maxResults or pageToken")
        charged = self._charge(user, "history")
        if charged:
            return charged
        start = int(start_text)
        if start < self.expired_before:
            return Reply(
                404, google_error(404, "Requested entity was not found.", "notFound", "NOT_FOUND")
            )
        kinds = set(request.query.get("historyTypes", []))
        unknown = kinds - set(HISTORY_FIELDS)
        if unknown:
            return _bad(f"Invalid value at 'history_types' ({sorted(unknown)[0]})")
        records = [
            r
            for r in self.history
            if int(r["id"]) > start and (not kinds or any(HISTORY_FIELDS[k] in r for k in kinds))
        ]
        page = records[offset : offset + limit]
        body: dict[str, Any] = {"historyId": str(self.history_id)}
        if page:
            body["history"] = page
        if offset + limit < len(records):
            body["nextPageToken"] = _token(offset + limit)
        return Reply(200, body)

    def batch(self, request: Request) -> Reply:
        refused = self._scripted() or self.oauth.check(request, *READ_SCOPES)
        if refused:
            return refused
        content_type = request.header("Content-Type") or ""
        match = re.search(r'boundary="?([^";]+)"?', content_type)
        if not content_type.startswith("multipart/mixed") or match is None:
            return _bad("Batch requests must be multipart/mixed with a boundary")
        parts = _split(request.body, match.group(1))
        if len(parts) > 100:
            return _bad("A batch holds at most 100 calls")
        self.batch_sizes.append(len(parts))
        boundary = "batch_fake_" + format(len(self.batch_sizes), "x")
        out: list[str] = []
        for number, part in enumerate(parts, 1):
            content_id, inner = _inner_request(part, request)
            self.inner_requests.append(inner)
            reply = self._fault() or self._route(inner)
            payload = json.dumps(reply.body) if reply.body is not None else ""
            response_id = f"<response-{content_id}>" if content_id else f"<response-{number}>"
            out += [
                f"--{boundary}",
                "Content-Type: application/http",
                f"Content-ID: {response_id}",
                "",
                f"HTTP/1.1 {reply.status} {'OK' if reply.status == 200 else 'Error'}",
                "Content-Type: application/json; charset=UTF-8",
                "",
                payload,
            ]
        out.append(f"--{boundary}--")
        return Reply(
            200,
            text="\r\n".join(out) + "\r\n",
            headers={"Content-Type": f"multipart/mixed; boundary={boundary}"},
        )

    # -- helpers ------------------------------------------------------------------------------
    def _scopes(self, request: Request) -> tuple[str, ...]:
        token = (request.header("Authorization") or "").removeprefix("Bearer ")
        return self.oauth.issued.get(token, ())

    def _full_access(self, request: Request) -> bool:
        return "https://mail.google.com/" in self._scopes(request)

    def _fault(self) -> Reply | None:
        with self._lock:
            if not self.part_faults:
                return None
            status, reason = self.part_faults.pop(0)
        return Reply(status, google_error(status, f"injected {reason}", reason, "UNAVAILABLE"))

    def _route(self, inner: Request) -> Reply:
        if not inner.path.startswith("/gmail/v1/"):
            return _bad("All calls in a batch must go to the same API (gmail/v1)")
        for method, pattern, handler in self.server.routes:
            found = pattern.match(inner.path)
            if found and method == inner.method:
                return handler(
                    Request(
                        inner.method,
                        inner.path,
                        inner.query,
                        inner.headers,
                        inner.body,
                        found.groupdict(),
                    )
                )
        return Reply(404, google_error(404, "Not Found", "notFound", "NOT_FOUND"))


def _raw_of(payload: Mapping[str, Any]) -> bytes:
    """An RFC 2822 message made of a single-part payload's headers (a message from ``add``)."""
    head = "".join(f"{h['name']}: {h['value']}\r\n" for h in payload.get("headers") or [])
    return (head + "\r\n").encode()


def _split(body: bytes, boundary: str) -> list[bytes]:
    pieces = body.split(b"--" + boundary.encode())
    parts = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break
        parts.append(piece.lstrip(b"\r\n"))
    return parts


def _head(data: bytes) -> tuple[dict[str, str], bytes]:
    head, _, rest = data.replace(b"\r\n", b"\n").partition(b"\n\n")
    headers = {}
    for line in head.decode().splitlines():
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip()] = value.strip()
    return headers, rest


def _inner_request(part: bytes, outer: Request) -> tuple[str, Request]:
    part_headers, inner = _head(part)
    content_id = next((v for k, v in part_headers.items() if k.lower() == "content-id"), "")
    request_line, _, rest = inner.lstrip(b"\n").partition(b"\n")
    method, target = request_line.decode().split()[:2]
    headers, body = _head(rest) if rest.strip() and not rest.startswith(b"\n") else ({}, rest)
    merged = {**dict(outer.headers), **headers}
    merged.pop("Content-Type", None)
    merged.pop("Content-Length", None)
    url = urlsplit(target)
    request = Request(
        method, url.path, parse_qs(url.query, keep_blank_values=True), merged, body.strip()
    )
    return content_id.strip("<>"), request
