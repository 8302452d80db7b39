"""The client's paging through engage.http: every page read, and an object whose associations
outgrow one batch answer read whole."""

from __future__ import annotations

import pytest
from conftest import FAST
from fake_hubspot import FakeHubSpot

from engage.http import AmbiguousWrite, Fault, UnexpectedAnswer
from engage.testing import FakeServer, Reply
from engage_hubspot.client import HubSpotClient


def client(fake: FakeHubSpot) -> HubSpotClient:
    return HubSpotClient(
        fake.token, token_env="HUBSPOT_TOKEN", base_url=fake.url, timing=FAST, sleep=lambda s: None
    )


def test_an_object_with_more_associations_than_one_answer_holds_is_read_whole(
    fake: FakeHubSpot,
) -> None:
    """The batch read pages one note's five contacts (two a page): its list is read instead."""
    contacts = [fake.add("contacts", {"email": f"p{n}@acme.com"}) for n in range(5)]
    crowded = fake.add("notes", {"hs_timestamp": fake.now_ms}, contacts=contacts)
    quiet = fake.add("notes", {"hs_timestamp": fake.now_ms}, contacts=contacts[:1])
    fake.association_batch_page = 2
    linked = client(fake).associations("notes", "contacts", [crowded, quiet])
    assert linked == {crowded: sorted(contacts, key=int), quiet: contacts[:1]}
    lists = fake.requests_to("GET", f"/crm/v4/objects/notes/{crowded}/associations/contacts")
    assert len(lists) == 1


def test_owners_are_read_page_by_page_to_the_last(fake: FakeHubSpot) -> None:
    """250 owners: three pages of at most 100, each asking for the next by ``after``."""
    made = {fake.add_owner(f"o{n}@ourco.com") for n in range(250)}
    owners = list(client(fake).owners(archived=False))
    assert {str(o["id"]) for o in owners} == made
    pages = fake.requests_to("GET", "/crm/v3/owners")
    assert [(r.arg("limit"), r.arg("after") is None) for r in pages] == [
        ("100", True),
        ("100", False),
        ("100", False),
    ]


WRONG_SHAPES = [
    Reply(201, {"status": "COMPLETE", "results": [{"id": {"value": 1}}]}),
    Reply(201, {"status": "COMPLETE", "results": "none"}),
    Reply(201, text="<html>created</html>", headers={"Content-Type": "text/html"}),
]


@pytest.mark.parametrize("reply", WRONG_SHAPES)
def test_a_batch_create_answered_in_another_shape_may_have_been_written(reply: Reply) -> None:
    """write_once: sent once; a 2xx that is not HubSpot's shape is an AmbiguousWrite (the
    tasks are looked for before any second send), while a read of the same answer is an
    UnexpectedAnswer."""
    server = FakeServer()
    server.route("POST", r"/crm/v3/objects/tasks/batch/(create|read)")(lambda request: reply)
    with server:
        hubspot = HubSpotClient(
            "pat-x", token_env="HUBSPOT_TOKEN", base_url=server.url, timing=FAST
        )
        with pytest.raises(AmbiguousWrite, match="may have been written") as info:
            hubspot.write_once("/crm/v3/objects/tasks/batch/create", {"inputs": [{}]})
        assert info.value.fault is Fault.ANSWER
        assert info.value.endpoint == "POST /crm/v3/objects/tasks/batch/create"
        assert len(server.requests) == 1
        with pytest.raises(UnexpectedAnswer) as read:
            hubspot.post("/crm/v3/objects/tasks/batch/read", {"inputs": []})
        assert not isinstance(read.value, AmbiguousWrite)
