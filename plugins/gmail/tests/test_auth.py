"""Google credentials: loaded from a file or the environment, refreshed, and never shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fake_oauth import CLIENT_SECRET, REFRESH_TOKEN, FakeOAuth, write_credentials

from engage.adapters import AdapterContext, resolve_options
from engage.errors import EXIT_TEMPFAIL, ConfigError, exit_code_of
from engage.http import (
    AmbiguousWrite,
    AuthError,
    Fault,
    NotSent,
    RetriableHttpError,
    RetriesExhausted,
    RetryPolicy,
)
from engage.testing import FakeServer, Reply, Request
from engage_gmail.auth import SCOPE_READONLY, google_client, load_credentials
from engage_gmail.options import CredentialOptions

WHERE = "engage.toml: [sources.mail]"


@pytest.fixture
def google() -> Iterator[tuple[FakeServer, FakeOAuth]]:
    server = FakeServer()
    oauth = FakeOAuth(server, (SCOPE_READONLY,))

    @server.route("GET", r"/gmail/v1/users/me/profile")
    def profile(request: Request) -> Reply:
        return oauth.check(request, SCOPE_READONLY) or Reply(
            200, {"emailAddress": "carol@ourco.com", "historyId": "100"}
        )

    with server:
        yield server, oauth


def options(**given: object) -> CredentialOptions:
    return resolve_options(CredentialOptions, given, WHERE, env={})


def test_credentials_refresh_and_reach_the_api(
    tmp_path: Path, google: tuple[FakeServer, FakeOAuth]
) -> None:
    """The refresh token buys an access token, sent as a Bearer header; a 401 refreshes once more."""
    server, oauth = google
    path = write_credentials(tmp_path)
    creds = load_credentials(
        options(credentials_file=str(path), token_uri=oauth.token_uri),
        AdapterContext("mail"),
        [SCOPE_READONLY],
        WHERE,
    )
    client = google_client(creds, server.url, name="Gmail", where=WHERE)
    assert client.get_json("/gmail/v1/users/me/profile")["emailAddress"] == "carol@ourco.com"
    oauth.expire_access_tokens()
    assert client.get_json("/gmail/v1/users/me/profile")["historyId"] == "100"
    assert oauth.refreshes == 2


def test_credentials_path_from_the_environment(
    tmp_path: Path, google: tuple[FakeServer, FakeOAuth]
) -> None:
    """credentials_env names the variable that holds the file's path."""
    _, oauth = google
    path = write_credentials(tmp_path)
    context = AdapterContext("mail", env={"MY_GMAIL": str(path)})
    creds = load_credentials(
        options(credentials_env="MY_GMAIL", token_uri=oauth.token_uri),
        context,
        [SCOPE_READONLY],
        WHERE,
    )
    assert creds.refresh_token == REFRESH_TOKEN


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not JSON"),
        ('{"client_id": "x"}', "lacks client_secret, refresh_token"),
    ],
)
def test_bad_credentials_files_are_named(tmp_path: Path, content: str | None, message: str) -> None:
    """A missing, broken or incomplete file is one clear error naming the table."""
    path = tmp_path / "creds.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_credentials(
            options(credentials_file=str(path)), AdapterContext("mail"), [SCOPE_READONLY], WHERE
        )
    assert str(info.value).startswith(WHERE)


def test_no_credentials_at_all_says_what_to_set() -> None:
    """Neither a file nor the variable: the message names both ways."""
    with pytest.raises(
        ConfigError,
        match="set credentials_file, or the environment variable GMAIL_CREDENTIALS_FILE",
    ):
        load_credentials(options(), AdapterContext("mail", env={}), [SCOPE_READONLY], WHERE)


def test_revoked_refresh_token_is_one_clear_error_without_secrets(
    tmp_path: Path, google: tuple[FakeServer, FakeOAuth]
) -> None:
    """invalid_grant says to authorize again, and shows neither token nor secret."""
    server, oauth = google
    oauth.revoke()
    creds = load_credentials(
        options(credentials_file=str(write_credentials(tmp_path)), token_uri=oauth.token_uri),
        AdapterContext("mail"),
        [SCOPE_READONLY],
        WHERE,
    )
    client = google_client(
        creds, server.url, name="Gmail", where=WHERE, retry=RetryPolicy(attempts=2, base_delay=0.01)
    )
    with pytest.raises(AuthError, match="invalid_grant") as info:
        client.get_json("/gmail/v1/users/me/profile")
    assert REFRESH_TOKEN not in str(info.value)
    assert CLIENT_SECRET not in str(info.value)


