"""Pulling a mailbox through the Gmail API: a list sync first, then history, with safe cursors.

The cursor is JSON:

- ``{"phase": "list", "history_id", "after", "page", "skip", ...}`` while the first sync (or
  a fallback) lists ``after:<epoch>``: the page being read (re-read whole on resume) and how
  many of its messages were done;
- ``{"phase": "history", "history_id", ...}`` afterwards: history records after that id are
  still to read.

Calendar invitations are read whole (:mod:`engage_gmail.api_invites`) and dated at the
meeting's start, as in mbox files; ``state["meetings"]`` (:class:`~engage_gmail.meetings.MeetingBook`)
keeps the SEQUENCE read per UID and the meetings still in the future, which every pull
yields once their start has come.

The ``historyId`` comes from ``getProfile`` taken *before* listing, so mail arriving during a
long first sync is read by the next history sync. A 404 from history (the id expired) falls
back to a list sync from a day before the last message seen; ids are Gmail's stable message
ids, so messages read twice change nothing.

Progress counts ``messages`` read. A list sync that starts from its first page expects the
first page's ``resultSizeEstimate`` (only an estimate: raised above what is listed while
more pages follow, and made exact by the last page); a resumed list sync has no total. A history sync expects the messages its records name once its last page
is in hand (at once for the usual single page). Neither costs a request.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from engage.adapters import (
    AdapterContext,
    Checkpoint,
    Problem,
    Retire,
    Skipped,
    SourceItem,
    expect,
)
from engage.cursors import CursorError
from engage.http import HttpError, Page
from engage_gmail.api_invites import read_invites
from engage_gmail.batch import MAX_BATCH
from engage_gmail.gmail_api import GmailApi, HistoryExpired
from engage_gmail.headers import Headers
from engage_gmail.mapping import SKIPPED_LABELS, MailMessage, Mapper, looks_like_meeting
from engage_gmail.meetings import MeetingBook
from engage_gmail.payloads import header_map, message_ids, mime_types

#: Overlap when a list sync restarts from the last message seen.
FALLBACK_MARGIN = timedelta(days=1)

#: Labels whose removal brings a message into view: read it (again) in case it counts now.
RESTORING = frozenset({"SPAM", "TRASH"})
#: A label whose addition means the message was never a real exchange: its touchpoints go.
#: (Mail moved to the bin still happened, and deleting mail is housekeeping: both stay.)
DISOWNING = frozenset({"SPAM"})
READ, DISOWN, SKIP = "read", "disown", "skip"


def count_outcome(
    counts: Counter[str], context: AdapterContext, skipped: str | None
) -> Iterator[Skipped]:
    """Count a skipped message in ``counts``, on the progress display and in the sync summary."""
    if skipped is None:
        return
    what = f"skipped {skipped}"
    counts[what] += 1
    context.progress.advance(what)
    yield Skipped(skipped)


class ApiReader:
    """Reads one mailbox through :class:`GmailApi` into engage records.

    Args:
        api: The Gmail client.
        context: The adapter's context (identity, progress, now).
        lookback_days: How far back the first sync reads.
        mailbox_owner: The owner's address; by default the profile's.
    """

    def __init__(
        self,
        api: GmailApi,
        context: AdapterContext,
        lookback_days: int,
        mailbox_owner: str | None = None,
    ) -> None:
        self.api = api
        self.context = context
        self.lookback_days = lookback_days
        self.mailbox_owner = mailbox_owner
        self.counts: Counter[str] = Counter()
        self.mapper = Mapper(context.name, context.identity, now=context.now)
        self.book = MeetingBook({}, context.now())

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        """Yield records and checkpoints since ``cursor``."""
        state = _load(cursor)
        if state is None:
            after = self.context.now() - timedelta(days=self.lookback_days)
            yield from self._fresh(int(after.timestamp()), {})
            return
        self.mapper.owner = self.mailbox_owner or state.get("owner")
        self.mapper.aliases = frozenset(self.api.send_as())
        self.book = MeetingBook(state, self.context.now())
        due = list(self.book.due())
        if due:
            yield from due
            yield Checkpoint(_dump(state))
        if state["phase"] == "list":
            yield from self._list(state)
            return
        try:
            yield from self._history(state)
        except HistoryExpired:
            self.counts["history expired"] += 1
            last_ms = int(state.get("last_ms") or 0)
            if last_ms:
                since = datetime.fromtimestamp(last_ms / 1000, UTC) - FALLBACK_MARGIN
            else:
                since = self.context.now() - timedelta(days=self.lookback_days)
            yield from self._fresh(int(since.timestamp()), state)

    # -- list sync ------------------------------------------------------------------------
    def _fresh(self, after: int, previous: Mapping[str, Any]) -> Iterator[SourceItem]:
        profile = self.api.profile()
        owner = self.mailbox_owner or str(profile.get("emailAddress") or "").lower() or None
        self.mapper.owner = owner
        self.mapper.aliases = frozenset(self.api.send_as())
        state: dict[str, Any] = {
            "phase": "list",
            "history_id": str(profile["historyId"]),
            "owner": owner,
            "after": after,
            "page": None,
            "skip": 0,
            "last_ms": int(previous.get("last_ms") or 0),
            "meetings": previous.get("meetings") or {},
        }
        self.book = MeetingBook(state, self.context.now())
        yield from self._list(state)

    def _list(self, state: dict[str, Any]) -> Iterator[SourceItem]:
        query = f"after:{int(state['after'])}"
        # A resumed page is read again from its start: messages deleted meanwhile would
        # shift a saved position past unread ones. Reading some twice changes nothing.
        start, pages = self._listing(query, state.get("page"))
        # Messages counted before this list (a history sync that fell back), and the total
        # expected: only the first page's estimate means the whole list.
        base = self.counts["messages"]
        expected: int | None = None
        listed = 0
        current = start
        for number, page in enumerate(pages):
            ids = message_ids(page.items)
            if number == 0 and start is None:
                expected = _estimate(page.answer)
            if expected is not None:
                expected = _expected(expected, listed, ids, page.next is not None)
                expect(self.context.progress, "messages", base + expected)
                listed += len(ids)
            for first in range(0, len(ids), MAX_BATCH):
                chunk = ids[first : first + MAX_BATCH]
                yield from self._read(chunk, state)
                state.update(page=current, skip=first + len(chunk))
                yield Checkpoint(_dump(state))
            current = page.next
        state.update(phase="history", page=None, skip=0)
        yield Checkpoint(_dump(state))

    def _listing(
        self, query: str, page: str | None
    ) -> tuple[str | None, Iterator[Page[dict[str, Any]]]]:
        """The pages of the list from the saved ``page`` token, and the token they start at:
        a token Gmail no longer takes (400) lists again from the first page."""
        pages = self.api.message_pages(query, page)
        try:
            first = next(pages)
        except HttpError as exc:
            if exc.status != 400 or page is None:
                raise
            return None, self.api.message_pages(query, None)
        return page, itertools.chain([first], pages)

    # -- history sync ---------------------------------------------------------------------
    def _history(self, state: dict[str, Any]) -> Iterator[SourceItem]:
        pending: dict[str, str] = {}  # message id -> READ or DISOWN, the latest record winning
        last: Mapping[str, Any] = {}
        for page in self.api.history_pages(str(state["history_id"])):
            if page.next is None:  # every record is in hand: the reads are known
                reads = _reads(pending, page.items)
                expect(self.context.progress, "messages", self.counts["messages"] + reads)
            for record in page.items:
                yield from self._note(record, pending)
                if len(pending) >= MAX_BATCH:
                    yield from self._settle(pending, state)
                    pending = {}
                    state["history_id"] = str(record["id"])
                    yield Checkpoint(_dump(state))
            last = page.answer
        if pending:
            yield from self._settle(pending, state)
        state["history_id"] = str(last.get("historyId") or state["history_id"])
        yield Checkpoint(_dump(state))

    def _note(self, record: Mapping[str, Any], pending: dict[str, str]) -> Iterator[SourceItem]:
        """What one history record asks for: messages to read, touchpoints to withdraw."""
        for message_id, action in _changes(record):
            if action == SKIP:
                yield from count_outcome(self.counts, self.context, "spam/trash/draft")
            else:
                pending[message_id] = action

    def _settle(self, pending: Mapping[str, str], state: dict[str, Any]) -> Iterator[SourceItem]:
        reads = [m for m, action in pending.items() if action == READ]
        if reads:
            yield from self._read(reads, state)
        disowned = [m for m, action in pending.items() if action == DISOWN]
        if disowned:
            yield from self._disown(disowned)

    def _disown(self, ids: Sequence[str]) -> Iterator[SourceItem]:
        """Withdraw the touchpoints of messages marked as spam since they were read.

        A message naming several customers may have given one touchpoint each
        (``ID/customer``): every id it can have had is withdrawn.
        """
        found = self.api.get_metadata(ids)
        for message_id in dict.fromkeys(ids):
            self.counts["marked spam"] += 1
            external_ids = {message_id}
            data = found.get(message_id)
            if data is not None:
                external_ids.update(self.mapper.external_ids(_message(message_id, data)))
            for external_id in sorted(external_ids):
                yield Retire("touchpoint", external_id)

    # -- messages -------------------------------------------------------------------------
    def _read(self, ids: Sequence[str], state: dict[str, Any]) -> Iterator[SourceItem]:
        found = self.api.get_metadata(ids)
        messages = {m: _message(m, data) for m, data in found.items()}
        meetings = [m for m, message in messages.items() if looks_like_meeting(message)]
        invites = read_invites(self.api, meetings, self.counts)
        for message_id in dict.fromkeys(ids):
            data = found.get(message_id)
            if data is None:
                self.counts["gone"] += 1
                continue
            received = _received(data)
            if received is not None:
                millis = int(received.timestamp() * 1000)
                state["last_ms"] = max(int(state.get("last_ms") or 0), millis)
            self.counts["messages"] += 1
            self.context.progress.advance("messages")
            invite = invites.get(message_id)
            if invite is not None:
                self.counts["invitations"] += 1
                if self.book.superseded(invite):
                    yield from count_outcome(self.counts, self.context, "meeting superseded")
                    continue
            message = attrs.evolve(messages[message_id], invite=invite)
            mapped = self.mapper.map(message)
            yield from count_outcome(self.counts, self.context, mapped.skipped)
            if mapped.problem:
                yield Problem(f"gmail message {message_id}: {mapped.problem}")
            if invite is None:
                yield from mapped.records
            elif mapped.cancelled:
                yield from self.book.cancel(invite, mapped.cancelled)
            else:
                yield from self.book.place(mapped.records)


def _changes(record: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """A history record's (message id, READ, DISOWN or SKIP), in the order they apply."""
    for added in record.get("messagesAdded") or []:
        message = added.get("message") or {}
        if set(message.get("labelIds") or []) & SKIPPED_LABELS:
            yield str(message.get("id") or ""), SKIP
        elif message.get("id"):
            yield str(message["id"]), READ
    for change, labels, action in (
        ("labelsRemoved", RESTORING, READ),
        ("labelsAdded", DISOWNING, DISOWN),
    ):
        for entry in record.get(change) or []:
            message_id = (entry.get("message") or {}).get("id")
            if message_id and set(entry.get("labelIds") or []) & labels:
                yield str(message_id), action


