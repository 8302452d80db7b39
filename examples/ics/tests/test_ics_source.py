"""The iCalendar source: what becomes a meeting, times in every form, the cursor."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from calendars import GOOGLE, OUTLOOK
from engage_ics import IcsSource
from test_contract import line_of

from engage.adapters import Source
from engage.cursors import CursorError
from engage.errors import ConfigError, SourceError
from engage.models import Direction
from engage.plugins import Registry, make_plugin_manager
from engage.testing import Pull, adapter_context, build_source


def source(tmp_path: Path, **options: Any) -> Source:
    """An ics source over ``tmp_path``, built as engage builds it."""
    context = adapter_context("calendar", base_dir=tmp_path)
    return build_source("ics", {"path": "*.ics", **options}, context)


@pytest.fixture
def google(tmp_path: Path) -> Pull:
    (tmp_path / "google.ics").write_text(GOOGLE)
    return Pull.run(source(tmp_path))


@pytest.fixture
def outlook(tmp_path: Path) -> Path:
    path = tmp_path / "outlook.ics"
    path.write_bytes(OUTLOOK.encode())
    return path


class TestGoogleExport:
    """A Google Calendar export."""

    def test_a_meeting_with_a_customer_is_a_touchpoint(self, google: Pull) -> None:
        """Organized by us: outbound, owned by the organizer, the customer by the attendee's
        domain, the UID as id, the summary unescaped."""
        meeting = google.touchpoint("7kukuqrfedlm2f9t@google.com")
        assert meeting.customer == "acme.com"
        assert meeting.contact_email == "jane@acme.com"
        assert (meeting.direction, meeting.owner) == (Direction.OUTBOUND, "carol@ourco.com")
        assert meeting.occurred_at == datetime(2026, 2, 10, 15, 0, tzinfo=UTC)
        assert meeting.subject == "Acme, quarterly review"

    def test_a_meeting_organized_outside_is_inbound(self, google: Pull) -> None:
        """The organizer's customer; a TZID time in UTC; our attendee owns it (any case)."""
        weekly = google.touchpoint("weekly-globex@google.com")
        assert (weekly.customer, weekly.direction) == ("globex.io", Direction.INBOUND)
        assert weekly.occurred_at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # 10:00 in Paris
        assert weekly.owner == "carol@ourco.com"

    def test_cancelled_internal_and_all_day_events_are_skipped(self, google: Pull) -> None:
        """They are counted, not stored."""
        assert google.skipped == {"cancelled": 1, "internal": 1, "all-day": 1}
        assert len(google.touchpoints) == 2

    def test_repeating_events_count_once_and_the_sync_says_so(self, google: Pull) -> None:
        """RRULE is not expanded: one touchpoint at the first occurrence, and a notice."""
        assert google.notices == [
            "calendar: 1 repeating event(s) counted once, at their first occurrence "
            "(their repetitions are not expanded)"
        ]

    def test_an_alarm_inside_an_event_is_not_the_event(self, google: Pull) -> None:
        """A VALARM's properties stay in the alarm (its DESCRIPTION is not the event's)."""
        assert google.touchpoint("weekly-globex@google.com").subject == "Globex weekly"


class TestOutlookExport:
    """An Outlook export: Windows zone names, changed occurrences, floating times."""

    def test_windows_zone_names_are_read(self, outlook: Path) -> None:
        """'W. Europe Standard Time' is Berlin's time: 14:00 in February is 13:00 UTC."""
        pulled = Pull.run(source(outlook.parent))
        onboarding = pulled.touchpoint("040000008200E00074C5B7101A82E00800000000A0F1@outlook")
        assert onboarding.occurred_at == datetime(2026, 2, 3, 13, 0, tzinfo=UTC)
        assert (onboarding.customer, onboarding.direction) == ("initech.com", Direction.INBOUND)

    def test_a_changed_occurrence_has_an_id_of_its_own(self, outlook: Path) -> None:
        """RECURRENCE-ID joins the UID, so each changed occurrence is its own touchpoint."""
        pulled = Pull.run(source(outlook.parent))
        moved = pulled.touchpoint(
            "040000008200E00074C5B7101A82E00800000000B0F2@outlook/20260119T170000Z"
        )
        assert moved.occurred_at == datetime(2026, 1, 20, 17, 0, tzinfo=UTC)  # 09:00 Pacific

    @pytest.mark.parametrize(
        ("timezone", "hour"), [("UTC", 16), ("Europe/Paris", 15), ("America/New_York", 21)]
    )
    def test_a_floating_time_is_in_the_timezone_option(
        self, outlook: Path, timezone: str, hour: int
    ) -> None:
        """A time without a zone, in a file that names none, is in ``timezone``."""
        pulled = Pull.run(source(outlook.parent, timezone=timezone))
        call = pulled.touchpoint("floating-1@outlook")
        assert call.occurred_at == datetime(2026, 1, 21, hour, 0, tzinfo=UTC)

    def test_an_event_without_uid_is_a_problem_naming_its_line(self, outlook: Path) -> None:
        """No stable id, no touchpoint: FILE:LINE: UID: missing."""
        pulled = Pull.run(source(outlook.parent))
        line = line_of(OUTLOOK, "No uid")
        assert pulled.problems == [f"outlook.ics:{line}: UID: missing; event skipped"]


