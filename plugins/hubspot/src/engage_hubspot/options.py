"""The config keys of the HubSpot source and sink, and building a client from them."""

from __future__ import annotations

from typing import Literal

import attrs

from engage.adapters import AdapterContext, http_url
from engage.errors import ConfigError
from engage.options import option
from engage_hubspot.client import HubSpotClient

#: The variable the token is read from unless ``token_env`` names another.
TOKEN_ENV = "HUBSPOT_TOKEN"

Engagement = Literal["emails", "calls", "meetings", "notes"]


@attrs.frozen
class ConnectionOptions:
    """Keys both the source and the sink accept: the token, the API root and the limits."""

    token: str | None = option(
        default=None,
        env=TOKEN_ENV,
        secret=True,
        help="private app access token; keep it in $HUBSPOT_TOKEN rather than in the file",
    )
    token_env: str | None = option(
        default=None,
        help="another environment variable holding the token (a second account), "
        "read instead of $HUBSPOT_TOKEN",
    )
    base_url: str = option(
        default="https://api.hubapi.com",
        check=http_url,
        help="HubSpot API root (a test server's URL)",
    )
    requests_per_10s: int = option(
        default=100,
        minimum=1,
        help="burst limit per 10 seconds (100 Free/Starter, 190 Pro/Enterprise)",
    )
    searches_per_second: int = option(
        default=5, minimum=1, help="search API requests per second (HubSpot allows 5)"
    )


@attrs.frozen
class SourceOptions(ConnectionOptions):
    """The HubSpot source's keys (``[sources.NAME]`` with ``plugin = "hubspot"``)."""

    overlap_minutes: int = option(
        default=10,
        minimum=0,
        help="re-read this many minutes before the saved watermark (search indexing lag)",
    )
    segment_property: str = option(
        default="", help="company property whose value is the customer's segment (empty: none)"
    )
    company_properties: list[str] = option(
        factory=list, help="extra company properties copied into the customer's attributes"
    )
    engagements: list[Engagement] = option(
        factory=lambda: ["emails", "calls", "meetings", "notes"],
        help="engagement types to pull",
    )
    feedback: bool = option(
        default=True, help="pull feedback submissions (NPS/CSAT/CES); needs the feedback scope"
    )
    open_work: bool = option(
        default=True,
        help="read open deals and tickets to know which customers have running work",
    )


@attrs.frozen
class SinkOptions(ConnectionOptions):
    """The HubSpot sink's keys (``[sinks.NAME]`` with ``plugin = "hubspot"``)."""

    fallback_owner: str = option(
        default="",
        help="owner (email or HubSpot owner id) for tasks whose owner is unknown or gone",
    )
    complete_cleared: bool = option(
        default=False, help="mark tasks COMPLETED in HubSpot when their condition has cleared"
    )
    task_key_property: str = option(
        default="engage_task_key",
        help="unique task property holding engage's task key, created if missing "
        "(empty: none; the sink then looks for tasks before creating them)",
    )


def connect(options: ConnectionOptions, context: AdapterContext, role: str) -> HubSpotClient:
    """A client for the token: from the variable ``token_env`` names (in the context's
    environment) when it is given, else ``token`` (``$HUBSPOT_TOKEN``, read by engage).

    Raises:
        ConfigError: no token (the message names the variable, never a value).
    """
    env_name = options.token_env or TOKEN_ENV
    if options.token_env:
        token = (context.env.get(options.token_env) or "").strip()
    else:
        token = (options.token or "").strip()
    if not token:
        raise ConfigError(
            f"{context.table(role)}: environment variable {env_name} is not set; put a HubSpot "
            "private app access token in it (see token_env)"
        )
    return HubSpotClient(
        token,
        token_env=env_name,
        base_url=options.base_url,
        requests_per_10s=options.requests_per_10s,
        searches_per_second=options.searches_per_second,
    )
