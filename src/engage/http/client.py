"""The HTTP client: timeouts, bounded retries with backoff and jitter, ``Retry-After``, no secrets.

:class:`HttpClient` wraps a :class:`requests.Session`. Every try of a request goes through one
place (:meth:`HttpClient._try`), which waits for the rate limiters, sends, and sorts what came
back: an answer, a refusal (raised at once: :class:`~engage.errors.AuthError` for 401/403,
:class:`~engage.errors.HttpError` for another 4xx), or a failure worth trying again (429, 5xx,
the network, or what the adapter's ``classify`` says), with the wait it asks for. A plain
request tries again after that wait, up to :attr:`RetryPolicy.attempts` tries; a request sent
with ``once=True`` (a create) never does, and says whether it may have been written.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import requests
import urllib3.exceptions

from engage.errors import (
    AmbiguousWrite,
    AuthError,
    Fault,
    HttpError,
    RetriableHttpError,
    RetriesExhausted,
    UnexpectedAnswer,
)
from engage.http.limits import Limit, acquire

#: Answers worth trying again: rate limited, or the server's own trouble.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@attrs.frozen
class RetryPolicy:
    """How hard to try.

    Attributes:
        attempts: Tries in all, the first included.
        base_delay: Seconds before the first retry; doubled each time, with jitter.
        max_delay: Longest backoff between two tries.
        max_retry_after: Longest wait a server may ask for (``Retry-After``); a longer one
            fails at once, retriable: the next run tries again.
    """

    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (0-based), with jitter."""
        ceiling = float(min(self.max_delay, self.base_delay * 2.0**attempt))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def wait(self, asked: float | None, attempt: int) -> float:
        """Seconds to wait after failed try ``attempt``: what was ``asked``, else the backoff."""
        return asked if asked is not None else self.backoff(attempt)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every non-empty secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def retry_after(response: requests.Response) -> float | None:
    """Seconds the server asked us to wait (``Retry-After`` as seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
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


def api_message(response: requests.Response) -> str:
    """The API's own explanation of a failed response, shortened."""
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:300] if text else response.reason or "no message"
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
        for key in ("message", "error_description", "error"):
            if data.get(key):
                return str(data[key])[:300]
    return str(data)[:300]


def fault_of(exc: requests.RequestException) -> Fault:
    """What a network failure says about the request: never sent, maybe in flight, or over."""
    if isinstance(exc, requests.ConnectTimeout):
        return Fault.CONNECT
    if isinstance(exc, requests.Timeout):
        return Fault.READ_TIMEOUT
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return Fault.ANSWER
    cause = exc.args[0] if exc.args else None
    if isinstance(getattr(cause, "reason", cause), urllib3.exceptions.NewConnectionError):
        return Fault.CONNECT
    return Fault.DROPPED


class Backoff:
    """Returned by a classifier: retry after the policy's usual exponential backoff."""

    def __repr__(self) -> str:
        return "BACKOFF"


BACKOFF = Backoff()

#: ``classify(response, attempt)``: seconds to wait before retrying, :data:`BACKOFF` for the
#: policy's backoff, or None for the default rules. It may raise an :class:`HttpError` to fail.
#: A ``Retry-After`` header, when the answer has one, wins over the seconds it returns.
Classifier = Callable[[requests.Response, int], float | Backoff | None]

#: Network failures a try can meet; anything else requests raises is a refusal (a bad URL).
_NETWORK = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


@attrs.frozen
class _Failed:
    """A try that may succeed if sent again: what happened, and how long to wait first."""

    detail: str  # "HTTP 503: message" or "network error: ReadTimeout"
    status: int | None
    fault: Fault
    wait: float | None  # asked by Retry-After or the classifier; None: the policy's backoff
    asked: float | None  # the Retry-After header, when there was one


