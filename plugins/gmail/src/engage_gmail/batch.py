"""The Google batch protocol: many API calls in one ``multipart/mixed`` HTTP request.

Each part of the request is ``Content-Type: application/http`` with a ``Content-ID`` and an
HTTP request line (``GET /gmail/v1/users/me/messages/ID?format=metadata``); the answer is a
``multipart/mixed`` body whose parts carry ``Content-ID: <response-ID>`` and a full HTTP
response each. Gmail accepts up to 100 calls per batch but advises at most 50.

:func:`read_parts` sends calls in one batch and sends again those that failed inside it.
It waits for :mod:`engage.http`, which has no batch request and no way to retry only the
calls of one request that failed; until it has, the loop is here, with engage.http's
:class:`~engage.http.RetryPolicy` and errors and Google's rules (:mod:`engage_gmail.rules`).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from engage.http import HttpError, RetriesExhausted, RetryPolicy
from engage_gmail import rules

#: The most calls engage puts in one batch (Gmail's advice; the hard limit is 100).
MAX_BATCH = 50


class BatchError(ValueError):
    """A batch answer that does not follow the protocol."""


@attrs.frozen
class Part:
    """One inner response: its Content-ID (without ``response-``), status and decoded body."""

    content_id: str
    status: int
    body: Any
    headers: dict[str, str] = attrs.field(factory=dict)


def build_batch(calls: Sequence[tuple[str, str]], boundary: str | None = None) -> tuple[bytes, str]:
    """The body and Content-Type of a batch of GET calls.

    Args:
        calls: ``(content_id, path_with_query)`` pairs, at most :data:`MAX_BATCH`.
        boundary: The multipart boundary (random by default).

    Raises:
        ValueError: more than :data:`MAX_BATCH` calls, or none.
    """
    if not calls or len(calls) > MAX_BATCH:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH} calls (got {len(calls)})")
    boundary = boundary or f"engage_{uuid.uuid4().hex}"
    lines: list[str] = []
    for content_id, path in calls:
        lines += [
            f"--{boundary}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            f"Content-ID: <{content_id}>",
            "",
            f"GET {path} HTTP/1.1",
            "",
            "",
        ]
    lines.append(f"--{boundary}--")
    return "\r\n".join(lines).encode("utf-8"), f"multipart/mixed; boundary={boundary}"


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_STATUS = re.compile(r"^HTTP/\d(?:\.\d)?\s+(\d{3})")


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a multipart Content-Type."""
    match = _BOUNDARY.search(content_type)
    if match is None or not content_type.lower().startswith("multipart/"):
        raise BatchError(f"expected a multipart answer (got {content_type!r})")
    return match.group(1).strip()


def split_parts(body: bytes, boundary: str) -> list[bytes]:
    """The raw parts of a multipart body, without their boundaries."""
    marker = b"--" + boundary.encode("ascii")
    pieces = body.split(marker)
    parts: list[bytes] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break
        parts.append(piece.removeprefix(b"\r\n").removeprefix(b"\n"))
    return parts


def _head_and_rest(data: bytes) -> tuple[dict[str, str], bytes]:
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, rest = data.partition(separator)
        if found:
            break
    else:
        head, rest = data, b""
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", errors="replace").splitlines():
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers, rest


def parse_batch(content_type: str, body: bytes) -> dict[str, Part]:
    """The inner responses of a batch answer, by Content-ID (``response-`` prefix removed).

    Raises:
        BatchError: the answer is not multipart, or a part is not an HTTP response.
    """
    parts: dict[str, Part] = {}
    for raw in split_parts(body, boundary_of(content_type)):
        outer, inner = _head_and_rest(raw)
        content_id = outer.get("content-id", "").strip().strip("<>")
        content_id = content_id.removeprefix("response-")
        status_line, _, after = inner.partition(b"\n")
        match = _STATUS.match(status_line.decode("latin-1").strip())
        if match is None:
            raise BatchError(f"batch part {content_id!r} is not an HTTP response")
        if after.startswith((b"\r\n", b"\n")):
            headers: dict[str, str] = {}
            payload = after
        else:
            headers, payload = _head_and_rest(after)
        payload = payload.strip()
        try:
            decoded: Any = json.loads(payload) if payload else None
        except ValueError:
            decoded = payload.decode("utf-8", errors="replace")
        parts[content_id] = Part(content_id, int(match.group(1)), decoded, headers)
    return parts


#: Sends one batch of ``(content_id, path)`` calls; returns its parts by Content-ID.
Send = Callable[[Sequence[tuple[str, str]]], Mapping[str, Part]]


def read_parts(
    send: Send,
    calls: Mapping[str, str],
    *,
    retry: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    api: str,
    method: str,
    what: str,
) -> dict[str, Any]:
    """The JSON object each call answered (key → the call's path), through batches of them.

    Calls that failed inside a batch in a way that may pass (:func:`engage_gmail.rules.retriable`:
    429, 5xx, a rate-limit 403; or no readable answer) are sent again, in a smaller batch,
    after the policy's backoff. A call answered 404 (deleted since it was listed) is left out.

    Args:
        send: Sends one batch (at most :data:`MAX_BATCH` calls).
        calls: Key → ``path?query`` of a GET, at most :data:`MAX_BATCH`.
        retry: Tries in all and the backoff between them.
        sleep: How to wait between tries.
        api: The API, for messages (``Gmail``).
        method: The method called, for messages (``messages.get``).
        what: The calls, for messages (``message reads``).

    Raises:
        RetriesExhausted: some calls failed on every try (nothing was changed).
        HttpError: a call was refused (another 4xx).
    """
    found: dict[str, Any] = {}
    pending = list(calls)
    last = ""
    for attempt in range(retry.attempts):
        if attempt:
            sleep(retry.backoff(attempt - 1))
        numbered = {f"engage-{n}": key for n, key in enumerate(pending)}
        parts = send([(cid, calls[key]) for cid, key in numbered.items()])
        again: list[str] = []
        for content_id, key in numbered.items():
            part = parts.get(content_id)
            if part is not None and part.status == 200 and isinstance(part.body, dict):
                found[key] = part.body
            elif part is not None and part.status == 404:
                continue  # deleted since it was listed
            elif part is None or part.status < 300 or rules.retriable(part.status, part.body):
                again.append(key)
                last = f"HTTP {part.status}: {_said(part)}" if part else f"no answer for {key}"
            else:
                raise HttpError(
                    f"{api}: {method} {key} in a batch: HTTP {part.status}: {_said(part)}",
                    part.status,
                    endpoint=_endpoint(calls[key]),
                )
        if not again:
            return found
        pending = again
    raise RetriesExhausted(
        f"{api}: {len(pending)} {what} in a batch failed {retry.attempts} times; "
        f"last: {last}. Nothing was changed; the next run tries again.",
        endpoint=_endpoint(calls[pending[0]]),
    )


def _endpoint(path: str) -> str:
    """``GET /path`` of a call in a batch, without its query."""
    return f"GET {path.split('?')[0]}"


def _said(part: Part) -> str:
    """What a failed call's answer says (Google's ``error.message``), shortened."""
    body = part.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))[:300]
    return str(body)[:300]