def event(*lines: str) -> str:
    """A calendar holding one event made of ``lines``."""
    body = "\n".join(("BEGIN:VEVENT", "UID:e1", *lines, "END:VEVENT"))
    return f"BEGIN:VCALENDAR\nVERSION:2.0\n{body}\nEND:VCALENDAR\n"


class TestBadInput:
    """What cannot be read is a problem with its place; the rest goes on."""

    @pytest.mark.parametrize(
        ("lines", "problem"),
        [
            (("ATTENDEE:mailto:jo@initech.com",), "3: DTSTART: missing"),
            (("DTSTART:2026-02-01", "ATTENDEE:mailto:jo@initech.com"), "5: DTSTART: expected"),
            (
                ("DTSTART;TZID=Mars/Olympus:20260201T100000", "ATTENDEE:mailto:jo@initech.com"),
                "5: DTSTART: unknown time zone 'Mars/Olympus'",
            ),
            (
                ("DTSTART:20260201T100000Z", "DTEND:20260201T090000Z", "ATTENDEE:mailto:j@i.com"),
                "6: DTEND: before DTSTART",
            ),
        ],
    )
    def test_bad_times(self, tmp_path: Path, lines: tuple[str, ...], problem: str) -> None:
        """Missing, malformed, unknown zone, an end before the start."""
        (tmp_path / "a.ics").write_text(event(*lines))
        pulled = Pull.run(source(tmp_path))
        assert len(pulled.problems) == 1 and pulled.problems[0].startswith(f"a.ics:{problem}")

    def test_a_file_that_is_not_icalendar(self, tmp_path: Path) -> None:
        """A broken file is one problem; the other files are read."""
        (tmp_path / "a.ics").write_text("BEGIN:VCALENDAR\nBEGIN:VEVENT\n")
        (tmp_path / "b.ics").write_text(GOOGLE)
        pulled = Pull.run(source(tmp_path))
        assert pulled.problems == ["a.ics:2: BEGIN:VEVENT without its END; file skipped"]
        assert len(pulled.touchpoints) == 2

    def test_a_meeting_not_held_yet_is_skipped(self, tmp_path: Path) -> None:
        """An event ending after the pull's clock is not a touchpoint yet."""
        (tmp_path / "a.ics").write_text(
            event("DTSTART:20260302T083000Z", "DTEND:20260302T093000Z", "ATTENDEE:mailto:j@i.com")
        )
        assert Pull.run(source(tmp_path)).skipped == {"not held yet": 1}

    def test_no_file_matches(self, tmp_path: Path) -> None:
        """A path matching nothing fails the pull, naming the table and the path."""
        with pytest.raises(SourceError, match=r"\[sources.calendar\]: no file matches path"):
            Pull.run(source(tmp_path))

    def test_an_unknown_timezone_option_is_refused(self, tmp_path: Path) -> None:
        """The option is checked when the config is loaded."""
        with pytest.raises(ConfigError, match="key 'timezone' unknown time zone 'Mars/Olympus'"):
            source(tmp_path, timezone="Mars/Olympus")


class TestCursor:
    """Each file is read once until it changes."""

    def test_an_unchanged_file_is_not_read_again(self, tmp_path: Path, outlook: Path) -> None:
        """A second pull from the cursor yields no touchpoint; a changed file is read whole."""
        (tmp_path / "google.ics").write_text(GOOGLE)
        first = Pull.run(source(tmp_path))
        assert Pull.run(source(tmp_path), first.cursor).touchpoints == []
        outlook.write_bytes(OUTLOOK.replace("Initech call", "Initech call (notes)").encode())
        again = Pull.run(source(tmp_path), first.cursor)
        assert {t.external_id for t in again.touchpoints} == {
            t.external_id for t in first.touchpoints if "outlook" in t.external_id
        }

    def test_a_cursor_it_cannot_read_raises_cursor_error(self, tmp_path: Path) -> None:
        """engage then starts the source over and says so (engage.cursors)."""
        (tmp_path / "google.ics").write_text(GOOGLE)
        with pytest.raises(CursorError):
            Pull.run(source(tmp_path), '{"v": 2}')


def test_hook_registers_the_ics_source_under_its_entry_point() -> None:
    """The installed distribution's entry point registers IcsSource as 'ics'."""
    registry = Registry.from_plugins(make_plugin_manager(env={"ENGAGE_LOAD_PLUGINS": "ics"}))
    assert registry.source("ics", "test") is IcsSource
    assert registry.sources["ics"].plugin == "ics"
