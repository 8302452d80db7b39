"""Reading the dates and times people put in spreadsheets.

:class:`DateParser` accepts ISO 8601 and the common spreadsheet forms (``2024/03/05``,
``05.03.2024``, ``25/03/2024``, ``03/25/2024 2:30 PM``, ``Mar 5, 2024``, ``5-Mar-2024``...).
A numeric date whose first two parts could each be the day or the month (``05/03/2024``) is
read in the order the file's own unambiguous dates show (:attr:`DateParser.order`, found by
the source from a row such as ``18/03/2025``); with no such row it is refused as ambiguous
(:class:`Ambiguous`), and the hint is a ``date_format`` matching the cell, time included
(:func:`format_for`). Times without an offset are in the configured zone; every result is
converted to UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from engage_csv.fields import FieldError

_TIME = (
    r"(?:,?[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,6})\d*)?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
    r"(?:\s*(?P<tz>[Zz]|UTC|GMT|[+-]\d{2}(?::?\d{2})?))?\s*$"
)
_WEEKDAY = r"(?:[A-Za-z]+\.?,?\s+)?"
_NUMERIC = re.compile(
    r"^\s*(?P<a>\d{1,4})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})" + _TIME
)
_MONTH_FIRST = re.compile(
    r"^\s*"
    + _WEEKDAY
    + r"(?P<mon>[A-Za-z]{3,9})\.?[\s\-]+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?[\s\-]+(?P<y>\d{4})"
    + _TIME
)
_DAY_FIRST = re.compile(
    r"^\s*"
    + _WEEKDAY
    + r"(?P<d>\d{1,2})(?:st|nd|rd|th)?[\s\-/.]*(?P<mon>[A-Za-z]{3,9})\.?,?[\s\-/.]+(?P<y>\d{2,4})"
    + _TIME
)
_MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
MONTHS: dict[str, int] = {
    **{name: number for number, name in enumerate(_MONTH_NAMES, 1)},
    **{name[:3]: number for number, name in enumerate(_MONTH_NAMES, 1)},
    "sept": 9,
}
UNRECOGNISED = (
    "not a date I recognise; use ISO 8601 (2024-03-05 or 2024-03-05T14:30:00Z), "
    "a form such as 2024/03/05, 25/03/2024 or Mar 5, 2024, or set date_format"
)


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        return year + (2000 if year < 69 else 1900)
    if len(text) != 4:
        raise FieldError(UNRECOGNISED)
    return year


def _zone(text: str | None, default: tzinfo) -> tzinfo:
    if text is None:
        return default
    if text.upper() in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
    if minutes >= 24 * 60:
        raise FieldError("not a valid time zone offset")
    return timezone(sign * timedelta(minutes=minutes))


def _build(year: int, month: int, day: int, match: re.Match[str], default: tzinfo) -> datetime:
    hour = int(match["H"] or 0)
    minute = int(match["M"] or 0)
    second = int(match["S"] or 0)
    micro = int((match["f"] or "0").ljust(6, "0"))
    ampm = match["ampm"]
    if ampm:
        if not 1 <= hour <= 12:
            raise FieldError("not a valid time (12-hour clock with an hour outside 1-12)")
        hour = hour % 12 + (12 if ampm[0] in "Pp" else 0)
    try:
        return datetime(
            year, month, day, hour, minute, second, micro, tzinfo=_zone(match["tz"], default)
        )
    except ValueError:
        raise FieldError("not a valid date or time") from None


class Ambiguous(FieldError):
    """A numeric date whose day and month could be either way round.

    Attributes:
        formats: ``date_format`` values matching the cell: (day first, month first).
    """

    def __init__(self, formats: tuple[str, str]) -> None:
        super().__init__(
            f'ambiguous day/month; set date_format = "{formats[0]}" (day first) '
            f'or "{formats[1]}" (month first)'
        )
        self.formats = formats


def _literal(text: str) -> str:
    return text.replace("%", "%%")


def format_for(text: str, day_first: bool) -> str | None:
    """A ``strptime`` format that reads ``text`` (a numeric date, maybe with a time and zone).

    ``day_first`` says whether the first part is the day. None when ``text`` is not numeric.
    """
    match = _NUMERIC.match(text.strip())
    if match is None or len(match["a"]) > 2:
        return None
    text = text.strip()
    sep = _literal(match["sep"])
    year = "%Y" if len(match["c"]) == 4 else "%y"
    first, second = ("%d", "%m") if day_first else ("%m", "%d")
    out = f"{first}{sep}{second}{sep}{year}"
    if match["H"]:
        hour = "%I" if match["ampm"] else "%H"
        out += _literal(text[match.end("c") : match.start("H")]) + f"{hour}:%M"
        last = match.end("M")
        if match["S"]:
            out += ":%S"
            last = match.end("S")
        if match["f"]:
            out += _literal(text[match.end("S") : match.start("f")]) + "%f"
            last = match.end("f")
        if match["ampm"]:
            out += _literal(text[last : match.start("ampm")]) + "%p"
            last = match.end("ampm")
    else:
        last = match.end("c")
    if match["tz"]:
        gap = _literal(text[last : match.start("tz")])
        out += gap + ("%z" if match["tz"][0] in "+-Zz" else _literal(match["tz"]))
    return out


def evidence(text: str) -> str | None:
    """The day/month order a numeric date proves: ``"dmy"`` (25/03), ``"mdy"`` (03/25), or None."""
    match = _NUMERIC.match(text.strip())
    if match is None or len(match["a"]) > 2:
        return None
    first, second = int(match["a"]), int(match["b"])
    if first > 12 >= second >= 1:
        return "dmy"
    if second > 12 >= first >= 1:
        return "mdy"
    return None


class DateParser:
    """Parses ``occurred_at`` cells into aware UTC datetimes.

    Args:
        zone: The zone of times written without an offset (and of date-only values, which
            mean midnight there).
        date_format: A :func:`~datetime.datetime.strptime` format that replaces inference.
    """

    def __init__(self, zone: tzinfo, date_format: str | None = None) -> None:
        self.zone = zone
        self.date_format = date_format
        #: The day/month order of ambiguous dates (``"dmy"`` or ``"mdy"``), once known.
        self.order: str | None = None

    def __call__(self, text: str) -> datetime:
        """The moment ``text`` names, in UTC.

        Raises:
            FieldError: the text is empty, unrecognised, invalid, ambiguous, or does not
                match ``date_format``.
        """
        if self.date_format is None:  # most exports: ISO 8601 in UTC, read at once
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                pass
            else:
                if value.tzinfo is UTC:
                    return value
        text = text.strip()
        if not text:
            raise FieldError("missing; every row needs a date")
        value = self._parse(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.zone)
        return value.astimezone(UTC)

    def _parse(self, text: str) -> datetime:
        if self.date_format is not None:
            try:
                return datetime.strptime(text, self.date_format)
            except ValueError:
                fits = format_for(text, self.date_format.lstrip().startswith("%d"))
                hint = f'; this cell matches date_format = "{fits}"' if fits else ""
                raise FieldError(f"does not match date_format {self.date_format!r}{hint}") from None
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
        match = _NUMERIC.match(text)
        if match:
            return self._numeric(match)
        match = _MONTH_FIRST.match(text) or _DAY_FIRST.match(text)
        if match:
            month = MONTHS.get(match["mon"].lower())
            if month is None:
                raise FieldError(UNRECOGNISED)
            return _build(_year(match["y"]), month, int(match["d"]), match, self.zone)
        raise FieldError(UNRECOGNISED)

    def _numeric(self, match: re.Match[str]) -> datetime:
        a, b, c = match["a"], match["b"], match["c"]
        if len(a) == 4:  # year first: 2024/03/05
            if len(c) > 2:
                raise FieldError(UNRECOGNISED)
            return _build(int(a), int(b), int(c), match, self.zone)
        if len(a) == 3:
            raise FieldError(UNRECOGNISED)
        first, second, year = int(a), int(b), _year(c)
        if first == 0 or second == 0 or (first > 12 and second > 12):
            raise FieldError("not a valid date")
        if first > 12 or first == second:
            day, month = first, second
            if self.order is None and first != second:
                self.order = "dmy"  # the file's own rows prove the order
        elif second > 12:
            day, month = second, first
            if self.order is None:
                self.order = "mdy"
        elif self.order == "dmy":
            day, month = first, second
        elif self.order == "mdy":
            day, month = second, first
        else:
            text = match.string
            raise Ambiguous(
                (format_for(text, True) or "%d/%m/%Y", format_for(text, False) or "%m/%d/%Y")
            )
        return _build(year, month, day, match, self.zone)
