"""Pure mapping from HubSpot records to engage models and back (with hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from engage.models import Channel, Direction, Priority, Task, TaskKind
from engage_hubspot import mapping

NOW = datetime(2026, 3, 1, tzinfo=UTC)
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
