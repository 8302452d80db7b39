"""Nothing stops a file but the file: huge fields, NUL bytes and wide encodings."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engage.errors import SourceError
from engage.testing import Pull
from engage_csv.reader import Lines, detect_encoding, nul_pattern, records

Write = Callable[..., Path]
PullFn = Callable[..., Pull]

HEADER = "occurred_at,email,subject\n"


def row(subject: str) -> str:
    return f"2024-03-05,jo@acme.com,{subject}\n"


def subjects(result: Pull) -> list[str | None]:
    return [tp.subject for tp in result.touchpoints]


class TestHugeFields:
    """A field over the limit is one bad row at its line; the rows around it load."""

    def test_a_ten_megabyte_field_on_one_line(self, write: Write, pull: PullFn) -> None:
        """The classic 'field larger than field limit': now a problem naming the line."""
        write("t.csv", HEADER + row("a") + row("x" * 10_000_000) + row("b") + row("c"))
        result = pull(path="t.csv")
        assert subjects(result) == ["a", "b", "c"]
        assert result.problems == [
            "t.csv:3: row: a field longer than 1 MiB or a row longer than 4 MiB; skipped"
        ]

    def test_a_huge_quoted_field_spanning_lines_is_skipped_whole(
        self, write: Write, pull: PullFn
    ) -> None:
        """Its inner lines (and quotes) are not read as rows; line numbers stay right after it."""
        body = ('line with a, comma and a ""quote""\n' * 60_000).rstrip("\n")
        write(
            "t.csv",
            HEADER
            + row("a")
            + f'2024-03-05,jo@acme.com,"{body}"\n'
            + row("b")
            + "bad,jo@acme.com,c\n",
        )
        result = pull(path="t.csv")
        assert subjects(result) == ["a", "b"]
        assert result.problems[0].startswith("t.csv:3: row: a field longer than 1 MiB")
        assert result.problems[1].startswith("t.csv:60004: occurred_at: not a date")

    def test_a_field_just_under_the_limit_loads(self, write: Write, pull: PullFn) -> None:
        """Long notes are fine: up to 1 MiB a field."""
        write("t.csv", HEADER + row("y" * 1_000_000))
        assert subjects(pull(path="t.csv")) == ["y" * 1_000_000]


class TestNulBytes:
    """A NUL byte is not stored; its row is one bad row."""

    def test_a_row_with_a_nul_byte(self, write: Write, pull: PullFn) -> None:
        """The row is refused at its line; the others load."""
        write("t.csv", HEADER + row("a") + row("b\x00c") + row("d"))
        result = pull(path="t.csv")
        assert subjects(result) == ["a", "d"]
        assert result.problems == ["t.csv:3: row: contains a NUL byte (\\x00); skipped"]


class TestEncodings:
    """Byte-order marks decide; a wide file without one is named."""

    @pytest.mark.parametrize(
        "encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"]
    )
    def test_a_file_with_a_byte_order_mark_is_read(
        self, write: Write, pull: PullFn, encoding: str
    ) -> None:
        """UTF-8, UTF-16 and UTF-32 with a BOM, either byte order, read without an encoding option."""
        text = HEADER + row("Grüße") + row("日本")
        data = text.encode(encoding)
        if encoding in ("utf-16-le", "utf-16-be"):
            bom = b"\xff\xfe" if encoding.endswith("le") else b"\xfe\xff"
            data = bom + data
        write("t.csv", data)
        assert subjects(pull(path="t.csv")) == ["Grüße", "日本"]

    def test_a_utf16_file_is_re_read_when_it_grows(self, write: Write, pull: PullFn) -> None:
        """UTF-16 offsets are not resumed: the whole file is read again, ids keep it harmless."""
        path = write("t.csv", (HEADER + row("a")).encode("utf-16"))
        first = pull(path="t.csv")
        path.write_bytes((HEADER + row("a") + row("b")).encode("utf-16"))
        assert subjects(pull(first.cursor, path="t.csv")) == ["a", "b"]

    @pytest.mark.parametrize("wide", ["utf-16-le", "utf-16-be"])
    def test_utf16_without_a_mark_names_the_encoding(
        self, write: Write, pull: PullFn, wide: str
    ) -> None:
        """Every other byte NUL: the hint says which encoding to set."""
        write("t.csv", (HEADER + row("a")).encode(wide))
        with pytest.raises(SourceError) as error:
            pull(path="t.csv")
        assert str(error.value) == (
            f"t.csv: looks like {wide.upper()} text without a byte-order mark "
            f'(NUL bytes between the letters); set encoding = "{wide}"'
        )
        assert subjects(pull(path="t.csv", encoding=wide)) == ["a"]

    def test_encoding_utf16_on_a_file_without_a_mark_is_a_source_error(
        self, write: Write, pull: PullFn
    ) -> None:
        """encoding = "utf-16" needs a byte-order mark; without one Python's decoder raises a
        bare UnicodeError, reported as the file's SourceError (the fuzz test found it)."""
        write("t.csv", b"\x00\xff\xfe" + (HEADER + row("a")).encode("utf-16-le"))
        with pytest.raises(
            SourceError,
            match=r"^t.csv:1: cannot decode byte 0x00 as utf-16 \(UTF-16 stream does not",
        ):
            pull(path="t.csv", encoding="utf-16")

    def test_a_windows_1252_byte_names_cp1252(self, write: Write, pull: PullFn) -> None:
        """A curly quote (0x93) is printable only in Windows-1252."""
        write("t.csv", (HEADER + row("\u201cHi\u201d")).encode("cp1252"))
        with pytest.raises(SourceError) as error:
            pull(path="t.csv")
        assert str(error.value).startswith("t.csv:2: cannot decode byte 0x93 as utf-8")
        assert str(error.value).endswith('set encoding = "cp1252"')
        assert subjects(pull(path="t.csv", encoding="cp1252")) == ["\u201cHi\u201d"]

    def test_the_bom_is_detected_before_the_configured_encoding(self) -> None:
        """detect_encoding: the mark wins; without one the option is used."""
        assert detect_encoding(b"\xff\xfe\x00\x00", "latin-1") == "utf-32"
        assert detect_encoding(b"\xff\xfea\x00", "latin-1") == "utf-16"
        assert detect_encoding(b"abc,", "latin-1") == "latin-1"
        assert nul_pattern(b"plain text, no nul") is None


def read_back(text: str) -> list[list[str]]:
    lines = Lines(io.StringIO(text, newline=""))
    return [cells for _, cells, _ in records(lines, ",") if cells is not None]


cell = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=30
)


class TestReader:
    """The record reader reads what csv writes, and recovers where csv alone would fail."""

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.lists(cell, min_size=1, max_size=5), min_size=1, max_size=8))
    def test_reads_back_what_csv_writes(self, rows: list[list[str]]) -> None:
        """Any cells, quotes, delimiters and line breaks included, come back as written."""
        buffer = io.StringIO(newline="")
        csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
        assert read_back(buffer.getvalue()) == rows

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=200))
    def test_any_text_reads_without_an_exception(self, text: str) -> None:
        """Garbage gives records or problems, never an exception, and counts every line."""
        lines = Lines(io.StringIO(text, newline=""))
        list(records(lines, ","))
        assert lines.lines == len(io.StringIO(text, newline="").readlines()) - (
            0 if not text or text[-1] in "\r\n" else 1
        )
