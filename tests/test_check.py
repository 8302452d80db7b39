"""engage check: read every source as a sync would, write nothing, and say what it made of it."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner, Result

from engage.adapters import AdapterContext, Checkpoint, Option, Problem, Skipped, SourceItem
from engage.cli import App, cli
from engage.errors import SourceError
from engage.hookspecs import hookimpl
from engage.models import Contact, Customer, Touchpoint
from engage.plugins import make_plugin_manager
from engage.preview import FieldMap, PreviewItem, PreviewRow, Unmapped

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HINT = 'values = { channel = { "Prep" = "note", "Lunch" = "meeting" } }'


class _Fake:
    options: ClassVar[Mapping[str, Option]] = {
        "rows": Option(int, default=5),
        "unmapped": Option(bool, default=False),
    }

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        self.name = context.name
        self.rows = options["rows"]
        self.unmapped = options["unmapped"]

    def touchpoint(self, number: int, when: datetime | None = None) -> Touchpoint:
        return Touchpoint(
            source=self.name,
            external_id=str(number),
            customer="acme.com",
            occurred_at=when or START + timedelta(hours=number),
            channel="email",
            direction="inbound",
            contact_email="jane@acme.com",
            owner="alice@ourco.com",
        )


class PreviewingSource(_Fake):
    """A CSV-like source with its own preview: row 2 is internal mail, row 3 bad, row 4 passed over."""

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        raise AssertionError("engage check must use preview() when a source has one")

    def preview(self) -> Iterator[PreviewItem]:
        yield FieldMap("Activity Date", "occurred_at", "ISO 8601")
        yield FieldMap("Contact Email", "contact_email")
        yield FieldMap("Notes", None)
        for number in range(1, self.rows + 1):
            place = f"export.csv:{number + 1}"
            raw = {"Activity Date": f"row {number}"}
            if number == 1:
                items: tuple[SourceItem, ...] = (
                    Customer("acme.com", name="Acme"),
                    Contact("jane@acme.com", "acme.com"),
                    self.touchpoint(number),
                )
            elif number == 2:
                items = (Skipped("internal"),)
            elif number == 3:
                items = (Problem(f"{place}: occurred_at: not a date (got 'soon')"),)
            elif number == 4:
                items = (Skipped("Status = Not Started"),)
            else:
                items = (self.touchpoint(number),)
            yield PreviewRow(place, items, raw)
        yield Problem("export.csv: line 40: an unclosed quote runs to the end of the file")
        if self.unmapped:
            yield Unmapped("channel", ("Prep", "Lunch"), HINT)


class PullingSource(_Fake):
    """A source without preview: check reads its pull(None), one record a row."""

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        assert cursor is None
        yield Customer("globex.com")
        yield self.touchpoint(1)
        yield Checkpoint("1")
        yield Problem("feed.jsonl:3: channel: unknown (got 'fax')")
        yield Skipped("automated")
        yield self.touchpoint(
            5, when=datetime(3609, 1, 1, tzinfo=UTC)
        )  # a typo: refused as in a sync
        yield Checkpoint("2")


class FailingSource(PreviewingSource):
    """A source that gives up after one row: too many bad rows."""

    def preview(self) -> Iterator[PreviewItem]:
        yield PreviewRow("export.csv:2", (self.touchpoint(1),))
        raise SourceError("export.csv: 98 of 100 rows bad (over max_bad_ratio 0.5)")


class EmptySource(PreviewingSource):
    """A source whose input holds nothing engage recognises."""

    def preview(self) -> Iterator[PreviewItem]:
        yield from ()


class BrokenSource(_Fake):
    """A plugin with a bug."""

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        yield self.touchpoint(1)
        raise ValueError("boom")


class ExplodingSource(_Fake):
    """A plugin whose constructor has a bug."""

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        raise RuntimeError("no attribute 'token'")

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        yield from ()


class CheckKit:
    @hookimpl
    def engage_register_sources(self, register: Any) -> None:
        register("previewing", PreviewingSource)
        register("pulling", PullingSource)
        register("failing", FailingSource)
        register("empty", EmptySource)
        register("broken", BrokenSource)
        register("exploding", ExplodingSource)


def write_config(directory: Path, sources: str) -> Path:
    path = directory / "engage.toml"
    path.write_text(f'store = "engage.db"\ninternal_domains = ["ourco.com"]\n\n{sources}')
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENGAGE_CONFIG", raising=False)
    return tmp_path


def run(*args: str, csv: bool = False) -> Result:
    pm = make_plugin_manager(entry_points=False)
    pm.register(CheckKit(), name="checkkit")
    if csv:
        import engage_csv

        pm.register(engage_csv, name="csv")
    return CliRunner().invoke(cli, ["check", *args], obj=App(None, pm=pm))


def source(name: str, plugin: str, extra: str = "") -> str:
    return f'[sources.{name}]\nplugin = "{plugin}"\n{extra}\n'


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


class TestTable:
    def test_shows_mapping_rows_problems_and_a_verdict(self, project: Path) -> None:
        """The mapping, each row as parsed with its outcome, every problem with its place, an ok verdict."""
        write_config(project, source("feed", "previewing"))
        result = run()
        assert result.exit_code == 0, result.output
        out = result.stdout
        assert "source feed (previewing)" in out
        assert "Activity Date → occurred_at  (ISO 8601)" in lines(out)
        assert "Notes → not used" in lines(out)
        assert "feed: all 5 rows" in out
        for column in ("place", "time (UTC)", "customer", "contact", "channel", "direction"):
            assert column in out
        assert "export.csv:2" in out and "2026-01-05 10:00" in out and "jane@acme.com" in out
        assert "internal" in out and "skipped: Status = Not Started" in out
        assert "bad: occurred_at: not a date (got 'soon')" in out
        assert "problems (2):" in lines(out)
        assert "export.csv:4: occurred_at: not a date (got 'soon')" in lines(out)
        assert "export.csv: line 40: an unclosed quote runs to the end of the file" in lines(out)
        assert lines(out)[-1] == (
            "feed: 5 rows: 2 touchpoints, 2 passed over (Status = Not Started 1, internal 1), "
            "1 bad, 1 other problem — ok"
        )
        assert result.stderr == ""

    def test_first_rows_by_default_more_with_rows_every_one_with_all(self, project: Path) -> None:
        """20 rows are shown unless --rows N says otherwise or --all asks for every one; all are counted."""
        write_config(project, source("feed", "previewing", "rows = 30"))
        shown = run()
        assert "feed: the first 20 of 30 rows" in shown.stdout
        assert "export.csv:21" in shown.stdout and "export.csv:22" not in shown.stdout
        assert "feed: 30 rows: 27 touchpoints" in shown.stdout
        assert "feed: all 30 rows" in run("--all").stdout
        five = json.loads(run("--rows", "5", "--json").stdout)["sources"]["feed"]
        assert [row["place"] for row in five["rows"]] == [f"export.csv:{n}" for n in range(2, 7)]
        assert five["counts"]["rows"] == 30
        every = json.loads(run("--all", "--json").stdout)["sources"]["feed"]
        assert len(every["rows"]) == 30

    def test_unmapped_values_need_mapping_and_give_the_line_to_add(self, project: Path) -> None:
        """Values no mapping covers are listed with the config line that maps them; the verdict is 'needs mapping', exit 1."""
        write_config(project, source("feed", "previewing", "unmapped = true"))
        result = run()
        assert result.exit_code == 1
        assert "no mapping for channel: Prep, Lunch" in lines(result.stdout)
        assert f"add to [sources.feed]: {HINT}" in lines(result.stdout)
        assert lines(result.stdout)[-1].endswith("— needs mapping")
        assert result.stderr == "engage: error: check: 1 of 1 source(s) not ready (feed)\n"

    def test_at_most_fifty_problems_are_printed(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With more than 50 problems the text lists 50 and says how many more there are."""

        def many(self: PreviewingSource) -> Iterator[PreviewItem]:
            yield PreviewRow("export.csv:2", (self.touchpoint(1),))
            for number in range(3, 63):
                yield PreviewRow(f"export.csv:{number}", (Problem("occurred_at: missing"),))

        monkeypatch.setattr(PreviewingSource, "preview", many)
        write_config(project, source("feed", "previewing"))
        result = run("--rows", "0")
        assert "problems (60):" in lines(result.stdout)
        assert "export.csv:52: occurred_at: missing" in lines(result.stdout)
        assert "export.csv:53: occurred_at: missing" not in lines(result.stdout)
        assert "... and 10 more (engage check --json lists up to 1,000)" in lines(result.stdout)
        assert "time (UTC)" not in result.stdout  # --rows 0: no table
        assert result.exit_code == 0


