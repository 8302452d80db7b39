"""Keep the fake honest: HubSpot's official Python SDK, pointed at it, accepts every answer."""

from __future__ import annotations

import pytest
from conftest import seed
from fake_hubspot import CUSTOM_OUTCOME, FakeHubSpot

hubspot = pytest.importorskip("hubspot")
from hubspot import HubSpot  # noqa: E402
from hubspot.crm.contacts import Filter, FilterGroup, PublicObjectSearchRequest  # noqa: E402
from hubspot.crm.contacts.exceptions import ApiException  # noqa: E402
from hubspot.crm.objects.tasks import (  # noqa: E402
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectId,
)
from hubspot.crm.objects.tasks import (  # noqa: E402
    Filter as TaskFilter,
)
from hubspot.crm.objects.tasks import (  # noqa: E402
    FilterGroup as TaskFilterGroup,
)
from hubspot.crm.objects.tasks import (  # noqa: E402
    PublicObjectSearchRequest as TaskSearchRequest,
)
from hubspot.crm.objects.tasks.exceptions import (  # noqa: E402
    ApiException as TasksApiException,
)
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate  # noqa: E402
from hubspot.crm.properties.exceptions import (  # noqa: E402
    ApiException as PropertiesApiException,
)

from engage_hubspot.task_keys import definition  # noqa: E402


@pytest.fixture
def sdk(fake: FakeHubSpot) -> HubSpot:
    """The official client, talking to the fake."""
    return HubSpot(access_token=fake.token, host=fake.url)


class TestOfficialSdk:
    """The SDK's requests are accepted and its models deserialize the fake's answers."""

    def test_list_pages_with_after(self, fake: FakeHubSpot, sdk: HubSpot) -> None:
        """basic_api.get_page and get_all page through companies and contacts."""
        seed(fake)
        for n in range(150):
            fake.add("contacts", {"email": f"p{n}@acme.com"})
        page = sdk.crm.companies.basic_api.get_page(
            limit=2, properties=["name", "domain"], associations=["contacts"]
        )
        assert len(page.results) == 2 and page.paging.next.after
        nxt = sdk.crm.companies.basic_api.get_page(
            limit=2, after=page.paging.next.after, properties=["name"]
        )
        assert {r.id for r in nxt.results}.isdisjoint({r.id for r in page.results})
        everyone = sdk.crm.contacts.get_all()
        assert len(everyone) == 152
        first = fake.requests_to("GET", "/companies")[0]
        assert first.query["properties"] == ["name", "domain"]  # the SDK repeats the parameter

    def test_search(self, fake: FakeHubSpot, sdk: HubSpot) -> None:
        """do_search with a filter and a sort answers with total, results and paging."""
        seed(fake)
        request = PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(filters=[Filter(property_name="email", operator="HAS_PROPERTY")])
            ],
            sorts=["lastmodifieddate"],
            properties=["email"],
            limit=1,
            after="0",
        )
        answer = sdk.crm.contacts.search_api.do_search(public_object_search_request=request)
        assert answer.total == 2 and len(answer.results) == 1 and answer.paging.next.after == "1"

    def test_search_past_10000_is_refused_as_hubspot_does(
        self, fake: FakeHubSpot, sdk: HubSpot
    ) -> None:
        """Paging search past 10,000 results is a 400 the SDK raises as ApiException."""
        request = PublicObjectSearchRequest(limit=200, after="9900", properties=["email"])
        with pytest.raises(ApiException) as caught:
            sdk.crm.contacts.search_api.do_search(public_object_search_request=request)
        assert caught.value.status == 400

    def test_batch_create_tasks(self, fake: FakeHubSpot, sdk: HubSpot) -> None:
        """batch_api.create of a task with associations 192/204 deserializes the 201 answer."""
        ids = seed(fake)
        spec = AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=192)
        inputs = BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties={"hs_timestamp": "1767261600000", "hs_task_subject": "Call Acme",
                                "hs_task_status": "NOT_STARTED", "hubspot_owner_id": ids["carol"]},
                    associations=[PublicAssociationsForObject(to=PublicObjectId(id=ids["acme"]), types=[spec])],
                    object_write_trace_id="k1",
                )
            ]
        )  # fmt: skip
        answer = sdk.crm.objects.tasks.batch_api.create(
            batch_input_simple_public_object_batch_input_for_create=inputs
        )
        assert answer.status == "COMPLETE" and answer.results[0].object_write_trace_id == "k1"
        assert (
            fake.objects["tasks"][answer.results[0].id]["properties"]["hs_task_subject"]
            == "Call Acme"
        )

    def test_owners_active_and_archived(self, fake: FakeHubSpot, sdk: HubSpot) -> None:
        """owners_api.get_page (trailing slash, archived=True) lists archived owners only."""
        seed(fake)
        active = sdk.crm.owners.owners_api.get_page()
        archived = sdk.crm.owners.owners_api.get_page(archived=True)
        assert [o.email for o in active.results] == ["Carol@OurCo.com"]
        assert [o.email for o in archived.results] == ["dave@ourco.com"]
        assert archived.results[0].archived is True

    def test_a_429_reaches_the_sdk_with_its_policy(self, fake: FakeHubSpot, sdk: HubSpot) -> None:
        """The fake's 429 body is what the SDK reports, policyName included."""
        fake.rate_limit_next("SECONDLY")
        with pytest.raises(ApiException) as caught:
            sdk.crm.contacts.search_api.do_search(
                public_object_search_request=PublicObjectSearchRequest(limit=10)
            )
        assert caught.value.status == 429 and "SECONDLY" in caught.value.body

    def test_the_call_outcomes_property(self, fake: FakeHubSpot, sdk: HubSpot) -> None:
        """properties.core_api.get_by_name reads hs_call_disposition with its options."""
        prop = sdk.crm.properties.core_api.get_by_name(
            object_type="calls", property_name="hs_call_disposition"
        )
        assert prop.name == "hs_call_disposition" and prop.type == "enumeration"
        labels = {o.value: o.label for o in prop.options}
        assert labels["73a0d17f-1163-4015-bdd5-ec830791da20"] == "No answer"
        assert labels[CUSTOM_OUTCOME[0]] == CUSTOM_OUTCOME[1]

    def test_an_unknown_or_refused_property_is_an_error_the_sdk_raises(
        self, fake: FakeHubSpot, sdk: HubSpot
    ) -> None:
        """A property the portal lacks is a 404; without a scope, a 403."""
        with pytest.raises(PropertiesApiException) as missing:
            sdk.crm.properties.core_api.get_by_name(object_type="calls", property_name="nope")
        assert missing.value.status == 404 and "OBJECT_NOT_FOUND" in missing.value.body
        fake.denied.add("properties")
        with pytest.raises(PropertiesApiException) as refused:
            sdk.crm.properties.core_api.get_by_name(
                object_type="calls", property_name="hs_call_disposition"
            )
        assert refused.value.status == 403


