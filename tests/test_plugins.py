"""Plugins: found through entry points, registered through hooks, attributed, and failing by name."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pluggy
import pytest

from engage import hookspecs
from engage.adapters import AdapterContext, Option, Sink, Source
from engage.errors import PluginError, PluginLoadError
from engage.health import Assessment
from engage.hookspecs import hookimpl
from engage.plugins import (
    DEFAULT_PLUGINS,
    Registry,
    describe_plugins,
    make_plugin_manager,
    protocol_members,
)
from tests.support import fakeplugins

BUILTIN_RULES = {
    "welcome",
    "first_feedback",
    "periodic_feedback",
    "check_in",
    "unanswered",
    "reconnect",
    "pick_up_phone",
    "handover",
    "status_update",
    "appreciation",
}
BUILTIN_FACTORS = {
    "recency",
    "frequency",
    "trend",
    "reciprocity",
    "personal",
    "feedback",
    "ownership",
}


def make_distribution(site: Path, name: str, module: str, source: str) -> None:
    """Install a one-module plugin distribution under ``site`` (a real dist-info)."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[engage]\n{module.removeprefix('engage_')} = {module}\n"
    )


class ProductUsage:
    """A third-party factor, as a team would write one."""

    name = "product_usage"
    default_weight = 0.2

    def assess(self, facts: Any) -> Assessment | None:
        return Assessment(1.0, "Logged in this week.")


class UsagePlugin:
    @staticmethod
    @hookimpl
    def engage_register_factors(register: Any) -> None:
        register(ProductUsage())


def test_builtins_come_through_the_same_hooks() -> None:
    """The seven factors and ten rules are registered by built-in plugins, like any other."""
    registry = Registry.from_plugins(make_plugin_manager(entry_points=False))
    assert set(registry.factors) == BUILTIN_FACTORS
    assert set(registry.rules) == BUILTIN_RULES
    assert {r.plugin for r in registry.factors.values()} <= set(DEFAULT_PLUGINS)


def test_hook_engage_register_factors_adds_a_third_party_factor() -> None:
    """A plugin's factor joins the built-ins and is attributed to the plugin."""
    pm = make_plugin_manager(entry_points=False)
    pm.register(UsagePlugin, name="usage")
    registry = Registry.from_plugins(pm)
    assert registry.factors["product_usage"].plugin == "usage"
    assert set(registry.factors) == BUILTIN_FACTORS | {"product_usage"}


def test_hook_engage_register_rules_rejects_a_duplicate_name() -> None:
    """Two plugins registering one rule name is an error naming both."""

    class Copycat:
        name = "welcome"
        description = "another welcome"

        def plan(self, facts: Any, health: Any, settings: Any) -> None:
            return None

    class CopyPlugin:
        @staticmethod
        @hookimpl
        def engage_register_rules(register: Any) -> None:
            register(Copycat())

    pm = make_plugin_manager(entry_points=False)
    pm.register(CopyPlugin, name="copycat")
    with pytest.raises(
        PluginError,
        match=r"rule 'welcome' is registered by two plugins: 'engage.builtin.rules' and 'copycat'",
    ):
        Registry.from_plugins(pm)


def test_hook_engage_register_sources_by_name() -> None:
    """Sources are registered under the name config tables use."""
    pm = make_plugin_manager(entry_points=False)
    pm.register(fakeplugins, name="testkit")
    registry = Registry.from_plugins(pm)
    assert registry.source("jsonl", "here") is fakeplugins.JsonlSource
    assert registry.sources["jsonl"].plugin == "testkit"


def test_hook_engage_register_sinks_by_name() -> None:
    """Sinks are registered under the name config tables use; an unknown name lists what is installed."""
    pm = make_plugin_manager(entry_points=False)
    pm.register(fakeplugins, name="testkit")
    registry = Registry.from_plugins(pm)
    assert registry.sink("jsonfile", "here") is fakeplugins.JsonFileSink
    with pytest.raises(
        PluginError, match=r"here: no sink plugin named 'hubspot' \(installed: jsonfile\)"
    ):
        registry.sink("hubspot", "here")


