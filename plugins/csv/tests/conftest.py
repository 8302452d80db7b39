"""Shared helpers: build a CsvSource over files in tmp_path and pull from it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engage.adapters import (
    AdapterContext,
    Checkpoint,
    Problem,
    Skipped,
    SourceItem,
    resolve_options,
)
from engage.identity import Identity
from engage.models import Contact, Customer, Touchpoint
from engage_csv import CsvSource

DATA = Path(__file__).parent / "data"
IDENTITY = Identity.for_domains(["ourco.com"])


class Pull:
    """The items of one pull, sorted by kind."""

    def __init__(self, items: list[SourceItem]) -> None:
        self.items = items
        self.touchpoints = [i for i in items if isinstance(i, Touchpoint)]
        self.customers = [i for i in items if isinstance(i, Customer)]
        self.contacts = [i for i in items if isinstance(i, Contact)]
        self.problems = [i.message for i in items if isinstance(i, Problem)]
        self.checkpoints = [i.cursor for i in items if isinstance(i, Checkpoint)]
        self.skipped: dict[str, int] = {}
        for item in items:
            if isinstance(item, Skipped):
                self.skipped[item.what] = self.skipped.get(item.what, 0) + item.count

    @property
    def cursor(self) -> str:
        """The last checkpoint's cursor."""
        return self.checkpoints[-1]


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write a file under tmp_path: write("a.csv", "text") or write("a.csv", b"bytes")."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    return write


@pytest.fixture
def sample(tmp_path: Path) -> Callable[[str], str]:
    """Copy a csvkit sample from tests/data into tmp_path; returns its name."""

    def sample(name: str) -> str:
        shutil.copy(DATA / name, tmp_path / name)
        return name

    return sample


@pytest.fixture
def source(tmp_path: Path) -> Callable[..., CsvSource]:
    """Build a CsvSource named "files" in tmp_path from config-style options."""

    def source(**options: Any) -> CsvSource:
        resolved = resolve_options(CsvSource.options, options, "engage.toml: [sources.files]")
        return CsvSource(resolved, AdapterContext("files", base_dir=tmp_path, identity=IDENTITY))

    return source


@pytest.fixture
def pull(source: Callable[..., CsvSource]) -> Callable[..., Pull]:
    """Pull once: pull(cursor=None, **options)."""

    def pull(cursor: str | None = None, **options: Any) -> Pull:
        return Pull(list(source(**options).pull(cursor)))

    return pull