def test_missing_scope_is_named(tmp_path: Path) -> None:
    """A token without the needed scope gets a 403 that says to authorize with the right scopes."""
    server = FakeServer()
    oauth = FakeOAuth(server, ("https://www.googleapis.com/auth/tasks",))

    @server.route("GET", r"/gmail/v1/users/me/profile")
    def profile(request: Request) -> Reply:
        return oauth.check(request, SCOPE_READONLY) or Reply(200, {})

    with server:
        creds = load_credentials(
            options(credentials_file=str(write_credentials(tmp_path)), token_uri=oauth.token_uri),
            AdapterContext("mail"),
            [SCOPE_READONLY],
            WHERE,
        )
        client = google_client(creds, server.url, name="Gmail", where=WHERE)
        with pytest.raises(AuthError, match="lack a scope"):
            client.get_json("/gmail/v1/users/me/profile")


@pytest.fixture
def no_google_auth_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """google-auth's own backoff between its refresh tries sleeps seconds; skip the waits."""
    monkeypatch.setattr(
        "google.auth._exponential_backoff.time", SimpleNamespace(sleep=lambda _: None)
    )


def test_a_rate_limited_refresh_is_retried_until_it_succeeds(
    tmp_path: Path, google: tuple[FakeServer, FakeOAuth], no_google_auth_waits: None
) -> None:
    """429s from the token endpoint past google-auth's three tries are retried by engage."""
    server, oauth = google
    creds = load_credentials(
        options(credentials_file=str(write_credentials(tmp_path)), token_uri=oauth.token_uri),
        AdapterContext("mail"),
        [SCOPE_READONLY],
        WHERE,
    )
    client = google_client(
        creds, server.url, name="Gmail", where=WHERE, retry=RetryPolicy(attempts=3, base_delay=0.01)
    )
    server.fail_next(429, 4, body={"error": "rate_limit_exceeded"})
    assert client.get_json("/gmail/v1/users/me/profile")["emailAddress"] == "carol@ourco.com"
    assert oauth.refreshes == 1


@pytest.mark.parametrize("status", [429, 502, 503])
def test_a_refresh_failing_past_the_budget_is_temporary(
    tmp_path: Path, google: tuple[FakeServer, FakeOAuth], no_google_auth_waits: None, status: int
) -> None:
    """A token endpoint that keeps answering 429 or 5xx is exit 75 (try again later), not 78,
    and the message shows neither token nor secret. The request was never sent (Fault.CONNECT),
    so a create sent once says nothing was written, not that it may have been."""
    server, oauth = google
    creds = load_credentials(
        options(credentials_file=str(write_credentials(tmp_path)), token_uri=oauth.token_uri),
        AdapterContext("mail"),
        [SCOPE_READONLY],
        WHERE,
    )
    client = google_client(
        creds, server.url, name="Gmail", where=WHERE, retry=RetryPolicy(attempts=2, base_delay=0.01)
    )
    server.fail_next(status, 100)
    with pytest.raises(RetriesExhausted) as info:
        client.get_json("/gmail/v1/users/me/profile")
    assert exit_code_of(info.value) == EXIT_TEMPFAIL
    assert info.value.fault is Fault.CONNECT
    assert REFRESH_TOKEN not in str(info.value)
    assert CLIENT_SECRET not in str(info.value)
    assert oauth.refreshes == 0
    with pytest.raises(RetriableHttpError) as once:
        client.post_json("/gmail/v1/users/me/drafts", {}, once=True)
    assert not isinstance(once.value, AmbiguousWrite)
    assert isinstance(once.value, NotSent)  # engage.http's name for it, not a ConnectTimeout
    assert "nothing was written" in str(once.value)
    assert "token endpoint could not refresh" in str(once.value)
