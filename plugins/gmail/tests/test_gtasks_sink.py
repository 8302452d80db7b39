"""The gtasks sink: follow-ups become Google Tasks, found again by key, completed when cleared."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_google_write import COMPOSE, READONLY, FakeGoogleWrite
from fake_oauth import CLIENT_SECRET, REFRESH_TOKEN
from sink_support import task, tasks_sink

from engage.errors import RetriableSinkError, SinkError
from engage_gmail.gtasks import key_of


@pytest.fixture
def fake() -> Iterator[FakeGoogleWrite]:
    with FakeGoogleWrite() as fake:
        yield fake


def test_a_task_lands_with_title_notes_and_a_date_only_due(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """Title, notes with the body, the reason and the key line, and the due date at midnight UTC."""
    sink = tasks_sink(fake, tmp_path)
    [result] = sink.create([task()])
    assert result.ok
    stored = fake.tasks[str(result.remote_id)]
    assert stored.title == "Checking in on the Acme rollout"
    assert stored.due == "2026-03-02T00:00:00.000Z"
    assert stored.notes is not None
    assert stored.notes.startswith("Hi Jane,\n\nHow is the rollout going?")
    assert "Why: No conversation for 45 days (cadence 30)" in stored.notes
    assert stored.notes.endswith("\n\nengage-task: check_in:acme.com:2026-02-01")
    assert stored.status == "needsAction"


def test_long_titles_and_notes_fit_google_limits_and_keep_the_key(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """A 2,000-char title and a 20,000-char body are cut to 1,024 and 8,192; the key line stays."""
    sink = tasks_sink(fake, tmp_path)
    [result] = sink.create([task(title="T" * 2000, body="é" * 20000)])
    stored = fake.tasks[str(result.remote_id)]
    assert len(stored.title) == 1024
    assert stored.notes is not None and len(stored.notes) <= 8192
    assert key_of(stored.notes) == task().key


def test_create_then_find_recognises_the_task(fake: FakeGoogleWrite, tmp_path: Path) -> None:
    """find() maps the key of a task created earlier to its Google id; unknown keys are absent."""
    sink = tasks_sink(fake, tmp_path)
    [created] = sink.create([task(1)])
    again = tasks_sink(fake, tmp_path)
    assert again.find([task(1), task(2)]) == {task(1).key: created.remote_id}


def test_find_pages_through_a_long_list_including_done_and_hidden_tasks(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """250 tasks take three pages of 100; a task ticked in Google's app (hidden) is still found."""
    results = list(tasks_sink(fake, tmp_path).create([task(n) for n in range(1, 251)]))
    fake.complete_in_app(str(results[0].remote_id))
    fake.server.requests.clear()
    found = tasks_sink(fake, tmp_path).find([task(1), task(250)])
    assert found == {task(1).key: results[0].remote_id, task(250).key: results[-1].remote_id}
    lists = [r for r in fake.server.requests if r.method == "GET"]
    assert len(lists) == 3
    assert all(r.arg("maxResults") == "100" and r.arg("showHidden") == "true" for r in lists)


def test_cleared_tasks_are_completed(fake: FakeGoogleWrite, tmp_path: Path) -> None:
    """complete() ticks the Google task; one deleted meanwhile fails alone."""
    sink = tasks_sink(fake, tmp_path)
    first, second = sink.create([task(1), task(2)])
    fake.tasks[str(second.remote_id)].deleted = True
    results = {
        r.key: r
        for r in sink.complete({first.key: str(first.remote_id), second.key: str(second.remote_id)})
    }
    assert results[first.key].ok
    assert fake.tasks[str(first.remote_id)].status == "completed"
    assert not results[second.key].ok


