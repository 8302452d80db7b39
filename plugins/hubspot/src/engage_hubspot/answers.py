"""The shape of HubSpot's answers, checked in one place before anything reads them.

Every 2xx answer the client hands on is a JSON object whose ``results`` and ``errors`` are
lists of objects, each result with a usable ``id`` (made a string) and objects where objects
are due; anything else is an :class:`~engage.errors.UnexpectedAnswer` naming the endpoint
(temporary: a proxy's page or a cut body, not the user's configuration). Page tokens are
checked by :func:`engage.http.paginate`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from engage.errors import UnexpectedAnswer
from engage.http import Answer


@attrs.frozen
class WriteOutcome:
    """What one batch write answered: the objects written and the per-input errors (207)."""

    results: list[dict[str, Any]]
    errors: list[dict[str, Any]]

    @classmethod
    def from_answer(cls, answer: Answer) -> WriteOutcome:
        """The outcome a batch write's answer holds, checked by :func:`check_answer`.

        Raises:
            UnexpectedAnswer: the answer is not of HubSpot's shape.
        """
        data = check_answer(answer)
        return cls(list(data.get("results") or []), list(data.get("errors") or []))


def check_answer(answer: Answer) -> dict[str, Any]:
    """The JSON object a 2xx answer carries, checked for the shape every HubSpot answer has:
    ``results`` and ``errors`` are lists of objects, each result with a string or number
    ``id`` (made a string) and objects for ``properties`` and ``associations``.

    The ``expect`` of every :class:`~engage.http.HttpClient` call of
    :class:`~engage_hubspot.client.HubSpotClient` (which has already refused a body that
    is not JSON).

    Raises:
        UnexpectedAnswer: the body is not of that shape.
    """
    data = answer.body
    endpoint = answer.endpoint

    def wrong(what: str) -> UnexpectedAnswer:
        said = f"HubSpot: {endpoint} answered {answer.status} with {what}"
        return UnexpectedAnswer(said, endpoint=endpoint)

    if not isinstance(data, dict):
        raise wrong("no JSON object")
    for name in ("results", "errors"):
        items = data.get(name)
        if items is None:
            continue
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise wrong(f"'{name}' not a list of objects")
    for result in data.get("results") or []:
        _check_record(result, wrong)
    return data


def _check_record(record: dict[str, Any], wrong: Callable[[str], UnexpectedAnswer]) -> None:
    """One result: a usable ``id`` (made a string), objects where objects are due. An
    association names its objects instead (``from`` and ``to``, or ``toObjectId``)."""
    if "from" in record:
        source = record["from"]
        if not isinstance(source, dict) or not _is_id(source.get("id")):
            raise wrong("an association whose 'from' has no 'id'")
    elif "toObjectId" not in record:
        if not _is_id(record.get("id")):
            raise wrong(f"a result whose 'id' is {type(record.get('id')).__name__}, not a string")
        record["id"] = str(record["id"])
    for name in ("properties", "associations"):
        if record.get(name) is not None and not isinstance(record[name], dict):
            raise wrong(f"a result whose '{name}' is not an object")
    props = record.get("properties") or {}
    if any(v is not None and not isinstance(v, str | int | float) for v in props.values()):
        raise wrong("a property value that is not a string")
    for name in ("createdAt", "updatedAt"):
        if record.get(name) is not None and not isinstance(record[name], str):
            raise wrong(f"a result whose '{name}' is not a string")
    if record.get("archived") is not None and not isinstance(record["archived"], bool):
        raise wrong("a result whose 'archived' is not true or false")
    if record.get("to") is not None:
        to = record["to"]
        if not isinstance(to, list) or not all(
            isinstance(t, dict) and _is_id(t.get("toObjectId")) for t in to
        ):
            raise wrong("a result whose 'to' is not a list of objects with a 'toObjectId'")
    if "toObjectId" in record and not _is_id(record["toObjectId"]):
        raise wrong("a result whose 'toObjectId' is not an id")


def _is_id(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, str | int) and value != ""
