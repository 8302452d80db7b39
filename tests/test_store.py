"""The SQLite store: upserts, retirement, cursors, transactions, ledger, lock and file handling."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engage.adapters import Problem, PushResult, Retire
from engage.errors import LockedError, StoreError, ValidationError
from engage.models import Contact, Customer, Owner, Touchpoint
from engage.settings import ScoringSettings
from engage.store import Store, open_store
from engage.store.base import LedgerStatus, WriteCounts
from engage.store.sqlite import CHUNK, SQLiteStore, open_sqlite
from engage.store.sqlite_schema import SCHEMA_VERSION
from engage.testing import make_task
from tests.conftest import Backend

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def tp(external_id: str, customer: str = "acme.com", **fields: object) -> Touchpoint:
    """A touchpoint from the csv source with sensible defaults."""
    values: dict[str, object] = {
        "occurred_at": T0,
        "channel": "email",
        "direction": "inbound",
        "contact_email": "jo@acme.com",
        "owner": "bob",
    }
    values.update(fields)
    return Touchpoint("csv", external_id, customer, **values)  # type: ignore[arg-type]


def write(store: Store, records: list[object], source: str = "csv") -> WriteCounts:
    with store.transaction():
        return store.write(records, source)  # type: ignore[arg-type]


def row(store: Store, sql: str, *params: object) -> tuple[object, ...]:
    return tuple(store.conn.execute(sql, params).fetchone())  # type: ignore[attr-defined]


# -- upserts -------------------------------------------------------------------------------


def test_writing_the_same_touchpoints_twice_changes_nothing(store: Store) -> None:
    """Re-pulling identical touchpoints reports them unchanged and adds no rows."""
    records = [tp(str(i), occurred_at=T0 + timedelta(hours=i)) for i in range(10)]
    assert write(store, records) == WriteCounts(inserted=10)
    assert write(store, records) == WriteCounts(unchanged=10)
    assert store.touchpoint_count() == 10


def test_a_changed_field_is_an_update(store: Store) -> None:
    """A touchpoint whose subject changed is updated in place."""
    write(store, [tp("1", subject="Hello")])
    assert write(store, [tp("1", subject="Re: Hello"), tp("2")]) == WriteCounts(1, 1, 0)
    assert row(store, "SELECT subject FROM touchpoints WHERE external_id = '1'") == ("Re: Hello",)
    assert store.touchpoint_count() == 2


def test_duplicates_within_one_batch_apply_in_order(store: Store) -> None:
    """The last of several versions of one record in a batch wins; each version is counted."""
    counts = write(store, [tp("1", subject="a"), tp("1", subject="b"), tp("1", subject="b")])
    assert counts == WriteCounts(inserted=1, updated=1, unchanged=1)
    assert row(store, "SELECT subject FROM touchpoints") == ("b",)


def test_batches_larger_than_a_chunk_are_counted_exactly(store: Store) -> None:
    """Counts stay exact across chunk boundaries."""
    records = [tp(str(i)) for i in range(CHUNK * 2 + 7)]
    assert write(store, records) == WriteCounts(inserted=CHUNK * 2 + 7)
    changed = [tp(str(i), subject="x") if i % 3 == 0 else tp(str(i)) for i in range(CHUNK * 2 + 7)]
    updated = len(range(0, CHUNK * 2 + 7, 3))
    assert write(store, changed) == WriteCounts(updated=updated, unchanged=CHUNK * 2 + 7 - updated)


def test_touchpoints_of_different_sources_are_different_touchpoints(store: Store) -> None:
    """The key is (source, external_id), so equal ids from two sources both stay."""
    write(store, [tp("1"), Touchpoint("crm", "1", "acme.com", T0, "call", "outbound")])
    assert store.touchpoint_count() == 2
    assert store.touchpoint_count("crm") == 1
    assert store.touchpoint_count("gmail") == 0


def test_none_never_erases_what_the_store_knows(store: Store) -> None:
    """Fields a record leaves None keep their stored values, for every kind of record."""
    write(
        store,
        [
            Customer("acme.com", name="Acme", segment="enterprise", owner="bob", first_seen=T0),
            Contact("jo@acme.com", "acme.com", name="Jo"),
            Owner("bob", email="bob@ourco.com", name="Bob"),
            tp("1", subject="Hi", feedback=0.8, message_id="<m1>"),
        ],
    )
    counts = write(
        store,
        [
            Customer("acme.com"),
            Contact("jo@acme.com", "acme.com"),
            Owner("bob"),
            tp("1", contact_email=None, owner=None),
        ],
    )
    assert counts == WriteCounts(unchanged=4)
    assert row(store, "SELECT name, segment, owner, first_seen FROM customers") == (
        "Acme",
        "enterprise",
        "bob",
        int(T0.timestamp() * 1_000_000),
    )
    assert row(store, "SELECT name FROM contacts") == ("Jo",)
    assert row(store, "SELECT email, name FROM owners") == ("bob@ourco.com", "Bob")
    assert row(
        store, "SELECT contact_email, owner, subject, feedback, message_id FROM touchpoints"
    ) == ("jo@acme.com", "bob", "Hi", 0.8, "<m1>")


def test_owner_active_always_follows_the_record(store: Store) -> None:
    """Owner.active is not optional: the latest record sets it."""
    write(store, [Owner("bob", active=False)])
    assert write(store, [Owner("bob")]) == WriteCounts(updated=1)
    assert row(store, "SELECT active FROM owners") == (1,)


def test_unknown_open_work_never_erases_running_work(store: Store) -> None:
    """A source that does not know about running work (None) leaves what another source said."""
    write(store, [Customer("acme.com", open_work=True)])
    assert write(store, [Customer("acme.com")]) == WriteCounts(unchanged=1)
    assert row(store, "SELECT open_work FROM customers") == (1,)
    assert write(store, [Customer("acme.com", open_work=False)]) == WriteCounts(updated=1)
    assert row(store, "SELECT open_work FROM customers") == (0,)


def test_customer_attributes_are_merged(store: Store) -> None:
    """New attribute keys are added and changed ones replaced; absent keys stay."""
    write(store, [Customer("acme.com", attributes={"plan": "pro", "seats": 10})])
    assert write(store, [Customer("acme.com", attributes={"plan": "pro"})]) == WriteCounts(
        unchanged=1
    )
    write(store, [Customer("acme.com", attributes={"seats": 12, "region": "eu"})])
    (facts,) = store.facts(T0, ScoringSettings())
    assert dict(facts.customer.attributes) == {"plan": "pro", "seats": 12, "region": "eu"}


def test_a_touchpoint_creates_its_unknown_customer_owner_and_contact(store: Store) -> None:
    """Implied records are created with what the touchpoint knows, and not counted."""
    assert write(store, [tp("1")]) == WriteCounts(inserted=1)
    assert store.customer_count() == 1
    assert row(store, "SELECT key, name, open_work FROM customers") == ("acme.com", None, 0)
    assert row(store, "SELECT id, active FROM owners") == ("bob", 1)
    assert row(store, "SELECT email, customer, name FROM contacts") == (
        "jo@acme.com",
        "acme.com",
        None,
    )


def test_implied_records_never_overwrite_known_ones(store: Store) -> None:
    """A touchpoint leaves an existing customer, gone owner and contact as they are."""
    write(
        store,
        [
            Customer("acme.com", name="Acme"),
            Owner("bob", active=False),
            Contact("jo@acme.com", "acme.co.uk", name="Jo"),
        ],
    )
    write(store, [tp("1")])
    assert row(store, "SELECT name FROM customers") == ("Acme",)
    assert row(store, "SELECT active FROM owners") == (0,)
    assert row(store, "SELECT customer, name FROM contacts") == ("acme.co.uk", "Jo")


def test_records_in_one_batch_are_counted_as_given(store: Store) -> None:
    """A customer record after its touchpoint in one batch still counts as inserted."""
    counts = write(store, [tp("1"), Customer("acme.com", name="Acme"), Owner("bob", name="Bob")])
    assert counts == WriteCounts(inserted=3)
    assert row(store, "SELECT name FROM customers") == ("Acme",)


def test_write_refuses_what_is_not_a_record(store: Store) -> None:
    """Anything but records and Retire is a programming error, and nothing is written."""
    with pytest.raises(TypeError, match="Problem"):
        write(store, [tp("1"), Problem("x")])
    assert store.touchpoint_count() == 0


# -- retirement ----------------------------------------------------------------------------


def test_retire_touchpoint_deletes_it_from_that_source_only(store: Store) -> None:
    """Retiring a touchpoint removes the one with that external id from the writing source."""
    write(store, [tp("1"), tp("2")])
    write(store, [Touchpoint("crm", "1", "acme.com", T0, "call", "outbound")], source="crm")
    assert write(store, [Retire("touchpoint", "1")]) == WriteCounts(retired=1)
    assert store.touchpoint_count("csv") == 1
    assert store.touchpoint_count("crm") == 1
    assert write(store, [Retire("touchpoint", "1")]) == WriteCounts()


def test_retire_owner_marks_them_gone(store: Store) -> None:
    """A retired owner stays known but inactive."""
    write(store, [Owner("bob", name="Bob")])
    assert write(store, [Retire("owner", "bob")]) == WriteCounts(retired=1)
    assert row(store, "SELECT name, active FROM owners") == ("Bob", 0)
    assert write(store, [Retire("owner", "bob")]) == WriteCounts()


def test_retire_contact_deletes_the_row_but_keeps_touchpoints(store: Store) -> None:
    """A retired contact disappears; their touchpoints stay."""
    write(store, [tp("1"), Contact("al@acme.com", "acme.com")])
    counts = write(store, [Retire("contact", "JO@acme.com ")])
    assert counts == WriteCounts(retired=1)
    assert row(store, "SELECT count(*) FROM contacts") == (1,)
    assert store.touchpoint_count() == 1


def test_retire_customer_only_when_nothing_else_knows_it(store: Store) -> None:
    """A customer with touchpoints (from any source) outlives one source's archive; a bare one goes."""
    write(store, [tp("1"), Customer("globex.com", name="Globex")])
    counts = write(store, [Retire("customer", "acme.com"), Retire("customer", "globex.com")])
    assert counts == WriteCounts(retired=1)
    assert [f.key for f in store.facts(T0, ScoringSettings())] == ["acme.com"]


