"""A PostgreSQL database of a test's own: created on a server when one answers, dropped after.

The server is the one ``--engage-postgres`` or ``$ENGAGE_TEST_POSTGRES`` names, else
:data:`DEFAULT_SERVER` (a local server's ``postgres`` database, the one connected to while
creating the test's). When no server answers, or psycopg is not installed, the test is
skipped with the reason, except where a server is required (``$CI`` set, by default):
there it fails, so that a CI run never passes by skipping PostgreSQL.

Use the ``engage_postgres_database`` fixture for one database per test, or
:func:`temporary_database` in a fixture of a wider scope::

    @pytest.fixture(scope="module")
    def database_url() -> Iterator[str]:
        with temporary_database() as url:
            yield url
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

#: The environment variable naming the server tests use (a URL of a database on it).
SERVER_ENV = "ENGAGE_TEST_POSTGRES"

#: The server when none is named: a local server, as its superuser, without a password.
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url(given: str | None = None) -> str:
    """The server to create test databases on: ``given``, else ``$ENGAGE_TEST_POSTGRES``,
    else :data:`DEFAULT_SERVER`."""
    return given or os.environ.get(SERVER_ENV) or DEFAULT_SERVER


def shown(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***`` (for messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def server_required() -> bool:
    """Whether a missing server fails the test rather than skipping it: under CI (``$CI``)."""
    return bool(os.environ.get("CI"))


def no_server(reason: str, *, required: bool | None = None) -> NoReturn:
    """Skip the test because no PostgreSQL server is there (``reason`` says why), or fail it
    where a server is required (see :func:`server_required`)."""
    import pytest

    message = f"PostgreSQL tests: no server ({reason}); set {SERVER_ENV} to a server's URL"
    if server_required() if required is None else required:
        pytest.fail(f"{message} (CI must run them)")
    pytest.skip(message)


@contextmanager
def temporary_database(server: str | None = None, *, required: bool | None = None) -> Iterator[str]:
    """Create a database ``engage_test_<random>`` on ``server`` (see :func:`server_url`) and
    yield its URL; drop it after, closing whatever connections are still open to it.

    Skips the test when no server answers (fails it when ``required``, by default under CI).
    """
    try:
        import psycopg
    except ImportError:
        no_server(
            "psycopg is not installed: pip install 'engage-core[postgres]'", required=required
        )
    admin_url = server_url(server)
    try:
        admin: Any = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        no_server(f"{shown(admin_url)}: {str(exc).strip().splitlines()[0]}", required=required)
    name = f"engage_test_{secrets.token_hex(6)}"
    try:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}", query=""))
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.close()
