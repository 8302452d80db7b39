"""Fuzzing mail: random header values, addresses, dates and Message-IDs through the header
parsers, and random mbox files (From_ lines, header blocks, folded lines, bodies, CRLF, bytes
of any encoding) through the Takeout source.

Whatever the input, the parsers answer with values or None, and the source yields engage's
own items or raises one of engage's errors (:class:`~engage.errors.EngageError`): never an
unexpected exception. Run alone with ``pytest -m fuzz plugins/gmail/tests``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
from gmail_kit import mbox_source
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engage.adapters import Checkpoint, Notice, Problem, Retire, Skipped
from engage.errors import EngageError
from engage.models import Contact, Customer, Owner, Touchpoint
from engage_gmail.addresses import parse_address_list, parse_addresses, strip_comments
from engage_gmail.headers import (
    is_from_line,
    parse_date,
    parse_from_line,
    parse_header_block,
    parse_message_id,
)

pytestmark = pytest.mark.fuzz

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ITEMS = (Touchpoint, Customer, Contact, Owner, Problem, Skipped, Checkpoint, Retire, Notice)

addresses = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "Jane Doe <jane@acme.com>",
            '"Doe, Jane" <jane@acme.com>',
            "jane@acme.com (Jane)",
            "undisclosed-recipients:;",
            "Team: a@b.c, d@e.f;",
            "<>",
            "<@>",
            "a@b@c",
            "=?utf-8?q?J=C3=A4ne?= <jane@acme.com>",
            "carol@ourco.com",
            '"unterminated',
            "(((((",
            "<<<a@b>>>",
            "jane@acme.com, , ,",
            "\\",
            "@acme.com",
        ]
    ),
    st.text(alphabet='<>@"(),;:\\ .=?abc', max_size=30),
)


dates = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "Mon, 2 Nov 2026 09:00:00 +0000",
            "2 Nov 2026 09:00 -0500",
            "Thu, 31 Feb 2026 25:61:61 +9999",
            "Mon, 2 Nov 99999 09:00:00 +0000",
            "0",
            "Mon, 02 Nov 2026 09:00:00 GMT",
            "Mon, 2 Nov 2026 09:00:00 -2359",
        ]
    ),
)


@FUZZ
@given(values=st.lists(addresses, max_size=4))
def test_any_address_header_parses_to_addresses(values: list[str]) -> None:
    """Address lists: a list of addresses (maybe none), never an exception."""
    assert isinstance(parse_addresses(values), list)
    parse_address_list(values)
    for value in values:
        assert isinstance(strip_comments(value), str)


@FUZZ
@given(
    date=dates,
    message_id=st.text(max_size=60) | st.sampled_from(["<a@b>", "<>", "a@b", "<a@b> <c@d>"]),
)
def test_any_date_or_message_id_parses_or_is_none(date: str, message_id: str) -> None:
    """A Date header becomes an aware time or None; a Message-ID a string or None."""
    when = parse_date(date)
    assert when is None or when.tzinfo is not None
    found = parse_message_id(message_id)
    assert found is None or isinstance(found, str)


@FUZZ
@given(
    line=st.binary(max_size=80)
    | st.text(max_size=80).map(lambda t: ("From " + t).encode("utf-8", "surrogateescape"))
)
def test_any_from_line_is_judged_without_an_exception(line: bytes) -> None:
    """From_ lines: recognised or not; a time or None."""
    is_from_line(line)
    parse_from_line(line)
    parse_from_line(line.decode("latin-1"))


header_names = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "X-Gmail-Labels",
        "Content-Type",
        "Auto-Submitted",
        "List-Id",
        "Precedence",
        "Delivered-To",
    ]
) | st.text(max_size=10)
header_values = addresses | dates | st.text(max_size=60)


@st.composite
def header_blocks(draw: st.DrawFn) -> list[bytes]:
    """Header lines as bytes: fields, folded lines, junk, an empty line ending the block."""
    lines: list[bytes] = []
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.integers(0, 9))
        if kind == 7:
            lines.append(b" " + draw(st.binary(max_size=30)))  # a folded continuation
        elif kind == 8:
            lines.append(draw(st.binary(max_size=40)))  # junk
        else:
            name, value = draw(header_names), draw(header_values)
            encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-16"]))
            lines.append(f"{name}: {value}".encode(encoding, "replace"))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    return [line.replace(b"\n", b" ").replace(b"\r", b" ") + ending for line in lines] + [ending]


@FUZZ
@given(lines=header_blocks())
def test_any_header_block_parses(lines: list[bytes]) -> None:
    """A header block parses to headers and the count of lines it used."""
    headers, used = parse_header_block(lines)
    assert 0 <= used <= len(lines)
    headers.get("From")
    headers.get_all("To")


@st.composite
def mbox_files(draw: st.DrawFn) -> bytes:
    """An mbox: From_ lines (good, odd, missing), header blocks, bodies with From lines in them."""
    out = b""
    for _ in range(draw(st.integers(0, 5))):
        from_line = draw(
            st.sampled_from(
                [
                    b"From 1234@xxx Mon Nov 02 09:00:00 +0000 2026",
                    b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970",
                    b"From ",
                    b"From x",
                    b"From jane@acme.com Mon Nov  2 09:00:00 2026",
                    b"",
                ]
            )
            | st.binary(max_size=40).map(lambda b: b"From " + b)
        )
        block = b"".join(draw(header_blocks()))
        if draw(st.booleans()):
            block = (
                b"From: Jane <jane@acme.com>\nTo: carol@ourco.com\n"
                b"Date: Mon, 2 Nov 2026 09:00:00 +0000\nX-Gmail-Labels: Inbox\n" + block
            )
        body = draw(
            st.binary(max_size=100) | st.sampled_from([b"From the start\n", b">From\n", b"\n\n"])
        )
        out += from_line + b"\n" + block + body + b"\n"
    if draw(st.booleans()):
        out = out.replace(b"\n", b"\r\n")
    return out


@FUZZ
@given(raw=mbox_files())
def test_any_mbox_gives_engage_items_or_an_engage_error(raw: bytes) -> None:
    """The Takeout source reads any mbox (twice, the second from the first's cursor): only
    engage's items, or an EngageError."""
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        path = directory / "mail.mbox"
        path.write_bytes(raw)
        finished = time.time() - 3600  # a finished archive, not one still being written
        os.utime(path, (finished, finished))
        source = mbox_source(directory, "*.mbox", mailbox_owner="carol@ourco.com")
        try:
            cursor = None
            for item in source.pull(None):
                assert isinstance(item, ITEMS), item
                if isinstance(item, Touchpoint):
                    event("a touchpoint")
                if isinstance(item, Checkpoint):
                    cursor = item.cursor
            assert all(isinstance(item, ITEMS) for item in source.pull(cursor))
        except EngageError as error:
            event(type(error).__name__)


@pytest.mark.parametrize(
    "value",
    ["Mon, 2 Nov 2026 09:00:00 +2400", "1 NOV 0 0:0 2400", "Mon, 2 Nov 2026 09:00:00 -9999",
     "31 Dec 9999 23:59:59 -0100"],
)  # fmt: skip
def test_a_date_with_an_impossible_zone_offset_is_none(value: str) -> None:
    """A Date header engage cannot place in time is None, as the docstring promises."""
    assert parse_date(value) is None


def test_one_message_with_an_impossible_date_does_not_stop_the_mailbox(tmp_path: Path) -> None:
    """The impossible Date is a problem (or the message is kept without it); the next
    message is read."""
    raw = b""
    for number, date in enumerate(
        [b"Mon, 2 Nov 2026 09:00:00 +2400", b"Mon, 2 Nov 2026 10:00:00 +0000"]
    ):
        raw += (
            b"From 1234@xxx Mon Nov 02 09:00:00 +0000 2026\nFrom: Jane <jane@acme.com>\n"
            b"To: carol@ourco.com\nDate: " + date + b"\nSubject: hi\n"
            b"Message-ID: <m" + str(number).encode() + b"@acme.com>\n\nbody\n\n"
        )
    path = tmp_path / "mail.mbox"
    path.write_bytes(raw)
    finished = time.time() - 3600
    os.utime(path, (finished, finished))
    source = mbox_source(tmp_path, "*.mbox", mailbox_owner="carol@ourco.com")
    items = list(source.pull(None))
    assert [i.message_id for i in items if isinstance(i, Touchpoint)][
        -1
    ] == "m1@acme.com"  # stored bare
