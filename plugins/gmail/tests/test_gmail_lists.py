"""Mailing lists and digests recognised by structure, even without List-* headers."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gmail_kit import mbox_source

from engage.identity import Identity
from engage.testing import Pull
from engage_gmail.headers import Headers
from engage_gmail.mapping import MailMessage, Mapper

DATA = Path(__file__).parent / "data"
FROM_LINE = b"From someone@example.com Fri Apr 20 20:18:00 2001\n"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def as_mbox(tmp_path: Path, *raws: bytes) -> Path:
    """Messages as one finished mbox file (no Gmail labels)."""
    path = tmp_path / "a.mbox"
    path.write_bytes(b"".join(FROM_LINE + raw.rstrip(b"\n") + b"\n\n" for raw in raws))
    old = time.time() - 3600
    os.utime(path, (old, old))
    return path


def sample(name: str) -> bytes:
    return next(DATA.glob(f"email/*/{name}")).read_bytes()


def mapped_reason(*fields: tuple[str, str], types: tuple[str, ...] = ()) -> str | None:
    mapper = Mapper("mail", Identity.for_domains(["ourco.com"]), "carol@ourco.com", now=lambda: NOW)
    base = {"Date": "Mon, 02 Nov 2026 11:30:00 +0100", "To": "carol@ourco.com", **dict(fields)}
    return mapper.map(MailMessage("m1", Headers(tuple(base.items())), mime_types=types)).reason


def test_a_mailman_digest_is_automated(tmp_path: Path) -> None:
    """CPython's msg_02.txt, a Mailman digest without List-* headers, is no customer."""
    as_mbox(tmp_path, sample("msg_02.txt"))
    source = mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com")
    result = Pull.run(source)
    assert result.touchpoints == []
    assert source.counts["skipped automated"] == 1


def test_a_digest_part_alone_is_enough(tmp_path: Path) -> None:
    """msg_02 from a person, with an ordinary subject and no list headers: its nested
    multipart/digest part still makes it a digest."""
    raw = sample("msg_02.txt")
    for header in (b"Sender", b"X-Mailer", b"X-Mailman-Version"):
        raw = b"".join(line for line in raw.splitlines(True) if not line.startswith(header))
    raw = raw.replace(b"From: ppp-request@zzz.org", b"From: Jane <jane@zzz.org>")
    raw = raw.replace(b"Subject: Ppp digest, Vol 1 #2 - 5 msgs", b"Subject: News")
    as_mbox(tmp_path, raw)
    source = mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com")
    assert Pull.run(source).touchpoints == []
    assert source.counts["skipped automated"] == 1


def test_mail_to_an_empty_group_is_bulk(tmp_path: Path) -> None:
    """CPython's msg_36.txt, `To: IETF-Announce:;` from Internet-Drafts@ietf.org, is no
    customer; the same addressed to us is one."""
    raw = sample("msg_36.txt")
    as_mbox(tmp_path, raw)
    source = mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com")
    assert Pull.run(source).touchpoints == []
    as_mbox(tmp_path, raw.replace(b"To: IETF-Announce:;", b"To: carol@ourco.com"))
    assert (
        len(Pull.run(mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com")).touchpoints)
        == 1
    )


def test_a_list_footer_outside_quotes_is_a_list(tmp_path: Path) -> None:
    """A Mailman footer at the end of the body marks list mail; one quoted in a reply does
    not (the perceval pipermail archive quotes them and stays four touchpoints)."""
    message = (
        b"From: Jane <jane@acme.com>\nTo: team@acme.com\nSubject: Release\n"
        b"Date: Fri, 20 Apr 2001 20:18:00 -0400\n\nOut now.\n"
        b"_______________________________________________\nTeam mailing list\n"
        b"team@acme.com\nhttps://lists.acme.com/mailman/listinfo/team\n"
    )
    quoted = message.replace(b"\nhttps://", b"\n> https://").replace(b"Release", b"Re: Release")
    as_mbox(tmp_path, message, quoted.replace(b"Subject", b"Message-ID: <2@acme.com>\nSubject"))
    source = mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com")
    assert [t.subject for t in Pull.run(source).touchpoints] == ["Re: Release"]


@pytest.mark.parametrize(
    ("fields", "types", "reason"),
    [
        ((("From", "jane@acme.com"),), ("multipart/mixed", "multipart/digest"), "digest"),
        ((("From", "jane@acme.com"), ("Subject", "Users Digest, Vol 98, Issue 1")), (), "digest"),
        (
            (("From", "x@acme.com"), ("Subject", "Digest for team@googlegroups.com - 3 updates")),
            (),
            "digest",
        ),
        (
            (("From", "jane@acme.com"), ("X-Mailman-Version", "2.1.39")),
            (),
            "mailing list (X-Mailman-Version)",
        ),
        (
            (("From", "jane@acme.com"), ("X-BeenThere", "team@acme.com")),
            (),
            "mailing list (X-BeenThere)",
        ),
        (
            (("From", "jane@acme.com"), ("Sender", "team-bounces@acme.com")),
            (),
            "mailing list (list address)",
        ),
        ((("From", "owner-team@acme.com"),), (), "mailing list (list address)"),
        ((("From", "team-request@acme.com"),), (), "mailing list (list address)"),
        (
            (("From", "jane@acme.com"), ("To", "undisclosed-recipients:;")),
            (),
            "undisclosed recipients",
        ),
        ((("From", "jane@acme.com"),), ("multipart/alternative",), None),
        ((("From", "jane@acme.com"), ("Subject", "Digest of our call")), (), None),
    ],
)
def test_structural_signals_through_the_mapper(
    fields: tuple[tuple[str, str], ...], types: tuple[str, ...], reason: str | None
) -> None:
    """Each structural signal alone (as the Gmail API's metadata and MIME tree show it)."""
    assert mapped_reason(*fields, types=types) == reason


def test_our_own_bcc_mailing_is_still_written_to_the_customers() -> None:
    """Outbound mail to `undisclosed-recipients:;` with customers in Bcc stays outbound."""
    assert (
        mapped_reason(
            ("From", "carol@ourco.com"),
            ("To", "undisclosed-recipients:;"),
            ("Bcc", "jane@acme.com"),
        )
        is None
    )
