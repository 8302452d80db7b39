"""Large files are parsed in a process of their own (engage.readahead): the same pull, item
for item, with the same errors, cursors and counts as reading in one process."""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import IDENTITY

import engage_csv.source as csv_source
from engage.adapters import AdapterContext, Progress, resolve_options
from engage.errors import BadInputError
from engage.progress import Tally
from engage.readahead import DISABLE_ENV, available
from engage.testing import Project, Pull
from engage_csv import CsvSource

Write = Callable[..., Path]

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="forks on Linux only: files are read in one process",
)


HEADER = "occurred_at,email,name,channel,direction,owner,subject,feedback\n"


def messy_rows(start: int, count: int) -> str:
    """Rows of every kind a pull meets: good ones, a bad date, a quoted newline, a row
    between two of our own people (passed over), a feedback score, an unmapped channel."""
    lines = []
    for n in range(start, start + count):
        day = 1 + n % 28
        kind = n % 9
        if kind == 0:
            lines.append(f"2026-13-{day:02d},ann{n}@initech.com,Ann,email,in,carol@ourco.com,bad\n")
        elif kind == 1:
            lines.append(
                f'2026-02-{day:02d},bo{n % 50}@acme.com,Bo,call,out,carol@ourco.com,"two\nlines"\n'
            )
        elif kind == 2:
            lines.append(f"2026-02-{day:02d},dave@ourco.com,,email,out,carol@ourco.com,internal\n")
        elif kind == 3:
            lines.append(f"2026-02-{day:02d},cy{n}@globex.com,Cy,survey,in,,NPS,9\n")
        elif kind == 4:
            lines.append(f"2026-02-{day:02d},di{n % 7}@umbrella.com,Di,carrier pigeon,in,,?,\n")
        else:
            lines.append(f"2026-01-{day:02d},jo{n % 300}@co{n % 40}.com,Jo,email,in,,Re: {n},\n")
    return "".join(lines)


@pytest.fixture
def files(write: Write) -> Path:
    write("a.csv", HEADER + messy_rows(0, 3000))
    write("b.csv", HEADER + messy_rows(3000, 1200))
    return write("c.csv", HEADER + messy_rows(4200, 10))


def build(tmp_path: Path, progress: Progress | None = None, **options: Any) -> CsvSource:
    resolved = resolve_options(
        CsvSource.options, {"path": "*.csv", **options}, "engage.toml: [sources.files]"
    )
    extra = {} if progress is None else {"progress": progress}
    context = AdapterContext("files", base_dir=tmp_path, identity=IDENTITY, **extra)
    return CsvSource(resolved, context)


