"""A cursor the Gmail sources cannot read is refused with CursorError, so the core sets it
aside and the mailbox is read again from the start (engage.cursors), the rule of every source."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_gmail import FakeGmail
from gmail_kit import api_source, mbox_source

from engage.cursors import CursorError
from engage.testing import Pull


@pytest.fixture
def fake() -> Iterator[FakeGmail]:
    with FakeGmail() as server:
        yield server


@pytest.mark.parametrize(
    ("cursor", "why"),
    [
        ("{torn", "the cursor is not JSON"),
        ('{"phase": "somewhere"}', "no phase 'list' or 'history'"),
        ('{"phase": "history"}', "no history_id"),
        (
            '{"phase": "history", "history_id": "7", "meetings": {"seq": {"u": "one"}}}',
            "sequences are not numbers",
        ),
        (
            '{"phase": "history", "history_id": "7", "meetings": {"pending": {"ics:u": {}}}}',
            "meeting held for later 'ics:u' is not one",
        ),
    ],
)
def test_the_api_source_refuses_a_cursor_it_cannot_read(
    fake: FakeGmail, tmp_path: Path, cursor: str, why: str
) -> None:
    with pytest.raises(CursorError, match=why):
        list(api_source(fake, tmp_path).pull(cursor))
    assert Pull.run(api_source(fake, tmp_path)).cursor  # from the start it reads


MESSAGE = b"From 1@xxx Thu Jan 14 19:30:22 +0000 2021\nFrom: jane@acme.com\nTo: carol@ourco.com\n"
MESSAGE += b"Subject: Hi\nMessage-ID: <1@acme.com>\nDate: Thu, 14 Jan 2021 19:30:22 +0000\n\nHi\n\n"


@pytest.mark.parametrize(
    ("cursor", "why"),
    [
        ("{torn", "the cursor is not JSON"),
        ("[1, 2]", "not a JSON object"),
        (  # the contract suite's foreign cursor: it crashed the pull with an AttributeError
            json.dumps({"format": "someone-else", "version": 999, "files": 7, "after": [1]}),
            r"keys an mbox cursor never has \(after, format, version\)",
        ),
        (  # the API reader's cursor, handed to an mbox source
            json.dumps({"phase": "history", "history_id": "7", "owner": None}),
            r"keys an mbox cursor never has \(history_id, phase\)",
        ),
        (json.dumps({"files": 7}), "files are not read positions by path"),
        (json.dumps({"files": {"/a.mbox": {"offset": "x"}}}), "files are not read positions"),
        (json.dumps({"files": {"/a.mbox": [0, 10]}}), "files are not read positions"),
        (json.dumps({"owner": ["carol@ourco.com"]}), "owner is not an address"),
        (json.dumps({"owner_checked": "yes"}), "owner_checked is not true or false"),
        (json.dumps({"meetings": []}), "meetings are not a JSON object"),
        (json.dumps({"meetings": {"pending": {"ics:u": {"occurred_at": "soon"}}}}), "is not one"),
    ],
)
def test_the_takeout_source_refuses_a_cursor_it_cannot_read(
    tmp_path: Path, cursor: str, why: str
) -> None:
    """A cursor that is not JSON or not an mbox cursor's shape: CursorError, before anything
    is read; the files are then read from the start."""
    (tmp_path / "All mail.mbox").write_bytes(MESSAGE)
    with pytest.raises(CursorError, match=why):
        next(iter(mbox_source(tmp_path, "*.mbox").pull(cursor)))
    assert Pull.run(mbox_source(tmp_path, "*.mbox")).touchpoints


def test_the_takeout_source_reads_every_cursor_it_writes(tmp_path: Path) -> None:
    """Each checkpoint of a pull (owner, files, meetings) is read back: nothing read again."""
    (tmp_path / "All mail.mbox").write_bytes(MESSAGE)
    first = Pull.run(mbox_source(tmp_path, "*.mbox", mailbox_owner="carol@ourco.com"))
    assert first.cursor is not None
    assert set(json.loads(first.cursor)) == {"owner", "files", "meetings"}
    again = Pull.run(mbox_source(tmp_path, "*.mbox"), first.cursor)
    assert again.touchpoints == []