def test_retire_applies_after_the_records_before_it(store: Store) -> None:
    """A record written, retired and written again in one stream ends up present."""
    counts = write(store, [tp("1"), Retire("touchpoint", "1"), tp("2"), Retire("touchpoint", "2")])
    assert counts == WriteCounts(inserted=2, retired=2)
    assert store.touchpoint_count() == 0
    write(store, [Retire("touchpoint", "3"), tp("3")])
    assert store.touchpoint_count() == 1


def test_retire_of_an_unknown_kind_is_refused(store: Store) -> None:
    """An unknown Retire kind names the expected ones."""
    with pytest.raises(ValidationError, match="touchpoint, owner, customer, contact"):
        write(store, [Retire("deal", "1")])


# -- cursors and transactions --------------------------------------------------------------


def test_cursor_round_trip(store: Store) -> None:
    """A cursor saved for a source comes back; other sources have none."""
    assert store.get_cursor("csv") is None
    with store.transaction():
        store.set_cursor("csv", '{"offset": 10}')
    store.set_cursor("csv", '{"offset": 20}')
    assert store.get_cursor("csv") == '{"offset": 20}'
    assert store.get_cursor("crm") is None


def test_an_exception_in_a_transaction_saves_neither_records_nor_cursor(
    store: Store,
) -> None:
    """Records and their cursor commit together or not at all."""
    with pytest.raises(RuntimeError), store.transaction():
        store.write([tp("1")], "csv")
        store.set_cursor("csv", "c1")
        raise RuntimeError("source failed")
    assert store.touchpoint_count() == 0
    assert store.customer_count() == 0
    assert store.get_cursor("csv") is None


