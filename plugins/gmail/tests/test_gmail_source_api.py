"""The Gmail API source against the fake Gmail: first sync, history, fallback, quotas and failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fake_gmail import FakeGmail
from fake_oauth import REFRESH_TOKEN
from gmail_kit import NOW, api_source

from engage.adapters import Retire
from engage.errors import ConfigError, EngageError
from engage.http import AuthError, RetriesExhausted, RetryPolicy
from engage.models import Channel, Direction, Touchpoint
from engage.testing import Pull, ids
from engage_gmail.gmail_api import QuotaLimiter

CUSTOMER = "Jane Roe <jane@acme.com>"
US = "carol@ourco.com"


@pytest.fixture
def fake() -> Iterator[FakeGmail]:
    with FakeGmail(US) as gmail:
        yield gmail


def mail(fake: FakeGmail, n: int, days_ago: int = 3, **kwargs: object) -> list[str]:
    return [
        fake.add(
            CUSTOMER, US, f"Question {i}", date=NOW - timedelta(days=days_ago, minutes=i), **kwargs
        )  # type: ignore[arg-type]
        for i in range(n)
    ]


def test_first_sync_reads_the_lookback_window_through_batches(
    fake: FakeGmail, tmp_path: Path
) -> None:
    """The first sync lists after:<now - lookback>, reads metadata in batches and saves a cursor."""
    recent = mail(fake, 3)
    fake.add(CUSTOMER, US, "Ancient", date=NOW - timedelta(days=400))
    result = Pull.run(api_source(fake, tmp_path))
    assert ids(result.touchpoints) == sorted(recent)
    touchpoint = result.touchpoints[0]
    assert (touchpoint.customer, touchpoint.direction, touchpoint.channel) == (
        "acme.com",
        Direction.INBOUND,
        Channel.EMAIL,
    )
    assert touchpoint.message_id == f"{touchpoint.external_id}@mail.example"
    listed = [r for r in fake.server.requests if r.path.endswith("/messages")]
    assert listed[0].arg("q") == f"after:{int((NOW - timedelta(days=365)).timestamp())}"
    assert json.loads(result.cursor or "")["phase"] == "history"
    assert not [r for r in fake.server.requests if "/messages/" in r.path]  # only via batch


def test_history_id_is_taken_before_listing(fake: FakeGmail, tmp_path: Path) -> None:
    """The cursor holds the historyId of getProfile, called before messages.list."""
    mail(fake, 2)
    before = str(fake.history_id)
    result = Pull.run(api_source(fake, tmp_path))
    paths = [r.path.rsplit("/", 1)[-1] for r in fake.server.requests if "/users/" in r.path]
    assert paths.index("profile") < paths.index("messages")
    assert json.loads(result.cursor or "")["history_id"] == before


def test_incremental_sync_reads_history_only(fake: FakeGmail, tmp_path: Path) -> None:
    """A later sync reads history.list (messages added, labels changed) from the saved id and
    lists nothing; a label that is not spam or trash changes nothing."""
    mail(fake, 2)
    source = api_source(fake, tmp_path)
    first = Pull.run(source)
    new = fake.add(CUSTOMER, US, "Follow-up", date=NOW)
    fake.relabel(new, "IMPORTANT")
    fake.server.requests.clear()
    second = Pull.run(api_source(fake, tmp_path), first.cursor)
    assert ids(second.touchpoints) == [new]
    [history] = [r for r in fake.server.requests if r.path.endswith("/history")]
    assert history.arg("startHistoryId") == json.loads(first.cursor or "")["history_id"]
    assert history.query["historyTypes"] == ["messageAdded", "labelAdded", "labelRemoved"]
    assert not [r for r in fake.server.requests if r.path.endswith("/messages")]
    assert json.loads(second.cursor or "")["history_id"] == str(fake.history_id)
    assert ids(Pull.run(api_source(fake, tmp_path), second.cursor).touchpoints) == []


def test_mail_moved_out_of_spam_is_read_at_the_next_sync(fake: FakeGmail, tmp_path: Path) -> None:
    """A message that arrived in spam was skipped; once the user moves it out, it counts."""
    first = Pull.run(api_source(fake, tmp_path))
    misfiled = fake.add(CUSTOMER, US, "Renewal question", date=NOW, labels=("SPAM",))
    second = Pull.run(api_source(fake, tmp_path), first.cursor)
    assert second.touchpoints == []
    fake.unlabel(misfiled, "SPAM")
    fake.relabel(misfiled, "INBOX")
    third = Pull.run(api_source(fake, tmp_path), second.cursor)
    assert ids(third.touchpoints) == [misfiled]


def test_mail_marked_as_spam_after_it_was_read_is_withdrawn(
    fake: FakeGmail, tmp_path: Path
) -> None:
    """Marking a message as spam withdraws its touchpoints, one per customer it named; moving
    one to the bin does not (the exchange happened)."""
    pitch = fake.add("Sam Lee <sam@shop.com>", US, "Offer", date=NOW)
    merge = fake.add(US, ["sam@shop.com", "ann@beta.com"], "Mail merge", date=NOW)
    binned = fake.add(CUSTOMER, US, "Old thread", date=NOW)
    first = Pull.run(api_source(fake, tmp_path))
    merge_ids = sorted(t.external_id for t in first.touchpoints if t.external_id.startswith(merge))
    assert merge_ids == [f"{merge}/beta.com", f"{merge}/shop.com"]
    for junk in (pitch, merge):
        fake.relabel(junk, "SPAM")
    fake.relabel(binned, "TRASH")
    second = Pull.run(api_source(fake, tmp_path), first.cursor)
    retired = sorted(r.id for r in second.of(Retire))
    assert retired == sorted({pitch, merge, *merge_ids})
    assert second.touchpoints == []


def test_expired_history_falls_back_to_a_list_sync_without_duplicates(
    fake: FakeGmail, tmp_path: Path
) -> None:
    """A 404 for the saved historyId lists again from a day before the last seen date; ids stay stable."""
    older = fake.add(CUSTOMER, US, "Twenty days ago", date=NOW - timedelta(days=20))
    old = fake.add(CUSTOMER, US, "Ten days ago", date=NOW - timedelta(days=10))
    first = Pull.run(api_source(fake, tmp_path))
    assert ids(first.touchpoints) == sorted([older, old])
    fake.expire_history()
    newer = fake.add(CUSTOMER, US, "After the gap", date=NOW - timedelta(hours=1))
    source = api_source(fake, tmp_path)
    second = Pull.run(source, first.cursor)
    assert ids(second.touchpoints) == sorted([old, newer])  # a day of overlap, same ids
    assert source.counts["history expired"] == 1
    last_seen = int(fake.messages[old]["internalDate"]) // 1000
    listed = [r for r in fake.server.requests if r.path.endswith("/messages")][-1]
    assert listed.arg("q") == f"after:{last_seen - 86400}"
    third = Pull.run(api_source(fake, tmp_path), second.cursor)
    assert third.touchpoints == []
    assert json.loads(third.cursor or "")["phase"] == "history"


def test_fallback_overlap_yields_same_ids(fake: FakeGmail, tmp_path: Path) -> None:
    """Messages read again after a fallback keep their external ids (the store upserts them)."""
    recent = mail(fake, 2, days_ago=0)
    first = Pull.run(api_source(fake, tmp_path))
    fake.expire_history()
    second = Pull.run(api_source(fake, tmp_path), first.cursor)
    assert ids(second.touchpoints) == ids(first.touchpoints) == sorted(recent)


def test_batches_hold_at_most_50_calls_and_map_content_ids(fake: FakeGmail, tmp_path: Path) -> None:
    """120 messages take three batches (50, 50, 20) with each answer matched by Content-ID."""
    made = mail(fake, 120)
    source = api_source(fake, tmp_path)
    result = Pull.run(source)
    assert fake.batch_sizes == [50, 50, 20]
    assert ids(result.touchpoints) == sorted(made)
    subjects = {t.external_id: t.subject for t in result.touchpoints}
    assert all(subjects[m] == f"Question {n}" for n, m in enumerate(made))
    assert len(result.checkpoints) == 4  # after each batch, then the switch to history


def test_a_resumed_listing_reads_its_page_again_from_the_start(
    fake: FakeGmail, tmp_path: Path
) -> None:
    """A cursor saved mid-page resumes that page from its start: a deletion cannot make it skip mail."""
    mail(fake, 120)
    items = api_source(fake, tmp_path).pull(None)
    first_cursor = None
    for item in items:
        if hasattr(item, "cursor"):
            first_cursor = item.cursor
            break
    state = json.loads(first_cursor or "")
    assert (state["phase"], state["skip"]) == ("list", 50)
    done = [r for r in fake.inner_requests]
    fake.messages.pop(done[0].path.rsplit("/", 1)[-1])  # deleted meanwhile
    rest = Pull.run(api_source(fake, tmp_path), first_cursor)
    assert len(rest.touchpoints) == 119


def test_a_saved_page_token_gmail_refuses_lists_again_from_the_first_page(
    fake: FakeGmail, tmp_path: Path
) -> None:
    """A list cursor whose page token Gmail no longer takes (400) reads the list from its
    first page: nothing is skipped, and the sync goes on to history."""
    made = mail(fake, 3)
    first = Pull.run(api_source(fake, tmp_path)).cursor
    state = {**json.loads(first or ""), "phase": "list", "page": "not-a-token", "skip": 0}
    state["after"] = int((NOW - timedelta(days=30)).timestamp())
    fake.server.requests.clear()
    again = Pull.run(api_source(fake, tmp_path), json.dumps(state))
    assert ids(again.touchpoints) == sorted(made)
    listed = [r.arg("pageToken") for r in fake.server.requests if r.path.endswith("/messages")]
    assert listed == ["not-a-token", None]
    assert json.loads(again.cursor or "")["phase"] == "history"


def test_a_call_tried_again_reserves_its_units_again(fake: FakeGmail, tmp_path: Path) -> None:
    """The quota is reserved on every try (a failed try may cost what a good one does); a
    batch never costs more than the quota's whole window, so it is made smaller to fit."""
    mail(fake, 30)
    clock = [0.0]
    quota = QuotaLimiter(
        100, clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s)
    )
    fake.fail_next(503)  # the profile, tried twice
    Pull.run(api_source(fake, tmp_path, quota=quota))
    assert quota.spent == fake.units[US] + 1
    assert fake.batch_sizes == [20, 10]  # 100 units a minute: 20 reads of 5 at the most


