"""Progress that tells the truth and runs a scheduler can read: stages with percentages on a
terminal, nothing on stderr when piped, counts that say what they count, --quiet, -v and
--log-file with each line's UTC time and the run's id."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from engage.adapters import AdapterContext, Progress, expect, resolve_options
from engage.progress import Tally
from engage.testing import Project
from tests.support.terminal import environment, in_terminal, piped

pytest.importorskip("engage_csv", reason="these tests sync a CSV file")

ROWS = 4_500  # every customer and contact, in more than one of the pull's write batches
STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ engage\[([0-9a-f]{6})\] [A-Z]+ \S")
CONFIG = """\
[sources.files]
plugin = "csv"
path = "history.csv"

[sinks.todo]
plugin = "csv"
path = "follow-ups.csv"
"""
posix = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")


def history(rows: int) -> str:
    """A CSV of ``rows`` emails with 400 customers of 3 contacts each, two a day."""
    lines = ["occurred_at,email,direction,owner,subject"]
    for n in range(rows):
        day, half = divmod(n, 2)
        month, mday = divmod(day % 600, 28)
        who = n % 1200
        lines.append(
            f"{2025 + month // 12}-{month % 12 + 1:02d}-{mday + 1:02d}T{9 + half * 5}:00:00Z,"
            f"p{who}@c{who % 400}.com,{'inbound' if n % 3 else 'outbound'},"
            f"o{who % 7}@ourco.com,Re: order {n}"
        )
    return "\n".join(lines) + "\n"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A config reading ``history.csv`` (4,500 rows) into a CSV task file."""
    project = Project(tmp_path, plugins=("csv",))
    project.config(CONFIG)
    project.write("history.csv", history(ROWS))
    return project


def env(project: Project, **extra: str) -> dict[str, str]:
    """The project's environment for a child engage (see tests.support.terminal)."""
    return environment(project.environ(), **extra)


def sync(project: Project, *args: str, **extra: str) -> Any:
    return piped(["sync", *args], cwd=project.path, env=env(project, **extra))


@posix
class TestOnATerminal:
    """On a terminal each stage is drawn by name, with a percentage when the size is known."""

    def test_sync_names_each_stage_with_a_percentage(self, project: Project) -> None:
        """The pull of the file shows its bytes and a percentage; then scoring and pushing."""
        ran = in_terminal(["sync"], columns=100, cwd=project.path, env=env(project))
        assert ran.code == 0, ran.plain
        shown = ran.plain
        assert "pull files (csv)" in shown
        assert re.search(r"of \d+(\.\d)? (kB|MB) · \d+%", shown)
        assert re.search(r"scoring 400 customers", shown)
        assert "pushing new tasks to todo" in shown
        assert f"from {ROWS:,} rows read" in shown  # the summary, after the stages

    def test_verbose_lines_on_a_terminal_are_short(self, project: Project) -> None:
        """-v on a terminal: each stage's line as 'engage: ...', no time stamp."""
        ran = in_terminal(["sync", "-v"], columns=120, cwd=project.path, env=env(project))
        assert ran.code == 0, ran.plain
        lines = ran.plain.splitlines()
        assert any(line.startswith("engage: pull files (csv): ") for line in lines)
        assert not any(STAMPED.match(line) for line in lines)


