"""The CSV keys are checked when the config is loaded: a date_format strptime cannot read
back, or a max_bad_ratio outside 0 to 1, is one line naming the file, the table and the key."""

from __future__ import annotations

from pathlib import Path

from engage.testing import Project


def check_with(tmp_path: Path, line: str) -> tuple[int, str]:
    project = Project(tmp_path, plugins=("csv",))
    project.write("export.csv", "occurred_at,email\n05-03-2024,jo@acme.com\n")
    project.config(f'[sources.files]\nplugin = "csv"\npath = "export.csv"\n{line}\n')
    run = project.run("sync")
    return run.code, run.stderr


def test_a_date_format_with_an_unknown_directive_is_refused(tmp_path: Path) -> None:
    """%Q-%d is refused before a row is read, not as one bad row per line."""
    code, stderr = check_with(tmp_path, 'date_format = "%Q-%d"')
    assert code == 78
    assert stderr.startswith(
        f"engage: error: {tmp_path / 'engage.toml'}: [sources.files]: key 'date_format' "
        "expected a strptime format"
    )
    assert "'Q' is a bad directive" in stderr and stderr.count("\n") == 1
    assert not (tmp_path / "engage.db").exists()


def test_a_good_date_format_reads_the_file(tmp_path: Path) -> None:
    """%d-%m-%Y passes the check and reads the row."""
    code, stderr = check_with(tmp_path, 'date_format = "%d-%m-%Y"')
    assert code == 0, stderr


def test_max_bad_ratio_above_one_is_refused(tmp_path: Path) -> None:
    """A share of rows is from 0 to 1."""
    code, stderr = check_with(tmp_path, "max_bad_ratio = 2")
    assert code == 78
    assert "[sources.files]: key 'max_bad_ratio' expected a number from 0 to 1 (got 2.0)" in stderr
