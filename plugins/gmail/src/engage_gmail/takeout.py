"""Pulling Google Takeout mbox files: streamed, resumable, with bad messages reported.

The cursor is JSON: ``{"owner": ..., "owner_checked": ..., "files": {path: FileState},
"meetings": ...}``. A checkpoint follows every ``checkpoint_every`` messages and the end of
each file, with the offset of the next message, so an interrupted read resumes where it
stopped. A cursor this reader cannot read (not JSON, or a JSON object of another shape: another
source's, a field of another type) raises :class:`~engage.cursors.CursorError`, so the sync
sets it aside and the files are read again from the start, with a notice (the rule of every
source, :mod:`engage.cursors`).
"""

from __future__ import annotations

import glob
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import attrs

from engage.adapters import (
    AdapterContext,
    Checkpoint,
    Notice,
    Problem,
    Progress,
    Skipped,
    SourceItem,
    expect,
)
from engage.cursors import CursorError
from engage.errors import ConfigError, SourceError
from engage.preview import FieldMap, PreviewItem, PreviewRow
from engage.readahead import read_ahead
from engage_gmail.api_reader import count_outcome
from engage_gmail.headers import parse_addresses, parse_message_id
from engage_gmail.invites import parse_invite
from engage_gmail.mapping import MailMessage, Mapper
from engage_gmail.mbox import (
    FileState,
    MessageStream,
    RawMessage,
    not_mbox,
    read_messages,
    resume_offset,
    state_at,
)
from engage_gmail.meetings import MeetingBook

#: How many messages the owner inference looks at before giving up.
OWNER_SCAN_LIMIT = 20_000

#: The keys of the cursor's JSON object; one with another key is not this reader's.
#: mbox files this large in all (bytes still to read) are parsed in a process of their own
#: (:func:`engage.readahead.read_ahead`) while engage stores what they hold.
READ_AHEAD_BYTES = 1 << 20

CURSOR_KEYS = frozenset({"owner", "owner_checked", "files", "meetings"})

log = logging.getLogger(__name__)


