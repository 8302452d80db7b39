"""retry_parts: only the failed parts of a batch are sent again, against a loopback bulk API.

The fake answers ``POST /bulk`` (``{"ids": [...]}``) with one answer per id, as a batch API
does: ``{"parts": {id: {"status", "headers", "body"}}}``. A test scripts what an id answers
before it is served (a 503, a 429 with Retry-After, a 404), and asserts on the ids each
request carried.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from engage.errors import EXIT_TEMPFAIL, exit_code_of
from engage.http import (
    BACKOFF,
    Answer,
    AuthError,
    Backoff,
    Fault,
    HttpClient,
    HttpError,
    RetriesExhausted,
    RetryPolicy,
    retry_parts,
)
from engage.testing import FakeServer, Reply, Request

TOKEN = "tok-0123456789abcdef"
RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, max_retry_after=10.0)


class BulkApi(FakeServer):
    """``POST /bulk`` answers each id: scripted answers first (``script[id]``, in order), then
    ``200 {"id": id}``; an id in ``skip`` gets no part at all, one in ``deleted`` 404."""

    def __init__(self) -> None:
        super().__init__()
        self.script: dict[str, list[tuple[int, dict[str, str], Any]]] = {}
        self.skip: set[str] = set()
        self.deleted: set[str] = set()
        self.batches: list[list[str]] = []
        self.route("POST", r"/bulk")(self.bulk)

    def fail(self, key: str, status: int, times: int = 1, **options: Any) -> None:
        """``key`` answers ``status`` the next ``times`` times it is asked."""
        body = options.get("body", {"error": {"message": f"part failed with {status}"}})
        answer = (status, options.get("headers", {}), body)
        self.script.setdefault(key, []).extend([answer] * times)

    def bulk(self, request: Request) -> Reply:
        ids = list(request.json()["ids"])
        self.batches.append(ids)
        parts: dict[str, Any] = {}
        for key in ids:
            if key in self.skip:
                self.skip.discard(key)
                continue
            if self.script.get(key):
                status, headers, body = self.script[key].pop(0)
            elif key in self.deleted:
                status, headers, body = 404, {}, {"error": {"message": "not found"}}
            else:
                status, headers, body = 200, {}, {"id": key}
            parts[key] = {"status": status, "headers": headers, "body": body}
        return Reply(200, {"parts": parts})


@pytest.fixture
def api() -> Iterator[BulkApi]:
    server = BulkApi()
    with server:
        yield server


def http(api: BulkApi, **options: Any) -> HttpClient:
    return HttpClient(api.url, name="Bulk", secrets=[TOKEN], retry=RETRY, **options)


def sender(client: HttpClient) -> Any:
    """``send`` for retry_parts: one bulk request; each id's part as an Answer."""

    def send(keys: Sequence[str]) -> Mapping[str, Answer]:
        data = client.post_json("/bulk", {"ids": list(keys)}, expect=("parts",))
        return {
            key: Answer(part["status"], part["headers"], part["body"], f"GET /items/{key}")
            for key, part in data["parts"].items()
        }

    return send


def read(api: BulkApi, keys: Sequence[str], **options: Any) -> tuple[dict[str, Any], list[float]]:
    """retry_parts over the fake; the bodies answered and the waits slept."""
    slept: list[float] = []
    client = http(api)
    settings: dict[str, Any] = {
        "retry": RETRY,
        "sleep": slept.append,
        "name": "Bulk",
        "secrets": client.secrets,
        **options,
    }
    answers = retry_parts(keys, sender(client), **settings)
    return {key: answer.body for key, answer in answers.items()}, slept


def test_every_part_answered_at_once_is_one_send(api: BulkApi) -> None:
    """No failure: one request, every key's answer, no wait."""
    found, slept = read(api, ["a", "b", "c", "a"])
    assert found == {"a": {"id": "a"}, "b": {"id": "b"}, "c": {"id": "c"}}
    assert api.batches == [["a", "b", "c"]]
    assert slept == []


def test_only_the_failed_parts_are_sent_again_after_the_backoff(api: BulkApi) -> None:
    """Two of five parts answer 503: the second request carries those two alone."""
    api.fail("b", 503)
    api.fail("d", 500)
    found, slept = read(api, ["a", "b", "c", "d", "e"])
    assert sorted(found) == ["a", "b", "c", "d", "e"]
    assert api.batches == [["a", "b", "c", "d", "e"], ["b", "d"]]
    assert len(slept) == 1 and 0.005 <= slept[0] <= 0.01  # the policy's first backoff


def test_parts_failing_every_time_exhaust_the_tries_and_return_nothing(api: BulkApi) -> None:
    """A part that never passes: RetriesExhausted (temporary) after the policy's tries."""
    api.fail("b", 503, times=10)
    with pytest.raises(RetriesExhausted, match="1 items failed 3 times; last: HTTP 503") as info:
        read(api, ["a", "b"], what="items")
    assert api.batches == [["a", "b"], ["b"], ["b"]]
    assert (info.value.status, info.value.fault) == (503, Fault.STATUS)
    assert info.value.endpoint == "GET /items/b"
    assert exit_code_of(info.value) == EXIT_TEMPFAIL


def test_gone_parts_are_left_out_when_the_caller_says_so(api: BulkApi) -> None:
    """A 404 (deleted since listed) is no answer, not a failure, with ``gone``."""
    api.deleted.add("b")
    found, _ = read(api, ["a", "b"], gone={404})
    assert found == {"a": {"id": "a"}}
    assert api.batches == [["a", "b"]]


