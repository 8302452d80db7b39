"""The client's paging through engage.http: every page read, and an object whose associations
outgrow one batch answer read whole."""

from __future__ import annotations

from conftest import FAST
from fake_hubspot import FakeHubSpot

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
