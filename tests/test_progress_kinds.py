"""A source line that reads several kinds in turn, each with its total (HubSpot's object types)."""

from __future__ import annotations

import io

from rich.console import Console

from engage.progress import TerminalProgress


def test_a_new_total_after_a_kind_is_read_shows_reading_again() -> None:
    """Once companies are all read the line says it is writing; the contacts' total that
    follows puts it back to reading, with the contacts' percentage."""
    shown = TerminalProgress(Console(file=io.StringIO()))
    with shown.stage("pull crm (hubspot)", source="crm"):
        progress = shown("crm")
        progress.total("companies", 2)  # type: ignore[attr-defined]
        progress.advance("companies", 2)
        (task,) = shown.bars.tasks
        assert task.description == "pull crm (hubspot): writing to the store"
        progress.total("contacts", 4)  # type: ignore[attr-defined]
        progress.advance("contacts", 1)
        (task,) = shown.bars.tasks
        assert task.description == "pull crm (hubspot)"
        assert (task.completed, task.total) == (1, 4)
