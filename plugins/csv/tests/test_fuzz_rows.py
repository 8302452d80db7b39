"""Fuzzing the CSV source: random cells (quotes, delimiters, line breaks, NULs, huge fields,
dates in every shape), random bytes spliced in, and files in other encodings, through
``CsvSource.pull`` and ``CsvSource.preview``.

Whatever the file, the source yields engage's own items (records, problems, skips,
checkpoints) or raises one of engage's errors (:class:`~engage.errors.EngageError`): never an
unexpected exception. Run alone with ``pytest -m fuzz plugins/csv/tests``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engage.adapters import (
    AdapterContext,
    Checkpoint,
    Notice,
    Problem,
    Retire,
    Skipped,
    resolve_options,
)
from engage.errors import EngageError
from engage.identity import Identity
from engage.models import Contact, Customer, Owner, Touchpoint
from engage_csv import CsvSource

pytestmark = pytest.mark.fuzz

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
IDENTITY = Identity.for_domains(["ourco.com"])
ITEMS = (Touchpoint, Customer, Contact, Owner, Problem, Skipped, Checkpoint, Retire, Notice)
HEADERS = ["occurred_at", "email", "channel", "direction", "owner", "subject", "customer",
           "name", "segment", "feedback", "outcome", "message_id", "external_id", "Status",
           "Activity Date", "Contact Email", ""]  # fmt: skip

cells = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "2026-01-05 10:00",
            "05/01/2026",
            "2026-13-45",
            "1e9",
            "9999-12-31T23:59",
            "jane@acme.com",
            "bob@ourco.com",
            "not an address",
            "@",
            "a@b@c",
            "email",
            "call",
            "meeting",
            "inbound",
            "out",
            "10",
            "-1",
            "NaN",
            "",
        ]
    ),
    st.text(alphabet='",;\t\r\n\x00 \\', max_size=8),
    st.builds(lambda n, c: c * n, st.integers(1000, 200_000), st.sampled_from(["x", '"'])),
    # long runs of line breaks stay short here: see test_a_cell_of_many_line_breaks_...
    st.builds(lambda n: "\n" * n, st.integers(10, 60)),
)


#: Cells that mostly fit their column, so rows get past the header and into the parser.
FITTING: dict[str, st.SearchStrategy[str]] = {
    "occurred_at": st.sampled_from(
        ["2026-01-05 10:00", "2025-12-31T23:59:59Z", "05/01/2026", "2026-02-30", "yesterday"]
    )
    | cells,
    "email": st.sampled_from(["jane@acme.com", "bob@ourco.com", "Jane <jane@acme.com>", "x@y"])
    | cells,
    "channel": st.sampled_from(["email", "call", "meeting", "note", "Meeting", "fax"]) | cells,
    "direction": st.sampled_from(["inbound", "outbound", "in", "out", "sideways"]) | cells,
}

#: True four times in five (hypothesis favours the ends of an integer range).
USUALLY = st.sampled_from([True, True, True, True, False])


@st.composite
def files(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    """A CSV file's bytes and the source options to read it with."""
    extra = st.sampled_from(HEADERS) | st.text(max_size=10)
    header = list(FITTING) if draw(USUALLY) else []
    header += draw(st.lists(extra, min_size=0 if header else 1, max_size=3))
    row = st.tuples(*(FITTING.get(name, cells) for name in header)).map(list)
    rows = draw(st.lists(row | st.lists(cells, max_size=len(header) + 2), max_size=12))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    out = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    writer = csv.writer(
        out,
        delimiter=delimiter,
        quoting=quoting,
        lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])),
    )
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    text = out.getvalue()
    if draw(st.integers(0, 9)) == 7:  # a raw line no writer would make: stray quotes and all
        text += draw(st.text(max_size=40)) + "\n"
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"]))
    raw = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 4)) == 3:
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut] + draw(st.binary(max_size=16)) + raw[cut:]
    options: dict[str, Any] = {"path": "export.csv"}
    if encoding not in ("utf-8", "utf-8-sig") or draw(st.booleans()):
        options["encoding"] = draw(st.sampled_from([encoding, encoding, encoding, "utf-8"]))
    if draw(USUALLY):
        options["delimiter"] = delimiter
    if draw(st.integers(0, 3)) == 2:
        options["strict"] = True
    if draw(st.integers(0, 3)) == 2:
        options["date_format"] = draw(st.sampled_from(["%d/%m/%Y", "%Y-%m-%d %H:%M"]))
    if not draw(USUALLY):
        options["columns"] = {"occurred_at": header[-1], "email": header[0]}
    return raw, options


def build(directory: Path, options: dict[str, Any]) -> CsvSource | None:
    try:
        resolved = resolve_options(CsvSource.options, options, "engage.toml: [sources.files]")
        return CsvSource(resolved, AdapterContext("files", base_dir=directory, identity=IDENTITY))
    except EngageError:
        return None


@FUZZ
@given(file=files())
def test_any_file_gives_records_problems_or_an_engage_error(
    file: tuple[bytes, dict[str, Any]],
) -> None:
    """Pull the file twice (the second from the cursor of the first): only engage's items,
    or an EngageError."""
    raw, options = file
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        (directory / "export.csv").write_bytes(raw)
        source = build(directory, options)
        if source is None:
            event("refused options")
            return
        cursor = None
        try:
            for item in source.pull(None):
                assert isinstance(item, ITEMS), item
                if isinstance(item, Touchpoint):
                    event("a touchpoint")
                if isinstance(item, Checkpoint):
                    cursor = item.cursor
            items = list(source.pull(cursor))
            assert all(isinstance(item, ITEMS) for item in items)
        except EngageError as error:
            event(type(error).__name__)


@FUZZ
@given(file=files())
def test_any_file_previews_as_rows_or_an_engage_error(file: tuple[bytes, dict[str, Any]]) -> None:
    """What ``engage check`` shows: the preview's rows, or an EngageError."""
    raw, options = file
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        (directory / "export.csv").write_bytes(raw)
        source = build(directory, options)
        if source is None:
            return
        with contextlib.suppress(EngageError):
            for _ in source.preview():
                pass


def test_a_cell_of_many_line_breaks_is_read_in_bounded_cpu(tmp_path: Path) -> None:
    """A 60,000-line-break quoted cell (a long multi-line note) is read within 2 s of CPU
    (the child's RLIMIT_CPU; a second of work is 50 times what it needs)."""
    (tmp_path / "export.csv").write_text(
        'occurred_at,email,channel,notes\n2026-01-05 10:00,jane@acme.com,email,"'
        + "\n" * 60_000
        + '"\n'
    )
    child = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_CPU, (2, 2))
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from pathlib import Path
        from test_fuzz_rows import build
        source = build(Path({str(tmp_path)!r}), {{"path": "export.csv"}})
        print(sum(1 for _ in source.pull(None)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"killed by the CPU limit ({done.returncode})"


@settings(max_examples=60, deadline=None)
@given(raw=st.binary(max_size=2000))
def test_random_bytes_are_read_or_refused(raw: bytes) -> None:
    """Bytes that are no CSV at all: problems or an EngageError."""
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        (directory / "export.csv").write_bytes(raw)
        source = build(directory, {"path": "export.csv"})
        assert source is not None
        with contextlib.suppress(EngageError):
            assert all(isinstance(item, ITEMS) for item in source.pull(None))
