"""Retrying only the failed parts of a batch: one request carries many calls, some fail alone.

A batch request (Google's ``multipart/mixed`` batches, a bulk read) answers 200 as a whole
while each call inside it has an answer of its own. :func:`retry_parts` sends the keys,
keeps what was answered, and sends again only the calls that failed in a way that may pass
(429, 5xx, or what the API's :data:`~engage.http.Classifier` says of the part), after the
retry policy's backoff or the longest ``Retry-After`` the parts asked for, until every key
is answered or the tries run out. Each part goes through the same rules as a whole response
(:func:`~engage.http.judge`), so one classifier serves both.

Sending again is safe for reads and idempotent calls only: a create belongs in
:func:`~engage.http.create_once`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

import attrs

from engage.errors import Fault, RetriesExhausted
from engage.http.answer import Answer, Classifier, api_message, judge, retry_after
from engage.http.client import RetryPolicy, redact

K = TypeVar("K", bound=Hashable)


@attrs.frozen
class _Failed:
    """A part worth sending again: what it answered, and the wait it asks for."""

    detail: str
    status: int | None
    fault: Fault
    endpoint: str
    wait: float | None  # Retry-After or the classifier's seconds; None: the policy's backoff
    asked: float | None  # the part's Retry-After, when it gave one


def retry_parts(
    keys: Iterable[K],
    send: Callable[[Sequence[K]], Mapping[K, Answer]],
    *,
    retry: RetryPolicy,
    classify: Classifier | None = None,
    accept: Callable[[Answer], bool] | None = None,
    gone: Collection[int] = (),
    size: int | None = None,
    resend_size: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    name: str = "the API",
    what: str = "parts",
    secrets: Iterable[str] = (),
) -> dict[K, Answer]:
    """The 2xx answer of each key, sending again only the parts that failed and may pass.

    Args:
        keys: What to ask for (duplicates are sent once).
        send: Sends one batch of keys (at most ``size``); returns each key's answer. A key
            it leaves out counts as a part that failed in a way that may pass. What it
            raises (the whole request failed) is raised as it is.
        retry: Tries in all for each part, the backoff between them, and the longest wait
            a part may ask for (``Retry-After``).
        classify: The API's rules for a failed part (see :data:`~engage.http.Classifier`);
            engage's defaults without it: 429 and 5xx are sent again, 401/403 raise
            :class:`~engage.errors.AuthError`, another status is refused.
        accept: Whether a 2xx part is usable (a JSON object, say); one it refuses is sent
            again as an unreadable answer. Every 2xx part by default.
        gone: Statuses that mean the key no longer exists (404 for an object deleted since
            it was listed): such keys are left out of the answer, not refused.
        size: The most keys in one send (all at once by default).
        resend_size: The most keys in one send when sending failed parts again (``size``
            by default), for an API that asks for smaller batches after a rate limit.
        sleep: How to wait between tries.
        name: The API, for messages (``Gmail``).
        what: The parts, for messages (``message reads in a batch``).
        secrets: Values kept out of every message (tokens).

    Returns:
        Key → its 2xx :class:`~engage.http.Answer`, for every key but the gone ones.

    Raises:
        RetriesExhausted: some parts failed on every try, or one asked to wait longer than
            :attr:`~engage.http.RetryPolicy.max_retry_after`; nothing is returned (and, for
            the reads this is for, nothing was changed).
        AuthError: a part was refused for the credentials (401/403).
        HttpError: a part was refused (another 4xx), or ``classify`` refused it.
    """
    answered: dict[K, Answer] = {}
    pending = list(dict.fromkeys(keys))
    hidden = tuple(s for s in secrets if s)
    failed: dict[K, _Failed] = {}
    for attempt in range(max(1, retry.attempts)):
        most = size if attempt == 0 else resend_size or size
        failed = {}
        for batch in _chunks(pending, most):
            answers = send(batch)
            for key in batch:
                answer = answers.get(key)
                outcome = _outcome(answer, key, attempt, classify, accept, gone, name, hidden)
                if isinstance(outcome, _Failed):
                    failed[key] = outcome
                elif outcome is not None:
                    answered[key] = outcome
        if not failed:
            return answered
        pending = list(failed)
        asked = max((f.asked for f in failed.values() if f.asked is not None), default=None)
        if asked is not None and asked > retry.max_retry_after:
            _too_long(list(failed.values()), asked, retry, name, what)
        if attempt + 1 < retry.attempts:
            backoff = retry.backoff(attempt)
            sleep(max(f.wait if f.wait is not None else backoff for f in failed.values()))
    last = failed[pending[-1]]
    raise RetriesExhausted(
        f"{name}: {len(pending)} {what} failed {attempt + 1} times; last: {last.detail}. "
        "Nothing was changed; the next run tries again.",
        last.status,
        endpoint=last.endpoint,
        fault=last.fault,
        retry_after=last.wait,
    )


def _outcome(
    answer: Answer | None,
    key: Hashable,
    attempt: int,
    classify: Classifier | None,
    accept: Callable[[Answer], bool] | None,
    gone: Collection[int],
    name: str,
    secrets: Sequence[str],
) -> Answer | _Failed | None:
    """One part's fate: its usable 2xx answer, None when its key is gone, or a failure to
    send again; raises a refusal."""
    if answer is None:
        return _Failed(f"no answer for {key!r}", None, Fault.ANSWER, "", None, None)
    if 200 <= answer.status < 300:
        if accept is None or accept(answer):
            return answer
        said = f"answered {answer.status} with a body it cannot read"
        return _Failed(said, None, Fault.ANSWER, answer.endpoint, None, None)
    if answer.status in gone:
        return None
    message = redact(api_message(answer), secrets)
    where = f"{name}: {redact(answer.endpoint, secrets) or repr(key)} in a batch"
    wait = judge(answer, attempt, classify, where=where, message=message)
    detail = f"HTTP {answer.status}: {message}"
    return _Failed(detail, answer.status, Fault.STATUS, answer.endpoint, wait, retry_after(answer))


def _too_long(
    failed: Sequence[_Failed], asked: float, retry: RetryPolicy, name: str, what: str
) -> None:
    """Raise for parts that asked to wait longer than a run waits."""
    last = next(f for f in failed if f.asked == asked)
    raise RetriesExhausted(
        f"{name}: {len(failed)} {what} failed ({last.detail}): the API asks to wait "
        f"{asked:.0f} s (Retry-After), longer than the {retry.max_retry_after:.0f} s a run "
        "waits; the next run tries again",
        last.status,
        endpoint=last.endpoint,
        fault=last.fault,
        retry_after=asked,
    )


def _chunks(keys: Sequence[K], size: int | None) -> Iterable[Sequence[K]]:
    """``keys`` in runs of at most ``size`` (one run when None)."""
    step = max(1, size) if size else max(1, len(keys))
    return [keys[start : start + step] for start in range(0, len(keys), step)]
