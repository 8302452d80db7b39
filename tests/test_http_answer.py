"""Answer and judge: one shape for a whole response and a batch's part, one place for the
rules that say retry or refuse."""

from __future__ import annotations

import email.utils
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from engage.http import (
    BACKOFF,
    Answer,
    AuthError,
    Backoff,
    HttpError,
    api_message,
    judge,
    retry_after,
)
from engage.testing import FakeServer, Reply, Request


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()

    @server.route("GET", r"/json")
    def json_answer(request: Request) -> Reply:
        return Reply(503, {"error": {"message": "backend down"}}, {"Retry-After": "7"})

    @server.route("GET", r"/html")
    def html(request: Request) -> Reply:
        return Reply(502, text="<html>bad gateway</html>", headers={"Content-Type": "text/html"})

    @server.route("GET", r"/empty")
    def empty(request: Request) -> Reply:
        return Reply(503, text="")

    with server:
        yield server


def test_an_answer_of_a_real_response_decodes_its_body(fake: FakeServer) -> None:
    """JSON is decoded, other text kept, an empty body None; headers in any case; the
    endpoint is the request's, without its query."""
    json_answer = Answer.of(requests.get(fake.url + "/json?secret=1", timeout=5))
    assert json_answer.body == {"error": {"message": "backend down"}}
    assert json_answer.header("retry-after") == json_answer.header("RETRY-AFTER") == "7"
    assert (json_answer.endpoint, json_answer.method, json_answer.path) == (
        "GET /json",
        "GET",
        "/json",
    )
    assert Answer.of(requests.get(fake.url + "/html", timeout=5)).body == "<html>bad gateway</html>"
    assert Answer.of(requests.get(fake.url + "/empty", timeout=5)).body is None


def test_what_an_answer_says_and_how_long_it_asks_to_wait() -> None:
    """The API's own message; the status's phrase for an empty body; Retry-After as
    seconds or an HTTP date."""
    assert api_message(Answer(400, body={"message": "bad field"})) == "bad field"
    assert api_message(Answer(503)) == "Service Unavailable"
    assert api_message(Answer(599)) == "no message"
    assert retry_after(Answer(429, {"Retry-After": "12"})) == 12.0
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after(Answer(429, {"Retry-After": later})) or 0) <= 30
    assert retry_after(Answer(429, {"Retry-After": "soon"})) is None


def test_judge_applies_engages_defaults() -> None:
    """429/5xx: the backoff (None) or the Retry-After; 401/403: AuthError; other: refused."""
    assert judge(Answer(429)) is None
    assert judge(Answer(503, {"Retry-After": "4"})) == 4.0
    with pytest.raises(AuthError, match=r"API: GET /x: HTTP 401: Unauthorized") as auth:
        judge(Answer(401, endpoint="GET /x"), where="API: GET /x")
    assert (auth.value.status, auth.value.endpoint) == (401, "GET /x")
    with pytest.raises(HttpError, match="HTTP 404: gone") as refused:
        judge(Answer(404, body={"message": "gone"}, endpoint="GET /x"))
    assert not isinstance(refused.value, AuthError) and not refused.value.retriable


def test_judge_lets_the_apis_rules_decide_first() -> None:
    """A rule retries what the defaults refuse (BACKOFF, or seconds); a Retry-After still
    wins over its seconds; None leaves the defaults."""

    def rule(answer: Answer, attempt: int) -> float | Backoff | None:
        if answer.status == 403:
            return BACKOFF
        return 2.0 * (attempt + 1) if answer.status == 409 else None

    assert judge(Answer(403), 0, rule) is None
    assert judge(Answer(409), 1, rule) == 4.0
    assert judge(Answer(409, {"Retry-After": "1"}), 1, rule) == 1.0
    with pytest.raises(HttpError):
        judge(Answer(400), 0, rule)
