"""The store's faults, each one line naming the file and the fix, exit 78, nothing lost.

A full disk, a read-only directory or file, a corrupt file (found at open after an unclean
shutdown). Every run is the real command line in a child process, as cron would run it.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from engage.cursors import unseal
from engage.store.sqlite import SQLiteStore
from tests.test_cli import LINES

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-03-01T09:00:00+00:00"

#: The command line in a child process with the test plugins; argv[1] caps the size of
#: every file it writes (RLIMIT_FSIZE, 0 for none), the rest are engage's arguments.
CHILD = textwrap.dedent(
    """
    import sys
    limit = int(sys.argv[1])
    if limit:
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    sys.path.insert(0, sys.argv[2])
    from tests.support import fakeplugins
    from engage.cli import App, cli
    from engage.plugins import make_plugin_manager
    pm = make_plugin_manager(entry_points=False)
    pm.register(fakeplugins, name="testkit")
    cli.main(sys.argv[3:], obj=App(None, pm=pm), prog_name="engage")
    """
)

#: Opens the store and dies without closing it: an unclean shutdown.
CRASH = "import os, sys; from engage.store.sqlite import SQLiteStore; SQLiteStore(sys.argv[1]).customer_count(); os._exit(9)"


def engage(project: Path, *args: str, fsize: int = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ENGAGE_CONFIG", "ENGAGE_AS_OF")}
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(fsize), str(ROOT), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The stderr lines that report an error (log lines aside)."""
    return [line for line in result.stderr.splitlines() if "error" in line.lower()]


def project_with_store(root: Path, store: Path) -> Path:
    project = root / "project"
    project.mkdir()
    (project / "engage.toml").write_text(
        f'store = "{store}"\ninternal_domains = ["ourco.com"]\n\n'
        '[sources.feed]\nplugin = "jsonl"\npath = "touchpoints.jsonl"\n\n'
        '[sinks.remote]\nplugin = "jsonfile"\npath = "remote.json"\n'
    )
    (project / "touchpoints.jsonl").write_text("".join(json.dumps(x) + "\n" for x in LINES))
    return project


def more_touchpoints(project: Path, count: int) -> None:
    """Append ``count`` touchpoints with long subjects (about 400 bytes each)."""
    with (project / "touchpoints.jsonl").open("a") as handle:
        for n in range(count):
            handle.write(
                json.dumps(
                    {
                        "external_id": f"bulk-{n}",
                        "customer": f"c{n % 40}.example.com",
                        "occurred_at": f"2026-01-{n % 28 + 1:02d}T10:00:00+00:00",
                        "channel": "email",
                        "direction": "inbound",
                        "contact_email": f"p{n % 90}@c{n % 40}.example.com",
                        "subject": f"message {n} " + "x" * 300,
                    }
                )
                + "\n"
            )


