"""GmailDraftsSink: follow-ups as ready-to-send Gmail drafts (``plugin = "gmail"`` under ``[sinks]``).

Each task becomes one draft (``users.drafts.create``) to the customer's main contact: the
task's contact, else the first contact engage knows for the customer. When the mailbox holds
an earlier conversation with that address, the draft answers its latest message in the same
thread; otherwise it is a fresh message whose subject is the task's title.

Every draft carries the task key in an ``X-Engage-Task`` header, and the mailbox alone says
which keys have a draft: :meth:`GmailDraftsSink.remote_keys` lists the drafts
(``drafts.list``, 500 a page) and reads the headers of those it has not read yet
(``drafts.get format=metadata``, 50 to a batch request), once per run; the drafts this run
makes are added as they are made. Every :meth:`~GmailDraftsSink.create` looks its tasks up
there first, so a draft made by a run whose store was lost, restored from a backup, or
crashed before the ledger write is recorded, never written twice. A draft cannot be
completed: :meth:`GmailDraftsSink.complete` leaves drafts alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from email.errors import HeaderParseError
from email.headerregistry import Address
from typing import Any, ClassVar
from urllib.parse import quote

from engage.adapters import AdapterContext, PushResult
from engage.http import RetryPolicy
from engage.identity import email_domain
from engage.models import Task
from engage_gmail.auth import SCOPE_COMPOSE, SCOPE_READONLY
from engage_gmail.compose import TASK_HEADER, Conversation, build_draft, encode_raw
from engage_gmail.gmail_api import GmailApi, QuotaLimiter
from engage_gmail.options import DraftsOptions
from engage_gmail.writes import GoogleSink

USER = "/gmail/v1/users/me"
#: Recent messages read to find the latest conversation that is not itself a draft.
LOOKBACK_MESSAGES = 5
#: Headers read from a conversation's latest message to answer it.
THREAD_HEADERS = ("Subject", "Message-ID", "References", "In-Reply-To")


class GmailDraftsSink(GoogleSink):
    """Writes one Gmail draft per task, threaded on the latest conversation with the contact.

    Needs ``gmail.compose``, and ``gmail.readonly`` too while ``reply_in_thread`` is on
    (finding the conversation reads the mailbox).
    """

    options: ClassVar[type[DraftsOptions]] = DraftsOptions
    batch_size: ClassVar[int] = 20
    made: ClassVar[str] = "draft"
    place: ClassVar[str] = "the mailbox"

    def __init__(
        self,
        options: DraftsOptions,
        context: AdapterContext,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Build the sink from its checked options; reads the credentials file now."""
        self.reply_in_thread = options.reply_in_thread
        scopes = [SCOPE_COMPOSE, SCOPE_READONLY] if self.reply_in_thread else [SCOPE_COMPOSE]
        super().__init__(options, context, api="Gmail", scopes=scopes, retry=retry, sleep=sleep)
        self.api = GmailApi(self.client, QuotaLimiter(), retry=self.retry, sleep=sleep)
        #: draft id → the task key in its header ("" for drafts that are not engage's).
        self._draft_keys: dict[str, str] = {}
        self._remote: dict[str, str] | None = None

    # -- addressing and threading ------------------------------------------------------------

    def recipient(self, task: Task) -> Address | None:
        """The customer's main contact as an address (with their name when engage knows it)."""
        directory = self.context.directory
        contacts = directory.get_contacts(task.customer) if directory is not None else []
        email = task.contact_email or (contacts[0].email if contacts else None)
        if not email:
            return None
        name = next((c.name for c in contacts if c.email == email and c.name), None)
        try:
            return Address(display_name=name or "", addr_spec=email)
        except (HeaderParseError, ValueError, IndexError):
            return None

    def conversation(self, address: str) -> Conversation | None:
        """The latest non-draft message exchanged with ``address``, or None."""
        listing = self.client.get_json(
            f"{USER}/messages",
            params={"q": f"from:{address} OR to:{address}", "maxResults": LOOKBACK_MESSAGES},
            expect=(),
        )
        for item in listing.get("messages") or []:
            message = self.client.get_json(
                f"{USER}/messages/{quote(str(item['id']), safe='')}",
                params=[("format", "metadata"), *(("metadataHeaders", h) for h in THREAD_HEADERS)],
                expect=(),
            )
            if "DRAFT" in (message.get("labelIds") or []):
                continue
            headers = _headers(message)
            message_id = headers.get("message-id", "").strip()
            if not message_id or not message.get("threadId"):
                return None
            return Conversation(
                thread_id=str(message["threadId"]),
                message_id=message_id,
                references=headers.get("references") or headers.get("in-reply-to") or "",
                subject=headers.get("subject", ""),
            )
        return None

    def _domain(self, task: Task) -> str:
        directory = self.context.directory
        owner = directory.get_owner(task.owner) if directory and task.owner else None
        domain = email_domain(owner.email) if owner and owner.email else None
        internal = sorted(self.context.identity.internal_domains)
        return domain or (internal[0] if internal else "engage.invalid")

    # -- finding earlier drafts --------------------------------------------------------------

    def remote_keys(self, *, refresh: bool = False) -> dict[str, str]:
        """Task key → draft id for every draft in the mailbox that carries a task key.

        Read once per run and kept (with the drafts this run creates); ``refresh`` lists the
        drafts again, reading only the headers of drafts not seen yet.
        """
        if self._remote is not None and not refresh:
            return self._remote
        listed = [str(d["id"]) for d in self.items(f"{USER}/drafts", "drafts", 500) if d.get("id")]
        unread = [d for d in listed if d not in self._draft_keys]
        for draft_id, draft in self.api.get_drafts(unread).items():
            key = _headers(draft.get("message") or {}).get(TASK_HEADER.lower(), "")
            self._draft_keys[draft_id] = key.strip()
        remote: dict[str, str] = {}
        for draft_id in reversed(listed):  # the oldest draft of a key wins
            key = self._draft_keys.get(draft_id, "")
            if key:
                remote.setdefault(key, draft_id)
        self._remote = remote
        return remote

    @property
    def notices(self) -> list[str]:
        """What the sync summary shows once: tasks found drafted already, not drafted again."""
        if not self.found_remote:
            return []
        return [
            f"{self.where}: {self.found_remote} task(s) already had a draft in the mailbox "
            f"(found by its {TASK_HEADER} header); recorded, not drafted again"
        ]

    # -- the Sink protocol -------------------------------------------------------------------

    def _remember(self, key: str, remote_id: str) -> None:
        self._draft_keys[remote_id] = key
        super()._remember(key, remote_id)

    def _create_one(self, task: Task) -> PushResult:
        to = self.recipient(task)
        if to is None:
            return PushResult(
                task.key, error=f"no contact email address is known for customer {task.customer}"
            )
        conversation = None
        if self.reply_in_thread:
            with self.translated(f"looking up the conversation with {to.addr_spec}"):
                conversation = self.conversation(to.addr_spec)
        message = build_draft(task, to, conversation=conversation, domain=self._domain(task))
        body: dict[str, Any] = {"message": {"raw": encode_raw(message)}}
        if conversation is not None:
            body["message"]["threadId"] = conversation.thread_id
        return self.create_one(task, f"{USER}/drafts", body)

    def complete(self, remote_ids: Mapping[str, str]) -> Iterable[PushResult]:
        """Do nothing: a draft has no notion of done (a person sends or deletes it)."""
        return []


def _headers(message: Mapping[str, Any]) -> dict[str, str]:
    """A message resource's headers, by lower-cased name (the first of each name)."""
    headers: dict[str, str] = {}
    for header in (message.get("payload") or {}).get("headers") or []:
        name = str(header.get("name", "")).lower()
        headers.setdefault(name, str(header.get("value", "")))
    return headers
