"""map_ahead: map() computed in a child process, with the same results, order and errors."""

from __future__ import annotations

import os
import random
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import engage.engine as engine_module
from engage.engine import Engine
from engage.errors import StoreError
from engage.forking import DISABLE_ENV, available
from engage.history import HealthPoint
from engage.mapahead import map_ahead
from engage.models import Customer, Touchpoint
from engage.plugins import Registry, make_plugin_manager
from engage.settings import ScoringSettings, SegmentSettings
from engage.store import open_store
from engage.store.base import Record

REGISTRY = Registry.from_plugins(make_plugin_manager(entry_points=False))
SETTINGS = ScoringSettings(
    segments={"slow": SegmentSettings(name="slow", match=("*.org",), cadence_days=60)}
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="forks on Linux only: map in one process"
)


@pytest.fixture(autouse=True)
def _forks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    assert available(), f"no fork possible here (threads: {threading.enumerate()})"


def square_where(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def test_results_come_in_order_from_another_process() -> None:
    results = list(map_ahead(square_where, range(1234), batch=50, ahead=3))
    assert [r for r, _ in results] == [n * n for n in range(1234)]
    assert {pid for _, pid in results} != {os.getpid()}
    assert threading.active_count() == 1  # the writer thread is gone too


def test_large_results_and_items_never_wait_on_each_other() -> None:
    """Batches far larger than a pipe holds, both ways: no deadlock."""
    text = "x" * 50_000
    results = map_ahead(lambda s: s * 3, (text for _ in range(200)), batch=40, ahead=4)
    assert sum(len(r) for r in results) == 200 * 150_000


def test_an_error_comes_after_the_results_before_it_with_the_childs_traceback() -> None:
    def plan(n: int) -> int:
        if n == 437:
            raise ValueError(f"rule 'welcome' failed on customer {n}")
        return n

    seen: list[int] = []
    with pytest.raises(ValueError, match="customer 437") as raised:
        for n in map_ahead(plan, range(1000), batch=100):
            seen.append(n)
    assert seen == list(range(437))
    assert "computed in a child process" in "".join(getattr(raised.value, "__notes__", []))


def test_an_error_of_the_items_here_ends_the_child() -> None:
    def facts() -> Iterator[int]:
        yield from range(300)
        raise StoreError("engage.db: disk I/O error")

    got: list[tuple[int, int]] = []
    with pytest.raises(StoreError, match="disk I/O"):
        got.extend(map_ahead(square_where, facts(), batch=100))
    assert len(got) == 300
    with pytest.raises(ChildProcessError):  # reaped: no child left behind
        os.waitpid(-1, os.WNOHANG)


def test_stopping_early_ends_the_child_and_the_writer() -> None:
    results = map_ahead(square_where, range(10**9), batch=100, ahead=2)
    assert next(results)[0] == 0
    results.close()  # type: ignore[attr-defined]
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
    assert threading.active_count() == 1


def test_nothing_to_map_is_nothing() -> None:
    assert list(map_ahead(square_where, [])) == []


def test_with_another_thread_running_it_maps_here() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert {pid for _, pid in map_ahead(square_where, range(5))} == {os.getpid()}
    finally:
        stop.set()
        other.join()


def test_a_store_planned_in_a_child_gets_the_same_health_and_plans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Engine.replan_scored past PLAN_AHEAD_CUSTOMERS: the same scores, reasons and tasks,
    in the same order, as planning in one process; two segments, so the facts carry both."""
    rng = random.Random(5)
    records: list[Record] = []
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for n in range(400):
        domain = f"c{n}.org" if n % 5 == 0 else f"c{n}.com"
        records.append(Customer(domain, name=f"Customer {n}", attributes={"tier": n % 3}))
        for k in range(rng.randint(0, 12)):
            records.append(
                Touchpoint(
                    "crm",
                    f"{n}-{k}",
                    domain,
                    start + timedelta(days=rng.randint(0, 600), minutes=k),
                    rng.choice(["email", "email", "call", "meeting", "feedback"]),
                    rng.choice(["inbound", "outbound"]),
                    contact_email=f"p{k % 3}@{domain}",
                    owner=f"rep{n % 4}@ourco.com",
                    feedback=0.9 if k == 3 else None,
                )
            )
    as_of = datetime(2026, 11, 1, tzinfo=UTC)

    def planned(name: str, points: bool = False) -> list[tuple[Any, ...]]:
        store = open_store(str(tmp_path / f"{name}.db"))
        try:
            store.write(records, "crm")
            engine = Engine(
                store=store,
                factors=[r.value for r in REGISTRY.factors.values()],
                rules=[r.value for r in REGISTRY.rules.values()],
                settings=SETTINGS,
            )
            replan = engine.replan_points if points else engine.replan_scored
            return list(replan(as_of))
        finally:
            store.close()

    monkeypatch.setattr(engine_module, "PLAN_AHEAD_CUSTOMERS", 1)
    calls: list[bool] = []
    real = map_ahead

    def counted(function: Any, items: Any) -> Any:
        calls.append(available())
        return real(function, items)

    monkeypatch.setattr(engine_module, "map_ahead", counted)
    ahead = planned("ahead")
    ahead_points = planned("ahead-points", points=True)
    assert calls == [True, True]
    monkeypatch.setenv(DISABLE_ENV, "0")
    here = planned("here")
    assert ahead == here
    assert len(ahead) == 400
    assert sum(len(plan.tasks) for _, plan in ahead) > 100
    assert {health.segment for health, _ in ahead} == {"default", "slow"}
    # what a sync uses: the same plans, each with its health's history point
    assert ahead_points == [(HealthPoint.of(health), plan) for health, plan in ahead]
