"""The config keys of the HubSpot source and sink, and building a client from them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engage.adapters import AdapterContext, Option, http_url
from engage.errors import ConfigError
from engage_hubspot.client import HubSpotClient

#: Keys both the source and the sink accept.
CONNECTION: Mapping[str, Option] = {
    "token_env": Option(
        str, "HUBSPOT_TOKEN", help="environment variable holding the private app access token"
    ),
    "base_url": Option(
        str,
        "https://api.hubapi.com",
        help="HubSpot API root (a test server's URL)",
        check=http_url,
    ),
    "requests_per_10s": Option(
        int,
        100,
        help="burst limit per 10 seconds (100 Free/Starter, 190 Pro/Enterprise)",
        minimum=1,
    ),
    "searches_per_second": Option(
        int, 5, help="search API requests per second (HubSpot allows 5)", minimum=1
    ),
}

SOURCE_OPTIONS: Mapping[str, Option] = {
    **CONNECTION,
    "overlap_minutes": Option(
        int,
        10,
        help="re-read this many minutes before the saved watermark (search indexing lag)",
        minimum=0,
    ),
    "segment_property": Option(
        str, "", help="company property whose value is the customer's segment (empty: none)"
    ),
    "company_properties": Option(
        list, [], help="extra company properties copied into the customer's attributes"
    ),
    "engagements": Option(
        list,
        ["emails", "calls", "meetings", "notes"],
        help="engagement types to pull (emails, calls, meetings, notes)",
    ),
    "feedback": Option(
        bool, True, help="pull feedback submissions (NPS/CSAT/CES); needs the feedback scope"
    ),
    "open_work": Option(
        bool, True, help="read open deals and tickets to know which customers have running work"
    ),
}

SINK_OPTIONS: Mapping[str, Option] = {
    **CONNECTION,
    "fallback_owner": Option(
        str, "", help="owner (email or HubSpot owner id) for tasks whose owner is unknown or gone"
    ),
    "complete_cleared": Option(
        bool, False, help="mark tasks COMPLETED in HubSpot when their condition has cleared"
    ),
    "task_key_property": Option(
        str,
        "engage_task_key",
        help="unique task property holding engage's task key, created if missing "
        "(empty: none; the sink then looks for tasks before creating them)",
    ),
}

ENGAGEMENT_TYPES = ("emails", "calls", "meetings", "notes")


def connect(options: Mapping[str, Any], context: AdapterContext, role: str) -> HubSpotClient:
    """A client for the token in the environment variable ``token_env``.

    Raises:
        ConfigError: the variable is not set.
    """
    env_name = options["token_env"]
    token = (context.env.get(env_name) or "").strip()
    if not token:
        raise ConfigError(
            f"{context.table(role)}: environment variable {env_name} is not set; put a HubSpot "
            "private app access token in it (see token_env)"
        )
    return HubSpotClient(
        token,
        token_env=env_name,
        base_url=options["base_url"],
        requests_per_10s=options["requests_per_10s"],
        searches_per_second=options["searches_per_second"],
    )


def check_engagements(names: list[Any], where: str) -> tuple[str, ...]:
    """The configured engagement types, each checked against the known ones."""
    for name in names:
        if name not in ENGAGEMENT_TYPES:
            raise ConfigError(
                f"{where}: engagements: unknown type {name!r} (expected some of: "
                f"{', '.join(ENGAGEMENT_TYPES)})"
            )
    return tuple(dict.fromkeys(names))
