"""Creates sent once, in both Google sinks (engage.http.create_once with a look after a lost
answer): what is sent again, what is looked for first, and what stays pending."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_google_write import FakeGoogleWrite, google_error
from sink_support import drafts_sink, task, tasks_sink

from engage.errors import EXIT_TEMPFAIL, RetriableSinkError, exit_code_of
from engage_gmail.gtasks import key_of
from engage_gmail.writes import GoogleSink

#: Each sink, built on the fake, and its creates as the fake counts them.
SINKS: dict[str, tuple[Callable[[FakeGoogleWrite, Path], GoogleSink], str]] = {
    "drafts": (
        lambda fake, tmp_path: drafts_sink(fake, tmp_path, reply_in_thread=False),
        "POST /drafts",
    ),
    "gtasks": (tasks_sink, "POST /tasks/v1/lists/{list}/tasks"),
}


@pytest.fixture
def fake() -> Iterator[FakeGoogleWrite]:
    with FakeGoogleWrite() as fake:
        yield fake


@pytest.fixture(params=sorted(SINKS))
def kind(request: pytest.FixtureRequest) -> str:
    """Which sink: ``drafts`` or ``gtasks``."""
    return str(request.param)


def made(fake: FakeGoogleWrite, kind: str) -> list[str]:
    """The task key of every object the fake holds (a duplicate shows twice)."""
    if kind == "drafts":
        return [key for key, ids in fake.drafts_by_key().items() for _ in ids]
    return [key_of(t.notes) or "" for t in fake.tasks.values()]


def ready(fake: FakeGoogleWrite, tmp_path: Path, kind: str) -> tuple[GoogleSink, str]:
    """A sink holding an access token and its remote keys, with nothing scripted yet."""
    build, create = SINKS[kind]
    sink = build(fake, tmp_path)
    sink.find([task(99)])
    fake.server.requests.clear()
    return sink, create


def test_a_create_answered_without_an_id_is_looked_for_then_sent_again(
    fake: FakeGoogleWrite, tmp_path: Path, kind: str
) -> None:
    """A 200 without the new id may have been written: the sink looks, does not find it
    (nothing was written), and sends it again: one object."""
    sink, create = ready(fake, tmp_path, kind)
    fake.server.fail_next(200, body={"kind": "no id"})
    [result] = sink.create([task()])
    assert result.ok
    assert made(fake, kind) == [task().key]
    assert fake.calls()[create] == 2


def test_a_create_that_timed_out_is_not_sent_again_in_the_run(
    fake: FakeGoogleWrite, tmp_path: Path, kind: str
) -> None:
    """No answer before the read timeout: it may still land, so it is not sent again; the
    task stays pending (temporary), and the next run finds what landed."""
    sink, create = ready(fake, tmp_path, kind)
    sink.client.timeout = (2.0, 0.2)
    fake.server.slow_next(0.6)
    with pytest.raises(RetriableSinkError, match="stays pending") as info:
        sink.create([task()])
    assert exit_code_of(info.value) == EXIT_TEMPFAIL
    assert "not sent again in this run" in str(info.value)
    time.sleep(0.6)  # the slow create lands
    assert fake.calls()[create] == 1
    assert made(fake, kind) == [task().key]
    build, _ = SINKS[kind]
    assert list(build(fake, tmp_path).find([task()])) == [task().key]


def test_a_retry_after_longer_than_a_run_waits_stops_with_nothing_written(
    fake: FakeGoogleWrite, tmp_path: Path, kind: str
) -> None:
    """A 429 asking for an hour: not waited out, not sent again; temporary, nothing made."""
    sink, create = ready(fake, tmp_path, kind)
    body = google_error(429, "Rate Limit Exceeded", "rateLimitExceeded", "RESOURCE_EXHAUSTED")
    fake.server.fail_next(429, body=body.body, headers={"Retry-After": "3600"})
    with pytest.raises(RetriableSinkError, match=r"Retry-After.*stays pending"):
        sink.create([task()])
    assert fake.calls()[create] == 1
    assert made(fake, kind) == []


def test_a_refused_create_fails_that_task_alone(
    fake: FakeGoogleWrite, tmp_path: Path, kind: str
) -> None:
    """A 400 for one object: that task's error, not sent again; the next task lands."""
    sink, create = ready(fake, tmp_path, kind)
    fake.server.fail_next(
        400, body=google_error(400, "Invalid", "invalid", "INVALID_ARGUMENT").body
    )
    first, second = sink.create([task(1), task(2)])
    assert not first.ok and "HTTP 400" in str(first.error)
    assert second.ok
    assert made(fake, kind) == [task(2).key]
    assert fake.calls()[create] == 2
