"""engage report: one self-contained HTML file, checked as text and in a real browser.

The browser tests drive Debian's Chromium (``/usr/bin/chromium``, or ``$ENGAGE_CHROMIUM``)
with Playwright, network off. Outside CI they skip, naming what is missing; with
``ENGAGE_REQUIRE_BROWSER=1`` (set by ./scripts/test where it can install Chromium) they fail
instead.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engage.cli import App, cli
from engage.engine import Engine
from engage.errors import EngageError
from engage.htmlreport import assets as report_assets
from engage.htmlreport import collect, render, write_atomically
from engage.htmlreport.model import Portfolio
from engage.models import Customer, Owner
from engage.plugins import Registry, make_plugin_manager
from engage.store.sqlite import SQLiteStore

AS_OF = datetime(2026, 11, 2, 9, tzinfo=UTC)
REGISTRY = Registry.from_plugins(make_plugin_manager(entry_points=False))
REQUIRED = os.environ.get("ENGAGE_REQUIRE_BROWSER") == "1" or bool(os.environ.get("CI"))


def needs(reason: str) -> None:
    """Skip with ``reason``, or fail where the browser test must run."""
    if REQUIRED:
        pytest.fail(f"{reason} (required here: ENGAGE_REQUIRE_BROWSER or CI is set)")
    pytest.skip(reason)


def engine_on(path: Path) -> Engine:
    return Engine(
        store=SQLiteStore(path),
        factors=[r.value for r in REGISTRY.factors.values()],
        rules=[r.value for r in REGISTRY.rules.values()],
    )


def month(n: int) -> datetime:
    """``n`` months (of 30 days) before AS_OF."""
    return AS_OF - timedelta(days=30 * n)


def build(engine: Engine) -> None:
    """Fourteen months of a small book: steady, cooling, revived, new and empty accounts."""
    engine.add([Owner("ann@ourco.com", name="Ann Lee"), Owner("bo@ourco.com", name="Bo Diaz")])
    engine.add([Customer("northwind.com", name="Northwind Traders", segment="enterprise")])
    engine.add([Customer("crm-only.com", name="Only In The CRM")])
    for n in range(14, 0, -1):  # steady: a meeting and mail both ways every month
        engine.touch(
            "kim@steady.com",
            month(n) + timedelta(days=3),
            "meeting",
            "outbound",
            owner="ann@ourco.com",
        )
        engine.touch("kim@steady.com", month(n) + timedelta(days=5), "email", "inbound")
        engine.touch(
            "kim@steady.com",
            month(n) + timedelta(days=6),
            "email",
            "outbound",
            owner="ann@ourco.com",
        )
    for n in range(14, 3, -1):  # cooling: busy until four months ago, silent since
        engine.touch("raj@northwind.com", month(n), "call", "outbound", owner="bo@ourco.com")
        engine.touch("raj@northwind.com", month(n) + timedelta(days=2), "email", "inbound")
    for n in (14, 13, 12, 11, 10):  # revived: quiet most of the year, busy again this month
        engine.touch("lee@phoenix.io", month(n), "email", "inbound")
        engine.touch(
            "lee@phoenix.io",
            month(n) + timedelta(days=1),
            "email",
            "outbound",
            owner="bo@ourco.com",
        )
    for days in (20, 12, 6, 2):
        engine.touch(
            "lee@phoenix.io",
            AS_OF - timedelta(days=days),
            "meeting",
            "outbound",
            owner="bo@ourco.com",
        )
        engine.touch("lee@phoenix.io", AS_OF - timedelta(days=days - 1), "email", "inbound")
    engine.touch("mo@fresh.dev", AS_OF - timedelta(days=9), "email", "inbound")
    for n in range(12, 6, -1):  # lapsed: a customer that stopped writing long ago
        engine.touch("ola@lapsed.org", month(n), "email", "inbound")
    # two syncs: one 35 days ago, one now (the report back-fills the months before)
    engine.record_history(engine.health(AS_OF - timedelta(days=35)))
    engine.record_history(engine.health(AS_OF))  # fmt: skip


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Portfolio]]:
    path = tmp_path_factory.mktemp("report") / "engage.db"
    engine = engine_on(path)
    build(engine)
    portfolio = collect(engine, AS_OF, sources=[("python", "python")])
    yield engine, portfolio
    engine.store.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def page(book: tuple[Engine, Portfolio]) -> str:
    return "".join(render(book[1], "/* vega bundle */", generated=AS_OF))


class TestPortfolio:
    """What the report gathers: the lists a team lead reads first."""

    def test_the_at_risk_list_gives_each_weakest_factor_in_words(
        self, book: tuple[Engine, Portfolio], page: str
    ) -> None:
        """Northwind went quiet four months ago: it is at risk, and the page says why."""
        _, portfolio = book
        at_risk = {row.key: row for row in portfolio.at_risk}
        assert "northwind.com" in at_risk
        weakest = at_risk["northwind.com"].weakest
        assert weakest is not None and weakest.explain in page

    def test_the_movers_name_the_factor_that_moved(
        self, book: tuple[Engine, Portfolio], page: str
    ) -> None:
        """Phoenix rose and Northwind fell over 30 days, each with the factor behind it."""
        _, portfolio = book
        rising = {m.row.key: m for m in portfolio.rising}
        falling = {m.row.key: m for m in portfolio.falling}
        assert "phoenix.io" in rising and "northwind.com" in falling
        assert rising["phoenix.io"].factor is not None
        assert f"<strong>{rising['phoenix.io'].factor.name}</strong>" in page

    def test_the_band_history_is_back_filled_then_recorded(
        self, book: tuple[Engine, Portfolio]
    ) -> None:
        """Twelve month ends and now, each counting customers by band; the back-fill is said."""
        _, portfolio = book
        assert len(portfolio.month_ends) == 13
        assert sum(portfolio.bands_by_month[-1].values()) == portfolio.customers == 6
        assert sum(portfolio.bands_by_month[0].values()) >= 3  # known a year ago
        assert portfolio.backfilled_until is not None
        assert portfolio.bands_by_segment["enterprise"] == {"at_risk": 1}

    def test_tasks_are_counted_by_owner_and_by_rule(self, book: tuple[Engine, Portfolio]) -> None:
        """The open tasks, grouped both ways, add up to the same total."""
        _, portfolio = book
        by_owner = sum(sum(c.values()) for c in portfolio.tasks_by_owner.values())
        by_rule = sum(sum(c.values()) for c in portfolio.tasks_by_rule.values())
        assert by_owner == by_rule > 0

    def test_a_drifting_owner_is_named(self, book: tuple[Engine, Portfolio]) -> None:
        """Bo's Northwind fell a band: Bo is among the owners whose accounts drift."""
        _, portfolio = book
        assert "Bo Diaz" in {d.owner for d in portfolio.drifting}


