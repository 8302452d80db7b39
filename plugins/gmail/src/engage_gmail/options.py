"""The Gmail source's and the Google sinks' typed options: built and checked by engage.

Every table that talks to Google takes the credential keys (:class:`CredentialOptions`).
The credentials file's path is an option, from the table or else from
``$GMAIL_CREDENTIALS_FILE``; the file's contents (the refresh token, the client secret)
never are: :func:`engage_gmail.auth.load_credentials` reads them when the adapter is built.

The variable is set on a machine for its API tables, so it never overrules a table's own
choice (engage records where each value came from, :func:`engage.options.origin`): a table
naming another variable with ``credentials_env`` reads that one, and a source table
reading ``mbox`` files ignores it. Only ``credentials_file`` and ``mbox`` both written in
the table are refused.
"""

from __future__ import annotations

import attrs

from engage.adapters import http_url
from engage.options import drop_env_value, option

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
#: The variable holding the credentials file's path unless ``credentials_env`` names another.
DEFAULT_CREDENTIALS_ENV = "GMAIL_CREDENTIALS_FILE"
GMAIL_URL = "https://gmail.googleapis.com"
TASKS_BASE_URL = "https://tasks.googleapis.com"
DEFAULT_TASKLIST = "@default"


@attrs.frozen
class CredentialOptions:
    """The keys every Google-facing table accepts: where the authorized-user file is."""

    credentials_file: str | None = option(
        default=None,
        env=DEFAULT_CREDENTIALS_ENV,
        help="path of the Google authorized-user JSON file (relative to the config file)",
    )
    credentials_env: str = option(
        default=DEFAULT_CREDENTIALS_ENV,
        help="environment variable holding the credentials file's path, read when "
        "credentials_file is not set (another one for a second mailbox)",
    )
    token_uri: str = option(
        default=GOOGLE_TOKEN_URI,
        check=http_url,
        help="Google's OAuth token endpoint (overrides the file's)",
    )

    def __attrs_post_init__(self) -> None:
        """A table naming another variable reads that one, not $GMAIL_CREDENTIALS_FILE."""
        if self.credentials_env != DEFAULT_CREDENTIALS_ENV:
            drop_env_value(self, "credentials_file")


@attrs.frozen
class SourceOptions(CredentialOptions):
    """The ``gmail`` source's keys (``[sources.NAME]`` with ``plugin = "gmail"``)."""

    base_url: str = option(default=GMAIL_URL, check=http_url, help="Gmail API root URL")
    lookback_days: int = option(
        default=365, minimum=1, help="how many days of mail the first sync reads"
    )
    mbox: str | None = option(
        default=None, help="Takeout mbox file or glob to read instead of the API"
    )
    mailbox_owner: str | None = option(
        default=None,
        help="the mailbox owner's address (default: profile, or the Sent mail's sender)",
    )
    checkpoint_every: int = option(
        default=500,
        minimum=1,
        help="mbox messages between checkpoints (the API checkpoints every batch)",
    )
    settle_seconds: int = option(
        default=60,
        minimum=0,
        help="mbox: seconds a file must be unchanged before a last message that does not "
        "end with an empty line counts as complete",
    )

    def __attrs_post_init__(self) -> None:
        """Refuse a table giving both ways to the mail (engage makes it a ConfigError); a
        path $GMAIL_CREDENTIALS_FILE filled is set aside in a table that reads mbox files."""
        super().__attrs_post_init__()
        if self.mbox and self.credentials_file and not drop_env_value(self, "credentials_file"):
            msg = "set either credentials_file (Gmail API) or mbox (Takeout files), not both"
            raise ValueError(msg)


@attrs.frozen
class DraftsOptions(CredentialOptions):
    """The ``gmail`` sink's keys (``[sinks.NAME]`` with ``plugin = "gmail"``)."""

    base_url: str = option(default=GMAIL_URL, check=http_url, help="the Gmail API root")
    reply_in_thread: bool = option(
        default=True,
        help="answer the latest conversation with the contact (needs gmail.readonly too)",
    )


@attrs.frozen
class TasksOptions(CredentialOptions):
    """The ``gtasks`` sink's keys (``[sinks.NAME]`` with ``plugin = "gtasks"``)."""

    base_url: str = option(default=TASKS_BASE_URL, check=http_url, help="the Google Tasks API root")
    tasklist: str = option(
        default=DEFAULT_TASKLIST, help="the task list's id or title, or @default"
    )


__all__ = [
    "DEFAULT_CREDENTIALS_ENV",
    "DEFAULT_TASKLIST",
    "GMAIL_URL",
    "GOOGLE_TOKEN_URI",
    "TASKS_BASE_URL",
    "CredentialOptions",
    "DraftsOptions",
    "SourceOptions",
    "TasksOptions",
]
