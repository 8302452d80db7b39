"""Marking rows cleared reads only the rows of the wanted keys; the rest is copied as bytes.

The rows are found by :mod:`engage_csv.taskscan`; these tests hold it to what a full parse
(:func:`engage_csv.taskfile.records`) finds, on files engage wrote, files a person edited, and
files no scan should trust.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sink import read
from test_sink import sink as sink_at

from engage.testing import make_task
from engage_csv import CsvSink, keyindex, taskfile, taskrows, taskscan
from engage_csv.taskfile import Record

CLEARED_AT = "2024-03-05T09:00:00+00:00"  # the injected clock of test_sink


def sink(tmp_path: Path) -> CsvSink:
    return sink_at(tmp_path, "tasks.csv")


def marked(record: Record) -> str:
    """A record's text that shows what the scan handed over: its fields and offsets."""
    return f"<{record.start}:{record.end}:{'|'.join(record.fields)}>\r\n"


def by_full_parse(path: Path, column: int, keys: set[str]) -> bytes:
    """What :func:`taskscan.edit` must give: every record parsed, the wanted ones marked."""
    return b"".join(
        (marked(r) if taskrows.field(r.fields, column) in keys else r.raw).encode(
            taskfile.ENCODING, taskfile.ERRORS
        )
        for r in taskfile.records(path)
    )


def by_scan(path: Path, column: int, keys: set[str]) -> bytes:
    def change(record: Record) -> str:  # as the sink's: other records stay as they are
        return marked(record) if taskrows.field(record.fields, column) in keys else record.raw

    return b"".join(taskscan.edit(path, column, taskscan.encoded(keys), change))


