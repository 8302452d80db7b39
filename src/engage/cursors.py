"""Sources' saved state, owned by the core: sealed with the plugin's name and the version of
its state, and opened by one rule, the same for every adapter.

A source's checkpoints carry its cursor as text (:class:`~engage.adapters.Checkpoint`); the
sync saves it sealed — ``engage-state/1 {"plugin": "csv", "version": 1, "cursor": "..."}``
— and hands the source back only its own text. **The rule**: a saved cursor that is corrupt
(the seal cannot be read, or the source raises :class:`CursorError` reading what is inside),
foreign (written by another plugin: the source's table now names a different one) or newer
(written by a later version of the plugin's state than the one installed) is dropped: the
source starts over from the beginning, and the sync says so once, as a notice. Records are
upserted by (source, external id), so starting over stores nothing twice; it costs one full
read.

A cursor saved before cursors were sealed is handed to the source as it is.

A source declares the version of its state as ``state_version`` (an int class attribute,
1 when absent); it raises the version when its cursor's meaning changes, and reads the older
versions it can (or raises :class:`CursorError` for those it cannot).
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from engage.errors import SourceError

__all__ = [
    "MARK",
    "CursorError",
    "Opened",
    "dropped_notice",
    "open_saved",
    "seal",
    "state_version",
    "unseal",
]

#: What a sealed cursor begins with.
MARK = "engage-state/1 "


class CursorError(SourceError):
    """A source cannot read the cursor it was given (corrupt, or from a version it no longer
    reads): raise it from :meth:`~engage.adapters.Source.pull`, before yielding anything
    that depends on the cursor, and the sync starts the source over with a notice."""


def state_version(source: object) -> int:
    """The version of ``source``'s state: its ``state_version`` attribute, 1 when absent."""
    version = getattr(source, "state_version", 1)
    return version if isinstance(version, int) and not isinstance(version, bool) else 1


def seal(plugin: str, version: int, cursor: str) -> str:
    """``cursor`` as the store keeps it, with the plugin and version that wrote it."""
    body = json.dumps(
        {"plugin": plugin, "version": version, "cursor": cursor},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return MARK + body


@attrs.frozen
class Opened:
    """A saved cursor, opened: what the source gets, and what the sync should say."""

    cursor: str | None
    notice: str | None = None


def open_saved(saved: str | None, plugin: str, version: int, source: str) -> Opened:
    """Open the cursor ``source`` (of ``plugin``, whose state is at ``version``) saved.

    Returns the cursor the source should get — None to start over — and, when the saved one
    is dropped, the notice that says why.
    """
    if saved is None:
        return Opened(None)
    if not saved.startswith(MARK):
        return Opened(saved)  # saved before cursors were sealed: the source reads it
    try:
        data: Any = json.loads(saved[len(MARK) :])
    except ValueError as exc:
        return _dropped(source, f"its seal is not JSON ({exc})")
    if not (
        isinstance(data, dict)
        and isinstance(data.get("plugin"), str)
        and isinstance(data.get("version"), int)
        and isinstance(data.get("cursor"), str)
    ):
        return _dropped(source, "its seal lacks the plugin, version or cursor")
    if data["plugin"] != plugin:
        return _dropped(source, f"plugin {data['plugin']!r} wrote it; the source is now {plugin!r}")
    if data["version"] > version:
        return _dropped(
            source,
            f"a newer {plugin} wrote it (state version {data['version']}; this one reads up "
            f"to {version})",
        )
    return Opened(data["cursor"])


def unseal(saved: str | None) -> str | None:
    """The source's own cursor inside ``saved`` (as the store holds it), whoever wrote it;
    None when there is none or it cannot be read."""
    if saved is None or not saved.startswith(MARK):
        return saved
    try:
        data = json.loads(saved[len(MARK) :])
    except ValueError:
        return None
    cursor = data.get("cursor") if isinstance(data, dict) else None
    return cursor if isinstance(cursor, str) else None


def dropped_notice(source: str, why: str) -> str:
    """What the sync says when it starts ``source`` over."""
    return (
        f"{source}: its saved state was set aside ({why}); it is read again from the "
        "beginning (nothing is stored twice)"
    )


def _dropped(source: str, why: str) -> Opened:
    return Opened(None, dropped_notice(source, why))
