"""The Python API a script uses: engage.open, Engine.add, Engine.timeline, the exports."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import engage

CONFIG = """
store = "data/engage.db"
internal_domains = ["ourco.com"]

[segments.default]
cadence_days = 7
"""

USAGE_PLUGIN = """
import engage

class Usage:
    name = "usage"
    default_weight = 0.1

    def assess(self, facts):
        return engage.Assessment(1.0, "uses the product.")

@engage.hookimpl
def engage_register_factors(register):
    register(Usage())
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENGAGE_CONFIG", raising=False)
    monkeypatch.setenv("ENGAGE_LOAD_PLUGINS", "")
    (tmp_path / "engage.toml").write_text(CONFIG)
    return tmp_path


class TestOpen:
    """engage.open: the engine a config describes."""

    def test_it_opens_the_configs_store_with_its_settings(self, workdir: Path) -> None:
        """The store the config names (relative to the config), its domains and segments."""
        with engage.open("engage.toml") as book:
            book.touch("jane@acme.com", "2026-01-10T10:00Z", "meeting", owner="carol@ourco.com")
            assert book.settings.segment_for("acme.com").cadence_days == 7
            with pytest.raises(engage.ValidationError):
                book.touch("carol@ourco.com", "2026-01-10T10:00Z")  # ours, per the config
        assert (workdir / "data" / "engage.db").exists()
        with engage.open(workdir / "engage.toml") as again:  # a Path works too
            assert [e.touchpoint.channel for e in again.timeline("acme.com")] == ["meeting"]

    def test_without_a_path_it_looks_where_the_cli_does(
        self, workdir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """$ENGAGE_CONFIG first, else ./engage.toml."""
        with engage.open() as book:
            assert Path(book.store.path) == workdir / "data" / "engage.db"  # type: ignore[attr-defined]
        other = workdir / "elsewhere"
        other.mkdir()
        (other / "engage.toml").write_text('store = "other.db"\n')
        monkeypatch.setenv("ENGAGE_CONFIG", str(other / "engage.toml"))
        with engage.open() as book:
            assert Path(book.store.path) == other / "other.db"  # type: ignore[attr-defined]

    def test_leaving_the_block_closes_the_store(self, workdir: Path) -> None:
        """The engine owns the store: after the with block it is closed."""
        with engage.open() as book:
            pass
        with pytest.raises(engage.StoreError, match="closed"):
            book.store.customer_count()

    def test_a_missing_config_is_a_config_error(self, workdir: Path) -> None:
        """The file is named in the error."""
        with pytest.raises(engage.ConfigError, match="nowhere.toml"):
            engage.open("nowhere.toml")

    def test_it_loads_installed_plugins(
        self, workdir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Factors of plugins installed as distributions count, and config weights may name them."""
        site = workdir / "site"
        info = site / "engage_usage_api-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: engage-usage-api\nVersion: 1.0\n"
        )
        (info / "entry_points.txt").write_text("[engage]\nusage = engage_usage_api\n")
        (site / "engage_usage_api.py").write_text(textwrap.dedent(USAGE_PLUGIN))
        monkeypatch.syspath_prepend(str(site))
        (workdir / "engage.toml").write_text(CONFIG + "weights = { usage = 0.3 }\n")
        with pytest.raises(engage.ConfigError, match="usage"):
            engage.open()  # not loaded: the weight names no factor
        monkeypatch.setenv("ENGAGE_LOAD_PLUGINS", "usage")
        with engage.open() as book:
            assert "usage" in [factor.name for factor in book.factors]


class TestAdd:
    """Engine.add takes one record or many."""

    def test_a_single_record(self) -> None:
        """book.add(engage.Customer(...)) stores it (it used to fail: not iterable)."""
        book = engage.Engine.in_memory()
        counts = book.add(engage.Customer("globex.com", name="Globex"))
        assert counts.inserted == 1
        stored = book.store.get_customer("globex.com")
        assert stored is not None and stored.name == "Globex"

    def test_a_generator_of_records(self) -> None:
        """Any iterable, streamed."""
        book = engage.Engine.in_memory()
        book.add(engage.Contact(f"p{n}@acme.com", "acme.com") for n in range(3))
        assert len(book.store.get_contacts("acme.com")) == 3

    @pytest.mark.parametrize("wrong", ["acme.com", {"key": "acme.com"}, 42])
    def test_anything_else_is_a_type_error(self, wrong: object) -> None:
        """A string is not a list of records; nothing is stored."""
        book = engage.Engine.in_memory()
        with pytest.raises(TypeError, match="Engine.add"):
            book.add(wrong)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="item 1 is a str"):
            book.add([engage.Customer("acme.com"), "globex.com"])  # type: ignore[list-item]
        assert book.store.customer_count() == 0


def test_a_script_needs_only_the_engage_namespace() -> None:
    """The adapters' base classes, the HTTP helpers, history and timeline records are exported."""
    for name in ("Source", "Sink", "AdapterContext", "Option", "Progress", "HealthPoint"):
        assert name in engage.__all__
    for name in ("TimelineEntry", "MergedCopy", "WriteCounts", "Store", "LockedError", "open"):
        assert name in engage.__all__
    assert engage.http.HttpClient.__name__ == "HttpClient"
    assert engage.HealthPoint is engage.history.HealthPoint
    with pytest.raises(AttributeError):
        engage.no_such_thing  # type: ignore[attr-defined]  # noqa: B018
