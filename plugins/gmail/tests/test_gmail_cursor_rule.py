"""A cursor the Gmail sources cannot read is refused with CursorError, so the core sets it
aside and the mailbox is read again from the start (engage.cursors), the rule of every source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_gmail import FakeGmail
from gmail_kit import api_source, mbox_source, pull

from engage.cursors import CursorError


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
    ],
)
def test_the_api_source_refuses_a_cursor_it_cannot_read(
    fake: FakeGmail, tmp_path: Path, cursor: str, why: str
) -> None:
    with pytest.raises(CursorError, match=why):
        list(api_source(fake, tmp_path).pull(cursor))
    assert pull(api_source(fake, tmp_path)).cursor  # from the start it reads


@pytest.mark.parametrize(
    ("cursor", "why"), [("{torn", "the cursor is not JSON"), ("[1, 2]", "not a JSON object")]
)
def test_the_takeout_source_refuses_a_cursor_it_cannot_read(
    tmp_path: Path, cursor: str, why: str
) -> None:
    (tmp_path / "All mail.mbox").write_bytes(b"")
    with pytest.raises(CursorError, match=why):
        list(mbox_source(tmp_path, "*.mbox").pull(cursor))
