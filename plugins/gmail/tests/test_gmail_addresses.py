"""Address lists in every shape real headers have, and folded header lines of white space only."""

from __future__ import annotations

from pathlib import Path

import pytest
from gmail_kit import mbox_source
from hypothesis import given
from hypothesis import strategies as st

from engage.models import Contact
from engage.testing import Pull
from engage_gmail.headers import (
    Address,
    Group,
    parse_address_list,
    parse_addresses,
    parse_header_block,
)

FROM_LINE = "From 1623347578936238217@xxx Thu Jan 14 19:30:22 +0000 2021"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bb@bug.com", [Address("bb@bug.com")]),
        ("Big Bug bb@bug.com", [Address("bb@bug.com", "Big Bug")]),
        ("a@x.com b@x.com", [Address("a@x.com"), Address("b@x.com")]),
        ("a@x.com, b@x.com", [Address("a@x.com"), Address("b@x.com")]),
        ("a@x.com; b@x.com", [Address("a@x.com"), Address("b@x.com")]),
        ("bb@bug.com (Big Bug)", [Address("bb@bug.com", "Big Bug")]),
        (
            "a@x.com (Ann) b@x.com (Bob), Big Bug bb@bug.com",
            [
                Address("a@x.com", "Ann"),
                Address("b@x.com", "Bob"),
                Address("bb@bug.com", "Big Bug"),
            ],
        ),
        ('"Doe, Jane" <j@x.com>, b@x.com', [Address("j@x.com", "Doe, Jane"), Address("b@x.com")]),
        ("Jane Doe <j@x.com, b@x.com", [Address("j@x.com", "Jane Doe"), Address("b@x.com")]),
        ("Jane <j@x.com> Bob <b@x.com>", [Address("j@x.com", "Jane"), Address("b@x.com", "Bob")]),
        ("user at example.com (Name)", [Address("user@example.com", "Name")]),
        ("jdoe @ example . org", [Address("jdoe@example.org")]),
        ("<@a.net,@b.net:u@h.com>", [Address("u@h.com")]),
        ("undisclosed-recipients:;", []),
        ("team: a@x.com, b@x.com;", [Address("a@x.com"), Address("b@x.com")]),
        ("a@b@c.com, foo, <>", []),
    ],
)
def test_address_shapes(value: str, expected: list[Address]) -> None:
    """Bare, name-then-bare, space- and comma-separated, comment names, angles, groups, `at`."""
    assert parse_addresses([value]) == expected


def test_groups_are_reported_with_their_size() -> None:
    """Empty groups (`undisclosed-recipients:;`) and groups with members are both named."""
    found = parse_address_list(["undisclosed-recipients:;", "team: a@x.com, b@x.com;, c@y.com"])
    assert found.groups == (Group("undisclosed-recipients", 0), Group("team", 2))
    assert [a.email for a in found.addresses] == ["a@x.com", "b@x.com", "c@y.com"]


def test_a_folded_line_of_white_space_does_not_end_the_header_block() -> None:
    """A line of spaces followed by a continuation or a field is folding, not the blank line."""
    lines = [b"From: Jane <jane@acme.com>\n", b"To: carol@ourco.com,\n", b"   \n"]
    lines += [b"  bob@acme.com\n", b"  \n", b"Subject: Hi\n", b"\n", b"body: text\n"]
    headers, count = parse_header_block(lines)
    assert headers.get("Subject") == "Hi"
    assert parse_addresses(headers.get_all("To"))[1].email == "bob@acme.com"
    assert count == 7


def test_a_line_of_white_space_before_the_body_ends_the_header_block() -> None:
    """A line of spaces followed by body text (no field, no continuation) is the blank line."""
    headers, count = parse_header_block([b"Subject: Hi\n", b" \n", b"Dear Carol,\n"])
    assert headers.fields == (("Subject", "Hi"),)
    assert count == 2


def test_mbox_messages_with_bare_names_and_white_space_folds_land_whole(tmp_path: Path) -> None:
    """`From: Big Bug bb@bug.com` is bb@bug.com named Big Bug; a white-space fold keeps the
    Subject and the second recipient."""
    message = (
        f"{FROM_LINE}\nFrom: Big Bug bb@bug.com\nTo: carol@ourco.com,\n \n ann@bug.com\n"
        "Subject: Order\nDate: Thu, 14 Jan 2021 19:30:22 +0000\nMessage-ID: <1@bug.com>\n\n"
        "Hello\n\n"
    )
    (tmp_path / "a.mbox").write_text(message)
    result = Pull.run(mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com"))
    [touchpoint] = result.touchpoints
    assert (touchpoint.contact_email, touchpoint.subject) == ("bb@bug.com", "Order")
    contacts = {c.email: c.name for c in result.of(Contact)}
    assert contacts == {"bb@bug.com": "Big Bug", "ann@bug.com": None}


# -- generated inputs ---------------------------------------------------------------------

_atoms = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=12
).filter(lambda s: s[0] not in "._-" and s[-1] not in "._-" and ".." not in s)
_emails = st.builds(lambda local, host: f"{local}@{host}.com", _atoms, _atoms)
_plain_names = st.lists(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzéü", min_size=1),
    min_size=1,
    max_size=3,
).map(" ".join)


def _shape(shape: str, name: str, email: str) -> str:
    return {
        "bare": email,
        "name bare": f"{name} {email}",
        "comment": f"{email} ({name})",
        "angle": f"{name} <{email}>",
        "quoted": f'"{name}" <{email}>',
    }[shape]


_shapes = st.sampled_from(["bare", "name bare", "comment", "angle", "quoted"])


@given(
    st.lists(
        st.tuples(_shapes, _plain_names, _emails), min_size=1, max_size=5, unique_by=lambda t: t[2]
    ),
    st.sampled_from([", ", ",", "; ", " , "]),
    st.booleans(),
)
def test_every_shape_parses_back(
    entries: list[tuple[str, str, str]], separator: str, grouped: bool
) -> None:
    """Addresses written in any mix of shapes, separated by commas or semicolons, inside a
    group or not, parse back to the same addresses and names."""
    text = separator.join(_shape(shape, name, email) for shape, name, email in entries)
    if grouped:
        text = f"team: {text};"
    parsed = parse_addresses([text])
    assert [a.email for a in parsed] == [email for _, _, email in entries]
    assert [a.name for a in parsed] == [
        None if shape == "bare" else name for shape, name, _ in entries
    ]


@given(st.lists(_emails, min_size=1, max_size=6, unique=True))
def test_bare_addresses_separated_by_spaces_parse_back(found: list[str]) -> None:
    """`a@x.com b@y.com c@z.com` is three addresses."""
    assert [a.email for a in parse_addresses([" ".join(found)])] == found


@given(st.text(max_size=300))
def test_the_address_parser_never_raises(text: str) -> None:
    """Any text parses to some addresses and groups (possibly none), never an exception."""
    found = parse_address_list([text, text.replace(",", " ")])
    assert all("@" in a.email for a in found.addresses)
