"""Reading Gmail's message resources: headers, MIME types, ids and calendar parts.

Pure functions of the JSON ``users.messages.get`` answers (``format=metadata`` or ``full``)
and ``messages.list`` entries; :mod:`engage_gmail.gmail_api` fetches them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

#: The content types of a calendar part (as :func:`engage_gmail.bodyscan.is_calendar`).
CALENDAR_TYPES = ("text/calendar", "application/ics", "text/x-vcalendar")


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