class TestJson:
    def test_one_object_with_every_source(self, project: Path) -> None:
        """--json prints {"sources": {NAME: {plugin, mapping, rows, counts, problems, unmapped, verdict, ok}}}."""
        write_config(project, source("feed", "previewing", "unmapped = true"))
        result = run("--json")
        assert result.exit_code == 1
        feed = json.loads(result.stdout)["sources"]["feed"]
        keys = {"plugin", "mapping", "rows", "counts", "problems", "unmapped", "verdict", "ok"}
        assert keys <= set(feed)
        assert feed["plugin"] == "previewing" and feed["read_by"] == "preview"
        assert feed["mapping"][0] == {
            "name": "Activity Date",
            "target": "occurred_at",
            "note": "ISO 8601",
        }
        assert feed["mapping"][2]["target"] is None
        assert feed["rows"][0] == {
            "place": "export.csv:2",
            "time": "2026-01-05T10:00:00+00:00",
            "customer": "acme.com",
            "contact": "jane@acme.com",
            "channel": "email",
            "direction": "inbound",
            "owner": "alice@ourco.com",
            "outcome": "ok",
            "detail": "",
            "raw": {"Activity Date": "row 1"},
        }
        assert [(r["outcome"], r["detail"]) for r in feed["rows"][1:4]] == [
            ("internal", "internal"),
            ("bad", "occurred_at: not a date (got 'soon')"),
            ("skipped", "Status = Not Started"),
        ]
        assert feed["counts"] == {
            "rows": 5,
            "records": {"touchpoints": 2, "customers": 1, "contacts": 1, "owners": 0},
            "touchpoints": 2,
            "retired": 0,
            "skipped": {"internal": 1, "Status = Not Started": 1},
            "bad": 1,
            "problems": 1,
            "unmapped": {"channel": 2},
        }
        assert feed["problems"] == [
            "export.csv:4: occurred_at: not a date (got 'soon')",
            "export.csv: line 40: an unclosed quote runs to the end of the file",
        ]
        assert feed["unmapped"] == {"channel": {"values": ["Prep", "Lunch"], "hint": HINT}}
        assert feed["verdict"].endswith("— needs mapping")
        assert feed["ok"] is False


