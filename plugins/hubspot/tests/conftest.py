"""Shared fixtures: a running fake HubSpot, sources and sinks pointed at it, fast retries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fake_hubspot import FakeHubSpot

import engage_hubspot.client as client_module
from engage.adapters import AdapterContext, Progress, resolve_options
from engage.http import RetryPolicy
from engage.identity import Identity
from engage.models import Customer
from engage.store.sqlite import SQLiteStore
from engage.testing import Pull
from engage_hubspot import HubSpotSink, HubSpotSource

IDENTITY = Identity.for_domains(["ourco.com"])
FAST = client_module.Timing(
    ten_secondly=0.001,
    secondly=0.001,
    locked=0.001,
    retry=RetryPolicy(attempts=6, base_delay=0.001, max_delay=0.005, max_retry_after=2.0),
    timeout=(2.0, 2.0),
)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every client waits milliseconds instead of seconds."""
    monkeypatch.setattr(client_module, "TIMING", FAST)


@pytest.fixture
def fake() -> Iterator[FakeHubSpot]:
    """A running fake HubSpot account."""
    with FakeHubSpot() as server:
        yield server  # type: ignore[misc]


class Clock:
    """A settable 'now' for sources."""

    def __init__(self, fake: FakeHubSpot) -> None:
        self.fake = fake

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.fake.now_ms / 1000, UTC)


def fake_env(fake: FakeHubSpot) -> dict[str, str]:
    """The environment adapters read their token from: the fake's token in $HUBSPOT_TOKEN."""
    return {"HUBSPOT_TOKEN": fake.token}


@pytest.fixture
def context(fake: FakeHubSpot) -> Callable[..., AdapterContext]:
    """Build an adapter context whose token is the fake's and whose 'now' is the fake's clock."""

    def build(
        name: str = "crm", store: SQLiteStore | None = None, progress: Progress | None = None
    ) -> AdapterContext:
        more: dict[str, Any] = {} if progress is None else {"progress": progress}
        return AdapterContext(
            name=name,
            identity=IDENTITY,
            env=fake_env(fake),
            now=Clock(fake),
            directory=store,
            **more,
        )

    return build


@pytest.fixture
def make_source(
    fake: FakeHubSpot, context: Callable[..., AdapterContext]
) -> Callable[..., HubSpotSource]:
    """Build a HubSpotSource pointed at the fake: make_source(overlap_minutes=0, ...), and
    ``progress=`` for the progress it reports to."""

    def build(progress: Progress | None = None, **options: Any) -> HubSpotSource:
        given = {"base_url": fake.url, "searches_per_second": 1000, "requests_per_10s": 10_000}
        given.update(options)
        return HubSpotSource(
            resolve_options(HubSpotSource.options, given, "test", env=fake_env(fake)),
            context(progress=progress),
        )

    return build


@pytest.fixture
def make_sink(
    fake: FakeHubSpot, context: Callable[..., AdapterContext]
) -> Callable[..., HubSpotSink]:
    """Build a HubSpotSink pointed at the fake, reading customers from ``store``."""

    def build(store: SQLiteStore | None = None, **options: Any) -> HubSpotSink:
        given = {"base_url": fake.url, "searches_per_second": 1000, "requests_per_10s": 10_000}
        given.update(options)
        return HubSpotSink(
            resolve_options(HubSpotSink.options, given, "test", env=fake_env(fake)),
            context("tasks", store),
        )

    return build


@pytest.fixture
def account(fake: FakeHubSpot) -> dict[str, str]:
    """For sink tests: an account with an owner, a company, a contact, and a store that knows the company."""
    return {
        "carol": fake.add_owner("carol@ourco.com"),
        "boss": fake.add_owner("boss@ourco.com"),
        "dave": fake.add_owner("dave@ourco.com", archived=True),
        "acme": fake.add("companies", {"name": "Acme", "domain": "acme.com"}),
        "jane": fake.add("contacts", {"email": "jane@acme.com"}),
    }


@pytest.fixture
def store(account: dict[str, str]) -> SQLiteStore:
    """A store that knows acme.com and its HubSpot company id."""
    store = SQLiteStore(":memory:")
    store.write([Customer("acme.com", attributes={"hubspot_company_id": account["acme"]})], "crm")
    return store


def pull(source: HubSpotSource, cursor: str | None = None) -> Pull:
    """Run one pull to the end."""
    return Pull.run(source, cursor)


def seed(fake: FakeHubSpot) -> dict[str, str]:
    """A small account: two owners (one left), three companies, contacts and engagements."""
    ids: dict[str, str] = {}
    ids["carol"] = fake.add_owner("Carol@OurCo.com", first="Carol")
    ids["dave"] = fake.add_owner("dave@ourco.com", archived=True, first="Dave")
    ids["acme"] = fake.add(
        "companies",
        {
            "name": "Acme",
            "domain": "www.Acme.com",
            "hubspot_owner_id": ids["carol"],
            "tier": "enterprise",
        },
    )
    ids["globex"] = fake.add(
        "companies", {"name": "Globex", "domain": "globex.io", "hubspot_owner_id": ids["dave"]}
    )
    ids["nodomain"] = fake.add("companies", {"name": "No Domain Ltd"})
    ids["jane"] = fake.add(
        "contacts",
        {
            "email": "Jane@Acme.com",
            "firstname": "Jane",
            "lastname": "Doe",
            "associatedcompanyid": ids["acme"],
        },
    )
    ids["jo"] = fake.add("contacts", {"email": "jo@gmail.com", "firstname": "Jo"})
    ids["email_in"] = fake.add(
        "emails",
        {"hs_timestamp": fake.now_ms - 86_400_000, "hs_email_direction": "INCOMING_EMAIL",
         "hs_email_subject": "Question", "hs_email_status": "SENT", "hubspot_owner_id": ids["carol"],
         "hs_email_headers": '{"from": {"email": "jane@acme.com"}, "Message-Id": "<m1@acme.com>"}'},
        companies=[ids["acme"]], contacts=[ids["jane"]],
    )  # fmt: skip
    ids["call_out"] = fake.add(
        "calls",
        {"hs_timestamp": fake.now_ms - 2 * 86_400_000, "hs_call_direction": "OUTBOUND",
         "hs_call_status": "COMPLETED", "hubspot_owner_id": ids["dave"]},
        companies=[ids["globex"]],
    )  # fmt: skip
    ids["meeting_done"] = fake.add(
        "meetings",
        {"hs_timestamp": fake.now_ms - 3 * 86_400_000, "hs_meeting_outcome": "COMPLETED"},
        contacts=[ids["jo"]],
    )
    ids["meeting_cancelled"] = fake.add(
        "meetings",
        {"hs_timestamp": fake.now_ms - 3 * 86_400_000, "hs_meeting_outcome": "CANCELED"},
        companies=[ids["acme"]],
    )
    ids["note"] = fake.add(
        "notes", {"hs_timestamp": fake.now_ms - 86_400_000}, companies=[ids["nodomain"]]
    )
    ids["lonely"] = fake.add("notes", {"hs_timestamp": fake.now_ms - 86_400_000})
    ids["nps"] = fake.add(
        "feedback_submissions",
        {"hs_submission_timestamp": fake.now_ms - 86_400_000, "hs_survey_type": "NPS", "hs_response_value": "9"},
        contacts=[ids["jane"]],
    )  # fmt: skip
    ids["deal"] = fake.add("deals", {"hs_is_closed": "false"}, companies=[ids["acme"]])
    fake.add("deals", {"hs_is_closed": "true"}, companies=[ids["globex"]])
    fake.now_ms += 60_000
    return ids
