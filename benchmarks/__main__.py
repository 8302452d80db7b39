"""Run every benchmark case and print a table: ``python -m benchmarks [--sizes 10000,100000,1000000]``.

Cases (each prints the exact command it timed):

1. full cycle: ``engage sync`` from the CSV source into a fresh store, scoring and planning every
   customer, pushing to the CSV sink — wall time, touchpoints per second, peak RSS;
2. the floor: the standard library alone reading the same CSV, inserting the rows into SQLite in
   one transaction and one GROUP BY per customer, run just before and just after the full cycle;
   engage's time as a ratio to the mean of the two (a shared machine's load drifts), in wall
   time and in CPU time (user + system, which another process's load changes less). With
   ``--repeat N`` cases 1 and 2 run N times on fresh stores and the ratio's min/median/max is
   printed;
   the store floor (``benchmarks/store_floor.py``): the same rows stored in engage's own
   touchpoint table and customer index by the standard library, once per size, and the first
   load as a ratio to it — how much of the ratio to the floor is what engage stores;
3. unchanged re-sync: the same sync again with no new data, as a ratio to case 1;
4. incremental: 1% new touchpoints appended, as a ratio to case 1;
5. scaling: cases 1 and 3 at every size (time and memory per touchpoint);
6. scoring alone over the stored history: customers per second;
7. ``engage report``: the first one (which back-fills 12 month ends of history) and the next,
   wall time, peak RSS and the HTML file's size (``--no-report`` skips them).

``--sizes 100000,1000000,5000000 --no-report --no-adapters`` is the memory check: peak RSS
should stay flat from 100k to 5M touchpoints (the 5M size takes several minutes and about
2.5 GB of disk, so it runs only when asked for).

Then the adapters' cases, whatever ``--sizes`` says (``--no-adapters`` skips them): HubSpot
requests per record and per task on a fake account, and the first sync paced at HubSpot's
allowed rate against a fake enforcing it (``benchmarks/hubspot.py``, ``--paced``), Gmail
messages per round trip and Takeout throughput beside a standard-library floor
(``plugins/gmail/benchmarks/gmail_source.py``), and the CSV lookup join of a million
activities to 100,000 contacts (``plugins/csv/benchmarks/lookup_join.py``). They take a few
minutes together.

Each size's work directory (history, config, store, task file, report) is kept under a new
``$TMPDIR/engage-bench-*`` (printed at the end), or under ``--keep DIR``; the adapters' cases
use temporary directories they remove.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import generate
from benchmarks.measure import Run, run

AS_OF = "2026-11-01T00:00:00+00:00"
CONFIG = """\
store = "engage.db"
internal_domains = ["ourco.com"]

[sources.history]
plugin = "csv"
path = "history.csv"

