"""The iCalendar source keeps engage's promises: engage.testing's source contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from calendars import GOOGLE, OUTLOOK

from engage.testing import SourceCase, SourceContract


def line_of(text: str, needle: str) -> int:
    """The line number of the VEVENT holding ``needle`` (its BEGIN line)."""
    lines = text.splitlines()
    at = next(n for n, line in enumerate(lines) if needle in line)
    return max(n for n in range(at) if lines[n] == "BEGIN:VEVENT") + 1


class TestIcsSource(SourceContract):
    """A Google export and an Outlook export; the Outlook one has an event without a UID."""

    @pytest.fixture
    def source_case(self, tmp_path: Path) -> SourceCase:
        (tmp_path / "calendars").mkdir()
        (tmp_path / "calendars/google.ics").write_text(GOOGLE)
        (tmp_path / "calendars/outlook.ics").write_bytes(OUTLOOK.encode())
        return SourceCase(
            adapter="ics",
            options={"path": "calendars/*.ics"},
            base_dir=tmp_path,
            places=(f"calendars/outlook.ics:{line_of(OUTLOOK, 'No uid')}",),
            fail=lambda: [p.unlink() for p in (tmp_path / "calendars").iterdir()] and None,
        )
