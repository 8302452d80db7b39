"""Robust parsing of the mail headers engage reads: addresses, dates, Message-IDs, raw header blocks.

Real mail breaks the rules in every way, so nothing here raises on bad input:

- address lists are split on commas *before* RFC 2047 encoded words are decoded (a display
  name ``=?UTF-8?B?Rm9vLCBCYXI=?=`` decodes to ``Foo, Bar``), with quoted strings, nested
  comments, route addresses, groups (``A Group: a@x, b@y;``, ``Undisclosed recipients:;``)
  and old ``addr (Name)`` comment names understood; several ``To``/``Cc`` headers are merged;
  entries without a usable address (``foo``, ``<>``) are dropped;
- dates accept comments anywhere (``(EDT)``, folded across lines), missing weekdays or
  seconds, two-digit years, a missing zone (taken as UTC) and ISO 8601; the mbox ``From_``
  line gives a fallback;
- raw header bytes are UTF-8 (RFC 6532) with stray bytes read as Latin-1, never an error;
  whitespace before the colon (obsolete syntax) and junk lines are tolerated.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email.utils
import quopri
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone

import attrs


@attrs.frozen
class Address:
    """One mailbox: a lower-cased ``email`` and the display name, when there is one."""

    email: str
    name: str | None = None


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


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("engage-latin1", _latin1_fallback)


def decode_bytes(raw: bytes) -> str:
    """Header bytes as text: UTF-8, with any byte that is not valid UTF-8 read as Latin-1."""
    return raw.decode("utf-8", errors="engage-latin1")


def parse_header_block(lines: Sequence[bytes]) -> tuple[Headers, int]:
    """Parse raw header lines (with or without line ends) into :class:`Headers`.

    Parsing stops at the first empty line, or at a line that is neither a field nor a
    continuation and is not followed by a continuation (a message without the blank line).

    Returns:
        The headers, and how many of ``lines`` belonged to the header block.
    """
    fields: list[tuple[str, list[bytes]]] = []
    count = 0
    for index, raw in enumerate(lines):
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            if not line:
                return _headers(fields), index + 1
            count = index + 1  # an obsolete whitespace-only line: folding white space
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


# -- RFC 2047 encoded words -----------------------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")


def _decode_word(match: re.Match[str]) -> str:
    charset, encoding, text = match.group(1).split("*")[0], match.group(2).upper(), match.group(3)
    try:
        if encoding == "B":
            data = base64.b64decode(text + "=" * (-len(text) % 4))
        else:
            data = quopri.decodestring(text.replace("_", " ").encode("ascii"), header=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return match.group(0)
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="engage-latin1")


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words (``=?UTF-8?B?...?=``) wherever they appear; keep the rest."""
    if "=?" not in text:
        return text
    return _ENCODED_WORD.sub(_decode_word, _BETWEEN_WORDS.sub(r"\1\2", text))


# -- addresses ------------------------------------------------------------------------------

_SPECIALS = '"(<,;: \t\r\n'


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    return "".join(out), i


def _read_comment(text: str, start: int) -> tuple[str, int]:
    depth, i, out = 0, start, []
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == "(":
            depth += 1
            if depth > 1:
                out.append(char)
        elif char == ")":
            depth -= 1
            if depth == 0:
                return "".join(out), i + 1
            out.append(char)
        else:
            out.append(char)
        i += 1
    return "".join(out), i


def strip_comments(text: str) -> str:
    """``text`` without RFC 5322 comments (nested parentheses), quoted strings left alone."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "(":
            _, i = _read_comment(text, i)
            out.append(" ")
        elif char == '"':
            _, end = _read_quoted(text, i)
            out.append(text[i:end])
            i = end
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _clean_addr(text: str) -> str | None:
    addr = "".join(strip_comments(text).split())
    if ":" in addr:  # an obsolete route: @a,@b:user@host
        addr = addr.rsplit(":", 1)[1]
    addr = addr.strip("<>").lower()
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or domain.startswith(".") or domain.endswith("."):
        return None
    return addr


class _Entry:
    """The pieces of one address-list entry while it is read."""

    def __init__(self) -> None:
        self.words: list[str] = []  # display-name words; "" marks white space
        self.raw: list[str] = []  # the entry's text outside comments, for a bare address
        self.comments: list[str] = []
        self.angle: str | None = None

    def address(self) -> Address | None:
        if self.angle is not None:
            addr = _clean_addr(self.angle)
            name = _name(self.words) or _name_from_comments(self.comments)
        else:
            addr = _clean_addr("".join(self.raw))
            name = _name_from_comments(self.comments)
        return Address(addr, name) if addr else None


def _name(words: list[str]) -> str | None:
    text = " ".join(" ".join(word for word in words if word).split())
    text = decode_words(text).strip()
    return " ".join(text.split()) or None


def _name_from_comments(comments: list[str]) -> str | None:
    return _name([comment for comment in comments if comment.strip()][:1])


def _entries(text: str) -> Iterator[_Entry]:
    entry, i = _Entry(), 0
    while i < len(text):
        char = text[i]
        if char == '"':
            word, i = _read_quoted(text, i)
            entry.words.append(word)
            entry.raw.append('"' + word + '"')
        elif char == "(":
            comment, i = _read_comment(text, i)
            entry.comments.append(comment)
        elif char == "<":
            end = text.find(">", i)
            end = len(text) if end < 0 else end
            entry.angle = text[i + 1 : end]
            i = end + 1
        elif char in ",;":
            yield entry
            entry, i = _Entry(), i + 1
        elif char == ":":
            entry, i = _Entry(), i + 1  # a group's name: its members follow
        elif char in " \t\r\n":
            entry.words.append("")
            i += 1
        else:
            j = i
            while j < len(text) and text[j] not in _SPECIALS:
                j += 1
            entry.words.append(text[i:j])
            entry.raw.append(text[i:j])
            i = j
    yield entry


def parse_addresses(values: Iterable[str]) -> list[Address]:
    """Every usable address in one or more address-list header values, first occurrence kept.

    Entries with no address (bare words, ``<>``, empty groups) are left out.
    """
    found: dict[str, Address] = {}
    for value in values:
        for entry in _entries(value):
            address = entry.address()
            if address is not None and address.email not in found:
                found[address.email] = address
    return list(found.values())


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

    A missing zone is taken as UTC, as RFC 5322 says of ``-0000``.
    """
    if not value:
        return None
    text = " ".join(strip_comments(value).split())
    text = _COLON_SPACE.sub(":", text)
    parsed = email.utils.parsedate_tz(text)
    if parsed is not None:
        try:
            naive = datetime(*parsed[:6])
        except ValueError:
            return None
        offset = timezone(timedelta(seconds=parsed[9] or 0))
        result = naive.replace(tzinfo=offset).astimezone(UTC)
    else:
        try:
            iso = datetime.fromisoformat(text)
        except ValueError:
            return None
        result = (iso if iso.tzinfo else iso.replace(tzinfo=UTC)).astimezone(UTC)
    return result if result >= _EARLIEST else None


_FROM_LINE = re.compile(
    r"^From \S*\s+(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),?\s+)?"
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
