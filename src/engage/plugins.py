"""Finding plugins and collecting what they register.

:func:`make_plugin_manager` builds a pluggy manager with engage's hookspecs, every installed
plugin of the ``engage`` entry-point group, and the built-ins (registered through the very
same hooks). :class:`Registry` then asks each plugin, one at a time, what it registers, so
every source, sink, factor and rule is attributed to its plugin and a duplicate name is an
error naming both.

Environment switches:

- ``ENGAGE_LOAD_PLUGINS``: comma-separated entry-point names to load (empty: none).
- ``ENGAGE_DISABLE_PLUGINS``: comma-separated entry-point names to skip (the escape hatch
  when an installed plugin is broken).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import typing
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs
import pluggy

from engage import hookspecs
from engage.adapters import Sink, Source
from engage.errors import PluginError, PluginLoadError
from engage.health import Factor
from engage.options import is_options_class, options_class_problem
from engage.options_docs import describe_options
from engage.playbook import Rule

GROUP = "engage"

#: Built-in plugins, registered through the same hooks as third-party ones.
DEFAULT_PLUGINS = ("engage.builtin.factors", "engage.builtin.rules")

LOAD_ENV = "ENGAGE_LOAD_PLUGINS"
DISABLE_ENV = "ENGAGE_DISABLE_PLUGINS"


def _names(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def make_plugin_manager(
    *, entry_points: bool = True, env: Mapping[str, str] | None = None
) -> pluggy.PluginManager:
    """A plugin manager with the hookspecs, installed plugins and built-ins.

    Args:
        entry_points: Load installed plugins (False gives built-ins only, for tests and scripts).
        env: Environment for the ``ENGAGE_*_PLUGINS`` switches (default ``os.environ``).

    Raises:
        PluginLoadError: an installed plugin failed to import or has invalid hooks; the
            message names its entry point and distribution.
    """
    env = os.environ if env is None else env
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if entry_points:
        allowed = _names(env.get(LOAD_ENV))
        disabled = _names(env.get(DISABLE_ENV)) or set()
        for ep in importlib.metadata.entry_points(group=GROUP):
            if ep.name in disabled or (allowed is not None and ep.name not in allowed):
                continue
            if pm.get_plugin(ep.name) is not None:
                continue
            try:
                pm.load_setuptools_entrypoints(GROUP, name=ep.name)
            except Exception as exc:
                dist = ep.dist.name if ep.dist is not None else "unknown distribution"
                raise PluginLoadError(
                    f"plugin '{ep.name}' ({dist}, entry point {ep.value}) failed to load: "
                    f"{type(exc).__name__}: {exc} (set {DISABLE_ENV}={ep.name} to skip it)"
                ) from exc
    for module_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(f"plugin '{exc.plugin}' implements an unknown hook: {exc}") from exc
    return pm


T = TypeVar("T")


@attrs.frozen
class Registered(Generic[T]):
    """Something a plugin registered, with the plugin's name."""

    name: str
    value: T
    plugin: str


def _collect(
    pm: pluggy.PluginManager, hook_name: str, make: Callable[[list[Registered[Any]], str], Any]
) -> list[Registered[Any]]:
    found: list[Registered[Any]] = []
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():  # in registration order
        register = make(found, impl.plugin_name)
        try:
            impl.function(**{arg: register for arg in impl.argnames})
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(
                f"plugin '{impl.plugin_name}' failed in {hook_name}: {type(exc).__name__}: {exc}"
            ) from exc
    return found


def _named_register(
    kind: str, problem_of: Callable[[Any], str | None], expected: str
) -> Callable[[list[Registered[Any]], str], Any]:
    def make(found: list[Registered[Any]], plugin: str) -> Callable[..., None]:
        def register(name: str, cls: Any) -> None:
            if not isinstance(name, str) or not name:
                raise PluginError(f"plugin '{plugin}' registered a {kind} without a name")
            problem = problem_of(cls)
            if problem is not None:
                raise PluginError(
                    f"plugin '{plugin}' registered {kind} '{name}' that is not {expected} ({problem})"
                )
            for other in found:
                if other.name == name:
                    raise PluginError(
                        f"{kind} '{name}' is registered by two plugins: '{other.plugin}' and '{plugin}'"
                    )
            found.append(Registered(name, cls, plugin))

        return register

    return make


