"""The HubSpot source against the fake: first sync, incremental sync, and HubSpot's traps."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from conftest import pull, seed
from fake_hubspot import CUSTOM_OUTCOME, FakeHubSpot

from engage.adapters import Retire
from engage.errors import ConfigError
from engage.models import Channel, Direction
from engage_hubspot import HubSpotSource

Make = Callable[..., HubSpotSource]


class TestFirstSync:
    """The first sync lists everything at the largest page size."""

    def test_owners_companies_contacts_and_engagements_become_engage_records(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """Every kind of record arrives mapped, with keys that merge with other sources."""
        ids = seed(fake)
        result = pull(make_source(segment_property="tier", company_properties=["tier"]))
        owners = {o.id: o for o in result.owners}
        assert owners["carol@ourco.com"].active and not owners["dave@ourco.com"].active
        customers = {c.key: c for c in result.customers}
        assert customers["acme.com"].owner == "carol@ourco.com"
        assert customers["acme.com"].segment == "enterprise"
        assert customers["acme.com"].attributes["hubspot_company_id"] == ids["acme"]
        assert customers["acme.com"].open_work is True
        assert customers["globex.io"].open_work is False
        assert f"hubspot-company:{ids['nodomain']}" in customers
        contacts = {c.email: c for c in result.contacts}
        assert contacts["jane@acme.com"].customer == "acme.com"
        assert contacts["jo@gmail.com"].customer == "jo@gmail.com"
        email = result.touchpoint(f"email:{ids['email_in']}")
        assert (email.channel, email.direction) == (Channel.EMAIL, Direction.INBOUND)
        assert email.customer == "acme.com" and email.contact_email == "jane@acme.com"
        assert email.owner == "carol@ourco.com" and email.message_id == "<m1@acme.com>"
        assert email.source == "crm"
        call = result.touchpoint(f"call:{ids['call_out']}")
        assert (call.direction, call.customer, call.owner) == (
            Direction.OUTBOUND,
            "globex.io",
            "dave@ourco.com",
        )
        assert result.touchpoint(f"meeting:{ids['meeting_done']}").customer == "jo@gmail.com"
        assert result.touchpoint(f"note:{ids['note']}").direction == Direction.INTERNAL
        nps = result.touchpoint(f"feedback:{ids['nps']}")
        assert nps.channel == Channel.FEEDBACK and nps.feedback == pytest.approx(0.9)
        assert f"meeting:{ids['meeting_cancelled']}" not in {
            t.external_id for t in result.touchpoints
        }
        assert Retire("touchpoint", f"meeting:{ids['meeting_cancelled']}") in result.retired

    def test_unassociated_engagements_are_counted_and_reported(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """An engagement with no company or contact is reported, not silently dropped."""
        ids = seed(fake)
        result = pull(make_source())
        assert f"note:{ids['lonely']}" not in {t.external_id for t in result.touchpoints}
        assert any("1 engagement(s) have no company or contact" in p for p in result.problems)
        assert json.loads(result.cursor)["unassociated"] == {"notes": [ids["lonely"]]}

    def test_lists_at_the_largest_page_and_checkpoints_every_page(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """List requests ask for 100 records; every page is followed by a checkpoint."""
        company = fake.add("companies", {"name": "Big", "domain": "big.com"})
        for n in range(250):
            fake.add("contacts", {"email": f"p{n}@big.com", "associatedcompanyid": company})
        result = pull(make_source(feedback=False, open_work=False))
        assert len(result.contacts) == 250
        lists = [r for r in fake.requests_to("GET", "/objects/contacts") if "limit" in r.query]
        assert [r.arg("limit") for r in lists] == ["100"] * 3
        assert len(result.checkpoints) >= 3 + 1

    def test_a_long_property_list_is_split_so_the_url_fits(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """Many company properties do not make a URL HubSpot refuses (414): the rest come by POST."""
        many = [f"custom_property_number_{n:03d}" for n in range(200)]
        fake.add("companies", {"name": "Acme", "domain": "acme.com", many[-1]: "last"})
        result = pull(make_source(company_properties=many, feedback=False, open_work=False))
        assert result.customers[0].attributes[many[-1]] == "last"
        assert fake.requests_to("POST", "/companies/batch/read")

    def test_a_missing_token_names_the_environment_variable(
        self, fake: FakeHubSpot, make_source: Make, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without the token variable the source cannot be built, and says which variable."""
        with pytest.raises(ConfigError, match="MY_HUBSPOT_TOKEN is not set"):
            make_source(token_env="MY_HUBSPOT_TOKEN")