def test_a_failing_record_stream_rolls_back_the_whole_write(store: Store) -> None:
    """An exception from the records iterator undoes the records already written."""

    def records() -> Iterator[Touchpoint]:
        yield from (tp(str(i)) for i in range(CHUNK + 5))
        raise RuntimeError("network")

    with pytest.raises(RuntimeError):
        store.write(records(), "csv")
    assert store.touchpoint_count() == 0


def test_a_transaction_is_durable_for_other_connections(store_target: str) -> None:
    """Committed work is visible to a new store on the same file (or database)."""
    with open_store(store_target) as first, first.transaction():  # type: ignore[attr-defined]
        first.write([tp("1")], "csv")
        first.set_cursor("csv", "c1")
    with open_store(store_target) as second:  # type: ignore[attr-defined]
        assert second.touchpoint_count() == 1
        assert second.get_cursor("csv") == "c1"


def test_nested_transaction_rolls_back_only_the_inner_block(store: Store) -> None:
    """A nested transaction is a savepoint: its failure keeps the outer block's work."""
    with store.transaction():
        store.write([tp("1")], "csv")
        with pytest.raises(RuntimeError), store.transaction():
            store.write([tp("2")], "csv")
            raise RuntimeError
        store.set_cursor("csv", "c1")
    assert store.touchpoint_count() == 1
    assert store.get_cursor("csv") == "c1"


