"""Mailing-list footers: the cheap look-out for footer words never misses what the pattern finds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engage_gmail.bodyscan import _FOOTER, _may_be_footer

FRAGMENTS = [
    b"https://lists.example.org/mailman/listinfo/devs",
    b"http://x/cgi-bin/mailman/listinfo/a",
    b"https://mail.python.org/mailman3/lists/python-dev.python.org/",
    b"You received this message because you are subscribed to the Google Groups",
    b"listinfo/",
    b"/lists/",
    b"google groups",
]


def _mixed_case(data: st.DataObject, text: bytes) -> bytes:
    flips = data.draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return bytes(
        c ^ 0x20 if flip and chr(c).isalpha() else c for c, flip in zip(text, flips, strict=True)
    )


@given(st.data(), st.binary(max_size=60), st.binary(max_size=60), st.sampled_from(FRAGMENTS))
def test_a_line_the_pattern_matches_is_never_passed_over(
    data: st.DataObject, before: bytes, after: bytes, fragment: bytes
) -> None:
    line = before + _mixed_case(data, fragment) + after
    assert _may_be_footer(line) or _FOOTER.search(line) is None


@given(st.binary(max_size=200))
def test_any_line_the_pattern_matches_passes_the_look_out(line: bytes) -> None:
    assert _may_be_footer(line) or _FOOTER.search(line) is None


def test_a_plain_body_line_is_passed_over_and_a_footer_is_not() -> None:
    assert not _may_be_footer(b"Lorem ipsum dolor sit amet.\r\n")
    assert _may_be_footer(b"To unsubscribe: HTTPS://LISTS.EXAMPLE.ORG/MAILMAN/LISTINFO/DEVS\n")
