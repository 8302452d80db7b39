"""Robust parsing of the mail headers engage reads: addresses, dates, Message-IDs, raw header blocks.

Real mail breaks the rules in every way, so nothing here raises on bad input:

- address lists in every shape real mail has (:mod:`engage_gmail.addresses`, re-exported
  here); several ``To``/``Cc`` headers are merged; entries without a usable address
  (``foo``, ``<>``) are dropped;
- dates accept comments anywhere (``(EDT)``, folded across lines), missing weekdays or
  seconds, two-digit years, a missing zone (taken as UTC) and ISO 8601; the mbox ``From_``
  line gives a fallback;
- raw header bytes are UTF-8 (RFC 6532) with stray bytes read as Latin-1, never an error;
  whitespace before the colon (obsolete syntax), junk lines and folded lines made of white
  space only are tolerated.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import attrs

from engage_gmail.addresses import (
    Address,
    AddressList,
    Group,
    parse_address_list,
    parse_addresses,
    strip_comments,
)
from engage_gmail.words import decode_bytes, decode_words

__all__ = [
    "Address",
    "AddressList",
    "Group",
    "Headers",
    "decode_bytes",
    "decode_words",
    "ends_headers",
    "is_from_line",
    "parse_address_list",
    "parse_addresses",
    "parse_date",
    "parse_from_line",
    "parse_header_block",
    "parse_message_id",
]


@attrs.frozen
class Headers:
    """A message's header fields in order; names compare case-insensitively."""

    fields: tuple[tuple[str, str], ...] = ()

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name`` (``Cc``, ``CC`` and ``cc`` alike)."""
        lowered = name.lower()
        return [value for key, value in self.fields if key.lower() == lowered]

    def get(self, name: str) -> str | None:
        """The first value of header ``name``, or None."""
        values = self.get_all(name)
        return values[0] if values else None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self.get_all(name))


# -- raw header blocks ----------------------------------------------------------------------

_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:[ \t]*(.*)$", re.DOTALL)


def continues_headers(line: bytes) -> bool:
    """True when ``line`` can belong to a header block: a continuation or a field."""
    line = line.rstrip(b"\r\n")
    return line[:1] in (b" ", b"\t") or _FIELD.match(line) is not None


def ends_headers(line: bytes, following: bytes) -> bool:
    """True when the blank ``line`` ends a header block, ``following`` being the next line.

    An empty line always ends it. A line of white space only is obsolete folding white space
    (RFC 5322 section 4.2) when the header block goes on after it (a continuation or a
    field follows); otherwise it ends the block too.
    """
    line = line.rstrip(b"\r\n")
    if not line:
        return True
    if line.strip():
        return False
    return not following.strip() or not continues_headers(following)


def parse_header_block(lines: Sequence[bytes]) -> tuple[Headers, int]:
    """Parse raw header lines (with or without line ends) into :class:`Headers`.

    Parsing stops at the first empty line (a line of white space only when no field or
    continuation follows it: see :func:`ends_headers`), or at a line that is neither a field
    nor a continuation and is not followed by a continuation (a message without the blank
    line).

    Returns:
        The headers, and how many of ``lines`` belonged to the header block.
    """
    fields: list[tuple[str, list[bytes]]] = []
    count = 0
    for index, raw in enumerate(lines):
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            following = lines[index + 1] if index + 1 < len(lines) else b""
            if ends_headers(line, following):
                return _headers(fields), index + 1
            count = index + 1
            continue
        if line[:1] in (b" ", b"\t"):
            if fields:
                fields[-1][1].append(line)
            count = index + 1
            continue
        match = _FIELD.match(line)
        if match is not None:
            fields.append((match.group(1).decode("ascii"), [match.group(2)]))
            count = index + 1
            continue
        following = lines[index + 1].rstrip(b"\r\n") if index + 1 < len(lines) else b""
        if fields and following[:1] in (b" ", b"\t"):
            count = index + 1  # a junk line inside a folded field: dropped
            continue
        return _headers(fields), index
    return _headers(fields), count


def _headers(fields: list[tuple[str, list[bytes]]]) -> Headers:
    return Headers(
        tuple(
            (name, " ".join(decode_bytes(part.strip()) for part in parts if part.strip()))
            for name, parts in fields
        )
    )


def parse_message_id(value: str | None) -> str | None:
    """A Message-ID without angle brackets, comments or white space (None when empty)."""
    if not value:
        return None
    text = "".join(strip_comments(value).split())
    if "<" in text:
        text = text[text.index("<") + 1 :]
        text = text.split(">", 1)[0]
    return text.strip("<>") or None


# -- dates ----------------------------------------------------------------------------------

_COLON_SPACE = re.compile(r"\s*:\s*")
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


def parse_date(value: str | None) -> datetime | None:
    """An aware UTC datetime from a Date header, or None when it cannot be read.

    A missing zone is taken as UTC, as RFC 5322 says of ``-0000``. An impossible date or
    zone offset (``+2400``, or one that moves the date past year 9999) is None too.
    """
    if not value:
        return None
    text = " ".join(strip_comments(value).split())
    text = _COLON_SPACE.sub(":", text)
    try:
        result = _read_date(text)
    except (ValueError, OverflowError, TypeError):  # an impossible date or zone offset
        return None
    return result if result is not None and result >= _EARLIEST else None


def _read_date(text: str) -> datetime | None:
    """The date in ``text`` as UTC; raises on an impossible date or zone offset."""
    parsed = email.utils.parsedate_tz(text)
    if parsed is not None:
        naive = datetime(*parsed[:6])
        offset = timezone(timedelta(seconds=parsed[9] or 0))
        return naive.replace(tzinfo=offset).astimezone(UTC)
    try:
        iso = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (iso if iso.tzinfo else iso.replace(tzinfo=UTC)).astimezone(UTC)


_FROM_LINE = re.compile(
    r"^From (?:\S+ at \S+|\S*)\s+(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),?\s+)?"
    r"(?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(?P<day>\d{1,2})\s+"
    r"(?P<time>\d{1,2}:\d{2}(?::\d{2})?)\s+(?:(?P<zone>[+-]\d{4}|[A-Z]{1,5})\s+)?(?P<year>\d{4})"
)


def is_from_line(line: bytes) -> bool:
    """True when ``line`` is an mbox ``From_`` separator (a sender and an asctime date)."""
    if not line.startswith(b"From "):
        return False
    return _FROM_LINE.match(line.decode("latin-1")) is not None


def parse_from_line(line: bytes | str) -> datetime | None:
    """The date of an mbox ``From_`` line (``From x Sun Aug  7 11:40:37 2022``), as UTC."""
    text = line.decode("latin-1") if isinstance(line, bytes) else line
    match = _FROM_LINE.match(text)
    if match is None:
        return None
    zone = match.group("zone")
    numeric = zone if zone and zone[0] in "+-" else "+0000"
    return parse_date(
        f"{match.group('day')} {match.group('month')} {match.group('year')} "
        f"{match.group('time')} {numeric}"
    )
