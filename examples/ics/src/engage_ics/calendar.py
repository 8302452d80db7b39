"""Reading iCalendar text (RFC 5545) into components, with the standard library.

Only what a meeting source needs: content lines unfolded, their parameters (quoted values
included) and values, grouped into components (``VEVENT``, ``VTIMEZONE`` ...) with the line
each property starts on, for messages. Nested components (a ``VALARM`` in an event) are kept
apart from their parent, so an alarm's ``DESCRIPTION`` never passes for the event's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import attrs


@attrs.frozen
class Property:
    """One content line: ``NAME;PARAM=value:VALUE``.

    Attributes:
        name: The property name, upper case (``DTSTART``).
        params: Parameter names (upper case) to values, quotes removed (``TZID``).
        value: The raw value (escapes left as written; see :func:`text`).
        line: The line of the file the property starts on (folded lines count from it).
    """

    name: str
    params: Mapping[str, str]
    value: str
    line: int


@attrs.frozen
class Component:
    """A ``BEGIN:NAME`` ... ``END:NAME`` block: its own properties, its sub-components."""

    name: str
    line: int
    properties: tuple[Property, ...]
    children: tuple[Component, ...] = ()

    def first(self, name: str) -> Property | None:
        """The first property called ``name``, or None."""
        return next((p for p in self.properties if p.name == name), None)

    def all(self, name: str) -> list[Property]:
        """Every property called ``name``, in order (``ATTENDEE``)."""
        return [p for p in self.properties if p.name == name]

    def walk(self, name: str) -> Iterator[Component]:
        """This component and every one below it called ``name``, depth first."""
        if self.name == name:
            yield self
        for child in self.children:
            yield from child.walk(name)


class CalendarError(ValueError):
    """The text is not iCalendar: ``LINE: what is wrong``."""


def unfold(text: str) -> Iterator[tuple[int, str]]:
    """Logical lines with the number of the line each starts on: a line beginning with a
    space or tab continues the one before (RFC 5545 section 3.1)."""
    current: str | None = None
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if raw[:1] in (" ", "\t") and current is not None:
            current += raw[1:]
            continue
        if current is not None:
            yield start, current
        current, start = raw, number
    if current is not None:
        yield start, current


def parse_line(line: str, number: int) -> Property:
    """Split one logical line into name, parameters and value.

    Raises:
        CalendarError: the line has no ``:`` outside quotes.
    """
    parts: list[str] = []
    piece: list[str] = []
    quoted = False
    for at, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char in ";:" and not quoted:
            parts.append("".join(piece))
            piece = []
            if char == ":":
                return _property(parts, line[at + 1 :], number)
            continue
        piece.append(char)
    raise CalendarError(f"{number}: not a content line (no ':' after its name): {line[:60]!r}")


def _property(parts: list[str], value: str, number: int) -> Property:
    name, *given = parts
    params = {}
    for param in given:
        key, _, raw = param.partition("=")
        params[key.strip().upper()] = raw.strip().strip('"')
    return Property(name.strip().upper(), params, value, number)


def parse(text: str) -> list[Component]:
    """The top-level components of iCalendar ``text`` (usually one ``VCALENDAR``).

    Raises:
        CalendarError: a BEGIN without its END, an END without its BEGIN, a line that is
            not a content line.
    """
    stack: list[tuple[str, int, list[Property], list[Component]]] = []
    top: list[Component] = []
    for number, line in unfold(text):
        if not line.strip():
            continue
        prop = parse_line(line, number)
        if prop.name == "BEGIN":
            stack.append((prop.value.strip().upper(), number, [], []))
        elif prop.name == "END":
            if not stack or stack[-1][0] != prop.value.strip().upper():
                raise CalendarError(f"{number}: END:{prop.value} without its BEGIN")
            name, start, props, children = stack.pop()
            component = Component(name, start, tuple(props), tuple(children))
            (stack[-1][3] if stack else top).append(component)
        elif stack:
            stack[-1][2].append(prop)
    if stack:
        name, start, _, _ = stack[-1]
        raise CalendarError(f"{start}: BEGIN:{name} without its END")
    return top


def text(value: str) -> str:
    """A TEXT value unescaped: ``\\,`` ``\\;`` ``\\\\`` and ``\\n``."""
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            out.append("\n" if nxt in "nN" else nxt)
        else:
            out.append(char)
    return "".join(out)


def address(prop: Property) -> str | None:
    """The email address of an ``ORGANIZER`` or ``ATTENDEE`` (``mailto:``, any case), or None."""
    value = prop.value.strip()
    if value[:7].lower() != "mailto:":
        return None
    email = value[7:].strip().lower()
    return email if "@" in email else None
