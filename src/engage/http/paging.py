"""Paging: following an API's page tokens to the last page, the same way for every adapter.

An adapter says where its API keeps things and :func:`paginate` does the walking:

- ``fetch`` sends one request with the paging fields merged in (query parameters or a JSON
  body, the adapter knows which);
- ``token`` names the field the next page's token goes in (``after``, ``pageToken``);
- ``next_token`` and ``items`` say where the answer keeps the next token
  (``paging.next.after``, ``nextPageToken``) and the records (``results``, ``messages``),
  as dotted paths or functions;
- ``size`` is the page-size field and its value (``("limit", 100)``), ``limit`` the most
  records in all (HubSpot's search stops at 10,000), ``start`` a token to resume from.

A token of another type than a string (or a number, made a string), records that are not a
list, and a token the API gave before (it would page forever) raise
:class:`~engage.errors.UnexpectedAnswer`, naming the endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import attrs

from engage.errors import UnexpectedAnswer

A = TypeVar("A")


@attrs.frozen
class Page(Generic[A]):
    """One page of a paged answer.

    Attributes:
        answer: The page's whole answer (the adapter may read more of it: ``total``).
        items: Its records (no more than the ``limit`` leaves).
        next: The token of the next page; None on the last one (a checkpoint can keep it
            and resume with ``start``).
    """

    answer: A
    items: list[Any]
    next: str | None


def paginate(
    fetch: Callable[[dict[str, Any]], A],
    *,
    token: str,
    next_token: str | Callable[[A], object],
    items: str | Callable[[A], object],
    size: tuple[str, int] | None = None,
    start: str | None = None,
    limit: int | None = None,
    progress: Callable[[Page[A]], None] | None = None,
    where: str = "the API",
) -> Iterator[Page[A]]:
    """Every page from ``start`` (the first page when None) to the last, lazily.

    Args:
        fetch: Sends one request with these paging fields added; returns the decoded answer.
        token: The request field the page token goes in; left out of the first request
            unless ``start`` is given.
        next_token: Where the answer keeps the next page's token: a dotted path into JSON
            objects, or a function of the answer. None or "" means the last page.
        items: Where the answer keeps the page's records, likewise (None means none).
        size: The page-size field and the size asked for (shrunk to what ``limit`` leaves).
        start: The token to start from (a saved one, to resume).
        limit: The most records in all; paging stops there.
        progress: Called with each page before it is yielded.
        where: Names the endpoint in errors (``HubSpot: GET /crm/v3/owners``).

    Raises:
        UnexpectedAnswer: the answer is not of the shape described, or repeats a token.
    """
    used: set[str] = set() if start is None else {start}
    count = 0
    current = start
    while True:
        fields: dict[str, Any] = {} if current is None else {token: current}
        if size is not None:
            name, most = size
            fields[name] = most if limit is None else min(most, limit - count)
        answer = fetch(fields)
        found = _records(answer, items, where)
        following = _token(answer, next_token, where)
        if limit is not None and count + len(found) >= limit:
            found, following = found[: limit - count], None
        if following is not None:
            if following in used:
                msg = f"{where} answered a paging token it gave before ({following!r}): it would page forever"
                raise UnexpectedAnswer(msg)
            used.add(following)
        count += len(found)
        page = Page(answer, found, following)
        if progress is not None:
            progress(page)
        yield page
        if following is None:
            return
        current = following


def dig(answer: object, path: str, where: str) -> object:
    """The value at a dotted ``path`` of JSON objects (None where a key is missing).

    Raises:
        UnexpectedAnswer: something on the way is not a JSON object.
    """
    value = answer
    walked: list[str] = []
    for key in path.split("."):
        if value is None:
            return None
        if not isinstance(value, Mapping):
            what = f"'{'.'.join(walked)}'" if walked else "a body"
            raise UnexpectedAnswer(f"{where} answered {what} that is not a JSON object")
        value = value.get(key)
        walked.append(key)
    return value


def _records(answer: A, items: str | Callable[[A], object], where: str) -> list[Any]:
    found = items(answer) if callable(items) else dig(answer, items, where)
    if found is None:
        return []
    if not isinstance(found, list):
        name = f"'{items}'" if isinstance(items, str) else "records"
        raise UnexpectedAnswer(f"{where} answered {name} that is not a list")
    return found


def _token(answer: A, next_token: str | Callable[[A], object], where: str) -> str | None:
    value = next_token(answer) if callable(next_token) else dig(answer, next_token, where)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    name = f" ('{next_token}')" if isinstance(next_token, str) else ""
    raise UnexpectedAnswer(f"{where} answered a paging token{name} that is not a string")
