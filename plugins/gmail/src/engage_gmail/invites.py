"""Calendar invitations (RFC 5545 ``text/calendar`` parts, ``.ics`` files), read just enough.

Of an iCalendar object this reads the ``METHOD`` and the first ``VEVENT``'s ``UID``,
``SEQUENCE``, ``DTSTART`` and the replying attendee's ``PARTSTAT``. ``DTSTART`` is read
with its ``TZID`` (an IANA name, a Mozilla ``/mozilla.org/.../Europe/Berlin`` path, a common
Windows name such as ``W. Europe Standard Time``, the ``VTIMEZONE``'s ``X-LIC-LOCATION`` or
``X-ENTOURAGE-CFTIMEZONE``, else its STANDARD and DAYLIGHT offsets, chosen by their rules'
months),
as UTC (``...Z``), as floating time (taken as UTC) or as a ``DATE`` (midnight UTC). Nothing
here raises: what cannot be read gives None.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from engage_gmail.words import decode_bytes

#: Windows zone names Outlook writes as TZID, to IANA names (the common ones).
WINDOWS_ZONES = {
    "utc": "UTC",
    "gmt standard time": "Europe/London",
    "w. europe standard time": "Europe/Berlin",
    "romance standard time": "Europe/Paris",
    "central europe standard time": "Europe/Budapest",
    "central european standard time": "Europe/Warsaw",
    "e. europe standard time": "Europe/Chisinau",
    "fle standard time": "Europe/Kiev",
    "gtb standard time": "Europe/Bucharest",
    "russian standard time": "Europe/Moscow",
    "eastern standard time": "America/New_York",
    "central standard time": "America/Chicago",
    "mountain standard time": "America/Denver",
    "pacific standard time": "America/Los_Angeles",
    "india standard time": "Asia/Kolkata",
    "china standard time": "Asia/Shanghai",
    "tokyo standard time": "Asia/Tokyo",
    "singapore standard time": "Asia/Singapore",
    "aus eastern standard time": "Australia/Sydney",
}

_OFFSET = re.compile(r"^([+-])(\d{2})(\d{2})(\d{2})?$")

#: VTIMEZONE properties that name the IANA zone (Lightning, Outlook for Mac).
_LOCATIONS = ("X-LIC-LOCATION", "X-ENTOURAGE-CFTIMEZONE")


@attrs.frozen
class Invite:
    """What engage needs of one invitation.

    Attributes:
        uid: The event's UID (the same in every mailbox and every update).
        method: ``REQUEST``, ``CANCEL``, ``REPLY``, ``PUBLISH``... (upper case).
        sequence: The revision (later updates have a higher one).
        start: When the meeting starts, in UTC.
        declined: A reply whose attendee declined.
    """

    uid: str
    method: str
    sequence: int
    start: datetime
    declined: bool = False


def _lines(data: bytes) -> list[str]:
    text = decode_bytes(data).replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    for line in text.split("\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1] += line[1:]
        elif line.strip():
            out.append(line.rstrip())
    return out


def _split(line: str) -> tuple[str, dict[str, str], str]:
    """``NAME;P=V;Q="W":value`` → (NAME, {P: V, Q: W}, value)."""
    head, value, i, quoted = line, "", 0, False
    for i, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            head, value = line[:i], line[i + 1 :]
            break
    name, *params = re.split(r';(?=(?:[^"]*"[^"]*")*[^"]*$)', head)
    found = {}
    for param in params:
        key, _, val = param.partition("=")
        found[key.strip().upper()] = val.strip().strip('"')
    return name.strip().upper(), found, value.strip()


@attrs.define
class _Zone:
    """What a VTIMEZONE says: a location name, and its standard and daylight rules."""

    location: str = ""
    offsets: dict[str, str] = attrs.field(factory=dict)  # STANDARD/DAYLIGHT -> TZOFFSETTO
    months: dict[str, int] = attrs.field(factory=dict)  # STANDARD/DAYLIGHT -> BYMONTH

    def at(self, moment: datetime) -> tzinfo | None:
        """The offset at ``moment``: daylight between the two rules' months (exact except
        within the changeover months themselves), else standard."""
        standard = _offset(self.offsets.get("STANDARD", ""))
        daylight = _offset(self.offsets.get("DAYLIGHT", ""))
        begin, end = self.months.get("DAYLIGHT"), self.months.get("STANDARD")
        if daylight is not None and begin and end:
            inside = begin <= moment.month < end if begin < end else not end <= moment.month < begin
            if inside or standard is None:
                return daylight
        return standard or daylight


def _offset(text: str) -> tzinfo | None:
    match = _OFFSET.match(text.strip())
    if match is None:
        return None
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def _iana(name: str | None) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _zone(tzid: str, zones: dict[str, _Zone], moment: datetime) -> tzinfo | None:
    described = zones.get(tzid, _Zone())
    for name in (
        tzid,
        "/".join(tzid.strip("/").split("/")[-2:]),
        WINDOWS_ZONES.get(tzid.lower()),
        described.location,
    ):
        found = _iana(name)
        if found is not None:
            return found
    return described.at(moment)


def _start(value: str, params: dict[str, str], zones: dict[str, _Zone]) -> datetime | None:
    try:
        if params.get("VALUE", "").upper() == "DATE" or re.fullmatch(r"\d{8}", value):
            return datetime.strptime(value[:8], "%Y%m%d").replace(tzinfo=UTC)
        moment = datetime.strptime(value.rstrip("Zz")[:15], "%Y%m%dT%H%M%S")
    except ValueError:
        return None
    if value.upper().endswith("Z"):
        return moment.replace(tzinfo=UTC)
    zone = _zone(params["TZID"], zones, moment) if "TZID" in params else None
    return moment.replace(tzinfo=zone or UTC).astimezone(UTC)


def parse_invite(data: bytes) -> Invite | None:
    """The invitation in an iCalendar object, or None when it has no usable VEVENT."""
    method, stack = "", []
    event: dict[str, tuple[dict[str, str], str]] = {}
    zones: dict[str, _Zone] = {}
    zone = _Zone()
    found = False
    for line in _lines(data):
        name, params, value = _split(line)
        if name == "BEGIN":
            stack.append(value.upper())
            continue
        if name == "END":
            if stack and stack[-1] == "VEVENT":
                found = True
            if stack:
                stack.pop()
            if found:
                break
            continue
        where = stack[-1] if stack else ""
        if where == "VCALENDAR" and name == "METHOD":
            method = value.upper()
        elif where == "VTIMEZONE" and name == "TZID":
            zone = zones.setdefault(value, _Zone())
        elif where == "VTIMEZONE" and name in _LOCATIONS:
            zone.location = value
        elif where in ("STANDARD", "DAYLIGHT") and name == "TZOFFSETTO":
            zone.offsets.setdefault(where, value)
        elif where in ("STANDARD", "DAYLIGHT") and name == "RRULE":
            month = re.search(r"BYMONTH=(\d{1,2})", value.upper())
            if month is not None:
                zone.months.setdefault(where, int(month.group(1)))
        elif where == "VEVENT" and name not in event:
            event[name] = (params, value)
    if "UID" not in event or "DTSTART" not in event:
        return None
    start = _start(event["DTSTART"][1], event["DTSTART"][0], zones)
    if start is None:
        return None
    try:
        sequence = int(event.get("SEQUENCE", ({}, "0"))[1] or 0)
    except ValueError:
        sequence = 0
    partstat = event.get("ATTENDEE", ({}, ""))[0].get("PARTSTAT", "").upper()
    return Invite(
        uid=event["UID"][1],
        method=method or "REQUEST",
        sequence=sequence,
        start=start,
        declined=method == "REPLY" and partstat == "DECLINED",
    )
