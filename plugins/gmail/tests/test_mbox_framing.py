"""mbox framing as real archives have it: Mailman (pipermail) archives, files without Gmail
labels, CRLF, files that are no mbox at all, an unknown mailbox owner, and a file still
being written."""

from __future__ import annotations

import gzip
import logging
import os
import random
import shutil
import time
from pathlib import Path

import pytest
from gmail_kit import NOW, mbox_source

from engage import Notice
from engage.adapters import Skipped
from engage.errors import ConfigError, SourceError
from engage.identity import Identity
from engage.models import Contact, Direction
from engage.pull import pull_source
from engage.store.sqlite import SQLiteStore
from engage.testing import Pull

PERCEVAL = Path(__file__).parent / "data" / "mbox" / "perceval"
OWNER = {"mailbox_owner": "carol@ourco.com"}


def copy(name: str, tmp_path: Path, as_name: str | None = None) -> Path:
    """A copy of a finished archive: last changed an hour ago (some end without the final
    empty line, which a file still being written would mean)."""
    target = tmp_path / (as_name or name)
    shutil.copyfile(PERCEVAL / name, target)
    old = time.time() - 3600
    os.utime(target, (old, old))
    return target


def stored(store: SQLiteStore, source: str) -> list[tuple[str, str]]:
    rows = store.conn.execute(
        "SELECT external_id, occurred_at FROM touchpoints WHERE source = ? ORDER BY external_id",
        (source,),
    )
    return [(str(a), str(b)) for a, b in rows]


class TestMailmanArchives:
    """Pipermail archives: `From user at domain  date` separators and `at` addresses."""

    def test_every_post_is_a_touchpoint_of_its_author(self, tmp_path: Path) -> None:
        """perceval's pipermail_2015_november.mbox: four posts, four inbound touchpoints, the
        authors' names from `From: user at example.com (Name)`."""
        copy("pipermail_2015_november.mbox", tmp_path)
        result = Pull.run(mbox_source(tmp_path, "*.mbox", **OWNER))
        assert len(result.touchpoints) == 4
        assert {t.direction for t in result.touchpoints} == {Direction.INBOUND}
        names = {c.email: c.name for c in result.of(Contact)}
        assert names["andy@example.com"] == "Andy Grunwald"
        assert names["jgb@gsyc.es"] == "Jesus M. Gonzalez-Barahona"
        assert result.problems == []

    def test_encoded_names_and_odd_from_lines(self, tmp_path: Path) -> None:
        """An ISO-8859-1 encoded name in the comment; a From_ line with quoted unicode in the
        host (`From christian at “example.org”  Thu Jan 15 ...`)."""
        copy("pipermail_2016_march.mbox", tmp_path)
        copy("mbox_unixfrom_encoding.mbox", tmp_path)
        result = Pull.run(mbox_source(tmp_path, "*.mbox", **OWNER))
        names = {c.email: c.name for c in result.of(Contact)}
        assert names == {
            "gpoo@example.com": "Germán Poo-Caamaño",
            "christian@example.org": "Christian Aistleitner",
        }
        assert len(result.touchpoints) == 2

    def test_posts_with_missing_or_broken_fields_land_or_are_named(self, tmp_path: Path) -> None:
        """perceval's mbox_no_fields.mbox: six messages with missing or bad Date and
        Message-ID headers: each becomes a touchpoint (dated by its From_ line when its Date
        is unreadable) or a problem naming its byte offset."""
        copy("mbox_no_fields.mbox", tmp_path)
        source = mbox_source(tmp_path, "*.mbox", **OWNER)
        result = Pull.run(source)
        assert source.counts["messages"] == 6
        assert len(result.touchpoints) + len(result.problems) == 6
        assert all(p.startswith("mbox_no_fields.mbox: byte ") for p in result.problems)

    def test_crlf_and_lf_files_read_the_same(self, tmp_path: Path) -> None:
        """The same archive with CRLF line ends gives the same touchpoints."""
        raw = (PERCEVAL / "pipermail_2015_november.mbox").read_bytes()
        (tmp_path / "lf").mkdir()
        (tmp_path / "crlf").mkdir()
        (tmp_path / "lf" / "a.mbox").write_bytes(raw)
        (tmp_path / "crlf" / "a.mbox").write_bytes(raw.replace(b"\n", b"\r\n"))
        lf = Pull.run(mbox_source(tmp_path, "lf/a.mbox", **OWNER)).touchpoints
        crlf = Pull.run(mbox_source(tmp_path, "crlf/a.mbox", **OWNER)).touchpoints
        assert [(t.external_id, t.occurred_at, t.subject) for t in crlf] == [
            (t.external_id, t.occurred_at, t.subject) for t in lf
        ]

    def test_an_mbox_without_gmail_labels_reads(self, tmp_path: Path) -> None:
        """perceval's mbox_multipart.mbox (Eclipse lists, no X-Gmail-Labels): two messages."""
        copy("mbox_multipart.mbox", tmp_path)
        source = mbox_source(tmp_path, "*.mbox", **OWNER)
        result = Pull.run(source)
        assert source.counts["messages"] == 2
        assert result.problems == []