def is_root() -> bool:
    return getattr(os, "geteuid", lambda: -1)() == 0


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[bool]:
    """A tmpfs of ``size`` mounted at ``where`` (root only); yields False when it cannot be."""
    where.mkdir(parents=True, exist_ok=True)
    if not is_root() or shutil.which("mount") is None:
        yield False
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` with a ballast file, leaving about ``leave`` bytes free."""
    ballast = disk / "ballast"
    free = shutil.disk_usage(disk).free
    with ballast.open("wb") as handle:
        handle.write(b"\0" * max(0, free - leave))
    return ballast


def stored(store: Path) -> tuple[int, str | None]:
    """(touchpoints, the feed's cursor) as the store holds them."""
    opened = SQLiteStore(store)
    try:
        return opened.touchpoint_count(), unseal(opened.get_cursor("feed"))
    finally:
        opened.close()


class TestFullDisk:
    """The disk of the store fills up during a sync."""

    def test_one_line_disk_is_full_exit_78_and_nothing_lost(self, tmp_path: Path) -> None:
        """'disk is full' naming the store, exit 78; the store is as before the run, and once
        there is room again the next run stores everything."""
        disk = tmp_path / "disk"
        store = disk / "engage.db"
        project = project_with_store(tmp_path, store)
        # a small tmpfs (the schema and its WAL alone take about 256k), filled up to 64k
        with tmpfs(disk, "8m") as mounted:
            limit = 0
            if not mounted and sys.platform == "win32":
                pytest.skip("no tmpfs (needs root) and no RLIMIT_FSIZE on this platform")
            first = engage(project, "sync", "--as-of", AS_OF)
            assert first.returncode == 0, first.stderr
            assert stored(store) == (len(LINES), str(len(LINES)))
            more_touchpoints(project, 3000)  # about 1.2 MB of records
            ballast = fill(disk, 64 * 1024) if mounted else None
            if not mounted:  # no file may grow past 64k more than the store is now
                limit = store.stat().st_size + 64 * 1024
            full = engage(project, "sync", "--as-of", AS_OF, fsize=limit)
            if ballast is not None:
                ballast.unlink()
            assert full.returncode == 78, full.stderr
            assert "Traceback" not in full.stderr
            assert "cannot rollback" not in full.stderr
            [line] = error_lines(full)
            if mounted:
                assert line.startswith(f"engage: error: {store}: the disk is full")
            else:
                assert line.startswith(f"engage: error: {store}: no room to write")
                assert "file size limit" in line
            assert "nothing was lost" in line
            assert stored(store) == (len(LINES), str(len(LINES)))  # as before, not half
            again = engage(project, "sync", "--as-of", AS_OF)
            assert again.returncode == 0, again.stderr
            assert stored(store) == (len(LINES) + 3000, str(len(LINES) + 3000))


class TestReadOnly:
    """A store that cannot be written is fine: the message says read-only and what to do."""

    def test_a_read_only_directory(self, tmp_path: Path) -> None:
        """The store's directory (or its file system) is read-only: no 'move this one away'."""
        disk = tmp_path / "disk"
        store = disk / "engage.db"
        project = project_with_store(tmp_path, store)
        with tmpfs(disk, "4m") as mounted:
            assert engage(project, "sync", "--as-of", AS_OF).returncode == 0
            if mounted:
                subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
                expected = "the store is on a read-only file system"
            elif is_root():
                pytest.skip("root ignores directory permissions and tmpfs cannot be mounted")
            else:
                disk.chmod(0o555)
                expected = f"the store's directory {disk} is read-only"
            try:
                result = engage(project, "sync", "--as-of", AS_OF)
            finally:
                if not mounted:
                    disk.chmod(0o755)
            assert result.returncode == 78, result.stderr
            [line] = error_lines(result)
            assert line.startswith(f"engage: error: {store}: {expected}")
            assert "the store is fine" in line
            assert "move this one away" not in line and "not a usable" not in line

    @pytest.mark.skipif(is_root(), reason="root writes read-only files")
    def test_a_read_only_file(self, tmp_path: Path) -> None:
        """The store file itself is read-only: chmod u+w names it."""
        store = tmp_path / "data" / "engage.db"
        project = project_with_store(tmp_path, store)
        assert engage(project, "sync", "--as-of", AS_OF).returncode == 0
        store.chmod(0o444)
        try:
            result = engage(project, "sync", "--as-of", AS_OF)
        finally:
            store.chmod(0o644)
        assert result.returncode == 78, result.stderr
        [line] = error_lines(result)
        assert line.startswith(f"engage: error: {store}: the store file is read-only")
        assert f"chmod u+w {store}" in line


class TestCorrupt:
    """Garbage in the middle of the file."""

    def corrupt(self, store: Path) -> None:
        size = store.stat().st_size
        noise = random.Random(13).randbytes(16 * 1024)
        with store.open("r+b") as handle:
            handle.seek(size // 2 - len(noise) // 2)
            handle.write(noise)

    def test_caught_at_open_after_an_unclean_shutdown(self, tmp_path: Path) -> None:
        """A process died with the store open, then the file was damaged: the next sync
        refuses at open, one line naming the file, restore or .recover, exit 78; and again
        on the run after (the mark stays until the store is whole)."""
        store = tmp_path / "data" / "engage.db"
        project = project_with_store(tmp_path, store)
        more_touchpoints(project, 600)
        assert engage(project, "sync", "--as-of", AS_OF).returncode == 0
        crash = subprocess.run([sys.executable, "-c", CRASH, str(store)], timeout=60)
        assert crash.returncode == 9
        assert (store.parent / "engage.db.open").read_text().strip()  # not closed cleanly
        self.corrupt(store)
        for _ in range(2):
            result = engage(project, "sync", "--as-of", AS_OF)
            assert result.returncode == 78, result.stderr
            [line] = error_lines(result)
            assert line.startswith(f"engage: error: {store}: the store is corrupt")
            assert "restore it from a backup" in line and f"sqlite3 {store} .recover" in line
        assert json.loads((project / "remote.json").read_text())  # the first run's tasks

    def test_a_clean_close_leaves_the_mark_empty(self, tmp_path: Path) -> None:
        """After a normal run the clean-shutdown mark is empty: no check at the next open."""
        store = tmp_path / "data" / "engage.db"
        project = project_with_store(tmp_path, store)
        assert engage(project, "sync", "--as-of", AS_OF).returncode == 0
        assert (store.parent / "engage.db.open").read_text() == ""

    def test_a_file_that_is_not_a_database(self, tmp_path: Path) -> None:
        """'store' pointing at something else: one line saying so, exit 78."""
        store = tmp_path / "notes.txt"
        store.write_text("shopping list\n" * 500)
        project = project_with_store(tmp_path, store)
        result = engage(project, "sync", "--as-of", AS_OF)
        assert result.returncode == 78, result.stderr
        [line] = error_lines(result)
        assert line.startswith(f"engage: error: {store}: not an SQLite database, or a damaged one")
