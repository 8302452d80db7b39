"""The Google batch protocol: request building, response parsing, and a round trip through the fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_gmail import FakeGmail
from fake_oauth import FakeOAuth, write_credentials

from engage.adapters import AdapterContext
from engage.http import HttpError, RetriesExhausted, RetryPolicy, UnexpectedAnswer
from engage.testing import FakeServer, Reply, Request
from engage_gmail.auth import SCOPE_READONLY, google_client, load_credentials
from engage_gmail.batch import MAX_BATCH, BatchError, build_batch, parse_batch
from engage_gmail.gmail_api import METADATA_HEADERS, GmailApi, QuotaLimiter
from engage_gmail.options import CredentialOptions
from engage_gmail.rules import ScopeMissing

RESPONSE = (
    b"--batch_abc\r\n"
    b"Content-Type: application/http\r\n"
    b"Content-ID: <response-engage-1>\r\n\r\n"
    b"HTTP/1.1 404 Not Found\r\n"
    b"Content-Type: application/json; charset=UTF-8\r\n\r\n"
    b'{"error": {"code": 404, "message": "Requested entity was not found."}}\r\n'
    b"--batch_abc\r\n"
    b"Content-Type: application/http\r\n"
    b"Content-ID: <response-engage-0>\r\n\r\n"
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/json; charset=UTF-8\r\n\r\n"
    b'{"id": "a"}\r\n'
    b"--batch_abc--\r\n"
)


def test_build_batch_writes_application_http_parts() -> None:
    """Each call is an application/http part with a Content-ID and a GET request line."""
    body, content_type = build_batch(
        [("engage-0", "/gmail/v1/users/me/messages/a?format=metadata")], "b1"
    )
    assert content_type == "multipart/mixed; boundary=b1"
    text = body.decode()
    assert "Content-Type: application/http\r\n" in text
    assert (
        "Content-ID: <engage-0>\r\n\r\nGET /gmail/v1/users/me/messages/a?format=metadata HTTP/1.1"
        in text
    )
    assert text.endswith("--b1--")


def test_build_batch_refuses_more_than_50_calls() -> None:
    """Gmail advises at most 50 calls per batch; more is a programming error."""
    with pytest.raises(ValueError, match="1 to 50"):
        build_batch([(str(n), "/x") for n in range(MAX_BATCH + 1)])


def test_parse_batch_maps_answers_by_content_id_in_any_order() -> None:
    """Answers come back as <response-ID> in any order; statuses and JSON bodies are kept."""
    parts = parse_batch('multipart/mixed; boundary="batch_abc"', RESPONSE)
    assert parts["engage-0"].status == 200 and parts["engage-0"].body == {"id": "a"}
    assert parts["engage-1"].status == 404


def test_parse_batch_rejects_what_is_not_multipart() -> None:
    """A JSON answer where multipart was expected is a BatchError."""
    with pytest.raises(BatchError):
        parse_batch("application/json", b"{}")


@pytest.fixture
def fake() -> Iterator[FakeGmail]:
    with FakeGmail() as gmail:
        yield gmail


def api(fake: FakeGmail, tmp_path: Path) -> GmailApi:
    options = CredentialOptions(
        credentials_file=str(write_credentials(tmp_path)), token_uri=fake.token_uri
    )
    creds = load_credentials(options, AdapterContext("mail"), [SCOPE_READONLY], "t")
    retry = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002)
    client = google_client(creds, fake.url, name="Gmail", where="t", retry=retry)
    return GmailApi(client, QuotaLimiter(), retry=retry, sleep=lambda s: None)


def test_metadata_batches_through_the_fake(fake: FakeGmail, tmp_path: Path) -> None:
    """110 ids take batches of 50, 50 and 10; each answer lands on its own id; deleted ids are left out."""
    made = [fake.add(f"c{n}@acme.com", "carol@ourco.com", f"S{n}") for n in range(110)]
    client = api(fake, tmp_path)
    found = client.get_metadata([*made, "deadbeef"])
    assert fake.batch_sizes == [50, 50, 11]
    assert sorted(found) == sorted(made)
    for n, gmail_id in enumerate(made):
        headers = {h["name"]: h["value"] for h in found[gmail_id]["payload"]["headers"]}
        assert headers["Subject"] == f"S{n}"
        assert set(headers) <= set(METADATA_HEADERS)


def test_failed_parts_alone_are_retried(fake: FakeGmail, tmp_path: Path) -> None:
    """A 503 inside a batch retries only that call, in a smaller batch."""
    made = [fake.add(f"c{n}@acme.com", "carol@ourco.com") for n in range(5)]
    fake.fail_parts(503, 2)
    found = api(fake, tmp_path).get_metadata(made)
    assert sorted(found) == sorted(made)
    assert fake.batch_sizes == [5, 2]


def test_a_refused_part_is_an_http_error_naming_its_call(fake: FakeGmail, tmp_path: Path) -> None:
    """A 400 inside a batch is refused as it is (not retried): status and endpoint are fields."""
    made = fake.add("c@acme.com", "carol@ourco.com")
    fake.fail_parts(400, 1, reason="invalidArgument")
    with pytest.raises(HttpError) as info:
        api(fake, tmp_path).get_metadata([made])
    assert not info.value.retriable
    assert info.value.status == 400
    assert info.value.endpoint == f"GET /gmail/v1/users/me/messages/{made}"
    assert fake.batch_sizes == [1]


def test_parts_failing_on_every_try_exhaust_the_retries(fake: FakeGmail, tmp_path: Path) -> None:
    """A rate-limit 403 inside every batch: retried, then RetriesExhausted (temporary)."""
    made = [fake.add(f"c{n}@acme.com", "carol@ourco.com") for n in range(2)]
    fake.fail_parts(403, 100, reason="rateLimitExceeded")
    with pytest.raises(RetriesExhausted, match="2 message reads in a batch failed 3 times"):
        api(fake, tmp_path).get_metadata(made)
    assert fake.batch_sizes == [2, 2, 2]


def test_a_batch_answer_that_is_not_multipart_is_unexpected(tmp_path: Path) -> None:
    """A 200 whose body is no batch (a proxy's page) is an UnexpectedAnswer: temporary."""
    server = FakeServer()
    oauth = FakeOAuth(server, (SCOPE_READONLY,))

    @server.route("POST", r"/batch/gmail/v1")
    def batch(request: Request) -> Reply:
        return oauth.check(request, SCOPE_READONLY) or Reply(200, {"not": "multipart"})

    with server:
        options = CredentialOptions(
            credentials_file=str(write_credentials(tmp_path)), token_uri=oauth.token_uri
        )
        creds = load_credentials(options, AdapterContext("mail"), [SCOPE_READONLY], "t")
        client = google_client(creds, server.url, name="Gmail", where="t")
        with pytest.raises(UnexpectedAnswer, match="POST /batch/gmail/v1 answered no batch"):
            GmailApi(client).get_metadata(["a"])


def test_a_part_refused_for_a_scope_is_scope_missing(fake: FakeGmail, tmp_path: Path) -> None:
    """Parts go through the same Google rules as whole answers: a 403 for a missing scope
    inside a batch is ScopeMissing naming its call, not retried."""
    made = fake.add("c@acme.com", "carol@ourco.com")
    fake.fail_parts(403, 1, reason="insufficientPermissions")
    with pytest.raises(ScopeMissing) as info:
        api(fake, tmp_path).get_metadata([made])
    assert info.value.endpoint == f"GET /gmail/v1/users/me/messages/{made}"
    assert fake.batch_sizes == [1]


def test_a_rate_limit_403_part_is_sent_again_alone(fake: FakeGmail, tmp_path: Path) -> None:
    """A userRateLimitExceeded 403 on one part: a slow-down (rules.classify), sent again."""
    made = [fake.add(f"c{n}@acme.com", "carol@ourco.com") for n in range(3)]
    fake.fail_parts(403, 1, reason="userRateLimitExceeded")
    assert sorted(api(fake, tmp_path).get_metadata(made)) == sorted(made)
    assert fake.batch_sizes == [3, 1]
