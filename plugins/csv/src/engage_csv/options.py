"""The config keys of the CSV source and sink: typed options engage builds and checks.

engage checks every key's type down to the elements, the range of ``max_bad_ratio`` and
each key's ``check`` before the adapter is built; what depends on engage's names (the
fields of ``columns``, ``values`` and a lookup's ``fields``) is checked by the classes
themselves, as a :class:`ValueError` engage reports naming the file and the table.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from datetime import UTC, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from engage.adapters import date_format
from engage.models import Channel
from engage.options import did_you_mean, option
from engage.options_types import describe_value
from engage_csv.header import FIELDS

Preset = Literal["salesforce", "hubspot", "pipedrive"]

#: The fields with a closed set of values, and engage's names for them.
CLOSED: dict[str, tuple[str, ...]] = {
    "channel": tuple(channel.value for channel in Channel),
    "direction": ("inbound", "outbound", "internal"),
    "outcome": ("missed", "held"),
    "open_work": ("yes", "no"),
}

#: The fields a lookup can fill from the row it finds.
LOOKUP_FIELDS: tuple[str, ...] = tuple(f for f in FIELDS if f not in ("id", "occurred_at"))


def zone(name: str) -> tzinfo | None:
    """The time zone ``name`` names (``UTC`` in any case), or None when there is none."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def encoding(name: str) -> str | None:
    """The codec ``name`` names (UTF-8 as ``utf-8-sig``, so a BOM is dropped), or None."""
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    return "utf-8-sig" if canonical == "utf-8" else canonical


def delimiter(value: str | None) -> str | None:
    """The separator ``value`` gives: itself, or a tab for ``tab`` / ``\\t``."""
    if value is None:
        return None
    return {"tab": "\t", "\\t": "\t"}.get(value.lower(), value)


def _check_path(value: Any) -> str | None:
    return None if str(value).strip() else "expected a CSV file or a glob such as 'exports/*.csv'"


def _check_task_file(value: Any) -> str | None:
    return None if str(value).strip() else "expected a CSV file such as 'tasks.csv'"


def _check_zone(value: Any) -> str | None:
    if zone(str(value)) is not None:
        return None
    return "expected an IANA time zone such as 'Europe/Berlin' or 'UTC'"


def _check_encoding(value: Any) -> str | None:
    if encoding(str(value)) is not None:
        return None
    return "expected a known encoding, e.g. 'utf-8', 'latin-1', 'cp1252'"


def _check_delimiter(value: Any) -> str | None:
    if value is None or len(delimiter(str(value)) or "") == 1:
        return None
    return "expected one character, or 'tab'"


def _check_above_zero(value: Any) -> str | None:
    return None if value > 0 else "expected a number above 0"


def _check_attributes(value: Any) -> str | None:
    return None if all(value) else "expected a list of headers, none of them empty"


def _headers(at: str, headers: str | list[str], what: str = "header") -> None:
    """A header (or ``what``), or a non-empty list of them, none blank; else ValueError."""
    items = [headers] if isinstance(headers, str) else headers
    if not items or not all(item.strip() for item in items):
        raise ValueError(
            f"{at}: expected a {what} or a list of {what}s, none of them empty "
            f"(got {describe_value(headers)})"
        )


def _field(at: str, name: str, known: tuple[str, ...]) -> None:
    """``name`` is one of ``known``; else ValueError naming ``at`` and the closest."""
    if name not in known:
        raise ValueError(
            f"{at}: unknown field '{name}'{did_you_mean(name, known)} "
            f"(expected one of: {', '.join(known)})"
        )


