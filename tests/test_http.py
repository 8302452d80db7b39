"""The HTTP client adapters build on: bounded retries, honest errors, no secrets, rate limits."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from engage.errors import EXIT_CONFIG, EXIT_TEMPFAIL, exit_code_of
from engage.http import (
    AmbiguousWrite,
    Answer,
    AuthError,
    Fault,
    HttpClient,
    HttpError,
    RateLimiter,
    RetriableHttpError,
    RetriesExhausted,
    RetryPolicy,
    UnexpectedAnswer,
)
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

    @server.route("POST", r"/things")
    def create(request: Request) -> Reply:
        return Reply(201, {"id": "8"})

    @server.route("GET", r"/html")
    @server.route("POST", r"/html")
    def html(request: Request) -> Reply:
        status = 201 if request.method == "POST" else 200
        return Reply(status, text="<html>Bad gateway</html>", headers={"Content-Type": "text/html"})

    with server:
        yield server


def client(
    fake: FakeServer, token: str = TOKEN, **kwargs: object
) -> tuple[HttpClient, list[float]]:
    slept: list[float] = []
    options: dict[str, object] = {
        "retry": RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=5),
        **kwargs,
    }
    http = HttpClient(
        fake.url,
        name="Thing API",
        headers={"Authorization": f"Bearer {token}"},
        secrets=[token],
        timeout=(2.0, 0.5),
        sleep=slept.append,
        **options,  # type: ignore[arg-type]
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

    def classify(answer: Answer, attempt: int) -> float | None:
        reasons = [e.get("reason") for e in answer.body.get("error", {}).get("errors", [])]
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


class FakeClock:
    """Monotonic seconds that move only when slept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TestUnits:
    """A limiter counts units: a call may reserve several at once."""

    def test_a_reservation_of_several_units_waits_until_all_fit(self) -> None:
        """10 units a minute: 5 + 5 pass, the next 5 wait for the first reservation to leave."""
        clock = FakeClock()
        quota = RateLimiter(limit=10, period=60.0, clock=clock, sleep=clock.sleep)
        quota.acquire(5)
        clock.now = 20.0
        quota.acquire(5)
        assert clock.waits == []
        quota.acquire(5)
        assert clock.waits == [40.0]  # until the units reserved at 0 s leave the window
        quota.acquire(3)
        assert clock.waits == [40.0, 20.0]  # then those of 20 s
        assert clock.now == 80.0

    def test_more_units_than_the_window_holds_is_refused(self) -> None:
        """A reservation that could never fit is a programming error, not a hang."""
        with pytest.raises(ValueError, match="cannot reserve 11 units of a limit of 10"):
            RateLimiter(limit=10, period=1.0).acquire(11)

    def test_each_try_of_a_request_reserves_its_units(self, fake: FakeServer) -> None:
        """A 5-unit call answered 503 then 200 spends 10 units; the client's own limiter one a try."""
        clock = FakeClock()
        quota = RateLimiter(limit=12, period=60.0, clock=clock, sleep=clock.sleep)
        burst = RateLimiter(limit=100, period=10.0, clock=clock, sleep=clock.sleep)
        fake.fail_next(503)
        http, _ = client(fake, limiters=[burst])
        assert http.get_json("/things/7", limiters=[quota.units(5)]) == {"id": "7"}
        assert (quota._total, burst._total) == (10, 2)
        http.get_json("/things/7", limiters=[quota.units(5)])  # 15 > 12: waits a minute
        assert clock.waits == [60.0]


class TestCountedFromTheAnswer:
    """A request counts in its window from when its answer came back: the API counted it on
    arrival, somewhere between send and answer, so the window never holds one too many."""

    def test_a_settled_reservation_counts_from_then(self) -> None:
        clock = FakeClock()
        burst = RateLimiter(limit=1, period=10.0, clock=clock, sleep=clock.sleep)
        first = burst.acquire()
        clock.now = 0.5  # the answer takes half a second
        burst.settle(first)
        burst.acquire()
        assert clock.waits == [10.0]  # until 10.5, not 10.0
        assert clock.now == 10.5

    def test_settling_never_moves_a_reservation_earlier(self) -> None:
        clock = FakeClock()
        burst = RateLimiter(limit=1, period=10.0, clock=clock, sleep=clock.sleep)
        clock.now = 5.0
        first = burst.acquire()
        clock.now = 4.0  # a clock read out of order must not free the window early
        burst.settle(first)
        burst.acquire()
        assert clock.now == 15.0

    def test_the_client_settles_each_try_when_its_answer_arrives(self, fake: FakeServer) -> None:
        """Each answer takes 2 s of the limiter's clock: the second request waits the whole
        window from the first answer (10 s), not from the first send (8 s)."""
        clock = FakeClock()
        burst = RateLimiter(limit=1, period=10.0, clock=clock, sleep=clock.sleep)
        quota = RateLimiter(limit=5, period=60.0, clock=clock, sleep=clock.sleep)
        http, _ = client(fake, limiters=[burst])

        def answer_takes_two_seconds(response: object, *args: object, **kwargs: object) -> None:
            clock.now += 2.0

        http.session.hooks["response"].append(answer_takes_two_seconds)
        http.get_json("/things/7", limiters=[quota.units(5)])
        http.get_json("/things/7", limiters=[quota.units(0)])
        assert clock.waits == [10.0]
        assert clock.now == 14.0

    def test_a_failed_try_counts_from_its_failure(self) -> None:
        """A try that never got an answer (no server) still counts, from when it failed."""
        clock = FakeClock()
        burst = RateLimiter(limit=1, period=10.0, clock=clock, sleep=clock.sleep)
        http = HttpClient(
            f"http://127.0.0.1:{closed_port()}",
            name="Thing API",
            retry=RetryPolicy(attempts=1),
            limiters=[burst],
            sleep=clock.sleep,
        )
        with pytest.raises(RetriesExhausted):
            http.get_json("/things/7")
        assert [r.when for r in burst._spent] == [0.0]
        assert burst._total == 1