class TestPage:
    """The HTML: self-contained, linked, searchable, readable without the charts."""

    def test_nothing_is_fetched(self, page: str) -> None:
        """No external script, style, image or font; the policy forbids connections."""
        assert "connect-src" not in page and "default-src 'none'" in page
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)

    def test_every_link_leads_to_a_section(self, page: str) -> None:
        """Each customer named in a list links to its own section."""
        ids = set(re.findall(r'id="([^"]+)"', page))
        targets = set(re.findall(r'href="#([^"]+)"', page))
        assert targets and targets <= ids
        assert len(ids) == len(re.findall(r'id="([^"]+)"', page)), "ids are unique"

    def test_every_chart_has_its_numbers_behind_a_toggle(self, page: str) -> None:
        """A chart is a labelled image with a button that shows its table."""
        charts = re.findall(r'<div class="chart" [^>]*role="img" aria-label="[^"]+"', page)
        toggles = re.findall(r'class="numbers-toggle" aria-expanded="false"', page)
        assert charts and len(charts) == len(toggles)

    def test_top_n_limits_sections_but_search_finds_everyone(
        self, book: tuple[Engine, Portfolio]
    ) -> None:
        """With one section asked for, the listed customers still get theirs; the search
        holds all six."""
        engine, _ = book
        small = collect(engine, AS_OF, top=1)
        listed = {r.key for r in small.at_risk} | {m.row.key for m in small.falling + small.rising}
        assert {d.row.key for d in small.details} == listed | {small.details[0].row.key}
        assert len(small.index) == 6
        assert [row[7] for row in small.index].count("") == 6 - len(small.details)

    def test_a_failed_write_leaves_the_old_file(self, tmp_path: Path) -> None:
        """The report is written beside and renamed: a failure keeps the previous report."""
        target = tmp_path / "report.html"
        target.write_text("old report")

        def pieces() -> Iterator[str]:
            yield "<html>half"
            raise OSError("disk full")

        with pytest.raises(EngageError, match="disk full"):
            write_atomically(target, pieces())
        assert target.read_text() == "old report"
        assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