# -- ledger --------------------------------------------------------------------------------


def test_ledger_state_machine(store: Store) -> None:
    """pending → pushed → cleared → completed; failed retries count attempts; no downgrade."""
    store.record_intent("crm", [make_task(key="k1"), make_task(key="k2")])
    ledger = store.ledger("crm")
    assert {k: (e.status, e.attempts) for k, e in ledger.items()} == {
        "k1": (LedgerStatus.PENDING, 1),
        "k2": (LedgerStatus.PENDING, 1),
    }
    assert ledger["k1"].task == make_task(key="k1")
    assert ledger["k1"].sink == "crm"

    store.record_results("crm", [PushResult("k1", remote_id="r1"), PushResult("k2", error="409")])
    ledger = store.ledger("crm")
    assert (ledger["k1"].status, ledger["k1"].remote_id, ledger["k1"].error) == (
        "pushed",
        "r1",
        None,
    )
    assert (ledger["k2"].status, ledger["k2"].error) == ("failed", "409")

    store.record_intent("crm", [make_task(key="k1"), make_task(key="k2")])
    ledger = store.ledger("crm")
    assert (ledger["k1"].status, ledger["k1"].attempts) == ("pushed", 1)
    assert (ledger["k2"].status, ledger["k2"].attempts) == ("pending", 2)

    store.record_results("crm", [PushResult("k2", remote_id="r2"), PushResult("k1", error="x")])
    ledger = store.ledger("crm")
    assert (ledger["k2"].status, ledger["k2"].remote_id, ledger["k2"].error) == (
        "pushed",
        "r2",
        None,
    )
    assert ledger["k1"].status == "pushed"

    store.record_cleared("crm", ["k1"], completed=False)
    store.record_cleared("crm", ["k2"], completed=True)
    assert {k: e.status for k, e in store.ledger("crm").items()} == {
        "k1": "cleared",
        "k2": "completed",
    }
    store.record_intent("crm", [make_task(key="k1")])
    store.record_cleared("crm", ["k1"], completed=True)
    assert store.ledger("crm")["k1"].status == "completed"
    assert store.ledger("other") == {}


def test_record_cleared_ignores_tasks_never_pushed(store: Store) -> None:
    """Only pushed tasks can clear; a pending one stays pending."""
    store.record_intent("crm", [make_task(key="k1")])
    store.record_cleared("crm", ["k1", "unknown"], completed=True)
    assert store.ledger("crm")["k1"].status == "pending"


def test_results_for_unknown_keys_are_ignored(store: Store) -> None:
    """A result without a recorded intent adds nothing to the ledger."""
    store.record_results("crm", [PushResult("nope", remote_id="r")])
    assert store.ledger("crm") == {}


def test_a_result_without_remote_id_is_a_failure(store: Store) -> None:
    """A result with neither id nor error is recorded as failed with an explanation."""
    store.record_intent("crm", [make_task(key="k1")])
    store.record_results("crm", [PushResult("k1")])
    entry = store.ledger("crm")["k1"]
    assert (entry.status, entry.error) == ("failed", "the sink returned no remote id")


def test_ledger_writes_are_committed_immediately_and_refused_in_a_transaction(
    store_target: str,
) -> None:
    """record_intent is durable at once; inside a transaction it refuses to run."""
    with open_store(store_target) as first:  # type: ignore[attr-defined]
        first.record_intent("crm", [make_task(key="k1")])
        with open_store(store_target) as second:  # type: ignore[attr-defined]
            assert second.ledger("crm")["k1"].status == "pending"
        with pytest.raises(StoreError, match="outside"), first.transaction():
            first.record_intent("crm", [make_task(key="k2")])
        assert "k2" not in first.ledger("crm")


# -- lock ----------------------------------------------------------------------------------


