"""Config typos are errors: a weight must name a registered factor, a segment key a known setting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engage.cli import App, cli
from engage.config import Config
from engage.engine import Engine
from engage.errors import ConfigError
from engage.health import Assessment
from engage.hookspecs import hookimpl
from engage.plugins import Registry, make_plugin_manager
from engage.settings import ScoringSettings, SegmentSettings
from engage.store.sqlite import SQLiteStore
from engage.sync import run_sync
from tests.support import fakeplugins

BUILTIN = "feedback, frequency, ownership, personal, recency, reciprocity, trend"

CONFIG = """
store = "engage.db"
internal_domains = ["ourco.com"]

[sources.feed]
plugin = "jsonl"
path = "touchpoints.jsonl"

[sinks.remote]
plugin = "jsonfile"
path = "remote.json"
"""

LINE = {
    "external_id": "1",
    "customer": "acme.com",
    "occurred_at": "2026-02-20T10:00:00+00:00",
    "channel": "email",
    "direction": "inbound",
    "contact_email": "jane@acme.com",
}


class ProductUsage:
    """A plugin's factor, which a config may weight like a built-in."""

    name = "product_usage"
    default_weight = 0.1

    def assess(self, facts: Any) -> Assessment | None:
        return Assessment(1.0, "Logged in this week.")


class UsagePlugin:
    @staticmethod
    @hookimpl
    def engage_register_factors(register: Any) -> None:
        register(ProductUsage())


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "touchpoints.jsonl").write_text(json.dumps(LINE) + "\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENGAGE_CONFIG", raising=False)
    return tmp_path


def configure(project: Path, extra: str) -> Path:
    path = project / "engage.toml"
    path.write_text(CONFIG + extra)
    return path


def run(*args: str, usage: bool = False) -> Any:
    pm = make_plugin_manager(entry_points=False)
    pm.register(fakeplugins, name="testkit")
    if usage:
        pm.register(UsagePlugin, name="usage")
    return CliRunner().invoke(cli, list(args), obj=App(None, pm=pm))


class TestWeightsNameFactors:
    """A weight naming no registered factor is refused wherever an engine meets a config."""

    def test_health_names_the_file_the_key_and_the_factors(self, project: Path) -> None:
        """engage health: one line naming the file, the key, the closest factor and all factors."""
        configure(project, "")
        assert run("sync", "--as-of", "2026-03-01").exit_code == 0
        path = configure(project, "\n[segments.default]\nweights = { persnal = 0.2 }\n")
        result = run("health", "--as-of", "2026-03-01")
        assert result.exit_code == 78
        assert result.stdout == ""
        assert result.stderr == (
            f"engage: error: {path.resolve()}: key 'segments.default.weights.persnal' names no "
            f"factor; did you mean 'personal'? (expected one of the installed factors: {BUILTIN})\n"
        )

    def test_tasks_refuses_a_typo_in_another_segment(self, project: Path) -> None:
        """engage tasks: the key names the segment the weight is in."""
        configure(project, "")
        assert run("sync", "--as-of", "2026-03-01").exit_code == 0
        configure(project, '\n[segments.big]\nmatch = ["acme.com"]\nweights = { recncy = 0.5 }\n')
        result = run("tasks")
        assert result.exit_code == 78
        assert "key 'segments.big.weights.recncy' names no factor" in result.stderr
        assert "did you mean 'recency'?" in result.stderr

    def test_sync_refuses_before_pulling_anything(self, project: Path) -> None:
        """engage sync with a weight typo exits 78 (needs a person) and pushes nothing."""
        configure(project, "\n[segments.default]\nweights = { zzz = 0.2 }\n")
        result = run("sync", "--as-of", "2026-03-01")
        assert result.exit_code == 78
        assert result.stderr.count("\n") == 1
        assert "key 'segments.default.weights.zzz' names no factor (expected one of" in (
            result.stderr
        )
        assert "did you mean" not in result.stderr  # nothing close: no guess
        assert not (project / "remote.json").exists()

    def test_run_sync_checks_the_weights_first(self, project: Path) -> None:
        """run_sync raises ConfigError before the source is pulled (no cursor saved)."""
        config = Config.load(configure(project, "\n[segments.default]\nweights = { tren = 1 }\n"))
        pm = make_plugin_manager(entry_points=False)
        pm.register(fakeplugins, name="testkit")
        store = SQLiteStore(config.store)
        try:
            with pytest.raises(ConfigError, match=r"weights.tren' names no factor"):
                run_sync(config, Registry.from_plugins(pm), store)
            assert store.get_cursor("feed") is None
        finally:
            store.close()

    def test_a_plugins_factor_may_be_weighted(self, project: Path) -> None:
        """A factor a plugin registers is known, so its weight is accepted and used."""
        configure(project, "\n[segments.default]\nweights = { product_usage = 0.4 }\n")
        assert run("sync", "--as-of", "2026-03-01", usage=True).exit_code == 0
        result = run("health", "--json", "--as-of", "2026-03-01", usage=True)
        assert result.exit_code == 0, result.stderr
        [acme] = json.loads(result.stdout)
        weights = {f["name"]: f["weight"] for f in acme["factors"]}
        assert weights["product_usage"] > 0

    def test_the_same_weight_without_the_plugin_is_an_error(self, project: Path) -> None:
        """Without the plugin that registers it, the factor is unknown: the error says so."""
        configure(project, "\n[segments.default]\nweights = { product_usage = 0.4 }\n")
        result = run("sync", "--as-of", "2026-03-01")
        assert result.exit_code == 78
        assert "'segments.default.weights.product_usage' names no factor" in result.stderr
        assert f"expected one of the installed factors: {BUILTIN})" in result.stderr