class TestIncrementalSync:
    """Later syncs search from the saved watermark."""

    def test_only_changes_are_searched_and_pulled(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """A second sync uses search from the cursor and brings only what changed."""
        ids = seed(fake)
        first = pull(make_source(overlap_minutes=0))
        fake.now_ms += 60_000
        fake.update("companies", ids["globex"], name="Globex Corp")
        searched_before = len(fake.requests_to("POST", "/search"))
        second = pull(make_source(overlap_minutes=0), first.cursor)
        assert [c.name for c in second.customers] == ["Globex Corp"]
        assert second.touchpoints == []
        assert len(fake.requests_to("POST", "/search")) > searched_before

    def test_records_changed_while_paging_are_neither_skipped_nor_repeated(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """A record modified between two search pages moves to the end of the order; none is lost."""
        company = fake.add("companies", {"name": "Big", "domain": "big.com"})
        first = pull(make_source(overlap_minutes=0, feedback=False, open_work=False))
        fake.now_ms += 60_000
        ids = [
            fake.add("contacts", {"email": f"p{n}@big.com", "associatedcompanyid": company})
            for n in range(450)
        ]
        source = make_source(overlap_minutes=0, feedback=False, open_work=False)
        seen: list[str] = []
        changed = False
        for item in source.pull(first.cursor):
            email = getattr(item, "email", None)
            if email:
                seen.append(email)
            if len(seen) == 150 and not changed:  # HubSpot changes the 10th record meanwhile
                fake.update("contacts", ids[10], firstname="Changed")
                changed = True
        assert set(seen) == {f"p{n}@big.com" for n in range(450)}
        assert len(seen) == 451  # the changed one comes again with its new name, nothing else

    def test_more_than_10000_records_with_one_modified_time_do_not_loop(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """A bulk update gives 10,050 records one time: they are paged by id, each once."""
        first = pull(
            make_source(overlap_minutes=0, feedback=False, open_work=False, engagements=[])
        )
        fake.now_ms += 60_000
        moment = fake.now_ms
        for n in range(10_050):
            fake.add("contacts", {"email": f"p{n}@gmail.com"}, modified=moment)
        fake.now_ms += 60_000
        second = pull(
            make_source(overlap_minutes=0, feedback=False, open_work=False, engagements=[]),
            first.cursor,
        )
        emails = [c.email for c in second.contacts]
        assert len(emails) == len(set(emails)) == 10_050
        searches = fake.requests_to("POST", "/contacts/search")
        assert all(json.loads(r.body)["limit"] == 200 for r in searches)
        assert all(int(json.loads(r.body)["after"]) < 10_000 for r in searches)

    def test_the_watermark_never_passes_the_start_of_the_sync(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """A record stamped in the future (clock skew) does not push the cursor past 'now'."""
        fake.add("companies", {"name": "Early", "domain": "early.com"})
        first = pull(make_source(overlap_minutes=0, feedback=False, open_work=False))
        fake.now_ms += 60_000
        fake.add(
            "companies",
            {"name": "Future", "domain": "future.com"},
            modified=fake.now_ms + 3_600_000,
        )
        second = pull(make_source(overlap_minutes=0, feedback=False, open_work=False), first.cursor)
        assert json.loads(second.cursor)["types"]["companies"]["modified"] <= fake.now_ms
        fake.now_ms += 60_000
        fake.add("companies", {"name": "Later", "domain": "later.com"})
        third = pull(make_source(overlap_minutes=0, feedback=False, open_work=False), second.cursor)
        assert "later.com" in {c.key for c in third.customers}

    def test_records_indexed_late_are_caught_by_the_overlap(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """A record search did not show yet is read on the next sync, thanks to the overlap."""
        first = pull(make_source(feedback=False, open_work=False))
        fake.now_ms += 60_000
        late = fake.add("companies", {"name": "Late", "domain": "late.com"})
        fake.unindexed.add(late)
        fake.now_ms += 1_000
        fake.add("companies", {"name": "Prompt", "domain": "prompt.com"})
        second = pull(make_source(feedback=False, open_work=False), first.cursor)
        assert {c.key for c in second.customers} == {"prompt.com"}
        fake.unindexed.clear()
        fake.now_ms += 60_000
        third = pull(make_source(feedback=False, open_work=False), second.cursor)
        assert "late.com" in {c.key for c in third.customers}

    def test_archived_records_are_retired(self, fake: FakeHubSpot, make_source: Make) -> None:
        """Archiving keeps the last-modified time, so a sweep of archived records retires them."""
        ids = seed(fake)
        first = pull(make_source())
        fake.now_ms += 60_000
        fake.archive("calls", ids["call_out"])
        fake.archive("contacts", ids["jo"])
        fake.archive("companies", ids["globex"])
        fake.now_ms += 1_000
        second = pull(make_source(), first.cursor)
        assert Retire("touchpoint", f"call:{ids['call_out']}") in second.retired
        assert Retire("contact", "jo@gmail.com") in second.retired
        assert Retire("customer", "globex.io") in second.retired
        fake.now_ms += 3_600_000
        third = pull(make_source(overlap_minutes=0), second.cursor)
        assert not [r for r in third.retired if r.kind != "touchpoint"]

    def test_associations_made_later_are_read_again(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """An engagement associated after its last change still reaches its customer."""
        ids = seed(fake)
        first = pull(make_source())
        fake.now_ms += 60_000
        fake.associate("notes", ids["lonely"], "companies", ids["acme"])  # no modified change
        second = pull(make_source(), first.cursor)
        assert second.touchpoint(f"note:{ids['lonely']}").customer == "acme.com"
        assert json.loads(second.cursor)["unassociated"] == {}

    def test_work_that_closes_is_reported_on_its_customer(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """When the last open deal closes, the company (unchanged itself) gets open_work False."""
        ids = seed(fake)
        first = pull(make_source())
        fake.now_ms += 60_000
        fake.update("deals", ids["deal"], hs_is_closed="true")
        second = pull(make_source(), first.cursor)
        acme = [c for c in second.customers if c.key == "acme.com"]
        assert acme and acme[-1].open_work is False


def calls_of(fake: FakeHubSpot, ids: dict[str, str]) -> dict[str, str]:
    """Calls of Jane at Acme, one per way a call can end (inbound but ``_out``); ids by name."""
    made = {}
    for name, status, outcome in [
        ("no_answer", "NO_ANSWER", None),
        ("busy_out", "BUSY", None),
        ("voicemail", "COMPLETED", "b2cf5968-551e-4856-9783-52b3da59a7d0"),  # Left voicemail
        ("connected", "COMPLETED", "f240bbac-87c9-4f6e-bf70-924b57d47db7"),  # Connected
        ("booked", "COMPLETED", CUSTOM_OUTCOME[0]),  # the portal's own outcome
        ("cancelled", "CANCELED", None),
    ]:
        direction = "OUTBOUND" if name.endswith("_out") else "INBOUND"
        made[name] = fake.add(
            "calls",
            {"hs_timestamp": fake.now_ms - 3_600_000, "hs_call_direction": direction,
             "hs_call_status": status, "hs_call_disposition": outcome},
            companies=[ids["acme"]], contacts=[ids["jane"]],
        )  # fmt: skip
    fake.now_ms += 60_000
    return made


class TestCalls:
    """Calls arrive held, missed or not at all, judged by the portal's own call outcomes."""

    def test_a_customers_unanswered_call_arrives_missed_and_inbound(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """No answer, busy and a voicemail are missed in their direction; connected is held."""
        made = calls_of(fake, seed(fake))
        result = pull(make_source())
        missed = result.touchpoint(f"call:{made['no_answer']}")
        assert (missed.direction, missed.missed) == (Direction.INBOUND, True)
        assert missed.customer == "acme.com" and missed.contact_email == "jane@acme.com"
        busy = result.touchpoint(f"call:{made['busy_out']}")
        assert (busy.direction, busy.missed) == (Direction.OUTBOUND, True)
        assert result.touchpoint(f"call:{made['voicemail']}").missed
        assert not result.touchpoint(f"call:{made['connected']}").missed
        assert not result.touchpoint(f"call:{made['booked']}").missed  # unknown label: status
        assert Retire("touchpoint", f"call:{made['cancelled']}") in result.retired
        assert not [p for p in result.problems if "call outcomes" in p]

    def test_the_outcomes_are_read_once_per_pull_with_the_calls(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """One GET of the hs_call_disposition property per pull, however many pages of calls."""
        ids = seed(fake)
        for _ in range(150):
            fake.add("calls", {"hs_timestamp": fake.now_ms, "hs_call_status": "COMPLETED"},
                     companies=[ids["acme"]])  # fmt: skip
        first = pull(make_source())
        outcomes = fake.requests_to("GET", "/crm/v3/properties/calls/hs_call_disposition")
        assert len(outcomes) == 1
        listed = [r for r in fake.requests_to("GET", "/crm/v3/objects/calls") if "limit" in r.query]
        assert listed and all("hs_call_disposition" in (r.arg("properties") or "") for r in listed)
        pull(make_source(engagements=["emails"]), first.cursor)
        assert len(fake.requests_to("GET", "/properties/")) == 1  # no calls pulled: not read

    def test_a_portal_label_decides_for_a_custom_outcome(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """An outcome the portal labels 'Left voicemail' in its own id is missed."""
        ids = seed(fake)
        definition = fake.definitions[("calls", "hs_call_disposition")]
        definition["options"].append(
            {
                "value": "own-voicemail",
                "label": "left VOICEMAIL",
                "hidden": False,
                "displayOrder": 9,
            }
        )
        call = fake.add(
            "calls",
            {"hs_timestamp": fake.now_ms, "hs_call_status": "COMPLETED",
             "hs_call_disposition": "own-voicemail"},
            companies=[ids["acme"]],
        )  # fmt: skip
        assert pull(make_source()).touchpoint(f"call:{call}").missed

    def test_refused_outcomes_fall_back_to_the_default_ids_and_say_so(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """A 403 on the property: HubSpot's default ids still count, custom ones go by status."""
        made = calls_of(fake, seed(fake))
        fake.denied.add("properties")
        result = pull(make_source())
        assert result.touchpoint(f"call:{made['voicemail']}").missed
        assert not result.touchpoint(f"call:{made['connected']}").missed
        assert not result.touchpoint(f"call:{made['booked']}").missed
        [problem] = [p for p in result.problems if "call outcomes" in p]
        assert "HTTP 403" in problem and "crm.schemas.calls.read" in problem
        assert fake.token not in problem

    def test_a_call_that_changes_to_no_answer_is_missed_on_the_next_sync(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """Incremental sync: a call first logged as completed, then corrected, arrives missed."""
        ids = seed(fake)
        first = pull(make_source())
        fake.now_ms += 60_000
        fake.update("calls", ids["call_out"], hs_call_status="NO_ANSWER")
        second = pull(make_source(), first.cursor)
        assert second.touchpoint(f"call:{ids['call_out']}").missed

    def test_calls_read_under_older_rules_are_read_again(
        self, fake: FakeHubSpot, make_source: Make
    ) -> None:
        """A cursor from before the call rules: the calls are listed once more, the rest searched."""
        ids = seed(fake)
        made = calls_of(fake, ids)
        first = pull(make_source(overlap_minutes=0))
        old = json.loads(first.cursor)
        del old["call_rules"]
        fake.now_ms += 60_000
        before = len(fake.requests)
        second = pull(make_source(overlap_minutes=0), json.dumps(old))
        listed = {r.path for r in fake.requests[before:] if r.arg("archived") != "true"
                  and r.method == "GET" and "/crm/v3/objects/" in r.path}  # fmt: skip
        assert listed == {"/crm/v3/objects/calls"}  # the other types are searched
        assert second.touchpoint(f"call:{made['no_answer']}").missed
        state = json.loads(second.cursor)
        assert state["call_rules"] == 1 and state["types"]["calls"]["listing"] is False
        fake.now_ms += 60_000
        third = pull(make_source(overlap_minutes=0), second.cursor)
        assert third.touchpoints == []  # listed once: later syncs search again
