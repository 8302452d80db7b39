"""The Gmail API source tells a progress that takes totals how many messages to expect, at no
extra request: the list's ``resultSizeEstimate`` on a first sync, the history's reads after."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fake_gmail import FakeGmail, rough_estimate
from gmail_kit import NOW, Recorder, SizedRecorder, api_source

from engage.testing import Pull

CUSTOMER = "Jane Roe <jane@acme.com>"
US = "carol@ourco.com"


@pytest.fixture
def fake() -> Iterator[FakeGmail]:
    with FakeGmail(US) as gmail:
        yield gmail


def mail(fake: FakeGmail, n: int, days_ago: int = 3) -> list[str]:
    return [
        fake.add(CUSTOMER, US, f"Question {i}", date=NOW - timedelta(days=days_ago, minutes=i))
        for i in range(n)
    ]


def calls(fake: FakeGmail) -> Counter[str]:
    """The API requests made, by the last part of their path (``batch`` once per batch)."""
    return Counter(
        "batch" if r.path.startswith("/batch/") else r.path.rsplit("/", 1)[-1]
        for r in fake.server.requests
        if "/token" not in r.path
    )


def test_fake_estimate_is_an_estimate() -> None:
    """The fake's resultSizeEstimate, like Gmail's, is not a count: rounded, above or below."""
    assert [rough_estimate(n) for n in (0, 7, 99, 620, 1234, 1250, 98765)] == [
        0,
        7,
        99,
        620,
        1200,
        1300,
        99000,
    ]


def test_first_sync_expects_the_list_estimate(fake: FakeGmail, tmp_path: Path) -> None:
    """A first sync expects the first page's estimate while more pages follow, then exactly
    what the list held once its last page is in; the messages counted match."""
    mail(fake, 620)
    fake.estimate = lambda n: n + 80
    progress = SizedRecorder()
    Pull.run(api_source(fake, tmp_path, progress=progress))
    assert progress.totals == [("messages", 700), ("messages", 620)]
    assert progress.counts["messages"] == 620
    # No request for the total: one profile, one sendAs, two list pages, 13 batches of <= 50.
    assert calls(fake) == Counter(profile=1, sendAs=1, messages=2, batch=13)


def test_an_estimate_below_what_is_listed_is_raised(fake: FakeGmail, tmp_path: Path) -> None:
    """An estimate smaller than a full page already listed never lets the count pass the total."""
    mail(fake, 620)
    fake.estimate = lambda n: 100
    progress = SizedRecorder()
    Pull.run(api_source(fake, tmp_path, progress=progress))
    assert progress.totals == [("messages", 501), ("messages", 620)]
    assert progress.counts["messages"] == 620


def test_a_single_page_is_counted_exactly(fake: FakeGmail, tmp_path: Path) -> None:
    """One page holds the whole list: its length is the total, whatever the estimate says."""
    mail(fake, 3)
    fake.estimate = lambda n: 40
    progress = SizedRecorder()
    Pull.run(api_source(fake, tmp_path, progress=progress))
    assert progress.totals == [("messages", 3)]
    assert progress.counts["messages"] == 3


def test_history_sync_expects_the_messages_its_records_add(fake: FakeGmail, tmp_path: Path) -> None:
    """A history sync expects the messages to read (not those marked spam, which are withdrawn
    unread, nor those skipped as spam) and makes no request for it."""
    old = mail(fake, 2)
    first = Pull.run(api_source(fake, tmp_path))
    mail(fake, 4, days_ago=0)
    fake.add(CUSTOMER, US, "Junk", date=NOW, labels=("SPAM",))
    fake.relabel(old[0], "SPAM")
    fake.server.requests.clear()
    progress = SizedRecorder()
    Pull.run(api_source(fake, tmp_path, progress=progress), first.cursor)
    assert progress.totals == [("messages", 4)]
    assert progress.counts["messages"] == 4
    assert calls(fake)["messages"] == 0
    assert calls(fake)["history"] == 1


def test_a_plain_progress_is_only_advanced(fake: FakeGmail, tmp_path: Path) -> None:
    """A progress without ``total`` is counted as before, with the same requests."""
    mail(fake, 3)
    progress = Recorder()
    Pull.run(api_source(fake, tmp_path, progress=progress))
    assert progress.counts["messages"] == 3
    assert calls(fake) == Counter(profile=1, sendAs=1, messages=1, batch=1)
