"""Pure mapping from HubSpot records to engage models and back (with hypothesis)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engage.models import Channel, Direction, Priority, Task, TaskKind, Touchpoint
from engage_hubspot import calls, mapping

NOW = datetime(2026, 3, 1, tzinfo=UTC)
CONNECTED = "f240bbac-87c9-4f6e-bf70-924b57d47db7"
NO_ANSWER = "73a0d17f-1163-4015-bdd5-ec830791da20"
MEETING_BOOKED = "3b8f5e5a-2d0c-4c61-9a57-5f0e2f6b7c1d"
#: A portal's call outcomes: HubSpot's defaults and one of its own.
PORTAL = {**calls.DEFAULT_DISPOSITIONS, MEETING_BOOKED: "Meeting booked"}
STATUSES = calls.NOT_HELD_STATUSES | calls.MISSED_STATUSES | {"COMPLETED", "UNKNOWN"}
keys = (
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=120)
    .map(str.strip)
    .filter(bool)
)


class TestKeys:
    """Customer and owner ids merge with other sources."""

    @given(
        st.sampled_from(
            ["acme.com", "Acme.COM", "www.acme.com", "https://www.acme.com/about", " acme.com. "]
        )
    )
    def test_a_domain_key_is_the_bare_lower_cased_domain(self, domain: str) -> None:
        """Scheme, www., path, case and a trailing dot never change the key."""
        assert mapping.company_key("1", domain) == "acme.com"

    @given(st.text(max_size=40))
    def test_domain_keys_are_idempotent(self, domain: str) -> None:
        """Normalising a key again changes nothing."""
        key = mapping.domain_key(domain)
        assert key is None or mapping.domain_key(key) == key

    def test_a_company_without_domain_is_keyed_by_its_id(self) -> None:
        """No domain: ``hubspot-company:<id>``, and the sink can read the id back."""
        key = mapping.company_key("42", "")
        assert key == "hubspot-company:42" and mapping.company_id_of_key(key) == "42"

    def test_owners_are_known_by_email_else_by_hubspot_id(self) -> None:
        """An owner with an email is that email; without one, ``hubspot-owner:<id>``."""
        assert mapping.owner_key("7", "Carol@OurCo.com") == "carol@ourco.com"
        assert mapping.owner_key("7", None) == "hubspot-owner:7"
        assert not mapping.owner_from_hubspot({"id": "7", "archived": True}).active


class TestTimes:
    """HubSpot times are ISO text or epoch milliseconds."""

    @given(st.integers(min_value=0, max_value=4_102_444_800_000))
    def test_epoch_millis_and_iso_agree(self, ms: int) -> None:
        """Both spellings of one moment parse to the same aware UTC time."""
        as_ms = mapping.parse_time(str(ms))
        assert as_ms is not None and mapping.to_millis(as_ms) == ms
        assert mapping.parse_time(as_ms.isoformat().replace("+00:00", "Z")) == as_ms

    @given(st.text(max_size=30))
    def test_garbage_is_none_never_an_error(self, text: str) -> None:
        """Whatever the text, parsing answers a UTC time or None."""
        moment = mapping.parse_time(text)
        assert moment is None or moment.tzinfo is not None


class TestEngagements:
    """Channel and direction come from the engagement's own properties."""

    def test_directions(self) -> None:
        """Emails by hs_email_direction, calls by hs_call_direction, notes internal."""
        cd = mapping.channel_direction
        assert cd("emails", {"hs_email_direction": "INCOMING_EMAIL"}, NOW) == (
            Channel.EMAIL,
            Direction.INBOUND,
        )
        assert cd("emails", {"hs_email_direction": "EMAIL"}, NOW) == (
            Channel.EMAIL,
            Direction.OUTBOUND,
        )
        assert cd("calls", {"hs_call_direction": "INBOUND"}, NOW) == (
            Channel.CALL,
            Direction.INBOUND,
        )
        assert cd("notes", {}, NOW) == (Channel.NOTE, Direction.INTERNAL)

    def test_what_did_not_happen_is_no_touchpoint(self) -> None:
        """Cancelled or no-show meetings, future meetings and unsent emails do not count."""
        cd = mapping.channel_direction
        assert cd("meetings", {"hs_meeting_outcome": "NO_SHOW", "hs_timestamp": "0"}, NOW) is None
        assert (
            cd(
                "meetings",
                {"hs_meeting_outcome": "SCHEDULED", "hs_timestamp": "4102444800000"},
                NOW,
            )
            is None
        )
        assert (
            cd("meetings", {"hs_meeting_outcome": "SCHEDULED", "hs_timestamp": "0"}, NOW)
            is not None
        )
        assert cd("emails", {"hs_email_status": "BOUNCED"}, NOW) is None

    @given(
        st.sampled_from(["NPS", "CSAT", "CES", "CUSTOM", None]),
        st.one_of(st.integers(-5, 20).map(str), st.text(max_size=5)),
    )
    def test_feedback_is_always_between_0_and_1(self, kind: str | None, value: str) -> None:
        """Any survey answer becomes a 0–1 score or None."""
        score = mapping.feedback_value(kind, value)
        assert score is None or 0.0 <= score <= 1.0

    def test_nps_nine_is_point_nine(self) -> None:
        """NPS is divided by ten."""
        assert mapping.feedback_value("NPS", "9") == 0.9


