"""The source's row-shaping options, merged over their preset: columns, values, skip/only,
lookups, attributes.

A ``preset`` (:mod:`engage_csv.presets`) supplies defaults for the same keys; the user's
keys win, key by key (a column per field, a value per value, a filter per header, a lookup
per column). The user's keys were checked by engage when it built
:class:`~engage_csv.options.CsvOptions`, so nothing here fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from engage_csv.options import CLOSED, LOOKUP_FIELDS, CsvLookup, CsvOptions
from engage_csv.presets import PRESETS

__all__ = ["CLOSED", "LOOKUP_FIELDS", "Column", "Lookup", "Settings", "build_settings", "fold"]


def fold(text: str) -> str:
    """A cell value as compared with configured values: trimmed, case-folded, spaces collapsed."""
    return " ".join(text.casefold().split())


@attrs.frozen
class Lookup:
    """One lookup: the ids in ``column`` are found by ``key`` in ``paths``, filling ``fields``.

    Attributes:
        column: The header of the column holding the id.
        paths: The files to look in, in order (as configured).
        key: The header of the id column in those files.
        fields: Engage field → header in the lookup files.
        preset: Set by a preset: the paths are beside the source's files, a missing one is
            left out, and ``required`` says whether none at all is an error.
        required: (Presets only) the lookup cannot be left out.
    """

    column: str
    paths: tuple[str, ...]
    key: str
    fields: Mapping[str, str]
    preset: str | None = None
    required: bool = True


@attrs.frozen
class Column:
    """Where a field is read: the first of ``headers`` the file has (and per row the first
    non-empty of them); ``required`` columns must be in the header (the user named them)."""

    headers: tuple[str, ...]
    required: bool


@attrs.frozen
class Settings:
    """The checked row-shaping options (see the module)."""

    preset: str | None
    columns: Mapping[str, Column]
    values: Mapping[str, Mapping[str, str]]
    skip: Mapping[str, Mapping[str, str]]
    only: Mapping[str, Mapping[str, str]]
    optional_filters: frozenset[str]
    lookups: tuple[Lookup, ...]
    attributes: tuple[str, ...]

    def fingerprint(self) -> dict[str, Any]:
        """What of these settings changes how a file parses, for the cursor's options hash."""
        return {
            "preset": self.preset,
            "columns": {f: [list(c.headers), c.required] for f, c in self.columns.items()},
            "values": self.values,
            "skip": self.skip,
            "only": self.only,
            "lookups": [attrs.asdict(lookup) for lookup in self.lookups],
            "attributes": list(self.attributes),
        }


def _strings(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _columns(user: Mapping[str, str | list[str]], preset: Mapping[str, Any]) -> dict[str, Column]:
    columns = {field: Column(_strings(h), False) for field, h in preset.items()}
    for field, headers in user.items():
        columns[field] = Column(_strings(headers), True)
    return columns


def _values(
    user: Mapping[str, Mapping[str, str]], preset: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {
        f: {fold(k): v for k, v in m.items()} for f, m in preset.items()
    }
    for field, mapping in user.items():
        for given, target in mapping.items():
            merged.setdefault(field, {})[fold(given)] = target.strip().lower()
    return merged


def _filters(
    user: Mapping[str, str | list[str]], preset: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, str]]:
    filters = {header: {fold(v): v for v in values} for header, values in preset.items()}
    for header, values in user.items():
        filters[header] = {fold(v): v for v in _strings(values)}
    return filters


def _lookup(column: str, spec: CsvLookup, preset: str | None) -> Lookup:
    return Lookup(column, _strings(spec.path), spec.key, dict(spec.fields), preset, spec.required)


def build_settings(options: CsvOptions) -> Settings:
    """Merge the row-shaping options over their preset."""
    name = options.preset
    preset: Mapping[str, Any] = PRESETS[name] if name is not None else {}
    lookups: dict[str, Lookup] = {
        column: _lookup(column, CsvLookup(**spec), name)
        for column, spec in preset.get("lookups", {}).items()
    }
    for column, spec in options.lookups.items():
        lookups[column] = _lookup(column, spec, None)
    preset_skip = preset.get("skip", {})
    preset_only = preset.get("only", {})
    user_filters = set(options.skip) | set(options.only)
    return Settings(
        preset=name,
        columns=_columns(options.columns, preset.get("columns", {})),
        values=_values(options.values, preset.get("values", {})),
        skip=_filters(options.skip, preset_skip),
        only=_filters(options.only, preset_only),
        optional_filters=frozenset((set(preset_skip) | set(preset_only)) - user_filters),
        lookups=tuple(lookups.values()),
        attributes=tuple(options.attributes),
    )
