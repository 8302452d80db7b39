"""Faults: 429 by policy, 5xx, slow answers, dropped connections, outages, bad tokens and scopes."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from conftest import FAST, pull, seed
from fake_hubspot import FakeHubSpot

from engage.adapters import Checkpoint, SourceItem
from engage.http import AuthError, HttpError, RetriesExhausted
from engage.models import Contact, Touchpoint
from engage.pull import pull_source
from engage.store.sqlite import SQLiteStore
from engage.testing import Request
from engage_hubspot import HubSpotSource

Make = Callable[..., HubSpotSource]


def waits(source: HubSpotSource) -> list[float]:
    """Record the waits of a source's client instead of sleeping them."""
    recorded: list[float] = []
    source.client.sleep = source.client.http.sleep = recorded.append
    return recorded


class TestRateLimits:
    """429s are waited out the way HubSpot's own clients do."""

    @pytest.mark.parametrize(
        ("policy", "per_attempt"), [("TEN_SECONDLY_ROLLING", 0.001), ("SECONDLY", 0.001)]
    )
    def test_429_waits_by_policy_then_succeeds(
        self, fake: FakeHubSpot, make_source: Make, policy: str, per_attempt: float
    ) -> None:
        """Each policy waits its own time per attempt (10 s and 1 s, shrunk here), then the pull ends well."""
        seed(fake)
        source = make_source()
        recorded = waits(source)
        fake.rate_limit_next(policy, 2)
        result = pull(source)
        assert result.customers
        assert recorded[:2] == [per_attempt, 2 * per_attempt]

    def test_retry_after_is_honoured(self, fake: FakeHubSpot, make_source: Make) -> None:
        """A Retry-After header wins over the policy's own wait."""
        seed(fake)
        source = make_source()
        recorded = waits(source)
        fake.rate_limit_next("TEN_SECONDLY_ROLLING", 1, retry_after="1")
        pull(source)
        assert recorded[0] == 1.0

    def test_the_daily_limit_fails_at_once(self, fake: FakeHubSpot, make_source: Make) -> None:
        """Waiting does not help before midnight: DAILY fails without retrying."""
        seed(fake)
        fake.rate_limit_next("DAILY", 1)
        with pytest.raises(HttpError, match="daily API limit"):
            pull(make_source())
        assert len(fake.requests) == 1

    def test_a_retry_after_longer_than_allowed_fails_at_once_and_keeps_the_cursor(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """Retry-After: 3600 with 2 s allowed: one request, no wait, a clear error, same cursor."""
        ids = seed(fake)
        store = SQLiteStore(":memory:")
        assert pull_source(store, "crm", "hubspot", make_source()).error is None
        cursor = store.get_cursor("crm")
        fake.now_ms += 60_000
        fake.update("companies", ids["acme"], name="Acme Renamed")
        source = make_source()
        recorded = waits(source)
        before = len(fake.requests)
        fake.rate_limit_next("TEN_SECONDLY_ROLLING", 1, retry_after="3600")
        report = pull_source(store, "crm", "hubspot", source)
        assert report.error is not None
        assert "GET /crm/v3/owners: HTTP 429" in report.error
        assert "asks to wait 3600 s (Retry-After), longer than the 2 s" in report.error
        assert fake.token not in report.error
        assert len(fake.requests) == before + 1  # not retried
        assert recorded == []  # and not waited for
        assert store.get_cursor("crm") == cursor
        assert (store.get_customer("acme.com") or pytest.fail()).name == "Acme"

    def test_the_configured_rate_is_kept(self, fake: FakeHubSpot, make_source: Make) -> None:
        """With 3 searches a second, N searches wait at least (N - 3) / 3 seconds in all."""
        seed(fake)
        first = pull(make_source())
        source = make_source(searches_per_second=3)
        clock = [0.0]
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            clock[0] += seconds

        source.client.searches.sleep = sleep
        source.client.searches.clock = lambda: clock[0]
        before = len(fake.requests_to("POST", "/search"))
        pull(source, first.cursor)
        searches = len(fake.requests_to("POST", "/search")) - before
        assert searches > 3
        assert sum(slept) >= (searches - 3) / 3 - 0.01


class TestStorms:
    """Storms of retriable faults end in success within the retry budget."""

    def test_5xx_slow_and_dropped_answers_end_in_success(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """A 503, a 502, a dropped connection and a slow answer are all retried; nothing is lost."""
        ids = seed(fake)
        fake.fail_next(503)
        fake.fail_next(502)
        fake.drop_next()
        fake.slow_next(0.05)
        result = pull(make_source())
        assert f"email:{ids['email_in']}" in {t.external_id for t in result.touchpoints}

    def test_a_timeout_is_retried(
        self, fake: FakeHubSpot, make_source: Make, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An answer slower than the read timeout is retried like a network fault."""
        seed(fake)
        source = make_source()
        source.client.http.timeout = (1.0, 0.2)
        fake.slow_next(0.5)
        assert pull(source).customers


class TestOutage:
    """A persistent outage fails cleanly and leaves the cursor where it was."""

    def test_an_outage_mid_pull_keeps_the_last_checkpoint(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """engage commits page by page; an outage rolls back to the last checkpoint, the cursor too."""
        ids = seed(fake)
        store = SQLiteStore(":memory:")
        first = pull_source(store, "crm", "hubspot", make_source())
        assert first.error is None
        cursor = store.get_cursor("crm")
        fake.now_ms += 60_000
        fake.update("companies", ids["acme"], name="Acme Renamed")
        fake.fail_next(503, 1000)
        report = pull_source(store, "crm", "hubspot", make_source())
        assert report.error and "failed 6 times" in report.error and "503" in report.error
        assert store.get_cursor("crm") == cursor
        assert (store.get_customer("acme.com") or pytest.fail()).name == "Acme"
        fake.fail_next(200, 0)
        fake._faults.clear()
        again = pull_source(store, "crm", "hubspot", make_source())
        assert again.error is None
        assert (store.get_customer("acme.com") or pytest.fail()).name == "Acme Renamed"


class TestResume:
    """An interrupted first listing resumes from the page it reached."""

    def test_an_interrupted_first_listing_resumes_from_its_checkpoint(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """A 5xx outage on the third page of contacts: the next run starts at that page.

        Items count as committed only up to each checkpoint, as engage commits them. The
        second run lists no page the first one finished, and every contact arrives once.
        """
        company = fake.add("companies", {"name": "Big", "domain": "big.com"})
        emails = [f"p{n:03d}@big.com" for n in range(450)]  # five pages: 4 x 100 + 50
        for email in emails:
            fake.add("contacts", {"email": email, "associatedcompanyid": company})
        note = fake.add("notes", {"hs_timestamp": fake.now_ms}, companies=[company])
        fake.now_ms += 60_000

        def listed(object_type: str, since: int = 0) -> list[Request]:
            return [
                r
                for r in fake.requests[since:]
                if r.method == "GET"
                and r.path == f"/crm/v3/objects/{object_type}"
                and r.arg("archived") != "true"
            ]

        committed: list[SourceItem] = []
        pending: list[SourceItem] = []
        cursor: str | None = None
        with pytest.raises(RetriesExhausted, match="HTTP 503"):
            for item in make_source(feedback=False, open_work=False).pull(None):
                if not isinstance(item, Checkpoint):
                    pending.append(item)
                    continue
                committed, pending, cursor = committed + pending, [], item.cursor
                if len(listed("contacts")) == 2:  # two pages of contacts are committed
                    fake.fail_next(503, FAST.retry.attempts)  # down for the whole retry budget
        assert cursor is not None
        first_pages = listed("contacts")
        done, failed = first_pages[:2], first_pages[2:]
        assert len(failed) == FAST.retry.attempts
        resume_at = failed[0].arg("after")
        assert resume_at is not None and {r.arg("after") for r in failed} == {resume_at}
        state = json.loads(cursor)["types"]["contacts"]
        assert (state["listing"], state["after"]) == (True, resume_at)

        before = len(fake.requests)
        second = pull(make_source(feedback=False, open_work=False), cursor)
        again = listed("contacts", before)
        assert again[0].arg("after") == resume_at
        assert not {r.arg("after") for r in again} & {r.arg("after") for r in done}
        assert listed("companies", before) == []  # finished before the outage: not listed again
        pulled = [i.email for i in committed + second.items if isinstance(i, Contact)]
        assert sorted(pulled) == emails  # nothing lost, nothing twice
        assert [t.external_id for t in second.items if isinstance(t, Touchpoint)] == [
            f"note:{note}"
        ]


class TestAuth:
    """Auth failures say which variable or scope is wrong, and never show the token."""

    def test_a_bad_token_names_the_variable(self, fake: FakeHubSpot, make_source: Make) -> None:
        """401: the message names HUBSPOT_TOKEN and does not contain the token."""
        source = make_source()
        fake.token = "another-token"
        with pytest.raises(AuthError, match="HUBSPOT_TOKEN") as caught:
            pull(source)
        assert "pat-na1-test-token" not in str(caught.value) + repr(source) + repr(source.client)

    def test_a_missing_scope_is_named(self, fake: FakeHubSpot, make_source: Make) -> None:
        """403 on feedback submissions: the message names the scope to add."""
        seed(fake)
        fake.denied.add("feedback_submissions")
        with pytest.raises(AuthError, match=r"crm\.objects\.feedback_submissions\.read"):
            pull(make_source())
        assert pull(make_source(feedback=False)).customers

    def test_retries_exhausted_never_show_the_token(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """Even a failure's message is free of the token."""
        source = make_source()
        fake.fail_next(500, 10, body={"message": f"echo {fake.token}"})
        with pytest.raises(RetriesExhausted) as caught:
            pull(source)
        assert fake.token not in str(caught.value)
