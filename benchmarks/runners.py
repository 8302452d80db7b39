"""Many runners, one PostgreSQL store: fake Gmail mailboxes pulled by 1, 3 and 6 ``engage sync``.

``python -m benchmarks.runners [--runners 1,3,6] [--mailboxes 12] [--messages 4000]``

A team's mailboxes are bound by Gmail's per-user quota, not by engage's CPU: 15,000 units a
user a minute (``messages.list`` 5, ``messages.get`` 5, ``history.list`` 2,
``getProfile`` 1; ``/work/shared/API_NOTES.md`` §2.2). engage keeps each mailbox's calls
within it (:class:`engage_gmail.gmail_api.QuotaLimiter`: at most 15,000 units in any 60
seconds), so a mailbox of more than about 3,000 messages is read in a burst, then waits for
the minute to turn. This case shows that N runners on one store pull N mailboxes at once:

- ``--mailboxes`` fake Gmail accounts (``plugins/gmail/tests/fake_gmail.py``, real HTTP on
  127.0.0.1, served by threads of this process), each holding ``--messages`` messages with
  customers and enforcing the per-user quota as Gmail does: a call past 15,000 units in 60
  seconds is answered 429 ``userRateLimitExceeded`` (counted, and printed);
- one config with a ``gmail`` source per mailbox (credentials from ``$GMAIL_CREDENTIALS_FILE``)
  and a CSV sink, its store a fresh PostgreSQL database (``$ENGAGE_STORE``);
- for each count in ``--runners``: fresh mailboxes (a full quota) and a fresh database, its
  schema created by one ``engage store migrate`` (as a deployment does once; runners started
  together on an empty database race to create it, and all but one fail with PostgreSQL error
  42P07), then that many ``engage sync --json`` processes started together on the same config;
  wall time is from the start to the last exit.

It prints, per runner count: wall time, speed-up over the first count, messages per second,
the quota floor (a minute per mailbox past its first 15,000 units, the mailboxes shared out
evenly), the CPU of all runners and of the fakes against the cores' capacity, and per runner
its exit code, wall time, CPU, peak RSS (``VmHWM``, sampled) and the sources it pulled (those its report does not mark as pulled
elsewhere; a pull that read nothing is counted apart, as "again": a runner that comes to a
source after the cycle's planning began starts the next cycle, and finds nothing new). Then what the store and fakes hold: touchpoints stored (and distinct), token
refreshes per mailbox (one per pull), and 429s answered. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import psycopg

from benchmarks.postgres import ADMIN, database_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins" / "gmail" / "tests"))

from fake_gmail import FakeGmail  # noqa: E402
from fake_oauth import write_credentials  # noqa: E402

#: Gmail's per-user quota (units in any minute), as engage's client keeps to it.
QUOTA = 15_000
SOURCE = """
[sources.mail_{n:02d}]
plugin = "gmail"
base_url = "{url}"
token_uri = "{url}/token"
lookback_days = 60
"""
CONFIG = """\
store = "engage.db"
internal_domains = ["ourco.com"]