def test_spam_trash_and_drafts_are_skipped(fake: FakeGmail, tmp_path: Path) -> None:
    """SPAM and TRASH are not listed; a DRAFT is read but skipped, in history too."""
    keep = mail(fake, 1)
    fake.add(CUSTOMER, US, "Cheap pills", date=NOW - timedelta(days=1), labels=["SPAM"])
    fake.add(CUSTOMER, US, "Deleted", date=NOW - timedelta(days=1), labels=["TRASH"])
    fake.add(US, CUSTOMER, "Unsent", date=NOW - timedelta(days=1), labels=["DRAFT"])
    source = api_source(fake, tmp_path)
    first = Pull.run(source)
    assert ids(first.touchpoints) == keep
    assert source.counts["skipped spam/trash/draft"] == 1
    fake.add(US, CUSTOMER, "Another draft", date=NOW, labels=["DRAFT"])
    later = api_source(fake, tmp_path)
    assert Pull.run(later, first.cursor).touchpoints == []
    assert later.counts["skipped spam/trash/draft"] == 1


def test_automated_mail_is_counted_not_stored(fake: FakeGmail, tmp_path: Path) -> None:
    """Newsletters, no-reply senders and auto-replies are skipped and counted on the progress."""
    fake.add(
        "News <news@acme.com>", US, "Weekly", headers={"List-Unsubscribe": "<mailto:u@acme.com>"}
    )
    fake.add("noreply@acme.com", US, "Your invoice")
    fake.add(CUSTOMER, US, "Out of office", headers={"Auto-Submitted": "auto-replied"})
    keep = fake.add(CUSTOMER, US, "A real question")
    source = api_source(fake, tmp_path, lookback_days=3650)
    assert ids(Pull.run(source).touchpoints) == [keep]
    assert source.counts["skipped automated"] == 3
    assert source.context.progress.counts["skipped automated"] == 3  # type: ignore[attr-defined]


