"""The small columns: channel, direction, feedback, open_work."""

from __future__ import annotations

import pytest

from engage.models import Channel, Direction
from engage_csv.fields import FieldError, parse_channel, parse_direction, parse_feedback, parse_flag


class TestChannel:
    """channel cells."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("", Channel.EMAIL),
            ("E-Mail", Channel.EMAIL),
            ("mail", Channel.EMAIL),
            ("Phone Call", Channel.CALL),
            ("phone", Channel.CALL),
            ("CALL", Channel.CALL),
            ("video  call", Channel.MEETING),
            ("visit", Channel.MEETING),
            ("Demo", Channel.MEETING),
            ("note", Channel.NOTE),
            ("NPS", Channel.FEEDBACK),
            ("survey", Channel.FEEDBACK),
            ("csat", Channel.FEEDBACK),
            ("WhatsApp", Channel.CHAT),
            ("sms", Channel.CHAT),
            ("message", Channel.CHAT),
            ("other", Channel.OTHER),
        ],
    )
    def test_synonyms(self, text: str, expected: Channel) -> None:
        """Names and synonyms are case- and space-insensitive; empty means email."""
        assert parse_channel(text) is expected

    def test_unknown_lists_accepted_values(self) -> None:
        """An unknown channel names every accepted value."""
        with pytest.raises(
            FieldError, match=r"unknown channel; expected one of: email, e-mail, mail, call"
        ):
            parse_channel("fax")


class TestDirection:
    """direction cells."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("in", Direction.INBOUND),
            ("Received", Direction.INBOUND),
            ("outgoing", Direction.OUTBOUND),
            ("sent", Direction.OUTBOUND),
            ("internal", Direction.INTERNAL),
        ],
    )
    def test_synonyms(self, text: str, expected: Direction) -> None:
        """Names and synonyms map to the three directions."""
        assert parse_direction(text, Channel.EMAIL) is expected

    def test_defaults(self) -> None:
        """Empty means internal for notes and outbound for everything else."""
        assert parse_direction("", Channel.NOTE) is Direction.INTERNAL
        assert parse_direction(" ", Channel.CALL) is Direction.OUTBOUND

    def test_unknown(self) -> None:
        """An unknown direction names the accepted values."""
        with pytest.raises(FieldError, match="unknown direction; expected one of: in, incoming"):
            parse_direction("sideways", Channel.EMAIL)


class TestFeedback:
    """feedback cells, normalised to 0..1."""

    @pytest.mark.parametrize(
        ("text", "scale", "expected"),
        [
            ("", 10, None),
            ("9", 10, 0.9),
            ("9/10", 10, 0.9),
            ("4/5", 10, 0.8),
            ("80%", 10, 0.8),
            ("80 %", 10, 0.8),
            ("8,5", 10, 0.85),
            ("0", 10, 0.0),
            ("10", 10, 1.0),
            ("4", 5, 0.8),
            ("0.5", 1, 0.5),
        ],
    )
    def test_forms(self, text: str, scale: float, expected: float | None) -> None:
        """Bare numbers are on the scale; fractions and percentages are absolute."""
        assert parse_feedback(text, scale) == pytest.approx(expected)

    @pytest.mark.parametrize("text", ["11", "6/5", "120%", "-1"])
    def test_out_of_range(self, text: str) -> None:
        """Scores beyond the scale are refused."""
        with pytest.raises(FieldError, match="out of range; expected a number from 0 to 10"):
            parse_feedback(text, 10)

    @pytest.mark.parametrize("text", ["great", "nan", "inf", "1e1", "4/0", "4/", "%"])
    def test_not_a_score(self, text: str) -> None:
        """Text that is not a number, fraction or percentage is refused."""
        with pytest.raises(FieldError, match="not a score"):
            parse_feedback(text, 10)


class TestFlag:
    """open_work cells."""

    @pytest.mark.parametrize("text", ["yes", "TRUE", "1", "y", "x", " Yes "])
    def test_true(self, text: str) -> None:
        """Truthy spellings."""
        assert parse_flag(text) is True

    @pytest.mark.parametrize("text", ["no", "False", "0", "n"])
    def test_false(self, text: str) -> None:
        """Falsy spellings."""
        assert parse_flag(text) is False

    @pytest.mark.parametrize("text", ["", "  "])
    def test_empty_is_unknown(self, text: str) -> None:
        """An empty cell says nothing, so it cannot clear running work another source reported."""
        assert parse_flag(text) is None

    def test_other(self) -> None:
        """Anything else is refused."""
        with pytest.raises(FieldError, match="expected yes or no"):
            parse_flag("maybe")