class TestTaskProperties:
    """Tasks become string-only HubSpot properties that carry their key."""

    @given(
        keys,
        st.text(max_size=200),
        st.sampled_from(list(Priority)),
        st.sampled_from(list(TaskKind)),
    )
    def test_the_key_survives_the_round_trip_and_values_are_strings(
        self, key: str, body: str, priority: Priority, kind: TaskKind
    ) -> None:
        """Whatever the body, the marker gives the key back; every value is a string."""
        task = Task(key=key, customer="acme.com", rule="r", title="t", body=body, due=date(2026, 3, 2),
                    priority=priority, kind=kind, owner=None, reason="x")  # fmt: skip
        props = mapping.task_properties(task, "12", "engage_task_key")
        assert all(isinstance(v, str) for v in props.values())
        assert mapping.key_from_body(props["hs_task_body"]) == key
        assert props["hs_timestamp"] == str(
            int(datetime(2026, 3, 2, 9, tzinfo=UTC).timestamp() * 1000)
        )


def call(
    status: str | None = "COMPLETED", disposition: str | None = None, **more: str
) -> dict[str, Any]:
    """A call record as HubSpot answers it."""
    props = {"hs_timestamp": "1767261600000", "hs_call_direction": "INBOUND", **more}
    props.update(
        {k: v for k, v in (("hs_call_status", status), ("hs_call_disposition", disposition)) if v}
    )
    return {"id": "7", "properties": props}


def as_touchpoint(data: dict[str, Any], labels: Mapping[str, str] = PORTAL) -> Touchpoint | None:
    """The touchpoint a call becomes, with the portal's outcome labels."""
    return mapping.touchpoint_from_engagement(
        "calls", data, source="crm", customer="acme.com", contact_email=None, owners={},
        now=NOW, call_labels=labels,
    )  # fmt: skip


