"""Parsing of the small enumerated and numeric columns: channel, direction, outcome, feedback, open_work.

Each parser takes the cell text and returns the engage value, or raises :class:`FieldError`
whose message says what was expected; the source adds the file, line, field and value.
"""

from __future__ import annotations

import re

from engage.models import Channel, Direction


class FieldError(ValueError):
    """A cell that cannot be read; the message is the problem, without file, line or value."""


CHANNEL_SYNONYMS: dict[str, Channel] = {
    "email": Channel.EMAIL,
    "e-mail": Channel.EMAIL,
    "mail": Channel.EMAIL,
    "call": Channel.CALL,
    "phone": Channel.CALL,
    "phone call": Channel.CALL,
    "meeting": Channel.MEETING,
    "video call": Channel.MEETING,
    "visit": Channel.MEETING,
    "demo": Channel.MEETING,
    "note": Channel.NOTE,
    "feedback": Channel.FEEDBACK,
    "survey": Channel.FEEDBACK,
    "nps": Channel.FEEDBACK,
    "csat": Channel.FEEDBACK,
    "chat": Channel.CHAT,
    "sms": Channel.CHAT,
    "message": Channel.CHAT,
    "whatsapp": Channel.CHAT,
    "other": Channel.OTHER,
}

DIRECTION_SYNONYMS: dict[str, Direction] = {
    "in": Direction.INBOUND,
    "incoming": Direction.INBOUND,
    "received": Direction.INBOUND,
    "inbound": Direction.INBOUND,
    "out": Direction.OUTBOUND,
    "outgoing": Direction.OUTBOUND,
    "sent": Direction.OUTBOUND,
    "outbound": Direction.OUTBOUND,
    "internal": Direction.INTERNAL,
}

#: A call's or meeting's outcome → missed (no conversation took place).
OUTCOME_SYNONYMS: dict[str, bool] = {
    "missed": True,
    "missed call": True,
    "no answer": True,
    "unanswered": True,
    "voicemail": True,
    "left voicemail": True,
    "left message": True,
    "busy": True,
    "not reached": True,
    "no show": True,
    "connected": False,
    "completed": False,
    "answered": False,
    "held": False,
    "reached": False,
    "done": False,
}

_TRUE = frozenset({"yes", "true", "1", "y", "x"})
_FALSE = frozenset({"no", "false", "0", "n"})
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)$")


def _key(text: str) -> str:
    return " ".join(text.replace("_", " ").lower().split())


def parse_channel(text: str) -> Channel:
    """A channel from its name or a common synonym (case-insensitive); empty means email."""
    known = CHANNEL_SYNONYMS.get(text)  # most files spell it exactly: no normalising then
    if known is not None:
        return known
    key = _key(text)
    if not key:
        return Channel.EMAIL
    try:
        return CHANNEL_SYNONYMS[key]
    except KeyError:
        accepted = ", ".join(CHANNEL_SYNONYMS)
        raise FieldError(f"unknown channel; expected one of: {accepted}") from None


def parse_direction(text: str, channel: Channel) -> Direction:
    """A direction from its name or a synonym; empty means internal for notes, else outbound."""
    known = DIRECTION_SYNONYMS.get(text)
    if known is not None:
        return known
    key = _key(text)
    if not key:
        return Direction.INTERNAL if channel is Channel.NOTE else Direction.OUTBOUND
    try:
        return DIRECTION_SYNONYMS[key]
    except KeyError:
        accepted = ", ".join(DIRECTION_SYNONYMS)
        raise FieldError(f"unknown direction; expected one of: {accepted}") from None


def parse_outcome(text: str) -> bool:
    """Whether a call or meeting was missed, from its outcome; empty means it took place.

    Case-insensitive; spaces, underscores and hyphens are alike (``No-Answer`` is ``no answer``).
    """
    if not text:  # most rows: no outcome column, or an empty cell
        return False
    known = OUTCOME_SYNONYMS.get(text)
    if known is not None:
        return known
    key = " ".join(text.replace("_", " ").replace("-", " ").lower().split())
    if not key:
        return False
    try:
        return OUTCOME_SYNONYMS[key]
    except KeyError:
        missed = ", ".join(k for k, v in OUTCOME_SYNONYMS.items() if v)
        held = ", ".join(k for k, v in OUTCOME_SYNONYMS.items() if not v)
        raise FieldError(
            f"unknown outcome; expected one of: {missed} (missed) or {held} (took place)"
        ) from None


def _number(text: str) -> float:
    text = text.strip()
    if not _NUMBER.match(text):
        raise FieldError("not a number")
    return float(text.replace(",", "."))


def parse_feedback(text: str, scale: float) -> float | None:
    """A satisfaction score normalised to 0..1; empty means None.

    Accepts a bare number on ``scale`` (``9`` → 0.9 on 10), a fraction (``4/5``), a
    percentage (``80%``), and a decimal comma (``8,5``).
    """
    text = text.strip()
    if not text:
        return None
    expected = f"expected a number from 0 to {scale:g}, a fraction such as 4/5, or a percentage"
    try:
        if text.endswith("%"):
            value = _number(text[:-1]) / 100.0
        elif "/" in text:
            numerator, _, denominator = text.partition("/")
            bottom = _number(denominator)
            if bottom <= 0:
                raise FieldError("not a number")
            value = _number(numerator) / bottom
        else:
            value = _number(text) / scale
    except FieldError:
        raise FieldError(f"not a score; {expected}") from None
    if not 0.0 <= value <= 1.0:
        raise FieldError(f"out of range; {expected}")
    return value


def parse_flag(text: str) -> bool | None:
    """A yes/no cell: yes, true, 1, y, x are true; no, false, 0, n are false; empty is unknown.

    Unknown (None) leaves what the store already knows, so a file without the column never
    clears running work another source reported.
    """
    key = text.strip().lower()
    if not key:
        return None
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise FieldError("expected yes or no (yes/true/1/y/x or no/false/0/n)")