def test_mail_dated_after_the_clock_is_a_problem_naming_it(fake: FakeGmail, tmp_path: Path) -> None:
    """A message dated (and received) days after the source's clock is a problem naming its
    Gmail id and date, not a touchpoint; the rest lands."""
    keep = mail(fake, 1)
    ahead = fake.add(CUSTOMER, US, "Typo in the year", date=NOW + timedelta(days=2))
    result = Pull.run(api_source(fake, tmp_path))
    assert ids(result.touchpoints) == keep
    assert result.problems == [
        f"gmail message {ahead}: Date: in the future (got 'Sun, 22 Nov 2026 12:00:00 +0000')"
    ]


def test_outbound_mail_is_owned_by_the_mailbox_owner(fake: FakeGmail, tmp_path: Path) -> None:
    """Mail from the owner to a customer is outbound with owner = the owner's address."""
    sent = fake.add(f"Carol <{US}>", CUSTOMER, "Re: Question", labels=["SENT"])
    [touchpoint] = Pull.run(api_source(fake, tmp_path, lookback_days=3650)).touchpoints
    assert (touchpoint.external_id, touchpoint.direction, touchpoint.owner) == (
        sent,
        Direction.OUTBOUND,
        US,
    )
    assert touchpoint.contact_email == "jane@acme.com"


