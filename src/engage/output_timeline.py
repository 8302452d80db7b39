"""How ``engage timeline CUSTOMER`` shows a customer's touchpoints and open tasks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from engage.models import Customer, Task
from engage.output import console, print_tasks
from engage.timeline import TimelineEntry


def timeline_json(
    customer: Customer,
    entries: Sequence[TimelineEntry],
    tasks: Sequence[Task],
    *,
    since: datetime | None,
    as_of: datetime | None,
) -> dict[str, Any]:
    """What ``engage timeline --json`` prints: the customer, its touchpoints oldest first, and
    its open tasks."""
    return {
        "customer": customer.key,
        "name": customer.name,
        "since": None if since is None else since.isoformat(),
        "as_of": None if as_of is None else as_of.isoformat(),
        "touchpoints": [entry.to_json() for entry in entries],
        "tasks": [task.to_json() for task in tasks],
    }


def print_timeline(
    customer: Customer,
    entries: Sequence[TimelineEntry],
    tasks: Sequence[Task],
    *,
    since: datetime | None,
) -> None:
    """A table of the customer's touchpoints, oldest first, then its open tasks."""
    out = console()
    who = (
        f"{customer.name} ({customer.key})"
        if customer.name and customer.name != customer.key
        else customer.key
    )
    after = f" since {since:%Y-%m-%d %H:%M} UTC" if since is not None else ""
    if not entries:
        out.print(Text(f"No touchpoints of {who}{after}."))
    else:
        count = f"{len(entries)} touchpoint{'s' if len(entries) != 1 else ''}"
        table = Table(title=Text(f"Timeline of {who}: {count}{after}"))
        for column in ("when (UTC)", "channel", "direction", "contact", "owner", "subject"):
            table.add_column(column)
        table.add_column("source")
        for entry in entries:
            touch = entry.touchpoint
            direction = touch.direction.value + (", missed" if touch.missed else "")
            table.add_row(
                f"{touch.occurred_at:%Y-%m-%d %H:%M}",
                touch.channel.value,
                direction,
                Text(touch.contact_email or "-"),
                Text(touch.owner or "-"),
                Text(touch.subject or ""),  # a subject is never read as markup
                Text(_sources(entry)),
            )
        out.print(table)
        merged = sum(1 for entry in entries if entry.merged)
        if merged:
            out.print(
                f"{merged} of them reached engage from several sources (joined by +) and count once."
            )
        if any(entry.duplicate_of for entry in entries):
            out.print(
                "A touchpoint marked 'copy of' repeats one held elsewhere and counts only there."
            )
    out.print()
    print_tasks(tasks)


def _sources(entry: TimelineEntry) -> str:
    if entry.duplicate_of is not None:
        return f"{entry.touchpoint.source} (copy of {entry.duplicate_of.source}'s)"
    return " + ".join(entry.sources)
