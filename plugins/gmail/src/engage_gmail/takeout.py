"""Pulling Google Takeout mbox files: streamed, resumable, with bad messages reported.

The cursor is JSON: ``{"owner": ..., "files": {path: FileState}}``. A checkpoint follows every
``checkpoint_every`` messages and the end of each file, with the offset of the next message,
so an interrupted read resumes where it stopped.
"""

from __future__ import annotations

import glob
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engage.adapters import AdapterContext, Checkpoint, Problem, SourceItem
from engage.errors import SourceError
from engage_gmail.api_reader import count_outcome
from engage_gmail.headers import parse_addresses, parse_message_id
from engage_gmail.mapping import MailMessage, Mapper
from engage_gmail.mbox import FileState, RawMessage, read_messages, resume_offset, state_at

#: How many messages the owner inference looks at before giving up.
OWNER_SCAN_LIMIT = 20_000


class TakeoutReader:
    """Reads mbox files matching a path or glob into engage records.

    Args:
        pattern: The ``mbox`` option: a file or a glob, relative to the config's directory.
        context: The adapter's context.
        mailbox_owner: The owner's address; by default the sender of the first Sent message.
        checkpoint_every: Messages between checkpoints.
    """

    def __init__(
        self,
        pattern: str,
        context: AdapterContext,
        mailbox_owner: str | None = None,
        checkpoint_every: int = 500,
    ) -> None:
        self.pattern = pattern
        self.context = context
        self.mailbox_owner = mailbox_owner.strip().lower() if mailbox_owner else None
        self.every = max(1, checkpoint_every)
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
                f"[sources.{self.context.name}]: mbox = {self.pattern!r} matches no file "
                f"(looked in {path.parent})"
            )
        return found

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        """Yield records from the parts of the files not read yet, with checkpoints."""
        state = _load(cursor)
        files = self.files()
        owner = self.mailbox_owner or state.get("owner")
        if owner is None and not state.get("owner_checked"):
            owner = _infer_owner(files)
            state["owner_checked"] = True
            if owner is None:
                yield Problem(
                    f"{self.pattern}: mailbox owner unknown (no message labelled Sent); set "
                    "mailbox_owner, or only the internal domains count as us"
                )
        state["owner"] = owner
        mapper = Mapper(self.context.name, self.context.identity, owner, now=self.context.now)
        progress: dict[str, Any] = state.setdefault("files", {})
        for path in files:
            key = str(path.resolve())
            start = resume_offset(path, FileState.from_json(progress.get(key)))
            if start is None:
                self.counts["files unchanged"] += 1
                continue
            with path.open("rb") as handle:
                for done, raw in enumerate(read_messages(handle, start), 1):
                    yield from self._one(raw, path, mapper)
                    if done % self.every == 0:
                        progress[key] = state_at(path, raw.end).to_json()
                        yield Checkpoint(json.dumps(state, sort_keys=True))
                end = handle.tell()
            progress[key] = state_at(path, end).to_json()
            yield Checkpoint(json.dumps(state, sort_keys=True))

    def _one(self, raw: RawMessage, path: Path, mapper: Mapper) -> Iterator[SourceItem]:
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
        message = MailMessage(
            id=message_id or f"sha256:{raw.digest()}",
            headers=headers,
            labels=labels,
            received=raw.received(),
            mime_types=raw.mime_types,
        )
        mapped = mapper.map(message)
        yield from count_outcome(self.counts, self.context, mapped.skipped)
        if mapped.problem:
            self.counts["problems"] += 1
            yield Problem(f"{where}: {mapped.problem}; message skipped")
        yield from mapped.records


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
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}