class TestFilesThatAreNoMbox:
    """A file in which no message starts fails the source, naming the file and what was
    expected; the other files are read and kept."""

    EXPECTED = (
        "no message found; expected an mbox file whose messages start with 'From ' lines "
        "(Google Takeout, Thunderbird, Mailman archives)"
    )

    @pytest.mark.parametrize(
        ("content", "suffix"),
        [
            (random.Random(7).randbytes(4096), ""),
            (b"Date,From,Subject\n2021-01-01,jane@acme.com,Hello\n", ""),
            (gzip.compress(b"From a at b.com  Thu Mar  3 18:20:35 2016\n"), "; it is a gzip file"),
        ],
        ids=["binary", "csv", "gzip"],
    )
    def test_the_error_names_the_file(self, tmp_path: Path, content: bytes, suffix: str) -> None:
        """Random bytes, a CSV export, a gzipped archive: `inbox.mbox: no message found; ...`."""
        (tmp_path / "inbox.mbox").write_bytes(content)
        with pytest.raises(SourceError) as raised:
            Pull.run(mbox_source(tmp_path, "inbox.mbox", **OWNER))
        assert str(raised.value).startswith(f"inbox.mbox: {self.EXPECTED}{suffix}")

    def test_an_empty_file_is_an_empty_mailbox(self, tmp_path: Path) -> None:
        """A file of 0 bytes holds no mail, and that is no error."""
        (tmp_path / "empty.mbox").write_bytes(b"")
        assert Pull.run(mbox_source(tmp_path, "empty.mbox", **OWNER)).touchpoints == []

    def test_text_before_the_first_message_is_a_problem(self, tmp_path: Path) -> None:
        """Junk before the first From_ line is reported at byte 0; the messages land."""
        junk = b"This archive was exported by hand.\n\n"
        raw = junk + (PERCEVAL / "pipermail_2016_march.mbox").read_bytes()
        (tmp_path / "a.mbox").write_bytes(raw)
        result = Pull.run(mbox_source(tmp_path, "a.mbox", **OWNER))
        assert result.problems == [
            "a.mbox: byte 0: 35 bytes of text before the first 'From ' line skipped (not a message)"
        ]
        assert len(result.touchpoints) == 1

    def test_a_rerun_over_good_and_bad_files_keeps_what_the_good_ones_stored(
        self, tmp_path: Path
    ) -> None:
        """Through engage's store: the good archive is stored and checkpointed, the source
        fails naming the bad file, and running again changes nothing the good one stored."""
        copy("pipermail_2015_november.mbox", tmp_path, "a-good.mbox")
        (tmp_path / "b-bad.mbox").write_bytes(random.Random(3).randbytes(2048))
        store = SQLiteStore(tmp_path / "engage.db")
        first = pull_source(store, "archive", "gmail", mbox_source(tmp_path, "*.mbox", **OWNER))
        assert first.error == f"archive: b-bad.mbox: {self.EXPECTED}"
        assert first.touchpoints == 4
        kept = stored(store, "archive")
        again = pull_source(store, "archive", "gmail", mbox_source(tmp_path, "*.mbox", **OWNER))
        assert again.error == first.error
        assert again.records == 0
        assert stored(store, "archive") == kept