class TestCalls:
    """A call is held (a conversation), missed (nobody talked) or not held (no touchpoint)."""

    @pytest.mark.parametrize("status", ["NO_ANSWER", "BUSY", "MISSED", "no_answer"])
    def test_a_call_nobody_answered_is_missed(self, status: str) -> None:
        """No answer, busy and missed calls happened, but as no conversation."""
        touchpoint = as_touchpoint(call(status)) or pytest.fail("dropped")
        assert touchpoint.missed and touchpoint.channel == Channel.CALL

    @pytest.mark.parametrize("status", ["COMPLETED", None, "UNKNOWN"])
    def test_a_completed_call_or_one_without_status_is_held(self, status: str | None) -> None:
        """Completed calls, and calls logged without a status, were conversations."""
        touchpoint = as_touchpoint(call(status)) or pytest.fail("dropped")
        assert not touchpoint.missed

    @pytest.mark.parametrize(
        "status",
        ["CANCELED", "FAILED", "QUEUED", "RINGING", "CONNECTING", "IN_PROGRESS", "HOLD",
         "CALLING_CRM_USER"],
    )  # fmt: skip
    def test_a_call_that_never_took_place_or_has_not_ended_is_no_touchpoint(
        self, status: str
    ) -> None:
        """Cancelled, failed, queued or still running: dropped, whatever its outcome says."""
        assert as_touchpoint(call(status)) is None
        assert as_touchpoint(call(status, CONNECTED)) is None
        assert mapping.channel_direction("calls", call(status)["properties"], NOW) is None

    @pytest.mark.parametrize(
        ("label", "missed"),
        [("No answer", True), ("Busy", True), ("Left voicemail", True),
         ("Left live message", True), ("Wrong number", True), ("Connected", False)],
    )  # fmt: skip
    def test_the_default_outcomes_decide_over_the_status(self, label: str, missed: bool) -> None:
        """A rep's outcome says more than the status: 'Left voicemail' on a COMPLETED call is missed."""
        guid = next(g for g, t in calls.DEFAULT_DISPOSITIONS.items() if t == label)
        for status in ("COMPLETED", "NO_ANSWER"):
            touchpoint = as_touchpoint(call(status, guid)) or pytest.fail("dropped")
            assert touchpoint.missed is missed

    @pytest.mark.parametrize("label", ["LEFT VOICEMAIL", "  left   voicemail ", "No Answer"])
    def test_outcome_labels_match_whatever_their_case_and_spacing(self, label: str) -> None:
        """The portal's label is compared without case or extra spaces."""
        touchpoint = as_touchpoint(call("COMPLETED", "custom-1"), {"custom-1": label})
        assert touchpoint is not None and touchpoint.missed

    def test_an_outcome_engage_does_not_know_leaves_it_to_the_status(self) -> None:
        """A custom outcome ('Meeting booked') or an id the portal does not list: the status decides."""
        for outcome in (MEETING_BOOKED, "not-an-outcome-of-this-portal"):
            held = as_touchpoint(call("COMPLETED", outcome)) or pytest.fail("dropped")
            missed = as_touchpoint(call("NO_ANSWER", outcome)) or pytest.fail("dropped")
            assert (held.missed, missed.missed) == (False, True)

    def test_without_the_portal_labels_the_default_outcomes_are_known_by_id(self) -> None:
        """Outcomes unread (a refused request): HubSpot's default ids still say what happened."""
        touchpoint = as_touchpoint(call("COMPLETED", NO_ANSWER), {}) or pytest.fail("dropped")
        assert touchpoint.missed

    def test_a_default_outcome_shown_in_another_language_is_known_by_id(self) -> None:
        """A portal label engage does not know for a default id: the id decides."""
        labels = {NO_ANSWER: "Keine Antwort"}
        touchpoint = as_touchpoint(call("COMPLETED", NO_ANSWER), labels) or pytest.fail("dropped")
        assert touchpoint.missed

    @pytest.mark.parametrize(
        ("direction", "expected"),
        [("INBOUND", Direction.INBOUND), ("OUTBOUND", Direction.OUTBOUND)],
    )
    def test_a_missed_call_keeps_its_direction(self, direction: str, expected: Direction) -> None:
        """The customer's missed call is inbound (it waits for a call back); ours is outbound."""
        touchpoint = as_touchpoint(call("NO_ANSWER", hs_call_direction=direction))
        assert touchpoint is not None and (touchpoint.direction, touchpoint.missed) == (
            expected,
            True,
        )

    @given(
        st.one_of(st.none(), st.sampled_from(sorted(STATUSES)), st.text(max_size=12)),
        st.one_of(st.none(), st.sampled_from([*calls.DEFAULT_DISPOSITIONS, MEETING_BOOKED]), st.text(max_size=12)),
    )  # fmt: skip
    def test_only_a_call_that_did_not_take_place_is_dropped(
        self, status: str | None, disposition: str | None
    ) -> None:
        """Whatever the status and outcome, a call is dropped exactly when its status says it never ended."""
        touchpoint = as_touchpoint(call(status, disposition))
        never = (status or "").strip().upper() in calls.NOT_HELD_STATUSES
        assert (touchpoint is None) is never
        assert touchpoint is None or touchpoint.direction == Direction.INBOUND

    def test_the_portal_options_become_labels_by_id(self) -> None:
        """A property definition's options (hidden ones too) map each value to its label."""
        definition = {"options": [{"value": "a", "label": "Busy", "hidden": False},
                                  {"value": "b", "label": "Gone", "hidden": True},
                                  {"value": "", "label": "nothing"}]}  # fmt: skip
        assert calls.options_labels(definition) == {"a": "Busy", "b": "Gone"}
        assert calls.options_labels({}) == {}

    def test_meetings_are_never_missed(self) -> None:
        """A meeting either happened (a conversation) or is dropped (cancelled, no-show, rescheduled)."""
        for outcome in ("NO_SHOW", "CANCELED", "RESCHEDULED"):
            data = {"id": "9", "properties": {"hs_timestamp": "0", "hs_meeting_outcome": outcome}}
            assert mapping.touchpoint_from_engagement(
                "meetings", data, source="crm", customer="acme.com", contact_email=None,
                owners={}, now=NOW,
            ) is None  # fmt: skip
        data = {"id": "9", "properties": {"hs_timestamp": "0", "hs_meeting_outcome": "COMPLETED"}}
        meeting = mapping.touchpoint_from_engagement(
            "meetings",
            data,
            source="crm",
            customer="acme.com",
            contact_email=None,
            owners={},
            now=NOW,
        )
        assert meeting is not None and not meeting.missed
