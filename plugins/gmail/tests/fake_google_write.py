"""A stateful fake of the Gmail drafts and Google Tasks APIs that the engage sinks write to.

Gmail (``/gmail/v1/users/me``): ``messages.list`` (``q`` with ``from:``/``to:`` terms joined by
``OR``; newest first), ``messages.get`` (``format=metadata`` with repeated
``metadataHeaders``), ``drafts.create`` (``message.raw`` must be base64url RFC 2822; a
``threadId`` must exist, and the draft joins that thread only when its subject and
``References`` match, as Gmail does), ``drafts.list`` (``maxResults`` 1-500, default 100,
paged; ``q`` is refused, as the fake does not search), ``drafts.get`` (``format``; no
``metadataHeaders``, which Gmail defines for ``messages.get`` only), and ``POST
/batch/gmail/v1`` (multipart/mixed of those calls, at most 100, ``Content-ID: <response-ID>``
answers).

Tasks (``/tasks/v1``): ``tasklists.list``, ``tasks.list`` (``maxResults`` at most 100, paged,
with ``showCompleted``/``showHidden``/``showDeleted``), ``tasks.insert`` (title ≤ 1,024,
notes ≤ 8,192, ``due`` RFC 3339; stored as the date at midnight UTC) and ``tasks.patch``.

Every call checks the Bearer token and its scopes through :class:`FakeOAuth`; errors have
Google's body shape. Faults come from :class:`FakeServer` (``fail_next``, ``drop_next``).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import attrs
from fake_gmail import _inner_request, _split
from fake_oauth import FakeOAuth

from engage.testing import FakeServer, Reply, Request
from engage_gmail.compose import decode_raw

MAIL = "https://mail.google.com/"
COMPOSE = "https://www.googleapis.com/auth/gmail.compose"
MODIFY = "https://www.googleapis.com/auth/gmail.modify"
READONLY = "https://www.googleapis.com/auth/gmail.readonly"
METADATA = "https://www.googleapis.com/auth/gmail.metadata"
TASKS = "https://www.googleapis.com/auth/tasks"
TASKS_READONLY = "https://www.googleapis.com/auth/tasks.readonly"

DRAFT_SCOPES = (MAIL, COMPOSE, MODIFY)
DRAFT_READ_SCOPES = (MAIL, COMPOSE, MODIFY, READONLY)
READ_SCOPES = (MAIL, MODIFY, READONLY, METADATA)

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def google_error(code: int, message: str, reason: str, status: str) -> Reply:
    """A reply with Google's error body."""
    return Reply(
        code,
        {
            "error": {
                "code": code,
                "message": message,
                "errors": [{"domain": "global", "reason": reason, "message": message}],
                "status": status,
            }
        },
    )


def bad_request(message: str) -> Reply:
    """400 ``badRequest``/``invalid``, as Google answers an invalid argument."""
    return google_error(400, message, "invalid", "INVALID_ARGUMENT")


def not_found() -> Reply:
    """404 ``notFound``."""
    return google_error(404, "Requested entity was not found.", "notFound", "NOT_FOUND")


