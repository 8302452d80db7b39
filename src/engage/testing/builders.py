"""Building what an adapter test needs: tasks, contexts, and adapters built as engage builds them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import attrs

from engage.adapters import AdapterContext, Progress, Sink, Source, resolve_options
from engage.identity import Identity
from engage.models import Contact, Customer, Owner, Task

#: The moment tests run at unless they say otherwise (a Monday morning, UTC).
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

#: Our own domain in tests: addresses there are colleagues, not customers.
OURS = Identity.for_domains(["ourco.com"])


def make_task(n: int = 1, **changes: Any) -> Task:
    """A check-in task for Jane at Acme, owned by carol@ourco.com; ``n`` makes its key unique.

    Any field can be changed: ``make_task(2, customer="globex.io", kind="email")``. The key,
    unless given (``make_task(key="k1")``), is built as engage builds keys, from the rule
    and the customer: ``make_task(3, rule="welcome", customer="globex.io").key`` is
    ``"welcome:globex.io:2026-02-04:3"``, so tasks of other rules or customers never share
    a key.
    """
    rule = changes.get("rule", "check_in")
    customer = changes.get("customer", "acme.com")
    base = Task(
        key=f"{rule}:{customer}:2026-02-{n % 28 + 1:02d}:{n}",
        customer="acme.com",
        rule="check_in",
        title="Check in with Acme",
        body="No conversation for 45 days (cadence 30).\n\n- last touch 2026-01-16",
        due=date(2026, 3, 4),
        priority="medium",
        kind="call",
        owner="carol@ourco.com",
        reason="No conversation for 45 days (cadence 30)",
        contact_email="jane@acme.com",
    )
    return attrs.evolve(base, **changes) if changes else base


def make_tasks(count: int, **changes: Any) -> list[Task]:
    """``count`` tasks from :func:`make_task` with distinct keys (numbered from 1)."""
    return [make_task(n, **changes) for n in range(1, count + 1)]


def directory_records(tasks: list[Task] | tuple[Task, ...]) -> list[Customer | Contact | Owner]:
    """What a store must know for a sink to push ``tasks``: each customer, contact and owner
    (an owner id with an ``@`` is taken as its email)."""
    records: dict[tuple[str, str], Customer | Contact | Owner] = {}
    for task in tasks:
        records[("customer", task.customer)] = Customer(task.customer)
        if task.contact_email:
            records[("contact", task.contact_email)] = Contact(task.contact_email, task.customer)
        if task.owner:
            email = task.owner if "@" in task.owner else None
            records[("owner", task.owner)] = Owner(task.owner, email, task.owner.split("@")[0])
    return list(records.values())


def adapter_context(
    name: str = "test",
    *,
    base_dir: Path | None = None,
    identity: Identity = OURS,
    env: Mapping[str, str] | None = None,
    now: Callable[[], datetime] | None = None,
    progress: Progress | None = None,
    directory: Any = None,
) -> AdapterContext:
    """An :class:`~engage.adapters.AdapterContext` for a test: our domain ``ourco.com``, no
    environment unless given, the clock at :data:`NOW` unless given."""
    extra: dict[str, Any] = {} if progress is None else {"progress": progress}
    return AdapterContext(
        name,
        base_dir=Path.cwd() if base_dir is None else base_dir,
        identity=identity,
        env=dict(env or {}),
        now=now or (lambda: NOW),
        directory=directory,
        **extra,
    )


def adapter_class(adapter: str | type[Any], kind: str) -> type[Any]:
    """The class of ``adapter``: itself, or the ``kind`` (``sources`` or ``sinks``) installed
    under that plugin name, found through the ``engage`` entry points as engage finds it.

    Raises:
        PluginError: no installed plugin registers that name.
    """
    if not isinstance(adapter, str):
        return adapter
    from engage.plugins import Registry, make_plugin_manager

    registry = Registry.from_plugins(make_plugin_manager(env={}))
    if kind == "sources":
        return registry.source(adapter, "engage.testing")
    return registry.sink(adapter, "engage.testing")


def build_source(
    adapter: str | type[Source], options: Mapping[str, Any], context: AdapterContext
) -> Source:
    """Build a source as ``engage sync`` does: check ``options`` against its ``options``
    spec (defaults filled in), then ``cls(options, context)``.

    Raises:
        ConfigError: an option is unknown, missing or of the wrong type.
    """
    cls = adapter_class(adapter, "sources")
    resolved = resolve_options(cls.options, options, context.table("sources"), env=context.env)
    source: Source = cls(resolved, context)
    return source


def build_sink(
    adapter: str | type[Sink], options: Mapping[str, Any], context: AdapterContext
) -> Sink:
    """Build a sink as ``engage sync`` does (see :func:`build_source`)."""
    cls = adapter_class(adapter, "sinks")
    resolved = resolve_options(cls.options, options, context.table("sinks"), env=context.env)
    sink: Sink = cls(resolved, context)
    return sink
