"""HubSpot's CRM v3/v4 API over :mod:`engage.http`: auth, paging, search, batches, 429 rules.

Everything that knows HubSpot's wire format lives here; :mod:`engage_hubspot.source` and
:mod:`engage_hubspot.sink` work with plain dicts of ``{id, properties, ...}``.

- Every request carries ``Authorization: Bearer <token>``; the token is a secret of the
  :class:`~engage.http.HttpClient`, so it never appears in a message.
- Requests other than search share the burst limiter (default 100 per 10 s); search has its own
  (default 5 per second), since HubSpot counts it separately.
- A 429 waits as HubSpot's own clients do, by ``policyName``: ``TEN_SECONDLY_ROLLING`` 10 s per
  attempt, the search "secondly" limit 1 s per attempt, ``Retry-After`` when given; ``DAILY``
  fails at once (nothing helps before midnight). A 423 (locked: "locks will last for 2
  seconds") waits at least 2 s and is sent again, writes included (HubSpot refused it, so
  nothing was written). 5xx and network faults back off exponentially; 401 and 403 say which
  environment variable or scope is wrong.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import attrs
import requests

from engage.errors import EXIT_TEMPFAIL
from engage.http import (
    AuthError,
    HttpClient,
    HttpError,
    RateLimiter,
    RetryPolicy,
    api_message,
    redact,
    retry_after,
)

#: Most records per list page (HubSpot's SDKs use the same).
LIST_PAGE = 100
#: Most records per search page.
SEARCH_PAGE = 200
#: Most inputs per batch read, create or update.
BATCH = 100
#: Most results per v4 association page.
ASSOCIATION_PAGE = 500
#: Search answers 400 when paging reaches this many results.
SEARCH_CAP = 10_000
#: Characters of property names one GET may carry; more are fetched by POST batch read.
URL_PROPERTY_BUDGET = 1500

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
class Page:
    """One page of results and the token of the next (None on the last page)."""

    results: list[dict[str, Any]]
    after: str | None


@attrs.frozen
class Found:
    """One search page and how many records match the query in all (HubSpot's ``total``,
    None when the answer has none)."""

    results: list[dict[str, Any]]
    total: int | None


@attrs.frozen
class WriteOutcome:
    """What one batch write answered: the objects written and the per-input errors (207)."""

    results: list[dict[str, Any]]
    errors: list[dict[str, Any]]


class AmbiguousWrite(HttpError):
    """A write may or may not have happened (5xx, timeout, dropped connection): look before retrying."""


class UnexpectedAnswer(HttpError):
    """HubSpot answered 2xx with a body of the wrong shape: no JSON (an HTML page, a cut body),
    no JSON object, or a field of another type than documented.

    Not the user's configuration; a proxy or a cut connection may have caused it, so it is
    temporary (exit 75) and the next run asks again. ``status`` is None, so that callers who
    tell refusals by their status (404, 409) never take it for one.
    """

    exit_code: ClassVar[int] = EXIT_TEMPFAIL


def parse_answer(response: requests.Response, where: str) -> dict[str, Any]:
    """The JSON object a 2xx ``response`` carries, checked for the shape every HubSpot answer
    has: ``results`` and ``errors`` are lists of objects, each result with a string or number
    ``id`` (made a string) and objects for ``properties`` and ``associations``; a paging
    token is a string or number.

    Args:
        where: ``HubSpot: METHOD /path``, named in the message.

    Raises:
        UnexpectedAnswer: the body is not of that shape.
    """
    status = response.status_code
    try:
        data = response.json() if response.content else None
    except ValueError:
        got = response.headers.get("Content-Type") or "no content type"
        raise UnexpectedAnswer(
            f"{where} answered {status} with no JSON object (expected JSON, got {got})"
        ) from None
    if not isinstance(data, dict):
        raise UnexpectedAnswer(f"{where} answered {status} with no JSON object")

    def wrong(what: str) -> UnexpectedAnswer:
        return UnexpectedAnswer(f"{where} answered {status} with {what}")

    for name in ("results", "errors"):
        items = data.get(name)
        if items is None:
            continue
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise wrong(f"'{name}' not a list of objects")
    for result in data.get("results") or []:
        _check_record(result, wrong)
    _paging(data, wrong)
    return data


def _check_record(record: dict[str, Any], wrong: Callable[[str], UnexpectedAnswer]) -> None:
    """One result: a usable ``id`` (made a string), objects where objects are due. An
    association names its objects instead (``from`` and ``to``, or ``toObjectId``)."""
    if "from" in record:
        source = record["from"]
        if not isinstance(source, dict) or not _is_id(source.get("id")):
            raise wrong("an association whose 'from' has no 'id'")
    elif "toObjectId" not in record:
        if not _is_id(record.get("id")):
            raise wrong(f"a result whose 'id' is {type(record.get('id')).__name__}, not a string")
        record["id"] = str(record["id"])
    for name in ("properties", "associations"):
        if record.get(name) is not None and not isinstance(record[name], dict):
            raise wrong(f"a result whose '{name}' is not an object")
    props = record.get("properties") or {}
    if any(v is not None and not isinstance(v, str | int | float) for v in props.values()):
        raise wrong("a property value that is not a string")
    for name in ("createdAt", "updatedAt"):
        if record.get(name) is not None and not isinstance(record[name], str):
            raise wrong(f"a result whose '{name}' is not a string")
    if record.get("archived") is not None and not isinstance(record["archived"], bool):
        raise wrong("a result whose 'archived' is not true or false")
    if record.get("to") is not None:
        to = record["to"]
        if not isinstance(to, list) or not all(
            isinstance(t, dict) and _is_id(t.get("toObjectId")) for t in to
        ):
            raise wrong("a result whose 'to' is not a list of objects with a 'toObjectId'")
    if "toObjectId" in record and not _is_id(record["toObjectId"]):
        raise wrong("a result whose 'toObjectId' is not an id")
    _paging(record, wrong)


def _is_id(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, str | int) and value != ""


def _paging(data: dict[str, Any], wrong: Callable[[str], UnexpectedAnswer]) -> None:
    """``paging.next.after``, if any, is a string or number."""
    paging = data.get("paging")
    if paging is None:
        return
    following = paging.get("next") if isinstance(paging, dict) else None
    if not isinstance(paging, dict) or not isinstance(following or {}, dict):
        raise wrong("'paging' not an object")
    after = (following or {}).get("after")
    if after is not None and after != "" and not _is_id(after):
        raise wrong("a paging token ('paging.next.after') that is not a string")


class HubSpotClient:
    """A HubSpot API client for one private app token.

    Args:
        token: The private app access token.
        token_env: The environment variable it came from, named in auth errors.
        base_url: The API root (a test gives its fake).
        requests_per_10s: Burst limit for all requests but search.
        searches_per_second: Limit for search requests.
        timing: Waits and retry budget (:data:`TIMING` by default).
        sleep: How to wait.
    """

    def __init__(
        self,
        token: str,
        *,
        token_env: str,
        base_url: str,
        requests_per_10s: int = 100,
        searches_per_second: int = 5,
        timing: Timing | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.timing = timing or TIMING
        self.token_env = token_env
        self.sleep = sleep
        self._token = token
        self.burst = RateLimiter(max(1, requests_per_10s), 10.0)
        self.searches = RateLimiter(max(1, searches_per_second), 1.0)
        self.http = HttpClient(
            base_url,
            name="HubSpot",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            secrets=[token],
            timeout=self.timing.timeout,
            retry=self.timing.retry,
            classify=self._classify,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"HubSpotClient({self.http.base_url!r}, token from ${self.token_env})"

    # -- failure rules --------------------------------------------------------------------

    def _classify(self, response: requests.Response, attempt: int) -> float | None:
        status = response.status_code
        method = response.request.method or "GET"
        path = urlsplit(response.request.url or "").path or "/"
        message = redact(api_message(response), [self._token])
        where = f"HubSpot: {method} {path}"
        if status == 401:
            raise AuthError(
                f"{where}: HTTP 401: HubSpot rejected the token in ${self.token_env} ({message}); "
                f"set {self.token_env} to a valid private app access token",
                status,
            )
        if status == 403:
            scope = required_scope(method, path)
            raise AuthError(
                f"{where}: HTTP 403: the private app token in ${self.token_env} lacks the scope "
                f"'{scope}' ({message}); add it to the private app and use the new token",
                status,
            )
        if status == 429:
            return self.rate_limit_wait(response, attempt)
        if status == 423:
            return max(self.timing.locked, retry_after(response) or 0.0)
        if status == 477:  # migration in progress: Retry-After says how long (up to a day)
            asked = retry_after(response) or 1.0
            if asked > self.timing.retry.max_retry_after:
                raise HttpError(
                    f"{where}: HTTP 477: the account is being migrated; HubSpot asks to wait "
                    f"{asked:.0f} s, longer than a run waits; the next run tries again",
                    status,
                )
            return asked
        return None

    def rate_limit_wait(self, response: requests.Response, attempt: int) -> float | None:
        """Seconds to wait after a 429, as HubSpot's clients do; raises for the daily limit."""
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        policy = str(body.get("policyName") or "")
        if policy == "DAILY":
            raise HttpError(
                "HubSpot: HTTP 429: the account's daily API limit is used up (policy DAILY); "
                "it resets at midnight in the account's time zone, the next run tries again",
                429,
            )
        asked = retry_after(response)
        if asked is not None:
            longest = self.timing.retry.max_retry_after
            if asked > longest:
                method = response.request.method or "GET"
                path = urlsplit(response.request.url or "").path or "/"
                raise HttpError(
                    f"HubSpot: {method} {path}: HTTP 429 (policy {policy or 'unknown'}): HubSpot "
                    f"asks to wait {asked:.0f} s (Retry-After), longer than the {longest:.0f} s "
                    "a run waits; stopped without retrying, the next run tries again",
                    429,
                )
            return asked
        if policy == "TEN_SECONDLY_ROLLING":
            return self.timing.ten_secondly * (attempt + 1)
        if policy == "SECONDLY" or "secondly" in str(body.get("message", "")).lower():
            return self.timing.secondly * (attempt + 1)
        return None

    # -- plain requests -------------------------------------------------------------------

    def get(self, path: str, params: Any = None) -> dict[str, Any]:
        """GET ``path`` under the burst limit; the JSON object it answers (see
        :func:`parse_answer`, which raises :class:`UnexpectedAnswer`)."""
        response = self.http.request("GET", path, params=params, limiters=[self.burst])
        return parse_answer(response, f"HubSpot: GET {_path(path)}")

    def post(self, path: str, body: Any) -> dict[str, Any]:
        """POST a JSON body under the burst limit (or the search limit for ``/search``); the
        JSON object it answers (see :func:`parse_answer`)."""
        limiter = self.searches if path.endswith("/search") else self.burst
        response = self.http.request("POST", path, json=body, limiters=[limiter])
        return parse_answer(response, f"HubSpot: POST {_path(path)}")

    def write_once(self, path: str, body: Any) -> WriteOutcome:
        """POST a batch write exactly once: no blind retry may duplicate what HubSpot created.

        A 429, a 423 (locked) and a 477 (migration in progress) are waited out and sent again:
        HubSpot refused them, so nothing was written.

        Raises:
            AmbiguousWrite: a 5xx answer, timeout or dropped connection, or a 2xx whose body
                is not the expected JSON object: it may have happened.
            AuthError, HttpError: refused as a whole (nothing was written); ``status`` says why
                (409: a unique value exists already).
        """
        url = f"{self.http.base_url}/{path.lstrip('/')}"
        last = 429
        for attempt in range(self.timing.retry.attempts):
            self.burst.acquire()
            try:
                response = self.http.session.post(url, json=body, timeout=self.http.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise AmbiguousWrite(
                    f"HubSpot: POST {path}: network error: {type(exc).__name__}"
                ) from None
            status = response.status_code
            if status < 400:
                try:
                    data = parse_answer(response, f"HubSpot: POST {_path(path)}")
                except UnexpectedAnswer as exc:
                    raise AmbiguousWrite(f"{exc}; it may have been written", status) from None
                return WriteOutcome(list(data.get("results") or []), list(data.get("errors") or []))
            message = redact(api_message(response), [self._token])
            if status >= 500:
                raise AmbiguousWrite(f"HubSpot: POST {path}: HTTP {status}: {message}", status)
            wait = self._classify(response, attempt)
            if status not in (423, 429, 477):
                raise HttpError(f"HubSpot: POST {path}: HTTP {status}: {message}", status)
            last = status
            if attempt + 1 < self.timing.retry.attempts:
                self.sleep(wait if wait is not None else self.timing.retry.backoff(attempt))
        raise HttpError(
            f"HubSpot: POST {path}: still HTTP {last} after {self.timing.retry.attempts} tries; "
            "nothing was written, the next run tries again",
            last,
        )

    # -- objects --------------------------------------------------------------------------

    def list_pages(
        self,
        object_type: str,
        properties: Sequence[str],
        *,
        associations: Sequence[str] = (),
        archived: bool = False,
        after: str | None = None,
    ) -> Iterator[Page]:
        """Page through ``GET /crm/v3/objects/{type}`` at 100 per page, from ``after``.

        A property list too long for one URL is split: the rest comes by batch read.
        """
        first, rest = split_properties(properties)
        while True:
            params: dict[str, Any] = {"limit": LIST_PAGE, "properties": ",".join(first)}
            if associations:
                params["associations"] = ",".join(associations)
            if archived:
                params["archived"] = "true"
            if after:
                params["after"] = after
            data = self.get(f"/crm/v3/objects/{object_type}", params)
            results = list(data.get("results") or [])
            for chunk in rest:
                self._merge_properties(object_type, results, chunk, archived)
            after = next_after(data)
            yield Page(results, after)
            if after is None:
                return

    def _merge_properties(
        self, object_type: str, results: list[dict[str, Any]], chunk: list[str], archived: bool
    ) -> None:
        extra = {
            r["id"]: r
            for r in self.batch_read(
                object_type, [r["id"] for r in results], chunk, archived=archived
            )
        }
        for result in results:
            more = extra.get(result["id"], {}).get("properties") or {}
            result.setdefault("properties", {}).update(
                {k: v for k, v in more.items() if k in chunk}
            )

    def search_all(
        self,
        object_type: str,
        groups: Sequence[Sequence[Mapping[str, Any]]],
        properties: Sequence[str],
    ) -> list[dict[str, Any]]:
        """Every match of ``POST /crm/v3/objects/{type}/search`` for filter groups ORed together.

        Pages of 200 by ``after``, sorted by ``hs_object_id``, up to the 10,000-result cap.
        """
        found: list[dict[str, Any]] = []
        after = "0"
        while True:
            body = {
                "filterGroups": [{"filters": list(g)} for g in groups],
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "properties": list(properties),
                "limit": SEARCH_PAGE,
                "after": after,
            }
            data = self.post(f"/crm/v3/objects/{object_type}/search", body) or {}
            found.extend(data.get("results") or [])
            nxt = next_after(data)
            if nxt is None or not nxt.isdigit() or int(nxt) + SEARCH_PAGE > SEARCH_CAP:
                return found
            after = nxt

    def search(
        self,
        object_type: str,
        filters: Sequence[Mapping[str, Any]],
        sort: tuple[str, str],
        properties: Sequence[str],
    ) -> list[dict[str, Any]]:
        """One page (200) of ``POST /crm/v3/objects/{type}/search``: one filter group, one sort."""
        return self.search_page(object_type, filters, sort, properties).results

    def search_page(
        self,
        object_type: str,
        filters: Sequence[Mapping[str, Any]],
        sort: tuple[str, str],
        properties: Sequence[str],
    ) -> Found:
        """:meth:`search`, with the ``total`` of records matching the query."""
        body = {
            "filterGroups": [{"filters": list(filters)}],
            "sorts": [{"propertyName": sort[0], "direction": sort[1]}],
            "properties": list(properties),
            "limit": SEARCH_PAGE,
            "after": "0",
        }
        data = self.post(f"/crm/v3/objects/{object_type}/search", body) or {}
        return Found(list(data.get("results") or []), _total(data))

    def count(self, object_type: str) -> int | None:
        """How many live (unarchived) ``object_type`` records there are: the ``total`` of one
        unfiltered search with ``limit=1``. One request, under the search limiter.

        Search sees a record once HubSpot has indexed it, so records made moments ago may be
        missing: it is an estimate of what listing will read.
        """
        body = {
            "filterGroups": [],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": ["hs_object_id"],
            "limit": 1,
            "after": "0",
        }
        return _total(self.post(f"/crm/v3/objects/{object_type}/search", body) or {})

    def batch_read(
        self,
        object_type: str,
        ids: Sequence[str],
        properties: Sequence[str],
        *,
        id_property: str | None = None,
        archived: bool = False,
    ) -> list[dict[str, Any]]:
        """``POST /crm/v3/objects/{type}/batch/read`` in batches of 100; missing ids are left out."""
        found: list[dict[str, Any]] = []
        path = f"/crm/v3/objects/{object_type}/batch/read" + ("?archived=true" if archived else "")
        for start in range(0, len(ids), BATCH):
            body: dict[str, Any] = {
                "inputs": [{"id": i} for i in ids[start : start + BATCH]],
                "properties": list(properties),
            }
            if id_property:
                body["idProperty"] = id_property
            data = self.post(path, body)
            found.extend((data or {}).get("results") or [])
        return found

    def associations(
        self, from_type: str, to_type: str, ids: Sequence[str]
    ) -> dict[str, list[str]]:
        """Who each object is associated with: ``POST /crm/v4/associations/{from}/{to}/batch/read``."""
        linked: dict[str, list[str]] = {i: [] for i in ids}
        pending = [{"id": i} for i in ids]
        while pending:
            batch, pending = pending[:BATCH], pending[BATCH:]
            data = self.post(
                f"/crm/v4/associations/{from_type}/{to_type}/batch/read", {"inputs": batch}
            )
            for item in (data or {}).get("results") or []:
                source = str(item["from"]["id"])
                linked.setdefault(source, []).extend(
                    str(t["toObjectId"]) for t in item.get("to") or []
                )
                after = next_after(item)
                if after:
                    pending.append({"id": source, "after": after})
        return linked

    def associated_ids(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        """Every id ``from_id`` is associated with: ``GET /crm/v4/objects/{from}/{id}/associations/{to}``."""
        ids: list[str] = []
        after: str | None = None
        path = f"/crm/v4/objects/{from_type}/{quote(from_id)}/associations/{to_type}"
        while True:
            params: dict[str, Any] = {"limit": ASSOCIATION_PAGE}
            if after:
                params["after"] = after
            data = self.get(path, params)
            ids.extend(str(r["toObjectId"]) for r in data.get("results") or [])
            after = next_after(data)
            if after is None:
                return ids

    def property_definition(self, object_type: str, name: str) -> dict[str, Any]:
        """A property's definition, options included: ``GET /crm/v3/properties/{type}/{name}``."""
        data = self.get(f"/crm/v3/properties/{object_type}/{quote(name)}")
        return data if isinstance(data, dict) else {}

    def create_property(self, object_type: str, definition: Mapping[str, Any]) -> dict[str, Any]:
        """Create a property: ``POST /crm/v3/properties/{type}`` (409 when the name is taken)."""
        data = self.post(f"/crm/v3/properties/{object_type}", dict(definition))
        return data if isinstance(data, dict) else {}

    def property_group(self, object_type: str, name: str) -> dict[str, Any]:
        """A property group: ``GET /crm/v3/properties/{type}/groups/{name}`` (404 when missing)."""
        data = self.get(f"/crm/v3/properties/{object_type}/groups/{quote(name)}")
        return data if isinstance(data, dict) else {}

    def create_property_group(self, object_type: str, name: str, label: str) -> dict[str, Any]:
        """Create a property group: ``POST /crm/v3/properties/{type}/groups``."""
        body = {"name": name, "label": label, "displayOrder": -1}
        data = self.post(f"/crm/v3/properties/{object_type}/groups", body)
        return data if isinstance(data, dict) else {}

    def owners(self, *, archived: bool) -> Iterator[dict[str, Any]]:
        """Every owner: ``GET /crm/v3/owners`` (``archived=true`` gives only archived ones)."""
        after: str | None = None
        while True:
            params: dict[str, Any] = {
                "limit": LIST_PAGE,
                "archived": "true" if archived else "false",
            }
            if after:
                params["after"] = after
            data = self.get("/crm/v3/owners", params)
            yield from data.get("results") or []
            after = next_after(data)
            if after is None:
                return

    def batch_update(self, object_type: str, inputs: Sequence[Mapping[str, Any]]) -> WriteOutcome:
        """``POST /crm/v3/objects/{type}/batch/update`` (idempotent, so retried normally)."""
        data = self.post(f"/crm/v3/objects/{object_type}/batch/update", {"inputs": list(inputs)})
        data = data or {}
        return WriteOutcome(list(data.get("results") or []), list(data.get("errors") or []))


def _path(path: str) -> str:
    """A request's path for messages: no query string."""
    return "/" + path.split("?")[0].lstrip("/")


def _total(data: Any) -> int | None:
    """A search answer's ``total``, if it has a usable one."""
    value = data.get("total") if isinstance(data, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def next_after(data: Any) -> str | None:
    """``paging.next.after`` of an answer, or None on the last page."""
    if not isinstance(data, dict):
        return None
    paging = data.get("paging")
    following = paging.get("next") if isinstance(paging, dict) else None
    after = following.get("after") if isinstance(following, dict) else None
    return str(after) if after not in (None, "") else None


def split_properties(
    properties: Sequence[str], budget: int = URL_PROPERTY_BUDGET
) -> tuple[list[str], list[list[str]]]:
    """Split a property list into the part one URL can carry and chunks for batch reads."""
    chunks: list[list[str]] = [[]]
    size = 0
    for name in dict.fromkeys(properties):
        if chunks[-1] and size + len(name) + 1 > budget:
            chunks.append([])
            size = 0
        chunks[-1].append(name)
        size += len(name) + 1
    return chunks[0], chunks[1:]
