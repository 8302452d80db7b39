"""HTTP for adapters: timeouts, bounded retries with backoff, rate limits, and no secret in any error.

Adapters declare endpoints and map records; this module owns the hard parts every web API
shares. :class:`HttpClient` wraps a :class:`requests.Session`:

- every request has a connect and a read timeout;
- connection errors, timeouts, 429 and 5xx answers are retried with exponential backoff and
  jitter, honouring ``Retry-After``, at most ``RetryPolicy.attempts`` times in all; then
  :class:`RetriesExhausted` says what kept failing;
- 401 and 403 raise :class:`AuthError` at once (retrying will not fix a token);
- any other 4xx raises :class:`HttpError` with the API's own message;
- :class:`RateLimiter` objects keep requests under an API's published rate;
- the secrets a client is given (tokens) are replaced by ``***`` in every message.

An adapter with its own rules (a 403 that means "slow down", a 429 that means "come back
tomorrow") passes ``classify``, which sees each failed response first.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import attrs
import requests

from engage.errors import EXIT_CONFIG, EXIT_TEMPFAIL, EngageError

#: Answers worth trying again: rate limited, or the server's own trouble.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class HttpError(EngageError):
    """An HTTP request failed; ``status`` is the last HTTP status (None for network faults).

    A refused request (a 4xx) needs a person: the exit code is ``EXIT_CONFIG`` (78).
    """

    exit_code: ClassVar[int] = EXIT_CONFIG

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(HttpError):
    """The API refused the credentials (401) or their scope (403)."""


class RetriesExhausted(HttpError):
    """A request kept failing with retriable errors until the retry budget ran out.

    Temporary: the exit code is ``EXIT_TEMPFAIL`` (75), the next run tries again.
    """

    exit_code: ClassVar[int] = EXIT_TEMPFAIL


@attrs.frozen
class RetryPolicy:
    """How hard to try.

    Attributes:
        attempts: Tries in all, the first included.
        base_delay: Seconds before the first retry; doubled each time, with jitter.
        max_delay: Longest backoff between two tries.
        max_retry_after: Longest ``Retry-After`` honoured; a longer one fails at once.
    """

    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (0-based), with full jitter."""
        ceiling = float(min(self.max_delay, self.base_delay * 2.0**attempt))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@attrs.define
class RateLimiter:
    """At most ``limit`` requests in any ``period`` seconds (a sliding window), shared by threads.

    Attributes:
        limit: Requests allowed per window.
        period: The window, in seconds.
    """

    limit: int
    period: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _sent: deque[float] = attrs.field(factory=deque, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)

    def acquire(self) -> None:
        """Wait until one more request fits in the window, then count it."""
        while True:
            with self._lock:
                now = self.clock()
                while self._sent and now - self._sent[0] >= self.period:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                wait = self.period - (now - self._sent[0])
            self.sleep(max(wait, 0.001))


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


class Backoff:
    """Returned by a classifier: retry after the policy's usual exponential backoff."""

    def __repr__(self) -> str:
        return "BACKOFF"


BACKOFF = Backoff()

#: ``classify(response, attempt)``: seconds to wait before retrying, :data:`BACKOFF` for the
#: policy's backoff, or None for the default rules. It may raise an :class:`HttpError` to fail.
Classifier = Callable[[requests.Response, int], float | Backoff | None]


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
        limiters: Rate limiters every request waits for.
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
        limiters: Iterable[RateLimiter] = (),
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

    def _say(self, text: str) -> str:
        return redact(text, self._secrets)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        limiters: Iterable[RateLimiter] = (),
    ) -> requests.Response:
        """Send a request, retrying what is worth retrying; return the successful response.

        ``path`` is joined to ``base_url`` unless it is a full URL. ``limiters`` add to the
        client's own (a search endpoint's tighter limit, say).

        Raises:
            AuthError: 401 or 403 (unless ``classify`` decided to retry it).
            HttpError: another 4xx, or a failure ``classify`` declared final.
            RetriesExhausted: every try failed with a retriable error.
        """
        url = (
            path
            if path.startswith(("http://", "https://"))
            else f"{self.base_url}/{path.lstrip('/')}"
        )
        where = f"{self.name}: {method} {self._say(path.split('?')[0])}"
        last = "no answer"
        status: int | None = None
        for attempt in range(self.retry.attempts):
            for limiter in (*self.limiters, *limiters):
                limiter.acquire()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    headers=headers,
                    timeout=self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                last, status = f"network error: {type(exc).__name__}", None
                delay = self.retry.backoff(attempt)
            else:
                if response.status_code < 400:
                    return response
                status = response.status_code
                message = self._say(api_message(response))
                last = f"HTTP {status}: {message}"
                decided = self.classify(response, attempt) if self.classify else None
                if decided is None:
                    decided = self._default_delay(response, attempt, where, message)
                delay = self.retry.backoff(attempt) if isinstance(decided, Backoff) else decided
            if attempt + 1 < self.retry.attempts:
                self.sleep(delay)
        raise RetriesExhausted(
            f"{where} failed {self.retry.attempts} times; last: {last}. Nothing was changed; the next run tries again.",
            status,
        )

    def _default_delay(
        self, response: requests.Response, attempt: int, where: str, message: str
    ) -> float:
        status = response.status_code
        if status in (401, 403):
            raise AuthError(f"{where}: HTTP {status}: {message}", status)
        if status not in RETRY_STATUSES:
            raise HttpError(f"{where}: HTTP {status}: {message}", status)
        asked = retry_after(response)
        if asked is None:
            return self.retry.backoff(attempt)
        if asked > self.retry.max_retry_after:
            raise RetriesExhausted(
                f"{where}: HTTP {status}: the API asks to wait {asked:.0f} s, longer than "
                f"{self.retry.max_retry_after:.0f} s: {message}",
                status,
            )
        return asked

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET and decode JSON."""
        return self._json(self.request("GET", path, **kwargs), path)

    def post_json(self, path: str, body: Any, **kwargs: Any) -> Any:
        """POST a JSON body and decode the JSON answer (None for an empty one)."""
        return self._json(self.request("POST", path, json=body, **kwargs), path)

    def _json(self, response: requests.Response, path: str) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise HttpError(
                f"{self.name}: {self._say(path.split('?')[0])}: expected JSON, got "
                f"{response.headers.get('Content-Type', 'no content type')}",
                response.status_code,
            ) from None
