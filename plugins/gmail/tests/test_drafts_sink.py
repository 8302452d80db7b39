"""The gmail sink: one ready-to-send draft per follow-up, in the contact's latest thread when there is one."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_google_write import COMPOSE, READONLY, TASKS, FakeGoogleWrite
from fake_oauth import CLIENT_SECRET, REFRESH_TOKEN
from sink_support import Directory, drafts_sink, task

from engage.errors import AmbiguousWrite, RetriableSinkError, RetriesExhausted, SinkError
from engage.models import Contact
from engage.push import SinkPush
from engage.retries import is_retriable, wrote_nothing
from engage.store.sqlite import SQLiteStore
from engage.testing.leaks import error_texts


@pytest.fixture
def fake() -> Iterator[FakeGoogleWrite]:
    with FakeGoogleWrite() as fake:
        yield fake


def sent_raw(fake: FakeGoogleWrite) -> list[str]:
    """The raw messages the sink posted to drafts.create."""
    return [
        r.json()["message"]["raw"]
        for r in fake.server.requests
        if r.method == "POST" and r.path.endswith("/drafts")
    ]


def test_a_fresh_draft_goes_to_the_main_contact_with_the_task_title(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """No earlier conversation: To is the contact (with name), Subject the title, a thread of its own."""
    [result] = drafts_sink(fake, tmp_path).create([task()])
    assert result.ok
    [draft] = fake.draft_messages()
    assert draft.header("To") == "Jane Doe <jane@acme.com>"
    assert draft.header("Subject") == "Checking in on the Acme rollout"
    assert draft.header("X-Engage-Task") == task().key
    assert draft.header("In-Reply-To") == ""
    assert draft.thread_id == draft.id
    assert fake.drafts[str(result.remote_id)] == draft.id


def test_a_draft_answers_the_latest_conversation_in_its_thread(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """threadId, In-Reply-To, References and "Re: subject" follow the latest message with the contact."""
    fake.add_message("bob@other.com", "carol@ourco.com", "Unrelated")
    first = fake.add_message(
        "Jane Doe <jane@acme.com>", "carol@ourco.com", "Rollout plan", message_id="<a1@acme.com>"
    )
    latest = fake.add_message(
        "Carol <carol@ourco.com>",
        "jane@acme.com",
        "Re: Rollout plan",
        message_id="<c2@ourco.com>",
        references="<a1@acme.com>",
        thread=first.thread_id,
    )
    drafts_sink(fake, tmp_path).create([task()])
    [draft] = fake.draft_messages()
    assert draft.thread_id == latest.thread_id  # the fake checks Gmail's threading rule
    assert draft.header("In-Reply-To") == "<c2@ourco.com>"
    assert draft.header("References") == "<a1@acme.com> <c2@ourco.com>"
    assert draft.header("Subject") == "Re: Rollout plan"
    body = next(
        r.json() for r in fake.server.requests if r.method == "POST" and r.path.endswith("/drafts")
    )
    assert body["message"]["threadId"] == latest.thread_id


def test_an_earlier_engage_draft_is_not_taken_for_the_conversation(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """The thread lookup skips drafts: the second draft answers Jane's mail, not the first draft."""
    mail = fake.add_message("jane@acme.com", "carol@ourco.com", "Invoice", message_id="<i@acme>")
    sink = drafts_sink(fake, tmp_path)
    sink.create([task(1)])
    sink.create([task(2)])
    assert [d.thread_id for d in fake.draft_messages()] == [mail.thread_id, mail.thread_id]
    assert {d.header("In-Reply-To") for d in fake.draft_messages()} == {"<i@acme>"}


