"""A first load into an empty SQLite store takes the bulk path; it must store and count
exactly what the row-by-row path does, repeated ids included."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from engage.models import Contact, Customer, Touchpoint
from engage.store.base import Record
from engage.store.sqlite import SQLiteStore

WHEN = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _touch(external_id: str, subject: str | None, email: str | None = "jo@acme.com") -> Touchpoint:
    return Touchpoint(
        source="files",
        external_id=external_id,
        customer="acme.com",
        occurred_at=WHEN,
        channel="email",
        direction="inbound",
        contact_email=email,
        subject=subject,
    )


RECORDS: list[Record] = [
    Customer("acme.com", name="Acme"),
    Contact("jo@acme.com", "acme.com"),
    Customer("acme.com", segment="enterprise", attributes={"tier": "gold"}),  # a repeat
    Contact("jo@acme.com", "acme.com", name="Jo"),  # a repeat that names the contact
    Contact("al@acme.com", "acme.com"),
    _touch("1", "first"),
    _touch("2", "other"),
    _touch("1", "changed"),  # a repeat within the chunk that changes the row
    _touch("2", "other"),  # a repeat that changes nothing
    _touch("1", None, None),  # a repeat whose empty cells keep what is stored
    _touch("3", "new"),
]

_CUSTOMERS = (
    "SELECT key, name, segment, owner, first_seen, open_work, attributes, name_key"
    " FROM customers WHERE key = 'acme.com'"
)
_CONTACTS = "SELECT email, customer, name FROM contacts WHERE customer = 'acme.com' ORDER BY email"
_ROWS = (
    "SELECT source, external_id, customer, contact_email, occurred_at, channel, direction,"
    " owner, subject, feedback, message_id, missed, duplicate_of FROM touchpoints"
    " WHERE source = 'files' ORDER BY external_id"
)


class TestFirstLoad:
    def test_bulk_load_matches_row_by_row(self, tmp_path: Path) -> None:
        """Repeated ids and keys in a first load give the same rows and counts as a load into
        a store that already holds a touchpoint (so no bulk path)."""
        bulk = SQLiteStore(tmp_path / "bulk.db")
        seeded = SQLiteStore(tmp_path / "seeded.db")
        seeded.write([Touchpoint(**_fields("seed"))], "old")
        with bulk.transaction():  # a first write decides that the load is a bulk one
            bulk.write([_touch("0", "zero")], "files")
            bulk_counts = bulk.write(RECORDS, "files")
        with seeded.transaction():
            seeded.write([_touch("0", "zero")], "files")
            seeded_counts = seeded.write(RECORDS, "files")
        rows = bulk.conn.execute(_ROWS).fetchall()
        assert rows == seeded.conn.execute(_ROWS).fetchall()
        for query in (_CUSTOMERS, _CONTACTS):
            assert bulk.conn.execute(query).fetchall() == seeded.conn.execute(query).fetchall()
        assert bulk.get_customer("acme.com") == Customer(
            "acme.com", name="Acme", segment="enterprise", open_work=False
        )
        assert bulk.get_customer("acme.com").attributes == {"tier": "gold"}  # type: ignore[union-attr]
        assert [r[8] for r in rows] == ["zero", "changed", "other", "new"]
        assert rows[1][3] == "jo@acme.com"
        counts = (bulk_counts.inserted, bulk_counts.updated, bulk_counts.unchanged)
        assert counts == (seeded_counts.inserted, seeded_counts.updated, seeded_counts.unchanged)
        bulk.close()
        seeded.close()

    def test_bulk_load_in_chunks(self, tmp_path: Path) -> None:
        """A repeat of an id stored by an earlier write of the same first load updates it."""
        store = SQLiteStore(tmp_path / "engage.db")
        with store.transaction():
            first = store.write([_touch("1", "first"), _touch("2", "two")], "files")
            second = store.write([_touch("1", "again"), _touch("3", "three")], "files")
        assert (first.inserted, first.updated) == (2, 0)
        assert (second.inserted, second.updated, second.unchanged) == (1, 1, 0)
        subjects = [r[8] for r in store.conn.execute(_ROWS)]
        assert subjects == ["again", "two", "three"]
        store.close()


def _fields(external_id: str) -> dict[str, object]:
    return {
        "source": "old",
        "external_id": external_id,
        "customer": "other.com",
        "occurred_at": WHEN,
        "channel": "call",
        "direction": "outbound",
    }
