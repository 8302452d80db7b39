"""What an API answered, in the one shape its rules read: a whole response or a batch's part.

An :class:`Answer` is a status, headers and a decoded body, with the ``METHOD /path`` it
answers. :class:`~engage.http.HttpClient` hands its failed responses to the adapter's
:data:`Classifier` as Answers, and :func:`~engage.http.retry_parts` hands it the parts of a
batch the same way, so one function holds an API's failure rules for both. :func:`judge`
applies those rules, then engage's defaults, to one failed answer: a wait before sending it
again, or the refusal it raises.
"""

from __future__ import annotations

import email.utils
import http
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import attrs
import requests

from engage.errors import AuthError, HttpError

#: Answers worth trying again: rate limited, or the server's own trouble.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in headers.items()}


@attrs.frozen
class Answer:
    """One answer of an API: a whole HTTP response, or one part of a batch answer.

    Attributes:
        status: The HTTP status.
        headers: Its headers, names lower-cased (see :meth:`header`).
        body: The body decoded: the JSON value, the text when it is not JSON, None when empty.
        endpoint: ``METHOD /path`` of the request it answers, without the query ("" unknown).
    """

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_lowered)
    body: Any = None
    endpoint: str = ""

    @classmethod
    def of(cls, response: requests.Response, endpoint: str | None = None) -> Answer:
        """The Answer of a ``requests`` response; ``endpoint`` defaults to its request's."""
        if endpoint is None:
            method = response.request.method if response.request is not None else None
            endpoint = f"{method or 'GET'} {urlsplit(response.url).path or '/'}"
        return cls(response.status_code, response.headers, decode(response), endpoint)

    @property
    def method(self) -> str:
        """The request's method (``GET``), "" when the endpoint is unknown."""
        return self.endpoint.partition(" ")[0]

    @property
    def path(self) -> str:
        """The request's path (``/crm/v3/owners``), "/" when the endpoint is unknown."""
        return self.endpoint.partition(" ")[2] or "/"

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), None when absent."""
        return self.headers.get(name.lower())


def decode(response: requests.Response) -> Any:
    """A response's body as :attr:`Answer.body` holds it: JSON, else text, None when empty."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def retry_after(answer: Answer) -> float | None:
    """Seconds the server asked us to wait (``Retry-After`` as seconds or an HTTP date)."""
    value = answer.header("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def api_message(answer: Answer) -> str:
    """The API's own explanation of a failed answer, shortened (the status's phrase when the
    body says nothing)."""
    data = answer.body
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
        for key in ("message", "error_description", "error"):
            if data.get(key):
                return str(data[key])[:300]
    text = str(data).strip() if data is not None else ""
    if text:
        return text[:300]
    try:
        return http.HTTPStatus(answer.status).phrase
    except ValueError:
        return "no message"


class Backoff:
    """Returned by a classifier: retry after the policy's usual exponential backoff."""

    def __repr__(self) -> str:
        return "BACKOFF"


BACKOFF = Backoff()

#: ``classify(answer, attempt)`` for a failed :class:`Answer` (a whole response or a batch's
#: part) on try ``attempt`` (0-based): seconds to wait before sending it again,
#: :data:`BACKOFF` for the policy's backoff, or None for engage's defaults (429 and 5xx are
#: retried, 401/403 are :class:`~engage.errors.AuthError`, another 4xx is refused). It may
#: raise an :class:`~engage.errors.HttpError` to fail. A ``Retry-After`` header, when the
#: answer has one, wins over the seconds it returns.
Classifier = Callable[[Answer, int], float | Backoff | None]


def judge(
    answer: Answer,
    attempt: int = 0,
    classify: Classifier | None = None,
    *,
    where: str = "",
    message: str | None = None,
) -> float | None:
    """What a failed ``answer`` calls for, by ``classify`` then engage's defaults.

    Args:
        answer: The failed answer (status 300 or more).
        attempt: The try it answered (0-based), for ``classify``.
        classify: The API's own rules (see :data:`Classifier`).
        where: Names the request in a refusal's message (``HubSpot: GET /crm/v3/owners``);
            its endpoint by default.
        message: What the API said, as the message should show it (redacted); by default
            :func:`api_message`.

    Returns:
        Seconds to wait before sending it again (``Retry-After``, else the seconds
        ``classify`` gave), or None for the retry policy's backoff.

    Raises:
        AuthError: 401 or 403, unless ``classify`` decided otherwise.
        HttpError: another status the defaults do not retry, or what ``classify`` raises.
    """
    decided = classify(answer, attempt) if classify is not None else None
    if decided is None and answer.status not in RETRY_STATUSES:
        said = message if message is not None else api_message(answer)
        text = f"{where or answer.endpoint}: HTTP {answer.status}: {said}"
        kind = AuthError if answer.status in (401, 403) else HttpError
        raise kind(text, answer.status, endpoint=answer.endpoint)
    asked = retry_after(answer)
    if asked is not None:
        return asked
    return None if decided is None or isinstance(decided, Backoff) else float(decided)
