"""The HubSpot sink against the fake: batches, associations, owners, 207, lost answers, find, complete."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fake_hubspot import FakeHubSpot

from engage.http import AuthError, HttpError, RetriesExhausted
from engage.store.sqlite import SQLiteStore
from engage.testing import make_task
from engage_hubspot import HubSpotSink

Make = Callable[..., HubSpotSink]


class TestCreate:
    """Tasks are created in batches of 100, owned and associated."""

    def test_a_task_lands_owned_associated_and_carrying_its_key(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """Subject, body with key marker, due, priority, type, status, owner and associations 192/204."""
        results = list(make_sink(store).create([make_task()]))
        assert results[0].ok
        created = fake.objects["tasks"][results[0].remote_id or ""]
        props = created["properties"]
        assert props["hs_task_subject"] == "Check in with Acme"
        assert props["hs_task_body"].endswith("engage-task-key: " + make_task().key)
        assert (props["hs_task_status"], props["hs_task_priority"], props["hs_task_type"]) == (
            "NOT_STARTED",
            "MEDIUM",
            "CALL",
        )
        assert props["hubspot_owner_id"] == account["carol"]
        assert fake.links[("tasks", "companies")][created["id"]] == {account["acme"]: 192}
        assert fake.links[("tasks", "contacts")][created["id"]] == {account["jane"]: 204}

    def test_250_tasks_go_in_three_requests(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """engage hands the sink 100 at a time; each batch is one create request."""
        sink = make_sink(store)
        tasks = [make_task(n) for n in range(250)]
        for start in range(0, 250, sink.batch_size):
            assert all(r.ok for r in sink.create(tasks[start : start + sink.batch_size]))
        creates = fake.requests_to("POST", "/tasks/batch/create")
        assert [len(r.json()["inputs"]) for r in creates] == [100, 100, 50]
        assert len(fake.objects["tasks"]) == 250

    def test_a_gone_or_missing_owner_hands_the_task_to_the_fallback_owner(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """An archived owner or no owner at all: the task goes to fallback_owner."""
        sink = make_sink(store, fallback_owner="boss@ourco.com")
        results = list(
            sink.create([make_task(1, owner="dave@ourco.com"), make_task(2, owner=None)])
        )
        owners = {
            fake.objects["tasks"][r.remote_id or ""]["properties"]["hubspot_owner_id"]
            for r in results
        }
        assert owners == {account["boss"]}

    def test_a_207_answer_fails_only_the_bad_task(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """A task HubSpot refuses is reported failed by its trace id; the others are created."""
        fake.objects["contacts"].clear()  # the association target ...
        good = make_task(1, contact_email=None)
        bad = make_task(2, customer="hubspot-company:999999", contact_email=None)  # no such company
        results = {r.key: r for r in make_sink(store).create([good, bad])}
        assert results[good.key].ok
        assert not results[bad.key].ok and "999999" in (results[bad.key].error or "")
        assert len(fake.objects["tasks"]) == 1

    def test_a_lost_answer_is_followed_by_a_look_not_a_duplicate(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """HubSpot creates the tasks but the answer is a 502: the sink finds them instead of resending."""
        fake.lose_create_answers = 1
        tasks = [make_task(n) for n in range(3)]
        results = list(make_sink(store).create(tasks))
        assert all(r.ok for r in results) and len(results) == 3
        assert len(fake.objects["tasks"]) == 3
        assert len(fake.requests_to("POST", "/tasks/batch/create")) == 1

    def test_a_dropped_connection_before_hubspot_saw_it_is_sent_again(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """A connection dropped before HubSpot created anything: look, find nothing, create once."""
        sink = make_sink(store)
        sink.owner_ids()
        sink.contact_ids(["jane@acme.com"])
        fake.drop_next(1)
        results = list(sink.create([make_task()]))
        assert results[0].ok and len(fake.objects["tasks"]) == 1

    def test_a_persistent_outage_raises_and_creates_nothing(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """5xx on every try: a RetriesExhausted error, so engage keeps the batch pending."""
        sink = make_sink(store)
        sink.owner_ids()
        fake.fail_next(503, 50)
        with pytest.raises(RetriesExhausted):
            list(sink.create([make_task()]))
        assert fake.objects["tasks"] == {}

    def test_a_rate_limited_create_waits_and_succeeds(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """A 429 TEN_SECONDLY_ROLLING on create is waited out and sent again, once."""
        sink = make_sink(store)
        sink.owner_ids()
        sink.contact_ids(["jane@acme.com"])
        fake.rate_limit_next("TEN_SECONDLY_ROLLING", 2)
        assert all(r.ok for r in sink.create([make_task()]))
        assert len(fake.objects["tasks"]) == 1

    def test_a_retry_after_longer_than_allowed_fails_the_create_at_once(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """A 429 asking for an hour is not waited for nor resent: an error, no task created."""
        sink = make_sink(store)
        sink.owner_ids()
        sink.keys()
        before = len(fake.requests)
        fake.rate_limit_next("TEN_SECONDLY_ROLLING", 1, retry_after="3600")
        with pytest.raises(HttpError, match=r"batch/create: HTTP 429 .*asks to wait 3600 s"):
            list(sink.create([make_task(contact_email=None)]))
        assert len(fake.requests) == before + 1
        assert fake.objects["tasks"] == {}

    def test_a_missing_write_scope_names_the_scope(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """403 on tasks: the error names the scope and the token variable, never the token."""
        fake.denied.add("tasks")
        with pytest.raises(AuthError) as caught:
            list(make_sink(store).create([make_task()]))
        assert "crm.objects.contacts.write" in str(caught.value)
        assert "HUBSPOT_TOKEN" in str(caught.value) and fake.token not in str(caught.value)


class TestFind:
    """Tasks an interrupted run created are found by the key they carry."""

    def test_find_looks_through_the_customers_associated_tasks(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """Freshly created tasks are not in search yet; the association read still finds them."""
        sink = make_sink(store)
        created = {r.key: r.remote_id for r in sink.create([make_task(1), make_task(2)])}
        assert fake.unindexed  # search has not caught up
        found = make_sink(store).find([make_task(1), make_task(2), make_task(3)])
        assert found == created

    def test_find_uses_the_key_property_when_configured(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """With task_key_property the key is written there and searched there too."""
        sink = make_sink(store, task_key_property="engage_task_key")
        created = {
            r.key: r.remote_id
            for r in sink.create([make_task(1, customer="nowhere.com", contact_email=None)])
        }
        fake.unindexed.clear()
        found = make_sink(store, task_key_property="engage_task_key").find(
            [make_task(1, customer="nowhere.com", contact_email=None)]
        )
        assert found == created


class TestComplete:
    """Cleared tasks are completed only when asked to."""

    def test_cleared_tasks_are_completed_when_complete_cleared_is_on(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """complete_cleared = true marks the task COMPLETED and reports it done."""
        remote = next(iter(make_sink(store).create([make_task()]))).remote_id or ""
        results = list(make_sink(store, complete_cleared=True).complete({make_task().key: remote}))
        assert results[0].ok
        assert fake.objects["tasks"][remote]["properties"]["hs_task_status"] == "COMPLETED"

    def test_cleared_tasks_are_left_alone_by_default(
        self, fake: FakeHubSpot, account: dict[str, str], store: SQLiteStore, make_sink: Make
    ) -> None:
        """Without complete_cleared nothing is sent and nothing is reported completed."""
        remote = next(iter(make_sink(store).create([make_task()]))).remote_id or ""
        assert list(make_sink(store).complete({make_task().key: remote})) == []
        assert fake.objects["tasks"][remote]["properties"]["hs_task_status"] == "NOT_STARTED"
