"""NotSent: a session that fails before sending (a token refresh) wrote nothing, so even a
create is sent again; against a loopback API and a loopback token endpoint."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
import requests

from engage.errors import EXIT_TEMPFAIL, exit_code_of
from engage.http import (
    AmbiguousWrite,
    Dedupe,
    Fault,
    HttpClient,
    NotSent,
    RetriableHttpError,
    RetriesExhausted,
    RetryPolicy,
    create_once,
)
from engage.testing import FakeServer, Reply, Request

SECRET = "client-secret-0123456789"
RETRY = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002)


class RefreshingSession(requests.Session):
    """Fetches a fresh token from the token endpoint before every request, as an OAuth
    session does; a token endpoint that cannot serve it means the request is never sent."""

    def __init__(self, token_url: str) -> None:
        super().__init__()
        self.token_url = token_url

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            answer = requests.post(self.token_url, data={"secret": SECRET}, timeout=2)
        except requests.ConnectionError as exc:
            raise NotSent(f"token endpoint unreachable: {type(exc).__name__}") from None
        if answer.status_code != 200:
            said = f"token endpoint answered {answer.status_code} for secret {SECRET}"
            raise NotSent(said)
        kwargs["headers"] = {
            **(kwargs.get("headers") or {}),
            "Authorization": answer.json()["token"],
        }
        return super().request(method, url, *args, **kwargs)


class Api(FakeServer):
    """A task API (``POST /tasks`` creates, ``GET /tasks`` lists) and its token endpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.tasks: dict[str, str] = {}
        self.token_down = 0
        self.route("POST", r"/token")(self.token)
        self.route("POST", r"/tasks")(self.create)
        self.route("GET", r"/tasks")(self.list)

    def token(self, request: Request) -> Reply:
        if self.token_down:
            self.token_down -= 1
            return Reply(503, {"error": "temporarily_unavailable"})
        return Reply(200, {"token": "Bearer fresh"})

    def create(self, request: Request) -> Reply:
        assert request.header("Authorization") == "Bearer fresh"
        key = request.json()["key"]
        self.tasks.setdefault(key, f"t{len(self.tasks) + 1}")
        return Reply(201, {"id": self.tasks[key]})

    def list(self, request: Request) -> Reply:
        return Reply(200, {"tasks": [{"key": k, "id": i} for k, i in self.tasks.items()]})

    def sent(self, method: str) -> int:
        """Requests that reached the API itself (not the token endpoint)."""
        return sum(1 for r in self.requests if r.method == method and r.path == "/tasks")


@pytest.fixture
def api() -> Iterator[Api]:
    server = Api()
    with server:
        yield server


def client(api: Api, slept: list[float] | None = None) -> HttpClient:
    return HttpClient(
        api.url,
        name="Tasks",
        session=RefreshingSession(api.url + "/token"),
        secrets=[SECRET],
        retry=RETRY,
        sleep=(slept if slept is not None else []).append,
    )


def test_not_sent_is_temporary_and_never_ambiguous() -> None:
    """Retriable, exit 75, no status, the CONNECT fault: nothing left."""
    error = NotSent("token endpoint down", endpoint="POST /tasks")
    assert isinstance(error, RetriableHttpError) and not isinstance(error, AmbiguousWrite)
    assert (error.retriable, error.status, error.fault) == (True, None, Fault.CONNECT)
    assert exit_code_of(error) == EXIT_TEMPFAIL


def test_a_request_not_sent_is_retried_within_the_budget(api: Api) -> None:
    """The token endpoint fails twice: two waits, then the request goes, once."""
    api.token_down = 2
    slept: list[float] = []
    assert client(api, slept).get_json("/tasks") == {"tasks": []}
    assert (api.sent("GET"), len(slept)) == (1, 2)


def test_never_sent_past_the_budget_is_retries_exhausted_without_secrets(api: Api) -> None:
    """Every try fails before sending: RetriesExhausted with the CONNECT fault, saying why,
    without the secret; the API never saw a request."""
    api.token_down = 10
    with pytest.raises(RetriesExhausted, match="not sent: token endpoint answered 503") as info:
        client(api).get_json("/tasks")
    assert (info.value.fault, info.value.status) == (Fault.CONNECT, None)
    assert SECRET not in str(info.value)
    assert api.sent("GET") == 0


def test_a_create_sent_once_that_was_not_sent_says_nothing_was_written(api: Api) -> None:
    """``once=True``: NotSent, not AmbiguousWrite; the task does not exist."""
    api.token_down = 1
    with pytest.raises(NotSent, match="nothing was written") as info:
        client(api).post_json("/tasks", {"key": "k1"}, once=True, expect={"id": str})
    assert info.value.endpoint == "POST /tasks"
    assert SECRET not in str(info.value)
    assert (api.sent("POST"), api.tasks) == (0, {})


def test_create_once_sends_again_what_was_not_sent_without_looking(api: Api) -> None:
    """With Dedupe.NEXT_RUN (no look may be trusted) an ambiguous write would stop; a
    NotSent one is simply sent again: one task, created by the second try."""
    api.token_down = 1
    http = client(api)
    looks: list[Sequence[str]] = []

    def send(keys: Sequence[str]) -> str:
        return str(http.post_json("/tasks", {"key": keys[0]}, once=True, expect={"id": str})["id"])

    def find(keys: Sequence[str]) -> Mapping[str, str]:
        looks.append(keys)
        return {}

    made = create_once(
        ["k1"], send, find, dedupe=Dedupe.NEXT_RUN, retry=RETRY, sleep=lambda s: None
    )
    assert (made.answer, made.sent, looks) == ("t1", ("k1",), [])
    assert (api.sent("POST"), api.tasks) == (1, {"k1": "t1"})


def test_a_connection_never_made_is_not_sent_too() -> None:
    """Nothing listening: a create sent once is NotSent (nothing was written)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = HttpClient(f"http://127.0.0.1:{port}", name="Down", retry=RETRY)
    with pytest.raises(NotSent, match="nothing was written") as info:
        down.post_json("/tasks", {}, once=True)
    assert info.value.fault is Fault.CONNECT
