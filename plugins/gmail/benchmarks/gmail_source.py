"""Benchmarks for the gmail source: API round trips and Takeout throughput.

Run from the repository root::

    .venv/bin/python plugins/gmail/benchmarks/gmail_source.py            # 20,000 messages, 1024 MB mbox
    .venv/bin/python plugins/gmail/benchmarks/gmail_source.py --messages 5000 --mbox-mb 200

It prints messages per HTTP round trip for a first sync of a fake mailbox (target: at least 45)
and, for a generated Takeout mbox, messages per second, MB/s and peak resident memory beside
the standard library's floor for the same file (:func:`floor`: framing the messages and
parsing their header blocks, nothing else), run just before and just after the source; the
source's time is printed as a ratio to the mean of the two.

The mbox (:func:`write_mbox`) is the same file for the same ``--seed`` and size: Takeout's
``From_`` lines and Gmail headers, headers of varied size (``Received`` chains, DKIM
signatures, long ``References``, folded recipient lists, encoded subjects), plain and
``multipart/alternative`` bodies, and some ``multipart/mixed`` ones with a base64 attachment.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from fake_gmail import FakeGmail  # noqa: E402
from gmail_kit import NOW, api_source, mbox_source  # noqa: E402

from engage.models import Touchpoint  # noqa: E402
from engage.readahead import DISABLE_ENV  # noqa: E402
from engage_gmail.gmail_api import QuotaLimiter  # noqa: E402


def api_case(messages: int, paced: bool) -> None:
    """First sync of a mailbox of ``messages`` messages: messages per HTTP round trip.

    Unpaced by default: round trips do not depend on the clock, and the quota's wall time is
    computed from the units spent instead of waited for (``--paced`` waits for real).
    """
    with FakeGmail() as fake, tempfile.TemporaryDirectory() as tmp:
        for n in range(messages):
            fake.add(
                f"c{n % 300}@acme{n % 40}.com",
                "carol@ourco.com",
                f"Question {n}",
                date=NOW - timedelta(minutes=n),
            )
        quota = None if paced else QuotaLimiter(units_per_minute=10**9)
        source = api_source(fake, Path(tmp), quota=quota)
        started = time.perf_counter()
        touchpoints = sum(isinstance(i, Touchpoint) for i in source.pull(None))
        elapsed = time.perf_counter() - started
        trips = len(fake.server.requests)
        print(
            f"gmail api: {messages} messages, {touchpoints} touchpoints, {trips} HTTP round trips "
            f"(1 token, {sum(r.path.endswith('/profile') for r in fake.server.requests)} profile, "
            f"{sum(r.path.endswith('/messages') for r in fake.server.requests)} list, "
            f"{len(fake.batch_sizes)} batch): {messages / trips:.1f} messages per round trip; "
            f"{elapsed:.1f} s against the loopback fake"
            + (" paced by" if paced else " unpaced; against Gmail, add")
            + f" the per-user quota: {fake.units['carol@ourco.com']:,} units at 15,000 a minute"
            f" = {fake.units['carol@ourco.com'] / 15_000:.1f} min"
        )


#: What the generated messages are made of (drawn with the seed's generator).
WORDS = (
    "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do",
    "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna", "aliqua",
    "renewal", "pricing", "contract", "invoice", "meeting", "agenda", "quarter", "roadmap",
    "onboarding", "support", "ticket", "follow", "up", "thanks", "regards", "proposal", "budget",
    "timeline",
)  # fmt: skip
LABELS = ("Inbox", "Opened", "Important", "Category Updates", "Starred", "Sent", "Unread")
FIRST_NAMES = ("Jane", "Omar", "Li", "Priya", "Tomás", "Anna", "Kwame", "Sofia", "Ivan", "Mei")


def _folded(name: str, items: list[str], separator: str = ", ") -> str:
    """A header whose items go on continuation lines once the line would pass 76 characters."""
    lines, line = [], f"{name}: "
    for n, item in enumerate(items):
        piece = item + (separator if n < len(items) - 1 else "")
        if len(line) + len(piece) > 76 and line.strip() != f"{name}:":
            lines.append(line.rstrip())
            line = " " + piece
        else:
            line += piece
    lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def _text(rng: random.Random, pool: list[str], low: int, high: int) -> str:
    """Between ``low`` and ``high`` lines of text, with a blank line between paragraphs."""
    lines = []
    for _ in range(rng.randint(low, high)):
        lines.append(rng.choice(pool))
        if rng.random() < 0.15:
            lines.append("")
    if rng.random() < 0.05:  # Takeout quotes a body line starting "From " as ">From " (mboxrd)
        lines.append(">From the desk of the account team: " + rng.choice(pool))
    return "\n".join(lines) + "\n"


def _message(rng: random.Random, n: int, pool: list[str], attachments: list[str]) -> str:
    """Message ``n``: its ``From_`` line, headers and body, ending with an empty line."""
    when = datetime(2026, 11, 1, tzinfo=UTC) - timedelta(seconds=rng.randrange(3 * 365 * 86400))
    customer = f"c{n % 300}@acme{n % 40}.com"
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(WORDS).title()}"
    outbound = rng.random() < 0.3
    sender = "Carol <carol@ourco.com>" if outbound else f"{name} <{customer}>"
    to = ["carol@ourco.com"] if not outbound else [f"{name} <{customer}>"]
    to += [f"p{rng.randrange(900)}@acme{n % 40}.com" for _ in range(rng.choice((0, 0, 1, 3, 8)))]
    head = [
        f"From {rng.getrandbits(63)}@xxx {when:%a %b %d %H:%M:%S} +0000 {when:%Y}\n",
        f"X-GM-THRID: {rng.getrandbits(63)}\n",
        f"X-Gmail-Labels: {','.join(rng.sample(LABELS, rng.randint(1, 4)))}\n",
        "Delivered-To: carol@ourco.com\n",
    ]
    for hop in range(0 if outbound else rng.randint(1, 6)):
        head.append(
            f"Received: from mail-{hop}.acme{n % 40}.com (mail-{hop}.acme{n % 40}.com. "
            f"[10.{hop}.{n % 250}.{rng.randrange(250)}])\n        by mx.google.com with ESMTPS id "
            f"{rng.getrandbits(40):x}\n        for <carol@ourco.com>;\n        "
            f"{when:%a, %d %b %Y %H:%M:%S} -0800 (PST)\n"
        )
    if rng.random() < 0.5:  # a DKIM signature: its tags folded, its b= value over lines
        signature = base64.b64encode(rng.randbytes(rng.choice((128, 256)))).decode()
        tags = ["v=1", "a=rsa-sha256", "c=relaxed/relaxed", f"d=acme{n % 40}.com", "s=20230601",
                "h=to:subject:message-id:date:from:mime-version", f"bh={signature[:44]}", "b="]  # fmt: skip
        value = "".join(f"\n        {signature[i : i + 64]}" for i in range(0, len(signature), 64))
        head.append(_folded("DKIM-Signature", tags, "; ").rstrip("\n") + value + "\n")
    head += ["MIME-Version: 1.0\n", f"Date: {when:%a, %d %b %Y %H:%M:%S} +0100\n"]
    head += [f"From: {sender}\n", _folded("To", to)]
    if rng.random() < 0.2:
        head.append(_folded("Cc", [f"cc{rng.randrange(50)}@ourco.com" for _ in range(3)]))
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 14)))
    if rng.random() < 0.1:
        encoded = base64.b64encode(f"Réunion: {subject}".encode()).decode()
        head.append(f"Subject: =?UTF-8?B?{encoded}?=\n")
    else:
        head.append(_folded("Subject", [f"Question {n}:", *subject.split()], " "))
    head.append(f"Message-ID: <{n}.{rng.getrandbits(32):x}@mail.acme.com>\n")
    if rng.random() < 0.3:
        ids = [f"<{rng.getrandbits(48):x}@mail.acme.com>" for _ in range(rng.randint(1, 12))]
        head += [f"In-Reply-To: {ids[-1]}\n", _folded("References", ids, " ")]
    kind = rng.random()
    if kind < 0.6:
        head.append('Content-Type: text/plain; charset="UTF-8"\n')
        body = _text(rng, pool, 3, 60)
    else:
        boundary = f"000000000000{rng.getrandbits(48):012x}"
        mixed = kind >= 0.9
        subtype = "mixed" if mixed else "alternative"
        head.append(f'Content-Type: multipart/{subtype}; boundary="{boundary}"\n')
        text = _text(rng, pool, 3, 40)
        parts = [
            'Content-Type: text/plain; charset="UTF-8"\n\n' + text,
            'Content-Type: text/html; charset="UTF-8"\n\n<div dir="ltr">'
            + text.replace("\n", "<br>\n")
            + "</div>\n",
        ]
        if mixed:
            parts.append(
                f'Content-Type: application/pdf; name="quote-{n}.pdf"\n'
                f'Content-Disposition: attachment; filename="quote-{n}.pdf"\n'
                "Content-Transfer-Encoding: base64\n\n" + rng.choice(attachments)
            )
        body = "".join(f"--{boundary}\n{part}\n" for part in parts) + f"--{boundary}--\n"
    return "".join(head) + "\n" + body + "\n"


def write_mbox(path: Path, megabytes: int, seed: int) -> int:
    """Write a Takeout-like mbox of about ``megabytes`` MB; the same file for the same seed.
    Returns the number of messages."""
    rng = random.Random(seed)
    pool = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 13))) for _ in range(400)]
    attachments = []
    for _ in range(6):  # attachments of 8-120 KB, base64 in lines of 76
        encoded = base64.b64encode(rng.randbytes(rng.randrange(6_000, 90_000))).decode()
        attachments.append("".join(encoded[i : i + 76] + "\n" for i in range(0, len(encoded), 76)))
    count = written = 0
    with path.open("wb") as handle:
        while written < megabytes * 1024 * 1024:
            data = _message(rng, count, pool, attachments).encode()
            handle.write(data)
            written += len(data)
            count += 1
    return count


def floor(path: Path) -> tuple[int, float]:
    """The standard library's floor: frame the messages and parse each header block.

    A message starts at a ``From `` line that follows a blank line (or opens the file), as
    Google Takeout writes mboxrd; its header block runs to the first empty line and is parsed
    by :class:`email.parser.BytesHeaderParser` with the ``compat32`` policy, and the fields the
    source reads are taken from it; body lines are read only to skip them. ``compat32`` is the
    cheapest faithful parse of a header block (fields split and unfolded as the RFC says, values
    kept as they are); the ``default`` policy builds an object per header on access and parses
    addresses and dates in pure Python, which would measure that parser rather than the floor.
    Returns (messages, seconds)."""
    parser = BytesHeaderParser(policy=compat32)
    fields = ("From", "To", "Cc", "Date", "Subject", "Message-ID", "X-Gmail-Labels")
    messages = 0
    started = time.perf_counter()
    with path.open("rb") as handle:
        header: list[bytes] | None = None
        blank = True
        for line in handle:
            empty = line in (b"\n", b"\r\n")
            if header is not None:
                if empty:
                    message = parser.parsebytes(b"".join(header))
                    for name in fields:
                        message.get(name)
                    messages += 1
                    header = None
                else:
                    header.append(line)
            elif blank and line.startswith(b"From "):
                header = []
            blank = empty
    return messages, time.perf_counter() - started


def takeout_case(megabytes: int, seed: int) -> None:
    """A generated Takeout mbox of about ``megabytes`` MB: messages per second, MB/s and peak
    memory of the source, beside the floor run just before and just after it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "All mail Including Spam and Trash.mbox"
        count = write_mbox(path, megabytes, seed)
        size = path.stat().st_size
        framed, floor_before = floor(path)
        if framed != count:
            raise SystemExit(f"the floor framed {framed} messages of {count}")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        source = mbox_source(Path(tmp), path.name, mailbox_owner="carol@ourco.com")
        # the parser's own speed: in a sync it reads ahead in a child process while the store
        # writes (engage.readahead), which a loop that only counts the items would not show
        os.environ[DISABLE_ENV] = "0"
        started = time.perf_counter()
        touchpoints = sum(isinstance(i, Touchpoint) for i in source.pull(None))
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        _, floor_after = floor(path)
        floor_seconds = (floor_before + floor_after) / 2
        print(
            f"gmail takeout: {size / 1e6:.0f} MB, {count} messages, {touchpoints} touchpoints in "
            f"{elapsed:.1f} s: {count / elapsed:,.0f} messages/s, {size / 1e6 / elapsed:.0f} MB/s; "
            f"peak RSS {peak / 1024:.0f} MB (before the read {before / 1024:.0f} MB)"
        )
        print(
            f"takeout floor (framing + BytesHeaderParser, compat32): {floor_before:.1f} s before, "
            f"{floor_after:.1f} s after: {size / 1e6 / floor_seconds:.0f} MB/s (mean of the two); "
            f"source {size / 1e6 / elapsed:.0f} MB/s = {elapsed / floor_seconds:.2f}x the "
            f"floor's time (seed {seed})"
        )


def main() -> None:
    """Run both cases."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--mbox-mb", type=int, default=1024)
    parser.add_argument("--paced", action="store_true", help="wait for the real per-user quota")
    parser.add_argument("--seed", type=int, default=17, help="the generated mbox's seed")
    args = parser.parse_args()
    if args.messages:
        api_case(args.messages, args.paced)
    if args.mbox_mb:
        takeout_case(args.mbox_mb, args.seed)


if __name__ == "__main__":
    main()