def test_a_registration_that_is_not_a_source_is_refused() -> None:
    """register() checks what it is given, naming the plugin."""

    class NotASource:
        pass

    class Bad:
        @staticmethod
        @hookimpl
        def engage_register_sources(register: Any) -> None:
            register("weird", NotASource)

    pm = make_plugin_manager(entry_points=False)
    pm.register(Bad, name="bad-plugin")
    with pytest.raises(
        PluginError,
        match="plugin 'bad-plugin' registered source 'weird' that is not a Source class",
    ):
        Registry.from_plugins(pm)


def test_a_plugin_that_fails_to_import_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken installed plugin stops engage with its entry point, distribution and cause."""
    make_distribution(
        tmp_path, "engage-broken", "engage_broken", "raise ImportError('needs libfoo')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        PluginLoadError,
        match=r"plugin 'broken' \(engage-broken, entry point engage_broken\) failed to load: ImportError: needs libfoo",
    ):
        make_plugin_manager(env={})
    pm = make_plugin_manager(env={"ENGAGE_DISABLE_PLUGINS": "broken"})
    assert pm.get_plugin("broken") is None


def test_a_plugin_implementing_an_unknown_hook_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A misspelt hook is caught at load time, not silently ignored."""
    source = "from engage.hookspecs import hookimpl\n\n@hookimpl\ndef engage_register_sauces(register):\n    pass\n"
    make_distribution(tmp_path, "engage-typo", "engage_typo", source)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginLoadError, match="engage_register_sauces"):
        make_plugin_manager(env={"ENGAGE_LOAD_PLUGINS": "typo"})


