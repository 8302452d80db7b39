"""Fixtures shared by the core's tests: stores of every backend.

Tests that take ``store`` (or ``backend``, ``store_target``) run once per backend: SQLite
(a file in a temporary directory) and PostgreSQL. For PostgreSQL each test module gets a
database of its own (``engage_test_<random>``, dropped after the module, from the kit's
:func:`engage.testing.temporary_database`) on the server ``$ENGAGE_TEST_POSTGRES`` names
(default ``postgresql://postgres@127.0.0.1:5432/postgres``, the database to connect to
while creating it), and each store a fresh schema in it. When no server answers, the
PostgreSQL half is skipped with the reason, except in CI (``$CI`` set), where it fails: CI
must run it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from engage.store import Store, open_store
from engage.testing import temporary_database

BACKENDS = ("sqlite", "postgresql")


class Backend:
    """Where fresh, empty stores of one kind come from (``name``: sqlite or postgresql)."""

    def __init__(self, name: str, directory: Path, database_url: str | None = None) -> None:
        self.name = name
        self.directory = directory
        self.database_url = database_url
        self._ids = itertools.count()
        self._admin: Any = None
        self._spare: list[str] = []  # targets of emptied PostgreSQL schemas
        self._schemas: dict[str, str] = {}  # PostgreSQL target → its schema

    def new_target(self) -> str:
        """Where a new, empty store goes: an SQLite path, or a URL naming a new schema."""
        number = next(self._ids)
        if self.database_url is None:
            return str(self.directory / f"engage-{number}.db")
        schema = f"store_{number}"
        self._admin.execute(f"CREATE SCHEMA {schema}")
        parts = urlsplit(self.database_url)
        target = urlunsplit(parts._replace(query=f"options={quote(f'-csearch_path={schema}')}"))
        self._schemas[target] = schema
        return target

    def examples(self, wide: int) -> int:
        """How many examples a property test tries on this backend: ``wide`` on SQLite (in
        memory), a third of that on PostgreSQL, where each example costs about three times
        as much. What both backends share (the engine, the rules) gets the wide search on
        SQLite; the PostgreSQL variant still tries dozens of examples on each run."""
        return wide if self.database_url is None else max(1, wide // 3)

    def open(self, target: str | None = None) -> Store:
        """Open the store at ``target`` (a new, empty one by default)."""
        return open_store(self.new_target() if target is None else target)

    @contextmanager
    def fresh(self) -> Iterator[Any]:
        """An empty store for one example of a property test: SQLite in memory; a PostgreSQL
        schema emptied after use and used again (cheaper than creating one per example)."""
        if self.database_url is None:
            with open_store(":memory:") as store:  # type: ignore[attr-defined]
                yield store
            return
        target = self._spare.pop() if self._spare else self.new_target()
        store = open_store(target)
        try:
            yield store
        finally:
            store.close()
            schema = self._schemas[target]
            tables = [
                name
                for (name,) in self._admin.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
                )
                if name != "schema_version"
            ]
            with self._admin.transaction():  # DELETE: cheaper than TRUNCATE on small tables
                for name in tables:
                    self._admin.execute(f"DELETE FROM {schema}.{name}")
                for name in ("stale_customers", "planning"):  # what the triggers marked
                    self._admin.execute(f"DELETE FROM {schema}.{name}")
            self._spare.append(target)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """Each backend in turn, for the whole module (a PostgreSQL database of the module's own)."""
    directory = tmp_path_factory.mktemp("stores")
    if request.param == "sqlite":
        yield Backend("sqlite", directory)
        return
    with temporary_database() as database_url:
        import psycopg  # there: temporary_database skips without it

        backend = Backend("postgresql", directory, database_url)
        with psycopg.connect(database_url, autocommit=True) as conn:
            backend._admin = conn
            yield backend


@pytest.fixture
def store_target(backend: Backend) -> str:
    """Where a fresh, empty store of the backend goes (reopen it with ``open_store``)."""
    return backend.new_target()


@pytest.fixture
def store(backend: Backend, store_target: str) -> Iterator[Store]:
    """A fresh, empty store of each backend."""
    opened = open_store(store_target)
    yield opened
    opened.close()
