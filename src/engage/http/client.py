"""The HTTP client: timeouts, bounded retries with backoff and jitter, ``Retry-After``, no secrets.

:class:`HttpClient` wraps a :class:`requests.Session`. Every try of a request goes through one
place (:meth:`HttpClient._try`), which waits for the rate limiters, sends, and sorts what came
back: an answer, a refusal (raised at once: :class:`~engage.errors.AuthError` for 401/403,
:class:`~engage.errors.HttpError` for another 4xx), or a failure worth trying again (429, 5xx,
the network, a session that raised :class:`~engage.errors.NotSent` before sending, or what
the adapter's ``classify`` says of the :class:`~engage.http.Answer`), with the wait it asks
for. A plain
request tries again after that wait, up to :attr:`RetryPolicy.attempts` tries; a request sent
with ``once=True`` (a create) never does, and says whether it may have been written.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, TypeVar, overload
from urllib.parse import urlsplit

import attrs
import requests
import urllib3.exceptions

from engage.errors import (
    AmbiguousWrite,
    Fault,
    HttpError,
    NotSent,
    RetriableHttpError,
    RetriesExhausted,
    UnexpectedAnswer,
)
from engage.http.answer import Answer, Classifier, api_message, judge, retry_after
from engage.http.limits import Limit, acquire, settle
from engage.http.paging import dig

T = TypeVar("T")

#: The fields a 2xx answer must carry (see :meth:`HttpClient.read`): their names, or their
#: names and types.
Fields = Collection[str] | Mapping[str, type | tuple[type, ...]]
#: What a 2xx answer must hold: :data:`Fields`, or a function reading the :class:`Answer`.
Expect = Fields | Callable[[Answer], Any]


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
        #: The values kept out of every message (the ``secrets`` given).
        self.secrets = tuple(s for s in secrets if s)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.limiters = tuple(limiters)
        self.classify = classify
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"HttpClient({self.name!r}, {self.base_url!r})"

    def redact(self, text: str) -> str:
        """``text`` without the client's secrets."""
        return redact(text, self.secrets)

    def endpoint(self, method: str, path: str) -> str:
        """``METHOD /path`` for messages: no query string, no secret (a full URL's path)."""
        if path.startswith(("http://", "https://")):
            path = urlsplit(path).path
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
            NotSent: with ``once``: never sent (a connection never made, or the session
                failed before sending: :class:`~engage.errors.NotSent`); nothing was written.
            RetriableHttpError: with ``once``: refused in a way that wrote nothing and may
                pass (a 429); ``retry_after`` says how long to wait.
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
        held = [(limit, acquire(limit)) for limit in limiters]
        try:
            response = self.session.request(method, url, timeout=self.timeout, **send)
        except NotSent as exc:  # the session failed before sending (a token refresh)
            detail = f"not sent: {self.redact(str(exc))}"
            return _Failed(detail, None, Fault.CONNECT, exc.retry_after, None)
        except _NETWORK as exc:
            return _Failed(f"network error: {type(exc).__name__}", None, fault_of(exc), None, None)
        except requests.RequestException as exc:  # a URL or header requests refuses to send
            raise HttpError(
                f"{where}: {type(exc).__name__}: {self.redact(str(exc))}",
                endpoint=self.endpoint(method, path),
            ) from None
        finally:  # the API counted the request somewhere between send and now
            for limit, reservation in held:
                settle(limit, reservation)
        if response.status_code < 400:
            return response
        answer = Answer.of(response, self.endpoint(method, path))
        message = self.redact(api_message(answer))
        wait = judge(answer, attempt, self.classify, where=where, message=message)
        detail = f"HTTP {answer.status}: {message}"
        return _Failed(detail, answer.status, Fault.STATUS, wait, retry_after(answer))

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

    @overload
    def get_json(self, path: str, *, expect: Callable[[Answer], T], **kwargs: Any) -> T: ...
    @overload
    def get_json(self, path: str, *, expect: Fields | None = None, **kwargs: Any) -> Any: ...
    def get_json(self, path: str, *, expect: Expect | None = None, **kwargs: Any) -> Any:
        """GET and decode JSON; ``expect`` checks it (see :meth:`read`).

        Raises:
            UnexpectedAnswer: the answer is not JSON, or not what ``expect`` asks; and what
                :meth:`request` raises.
        """
        return self.read(self.request("GET", path, **kwargs), "GET", path, expect)

    @overload
    def post_json(
        self,
        path: str,
        body: Any,
        *,
        once: bool = False,
        expect: Callable[[Answer], T],
        **kwargs: Any,
    ) -> T: ...
    @overload
    def post_json(
        self,
        path: str,
        body: Any,
        *,
        once: bool = False,
        expect: Fields | None = None,
        **kwargs: Any,
    ) -> Any: ...
    def post_json(
        self,
        path: str,
        body: Any,
        *,
        once: bool = False,
        expect: Expect | None = None,
        **kwargs: Any,
    ) -> Any:
        """POST a JSON body and decode the JSON answer (None for an empty one).

        ``expect`` says what a 2xx answer must hold (see :meth:`read`): fields by name, or by
        name and type (``{"id": str}``: the new object's id), or a function reading the
        :class:`Answer`.
        With ``once=True`` the request is a write sent a single time (see :meth:`request`),
        and a 2xx answer that is not JSON or not what ``expect`` asks raises
        :class:`AmbiguousWrite`: the write may have happened, so look before sending it
        again (:func:`~engage.http.create_once` does).

        Raises:
            AmbiguousWrite: with ``once``: the answer was lost, or is not what was expected.
            UnexpectedAnswer: without ``once``: the answer is not what was expected.
            NotSent, RetriableHttpError, RetriesExhausted, HttpError, AuthError: as
                :meth:`request` raises them.
        """
        response = self.request("POST", path, json=body, once=once, **kwargs)
        try:
            return self.read(response, "POST", path, expect)
        except UnexpectedAnswer as exc:
            if not once:
                raise
            raise AmbiguousWrite(
                f"{exc}; it may have been written", endpoint=exc.endpoint, fault=Fault.ANSWER
            ) from None

    def read(
        self, response: requests.Response, method: str, path: str, expect: Expect | None = None
    ) -> Any:
        """The JSON a 2xx ``response`` carries, checked against ``expect``.

        Args:
            response: The answer :meth:`request` returned.
            method: Its request's method, for messages.
            path: Its request's path, for messages.
            expect: None to take any JSON (None for an empty body). Names of fields (dotted
                for nested objects: ``"paging.next.after"``): the answer must be a JSON object
                in which each holds a value (not null, not ""); an empty collection asks for
                a JSON object only. A mapping of names to types (``{"id": str}``) also asks
                for each value's type (a bool is no int). Or a function of the
                :class:`Answer` (status, headers, the decoded body, endpoint) returning what
                this returns; it raises :class:`UnexpectedAnswer` for an answer of the wrong
                shape (a ``KeyError``, ``TypeError`` or ``ValueError`` it raises counts the
                same).

        Raises:
            UnexpectedAnswer: the body is not JSON (an HTML page from a proxy, a cut body),
                or not what ``expect`` asks.
        """
        data = self.json_of(response, method, path)
        if expect is None:
            return data
        endpoint = self.endpoint(method, path)
        said = f"{self.name}: {endpoint} answered {response.status_code}"
        if callable(expect):
            try:
                return expect(Answer(response.status_code, response.headers, data, endpoint))
            except UnexpectedAnswer:
                raise
            except (LookupError, TypeError, ValueError) as exc:
                why = self.redact(f"{type(exc).__name__}: {exc}")[:200]
                raise UnexpectedAnswer(
                    f"{said} with a body of another shape ({why})", endpoint=endpoint
                ) from None
        if not isinstance(data, dict):
            raise UnexpectedAnswer(f"{said} with no JSON object", endpoint=endpoint)
        types = expect if isinstance(expect, Mapping) else dict.fromkeys(_names(expect), object)
        lacking = [n for n, kind in types.items() if not _carries(dig(data, n, said), kind)]
        if lacking:
            quoted = ", ".join(f"'{name}'" for name in lacking)
            raise UnexpectedAnswer(f"{said} without {quoted}", endpoint=endpoint)
        return data

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


