"""The Google batch protocol: many API calls in one ``multipart/mixed`` HTTP request.

Each part of the request is ``Content-Type: application/http`` with a ``Content-ID`` and an
HTTP request line (``GET /gmail/v1/users/me/messages/ID?format=metadata``); the answer is a
``multipart/mixed`` body whose parts carry ``Content-ID: <response-ID>`` and a full HTTP
response each. Gmail accepts up to 100 calls per batch but advises at most 50.

:func:`build_batch` writes a batch of GET calls and :func:`parse_batch` reads its answer into
one :class:`~engage.http.Answer` per call, the shape Google's rules
(:func:`engage_gmail.rules.classify`) read; :func:`engage.http.retry_parts` sends again the
calls that failed inside it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

from engage.http import Answer

#: The most calls engage puts in one batch (Gmail's advice; the hard limit is 100).
MAX_BATCH = 50


class BatchError(ValueError):
    """A batch answer that does not follow the protocol."""


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


def parse_batch(content_type: str, body: bytes) -> dict[str, Answer]:
    """The inner responses of a batch answer, by Content-ID (``response-`` prefix removed);
    each body decoded (JSON, else text), the endpoint left for the caller to name.

    Raises:
        BatchError: the answer is not multipart, or a part is not an HTTP response.
    """
    parts: dict[str, Answer] = {}
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
        parts[content_id] = Answer(int(match.group(1)), headers, decoded)
    return parts
