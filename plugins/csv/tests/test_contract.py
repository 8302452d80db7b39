"""The CSV source and sink keep engage's promises (engage.testing's contract suites)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from engage.testing import SinkCase, SinkContract, SourceCase, SourceContract

HEADER = "Date,Email,Type,Direction,Rep\n"
FIRST = (
    "2026-02-02 10:00,jane@acme.com,Meeting,out,carol@ourco.com\n"
    "2026-02-03T16:30:00+01:00,bob@globex.io,Email,in,carol@ourco.com\n"
)
SECOND = (
    "2026-02-10 08:00,jane@acme.com,Call,out,carol@ourco.com\n"
    "not a date,jo@initech.com,Email,in,\n"
    "2026-02-12 08:00,jo@initech.com,Email,in,\n"
)
COLUMNS = {"occurred_at": "Date", "email": "Email", "channel": "Type", "owner": "Rep"}


class TestCsvSource(SourceContract):
    """Two exports, one with a row whose date cannot be read."""

    @pytest.fixture
    def source_case(self, tmp_path: Path) -> SourceCase:
        (tmp_path / "exports").mkdir()
        (tmp_path / "exports/a.csv").write_text(HEADER + FIRST)
        (tmp_path / "exports/b.csv").write_text(HEADER + SECOND)
        return SourceCase(
            adapter="csv",
            options={"path": "exports/*.csv", "columns": COLUMNS},
            base_dir=tmp_path,
            places=("exports/b.csv:3",),
            fail=lambda: shutil.rmtree(tmp_path / "exports"),
        )


class TestCsvSink(SinkContract):
    """A task file, read back row by row."""

    @pytest.fixture
    def sink_case(self, tmp_path: Path) -> SinkCase:
        path = tmp_path / "out/tasks.csv"

        def remote_keys() -> list[str]:
            if not path.exists():
                return []
            with path.open(encoding="utf-8", newline="") as handle:
                return [row["key"] for row in csv.DictReader(handle)]

        return SinkCase(
            adapter="csv",
            options={"path": "out/tasks.csv"},
            base_dir=tmp_path,
            remote_keys=remote_keys,
            fail=lambda: (tmp_path / "out").mkdir() or (tmp_path / "out/tasks.csv").mkdir(),
        )
