"""The plugin contract: every hook engage calls, in one file.

Plugins implement hooks with the :data:`hookimpl` marker (``from engage import hookimpl``)
and are found through the ``engage`` entry-point group::

    [project.entry-points.engage]
    myplugin = "engage_myplugin"

The ``engage_register_*`` hooks declare things and do no work: an implementation hands
classes or instances to ``register`` and returns. engage attributes every registration to
the plugin that made it and rejects a second registration of a name, naming both plugins.
An implementation may accept fewer arguments than its spec, so specs can grow without
breaking plugins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import pluggy

if TYPE_CHECKING:
    from engage.adapters import Sink, Source
    from engage.health import Factor
    from engage.playbook import Rule
    from engage.report import SyncReport

__all__ = [
    "RegisterFactor",
    "RegisterRule",
    "RegisterSink",
    "RegisterSource",
    "engage_register_factors",
    "engage_register_rules",
    "engage_register_sinks",
    "engage_register_sources",
    "engage_sync_finished",
    "hookimpl",
    "hookspec",
]

PROJECT = "engage"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class RegisterSource(Protocol):
    """``register(name, cls)``: make a source class available as ``plugin = "name"``."""

    def __call__(self, name: str, cls: type[Source]) -> None: ...


class RegisterSink(Protocol):
    """``register(name, cls)``: make a sink class available as ``plugin = "name"``."""

    def __call__(self, name: str, cls: type[Sink]) -> None: ...


class RegisterFactor(Protocol):
    """``register(factor)``: add a health factor instance."""

    def __call__(self, factor: Factor) -> None: ...


class RegisterRule(Protocol):
    """``register(rule)``: add a playbook rule instance."""

    def __call__(self, rule: Rule) -> None: ...


@hookspec
def engage_register_sources(register: RegisterSource) -> None:
    """Register source classes by the name config tables use.

    Called once when engage first needs its sources (a sync, ``engage plugins``).

    Args:
        register: Call ``register(name, cls)`` for each source class. ``cls`` is built as
            ``cls(options, context)`` (see :class:`engage.adapters.Source`).
    """


@hookspec
def engage_register_sinks(register: RegisterSink) -> None:
    """Register sink classes by the name config tables use.

    Args:
        register: Call ``register(name, cls)`` for each sink class (see
            :class:`engage.adapters.Sink`).
    """


@hookspec
def engage_register_factors(register: RegisterFactor) -> None:
    """Register health factors; engage's own (recency, frequency...) come through this hook too.

    Args:
        register: Call ``register(factor)`` with an object that has ``name``,
            ``default_weight`` and ``assess(facts)`` (see :class:`engage.health.Factor`).
    """


@hookspec
def engage_register_rules(register: RegisterRule) -> None:
    """Register playbook rules; engage's ten built-in rules come through this hook too.

    Args:
        register: Call ``register(rule)`` with an object that has ``name``,
            ``description`` and ``plan(facts, health, settings)`` (see
            :class:`engage.playbook.Rule`), and preferably
            ``next_change(facts, health, settings)`` (see :class:`engage.playbook.NextChange`)
            so a sync re-plans a customer only when its answer can change.
    """


@hookspec
def engage_sync_finished(report: SyncReport) -> None:
    """Called after every ``engage sync``, successful or not, with its report.

    Use it to send the summary somewhere (a chat channel, a metrics system). The return
    value is ignored; an exception here is reported but does not undo the sync.

    Args:
        report: What the sync pulled, planned and pushed, and what failed.
    """
