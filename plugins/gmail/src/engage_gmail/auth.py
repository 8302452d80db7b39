"""Google credentials from an authorized-user file, and an HTTP client that refreshes them.

The file is the JSON Google's tools write for an installed app (``client_id``,
``client_secret``, ``refresh_token``). Its path comes from ``credentials_file`` or the
environment variable named by ``credentials_env``. ``token_uri`` from config always wins over
the file's, so tests can point it at a loopback token endpoint.

:func:`google_client` returns an :class:`engage.http.HttpClient` over a google-auth
``AuthorizedSession``: the access token is refreshed before it expires and once more on a
401. A refused refresh (``invalid_grant``: the token was revoked or expired) becomes one
:class:`~engage.http.AuthError` that says what to do. A refresh the token endpoint could not
serve (429 or 5xx, after google-auth's own tries) or reach is a request never sent
(:class:`TokenRefreshUnavailable`, an :class:`~engage.http.NotSent`), so it is retried within
its budget and then is temporary (:class:`~engage.http.RetriesExhausted`, exit 75). Google's own failure rules (a
rate-limit 403, a missing scope) are :mod:`engage_gmail.rules`. No token or secret appears
in messages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import google.oauth2.credentials
import requests
from google.auth.transport.requests import AuthorizedSession

from engage.adapters import AdapterContext
from engage.errors import ConfigError
from engage.http import AuthError, Classifier, HttpClient, Limit, NotSent, RetryPolicy, redact
from engage_gmail import rules
from engage_gmail.options import DEFAULT_CREDENTIALS_ENV, CredentialOptions

SCOPE_READONLY = "https://www.googleapis.com/auth/gmail.readonly"
SCOPE_METADATA = "https://www.googleapis.com/auth/gmail.metadata"
SCOPE_COMPOSE = "https://www.googleapis.com/auth/gmail.compose"
SCOPE_TASKS = "https://www.googleapis.com/auth/tasks"

_REQUIRED = ("client_id", "client_secret", "refresh_token")


def load_credentials(
    options: CredentialOptions, context: AdapterContext, scopes: Iterable[str], where: str
) -> google.oauth2.credentials.Credentials:
    """Read the authorized-user file named by the options.

    Args:
        options: The table's keys (:class:`~engage_gmail.options.CredentialOptions`).
        context: The adapter's context (for the config directory and the environment).
        scopes: The scopes this table needs.
        where: The table, for messages (``[sources.mail]``).

    Raises:
        ConfigError: no file is configured, or it is missing, unreadable or incomplete.
    """
    given = options.credentials_file
    env_name = options.credentials_env or DEFAULT_CREDENTIALS_ENV
    if not given:
        given = context.env.get(env_name)
    if not given:
        raise ConfigError(
            f"{where}: no Google credentials: set credentials_file, or the environment variable "
            f"{env_name}, to the path of an authorized-user JSON file"
        )
    path = context.path(given)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}: credentials file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{where}: cannot read credentials file {path}: {type(exc).__name__}"
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{where}: credentials file {path} is not JSON (line {exc.lineno})"
        ) from None
    if not isinstance(info, dict):
        raise ConfigError(f"{where}: credentials file {path} must hold a JSON object")
    missing = [key for key in _REQUIRED if not isinstance(info.get(key), str) or not info.get(key)]
    if missing:
        raise ConfigError(
            f"{where}: credentials file {path} lacks {', '.join(missing)}; it must be an "
            "authorized-user file (client_id, client_secret, refresh_token)"
        )
    return google.oauth2.credentials.Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=info["refresh_token"],
        token_uri=options.token_uri,
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        scopes=list(scopes),
    )


class TokenRefreshUnavailable(NotSent):
    """The access token could not be refreshed for now (Google's token endpoint answered 429 or
    5xx, or could not be reached), so the request was never sent: try again later.

    An :class:`~engage.http.NotSent`: :class:`~engage.http.HttpClient` retries it with
    backoff and, once its budget is spent, raises :class:`~engage.http.RetriesExhausted`;
    a create sent once says nothing was written, so it may be sent again.
    """


class _TokenRequest(google.auth.transport.requests.Request):
    """google-auth's transport for the token endpoint, remembering the last answer's status."""

    status: int | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        response = super().__call__(*args, **kwargs)  # type: ignore[no-untyped-call]
        self.status = response.status
        return response


def _temporary(status: int | None) -> bool:
    return status is not None and (status == 429 or status >= 500)


class _GoogleSession(AuthorizedSession):
    """An AuthorizedSession whose refresh failures become engage errors without secrets."""

    def __init__(self, credentials: google.oauth2.credentials.Credentials, where: str) -> None:
        self._token_request = _TokenRequest()
        super().__init__(credentials, auth_request=self._token_request)  # type: ignore[no-untyped-call]
        self._where = where
        self._secrets = [credentials.refresh_token or "", credentials.client_secret or ""]

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        self._token_request.status = None
        try:
            response: requests.Response = super().request(method, url, *args, **kwargs)  # type: ignore[no-untyped-call]
            return response
        except google.auth.exceptions.RefreshError as exc:
            detail = redact(str(exc), [*self._secrets, str(self.credentials.token or "")])
            if _oauth_error(exc) == "invalid_grant":
                raise AuthError(
                    f"{self._where}: Google refused the refresh token (invalid_grant: revoked or "
                    "expired); authorize engage again to write a new authorized-user file"
                ) from None
            if getattr(exc, "retryable", False) or _temporary(self._token_request.status):
                raise TokenRefreshUnavailable(
                    f"{self._where}: Google's token endpoint could not refresh the access "
                    f"token (HTTP {self._token_request.status}): {detail}"
                ) from None
            raise AuthError(
                f"{self._where}: could not refresh the Google access token: {detail}"
            ) from None
        except google.auth.exceptions.TransportError as exc:  # the token endpoint, unreached
            raise TokenRefreshUnavailable(redact(str(exc), self._secrets)) from None


def _oauth_error(exc: google.auth.exceptions.RefreshError) -> str | None:
    """The token endpoint's ``error`` code (``invalid_grant``) of a refused refresh, if it gave one.

    google-auth raises ``RefreshError(details, response_data)`` for an OAuth error answer.
    """
    data = exc.args[1] if len(exc.args) > 1 else None
    code = data.get("error") if isinstance(data, Mapping) else None
    return code if isinstance(code, str) else None


def google_client(
    credentials: google.oauth2.credentials.Credentials,
    base_url: str,
    *,
    name: str,
    where: str,
    limiters: Iterable[Limit] = (),
    classify: Classifier = rules.classify,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> HttpClient:
    """An :class:`HttpClient` for a Google API that refreshes ``credentials`` as needed and
    follows Google's failure rules (:func:`engage_gmail.rules.classify`)."""
    secrets = [credentials.refresh_token or "", credentials.client_secret or ""]
    return HttpClient(
        base_url,
        name=name,
        session=_GoogleSession(credentials, where),
        secrets=secrets,
        limiters=limiters,
        classify=classify,
        retry=retry,
        sleep=sleep,
    )
