"""Lookups: a column of ids resolved from other files, indexed on disk."""

from __future__ import annotations

import os
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engage.errors import ConfigError, SourceError
from engage.testing import Pull
from engage_csv import CsvSource

Write = Callable[..., Path]
PullFn = Callable[..., Pull]

TASKS = "Id,When,WhoId,OwnerId\nt1,2024-03-05,c1,u1\nt2,2024-03-06,l1,u2\nt3,2024-03-07,c1,\n"
CONTACTS = "Id,Email,Name\nc1,jane@acme.com,Jane Doe\n"
LEADS = "Id,Email,Name,Company\nl1,lee@globex.com,Lee Wong,Globex Corp\nc1,shadow@x.com,Shadow,X\n"
USERS = "Id,Email\nu1,Carol@OurCo.com\nu2,dave@ourco.com\n"
WHO = {
    "path": ["Contact.csv", "Lead.csv"],
    "key": "Id",
    "fields": {"email": "Email", "name": "Name", "customer": "Company"},
}
OWNER = {"path": "User.csv", "key": "Id", "fields": {"owner": "Email"}}


@pytest.fixture
def export(write: Write) -> None:
    write("Task.csv", TASKS)
    write("Contact.csv", CONTACTS)
    write("Lead.csv", LEADS)
    write("User.csv", USERS)


def options(**extra: Any) -> dict[str, Any]:
    return {
        "path": "Task.csv",
        "columns": {"occurred_at": "When"},
        "lookups": {"WhoId": WHO, "OwnerId": OWNER},
    } | extra


