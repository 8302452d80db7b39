"""Which mail is a conversation, which is automated, and which is a calendar invitation.

Automated mail (newsletters, notifications, bounces, auto-replies, mailing lists) is not a
conversation with a customer: the source skips it and counts it. Calendar invitations and
their replies become meeting touchpoints.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from engage_gmail.headers import Address, Headers

_NO_REPLY = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply|mailer[-_.]?daemon|postmaster"
    r"|bounces?|notifications?|notify|alerts?|newsletters?|news|marketing|automated|auto"
    r"|mailer|daemon|system|robot|bot|calendar-notification|digest|updates?)(?:[-_.+].*)?$"
)

_BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}

#: Subjects of calendar invitations and replies (Google Calendar, Outlook, iCloud).
_INVITE_SUBJECT = re.compile(
    r"^(?:(?:updated\s+|new\s+event:\s*)?invitation(?:\s+from\s+google\s+calendar)?:|"
    r"accepted:|declined:|tentatively\s+accepted:|tentative:|canceled(?:\s+event)?:|"
    r"cancelled(?:\s+event)?:|updated\s+event:|event\s+canceled:|meeting\s+request:)",
    re.IGNORECASE,
)


def automated_reason(headers: Headers, sender: Address | None) -> str | None:
    """Why a message is automated (``"List-Unsubscribe"``, ``"no-reply sender"``...), or None.

    Args:
        headers: The message's headers.
        sender: The parsed From address; None when it had no usable address (``<>``), which
            is how bounces arrive.
    """
    if sender is None:
        return "no sender address"
    local = sender.email.rpartition("@")[0]
    if _NO_REPLY.match(local):
        return "no-reply sender"
    if "List-Unsubscribe" in headers or "List-Id" in headers or "List-Post" in headers:
        return "mailing list"
    precedence = (headers.get("Precedence") or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    auto = (headers.get("Auto-Submitted") or "no").split(";")[0].strip().lower()
    if auto != "no":
        return f"Auto-Submitted: {auto}"
    if (headers.get("X-Autoreply") or headers.get("X-Autorespond")) is not None:
        return "auto-reply"
    content_type = (headers.get("Content-Type") or "").lower()
    if content_type.startswith("multipart/report"):
        return "delivery report"
    return None


def is_invitation(headers: Headers, subject: str | None, mime_types: Iterable[str] = ()) -> bool:
    """True for a calendar invitation or reply: a text/calendar part, or an invitation subject."""
    types = [t.lower() for t in mime_types]
    types.append((headers.get("Content-Type") or "").lower())
    if "calendarmessage" in (headers.get("Content-Class") or "").lower():
        return True  # Outlook: urn:content-classes:calendarmessage
    if any("text/calendar" in t or "application/ics" in t for t in types):
        return True
    return bool(subject and _INVITE_SUBJECT.match(subject.strip()))
