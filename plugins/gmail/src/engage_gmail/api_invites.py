"""Reading the calendar part of invitations found through the Gmail API, in few calls.

The API source reads messages with ``format=metadata``, which shows headers but not the MIME
tree. A message whose metadata marks an invitation (:func:`engage_gmail.mapping.looks_like_meeting`)
is read again whole, in one batch for all such messages of a read (``messages.get
format=full``: Gmail gives small parts' bodies inline, base64url). Google Calendar's
``text/calendar`` part comes inline; a calendar part Gmail keeps as an attachment (a part
with a file name, such as Outlook's ``meeting.ics``) is fetched with one more batched call,
``messages.attachments.get``, and only when no calendar part of that message came inline.
Each costs 5 quota units, counted like every other call (:attr:`GmailApi.calls`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from engage_gmail.bodyscan import MAX_CALENDAR
from engage_gmail.gmail_api import GmailApi
from engage_gmail.invites import Invite, parse_invite
from engage_gmail.payloads import calendar_parts


def read_invites(
    api: GmailApi, ids: Sequence[str], counts: Counter[str] | None = None
) -> dict[str, Invite]:
    """Gmail message id → the invitation its calendar part holds, for ``ids``.

    Messages without a readable calendar part are left out (they stay dated when sent).
    ``counts`` gets ``invitations read`` and ``invitation attachments read``.

    Raises:
        RetriesExhausted: some calls kept failing with rate limits or server errors.
        HttpError: a call failed for another reason.
    """
    if not ids:
        return {}
    full = api.get_full(list(dict.fromkeys(ids)))
    found: dict[str, Invite] = {}
    attachments: dict[str, list[str]] = {}
    for message_id, message in full.items():
        parts = calendar_parts(message)
        invite = _first([data for data, attachment in parts if attachment is None])
        if invite is not None:
            found[message_id] = invite
        else:
            names = [attachment for _, attachment in parts if attachment]
            if names:
                attachments[message_id] = names
    if attachments:
        wanted = [(m, a) for m, names in attachments.items() for a in names]
        bodies = api.get_attachments(wanted)
        for message_id, names in attachments.items():
            invite = _first([bodies.get((message_id, a), b"") for a in names])
            if invite is not None:
                found[message_id] = invite
    if counts is not None:
        counts["invitations read"] += len(full)
        counts["invitation attachments read"] += sum(len(n) for n in attachments.values())
    return found


def _first(datas: Sequence[bytes]) -> Invite | None:
    for data in datas:
        invite = parse_invite(data[:MAX_CALENDAR])
        if invite is not None:
            return invite
    return None
