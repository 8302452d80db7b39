"""A real source and sink for testing the sync: records from a JSON-lines file, tasks into a JSON file.

They are ordinary plugins (registered through the hooks, built from config tables), so the
sync under test runs exactly as it does with a real adapter. The sink's JSON file plays the
remote system: it survives a crashed process, which is what the crash tests need.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from engage.adapters import (
    AdapterContext,
    Checkpoint,
    Option,
    Problem,
    PushResult,
    Skipped,
    SourceItem,
)
from engage.cursors import CursorError
from engage.errors import RetriableSourceError, SinkError
from engage.hookspecs import hookimpl
from engage.models import Touchpoint


class JsonlSource:
    """Touchpoints from a JSON-lines file; the cursor is the number of lines already read.

    A line ``{"problem": "..."}`` is a bad record; ``{"skipped": "why"}`` input passed over; ``{"fail": "..."}`` makes the pull fail there;
    ``{"checkpoint": true}`` commits what came before; ``{"wait_for": "NAME"}`` waits (up to
    30 s) until a file of that name exists beside the source's file (a runner in mid-pull).
    """

    options: ClassVar[Mapping[str, Option]] = {
        "path": Option(str, required=True, help="JSON-lines file of touchpoints"),
    }

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        self.path = context.path(options["path"])
        self.context = context

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        if cursor is not None and not cursor.isdigit():
            raise CursorError(f"a line number was expected (got {cursor[:20]!r})")
        start = int(cursor or 0)
        lines = self.path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines[start:], start + 1):
            data = json.loads(line)
            if "problem" in data:
                yield Problem(f"{self.path.name}:{number}: {data['problem']}")
            elif "fail" in data:
                raise RetriableSourceError(data["fail"])
            elif "skipped" in data:
                yield Skipped(data["skipped"])
            elif "checkpoint" in data:
                yield Checkpoint(str(number))
            elif "wait_for" in data:
                flag = self.path.with_name(data["wait_for"])
                deadline = time.monotonic() + 30
                while not flag.exists() and time.monotonic() < deadline:
                    time.sleep(0.02)
            else:
                data["occurred_at"] = datetime.fromisoformat(data["occurred_at"])
                yield Touchpoint(source=self.context.name, **data)
        yield Checkpoint(str(len(lines)))


class JsonFileSink:
    """Tasks kept in a JSON file ``{remote_id: task}``, like a remote task list.

    Options let a test make it refuse some tasks, refuse everything, or die right after the
    remote create (before engage can record the remote ids).
    """

    options: ClassVar[Mapping[str, Option]] = {
        "path": Option(str, required=True),
        "refuse_keys": Option(list, default=[]),
        "down": Option(bool, default=False),
        "die_after_create": Option(bool, default=False),
    }
    batch_size: ClassVar[int] = 3

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        self.path = context.path(options["path"])
        self.refuse = set(options["refuse_keys"])
        self.down = options["down"]
        self.die = options["die_after_create"]

    def remote(self) -> dict[str, dict[str, Any]]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def find(self, tasks: Sequence[Any]) -> Mapping[str, str]:
        wanted = {task.key for task in tasks}
        return {task["key"]: rid for rid, task in self.remote().items() if task["key"] in wanted}

    def create(self, tasks: Sequence[Any]) -> Iterable[PushResult]:
        if self.down:
            raise SinkError("the task service is down")
        remote = self.remote()
        results = []
        for task in tasks:
            if task.key in self.refuse:
                results.append(PushResult(task.key, error="refused by the remote"))
                continue
            rid = f"r{len(remote) + 1}"
            remote[rid] = {**task.to_json(), "status": "open"}
            results.append(PushResult(task.key, remote_id=rid))
        self.path.write_text(json.dumps(remote, indent=1))
        if self.die:
            os._exit(17)  # the process dies before engage records the remote ids
        return results

    def complete(self, remote_ids: Mapping[str, str]) -> Iterable[PushResult]:
        remote = self.remote()
        for rid in remote_ids.values():
            remote[rid]["status"] = "done"
        self.path.write_text(json.dumps(remote, indent=1))
        return [PushResult(key, remote_id=rid) for key, rid in remote_ids.items()]


@hookimpl
def engage_register_sources(register: Any) -> None:
    register("jsonl", JsonlSource)


@hookimpl
def engage_register_sinks(register: Any) -> None:
    register("jsonfile", JsonFileSink)


def install_as_distribution(site: Path, tests_dir: Path) -> dict[str, str]:
    """Make this module an installed plugin (a dist-info with an entry point) under ``site``.

    Returns the environment for a subprocess that should see it.
    """
    info = site / "engage_testkit-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: engage-testkit\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[engage]\ntestkit = tests.support.fakeplugins\n")
    path = os.pathsep.join([str(site), str(tests_dir.parent)])
    return {**os.environ, "PYTHONPATH": path}