class HttpClient:
    """A requests session with timeouts, retries, rate limits and redaction.

    Args:
        base_url: The API root, e.g. ``https://api.hubapi.com`` (a test gives its loopback fake).
        name: Names the API in messages (``HubSpot``).
        session: The session to use (an ``AuthorizedSession`` for Google); a new one by default.
        headers: Headers for every request (an ``Authorization`` header, say).
        secrets: Values that must never appear in a message (tokens).
        timeout: Connect and read timeouts, in seconds.
        retry: The retry budget.
        limiters: Rate limiters every try waits for (a :class:`~engage.http.Units` for a
            limiter counted in units).
        classify: Adapter-specific handling of failed responses (see :data:`Classifier`).
        sleep: How to wait (tests pass a recorder).
    """

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        session: requests.Session | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        timeout: tuple[float, float] = (10.0, 60.0),
        retry: RetryPolicy | None = None,
        limiters: Iterable[Limit] = (),
        classify: Classifier | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.session = session or requests.Session()
        if headers:
            self.session.headers.update(headers)
        self._secrets = tuple(s for s in secrets if s)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.limiters = tuple(limiters)
        self.classify = classify
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"HttpClient({self.name!r}, {self.base_url!r})"

    def redact(self, text: str) -> str:
        """``text`` without the client's secrets."""
        return redact(text, self._secrets)

    def endpoint(self, method: str, path: str) -> str:
        """``METHOD /path`` for messages: no query string, no secret."""
        return f"{method} /{self.redact(path.split('?')[0]).lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        limiters: Iterable[Limit] = (),
        once: bool = False,
    ) -> requests.Response:
        """Send a request, retrying what is worth retrying; return the successful response.

        ``path`` is joined to ``base_url`` unless it is a full URL. ``limiters`` add to the
        client's own (a search endpoint's tighter limit, a method's quota units). With
        ``once`` the request is sent a single time, as a create must be (see Raises).

        Raises:
            AuthError: 401 or 403 (unless ``classify`` decided to retry it).
            HttpError: another 4xx, or a failure ``classify`` declared final.
            RetriesExhausted: every try failed with a retriable error, or the server asked to
                wait longer than :attr:`RetryPolicy.max_retry_after`.
            AmbiguousWrite: with ``once``: sent, and the answer lost (5xx, read timeout,
                dropped connection): it may have been written.
            RetriableHttpError: with ``once``: refused in a way that wrote nothing and may
                pass (429, a connection never made); ``retry_after`` says how long to wait.
        """
        endpoint = self.endpoint(method, path)
        where = f"{self.name}: {endpoint}"
        send: dict[str, Any] = {"params": params, "json": json, "data": data, "headers": headers}
        attempts = 1 if once else self.retry.attempts
        for attempt in range(attempts):
            outcome = self._try(method, path, where, attempt, (*self.limiters, *limiters), send)
            if isinstance(outcome, requests.Response):
                return outcome
            last = outcome
            if last.asked is not None and last.asked > self.retry.max_retry_after:
                self._too_long(last, where, endpoint, once)
            if once:
                raise _once_error(last, where, endpoint)
            if attempt + 1 < attempts:
                self.sleep(self.retry.wait(last.wait, attempt))
        raise RetriesExhausted(
            f"{where} failed {attempts} times; last: {last.detail}. Nothing was changed; "
            "the next run tries again.",
            last.status,
            endpoint=endpoint,
            fault=last.fault,
            retry_after=last.wait,
        )

    def _try(
        self,
        method: str,
        path: str,
        where: str,
        attempt: int,
        limiters: Iterable[Limit],
        send: Mapping[str, Any],
    ) -> requests.Response | _Failed:
        """One try: the answer, or what failed and how long to wait; raises refusals."""
        full = path.startswith(("http://", "https://"))
        url = path if full else f"{self.base_url}/{path.lstrip('/')}"
        for limit in limiters:
            acquire(limit)
        try:
            response = self.session.request(method, url, timeout=self.timeout, **send)
        except _NETWORK as exc:
            return _Failed(f"network error: {type(exc).__name__}", None, fault_of(exc), None, None)
        except requests.RequestException as exc:  # a URL or header requests refuses to send
            raise HttpError(
                f"{where}: {type(exc).__name__}: {self.redact(str(exc))}",
                endpoint=self.endpoint(method, path),
            ) from None
        if response.status_code < 400:
            return response
        status = response.status_code
        message = self.redact(api_message(response))
        decided = self.classify(response, attempt) if self.classify else None
        if decided is None:
            endpoint = self.endpoint(method, path)
            if status in (401, 403):
                raise AuthError(f"{where}: HTTP {status}: {message}", status, endpoint=endpoint)
            if status not in RETRY_STATUSES:
                raise HttpError(f"{where}: HTTP {status}: {message}", status, endpoint=endpoint)
        asked = retry_after(response)
        wait = asked if asked is not None else _seconds(decided)
        return _Failed(f"HTTP {status}: {message}", status, Fault.STATUS, wait, asked)

    def _too_long(self, failed: _Failed, where: str, endpoint: str, once: bool) -> None:
        said = failed.detail.split(": ", 1)
        text = (
            f"{where}: {said[0]} ({said[-1]}): the API asks to wait {failed.asked:.0f} s "
            f"(Retry-After), longer than the {self.retry.max_retry_after:.0f} s a run waits; "
            "the next run tries again"
        )
        kind = AmbiguousWrite if once and _maybe_written(failed) else RetriesExhausted
        raise kind(
            text, failed.status, endpoint=endpoint, fault=failed.fault, retry_after=failed.asked
        )

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET and decode JSON.

        Raises:
            UnexpectedAnswer: the answer is not JSON; and what :meth:`request` raises.
        """
        return self.json_of(self.request("GET", path, **kwargs), "GET", path)

    def post_json(self, path: str, body: Any, **kwargs: Any) -> Any:
        """POST a JSON body and decode the JSON answer (None for an empty one).

        With ``once=True`` an answer that is not JSON raises :class:`AmbiguousWrite`: the
        write may have happened.
        """
        response = self.request("POST", path, json=body, **kwargs)
        try:
            return self.json_of(response, "POST", path)
        except UnexpectedAnswer as exc:
            if not kwargs.get("once"):
                raise
            raise AmbiguousWrite(
                f"{exc}; it may have been written", endpoint=exc.endpoint, fault=Fault.ANSWER
            ) from None

    def json_of(self, response: requests.Response, method: str, path: str) -> Any:
        """The JSON a 2xx ``response`` carries (None for an empty body).

        Raises:
            UnexpectedAnswer: the body is not JSON (an HTML page from a proxy, a cut body).
        """
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            got = response.headers.get("Content-Type") or "no content type"
            endpoint = self.endpoint(method, path)
            raise UnexpectedAnswer(
                f"{self.name}: {endpoint} answered {response.status_code} with no JSON "
                f"(expected JSON, got {got})",
                endpoint=endpoint,
            ) from None


def _seconds(decided: float | Backoff | None) -> float | None:
    """A classifier's wait in seconds; None for the policy's backoff."""
    return None if decided is None or isinstance(decided, Backoff) else float(decided)


def _maybe_written(failed: _Failed) -> bool:
    """Whether a write whose try failed so may have happened all the same."""
    if failed.fault is Fault.STATUS:
        return failed.status is not None and failed.status >= 500
    return failed.fault is not Fault.CONNECT


def _once_error(failed: _Failed, where: str, endpoint: str) -> RetriableHttpError:
    """The error of a write sent once: ambiguous when it may have been written."""
    kind = AmbiguousWrite if _maybe_written(failed) else RetriableHttpError
    said = "it may have been written" if kind is AmbiguousWrite else "nothing was written"
    return kind(
        f"{where}: {failed.detail}; {said}",
        failed.status,
        endpoint=endpoint,
        fault=failed.fault,
        retry_after=failed.wait,
    )