def parsed_from(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The offsets the full parse starts from, from now on."""
    offsets: list[int] = []
    real = taskfile.records

    def records(path: Path, offset: int = 0) -> Iterator[Record]:
        offsets.append(offset)
        return real(path, offset)

    monkeypatch.setattr(taskfile, "records", records)
    return offsets


class TestScan:
    """taskscan.edit finds exactly the records a full parse finds."""

    @pytest.mark.parametrize("block", [1, 2, 3, 7, 64, 1 << 22])
    def test_bodies_with_quoted_line_breaks(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
    ) -> None:
        """Line breaks, quotes and commas inside fields, and a body whose lines look like rows
        of wanted keys: only the real rows are handed over, at any block size."""
        monkeypatch.setattr(taskscan, "_BLOCK", block)
        path = tmp_path / "tasks.csv"
        rows = [
            ["key", "body", "status"],
            ["k1", 'say "hi",\r\nthen\rwait\n', "open"],
            ["k2", "k1,forged\r\nk3,forged", "open"],
            ["k3", "", ""],
            ['k"4', "x", "open"],
            [],
            ["k5"],
        ]
        path.write_bytes(taskfile.encode_rows(rows).encode() + b"k6,last,open")
        for column in (0, 1, 2, 5):
            for keys in ({"k1", "k3"}, {'k"4', "k6", "k5"}, {"", "forged"}, {"key"}):
                assert by_scan(path, column, keys) == by_full_parse(path, column, keys)

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param(b'k1,5" screen\r\nk2,x\r\n', id="a quote in an unquoted cell"),
            pytest.param(b'k1,"a"b\r\nk2,x\r\n', id="text after a closing quote"),
            pytest.param(b'k1, "a"\r\nk2,x\r\n', id="a space before the quote"),
            pytest.param(b'k1,"open\r\nk2,x\r\n', id="a quote still open at the end"),
        ],
    )
    def test_from_text_csv_would_not_write_on_the_file_is_parsed(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: bytes
    ) -> None:
        """The records before it are scanned, the rest parsed from that record's start."""
        path = tmp_path / "tasks.csv"
        head = b'key,title\r\nk0,"fine"\r\n'
        path.write_bytes(head + text)
        offsets = parsed_from(monkeypatch)
        scanned = by_scan(path, 0, {"k0", "k1", "k2"})
        assert offsets == [len(head)]
        assert scanned == by_full_parse(path, 0, {"k0", "k1", "k2"})

    def test_a_record_over_the_field_limit_is_left_to_the_full_parse(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Only csv knows how it fails on a field too long: the parse meets it as before."""
        path = tmp_path / "tasks.csv"
        path.write_bytes(b"key,body\r\nk1," + b"x" * (csv.field_size_limit() + 1) + b"\r\n")
        offsets = parsed_from(monkeypatch)
        with pytest.raises(csv.Error):
            by_scan(path, 0, {"k1"})
        assert offsets == [len(b"key,body\r\n")]

    @settings(max_examples=300, deadline=None)
    @given(
        text=st.lists(st.sampled_from(["k1", "k2", ",", '"', "\r", "\n", "x", "é"])).map("".join),
        column=st.integers(0, 2),
        block=st.sampled_from([1, 3, 1 << 22]),
    )
    def test_any_text_is_read_as_csv_parses_it(
        self, tmp_path_factory: pytest.TempPathFactory, text: str, column: int, block: int
    ) -> None:
        """Whatever the bytes, the scan (and the parse it hands over to) gives what a full
        parse gives."""
        path = tmp_path_factory.mktemp("scan") / "tasks.csv"
        path.write_bytes(text.encode() + b"\xff")
        real = taskscan._BLOCK
        taskscan._BLOCK = block
        try:
            scanned = by_scan(path, column, {"k1", ""})
        finally:
            taskscan._BLOCK = real
        assert scanned == by_full_parse(path, column, {"k1", ""})


class TestCompleteReadsOnlyWantedRows:
    """complete() through the scan: the same file as a full rewrite would give."""

    def test_quoted_line_breaks_in_a_cleared_task(self, tmp_path: Path) -> None:
        """A cleared task's body with line breaks, quotes and commas is kept as it was."""
        out = sink(tmp_path)
        body = 'first line\r\nk2,"forged",row\nthird, "quoted" line'
        out.create([make_task(key="k1", body=body), make_task(key="k2", body=body)])
        path = tmp_path / "tasks.csv"
        before = path.read_bytes()
        assert [r.ok for r in out.complete({"k1": "k1"})] == [True]
        rows = read(path)
        assert [(r["key"], r["body"], r["status"], r["cleared_at"]) for r in rows] == [
            ("k1", body, "cleared", CLEARED_AT),
            ("k2", body, "open", ""),
        ]
        # the second row is byte for byte what it was
        assert path.read_bytes().endswith(before[before.index(b"\r\nk2,acme.com") :])

    def test_a_file_edited_by_hand_is_marked_too(self, tmp_path: Path) -> None:
        """Rows typed in a text editor (LF endings, a quote in an unquoted cell): the file is
        parsed from there on, the rows are marked as ever, the others kept byte for byte."""
        out = sink(tmp_path)
        out.create([make_task(key="k1"), make_task(key="k2")])
        path = tmp_path / "tasks.csv"
        typed = b"other,acme.com,,plain,,,,,,,,,open,\n"
        with path.open("ab") as handle:
            handle.write(b'hand,acme.com,,27" screen,,,,,,,,,open,\n' + typed)
        assert [r.ok for r in out.complete({"k1": "k1", "hand": "hand"})] == [True, True]
        text = path.read_bytes()
        assert b'\r\nhand,acme.com,,"27"" screen",,,,,,,,,cleared,' in text
        assert text.endswith(typed)
        assert [(r["key"], r["status"]) for r in read(path)] == [
            ("k1", "cleared"),
            ("k2", "open"),
            ("hand", "cleared"),
            ("other", "open"),
        ]

    def test_a_file_saved_by_a_spreadsheet_is_scanned(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A file saved again elsewhere (every cell quoted, LF endings, the key column moved,
        a row added by hand) is still one the scan reads: no full parse is needed."""
        out = sink(tmp_path)
        body = "line one\nline two, with a comma"
        out.create([make_task(key=f"k{i}", body=body) for i in range(4)])
        path = tmp_path / "tasks.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            rows = [[row[1], row[0], *row[2:]] for row in csv.reader(handle)]  # key moved
        rows.append(["acme.com", "typed", *[""] * 10, "open", ""])
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
        out.find([make_task(key="k1")])  # reads the edited file again
        offsets = parsed_from(monkeypatch)
        results = out.complete({"k1": "k1", "typed": "typed", "gone": "gone"})
        assert [r.ok for r in results] == [True, True, False]
        assert offsets == []  # no record was parsed but the wanted ones
        assert [(r["key"], r["body"], r["status"]) for r in read(path)] == [
            ("k0", body, "open"),
            ("k1", body, "cleared"),
            ("k2", body, "open"),
            ("k3", body, "open"),
            ("typed", "", "cleared"),
        ]
        assert path.read_bytes().startswith(b'"customer","key",')  # other rows as they were

    def test_an_irregular_file_gets_what_a_full_parse_gives(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The scan hands over to the parse at a row typed by hand, at the end of the file,
        after the rows before it were copied (across many blocks); the file is written once."""
        out = sink(tmp_path)
        out.create([make_task(key=f"k{i}") for i in range(5)])
        path = tmp_path / "tasks.csv"
        typed_at = path.stat().st_size
        with path.open("ab") as handle:
            handle.write(b'hand,acme.com,,5" screen,,,,,,,,,open,\r\n')
        out.find([make_task(key="k1")])  # reads the edited file again
        monkeypatch.setattr(taskscan, "_BLOCK", 64)
        offsets = parsed_from(monkeypatch)
        out.complete({"k1": "k1", "k4": "k4", "hand": "hand"})
        assert offsets == [typed_at]
        assert [r["status"] for r in read(path)] == [
            "open",
            "cleared",
            "open",
            "open",
            "cleared",
            "cleared",
        ]
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".engage-tmp")] == []


#: A process that dies (as in a power cut) half-way through writing the rewritten file.
CRASHING_COMPLETE = textwrap.dedent(
    """
    import os, sys
    from datetime import UTC, datetime
    from pathlib import Path
    from engage.adapters import AdapterContext, resolve_options
    from engage_csv import CsvSink, taskscan

    real = taskscan.edit

    def edit(*args):
        for number, chunk in enumerate(real(*args)):
            if number == 3:
                os._exit(70)
            yield chunk

    taskscan.edit = edit
    options = resolve_options(CsvSink.options, {"path": "tasks.csv"}, "test")
    now = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
    sink = CsvSink(options, AdapterContext("sheet", base_dir=Path(sys.argv[1]), now=lambda: now))
    sink.complete({"k1": "k1", "k3": "k3"})
    """
)


def test_a_crash_mid_write_leaves_the_old_file_whole(tmp_path: Path) -> None:
    """The process dies while writing the new file: the task file and its index are as they
    were, and the next run marks the rows."""
    out = sink(tmp_path)
    out.create([make_task(key=f"k{i}", body="two\nlines") for i in range(5)])
    path = tmp_path / "tasks.csv"
    before, stamp = path.read_bytes(), taskfile.stamp_of(path)
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_COMPLETE, str(tmp_path)], capture_output=True
    )
    assert done.returncode == 70, done.stderr
    assert path.read_bytes() == before
    assert taskfile.stamp_of(path) == stamp
    assert stamp is not None
    assert keyindex.load(keyindex.index_path(path), stamp) is not None
    left = [p for p in tmp_path.iterdir() if p.name.endswith(".engage-tmp")]
    assert len(left) == 1  # the README says it can be deleted
    assert [r.ok for r in sink(tmp_path).complete({"k1": "k1", "k3": "k3"})] == [True, True]
    assert [r["status"] for r in read(path)] == ["open", "cleared", "open", "cleared", "open"]
