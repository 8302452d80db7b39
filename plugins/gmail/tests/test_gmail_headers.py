"""Header parsing on real, messy mail (tests/data/email) and on generated inputs."""

from __future__ import annotations

from datetime import UTC, datetime
from email.headerregistry import Address as PyAddress
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engage_gmail.headers import (
    Address,
    Headers,
    decode_words,
    is_from_line,
    parse_addresses,
    parse_date,
    parse_from_line,
    parse_header_block,
    parse_message_id,
)

DATA = Path(__file__).parent / "data" / "email"


def headers_of(name: str) -> Headers:
    lines = next(DATA.glob(f"*/{name}")).read_bytes().splitlines(keepends=True)
    if is_from_line(lines[0].rstrip(b"\r\n")):
        lines = lines[1:]
    return parse_header_block(lines)[0]


def addresses(name: str, *fields: str) -> list[Address]:
    headers = headers_of(name)
    return parse_addresses([v for f in fields for v in headers.get_all(f)])


def emails(name: str, *fields: str) -> list[str]:
    return [a.email for a in addresses(name, *fields)]


def test_comment_style_name_is_kept() -> None:
    """`bbb@ddd.com (John X. Doe)`: the comment is the display name (Python loses it)."""
    assert addresses("msg_01.txt", "From") == [Address("bbb@ddd.com", "John X. Doe")]
    assert addresses("msg_27.txt", "To") == [Address("bperson@dom.ain", "Barney P. Erson")]


def test_several_cc_headers_are_merged() -> None:
    """Cc:, CC: and cc: headers all count (Python's m['Cc'] gives the first only)."""
    assert emails("msg_20.txt", "Cc") == ["ccc@zzz.org", "ddd@zzz.org", "eee@zzz.org"]


def test_two_to_headers_are_merged() -> None:
    """Two To: headers give both recipients."""
    assert emails("msg_25.txt", "To") == [
        "linuxuser-admin@www.linux.org.uk",
        "postmaster@zinfandel.lacita.com",
    ]


def test_bare_words_and_empty_addresses_are_dropped() -> None:
    """`From: foo`, `To: XX` and `MAILER DAEMON <>` have no address."""
    assert emails("msg_05.txt", "From", "To") == []
    assert emails("msg_15.txt", "To") == []
    assert emails("msg_43.txt", "From") == []


def test_empty_group_has_no_members() -> None:
    """`To: IETF-Announce:;` is an empty group."""
    assert emails("msg_36.txt", "To") == []


def test_quoted_names_with_specials_and_escapes() -> None:
    """`"Giant; \\"Big\\" Box" <...>` keeps its semicolon and quotes; `Who?` is a plain word."""
    assert addresses("rfc2822__example03.eml", "To", "Cc") == [
        Address("mary@x.test", "Mary Smith"),
        Address("jdoe@example.org"),
        Address("one@y.test", "Who?"),
        Address("boss@nil.test"),
        Address("sysservices@example.net", 'Giant; "Big" Box'),
    ]


def test_groups_list_their_members() -> None:
    """`A Group:Chris Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;` gives three members."""
    assert emails("rfc2822__example04.eml", "To") == ["c@a.test", "joe@where.test", "jdoe@one.test"]
    assert emails("rfc2822__example04.eml", "Cc") == []


def test_comments_everywhere() -> None:
    """RFC 2822 A.5: comments inside names, addresses and groups, and a folded Date."""
    assert addresses("rfc2822__example10.eml", "From") == [Address("pete@silly.test", "Pete")]
    assert emails("rfc2822__example10.eml", "To") == [
        "c@public.example",
        "joe@example.org",
        "jdoe@one.test",
    ]
    assert parse_date(headers_of("rfc2822__example10.eml").get("Date")) == datetime(
        1969, 2, 14, 3, 2, tzinfo=UTC
    )


def test_obsolete_syntax_whitespace_before_the_colon() -> None:
    """`From  : John Doe <jdoe@machine(comment).  example>` (Python finds no headers at all)."""
    headers = headers_of("rfc2822__example13.eml")
    assert parse_addresses(headers.get_all("From")) == [Address("jdoe@machine.example", "John Doe")]
    assert parse_addresses(headers.get_all("To")) == [Address("mary@example.net", "Mary Smith")]
    assert parse_date(headers.get("Date")) == datetime(1997, 11, 21, 15, 55, 6, tzinfo=UTC)
    assert parse_message_id(headers.get("Message-ID")) == "1234@local.machine.example"


def test_encoded_display_name_with_a_comma_is_one_address() -> None:
    """`=?UTF-8?B?Rm9vLCBCYXI=?= <foo.bar@example.com>` is "Foo, Bar", one address."""
    assert addresses("encoded-header.eml", "From") == [Address("foo.bar@example.com", "Foo, Bar")]