class TestPiped:
    """Piped or redirected: nothing drawn, nothing on stderr unless asked."""

    def test_nothing_on_stderr_when_piped(self, project: Project) -> None:
        """A piped sync writes its summary to stdout and nothing to stderr."""
        done = sync(project)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        assert "source files (csv)" in done.stdout and "\x1b" not in done.stdout

    def test_counts_say_what_they_count(self, project: Project) -> None:
        """Records (what rows became) and rows read are told apart, here and in JSON."""
        done = sync(project, "--dry-run")
        first = next(line for line in done.stdout.splitlines() if line.startswith("source"))
        records = re.search(r"([\d,]+) records \(([\d,]+) touchpoints\) from ([\d,]+) rows", first)
        assert records, first
        assert int(records.group(2).replace(",", "")) == ROWS
        assert int(records.group(3).replace(",", "")) == ROWS
        assert int(records.group(1).replace(",", "")) > ROWS  # plus customers and contacts
        again = json.loads(sync(project, "--json").stdout)
        assert again["sources"]["files"]["read"] == {}  # the file is unchanged: nothing read

    def test_json_carries_the_run_id(self, project: Project) -> None:
        """sync --json names its run, as its log lines do."""
        done = sync(project, "--json", "-v")
        run_id = json.loads(done.stdout)["run_id"]
        assert re.fullmatch(r"[0-9a-f]{6}", run_id)
        lines = done.stderr.splitlines()
        assert lines and all(STAMPED.match(line) for line in lines), done.stderr
        assert {STAMPED.match(line).group(1) for line in lines} == {run_id}  # type: ignore[union-attr]
        text = done.stderr
        for stage in ("started: ", "pull files (csv): ", "scored and planned ", "sink todo (csv)"):
            assert stage in text
        assert "ended: exit 0" in text

    def test_quiet_prints_nothing_when_all_is_well(self, project: Project) -> None:
        """-q: no summary, no progress, exit 0."""
        done = sync(project, "-q")
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")

    def test_quiet_still_says_what_failed(self, project: Project) -> None:
        """-q with a source that cannot be read: no summary, one error line, non-zero exit."""
        project.config(CONFIG.replace("history.csv", "missing/*.csv"))
        done = sync(project, "-q")
        assert done.returncode != 0
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1 and "error" in done.stderr

    def test_a_warning_is_stamped_when_piped(self, project: Project) -> None:
        """A moment from $ENGAGE_AS_OF is announced, stamped with time and run."""
        assert sync(project).returncode == 0
        done = piped(
            ["health"], cwd=project.path, env=env(project, ENGAGE_AS_OF="2026-11-02T09:00:00Z")
        )
        assert done.returncode == 0, done.stderr
        (line,) = done.stderr.splitlines()
        assert STAMPED.match(line) and "WARNING" in line and "$ENGAGE_AS_OF" in line


class TestLogFile:
    """--log-file appends every run's lines, stamped, whatever stderr shows."""

    def test_two_runs_append_with_their_ids(self, project: Project) -> None:
        """Two syncs (the option after the command) append to the file, each line stamped
        with its run's id; stderr stays empty."""
        first = sync(project, "--log-file", "logs/engage.log")
        second = sync(project, "--log-file", "logs/engage.log", "--json")
        assert first.returncode == second.returncode == 0
        assert first.stderr == second.stderr == ""
        lines = (project.path / "logs" / "engage.log").read_text().splitlines()
        assert all(STAMPED.match(line) for line in lines)
        ids = list(dict.fromkeys(STAMPED.match(line).group(1) for line in lines))  # type: ignore[union-attr]
        assert ids[1] == json.loads(second.stdout)["run_id"] and len(ids) == 2
        assert sum("ended: exit 0" in line for line in lines) == 2
        assert any("sync finished (exit 0)" in line and "rows read" in line for line in lines)

    def test_a_failed_sync_is_in_the_log(self, project: Project) -> None:
        """The error line a failed sync prints is in the log file too."""
        project.write("history.csv", "occurred_at,email\nnot a date,x@y.com\n")
        done = sync(project, "--log-file", "engage.log")
        assert done.returncode != 0
        logged = (project.path / "engage.log").read_text()
        assert "] ERROR sync incomplete: 1 source(s) failed" in logged
        assert f"ended: exit {done.returncode}" in logged

    def test_an_error_line_is_in_the_log_once_and_on_stderr_once(self, project: Project) -> None:
        """A config error ends the run with its one line on stderr, and the same line at
        ERROR in the log file, each once, before the run's end."""
        project.config(CONFIG + "\n[segments.default]\ncadence_days = 0\n")
        done = sync(project, "--log-file", "engage.log")
        assert done.returncode == 78
        said = "key 'segments.default.cadence_days' expected a number from 1 up (got 0)"
        (line,) = done.stderr.splitlines()
        assert line.startswith("engage: error: ") and said in line
        logged = (project.path / "engage.log").read_text().splitlines()
        errors = [entry for entry in logged if "] ERROR " in entry]
        assert len(errors) == 1 and errors[0].endswith(line.removeprefix("engage: error: "))
        assert logged.index(errors[0]) < next(
            n for n, entry in enumerate(logged) if "ended: exit 78" in entry
        )

    def test_a_log_file_that_cannot_be_written_is_bad_usage(self, project: Project) -> None:
        """A directory given as the log file: exit 2, naming the option."""
        (project.path / "logs").mkdir()
        done = sync(project, "--log-file", "logs")
        assert done.returncode == 2
        assert "--log-file" in done.stderr


