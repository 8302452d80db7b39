"""The HubSpot source's cursor: JSON text engage stores between runs. Never holds the token.

Per object type it keeps:

- ``listing`` / ``after``: the first sync pages through the list endpoint; ``after`` is the
  next page token, so an interrupted first sync resumes where it stopped;
- ``modified`` / ``id``: the last-modified watermark (epoch ms, never past the start of the
  sync that wrote it) and, while many records share that time, the last id done;
- ``archived``: archived records up to this time (epoch ms) have been retired.

Besides: engagements that had no association yet (looked at again every run), the
companies that had open deals or tickets (so a company whose work closed is told so), and
the version of the call rules the stored calls were read with (``call_rules``; older ones
have their calls read again).
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from engage.cursors import CursorError

VERSION = 1
#: Most unassociated engagement ids remembered per type.
MAX_UNASSOCIATED = 10_000


@attrs.define
class TypeState:
    """Progress through one object type."""

    modified: int
    archived: int
    listing: bool = True
    after: str | None = None
    id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The state as JSON-ready data."""
        return attrs.asdict(self)


@attrs.define
class Cursor:
    """Everything the source remembers between runs."""

    types: dict[str, TypeState] = attrs.field(factory=dict)
    unassociated: dict[str, list[str]] = attrs.field(factory=dict)
    open_companies: dict[str, str] | None = None
    call_rules: int = 0

    def dump(self) -> str:
        """The cursor as compact, stable JSON text."""
        return json.dumps(
            {
                "v": VERSION,
                "types": {k: v.to_json() for k, v in sorted(self.types.items())},
                "unassociated": {k: v for k, v in sorted(self.unassociated.items()) if v},
                "open_companies": self.open_companies,
                "call_rules": self.call_rules,
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, text: str | None) -> Cursor:
        """Read a saved cursor (a fresh one for None).

        Raises:
            CursorError: the text is not a cursor this version wrote (the sync then sets it
                aside and the source starts over, with a notice: engage.cursors' rule).
        """
        if not text:
            return cls()
        try:
            data = json.loads(text)
            if data.get("v") != VERSION:
                raise ValueError(f"version {data.get('v')!r}")
            return cls(
                types={k: TypeState(**v) for k, v in data["types"].items()},
                unassociated={k: [str(i) for i in v] for k, v in data["unassociated"].items()},
                open_companies=data["open_companies"],
                call_rules=int(data.get("call_rules", 0)),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CursorError(f"the saved HubSpot cursor is unreadable ({exc})") from None

    def remember_unassociated(self, object_type: str, ids: list[str], done: set[str]) -> int:
        """Keep ``ids`` to look at again and forget ``done``; returns how many were dropped (cap)."""
        kept = [i for i in self.unassociated.get(object_type, []) if i not in done]
        known = set(kept)
        kept.extend(i for i in ids if i not in known and i not in done)
        dropped = max(0, len(kept) - MAX_UNASSOCIATED)
        self.unassociated[object_type] = kept[dropped:]
        return dropped
