"""Reading the closed-set columns (channel, direction, outcome, open_work) through the value maps.

The ``values`` option maps a file's own words to engage's names (``"Prep" = "note"``),
case-insensitively; what it does not map goes to the built-in synonyms
(:mod:`engage_csv.fields`). A value neither knows is refused with the values without a
mapping seen so far in this pull and the line of configuration that would map them; they
are also kept for ``engage check`` (:class:`~engage.preview.Unmapped`).
"""

from __future__ import annotations

from collections.abc import Mapping

from engage.models import Channel, Direction
from engage_csv.fields import (
    FieldError,
    parse_channel,
    parse_direction,
    parse_flag,
    parse_outcome,
)
from engage_csv.settings import CLOSED, fold

#: Distinct unmapped values kept per field (for messages and the preview).
MAX_UNMAPPED = 20


def map_line(field: str, values: list[str]) -> str:
    """The configuration that would map ``values`` of ``field``: ``values = { channel = { "Prep" = "?" } }``."""
    pairs = ", ".join(f'"{value}" = "?"' for value in values)
    return f"values = {{ {field} = {{ {pairs} }} }}"


class ValueMaps:
    """The value maps of one source, and the unmapped values each field met."""

    def __init__(self, maps: Mapping[str, Mapping[str, str]]) -> None:
        self._channel = {k: Channel(v) for k, v in maps.get("channel", {}).items()}
        self._direction = {k: Direction(v) for k, v in maps.get("direction", {}).items()}
        self._outcome = {k: v == "missed" for k, v in maps.get("outcome", {}).items()}
        self._flag = {k: v == "yes" for k, v in maps.get("open_work", {}).items()}
        #: field → unmapped values in the order first seen (a dict as an ordered set)
        self.unmapped: dict[str, dict[str, None]] = {field: {} for field in CLOSED}

    def _refuse(self, field: str, text: str, error: FieldError) -> FieldError:
        seen = self.unmapped[field]
        value = text.strip()
        if value not in seen and len(seen) < MAX_UNMAPPED:
            seen[value] = None
        names = ", ".join(CLOSED[field])
        return FieldError(
            f"{error}; or map it: {map_line(field, list(seen))} with each ? one of: {names} "
            f"(values without a mapping so far: {', '.join(seen)})"
        )

    def channel(self, text: str) -> Channel:
        """The channel a cell names (empty means email)."""
        if self._channel:
            hit = self._channel.get(fold(text))
            if hit is not None:
                return hit
        try:
            return parse_channel(text)
        except FieldError as error:
            raise self._refuse("channel", text, error) from None

    def direction(self, text: str, channel: Channel) -> Direction:
        """The direction a cell names (empty: internal for notes, else outbound)."""
        if self._direction:
            hit = self._direction.get(fold(text))
            if hit is not None:
                return hit
        try:
            return parse_direction(text, channel)
        except FieldError as error:
            raise self._refuse("direction", text, error) from None

    def outcome(self, text: str) -> bool:
        """Whether a call or meeting was missed (empty: it took place)."""
        if self._outcome and text:
            hit = self._outcome.get(fold(text))
            if hit is not None:
                return hit
        try:
            return parse_outcome(text)
        except FieldError as error:
            raise self._refuse("outcome", text, error) from None

    def open_work(self, text: str) -> bool | None:
        """Whether the customer has running work (empty: unknown)."""
        if self._flag and text:
            hit = self._flag.get(fold(text))
            if hit is not None:
                return hit
        try:
            return parse_flag(text)
        except FieldError as error:
            raise self._refuse("open_work", text, error) from None
