"""The occurred_at parser: ISO 8601, spreadsheet forms, ambiguity, zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engage_csv.dates import DateParser
from engage_csv.fields import FieldError

BERLIN = ZoneInfo("Europe/Berlin")


def utc(text: str) -> datetime:
    """Parse with a fresh parser: a parser learns the day/month order from the dates it reads."""
    return DateParser(UTC)(text)


class TestFormats:
    """Each accepted form, read in UTC."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2024-03-05T14:30:00Z", datetime(2024, 3, 5, 14, 30)),
            ("2024-03-05T14:30:00+01:00", datetime(2024, 3, 5, 13, 30)),
            ("2024-03-05 14:30:00.250", datetime(2024, 3, 5, 14, 30, 0, 250000)),
            ("2024-03-05", datetime(2024, 3, 5)),
            ("2024-03-05 14:30", datetime(2024, 3, 5, 14, 30)),
            ("2024/03/05", datetime(2024, 3, 5)),
            ("2024/3/5 9:05", datetime(2024, 3, 5, 9, 5)),
            ("25/03/2024", datetime(2024, 3, 25)),
            ("25.03.2024 14:30", datetime(2024, 3, 25, 14, 30)),
            ("03/25/2024 2:30 PM", datetime(2024, 3, 25, 14, 30)),
            ("03/25/2024 12:05 am", datetime(2024, 3, 25, 0, 5)),
            ("05/05/2024", datetime(2024, 5, 5)),
            ("25/03/24", datetime(2024, 3, 25)),
            ("Mar 5, 2024", datetime(2024, 3, 5)),
            ("5 Mar 2024", datetime(2024, 3, 5)),
            ("March 5, 2024 14:30", datetime(2024, 3, 5, 14, 30)),
            ("5-Mar-2024", datetime(2024, 3, 5)),
            ("Tue, 05 Mar 2024 14:30:00 +0100", datetime(2024, 3, 5, 13, 30)),
            ("Sept 5, 2024", datetime(2024, 9, 5)),
        ],
    )
    def test_accepted_form(self, text: str, expected: datetime) -> None:
        """The form parses to the expected UTC moment."""
        assert utc(text) == expected.replace(tzinfo=UTC)

    def test_naive_time_is_in_the_configured_zone(self) -> None:
        """A time without offset is local to the zone, then converted to UTC."""
        assert DateParser(BERLIN)("2024-07-01 12:00") == datetime(2024, 7, 1, 10, 0, tzinfo=UTC)

    def test_date_only_is_local_midnight(self) -> None:
        """A bare date means midnight in the configured zone."""
        assert DateParser(BERLIN)("2024-01-15") == datetime(2024, 1, 14, 23, 0, tzinfo=UTC)

    def test_aware_time_keeps_its_offset(self) -> None:
        """An explicit offset wins over the configured zone."""
        assert DateParser(BERLIN)("2024-01-15T12:00:00-05:00") == datetime(
            2024, 1, 15, 17, tzinfo=UTC
        )


class TestRefusals:
    """What the parser refuses, and the message it gives."""

    @pytest.mark.parametrize("text", ["05/03/2024", "05.03.2024", "1-2-2024"])
    def test_ambiguous_day_month_is_refused(self, text: str) -> None:
        """Both of the first two parts could be the month, so the parser does not guess."""
        sep = text[2] if text[2] in "/." else "-"
        with pytest.raises(FieldError) as error:
            utc(text)
        assert str(error.value) == (
            f'ambiguous day/month; set date_format = "%d{sep}%m{sep}%Y" (day first) '
            f'or "%m{sep}%d{sep}%Y" (month first)'
        )

    def test_date_format_settles_ambiguity(self) -> None:
        """With date_format the same text parses, as the format says."""
        assert DateParser(UTC, "%d/%m/%Y")("05/03/2024") == datetime(2024, 3, 5, tzinfo=UTC)
        assert DateParser(UTC, "%m/%d/%Y")("05/03/2024") == datetime(2024, 5, 3, tzinfo=UTC)

    def test_date_format_mismatch(self) -> None:
        """Text that does not match date_format is refused, naming the format."""
        with pytest.raises(FieldError, match="does not match date_format '%d/%m/%Y'"):
            DateParser(UTC, "%d/%m/%Y")("2024-03-05")

    @pytest.mark.parametrize(
        "text", ["31/02/2024", "13/13/2024", "00/05/2024", "2024/02/30", "25/03/2024 25:00"]
    )
    def test_impossible_dates(self, text: str) -> None:
        """Dates that do not exist are refused."""
        with pytest.raises(FieldError, match="not a valid date"):
            utc(text)

    @pytest.mark.parametrize("text", ["yesterday", "2024", "5 Foo 2024", "12:30", "1/2"])
    def test_unrecognised(self, text: str) -> None:
        """Text that is no date form is refused with the accepted forms."""
        with pytest.raises(FieldError, match="not a date I recognise"):
            utc(text)

    def test_empty(self) -> None:
        """An empty cell is refused as missing."""
        with pytest.raises(FieldError, match="missing"):
            utc("  ")


aware = st.datetimes(
    min_value=datetime(1900, 1, 2),
    max_value=datetime(2200, 12, 30),
    timezones=st.builds(
        timezone, st.integers(-14 * 60, 14 * 60).map(lambda m: timedelta(minutes=m))
    ),
)


class TestProperties:
    """Properties over generated dates."""

    @given(aware, st.sampled_from(["T", " "]), st.sampled_from(["auto", "seconds", "microseconds"]))
    def test_iso_round_trip(self, value: datetime, sep: str, timespec: str) -> None:
        """Any aware datetime written in ISO 8601 parses back to the same moment."""
        if timespec == "seconds":
            value = value.replace(microsecond=0)
        assert DateParser(BERLIN)(value.isoformat(sep=sep, timespec=timespec)) == value

    @given(
        st.dates(min_value=datetime(1900, 1, 1).date(), max_value=datetime(2199, 12, 31).date()),
        st.sampled_from("/.-"),
    )
    def test_unambiguous_day_month_year(self, day: datetime, sep: str) -> None:
        """Any d/m/Y date whose day is above 12 (or equals the month) parses to that date."""
        if day.day <= 12 and day.day != day.month:
            return
        text = f"{day.day:02d}{sep}{day.month:02d}{sep}{day.year}"
        assert utc(text).date() == day
        text = f"{day.month}{sep}{day.day}{sep}{day.year}"  # and m/d/Y, unpadded
        assert utc(text).date() == day
