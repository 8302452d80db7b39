"""What both Google sinks share: credentials, one HTTP client, lists, creates sent once, errors.

The mechanics are :mod:`engage.http`'s. Every request goes through one
:class:`~engage.http.HttpClient` (:func:`engage_gmail.auth.google_client`): reads and
idempotent writes (a patch) are retried there; lists are read with
:func:`~engage.http.paginate`, in Google's shape (:func:`engage_gmail.gmail_api.google_pages`).
A *create* is not idempotent, so it is sent with ``once=True`` through
:func:`~engage.http.create_once` with :attr:`~engage.http.Dedupe.LOOK` (a list read sees
every finished create at once):

- a refusal that wrote nothing (429, a rate-limit 403, a connection never made) is waited
  out and sent again;
- after a lost answer whose request is over (a 5xx, a closed connection, an answer without
  the new id) the sink lists the remote objects again and sends the create again only if
  it is not there;
- after a read timeout the request may still land, where a look now would miss it: it is
  not sent again in this run, the task stays pending, and the next run looks for it before
  creating it.

Each sink keeps its remote objects by task key (:meth:`GoogleSink.remote_keys`, read once
per run), so :meth:`GoogleSink.create` records a task that already has one instead of
creating it again.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from engage.adapters import AdapterContext, PushResult
from engage.errors import RetriableSinkError, SinkError
from engage.http import (
    AuthError,
    Dedupe,
    HttpClient,
    HttpError,
    RetryPolicy,
    create_once,
)
from engage.models import Task
from engage_gmail import rules
from engage_gmail.auth import google_client, load_credentials
from engage_gmail.gmail_api import google_pages
from engage_gmail.options import DraftsOptions, TasksOptions


def short_scope(scope: str) -> str:
    """``gmail.compose`` for ``https://www.googleapis.com/auth/gmail.compose``."""
    return scope.rsplit("/", 1)[-1]


