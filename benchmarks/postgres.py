"""SQLite beside PostgreSQL: the same CSV history synced into each store.

``python -m benchmarks.postgres [--sizes 100000,1000000] [--server URL]``

For each size, one history (:mod:`benchmarks.generate`) is synced with ``engage sync`` (a child
process, as ``python -m benchmarks`` runs it, CSV source and CSV sink) into (a) a fresh SQLite
file and (b) a fresh PostgreSQL database (``engage_bench_<random>`` on ``--server``, dropped at
the end; ``$ENGAGE_STORE`` points the same config at it). Each store gets three runs:

1. the first load: wall time, touchpoints per second, peak RSS and CPU of the engage process
   (the peak from GNU time's ``%M`` on Linux: the child's ``ru_maxrss`` that
   :func:`benchmarks.measure.run` reports starts from this process's size when it spawned it);
2. the unchanged re-sync, as a ratio of the first load;
3. +1% new touchpoints appended to the file, as a ratio of the first load.

The PostgreSQL server does its share of the work in processes of its own, so none of it is in
engage's RSS or CPU. The server's CPU is read separately: the backends serving the benchmark
database (autovacuum workers included) are listed from ``pg_stat_activity`` every 50 ms and
their user+system time read from ``/proc/PID/stat`` (the server must run on this host); the
last sample of each backend counts, so up to 50 ms of a backend's CPU before it exits is
missed. Server-wide work (WAL writer, checkpointer) is not counted. The same samples say which
statements the backends were running (the three seen most, by share of the samples), as
pg_stat_statements would if the server loaded it. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import attrs
import psycopg

from benchmarks import generate
from benchmarks.__main__ import AS_OF, CONFIG, engage
from benchmarks.measure import Run, run

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TICKS = os.sysconf("SC_CLK_TCK")
#: GNU time, to read the peak RSS of engage alone (Linux).
GNU_TIME = "/usr/bin/time" if sys.platform == "linux" and Path("/usr/bin/time").exists() else None


@attrs.frozen
class Timed:
    """One ``engage sync``: the measured run, engage's own CPU and the server's backends' CPU."""

    run: Run
    cpu: float
    server_cpu: float | None = None
    #: The statements the backends were seen running most, with their share of the samples.
    statements: tuple[tuple[str, float], ...] = ()


@attrs.frozen
class Case:
    """The three runs of one store at one size, and the store's size on disk after them."""

    store: str
    full: Timed
    again: Timed
    incremental: Timed
    store_mb: float


