"""HubSpot's own failure rules, which :class:`engage.http.HttpClient` consults on a failed answer.

- 401 and 403 say which environment variable or which private app scope is wrong.
- A 429 waits as HubSpot's own clients do, by ``policyName``: ``TEN_SECONDLY_ROLLING`` 10 s
  per attempt, the search "secondly" limit 1 s per attempt (``Retry-After`` wins when given,
  in :mod:`engage.http`); ``DAILY`` fails at once, temporary: nothing helps before the daily
  reset, at midnight in the account's time zone (HubSpot's usage guidelines), which the token
  does not tell. Its ``retry_after`` (:data:`DAILY_WAIT`, a day) is past any ``[sync]
  max_retry_wait``, so the sync does not try again in the run and says so: the next run
  does.
- A 423 (locked: "locks will last for 2 seconds") waits at least 2 s, a 477 (migration in
  progress) its ``Retry-After``; both are sent again, writes included (HubSpot refused them,
  so nothing was written).
"""

from __future__ import annotations

import re

import attrs

from engage.errors import AuthError, RetriesExhausted
from engage.http import Answer, RetryPolicy, api_message, redact

_SCOPES = {
    "owners": "crm.objects.owners.read",
    "companies": "crm.objects.companies.{mode}",
    "contacts": "crm.objects.contacts.{mode}",
    "deals": "crm.objects.deals.{mode}",
    "tickets": "tickets",
    "feedback_submissions": "crm.objects.feedback_submissions.read",
}
#: Engagements (tasks among them) go by the contacts scopes.
_ENGAGEMENTS = {"emails", "calls", "meetings", "notes", "tasks"}
_OBJECT = re.compile(r"/crm/v[34]/(?:objects|associations)/(\w+)")
_PROPERTIES = re.compile(r"/crm/v3/properties/(\w+)")


#: Seconds a ``DAILY`` 429 asks to wait: the limit resets at midnight in the account's time
#: zone, unknown here, so at most a day away. Longer than any ``[sync] max_retry_wait`` (an
#: hour at most), so the sync leaves it to the next run rather than waiting in vain.
DAILY_WAIT = 24 * 3600.0


@attrs.frozen
class Timing:
    """How long to wait and for how long to try.

    Attributes:
        ten_secondly: Seconds per attempt after a ``TEN_SECONDLY_ROLLING`` 429.
        secondly: Seconds per attempt after the search API's secondly 429.
        locked: Seconds to wait after a 423 (HubSpot's locks last 2 s).
        retry: Attempts and backoff for 5xx answers and network faults.
        timeout: Connect and read timeouts, in seconds.
    """

    ten_secondly: float = 10.0
    secondly: float = 1.0
    locked: float = 2.0
    retry: RetryPolicy = attrs.field(
        factory=lambda: RetryPolicy(attempts=6, base_delay=0.5, max_delay=30.0)
    )
    timeout: tuple[float, float] = (10.0, 60.0)


#: The timing every client uses unless given one (tests shrink it).
TIMING = Timing()


def required_scope(method: str, path: str) -> str:
    """The private app scope a request needs, for 403 messages."""
    if path.rstrip("/").endswith("/crm/v3/owners") or "/owners/" in path:
        return _SCOPES["owners"]
    definition = _PROPERTIES.search(path)
    if definition:  # any of many scopes reads a property; the schema scope is the plain one
        kind = definition.group(1)
        if method == "GET":
            return f"crm.schemas.{kind}.read"
        return f"crm.schemas.{'contacts' if kind in _ENGAGEMENTS else kind}.write"
    match = _OBJECT.search(path)
    kind = match.group(1) if match else "contacts"
    write = method != "GET" and not path.endswith(("/search", "/batch/read"))
    scope = _SCOPES.get(kind, "crm.objects.contacts.{mode}")
    return scope.format(mode="write" if write else "read")


@attrs.frozen
class Rules:
    """HubSpot's answers to failures, for one token (a :data:`~engage.http.Classifier`).

    Attributes:
        token: The token, kept out of every message.
        token_env: The environment variable it came from, named in auth errors.
        timing: How long each kind of refusal waits.
    """

    token: str = attrs.field(repr=False)
    token_env: str
    timing: Timing

    def classify(self, answer: Answer, attempt: int) -> float | None:
        """Seconds to wait before sending ``answer``'s request again, None for engage's
        defaults; raises for a refusal that waiting cannot fix."""
        status = answer.status
        method = answer.method or "GET"
        path = answer.path
        endpoint = f"{method} {redact(path, [self.token])}"
        where = f"HubSpot: {endpoint}"
        said = redact(api_message(answer), [self.token])
        if status == 401:
            raise AuthError(
                f"{where}: HTTP 401: HubSpot rejected the token in ${self.token_env} ({said}); "
                f"set {self.token_env} to a valid private app access token",
                status,
                endpoint=endpoint,
            )
        if status == 403:
            raise AuthError(
                f"{where}: HTTP 403: the private app token in ${self.token_env} lacks the scope "
                f"'{required_scope(method, path)}' ({said}); add it to the private app and use "
                "the new token",
                status,
                endpoint=endpoint,
            )
        if status == 429:
            return self._rate_limit_wait(answer, attempt, where, endpoint)
        if status == 423:
            return self.timing.locked
        if status == 477:  # migration in progress: its Retry-After says how long, if it says
            return 1.0
        return None

    def _rate_limit_wait(
        self, answer: Answer, attempt: int, where: str, endpoint: str
    ) -> float | None:
        """Seconds to wait after a 429, as HubSpot's clients do; raises for the daily limit."""
        body = answer.body if isinstance(answer.body, dict) else {}
        policy = str(body.get("policyName") or "")
        if policy == "DAILY":
            raise RetriesExhausted(
                f"{where}: HTTP 429: the account's daily API limit is used up (policy DAILY); "
                "it resets at midnight in the account's time zone, the next run tries again",
                429,
                endpoint=endpoint,
                retry_after=DAILY_WAIT,
            )
        if policy == "TEN_SECONDLY_ROLLING":
            return self.timing.ten_secondly * (attempt + 1)
        if policy == "SECONDLY" or "secondly" in str(body.get("message", "")).lower():
            return self.timing.secondly * (attempt + 1)
        return None