@attrs.define
class Message:
    """A mailbox message (headers only) and its labels."""

    id: str
    thread_id: str
    headers: list[tuple[str, str]]
    labels: list[str]
    internal_date: int

    def header(self, name: str) -> str:
        """The first value of a header, or ''."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    def resource(self, fmt: str, wanted: list[str]) -> dict[str, Any]:
        """The Message resource in ``fmt`` (metadata/full/minimal)."""
        body: dict[str, Any] = {
            "id": self.id,
            "threadId": self.thread_id,
            "labelIds": list(self.labels),
            "internalDate": str(self.internal_date),
            "historyId": "1",
            "sizeEstimate": 1000,
            "snippet": "",
        }
        if fmt != "minimal":
            lowered = {w.lower() for w in wanted}
            headers = [
                {"name": k, "value": v}
                for k, v in self.headers
                if fmt != "metadata" or not wanted or k.lower() in lowered
            ]
            body["payload"] = {"mimeType": "text/plain", "headers": headers}
        return body


@attrs.define
class GTask:
    """A Google task as stored."""

    id: str
    list_id: str
    title: str
    notes: str | None
    due: str | None
    status: str = "needsAction"
    completed: str | None = None
    hidden: bool = False
    deleted: bool = False
    updated: str = ""

    def resource(self) -> dict[str, Any]:
        """The Task resource."""
        body: dict[str, Any] = {
            "kind": "tasks#task",
            "id": self.id,
            "etag": f'"{self.id}-{self.updated}"',
            "title": self.title,
            "updated": self.updated,
            "selfLink": f"https://www.googleapis.com/tasks/v1/lists/{self.list_id}/tasks/{self.id}",
            "position": "00000000000000000000",
            "status": self.status,
            "webViewLink": f"https://tasks.google.com/task/{self.id}",
        }
        for name in ("notes", "due", "completed"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        if self.hidden:
            body["hidden"] = True
        if self.deleted:
            body["deleted"] = True
        return body


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeGoogleWrite:
    """Gmail drafts + Google Tasks state on one loopback server, with a FakeOAuth token endpoint."""

    def __init__(self, scopes: tuple[str, ...] = (COMPOSE, READONLY, TASKS)) -> None:
        self.server = FakeServer()
        self.oauth = FakeOAuth(self.server, scopes)
        self.messages: dict[str, Message] = {}
        self.drafts: dict[str, str] = {}  # draft id → message id
        self.tasklists: dict[str, str] = {
            "MTAwMDA": "My Tasks"
        }  # id → title; the first is @default
        self.tasks: dict[str, GTask] = {}
        self._ids = itertools.count(1)
        self._clock = itertools.count(1_700_000_000_000, 60_000)
        self._lock = threading.Lock()
        self._lost = 0
        self.batch_sizes: list[int] = []
        self.inner_requests: list[Request] = []
        gmail, lists = r"/gmail/v1/users/(?P<user>[^/]+)", r"/tasks/v1/lists/(?P<list>[^/]+)"
        route = self.server.route
        route("GET", gmail + r"/messages")(self.messages_list)
        route("GET", gmail + r"/messages/(?P<id>[^/]+)")(self.messages_get)
        route("POST", gmail + r"/drafts")(self.drafts_create)
        route("GET", gmail + r"/drafts")(self.drafts_list)
        route("GET", gmail + r"/drafts/(?P<id>[^/]+)")(self.drafts_get)
        route("GET", r"/tasks/v1/users/(?P<user>[^/]+)/lists")(self.tasklists_list)
        route("GET", lists + r"/tasks")(self.tasks_list)
        route("POST", lists + r"/tasks")(self.tasks_insert)
        route("PATCH", lists + r"/tasks/(?P<task>[^/]+)")(self.tasks_patch)
        route("POST", r"/batch/gmail/v1")(self.batch)

    def __enter__(self) -> FakeGoogleWrite:
        self.server.start()
        # Answer without Nagle's 40 ms wait on each keep-alive request (FakeServer sends headers
        # and body in two writes); keeps hundreds of calls fast.
        handler: Any = self.server._server.RequestHandlerClass  # type: ignore[union-attr]
        handler.disable_nagle_algorithm = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        """The fake's base URL (both APIs)."""
        return self.server.url

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06x}"

    # -- seeding and inspecting ------------------------------------------------------------

    def add_message(
        self,
        sender: str,
        to: str,
        subject: str,
        *,
        message_id: str | None = None,
        references: str = "",
        thread: str | None = None,
        labels: tuple[str, ...] = ("INBOX",),
    ) -> Message:
        """Put a message into the mailbox (newer than every earlier one); return it."""
        with self._lock:
            mid = self._id("m")
            headers = [("From", sender), ("To", to), ("Subject", subject)]
            headers.append(("Message-ID", message_id or f"<{mid}@mail.example>"))
            if references:
                headers.append(("References", references))
            message = Message(mid, thread or mid, headers, list(labels), next(self._clock))
            self.messages[mid] = message
            return message

    def add_own_draft(self, to: str, subject: str) -> str:
        """A draft a person wrote in Gmail (no engage header); its draft id."""
        message = self.add_message("carol@ourco.com", to, subject, labels=("DRAFT",))
        with self._lock:
            draft_id = self._id("r-")
            self.drafts[draft_id] = message.id
        return draft_id

    def calls(self) -> Counter[str]:
        """Every API call received so far, ``METHOD /path-kind``, batched calls included
        (``POST /batch`` counts the batch request itself)."""
        counted: Counter[str] = Counter()
        for request in [*self.server.requests, *self.inner_requests]:
            if request.path == "/token":
                continue
            kind = re.sub(r"/(?:r-|r|t|m)[0-9a-f]{6}\b", "/{id}", request.path)
            kind = re.sub(r"^/tasks/v1/lists/[^/]+", "/tasks/v1/lists/{list}", kind)
            counted[f"{request.method} {kind.removeprefix('/gmail/v1/users/me')}"] += 1
        return counted

    def draft_messages(self) -> list[Message]:
        """The messages of every draft, oldest first."""
        return [self.messages[m] for m in self.drafts.values()]

    def drafts_by_key(self) -> dict[str, list[str]]:
        """engage task key → draft ids carrying it (more than one means a duplicate)."""
        found: dict[str, list[str]] = {}
        for draft_id, mid in self.drafts.items():
            key = self.messages[mid].header("X-Engage-Task")
            found.setdefault(key, []).append(draft_id)
        return found

    def lose_replies(self, count: int = 1) -> None:
        """The next ``count`` creates land, but their answer is lost: the client sees a 503."""
        self._lost += count

    def _answer_create(self, reply: Reply) -> Reply:
        with self._lock:
            if self._lost:
                self._lost -= 1
                return google_error(503, "Backend Error", "backendError", "UNAVAILABLE")
        return reply

    def complete_in_app(self, task_id: str) -> None:
        """A person ticks the task in Google's app: completed, and hidden from default lists."""
        task = self.tasks[task_id]
        task.status, task.completed, task.hidden = "completed", _now(), True

    # -- Gmail ----------------------------------------------------------------------------

    def _gmail_check(self, request: Request, scopes: tuple[str, ...]) -> Reply | None:
        if request.match["user"] != "me":
            return google_error(403, "Delegation denied", "forbidden", "PERMISSION_DENIED")
        return self.oauth.check(request, *scopes)

    def messages_list(self, request: Request) -> Reply:
        denied = self._gmail_check(request, READ_SCOPES)
        if denied:
            return denied
        token = (request.header("Authorization") or "").removeprefix("Bearer ")
        query = request.arg("q")
        if query and set(self.oauth.issued.get(token, ())) <= {METADATA}:
            return google_error(
                403,
                "Metadata scope does not support 'q' parameter",
                "forbidden",
                "PERMISSION_DENIED",
            )
        try:
            size = min(int(request.arg("maxResults", "100") or 100), 500)
        except ValueError:
            return bad_request("Invalid value for maxResults")
        try:
            match = _query_matcher(query or "")
        except ValueError as exc:
            return bad_request(str(exc))
        hits = sorted(
            (
                m
                for m in self.messages.values()
                if match(m) and not {"SPAM", "TRASH"} & set(m.labels)
            ),
            key=lambda m: -m.internal_date,
        )
        start = int(request.arg("pageToken") or 0)
        page = hits[start : start + size]
        body: dict[str, Any] = {
            "messages": [{"id": m.id, "threadId": m.thread_id} for m in page],
            "resultSizeEstimate": len(hits),
        }
        if start + size < len(hits):
            body["nextPageToken"] = str(start + size)
        if not page:
            del body["messages"]
        return Reply(200, body)

    def messages_get(self, request: Request) -> Reply:
        denied = self._gmail_check(request, READ_SCOPES)
        if denied:
            return denied
        message = self.messages.get(request.match["id"])
        if message is None:
            return not_found()
        fmt = request.arg("format", "full") or "full"
        if fmt not in ("minimal", "full", "raw", "metadata"):
            return bad_request(f"Invalid value for format: {fmt}")
        return Reply(200, message.resource(fmt, request.query.get("metadataHeaders", [])))

    def drafts_create(self, request: Request) -> Reply:
        denied = self._gmail_check(request, DRAFT_SCOPES)
        if denied:
            return denied
        body = request.json()
        message: Any = body.get("message") if isinstance(body, dict) else None
        raw = message.get("raw") if isinstance(message, dict) else None
        if not isinstance(raw, str) or not raw:
            return bad_request("Missing draft message")
        try:
            parsed = decode_raw(raw)
        except ValueError:
            return bad_request("Invalid value at 'draft.message.raw' (TYPE_BYTES)")
        if not parsed.keys() or not (parsed.get("To") or parsed.get("Cc") or parsed.get("Bcc")):
            return bad_request("Invalid To header")
        thread = message.get("threadId")
        with self._lock:
            if thread is not None:
                members = [m for m in self.messages.values() if m.thread_id == thread]
                if not members:
                    return not_found()
                if not _joins_thread(parsed, members):
                    thread = None  # Gmail starts a new thread when subject/references disagree
            mid = self._id("r")
            headers = [(k, str(v)) for k, v in parsed.items()]
            stored = Message(mid, thread or mid, headers, ["DRAFT"], next(self._clock))
            self.messages[mid] = stored
            draft_id = self._id("r-")
            self.drafts[draft_id] = mid
        return self._answer_create(
            Reply(
                200,
                {
                    "id": draft_id,
                    "message": {"id": mid, "threadId": stored.thread_id, "labelIds": ["DRAFT"]},
                },
            )
        )

    def drafts_list(self, request: Request) -> Reply:
        denied = self._gmail_check(request, DRAFT_READ_SCOPES)
        if denied:
            return denied
        try:
            size = int(request.arg("maxResults", "100") or 100)
        except ValueError:
            return bad_request("Invalid value for maxResults")
        if not 1 <= size <= 500:
            return bad_request("Invalid value for maxResults: must be between 1 and 500")
        if request.arg("q"):
            return bad_request("fake Gmail: drafts.list q is not implemented")
        items = list(self.drafts.items())[::-1]
        start = int(request.arg("pageToken") or 0)
        page = items[start : start + size]
        body: dict[str, Any] = {"resultSizeEstimate": len(items)}
        if page:
            body["drafts"] = [
                {"id": d, "message": {"id": m, "threadId": self.messages[m].thread_id}}
                for d, m in page
            ]
        if start + size < len(items):
            body["nextPageToken"] = str(start + size)
        return Reply(200, body)

    def drafts_get(self, request: Request) -> Reply:
        denied = self._gmail_check(request, DRAFT_READ_SCOPES)
        if denied:
            return denied
        draft_id = request.match["id"]
        if draft_id not in self.drafts:
            return not_found()
        fmt = request.arg("format", "full") or "full"
        if fmt not in ("minimal", "full", "raw", "metadata"):
            return bad_request(f"Invalid value for format: {fmt}")
        return Reply(
            200, {"id": draft_id, "message": self.messages[self.drafts[draft_id]].resource(fmt, [])}
        )

    def batch(self, request: Request) -> Reply:
        """``POST /batch/gmail/v1``: each part an ``application/http`` call to this fake."""
        refused = self.oauth.check(request, MAIL, COMPOSE, MODIFY, READONLY, METADATA)
        if refused:
            return refused
        content_type = request.header("Content-Type") or ""
        match = re.search(r'boundary="?([^";]+)"?', content_type)
        if not content_type.startswith("multipart/mixed") or match is None:
            return bad_request("Batch requests must be multipart/mixed with a boundary")
        parts = _split(request.body, match.group(1))
        if len(parts) > 100:
            return bad_request("A batch holds at most 100 calls")
        self.batch_sizes.append(len(parts))
        boundary = f"batch_write_{len(self.batch_sizes)}"
        out: list[str] = []
        for number, part in enumerate(parts, 1):
            content_id, inner = _inner_request(part, request)
            self.inner_requests.append(inner)
            reply = self._route(inner)
            payload = json.dumps(reply.body) if reply.body is not None else ""
            out += [
                f"--{boundary}",
                "Content-Type: application/http",
                f"Content-ID: <response-{content_id or number}>",
                "",
                f"HTTP/1.1 {reply.status} {'OK' if reply.status == 200 else 'Error'}",
                "Content-Type: application/json; charset=UTF-8",
                "",
                payload,
            ]
        out.append(f"--{boundary}--")
        return Reply(
            200,
            text="\r\n".join(out) + "\r\n",
            headers={"Content-Type": f"multipart/mixed; boundary={boundary}"},
        )

    def _route(self, inner: Request) -> Reply:
        if not inner.path.startswith("/gmail/v1/"):
            return bad_request("All calls in a batch must go to the same API (gmail/v1)")
        for method, pattern, handler in self.server.routes:
            found = pattern.match(inner.path)
            if found and method == inner.method:
                return handler(attrs.evolve(inner, match=found.groupdict()))
        return not_found()

    # -- Google Tasks ----------------------------------------------------------------------

    def _list_id(self, request: Request) -> str | None:
        wanted = unquote(request.match["list"])
        if wanted == "@default":
            return next(iter(self.tasklists))
        return wanted if wanted in self.tasklists else None

    def tasklists_list(self, request: Request) -> Reply:
        denied = self.oauth.check(request, TASKS, TASKS_READONLY)
        if denied:
            return denied
        if unquote(request.match["user"]) != "@me":
            return bad_request("Invalid user")
        items = [
            {"kind": "tasks#taskList", "id": i, "title": t, "updated": _now()}
            for i, t in self.tasklists.items()
        ]
        return Reply(200, {"kind": "tasks#taskLists", "etag": '"lists"', "items": items})

    def tasks_list(self, request: Request) -> Reply:
        denied = self.oauth.check(request, TASKS, TASKS_READONLY)
        if denied:
            return denied
        list_id = self._list_id(request)
        if list_id is None:
            return not_found()
        try:
            size = int(request.arg("maxResults", "20") or 20)
        except ValueError:
            return bad_request("Invalid value for maxResults")
        if not 1 <= size <= 100:
            return bad_request("Invalid value for maxResults: must be between 1 and 100")
        flags = {
            name: (request.arg(name, default) or default).lower() == "true"
            for name, default in (
                ("showCompleted", "true"),
                ("showHidden", "false"),
                ("showDeleted", "false"),
            )
        }
        visible = [
            t
            for t in self.tasks.values()
            if t.list_id == list_id
            and (flags["showCompleted"] or t.status != "completed")
            and (flags["showHidden"] or not t.hidden)
            and (flags["showDeleted"] or not t.deleted)
        ]
        start = int(request.arg("pageToken") or 0)
        body: dict[str, Any] = {
            "kind": "tasks#tasks",
            "etag": '"tasks"',
            "items": [t.resource() for t in visible[start : start + size]],
        }
        if start + size < len(visible):
            body["nextPageToken"] = str(start + size)
        return Reply(200, body)

    def tasks_insert(self, request: Request) -> Reply:
        denied = self.oauth.check(request, TASKS)
        if denied:
            return denied
        list_id = self._list_id(request)
        if list_id is None:
            return not_found()
        body = request.json()
        if not isinstance(body, dict):
            return bad_request("Invalid JSON payload received.")
        problem = _task_problem(body)
        if problem:
            return bad_request(problem)
        with self._lock:
            task = GTask(
                id=self._id("t"),
                list_id=list_id,
                title=str(body.get("title") or ""),
                notes=body.get("notes"),
                due=_date_only(body["due"]) if body.get("due") else None,
                updated=_now(),
            )
            if body.get("status") == "completed":
                task.status, task.completed = "completed", _now()
            self.tasks[task.id] = task
        return self._answer_create(Reply(200, task.resource()))

    def tasks_patch(self, request: Request) -> Reply:
        denied = self.oauth.check(request, TASKS)
        if denied:
            return denied
        list_id = self._list_id(request)
        task = self.tasks.get(request.match["task"])
        if list_id is None or task is None or task.list_id != list_id or task.deleted:
            return not_found()
        body = request.json()
        if not isinstance(body, dict):
            return bad_request("Invalid JSON payload received.")
        problem = _task_problem({"title": task.title, **body})
        if problem:
            return bad_request(problem)
        with self._lock:
            for name in ("title", "notes"):
                if name in body:
                    setattr(task, name, body[name])
            if "due" in body:
                task.due = _date_only(body["due"]) if body["due"] else None
            if body.get("status") == "completed" and task.status != "completed":
                task.status, task.completed = "completed", _now()
            elif body.get("status") == "needsAction":
                task.status, task.completed = "needsAction", None
            task.updated = _now()
        return Reply(200, task.resource())


