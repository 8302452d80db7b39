"""HTTP for adapters: the mechanics every web API shares, so an adapter only declares and maps.

An adapter builds one :class:`HttpClient` per API (its base URL, auth headers, secrets, rate
limiters, and a ``classify`` for the API's own rules) and uses four things:

- :meth:`HttpClient.request` (and ``get_json``/``post_json``): every request has a connect
  and a read timeout; 429, 5xx and network faults are tried again with exponential backoff
  and jitter, honouring ``Retry-After`` (up to :attr:`RetryPolicy.max_retry_after`), at most
  :attr:`RetryPolicy.attempts` times; then :class:`RetriesExhausted`. ``once=True`` sends a
  create a single time and says whether a failure may have written it.
- :class:`RateLimiter`: a sliding window of units; a request takes one, or reserves several at
  once with :meth:`RateLimiter.units` (a Gmail ``messages.get`` costs 5).
- :func:`paginate`: follows page tokens (``after``, ``pageToken``) to the last page.
- :func:`create_once`: creates a batch exactly once: looks before any second send, and says
  when a write is ambiguous (:class:`AmbiguousWrite`).

Every failure is an :class:`~engage.errors.HttpError` (defined in :mod:`engage.errors`, so the
core can act on it without this module): :attr:`~engage.errors.HttpError.retriable` ones are
temporary (exit 75: :class:`RetriableHttpError`, :class:`RetriesExhausted`,
:class:`AmbiguousWrite`, :class:`UnexpectedAnswer`), the others need a person (exit 78:
:class:`HttpError` for a refusal, :class:`AuthError` for the credentials). ``status``,
``endpoint``, ``fault`` (:class:`Fault`: a read timeout, a refused connection...) and
``retry_after`` are fields, never parsed from the message. The secrets a client is given
(tokens) are replaced by ``***`` in every message.
"""

from __future__ import annotations

from engage.errors import (
    AmbiguousWrite,
    AuthError,
    Fault,
    HttpError,
    RetriableHttpError,
    RetriesExhausted,
    UnexpectedAnswer,
)
from engage.http.client import (
    BACKOFF,
    RETRY_STATUSES,
    Backoff,
    Classifier,
    HttpClient,
    RetryPolicy,
    api_message,
    fault_of,
    redact,
    retry_after,
)
from engage.http.create import Created, Dedupe, create_once
from engage.http.limits import Limit, RateLimiter, Units
from engage.http.paging import Page, dig, paginate

__all__ = [
    "BACKOFF",
    "RETRY_STATUSES",
    "AmbiguousWrite",
    "AuthError",
    "Backoff",
    "Classifier",
    "Created",
    "Dedupe",
    "Fault",
    "HttpClient",
    "HttpError",
    "Limit",
    "Page",
    "RateLimiter",
    "RetriableHttpError",
    "RetriesExhausted",
    "RetryPolicy",
    "UnexpectedAnswer",
    "Units",
    "api_message",
    "create_once",
    "dig",
    "fault_of",
    "paginate",
    "redact",
    "retry_after",
]