class GoogleSink(abc.ABC):
    """Base of the Google sinks: a client over the credentials, lists, creates and errors.

    Args:
        options: The table's checked options (credentials and ``base_url``).
        context: The adapter context.
        api: The API's name in messages (``Gmail``).
        scopes: The scopes the sink needs, for the token and for messages.
        retry: The retry budget (tests pass tiny delays).
        sleep: How to wait between tries.
    """

    #: What the sink makes, for messages (``draft``).
    made: ClassVar[str]
    #: Where it keeps them, for messages (``the mailbox``).
    place: ClassVar[str]

    def __init__(
        self,
        options: DraftsOptions | TasksOptions,
        context: AdapterContext,
        *,
        api: str,
        scopes: Sequence[str],
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.context = context
        self.where = context.table("sinks")
        self.scopes = tuple(scopes)
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        credentials = load_credentials(options, context, self.scopes, self.where)
        self.client: HttpClient = google_client(
            credentials,
            options.base_url,
            name=api,
            where=self.where,
            retry=self.retry,
            sleep=sleep,
        )
        #: Tasks of this run that already had a remote object, found by their key.
        self.found_remote = 0

    # -- what each sink says ------------------------------------------------------------

    @abc.abstractmethod
    def remote_keys(self, *, refresh: bool = False) -> dict[str, str]:
        """Task key → remote id of every remote object that carries a task key; read once
        per run and kept (with what this run creates), read again with ``refresh``."""

    @abc.abstractmethod
    def _create_one(self, task: Task) -> PushResult:
        """Create the remote object of one task that has none (see :meth:`create_one`)."""

    def _remember(self, key: str, remote_id: str) -> None:
        """Keep the object this run made for ``key`` among the remote keys."""
        self.remote_keys().setdefault(key, remote_id)

    # -- the Sink protocol ----------------------------------------------------------------

    def find(self, tasks: Sequence[Task]) -> Mapping[str, str]:
        """Task key → remote id for the tasks an earlier, interrupted run already created."""
        if not tasks:
            return {}
        with self.translated(f"looking for {self.made}s an interrupted run created"):
            remote = self.remote_keys()
        return {task.key: remote[task.key] for task in tasks if task.key in remote}

    def create(self, tasks: Sequence[Task]) -> Iterable[PushResult]:
        """Create one remote object per task that has none yet.

        The batch's keys are looked up first among the remote objects (read once per run):
        a task that has one already gets its id, and nothing is created. A task the API
        refuses (a 400), or one the sink cannot make, fails alone.

        Raises:
            SinkError: the credentials were refused.
            RetriableSinkError: the API stayed unavailable, or a create may have landed and
                cannot be sent again in this run: the batch stays pending, and the next run
                looks for it first.
        """
        if not tasks:
            return []
        with self.translated(f"looking for {self.made}s already in {self.place}"):
            remote = self.remote_keys()
        results = []
        for task in tasks:
            if task.key in remote:
                self.found_remote += 1
                results.append(PushResult(task.key, remote_id=remote[task.key]))
                continue
            result = self._create_one(task)
            if result.ok and result.remote_id:
                self._remember(task.key, result.remote_id)
            results.append(result)
        return results

    # -- the mechanics, through engage.http -------------------------------------------------

    def items(
        self, path: str, field: str, size: int, params: Mapping[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every ``field`` entry of a Google list call, ``size`` a page (``pageToken`` paging)."""
        pages = google_pages(
            lambda more: self.client.get_json(path, params={**(params or {}), **more}),
            items=field,
            size=size,
            where=f"{self.client.name}: GET {path}",
        )
        for page in pages:
            yield from (item for item in page.items if isinstance(item, dict))

    def create_one(self, task: Task, path: str, body: Mapping[str, Any]) -> PushResult:
        """POST ``body`` to create ``task``'s remote object, never twice (see the module).

        The API's refusal of the object itself (a 400) is the task's error alone.

        Raises:
            SinkError: the credentials were refused.
            RetriableSinkError: the create may have landed and cannot be sent again in this
                run, or the API kept refusing it for now: the task stays pending.
        """
        what = f"{self.made} for {task.key}"

        def fresh(keys: Sequence[str]) -> dict[str, str]:
            remote = self.remote_keys(refresh=True)
            return {key: remote[key] for key in keys if key in remote}

        def send(keys: Sequence[str]) -> str:
            # A 2xx without the new object's id is an AmbiguousWrite: it may have been made.
            answer = self.client.post_json(path, dict(body), once=True, expect={"id": str})
            return str(answer["id"])

        try:
            made = create_once(
                [task.key],
                send,
                fresh,
                dedupe=Dedupe.LOOK,
                retry=self.retry,
                sleep=self.sleep,
                what=f"the {self.made}",
            )
        except HttpError as exc:
            if exc.retriable:
                then = " (the task stays pending)"
                raise self._translate(f"creating the {what}", exc, then) from exc
            if isinstance(exc, AuthError):
                raise self._translate(f"creating the {what}", exc) from exc
            return PushResult(task.key, error=str(exc))
        remote_id = made.answer if made.answer is not None else made.found[task.key]
        return PushResult(task.key, remote_id=remote_id)

    # -- errors ---------------------------------------------------------------------------

    @contextmanager
    def translated(self, doing: str) -> Iterator[None]:
        """Turn HTTP failures while ``doing`` something into sink errors naming the table."""
        try:
            yield
        except HttpError as exc:
            raise self._translate(doing, exc) from exc

    def _translate(self, doing: str, exc: HttpError, then: str = "") -> SinkError:
        """The sink error for ``exc``: retriable or not as it is; a missing scope names the
        scopes this sink needs. Raise it ``from exc``: the sync reads the HTTP error it came
        from (a refusal that wrote nothing is pushed again in the run, a create that may
        have landed is not; the wait it asked). Its message is the client's, redacted."""
        text = str(exc)
        if isinstance(exc, rules.ScopeMissing):
            text += f" (this sink needs the scopes: {', '.join(map(short_scope, self.scopes))})"
        kind = RetriableSinkError if exc.retriable else SinkError
        named = text if text.startswith(self.where) else f"{self.where}: {doing}: {text}"
        return kind(named + then)