def _task_problem(body: dict[str, Any]) -> str | None:
    title, notes, due = body.get("title"), body.get("notes"), body.get("due")
    if title is not None and (not isinstance(title, str) or len(title) > 1024):
        return "Invalid task title: at most 1024 characters"
    if notes is not None and (not isinstance(notes, str) or len(notes) > 8192):
        return "Invalid task notes: at most 8192 characters"
    if due is not None and (not isinstance(due, str) or not _RFC3339.fullmatch(due)):
        return f"Invalid value for due: {due!r}"
    if body.get("status") not in (None, "needsAction", "completed"):
        return f"Invalid value for status: {body.get('status')!r}"
    return None


def _date_only(due: str) -> str:
    return due[:10] + "T00:00:00.000Z"


def _query_matcher(query: str) -> Any:
    """A predicate for a Gmail ``q`` made of ``from:``/``to:`` terms joined by ``OR``."""
    terms = [t for t in query.split() if t != "OR"]
    checks = []
    for term in terms:
        field, _, value = term.partition(":")
        if field not in ("from", "to") or not value:
            raise ValueError(f"the fake supports only from:/to: terms (got {term!r})")
        checks.append((field, value.lower()))
    if not checks:
        return lambda message: True
    return lambda message: any(value in message.header(field).lower() for field, value in checks)


def _normal_subject(subject: str) -> str:
    subject = " ".join(subject.split())
    while subject.lower().startswith(("re:", "fwd:", "fw:")):
        subject = subject.split(":", 1)[1].strip()
    return subject


def _joins_thread(parsed: Any, members: list[Message]) -> bool:
    """Gmail's rule: the subject matches, and References/In-Reply-To name a message of the thread."""
    ids = {m.header("Message-ID") for m in members}
    named = set(str(parsed.get("References", "")).split()) | {
        str(parsed.get("In-Reply-To", "")).strip()
    }
    subjects = {_normal_subject(m.header("Subject")) for m in members}
    return bool(ids & named) and _normal_subject(str(parsed.get("Subject", ""))) in subjects