@attrs.frozen
class CsvLookup:
    """One lookup (``[sources.NAME.lookups.COLUMN]``): the ids in the column are found by
    ``key`` in the files of ``path``, filling ``fields`` from the row found."""

    path: str | list[str] = option(
        help="the file or files to look in, in order (relative to the config file)"
    )
    key: str = option(default="Id", help="the id column of the lookup files")
    fields: dict[str, str] = option(
        help='engage field → header in the lookup files, e.g. { email = "Email" }'
    )
    required: bool = option(default=True, help="(presets) the lookup cannot be left out")

    def __attrs_post_init__(self) -> None:
        """Check the files, the key and the fields (engage's names, headers not blank).

        Raises:
            ValueError: naming the key or element that is wrong.
        """
        _headers("path", self.path, "file")
        if not self.key.strip():
            raise ValueError(
                f"key: expected the id column of the lookup files (got {describe_value(self.key)})"
            )
        if not self.fields:
            raise ValueError(
                'fields: expected at least one field to fill, e.g. { email = "Email" }'
            )
        for field, header in self.fields.items():
            _field("fields", field, LOOKUP_FIELDS)
            _headers(f"fields[{field!r}]", header)


@attrs.frozen
class CsvOptions:
    """The CSV source's keys (``[sources.NAME]`` with ``plugin = "csv"``)."""

    path: str = option(check=_check_path, help="a CSV file or a glob such as 'exports/*.csv'")
    preset: Preset | None = option(
        default=None, help="defaults for a CRM's export: salesforce, hubspot or pipedrive"
    )
    columns: dict[str, str | list[str]] = option(
        factory=dict, help='engage field → your header, e.g. { email = "Contact Email" }'
    )
    values: dict[str, dict[str, str]] = option(
        factory=dict, help='your values → engage\'s, e.g. { channel = { "Task" = "note" } }'
    )
    skip: dict[str, str | list[str]] = option(
        factory=dict, help='pass over rows with these values, e.g. { Status = ["Open"] }'
    )
    only: dict[str, str | list[str]] = option(
        factory=dict, help='read only rows with these values, e.g. { Status = ["Done"] }'
    )
    lookups: dict[str, CsvLookup] = option(
        factory=dict,
        key_name="column",
        help="id column → { path, key, fields } to fill fields from other files",
    )
    attributes: list[str] = option(
        factory=list,
        check=_check_attributes,
        help="headers copied into the customer's attributes",
    )
    timezone: str = option(
        default="UTC", check=_check_zone, help="the zone of times written without an offset"
    )
    encoding: str = option(
        default="utf-8", check=_check_encoding, help="the files' text encoding, e.g. 'latin-1'"
    )
    delimiter: str | None = option(
        default=None,
        check=_check_delimiter,
        help="the field separator ('tab' for a tab); sniffed when not given",
    )
    date_format: str | None = option(
        default=None, check=date_format, help="a strptime format such as '%d/%m/%Y'"
    )
    strict: bool = option(default=False, help="stop at the first bad row instead of skipping it")
    max_bad_ratio: float = option(
        default=0.5,
        minimum=0,
        maximum=1,
        help="the share of a file's rows that may be refused",
    )
    feedback_scale: float = option(
        default=10.0,
        check=_check_above_zero,
        help="the top of the scale of bare feedback numbers (above 0)",
    )

    def __attrs_post_init__(self) -> None:
        """Check what depends on engage's names: the fields of ``columns`` and ``values``
        and the names ``values`` maps to.

        Raises:
            ValueError: naming the element that is wrong.
        """
        for field, headers in self.columns.items():
            _field("columns", field, FIELDS)
            _headers(f"columns[{field!r}]", headers)
        for field, mapping in self.values.items():
            if field not in CLOSED:
                raise ValueError(
                    f"values: '{field}' has no closed set of values to map "
                    f"(expected one of: {', '.join(CLOSED)})"
                )
            _targets(field, mapping)


def _targets(field: str, mapping: Mapping[str, str]) -> None:
    allowed = CLOSED[field]
    for given, target in mapping.items():
        if target.strip().lower() not in allowed:
            raise ValueError(
                f"values[{field!r}][{given!r}]: expected a {field}, one of: "
                f"{', '.join(allowed)} (got {describe_value(target)})"
            )


@attrs.frozen
class CsvSinkOptions:
    """The CSV sink's keys (``[sinks.NAME]`` with ``plugin = "csv"``)."""

    path: str = option(
        check=_check_task_file, help="the CSV file to append tasks to, e.g. 'tasks.csv'"
    )
