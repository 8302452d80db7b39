"""The Takeout mbox source: streaming, labels, owner inference, resume, bad messages and memory."""

from __future__ import annotations

import json
import sys
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gmail_kit import mbox_source

from engage.errors import SourceError
from engage.models import Channel, Contact, Direction
from engage.readahead import DISABLE_ENV, available
from engage.testing import Pull
from engage_gmail import takeout as takeout_module
from engage_gmail.mbox import read_messages

DATA = Path(__file__).parent / "data"
FROM_LINE = "From 1623347578936238217@xxx Thu Jan 14 19:30:22 +0000 2021"


def takeout(
    sender: str = "Jane Roe <jane@acme.com>",
    to: str = "carol@ourco.com",
    subject: str = "Question",
    *,
    labels: str = "Inbox,Opened",
    date: str | None = "Thu, 14 Jan 2021 20:30:22 +0100",
    message_id: str | None = None,
    extra: str = "",
    body: str = "Hello\n",
) -> str:
    """One message as Google Takeout writes it, From_ line first."""
    lines = [FROM_LINE, "X-GM-THRID: 1688", f"X-Gmail-Labels: {labels}"]
    if date:
        lines.append(f"Date: {date}")
    lines += [f"From: {sender}", f"To: {to}", f"Subject: {subject}"]
    if message_id:
        lines.append(f"Message-ID: <{message_id}>")
    if extra:
        lines.append(extra.rstrip("\n"))
    return "\n".join(lines) + "\n\n" + body + "\n"


def write(path: Path, *messages: str) -> Path:
    path.write_bytes("".join(messages).encode())
    return path


def test_messages_map_and_labels_skip_spam_trash_drafts(tmp_path: Path) -> None:
    """Inbox and Sent mail land; Spam, Trash and Drafts (X-Gmail-Labels) are skipped and counted."""
    write(
        tmp_path / "All mail.mbox",
        takeout(message_id="in@acme.com"),
        takeout(
            "Carol <carol@ourco.com>",
            "jane@acme.com",
            "Re: Question",
            labels="Sent",
            message_id="out@ourco.com",
        ),
        takeout(labels="Spam", message_id="s@x"),
        takeout(labels="Trash,Opened", message_id="t@x"),
        takeout("carol@ourco.com", "jane@acme.com", labels="Drafts", message_id="d@x"),
    )
    source = mbox_source(tmp_path, "*.mbox", mailbox_owner="carol@ourco.com")
    result = Pull.run(source)
    found = {(t.external_id, t.direction, t.owner) for t in result.touchpoints}
    assert found == {
        ("in@acme.com", Direction.INBOUND, None),
        ("out@ourco.com", Direction.OUTBOUND, "carol@ourco.com"),
    }
    assert source.counts["skipped spam/trash/draft"] == 3
    assert all(t.source == "archive" for t in result.touchpoints)


def test_owner_is_inferred_from_sent_mail(tmp_path: Path) -> None:
    """Without mailbox_owner, the sender of the first Sent message is the owner (even at gmail.com)."""
    write(
        tmp_path / "a.mbox",
        takeout("jane@acme.com", "carol@gmail.com", message_id="1@x"),
        takeout("Carol <carol@gmail.com>", "jane@acme.com", labels="Sent", message_id="2@x"),
    )
    source = mbox_source(tmp_path, "a.mbox")
    result = Pull.run(source)
    assert {t.direction for t in result.touchpoints} == {Direction.INBOUND, Direction.OUTBOUND}
    assert json.loads(result.cursor or "")["owner"] == "carol@gmail.com"


def test_unknown_owner_is_no_bad_record(tmp_path: Path) -> None:
    """No Sent mail and no mailbox_owner (internal domains set): no problem counted; mail still
    lands (the warning with the fix is in test_mbox_framing)."""
    write(tmp_path / "a.mbox", takeout(message_id="1@x"))
    result = Pull.run(mbox_source(tmp_path, "a.mbox"))
    assert result.problems == []
    assert len(result.touchpoints) == 1


def test_unquoted_from_in_a_body_does_not_split_the_message() -> None:
    """`From time to time` in a body is text (Python's mailbox makes a second, headerless message)."""
    with (DATA / "mbox" / "cpython_mailbox_01.mbox").open("rb") as handle:
        messages = list(read_messages(handle))
    assert len(messages) == 1
    headers, _ = messages[0].parse()
    assert headers.get("Subject") == "unquoted From in body; extra info on From line"


def test_from_line_in_a_body_without_a_header_after_it_is_text(tmp_path: Path) -> None:
    """A date-bearing `From ...` line not after a blank line and not followed by a header stays in the body."""
    body = "See below\nFrom jane Mon Jan  4 10:00:00 2021 she wrote:\n> hi\n"
    path = write(
        tmp_path / "a.mbox", takeout(body=body, message_id="1@x"), takeout(message_id="2@x")
    )
    with path.open("rb") as handle:
        assert [m.parse()[0].get("Message-ID") for m in read_messages(handle)] == ["<1@x>", "<2@x>"]


