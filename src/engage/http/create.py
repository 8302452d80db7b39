"""Creating remote objects exactly once: find before a retry, and say when a write is ambiguous.

A create is not idempotent: a POST whose answer was lost (a 5xx, a read timeout, a dropped
connection) may have landed, and sending it again could make a second task. engage's core
keeps the ledger: it records each batch's intent before the sink creates it and the remote
ids after, and asks the sink to ``find`` a batch a run left pending. Within one run,
:func:`create_once` does the rest for a batch of keys:

1. it sends the batch with ``send`` (one try, ``HttpClient.request(..., once=True)``);
2. a refusal that wrote nothing and may pass (429, a slow-down, a connection never made) is
   waited out (``Retry-After`` or the backoff) and sent again;
3. after a lost answer it looks with ``find`` before sending what it did not find again,
   when ``dedupe`` says a look can be trusted; otherwise it stops with
   :class:`~engage.errors.AmbiguousWrite` (exit 75): the batch stays pending and the next
   run looks for it first;
4. after ``retry.attempts`` tries it stops: :class:`~engage.errors.AmbiguousWrite` if a try
   may have landed, else :class:`~engage.errors.RetriesExhausted` (nothing was written).

A refusal (a 4xx) is raised as it is: nothing was created.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

import attrs

from engage.errors import (
    AmbiguousWrite,
    Fault,
    HttpError,
    RetriableHttpError,
    RetriesExhausted,
)
from engage.http.client import RetryPolicy

A = TypeVar("A")


class Dedupe(enum.Enum):
    """What keeps a second copy out once a create's answer is lost: whether a look may be
    trusted, and so whether :func:`create_once` may send the create again in the same run."""

    #: The API refuses a second object with the same key (HubSpot's unique task property):
    #: after any lost answer, look, then send what was not found.
    UNIQUE = "unique"
    #: ``find`` sees every create that has finished, at once (a list read): after a lost
    #: answer whose request is over (5xx, closed connection), look, then send the rest; after
    #: a read timeout (the request may still land after the look) stop.
    LOOK = "look"
    #: ``find`` may miss a recent create (a search index lags): after any lost answer stop.
    NEXT_RUN = "next_run"

    def may_resend(self, lost: AmbiguousWrite) -> bool:
        """Whether, after ``lost``, a look and a second send can make no duplicate."""
        if self is Dedupe.UNIQUE:
            return True
        return self is Dedupe.LOOK and lost.fault is not Fault.READ_TIMEOUT


@attrs.frozen
class Created(Generic[A]):
    """What :func:`create_once` did with a batch.

    Attributes:
        answer: What the send that went through answered; None when every key was found.
        sent: The keys that send carried (their results are in ``answer``).
        found: Key → remote id of the objects that existed already: found by a look before
            the first try (``look_first``) or after a lost answer (a try that landed).
    """

    answer: A | None
    sent: tuple[str, ...]
    found: Mapping[str, str]


def create_once(
    keys: Sequence[str],
    send: Callable[[Sequence[str]], A],
    find: Callable[[Sequence[str]], Mapping[str, str]],
    *,
    dedupe: Dedupe,
    retry: RetryPolicy,
    look_first: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    what: str = "the batch",
) -> Created[A]:
    """Create the objects of ``keys`` once each, looking before any second send.

    Args:
        keys: The batch's keys (engage's task keys): what ``find`` looks for.
        send: Sends one create of these keys, once; raises as ``request(once=True)`` does.
        find: Key → remote id of those of these keys that exist remotely.
        dedupe: Whether a look can be trusted after a lost answer (see :class:`Dedupe`).
        retry: Tries in all, the backoff, and the longest wait a server may ask for.
        look_first: Look before the first send too (when nothing remote refuses a copy).
        sleep: How to wait between tries.
        what: The batch, for messages (``3 task(s)``).

    Raises:
        AmbiguousWrite: a try may have landed and a second may not be sent (``dedupe``),
            the tries ran out, or a look after a lost answer failed: keep the batch pending,
            the next run looks for it before creating it.
        RetriesExhausted: every try was refused in a way that wrote nothing.
        HttpError: the API refused the batch (a 4xx; AuthError for the credentials).
    """
    found: dict[str, str] = {}
    todo = list(dict.fromkeys(keys))
    lost: AmbiguousWrite | None = None
    failed: RetriableHttpError | None = None
    if look_first:
        todo = _look(todo, find, found, None, what)
    for attempt in range(retry.attempts):
        if not todo:
            return Created(None, (), found)
        try:
            return Created(send(todo), tuple(todo), found)
        except RetriesExhausted:
            raise
        except AmbiguousWrite as exc:
            if not dedupe.may_resend(exc):
                msg = f"{exc}: not sent again in this run (it may still land)"
                raise _pending(exc, msg, what) from None
            lost = failed = exc
            todo = _look(todo, find, found, exc, what)
        except RetriableHttpError as exc:  # refused: nothing was written
            failed = exc
        if not todo:  # a look found them all
            continue
        wait = retry.wait(failed.retry_after, attempt)
        if attempt + 1 == retry.attempts or wait > retry.max_retry_after:
            break
        sleep(wait)
    if not todo:
        return Created(None, (), found)
    assert failed is not None  # a try failed, or the loop would have returned
    if lost is not None:
        raise _pending(lost, f"{failed}; {attempt + 1} tries, and one may have landed", what)
    raise RetriesExhausted(
        f"{failed}; refused {attempt + 1} times, the next run tries again",
        failed.status,
        endpoint=failed.endpoint,
        fault=failed.fault,
        retry_after=failed.retry_after,
    )


def _look(
    todo: list[str],
    find: Callable[[Sequence[str]], Mapping[str, str]],
    found: dict[str, str],
    lost: AmbiguousWrite | None,
    what: str,
) -> list[str]:
    """Add the keys ``find`` finds to ``found``; the keys still to create."""
    try:
        seen = find(todo)
    except HttpError as exc:
        if lost is None or not exc.retriable:
            raise
        msg = f"{lost}; looking for {what} afterwards failed ({exc})"
        raise _pending(lost, msg, what) from None
    wanted = set(todo)
    found.update({k: v for k, v in seen.items() if k in wanted})
    return [k for k in todo if k not in found]


def _pending(lost: AmbiguousWrite, said: str, what: str) -> AmbiguousWrite:
    """The error that leaves a batch pending after ``lost``: the next run looks for it first."""
    return AmbiguousWrite(
        f"{said}; the next run looks for {what} first",
        lost.status,
        endpoint=lost.endpoint,
        fault=lost.fault,
    )
