"""paginate: page tokens followed to the last page, against a loopback API that pages honestly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from engage.http import HttpClient, Page, RetryPolicy, UnexpectedAnswer, paginate
from engage.testing import FakeServer, Reply, Request

RECORDS = [{"id": str(n)} for n in range(1, 24)]  # 23 records: pages of 10 end with 3


class Paged(FakeServer):
    """``GET /items?limit=&after=`` and ``POST /search`` with ``{limit, after}`` in the body;
    the next token is ``paging.next.after`` (an offset, as HubSpot's). ``token`` replaces the
    next token of every answer (a scripted fault)."""

    def __init__(self) -> None:
        super().__init__()
        self.token: Any = None
        self.route("GET", r"/items")(self.items)
        self.route("POST", r"/search")(self.search)

    def items(self, request: Request) -> Reply:
        return self.page(request.arg("limit"), request.arg("after"))

    def search(self, request: Request) -> Reply:
        body = request.json()
        return self.page(body.get("limit"), body.get("after"))

    def page(self, limit: object, after: object) -> Reply:
        size, start = int(str(limit or 10)), int(str(after or 0))
        if not 1 <= size <= 10:
            return Reply(400, {"message": f"limit must be 1-10, got {size}"})
        body: dict[str, Any] = {"results": RECORDS[start : start + size]}
        if start + size < len(RECORDS):
            body["paging"] = {"next": {"after": str(start + size)}}
        if self.token is not None:
            body["paging"] = {"next": {"after": self.token}}
        return Reply(200, body)


@pytest.fixture
def api() -> Iterator[Paged]:
    with Paged() as server:
        yield server  # type: ignore[misc]


def client(api: Paged) -> HttpClient:
    return HttpClient(api.url, name="Paged", retry=RetryPolicy(attempts=1))


def listing(api: Paged, **kwargs: Any) -> Iterator[Page[Any]]:
    http = client(api)
    return paginate(
        lambda fields: http.get_json("/items", params=fields),
        token="after",
        next_token="paging.next.after",
        items="results",
        size=("limit", 10),
        where="Paged: GET /items",
        **kwargs,
    )


class TestPaginate:
    """Pages follow their tokens to the end; answers of the wrong shape are errors."""

    def test_pages_to_the_end(self, api: Paged) -> None:
        """Three pages of 10, 10 and 3; the first request has no token; the last page says so."""
        pages = list(listing(api))
        assert [len(p.items) for p in pages] == [10, 10, 3]
        assert [p.next for p in pages] == ["10", "20", None]
        assert [r["id"] for p in pages for r in p.items] == [r["id"] for r in RECORDS]
        assert [(r.arg("after"), r.arg("limit")) for r in api.requests] == [
            (None, "10"),
            ("10", "10"),
            ("20", "10"),
        ]

    def test_resumes_from_a_saved_token(self, api: Paged) -> None:
        """``start`` is the first request's token: a checkpointed listing goes on from there."""
        pages = list(listing(api, start="20"))
        assert [r["id"] for p in pages for r in p.items] == ["21", "22", "23"]
        assert [r.arg("after") for r in api.requests] == ["20"]

    def test_a_limit_stops_early_and_asks_only_for_what_is_left(self, api: Paged) -> None:
        """15 records at most: a page of 10, then one of 5, then no more requests."""
        pages = list(listing(api, limit=15))
        assert [len(p.items) for p in pages] == [10, 5]
        assert pages[-1].next is None
        assert [r.arg("limit") for r in api.requests] == ["10", "5"]

    def test_the_token_can_go_in_a_json_body(self, api: Paged) -> None:
        """A search pages by ``after`` in its body; the first page sends the start token."""
        http = client(api)
        pages = paginate(
            lambda fields: http.post_json("/search", {"query": "x", **fields}),
            token="after",
            next_token="paging.next.after",
            items="results",
            size=("limit", 10),
            start="0",
        )
        assert sum(len(p.items) for p in pages) == len(RECORDS)
        assert [json.loads(r.body)["after"] for r in api.requests] == ["0", "10", "20"]

    def test_progress_sees_every_page(self, api: Paged) -> None:
        """``progress`` is told each page before it is yielded."""
        seen: list[int] = []
        for page in listing(api, progress=lambda p: seen.append(len(p.items))):
            assert seen[-1] == len(page.items)
        assert seen == [10, 10, 3]

    def test_a_number_token_is_taken_as_a_string(self, api: Paged) -> None:
        """Some APIs send the offset as a number: it is used as its string."""
        api.token = 10
        first = next(iter(listing(api)))
        assert first.next == "10"

    @pytest.mark.parametrize("token", [{"cursor": "x"}, ["10"], True, 1.5])
    def test_a_token_of_the_wrong_type_is_an_unexpected_answer(
        self, api: Paged, token: object
    ) -> None:
        """An object, a list, a boolean or a fraction for a token: a retriable error naming
        the endpoint and the field, before any second request."""
        api.token = token
        with pytest.raises(UnexpectedAnswer) as info:
            list(listing(api))
        assert str(info.value) == (
            "Paged: GET /items answered a paging token ('paging.next.after') that is not a string"
        )
        assert info.value.retriable and len(api.requests) == 1

    def test_a_token_given_twice_would_page_forever(self, api: Paged) -> None:
        """The same token again: an error instead of an endless loop."""
        api.token = "10"
        with pytest.raises(UnexpectedAnswer, match="paging token it gave before"):
            list(listing(api))
        assert len(api.requests) == 2

    def test_records_that_are_not_a_list_are_an_unexpected_answer(self, api: Paged) -> None:
        """``results`` as an object: an error naming the field."""
        pages = paginate(
            lambda fields: {"results": {"id": "1"}},
            token="after",
            next_token="paging.next.after",
            items="results",
            where="Paged: GET /odd",
        )
        with pytest.raises(
            UnexpectedAnswer, match=r"GET /odd answered 'results' that is not a list"
        ):
            list(pages)

    def test_paging_that_is_not_an_object_is_an_unexpected_answer(self) -> None:
        """``paging`` as a string: an error naming it."""
        pages = paginate(
            lambda fields: {"results": [], "paging": "next"},
            token="after",
            next_token="paging.next.after",
            items="results",
            where="Paged: GET /odd",
        )
        with pytest.raises(UnexpectedAnswer, match="answered 'paging' that is not a JSON object"):
            list(pages)
