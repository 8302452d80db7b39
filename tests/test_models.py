"""The data model refuses what would silently corrupt the record."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, date, datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engage.errors import ValidationError
from engage.health import Band, Stage
from engage.history import HealthPoint
from engage.models import (
    Channel,
    Contact,
    Customer,
    Direction,
    Owner,
    Priority,
    Task,
    TaskKind,
    Touchpoint,
)
from engage.playbook import CustomerPlan
from engage.testing import make_task


def touchpoint(**overrides: object) -> Touchpoint:
    fields: dict[str, object] = {
        "source": "test",
        "external_id": "1",
        "customer": "acme.com",
        "occurred_at": datetime(2026, 1, 5, 10, tzinfo=UTC),
        "channel": "email",
        "direction": "inbound",
    }
    fields.update(overrides)
    return Touchpoint(**fields)  # type: ignore[arg-type]


class TestTouchpoint:
    def test_naive_time_is_an_error_not_an_assumption(self) -> None:
        """A time without a zone names an unknown moment, so it is refused."""
        with pytest.raises(
            ValidationError, match="occurred_at: expected a timezone-aware datetime"
        ):
            touchpoint(occurred_at=datetime(2026, 1, 5, 10))

    def test_aware_times_are_converted_to_utc(self) -> None:
        """A time in another zone is stored as the same moment in UTC."""
        berlin = timezone(timedelta(hours=1))
        tp = touchpoint(occurred_at=datetime(2026, 1, 5, 11, tzinfo=berlin))
        assert tp.occurred_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
        assert tp.occurred_at.tzinfo is UTC

    def test_channel_and_direction_must_be_known(self) -> None:
        """An unknown channel names the accepted values."""
        with pytest.raises(ValidationError, match="channel: expected one of email, call"):
            touchpoint(channel="fax")
        with pytest.raises(ValidationError, match="direction: expected one of inbound"):
            touchpoint(direction="sideways")
        assert touchpoint(channel="call").channel is Channel.CALL
        assert touchpoint(direction="outbound").direction is Direction.OUTBOUND

    def test_feedback_is_a_normalised_score(self) -> None:
        """Feedback is 0–1; a raw NPS value of 9 is refused rather than misread."""
        assert touchpoint(feedback=0.9).feedback == 0.9
        with pytest.raises(ValidationError, match="between 0 and 1"):
            touchpoint(feedback=9)

    def test_contact_email_is_normalised(self) -> None:
        """Addresses are compared case-insensitively, so they are stored lower-cased."""
        assert touchpoint(contact_email=" Jane@ACME.com ").contact_email == "jane@acme.com"


def test_contact_needs_an_address() -> None:
    """A contact without a usable address is refused."""
    with pytest.raises(ValidationError, match="Contact.email"):
        Contact(email="not an address", customer="acme.com")


def test_customer_first_seen_must_be_aware() -> None:
    """Every time in the model is aware, the customer's first_seen too."""
    with pytest.raises(ValidationError):
        Customer("acme.com", first_seen=datetime(2025, 1, 1))


def test_task_json_round_trips() -> None:
    """The ledger stores tasks as JSON and gets the same task back."""
    task = make_task()
    assert Task.from_json(task.to_json()) == task
    assert set(task.to_json()) >= {
        "key",
        "customer",
        "rule",
        "title",
        "body",
        "due",
        "priority",
        "kind",
        "owner",
        "reason",
    }


#: Any text, lone surrogates and control characters too (what a CRM's field may hold).
_ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=40)


@given(
    body=_ANY_TEXT,
    title=_ANY_TEXT,
    reason=_ANY_TEXT,
    key=_ANY_TEXT,
    customer=_ANY_TEXT,
    owner=st.none() | _ANY_TEXT,
    contact=st.none() | _ANY_TEXT,
    due=st.dates(),
    priority=st.sampled_from(Priority),
    kind=st.sampled_from(TaskKind),
)
def test_task_json_text_is_what_json_dumps_writes(
    body: str,
    title: str,
    reason: str,
    key: str,
    customer: str,
    owner: str | None,
    contact: str | None,
    due: date,
    priority: Priority,
    kind: TaskKind,
) -> None:
    """The ledger's text of a task is json.dumps of its JSON with sorted keys, character
    for character, and reads back as the same task."""
    task = attrs.evolve(
        make_task(),
        body=body,
        title=title,
        reason=reason,
        key=key,
        customer=customer,
        owner=owner,
        contact_email=contact,
        due=due,
        priority=priority,
        kind=kind,
    )
    assert task.json_text() == json.dumps(task.to_json(), sort_keys=True)
    assert Task.from_json(json.loads(task.json_text())) == task


