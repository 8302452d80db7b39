"""What runners sharing a store record: each source's latest pull, run marks and claims."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engage.errors import LockedError
from engage.store import SourcePull, Store, open_store

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 2, 9, 5, tzinfo=UTC)


def test_a_source_pull_is_saved_as_its_latest(store: Store) -> None:
    assert store.source_pulls() == {}
    store.record_pull(SourcePull("mail", "host-a:1", T0))
    assert store.source_pulls() == {"mail": SourcePull("mail", "host-a:1", T0)}
    store.record_pull(SourcePull("mail", "host-a:1", T0, T1, "mail: 503 from the server"))
    store.record_pull(SourcePull("crm", "host-b:7", T0, T1))
    assert store.source_pulls() == {
        "mail": SourcePull("mail", "host-a:1", T0, T1, "mail: 503 from the server"),
        "crm": SourcePull("crm", "host-b:7", T0, T1),
    }


def test_a_run_mark_is_kept_by_kind(store: Store) -> None:
    assert store.run_mark("planning") is None
    store.set_run_mark("planning", T0)
    store.set_run_mark("planning", T1)
    assert store.run_mark("planning") == T1


def test_a_claim_is_taken_by_one_at_a_time_and_ends_with_its_block(
    store: Store, store_target: str
) -> None:
    other = open_store(store_target)  # another runner, on the same store
    try:
        with store.claim("source:mail") as taken:
            assert taken
            with other.claim("source:mail") as again, other.claim("source:crm") as crm:
                assert not again  # held by the first runner
                assert crm  # another job is free
        with other.claim("source:mail") as taken_after:
            assert taken_after
    finally:
        other.close()


def test_runners_share_the_store_only_where_it_takes_several(
    store: Store, store_target: str
) -> None:
    other = open_store(store_target)
    try:
        with store.runner_lock():
            if store.concurrent_runners:
                with other.runner_lock():  # a second sync runs beside the first
                    pass
                with pytest.raises(LockedError), other.lock():  # a copy waits for both
                    pass
            else:
                busy = pytest.raises(LockedError, match="another engage sync is running")
                with busy, other.runner_lock():
                    pass
        with other.lock(), pytest.raises(LockedError), store.runner_lock():
            pass  # no sync while a copy or migration holds it
    finally:
        other.close()
