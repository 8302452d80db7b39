"""Sorting a chunk of touchpoint rows before an upsert, the same in every backend.

A row is a tuple of the touchpoint columns (:data:`engage.store.sqlite_touchpoints.COLUMNS`)
whose first two are ``source`` and ``external_id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def ids_by_source(rows: Sequence[tuple[Any, ...]]) -> dict[str, list[str]]:
    """The external ids of ``rows``, by source (in the rows' order)."""
    by_source: dict[str, list[str]] = {}
    for row in rows:
        by_source.setdefault(row[0], []).append(row[1])
    return by_source


def split_known(
    rows: Sequence[tuple[Any, ...]], known: set[tuple[str, str]]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """``rows`` split into (new, old): old rows are ``known`` (stored) ones, and repeats of a
    row earlier in the chunk, which update it. Adds the new rows' ids to ``known``."""
    new: list[tuple[Any, ...]] = []
    old: list[tuple[Any, ...]] = []
    for row in rows:
        ident = (row[0], row[1])
        if ident in known:
            old.append(row)
        else:
            new.append(row)
            known.add(ident)  # a repeat later in the chunk is an update of this one
    return new, old
