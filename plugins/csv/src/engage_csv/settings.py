"""The source's row-shaping options, checked once: columns, values, skip/only, lookups, attributes.

A ``preset`` (:mod:`engage_csv.presets`) supplies defaults for the same keys; the user's
keys win, key by key (a column per field, a value per value, a filter per header, a lookup
per column). Everything here raises :class:`~engage.errors.ConfigError` naming the table
and the key, so a typo is found before any file is read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from engage.errors import ConfigError
from engage.models import Channel
from engage_csv.header import FIELDS
from engage_csv.presets import PRESETS

#: The fields with a closed set of values, and engage's names for them.
CLOSED: dict[str, tuple[str, ...]] = {
    "channel": tuple(channel.value for channel in Channel),
    "direction": ("inbound", "outbound", "internal"),
    "outcome": ("missed", "held"),
    "open_work": ("yes", "no"),
}

#: The fields a lookup can fill from the row it finds.
LOOKUP_FIELDS: tuple[str, ...] = tuple(f for f in FIELDS if f not in ("id", "occurred_at"))


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


def _strings(value: Any, where: str, what: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, list | tuple)
        or not items
        or not all(isinstance(i, str) and i.strip() for i in items)
    ):
        raise ConfigError(f"{where}: {what} must be a header or a list of them (got {value!r})")
    return tuple(items)


def _table(value: Any, where: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: {what} must be a table (got {value!r})")
    return value


def _columns(user: Mapping[str, Any], preset: Mapping[str, Any], where: str) -> dict[str, Column]:
    columns = {f: Column(_strings(h, where, f"columns.{f}"), False) for f, h in preset.items()}
    for field, headers in _table(user, where, "columns").items():
        if field not in FIELDS:
            raise ConfigError(
                f"{where}: columns: unknown field '{field}' (expected one of: {', '.join(FIELDS)})"
            )
        if not isinstance(headers, str | list) or not headers:
            raise ConfigError(f"{where}: columns: '{field}' must name a header (got {headers!r})")
        columns[field] = Column(_strings(headers, where, f"columns: '{field}'"), True)
    return columns


def _values(
    user: Mapping[str, Any], preset: Mapping[str, Mapping[str, str]], where: str
) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {
        f: {fold(k): v for k, v in m.items()} for f, m in preset.items()
    }
    for field, mapping in _table(user, where, "values").items():
        if field not in CLOSED:
            raise ConfigError(
                f"{where}: values: '{field}' has no closed set of values to map "
                f"(expected one of: {', '.join(CLOSED)})"
            )
        allowed = CLOSED[field]
        for given, target in _table(mapping, where, f"values.{field}").items():
            if not isinstance(target, str) or target.strip().lower() not in allowed:
                raise ConfigError(
                    f'{where}: values.{field}."{given}": {target!r} is not a {field} '
                    f"(expected one of: {', '.join(allowed)})"
                )
            merged.setdefault(field, {})[fold(given)] = target.strip().lower()
    return merged


def _filters(
    user: Any, preset: Mapping[str, Sequence[str]], where: str, key: str
) -> dict[str, dict[str, str]]:
    filters = {header: {fold(v): v for v in values} for header, values in preset.items()}
    for header, values in _table(user, where, key).items():
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(
                f'{where}: {key}."{header}" must be a list of values (got {values!r})'
            )
        filters[header] = {fold(v): v for v in values}
    return filters


def _lookup(column: str, spec: Any, where: str, preset: str | None) -> Lookup:
    at = f"{where}: lookups.{column}"
    spec = _table(spec, at, "the lookup")
    unknown = sorted(set(spec) - {"path", "key", "fields", "required"})
    if unknown:
        raise ConfigError(f"{at}: unknown key '{unknown[0]}' (expected one of: fields, key, path)")
    if "path" not in spec or "fields" not in spec:
        missing = "path" if "path" not in spec else "fields"
        raise ConfigError(
            f"{at}: missing required key '{missing}' "
            '(e.g. path = ["Contact.csv"], key = "Id", fields = { email = "Email" })'
        )
    paths = _strings(spec["path"], at, "path")
    key = spec.get("key", "Id")
    if not isinstance(key, str) or not key.strip():
        raise ConfigError(f"{at}: key must name the id column of the lookup files (got {key!r})")
    fields = dict(_table(spec["fields"], at, "fields"))
    if not fields:
        raise ConfigError(f'{at}: fields must fill at least one field (e.g. {{ email = "Email" }})')
    for field, header in fields.items():
        if field not in LOOKUP_FIELDS:
            raise ConfigError(
                f"{at}: fields: unknown field '{field}' (expected one of: {', '.join(LOOKUP_FIELDS)})"
            )
        if not isinstance(header, str) or not header.strip():
            raise ConfigError(f"{at}: fields: '{field}' must name a header (got {header!r})")
    return Lookup(column, paths, key, fields, preset, bool(spec.get("required", True)))


def build_settings(options: Mapping[str, Any], where: str) -> Settings:
    """Check the row-shaping options and merge them over their preset.

    Raises:
        ConfigError: an unknown preset, field, value name or lookup key, or a value of the
            wrong shape; the message names the table and the key.
    """
    name = options.get("preset")
    preset: Mapping[str, Any] = {}
    if name is not None:
        if name not in PRESETS:
            raise ConfigError(
                f"{where}: preset: unknown preset {name!r} (expected one of: {', '.join(PRESETS)})"
            )
        preset = PRESETS[name]
    lookups: dict[str, Lookup] = {
        column: _lookup(column, spec, where, name)
        for column, spec in preset.get("lookups", {}).items()
    }
    for column, spec in _table(options.get("lookups") or {}, where, "lookups").items():
        lookups[column] = _lookup(column, spec, where, None)
    attributes = options.get("attributes") or []
    if not isinstance(attributes, list) or not all(isinstance(a, str) and a for a in attributes):
        raise ConfigError(f"{where}: attributes must be a list of headers (got {attributes!r})")
    preset_skip = preset.get("skip", {})
    preset_only = preset.get("only", {})
    skip = _filters(options.get("skip") or {}, preset_skip, where, "skip")
    only = _filters(options.get("only") or {}, preset_only, where, "only")
    user_filters = set(options.get("skip") or {}) | set(options.get("only") or {})
    return Settings(
        preset=name,
        columns=_columns(options.get("columns") or {}, preset.get("columns", {}), where),
        values=_values(options.get("values") or {}, preset.get("values", {}), where),
        skip=skip,
        only=only,
        optional_filters=frozenset((set(preset_skip) | set(preset_only)) - user_filters),
        lookups=tuple(lookups.values()),
        attributes=tuple(attributes),
    )