class BackendCpu:
    """CPU seconds of the server processes serving ``database``, sampled while in a ``with``."""

    def __init__(self, admin_url: str, database: str, interval: float = 0.05) -> None:
        self.admin_url = admin_url
        self.database = database
        self.interval = interval
        self.ticks: dict[int, int] = {}
        self.unreadable = 0
        self.active: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> BackendCpu:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def seconds(self) -> float | None:
        """The backends' user+system CPU; None when their /proc entries could not be read."""
        if self.unreadable and not self.ticks:
            return None
        return sum(self.ticks.values()) / TICKS

    def top(self, count: int = 3) -> tuple[tuple[str, float], ...]:
        """The statements most often seen running, each with its share of those samples."""
        total = sum(self.active.values()) or 1
        return tuple((query, n / total) for query, n in self.active.most_common(count))

    def _poll(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while not self._stop.is_set():
                backends = conn.execute(
                    "SELECT pid, state, query FROM pg_stat_activity WHERE datname = %s",
                    (self.database,),
                ).fetchall()
                for pid, state, query in backends:
                    if state == "active":
                        self.active[" ".join(str(query).split())[:90]] += 1
                    used = _cpu_ticks(pid)
                    if used is None:
                        self.unreadable += 1
                    else:
                        self.ticks[pid] = max(used, self.ticks.get(pid, 0))
                self._stop.wait(self.interval)


def _cpu_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone already, or the server is on another host
        return None
    fields = stat.rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def timed(argv: list[str], cwd: Path, env: dict[str, str], monitor: BackendCpu | None) -> Timed:
    """Run ``argv``; engage's CPU is the rusage of the child ``run`` waits for.

    Its peak RSS comes from GNU time where there is one: ``run``'s own figure (the child's
    ``ru_maxrss``) starts from the size of this process when it spawned the child.
    """
    wrapped = [GNU_TIME, "-f", "engage peak RSS %M kB", *argv] if GNU_TIME else argv
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    if monitor is None:
        result = run(wrapped, cwd=str(cwd), env=env)
    else:
        with monitor:
            result = run(wrapped, cwd=str(cwd), env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = re.findall(r"engage peak RSS (\d+) kB", result.output)
    if peak:
        result = attrs.evolve(result, command=" ".join(argv), peak_rss_mb=int(peak[-1]) / 1024)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if monitor is None:
        return Timed(result, cpu)
    return Timed(result, cpu, monitor.seconds, monitor.top())


def database_url(server: str, database: str) -> str:
    """``server`` (a URL of the PostgreSQL server) naming ``database`` instead."""
    return urlunsplit(urlsplit(server)._replace(path=f"/{database}"))


def sync_three_times(
    store: str,
    workdir: Path,
    rows: int,
    customers: int,
    env: dict[str, str],
    cpu: Callable[[], BackendCpu | None],
) -> tuple[Timed, Timed, Timed]:
    """The first load, the unchanged re-sync and the +1% sync of ``workdir``'s history."""
    sync = engage("sync", "--as-of", AS_OF)
    full = timed(sync, workdir, env, cpu())
    print(describe(store, "first load", full), flush=True)
    again = timed(sync, workdir, env, cpu())
    print(describe(store, "re-sync", again), flush=True)
    generate.write(workdir / "history.csv", max(1, rows // 100), customers, start_id=rows)
    incremental = timed(sync, workdir, env, cpu())
    print(describe(store, "+1%", incremental), flush=True)
    return full, again, incremental


def bench_size(
    rows: int, customers: int, root: Path, server: str, env: dict[str, str]
) -> list[Case]:
    """Both stores at one size."""
    lite, pg = root / "sqlite", root / "postgresql"
    for workdir in (lite, pg):
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "engage.toml").write_text(CONFIG)
    generate.write(lite / "history.csv", rows, customers)
    shutil.copyfile(lite / "history.csv", pg / "history.csv")

    runs = sync_three_times("sqlite", lite, rows, customers, env, lambda: None)
    lite_mb = sum(p.stat().st_size for p in lite.glob("engage.db*")) / 1e6
    cases = [Case("sqlite", *runs, lite_mb)]

    database = f"engage_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database}")
        try:
            empty = _database_bytes(admin, database)
            pg_env = {**env, "ENGAGE_STORE": database_url(server, database)}
            runs = sync_three_times(
                "postgresql", pg, rows, customers, pg_env, lambda: BackendCpu(server, database)
            )
            grown = _database_bytes(admin, database) - empty
            cases.append(Case("postgresql", *runs, grown / 1e6))
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    return cases


def _database_bytes(admin: psycopg.Connection[tuple[int]], database: str) -> int:
    row = admin.execute("SELECT pg_database_size(%s)", (database,)).fetchone()
    return int(row[0]) if row else 0


def describe(store: str, name: str, result: Timed) -> str:
    server = "" if result.server_cpu is None else f"  server CPU {result.server_cpu:6.2f} s"
    line = (
        f"  {store:<10} {name:<10} {result.run.seconds:8.2f} s  CPU {result.cpu:6.2f} s{server}  "
        f"peak {result.run.peak_rss_mb:6.0f} MB  $ {result.run.command}"
    )
    seen = "".join(f"\n      {share:4.0%} {query}" for query, share in result.statements)
    return line + (f"\n    the server was seen running:{seen}" if seen else "")


def server_notes(server: str) -> list[str]:
    """What of the server's settings the figures depend on."""
    with psycopg.connect(server, autocommit=True) as conn:
        settings: dict[str, str] = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('autovacuum', 'shared_preload_libraries', 'shared_buffers', 'server_version')"
            ).fetchall()
        )
    preload = settings.get("shared_preload_libraries", "")
    return [
        f"PostgreSQL {settings.get('server_version')}, shared_buffers "
        f"{int(settings.get('shared_buffers', 0)) * 8 // 1024} MB, autovacuum "
        f"{settings.get('autovacuum')} (when off, no table is analyzed unless engage does it)",
        "pg_stat_statements is loaded, but not read here: the statements above are sampled"
        if "pg_stat_statements" in preload
        else "pg_stat_statements is not loaded (shared_preload_libraries = "
        f"{preload!r}): the statements above are sampled from pg_stat_activity instead",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated touchpoints")
    parser.add_argument("--per-customer", type=int, default=20, help="touchpoints per customer")
    parser.add_argument("--server", default=ADMIN, help="PostgreSQL server URL (its admin DB)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work directories here")
    args = parser.parse_args()
    env = {**os.environ, "ENGAGE_LOAD_PLUGINS": "csv", "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("ENGAGE_STORE", None)
    root = args.keep or Path(tempfile.mkdtemp(prefix="engage-postgres-bench-"))
    started = time.perf_counter()
    table: list[tuple[int, Case]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        customers = max(1, size // args.per_customer)
        print(f"== N = {size:,} touchpoints, K = {customers:,} customers", flush=True)
        for case in bench_size(size, customers, root / f"n{size}", args.server, env):
            table.append((size, case))

    print()
    print(
        "| N | store | first load s | tp/s | peak MB | engage CPU s | server CPU s "
        "| re-sync s | re-sync/first | +1% s | +1%/first | store MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size, c in table:
        first, again, inc = c.full, c.again, c.incremental
        server = (
            "–"
            if first.server_cpu is None
            else f"{first.server_cpu:.1f} / {again.server_cpu:.1f} / {inc.server_cpu:.1f}"
        )
        print(
            f"| {size:,} | {c.store} | {first.run.seconds:.2f} | {size / first.run.seconds:,.0f} "
            f"| {first.run.peak_rss_mb:.0f} | {first.cpu:.1f} / {again.cpu:.1f} / {inc.cpu:.1f} "
            f"| {server} | {again.run.seconds:.2f} | {again.run.seconds / first.run.seconds:.1%} "
            f"| {inc.run.seconds:.2f} | {inc.run.seconds / first.run.seconds:.1%} "
            f"| {c.store_mb:.0f} |"
        )
    print()
    print("CPU columns: first load / re-sync / +1%. Engage's CPU and peak RSS are the engage")
    print("process's own; the server CPU is the PostgreSQL backends serving the benchmark")
    print("database (separate processes, sampled from /proc every 50 ms), on the same cores.")
    print("Store MB: the SQLite file (with its WAL); the PostgreSQL database's growth over an")
    print("empty one (tables, indexes, TOAST).")
    for line in server_notes(args.server):
        print(line)
    print(f"work directories: {root}")
    print(f"all cases in {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
