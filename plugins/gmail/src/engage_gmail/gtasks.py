"""GoogleTasksSink: follow-ups as tasks in a Google Tasks list (``plugin = "gtasks"``).

Each engage task becomes one Google task: the title, notes made of the body and the reason,
and the due date (Google Tasks keeps only the date). The notes end with a line
``engage-task: <key>``, and the list alone says which keys have a task:
:meth:`GoogleTasksSink.remote_keys` reads the whole list once per run (``tasks.list``, 100 a
page, completed, hidden and deleted tasks included) and keeps it, adding the tasks this run
creates. Every :meth:`~GoogleTasksSink.create` looks its tasks up there first, so a store
that was lost, restored from a backup, or crashed between the create and the ledger write
never leaves a duplicate. Tasks whose condition cleared are marked completed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import quote

from engage.adapters import AdapterContext, PushResult
from engage.errors import SinkError
from engage.http import AuthError, HttpError, RetryPolicy
from engage.models import Task
from engage_gmail.auth import SCOPE_TASKS
from engage_gmail.options import DEFAULT_TASKLIST, TasksOptions
from engage_gmail.writes import GoogleSink

KEY_PREFIX = "engage-task: "
TITLE_LIMIT = 1024
NOTES_LIMIT = 8192
PAGE_SIZE = 100
#: Task lists per page of ``tasklists.list`` (its most).
LISTS_PAGE_SIZE = 1000

_KEY_LINE = re.compile(r"^engage-task: (\S+)[ \t]*$", re.MULTILINE)


def notes_for(task: Task) -> str:
    """The task's notes: its body, why it exists, and the key line, within Google's 8,192 chars."""
    tail = f"\n\nWhy: {task.reason.strip()}\n\n{KEY_PREFIX}{task.key}"
    body = task.body.strip()
    room = NOTES_LIMIT - len(tail)
    if len(body) > room:
        body = body[: max(room - 1, 0)].rstrip() + "…"
    return body + tail


def resource_for(task: Task) -> dict[str, str]:
    """The Tasks API ``Task`` resource for an engage task."""
    title = " ".join(task.title.split()) or task.key
    if len(title) > TITLE_LIMIT:
        title = title[: TITLE_LIMIT - 1] + "…"
    return {
        "title": title,
        "notes": notes_for(task),
        "due": f"{task.due.isoformat()}T00:00:00.000Z",
        "status": "needsAction",
    }


def key_of(notes: str | None) -> str | None:
    """The engage task key written in a task's notes, or None."""
    found = _KEY_LINE.findall(notes or "")
    return str(found[-1]) if found else None


class GoogleTasksSink(GoogleSink):
    """Writes follow-ups into a Google Tasks list; completes them when their condition clears.

    Needs the ``tasks`` scope. ``tasklist`` is a list's id, its title, or ``@default`` (the
    user's default list).
    """

    options: ClassVar[type[TasksOptions]] = TasksOptions
    batch_size: ClassVar[int] = 50
    made: ClassVar[str] = "Google task"
    place: ClassVar[str] = "the list"

    def __init__(
        self,
        options: TasksOptions,
        context: AdapterContext,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Build the sink from its checked options; reads the credentials file now."""
        super().__init__(
            options, context, api="Google Tasks", scopes=[SCOPE_TASKS], retry=retry, sleep=sleep
        )
        self.tasklist = options.tasklist
        self._list_id: str | None = None
        self._remote: dict[str, str] | None = None

    # -- the list ----------------------------------------------------------------------

    def list_id(self) -> str:
        """The configured list's id (``@default`` as is), looked up once by id or title."""
        if self._list_id is None:
            if self.tasklist == DEFAULT_TASKLIST:
                self._list_id = DEFAULT_TASKLIST
            else:
                with self.translated("looking up the task list"):
                    lists = list(self.items("/tasks/v1/users/@me/lists", "items", LISTS_PAGE_SIZE))
                self._list_id = _pick_list(lists, self.tasklist, self.where)
        return self._list_id

    def _tasks_path(self) -> str:
        return f"/tasks/v1/lists/{quote(self.list_id(), safe='@')}/tasks"

    def remote_keys(self, *, refresh: bool = False) -> dict[str, str]:
        """Every engage task key in the list (completed, hidden and deleted tasks too) → task id.

        Read once per run and kept (with the tasks this run creates); ``refresh`` reads the
        list again.
        """
        if self._remote is not None and not refresh:
            return self._remote
        found: dict[str, str] = {}
        shown = {"showCompleted": "true", "showHidden": "true", "showDeleted": "true"}
        for item in self.items(self._tasks_path(), "items", PAGE_SIZE, shown):
            key = key_of(item.get("notes"))
            if key is not None and item.get("id"):
                found.setdefault(key, str(item["id"]))
        self._remote = found
        return found

    @property
    def notices(self) -> list[str]:
        """What the sync summary shows once: tasks found in the list, not created again."""
        if not self.found_remote:
            return []
        return [
            f"{self.where}: {self.found_remote} task(s) already had a Google task in the list "
            f"(found by its '{KEY_PREFIX.strip()}' line); recorded, not created again"
        ]

    # -- the Sink protocol ---------------------------------------------------------------

    def _create_one(self, task: Task) -> PushResult:
        return self.create_one(task, self._tasks_path(), resource_for(task))

    def complete(self, remote_ids: Mapping[str, str]) -> Iterable[PushResult]:
        """Mark the Google tasks of cleared engage tasks completed (a deleted one fails alone)."""
        results = []
        for key, remote_id in remote_ids.items():
            path = f"{self._tasks_path()}/{quote(remote_id, safe='')}"
            with self.translated(f"completing the Google task for {key}"):
                try:
                    self.client.request("PATCH", path, json={"status": "completed"})
                except HttpError as exc:
                    if exc.status != 404 or isinstance(exc, AuthError):
                        raise
                    results.append(PushResult(key, error="the Google task no longer exists"))
                    continue
            results.append(PushResult(key, remote_id=remote_id))
        return results


def _pick_list(lists: Sequence[Mapping[str, Any]], wanted: str, where: str) -> str:
    for item in lists:
        if item.get("id") == wanted:
            return wanted
    for exact in (True, False):
        for item in lists:
            title = str(item.get("title") or "")
            if title == wanted if exact else title.casefold() == wanted.casefold():
                return str(item["id"])
    titles = ", ".join(repr(str(item.get("title"))) for item in lists) or "none"
    raise SinkError(
        f"{where}: tasklist: no Google Tasks list has the id or title {wanted!r} "
        f"(lists: {titles}); use one of them, or @default"
    )
