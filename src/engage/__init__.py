"""engage: keep customer relationships from going cold.

What a script needs, with no config file and no network::

    import engage

    book = engage.Engine.in_memory(internal_domains=["ourco.com"])
    book.touch("jane@acme.com", "2026-01-10T10:00Z", "meeting", "outbound", owner="carol@ourco.com")
    for health in book.health():
        print(health.customer, health.score, health.band)
    for task in book.tasks():
        print(task.rule, task.title)
"""

from engage.adapters import (
    FUTURE_TOLERANCE,
    AdapterContext,
    Checkpoint,
    Notice,
    Option,
    Problem,
    PushResult,
    Retire,
    Sink,
    Skipped,
    Source,
    future_problem,
    resolve_options,
)
from engage.clock import parse_moment, utcnow
from engage.config import Config
from engage.engine import Engine
from engage.errors import (
    ConfigError,
    EngageError,
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
from engage.hookspecs import hookimpl
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
from engage.playbook import Rule, anchor_of, build_task, task_key
from engage.preview import FieldMap, Previewable, PreviewItem, PreviewRow, Unmapped
from engage.report import SinkReport, SourceReport, SyncReport
from engage.settings import ScoringSettings, SegmentSettings
from engage.store.sqlite import SQLiteStore

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
    "Identity",
    "Notice",
    "Option",
    "Owner",
    "OwnerStatus",
    "PluginError",
    "PluginLoadError",
    "PreviewItem",
    "PreviewRow",
    "Previewable",
    "Priority",
    "Problem",
    "PushResult",
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
    "StoreError",
    "SyncReport",
    "Task",
    "TaskKind",
    "Touchpoint",
    "Unmapped",
    "ValidationError",
    "anchor_of",
    "build_task",
    "future_problem",
    "hookimpl",
    "parse_moment",
    "resolve_options",
    "task_key",
    "utcnow",
]
