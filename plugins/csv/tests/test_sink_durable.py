"""Crash- and disk-safe task files: no half row is ever left, a cut-off end is repaired."""

from __future__ import annotations

import csv
import errno
import io
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_sink import sink as sink_at

from engage.errors import SinkError
from engage.models import Task
from engage.testing import make_task
from engage_csv import CsvSink, keyindex, taskfile
from engage_csv.sink import COLUMNS

TESTS = Path(__file__).parent
BODY = "first line\nsecond line, with a comma"


def sink(base: Path) -> CsvSink:
    return sink_at(base, "tasks.csv")


def batch(prefix: str, count: int = 100) -> list[Task]:
    """About 300 bytes a task: a batch of 100 is far bigger than a page of slack."""
    return [make_task(key=f"{prefix}{i}", body="x" * 200 + "\n" + BODY) for i in range(count)]


def table(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def keys_in(path: Path) -> list[str]:
    return [row[0] for row in table(path)[1:]]


def assert_whole(path: Path) -> None:
    """The file parses, ends with a line ending, and every row has the header's width."""
    rows = table(path)
    assert rows[0] == list(COLUMNS)
    assert all(len(row) == len(COLUMNS) for row in rows)
    assert path.read_bytes().endswith(b"\r\n")


def assert_untouched(path: Path, before: bytes, tasks: list[Task]) -> None:
    """The file is as before; no key of ``tasks`` is in it or in its index."""
    assert path.read_bytes() == before
    assert_whole(path)
    assert sink(path.parent).find(tasks) == {}
    info = path.stat()
    saved = keyindex.load(keyindex.index_path(path), (info.st_size, info.st_mtime_ns))
    assert saved is None or not any(t.key in saved for t in tasks)


def assert_written_once(base: Path, first: list[Task], tasks: list[Task]) -> None:
    path = base / "tasks.csv"
    assert keys_in(path) == [t.key for t in first + tasks]
    assert_whole(path)
    assert sink(base).find(tasks) == {t.key: t.key for t in tasks}


class TestAppendTakenBack:
    """A failed append leaves the file as it was."""

    def test_a_failed_write_is_truncated_away(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Half a batch written, then ENOSPC: the file is cut back; the keys were not written."""
        out = sink(tmp_path)
        first = [make_task(key="k1")]
        out.create(first)
        path = tmp_path / "tasks.csv"
        before = path.read_bytes()

        def half(fd: int, data: bytes) -> None:
            os.write(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(taskfile, "write_all", half)
        tasks = batch("b", 10)
        with pytest.raises(SinkError) as caught:
            out.create(tasks)
        assert str(caught.value) == (
            "tasks.csv: no space left on device; nothing of this batch was written"
        )
        assert out.find(tasks) == {}
        assert_untouched(path, before, tasks)
        monkeypatch.undo()
        out.create(tasks)
        out.create(tasks)
        assert_written_once(tmp_path, first, tasks)

    def test_a_failed_fsync_is_taken_back(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An error that shows only when the bytes are flushed to disk counts as a failed write."""
        out = sink(tmp_path)
        out.create([make_task(key="k1")])
        path = tmp_path / "tasks.csv"
        before = path.read_bytes()
        real = os.fsync
        failed: list[int] = []

        def fsync(fd: int) -> None:
            if not failed:
                failed.append(fd)
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            real(fd)

        monkeypatch.setattr(os, "fsync", fsync)
        with pytest.raises(SinkError, match=r"^tasks\.csv: input/output error; nothing of"):
            out.create([make_task(key="k2")])
        assert path.read_bytes() == before

    def test_when_the_undo_fails_too_the_next_run_repairs(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A batch that could not be cut back is moved aside at the next open, its tasks written again."""
        out = sink(tmp_path)
        first = [make_task(key="k1")]
        out.create(first)
        tasks = [make_task(key="k2", body=BODY), make_task(key="k3", body=BODY)]

        def most(fd: int, data: bytes) -> None:
            os.write(fd, data[: data.index(b"second line", data.index(b"k3,"))])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def no_truncate(fd: int, size: int) -> None:
            raise OSError(errno.EIO, os.strerror(errno.EIO))

        monkeypatch.setattr(taskfile, "write_all", most)
        monkeypatch.setattr(os, "ftruncate", no_truncate)
        with pytest.raises(SinkError) as caught:
            out.create(tasks)
        assert str(caught.value) == (
            "tasks.csv: no space left on device; the batch could not be taken back "
            "(input/output error): the next run moves its rows aside"
        )
        monkeypatch.undo()
        again = sink(tmp_path)
        assert again.find(tasks) == {"k2": "k2"}  # whole: it was written
        assert len(again.notices) == 1
        again.create(tasks)
        assert_written_once(tmp_path, first, tasks)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (root only); skipped where it cannot be mounted."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def fill(path: Path) -> None:
    """Write to ``path`` until the disk is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 1024)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_a_full_disk_writes_nothing_and_the_batch_lands_once_space_is_freed(
    small_disk: Path,
) -> None:
    """Disk full mid-push: SinkError naming the file and cause; after freeing space, exactly once."""
    out = sink(small_disk)
    first = batch("a", 10)
    out.create(first)
    path = small_disk / "tasks.csv"
    before = path.read_bytes()
    filler = small_disk / "filler"
    fill(filler)
    tasks = batch("b")
    with pytest.raises(SinkError) as caught:
        out.create(tasks)
    assert str(caught.value) == (
        "tasks.csv: no space left on device; nothing of this batch was written"
    )
    assert_untouched(path, before, tasks)
    with pytest.raises(SinkError):
        sink(small_disk).create(tasks)  # a second try while the disk is still full
    assert_untouched(path, before, tasks)
    filler.unlink()
    out.create(tasks)
    sink(small_disk).create(tasks)
    assert_written_once(small_disk, first, tasks)


LIMITED = textwrap.dedent(
    """
    import resource, signal, sys
    sys.path.insert(0, sys.argv[1])
    from test_sink_durable import batch, sink
    from engage.errors import SinkError
    from pathlib import Path

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    limit = int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        sink(Path(sys.argv[2])).create(batch("b"))
    except SinkError as error:
        print(error)
    """
)


def test_a_file_size_limit_writes_nothing_and_the_batch_lands_later(tmp_path: Path) -> None:
    """RLIMIT_FSIZE in a child process: the same guarantees as a full disk."""
    resource = pytest.importorskip("resource", reason="RLIMIT_FSIZE needs a Unix")
    if not hasattr(resource, "RLIMIT_FSIZE"):
        pytest.skip("no RLIMIT_FSIZE on this platform")
    first = batch("a", 10)
    sink(tmp_path).create(first)
    path = tmp_path / "tasks.csv"
    before = path.read_bytes()
    limit = len(before) + 2000
    child = subprocess.run(
        [sys.executable, "-c", LIMITED, str(TESTS), str(tmp_path), str(limit)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "tasks.csv: file too large; nothing of this batch was written"
    tasks = batch("b")
    assert_untouched(path, before, tasks)
    sink(tmp_path).create(tasks)
    assert_written_once(tmp_path, first, tasks)


def cut_at(marker: bytes, extra: int = 0) -> Callable[[bytes], int]:
    return lambda data: data.index(marker) + extra


class TestRepair:
    """A file whose end is not a complete row (a crash, an older engage on a full disk)."""

    @pytest.mark.parametrize(
        "where",
        [
            pytest.param(cut_at(b"second line"), id="inside a quoted field, after a line break"),
            pytest.param(cut_at(b"first line", 3), id="inside a quoted field"),
            pytest.param(cut_at(b"k2,acme", 6), id="mid-row"),
            pytest.param(
                cut_at(b"2024-03-05T09:00:00+00:00,open", 30), id="before the last column"
            ),
        ],
    )
    def test_the_cut_off_row_is_moved_aside_and_written_again(
        self, tmp_path: Path, where: Callable[[bytes], int]
    ) -> None:
        """The cut row goes to NAME.engage-damaged with a notice; its key is not counted."""
        first = [make_task(key="k1", body=BODY)]
        sink(tmp_path).create(first)
        path = tmp_path / "tasks.csv"
        whole = path.read_bytes()
        sink(tmp_path).create([make_task(key="k2", body=BODY)])
        data = path.read_bytes()
        at = len(whole) + where(data[len(whole) :])
        path.write_bytes(data[:at])
        out = sink(tmp_path)
        assert out.find([make_task(key="k1"), make_task(key="k2")]) == {"k1": "k1"}
        assert out.notices == [
            "tasks.csv: the last row was cut off (a crash or a full disk while writing); "
            "moved it to tasks.csv.engage-damaged, so its task is written again"
        ]
        assert path.read_bytes() == whole
        damaged = (tmp_path / "tasks.csv.engage-damaged").read_bytes()
        cut = data[len(whole) : at]
        assert damaged == (cut if cut.endswith(b"\n") else cut + b"\r\n")
        out.create([make_task(key="k1"), make_task(key="k2", body=BODY)])
        sink(tmp_path).create([make_task(key="k2")])
        assert_written_once(tmp_path, [], [*first, make_task(key="k2")])
        assert table(path)[2][COLUMNS.index("body")] == BODY

    def test_a_cut_off_header_is_written_again(self, tmp_path: Path) -> None:
        """A file holding only part of a header starts again with a whole one."""
        path = tmp_path / "tasks.csv"
        path.write_bytes(b"key,customer,ru")
        out = sink(tmp_path)
        out.create([make_task(key="k1")])
        assert_written_once(tmp_path, [], [make_task(key="k1")])
        assert "the header was cut off" in out.notices[0]

    def test_a_whole_last_row_without_a_line_ending_is_kept(self, tmp_path: Path) -> None:
        """A spreadsheet may save the last row without a line ending: it is ended, not moved."""
        first = [make_task(key="k1"), make_task(key="k2", body=BODY)]
        sink(tmp_path).create(first)
        path = tmp_path / "tasks.csv"
        path.write_bytes(path.read_bytes().removesuffix(b"\r\n"))
        out = sink(tmp_path)
        assert out.find(first) == {"k1": "k1", "k2": "k2"}
        assert out.notices == [] and not (tmp_path / "tasks.csv.engage-damaged").exists()
        out.create([make_task(key="k3")])
        assert_written_once(tmp_path, first, [make_task(key="k3")])

    def test_repairs_accumulate_in_the_damaged_file(self, tmp_path: Path) -> None:
        """A second repair adds to NAME.engage-damaged; nothing moved aside is lost."""
        path = tmp_path / "tasks.csv"
        sink(tmp_path).create([make_task(key="k1")])
        for torn in (b"torn,one", b'torn,"two\n'):
            path.write_bytes(path.read_bytes() + torn)
            sink(tmp_path).find([])
        assert (tmp_path / "tasks.csv.engage-damaged").read_bytes() == b'torn,one\r\ntorn,"two\n'
        assert keys_in(path) == ["k1"]

    def test_a_file_that_cannot_be_repaired_is_left_alone(self, tmp_path: Path) -> None:
        """If the cut row cannot be saved aside, the run stops with the file untouched."""
        path = tmp_path / "tasks.csv"
        sink(tmp_path).create([make_task(key="k1")])
        path.write_bytes(path.read_bytes() + b"torn,row")
        before = path.read_bytes()
        (tmp_path / "tasks.csv.engage-damaged").mkdir()  # in the way
        with pytest.raises(SinkError, match=r"^tasks\.csv: the file ends in a cut-off row that"):
            sink(tmp_path).find([make_task(key="k1")])
        assert path.read_bytes() == before


def test_nothing_is_read_before_the_sink_is_used(tmp_path: Path) -> None:
    """Building the sink (as engage sync --dry-run does) repairs nothing."""
    path = tmp_path / "tasks.csv"
    path.write_bytes(b"key,customer,ru")
    sink(tmp_path)
    assert path.read_bytes() == b"key,customer,ru"


def test_bytes_that_are_not_utf8_survive_a_rewrite(tmp_path: Path) -> None:
    """A row saved by hand in Latin-1 keeps its bytes when engage rewrites the file."""
    out = sink(tmp_path)
    out.create([make_task(key="k1")])
    path = tmp_path / "tasks.csv"
    hand = "mine,acme.com,,Caf\xe9 with J\xfcrgen,,,,,,,,,open,\r\n".encode("latin-1")
    path.write_bytes(path.read_bytes() + hand)
    out.complete({"k1": "k1"})
    assert path.read_bytes().endswith(hand)
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("latin-1"), newline="")))
    assert rows[1][COLUMNS.index("status")] == "cleared"