def test_an_access_token_expiring_mid_sync_is_refreshed(fake: FakeGmail, tmp_path: Path) -> None:
    """When the access token dies between batches, the next call refreshes it and the pull goes on."""
    made = mail(fake, 120)
    items = api_source(fake, tmp_path).pull(None)
    seen = []
    for item in items:
        seen.append(item)
        if hasattr(item, "cursor"):
            break
    fake.oauth.expire_access_tokens()
    seen.extend(items)
    assert ids(t for t in seen if isinstance(t, Touchpoint)) == sorted(made)
    assert fake.oauth.refreshes == 2


def test_send_as_aliases_are_us(fake: FakeGmail, tmp_path: Path) -> None:
    """Mail sent from one of the owner's send-as aliases is outbound, not a customer of its own."""
    fake.aliases = ["carol@ourco.io"]
    fake.add("Carol <carol@ourco.io>", CUSTOMER, "From my alias", labels=["SENT"])
    [touchpoint] = Pull.run(api_source(fake, tmp_path, lookback_days=3650)).touchpoints
    assert (touchpoint.customer, touchpoint.direction) == ("acme.com", Direction.OUTBOUND)


def test_rate_limit_and_server_error_storms_recover(fake: FakeGmail, tmp_path: Path) -> None:
    """429s, 403 rateLimitExceeded and 5xx, on requests and inside batches, are retried to success."""
    made = mail(fake, 60)
    fake.fail_next(429, body={"error": {"code": 429, "message": "slow down"}})
    fake.fail_next(503)
    fake.fail_parts(503, 3)
    fake.fail_parts(403, 2, reason="userRateLimitExceeded")
    fake.fail_parts(429, 1, reason="rateLimitExceeded")
    source = api_source(fake, tmp_path)
    assert ids(Pull.run(source).touchpoints) == sorted(made)


def test_user_rate_limit_403_is_a_slow_down(fake: FakeGmail, tmp_path: Path) -> None:
    """A 403 userRateLimitExceeded is retried (not taken as a refusal) and the pull finishes."""
    made = mail(fake, 5)
    fake.fail_next(
        403,
        body={
            "error": {
                "code": 403,
                "message": "User-rate limit exceeded",
                "errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded"}],
            }
        },
    )
    assert ids(Pull.run(api_source(fake, tmp_path)).touchpoints) == sorted(made)


def test_the_source_spends_units_like_gmail_counts_them(fake: FakeGmail, tmp_path: Path) -> None:
    """The quota limiter counts what Gmail charges (profile 1, list 5, get 5) and waits when full."""
    made = mail(fake, 30)
    clock = [0.0]
    quota = QuotaLimiter(
        100, clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s)
    )
    source = api_source(fake, tmp_path, quota=quota)
    assert ids(Pull.run(source).touchpoints) == sorted(made)
    assert quota.spent == fake.units[US] == 1 + 1 + 5 + 30 * 5
    assert clock[0] >= 60.0  # 156 units at 100 a minute: it had to wait a window


