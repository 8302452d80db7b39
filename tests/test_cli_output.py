"""What the command line prints fits where it is printed: tables at 80 and 200 columns, on a
terminal and piped, TSV and JSON, colour only on a terminal; options where people type them;
customers by name."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engage.cli import cli
from engage.cli_options import EXAMPLES
from tests.support.terminal import colours, environment, in_terminal
from tests.test_plugins import BUILTIN_RULES

pytest.importorskip("engage_csv", reason="these tests read the demo's sample with the CSV adapter")

AS_OF = "2026-11-02T09:00:00Z"
DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
RULES = BUILTIN_RULES
posix = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo's kept store and config (one per module: the demo takes a second)."""
    keep = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENGAGE_LOAD_PLUGINS", "csv")
        patch.delenv("ENGAGE_AS_OF", raising=False)
        result = CliRunner().invoke(cli, ["demo", "--keep", str(keep)])
        assert result.exit_code == 0, result.output
        yield keep


def engage(*args: str, columns: int | None = None, **env: str) -> Any:
    """``engage ARGS`` in-process with stdout piped, ``COLUMNS`` set if given."""
    settings: dict[str, str | None] = {
        "ENGAGE_LOAD_PLUGINS": "csv",
        "COLUMNS": None if columns is None else str(columns),
        "ENGAGE_AS_OF": None,
        "NO_COLOR": None,
        **env,
    }
    return CliRunner().invoke(cli, list(args), env=settings)


def at_demo(demo: Path, *args: str, columns: int | None = None) -> Any:
    result = engage(*args, "-c", str(demo / "engage.toml"), "--as-of", AS_OF, columns=columns)
    assert result.exit_code == 0, result.output
    return result


def table_rows(text: str) -> list[str]:
    """The body lines of a piped table: those that start with a date or a row's first cell."""
    return [line for line in text.splitlines() if DATE.match(line.strip())]


class TestTablesFit:
    """Tables fit 80 columns and more without cutting a date or a rule's name."""

    def test_tasks_at_80_columns_keep_dates_and_rules_whole(self, demo: Path) -> None:
        """At 80 columns: every line fits, one line per task, dates and rules whole, long
        titles end in an ellipsis, and the caption names the columns left out."""
        out = at_demo(demo, "tasks", columns=80).stdout
        planned = json.loads(at_demo(demo, "tasks", "--json").stdout)
        assert max(len(line) for line in out.splitlines()) <= 80
        rows = table_rows(out)
        assert len(rows) == len(planned)  # a title never spills onto a second line
        for row, task in zip(rows, planned, strict=True):
            due, rule = row.split()[:2]
            assert due == task["due"]
            assert rule == task["rule"] in RULES
        assert any(row.rstrip().endswith("…") for row in rows)
        assert "left out at 80 columns" in out and "owner" in out.split("left out")[0]

    def test_tasks_at_200_columns_show_every_column(self, demo: Path) -> None:
        """At 200 columns every column is there and nothing is left out."""
        out = at_demo(demo, "tasks", columns=200).stdout
        header = next(line for line in out.splitlines() if "due" in line and "title" in line)
        for column in ("due", "priority", "kind", "rule", "customer", "title", "owner"):
            assert column in header
        assert "left out" not in out
        assert max(len(line) for line in out.splitlines()) <= 200

    def test_health_at_80_columns_wraps_reasons_not_words(self, demo: Path) -> None:
        """Health at 80 columns: lines fit, every customer's score is there, and a reason
        wraps into a column at least 30 wide (never a word per line)."""
        out = at_demo(demo, "health", columns=80).stdout
        reports = json.loads(at_demo(demo, "health", "--json").stdout)
        assert max(len(line) for line in out.splitlines()) <= 80
        for report in reports:
            name = report["name"] or report["customer"]
            line = next(line for line in out.splitlines() if line.strip().startswith(name[:12]))
            assert f" {report['score']} " in line
        header = next(line for line in out.splitlines() if "weakest factor" in line)
        start = header.index("weakest factor")
        assert 80 - start >= 30

    def test_one_customers_factors_fit_80_columns(self, demo: Path) -> None:
        """health --customer at 80 columns: its factors as a table that fits."""
        out = at_demo(demo, "health", "--customer", "acme-logistics.com", columns=80).stdout
        assert max(len(line) for line in out.splitlines()) <= 80
        for factor in ("recency", "frequency", "reciprocity", "ownership"):
            assert re.search(rf"^\s+{factor}\s+\d\.\d\d\s+0\.\d\d\s", out, re.M)


