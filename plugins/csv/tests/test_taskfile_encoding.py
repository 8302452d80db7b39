"""The task file's records are written exactly as the csv module writes them.

:func:`engage_csv.taskfile.encode_rows` builds records with string methods for speed; these
tests hold it to :mod:`csv`'s writer, character for character, on any text a task may carry.
"""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engage_csv import taskfile

#: Any text: quotes, commas, line endings, NULs, lone surrogates (bytes carried through a
#: hand-edited file), and runs of the characters that decide quoting.
_TEXT = st.text(st.characters(blacklist_categories=())) | st.text(
    st.sampled_from(['"', ",", "\r", "\n", " ", "a", "é", "\x00"])
)


def written_by_csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


@given(st.lists(st.lists(_TEXT, max_size=6), max_size=5))
def test_records_are_what_the_csv_writer_writes(rows: list[list[str]]) -> None:
    """Any rows, character for character as csv.writer writes them, and read back whole."""
    text = taskfile.encode_rows(rows)
    assert text == written_by_csv(rows)
    assert list(csv.reader(io.StringIO(text, newline=""))) == rows


@pytest.mark.parametrize(
    ("fields", "record"),
    [
        ([""], '""\r\n'),  # one empty field: quoted, or the line would read as no field
        (["", ""], ",\r\n"),
        ([], "\r\n"),
        (['say "hi"', "x"], '"say ""hi""",x\r\n'),
        (["a,b", "line\nbreak", "cr\ronly"], '"a,b","line\nbreak","cr\ronly"\r\n'),
        ([" padded ", "tab\there"], " padded ,tab\there\r\n"),
    ],
)
def test_the_quoting_rules(fields: list[str], record: str) -> None:
    """Quotes are doubled inside a quoted field; commas and line endings are quoted; nothing
    else is, spaces and tabs included."""
    assert taskfile.encode_row(fields) == record
    assert written_by_csv([fields]) == record