class TestUnknownOwner:
    """No mailbox_owner and no Sent mail: a configuration matter, never bad records."""

    def test_with_internal_domains_it_is_said_once_and_mail_lands(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """One warning with the fix; no problem counted; the posts are touchpoints."""
        copy("pipermail_2015_november.mbox", tmp_path)
        with caplog.at_level(logging.WARNING):
            result = Pull.run(mbox_source(tmp_path, "*.mbox"))
        assert result.problems == []
        assert len(result.touchpoints) == 4
        [record] = [r for r in caplog.records if "mailbox owner unknown" in r.getMessage()]
        assert 'set mailbox_owner = "you@yourco.com"' in record.getMessage()
        # the same words reach the sync summary, once, as a notice (not a bad record)
        [notice] = [i for i in result.items if isinstance(i, Notice)]
        assert notice.message == record.getMessage()

    def test_without_internal_domains_it_is_a_configuration_error(self, tmp_path: Path) -> None:
        """Nothing would count as us: the source fails before storing anything, with the fix."""
        copy("pipermail_2015_november.mbox", tmp_path)
        source = mbox_source(tmp_path, "*.mbox", identity=Identity())
        with pytest.raises(ConfigError, match='set mailbox_owner = "you@yourco.com"'):
            next(iter(source.pull(None)))


def _message(n: int) -> bytes:
    return (
        f"From jane@acme.com Thu Jan 14 19:30:2{n} 2021\n"
        f"From: Jane <jane@acme.com>\nTo: carol@ourco.com,\n  bob@ourco.com\n"
        f"Subject: Part {n}\nDate: Thu, 14 Jan 2021 19:30:2{n} +0000\n"
        f"Message-ID: <{n}@acme.com>\n\nHello {n}\n\n"
    ).encode()


class TestAFileStillBeingWritten:
    """The last message counts only when the file ends with an empty line after it, or the
    file has not changed for settle_seconds; otherwise the cursor stops before it."""

    def test_a_message_cut_mid_header_is_read_whole_once_the_file_grows(
        self, tmp_path: Path
    ) -> None:
        """Written in two steps: the first pull stores message 1 and stops before the cut
        message 2; the second reads message 2 whole."""
        second = _message(2)
        cut = second.index(b"Subject") + 6
        path = tmp_path / "a.mbox"
        path.write_bytes(_message(1) + second[:cut])
        source = mbox_source(tmp_path, "a.mbox", **OWNER)
        first = Pull.run(source)
        assert [t.external_id for t in first.touchpoints] == ["1@acme.com"]
        assert Skipped("message still being written (read when complete)") in first.items
        with path.open("ab") as handle:
            handle.write(second[cut:])
        grown = Pull.run(mbox_source(tmp_path, "a.mbox", **OWNER), first.cursor)
        assert [(t.external_id, t.subject) for t in grown.touchpoints] == [("2@acme.com", "Part 2")]

    def test_a_message_cut_in_its_body_waits_too(self, tmp_path: Path) -> None:
        """Cut after its headers but before its closing empty line: not stored yet."""
        path = tmp_path / "a.mbox"
        path.write_bytes(_message(1) + _message(2)[:-3])
        first = Pull.run(mbox_source(tmp_path, "a.mbox", **OWNER))
        assert [t.external_id for t in first.touchpoints] == ["1@acme.com"]
        again = Pull.run(mbox_source(tmp_path, "a.mbox", **OWNER), first.cursor)
        assert again.touchpoints == []

    def test_a_real_archive_without_the_final_empty_line_waits_until_settled(
        self, tmp_path: Path
    ) -> None:
        """perceval's mbox_multipart.mbox ends right after its last MIME boundary: just
        written, its last message waits; an hour later it is read."""
        path = tmp_path / "a.mbox"
        shutil.copyfile(PERCEVAL / "mbox_multipart.mbox", path)
        fresh = mbox_source(tmp_path, "a.mbox", **OWNER)
        first = Pull.run(fresh)
        assert fresh.counts["messages"] == 1
        assert fresh.counts["messages still being written"] == 1
        old = time.time() - 3600
        os.utime(path, (old, old))
        later = mbox_source(tmp_path, "a.mbox", **OWNER)
        Pull.run(later, first.cursor)
        assert later.counts["messages"] == 1

    def test_a_settled_file_is_read_to_its_end(self, tmp_path: Path) -> None:
        """A file unchanged for settle_seconds is complete as it is (an export without the
        final empty line)."""
        path = tmp_path / "a.mbox"
        path.write_bytes(_message(1) + _message(2).rstrip(b"\n"))
        old = time.time() - 120
        os.utime(path, (old, old))
        result = Pull.run(mbox_source(tmp_path, "a.mbox", **OWNER, settle_seconds=60))
        assert [t.external_id for t in result.touchpoints] == ["1@acme.com", "2@acme.com"]
        assert result.touchpoints[1].occurred_at < NOW