class TestPiped:
    """Piped output is plain text $COLUMNS wide (160 when unset), TSV or JSON on request."""

    def test_piped_output_honours_columns(self, demo: Path) -> None:
        """COLUMNS=120: the table uses the width and stays within it."""
        out = at_demo(demo, "tasks", columns=120).stdout
        widest = max(len(line) for line in out.splitlines())
        assert 100 < widest <= 120

    def test_piped_output_without_columns_is_160_wide_at_most(self, demo: Path) -> None:
        """With COLUMNS unset a piped table may use 160 columns, no more."""
        out = at_demo(demo, "tasks").stdout
        widest = max(len(line) for line in out.splitlines())
        assert 120 < widest <= 160

    def test_no_escape_sequences_when_piped(self, demo: Path) -> None:
        """Nothing but text when piped, even with colours in the table."""
        for command in ("health", "tasks"):
            assert "\x1b" not in at_demo(demo, command).stdout
        assert "\x1b" not in engage("plugins", "--all").stdout

    def test_tsv_has_every_column_and_one_row_per_task(self, demo: Path) -> None:
        """--format tsv: a header, then one tab-separated row per task with the whole title."""
        out = at_demo(demo, "tasks", "--format", "tsv", columns=80).stdout
        planned = json.loads(at_demo(demo, "tasks", "--json").stdout)
        lines = out.splitlines()
        assert lines[0].split("\t") == [
            "due",
            "priority",
            "kind",
            "rule",
            "customer",
            "owner",
            "title",
            "key",
        ]
        rows = [line.split("\t") for line in lines[1:]]
        assert [row[-1] for row in rows] == [task["key"] for task in planned]
        assert [row[6] for row in rows] == [task["title"] for task in planned]
        assert "\x1b" not in out

    def test_health_tsv_names_each_customer_once(self, demo: Path) -> None:
        """health --format tsv: key, name, score, band, stage, weakest factor and reason."""
        out = at_demo(demo, "health", "--format", "tsv").stdout
        reports = json.loads(at_demo(demo, "health", "--json").stdout)
        rows = [line.split("\t") for line in out.splitlines()[1:]]
        assert {row[0] for row in rows} == {r["customer"] for r in reports}
        assert all(len(row) == 7 for row in rows)

    def test_format_json_is_json(self, demo: Path) -> None:
        """--format json prints what --json prints."""
        assert (
            at_demo(demo, "tasks", "--format", "json").stdout
            == at_demo(demo, "tasks", "--json").stdout
        )


@posix
class TestTerminal:
    """On a real terminal: its width, and colour unless NO_COLOR."""

    @pytest.mark.parametrize("columns", [80, 200])
    def test_tasks_fit_the_terminal(self, demo: Path, columns: int) -> None:
        """In a pseudo-terminal of 80 or 200 columns, every line fits and every due date
        and rule is whole."""
        env = environment(ENGAGE_LOAD_PLUGINS="csv")
        ran = in_terminal(
            ["tasks", "-c", str(demo / "engage.toml"), "--as-of", AS_OF],
            columns=columns,
            cwd=demo,
            env=env,
        )
        assert ran.code == 0, ran.plain
        lines = ran.plain.splitlines()
        assert max(len(line) for line in lines) <= columns
        rows = [line.strip("│┃ ") for line in lines if DATE.search(line)]
        assert rows and all(row.split()[0].count("-") == 2 for row in rows)
        assert all(any(rule in row for rule in RULES) for row in rows)

    def test_colour_on_a_terminal_unless_no_color(self, demo: Path) -> None:
        """Bands are coloured on a terminal; with NO_COLOR set there is no colour code."""
        args = ["health", "-c", str(demo / "engage.toml"), "--as-of", AS_OF]
        coloured = in_terminal(
            args, columns=100, cwd=demo, env=environment(ENGAGE_LOAD_PLUGINS="csv")
        )
        plain = in_terminal(
            args, columns=100, cwd=demo, env=environment(ENGAGE_LOAD_PLUGINS="csv", NO_COLOR="1")
        )
        assert coloured.code == plain.code == 0, plain.plain
        assert colours(coloured.output)
        assert "at_risk" in plain.plain
        assert colours(plain.output) == []


