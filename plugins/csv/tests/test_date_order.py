"""The day/month order comes from the file's own unambiguous dates; hints match the cells."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from engage.testing import Pull
from engage_csv.dates import DateParser, evidence, format_for

Write = Callable[..., Path]
PullFn = Callable[..., Pull]

HEADER = "occurred_at,email\n"


def dates(result: Pull) -> list[datetime]:
    return [tp.occurred_at for tp in result.touchpoints]


class TestOrderFromTheFile:
    """One row with a part above 12 settles every ambiguous row of its file."""

    def test_a_later_row_shows_month_first(self, write: Write, pull: PullFn) -> None:
        """03/04 comes before 03/18 in the file; 03/18 proves month first, so 03/04 is 4 March."""
        write(
            "t.csv",
            HEADER + "03/04/2025 14:30,jo@acme.com\n" + "03/18/2025,jo@acme.com\n" * 3,
        )
        result = pull(path="t.csv")
        assert result.problems == []
        assert dates(result)[0] == datetime(2025, 3, 4, 14, 30, tzinfo=UTC)

    def test_an_earlier_row_shows_day_first(self, write: Write, pull: PullFn) -> None:
        """18/03 first: 03/04 is 3 April."""
        write("t.csv", HEADER + "18/03/2025,jo@acme.com\n03/04/2025,jo@acme.com\n")
        assert dates(pull(path="t.csv"))[1] == datetime(2025, 4, 3, tzinfo=UTC)

    def test_each_file_has_its_own_order(self, write: Write, pull: PullFn) -> None:
        """A US export and a European one side by side."""
        write("a.csv", HEADER + "03/04/2025,jo@acme.com\n03/18/2025,jo@acme.com\n")
        write("b.csv", HEADER + "03/04/2025,jo@acme.com\n18/03/2025,jo@acme.com\n")
        result = pull(path="*.csv")
        assert [d.date().isoformat() for d in dates(result)] == [
            "2025-03-04",
            "2025-03-18",
            "2025-04-03",
            "2025-03-18",
        ]

    def test_a_wholly_ambiguous_file_is_refused_with_a_matching_format(
        self, write: Write, pull: PullFn
    ) -> None:
        """The hint has the time in it and names the rows that could be either."""
        write(
            "t.csv",
            HEADER + "".join(f"0{d}/0{d + 1}/2025 09:15,jo@acme.com\n" for d in range(1, 8)),
        )
        result = pull(path="t.csv", max_bad_ratio=1.0)
        assert result.touchpoints == []
        assert result.problems[0] == (
            "t.csv:2: occurred_at: ambiguous day/month: no date in this file has a day above 12 "
            "to show the order (dates that could be either: lines 2, 3, 4, 5, 6 and 2 more); "
            'set date_format = "%d/%m/%Y %H:%M" (day first) or "%m/%d/%Y %H:%M" (month first) '
            "(got '01/02/2025 09:15')"
        )

    def test_a_date_format_that_misses_the_time_says_what_would_match(
        self, write: Write, pull: PullFn
    ) -> None:
        """date_format = "%d/%m/%Y" on cells with times: the message gives the format with the time."""
        write("t.csv", HEADER + "18/03/2025 14:30,jo@acme.com\n")
        result = pull(path="t.csv", date_format="%d/%m/%Y", max_bad_ratio=1.0)
        assert result.problems == [
            "t.csv:2: occurred_at: does not match date_format '%d/%m/%Y'; this cell matches "
            "date_format = \"%d/%m/%Y %H:%M\" (got '18/03/2025 14:30')"
        ]


class TestFormats:
    """format_for and evidence, the pieces of the hints."""

    def test_evidence(self) -> None:
        """A part above 12 proves an order; both at or under 12 prove nothing."""
        assert (evidence("18/03/2025"), evidence("03/18/2025 9:00 PM")) == ("dmy", "mdy")
        assert (evidence("03/04/2025"), evidence("2025-03-18"), evidence("soon")) == (None,) * 3

    @given(
        st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2060, 12, 31)),
        st.sampled_from(["/", ".", "-"]),
        st.sampled_from(["", " %H:%M", " %H:%M:%S", "T%H:%M:%S.%f", " %I:%M %p", " %H:%M %z"]),
        st.booleans(),
    )
    def test_the_hinted_format_reads_the_cell(
        self, moment: datetime, sep: str, time: str, day_first: bool
    ) -> None:
        """Whatever the cell's shape, the format hinted for it parses it to the same moment."""
        order = f"%d{sep}%m{sep}%Y" if day_first else f"%m{sep}%d{sep}%Y"
        shape = order + time
        aware = moment.replace(tzinfo=UTC) if "%z" in time else moment
        text = aware.strftime(shape)
        hinted = format_for(text, day_first)
        assert hinted is not None
        assert datetime.strptime(text, hinted) == datetime.strptime(text, shape)

    def test_a_parser_learns_the_order_it_meets(self) -> None:
        """DateParser.order is set by the first date that proves it."""
        parse = DateParser(UTC)
        parse("03/18/2025")
        assert parse.order == "mdy"
        assert parse("03/04/2025") == datetime(2025, 3, 4, tzinfo=UTC)