[sinks.tasks]
plugin = "csv"
path = "tasks.csv"
"""


def engage(*args: str) -> list[str]:
    return [sys.executable, "-m", "engage", "--config", "engage.toml", *args]


#: What a sync leaves in a work directory: removed before each first load.
STATE = ("engage.db", "engage.db-wal", "engage.db-shm", "tasks.csv", ".tasks.csv.engage-keys")


def bench_size(
    rows: int,
    customers: int,
    workdir: Path,
    env: dict[str, str],
    *,
    repeat: int = 1,
    reports: bool = True,
) -> dict[str, object]:
    """All cases at one size; returns the figures."""
    workdir.mkdir(parents=True, exist_ok=True)
    csv_path = workdir / "history.csv"
    generate.write(csv_path, rows, customers)
    (workdir / "engage.toml").write_text(CONFIG)
    cwd = str(workdir)
    sync = engage("sync", "--as-of", AS_OF)
    floor_argv = [sys.executable, "-m", "benchmarks.floor", "history.csv", "floor.db"]

    loads: list[tuple[Run, Run, Run]] = []  # (floor before, first load, floor after)
    for _ in range(max(1, repeat)):
        for name in STATE:
            (workdir / name).unlink(missing_ok=True)
        before = run(floor_argv, cwd=cwd, env=env)
        full = run(sync, cwd=cwd, env=env)
        loads.append((before, full, run(floor_argv, cwd=cwd, env=env)))
    ratios = sorted(full.seconds / ((a.seconds + b.seconds) / 2) for a, full, b in loads)
    cpu_ratios = sorted(
        full.cpu_seconds / ((a.cpu_seconds + b.cpu_seconds) / 2) for a, full, b in loads
    )
    floor, full, floor_after = loads[-1]
    floor_seconds = (floor.seconds + floor_after.seconds) / 2
    store_floor_argv = [
        sys.executable,
        "-m",
        "benchmarks.store_floor",
        "history.csv",
        "store-floor.db",
    ]
    store_floor = run(store_floor_argv, cwd=cwd, env=env)
    again = run(sync, cwd=cwd, env=env)
    added = max(1, rows // 100)
    generate.write(csv_path, added, customers, start_id=rows)
    incremental = run(sync, cwd=cwd, env=env)
    scoring = run([sys.executable, "-m", "benchmarks.score", "engage.toml"], cwd=cwd, env=env)
    figures: dict[str, object] = {
        "rows": rows,
        "customers": customers,
        "floor": floor,
        "floor_after": floor_after,
        "floor_seconds": floor_seconds,
        "store_floor": store_floor,
        "ratios": ratios,
        "cpu_ratios": cpu_ratios,
        "full": full,
        "again": again,
        "incremental": incremental,
        "scoring": scoring,
    }
    match = re.search(r"([\d,]+) customers/s", scoring.output)
    figures["customers_per_s"] = match.group(1) if match else "?"
    if reports:
        report = engage("report", "-o", "report.html", "--as-of", AS_OF)
        figures["first_report"] = run(report, cwd=cwd, env=env)  # back-fills 12 month ends
        figures["report"] = run(report, cwd=cwd, env=env)
        figures["report_mb"] = (workdir / "report.html").stat().st_size / 1e6
    return figures


def compile_bytecode(packages: tuple[str, ...] = ("engage", "engage_csv")) -> None:
    """Compile the measured packages' bytecode, as ``pip install`` does for a user.

    An editable install, or a shell with ``PYTHONDONTWRITEBYTECODE`` set, would otherwise
    compile every module from source at each start (about 0.1 s here), which a re-sync's
    figure would carry and no installed engage pays.
    """
    for name in packages:
        spec = importlib.util.find_spec(name)
        for location in (spec.submodule_search_locations or []) if spec else []:
            compileall.compile_dir(location, quiet=1)


def describe(name: str, r: Run) -> str:
    return (
        f"  {name:<12} {r.seconds:8.2f} s  CPU {r.cpu_seconds:8.2f} s  "
        f"peak {r.peak_rss_mb:7.1f} MB  $ {r.command}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="engage benchmarks")
    parser.add_argument(
        "--sizes", default="10000,100000,1000000", help="comma-separated touchpoint counts"
    )
    parser.add_argument(
        "--per-customer",
        type=int,
        default=20,
        help="touchpoints per customer on average (K = N / this)",
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep the work directories here")
    parser.add_argument(
        "--no-adapters",
        dest="adapters",
        action="store_false",
        help="skip the HubSpot and Gmail cases",
    )
    parser.add_argument(
        "--no-report",
        dest="reports",
        action="store_false",
        help="skip the engage report cases",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the first load (and the floor around it) this many times per size",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    env = {**os.environ, "ENGAGE_LOAD_PLUGINS": "csv", "PYTHONPATH": os.pathsep.join(sys.path)}
    compile_bytecode()
    root = args.keep or Path(tempfile.mkdtemp(prefix="engage-bench-"))
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        customers = max(1, size // args.per_customer)
        print(f"== N = {size:,} touchpoints, K = {customers:,} customers", flush=True)
        figures = bench_size(
            size,
            customers,
            root / f"n{size}",
            env,
            repeat=args.repeat,
            reports=args.reports,
        )
        for key in (
            "floor",
            "full",
            "floor_after",
            "store_floor",
            "again",
            "incremental",
            "scoring",
            "first_report",
            "report",
        ):
            if key in figures:
                print(describe(key, figures[key]), flush=True)  # type: ignore[arg-type]
        for label, key in (("full/floor", "ratios"), ("CPU full/floor", "cpu_ratios")):
            ratios = figures[key]
            assert isinstance(ratios, list)
            if len(ratios) > 1:
                print(
                    f"  {label} over {len(ratios)} first loads: min {ratios[0]:.2f}, "
                    f"median {statistics.median(ratios):.2f}, max {ratios[-1]:.2f}",
                    flush=True,
                )
        results.append(figures)

    print()
    print(
        "| N | full s | tp/s | peak MB | floor s | full/floor | CPU full/floor | store floor s"
        " | full/store floor | re-sync/full | +1%/full | µs/tp full | KB/tp peak"
        " | scoring customers/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for f in results:
        rows = int(f["rows"])  # type: ignore[call-overload]
        full, again, inc = f["full"], f["again"], f["incremental"]
        floor_seconds = float(f["floor_seconds"])  # type: ignore[arg-type]
        floor, floor_after = f["floor"], f["floor_after"]
        assert isinstance(full, Run) and isinstance(again, Run) and isinstance(inc, Run)
        store_floor = f["store_floor"]
        assert isinstance(floor, Run) and isinstance(floor_after, Run)
        assert isinstance(store_floor, Run)
        floor_cpu = (floor.cpu_seconds + floor_after.cpu_seconds) / 2
        print(
            f"| {rows:,} | {full.seconds:.2f} | {rows / full.seconds:,.0f} | {full.peak_rss_mb:.0f} | "
            f"{floor_seconds:.2f} | {full.seconds / floor_seconds:.2f} | "
            f"{full.cpu_seconds / floor_cpu:.2f} | {store_floor.seconds:.2f} | "
            f"{full.seconds / store_floor.seconds:.2f} | {again.seconds / full.seconds:.1%} | "
            f"{inc.seconds / full.seconds:.1%} | {full.seconds / rows * 1e6:.1f} | "
            f"{full.peak_rss_mb * 1024 / rows:.3f} | {f['customers_per_s']} |"
        )
    if args.reports:
        print()
        print(
            "| N | customers | first report s (back-fill) | report s | report peak MB | report MB |"
        )
        print("|---|---|---|---|---|---|")
        for f in results:
            first, again = f["first_report"], f["report"]
            assert isinstance(first, Run) and isinstance(again, Run)
            print(
                f"| {int(f['rows']):,} | {int(f['customers']):,} | {first.seconds:.1f} | "  # type: ignore[call-overload]
                f"{again.seconds:.1f} | {again.peak_rss_mb:.0f} | {f['report_mb']:.1f} |"
            )
    print(f"\nwork directories: {root}")
    if args.adapters:
        adapter_cases(env)
    print(f"\nall cases in {(time.perf_counter() - started) / 60:.1f} min")


def adapter_cases(env: dict[str, str]) -> None:
    """The adapters' own benchmarks (HubSpot, Gmail, the CSV lookup join), each printing its
    figures and command."""
    repo = Path(__file__).resolve().parent.parent
    cases = [
        [sys.executable, "-m", "benchmarks.hubspot"],
        # the first sync at HubSpot's allowed rate: ~230 requests, 3 windows of 10 s
        [
            sys.executable,
            "-m",
            "benchmarks.hubspot",
            "--paced",
            "--contacts",
            "2000",
            "--engagements",
            "20000",
        ],
        # 10,000 messages measure the same round trips per message as more, in half the time;
        # 256 MB of mbox the same MB/s as 1 GB (it streams), beside the floor run twice
        [
            sys.executable,
            str(repo / "plugins" / "gmail" / "benchmarks" / "gmail_source.py"),
            "--messages",
            "10000",
            "--mbox-mb",
            "256",
        ],
        # a million activity rows joined to 100,000 contacts through a CSV lookup
        [sys.executable, str(repo / "plugins" / "csv" / "benchmarks" / "lookup_join.py")],
    ]
    for argv in cases:
        print(f"\n== $ {' '.join(argv)}", flush=True)
        try:
            result = run(argv, cwd=str(repo), env=env)
        except RuntimeError as exc:  # a missed target exits non-zero; show it and go on
            print(exc)
            continue
        print(result.output.rstrip())
        print(f"   ({result.seconds:.1f} s, peak {result.peak_rss_mb:.0f} MB)", flush=True)


if __name__ == "__main__":
    main()
