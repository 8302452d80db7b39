"""How ``engage health --customer KEY --history`` shows a customer's history on a terminal."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from engage.history import HealthPoint
from engage.output import BAND_STYLE, console


def print_history(customer: str, points: Sequence[HealthPoint]) -> None:
    """A table of the customer's changes, oldest first; back-filled rows are marked."""
    out = console()
    if not points:
        out.print(f"No health history for {customer} yet: 'engage sync' records it.")
        return
    table = Table(title=f"Health history of {customer} (a row per change)")
    for column in ("from", "score", "band", "stage", "scoring", "recorded"):
        table.add_column(column, justify="right" if column == "score" else "left")
    for point in points:
        style = BAND_STYLE[point.band.value]
        table.add_row(
            f"{point.at:%Y-%m-%d %H:%M}",
            "–" if point.score is None else str(point.score),
            f"[{style}]{point.band.value}[/]",
            point.stage.value,
            point.version,
            "back-filled" if point.backfilled else "by a sync",
        )
    out.print(table)
    if any(point.backfilled for point in points):
        out.print(
            "Back-filled rows were computed afterwards from the touchpoints dated up to each "
            "month's end."
        )
