"""A source line that reads several kinds in turn, each with its total (HubSpot's object types)."""

from __future__ import annotations

import io
import threading
import time

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


def test_the_redrawing_thread_runs_only_while_a_stage_other_than_a_pull_is_open() -> None:
    """A source may fork to read ahead (engage.readahead) and planning may fork to score
    (engage.mapahead), which is safe with one thread only: the bars' redrawing thread stops
    for a pull, whose counts redraw them, and between stages, when nothing is drawn."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with TerminalProgress(console) as shown:
        assert threading.active_count() == 1  # no stage open: nothing to redraw
        with shown.stage("pull files (csv)", source="files"):
            assert threading.active_count() == 1
            before = len(out.getvalue())
            time.sleep(0.2)  # more than a redraw's interval
            shown("files").advance("rows", 5000)
            assert "5,000 rows" in out.getvalue()[before:]
        assert threading.active_count() == 1
        with shown.stage("scoring 10 customers", total=10) as scoring:
            assert threading.active_count() == 2
            scoring.advance(3)
            with shown.stage("pull again (csv)", source="again"):
                assert threading.active_count() == 1
            assert threading.active_count() == 2
        assert threading.active_count() == 1
    assert threading.active_count() == 1