class TestProgressProtocol:
    """Sources report their size through the Progress protocol when it takes totals."""

    class Sized:
        def __init__(self) -> None:
            self.totals: dict[str, int] = {}
            self.counts: dict[str, int] = {}

        def advance(self, what: str, count: int = 1) -> None:
            self.counts[what] = self.counts.get(what, 0) + count

        def total(self, what: str, count: int) -> None:
            self.totals[what] = count

    class Plain:
        def __init__(self) -> None:
            self.counts: dict[str, int] = {}

        def advance(self, what: str, count: int = 1) -> None:
            self.counts[what] = self.counts.get(what, 0) + count

    def test_expect_reaches_only_a_progress_that_takes_totals(self) -> None:
        """expect() tells a sized progress and returns True; a plain one is left alone."""
        sized, plain = self.Sized(), self.Plain()
        assert expect(sized, "bytes", 10) and sized.totals == {"bytes": 10}
        assert not expect(plain, "bytes", 10)

    def test_the_csv_source_reports_its_bytes(self, project: Project) -> None:
        """The CSV source expects the file's size and reads exactly that many bytes."""
        from engage_csv.source import CsvSource

        seen = self.Sized()
        options = resolve_options(CsvSource.options, {"path": "history.csv"}, "[sources.files]")
        source = CsvSource(options, AdapterContext("files", base_dir=project.path, progress=seen))
        list(source.pull(None))
        size = (project.path / "history.csv").stat().st_size
        assert seen.totals == {"bytes": size}
        assert seen.counts == {"rows": ROWS, "bytes": size}

    def test_the_mbox_source_reports_its_bytes(self, tmp_path: Path) -> None:
        """The Takeout (mbox) source expects the files' size and reads that many bytes."""
        pytest.importorskip("engage_gmail")
        from engage_gmail.sources import GmailSource

        messages = "".join(
            f"From x@acme.com Mon Jan  6 10:0{n}:00 2025\n"
            f"From: Jane <jane@acme.com>\nTo: me@ourco.com\nSubject: hello {n}\n"
            f"Date: Mon, 6 Jan 2025 10:0{n}:00 +0000\nMessage-ID: <{n}@acme.com>\n\nHi.\n\n"
            for n in range(3)
        )
        (tmp_path / "mail.mbox").write_text(messages)
        seen = self.Sized()
        options = resolve_options(
            GmailSource.options,
            {"mbox": "mail.mbox", "mailbox_owner": "me@ourco.com", "settle_seconds": 0},
            "[sources.mail]",
        )
        source = GmailSource(options, AdapterContext("mail", base_dir=tmp_path, progress=seen))
        list(source.pull(None))
        size = (tmp_path / "mail.mbox").stat().st_size
        assert seen.totals == {"bytes": size}
        assert seen.counts["bytes"] == size and seen.counts["messages"] == 3

    def test_a_tally_counts_and_passes_on(self) -> None:
        """A Tally counts each kind (its read leaves out bytes) and passes totals on only
        to a progress that takes them."""
        sized, plain = self.Sized(), self.Plain()
        for inner in (sized, plain):
            tally = Tally(inner)
            progress: Progress = tally
            assert expect(progress, "bytes", 100)
            progress.advance("rows", 3)
            progress.advance("bytes", 100)
            assert tally.read() == {"rows": 3}
            assert inner.counts == {"rows": 3, "bytes": 100}
        assert sized.totals == {"bytes": 100}
