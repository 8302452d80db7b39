"""Matching engage's fields to a file's header, and finding the files a ``path`` names."""

from __future__ import annotations

import glob
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from engage.errors import SourceError

if TYPE_CHECKING:
    from engage_csv.settings import Column

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


def match_columns(
    display: str,
    header: Sequence[str],
    columns: Mapping[str, Column],
    provided: Collection[str] = (),
) -> dict[str, list[int]]:
    """The columns each field is read from: its configured headers the file has, in order.

    A field without configured headers is found under its own name. ``provided`` are the
    fields lookups fill, which count as present for the required ones.

    Raises:
        SourceError: ``occurred_at`` is missing, both ``email`` and ``customer`` are (and no
            lookup fills them), or a column the user named in ``columns`` is not in the header.
    """
    found: dict[str, list[int]] = {}
    for field in FIELDS:
        column = columns.get(field)
        names = column.headers if column is not None else (field,)
        indices = [i for name in names if (i := _find(header, name)) is not None]
        if indices:
            found[field] = list(dict.fromkeys(indices))
        elif column is not None and column.required:
            wanted = names[0] if len(names) == 1 else " or ".join(repr(n) for n in names)
            raise _missing(display, repr(wanted) if len(names) == 1 else wanted, field, header)
    if "occurred_at" not in found:
        names = columns["occurred_at"].headers if "occurred_at" in columns else ()
        what = " or ".join(repr(n) for n in names) if names else "'occurred_at'"
        raise _missing(display, what, "occurred_at", header)
    if not ({"email", "customer"} & (set(found) | set(provided))):
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
