"""A fake Google OAuth token endpoint, as google-auth talks to it.

It issues access tokens for known refresh tokens (form ``grant_type=refresh_token``,
``client_id``, ``client_secret``, ``refresh_token``), answers ``invalid_grant`` for revoked
ones, and lets API fakes check a request's Bearer token and scopes.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from urllib.parse import parse_qs

from engage.testing import FakeServer, Reply, Request

CLIENT_ID = "123-fake.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-fake-client-secret"
REFRESH_TOKEN = "1//0fake-refresh-token-abcdef"


class FakeOAuth:
    """Token endpoint state: valid refresh tokens with their scopes, and issued access tokens."""

    def __init__(self, server: FakeServer, scopes: tuple[str, ...]) -> None:
        self.server = server
        self.grants: dict[str, tuple[str, ...]] = {REFRESH_TOKEN: scopes}
        self.issued: dict[str, tuple[str, ...]] = {}
        self.refreshes = 0
        self._numbers = itertools.count(1)
        server.route("POST", r"/token")(self.token)

    @property
    def token_uri(self) -> str:
        """The fake token endpoint's URL."""
        return self.server.url + "/token"

    def revoke(self) -> None:
        """The user revoked access: refreshes now fail with invalid_grant."""
        self.grants.clear()
        self.issued.clear()

    def expire_access_tokens(self) -> None:
        """Every issued access token stops working (the API answers 401 until a refresh)."""
        self.issued.clear()

    def token(self, request: Request) -> Reply:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "refresh_token":
            return Reply(400, {"error": "unsupported_grant_type"})
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return Reply(
                401,
                {"error": "invalid_client", "error_description": "The OAuth client was not found."},
            )
        scopes = self.grants.get(form.get("refresh_token", ""))
        if scopes is None:
            return Reply(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
            )
        self.refreshes += 1
        access = f"ya29.fake-access-{next(self._numbers)}"
        self.issued[access] = scopes
        return Reply(
            200,
            {
                "access_token": access,
                "expires_in": 3599,
                "token_type": "Bearer",
                "scope": " ".join(scopes),
            },
        )

    def check(self, request: Request, *needed_any: str) -> Reply | None:
        """None when the request carries a live token with one of ``needed_any`` scopes; else the error reply."""
        header = request.header("Authorization") or ""
        token = header.removeprefix("Bearer ")
        if not header.startswith("Bearer ") or token not in self.issued:
            return Reply(
                401,
                _error(
                    401,
                    "Request had invalid authentication credentials.",
                    "authError",
                    "UNAUTHENTICATED",
                ),
            )
        if needed_any and not set(needed_any) & set(self.issued[token]):
            return Reply(
                403,
                _error(
                    403,
                    "Request had insufficient authentication scopes.",
                    "insufficientPermissions",
                    "PERMISSION_DENIED",
                ),
            )
        return None


def _error(code: int, message: str, reason: str, status: str) -> dict[str, object]:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"domain": "global", "reason": reason, "message": message}],
            "status": status,
        }
    }


def write_credentials(directory: Path, refresh_token: str = REFRESH_TOKEN) -> Path:
    """Write an authorized-user file as Google's tools do; return its path."""
    path = directory / "gmail-authorized-user.json"
    path.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": refresh_token,
            }
        )
    )
    return path
