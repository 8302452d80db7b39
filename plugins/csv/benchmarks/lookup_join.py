"""Benchmark: activity rows joined to contacts through a lookup, time and peak memory.

Run on demand (never part of the tests)::

    .venv/bin/python plugins/csv/benchmarks/lookup_join.py [--activities 1000000] [--contacts 100000]

It writes ``Task.csv`` (activities whose ``WhoId`` names a contact) and ``Contact.csv``
into a temporary directory, pulls them through the CSV source with a ``WhoId`` lookup, and
prints rows per second and the process's peak RSS. The lookup file is indexed on disk, so
peak memory should not grow with the number of contacts.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from engage.adapters import AdapterContext, resolve_options
from engage.identity import Identity
from engage.models import Touchpoint
from engage_csv import CsvSource


def write(root: Path, activities: int, contacts: int) -> None:
    """Write the two files: contacts c0..cN, activities naming them in a scattered order."""
    with (root / "Contact.csv").open("w", encoding="utf-8") as out:
        out.write("Id,Email,Name\n")
        for i in range(contacts):
            out.write(f"c{i},person{i}@company{i % (contacts // 20 + 1)}.com,Person {i}\n")
    with (root / "Task.csv").open("w", encoding="utf-8") as out:
        out.write("Id,When,WhoId,Subject\n")
        for i in range(activities):
            out.write(
                f"t{i},2025-{1 + i % 12:02d}-{1 + i % 28:02d} 10:00,c{i * 7919 % contacts},Call {i}\n"
            )


def main() -> None:
    """Write the files, pull them once, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="engage-bench-lookup-") as directory:
        root = Path(directory)
        write(root, args.activities, args.contacts)
        options = resolve_options(
            CsvSource.options,
            {
                "path": "Task.csv",
                "columns": {"occurred_at": "When"},
                "lookups": {
                    "WhoId": {
                        "path": "Contact.csv",
                        "key": "Id",
                        "fields": {"email": "Email", "name": "Name"},
                    }
                },
            },
            "benchmark",
        )
        source = CsvSource(options, AdapterContext("bench", base_dir=root, identity=Identity()))
        started = time.perf_counter()
        touchpoints = sum(isinstance(item, Touchpoint) for item in source.pull(None))
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.activities:,} activities joined to {args.contacts:,} contacts: "
        f"{touchpoints:,} touchpoints in {seconds:.1f} s "
        f"({args.activities / seconds:,.0f} rows/s), peak RSS {peak:.0f} MB"
    )
    if touchpoints != args.activities:
        sys.exit(f"expected {args.activities:,} touchpoints")


if __name__ == "__main__":
    main()
