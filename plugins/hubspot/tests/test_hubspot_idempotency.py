"""The sink is idempotent against HubSpot itself: the unique task-key property, its fallbacks,
lookups in batches after a lost answer, and 423s waited out."""

from __future__ import annotations

import logging
from collections.abc import Callable

import attrs
import pytest
from fake_hubspot import FakeHubSpot

import engage_hubspot.client as client_module
from engage.adapters import PushResult
from engage.models import Task
from engage.store.sqlite import SQLiteStore
from engage.testing import make_task as task
from engage_hubspot import HubSpotSink
from engage_hubspot.task_keys import Mode

Make = Callable[..., HubSpotSink]


def push(sink: HubSpotSink, tasks: list[Task]) -> dict[str, PushResult]:
    """Hand the sink its tasks 100 at a time, as engage does; results by key."""
    results: dict[str, PushResult] = {}
    for start in range(0, len(tasks), sink.batch_size):
        results.update({r.key: r for r in sink.create(tasks[start : start + sink.batch_size])})
    return results


def lookups(fake: FakeHubSpot) -> list[dict[str, object]]:
    """The batch reads of tasks by the key property."""
    return [
        r.json()
        for r in fake.requests_to("POST", "/tasks/batch/read")
        if r.json().get("idProperty")
    ]


