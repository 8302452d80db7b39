"""Shared helpers: build a CsvSource over files in tmp_path and pull from it (a
:class:`engage.testing.Pull`)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engage.adapters import AdapterContext, resolve_options
from engage.identity import Identity
from engage.testing import Project, Pull
from engage_csv import CsvSource

DATA = Path(__file__).parent / "data"
IDENTITY = Identity.for_domains(["ourco.com"])


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write a file under tmp_path: write("a.csv", "text") or write("a.csv", b"bytes")
    (:meth:`engage.testing.Project.write`: UTF-8, line ends as given)."""

    return Project(tmp_path).write


@pytest.fixture
def csv_project(tmp_path: Path) -> Project:
    """A kit :class:`~engage.testing.Project` in tmp_path (beside what ``write`` wrote) that
    runs engage with the CSV plugin only, through its entry point."""
    return Project(tmp_path, plugins=("csv",))


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
        return Pull.run(source(**options), cursor)

    return pull
