"""A seeded, realistic synthetic history: N touchpoints over K customers in a CSV file.

Activity per customer follows a power law (a few accounts are very busy, most are quiet),
channels and directions are mixed like a real team's (mostly email, some calls and meetings,
a little feedback), a handful of owners share the accounts, and the history spans three years.
The same seed writes the same file.

    python -m benchmarks.generate --rows 1000000 --customers 50000 out.csv
"""

from __future__ import annotations

import argparse
import bisect
import csv
import random
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

END = datetime(2026, 11, 1, tzinfo=UTC)
SPAN_SECONDS = 3 * 365 * 86_400
HEADER = [
    "id",
    "occurred_at",
    "customer",
    "email",
    "name",
    "channel",
    "direction",
    "owner",
    "subject",
    "feedback",
]
OWNERS = [f"rep{i:02d}@ourco.com" for i in range(12)]
CHANNELS = [("email", 70), ("call", 12), ("meeting", 10), ("note", 5), ("feedback", 3)]
SUBJECTS = [
    "Re: renewal",
    "Quarterly review",
    "Invoice",
    "Onboarding",
    "Support ticket",
    "Proposal",
    "Follow-up",
]
FIRST = ["ana", "ben", "chen", "dana", "elif", "femi", "grace", "hiro", "ines", "jonas"]


def _weights(customers: int, rng: random.Random) -> list[float]:
    """Cumulative power-law activity weights, shuffled so busy accounts are anywhere."""
    weights = [1.0 / (rank**1.1) for rank in range(1, customers + 1)]
    rng.shuffle(weights)
    return list(accumulate(weights))


def write(
    path: Path, rows: int, customers: int, seed: int = 7, start_id: int = 0, end: datetime = END
) -> None:
    """Write ``rows`` touchpoints over ``customers`` customers to ``path`` (appending rows after
    ``start_id`` when the file exists, for the incremental case)."""
    rng = random.Random(seed + start_id)
    cumulative = _weights(customers, random.Random(seed))
    total = cumulative[-1]
    channels = [c for c, _ in CHANNELS]
    channel_weights = list(accumulate(w for _, w in CHANNELS))
    owner_of = [OWNERS[(i * 7) % len(OWNERS)] for i in range(customers)]
    start = end.timestamp() - SPAN_SECONDS
    append = path.exists() and start_id > 0
    with path.open("a" if append else "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        if not append:
            out.writerow(HEADER)
        for number in range(start_id, start_id + rows):
            customer = bisect.bisect_left(cumulative, rng.random() * total)
            customer = min(customer, customers - 1)
            channel = channels[
                bisect.bisect_left(channel_weights, rng.random() * channel_weights[-1])
            ]
            if channel == "note":
                direction = "internal"
            else:
                direction = "inbound" if rng.random() < 0.4 else "outbound"
            when = datetime.fromtimestamp(start + rng.random() * SPAN_SECONDS, UTC)
            if start_id:  # appended rows are new activity: the last few days
                when = end - timedelta(seconds=rng.random() * 5 * 86_400)
            domain = f"customer{customer:06d}.com"
            person = (
                FIRST[customer % len(FIRST)]
                if rng.random() < 0.7
                else FIRST[(customer + 3) % len(FIRST)]
            )
            feedback = (
                str(rng.randint(5, 10)) if channel == "feedback" and direction == "inbound" else ""
            )
            out.writerow(
                [
                    f"t{number:08d}",
                    when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    f"Customer {customer:06d}",
                    f"{person}@{domain}",
                    person.title(),
                    channel,
                    direction,
                    owner_of[customer] if rng.random() < 0.9 else rng.choice(OWNERS),
                    rng.choice(SUBJECTS),
                    feedback,
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    write(args.path, args.rows, args.customers, args.seed)


if __name__ == "__main__":
    main()
