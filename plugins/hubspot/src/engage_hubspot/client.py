"""HubSpot's CRM v3/v4 API over :mod:`engage.http`: auth, endpoints, page sizes, HubSpot's rules.

Everything that knows HubSpot's wire format lives here (the shape of its answers in
:mod:`engage_hubspot.answers`); :mod:`engage_hubspot.source` and :mod:`engage_hubspot.sink`
work with plain dicts of ``{id, properties, ...}``. Retries, ``Retry-After``, paging and
writes sent once are :mod:`engage.http`'s; this module says what is HubSpot's own:

- Every request carries ``Authorization: Bearer <token>``; the token is a secret of the
  :class:`~engage.http.HttpClient`, so it never appears in a message.
- Requests other than search share the burst limiter (default 100 per 10 s); search has its own
  (default 5 per second), since HubSpot counts it separately.
- Failures are answered by HubSpot's rules (:mod:`engage_hubspot.rules`): 429 by policy, 423,
  477, and 401/403 messages naming the variable or the scope.
- Paging follows ``paging.next.after`` (:meth:`HubSpotClient.pages`); search, with its own
  limiter and 10,000-result cap, is in :mod:`engage_hubspot.search`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from engage.errors import UnexpectedAnswer
from engage.http import HttpClient, Page, RateLimiter, dig, paginate
from engage_hubspot.answers import WriteOutcome, check_answer
from engage_hubspot.rules import TIMING, Rules, Timing

Record = dict[str, Any]

#: Most records per list page (HubSpot's SDKs use the same).
LIST_PAGE = 100
#: Most inputs per batch read, create or update.
BATCH = 100
#: Most results per v4 association page.
ASSOCIATION_PAGE = 500
#: Characters of property names one GET may carry; more are fetched by POST batch read.
URL_PROPERTY_BUDGET = 1500


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
        self.burst = RateLimiter(max(1, requests_per_10s), 10.0)
        self.searches = RateLimiter(max(1, searches_per_second), 1.0)
        self.http = HttpClient(
            base_url,
            name="HubSpot",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            secrets=[token],
            timeout=self.timing.timeout,
            retry=self.timing.retry,
            classify=Rules(token, token_env, self.timing).classify,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"HubSpotClient({self.http.base_url!r}, token from ${self.token_env})"

    # -- plain requests -------------------------------------------------------------------

    def get(self, path: str, params: Any = None) -> Record:
        """GET ``path`` under the burst limit; the JSON object it answers, checked by
        :func:`~engage_hubspot.answers.check_answer` (UnexpectedAnswer when it is not)."""
        return self.http.get_json(path, params=params, limiters=[self.burst], expect=check_answer)

    def post(self, path: str, body: Any) -> Record:
        """POST a JSON body under the burst limit (or the search limit for ``/search``); the
        JSON object it answers (see :func:`~engage_hubspot.answers.check_answer`)."""
        limiter = self.searches if path.endswith("/search") else self.burst
        return self.http.post_json(path, body, limiters=[limiter], expect=check_answer)

    def write_once(self, path: str, body: Any) -> WriteOutcome:
        """POST a batch write a single time: no blind retry may duplicate what HubSpot created.

        Raises:
            AmbiguousWrite: a 5xx answer, timeout or dropped connection, or a 2xx whose body
                is not the expected JSON object: it may have happened.
            RetriableHttpError: refused in a way that wrote nothing (429, 423 locked, 477
                migrating; NotSent: a connection never made); ``retry_after`` says how long
                to wait.
            AuthError, HttpError: refused as a whole (nothing was written); ``status`` says why
                (409: a unique value exists already).
        """
        return self.http.post_json(
            path, body, limiters=[self.burst], once=True, expect=WriteOutcome.from_answer
        )

    def pages(
        self,
        fetch: Callable[[dict[str, Any]], Record],
        where: str,
        size: int,
        *,
        start: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Page[Record]]:
        """HubSpot's paging through :func:`engage.http.paginate`: ``limit`` and ``after`` in,
        ``results`` and ``paging.next.after`` out. ``fetch`` sends one request with those
        fields added; ``where`` is ``METHOD /path``."""
        return paginate(
            fetch,
            token="after",
            next_token="paging.next.after",
            items="results",
            size=("limit", size),
            start=start,
            limit=limit,
            where=f"HubSpot: {where}",
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
    ) -> Iterator[Page[Record]]:
        """Page through ``GET /crm/v3/objects/{type}`` at 100 per page, from ``after``; each
        page's ``next`` is the token to resume from.

        A property list too long for one URL is split: the rest comes by batch read.
        """
        first, rest = split_properties(properties)
        params: dict[str, Any] = {"properties": ",".join(first)}
        if associations:
            params["associations"] = ",".join(associations)
        if archived:
            params["archived"] = "true"
        path = f"/crm/v3/objects/{object_type}"
        for page in self.pages(
            lambda more: self.get(path, {**params, **more}), f"GET {path}", LIST_PAGE, start=after
        ):
            for chunk in rest:
                self._merge_properties(object_type, page.items, chunk, archived)
            yield page

    def _merge_properties(
        self, object_type: str, results: list[Record], chunk: list[str], archived: bool
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

    def batch_read(
        self,
        object_type: str,
        ids: Sequence[str],
        properties: Sequence[str],
        *,
        id_property: str | None = None,
        archived: bool = False,
    ) -> list[Record]:
        """``POST /crm/v3/objects/{type}/batch/read`` in batches of 100; missing ids are left out."""
        found: list[Record] = []
        path = f"/crm/v3/objects/{object_type}/batch/read" + ("?archived=true" if archived else "")
        for start in range(0, len(ids), BATCH):
            body: dict[str, Any] = {
                "inputs": [{"id": i} for i in ids[start : start + BATCH]],
                "properties": list(properties),
            }
            if id_property:
                body["idProperty"] = id_property
            found.extend(self.post(path, body).get("results") or [])
        return found

    def associations(
        self, from_type: str, to_type: str, ids: Sequence[str]
    ) -> dict[str, list[str]]:
        """Who each object is associated with: ``POST /crm/v4/associations/{from}/{to}/batch/read``,
        100 objects a request; an object with more than one answer holds is read whole by
        :meth:`associated_ids`."""
        linked: dict[str, list[str]] = {i: [] for i in ids}
        path = f"/crm/v4/associations/{from_type}/{to_type}/batch/read"
        where = f"HubSpot: POST {path}"
        for start in range(0, len(ids), BATCH):
            data = self.post(path, {"inputs": [{"id": i} for i in ids[start : start + BATCH]]})
            for item in data.get("results") or []:
                if dig(item, "from.id", where) is None:
                    msg = f"{where} answered an association without 'from'"
                    raise UnexpectedAnswer(msg, endpoint=f"POST {path}")
                source = str(item["from"]["id"])
                if dig(item, "paging.next.after", where):
                    linked[source] = self.associated_ids(from_type, source, to_type)
                else:
                    linked.setdefault(source, []).extend(
                        str(t["toObjectId"]) for t in item.get("to") or []
                    )
        return linked

    def associated_ids(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        """Every id ``from_id`` is associated with: ``GET /crm/v4/objects/{from}/{id}/associations/{to}``."""
        path = f"/crm/v4/objects/{from_type}/{quote(from_id)}/associations/{to_type}"
        pages = self.pages(lambda more: self.get(path, more), f"GET {path}", ASSOCIATION_PAGE)
        return [str(r["toObjectId"]) for page in pages for r in page.items]

    def property_definition(self, object_type: str, name: str) -> Record:
        """A property's definition, options included: ``GET /crm/v3/properties/{type}/{name}``."""
        return self.get(f"/crm/v3/properties/{object_type}/{quote(name)}")

    def create_property(self, object_type: str, definition: Mapping[str, Any]) -> Record:
        """Create a property: ``POST /crm/v3/properties/{type}`` (409 when the name is taken)."""
        return self.post(f"/crm/v3/properties/{object_type}", dict(definition))

    def property_group(self, object_type: str, name: str) -> Record:
        """A property group: ``GET /crm/v3/properties/{type}/groups/{name}`` (404 when missing)."""
        return self.get(f"/crm/v3/properties/{object_type}/groups/{quote(name)}")

    def create_property_group(self, object_type: str, name: str, label: str) -> Record:
        """Create a property group: ``POST /crm/v3/properties/{type}/groups``."""
        body = {"name": name, "label": label, "displayOrder": -1}
        return self.post(f"/crm/v3/properties/{object_type}/groups", body)

    def owners(self, *, archived: bool) -> Iterator[Record]:
        """Every owner: ``GET /crm/v3/owners`` (``archived=true`` gives only archived ones)."""
        params = {"archived": "true" if archived else "false"}
        path = "/crm/v3/owners"
        for page in self.pages(
            lambda more: self.get(path, {**params, **more}), f"GET {path}", LIST_PAGE
        ):
            yield from page.items

    def batch_update(self, object_type: str, inputs: Sequence[Mapping[str, Any]]) -> WriteOutcome:
        """``POST /crm/v3/objects/{type}/batch/update`` (idempotent, so retried normally)."""
        path = f"/crm/v3/objects/{object_type}/batch/update"
        body = {"inputs": list(inputs)}
        return self.http.post_json(
            path, body, limiters=[self.burst], expect=WriteOutcome.from_answer
        )


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