def test_non_ascii_names_subjects_and_bodies_are_encoded(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """Display names and subjects go out as RFC 2047 words, the body as UTF-8; Gmail reads them back."""
    directory = Directory([Contact("zoe@acme.com", "acme.com", "Zoë Müller, CTO")])
    sink = drafts_sink(fake, tmp_path, directory)
    sink.create(
        [task(title="Café rollout — nächste Schritte", body="Grüße, Zoë!", contact_email=None)]
    )
    [raw] = sent_raw(fake)
    wire = base64.urlsafe_b64decode(raw)
    assert wire.isascii()
    assert b"=?utf-8?" in wire
    [draft] = fake.draft_messages()
    assert draft.header("Subject") == "Café rollout — nächste Schritte"
    assert draft.header("To") == '"Zoë Müller, CTO" <zoe@acme.com>'


def test_a_task_without_any_contact_address_fails_alone(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """No task contact and no known contact: that task fails with a reason; the others land."""
    sink = drafts_sink(fake, tmp_path, Directory())
    results = {r.key: r for r in sink.create([task(1, contact_email=None), task(2)])}
    assert not results[task(1).key].ok
    assert "no contact email" in str(results[task(1).key].error)
    assert results[task(2).key].ok
    assert len(fake.drafts) == 1


def test_find_recognises_drafts_made_earlier(fake: FakeGoogleWrite, tmp_path: Path) -> None:
    """A new sink finds the draft of a key among other drafts; keys never drafted are absent."""
    fake.add_message("carol@ourco.com", "x@y.com", "Hand-written draft", labels=("DRAFT",))
    sink = drafts_sink(fake, tmp_path)
    made = {r.key: r.remote_id for r in sink.create([task(1), task(2), task(3)])}
    assert drafts_sink(fake, tmp_path).find([task(2), task(4)]) == {task(2).key: made[task(2).key]}


def test_a_draft_that_landed_but_answered_503_is_not_made_twice(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """After an ambiguous failure the sink looks for its draft before creating it again."""
    sink = drafts_sink(fake, tmp_path)
    fake.lose_replies(1)
    [result] = sink.create([task()])
    assert result.ok
    assert fake.drafts_by_key() == {task().key: [result.remote_id]}


def test_a_storm_of_429_and_5xx_ends_in_success(fake: FakeGoogleWrite, tmp_path: Path) -> None:
    """Rate limits (429, rate-limit 403) and 5xx are retried within bounds; one draft per task."""
    sink = drafts_sink(fake, tmp_path, reply_in_thread=False)
    sink.find([task(99)])  # holds an access token now
    rate_limited = {"error": {"code": 403, "errors": [{"reason": "userRateLimitExceeded"}]}}
    fake.server.fail_next(403, body=rate_limited)
    fake.server.fail_next(429)
    fake.server.fail_next(500, count=2)
    results = list(sink.create([task(1), task(2)]))
    assert all(r.ok for r in results)
    assert sorted(fake.drafts_by_key()) == [task(1).key, task(2).key]
    assert all(len(ids) == 1 for ids in fake.drafts_by_key().values())


def test_a_persistent_outage_is_a_retriable_sink_error(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """Gmail down for good: RetriableSinkError; the task stays pending for the next run."""
    sink = drafts_sink(fake, tmp_path, reply_in_thread=False)
    sink.find([task(99)])
    fake.server.fail_next(503, count=200)
    with pytest.raises(RetriableSinkError, match=r"\[sinks.drafts\].*stays pending"):
        sink.create([task()])


def test_a_refused_push_keeps_its_http_cause_and_no_secret(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """Gmail refuses every create (429 past the budget): the push stops on a
    RetriableSinkError raised from the RetriesExhausted itself, so the sync reads that
    nothing was written (and may push again in the run); no token shows in any of its texts."""
    sink = drafts_sink(fake, tmp_path, reply_in_thread=False)
    sink.find([task(99)])  # holds an access token now
    fake.server.fail_next(429, count=200)
    store = SQLiteStore(":memory:")
    push = SinkPush(store, "drafts", "gmail", sink)
    push.push([task()])
    failure = push.failure
    assert push.stopped and push.failed_in == "create"
    assert isinstance(failure, RetriableSinkError)
    assert str(failure).startswith("[sinks.drafts]") and "stays pending" in str(failure)
    cause = failure.__cause__
    assert isinstance(cause, RetriesExhausted) and cause.status == 429
    assert cause.endpoint.startswith("POST ")
    assert is_retriable(failure) and wrote_nothing(failure)
    texts = " ".join(error_texts(failure))
    assert "HTTP 429" in texts  # the traceback shows the cause too
    assert REFRESH_TOKEN not in texts and CLIENT_SECRET not in texts and "ya29." not in texts
    assert fake.drafts == {}


def test_a_create_that_may_have_landed_keeps_its_cause_and_is_not_sent_again(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """Gmail down for good on the create: the sink error is raised from the AmbiguousWrite,
    so the sync leaves the task to the next run's look instead of sending it again."""
    sink = drafts_sink(fake, tmp_path, reply_in_thread=False)
    sink.find([task(99)])
    fake.server.fail_next(503, count=200)
    with pytest.raises(RetriableSinkError) as info:
        sink.create([task()])
    assert isinstance(info.value.__cause__, AmbiguousWrite)
    assert is_retriable(info.value) and not wrote_nothing(info.value)


def test_a_missing_compose_scope_is_one_clear_error(tmp_path: Path) -> None:
    """Read-only credentials: the error names the table and the scopes this sink needs."""
    with FakeGoogleWrite(scopes=(READONLY, TASKS)) as fake:
        sink = drafts_sink(fake, tmp_path)
        with pytest.raises(SinkError, match=r"\[sinks.drafts\].*gmail.compose, gmail.readonly"):
            sink.create([task()])
        assert fake.drafts == {}


def test_without_threading_compose_alone_is_enough(tmp_path: Path) -> None:
    """reply_in_thread = false never reads the mailbox, so gmail.compose alone suffices."""
    with FakeGoogleWrite(scopes=(COMPOSE,)) as fake:
        fake.add_message("jane@acme.com", "carol@ourco.com", "Hello")
        [result] = drafts_sink(fake, tmp_path, reply_in_thread=False).create([task()])
        assert result.ok
        assert fake.draft_messages()[0].header("Subject") == "Checking in on the Acme rollout"


def test_errors_never_show_tokens(fake: FakeGoogleWrite, tmp_path: Path) -> None:
    """A revoked grant is one error naming the table, without refresh token, secret or access token."""
    sink = drafts_sink(fake, tmp_path)
    fake.oauth.revoke()
    with pytest.raises(SinkError) as info:
        sink.create([task()])
    message = str(info.value)
    assert message.startswith("[sinks.drafts]")  # built in code: the table alone
    assert "invalid_grant" in message
    assert REFRESH_TOKEN not in message and CLIENT_SECRET not in message
    assert "ya29." not in message
    every = " ".join(error_texts(info.value))  # the HTTP error it was raised from included
    assert REFRESH_TOKEN not in every and CLIENT_SECRET not in every and "ya29." not in every


def test_drafts_cannot_be_completed(fake: FakeGoogleWrite, tmp_path: Path) -> None:
    """complete() leaves drafts alone and reports nothing done."""
    assert list(drafts_sink(fake, tmp_path).complete({task().key: "r-1"})) == []


def test_every_create_looks_its_keys_up_in_the_mailbox_once_per_run(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """A sink with no ledger behind it: a key drafted by an earlier run is recorded, not
    drafted again; the mailbox is listed once (one drafts.list, one batch of drafts.get for
    the two drafts there, a person's own draft among them) however many batches follow."""
    earlier = drafts_sink(fake, tmp_path, reply_in_thread=False)
    [old] = earlier.create([task(1)])
    fake.add_own_draft("bob@other.com", "My own draft")
    fake.server.requests.clear()
    sink = drafts_sink(fake, tmp_path, reply_in_thread=False)
    first = {r.key: r.remote_id for r in sink.create([task(1), task(2)])}
    second = {r.key: r.remote_id for r in sink.create([task(3), task(2)])}
    assert first[task(1).key] == old.remote_id
    assert second[task(2).key] == first[task(2).key]
    assert sorted(fake.drafts_by_key()) == ["", task(1).key, task(2).key, task(3).key]
    assert all(len(ids) == 1 for ids in fake.drafts_by_key().values())
    assert fake.calls() == {
        "GET /drafts": 1,
        "POST /batch/gmail/v1": 1,
        "GET /drafts/{id}": 2,
        "POST /drafts": 2,
    }
    assert sink.notices == [
        "[sinks.drafts]: 2 task(s) already had a draft in the mailbox (found by its "
        "X-Engage-Task header); recorded, not drafted again"
    ]