def test_a_refused_part_raises_at_once_naming_its_call(api: BulkApi) -> None:
    """Without ``gone`` a 404 is a refusal; a 400 too; 401 is an AuthError: none is retried."""
    api.deleted.add("b")
    with pytest.raises(HttpError) as gone:
        read(api, ["a", "b"])
    assert (gone.value.status, gone.value.endpoint) == (404, "GET /items/b")
    assert not gone.value.retriable
    assert "Bulk: GET /items/b in a batch: HTTP 404: not found" in str(gone.value)
    api.fail("c", 400, body={"message": "no such field"})
    with pytest.raises(HttpError, match="HTTP 400: no such field") as bad:
        read(api, ["c", "d"])
    assert not isinstance(bad.value, AuthError) and bad.value.status == 400
    api.fail("e", 401, body={"message": f"bad token {TOKEN}"})
    with pytest.raises(AuthError) as auth:
        read(api, ["e"])
    assert TOKEN not in str(auth.value) and "bad token ***" in str(auth.value)
    assert len(api.batches) == 3


def test_the_largest_retry_after_of_the_failed_parts_is_waited(api: BulkApi) -> None:
    """Parts ask 2 s and 5 s (one with an HTTP-date-free seconds value): the retry waits 5 s."""
    api.fail("a", 429, headers={"Retry-After": "2"})
    api.fail("b", 429, headers={"retry-after": "5"})
    api.fail("c", 503)
    found, slept = read(api, ["a", "b", "c"])
    assert sorted(found) == ["a", "b", "c"]
    assert slept == [5.0]


def test_a_retry_after_longer_than_a_run_waits_fails_at_once(api: BulkApi) -> None:
    """A part asks for an hour: RetriesExhausted now, with the wait it asked, no more sends."""
    api.fail("a", 429, headers={"Retry-After": "3600"})
    with pytest.raises(RetriesExhausted, match="asks to wait 3600 s") as info:
        read(api, ["a", "b"])
    assert info.value.retry_after == 3600.0
    assert api.batches == [["a", "b"]]


def test_failed_parts_go_again_in_smaller_batches_when_asked(api: BulkApi) -> None:
    """``size`` splits every send; ``resend_size`` splits the sends of failed parts."""
    for key in "bcde":
        api.fail(key, 503)
    found, _ = read(api, list("abcdefg"), size=3, resend_size=2)
    assert len(found) == 7
    assert api.batches == [["a", "b", "c"], ["d", "e", "f"], ["g"], ["b", "c"], ["d", "e"]]


def test_a_part_missing_or_unreadable_is_sent_again(api: BulkApi) -> None:
    """No part for a key, or a 2xx body ``accept`` refuses: both are sent again."""
    api.skip.add("a")
    api.fail("b", 200, body="<html>cut</html>")
    found, _ = read(api, ["a", "b", "c"], accept=lambda answer: isinstance(answer.body, dict))
    assert found == {k: {"id": k} for k in "abc"}
    assert api.batches == [["a", "b", "c"], ["a", "b"]]


def test_a_part_unreadable_every_time_is_an_answer_fault(api: BulkApi) -> None:
    """A part whose 2xx body is never usable exhausts the tries as an unreadable answer."""
    api.fail("a", 200, times=5, body=[1, 2])
    with pytest.raises(RetriesExhausted, match="cannot read") as info:
        read(api, ["a"], accept=lambda answer: isinstance(answer.body, dict))
    assert info.value.fault is Fault.ANSWER


def rate_rule(answer: Answer, attempt: int) -> float | Backoff | None:
    """An API's rule: a 403 whose reason is ``slowDown`` is a slow-down (policy backoff)."""
    body = answer.body if isinstance(answer.body, dict) else {}
    return BACKOFF if body.get("reason") == "slowDown" else None


def test_one_classifier_serves_whole_responses_and_parts(api: BulkApi) -> None:
    """The same rule retries a 403 slow-down whether the whole request or one part got it."""
    slow = {"reason": "slowDown", "message": "slow down"}
    api.fail_next(403, body=slow)  # the whole bulk request: the client's classify
    api.fail("b", 403, body=slow)  # one part: retry_parts' classify
    client = http(api, classify=rate_rule, sleep=lambda s: None)
    answers = retry_parts(
        ["a", "b"], sender(client), retry=RETRY, classify=rate_rule, sleep=lambda s: None
    )
    assert sorted(answers) == ["a", "b"]
    assert api.batches == [["a", "b"], ["b"]]  # the 403'd request never reached the route
    plain = http(api)
    api.fail_next(403, body=slow)
    with pytest.raises(AuthError):  # without the rule, a 403 is a refusal
        plain.post_json("/bulk", {"ids": ["a"]})


def test_a_whole_request_that_keeps_failing_is_raised_as_the_client_raises_it(
    api: BulkApi,
) -> None:
    """The bulk request itself answers 503 every time: the client's RetriesExhausted."""
    api.fail_next(503, count=20)
    client = http(api, sleep=lambda s: None)
    with pytest.raises(RetriesExhausted, match="POST /bulk failed 3 times"):
        retry_parts(["a"], sender(client), retry=RETRY, sleep=lambda s: None)
    assert api.batches == []
