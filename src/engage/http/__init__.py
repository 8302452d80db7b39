"""HTTP for adapters: the mechanics every web API shares, so an adapter only declares and maps.

An adapter builds one :class:`HttpClient` per API (its base URL, auth headers, secrets, rate
limiters, and a ``classify`` for the API's own rules) and uses these:

- :meth:`HttpClient.request` (and ``get_json``/``post_json``): every request has a connect
  and a read timeout; 429, 5xx and network faults are tried again with exponential backoff
  and jitter, honouring ``Retry-After`` (up to :attr:`RetryPolicy.max_retry_after`), at most
  :attr:`RetryPolicy.attempts` times; then :class:`RetriesExhausted`. ``once=True`` sends a
  create a single time and says whether a failure may have written it;
  ``post_json(..., once=True, expect={"id": str})`` also calls a 2xx answer without the new
  object's id an :class:`AmbiguousWrite`. A session that fails before sending (a token
  refresh) raises :class:`NotSent`: retried, never ambiguous.
- :class:`Answer` and :data:`Classifier`: an API's failure rules read one shape, a whole
  response or a batch's part (status, headers, decoded body); :func:`judge` applies them.
- :func:`retry_parts`: sends a batch's keys and sends again only the parts that failed in
  a way that may pass.
- :class:`RateLimiter`: a sliding window of units; a request takes one, or reserves several at
  once with :meth:`RateLimiter.units` (a Gmail ``messages.get`` costs 5); a request counts
  from when its answer came back (:class:`Reservation`), as the API counted it by then.
- :func:`paginate`: follows page tokens (``after``, ``pageToken``) to the last page.
- :func:`create_once`: creates a batch exactly once: looks before any second send, and says
  when a write is ambiguous (:class:`AmbiguousWrite`).

Every failure is an :class:`~engage.errors.HttpError` (defined in :mod:`engage.errors`, so the
core can act on it without this module): :attr:`~engage.errors.HttpError.retriable` ones are
temporary (exit 75: :class:`RetriableHttpError`, :class:`RetriesExhausted`,
:class:`AmbiguousWrite`, :class:`UnexpectedAnswer`, :class:`NotSent`), the others need a person (exit 78:
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
    NotSent,
    RetriableHttpError,
    RetriesExhausted,
    UnexpectedAnswer,
)
from engage.http.answer import (
    BACKOFF,
    RETRY_STATUSES,
    Answer,
    Backoff,
    Classifier,
    api_message,
    judge,
    retry_after,
)
from engage.http.client import Expect, Fields, HttpClient, RetryPolicy, fault_of, redact
from engage.http.create import Created, Dedupe, create_once
from engage.http.limits import Limit, RateLimiter, Reservation, Units
from engage.http.paging import Page, dig, paginate
from engage.http.parts import retry_parts

__all__ = [
    "BACKOFF",
    "RETRY_STATUSES",
    "AmbiguousWrite",
    "Answer",
    "AuthError",
    "Backoff",
    "Classifier",
    "Created",
    "Dedupe",
    "Expect",
    "Fault",
    "Fields",
    "HttpClient",
    "HttpError",
    "Limit",
    "NotSent",
    "Page",
    "RateLimiter",
    "Reservation",
    "RetriableHttpError",
    "RetriesExhausted",
    "RetryPolicy",
    "UnexpectedAnswer",
    "Units",
    "api_message",
    "create_once",
    "dig",
    "fault_of",
    "judge",
    "paginate",
    "redact",
    "retry_after",
    "retry_parts",
]