def test_persistent_outage_fails_clearly_and_keeps_the_cursor(
    fake: FakeGmail, tmp_path: Path
) -> None:
    """When 5xx never stops, the pull fails with a clear error and no checkpoint moved on."""
    mail(fake, 2)
    first = Pull.run(api_source(fake, tmp_path))
    fake.add(CUSTOMER, US, "Lost?", date=NOW)
    fake.fail_next(503, count=50)
    before, error = Pull.until_error(api_source(fake, tmp_path), first.cursor)
    assert isinstance(error, RetriesExhausted)
    assert "Gmail: GET /gmail/v1/users/me/" in str(error) and "failed 4 times" in str(error)
    assert "Nothing was changed; the next run tries again" in str(error)
    assert before.cursor == first.cursor
    fake.api_faults.clear()
    assert len(Pull.run(api_source(fake, tmp_path), first.cursor).touchpoints) == 1


def test_batch_parts_that_keep_failing_fail_the_pull(fake: FakeGmail, tmp_path: Path) -> None:
    """Inner calls that fail on every try end in RetriesExhausted; nothing is checkpointed."""
    mail(fake, 3)
    fake.fail_parts(500, 100)
    before, error = Pull.until_error(api_source(fake, tmp_path))
    assert isinstance(error, RetriesExhausted)
    assert "message reads in a batch failed 4 times" in str(error)
    assert before.cursor is None and before.touchpoints == []


def test_tokens_never_appear_in_errors(fake: FakeGmail, tmp_path: Path) -> None:
    """A revoked grant is one clear AuthError without the refresh token or client secret."""
    fake.oauth.revoke()
    _, error = Pull.until_error(api_source(fake, tmp_path))
    assert isinstance(error, AuthError)
    assert "invalid_grant" in str(error)
    assert REFRESH_TOKEN not in str(error) and "GOCSPX" not in str(error)


def test_tokens_echoed_by_the_server_are_redacted(fake: FakeGmail, tmp_path: Path) -> None:
    """An error body that echoes the refresh token shows *** instead."""
    fake.fail_next(500, count=10, body={"error": {"message": f"echo {REFRESH_TOKEN}"}})
    _, error = Pull.until_error(api_source(fake, tmp_path))
    assert REFRESH_TOKEN not in str(error)
    assert "echo ***" in str(error)


def test_a_missing_scope_is_one_clear_error(tmp_path: Path) -> None:
    """Credentials without a read scope give an AuthError naming the README."""
    with FakeGmail(US, scopes=("https://www.googleapis.com/auth/tasks",)) as fake:
        _, error = Pull.until_error(api_source(fake, tmp_path))
    assert isinstance(error, AuthError)
    assert "lack a scope" in str(error)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"mbox": "x.mbox"}, "not both"),
        ({"credentials_file": None}, "say where the mail is"),
        ({"lookback_days": 0}, "whole number ≥ 1"),
    ],
)
def test_configuration_errors(
    fake: FakeGmail, tmp_path: Path, given: dict[str, object], message: str
) -> None:
    """Exactly one of credentials_file and mbox; a positive look-back."""
    options = {k: v for k, v in given.items() if v is not None}
    if "credentials_file" in given:
        from gmail_kit import context

        from engage.adapters import resolve_options
        from engage_gmail.sources import GmailSource

        with pytest.raises(ConfigError, match=message):
            GmailSource(resolve_options(GmailSource.options, options, "t"), context(tmp_path))
        return
    with pytest.raises(ConfigError, match=message):
        api_source(fake, tmp_path, **options)


def test_errors_are_engage_errors(fake: FakeGmail, tmp_path: Path) -> None:
    """A failed pull raises an EngageError, which engage sync reports for the source alone."""
    fake.fail_next(503, count=10)
    _, error = Pull.until_error(
        api_source(fake, tmp_path, retry=RetryPolicy(attempts=2, base_delay=0.001))
    )
    assert isinstance(error, EngageError)