def _reads(pending: Mapping[str, str], records: Sequence[Mapping[str, Any]]) -> int:
    """How many messages :meth:`ApiReader._history` will read for ``records`` from ``pending``,
    settling every :data:`MAX_BATCH` as it does (messages gone meanwhile are not counted
    when read, so this may be above what is counted, never below)."""
    scratch = dict(pending)
    reads = 0
    for record in records:
        for message_id, action in _changes(record):
            if action != SKIP:
                scratch[message_id] = action
        if len(scratch) >= MAX_BATCH:
            reads += sum(action == READ for action in scratch.values())
            scratch = {}
    return reads + sum(action == READ for action in scratch.values())


def _expected(estimate: int, listed: int, page: Sequence[str], more: bool) -> int:
    """The messages a list sync expects, given a page of ``page`` after ``listed``: exactly
    what was listed on the last page, else the estimate, raised to more than is listed."""
    if not more:
        return listed + len(page)
    return max(estimate, listed + len(page) + 1)


def _estimate(answer: Mapping[str, Any]) -> int | None:
    """A messages.list page's ``resultSizeEstimate``, if it gives one."""
    value = answer.get("resultSizeEstimate")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        return max(0, int(value))
    except ValueError:
        return None


def _message(message_id: str, data: Mapping[str, Any]) -> MailMessage:
    """A message's metadata as the mapper reads it."""
    return MailMessage(
        id=message_id,
        headers=Headers(tuple(header_map(data))),
        labels=frozenset(str(label).upper() for label in data.get("labelIds") or []),
        received=_received(data),
        mime_types=mime_types(data),
    )


def _received(data: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(data["internalDate"]) / 1000, UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None


def _load(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        state = json.loads(cursor)
    except ValueError as exc:
        raise CursorError(f"the cursor is not JSON ({exc})") from None
    if not isinstance(state, dict) or state.get("phase") not in ("list", "history"):
        raise CursorError("the cursor has no phase 'list' or 'history'")
    if not state.get("history_id"):
        raise CursorError("the cursor has no history_id")
    why = MeetingBook.unreadable(state)
    if why is not None:
        raise CursorError(f"the cursor cannot be read: {why}")
    return state


def _dump(state: Mapping[str, Any]) -> str:
    return json.dumps(state, sort_keys=True)