class TestCommandLine:
    """``engage report`` and ``engage sync --report``."""

    def test_without_the_extra_it_says_what_to_install(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No vl-convert: one line naming the extra, exit 1, no file."""
        monkeypatch.setitem(sys.modules, "vl_convert", None)
        report_assets.vega_bundle.cache_clear()
        config = tmp_path / "engage.toml"
        config.write_text('store = "engage.db"\n')
        engine_on(tmp_path / "engage.db").store.close()  # type: ignore[attr-defined]
        result = CliRunner().invoke(
            cli,
            ["--config", str(config), "report", "-o", str(tmp_path / "r.html")],
            obj=App(None, pm=make_plugin_manager(entry_points=False)),
        )
        report_assets.vega_bundle.cache_clear()
        assert result.exit_code == 1
        assert "pip install 'engage-core[report]'" in result.output
        assert not (tmp_path / "r.html").exists()

    def test_sync_writes_the_report_after_syncing(self, tmp_path: Path) -> None:
        """``sync --report`` pulls, plans, then replaces the report file."""
        pytest.importorskip("vl_convert", reason="the report extra: pip install '.[report]'")
        from tests.test_history import invoke
        from tests.test_sync import World, line

        world = World(tmp_path)
        world.add(line("1", "2026-02-20T10:00:00+00:00"))
        (tmp_path / "engage.toml").write_text(
            'store = "engage.db"\ninternal_domains = ["ourco.com"]\n'
            '[sources.feed]\nplugin = "jsonl"\npath = "touchpoints.jsonl"\n'
        )
        target = tmp_path / "out" / "report.html"
        result = invoke(world, "sync", "--report", str(target), "--as-of", "2026-03-01")
        assert result.exit_code == 0, result.output
        assert f"Wrote {target}" in result.output
        assert "acme.com" in target.read_text()
        assert [p.name for p in target.parent.iterdir()] == ["report.html"]

    def test_the_demo_writes_the_report_and_says_where(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``engage demo --keep DIR`` leaves report.html beside the store and names it."""
        pytest.importorskip("engage_csv", reason="the demo reads its sample with the CSV adapter")
        pytest.importorskip("vl_convert", reason="the report extra: pip install '.[report]'")
        monkeypatch.setenv("ENGAGE_LOAD_PLUGINS", "csv")
        result = CliRunner().invoke(cli, ["demo", "--keep", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert f"The HTML report is at {tmp_path / 'report.html'}" in result.stdout
        assert "Xenon Labs" in (tmp_path / "report.html").read_text()


def _chromium() -> str | None:
    return os.environ.get("ENGAGE_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        needs("Playwright is not installed: pip install '.[test]'")
    executable = _chromium()
    if executable is None:
        needs("Chromium is not installed: apt-get install chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,  # never 'playwright install': Debian's Chromium
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield launched
        launched.close()


class TestInABrowser:
    """Headless Chromium opens the file from disk with the network off."""

    def test_the_report_draws_at_desktop_and_phone_width_without_errors(
        self, browser: Any, book: tuple[Engine, Portfolio], tmp_path: Path
    ) -> None:
        """At 1280 and 390 pixels: no console error, no request, the lists as text and as
        charts, one customer's timeline drawn, nothing wider than the screen."""
        pytest.importorskip("vl_convert", reason="the report extra: pip install '.[report]'")
        _, portfolio = book
        bundle = report_assets.vega_bundle()
        report = tmp_path / "report.html"
        write_atomically(report, render(portfolio, bundle, generated=AS_OF))
        northwind = next(d.anchor for d in portfolio.details if d.row.key == "northwind.com")
        for width in (1280, 390):
            context = browser.new_context(viewport={"width": width, "height": 900}, offline=True)
            page = context.new_page()
            problems = _watch(page)
            page.goto(report.as_uri())
            page.wait_for_selector("#fig-movers .chart.drawn svg")
            page.wait_for_selector("#fig-at-risk .chart.drawn svg")
            page.screenshot(path=str(tmp_path / f"report-{width}.png"))
            at_risk = page.inner_text("#at-risk")
            assert "Northwind Traders" in at_risk
            movers = page.inner_text("#movers")
            assert "phoenix.io" in movers and "Northwind Traders" in movers
            for figure in ("#fig-at-risk", "#fig-movers", "#fig-bands-time"):
                assert _drawn(page, figure), f"{figure} at {width}px"
            page.goto(f"{report.as_uri()}#{northwind}")
            timeline = f"#{northwind}-timeline"
            page.wait_for_selector(f"{timeline} .chart.drawn svg")
            assert "Touches by month" in page.inner_text(timeline)
            assert _drawn(page, timeline) and _drawn(page, f"#{northwind}-score")
            page.screenshot(path=str(tmp_path / f"customer-{width}.png"))
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"the page is {scroll}px wide at {width}px"
            assert problems == []
            context.close()
        assert (tmp_path / "report-390.png").stat().st_size > 0

    def test_the_numbers_open_from_the_keyboard(
        self, browser: Any, book: tuple[Engine, Portfolio], tmp_path: Path
    ) -> None:
        """Tab reaches the skip link first; Enter on a toggle shows the chart's table."""
        report = tmp_path / "report.html"
        write_atomically(report, render(book[1], "window.vegaEmbed = () => Promise.resolve();"))
        page = browser.new_page()
        page.goto(report.as_uri())
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        toggle = page.locator("#fig-bands-time .numbers-toggle")
        toggle.focus()
        page.keyboard.press("Enter")
        assert toggle.get_attribute("aria-expanded") == "true"
        assert page.locator("#fig-bands-time-numbers table").is_visible()
        page.close()


def _watch(page: Any) -> list[str]:
    """Console errors, uncaught exceptions and any request that is not the file itself."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith("file:") else problems.append(r.url))
    return problems


def _drawn(page: Any, figure: str) -> bool:
    """The figure's chart is an SVG with marks and a real size."""
    box = page.locator(f"{figure} .chart svg").bounding_box()
    marks = page.locator(f"{figure} .chart svg path, {figure} .chart svg line").count()
    return bool(box and box["width"] > 100 and box["height"] > 40 and marks > 0)