[sinks.tasks]
plugin = "csv"
path = "tasks.csv"
"""
FIRST = ["ana", "ben", "chen", "dana", "elif", "femi", "grace", "hiro", "ines", "jonas"]


@attrs.frozen
class Runner:
    """One ``engage sync`` process: how it ended and what its report says it pulled."""

    exit_code: int
    seconds: float
    cpu: float
    peak_rss_mb: float
    pulled: tuple[str, ...]
    again: tuple[str, ...]
    planned: bool
    pushed: int
    last_line: str


@attrs.frozen
class Result:
    """One runner count: the runners, the wall time, and what the store and fakes hold."""

    runners: tuple[Runner, ...]
    seconds: float
    fake_cpu: float
    stored: int
    distinct: int
    refreshes: tuple[int, ...]
    rate_limited: int
    units: int


def mailbox(number: int, messages: int, now: datetime) -> FakeGmail:
    """Rep ``number``'s mailbox: ``messages`` conversations with customers, ten minutes apart,
    a third of them sent by the rep."""
    owner = f"rep{number:02d}@ourco.com"
    fake = FakeGmail(owner)
    fake.quota_per_minute = QUOTA
    for n in range(messages):
        customer = (n * 7 + number * 31) % 400
        person = f"{FIRST[n % len(FIRST)]}@customer{customer:03d}.com"
        sent = n % 3 == 0
        fake.add(
            owner if sent else person,
            person if sent else owner,
            f"Re: renewal {n}",
            date=now - timedelta(minutes=10 * n + 1),
            labels=["SENT"] if sent else ["INBOX"],
            message_id=f"<m{number}-{n}@bench.example>",
        )
    return fake


def write_config(workdir: Path, fakes: list[FakeGmail]) -> None:
    text = CONFIG + "".join(SOURCE.format(n=n, url=f.url) for n, f in enumerate(fakes, 1))
    (workdir / "engage.toml").write_text(text)


def start_runners(count: int, workdir: Path, env: dict[str, str]) -> list[Runner]:
    """Start ``count`` runners together and wait for all; each one's outcome, in order."""
    argv = [sys.executable, "-m", "engage", "--config", "engage.toml", "sync", "--json"]
    started = time.perf_counter()
    ended: dict[int, tuple[float, int, resource.struct_rusage, int]] = {}
    processes = []
    for number in range(count):
        out_path, err_path = workdir / f"runner{number}.out", workdir / f"runner{number}.err"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            processes.append(subprocess.Popen(argv, cwd=workdir, env=env, stdout=out, stderr=err))

    def reap(pid: int) -> None:
        peak = 0
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                break
            peak = max(peak, _high_water_kb(pid))
            time.sleep(0.05)
        code = os.waitstatus_to_exitcode(status)
        ended[pid] = (time.perf_counter() - started, code, usage, peak)

    waiters = [threading.Thread(target=reap, args=(p.pid,)) for p in processes]
    for waiter in waiters:
        waiter.start()
    for waiter in waiters:
        waiter.join()
    outcomes = []
    for number, process in enumerate(processes):
        seconds, code, usage, peak = ended[process.pid]
        process.returncode = code
        outcomes.append(outcome(workdir, number, seconds, code, usage, peak))
    return outcomes