class TestOptions:
    """Global options before or after the command; help with examples and exit codes."""

    def test_config_after_the_command(self, demo: Path) -> None:
        """-c/--config works before the command, after it, or both (the command's wins)."""
        config = str(demo / "engage.toml")
        before = engage("--config", config, "tasks", "--json", "--as-of", AS_OF)
        after = engage("tasks", "--json", "--config", config, "--as-of", AS_OF)
        short = engage("tasks", "--json", "-c", config, "--as-of", AS_OF)
        both = engage("-c", "nowhere.toml", "tasks", "--json", "-c", config, "--as-of", AS_OF)
        assert before.exit_code == after.exit_code == short.exit_code == both.exit_code == 0
        assert before.stdout == after.stdout == short.stdout == both.stdout

    def test_every_command_shows_examples(self) -> None:
        """Each command's --help ends with two or three examples."""
        for name in ("init", "check", "sync", "health", "tasks", "report", "plugins", "demo"):
            shown = CliRunner().invoke(cli, [name, "--help"]).stdout
            assert "Examples:" in shown, name
            assert 2 <= len(EXAMPLES[name]) <= 3
            for command, _what in EXAMPLES[name]:
                assert command in shown

    def test_help_lists_the_exit_codes(self) -> None:
        """engage --help lists every exit code with its meaning."""
        from engage import errors

        shown = CliRunner().invoke(cli, ["--help"]).stdout
        assert "Exit codes:" in shown
        for code in (0, 2, errors.EXIT_ERROR, errors.EXIT_TEMPFAIL, errors.EXIT_CONFIG):
            assert re.search(rf"^\s+{code}\s+\w", shown, re.M), code

    def test_global_options_are_listed_on_each_command(self) -> None:
        """A command's --help shows the options that work after it."""
        shown = CliRunner().invoke(cli, ["health", "--help"]).stdout
        for option in ("--config", "--quiet", "--verbose", "--log-file"):
            assert option in shown


class TestCustomer:
    """--customer takes a key, a name or a unique start of either, in any case."""

    @pytest.mark.parametrize(
        "given", ["acme-logistics.com", "Acme Logistics", "acme logistics", "ACME", "acme-"]
    )
    def test_by_key_name_or_prefix(self, demo: Path, given: str) -> None:
        """Each form finds Acme Logistics."""
        result = at_demo(demo, "health", "--json", "--customer", given)
        assert [h["customer"] for h in json.loads(result.stdout)] == ["acme-logistics.com"]
        tasks = at_demo(demo, "tasks", "--json", "--customer", given)
        assert {t["customer"] for t in json.loads(tasks.stdout)} <= {"acme-logistics.com"}

    def test_a_typo_suggests_the_closest_names(self, demo: Path) -> None:
        """An unknown customer is one error line naming the closest ones."""
        result = engage("health", "-c", str(demo / "engage.toml"), "--customer", "Acme Logstics")
        assert result.exit_code == 1
        line = result.stderr.strip()
        assert "no customer 'Acme Logstics'" in line and "did you mean" in line
        assert "Acme Logistics" in line and "acme-logistics.com" in line
