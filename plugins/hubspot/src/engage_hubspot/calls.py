"""Whether a HubSpot call was a conversation, from its status and its outcome. Pure functions.

A call is one of three things to engage:

- **not held**: it never took place or has not ended (``hs_call_status`` cancelled, failed,
  queued, ringing, connecting, in progress...): no touchpoint at all;
- **missed**: nobody talked (no answer, busy, a voicemail, a message left with someone else, a
  wrong number): a touchpoint with ``missed=True``, a one-way message in its direction;
- **held**: a conversation (connected, completed): a two-way exchange.

The outcome a rep picks (``hs_call_disposition``) says more than the status, so it decides
when engage knows it. HubSpot stores an outcome's id (a GUID); its label comes from the
portal's options of that property. Labels are matched case-insensitively; a label engage does
not know (a custom outcome such as "Meeting booked") leaves the decision to the status.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

#: The version of these rules; a cursor read with older rules has its calls read again.
RULES = 1


class CallOutcome(enum.Enum):
    """What a call was: held (a conversation), missed (nobody talked), or not held at all."""

    HELD = "held"
    MISSED = "missed"
    NOT_HELD = "not_held"


#: ``hs_call_status`` of a call that never took place or has not ended: no touchpoint.
NOT_HELD_STATUSES = frozenset(
    {"CANCELED", "FAILED", "QUEUED", "RINGING", "CONNECTING", "IN_PROGRESS", "HOLD",
     "CALLING_CRM_USER"}
)  # fmt: skip
#: ``hs_call_status`` of a call that ended without anybody talking.
MISSED_STATUSES = frozenset({"NO_ANSWER", "BUSY", "MISSED"})

#: HubSpot's default call outcomes: the same ids in every account.
DEFAULT_DISPOSITIONS: Mapping[str, str] = {
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "Connected",
    "73a0d17f-1163-4015-bdd5-ec830791da20": "No answer",
    "b2cf5968-551e-4856-9783-52b3da59a7d0": "Left voicemail",
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff": "Left live message",
    "9d9162e7-6cf3-4944-bf63-4dff82258764": "Busy",
    "17b47fee-58de-441e-a44c-c6300d46f273": "Wrong number",
}

#: Outcome labels (lower case) and what they say about the call.
LABELS: Mapping[str, CallOutcome] = {
    "connected": CallOutcome.HELD,
    "no answer": CallOutcome.MISSED,
    "busy": CallOutcome.MISSED,
    "left voicemail": CallOutcome.MISSED,
    "left live message": CallOutcome.MISSED,
    "wrong number": CallOutcome.MISSED,
}


def label_outcome(label: str | None) -> CallOutcome | None:
    """What an outcome label says (case and spacing ignored); None for a label engage does not know."""
    return LABELS.get(" ".join((label or "").lower().split()))


def disposition_outcome(disposition: str | None, labels: Mapping[str, str]) -> CallOutcome | None:
    """What an outcome id says: by the portal's label, else by HubSpot's default label for it.

    ``labels`` maps outcome ids to the portal's labels. A default outcome whose label the
    portal shows otherwise (another language) is still known by its id.
    """
    key = (disposition or "").strip()
    if not key:
        return None
    return label_outcome(labels.get(key)) or label_outcome(DEFAULT_DISPOSITIONS.get(key))


def call_outcome(props: Mapping[str, Any], labels: Mapping[str, str]) -> CallOutcome:
    """Whether a call (its properties) was held, missed or not held at all.

    A call that never took place or has not ended is not held whatever its outcome; otherwise
    a known outcome decides, else the status (no answer, busy, missed: missed; anything else,
    completed or none: held).
    """
    status = (props.get("hs_call_status") or "").strip().upper()
    if status in NOT_HELD_STATUSES:
        return CallOutcome.NOT_HELD
    known = disposition_outcome(props.get("hs_call_disposition"), labels)
    if known is not None:
        return known
    return CallOutcome.MISSED if status in MISSED_STATUSES else CallOutcome.HELD


def options_labels(prop: Mapping[str, Any]) -> dict[str, str]:
    """The value → label map of a property definition's ``options`` (hidden options too)."""
    found: dict[str, str] = {}
    for option in prop.get("options") or []:
        if isinstance(option, Mapping) and option.get("value") not in (None, ""):
            found[str(option["value"])] = str(option.get("label") or "")
    return found
