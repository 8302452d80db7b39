"""What a streamed message body tells without being kept: its MIME parts' types, calendar
parts, and mailing-list footers.

The mbox reader hands each body line to a :class:`BodyScanner`. It knows the message's
MIME boundaries (from the top ``Content-Type`` and from nested multipart parts), reads each
part's header block, and keeps only:

- the content type of every part (``text/calendar``, ``multipart/digest``...);
- the content of calendar parts (``text/calendar``, ``application/ics``, a part named
  ``*.ics``), decoded from base64 or quoted-printable, at most :data:`MAX_CALENDAR` bytes
  each, for :mod:`engage_gmail.invites`;
- whether a mailing-list footer appears outside quoted text (Mailman's
  ``.../mailman/listinfo/...`` line, Google Groups' "You received this message because you
  are subscribed to the Google Groups ...").
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re

from engage_gmail.headers import Headers, parse_header_block

#: The most bytes of one calendar part kept (larger ones are cut and read as far as they go).
MAX_CALENDAR = 256 * 1024

#: The most calendar parts kept per message.
MAX_CALENDARS = 4

#: The most bytes of one part's header block read.
MAX_PART_HEADER = 16 * 1024

_BOUNDARY = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))', re.IGNORECASE)
_NAME = re.compile(r'(?:file)?name\*?\s*=\s*"?([^";]+)', re.IGNORECASE)
_FOOTER = re.compile(
    rb"https?://\S+/(?:mailman/|cgi-bin/mailman/)?listinfo/|/mailman3?/lists/"
    rb"|you received this message because you are subscribed to the google groups",
    re.IGNORECASE,
)


def _may_be_footer(line: bytes) -> bool:
    """False for a line :data:`_FOOTER` cannot match: each of its alternatives holds one of
    these words (ASCII case folded, as the pattern's), and looking for them is a few times
    cheaper than the pattern on the many lines of a mailbox."""
    low = line.lower()
    return b"listinfo/" in low or b"/lists/" in low or b"google groups" in low


def content_type(headers: Headers) -> str:
    """The lower-cased media type of a header block (``text/plain`` when there is none)."""
    value = headers.get("Content-Type") or "text/plain"
    return value.split(";", 1)[0].strip().lower() or "text/plain"


def boundary_of(headers: Headers) -> bytes | None:
    """The ``--boundary`` line prefix of a multipart header block, or None."""
    value = headers.get("Content-Type") or ""
    if not value.lower().lstrip().startswith("multipart/"):
        return None
    match = _BOUNDARY.search(value)
    if match is None:
        return None
    return b"--" + (match.group(1) or match.group(2)).encode("utf-8", "replace")


def is_calendar(headers: Headers) -> bool:
    """True for a calendar part: ``text/calendar``, ``application/ics`` or a ``*.ics`` file."""
    kind = content_type(headers)
    if kind in ("text/calendar", "application/ics", "text/x-vcalendar"):
        return True
    for field in ("Content-Type", "Content-Disposition"):
        match = _NAME.search(headers.get(field) or "")
        if match is not None and match.group(1).strip().lower().endswith((".ics", ".vcs")):
            return True
    return False


def decode_part(data: bytes, encoding: str | None) -> bytes:
    """A part's content decoded from its Content-Transfer-Encoding (as is when unknown)."""
    kind = (encoding or "").strip().lower()
    try:
        if kind == "base64":
            text = b"".join(data.split())
            return base64.b64decode(text + b"=" * (-len(text) % 4))
        if kind == "quoted-printable":
            return quopri.decodestring(data)
    except (binascii.Error, ValueError):
        return b""
    return data


class BodyScanner:
    """Reads one message's body line by line, keeping only what :mod:`bodyscan` says."""

    def __init__(self, headers: Headers) -> None:
        self.types: list[str] = [content_type(headers)]
        self.calendars: list[bytes] = []
        self.footer = False
        self._boundaries: set[bytes] = set()
        top = boundary_of(headers)
        if top is not None:
            self._boundaries.add(top)
        self._part: list[bytes] | None = None  # part header lines being read
        self._capture: list[bytes] | None = None
        self._size = 0
        self._encoding: str | None = None
        if is_calendar(headers):
            self._start_capture(headers)

    def feed(self, line: bytes) -> None:
        """One line of the body (with its line end)."""
        if line.startswith(b"--") and self._boundaries:
            stripped = line.rstrip()
            if stripped in self._boundaries or stripped[:-2] in self._boundaries:
                self._end_capture()
                self._part = [] if stripped not in {b + b"--" for b in self._boundaries} else None
                return
        if self._part is not None:
            self._part_header(line)
            return
        if self._capture is not None:
            if self._size + len(line) <= MAX_CALENDAR:
                self._capture.append(line)
                self._size += len(line)
            return
        if not self.footer and not line.startswith(b">") and _may_be_footer(line):
            self.footer = _FOOTER.search(line) is not None

    def finish(self) -> None:
        """The body has ended."""
        self._end_capture()
        self._part = None

    def _part_header(self, line: bytes) -> None:
        assert self._part is not None
        if line.strip() and sum(map(len, self._part)) < MAX_PART_HEADER:
            self._part.append(line)
            return
        if line.strip():
            return
        headers, _ = parse_header_block(self._part)
        self._part = None
        self.types.append(content_type(headers))
        nested = boundary_of(headers)
        if nested is not None:
            self._boundaries.add(nested)
        elif is_calendar(headers):
            self._start_capture(headers)

    def _start_capture(self, headers: Headers) -> None:
        if len(self.calendars) < MAX_CALENDARS:
            self._capture, self._size = [], 0
            self._encoding = headers.get("Content-Transfer-Encoding")

    def _end_capture(self) -> None:
        if self._capture is not None:
            self.calendars.append(decode_part(b"".join(self._capture), self._encoding))
            self._capture = None
