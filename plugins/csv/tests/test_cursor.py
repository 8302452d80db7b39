"""The cursor: unchanged files are not re-read, appended rows are read alone, anything else is
re-read; a cursor the source cannot read raises CursorError."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engage.cursors import CursorError
from engage.errors import SourceError
from engage.testing import Pull
from engage_csv.cursor import PARSER_VERSION, load_cursor

Write = Callable[..., Path]
PullFn = Callable[..., Pull]

HEADER = "occurred_at,email,subject\n"


def rows(*subjects: str) -> str:
    return "".join(f"2024-03-05,jo@acme.com,{s}\n" for s in subjects)


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write(text)


def subjects(result: Pull) -> list[str | None]:
    return [tp.subject for tp in result.touchpoints]


class TestCursor:
    """What a second pull reads, given the first pull's cursor."""

    def test_cursor_records_each_file(self, write: Write, pull: PullFn) -> None:
        """The checkpoint's cursor has path, size, mtime, sha256, offset, next line and options hash."""
        path = write("t.csv", HEADER + rows("a", "b"))
        [state] = json.loads(pull(path="t.csv").cursor)["files"]
        assert state["path"] == str(path.resolve())
        assert (state["size"], state["offset"], state["line"]) == (path.stat().st_size,) * 2 + (4,)
        assert state["mtime_ns"] == path.stat().st_mtime_ns
        assert len(state["sha256"]) == 64 and len(state["options"]) == 16

    def test_unchanged_file_is_not_re_read(self, write: Write, pull: PullFn) -> None:
        """A second pull of an unchanged file yields nothing."""
        write("t.csv", HEADER + rows("a", "b"))
        first = pull(path="t.csv")
        second = pull(first.cursor, path="t.csv")
        assert second.touchpoints == [] and second.customers == [] and second.problems == []

    def test_appended_rows_only(self, write: Write, pull: PullFn) -> None:
        """Rows appended since the last pull are the only ones read, with their true line numbers."""
        path = write("t.csv", HEADER + rows("a", "b"))
        first = pull(path="t.csv")
        append(path, rows("c") + "bad,jo@acme.com,d\n")
        second = pull(first.cursor, path="t.csv")
        assert subjects(second) == ["c"]
        assert second.problems[0].startswith("t.csv:5: occurred_at:")
        append(path, rows("e"))
        assert subjects(pull(second.cursor, path="t.csv")) == ["e"]

    def test_unterminated_last_row_is_read_again_when_completed(
        self, write: Write, pull: PullFn
    ) -> None:
        """A last row without a newline may still be growing, so the next pull starts at it."""
        path = write("t.csv", HEADER + rows("a") + "2024-03-05,jo@acme.com,b")
        first = pull(path="t.csv")
        assert subjects(first) == ["a", "b"]
        append(path, "c\n" + rows("d"))
        assert subjects(pull(first.cursor, path="t.csv")) == ["bc", "d"]

    def test_open_quote_at_end_is_read_again(self, write: Write, pull: PullFn) -> None:
        """A quoted field still open at the end of the file is re-read once it is closed."""
        path = write("t.csv", HEADER + rows("a") + '2024-03-05,jo@acme.com,"multi\nline')
        first = pull(path="t.csv")
        append(path, ' text"\n' + rows("z"))
        assert subjects(pull(first.cursor, path="t.csv")) == ["multi\nline text", "z"]

    def test_rewritten_file_is_re_read_fully(self, write: Write, pull: PullFn) -> None:
        """A file whose old content changed (even if it grew) is read from the start."""
        path = write("t.csv", HEADER + rows("a", "b"))
        first = pull(path="t.csv")
        write("t.csv", HEADER + rows("A", "b", "c"))
        assert subjects(pull(first.cursor, path="t.csv")) == ["A", "b", "c"]
        assert path.exists()

    def test_same_size_rewrite_is_re_read(self, write: Write, pull: PullFn) -> None:
        """A rewrite of the same size but a new mtime is read again."""
        path = write("t.csv", HEADER + rows("a"))
        first = pull(path="t.csv")
        write("t.csv", HEADER + rows("b"))
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert subjects(pull(first.cursor, path="t.csv")) == ["b"]

    def test_truncated_file_is_re_read_fully(self, write: Write, pull: PullFn) -> None:
        """A file that shrank is read from the start."""
        write("t.csv", HEADER + rows("a", "b"))
        first = pull(path="t.csv")
        write("t.csv", HEADER + rows("x"))
        assert subjects(pull(first.cursor, path="t.csv")) == ["x"]

    def test_options_change_forces_re_read(self, write: Write, pull: PullFn) -> None:
        """Changing an option that shapes parsing re-reads unchanged files."""
        write("t.csv", HEADER + rows("a"))
        first = pull(path="t.csv")
        assert subjects(pull(first.cursor, path="t.csv", timezone="Europe/Berlin")) == ["a"]
        assert subjects(pull(first.cursor, path="t.csv", strict=True)) == []

    def test_only_changed_files_of_a_glob(self, write: Write, pull: PullFn) -> None:
        """In a glob, unchanged files are skipped and new files read."""
        write("x/a.csv", HEADER + rows("a"))
        b = write("x/b.csv", HEADER + rows("b"))
        first = pull(path="x/*.csv")
        append(b, rows("b2"))
        write("x/c.csv", HEADER + rows("c"))
        second = pull(first.cursor, path="x/*.csv")
        assert subjects(second) == ["b2", "c"]
        assert len(json.loads(second.cursor)["files"]) == 3

    def test_strict_failure_keeps_earlier_files_checkpointed(
        self, write: Write, source: Callable[..., object]
    ) -> None:
        """A strict failure in the second file comes after the first file's checkpoint."""
        from engage.adapters import Checkpoint

        write("x/a.csv", HEADER + rows("a"))
        write("x/b.csv", HEADER + "bad,jo@acme.com,b\n")
        items = []
        with pytest.raises(SourceError, match=r"^x/b.csv:2: occurred_at:"):
            for item in source(path="x/*.csv", strict=True).pull(None):  # type: ignore[attr-defined]
                items.append(item)
        assert isinstance(items[-1], Checkpoint)
        assert [f["path"].rsplit("/", 1)[1] for f in json.loads(items[-1].cursor)["files"]] == [
            "a.csv"
        ]

    @pytest.mark.parametrize(
        "cursor",
        [
            "not json",
            "[]",
            '{"version": 3}',
            '{"version": 3, "files": 7}',
            '{"version": "3", "files": []}',
            '{"version": 99, "files": []}',
            '{"version": 3, "files": [], "after": 1}',
            '{"version": 3, "files": [{"path": "t.csv"}]}',
            '{"format": "someone-else", "version": 999, "files": 7, "after": [1]}',
        ],
    )
    def test_a_cursor_it_cannot_read_raises_cursor_error(
        self, cursor: str, write: Write, source: Callable[..., Any]
    ) -> None:
        """Not JSON, another shape, or a newer parser's: CursorError before anything is
        yielded, so the sync sets it aside and starts over with a notice."""
        write("t.csv", HEADER + rows("a"))
        items = source(path="t.csv").pull(cursor)
        with pytest.raises(CursorError, match="cursor"):
            next(items)

    def test_a_file_state_of_another_type_raises_cursor_error(
        self, write: Write, pull: PullFn, source: Callable[..., Any]
    ) -> None:
        """A field of the right name but another type is not this source's cursor."""
        write("t.csv", HEADER + rows("a"))
        data = json.loads(pull(path="t.csv").cursor)
        data["files"][0]["offset"] = "12"
        with pytest.raises(CursorError, match=r"offset of type str \(expected int\)"):
            next(source(path="t.csv").pull(json.dumps(data)))

    def test_an_older_parsers_cursor_reads_every_file_again(
        self, write: Write, pull: PullFn
    ) -> None:
        """A cursor from before the parser changed is not damage: files are read again, as
        when a file is rewritten."""
        write("t.csv", HEADER + rows("a"))
        data = json.loads(pull(path="t.csv").cursor)
        data["version"] = PARSER_VERSION - 1
        assert subjects(pull(json.dumps(data), path="t.csv")) == ["a"]

    def test_every_cursor_a_pull_writes_reads_back(self, write: Write, pull: PullFn) -> None:
        """The checkpoints of a pull (several files) are cursors it reads."""
        write("x/a.csv", HEADER + rows("a"))
        write("x/b.csv", HEADER + rows("b"))
        first = pull(path="x/*.csv")
        for cursor in first.checkpoints:
            assert load_cursor(cursor)
        assert pull(first.cursor, path="x/*.csv").touchpoints == []

    def test_appended_latin1_and_crlf(self, write: Write, pull: PullFn) -> None:
        """Byte offsets stay right with multi-byte text, a BOM and CRLF endings."""
        path = write("t.csv", ("\ufeff" + HEADER + rows("é", "ü")).replace("\n", "\r\n"))
        first = pull(path="t.csv")
        append(path, rows("ß").replace("\n", "\r\n"))
        assert subjects(pull(first.cursor, path="t.csv")) == ["ß"]
