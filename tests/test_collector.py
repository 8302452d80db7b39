"""The command line tunes Python's garbage collector for its own process (engage.collector)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from engage import cli, collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_tuning_collects_less_often_and_sets_aside_what_exists() -> None:
    collector.tune()
    assert gc.get_threshold() == (collector.YOUNG, collector.MIDDLE, collector.OLD)
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("restored_collector")
def test_the_command_line_tunes_it_and_importing_engage_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert gc.get_threshold() != (collector.YOUNG, collector.MIDDLE, collector.OLD)
    monkeypatch.setattr(sys, "argv", ["engage", "--version"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 0
    assert gc.get_threshold() == (collector.YOUNG, collector.MIDDLE, collector.OLD)
