"""engage: keep customer relationships from going cold.

What a script needs, with no config file and no network::

    import engage

    book = engage.Engine.in_memory(internal_domains=["ourco.com"])
    book.touch("jane@acme.com", "2026-01-10T10:00Z", "meeting", "outbound", owner="carol@ourco.com")
    for health in book.health():
        print(health.customer, health.score, health.band)
    for task in book.tasks():
        print(task.rule, task.title)

On the store a config file describes, with the installed plugins (what ``engage sync``
uses)::

    with engage.open("engage.toml") as book:
        for entry in book.timeline("acme.com"):
            print(entry.touchpoint.occurred_at, entry.touchpoint.channel, entry.sources)

``engage.http`` (what the web adapters are built on) is imported on first use.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from engage.adapters import (
    FUTURE_TOLERANCE,
    AdapterContext,
    Checkpoint,
    Notice,
    Option,
    OptionsSpec,
    Problem,
    Progress,
    PushResult,
    Retire,
    Sink,
    Skipped,
    Source,
    future_problem,
    resolve_options,
)
from engage.api import open
from engage.clock import parse_moment, utcnow
from engage.config import Config
from engage.engine import Engine
from engage.errors import (
    ConfigError,
    EngageError,
    LockedError,
    PluginError,
    PluginLoadError,
    RetriableSinkError,
    RetriableSourceError,
    SinkError,
    SourceError,
    StoreError,
    ValidationError,
)
from engage.facts import CustomerFacts, OwnerStatus
from engage.health import Assessment, Band, Factor, FactorResult, Health, Stage
from engage.history import HealthPoint
from engage.hookspecs import (
    RegisterFactor,
    RegisterRule,
    RegisterSink,
    RegisterSource,
    hookimpl,
)
from engage.identity import Identity
from engage.models import (
    Channel,
    Contact,
    Customer,
    Direction,
    Owner,
    Priority,
    Task,
    TaskKind,
    Touchpoint,
)
from engage.options import option
from engage.playbook import Rule, anchor_of, build_task, task_key
from engage.preview import FieldMap, Previewable, PreviewItem, PreviewRow, Unmapped
from engage.report import SinkReport, SourceReport, SyncReport
from engage.settings import ScoringSettings, SegmentSettings
from engage.store.base import Store, WriteCounts
from engage.store.sqlite import SQLiteStore
from engage.timeline import MergedCopy, TimelineEntry

if TYPE_CHECKING:
    from engage import http

#: Submodules imported on first use (``engage.http`` brings in requests).
_LAZY = frozenset({"http"})


def __getattr__(name: str) -> ModuleType:
    if name in _LAZY:
        return importlib.import_module(f"engage.{name}")
    raise AttributeError(f"module 'engage' has no attribute {name!r}")


__all__ = [
    "FUTURE_TOLERANCE",
    "AdapterContext",
    "Assessment",
    "Band",
    "Channel",
    "Checkpoint",
    "Config",
    "ConfigError",
    "Contact",
    "Customer",
    "CustomerFacts",
    "Direction",
    "EngageError",
    "Engine",
    "Factor",
    "FactorResult",
    "FieldMap",
    "Health",
    "HealthPoint",
    "Identity",
    "LockedError",
    "MergedCopy",
    "Notice",
    "Option",
    "OptionsSpec",
    "Owner",
    "OwnerStatus",
    "PluginError",
    "PluginLoadError",
    "PreviewItem",
    "PreviewRow",
    "Previewable",
    "Priority",
    "Problem",
    "Progress",
    "PushResult",
    "RegisterFactor",
    "RegisterRule",
    "RegisterSink",
    "RegisterSource",
    "Retire",
    "RetriableSinkError",
    "RetriableSourceError",
    "Rule",
    "SQLiteStore",
    "ScoringSettings",
    "SegmentSettings",
    "Sink",
    "SinkError",
    "SinkReport",
    "Skipped",
    "Source",
    "SourceError",
    "SourceReport",
    "Stage",
    "Store",
    "StoreError",
    "SyncReport",
    "Task",
    "TaskKind",
    "TimelineEntry",
    "Touchpoint",
    "Unmapped",
    "ValidationError",
    "WriteCounts",
    "anchor_of",
    "build_task",
    "future_problem",
    "hookimpl",
    "http",
    "open",
    "option",
    "parse_moment",
    "resolve_options",
    "task_key",
    "utcnow",
]
