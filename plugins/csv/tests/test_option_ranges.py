"""The CSV keys are checked when the config is loaded: a date_format strptime cannot read
back, or a max_bad_ratio outside 0 to 1, is one line naming the file, the table and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from engage.cli import cli


def check_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str) -> tuple[int, str]:
    (tmp_path / "export.csv").write_text("occurred_at,email\n05-03-2024,jo@acme.com\n")
    (tmp_path / "engage.toml").write_text(
        f'[sources.files]\nplugin = "csv"\npath = "export.csv"\n{line}\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENGAGE_CONFIG", raising=False)
    monkeypatch.setenv("ENGAGE_LOAD_PLUGINS", "csv")
    result = CliRunner().invoke(cli, ["sync"])
    return result.exit_code, result.stderr


def test_a_date_format_with_an_unknown_directive_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """%Q-%d is refused before a row is read, not as one bad row per line."""
    code, stderr = check_with(tmp_path, monkeypatch, 'date_format = "%Q-%d"')
    assert code == 78
    assert stderr.startswith(
        f"engage: error: {tmp_path / 'engage.toml'}: [sources.files]: key 'date_format' "
        "expected a strptime format"
    )
    assert "'Q' is a bad directive" in stderr and stderr.count("\n") == 1
    assert not (tmp_path / "engage.db").exists()


def test_a_good_date_format_reads_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """%d-%m-%Y passes the check and reads the row."""
    code, stderr = check_with(tmp_path, monkeypatch, 'date_format = "%d-%m-%Y"')
    assert code == 0, stderr


def test_max_bad_ratio_above_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A share of rows is from 0 to 1."""
    code, stderr = check_with(tmp_path, monkeypatch, "max_bad_ratio = 2")
    assert code == 78
    assert "[sources.files]: key 'max_bad_ratio' expected a number from 0 to 1 (got 2.0)" in stderr
