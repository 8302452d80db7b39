"""The HubSpot source and sink keep engage's promises (engage.testing's contract suites),
against the fake HubSpot."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from conftest import seed
from fake_hubspot import FakeHubSpot

from engage.models import Customer
from engage.store import Store
from engage.testing import SinkCase, SinkContract, SourceCase, SourceContract

#: The fake's limits are generous; the client's pacing is the test's own (conftest FAST).
FAST_OPTIONS = {"searches_per_second": 1000, "requests_per_10s": 10_000}


def fake_clock(fake: FakeHubSpot) -> Any:
    """The fake portal's clock, as the source reads 'now'."""
    return lambda: datetime.fromtimestamp(fake.now_ms / 1000, UTC)


class TestHubSpotSource(SourceContract):
    """The seeded account: owners, companies, contacts, engagements of every kind, one note
    with no association."""

    expected_failures: ClassVar[Mapping[str, str]] = {
        "test_bad_records_are_problems_naming_their_place": (
            "engagements with no company or contact are counted in one problem naming the "
            "source, not each engagement"
        ),
    }

    @pytest.fixture
    def source_case(self, fake: FakeHubSpot) -> SourceCase:
        ids = seed(fake)
        return SourceCase(
            adapter="hubspot",
            options={"base_url": fake.url, "overlap_minutes": 0, **FAST_OPTIONS},
            env={"HUBSPOT_TOKEN": fake.token},
            now=fake_clock(fake),
            secret=fake.token,
            places=(f"notes {ids['lonely']}",),
            fail=lambda: fake.fail_next(401),
        )


def remote_keys(fake: FakeHubSpot) -> list[str]:
    """The task key of every task in the fake portal, read from the body's marker line."""
    return [
        task["properties"]["hs_task_body"].rsplit("engage-task-key: ", 1)[-1].strip()
        for task in fake.objects["tasks"].values()
    ]


def know_acme(account: dict[str, str]) -> Any:
    """Tell the store acme.com's HubSpot company id, as a HubSpot source would have."""

    def prepare(store: Store) -> None:
        with store.transaction():
            store.write(
                [Customer("acme.com", attributes={"hubspot_company_id": account["acme"]})], "crm"
            )

    return prepare


class TestHubSpotSink(SinkContract):
    """Tasks on acme.com's company, keyed by the unique engage_task_key property."""

    @pytest.fixture
    def sink_case(self, fake: FakeHubSpot, account: dict[str, str]) -> SinkCase:
        return SinkCase(
            adapter="hubspot",
            options={"base_url": fake.url, **FAST_OPTIONS},
            env={"HUBSPOT_TOKEN": fake.token},
            now=fake_clock(fake),
            secret=fake.token,
            remote_keys=lambda: remote_keys(fake),
            prepare=know_acme(account),
            fail=lambda: fake.fail_next(401, count=10),
        )


class TestHubSpotSinkWithoutKeyProperty(SinkContract):
    """The same without the unique property (a token that cannot create it): the sink
    looks for each task before creating it."""

    @pytest.fixture
    def sink_case(self, fake: FakeHubSpot, account: dict[str, str]) -> SinkCase:
        return SinkCase(
            adapter="hubspot",
            options={"base_url": fake.url, "task_key_property": "", **FAST_OPTIONS},
            env={"HUBSPOT_TOKEN": fake.token},
            now=fake_clock(fake),
            secret=fake.token,
            remote_keys=lambda: remote_keys(fake),
            prepare=know_acme(account),
            fail=lambda: fake.fail_next(401, count=10),
        )
