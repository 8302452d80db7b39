"""The task-key property: how the sink knows, from HubSpot alone, which tasks exist already.

Every task engage creates carries its key in a custom task property (``engage_task_key`` by
default) that has unique values (``hasUniqueValue: true``), so HubSpot itself refuses a second
task with the same key, and a key is found again with one batch read by ``idProperty`` per 100
keys, consistent at once (search lags behind). :func:`prepare` reads the property once per run
and creates it when it is missing, in the property group ``engage``; how it ends decides the
sink's :class:`Mode`:

- :attr:`Mode.UNIQUE`: the property has unique values; every create is safe as it stands.
- :attr:`Mode.SEARCH`: the property exists without unique values (made by hand for an earlier
  engage; HubSpot cannot add uniqueness to a property afterwards), so the sink looks before
  it creates: associations first, then search ``IN`` on the property, 100 keys a request.
- :attr:`Mode.BODY`: no property (it cannot be read or created, typically a 403 for the schema
  scope, or ``task_key_property = ""``): the sink looks before it creates, by associations and
  by the key marker in the body.

The last two come with a warning, said once per run.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

import attrs

from engage.http import AuthError, HttpError
from engage_hubspot.client import HubSpotClient

log = logging.getLogger(__name__)

#: The property group engage's task properties are created in.
GROUP = "engage"
GROUP_LABEL = "engage"


class Mode(enum.Enum):
    """How the sink tells whether a task exists in HubSpot already."""

    UNIQUE = "unique"
    SEARCH = "search"
    BODY = "body"


@attrs.frozen
class KeyProperty:
    """The task-key property as this run found it.

    Attributes:
        name: The property written with each task's key ("" in :attr:`Mode.BODY`).
        mode: How tasks are found again.
        warning: Why the sink cannot rely on HubSpot refusing duplicates, if it cannot.
    """

    name: str
    mode: Mode
    warning: str | None = None


def definition(name: str) -> dict[str, Any]:
    """The property engage creates: a single-line string with unique values, in group ``engage``."""
    return {
        "name": name,
        "label": "engage task key",
        "description": "engage's key for this follow-up task; HubSpot keeps it unique, so a "
        "task is never created twice.",
        "groupName": GROUP,
        "type": "string",
        "fieldType": "text",
        "hasUniqueValue": True,
        "formField": False,
    }


def prepare(client: HubSpotClient, name: str) -> KeyProperty:
    """Read the task-key property, creating it (and its group) when missing.

    Raises:
        HttpError: HubSpot failed in a way that says nothing about the property (5xx
            exhausted, 401): the push stops rather than create tasks without a safeguard.
    """
    if not name:
        return KeyProperty(
            "",
            Mode.BODY,
            "task_key_property is empty: HubSpot cannot refuse duplicate tasks, so the sink "
            "looks for each batch's tasks (associations, then the body marker) before creating it",
        )
    try:
        found = _read(client, name)
        if found is None:
            found = _create(client, name)
    except AuthError as exc:
        if exc.status != 403:
            raise
        return KeyProperty("", Mode.BODY, _fallback(name, str(exc)))
    except HttpError as exc:
        if exc.status is None or exc.status >= 500 or exc.status == 429:
            raise
        return KeyProperty("", Mode.BODY, _fallback(name, str(exc)))
    if found.get("hasUniqueValue"):
        return KeyProperty(name, Mode.UNIQUE)
    return KeyProperty(
        name,
        Mode.SEARCH,
        f"task property '{name}' exists without unique values (HubSpot cannot add them to an "
        "existing property), so HubSpot cannot refuse a duplicate task; the sink looks for each "
        "batch's tasks before creating it. Archive the property, or set task_key_property to a "
        "new name, to let engage create a unique one",
    )


def _read(client: HubSpotClient, name: str) -> dict[str, Any] | None:
    try:
        return client.property_definition("tasks", name)
    except AuthError:
        raise
    except HttpError as exc:
        if exc.status == 404:
            return None
        raise


def _create(client: HubSpotClient, name: str) -> dict[str, Any]:
    try:
        client.property_group("tasks", GROUP)
    except AuthError:
        raise
    except HttpError as exc:
        if exc.status != 404:
            raise
        try:
            client.create_property_group("tasks", GROUP, GROUP_LABEL)
        except AuthError:
            raise
        except HttpError as again:
            if again.status != 409:  # another run made it meanwhile
                raise
    try:
        created = client.create_property("tasks", definition(name))
    except AuthError:
        raise
    except HttpError as exc:
        if exc.status != 409:
            raise
        created = _read(client, name) or {}  # another run made it meanwhile
    log.info("created the HubSpot task property %s (unique values)", name)
    return created


def _fallback(name: str, why: str) -> str:
    return (
        f"could not read or create the unique task property '{name}' ({why}); without it "
        "HubSpot cannot refuse a duplicate task, so the sink looks for each batch's tasks "
        "(associations, then the body marker) before creating them"
    )
