"""`engage check` preview of mbox files: the header map, one row per message with its
place and headers, file problems, and nothing written."""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

from gmail_kit import mbox_source

from engage.adapters import Problem, Skipped
from engage.models import Touchpoint
from engage.preview import FieldMap, Previewable, PreviewRow, preview_of

PERCEVAL = Path(__file__).parent / "data" / "mbox" / "perceval"


def finished(path: Path) -> Path:
    old = time.time() - 3600
    os.utime(path, (old, old))
    return path


def test_rows_name_their_byte_and_show_their_headers(tmp_path: Path) -> None:
    """The pipermail archive: field map first, then four rows `FILE: byte N` with From and
    Subject, each holding its touchpoint; no file is written beside the archive."""
    finished(Path(shutil.copyfile(PERCEVAL / "pipermail_2015_november.mbox", tmp_path / "a.mbox")))
    source = mbox_source(tmp_path, "a.mbox", mailbox_owner="carol@ourco.com")
    assert isinstance(source, Previewable)
    items = list(preview_of(source))
    fields = [i for i in items if isinstance(i, FieldMap)]
    assert ("From", "contact_email") in {(f.name, f.target) for f in fields}
    assert ("Date", "occurred_at") in {(f.name, f.target) for f in fields}
    rows = [i for i in items if isinstance(i, PreviewRow)]
    assert rows[0].place == "a.mbox: byte 0"
    assert len(rows) == 4
    assert rows[0].raw["From"] == "andy at example.com (Andy Grunwald)"
    assert all(any(isinstance(x, Touchpoint) for x in r.items) for r in rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mbox"]


def test_file_problems_and_waiting_messages(tmp_path: Path) -> None:
    """A file with no message is a problem naming it; a message still being written is a
    row saying so."""
    (tmp_path / "bad.mbox").write_bytes(random.Random(1).randbytes(512))
    (tmp_path / "good.mbox").write_bytes(
        b"From a@acme.com Thu Jan 14 19:30:22 2021\nFrom: a@acme.com\nSubject: Hi"
    )
    items = list(preview_of(mbox_source(tmp_path, "*.mbox", mailbox_owner="carol@ourco.com")))
    problems = [i.message for i in items if isinstance(i, Problem)]
    assert problems == [
        "bad.mbox: no message found; expected an mbox file whose messages start with 'From ' "
        "lines (Google Takeout, Thunderbird, Mailman archives)"
    ]
    [row] = [i for i in items if isinstance(i, PreviewRow)]
    assert row.place == "good.mbox: byte 0"
    assert row.items == (Skipped("message still being written (read when complete)"),)