class TakeoutReader:
    """Reads mbox files matching a path or glob into engage records.

    Args:
        pattern: The ``mbox`` option: a file or a glob, relative to the config's directory.
        context: The adapter's context.
        mailbox_owner: The owner's address; by default the sender of the first Sent message.
        checkpoint_every: Messages between checkpoints.
        settle_seconds: How long a file must be unchanged before a last message that does
            not end with an empty line counts as complete.
        clock: The wall clock (seconds), compared with files' modification times.
    """

    def __init__(
        self,
        pattern: str,
        context: AdapterContext,
        mailbox_owner: str | None = None,
        checkpoint_every: int = 500,
        settle_seconds: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.pattern = pattern
        self.context = context
        self.mailbox_owner = mailbox_owner.strip().lower() if mailbox_owner else None
        self.every = max(1, checkpoint_every)
        self.settle_seconds = settle_seconds
        self.clock = clock
        self.counts: Counter[str] = Counter()

    def files(self) -> list[Path]:
        """The files the pattern names, sorted.

        Raises:
            SourceError: nothing matches.
        """
        path = self.context.path(self.pattern)
        if glob.has_magic(str(path)):
            found = sorted(Path(p) for p in glob.glob(str(path)) if Path(p).is_file())
        else:
            found = [path] if path.is_file() else []
        if not found:
            raise SourceError(
                f"{self.context.table('sources')}: mbox = {self.pattern!r} matches no file "
                f"(looked in {path.parent})"
            )
        return found

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        """Yield records from the parts of the files not read yet, with checkpoints.

        Raises:
            ConfigError: the mailbox owner is unknown and no internal domain is configured.
            SourceError: a file holds no message at all (after the other files were read
                and checkpointed).
        """
        state = _load(cursor)
        files = self.files()
        owner = self.mailbox_owner or state.get("owner")
        if owner is None and not state.get("owner_checked"):
            owner = _infer_owner(files)
            state["owner_checked"] = True
        if owner is None:
            yield Notice(self._owner_unknown())
        state["owner"] = owner
        mapper = Mapper(self.context.name, self.context.identity, owner, now=self.context.now)
        read_files: dict[str, Any] = state.setdefault("files", {})
        book = MeetingBook(state, self.context.now())
        due = list(book.due())
        if due:
            yield from due
            yield Checkpoint(json.dumps(state, sort_keys=True))
        starts = [
            (path, resume_offset(path, FileState.from_json(read_files.get(str(path.resolve())))))
            for path in files
        ]
        sizes = {path: path.stat().st_size for path, start in starts if start is not None}
        size = sum(sizes[path] - start for path, start in starts if start is not None)

        def read(progress: Progress) -> Generator[SourceItem, None, Counter[str]]:
            if progress is not self.context.progress:  # in the child reading ahead
                self.context = attrs.evolve(self.context, progress=progress)
            yield from self._read(starts, sizes, size, state, mapper, book)
            return self.counts

        if size >= READ_AHEAD_BYTES:  # parse in a process of its own while engage stores
            self.counts = yield from read_ahead(read, self.context.progress)
        else:
            yield from read(self.context.progress)

    def _read(
        self,
        starts: list[tuple[Path, int | None]],
        sizes: dict[Path, int],
        size: int,
        state: dict[str, Any],
        mapper: Mapper,
        book: MeetingBook,
    ) -> Iterator[SourceItem]:
        """The records of the files from where each was left (``size`` bytes in all), with
        checkpoints; a SourceError at the end for files that hold no message."""
        progress: dict[str, Any] = state["files"]
        failures: list[str] = []
        # the bytes to read, for a percentage and the time left on a terminal
        sized = expect(self.context.progress, "bytes", size)
        for path, start in starts:
            key = str(path.resolve())
            if start is None:
                self.counts["files unchanged"] += 1
                continue
            with path.open("rb") as handle:
                stream = MessageStream(handle, start)
                end = counted = start
                for raw in stream:
                    if sized:
                        self.context.progress.advance("bytes", max(0, raw.end - counted))
                        counted = max(counted, raw.end)
                    if raw.last and not raw.closed and not self._settled(path):
                        self.counts["messages still being written"] += 1
                        yield Skipped("message still being written (read when complete)")
                        break
                    if start == 0 and stream.found == 1 and stream.leading:
                        self.counts["problems"] += 1
                        yield Problem(
                            f"{path.name}: byte 0: {stream.leading} bytes of text before the "
                            "first 'From ' line skipped (not a message)"
                        )
                    yield from self._one(raw, path, mapper, book)
                    end = raw.end
                    if stream.found % self.every == 0:
                        progress[key] = state_at(path, end).to_json()
                        yield Checkpoint(json.dumps(state, sort_keys=True))
            if sized:  # the rest: a message still being written, or trailing blank lines
                self.context.progress.advance("bytes", max(0, sizes[path] - counted))
            if start == 0 and stream.found == 0 and path.stat().st_size > 0:
                failures.append(not_mbox(path))
                continue
            progress[key] = state_at(path, end).to_json()
            yield Checkpoint(json.dumps(state, sort_keys=True))
        if failures:
            raise SourceError("; ".join(failures))

    def preview(self) -> Iterator[PreviewItem]:
        """Read every file from its start, writing nothing (no cursor): see
        :mod:`engage.preview`. One row per message, placed ``FILE: byte N``."""
        yield from FIELD_MAP
        try:
            files = self.files()
        except SourceError as exc:
            yield Problem(str(exc))
            return
        owner = self.mailbox_owner or _infer_owner(files)
        if owner is None:
            yield Problem(
                f"{self.pattern}: mailbox owner unknown (no message labelled Sent); "
                'set mailbox_owner = "you@yourco.com"'
            )
        mapper = Mapper(self.context.name, self.context.identity, owner, now=self.context.now)
        book = MeetingBook({}, self.context.now())
        for path in files:
            with path.open("rb") as handle:
                stream = MessageStream(handle)
                for raw in stream:
                    place = f"{path.name}: byte {raw.offset}"
                    if raw.last and not raw.closed and not self._settled(path):
                        skipped = Skipped("message still being written (read when complete)")
                        yield PreviewRow(place, (skipped,), _shown(raw))
                        break
                    items = tuple(self._one(raw, path, mapper, book))
                    yield PreviewRow(place, items, _shown(raw))
            if stream.found == 0 and path.stat().st_size > 0:
                yield Problem(not_mbox(path))

    def _settled(self, path: Path) -> bool:
        """True when ``path`` was last changed at least ``settle_seconds`` ago."""
        return self.clock() - path.stat().st_mtime >= self.settle_seconds

    def _owner_unknown(self) -> str:
        """What to say, once, when the owner is unknown; fail when nothing would count as us."""
        fix = 'set mailbox_owner = "you@yourco.com"'
        where = self.context.table("sources")
        if not self.context.identity.internal_domains:
            raise ConfigError(
                f"{where}: mailbox owner unknown: no message in {self.pattern!r} is labelled "
                "Sent and internal_domains is empty, so mail we sent cannot be told from mail "
                f"we received; {fix} (or internal_domains)"
            )
        self.counts["owner unknown"] += 1
        notice = (
            f"{where}: mailbox owner unknown (no message in {self.pattern!r} is labelled Sent): "
            f"only addresses in internal_domains count as us; {fix}"
        )
        log.warning("%s", notice)
        return notice

    def _one(
        self, raw: RawMessage, path: Path, mapper: Mapper, book: MeetingBook
    ) -> Iterator[SourceItem]:
        where = f"{path.name}: byte {raw.offset}"
        self.counts["messages"] += 1
        self.context.progress.advance("messages")
        if raw.oversize:
            self.counts["problems"] += 1
            yield Problem(f"{where}: header block larger than 256 KB; message skipped")
            return
        headers, labels = raw.parse()
        if not headers.fields:
            self.counts["problems"] += 1
            yield Problem(f"{where}: no header fields after the From_ line; message skipped")
            return
        message_id = parse_message_id(headers.get("Message-ID"))
        invite = next(filter(None, map(parse_invite, raw.calendars)), None)
        if invite is not None and book.superseded(invite):
            yield from count_outcome(self.counts, self.context, "meeting superseded")
            return
        message = MailMessage(
            id=message_id or f"sha256:{raw.digest()}",
            headers=headers,
            labels=labels,
            received=raw.received(),
            mime_types=raw.mime_types,
            footer=raw.footer,
            invite=invite,
        )
        mapped = mapper.map(message)
        yield from count_outcome(self.counts, self.context, mapped.skipped)
        if mapped.problem:
            self.counts["problems"] += 1
            yield Problem(f"{where}: {mapped.problem}; message skipped")
        if invite is None:
            yield from mapped.records
        elif mapped.cancelled:
            yield from book.cancel(invite, mapped.cancelled)
        else:
            yield from book.place(mapped.records)


#: How the mail headers map to engage's fields, for ``engage check``.
FIELD_MAP = (
    FieldMap("From", "contact_email", "the sender; us (owner, internal_domains) = outbound"),
    FieldMap("To", "customer", "outbound: one touchpoint per customer; inbound: contacts"),
    FieldMap("Cc", "customer", "contacts; customers only when To names none (outbound)"),
    FieldMap("Bcc", "customer", "as Cc"),
    FieldMap("Date", "occurred_at", "else the From_ line's date"),
    FieldMap("Subject", "subject", "RFC 2047 decoded"),
    FieldMap("Message-ID", "message_id", "also external_id (else a digest of the headers)"),
    FieldMap("X-Gmail-Labels", None, "Spam, Trash, Drafts skipped; Chat = chat"),
    FieldMap("List-Id", None, "List-*, Precedence, Auto-Submitted: automated, skipped"),
    FieldMap("text/calendar", "occurred_at", "a meeting at DTSTART; id ics:UID"),
)

_SHOWN = ("From", "To", "Cc", "Date", "Subject", "Message-ID", "X-Gmail-Labels")


def _shown(raw: RawMessage) -> dict[str, str]:
    headers, _ = raw.parse()
    return {name: value for name in _SHOWN if (value := headers.get(name)) is not None}


def _infer_owner(files: list[Path]) -> str | None:
    seen = 0
    for path in files:
        with path.open("rb") as handle:
            for raw in read_messages(handle):
                seen += 1
                if seen > OWNER_SCAN_LIMIT:
                    return None
                headers, labels = raw.parse()
                if "SENT" in labels:
                    senders = parse_addresses(headers.get_all("From"))
                    if senders:
                        return senders[0].email
    return None


def _load(cursor: str | None) -> dict[str, Any]:
    """The state a cursor holds (empty for none).

    Raises:
        CursorError: the cursor is not JSON, or not an mbox cursor (:func:`_unreadable`).
    """
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError as exc:
        raise CursorError(f"the cursor is not JSON ({exc})") from None
    if not isinstance(state, dict):
        raise CursorError("the cursor is not a JSON object")
    why = _unreadable(state)
    if why is not None:
        raise CursorError(f"the cursor is not one of an mbox source: {why}")
    return state


def _unreadable(state: dict[str, Any]) -> str | None:
    """Why a cursor's JSON object is no mbox cursor this reader wrote, or None."""
    foreign = sorted(set(state) - CURSOR_KEYS)
    if foreign:
        return f"it has keys an mbox cursor never has ({', '.join(foreign)})"
    if not isinstance(state.get("owner"), str | None):
        return "its owner is not an address"
    if not isinstance(state.get("owner_checked", False), bool):
        return "its owner_checked is not true or false"
    files = state.get("files", {})
    if not isinstance(files, dict) or not all(
        FileState.from_json(read) is not None for read in files.values()
    ):
        return "its files are not read positions by path"
    return MeetingBook.unreadable(state)