def _instance_register(kind: str, protocol: type) -> Callable[[list[Registered[Any]], str], Any]:
    def make(found: list[Registered[Any]], plugin: str) -> Callable[[Any], None]:
        def register(obj: Any) -> None:
            name: str = getattr(obj, "name", "")
            if not isinstance(obj, protocol) or not name:
                raise PluginError(
                    f"plugin '{plugin}' registered a {kind} that is not a {protocol.__name__}: {obj!r}"
                )
            for other in found:
                if other.name == name:
                    raise PluginError(
                        f"{kind} '{name}' is registered by two plugins: '{other.plugin}' and '{plugin}'"
                    )
            found.append(Registered(name, obj, plugin))

        return register

    return make


def protocol_members(protocol: type) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The methods and the class attributes (with their types) a protocol class declares.

    Read from the protocol itself and its protocol bases, so a member added to
    :class:`~engage.adapters.Source` or :class:`~engage.adapters.Sink` is checked at once.

    Returns:
        The public method names, and each annotated attribute's type (``ClassVar``
        unwrapped: ``batch_size`` → ``int``; ``options`` is ``Any``, checked by name).
    """
    methods: list[str] = []
    for base in reversed(protocol.__mro__):
        if base is object or not getattr(base, "_is_protocol", False):
            continue
        for name, value in vars(base).items():
            if callable(value) and not name.startswith("_") and name not in methods:
                methods.append(name)
    attributes: dict[str, Any] = {}
    for name, hint in typing.get_type_hints(protocol).items():
        if typing.get_origin(hint) is typing.ClassVar:
            (hint,) = typing.get_args(hint)
        attributes[name] = hint
    return tuple(methods), attributes


def adapter_problem(protocol: type, cls: Any) -> str | None:
    """What keeps ``cls`` from being a class that implements ``protocol``, or None.

    ``cls`` must be a class with every method the protocol declares (callable) and every
    attribute it declares, of the declared type (``options`` a mapping of options or a frozen
    attrs options class, ``batch_size`` an int), as class attributes: engage reads them
    before it builds an instance.
    """
    if not isinstance(cls, type):
        return f"got {type(cls).__name__} {cls!r}, not a class"
    methods, attributes = protocol_members(protocol)
    missing = [f"{name}()" for name in methods if not callable(getattr(cls, name, None))]
    if missing:
        return f"{cls.__name__} has no {', '.join(missing)}"
    for name, hint in attributes.items():
        if not hasattr(cls, name):
            return f"{cls.__name__} has no class attribute '{name}'"
        value = getattr(cls, name)
        if name == "options":
            problem = _options_problem(value)
            if problem is not None:
                return f"{cls.__name__}.options {problem}"
            continue
        kind = typing.get_origin(hint) or hint
        wrong = isinstance(value, bool) and kind is int
        if isinstance(kind, type) and (wrong or not isinstance(value, kind)):
            return f"{cls.__name__}.{name} is {type(value).__name__}, expected {kind.__name__}"
    return None


def _options_problem(spec: Any) -> str | None:
    """What keeps ``spec`` from being an adapter's ``options`` (a mapping of
    :class:`~engage.adapters.Option` or a frozen attrs options class), or None."""
    if isinstance(spec, Mapping):
        return None
    if is_options_class(spec):
        problem = options_class_problem(spec)
        return None if problem is None else f"is not a usable options class: {problem}"
    return f"is {type(spec).__name__}, expected Mapping (of Option) or a frozen attrs options class"


def _is_adapter(protocol: type) -> Callable[[Any], str | None]:
    """A check of registered classes against ``protocol`` (see :func:`adapter_problem`)."""
    return lambda cls: adapter_problem(protocol, cls)


@attrs.frozen
class Registry:
    """Everything the plugins registered, by name, in registration order."""

    sources: Mapping[str, Registered[type[Source]]]
    sinks: Mapping[str, Registered[type[Sink]]]
    factors: Mapping[str, Registered[Factor]]
    rules: Mapping[str, Registered[Rule]]

    @classmethod
    def from_plugins(cls, pm: pluggy.PluginManager) -> Registry:
        """Ask every plugin what it registers.

        Raises:
            PluginError: a plugin registered something invalid, or a name twice.
        """

        def by_name(items: list[Registered[Any]]) -> dict[str, Registered[Any]]:
            return {item.name: item for item in items}

        return cls(
            sources=by_name(
                _collect(
                    pm,
                    "engage_register_sources",
                    _named_register(
                        "source",
                        _is_adapter(Source),
                        "a Source class with options and pull()",
                    ),
                )
            ),
            sinks=by_name(
                _collect(
                    pm,
                    "engage_register_sinks",
                    _named_register(
                        "sink",
                        _is_adapter(Sink),
                        "a Sink class with options, find(), create() and complete()",
                    ),
                )
            ),
            factors=by_name(
                _collect(pm, "engage_register_factors", _instance_register("factor", Factor))
            ),
            rules=by_name(_collect(pm, "engage_register_rules", _instance_register("rule", Rule))),
        )

    def source(self, name: str, where: str) -> type[Source]:
        """The source class registered as ``name``; a clear error when none is."""
        cls: type[Source] = self._adapter(self.sources, name, where, "source")
        return cls

    def sink(self, name: str, where: str) -> type[Sink]:
        """The sink class registered as ``name``; a clear error when none is."""
        cls: type[Sink] = self._adapter(self.sinks, name, where, "sink")
        return cls

    @staticmethod
    def _adapter(table: Mapping[str, Registered[Any]], name: str, where: str, kind: str) -> Any:
        if name in table:
            return table[name].value
        known = ", ".join(sorted(table)) or "none installed"
        raise PluginError(
            f"{where}: no {kind} plugin named '{name}' (installed: {known}); "
            f"install it, e.g. pip install engage-{name}"
        )


def describe_plugins(
    pm: pluggy.PluginManager,
    registry: Registry,
    *,
    include_builtin: bool = False,
    options: bool = False,
) -> list[dict[str, Any]]:
    """What each plugin is and registers, as ``engage plugins --json`` prints it.

    Args:
        pm: The plugin manager.
        registry: What its plugins registered.
        include_builtin: Include engage's built-in plugins.
        options: Add ``options``: per source and sink the plugin registers, its config keys
            (:func:`engage.options_docs.describe_options`: type, default, required, help,
            range, env, secret; a secret's value never), as
            ``{"sources": {NAME: {KEY: ...}}, "sinks": {...}}``.
    """
    dists = {plugin: dist for plugin, dist in pm.list_plugin_distinfo()}
    adapters: tuple[tuple[str, Mapping[str, Registered[Any]]], ...] = (
        ("sources", registry.sources),
        ("sinks", registry.sinks),
    )
    described = []
    for name, plugin in pm.list_name_plugin():
        builtin = name in DEFAULT_PLUGINS
        if builtin and not include_builtin:
            continue
        dist = dists.get(plugin)
        entry: dict[str, Any] = {
            "name": name,
            "distribution": dist.project_name
            if dist is not None
            else ("engage-core" if builtin else None),
            "version": dist.version if dist is not None else (_core_version() if builtin else None),
            "hooks": sorted(impl.name for impl in pm.get_hookcallers(plugin) or ()),
            "sources": sorted(k for k, v in registry.sources.items() if v.plugin == name),
            "sinks": sorted(k for k, v in registry.sinks.items() if v.plugin == name),
            "factors": [k for k, v in registry.factors.items() if v.plugin == name],
            "rules": [k for k, v in registry.rules.items() if v.plugin == name],
        }
        if options:
            entry["options"] = {
                kind: {
                    k: describe_options(v.value.options)
                    for k, v in sorted(table.items())
                    if v.plugin == name
                }
                for kind, table in adapters
            }
        described.append(entry)
    return sorted(described, key=lambda d: d["name"])


def _core_version() -> str:
    try:
        return importlib.metadata.version("engage-core")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