class TestSources:
    def test_a_source_without_preview_is_read_through_pull(self, project: Path) -> None:
        """Each item of pull(None) is a row of its own; a touchpoint dated far ahead is bad, as in a sync."""
        write_config(project, source("crm", "pulling"))
        result = run("--json")
        assert result.exit_code == 0, result.output
        crm = json.loads(result.stdout)["sources"]["crm"]
        assert crm["read_by"] == "pull" and crm["mapping"] == []
        assert [(r["place"], r["outcome"]) for r in crm["rows"]] == [
            ("record 1", "ok"),
            ("record 2", "ok"),
            ("record 3", "bad"),
            ("record 4", "skipped"),
            ("record 5", "bad"),
        ]
        assert crm["rows"][0]["customer"] == "globex.com"
        assert crm["problems"] == [
            "record 3: feed.jsonl:3: channel: unknown (got 'fax')",
            "record 5: touchpoint '5': occurred_at: in the future (got '3609-01-01T00:00:00+00:00')",
        ]
        assert crm["verdict"] == "5 records: 1 touchpoint, 1 passed over (automated 1), 2 bad — ok"
        text = run().stdout
        assert "has no preview" in text and "crm: the first 5 of 5" not in text
        assert "crm: all 5 records" in text

    def test_a_source_error_is_the_verdict(self, project: Path) -> None:
        """A source that gives up (SourceError) fails with its own words; the rows before it are shown."""
        write_config(project, source("files", "failing"))
        result = run()
        assert result.exit_code == 1
        assert "export.csv:2" in result.stdout
        assert lines(result.stdout)[-1] == (
            "files: export.csv: 98 of 100 rows bad (over max_bad_ratio 0.5) — fails"
        )
        assert result.stderr == "engage: error: check: 1 of 1 source(s) not ready (files)\n"

    def test_nothing_recognised_fails(self, project: Path) -> None:
        """A source that yields no record at all: 'no records found — fails'."""
        write_config(project, source("files", "empty"))
        result = run("--json")
        assert result.exit_code == 1
        files = json.loads(result.stdout)["sources"]["files"]
        assert files["verdict"] == "no records found — fails" and files["ok"] is False

    def test_a_plugin_bug_is_one_line_and_the_others_are_still_checked(self, project: Path) -> None:
        """An unexpected exception becomes one line naming the source and the exception; no traceback."""
        write_config(project, source("bad", "broken") + source("feed", "previewing"))
        result = run()
        assert result.exit_code == 1
        assert "bad: unexpected ValueError: boom — fails" in lines(result.stdout)
        assert "Traceback" not in result.output
        assert lines(result.stdout)[-1].startswith("feed: 5 rows:")
        assert result.stderr == "engage: error: check: 1 of 2 source(s) not ready (bad)\n"