class TestEngineInPython:
    """An engine built in code checks its settings' weights against its own factors."""

    def test_unknown_weight_names_the_segment_the_key_and_the_factors(self) -> None:
        """ScoringSettings weighting no factor the engine has is a ConfigError when it is built."""
        settings = ScoringSettings(
            segments={"smb": SegmentSettings(name="smb", weights={"persnal": 0.2})}
        )
        with pytest.raises(ConfigError) as info:
            Engine.in_memory(settings=settings)
        assert str(info.value) == (
            "Engine settings: key 'segments.smb.weights.persnal' names no factor; did you mean "
            f"'personal'? (expected one of the installed factors: {BUILTIN})"
        )

    def test_known_weights_are_accepted(self) -> None:
        """Weights of built-in factors build an engine as before."""
        settings = ScoringSettings(
            segments={"default": SegmentSettings(weights={"personal": 0.3, "recency": 0.1})}
        )
        assert Engine.in_memory(settings=settings).settings is settings


class TestSegmentKeys:
    """An unknown setting in a segment table names the file, the key and the settings."""

    def test_a_misspelt_setting_is_named_with_a_suggestion(self, tmp_path: Path) -> None:
        """[segments.x] cadense_days = 3: the file, the key, 'cadence_days' and every setting."""
        path = tmp_path / "engage.toml"
        path.write_text("[segments.x]\ncadense_days = 3\n")
        with pytest.raises(ConfigError) as info:
            Config.load(path)
        message = str(info.value)
        assert message.startswith(
            f"{path.resolve()}: unknown key 'segments.x.cadense_days'; did you mean "
            "'cadence_days'? (expected one of: "
        )
        for name in ("cadence_days", "window_days", "healthy_at", "match", "weights"):
            assert name in message

    def test_the_command_line_shows_it_as_one_line(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """engage health with the typo exits 78 with the message on one stderr line."""
        (tmp_path / "engage.toml").write_text("[segments.x]\ncadense_days = 3\n")
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("ENGAGE_CONFIG", raising=False)
        result = run("health")
        assert result.exit_code == 78
        assert result.stderr.startswith("engage: error: ")
        assert "unknown key 'segments.x.cadense_days'; did you mean 'cadence_days'?" in (
            result.stderr
        )
        assert result.stderr.count("\n") == 1