class TestPickling:
    """Records cross to another process (a source reading ahead) as their values."""

    def test_a_touchpoint_round_trips_with_every_field(self) -> None:
        full = touchpoint(
            contact_email="Jane@Acme.com",
            owner="carol@ourco.com",
            subject="Renewal",
            feedback=0.9,
            message_id="<m1@acme.com>",
            channel="call",
            missed=True,
        )
        back = pickle.loads(pickle.dumps(full, pickle.HIGHEST_PROTOCOL))
        assert back == full
        assert type(back) is Touchpoint
        assert (back.contact_email, back.feedback, back.missed) == ("jane@acme.com", 0.9, True)

    def test_a_customer_round_trips_with_its_frozen_attributes(self) -> None:
        """The attributes are a read-only mapping, which pickle cannot take as it is."""
        customer = Customer(
            "acme.com",
            name="Acme",
            segment="enterprise",
            owner="carol@ourco.com",
            first_seen=datetime(2025, 3, 1, tzinfo=UTC),
            open_work=True,
            attributes={"hubspot_id": "42", "tier": ["gold"]},
        )
        back = pickle.loads(pickle.dumps(customer))
        assert back == customer
        assert dict(back.attributes) == {"hubspot_id": "42", "tier": ["gold"]}
        with pytest.raises(TypeError):
            back.attributes["tier"] = "silver"  # type: ignore[index]

    def test_a_contact_round_trips(self) -> None:
        contact = Contact("jane@acme.com", "acme.com", "Jane")
        assert pickle.loads(pickle.dumps(contact)) == contact

    def test_an_owner_round_trips(self) -> None:
        owner = Owner("u1", "Carol@OurCo.com", "Carol", active=False)
        back = pickle.loads(pickle.dumps(owner))
        assert back == owner
        assert back.email == "carol@ourco.com"

    def test_a_task_a_plan_and_a_health_point_round_trip(self) -> None:
        """What the planning child sends back: plans with their tasks, and history points."""
        task = make_task(priority="high", kind="call", owner=None)
        plan = CustomerPlan("acme.com", (task,), datetime(2026, 5, 1, tzinfo=UTC), "u1")
        point = HealthPoint("acme.com", datetime(2026, 4, 1, tzinfo=UTC), 72, Band.HEALTHY,
                            Stage.ACTIVE, "v1")  # fmt: skip
        back = pickle.loads(pickle.dumps([plan, point], pickle.HIGHEST_PROTOCOL))
        assert back == [plan, point]
        assert type(back[0].tasks[0]) is Task
        assert back[0].tasks[0].priority is Priority.HIGH
        assert back[1].band is Band.HEALTHY

    def test_a_restored_object_is_as_frozen_as_the_original(self) -> None:
        back = pickle.loads(pickle.dumps(make_task()))
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            back.title = "changed"  # type: ignore[misc]
        assert hash(back) == hash(make_task())

    def test_a_subclass_round_trips_as_itself(self) -> None:
        """A plugin's subclass with a field of its own keeps its class and its field."""
        back = pickle.loads(
            pickle.dumps(_TaggedTask(**attrs.asdict(make_task(), recurse=False), tag="x"))
        )
        assert type(back) is _TaggedTask
        assert back.tag == "x"
        assert back.title == make_task().title


@attrs.frozen
class _TaggedTask(Task):
    tag: str = ""


def test_customer_attributes_as_stored_json() -> None:
    """Keys sorted, a value JSON cannot hold written as its text, none as ``{}``."""
    customer = Customer("acme.com", attributes={"tier": "gold", "since": date(2024, 1, 2)})
    assert customer.attributes_json() == '{"since": "2024-01-02", "tier": "gold"}'
    assert Customer("acme.com").attributes_json() == "{}"
