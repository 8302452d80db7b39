"""Benchmarks for the gmail source: API round trips and Takeout throughput.

Run from the repository root::

    .venv/bin/python plugins/gmail/benchmarks/gmail_source.py            # 20,000 messages, 1024 MB mbox
    .venv/bin/python plugins/gmail/benchmarks/gmail_source.py --messages 5000 --mbox-mb 200

It prints messages per HTTP round trip for a first sync of a fake mailbox (target: at least 45)
and, for a generated Takeout mbox, messages per second and peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from fake_gmail import FakeGmail  # noqa: E402
from gmail_kit import NOW, api_source, mbox_source  # noqa: E402

from engage.models import Touchpoint  # noqa: E402
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


def takeout_case(megabytes: int) -> None:
    """A generated Takeout mbox of about ``megabytes`` MB: messages per second and peak memory."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "All mail Including Spam and Trash.mbox"
        body = (
            "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n"
        ) * 60
        count = 0
        with path.open("w") as handle:
            while handle.tell() < megabytes * 1024 * 1024:
                handle.write(
                    "From 1623347578936238217@xxx Thu Jan 14 19:30:22 +0000 2021\n"
                    "X-GM-THRID: 1688\nX-Gmail-Labels: Inbox,Opened\n"
                    f"Date: Thu, 14 Jan 2021 20:30:22 +0100\nFrom: Jane <c{count % 300}@acme{count % 40}.com>\n"
                    f"To: carol@ourco.com\nSubject: Question {count}\nMessage-ID: <{count}@acme.com>\n\n"
                    f"{body}\n"
                )
                count += 1
        size = path.stat().st_size
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        source = mbox_source(Path(tmp), path.name, mailbox_owner="carol@ourco.com")
        started = time.perf_counter()
        touchpoints = sum(isinstance(i, Touchpoint) for i in source.pull(None))
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"gmail takeout: {size / 1e6:.0f} MB, {count} messages, {touchpoints} touchpoints in "
            f"{elapsed:.1f} s: {count / elapsed:,.0f} messages/s, {size / 1e6 / elapsed:.0f} MB/s; "
            f"peak RSS {peak / 1024:.0f} MB (before the read {before / 1024:.0f} MB)"
        )


def main() -> None:
    """Run both cases."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--mbox-mb", type=int, default=1024)
    parser.add_argument("--paced", action="store_true", help="wait for the real per-user quota")
    args = parser.parse_args()
    if args.messages:
        api_case(args.messages, args.paced)
    if args.mbox_mb:
        takeout_case(args.mbox_mb)


if __name__ == "__main__":
    main()
