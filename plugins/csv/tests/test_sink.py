"""CsvSink: one row per task, idempotent by task key."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engage.adapters import AdapterContext, PushResult, resolve_options
from engage.errors import SinkError
from engage.testing import make_task
from engage_csv import CsvSink
from engage_csv.sink import COLUMNS

NOW = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)


def sink(tmp_path: Path, path: str = "out/tasks.csv") -> CsvSink:
    options = resolve_options(CsvSink.options, {"path": path}, "engage.toml: [sinks.sheet]")
    return CsvSink(options, AdapterContext("sheet", base_dir=tmp_path, now=lambda: NOW))


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class TestCsvSink:
    """Appending tasks."""

    def test_creates_file_with_header(self, tmp_path: Path) -> None:
        """The first push creates the file (and its directory) with a header row."""
        results = list(sink(tmp_path).create([make_task(key="k1", owner=None, contact_email=None)]))
        assert results == [PushResult("k1", remote_id="k1")]
        path = tmp_path / "out/tasks.csv"
        assert path.read_text().splitlines()[0] == ",".join(COLUMNS)
        assert read(path) == [
            {
                "key": "k1",
                "customer": "acme.com",
                "rule": "check_in",
                "title": "Check in with Acme",
                "due": "2026-03-04",
                "priority": "medium",
                "kind": "call",
                "owner": "",
                "contact": "",
                "reason": "No conversation for 45 days (cadence 30)",
                "body": "No conversation for 45 days (cadence 30).\n\n- last touch 2026-01-16",
                "created_at": "2024-03-05T09:00:00+00:00",
                "status": "open",
                "cleared_at": "",
            }
        ]

    def test_create_is_idempotent_by_key(self, tmp_path: Path) -> None:
        """Creating the same tasks twice writes each key once and reports all as pushed."""
        out = sink(tmp_path)
        out.create([make_task(key="k1"), make_task(key="k2")])
        results = list(out.create([make_task(key="k2"), make_task(key="k3"), make_task(key="k3")]))
        assert [r.key for r in results] == ["k2", "k3", "k3"] and all(r.ok for r in results)
        assert [row["key"] for row in read(tmp_path / "out/tasks.csv")] == ["k1", "k2", "k3"]

    def test_find_reports_keys_already_written(self, tmp_path: Path) -> None:
        """find maps the keys already in the file to themselves."""
        out = sink(tmp_path)
        assert out.find([make_task(key="k1")]) == {}
        out.create([make_task(key="k1")])
        assert sink(tmp_path).find([make_task(key="k1"), make_task(key="k2")]) == {"k1": "k1"}

    def test_appends_to_an_existing_file(self, tmp_path: Path) -> None:
        """Rows are appended after existing ones; an empty file gets a header."""
        path = tmp_path / "tasks.csv"
        path.write_text("")
        out = sink(tmp_path, "tasks.csv")
        out.create([make_task(key="k1")])
        out.create([make_task(key="k2", body="line one\nline two, with comma")])
        rows = read(path)
        assert [r["key"] for r in rows] == ["k1", "k2"]
        assert rows[1]["body"] == "line one\nline two, with comma"

    def test_row_cut_short_is_not_joined(self, tmp_path: Path) -> None:
        """If the file ends mid-row (a crash), that row is moved aside, not joined to the next."""
        path = tmp_path / "tasks.csv"
        sink(tmp_path, "tasks.csv").create([make_task(key="k1")])
        path.write_bytes(path.read_bytes() + b"torn,row")
        sink(tmp_path, "tasks.csv").create([make_task(key="k2")])
        assert [r["key"] for r in read(path)] == ["k1", "k2"]
        assert (tmp_path / "tasks.csv.engage-damaged").read_bytes() == b"torn,row\r\n"

    def test_not_a_task_file(self, tmp_path: Path) -> None:
        """A file without a key column is refused rather than appended to."""
        (tmp_path / "tasks.csv").write_text("a,b\n1,2\n")
        with pytest.raises(SinkError, match=r"tasks\.csv: not a task file"):
            sink(tmp_path, "tasks.csv").create([make_task(key="k1")])

    def test_complete_without_a_file_finds_nothing(self, tmp_path: Path) -> None:
        """complete on a missing file writes nothing and says each key is not in the file."""
        results = list(sink(tmp_path).complete({"k1": "k1"}))
        assert [(r.key, r.ok) for r in results] == [("k1", False)]
        assert "not in the task file" in (results[0].error or "")
        assert not (tmp_path / "out").exists()
        assert CsvSink.batch_size == 2000


def test_rows_added_by_someone_else_are_seen(tmp_path: Path) -> None:
    """The sink remembers its file's keys, but reads them again when another writer changed the file."""
    out = sink(tmp_path)
    out.create([make_task(key="a")])
    path = tmp_path / "out" / "tasks.csv"
    other = sink(tmp_path)
    other.create([make_task(key="b")])  # another process appends to the same file
    assert out.find([make_task(key="a"), make_task(key="b"), make_task(key="c")]) == {
        "a": "a",
        "b": "b",
    }
    out.create([make_task(key="b"), make_task(key="c")])
    assert [row["key"] for row in read(path)] == ["a", "b", "c"]
