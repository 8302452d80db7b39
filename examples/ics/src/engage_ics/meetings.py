"""One calendar event (``VEVENT``) as engage sees it: a meeting with a customer, or why not.

Pure: no files, no clock of its own; :func:`read_event` is given everything it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo

from engage.adapters import Problem, Skipped
from engage.identity import Identity
from engage.models import Channel, Direction, Touchpoint
from engage_ics.calendar import Component, Property, address, text
from engage_ics.times import TimeError, moment

#: What :func:`read_event` makes of an event.
Outcome = Touchpoint | Skipped | Problem


def read_event(
    event: Component,
    *,
    source: str,
    where: str,
    identity: Identity,
    floating: tzinfo,
    now: datetime,
) -> Outcome:
    """A meeting touchpoint from ``event``, or what it was instead.

    - Its id is the event's ``UID`` (with ``RECURRENCE-ID`` for a changed occurrence of a
      repeating event), so an export read twice, or re-exported, gives the same ids.
    - Its customer is the organizer's, when the organizer is outside ``identity``'s
      domains (an inbound meeting); else the first outside attendee's (outbound).
    - Skipped: cancelled (``STATUS:CANCELLED``), all-day (a date, not a time), not held yet
      (ending after ``now``), internal (no one from outside).
    - A Problem, ``FILE:LINE: PROPERTY: what is wrong``: no ``UID``, no or an unreadable
      ``DTSTART``/``DTEND``, an end before the start.

    Args:
        event: The ``VEVENT``.
        source: The source's config name (``context.name``).
        where: The file, as messages name it.
        identity: Our domains and the customer-key rules.
        floating: The zone of times written without one.
        now: The moment of the pull.
    """
    status = event.first("STATUS")
    if status is not None and status.value.strip().upper() == "CANCELLED":
        return Skipped("cancelled")
    uid = event.first("UID")
    if uid is None or not uid.value.strip():
        return Problem(f"{where}:{event.line}: UID: missing; event skipped")
    times = _times(event, where, floating)
    if not isinstance(times, tuple):
        return times
    start, end = times
    if end > now:
        return Skipped("not held yet")
    people = _people(event, identity)
    if people is None:
        return Skipped("internal")
    customer, contact, direction, owner = people
    recurrence = event.first("RECURRENCE-ID")
    external_id = uid.value.strip()
    if recurrence is not None:
        occurrence = _moment_or_none(recurrence, floating)
        if isinstance(occurrence, datetime):
            external_id += "/" + occurrence.strftime("%Y%m%dT%H%M%SZ")
    summary = event.first("SUMMARY")
    subject = text(summary.value).strip() if summary is not None else ""
    return Touchpoint(
        source=source,
        external_id=external_id,
        customer=customer,
        occurred_at=start,
        channel=Channel.MEETING,
        direction=direction,
        contact_email=contact,
        owner=owner,
        subject=subject or None,
    )


def _times(event: Component, where: str, floating: tzinfo) -> tuple[datetime, datetime] | Outcome:
    """The event's start and end in UTC (the end is the start when not given)."""
    found: dict[str, datetime] = {}
    lines: dict[str, int] = {}
    for name in ("DTSTART", "DTEND"):
        prop = event.first(name)
        if prop is None:
            if name == "DTSTART":
                return Problem(f"{where}:{event.line}: DTSTART: missing; event skipped")
            continue
        try:
            value = moment(prop, floating)
        except TimeError as exc:
            return Problem(f"{where}:{prop.line}: {name}: {exc}; event skipped")
        if not isinstance(value, datetime):  # a date: the whole day, not a meeting
            return Skipped("all-day")
        found[name], lines[name] = value, prop.line
    start = found["DTSTART"]
    end = found.get("DTEND", start)
    if end < start:
        line = lines.get("DTEND", event.line)
        return Problem(f"{where}:{line}: DTEND: before DTSTART; event skipped")
    return start, end


def _moment_or_none(prop: Property, floating: tzinfo) -> datetime | date | None:
    try:
        return moment(prop, floating)
    except TimeError:
        return None


def _people(event: Component, identity: Identity) -> tuple[str, str, Direction, str | None] | None:
    """The customer, its contact, the direction and our owner; None when all are ours."""
    organizer_prop = event.first("ORGANIZER")
    organizer = address(organizer_prop) if organizer_prop is not None else None
    attendees = [a for a in map(address, event.all("ATTENDEE")) if a is not None]
    outside = _first(identity, [organizer, *attendees], outside=True)
    if outside is None:
        return None
    contact, customer = outside
    inbound = organizer is not None and organizer == contact
    direction = Direction.INBOUND if inbound else Direction.OUTBOUND
    ours = _first(identity, [organizer, *attendees], outside=False)
    return customer, contact, direction, ours[0] if ours is not None else None


def _first(
    identity: Identity, emails: list[str | None], *, outside: bool
) -> tuple[str, str] | None:
    """The first address outside (or inside) our domains, with its customer key."""
    is_ours: Callable[[str], bool] = identity.is_internal
    for email in emails:
        if email is None or is_ours(email) == outside:
            continue
        key = identity.customer_key(email) if outside else email
        if key is not None:
            return email, key
    return None
