"""Reading ``DTSTART``/``DTEND`` values as aware UTC moments.

The three forms of RFC 5545 section 3.3.5, and a date:

- UTC: ``DTSTART:20260210T150000Z``;
- with a zone: ``DTSTART;TZID=Europe/Paris:20260210T150000``. Google Calendar writes IANA
  names; Outlook writes Windows names (``W. Europe Standard Time``), read through the table
  below (Unicode CLDR's mapping for the common ones); some tools prefix a path
  (``/mozilla.org/20050126_1/Europe/Paris``);
- floating (no zone): the calendar's ``X-WR-TIMEZONE`` (Google writes it), else the
  source's ``timezone`` option;
- a date (``VALUE=DATE``): an all-day event, returned as such for the source to skip.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engage_ics.calendar import Property

#: Windows time zone names Outlook writes, to IANA names (CLDR windowsZones, territory 001).
WINDOWS_ZONES = {
    "UTC": "UTC",
    "GMT Standard Time": "Europe/London",
    "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "E. Europe Standard Time": "Europe/Chisinau",
    "FLE Standard Time": "Europe/Kiev",
    "GTB Standard Time": "Europe/Bucharest",
    "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver",
    "Pacific Standard Time": "America/Los_Angeles",
    "E. South America Standard Time": "America/Sao_Paulo",
    "India Standard Time": "Asia/Kolkata",
    "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore",
    "Tokyo Standard Time": "Asia/Tokyo",
    "AUS Eastern Standard Time": "Australia/Sydney",
}


class TimeError(ValueError):
    """A time value that cannot be read; the message says what was expected."""


def zone(name: str) -> tzinfo:
    """The time zone a ``TZID`` names.

    Raises:
        TimeError: no IANA zone, Windows zone or path ending in one has that name.
    """
    cleaned = name.strip().strip('"')
    candidates = [cleaned, WINDOWS_ZONES.get(cleaned, "")]
    parts = cleaned.strip("/").split("/")
    candidates += ["/".join(parts[-2:]), parts[-1]]
    for candidate in filter(None, candidates):
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    raise TimeError(f"unknown time zone {cleaned!r} (expected an IANA or Windows zone name)")


def moment(prop: Property, floating: tzinfo) -> datetime | date:
    """The moment ``prop`` (a DTSTART or DTEND) names, in UTC; a date for an all-day value.

    Args:
        prop: The property.
        floating: The zone of a time written without one.

    Raises:
        TimeError: the value is not an iCalendar date or date-time, or names an unknown zone.
    """
    value = prop.value.strip()
    try:
        if prop.params.get("VALUE", "").upper() == "DATE" or len(value) == 8:
            return datetime.strptime(value, "%Y%m%d").date()
        if value.endswith(("Z", "z")):
            return datetime.strptime(value[:-1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        local = datetime.strptime(value, "%Y%m%dT%H%M%S")
    except ValueError:
        raise TimeError(
            f"expected a date-time such as 20260210T150000Z or 20260210T150000 (got {value!r})"
        ) from None
    where = zone(prop.params["TZID"]) if "TZID" in prop.params else floating
    return local.replace(tzinfo=where).astimezone(UTC)
