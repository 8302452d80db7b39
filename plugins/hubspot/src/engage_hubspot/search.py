"""HubSpot's search API (``POST /crm/v3/objects/{type}/search``), paged three ways.

Search has its own limiter (5 a second, apart from the burst limit), pages of at most 200,
and a cap: paging by ``after`` past 10,000 results answers 400. So:

- :func:`all_matches` pages by ``after`` up to the cap (looking up a few task keys);
- :func:`by_id` pages by keyset on ``hs_object_id`` (each page a fresh query for the ids
  above the last one read), which no cap stops;
- :func:`modified_since` pages by keyset on a last-modified time, the incremental sync.

All three go through :func:`engage.http.paginate`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from engage.http import Page, paginate
from engage_hubspot.client import HubSpotClient, Record

#: Most records per search page.
SEARCH_PAGE = 200
#: Search answers 400 when paging by ``after`` reaches this many results.
SEARCH_CAP = 10_000
#: Filters: one group, searched in id order.
BY_ID = ("hs_object_id", "ASCENDING")


def all_matches(
    client: HubSpotClient,
    object_type: str,
    groups: Sequence[Sequence[Mapping[str, Any]]],
    properties: Sequence[str],
) -> list[Record]:
    """Every match for filter groups ORed together, in id order, 200 a page by ``after``, up
    to the 10,000-result cap."""
    path = f"/crm/v3/objects/{object_type}/search"
    body = _body(groups, BY_ID, properties)
    pages = client.pages(
        lambda more: client.post(path, {**body, **more}),
        f"POST {path}",
        SEARCH_PAGE,
        start="0",
        limit=SEARCH_CAP,
    )
    return [record for page in pages for record in page.items]


def by_id(
    client: HubSpotClient,
    object_type: str,
    filters: Sequence[Mapping[str, Any]],
    properties: Sequence[str],
    *,
    after_id: str = "0",
) -> Iterator[Page[Record]]:
    """Every match of one filter group with an id above ``after_id``, 200 a page in id order,
    by keyset; a page's ``next`` is its last id."""
    path = f"/crm/v3/objects/{object_type}/search"

    def fetch(more: dict[str, Any]) -> Record:
        above = {"propertyName": "hs_object_id", "operator": "GT", "value": more["after"]}
        return client.post(path, _body([[*filters, above]], BY_ID, properties))

    return paginate(
        fetch,
        token="after",
        next_token=_last_id_of_full_page,
        items="results",
        start=after_id,
        where=f"HubSpot: POST {path}",
    )


def modified_since(
    client: HubSpotClient,
    object_type: str,
    prop: str,
    since: int,
    properties: Sequence[str],
    *,
    moment: Callable[[Record], int],
    after_since: bool = False,
) -> Iterator[Page[Record]]:
    """Records whose ``prop`` (a last-modified time, epoch ms) is ``since`` or later (only
    later with ``after_since``), oldest first, 200 a page by keyset on that time: each page
    is a fresh query from the latest time read, so neither the cap nor records changing
    meanwhile skip anything (a changed record comes again, later).

    A full page at a single moment cannot be passed by time: its ``next`` is that moment
    (see :func:`tie`), and the caller reads the moment's records with :func:`by_id` before
    the walk goes on after it. ``moment`` reads a record's time; each page's ``answer`` has
    the search's ``total`` (:func:`total`).
    """
    path = f"/crm/v3/objects/{object_type}/search"

    def fetch(more: dict[str, Any]) -> Record:
        operator, value = more["after"].split(" ")
        since = {"propertyName": prop, "operator": operator, "value": value}
        return client.post(path, _body([[since]], (prop, "ASCENDING"), properties))

    def following(data: Record) -> str | None:
        times = [moment(r) for r in data.get("results") or []]
        if len(times) < SEARCH_PAGE:
            return None
        return f"{'GT' if min(times) == max(times) else 'GTE'} {max(times)}"

    return paginate(
        fetch,
        token="after",
        next_token=following,
        items="results",
        start=f"{'GT' if after_since else 'GTE'} {since}",
        where=f"HubSpot: POST {path}",
    )


def tie(page: Page[Record]) -> int | None:
    """The moment every record of a full :func:`modified_since` page shares (to be read by
    id), or None."""
    operator, _, value = (page.next or "").partition(" ")
    return int(value) if operator == "GT" else None


def count(client: HubSpotClient, object_type: str) -> int | None:
    """How many live (unarchived) ``object_type`` records there are: the ``total`` of one
    unfiltered search with ``limit=1``. One request, under the search limiter.

    Search sees a record once HubSpot has indexed it, so records made moments ago may be
    missing: it is an estimate of what listing will read.
    """
    body = _body([], BY_ID, ["hs_object_id"], limit=1)
    return total(client.post(f"/crm/v3/objects/{object_type}/search", body))


def total(data: Any) -> int | None:
    """A search answer's ``total``, if it has a usable one."""
    value = data.get("total") if isinstance(data, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _body(
    groups: Sequence[Sequence[Mapping[str, Any]]],
    sort: tuple[str, str],
    properties: Sequence[str],
    *,
    limit: int = SEARCH_PAGE,
) -> Record:
    """A search request: filter groups ORed together, one sort, from the first result."""
    return {
        "filterGroups": [{"filters": list(g)} for g in groups],
        "sorts": [{"propertyName": sort[0], "direction": sort[1]}],
        "properties": list(properties),
        "limit": limit,
        "after": "0",
    }


def _last_id_of_full_page(data: Record) -> str | None:
    """The keyset token of a :func:`by_id` page: its last id, unless it is the last page."""
    results = data.get("results") or []
    return str(results[-1]["id"]) if len(results) == SEARCH_PAGE else None
