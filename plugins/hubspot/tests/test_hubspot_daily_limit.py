"""HubSpot's DAILY limit: temporary, but nothing helps before the reset, so the sync does not
try again in the run (it would only spend another refused request) and says why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import seed
from fake_hubspot import FakeHubSpot

from engage.cli import cli
from engage.errors import EXIT_TEMPFAIL
from engage.http import HttpClient, RetriesExhausted
from engage.retries import asked_wait, is_retriable
from engage_hubspot.rules import DAILY_WAIT, TIMING, Rules

CONFIG = """
store = "engage.db"
internal_domains = ["ourco.com"]

[sync]
retry_wait = 0  # were it retried in the run, it would be at once

[sources.crm]
plugin = "hubspot"
base_url = "{url}"
searches_per_second = 1000
requests_per_10s = 10000
"""


@pytest.fixture
def project(tmp_path: Path, fake: FakeHubSpot, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "engage.toml").write_text(CONFIG.format(url=fake.url))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HUBSPOT_TOKEN", fake.token)
    for name in ("ENGAGE_CONFIG", "ENGAGE_LOAD_PLUGINS", "ENGAGE_DISABLE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_the_daily_limit_asks_a_wait_past_any_run(fake: FakeHubSpot) -> None:
    """One request, no retry in the client; the error asks to wait until the reset could
    have come (a day: the account's time zone is unknown), past [sync] max_retry_wait's
    most (an hour)."""
    rules = Rules(fake.token, "HUBSPOT_TOKEN", TIMING)
    client = HttpClient(fake.url, name="HubSpot", classify=rules.classify, secrets=[fake.token])
    fake.rate_limit_next("DAILY", 1)
    with pytest.raises(RetriesExhausted, match="daily API limit") as info:
        client.get_json("/crm/v3/owners")
    assert len(fake.requests) == 1
    assert info.value.status == 429 and info.value.retry_after == DAILY_WAIT
    assert is_retriable(info.value) and asked_wait(info.value) == DAILY_WAIT > 3600
    assert fake.token not in str(info.value)


def test_a_sync_meeting_the_daily_limit_leaves_it_to_the_next_run_and_says_why(
    fake: FakeHubSpot, project: Path
) -> None:
    """The pull's first request meets DAILY: not pulled again in this run (with retry_wait
    = 0 it would have been, at once, and the fake would have answered), exit 75, and the
    summary names the daily limit and why it was not tried again."""
    seed(fake)
    fake.rate_limit_next("DAILY", 1)
    result = CliRunner().invoke(cli, ["sync", "--no-push", "--json"])
    assert result.exit_code == EXIT_TEMPFAIL, result.stderr
    crm = json.loads(result.stdout)["sources"]["crm"]
    assert (crm["attempts"], crm["retriable"], crm["records"]) == (1, True, 0)
    assert "daily API limit is used up" in crm["messages"][-1]
    assert "86400 s" in crm["not_retried"] and "max_retry_wait" in crm["not_retried"]
    assert len(fake.requests) == 1

    fake.rate_limit_next("DAILY", 1)
    shown = CliRunner().invoke(cli, ["sync", "--no-push"])
    assert shown.exit_code == EXIT_TEMPFAIL
    assert "resets at midnight in the account's time zone" in shown.stdout
    assert "not tried again in this run: it asked to wait 86400 s" in shown.stdout
    assert len(fake.requests) == 2

    after = CliRunner().invoke(cli, ["sync", "--no-push"])  # the limit has reset
    assert after.exit_code == 0, after.stderr
