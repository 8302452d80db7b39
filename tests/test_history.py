"""Health history: a row per change, recorded by syncs, back-filled once, shown by the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engage.cli import App, cli
from engage.engine import Engine
from engage.health import Band
from engage.history import HealthPoint, month_end, month_ends
from engage.plugins import make_plugin_manager
from engage.store import Store, open_store
from tests.support import fakeplugins
from tests.test_sync import AS_OF, World, line


def rows(world: World) -> list[HealthPoint]:
    store = open_store(world.store)
    try:
        return [p for key in ("acme.com", "globex.com") for p in store.health_history(key)]
    finally:
        store.close()


def engine_of(world: World, store: Store) -> Engine:
    config = world.config()
    return Engine(
        store=store,
        factors=[r.value for r in world.registry.factors.values()],
        rules=[r.value for r in world.registry.rules.values()],
        settings=config.scoring,
        identity=config.identity,
    )


def invoke(world: World, *args: str) -> Result:
    pm = make_plugin_manager(entry_points=False)
    pm.register(fakeplugins, name="testkit")
    return CliRunner().invoke(
        cli, ["--config", str(world.root / "engage.toml"), *args], obj=App(None, pm=pm)
    )


def cli_json(world: World, *args: str) -> object:
    result = invoke(world, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def world(tmp_path: Path, store_target: str) -> World:
    w = World(tmp_path, store_target)
    # Acme wrote 5 days before AS_OF and nobody answered; Globex went quiet in September.
    w.add(
        line("1", "2025-06-01T10:00:00+00:00"),
        line("2", "2025-06-02T10:00:00+00:00", direction="outbound"),
        line("3", "2026-02-24T10:00:00+00:00"),
        line("4", "2025-09-01T10:00:00+00:00", customer="globex.com", contact="hank@globex.com"),
        line(
            "5",
            "2025-09-02T10:00:00+00:00",
            customer="globex.com",
            contact="hank@globex.com",
            direction="outbound",
        ),
    )
    (tmp_path / "engage.toml").write_text(
        f"store = {json.dumps(w.store)}\n"
        'internal_domains = ["ourco.com"]\n'
        '[sources.feed]\nplugin = "jsonl"\npath = "touchpoints.jsonl"\n'
    )
    return w


class TestRecording:
    """Syncs write a row only when a customer's score, band, stage or scoring version changed."""

    def test_the_first_sync_records_every_customer_once(self, world: World) -> None:
        """Everyone is planned by the first sync, so everyone gets a first row, at its moment."""
        world.sync()
        recorded = rows(world)
        assert [(p.customer, p.at, p.backfilled) for p in recorded] == [
            ("acme.com", AS_OF, False),
            ("globex.com", AS_OF, False),
        ]
        assert all(p.score is not None and p.version.startswith("v") for p in recorded)

    def test_a_sync_that_changes_nothing_adds_no_rows(self, world: World) -> None:
        """The same sync again, and a later one the same day with no change, write nothing."""
        world.sync()
        world.sync()
        world.sync(as_of=AS_OF + timedelta(minutes=5))
        assert len(rows(world)) == 2

    def test_a_change_adds_one_row(self, world: World) -> None:
        """Acme writes again, which changes its score: one new row, Acme's, at the sync's moment."""
        world.sync()
        before = {p.customer: p for p in rows(world)}
        world.add(line("6", "2026-03-01T09:10:00+00:00"))
        later = AS_OF + timedelta(minutes=30)  # Globex turns dormant at 10:00, by time alone
        world.sync(as_of=later)
        added = [p for p in rows(world) if p.at == later]
        assert [p.customer for p in added] == ["acme.com"]
        assert added[0].score != before["acme.com"].score

    def test_the_first_sync_of_a_day_catches_scores_that_drifted_with_time(
        self, world: World
    ) -> None:
        """Recency decays without new data; the day's first sync records everyone who moved,
        so each customer's latest row is its health at that sync."""
        world.sync()
        next_month = AS_OF + timedelta(days=30)
        world.sync(as_of=next_month)
        store = open_store(world.store)
        try:
            engine = engine_of(world, store)
            for health in engine.health(next_month):
                latest = store.health_history(health.customer)[-1]
                assert latest.state == HealthPoint.of(health).state
            assert store.history_mark("full_pass") == next_month
        finally:
            store.close()

    def test_recording_the_same_health_twice_writes_one_row(self, tmp_path: Path) -> None:
        """The Python API: record_history compares with the customer's latest row."""
        book = Engine.in_memory(internal_domains=["ourco.com"])
        book.touch("jane@acme.com", "2026-01-10T10:00Z", "meeting", "outbound")
        moment = datetime(2026, 1, 20, tzinfo=UTC)
        assert book.record_history(book.health(moment)) == 1
        assert book.record_history(book.health(moment + timedelta(seconds=1))) == 0
        assert [p.score for p in book.history("acme.com", backfill=False)] == [
            h.score for h in book.health(moment)
        ]