def _high_water_kb(pid: int) -> int:
    """The process's peak RSS so far (``VmHWM``). Not ``ru_maxrss``: that starts from this
    process's size when it forked the runner, and this one holds every fake mailbox."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")), 0)
    return int(found)


def outcome(
    workdir: Path,
    number: int,
    seconds: float,
    code: int,
    usage: resource.struct_rusage,
    peak_kb: int,
) -> Runner:
    out = (workdir / f"runner{number}.out").read_text()
    err = (workdir / f"runner{number}.err").read_text().strip().splitlines()
    try:
        report: dict[str, Any] = json.loads(out) if out.strip() else {}
    except json.JSONDecodeError:
        report = {}
    sources = report.get("sources", {})
    mine = {n: s for n, s in sources.items() if not s.get("elsewhere") and not s["failed"]}
    pulled = tuple(n for n, s in mine.items() if s["read"] or s["records"])
    pushed = sum(int(s.get("pushed", 0)) for s in report.get("sinks", {}).values())
    return Runner(
        code,
        seconds,
        usage.ru_utime + usage.ru_stime,
        peak_kb / 1024,
        pulled,
        tuple(n for n in mine if n not in pulled),
        bool(report) and report.get("planning") is None,
        pushed,
        err[-1] if err else "",
    )


def bench(runners: int, mailboxes: int, messages: int, server: str, root: Path) -> Result:
    """Fresh mailboxes and a fresh database, pulled by ``runners`` processes together."""
    workdir = root / f"runners{runners}"
    workdir.mkdir(parents=True)
    credentials = write_credentials(workdir)
    now = datetime.now(UTC)
    database = f"engage_bench_{secrets.token_hex(4)}"
    with contextlib.ExitStack() as stack, psycopg.connect(server, autocommit=True) as admin:
        fakes = [stack.enter_context(mailbox(n, messages, now)) for n in range(1, mailboxes + 1)]
        write_config(workdir, fakes)
        admin.execute(f"CREATE DATABASE {database}")
        try:
            env = {
                **os.environ,
                "ENGAGE_STORE": database_url(server, database),
                "ENGAGE_LOAD_PLUGINS": "gmail,csv",
                "GMAIL_CREDENTIALS_FILE": str(credentials),
                "PYTHONPATH": os.pathsep.join(sys.path),
            }
            subprocess.run(
                [sys.executable, "-m", "engage", "--config", "engage.toml", "store", "migrate"],
                cwd=workdir,
                env=env,
                check=True,
                capture_output=True,
            )
            before = resource.getrusage(resource.RUSAGE_SELF)
            outcomes = tuple(start_runners(runners, workdir, env))
            after = resource.getrusage(resource.RUSAGE_SELF)
            with psycopg.connect(database_url(server, database)) as conn:
                row = conn.execute(
                    "SELECT count(*), count(DISTINCT (source, external_id)) FROM touchpoints"
                ).fetchone()
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    return Result(
        outcomes,
        max(r.seconds for r in outcomes),
        after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
        int(row[0]) if row else 0,
        int(row[1]) if row else 0,
        tuple(f.oauth.refreshes for f in fakes),
        sum(f.rate_limited for f in fakes),
        sum(sum(f.units.values()) for f in fakes),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners", default="1,3,6", help="comma-separated runner counts")
    parser.add_argument("--mailboxes", type=int, default=12)
    parser.add_argument("--messages", type=int, default=4000, help="messages per mailbox")
    parser.add_argument("--server", default=ADMIN, help="PostgreSQL server URL (its admin DB)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="engage-runners-bench-"))
    cores = os.cpu_count() or 1
    results: list[tuple[int, Result]] = []
    for count in (int(s) for s in args.runners.split(",")):
        print(f"== {count} runner(s), {args.mailboxes} mailboxes x {args.messages:,} messages")
        result = bench(count, args.mailboxes, args.messages, args.server, root)
        for number, one in enumerate(result.runners, 1):
            print(
                f"  runner {number}: exit {one.exit_code}, {one.seconds:6.1f} s, "
                f"CPU {one.cpu:5.1f} s, peak {one.peak_rss_mb:4.0f} MB, {len(one.pulled)} sources "
                f"pulled ({', '.join(one.pulled) or '-'})"
                + (f" and {len(one.again)} again with nothing new, " if one.again else ", ")
                + (f"planned, {one.pushed} tasks pushed" if one.planned else "planning left")
                + (f"\n    {one.last_line}" if one.exit_code else ""),
                flush=True,
            )
        print(
            f"  store: {result.stored:,} touchpoints ({result.distinct:,} distinct); token "
            f"refreshes per mailbox {sorted(set(result.refreshes))}; {result.units:,} quota units "
            f"spent; {result.rate_limited} calls answered 429 userRateLimitExceeded",
            flush=True,
        )
        results.append((count, result))

    total = args.mailboxes * args.messages
    print()
    print(
        "| runners | wall s | speed-up | messages/s | quota floor s | wall/floor "
        "| CPU s (runners + fakes) | CPU/capacity | sources per runner | exit codes |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    first = results[0][1].seconds if results else 1.0
    for count, r in results:
        per_mailbox = r.units / args.mailboxes
        floor = math.ceil(args.mailboxes / count) * int(per_mailbox // QUOTA) * 60
        cpu = sum(x.cpu for x in r.runners)
        print(
            f"| {count} | {r.seconds:.1f} | {first / r.seconds:.2f}x | {total / r.seconds:,.0f} "
            f"| {floor or '–'} | {f'{r.seconds / floor:.2f}' if floor else '–'} "
            f"| {cpu:.1f} + {r.fake_cpu:.1f} | {(cpu + r.fake_cpu) / (cores * r.seconds):.0%} "
            f"| {' / '.join(f'{len(x.pulled)}' + (f'+{len(x.again)}' if x.again else '') for x in r.runners)} "
            f"| {' '.join(str(x.exit_code) for x in r.runners)} |"
        )
    print()
    print(f"CPU/capacity: all runners' and the fakes' CPU over {cores} cores x wall time.")
    print(f"work directories: {root}")


if __name__ == "__main__":
    main()