def _key_property(sdk: HubSpot) -> None:
    """Create the group and the unique task-key property as engage defines it, through the SDK."""
    sdk.crm.properties.groups_api.create(
        object_type="tasks",
        property_group_create=PropertyGroupCreate(name="engage", label="engage", display_order=-1),
    )
    body = definition("engage_task_key")
    sdk.crm.properties.core_api.create(
        object_type="tasks",
        property_create=PropertyCreate(
            name=body["name"], label=body["label"], description=body["description"],
            group_name=body["groupName"], type=body["type"], field_type=body["fieldType"],
            has_unique_value=True, form_field=False,
        ),
    )  # fmt: skip


def _create_tasks(sdk: HubSpot, keys: list[str]) -> object:
    inputs = BatchInputSimplePublicObjectBatchInputForCreate(
        inputs=[
            SimplePublicObjectBatchInputForCreate(
                properties={"hs_timestamp": "1767261600000", "hs_task_subject": f"Task {k}",
                            "engage_task_key": k},
                associations=[], object_write_trace_id=k,
            )
            for k in keys
        ]
    )  # fmt: skip
    return sdk.crm.objects.tasks.batch_api.create(
        batch_input_simple_public_object_batch_input_for_create=inputs
    )


class TestOfficialSdkOnTheTaskKey:
    """The properties API, unique values, batch read by idProperty, search IN and 423, via the SDK."""

    def test_property_group_and_unique_property_are_created_once(
        self, fake: FakeHubSpot, sdk: HubSpot
    ) -> None:
        """groups_api and core_api create deserialize the 201s; a second create is a 409."""
        _key_property(sdk)
        prop = sdk.crm.properties.core_api.get_by_name(
            object_type="tasks", property_name="engage_task_key"
        )
        assert prop.has_unique_value is True and prop.group_name == "engage"
        assert prop.type == "string" and prop.field_type == "text"
        group = sdk.crm.properties.groups_api.get_by_name(object_type="tasks", group_name="engage")
        assert group.name == "engage"
        with pytest.raises(PropertiesApiException) as again:
            _key_property(sdk)
        assert again.value.status == 409

    def test_a_property_in_a_missing_group_or_without_a_scope_is_refused(
        self, fake: FakeHubSpot, sdk: HubSpot
    ) -> None:
        """A property needs an existing group (400); without the schema scope, a 403."""
        create = PropertyCreate(name="x_key", label="X", group_name="nope", type="string",
                                field_type="text")  # fmt: skip
        with pytest.raises(PropertiesApiException) as missing:
            sdk.crm.properties.core_api.create(object_type="tasks", property_create=create)
        assert missing.value.status == 400
        fake.denied.add("property-writes")
        with pytest.raises(PropertiesApiException) as refused:
            _key_property(sdk)
        assert refused.value.status == 403

    def test_a_duplicate_unique_value_refuses_the_batch_with_409(
        self, fake: FakeHubSpot, sdk: HubSpot
    ) -> None:
        """A batch holding an existing key is refused whole (CONFLICT); nothing is created."""
        _key_property(sdk)
        _create_tasks(sdk, ["k1"])
        with pytest.raises(TasksApiException) as caught:
            _create_tasks(sdk, ["k2", "k1"])
        assert caught.value.status == 409 and "CONFLICT" in caught.value.body
        assert len(fake.objects["tasks"]) == 1

    def test_batch_read_by_the_unique_property(self, fake: FakeHubSpot, sdk: HubSpot) -> None:
        """batch_api.read with id_property finds tasks by key; a missing key is a 207 error."""
        _key_property(sdk)
        created = _create_tasks(sdk, ["k1", "k2"])
        read = BatchReadInputSimplePublicObjectId(
            id_property="engage_task_key",
            inputs=[SimplePublicObjectId(id=k) for k in ("k1", "k2", "k3")],
            properties=["engage_task_key"],
            properties_with_history=[],
        )
        answer = sdk.crm.objects.tasks.batch_api.read(batch_read_input_simple_public_object_id=read)
        assert {r.properties["engage_task_key"]: r.id for r in answer.results} == {
            r.object_write_trace_id: r.id
            for r in created.results  # type: ignore[attr-defined]
        }
        assert answer.num_errors == 1

    def test_batch_read_by_a_property_without_unique_values_is_refused(
        self, fake: FakeHubSpot, sdk: HubSpot
    ) -> None:
        """idProperty must name a unique property: hs_task_subject is a 400."""
        read = BatchReadInputSimplePublicObjectId(
            id_property="hs_task_subject", inputs=[SimplePublicObjectId(id="x")], properties=[],
            properties_with_history=[],
        )  # fmt: skip
        with pytest.raises(TasksApiException) as caught:
            sdk.crm.objects.tasks.batch_api.read(batch_read_input_simple_public_object_id=read)
        assert caught.value.status == 400

    def test_search_in(self, fake: FakeHubSpot, sdk: HubSpot) -> None:
        """do_search with operator IN and values finds exactly those keys."""
        _key_property(sdk)
        _create_tasks(sdk, ["k1", "k2", "k3"])
        fake.unindexed.clear()
        request = TaskSearchRequest(
            filter_groups=[TaskFilterGroup(filters=[
                TaskFilter(property_name="engage_task_key", operator="IN", values=["k1", "k3"])
            ])],
            properties=["engage_task_key"], limit=200, after="0",
        )  # fmt: skip
        answer = sdk.crm.objects.tasks.search_api.do_search(public_object_search_request=request)
        assert answer.total == 2
        assert {r.properties["engage_task_key"] for r in answer.results} == {"k1", "k3"}

    def test_a_423_reaches_the_sdk(self, fake: FakeHubSpot, sdk: HubSpot) -> None:
        """The fake's 423 Locked is an ApiException with HubSpot's error body."""
        fake.lock_next()
        with pytest.raises(TasksApiException) as caught:
            _create_tasks(sdk, ["k1"])
        assert caught.value.status == 423 and "correlationId" in caught.value.body
