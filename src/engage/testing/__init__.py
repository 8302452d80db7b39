"""Testing engage and its plugins.

For plugin authors, the kit (it needs pytest: ``pip install 'engage-core[testing]'``):

- :class:`SourceContract` / :class:`SinkContract`: subclass one in your tests, give it a
  :class:`SourceCase` / :class:`SinkCase` fixture pointing at your adapter and its fake,
  and it checks every promise engage makes (times, stable ids, resuming, saved state,
  problems, secrets, never creating a task twice).
- :class:`Pull`: run a pull and look at what it yielded, by kind.
- :func:`make_task`, :func:`make_tasks`, :func:`adapter_context`, :func:`build_source`,
  :func:`build_sink`: what an adapter test builds.
- :class:`Project`: a directory with ``engage.toml`` to run ``engage sync`` end to end;
  :mod:`engage.testing.samples`: a small CRM export and the CSV source table reading it,
  to feed a sink in such a test.
- :class:`FakeServer`: a loopback HTTP server to build a fake of an API on.
- :func:`temporary_database`: a PostgreSQL database of a test's own, dropped after it
  (skipped when no server answers).
- :mod:`engage.testing.faults`: the fault kit (imported by its own name): ``engage`` run in
  child processes with named functions wrapped to die (``SIGKILL``), hang or cut a write
  short, a small disk, and the matrix of what each fault did.
- The pytest plugin (:mod:`engage.testing.plugin`, loaded on its own wherever engage is
  installed): ``engage_store``, ``engage_config``, ``engage_context``, ``engage_project``,
  ``engage_plugin_manager``, ``engage_register_plugin`` and ``engage_postgres_database``
  fixtures.

The contracts are imported on first use, so code that only needs a fake server does not
need pytest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engage.testing.builders import (
    NOW,
    OURS,
    adapter_context,
    build_sink,
    build_source,
    make_task,
    make_tasks,
)
from engage.testing.fakeserver import FakeServer, Reply, Request
from engage.testing.postgres import temporary_database
from engage.testing.project import Project, Run
from engage.testing.pull import Pull, ids

if TYPE_CHECKING:
    from engage.testing.sink_contract import SinkCase, SinkContract
    from engage.testing.source_contract import SourceCase, SourceContract

__all__ = [
    "NOW",
    "OURS",
    "FakeServer",
    "Project",
    "Pull",
    "Reply",
    "Request",
    "Run",
    "SinkCase",
    "SinkContract",
    "SourceCase",
    "SourceContract",
    "adapter_context",
    "build_sink",
    "build_source",
    "ids",
    "make_task",
    "make_tasks",
    "temporary_database",
]

_LAZY = {
    "SinkCase": "engage.testing.sink_contract",
    "SinkContract": "engage.testing.sink_contract",
    "SourceCase": "engage.testing.source_contract",
    "SourceContract": "engage.testing.source_contract",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'engage.testing' has no attribute {name!r}")
