"""Which mail is a conversation, which is automated, and which is a calendar invitation.

Automated mail (newsletters, notifications, bounces, auto-replies, mailing lists) is not a
conversation with a customer: the source skips it and counts it. Mailing lists are
recognised by their ``List-*`` headers and, when a list or an archive dropped those, by
structure: a ``multipart/digest`` part, a digest subject (``Ppp digest, Vol 1 #2``), list
software's own headers (``X-Mailman-Version``, ``X-BeenThere``, ``Mailing-List``...), a
list's bounce address as ``Sender`` or ``From`` (``ppp-request@``, ``owner-ppp@``,
``ppp-bounces@``), inbound mail addressed only to an empty group
(``undisclosed-recipients:;``), and (mbox only, where the body is streamed anyway) a list
footer. Calendar invitations and their replies become meeting touchpoints.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from engage_gmail.headers import Address, Headers, parse_address_list, parse_addresses

_NO_REPLY = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply|mailer[-_.]?daemon|postmaster"
    r"|bounces?|notifications?|notify|alerts?|newsletters?|news|marketing|automated|auto"
    r"|mailer|daemon|system|robot|bot|calendar-notification|digest|updates?)(?:[-_.+].*)?$"
)

_BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}

#: Local parts of list software and of lists' administrative addresses.
_LIST_ADDRESS = re.compile(
    r"^(?:owner-.+|.+-(?:request|owner|bounces?)|majordomo|listserv|mailman|ezmlm"
    r"|sympa|lyris|listar|smartlist)(?:[+=].*)?$"
)

#: Headers only mailing-list software writes (the ``List-*`` ones are read separately).
_LIST_SOFTWARE = (
    "X-Mailman-Version",
    "X-BeenThere",
    "Mailing-List",
    "X-Mailing-List",
    "X-Loop",
    "List-Archive",
    "List-Help",
    "List-Subscribe",
    "X-Ezmlm-Mailing-List",
    "X-Listserver",
    "X-List",
)

#: Digest subjects: Mailman ``Ppp digest, Vol 1 #2``/``Digest, Vol 98, Issue 1``, Google
#: Groups ``Digest for x@googlegroups.com``, Yahoo ``[grp] Digest Number 1234``.
_DIGEST_SUBJECT = re.compile(
    r"\bdigest(?:,\s*vol(?:ume)?\b|\s+for\s+\S+@|\s+number\s+\d+|\s+v\d)", re.IGNORECASE
)

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


def list_reason(
    headers: Headers, sender: Address, subject: str | None, mime_types: Iterable[str] = ()
) -> str | None:
    """Why a message without ``List-*`` headers is still mailing-list mail, or None.

    Args:
        headers: The message's headers.
        sender: The parsed From address.
        subject: The decoded subject.
        mime_types: The content types of its parts, when known.
    """
    if any(t.lower().startswith("multipart/digest") for t in mime_types):
        return "digest"
    if subject and _DIGEST_SUBJECT.search(subject):
        return "digest"
    for name in _LIST_SOFTWARE:
        if name in headers:
            return f"mailing list ({name})"
    senders = [sender.email, *(a.email for a in parse_addresses(headers.get_all("Sender")))]
    if any(_LIST_ADDRESS.match(email.rpartition("@")[0]) for email in senders):
        return "mailing list (list address)"
    return None


def undisclosed(headers: Headers) -> bool:
    """True when To and Cc name no address but an empty group (``undisclosed-recipients:;``)."""
    found = parse_address_list([*headers.get_all("To"), *headers.get_all("Cc")])
    return not found.addresses and any(group.size == 0 for group in found.groups)


def is_invitation(headers: Headers, subject: str | None, mime_types: Iterable[str] = ()) -> bool:
    """True for a calendar invitation or reply: a text/calendar part, or an invitation subject."""
    types = [t.lower() for t in mime_types]
    types.append((headers.get("Content-Type") or "").lower())
    if "calendarmessage" in (headers.get("Content-Class") or "").lower():
        return True  # Outlook: urn:content-classes:calendarmessage
    if any("text/calendar" in t or "application/ics" in t for t in types):
        return True
    return bool(subject and _INVITE_SUBJECT.match(subject.strip()))
