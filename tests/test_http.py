"""The HTTP client adapters build on: bounded retries, honest errors, no secrets, rate limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from engage.http import AuthError, HttpClient, HttpError, RateLimiter, RetriesExhausted, RetryPolicy
from engage.testing import FakeServer, Reply, Request

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()

    @server.route("GET", r"/things/(?P<id>\d+)")
    def thing(request: Request) -> Reply:
        if request.header("Authorization") != f"Bearer {TOKEN}":
            return Reply(
                401, {"status": "error", "message": f"bad token {request.header('Authorization')}"}
            )
        return Reply(200, {"id": request.match["id"]})

    @server.route("GET", r"/missing")
    def missing(request: Request) -> Reply:
        return Reply(404, {"message": "resource not found"})

    with server:
        yield server


def client(
    fake: FakeServer, token: str = TOKEN, **kwargs: object
) -> tuple[HttpClient, list[float]]:
    slept: list[float] = []
    http = HttpClient(
        fake.url,
        name="Thing API",
        headers={"Authorization": f"Bearer {token}"},
        secrets=[token],
        timeout=(2.0, 0.5),
        retry=RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=5),
        sleep=slept.append,
        **kwargs,  # type: ignore[arg-type]
    )
    return http, slept


def test_success_returns_the_response(fake: FakeServer) -> None:
    """A healthy answer comes back as it is."""
    http, slept = client(fake)
    assert http.get_json("/things/7") == {"id": "7"}
    assert slept == []


def test_5xx_and_429_are_retried_until_success(fake: FakeServer) -> None:
    """A storm of 503s and a 429 with Retry-After ends in success within the budget."""
    fake.fail_next(503, count=2)
    fake.fail_next(429, headers={"Retry-After": "2"})
    http, slept = client(fake)
    assert http.get_json("/things/7") == {"id": "7"}
    assert len(fake.requests) == 4
    assert slept[2] == 2.0  # Retry-After honoured
    assert all(0 < s <= 0.05 for s in slept[:2])


def test_dropped_connections_and_timeouts_are_retried(fake: FakeServer) -> None:
    """A connection closed without an answer, then a read timeout, then success."""
    fake.drop_next()
    fake.slow_next(1.0)
    http, slept = client(fake)
    assert http.get_json("/things/7") == {"id": "7"}
    assert len(slept) == 2


def test_a_persistent_outage_fails_with_what_kept_failing(fake: FakeServer) -> None:
    """After the budget, one error says how often it tried and the last failure."""
    fake.fail_next(503, count=10)
    http, slept = client(fake)
    with pytest.raises(
        RetriesExhausted, match=r"Thing API: GET /things/7 failed 4 times; last: HTTP 503"
    ) as info:
        http.get_json("/things/7")
    assert info.value.status == 503
    assert len(fake.requests) == 4
    assert len(slept) == 3


def test_too_long_retry_after_fails_at_once(fake: FakeServer) -> None:
    """A server asking for an hour's wait is not waited for."""
    fake.fail_next(429, headers={"Retry-After": "3600"})
    http, _ = client(fake)
    with pytest.raises(RetriesExhausted, match="asks to wait 3600 s"):
        http.get_json("/things/7")
    assert len(fake.requests) == 1


def test_auth_failures_are_not_retried_and_never_show_the_token(fake: FakeServer) -> None:
    """401 is final, and the token the server echoed is redacted."""
    wrong = "pat-na1-wrong-token"
    http, slept = client(fake, token=wrong)
    with pytest.raises(AuthError) as info:
        http.get_json("/things/7")
    assert wrong not in str(info.value)
    assert "bad token Bearer ***" in str(info.value)
    assert slept == []
    assert wrong not in repr(http)


def test_other_client_errors_carry_the_api_message(fake: FakeServer) -> None:
    """A 404 is final and says what the API said."""
    http, _ = client(fake)
    with pytest.raises(HttpError, match="Thing API: GET /missing: HTTP 404: resource not found"):
        http.get_json("/missing")


def test_classify_can_retry_what_the_default_would_not(fake: FakeServer) -> None:
    """An adapter's own rule (a 403 meaning slow down) turns a final answer into a retry."""
    fake.fail_next(
        403, body={"error": {"message": "rate limit", "errors": [{"reason": "rateLimitExceeded"}]}}
    )

    def classify(response: requests.Response, attempt: int) -> float | None:
        reasons = [e.get("reason") for e in response.json().get("error", {}).get("errors", [])]
        return 0.01 if "rateLimitExceeded" in reasons else None

    http, _ = client(fake, classify=classify)
    assert http.get_json("/things/7") == {"id": "7"}


def test_rate_limiter_spaces_requests() -> None:
    """No more than limit requests in any window; the rest wait."""
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(limit=3, period=10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(7):
        limiter.acquire()
    assert waits == [10.0, 10.0]
    assert now[0] == 20.0
