"""The task file shows what is still wanted: a status column kept up to date by atomic rewrites."""

from __future__ import annotations

import csv
import io
import os
import threading
from pathlib import Path

import pytest
from test_sink import read
from test_sink import sink as sink_at

from engage.errors import SinkError
from engage.testing import make_task
from engage_csv import CsvSink, keyindex, taskfile
from engage_csv.sink import COLUMNS

CLEARED_AT = "2024-03-05T09:00:00+00:00"  # the injected clock of test_sink
OLD_COLUMNS = COLUMNS[: COLUMNS.index("status")]  # what engage wrote before the status columns


def sink(tmp_path: Path) -> CsvSink:
    return sink_at(tmp_path, "tasks.csv")


def stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return (info.st_size, info.st_mtime_ns)


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def edit(path: Path, change: object) -> None:
    """Rewrite the file as a person with a spreadsheet would: parse, change, save."""
    rows = rows_of(path.read_text(encoding="utf-8"))
    assert callable(change)
    change(rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)


class TestComplete:
    """complete() marks rows cleared."""

    def test_complete_marks_rows_cleared_with_the_time(self, tmp_path: Path) -> None:
        """Completed keys become cleared with cleared_at; the others stay open."""
        out = sink(tmp_path)
        out.create([make_task(key="k1"), make_task(key="k2"), make_task(key="k3")])
        results = list(out.complete({"k1": "k1", "k3": "k3", "gone": "gone"}))
        assert [(r.key, r.ok) for r in results] == [("k1", True), ("k3", True), ("gone", False)]
        rows = read(tmp_path / "tasks.csv")
        assert [(r["key"], r["status"], r["cleared_at"]) for r in rows] == [
            ("k1", "cleared", CLEARED_AT),
            ("k2", "open", ""),
            ("k3", "cleared", CLEARED_AT),
        ]
        assert rows[0]["body"] == make_task().body  # a body of lines, kept

    def test_cleared_rows_still_count_as_written(self, tmp_path: Path) -> None:
        """A cleared row keeps its key: it is found and never appended again."""
        out = sink(tmp_path)
        out.create([make_task(key="k1")])
        out.complete({"k1": "k1"})
        assert sink(tmp_path).find([make_task(key="k1")]) == {"k1": "k1"}
        sink(tmp_path).create([make_task(key="k1"), make_task(key="k2")])
        assert [r["key"] for r in read(tmp_path / "tasks.csv")] == ["k1", "k2"]

    def test_the_index_moves_on_with_a_rewrite(self, tmp_path: Path) -> None:
        """After a rewrite the index beside the file is up to date with it (no re-parse needed)."""
        out = sink(tmp_path)
        out.create([make_task(key="k1"), make_task(key="k2")])
        out.complete({"k2": "k2"})
        path = tmp_path / "tasks.csv"
        saved = keyindex.load(keyindex.index_path(path), stamp(path))
        assert saved is not None and "k1" in saved and "k2" in saved and "k3" not in saved

    def test_completing_again_changes_nothing(self, tmp_path: Path) -> None:
        """A row already cleared keeps its first cleared_at; the file is not rewritten."""
        out = sink(tmp_path)
        out.create([make_task(key="k1")])
        out.complete({"k1": "k1"})
        path = tmp_path / "tasks.csv"
        before = path.read_bytes(), os.stat(path).st_ino
        assert [r.ok for r in sink(tmp_path).complete({"k1": "k1"})] == [True]
        assert (path.read_bytes(), os.stat(path).st_ino) == before
        assert sorted(p.name for p in tmp_path.iterdir()) == [".tasks.csv.engage-keys", "tasks.csv"]


class TestHandEdits:
    """What people add or change in the file survives engage's rewrites."""

    def test_hand_added_rows_and_columns_survive(self, tmp_path: Path) -> None:
        """An extra column, a hand-added row, an edited title and a status set by hand are kept."""
        out = sink(tmp_path)
        out.create([make_task(key="k1"), make_task(key="k2"), make_task(key="k3")])
        path = tmp_path / "tasks.csv"

        def by_hand(rows: list[list[str]]) -> None:
            rows[0].append("notes")
            for row in rows[1:]:
                row.append(f"note on {row[0]}")
            rows[1][COLUMNS.index("title")] = "Call Jane, not Bob"
            rows[3][COLUMNS.index("status")] = "done"
            rows.append(["mine", "acme.com", "", "Bring cake", "", "", "", "", "", "", "", ""])

        edit(path, by_hand)
        hand_row = path.read_bytes().split(b"\r\n")[-2]
        out.complete({"k1": "k1", "k3": "k3"})
        rows = read(path)
        assert [(r["key"], r["status"], r["cleared_at"], r["notes"]) for r in rows] == [
            ("k1", "cleared", CLEARED_AT, "note on k1"),
            ("k2", "open", "", "note on k2"),
            ("k3", "done", "", "note on k3"),  # a person's word stands
            ("mine", None, None, None),  # a short row is left as it was
        ]
        assert rows[0]["title"] == "Call Jane, not Bob"
        assert path.read_bytes().split(b"\r\n")[-2] == hand_row
        out.create([make_task(key="k4")])
        last = read(path)[-1]
        assert (last["key"], last["status"], last["notes"]) == ("k4", "open", "")

    def test_reordered_columns_are_written_in_the_file_s_order(self, tmp_path: Path) -> None:
        """A person who moved columns gets new rows in their order."""
        out = sink(tmp_path)
        out.create([make_task(key="k1")])
        path = tmp_path / "tasks.csv"
        edit(path, lambda rows: [row.reverse() for row in rows])
        out.create([make_task(key="k2")])
        out.complete({"k2": "k2"})
        rows = read(path)
        assert list(rows[0]) == list(reversed(COLUMNS))
        assert [(r["key"], r["status"]) for r in rows] == [("k1", "open"), ("k2", "cleared")]