def test_lock_held_by_another_store_raises_locked(backend: Backend, store_target: str) -> None:
    """A second sync on the same store is refused with a message naming the lock."""
    lock = r"engage-\d+\.db\.lock" if backend.name == "sqlite" else "PostgreSQL advisory lock"
    with open_store(store_target) as first, open_store(store_target) as second:  # type: ignore[attr-defined]
        locked = pytest.raises(LockedError, match=rf"{lock}.*wait for it to finish")
        with first.lock(), locked, second.lock():
            pass
        with first.lock(), pytest.raises(LockedError), first.lock():
            pass  # not re-entrant
        with second.lock():
            pass


def test_memory_store_lock_is_exclusive(tmp_path: Path) -> None:
    """An in-memory store's lock cannot be taken twice at once."""
    store = SQLiteStore(":memory:")
    with store.lock(), pytest.raises(LockedError), store.lock():
        pass
    with store.lock():
        pass


def _take_lock_once_released(store: Store, within: float = 30.0) -> None:
    """Take the store's lock, trying again while it is still held, for up to ``within`` s.

    A PostgreSQL server ends a killed client's session (and its advisory locks) when it
    notices the connection closed: at once, but not before the kill returns. No stale lock
    is left, which is the promise; how soon is the server's, and a busy machine's, business.
    """
    deadline = time.monotonic() + within
    while True:
        try:
            with store.lock():
                return
        except LockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_lock_is_released_when_its_process_dies(store_target: str) -> None:
    """A killed sync leaves no stale lock behind."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from engage.store import open_store
        store = open_store({store_target!r})
        held = store.lock()
        held.__enter__()
        print("locked", flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        with open_store(store_target) as store:  # type: ignore[attr-defined]
            with pytest.raises(LockedError), store.lock():
                pass
            child.kill()
            child.wait(timeout=10)
            _take_lock_once_released(store)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


# -- files ---------------------------------------------------------------------------------


def test_a_file_that_is_not_sqlite_is_refused_by_name(tmp_path: Path) -> None:
    """Opening a corrupt or foreign file raises StoreError naming the path."""
    path = tmp_path / "engage.db"
    path.write_bytes(b"this is not a database, just text " * 200)
    with pytest.raises(StoreError, match=str(path)):
        SQLiteStore(path)


def test_a_store_from_a_newer_engage_is_refused(tmp_path: Path) -> None:
    """A higher schema version than this engage knows is an error, not a silent misread."""
    path = tmp_path / "engage.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer engage"):
        SQLiteStore(path)


def test_a_new_store_creates_its_directory_and_uses_wal(tmp_path: Path) -> None:
    """The parent directory is created; the file is in WAL mode at the current schema version."""
    path = tmp_path / "state" / "nested" / "engage.db"
    with open_sqlite(path) as store:
        assert path.exists()
        assert row(store, "PRAGMA journal_mode") == ("wal",)
        assert row(store, "PRAGMA user_version") == (SCHEMA_VERSION,)


def test_reopening_keeps_everything(store_target: str) -> None:
    """Data survives close and reopen, and migration runs only once."""
    with open_store(store_target) as store:  # type: ignore[attr-defined]
        write(store, [tp("1"), Customer("beta.com")])
    with open_store(store_target) as store:  # type: ignore[attr-defined]
        assert store.customer_count() == 2
        assert store.touchpoint_count() == 1


def test_a_closed_store_says_so(store_target: str) -> None:
    """Using a store after close raises StoreError; closing twice is harmless."""
    store = open_store(store_target)
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.customer_count()


def test_directory_lookups_for_sinks(store: Store) -> None:
    """Sinks read customers (with their source ids), owners and contacts back by key."""
    write(
        store,
        [
            Customer("acme.com", name="Acme", attributes={"hubspot_company_id": "42"}),
            Owner("carol@ourco.com", email="carol@ourco.com", name="Carol", active=False),
            Contact("jane@acme.com", "acme.com", name="Jane"),
        ],
    )
    customer = store.get_customer("acme.com")
    assert customer is not None and customer.attributes["hubspot_company_id"] == "42"
    assert store.get_customer("nope.com") is None
    assert store.get_owner("carol@ourco.com") == Owner(
        "carol@ourco.com", "carol@ourco.com", "Carol", active=False
    )
    assert store.get_contacts("acme.com") == [Contact("jane@acme.com", "acme.com", name="Jane")]