class TestErrorFields:
    """Every failure says, in fields, whether it may pass and what happened."""

    def test_exhausted_retries_are_retriable_and_say_the_endpoint(self, fake: FakeServer) -> None:
        """Bounded retries end in a retriable error (exit 75) naming the endpoint and status."""
        fake.fail_next(502, count=10)
        http, slept = client(fake)
        with pytest.raises(RetriesExhausted) as info:
            http.get_json("/things/7?secret=1")
        error = info.value
        assert (error.retriable, exit_code_of(error)) == (True, EXIT_TEMPFAIL)
        assert (error.status, error.endpoint, error.fault) == (502, "GET /things/7", Fault.STATUS)
        assert len(slept) == 3

    def test_a_refusal_is_fatal(self, fake: FakeServer) -> None:
        """A 404 needs a person (exit 78), is not retried, and says so in its fields."""
        http, slept = client(fake)
        with pytest.raises(HttpError) as info:
            http.get_json("/missing")
        error = info.value
        assert (error.retriable, exit_code_of(error)) == (False, EXIT_CONFIG)
        assert (error.status, error.endpoint, error.fault) == (404, "GET /missing", Fault.STATUS)
        assert slept == []

    def test_a_refused_connection_and_a_read_timeout_differ_by_field(
        self, fake: FakeServer
    ) -> None:
        """Nothing listening is CONNECT (never sent); a slow answer is READ_TIMEOUT (in flight)."""
        down = HttpClient(
            f"http://127.0.0.1:{closed_port()}", name="Down", retry=RetryPolicy(attempts=1)
        )
        with pytest.raises(RetriesExhausted) as refused:
            down.get_json("/things/7")
        assert (refused.value.fault, refused.value.status) == (Fault.CONNECT, None)
        fake.slow_next(1.0)
        http, _ = client(fake, retry=RetryPolicy(attempts=1))
        with pytest.raises(RetriesExhausted) as slow:
            http.get_json("/things/7")
        assert slow.value.fault is Fault.READ_TIMEOUT
        fake.drop_next()
        with pytest.raises(RetriesExhausted) as dropped:
            http.get_json("/things/7")
        assert dropped.value.fault is Fault.DROPPED

    def test_a_2xx_that_is_not_json_is_a_retriable_unexpected_answer(
        self, fake: FakeServer
    ) -> None:
        """A proxy's HTML page with 200: temporary, naming the endpoint, status None."""
        http, _ = client(fake)
        with pytest.raises(UnexpectedAnswer, match=r"GET /html answered 200 with no JSON") as info:
            http.get_json("/html")
        assert (info.value.retriable, info.value.status, info.value.fault) == (
            True,
            None,
            Fault.ANSWER,
        )


class TestOnce:
    """``once=True`` sends a create a single time and says whether it may have landed."""

    def test_a_5xx_after_sending_is_an_ambiguous_write(self, fake: FakeServer) -> None:
        """A 503 to a POST: it may have been written; not sent again."""
        fake.fail_next(503, count=5)
        http, slept = client(fake)
        with pytest.raises(AmbiguousWrite, match="may have been written") as info:
            http.post_json("/things", {}, once=True)
        assert (info.value.status, info.value.fault) == (503, Fault.STATUS)
        assert (len(fake.requests), slept) == (1, [])

    def test_a_read_timeout_is_ambiguous_and_in_flight(self, fake: FakeServer) -> None:
        """No answer in time: ambiguous, and the fault says the request may still land."""
        fake.slow_next(1.0)
        http, _ = client(fake)
        with pytest.raises(AmbiguousWrite) as info:
            http.post_json("/things", {}, once=True)
        assert info.value.fault is Fault.READ_TIMEOUT

    def test_a_429_wrote_nothing_and_says_how_long_to_wait(self, fake: FakeServer) -> None:
        """Rate limited: retriable, not ambiguous, with the server's Retry-After."""
        fake.fail_next(429, headers={"Retry-After": "3"})
        http, _ = client(fake)
        with pytest.raises(RetriableHttpError) as info:
            http.post_json("/things", {}, once=True)
        assert not isinstance(info.value, AmbiguousWrite)
        assert (info.value.status, info.value.retry_after) == (429, 3.0)

    def test_a_connection_never_made_wrote_nothing(self) -> None:
        """Nothing listening: the create was never sent."""
        down = HttpClient(f"http://127.0.0.1:{closed_port()}", name="Down")
        with pytest.raises(RetriableHttpError) as info:
            down.post_json("/things", {}, once=True)
        assert not isinstance(info.value, AmbiguousWrite)
        assert info.value.fault is Fault.CONNECT

    def test_a_2xx_that_is_not_json_may_have_been_written(self, fake: FakeServer) -> None:
        """A create answered 201 with an HTML page: ambiguous, not a success."""
        http, _ = client(fake)
        with pytest.raises(AmbiguousWrite, match="POST /html answered 201 with no JSON") as info:
            http.post_json("/html", {}, once=True)
        assert info.value.fault is Fault.ANSWER


def test_retry_after_wins_over_the_classifiers_wait(fake: FakeServer) -> None:
    """An adapter's rule asks 0.5 s; the server's Retry-After, when it gives one, is what is waited."""
    fake.fail_next(429)
    fake.fail_next(429, headers={"Retry-After": "3"})
    http, slept = client(fake, classify=lambda response, attempt: 0.5)
    assert http.get_json("/things/7") == {"id": "7"}
    assert slept == [0.5, 3.0]