class TestUpgrade:
    """A task file written before the status columns existed."""

    def old_file(self, tmp_path: Path, bom: str = "") -> Path:
        path = tmp_path / "tasks.csv"
        rows = [list(OLD_COLUMNS), ["old1", *["x"] * 11], ["old2", "acme.com", "check_in"]]
        path.write_text(
            bom + "".join(taskfile.encode_row(r) for r in rows) + "\r\n", encoding="utf-8"
        )
        return path

    def test_an_old_file_is_upgraded_in_place(self, tmp_path: Path) -> None:
        """The columns are added, every row already there is open, and appending goes on."""
        path = self.old_file(tmp_path)
        out = sink(tmp_path)
        out.create([make_task(key="k1")])
        rows = rows_of(path.read_text(encoding="utf-8"))
        assert rows[0] == list(COLUMNS)
        assert rows[1] == ["old1", *["x"] * 11, "open", ""]
        assert rows[2] == ["old2", "acme.com", "check_in", *[""] * 9, "open", ""]
        assert rows[3] == []  # a blank line is kept
        assert rows[4][0] == "k1" and len(rows[4]) == len(COLUMNS)
        assert out.notices == [
            "tasks.csv: added the columns status, cleared_at; the rows already there are open"
        ]
        assert sink(tmp_path).find([make_task(key="old1"), make_task(key="k1")]) == {
            "old1": "old1",
            "k1": "k1",
        }

    def test_complete_on_an_old_file(self, tmp_path: Path) -> None:
        """complete upgrades the file first, then marks the row; a byte-order mark is kept."""
        path = self.old_file(tmp_path, bom="\ufeff")
        sink(tmp_path).complete({"old2": "old2"})
        assert path.read_bytes().startswith(b"\xef\xbb\xbfkey,")
        rows = read_sig(path)
        assert [(r["key"], r["status"], r["cleared_at"]) for r in rows] == [
            ("old1", "open", ""),
            ("old2", "cleared", CLEARED_AT),
        ]


def read_sig(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["key"]]


class TestAtomicRewrite:
    """A rewrite replaces the file whole: nobody ever sees half of it."""

    def test_a_reader_never_sees_a_partial_file(self, tmp_path: Path) -> None:
        """A thread reading the file during 150 rewrites always finds every row, whole."""
        out = sink(tmp_path)
        keys = [f"k{i}" for i in range(150)]
        out.create([make_task(key=k, body="first line\nsecond line, with a comma") for k in keys])
        path = tmp_path / "tasks.csv"
        done = threading.Event()
        seen: list[tuple[int, bool, bool]] = []

        def reader() -> None:
            while not done.is_set():
                with path.open(encoding="utf-8", newline="") as handle:
                    text = handle.read()
                rows = rows_of(text)
                seen.append(
                    (
                        len(rows),
                        all(len(row) == len(COLUMNS) for row in rows),
                        text.endswith("\r\n"),
                    )
                )

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            for key in keys:
                out.complete({key: key})
        finally:
            done.set()
            thread.join()
        assert seen and set(seen) == {(151, True, True)}
        assert {r["status"] for r in read(path)} == {"cleared"}

    def test_a_crash_before_the_rename_leaves_the_file_intact(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """If the rename never happens, the task file is as it was and no temporary is left."""
        out = sink(tmp_path)
        out.create([make_task(key="k1"), make_task(key="k2")])
        path = tmp_path / "tasks.csv"
        before = path.read_bytes()

        def crash(source: object, target: object) -> None:
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(os, "replace", crash)
        with pytest.raises(SinkError) as caught:
            out.complete({"k1": "k1"})
        assert str(caught.value) == (
            "tasks.csv: cannot mark cleared tasks: input/output error; the task file is unchanged"
        )
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == [".tasks.csv.engage-keys", "tasks.csv"]
        monkeypatch.undo()
        assert [r.ok for r in out.complete({"k1": "k1"})] == [True]
        assert [r["status"] for r in read(path)] == ["cleared", "open"]

    def test_the_file_keeps_its_permissions(self, tmp_path: Path) -> None:
        """The rewritten file has the mode the task file had."""
        out = sink(tmp_path)
        out.create([make_task(key="k1")])
        path = tmp_path / "tasks.csv"
        path.chmod(0o640)
        out.complete({"k1": "k1"})
        assert path.stat().st_mode & 0o777 == 0o640

    def test_a_row_added_during_the_rewrite_is_kept(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Someone appending while engage rewrites: engage reads the file again, nothing is lost."""
        out = sink(tmp_path)
        out.create([make_task(key="k1")])
        path = tmp_path / "tasks.csv"
        real = taskfile.rewrite
        calls: list[int] = []

        def rewrite(*args: object, **kwargs: object) -> tuple[int, int]:
            if not calls:
                with path.open("a", encoding="utf-8", newline="") as handle:
                    handle.write(
                        taskfile.encode_row(["late", "acme.com"] + [""] * 10 + ["open", ""])
                    )
            calls.append(1)
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(taskfile, "rewrite", rewrite)
        out.complete({"k1": "k1", "late": "late"})
        assert len(calls) == 2
        assert [(r["key"], r["status"]) for r in read(path)] == [
            ("k1", "cleared"),
            ("late", "cleared"),
        ]
        assert sink(tmp_path).find([make_task(key="late")]) == {"late": "late"}
