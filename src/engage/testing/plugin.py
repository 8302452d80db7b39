"""engage's pytest plugin: fixtures for testing engage plugins, loaded wherever engage is
installed (entry point ``pytest11``: ``engage = "engage.testing.plugin"``).

Fixtures (prefixed ``engage_`` so they never shadow a project's own):

- ``engage_store``: a fresh, empty store for one test, SQLite in ``tmp_path``; and, when
  ``--engage-postgres URL`` (or ``$ENGAGE_TEST_POSTGRES``) names a PostgreSQL server, each
  test that takes it runs a second time on a schema of its own there.
- ``engage_config``: ``engage_config(text)`` writes ``engage.toml`` in ``tmp_path`` and
  loads it, checked, as ``engage`` does (:class:`~engage.config.Config`).
- ``engage_context``: builds an :class:`~engage.adapters.AdapterContext` rooted at
  ``tmp_path`` with our domain ``ourco.com`` and a fixed clock.
- ``engage_project``: a :class:`~engage.testing.Project` in ``tmp_path`` to run ``engage
  sync`` through its command line.
- ``engage_plugin_manager`` / ``engage_register_plugin``: a fresh plugin manager with the
  built-ins only, and a way to register a plugin object on it for one test.
- ``engage_postgres_database``: the URL of a PostgreSQL database of the test's own, created
  on the server ``--engage-postgres`` (or ``$ENGAGE_TEST_POSTGRES``, else a local server)
  names and dropped after; the test is skipped when no server answers, except under CI
  (``$CI``), where it fails (see :mod:`engage.testing.postgres`).

The contract suites (:class:`~engage.testing.SourceContract`,
:class:`~engage.testing.SinkContract`) need none of these; their assertions are rewritten
by pytest when this plugin is loaded, for readable failures.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pluggy
import pytest

pytest.register_assert_rewrite(
    "engage.testing.contract", "engage.testing.source_contract", "engage.testing.sink_contract"
)

from engage.adapters import AdapterContext  # noqa: E402  (after the rewrite is registered)
from engage.config import Config  # noqa: E402
from engage.store import Store, open_store  # noqa: E402
from engage.testing.builders import adapter_context  # noqa: E402
from engage.testing.postgres import SERVER_ENV, temporary_database  # noqa: E402
from engage.testing.project import Project  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--engage-postgres URL``: also run ``engage_store`` tests on this server, and create
    ``engage_postgres_database`` databases there."""
    group = parser.getgroup("engage", "engage plugin testing")
    group.addoption(
        "--engage-postgres",
        default=os.environ.get(SERVER_ENV) or None,
        metavar="URL",
        help=(
            "also run engage_store tests on this PostgreSQL server, and create "
            f"engage_postgres_database databases there (default ${SERVER_ENV})"
        ),
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run tests taking ``engage_store`` once per configured backend."""
    if "engage_store_backend" in metafunc.fixturenames:
        backends = ["sqlite"]
        if metafunc.config.getoption("engage_postgres", None):
            backends.append("postgresql")
        metafunc.parametrize("engage_store_backend", backends, scope="function")


@pytest.fixture
def engage_store_backend() -> str:
    """The backend of ``engage_store`` (parametrised by :func:`pytest_generate_tests`)."""
    return "sqlite"


@pytest.fixture
def engage_store(
    engage_store_backend: str, tmp_path: Path, pytestconfig: pytest.Config
) -> Iterator[Store]:
    """A fresh, empty store, closed after the test."""
    if engage_store_backend == "sqlite":
        store = open_store(str(tmp_path / "engage.db"))
        yield store
        store.close()
        return
    yield from _postgres_store(str(pytestconfig.getoption("engage_postgres")))


def _postgres_store(url: str) -> Iterator[Store]:
    psycopg = pytest.importorskip("psycopg", reason="pip install 'engage-core[postgres]'")
    schema = f"engage_test_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            parts = urlsplit(url)
            target = urlunsplit(parts._replace(query=f"options={quote(f'-csearch_path={schema}')}"))
            store = open_store(target)
            yield store
            store.close()
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def engage_postgres_database(pytestconfig: pytest.Config) -> Iterator[str]:
    """The URL of a fresh PostgreSQL database of this test's own, dropped after it (see
    :func:`engage.testing.postgres.temporary_database`)."""
    with temporary_database(pytestconfig.getoption("engage_postgres", None)) as url:
        yield url


@pytest.fixture
def engage_config(tmp_path: Path) -> Callable[[str], Config]:
    """``engage_config(text)``: write ``text`` as ``tmp_path/engage.toml`` and load it.

    Relative paths in it (the store, a source's files) are relative to ``tmp_path``.
    Raises :class:`~engage.errors.ConfigError` as ``engage`` would for a bad config.
    """

    def load(text: str) -> Config:
        path = tmp_path / "engage.toml"
        path.write_text(text, encoding="utf-8")
        return Config.load(path)

    return load


@pytest.fixture
def engage_context(tmp_path: Path) -> Callable[..., AdapterContext]:
    """``engage_context(name="test", **changes)``: an adapter context rooted at ``tmp_path``
    (see :func:`engage.testing.adapter_context` for what can be changed)."""

    def build(name: str = "test", **changes: Any) -> AdapterContext:
        changes.setdefault("base_dir", tmp_path)
        return adapter_context(name, **changes)

    return build


@pytest.fixture
def engage_project(tmp_path: Path) -> Project:
    """A project directory in ``tmp_path``; set ``plugins`` to the entry points to load."""
    path = tmp_path / "project"
    path.mkdir()
    return Project(path)


@pytest.fixture
def engage_plugin_manager() -> pluggy.PluginManager:
    """A fresh plugin manager with engage's hooks and built-ins, no installed plugin."""
    from engage.plugins import make_plugin_manager

    return make_plugin_manager(entry_points=False)


@pytest.fixture
def engage_register_plugin(
    engage_plugin_manager: pluggy.PluginManager,
) -> Iterator[Callable[..., str]]:
    """``engage_register_plugin(obj, name=None)``: register an object with ``@hookimpl``
    methods on ``engage_plugin_manager`` for this test; returns the name it got."""
    registered: list[str] = []

    def register(plugin: object, name: str | None = None) -> str:
        given = name or f"test-plugin-{len(registered) + 1}"
        engage_plugin_manager.register(plugin, name=given)
        registered.append(given)
        return given

    yield register
    for name in reversed(registered):
        engage_plugin_manager.unregister(name=name)
