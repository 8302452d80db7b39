"""Aware-UTC time helpers; "now" is always injectable so every rule is testable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engage.errors import ValidationError


def utcnow() -> datetime:
    """The current moment as an aware UTC datetime."""
    return datetime.now(UTC)


def ensure_utc(value: datetime, what: str = "time") -> datetime:
    """Return ``value`` converted to UTC, refusing naive datetimes.

    Raises:
        ValidationError: ``value`` carries no timezone, so its moment is unknown.
    """
    if value.tzinfo is UTC:  # already UTC: the common case, checked first
        return value
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValidationError(
            f"{what}: expected a timezone-aware datetime (got naive {value.isoformat()!r})"
        )
    return value.astimezone(UTC)


def parse_as_of(text: str) -> datetime:
    """Parse an ISO 8601 moment given on the command line; a date alone means its end in UTC.

    A time without an offset is taken as UTC, since a person typing ``--as-of 2026-03-01T09:00``
    means the moment on the report's clock.

    Raises:
        ValidationError: the text is not ISO 8601.
    """
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"--as-of: expected an ISO 8601 date or time such as 2026-03-01 or "
            f"2026-03-01T09:00:00+00:00 (got {text!r})"
        ) from None
    if len(text.strip()) == 10:  # a bare date: evaluate at the end of that day
        value = value.replace(hour=23, minute=59, second=59)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_moment(text: str, what: str = "time") -> datetime:
    """Parse ISO 8601 text as an aware UTC moment; text without an offset is taken as UTC.

    Raises:
        ValidationError: the text is not ISO 8601.
    """
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{what}: expected ISO 8601 such as 2026-03-01T09:00:00Z (got {text!r})"
        ) from None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (the store's time column)."""
    return (ensure_utc(value) - EPOCH) // MICROSECOND


def from_micros(value: int) -> datetime:
    """Inverse of :func:`to_micros`."""
    return EPOCH + timedelta(0, 0, value)  # positional: keyword arguments cost twice the time


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