class TestSelection:
    def test_check_name_reads_only_that_source(self, project: Path) -> None:
        """engage check NAME checks one source; the others are not even built."""
        write_config(project, source("feed", "previewing") + source("bad", "exploding"))
        result = run("feed", "--json")
        assert result.exit_code == 0
        assert list(json.loads(result.stdout)["sources"]) == ["feed"]

    def test_a_source_that_cannot_be_built_is_one_line(self, project: Path) -> None:
        """A constructor's bug is one stderr line naming the source and the exception."""
        write_config(project, source("feed", "previewing") + source("bad", "exploding"))
        result = run()
        assert result.exit_code == 1
        assert result.stderr == (
            "engage: error: source 'bad' (exploding) could not be built: "
            "unexpected RuntimeError: no attribute 'token'\n"
        )

    def test_an_unknown_name_is_one_line_naming_the_sources(self, project: Path) -> None:
        """An unknown NAME: one stderr line listing the configured sources, exit 78 (config)."""
        write_config(project, source("feed", "previewing") + source("crm", "pulling"))
        result = run("nope")
        assert result.exit_code == 78
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith("engage: error: ")
        assert "no source named 'nope' (configured sources: feed, crm)" in result.stderr

    def test_config_problems_are_config_errors(self, project: Path) -> None:
        """A bad key in a source's table fails before anything is read, as in engage sync."""
        write_config(project, source("feed", "previewing", "colums = 3"))
        result = run()
        assert result.exit_code == 78
        assert result.stdout == ""
        assert "[sources.feed]: unknown key 'colums'" in result.stderr
        write_config(project, "")
        assert "no sources configured" in run().stderr


def test_check_never_creates_or_touches_the_store(project: Path) -> None:
    """On a fresh config no store file, no lock file and nothing else appears, whatever the outcome."""
    config = write_config(
        project, source("feed", "previewing") + source("crm", "pulling") + source("x", "failing")
    )
    before = sorted(project.iterdir())
    for args in ((), ("--json",), ("--all",), ("feed",), ("x",)):
        run(*args)
    assert not (project / "engage.db").exists()
    assert sorted(project.iterdir()) == before == [config]


CSV = """occurred_at,email,channel,direction,owner,subject
2026-02-20T10:00:00Z,jane@acme.com,email,inbound,alice@ourco.com,Hello
soon,jane@acme.com,email,inbound,alice@ourco.com,Broken date
2026-02-21T09:30:00Z,jane@acme.com,call,outbound,alice@ourco.com,Call back
2026-02-22T08:00:00Z,jo@gmail.com,meeting,outbound,alice@ourco.com,Lunch
"""


def test_end_to_end_with_the_csv_plugin(project: Path) -> None:
    """engage check on a small CSV file through the real plugin, before any sync.

    The CSV source may or may not offer preview() yet; without it, check reads pull(None)
    (one record a row: customers and contacts are rows of their own). So this asserts only
    what holds either way: three touchpoints, one bad row naming its file, line and field,
    the customer keys, an ok verdict, and no store.
    """
    pytest.importorskip("engage_csv")
    (project / "interactions.csv").write_text(CSV)
    write_config(project, source("files", "csv", 'path = "interactions.csv"'))
    result = run("--json", csv=True)
    assert result.exit_code == 0, result.output
    files = json.loads(result.stdout)["sources"]["files"]
    assert files["counts"]["touchpoints"] == 3
    assert files["counts"]["bad"] == 1
    assert any("interactions.csv:3" in p and "occurred_at" in p for p in files["problems"])
    customers = {row["customer"] for row in files["rows"] if row["channel"]}
    assert customers == {"acme.com", "jo@gmail.com"}
    calls = [row for row in files["rows"] if row["channel"] == "call"]
    assert calls[0]["time"] == "2026-02-21T09:30:00+00:00"
    assert calls[0]["direction"] == "outbound"
    assert files["verdict"].endswith("— ok") and files["ok"] is True
    text = run(csv=True).stdout
    assert lines(text)[-1].startswith("files: ") and lines(text)[-1].endswith("— ok")
    assert not (project / "engage.db").exists()
