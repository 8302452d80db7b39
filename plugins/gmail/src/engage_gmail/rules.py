"""Google's failure rules, read from the fields of its error body, never from message text.

A Google API error body is ``{"error": {"code", "message", "status", "errors": [{"reason"}],
"details": [{"reason"}]}}``. Beyond engage's defaults (:mod:`engage.http`: 429 and 5xx are
retried, another 4xx is refused), a 403 whose reason is a rate limit
(``rateLimitExceeded``, ``userRateLimitExceeded``) is a slow-down, retried with the policy's
backoff as ``googleapiclient`` does, and a 403 for a missing scope
(``insufficientPermissions``; ``ACCESS_TOKEN_SCOPE_INSUFFICIENT`` in its details) is
:class:`ScopeMissing`. :func:`classify` applies them to an :class:`~engage.http.Answer`: a
whole response (as an :class:`~engage.http.HttpClient`'s ``classify``) or a call answered
inside a batch (:func:`~engage.http.retry_parts`).
"""

from __future__ import annotations

from engage.http import BACKOFF, Answer, AuthError, Backoff

#: Reasons of a 403 that asks to slow down rather than refusing.
RATE_LIMITS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
#: Reasons of a 403 for credentials that lack a scope.
SCOPE_REASONS = frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"})


class ScopeMissing(AuthError):
    """Google refused the call because the credentials lack a scope this table needs (403)."""


def reasons(body: object) -> frozenset[str]:
    """The ``reason`` codes of a Google error body (``errors`` and ``details``)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return frozenset()
    entries = [
        entry
        for field in ("errors", "details")
        if isinstance(error.get(field), list)
        for entry in error[field]
    ]
    return frozenset(str(e["reason"]) for e in entries if isinstance(e, dict) and e.get("reason"))


def classify(answer: Answer, attempt: int) -> Backoff | None:
    """Google's rules for a failed answer, whole or a batch's part (an
    :data:`engage.http.Classifier`).

    Returns :data:`~engage.http.BACKOFF` for a rate-limit 403, None (engage's defaults: 429
    and 5xx are retried, another 4xx is refused) for anything else.

    Raises:
        ScopeMissing: a 403 for a missing scope.
    """
    if answer.status != 403:
        return None
    found = reasons(answer.body)
    if RATE_LIMITS & found:
        return BACKOFF
    if SCOPE_REASONS & found:
        raise ScopeMissing(
            "Google says the credentials lack a scope this table needs; authorize again with "
            "the scopes listed in the engage-gmail README",
            403,
            endpoint=answer.endpoint,
        )
    return None