@pytest.mark.usefixtures("export")
class TestLookups:
    """Each lookup fills engage fields from the first row with the id, in its files' order."""

    def test_ids_become_contacts_customers_and_owners(self, pull: PullFn) -> None:
        """Contacts by email, customers by company name, owners by email."""
        result = pull(**options())
        assert result.problems == []
        assert [(tp.contact_email, tp.customer, tp.owner) for tp in result.touchpoints] == [
            ("jane@acme.com", "acme.com", "carol@ourco.com"),
            ("lee@globex.com", "globex.com", "dave@ourco.com"),
            ("jane@acme.com", "acme.com", None),
        ]
        assert {c.key: c.name for c in result.customers} == {
            "acme.com": None,
            "globex.com": "Globex Corp",
        }
        assert {c.email: c.name for c in result.contacts} == {
            "jane@acme.com": "Jane Doe",
            "lee@globex.com": "Lee Wong",
        }

    def test_the_first_file_with_the_id_wins(self, pull: PullFn) -> None:
        """c1 is in Contact.csv and Lead.csv; Contact.csv comes first."""
        result = pull(**options())
        assert "shadow@x.com" not in [c.email for c in result.contacts]

    def test_an_id_found_nowhere_is_a_bad_row_naming_the_id_and_files(
        self, write: Write, pull: PullFn
    ) -> None:
        """The rest of the file still loads."""
        write("Task.csv", TASKS + "t4,2024-03-08,zz9,u1\n")
        result = pull(**options())
        assert result.problems == [
            "Task.csv:5: WhoId: no row with Id 'zz9' in Contact.csv, Lead.csv (got 'zz9')"
        ]
        assert len(result.touchpoints) == 3

    def test_an_empty_id_looks_nothing_up(self, pull: PullFn) -> None:
        """t3 has no owner id: no owner, and no problem."""
        result = pull(**options())
        assert result.touchpoints[2].owner is None

    def test_a_lookup_value_wins_over_the_rows_own_column(self, write: Write, pull: PullFn) -> None:
        """When the row has an email column too, the looked-up address is used; an empty one falls back."""
        write(
            "Task.csv",
            "Id,When,WhoId,email\nt1,2024-03-05,c1,old@acme.com\nt2,2024-03-06,,own@initech.com\n",
        )
        result = pull(**options(lookups={"WhoId": WHO}))
        assert [tp.contact_email for tp in result.touchpoints] == [
            "jane@acme.com",
            "own@initech.com",
        ]

    def test_a_changed_lookup_file_re_reads_the_source(self, write: Write, pull: PullFn) -> None:
        """The cursor includes the lookup files: a new address for c1 is picked up."""
        first = pull(**options())
        assert pull(first.cursor, **options()).touchpoints == []
        contacts = write("Contact.csv", "Id,Email,Name\nc1,jane@acme-group.com,Jane Doe\n")
        stat = contacts.stat()
        os.utime(contacts, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        again = pull(first.cursor, **options())
        assert again.touchpoints[0].contact_email == "jane@acme-group.com"

    def test_the_index_is_deleted_after_the_pull(self, pull: PullFn) -> None:
        """Nothing is left in the temporary directory."""
        before = set(os.listdir(tempfile.gettempdir()))
        pull(**options())
        after = set(os.listdir(tempfile.gettempdir()))
        assert not {n for n in after - before if n.startswith("engage-csv-lookup-")}


@pytest.mark.usefixtures("export")
class TestLookupErrors:
    """Missing files, columns and keys are named."""

    def test_a_missing_lookup_file(self, write: Write, pull: PullFn) -> None:
        """The error names the table, the lookup and the file."""
        with pytest.raises(
            SourceError, match=r"^\[sources.files\]: lookups.OwnerId: Users.csv: no such file"
        ):
            pull(**options(lookups={"OwnerId": OWNER | {"path": "Users.csv"}}))

    def test_a_lookup_file_without_the_key_column(self, write: Write, pull: PullFn) -> None:
        """The lookup file's missing key column is named with its header."""
        write("User.csv", "UserId,Email\nu1,carol@ourco.com\n")
        with pytest.raises(SourceError) as error:
            pull(**options())
        assert str(error.value) == (
            "User.csv: missing column 'Id', the key of lookups.OwnerId (the header has: UserId, Email)"
        )

    def test_an_id_column_missing_from_the_source_file(self, write: Write, pull: PullFn) -> None:
        """The source file must have the lookup's column."""
        write("Task.csv", "Id,When,Who\nt1,2024-03-05,c1\n")
        with pytest.raises(
            SourceError, match=r"^Task.csv: missing column 'WhoId' of lookups.WhoId"
        ):
            pull(**options(lookups={"WhoId": WHO}))

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ({"key": "Id", "fields": {"email": "Email"}}, ": missing required key 'path'"),
            ({"path": "a.csv", "fields": {"when": "Date"}}, ": fields: unknown field 'when'"),
            ({"path": "a.csv", "fields": {}}, ": fields: expected at least one field to fill"),
            ({"path": "a.csv", "fields": {"email": "E"}, "keys": "Id"}, ": unknown key 'keys'"),
            ({"path": [], "fields": {"email": "E"}}, ": path: expected a file or a list of files"),
            ({"path": "a.csv", "key": " ", "fields": {"email": "E"}}, ": key: expected the id"),
            (
                {"path": "a.csv", "fields": {"email": 3}},
                r"\.fields\['email'\]: expected str \(got int 3\)",
            ),
        ],
    )
    def test_a_malformed_lookup_is_a_config_error(
        self, source: Callable[..., CsvSource], spec: dict[str, Any], message: str
    ) -> None:
        """Each mistake names the lookup."""
        with pytest.raises(
            ConfigError, match=rf"^engage.toml: \[sources.files\]: lookups\['WhoId'\]{message}"
        ):
            source(path="Task.csv", lookups={"WhoId": spec})


class TestLookupMemory:
    """A large lookup file is indexed on disk, not held in memory."""

    def test_a_hundred_thousand_contacts_stay_out_of_memory(
        self, write: Write, pull: PullFn
    ) -> None:
        """Peak Python memory while indexing and resolving stays far below the file's size."""
        contacts = "".join(
            f"c{i},person{i}@company{i % 5000}.com,Person {i}\n" for i in range(100_000)
        )
        size = len(write("Contact.csv", "Id,Email,Name\n" + contacts).read_bytes())
        write(
            "Task.csv",
            "When,WhoId\n" + "".join(f"2024-03-05,c{i * 997 % 100_000}\n" for i in range(2000)),
        )
        tracemalloc.start()
        try:
            result = pull(
                path="Task.csv",
                columns={"occurred_at": "When"},
                lookups={
                    "WhoId": {"path": "Contact.csv", "key": "Id", "fields": {"email": "Email"}}
                },
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(result.touchpoints) == 2000
        assert peak < size  # a dict of the file would be several times its size