class TestKeyProperty:
    """The unique task-key property is created once, in its group, and reused."""

    def test_created_once_with_unique_values_then_reused(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """The first run creates group and property; the next reads it and creates neither."""
        first = make_sink(store)
        assert all(r.ok for r in first.create([task(1)]))
        definition = fake.definitions[("tasks", "engage_task_key")]
        assert definition["hasUniqueValue"] is True
        assert (definition["type"], definition["fieldType"], definition["groupName"]) == (
            "string",
            "text",
            "engage",
        )
        assert len(fake.requests_to("POST", "/crm/v3/properties/tasks/groups")) == 1
        assert len(fake.requests_to("POST", "/crm/v3/properties/tasks")) == 2  # group + property
        assert first.keys().mode is Mode.UNIQUE and first.notices == []
        created = next(iter(fake.objects["tasks"].values()))
        assert created["properties"]["engage_task_key"] == task(1).key

        again = make_sink(store)
        assert all(r.ok for r in again.create([task(2)]))
        assert len(fake.requests_to("POST", "/crm/v3/properties/tasks")) == 2  # nothing new
        assert len(fake.requests_to("GET", "/crm/v3/properties/tasks/engage_task_key")) == 2

    def test_a_property_made_meanwhile_by_another_run_is_used(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """Two runs race: the loser's create answers 409 and it reads the winner's property."""
        racing = make_sink(store)
        other = make_sink(store)
        original = racing.client.property_group

        def create_meanwhile(object_type: str, name: str) -> dict[str, object]:
            assert other.keys().mode is Mode.UNIQUE  # the other run gets there first
            return original(object_type, name)

        racing.client.property_group = create_meanwhile  # type: ignore[method-assign]
        fake.groups["tasks"].clear()
        fake.definitions.pop(("tasks", "engage_task_key"), None)
        assert racing.keys().mode is Mode.UNIQUE and racing.notices == []


class TestNoDuplicates:
    """A task whose key HubSpot holds already is recorded with its id, never made twice."""

    def test_a_second_push_of_the_same_tasks_creates_none(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """A fresh sink (a lost ledger) pushes 150 tasks again: HubSpot refuses, the sink reads them back."""
        tasks = [task(n) for n in range(150)]
        first = push(make_sink(store), tasks)
        assert len(fake.objects["tasks"]) == 150
        before = len(fake.requests)
        second = push(make_sink(store), tasks)
        assert len(fake.objects["tasks"]) == 150
        assert {k: r.remote_id for k, r in second.items()} == {
            k: r.remote_id for k, r in first.items()
        }
        assert all(r.ok for r in second.values())
        creates = [r for r in fake.requests[before:] if r.path.endswith("/tasks/batch/create")]
        assert len(creates) == 2  # one refused per batch, nothing sent again
        assert [len(x["inputs"]) for x in lookups(fake)] == [100, 50]  # type: ignore[arg-type]

    def test_a_batch_with_some_existing_tasks_creates_only_the_others(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """40 of 100 exist (a backup older than the remote): 60 are created, 40 recorded."""
        old = [task(n) for n in range(40)]
        push(make_sink(store), old)
        tasks = [task(n) for n in range(100)]
        results = push(make_sink(store), tasks)
        assert all(r.ok for r in results.values()) and len(results) == 100
        assert len(fake.objects["tasks"]) == 100
        keys = sorted(t["properties"]["engage_task_key"] for t in fake.objects["tasks"].values())
        assert keys == sorted(t.key for t in tasks)

    def test_a_refusal_no_key_explains_is_split_until_it_stands_alone(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """A 409 for the whole batch (a lock) with no existing key: halves are sent, all land once."""
        sink = make_sink(store)
        sink.keys()
        fake.refuse_creates = [409]
        results = push(sink, [task(n) for n in range(10)])
        assert all(r.ok for r in results.values()) and len(fake.objects["tasks"]) == 10
        sizes = [len(r.json()["inputs"]) for r in fake.requests_to("POST", "/tasks/batch/create")]
        assert sizes == [10, 5, 5]


class TestLostAnswers:
    """After a 5xx or a timeout on create the keys are read back in batches, never one by one."""

    def test_answers_lost_after_creating_300_tasks_cost_one_lookup_per_100(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """HubSpot creates each batch and the answer is a 502: one batch read per 100 keys finds them."""
        sink = make_sink(store)
        fake.lose_create_answers = 3
        results = push(sink, [task(n) for n in range(300)])
        assert all(r.ok for r in results.values()) and len(results) == 300
        assert len(fake.objects["tasks"]) == 300
        assert len(fake.requests_to("POST", "/tasks/batch/create")) == 3
        assert len(lookups(fake)) == 3  # ≤ 2 per 100 tasks
        assert fake.requests_to("POST", "/tasks/search") == []

    def test_a_503_before_anything_was_written_is_looked_up_then_sent_again(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """503 on create: one lookup finds nothing, the batch goes again and lands once."""
        sink = make_sink(store)
        fake.refuse_creates = [503]
        results = push(sink, [task(n) for n in range(100)])
        assert all(r.ok for r in results.values()) and len(fake.objects["tasks"]) == 100
        assert len(lookups(fake)) == 1
        assert len(fake.requests_to("POST", "/tasks/batch/create")) == 2


class TestLocked:
    """A 423 on create is waited out (at least 2 s) and sent again within the run."""

    def test_a_423_on_create_is_retried_and_succeeds(
        self,
        fake: FakeHubSpot,
        account: dict[str, str],
        store: SQLiteStore,
        make_sink: Make,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Two 423s: the create waits 2 s each time, then lands once; nothing was looked up."""
        monkeypatch.setattr(client_module, "TIMING", attrs.evolve(client_module.TIMING, locked=2.0))
        sink = make_sink(store)
        waits: list[float] = []
        sink.client.sleep = sink.client.http.sleep = waits.append
        fake.refuse_creates = [423, 423]
        results = push(sink, [task(n) for n in range(5)])
        assert all(r.ok for r in results.values()) and len(fake.objects["tasks"]) == 5
        assert waits == [2.0, 2.0]
        assert len(fake.requests_to("POST", "/tasks/batch/create")) == 3
        assert lookups(fake) == []

    def test_a_423_on_a_read_is_retried(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """A locked lookup is waited out like a create."""
        sink = make_sink(store)
        push(sink, [task(1)])
        fake.lock_next(2)
        assert sink.find([task(1)]) == {task(1).key: next(iter(fake.objects["tasks"]))}

    def test_locked_on_every_try_fails_the_batch_cleanly(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """Locked six times: the tasks fail this run (retried next run), nothing created."""
        sink = make_sink(store)
        sink.keys()
        fake.refuse_creates = [423] * 6
        results = push(sink, [task(1)])
        assert not results[task(1).key].ok and "423" in (results[task(1).key].error or "")
        assert fake.objects["tasks"] == {}


class TestWithoutTheUniqueProperty:
    """No scope to create the property: the sink looks before it creates, and says so once."""

    def test_a_missing_schema_scope_falls_back_to_looking_first_and_warns_once(
        self,
        fake: FakeHubSpot,
        account: dict[str, str],
        store: SQLiteStore,
        make_sink: Make,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """403 on creating the property: tasks carry only the body marker; a fresh sink finds them."""
        fake.denied.add("property-writes")
        caplog.set_level(logging.WARNING, logger="engage_hubspot")
        sink = make_sink(store)
        tasks = [task(n) for n in range(150)]
        assert all(r.ok for r in push(sink, tasks).values())
        assert sink.keys().mode is Mode.BODY
        [warning] = sink.notices
        assert "crm.schemas.contacts.write" in warning and "HTTP 403" in warning
        assert fake.token not in warning
        assert len([r for r in caplog.records if "engage_task_key" in r.getMessage()]) == 1
        assert ("tasks", "engage_task_key") not in fake.definitions
        assert all("engage_task_key" not in t["properties"] for t in fake.objects["tasks"].values())

        again = push(make_sink(store), tasks)
        assert all(r.ok for r in again.values())
        assert len(fake.objects["tasks"]) == 150

    def test_unassociated_tasks_are_searched_five_markers_a_request(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """Without property and associations the body marker is searched, five keys a request."""
        fake.denied.add("property-writes")
        tasks = [task(n, customer="nowhere.com", contact_email=None) for n in range(10)]
        push(make_sink(store), tasks)
        fake.unindexed.clear()
        before = len(fake.requests_to("POST", "/tasks/search"))
        again = push(make_sink(store), tasks)
        assert all(r.ok for r in again.values()) and len(fake.objects["tasks"]) == 10
        assert len(fake.requests_to("POST", "/tasks/search")) - before == 2

    def test_an_existing_property_without_unique_values_is_searched_with_in(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """A hand-made non-unique property: keys are written there and searched 100 a request."""
        fake.groups["tasks"]["engage"] = fake.group("engage", "engage")
        fake.definitions[("tasks", "engage_task_key")] = {
            **fake.enumeration("engage_task_key", "Key", []),
            "type": "string",
            "fieldType": "text",
            "hubspotDefined": False,
        }
        tasks = [task(n, customer="nowhere.com", contact_email=None) for n in range(150)]
        sink = make_sink(store)
        push(sink, tasks)
        assert sink.keys().mode is Mode.SEARCH
        assert "without unique values" in sink.notices[0]
        fake.unindexed.clear()
        before = len(fake.requests_to("POST", "/tasks/search"))
        again = push(make_sink(store), tasks)
        assert all(r.ok for r in again.values()) and len(fake.objects["tasks"]) == 150
        searches = fake.requests_to("POST", "/tasks/search")[before:]
        assert len(searches) == 2
        values = [s.json()["filterGroups"][0]["filters"][0] for s in searches]
        assert [(v["operator"], len(v["values"])) for v in values] == [("IN", 100), ("IN", 50)]

    def test_an_empty_task_key_property_means_body_markers(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """task_key_property = "": no property is read or made; duplicates are still avoided."""
        tasks = [task(n) for n in range(3)]
        push(make_sink(store, task_key_property=""), tasks)
        push(make_sink(store, task_key_property=""), tasks)
        assert len(fake.objects["tasks"]) == 3
        assert fake.requests_to("GET", "/crm/v3/properties/tasks") == []
