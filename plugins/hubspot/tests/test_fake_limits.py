"""The fake's opt-in rate limits: HubSpot's rolling windows and 429 bodies, on a test clock."""

from __future__ import annotations

import requests
from fake_hubspot import FakeHubSpot


class Clock:
    """Seconds that move only when the test moves them."""

    def __init__(self) -> None:
        self.now = 0.0  # steps below are binary fractions: no rounding at the window's edge

    def __call__(self) -> float:
        return self.now


def get(fake: FakeHubSpot) -> requests.Response:
    return requests.get(
        fake.url + "/crm/v3/objects/contacts",
        headers={"Authorization": f"Bearer {fake.token}"},
        timeout=5,
    )


def search(fake: FakeHubSpot) -> requests.Response:
    return requests.post(
        fake.url + "/crm/v3/objects/contacts/search",
        json={"limit": 1},
        headers={"Authorization": f"Bearer {fake.token}"},
        timeout=5,
    )


def test_off_unless_asked(fake: FakeHubSpot) -> None:
    assert fake.limits is None
    assert all(get(fake).status_code == 200 for _ in range(3))


def test_the_101st_request_in_10_seconds_is_refused_until_the_window_moves(
    fake: FakeHubSpot,
) -> None:
    clock = Clock()
    limits = fake.enforce_limits(per_10s=100, searches_per_second=5, clock=clock)
    for n in range(100):  # 100 requests 1/16 s apart: the last at 6.1875 s
        clock.now = n / 16
        assert get(fake).status_code == 200, n

    clock.now = 9.9375  # the first is still in the window
    refused = get(fake)
    assert refused.status_code == 429
    body = refused.json()
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["status"] == "error" and body["correlationId"] and body["requestId"]
    assert search(fake).status_code == 200  # search is counted apart

    clock.now = 10.0  # the first request has left the window: one more fits
    assert get(fake).status_code == 200
    assert get(fake).status_code == 429
    clock.now = 20.0  # a whole window later every slot is free again
    assert all(get(fake).status_code == 200 for _ in range(100))
    assert [admitted for _, kind, admitted in limits.log if kind == "burst"].count(False) == 2


def test_search_has_its_own_limit_per_second(fake: FakeHubSpot) -> None:
    clock = Clock()
    fake.enforce_limits(per_10s=100, searches_per_second=5, clock=clock)
    assert [search(fake).status_code for _ in range(6)] == [200] * 5 + [429]
    body = search(fake).json()
    assert body["message"] == "You have reached your secondly limit."
    assert body["category"] == "RATE_LIMITS" and "policyName" not in body
    assert get(fake).status_code == 200  # the burst window is not touched by searches
    clock.now += 1.0
    assert search(fake).status_code == 200


def test_short_windows_for_tests(fake: FakeHubSpot) -> None:
    clock = Clock()
    fake.enforce_limits(per_10s=2, searches_per_second=1, window=0.5, clock=clock)
    assert [get(fake).status_code for _ in range(3)] == [200, 200, 429]
    clock.now += 0.5
    assert get(fake).status_code == 200