def test_a_named_task_list_is_looked_up_by_title(fake: FakeGoogleWrite, tmp_path: Path) -> None:
    """tasklist = "Follow-ups" writes into that list; an unknown title is a clear error."""
    fake.tasklists["Zm9sbG93"] = "Follow-ups"
    [result] = tasks_sink(fake, tmp_path, tasklist="Follow-ups").create([task()])
    assert fake.tasks[str(result.remote_id)].list_id == "Zm9sbG93"
    with pytest.raises(SinkError, match=r"\[sinks.todo\]: tasklist: no Google Tasks list"):
        tasks_sink(fake, tmp_path, tasklist="Nope").create([task(2)])


def test_a_storm_of_429_and_5xx_ends_in_success_without_duplicates(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """Rate limits and server errors are retried within bounds; each task exists once."""
    sink = tasks_sink(fake, tmp_path)
    sink.find([task(99)])  # holds an access token now
    fake.server.fail_next(429, headers={"Retry-After": "0"})
    fake.server.fail_next(503, count=2)
    fake.server.drop_next()
    results = list(sink.create([task(1), task(2)]))
    assert all(r.ok for r in results)
    keys = [key_of(t.notes) or "" for t in fake.tasks.values()]
    assert sorted(keys) == [task(1).key, task(2).key]


def test_an_insert_that_landed_but_answered_503_is_not_sent_twice(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """After an ambiguous failure the sink looks for the task before inserting again."""
    sink = tasks_sink(fake, tmp_path)
    fake.lose_replies(2)
    [result] = sink.create([task()])
    assert result.ok
    assert len(fake.tasks) == 1
    assert result.remote_id in fake.tasks


def test_a_persistent_outage_is_a_sink_error(fake: FakeGoogleWrite, tmp_path: Path) -> None:
    """Google down for good: a RetriableSinkError that says the task stays pending."""
    sink = tasks_sink(fake, tmp_path)
    sink.find([task(99)])  # holds an access token now
    fake.server.fail_next(503, count=100)
    with pytest.raises(RetriableSinkError, match="stays pending"):
        sink.create([task()])


def test_a_missing_scope_is_one_clear_error(tmp_path: Path) -> None:
    """Credentials without the tasks scope: an error naming the table and the scope needed."""
    with FakeGoogleWrite(scopes=(COMPOSE, READONLY)) as fake:
        sink = tasks_sink(fake, tmp_path)
        with pytest.raises(
            SinkError, match=r"\[sinks.todo\].*lack a scope.*needs the scopes: tasks"
        ):
            sink.create([task()])
        assert fake.tasks == {}


def test_a_revoked_token_never_shows_a_secret(fake: FakeGoogleWrite, tmp_path: Path) -> None:
    """invalid_grant is one error naming the table; no refresh token or client secret in it."""
    sink = tasks_sink(fake, tmp_path)
    fake.oauth.revoke()
    with pytest.raises(SinkError) as info:
        sink.find([task()])
    message = str(info.value)
    assert "[sinks.todo]" in message and "invalid_grant" in message
    assert REFRESH_TOKEN not in message and CLIENT_SECRET not in message
    assert "ya29." not in message


def test_every_create_looks_its_keys_up_in_the_list_once_per_run(
    fake: FakeGoogleWrite, tmp_path: Path
) -> None:
    """A sink with no ledger behind it: a key an earlier run created (even ticked in Google's
    app) is recorded, not created again; one tasks.list page serves every batch of the run."""
    [old] = tasks_sink(fake, tmp_path).create([task(1)])
    fake.complete_in_app(str(old.remote_id))
    fake.server.requests.clear()
    sink = tasks_sink(fake, tmp_path)
    first = {r.key: r.remote_id for r in sink.create([task(1), task(2)])}
    second = {r.key: r.remote_id for r in sink.create([task(2), task(3)])}
    assert first[task(1).key] == old.remote_id
    assert second[task(2).key] == first[task(2).key]
    assert len(fake.tasks) == 3
    calls = {k: v for k, v in fake.calls().items() if "/token" not in k}
    assert calls == {"GET /tasks/v1/lists/{list}/tasks": 1, "POST /tasks/v1/lists/{list}/tasks": 2}
    assert sink.notices and "2 task(s) already had a Google task" in sink.notices[0]