def test_unparseable_messages_are_reported_with_their_position(tmp_path: Path) -> None:
    """A message without header fields is a Problem naming the file and byte offset; the rest lands."""
    good = takeout(message_id="1@x")
    broken = FROM_LINE + "\n\nno headers at all\n\n"
    write(tmp_path / "a.mbox", good, broken, takeout(message_id="2@x"))
    result = Pull.run(mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com"))
    assert result.problems == [
        f"a.mbox: byte {len(good)}: no header fields after the From_ line; message skipped"
    ]
    assert sorted(t.external_id for t in result.touchpoints) == ["1@x", "2@x"]


def test_mail_dated_after_the_clock_is_a_problem_with_its_position(tmp_path: Path) -> None:
    """A message whose Date and From_ line are both days after the clock is a Problem naming
    the file, byte offset and date; the rest lands."""
    good = takeout(message_id="1@x")
    ahead = takeout(date="Tue, 01 Jan 2036 09:00:00 +0000", message_id="2@x").replace(
        FROM_LINE, "From 1@xxx Tue Jan 01 09:00:00 +0000 2036"
    )
    write(tmp_path / "a.mbox", good, ahead)
    result = Pull.run(mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com"))
    assert result.problems == [
        f"a.mbox: byte {len(good)}: Date: in the future (got 'Tue, 01 Jan 2036 09:00:00 +0000');"
        " message skipped"
    ]
    assert [t.external_id for t in result.touchpoints] == ["1@x"]


def test_missing_date_falls_back_to_the_from_line(tmp_path: Path) -> None:
    """No Date header: the From_ line's date is used."""
    write(tmp_path / "a.mbox", takeout(date=None, message_id="1@x"))
    [touchpoint] = Pull.run(
        mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com")
    ).touchpoints
    assert touchpoint.occurred_at == datetime(2021, 1, 14, 19, 30, 22, tzinfo=UTC)


def test_calendar_part_in_the_body_makes_a_meeting(tmp_path: Path) -> None:
    """A text/calendar part (seen while streaming the body, not kept) makes a meeting touchpoint."""
    body = (
        "--b\nContent-Type: text/plain\n\nJoin us\n--b\n"
        'Content-Type: text/calendar; charset="UTF-8"; method=REQUEST\n\nBEGIN:VCALENDAR\n--b--\n'
    )
    extra = 'Content-Type: multipart/mixed; boundary="b"'
    write(
        tmp_path / "a.mbox", takeout(subject="Kick-off", extra=extra, body=body, message_id="1@x")
    )
    [touchpoint] = Pull.run(
        mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com")
    ).touchpoints
    assert touchpoint.channel == Channel.MEETING


def test_a_file_read_is_not_read_again_and_a_grown_one_resumes(tmp_path: Path) -> None:
    """The cursor keeps each file's offset: unchanged files are skipped, appended mail alone is read."""
    path = write(tmp_path / "a.mbox", takeout(message_id="1@x"), takeout(message_id="2@x"))
    first = Pull.run(mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com"))
    assert len(first.touchpoints) == 2
    again = mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com")
    assert Pull.run(again, first.cursor).touchpoints == []
    assert again.counts["files unchanged"] == 1
    with path.open("ab") as handle:
        handle.write(takeout(message_id="3@x").encode())
    grown = Pull.run(mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com"), first.cursor)
    assert [t.external_id for t in grown.touchpoints] == ["3@x"]


def test_a_rewritten_file_is_read_from_the_start(tmp_path: Path) -> None:
    """A new export under the same name (its beginning changed) is read whole; ids stay stable."""
    path = write(tmp_path / "a.mbox", takeout(message_id="1@x"))
    first = Pull.run(mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com"))
    write(
        path,
        takeout(subject="Other", message_id="0@x"),
        takeout(message_id="1@x"),
        takeout(message_id="2@x"),
    )
    second = Pull.run(
        mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com"), first.cursor
    )
    assert sorted(t.external_id for t in second.touchpoints) == ["0@x", "1@x", "2@x"]


def test_checkpoints_resume_in_the_middle_of_a_file(tmp_path: Path) -> None:
    """With checkpoint_every = 2, a pull stopped after the first checkpoint resumes at the third message."""
    write(tmp_path / "a.mbox", *(takeout(message_id=f"{n}@x") for n in range(5)))
    items = mbox_source(
        tmp_path, "a.mbox", mailbox_owner="carol@ourco.com", checkpoint_every=2
    ).pull(None)
    cursor = next(item.cursor for item in items if hasattr(item, "cursor"))
    rest = Pull.run(mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com"), cursor)
    assert [t.external_id for t in rest.touchpoints] == ["2@x", "3@x", "4@x"]


def test_globs_read_every_file_and_no_match_is_an_error(tmp_path: Path) -> None:
    """`takeout/*.mbox` reads each file; a pattern matching nothing fails naming it."""
    (tmp_path / "takeout").mkdir()
    write(tmp_path / "takeout" / "a.mbox", takeout(message_id="1@x"))
    write(tmp_path / "takeout" / "b.mbox", takeout(message_id="2@x"))
    result = Pull.run(mbox_source(tmp_path, "takeout/*.mbox", mailbox_owner="carol@ourco.com"))
    assert sorted(t.external_id for t in result.touchpoints) == ["1@x", "2@x"]
    with pytest.raises(SourceError, match="matches no file"):
        Pull.run(mbox_source(tmp_path, "nothing/*.mbox"))


def test_messages_without_message_id_get_a_stable_id(tmp_path: Path) -> None:
    """A message without Message-ID is identified by a digest of its headers, the same on every read."""
    write(tmp_path / "a.mbox", takeout())
    first = Pull.run(mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com")).touchpoints
    second = Pull.run(mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com")).touchpoints
    assert first[0].external_id.startswith("sha256:")
    assert first[0].external_id == second[0].external_id
    assert first[0].message_id is None


def test_every_messy_sample_message_lands_or_is_accounted_for(tmp_path: Path) -> None:
    """The real messages in tests/data/email, as one mbox: no crash; names and addresses as expected."""
    parts = []
    for sample in sorted((DATA / "email").glob("*/*.*")):
        raw = sample.read_bytes().replace(b"\r\n", b"\n")
        if raw.startswith(b"From "):
            raw = raw.split(b"\n", 1)[1]
        parts.append(
            FROM_LINE.encode() + b"\nX-Gmail-Labels: Inbox\n" + raw.rstrip(b"\n") + b"\n\n"
        )
    (tmp_path / "samples.mbox").write_bytes(b"".join(parts))
    source = mbox_source(tmp_path, "samples.mbox", mailbox_owner="carol@ourco.com")
    result = Pull.run(source)
    assert source.counts["messages"] == len(parts)
    contacts = {c.email: c.name for c in result.of(Contact)}
    assert contacts["foo.bar@example.com"] == "Foo, Bar"
    assert contacts["bbb@ddd.com"] == "John X. Doe"
    assert contacts["jdoe@machine.example"] == "John Doe"
    assert source.counts["skipped automated"] >= 3  # bounces and MAILER-DAEMON
    assert result.problems == []


def test_memory_stays_flat_on_a_large_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """About 9 MB of mail is read with a small, constant peak of memory: 600 messages of
    ~10 KB (together far more than the peak allowed) and, among them, one 3 MB body (more
    than the peak on its own, so a body is not held whole either). Read in this process
    (not ahead in a child), where tracemalloc sees the parser."""
    monkeypatch.setenv(DISABLE_ENV, "0")
    body, huge = ("x" * 76 + "\n") * 130, ("y" * 76 + "\n") * 40_000
    path = tmp_path / "big.mbox"
    with path.open("w") as handle:
        for n in range(600):
            text = huge if n == 300 else body
            handle.write(takeout(f"c{n % 50}@acme{n % 7}.com", message_id=f"{n}@x", body=text))
    assert path.stat().st_size > 9_000_000
    source = mbox_source(
        tmp_path, "big.mbox", mailbox_owner="carol@ourco.com", checkpoint_every=250
    )
    tracemalloc.start()
    try:
        count = sum(1 for item in source.pull(None) if type(item).__name__ == "Touchpoint")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 600
    assert peak < 2_000_000


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux only")
def test_a_large_mailbox_read_ahead_gives_the_same_items_and_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past READ_AHEAD_BYTES the messages are parsed in a child process (engage.readahead):
    the pull is the same item for item, and the counts the child kept come back."""
    parts = [
        takeout(f"c{n % 40}@acme{n % 9}.com", message_id=f"{n}@x", subject=f"Re: {n}")
        for n in range(300)
    ]
    parts.insert(100, takeout("MAILER-DAEMON@acme.com", subject="Undelivered Mail"))
    parts.insert(200, takeout(labels="Spam"))
    write(tmp_path / "a.mbox", *parts[:150])
    write(tmp_path / "b.mbox", *parts[150:])
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    monkeypatch.setattr(takeout_module, "READ_AHEAD_BYTES", 0)
    assert available()
    ahead_source = mbox_source(tmp_path, "*.mbox", mailbox_owner="carol@ourco.com")
    ahead = Pull.run(ahead_source)
    monkeypatch.setenv(DISABLE_ENV, "0")
    here_source = mbox_source(tmp_path, "*.mbox", mailbox_owner="carol@ourco.com")
    here = Pull.run(here_source)
    assert ahead.items == here.items
    assert len(ahead.touchpoints) == 300
    assert ahead_source.counts == here_source.counts
    assert ahead_source.counts["messages"] == 302
