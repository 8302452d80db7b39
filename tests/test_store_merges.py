"""The same email from several sources counts once; bulk loads; schema upgrades."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from engage.adapters import Retire
from engage.models import Touchpoint
from engage.settings import ScoringSettings
from engage.store import Store
from engage.store.base import WriteCounts
from engage.store.sqlite import SQLiteStore
from engage.store.sqlite_schema import SCHEMA_VERSION

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AS_OF = T0 + timedelta(days=1)


def email(source: str, external_id: str, **fields: object) -> Touchpoint:
    values: dict[str, object] = {
        "customer": "acme.com",
        "occurred_at": T0,
        "channel": "email",
        "direction": "inbound",
        "contact_email": "jo@acme.com",
        "subject": "Re: renewal",
    }
    values.update(fields)
    return Touchpoint(source, external_id, **values)  # type: ignore[arg-type]


def indexes(store: Store) -> set[str]:
    """The names of the store's indexes."""
    if isinstance(store, SQLiteStore):
        query = "SELECT name FROM sqlite_master WHERE type = 'index'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    return {r[0] for r in store.conn.execute(query)}  # type: ignore[attr-defined]


def write(store: Store, source: str, *records: Touchpoint | Retire) -> WriteCounts:
    with store.transaction():
        return store.write(records, source)


def touches(store: Store) -> int:
    (facts,) = store.facts(AS_OF, ScoringSettings())
    return facts.touches


def test_same_message_id_in_two_sources_counts_once(store: Store) -> None:
    """The mailbox and the CRM logged the same email: one touch, and the merge is counted."""
    write(store, "crm", email("crm", "e1", message_id="abc@mail.acme.com"))
    counts = write(
        store,
        "mail",
        email("mail", "m1", message_id="abc@mail.acme.com", occurred_at=T0 + timedelta(minutes=7)),
    )
    assert counts.merged == 1
    assert touches(store) == 1


def test_same_parties_subject_and_minute_count_once_without_message_ids(store: Store) -> None:
    """Without Message-IDs, same customer, contact, direction and subject within a minute is one email."""
    write(store, "crm", email("crm", "e1"))
    assert (
        write(
            store,
            "mail",
            email("mail", "m1", occurred_at=T0 + timedelta(seconds=40), subject="RE: RENEWAL"),
        ).merged
        == 1
    )
    assert touches(store) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"occurred_at": T0 + timedelta(minutes=2)},
        {"subject": "Invoice"},
        {"direction": "outbound"},
        {"contact_email": "al@acme.com"},
        {"channel": "call"},
        {"message_id": "other@x"},
    ],
)
def test_different_emails_are_not_merged(store: Store, change: dict[str, object]) -> None:
    """Anything that tells two emails apart keeps both."""
    write(store, "crm", email("crm", "e1", message_id="abc@x" if "message_id" in change else None))
    assert write(store, "mail", email("mail", "m1", **change)).merged == 0
    assert touches(store) == 2


def test_one_source_never_merges_with_itself(store: Store) -> None:
    """Two rows of one source are two touchpoints, however alike."""
    assert write(store, "csv", email("csv", "a"), email("csv", "b")).merged == 0
    assert touches(store) == 2


def test_retiring_the_kept_copy_brings_the_merged_one_back(store: Store) -> None:
    """When the CRM archives its copy, the mailbox's copy counts again."""
    write(store, "crm", email("crm", "e1", message_id="abc@x"))
    write(store, "mail", email("mail", "m1", message_id="abc@x"))
    write(store, "crm", Retire("touchpoint", "e1"))
    assert touches(store) == 1
    assert store.conn.execute(
        "SELECT count(*) FROM touchpoints WHERE duplicate_of IS NOT NULL"
    ).fetchone() == (0,)


def test_a_first_load_builds_the_customer_index_at_commit(store: Store) -> None:
    """Loading into an empty store drops the per-customer index and builds it once at commit."""
    write(
        store,
        "csv",
        *[email("csv", str(i), occurred_at=T0 + timedelta(minutes=i)) for i in range(50)],
    )
    assert "touchpoints_customer" in indexes(store)
    assert touches(store) == 50
    if isinstance(store, SQLiteStore):  # its sort's helper thread was for that statement only
        assert store.conn.execute("PRAGMA threads").fetchone() == (0,)


def test_a_failed_first_load_keeps_the_index(store: Store) -> None:
    """A rolled-back first load leaves the schema as it was."""
    with pytest.raises(RuntimeError), store.transaction():
        store.write([email("csv", "1")], "csv")
        raise RuntimeError("the source failed")
    assert "touchpoints_customer" in indexes(store)
    assert store.touchpoint_count() == 0
    write(store, "csv", email("csv", "1"))
    assert store.touchpoint_count() == 1


def test_a_version_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    """A store of schema version 1 opens, upgrades to the current version, and keeps its touchpoints."""
    path = tmp_path / "old.db"
    with SQLiteStore(path) as store:
        write(store, "csv", email("csv", "1"))
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX touchpoints_message")
    conn.execute("DROP INDEX touchpoints_duplicate")
    conn.execute("DROP INDEX touchpoints_customer")
    conn.execute("ALTER TABLE touchpoints DROP COLUMN duplicate_of")
    conn.execute("ALTER TABLE touchpoints DROP COLUMN missed")
    conn.execute("ALTER TABLE owner_activity DROP COLUMN first_active")
    conn.execute("DROP INDEX customers_name_key")
    conn.execute("ALTER TABLE customers DROP COLUMN name_key")
    conn.execute("CREATE INDEX touchpoints_customer ON touchpoints (customer, occurred_at)")
    conn.execute("CREATE INDEX touchpoints_owner ON touchpoints (owner, occurred_at)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with SQLiteStore(path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert touches(store) == 1
        assert write(store, "mail", attrs.evolve(email("mail", "m1"))).merged == 1


def test_a_first_load_of_two_sources_in_one_transaction_still_merges(store: Store) -> None:
    """A script adding mail and CRM copies at once into an empty store gets them merged."""
    with store.transaction():
        store.write([email("crm", "e1", message_id="abc@x")], "crm")
        counts = store.write([email("mail", "m1", message_id="abc@x")], "mail")
    assert counts.merged == 1
    assert touches(store) == 1
    assert "touchpoints_customer" in indexes(store)
