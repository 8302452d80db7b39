"""Matching engage's fields to a file's header, and finding the files a ``path`` names."""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence
from pathlib import Path

from engage.errors import SourceError

#: Every field a row can carry, in the order the columns are documented.
FIELDS: tuple[str, ...] = (
    "id",
    "occurred_at",
    "customer",
    "email",
    "name",
    "channel",
    "direction",
    "outcome",
    "owner",
    "subject",
    "feedback",
    "segment",
    "open_work",
)

#: The fields whose cells identify a touchpoint when the file has no ``id`` column. Adding
#: one would change every such hashed id; ``outcome``, added later, is left out (correcting
#: an outcome updates its touchpoint).
IDENTIFYING: tuple[str, ...] = (
    "occurred_at",
    "customer",
    "email",
    "channel",
    "direction",
    "owner",
    "subject",
    "feedback",
)


def _find(header: Sequence[str], wanted: str) -> int | None:
    for index, name in enumerate(header):
        if name == wanted:
            return index
    folded = wanted.strip().casefold()
    for index, name in enumerate(header):
        if name.strip().casefold() == folded:
            return index
    return None


def _missing(display: str, what: str, field: str, header: Sequence[str]) -> SourceError:
    has = ", ".join(header) or "nothing"
    return SourceError(
        f"{display}: missing column {what} (the header has: {has}; "
        f'map yours with columns = {{ {field} = "Your Header" }})'
    )


def match_header(display: str, header: Sequence[str], columns: Mapping[str, str]) -> dict[str, int]:
    """The column index of each field the header has: exact name first, then case/space-insensitive.

    Args:
        display: The file as shown in messages.
        header: The file's header cells.
        columns: The ``columns`` option: field → header name, for fields named differently.

    Raises:
        SourceError: ``occurred_at`` is missing, both ``email`` and ``customer`` are, or a
            column named in ``columns`` is not in the header.
    """
    found: dict[str, int] = {}
    for field in FIELDS:
        wanted = columns.get(field, field)
        index = _find(header, wanted)
        if index is not None:
            found[field] = index
        elif field in columns:
            raise _missing(display, repr(wanted), field, header)
    if "occurred_at" not in found:
        raise _missing(display, "'occurred_at'", "occurred_at", header)
    if "email" not in found and "customer" not in found:
        raise _missing(display, "'email' or 'customer'", "email", header)
    return found


def find_files(value: str, resolved: Path, base_dir: Path) -> list[tuple[str, Path]]:
    """The files ``value`` names, as (name shown in messages, path), sorted.

    ``value`` is a file or a glob (``exports/*.csv``, ``**/*.csv``); ``resolved`` is it
    resolved against ``base_dir``.

    Raises:
        SourceError: the file is missing or a directory, or the glob matches no file.
    """
    if any(char in value for char in "*?["):
        matches = [Path(m) for m in sorted(glob.glob(str(resolved), recursive=True))]
        files = [m for m in matches if m.is_file()]
        if not files:
            raise SourceError(f"{value}: no files match (looked in {base_dir})")
        return [(_display(m, base_dir), m) for m in files]
    if resolved.is_dir():
        raise SourceError(f"{value}: is a directory; give a file or a glob such as '{value}/*.csv'")
    if not resolved.is_file():
        raise SourceError(f"{value}: no such file (looked for {resolved})")
    return [(value, resolved)]


def _display(path: Path, base_dir: Path) -> str:
    try:
        return str(path.relative_to(base_dir))
    except ValueError:
        return str(path)