def test_installed_plugins_are_described(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """engage plugins lists distribution, version, hooks and registered names."""
    source = (
        "from engage.hookspecs import hookimpl\n"
        "from tests.support.fakeplugins import JsonlSource\n\n"
        "@hookimpl\ndef engage_register_sources(register):\n    register('feed', JsonlSource)\n"
    )
    make_distribution(tmp_path, "engage-feed", "engage_feed", source)
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = make_plugin_manager(env={"ENGAGE_LOAD_PLUGINS": "feed"})
    described = describe_plugins(pm, Registry.from_plugins(pm))
    assert described == [
        {
            "name": "feed",
            "distribution": "engage-feed",
            "version": "1.0",
            "hooks": ["engage_register_sources"],
            "sources": ["feed"],
            "sinks": [],
            "factors": [],
            "rules": [],
        }
    ]
    everything = describe_plugins(pm, Registry.from_plugins(pm), include_builtin=True)
    assert {d["name"] for d in everything} == {"feed", *DEFAULT_PLUGINS}


def test_load_plugins_allowlist_can_be_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENGAGE_LOAD_PLUGINS='' loads no installed plugin at all."""
    make_distribution(tmp_path, "engage-broken", "engage_broken", "raise ImportError('x')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = make_plugin_manager(env={"ENGAGE_LOAD_PLUGINS": ""})
    assert [name for name, _ in pm.list_name_plugin()] == list(DEFAULT_PLUGINS)


def registered_hooks() -> dict[str, pluggy.HookCaller]:
    """Every hook the plugin manager knows, by name (read from the manager, not from a list
    kept by hand); an installed plugin's implementation of any other hook is refused when it
    loads (see test_every_implementation_is_of_a_registered_hook)."""
    pm = make_plugin_manager(entry_points=False)
    return {
        name: caller
        for name, caller in vars(pm.hook).items()
        if isinstance(caller, pluggy.HookCaller)
    }


HOOKS = sorted(registered_hooks())


def test_the_hooks_are_found_on_the_plugin_manager() -> None:
    """The meta-tests below run over the manager's hooks; each has a spec, and the contract
    file lists exactly these."""
    hooks = registered_hooks()
    assert hooks, "the plugin manager has no hooks"
    assert all(caller.spec is not None for caller in hooks.values())
    listed = {name for name in hookspecs.__all__ if name.startswith("engage_")}
    assert listed == set(hooks)


def test_every_implementation_is_of_a_registered_hook() -> None:
    """Each hook a registered plugin (built-in or installed) implements is a known hook."""
    pm = make_plugin_manager(env={})
    for name, plugin in pm.list_name_plugin():
        for caller in pm.get_hookcallers(plugin) or ():
            assert caller.name in HOOKS, f"plugin {name!r} implements unknown {caller.name}"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_test(name: str) -> None:
    """Each registered hook has a test_hook_<name>_... test somewhere in the suite."""
    tests_dir = Path(__file__).parent
    text = "\n".join(p.read_text() for p in tests_dir.rglob("test_*.py"))
    assert f"def test_hook_{name}" in text, f"no test_hook_{name}_... test"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_in_the_readme(name: str) -> None:
    """Each registered hook's exact signature heads a section of the README's plugin guide."""
    caller = registered_hooks()[name]
    assert caller.spec is not None
    params = ", ".join(inspect.signature(caller.spec.function).parameters)
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert f"### {name}({params})" in readme, f"README does not document {name}({params})"


class HalfASink:
    """Has a sink's options and batch size, but no complete()."""

    options: ClassVar[Mapping[str, Option]] = {}
    batch_size: ClassVar[int] = 10

    def find(self, tasks: Any) -> Mapping[str, str]:
        return {}

    def create(self, tasks: Any) -> list[Any]:
        return []


class TextBatchSink(HalfASink):
    """A sink whose batch size is text."""

    batch_size = "10"  # type: ignore[assignment]

    def complete(self, remote_ids: Any) -> list[Any]:
        return []


def registering_sink(cls: Any) -> type:
    class Plugin:
        @staticmethod
        @hookimpl
        def engage_register_sinks(register: Any) -> None:
            register("half", cls)

    return Plugin


@pytest.mark.parametrize(
    ("cls", "problem"),
    [
        (HalfASink, r"HalfASink has no complete\(\)"),
        (TextBatchSink, r"TextBatchSink.batch_size is str, expected int"),
        (fakeplugins.JsonlSource, r"JsonlSource has no find\(\), create\(\), complete\(\)"),
        (fakeplugins.JsonFileSink(  # an instance, not the class
            {"path": "x", "refuse_keys": [], "down": False, "die_after_create": False},
            AdapterContext("x"),
        ), r"got JsonFileSink .*, not a class"),
    ],
)  # fmt: skip
def test_a_sink_is_checked_against_the_sink_protocol(cls: Any, problem: str) -> None:
    """register() checks a sink class against every member of the Sink protocol, naming what
    is missing or of the wrong type."""
    pm = make_plugin_manager(entry_points=False)
    pm.register(registering_sink(cls), name="halfway")
    with pytest.raises(
        PluginError,
        match=rf"plugin 'halfway' registered sink 'half' that is not a Sink .*{problem}",
    ):
        Registry.from_plugins(pm)


def test_a_source_without_options_is_refused() -> None:
    """The Source protocol's options must be a class attribute mapping."""

    class NoOptions:
        def pull(self, cursor: str | None) -> list[Any]:
            return []

    class Plugin:
        @staticmethod
        @hookimpl
        def engage_register_sources(register: Any) -> None:
            register("bare", NoOptions)

    pm = make_plugin_manager(entry_points=False)
    pm.register(Plugin, name="bare-plugin")
    with pytest.raises(PluginError, match="NoOptions has no class attribute 'options'"):
        Registry.from_plugins(pm)


def test_protocol_members_are_read_from_the_protocol() -> None:
    """What is checked comes from the protocol classes, not from a list kept beside them."""
    assert protocol_members(Source)[0] == ("pull",)
    assert set(protocol_members(Source)[1]) == {"options"}
    assert protocol_members(Sink)[0] == ("find", "create", "complete")
    assert set(protocol_members(Sink)[1]) == {"options", "batch_size"}
