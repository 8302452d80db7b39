"""create_once: each object created once, found instead of sent again after a lost answer, and
an ambiguous write said so, against a loopback task service that really creates."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from engage.errors import EXIT_TEMPFAIL, exit_code_of
from engage.http import (
    AmbiguousWrite,
    Created,
    Dedupe,
    Fault,
    HttpClient,
    HttpError,
    RetriesExhausted,
    RetryPolicy,
    create_once,
)
from engage.testing import FakeServer, Reply, Request


class TaskService(FakeServer):
    """``POST /tasks`` with ``{"keys": [...]}`` creates one task per key (409 for a key it
    holds when ``unique``); ``GET /tasks?key=...`` finds tasks by key. ``lose`` answers the
    next creates 502 *after* creating (a proxy losing the answer), ``down`` 503 without
    creating; ``reject`` answers 400."""

    def __init__(self) -> None:
        super().__init__()
        self.tasks: dict[str, str] = {}
        self.unique = False
        self.lose = self.down = 0
        self.reject = False
        self.guard = threading.Lock()
        self.route("POST", r"/tasks")(self.create)
        self.route("GET", r"/tasks")(self.find)

    def create(self, request: Request) -> Reply:
        keys = request.json()["keys"]
        if self.reject:
            return Reply(400, {"message": "a task needs a title"})
        if self.down:
            self.down -= 1
            return Reply(503, {"message": "unavailable"})
        with self.guard:
            if self.unique and any(k in self.tasks for k in keys):
                return Reply(409, {"message": "a task with this key exists"})
            for key in keys:
                self.tasks.setdefault(key, f"id-{len(self.tasks) + 1}")
            if self.lose:
                self.lose -= 1
                return Reply(502, {"message": "bad gateway"})
        return Reply(201, {"results": [{"key": k, "id": self.tasks[k]} for k in keys]})

    def find(self, request: Request) -> Reply:
        keys = request.query.get("key", [])
        return Reply(200, {"results": [{"key": k, "id": self.tasks[k]} for k in keys if k in self.tasks]})  # fmt: skip

    def creates(self) -> int:
        return len([r for r in self.requests if r.method == "POST"])


@pytest.fixture
def service() -> Iterator[TaskService]:
    with TaskService() as server:
        yield server  # type: ignore[misc]


RETRY = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.002, max_retry_after=5.0)
KEYS = ["k1", "k2", "k3"]


class Sink:
    """The two calls a sink hands :func:`create_once`, over an :class:`HttpClient`."""

    def __init__(self, service: TaskService) -> None:
        self.http = HttpClient(service.url, name="Tasks", timeout=(2.0, 0.3), retry=RETRY)
        self.slept: list[float] = []

    def send(self, keys: Sequence[str]) -> Any:
        return self.http.post_json("/tasks", {"keys": list(keys)}, once=True)

    def find(self, keys: Sequence[str]) -> Mapping[str, str]:
        answer = self.http.get_json("/tasks", params={"key": list(keys)})
        return {r["key"]: r["id"] for r in answer["results"]}

    def create(self, dedupe: Dedupe, keys: Sequence[str] = KEYS, **kwargs: Any) -> Created[Any]:
        return create_once(
            keys,
            self.send,
            self.find,
            dedupe=dedupe,
            retry=RETRY,
            sleep=self.slept.append,
            **kwargs,
        )


class TestCreateOnce:
    """The outcomes: created, found on retry, ambiguous, refused."""

    def test_created_at_the_first_try(self, service: TaskService) -> None:
        """One send, nothing looked up: the answer and the keys it carried."""
        made = Sink(service).create(Dedupe.LOOK)
        assert made.sent == tuple(KEYS) and made.found == {} and made.answer is not None
        assert [r["key"] for r in made.answer["results"]] == KEYS
        assert [r.method for r in service.requests] == ["POST"]

    def test_a_lost_answer_is_found_on_retry_not_created_again(self, service: TaskService) -> None:
        """The service creates, then answers 502: a look finds all three; no second send."""
        service.lose = 1
        made = Sink(service).create(Dedupe.LOOK)
        assert made.answer is None and made.sent == ()
        assert made.found == service.tasks and len(service.tasks) == 3
        assert [r.method for r in service.requests] == ["POST", "GET"]

    def test_a_5xx_before_anything_was_written_is_looked_up_then_sent_again(
        self, service: TaskService
    ) -> None:
        """A 503 from in front of the service: the look finds nothing, the batch goes again."""
        service.fail_next(503)
        sink = Sink(service)
        made = sink.create(Dedupe.UNIQUE)
        assert made.sent == tuple(KEYS) and len(service.tasks) == 3
        assert [r.method for r in service.requests] == ["POST", "GET", "POST"]
        assert len(sink.slept) == 1

    def test_a_dropped_connection_is_looked_up_then_sent_again(self, service: TaskService) -> None:
        """A connection closed without an answer: the request is over, a look can be trusted."""
        service.drop_next()
        made = Sink(service).create(Dedupe.LOOK)
        assert made.sent == tuple(KEYS) and len(service.tasks) == 3

    def test_a_read_timeout_is_ambiguous_when_only_a_look_guards(
        self, service: TaskService
    ) -> None:
        """No answer in time: the create may still land, so it is not sent again; it lands once."""
        service.slow_next(0.6)
        with pytest.raises(AmbiguousWrite, match="not sent again in this run") as info:
            Sink(service).create(Dedupe.LOOK)
        assert info.value.fault is Fault.READ_TIMEOUT
        assert exit_code_of(info.value) == EXIT_TEMPFAIL
        assert service.creates() == 1
        for _ in range(40):  # the slow request lands after the client gave up on it
            if service.tasks:
                break
            threading.Event().wait(0.05)
        assert len(service.tasks) == 3

    def test_any_lost_answer_is_ambiguous_when_a_look_may_lag(self, service: TaskService) -> None:
        """NEXT_RUN: even after a 502 no look and no second send in this run."""
        service.lose = 1
        with pytest.raises(AmbiguousWrite) as info:
            Sink(service).create(Dedupe.NEXT_RUN)
        assert info.value.status == 502
        assert [r.method for r in service.requests] == ["POST"]

    def test_a_rate_limited_create_waits_and_is_sent_again_without_a_look(
        self, service: TaskService
    ) -> None:
        """A 429 wrote nothing: Retry-After is waited, the batch sent again, nothing looked up."""
        service.fail_next(429, headers={"Retry-After": "2"})
        sink = Sink(service)
        made = sink.create(Dedupe.NEXT_RUN)
        assert made.sent == tuple(KEYS)
        assert sink.slept == [2.0]
        assert [r.method for r in service.requests] == ["POST", "POST"]

    def test_refused_on_every_try_is_exhausted_and_wrote_nothing(
        self, service: TaskService
    ) -> None:
        """429 four times: RetriesExhausted (exit 75), no task, no look."""
        service.fail_next(429, count=4)
        with pytest.raises(RetriesExhausted, match="nothing was written; refused 4 times") as info:
            Sink(service).create(Dedupe.LOOK)
        assert (info.value.status, service.tasks) == (429, {})
        assert service.creates() == 4

    def test_lost_on_every_try_is_ambiguous(self, service: TaskService) -> None:
        """503 on every send: after the last try an AmbiguousWrite, the batch stays pending."""
        service.down = 20
        with pytest.raises(AmbiguousWrite, match="4 tries, and one may have landed"):
            Sink(service).create(Dedupe.UNIQUE)
        assert service.creates() == 4

    def test_a_refusal_is_raised_as_it_is(self, service: TaskService) -> None:
        """A 400: fatal, nothing created, not sent again."""
        service.reject = True
        with pytest.raises(HttpError, match="HTTP 400: a task needs a title") as info:
            Sink(service).create(Dedupe.LOOK)
        assert not info.value.retriable
        assert service.creates() == 1

    def test_look_first_sends_only_what_is_missing(self, service: TaskService) -> None:
        """Two of three exist (an earlier run): they are found, only the third is sent."""
        service.tasks.update({"k1": "id-1", "k2": "id-2"})
        made = Sink(service).create(Dedupe.NEXT_RUN, look_first=True)
        assert made.found == {"k1": "id-1", "k2": "id-2"} and made.sent == ("k3",)

    def test_a_failed_look_after_a_lost_answer_is_ambiguous(self, service: TaskService) -> None:
        """Lost, and the look fails too: ambiguous (it may exist), not a blind resend."""
        service.fail_next(503, count=1 + RETRY.attempts)  # the create, then every look
        with pytest.raises(AmbiguousWrite, match="looking for the batch afterwards failed"):
            Sink(service).create(Dedupe.LOOK)
        assert service.creates() == 1