def test_encoded_names_and_subjects() -> None:
    """RFC 2047 names and subjects decode (Japanese UTF-8 B-encoding)."""
    assert addresses("multi_charset__japanese.eml", "To")[0].name == "みける"
    assert (
        decode_words(headers_of("multi_charset__japanese.eml").get("Subject") or "") == "まみむめも"
    )


def test_raw_utf8_and_latin1_bytes() -> None:
    """RFC 6532 UTF-8 addresses stay; a stray Latin-1 byte becomes its character, never an error."""
    assert addresses("rfc6532__utf8_headers.eml", "From") == [
        Address("jdöe@mächine.example", "Jöhn Doe")
    ]
    assert addresses("from-encoding.eml", "From")[0].name == "Ingo Lütkebohle"
    assert emails("mailformed-headers.eml", "From") == ["headers@gmail.com"]
    assert emails("mailformed-headers.eml", "To") == ["´google@example.com"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("msg_02.txt", datetime(2001, 4, 21, 0, 18, tzinfo=UTC)),  # -0400 (EDT)
        ("msg_25.txt", datetime(2001, 4, 6, 17, 23, 6, tzinfo=UTC)),  # -0800 (GMT-0800)
        ("msg_47.txt", datetime(2001, 1, 1, 0, 1, tzinfo=UTC)),  # no weekday, no seconds
        ("rfc2822__example04.eml", datetime(1969, 2, 14, 3, 2, 54, tzinfo=UTC)),  # -0330
        ("rfc2822__example12.eml", datetime(1997, 11, 21, 9, 55, 6, tzinfo=UTC)),  # 2-digit year
        ("disposition-notification.eml", datetime(1995, 9, 20, 4, 19, tzinfo=UTC)),  # (EDT) -0400
    ],
)
def test_messy_dates(name: str, expected: datetime) -> None:
    """Zone comments, missing parts, two-digit years and comments before the offset."""
    assert parse_date(headers_of(name).get("Date")) == expected


def test_missing_dates_are_none() -> None:
    """No Date header (msg_05, msg_15, msg_35) gives None, for the caller's fallback."""
    for name in ("msg_05.txt", "msg_15.txt", "msg_35.txt"):
        assert parse_date(headers_of(name).get("Date")) is None


def test_header_block_without_a_blank_line_stops_at_the_body() -> None:
    """msg_35: the first line that is no field ends the headers."""
    lines = (DATA / "cpython" / "msg_35.txt").read_bytes().splitlines(keepends=True)
    headers, count = parse_header_block(lines)
    assert [name for name, _ in headers.fields] == ["From", "To", "Subject"]
    assert count == 3


def test_from_lines() -> None:
    """From_ lines with and without a zone, with trailing text; `From time to time` is none."""
    assert parse_from_line(b"From MAILER-DAEMON Sun Aug  7 11:40:37 2022 extra info") == datetime(
        2022, 8, 7, 11, 40, 37, tzinfo=UTC
    )
    assert parse_from_line(b"From 1623@xxx Thu Jan 14 19:30:22 +0100 2021") == datetime(
        2021, 1, 14, 18, 30, 22, tzinfo=UTC
    )
    assert not is_from_line(b"From time to time")
    assert parse_date("not a date") is None
    assert parse_date("2024-05-06T07:08:09") == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


# -- generated inputs ---------------------------------------------------------------------

_atoms = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=12
).filter(lambda s: s[0] not in "._-" and s[-1] not in "._-" and ".." not in s)
_emails = st.builds(lambda local, host: f"{local}@{host}.com", _atoms, _atoms)
_names = st.one_of(
    st.none(), st.text(min_size=1, max_size=20).filter(lambda s: s.strip() == s and s.isprintable())
)


@given(st.lists(st.tuples(_names, _emails), min_size=1, max_size=6, unique_by=lambda p: p[1]))
def test_formatted_addresses_parse_back(pairs: list[tuple[str | None, str]]) -> None:
    """Whatever the display names (commas, quotes, unicode), addresses formatted by Python parse back."""
    formatted = ", ".join(
        str(PyAddress(display_name=name or "", addr_spec=email)) for name, email in pairs
    )
    parsed = parse_addresses([formatted])
    assert [a.email for a in parsed] == [email for _, email in pairs]
    assert [a.name for a in parsed] == [
        " ".join(name.split()) or None if name else None for name, _ in pairs
    ]


@given(st.text(max_size=200))
def test_parsers_never_raise(text: str) -> None:
    """Any header text parses to something (possibly nothing), never an exception."""
    parse_addresses([text])
    parse_date(text)
    parse_message_id(text)
    decode_words(text)
    parse_header_block([line.encode("utf-8", "surrogatepass") for line in text.splitlines(True)])
