"""Build the RFC 2822 message of a draft follow-up, with the standard library's email package.

A draft is addressed to one contact and written from a task's title and body. When there is
an earlier conversation with that contact, the draft answers it: ``In-Reply-To`` and
``References`` name the last message and the subject is that message's, prefixed ``Re:``
(Gmail threads a draft only when ``threadId``, these headers and the subject agree). Every
draft carries the task's key in :data:`TASK_HEADER`, so an interrupted run can recognise the
drafts it already made.
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import hashlib
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser

import attrs

from engage.models import Task

#: The header that carries the engage task key of a draft.
TASK_HEADER = "X-Engage-Task"

#: Serialise for the wire: CRLF line ends, headers folded and RFC 2047-encoded as needed.
WIRE_POLICY = email.policy.SMTP

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


@attrs.frozen
class Conversation:
    """The latest message of an earlier conversation, to answer in the same thread.

    Attributes:
        thread_id: Gmail's thread id of that message.
        message_id: Its ``Message-ID`` header, angle brackets included.
        references: Its ``References`` header (or its ``In-Reply-To`` when it has none).
        subject: Its subject.
    """

    thread_id: str
    message_id: str
    references: str = ""
    subject: str = ""


def reply_subject(subject: str) -> str:
    """``subject`` as a reply's subject: prefixed ``Re:`` once."""
    subject = " ".join(subject.split())
    if subject.lower().startswith("re:"):
        return subject
    return f"Re: {subject}" if subject else "Re:"


def message_id_for(key: str, domain: str) -> str:
    """A Message-ID derived from the task key (the same task always gets the same id)."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<engage.{digest}@{domain}>"


def build_draft(
    task: Task,
    to: Address,
    *,
    conversation: Conversation | None = None,
    domain: str = "engage.invalid",
) -> EmailMessage:
    """The draft's message for ``task``, addressed to ``to``, answering ``conversation`` if given."""
    message = EmailMessage(policy=email.policy.default)
    message["To"] = to
    if conversation is not None:
        message["Subject"] = reply_subject(conversation.subject)
        message["In-Reply-To"] = conversation.message_id
        message["References"] = " ".join(
            [*conversation.references.split(), conversation.message_id]
        )
    else:
        message["Subject"] = " ".join(task.title.split())
    message["Message-ID"] = message_id_for(task.key, domain)
    message[TASK_HEADER] = task.key
    body = task.body if task.body.endswith("\n") else task.body + "\n"
    if body.isascii():
        message.set_content(body, charset="us-ascii", cte="7bit")
    else:
        message.set_content(body, charset="utf-8", cte="quoted-printable")
    return message


def encode_raw(message: EmailMessage) -> str:
    """The message as Gmail's ``Message.raw``: RFC 2822 bytes, base64url-encoded."""
    return base64.urlsafe_b64encode(message.as_bytes(policy=WIRE_POLICY)).decode("ascii")


def decode_raw(raw: str) -> EmailMessage:
    """Parse a ``Message.raw`` value (padded or not) back into a message.

    Raises:
        ValueError: ``raw`` is not base64url.
    """
    if not _BASE64URL.fullmatch(raw):
        raise ValueError("not base64url: characters outside A-Z a-z 0-9 - _")
    try:
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64url: {exc}") from None
    parsed = BytesParser(policy=email.policy.default).parsebytes(data)
    if not isinstance(parsed, EmailMessage):  # pragma: no cover - policy.default makes one
        raise ValueError("not an email message")
    return parsed