@pytest.fixture
def read_ahead_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every file read ahead however small, counted; the in-process runs set
    ENGAGE_READ_AHEAD=0 themselves."""
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    monkeypatch.setattr(csv_source, "READ_AHEAD_BYTES", 0)
    calls: list[int] = []
    real = csv_source.read_ahead

    def counted(produce: Callable[[Progress], Iterator[Any]], progress: Progress) -> Any:
        calls.append(int(available()))
        return real(produce, progress)

    monkeypatch.setattr(csv_source, "read_ahead", counted)
    return calls


def in_one_process(monkeypatch: pytest.MonkeyPatch, run: Callable[[], Any]) -> Any:
    with monkeypatch.context() as patch:
        patch.setenv(DISABLE_ENV, "0")
        return run()


def test_a_messy_pull_is_the_same_item_for_item(
    tmp_path: Path, files: Path, read_ahead_calls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    ahead_progress, here_progress = Tally(), Tally()
    ahead = Pull.run(build(tmp_path, ahead_progress, max_bad_ratio=0.9))
    here = in_one_process(
        monkeypatch, lambda: Pull.run(build(tmp_path, here_progress, max_bad_ratio=0.9))
    )
    assert read_ahead_calls[0] == 1  # the first pull really forked
    assert ahead.items == here.items
    assert len(ahead.touchpoints) > 2000
    assert ahead.problems and ahead.skipped and len(ahead.checkpoints) == 3
    assert ahead_progress.counts == here_progress.counts
    assert ahead_progress.counts["rows"] == 4210
    assert ahead_progress.totals == here_progress.totals


def test_a_grown_file_is_read_from_where_the_cursor_left_it(
    tmp_path: Path, files: Path, write: Write, read_ahead_calls: list[int]
) -> None:
    first = Pull.run(build(tmp_path, max_bad_ratio=0.9))
    with (tmp_path / "c.csv").open("a", newline="") as grown:
        grown.write(messy_rows(5000, 40))
    again = Pull.run(build(tmp_path, max_bad_ratio=0.9), first.cursor)
    assert all(read_ahead_calls)
    assert {t.subject for t in again.touchpoints} >= {"Re: 5003", "Re: 5039"}
    assert len(again.touchpoints) < 40  # only the appended rows: none read twice
    assert not {t.external_id for t in again.touchpoints} & {
        t.external_id for t in first.touchpoints
    }


def test_a_file_past_max_bad_ratio_fails_after_the_files_before_it(
    tmp_path: Path, write: Write, read_ahead_calls: list[int]
) -> None:
    write("a.csv", HEADER + messy_rows(0, 300))
    write("b.csv", HEADER + "someday,x@initech.com,X,email,in,,x,\n" * 200)
    pulled, error = Pull.until_error(build(tmp_path))
    assert isinstance(error, BadInputError)
    assert str(error) == (
        "b.csv: 200 of 200 rows refused (max_bad_ratio 0.5); nothing from this file was stored"
    )
    assert len(pulled.checkpoints) == 1  # a.csv's, which the store keeps
    assert read_ahead_calls == [1]


def test_strict_stops_at_the_first_bad_row_naming_its_line(
    tmp_path: Path, write: Write, read_ahead_calls: list[int]
) -> None:
    write("a.csv", HEADER + messy_rows(1, 50))  # the first bad row: the pigeon, n = 4
    pulled, error = Pull.until_error(build(tmp_path, strict=True))
    assert isinstance(error, BadInputError)
    assert str(error).startswith("a.csv:6: channel: unknown channel")  # row 1 spans two lines
    assert not pulled.checkpoints
    assert len(pulled.touchpoints) == 2  # the good rows before it, rolled back by the sync


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_sync_reading_ahead_stores_what_one_process_stores(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    read_ahead_calls: list[int],
    backend: str,
) -> None:
    """engage sync end to end, with a file past READ_AHEAD_BYTES: the same report as reading in
    one process, and a second sync finds nothing new (on SQLite the child leaves the store's
    connection alone; on PostgreSQL the pool's threads keep the reading in one process)."""
    rows = HEADER + messy_rows(0, 21_000)  # 1.1 MB: read ahead with the default threshold too

    def synced(name: str, read_ahead: str) -> dict[str, Any]:
        store = (
            request.getfixturevalue("engage_postgres_database")
            if backend == "postgresql" and read_ahead == "1"
            else str(tmp_path / f"{name}.db")
        )
        project = Project(tmp_path / name, plugins=("csv",), env={DISABLE_ENV: read_ahead})
        project.write("history.csv", rows)
        project.config(
            f'store = "{store}"\ninternal_domains = ["ourco.com"]\n'
            '[sources.files]\nplugin = "csv"\npath = "history.csv"\nmax_bad_ratio = 0.9\n'
            '[sinks.tasks]\nplugin = "csv"\npath = "tasks.csv"\n'
        )
        first = project.sync(as_of="2026-03-01T00:00:00+00:00")
        assert first.code == 0, first.stderr
        again = project.sync(as_of="2026-03-01T00:00:00+00:00")
        assert again.code == 0, again.stderr
        assert again.json["sources"]["files"]["records"] == 0
        report: dict[str, Any] = first.json
        return report

    ahead = synced("ahead", "1")
    # SQLite: the first sync forked a child to read; PostgreSQL: the store's connection pool
    # runs threads of its own, so the file is read in the sync's process
    assert read_ahead_calls[0] == (1 if backend == "sqlite" else 0)
    here = synced("here", "0")
    for key in ("records", "touchpoints", "inserted", "errors", "skipped", "read"):
        assert ahead["sources"]["files"][key] == here["sources"]["files"][key], key
    assert ahead["sources"]["files"]["touchpoints"] > 10_000
    assert ahead["sinks"]["tasks"]["pushed"] == here["sinks"]["tasks"]["pushed"] > 0
    if backend == "sqlite":  # the child sent rows it built without touchpoints: the same rows
        assert stored_touchpoints(tmp_path / "ahead.db") == stored_touchpoints(tmp_path / "here.db")


def stored_touchpoints(path: Path) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT * FROM touchpoints ORDER BY rowid").fetchall()