def _names(fields: Collection[str]) -> tuple[str, ...]:
    """The field names of an ``expect``: a lone string is one name, not its letters."""
    return (fields,) if isinstance(fields, str) else tuple(fields)


def _carries(value: object, kind: type | tuple[type, ...]) -> bool:
    """Whether an expected field holds a value (not null, not "") of ``kind``."""
    if value is None or value == "" or not isinstance(value, kind):
        return False
    return not isinstance(value, bool) or _allows_bool(kind)


def _allows_bool(kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return bool in kinds or object in kinds


def _maybe_written(failed: _Failed) -> bool:
    """Whether a write whose try failed so may have happened all the same."""
    if failed.fault is Fault.STATUS:
        return failed.status is not None and failed.status >= 500
    return failed.fault is not Fault.CONNECT


def _once_error(failed: _Failed, where: str, endpoint: str) -> RetriableHttpError:
    """The error of a write sent once: ambiguous when it may have been written, NotSent when
    it never left."""
    if failed.fault is Fault.CONNECT:
        text = f"{where}: {failed.detail}; nothing was written"
        return NotSent(text, endpoint=endpoint, retry_after=failed.wait)
    kind = AmbiguousWrite if _maybe_written(failed) else RetriableHttpError
    said = "it may have been written" if kind is AmbiguousWrite else "nothing was written"
    return kind(
        f"{where}: {failed.detail}; {said}",
        failed.status,
        endpoint=endpoint,
        fault=failed.fault,
        retry_after=failed.wait,
    )
