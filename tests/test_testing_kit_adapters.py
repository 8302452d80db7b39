"""Reference adapters that keep every promise, and their contract tests: the kit's control.

``NotesSource`` reads JSON-lines files of notes (one checkpoint per file) and
``NotesSink`` keeps tasks in a JSON file standing for a remote task list. The kit's own
tests (test_testing_kit.py) break them one promise at a time and check that the contract
suites catch it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from engage.adapters import (
    AdapterContext,
    Checkpoint,
    Notice,
    Option,
    Problem,
    PushResult,
    SourceItem,
)
from engage.errors import ConfigError, RetriableSinkError, RetriableSourceError
from engage.models import Task, Touchpoint
from engage.testing import SinkCase, SinkContract, SourceCase, SourceContract

TOKEN = "tok-5f0c9e1d-never-print-me"


def token_of(options: Mapping[str, Any], context: AdapterContext) -> str:
    """The secret the ``token_env`` option names, from the context's environment."""
    name = options["token_env"]
    if name not in context.env:
        raise ConfigError(f"{context.table('sources')}: ${name} is not set")
    return context.env[name]


class NotesSource:
    """Notes from ``*.jsonl`` files: ``{"id", "at", "email"}`` a line, a checkpoint per file.

    The cursor is ``{"v": 1, "done": [file names]}``; one it cannot read is set aside with a
    Notice and the pull starts over. A ``DOWN`` file beside the notes fails the pull.
    """

    options: ClassVar[Mapping[str, Option]] = {
        "path": Option(str, required=True, help="directory of *.jsonl files"),
        "token_env": Option(str, default="NOTES_TOKEN"),
    }

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        self.directory = context.path(options["path"])
        self.context = context
        self._token = token_of(options, context)

    def __repr__(self) -> str:
        return f"NotesSource({str(self.directory)!r})"

    def files(self) -> list[Path]:
        return sorted(self.directory.glob("*.jsonl"))

    def load(self, cursor: str | None) -> tuple[set[str], Notice | None]:
        if cursor is None:
            return set(), None
        try:
            state = json.loads(cursor)
            if state["v"] == 1 and isinstance(state["done"], list):
                return {str(name) for name in state["done"]}, None
        except (ValueError, KeyError, TypeError):
            pass
        return set(), Notice(f"{self.context.name}: the saved cursor is unreadable; read again")

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        if (self.directory / "DOWN").exists():
            raise RetriableSourceError(f"{self.context.name}: the notes service is down")
        done, notice = self.load(cursor)
        if notice is not None:
            yield notice
        for path in self.files():
            if path.name in done:
                continue
            yield from self.read(path)
            done.add(path.name)
            yield Checkpoint(json.dumps({"v": 1, "done": sorted(done)}))
        if not self.files():
            yield Checkpoint(json.dumps({"v": 1, "done": []}))

    def read(self, path: Path) -> Iterator[SourceItem]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            note = json.loads(line)
            key = self.context.identity.customer_key(note.get("email", ""))
            if key is None:
                yield Problem(
                    f"{path.name}:{number}: email: not an address (got {note.get('email')!r})"
                )
                continue
            yield self.touchpoint(note, key)

    def touchpoint(self, note: Mapping[str, Any], key: str) -> Touchpoint:
        return Touchpoint(
            source=self.context.name,
            external_id=note["id"],
            customer=key,
            occurred_at=datetime.fromisoformat(note["at"]),
            channel="note",
            direction="outbound",
            contact_email=note["email"],
        )


class NotesSink:
    """Tasks in a JSON file ``{remote_id: task}``, like a remote task list; a ``DOWN`` file
    beside it fails every create."""

    options: ClassVar[Mapping[str, Option]] = {
        "path": Option(str, required=True),
        "token_env": Option(str, default="NOTES_TOKEN"),
    }
    batch_size: ClassVar[int] = 2

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        self.path = context.path(options["path"])
        self._token = token_of(options, context)

    def __repr__(self) -> str:
        return f"NotesSink({str(self.path)!r})"

    def remote(self) -> dict[str, dict[str, Any]]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def find(self, tasks: Sequence[Task]) -> Mapping[str, str]:
        wanted = {task.key for task in tasks}
        return {task["key"]: rid for rid, task in self.remote().items() if task["key"] in wanted}

    def create(self, tasks: Sequence[Task]) -> Iterable[PushResult]:
        if self.path.with_name("DOWN").exists():
            raise RetriableSinkError("the task list is down")
        remote = self.remote()
        results = []
        for task in tasks:
            rid = f"r{len(remote) + 1}"
            remote[rid] = {**task.to_json(), "status": "open"}
            results.append(PushResult(task.key, remote_id=rid))
        self.path.write_text(json.dumps(remote))
        return results

    def complete(self, remote_ids: Mapping[str, str]) -> Iterable[PushResult]:
        remote = self.remote()
        for rid in remote_ids.values():
            remote[rid]["status"] = "done"
        self.path.write_text(json.dumps(remote))
        return [PushResult(key, remote_id=rid) for key, rid in remote_ids.items()]


NOTES = {
    "a.jsonl": [
        {"id": "n1", "at": "2026-02-01T10:00:00+00:00", "email": "jane@acme.com"},
        {"id": "n2", "at": "2026-02-03T16:30:00+01:00", "email": "bob@globex.io"},
    ],
    "b.jsonl": [
        {"id": "n3", "at": "2026-02-10T08:00:00Z", "email": "jane@acme.com"},
        {"id": "bad", "at": "2026-02-11T08:00:00Z", "email": "nobody"},
        {"id": "n4", "at": "2026-02-12T08:00:00Z", "email": "jo@initech.com"},
    ],
}


def write_notes(directory: Path) -> Path:
    """The reference data: two files, one bad line (b.jsonl:2)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, notes in NOTES.items():
        (directory / name).write_text("".join(json.dumps(n) + "\n" for n in notes))
    return directory


def notes_source_case(tmp_path: Path, adapter: type[Any] = NotesSource) -> SourceCase:
    """The source case for ``adapter`` over the reference data."""
    data = write_notes(tmp_path / "notes")
    return SourceCase(
        adapter=adapter,
        options={"path": "notes"},
        base_dir=tmp_path,
        env={"NOTES_TOKEN": TOKEN},
        secret=TOKEN,
        places=("b.jsonl:2",),
        fail=lambda: (data / "DOWN").write_text("down"),
    )


def notes_sink_case(tmp_path: Path, adapter: type[Any] = NotesSink) -> SinkCase:
    """The sink case for ``adapter`` over a remote task list in ``tmp_path``."""
    remote = tmp_path / "remote.json"

    def remote_keys() -> list[str]:
        held = json.loads(remote.read_text()) if remote.exists() else {}
        return [task["key"] for task in held.values()]

    return SinkCase(
        adapter=adapter,
        options={"path": "remote.json"},
        base_dir=tmp_path,
        env={"NOTES_TOKEN": TOKEN},
        secret=TOKEN,
        remote_keys=remote_keys,
        fail=lambda: (tmp_path / "DOWN").write_text("down"),
    )


class TestNotesSource(SourceContract):
    """The reference source keeps every promise."""

    @pytest.fixture
    def source_case(self, tmp_path: Path) -> SourceCase:
        return notes_source_case(tmp_path)


class TestNotesSink(SinkContract):
    """The reference sink keeps every promise."""

    @pytest.fixture
    def sink_case(self, tmp_path: Path) -> SinkCase:
        return notes_sink_case(tmp_path)