class TestBackfill:
    """The first history read back-fills the last 12 month ends, once, honestly marked."""

    def test_the_backfill_matches_health_as_of_each_month_end(self, world: World) -> None:
        """``health --history`` back-fills; at every month end its state is what
        ``health --as-of`` that day says."""
        world.sync()
        history = cli_json(
            world, "health", "--customer", "acme.com", "--history", "--json",
            "--as-of", AS_OF.isoformat(),
        )  # fmt: skip
        assert isinstance(history, list)
        backfilled = [p for p in history if p["backfilled"]]
        assert backfilled and all(p["at"] < AS_OF.isoformat() for p in backfilled)
        for end in month_ends(AS_OF):
            day = end.date().isoformat()
            (now,) = cli_json(world, "health", "--customer", "acme.com", "--as-of", day, "--json")  # type: ignore[misc]
            known = [p for p in history if p["at"] <= end.isoformat()]
            if now["score"] is None:  # before Acme's first touch: no history yet
                assert not known, day
                continue
            state = known[-1]
            assert (state["score"], state["band"], state["stage"]) == (
                now["score"],
                now["band"],
                now["stage"],
            ), day

    def test_a_customer_s_backfilled_history_starts_at_its_first_touch(self, world: World) -> None:
        """Globex's first touch was in September 2025: no row before it, none 'no_data'."""
        world.sync()
        store = open_store(world.store)
        try:
            engine_of(world, store).backfill_history(AS_OF)
            globex = store.health_history("globex.com")
        finally:
            store.close()
        assert globex[0].at == month_end(2025, 9)
        assert all(p.band is not Band.NO_DATA for p in globex)

    def test_the_backfill_runs_once_and_only_before_the_first_recorded_row(
        self, world: World
    ) -> None:
        """A second back-fill writes nothing; month ends after the first sync are left to syncs."""
        world.sync(as_of=datetime(2025, 12, 15, tzinfo=UTC))
        store = open_store(world.store)
        try:
            engine = engine_of(world, store)
            assert engine.backfill_history(AS_OF) > 0
            assert engine.backfill_history(AS_OF) == 0
            backfilled = [p.at for p in store.health_history("acme.com") if p.backfilled]
        finally:
            store.close()
        assert backfilled and max(backfilled) < datetime(2025, 12, 15, tzinfo=UTC)


class TestCommandLine:
    """``engage health --history`` names what it needs."""

    def test_history_needs_a_customer(self, world: World) -> None:
        """History is per customer: without --customer it is a usage error."""
        world.sync()
        result = invoke(world, "health", "--history")
        assert result.exit_code == 2
        assert "--customer KEY" in result.output

    def test_history_prints_a_row_per_change(self, world: World) -> None:
        """The table shows each change and says which rows were back-filled."""
        world.sync()
        result = invoke(world, "health", "--customer", "acme.com", "--history")
        assert result.exit_code == 0, result.output
        assert "Health history of acme.com" in result.stdout
        assert "back-filled" in result.stdout
        assert "by a sync" in result.stdout
