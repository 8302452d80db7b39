"""CsvSource.preview, for engage check: field maps, each row as parsed, problems, unmapped values; nothing written."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from engage.adapters import Problem, Skipped
from engage.models import Touchpoint
from engage.preview import FieldMap, Previewable, PreviewRow, Unmapped
from engage_csv import CsvSource

Write = Callable[..., Path]

EXPORT = (
    "When,Email,Type,Status,Plan\n"
    "2024-03-05,jo@acme.com,Call,Done,Gold\n"
    "2024-03-06,ann@acme.com,Prep,Done,\n"
    "2024-03-07,bo@acme.com,Call,Open,\n"
    "2024-03-08,cy@acme.com,Sync,Done,\n"
    "yesterday,di@acme.com,Call,Done,\n"
)


def files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


def test_the_source_is_previewable(source: Callable[..., CsvSource]) -> None:
    """engage check finds preview through the core's Previewable protocol."""
    assert isinstance(source(path="t.csv"), Previewable)


def test_preview_shows_fields_rows_problems_and_unmapped_values(
    write: Write, source: Callable[..., CsvSource], tmp_path: Path
) -> None:
    """FieldMaps first, a PreviewRow per row with its place and cells, Unmapped values last."""
    write("t.csv", EXPORT)
    csv_source = source(
        path="t.csv",
        columns={"occurred_at": "When", "email": "Email", "channel": "Type"},
        skip={"Status": ["Open"]},
        attributes=["Plan"],
        max_bad_ratio=0.1,
    )
    items = list(csv_source.preview())
    maps = [i for i in items if isinstance(i, FieldMap)]
    rows = [i for i in items if isinstance(i, PreviewRow)]
    assert [(m.name, m.target) for m in maps] == [
        ("When", "occurred_at"),
        ("Email", "email"),
        ("Type", "channel"),
        ("Status", None),
        ("Plan", "attributes.Plan"),
    ]
    assert maps[3].note == "rows with Open are passed over"
    assert [r.place for r in rows] == ["t.csv:2", "t.csv:3", "t.csv:4", "t.csv:5", "t.csv:6"]
    assert rows[0].raw == {
        "When": "2024-03-05",
        "Email": "jo@acme.com",
        "Type": "Call",
        "Status": "Done",
        "Plan": "Gold",
    }
    assert [type(i).__name__ for i in rows[0].items] == ["Customer", "Contact", "Touchpoint"]
    assert rows[0].items[0].attributes == {"Plan": "Gold"}  # type: ignore[union-attr]
    assert isinstance(rows[1].items[0], Problem)
    assert rows[1].items[0].message.startswith("t.csv:3: channel: unknown channel")
    assert rows[2].items == (Skipped("Status = Open"),)
    assert isinstance(rows[4].items[0], Problem)
    assert items[-1] == Unmapped(
        "channel", ("Prep", "Sync"), 'values = { channel = { "Prep" = "?", "Sync" = "?" } }'
    )


def test_preview_writes_nothing_and_ignores_the_ratio(
    write: Write, source: Callable[..., CsvSource], tmp_path: Path
) -> None:
    """No cursor, no index file, no change to the directory; a mostly-bad file is still shown whole."""
    write("exports/t.csv", EXPORT.replace(",Type,Status,Plan", ",Type,Status,Who"))
    write("exports/u.csv", "When,Email,Who\n2024-03-05,,c1\n")
    write("Contact.csv", "Id,Email\nc1,jo@acme.com\n")
    before = files(tmp_path)
    temp_before = set(os.listdir("/tmp"))
    items = list(
        source(
            path="exports/*.csv",
            columns={"occurred_at": "When", "email": "Email"},
            lookups={"Who": {"path": "Contact.csv", "key": "Id", "fields": {"email": "Email"}}},
        ).preview()
    )
    assert files(tmp_path) == before
    assert not {n for n in set(os.listdir("/tmp")) - temp_before if n.startswith("engage-csv")}
    touchpoints = [
        i for r in items if isinstance(r, PreviewRow) for i in r.items if isinstance(i, Touchpoint)
    ]
    assert any(tp.contact_email == "jo@acme.com" for tp in touchpoints)


def test_a_file_that_cannot_be_read_is_a_problem_and_the_others_are_shown(
    write: Write, source: Callable[..., CsvSource]
) -> None:
    """A missing column is a file-level Problem; the next file is previewed."""
    write("a.csv", "Subject\nhello\n")
    write("b.csv", "occurred_at,email\n2024-03-05,jo@acme.com\n")
    items = list(source(path="*.csv").preview())
    assert items[0] == Problem(
        "a.csv: missing column 'occurred_at' (the header has: Subject; "
        'map yours with columns = { occurred_at = "Your Header" })'
    )
    assert [i.place for i in items if isinstance(i, PreviewRow)] == ["b.csv:2"]


def test_no_file_is_a_problem(source: Callable[..., CsvSource]) -> None:
    """A glob matching nothing is shown, not raised."""
    [problem] = list(source(path="none/*.csv").preview())
    assert isinstance(problem, Problem)
    assert problem.message.startswith("none/*.csv: no files match")
