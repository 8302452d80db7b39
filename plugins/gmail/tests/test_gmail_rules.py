"""Google's failure rules: read from the error body's fields (reasons), never from its text."""

from __future__ import annotations

import json

import pytest
import requests

from engage.http import BACKOFF, Answer, HttpError, judge
from engage_gmail.rules import ScopeMissing, classify, reasons


def error(status: int, *reasons: str, details: tuple[str, ...] = ()) -> dict[str, object]:
    """A Google error body with these ``errors`` and ``details`` reasons."""
    return {
        "error": {
            "code": status,
            "message": "said in words",
            "errors": [{"domain": "global", "reason": r} for r in reasons],
            "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": r} for r in details
            ],
        }
    }


def response(status: int, body: object) -> Answer:
    """A whole response, as the client hands it to a classifier."""
    answer = requests.Response()
    answer.status_code = status
    answer._content = json.dumps(body).encode() if not isinstance(body, bytes) else body
    answer.url = "https://gmail.googleapis.com/gmail/v1/users/me/profile?alt=json"
    answer.request = requests.Request("GET", answer.url).prepare()
    return Answer.of(answer)


def part(status: int, body: object) -> Answer:
    """A call answered inside a batch, as :func:`engage_gmail.batch.parse_batch` reads it."""
    return Answer(status, {"Content-Type": "application/json"}, body, "GET /gmail/v1/x")


class TestReasons:
    def test_reasons_come_from_errors_and_details(self) -> None:
        """Both lists are read; entries without a reason and bodies of other shapes give none."""
        body = error(403, "insufficientPermissions", details=("ACCESS_TOKEN_SCOPE_INSUFFICIENT",))
        assert reasons(body) == {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}
        assert reasons({"error": {"errors": [{"domain": "x"}, "junk"]}}) == frozenset()
        assert reasons({"error": "invalid_grant"}) == frozenset()
        assert reasons("not json") == frozenset()


class TestParts:
    @pytest.mark.parametrize(
        ("status", "body", "expected"),
        [
            (429, None, True),
            (500, None, True),
            (503, "<html>", True),
            (403, error(403, "userRateLimitExceeded"), True),
            (403, error(403, "rateLimitExceeded"), True),
            (403, error(403, "forbidden"), False),
            (403, {"error": {"message": "userRateLimitExceeded"}}, False),
            (400, error(400, "invalid"), False),
            (404, error(404, "notFound"), False),
        ],
    )
    def test_a_call_is_retried_for_a_rate_limit_or_the_servers_trouble(
        self, status: int, body: object, expected: bool
    ) -> None:
        """Through the same classify as whole responses: 429, 5xx and a 403 whose reason is
        a rate limit are sent again; a reason only in the message counts not."""
        if expected:
            judge(part(status, body), 0, classify)
        else:
            with pytest.raises(HttpError) as info:
                judge(part(status, body), 0, classify)
            assert info.value.status == status and not info.value.retriable
            assert info.value.endpoint == "GET /gmail/v1/x"

    def test_a_part_missing_a_scope_is_scope_missing(self) -> None:
        """A batch part refused for a scope is ScopeMissing, naming the part's call."""
        with pytest.raises(ScopeMissing) as info:
            classify(part(403, error(403, "insufficientPermissions")), 0)
        assert info.value.endpoint == "GET /gmail/v1/x"


class TestClassify:
    def test_a_rate_limit_403_is_the_policys_backoff(self) -> None:
        """userRateLimitExceeded is a slow-down, retried with the policy's backoff."""
        assert classify(response(403, error(403, "userRateLimitExceeded")), 0) is BACKOFF

    @pytest.mark.parametrize(
        "body",
        [
            error(403, "insufficientPermissions"),
            error(403, "forbidden", details=("ACCESS_TOKEN_SCOPE_INSUFFICIENT",)),
        ],
    )
    def test_a_missing_scope_is_scope_missing_with_its_endpoint(self, body: object) -> None:
        """Either reason says a scope is missing: an AuthError naming the call, not the query."""
        with pytest.raises(ScopeMissing, match="lack a scope") as info:
            classify(response(403, body), 0)
        assert info.value.status == 403
        assert info.value.endpoint == "GET /gmail/v1/users/me/profile"
        assert not info.value.retriable

    @pytest.mark.parametrize(
        ("status", "body"), [(403, error(403, "forbidden")), (403, b"<html>"), (404, {}), (503, {})]
    )
    def test_anything_else_is_left_to_engages_defaults(self, status: int, body: object) -> None:
        """Another 403, a body that is no JSON, other statuses: None."""
        assert classify(response(status, body), 0) is None
