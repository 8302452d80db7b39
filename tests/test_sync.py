"""engage sync: nothing lost, nothing duplicated, one at a time, no action on partial data."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engage.config import Config
from engage.cursors import unseal
from engage.errors import ConfigError, LockedError, PluginError
from engage.plugins import Registry, make_plugin_manager
from engage.progress import SilentProgress
from engage.store import open_store
from engage.sync import run_sync
from tests.support import fakeplugins

AS_OF = datetime(2026, 3, 1, 9, tzinfo=UTC)


def line(
    external_id: str,
    occurred_at: str,
    *,
    customer: str = "acme.com",
    direction: str = "inbound",
    channel: str = "email",
    contact: str = "jane@acme.com",
) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "customer": customer,
        "occurred_at": occurred_at,
        "channel": channel,
        "direction": direction,
        "contact_email": contact,
        "owner": "alice@ourco.com",
    }


class World:
    """A config directory with a JSON-lines source file, a JSON task file and a store."""

    def __init__(self, root: Path, store: str = "engage.db") -> None:
        self.root = root
        self.store = store  # the config's store: a path (relative to root) or a URL
        self.data = root / "touchpoints.jsonl"
        self.remote_file = root / "remote.json"
        self.data.write_text("")
        self.sink_options: dict[str, Any] = {}
        pm = make_plugin_manager(entry_points=False)
        pm.register(fakeplugins, name="testkit")
        self.registry = Registry.from_plugins(pm)

    def add(self, *items: dict[str, Any]) -> None:
        with self.data.open("a") as handle:
            for item in items:
                handle.write(json.dumps(item) + "\n")

    def config(self) -> Config:
        return Config.from_dict(
            {
                "store": self.store,
                "internal_domains": ["ourco.com"],
                "sync": {"retry_wait": 0},  # a temporary failure is tried again at once
                "sources": {"feed": {"plugin": "jsonl", "path": "touchpoints.jsonl"}},
                "sinks": {
                    "remote": {"plugin": "jsonfile", "path": "remote.json", **self.sink_options}
                },
            },
            path=self.root / "engage.toml",
        )

    def sync(self, **kwargs: Any) -> Any:
        config = self.config()
        store = open_store(config.store)
        try:
            return run_sync(
                config, self.registry, store, as_of=kwargs.pop("as_of", AS_OF), **kwargs
            )
        finally:
            store.close()

    def remote(self) -> dict[str, dict[str, Any]]:
        return json.loads(self.remote_file.read_text()) if self.remote_file.exists() else {}

    def remote_keys(self) -> list[str]:
        return sorted(task["key"] for task in self.remote().values())


@pytest.fixture
def world(tmp_path: Path, store_target: str) -> Iterator[World]:
    w = World(tmp_path, store_target)
    # Acme wrote 5 days ago and nobody answered; Globex has had no exchange for months.
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
    yield w


class Stages:
    """A RunProgress that records each stage's description, total and count."""

    def __init__(self) -> None:
        self.stages: dict[str, list[int | None]] = {}

    def __call__(self, source: str) -> Any:
        return SilentProgress()(source)

    @contextmanager
    def stage(
        self,
        description: str,
        total: int | None = None,
        *,
        unit: str = "",
        source: str | None = None,
    ) -> Iterator[Any]:
        counts = self.stages.setdefault(description, [total, 0])

        class Counted:
            def advance(self, count: int = 1) -> None:
                counts[1] = (counts[1] or 0) + count

        yield Counted()


def test_the_scoring_stage_knows_how_many_customers(world: World) -> None:
    """On both stores the scoring stage names how many customers it plans and counts to
    that total, so a terminal shows N and a percentage."""
    stages = Stages()
    assert world.sync(progress=stages).ok
    assert stages.stages["scoring 2 customers"] == [2, 2]
    world.add(line("6", "2026-02-27T10:00:00+00:00"))
    again = Stages()
    assert world.sync(progress=again).ok
    assert again.stages["scoring 1 customer"] == [1, 1]


def test_first_sync_pulls_plans_and_pushes_every_task(world: World) -> None:
    """Every planned task lands in the sink once, with the records committed."""
    report = world.sync()
    assert report.ok
    source = report.sources[0]
    assert (source.records, source.inserted, source.problems, source.error) == (5, 5, 0, None)
    assert report.customers == 2
    assert report.tasks_planned > 0
    assert report.sinks[0].pushed == report.tasks_planned
    assert len(world.remote_keys()) == report.tasks_planned


def test_rerun_pulls_nothing_new_and_pushes_nothing_twice(world: World) -> None:
    """The hourly job run again: the cursor skips old records, the ledger skips old tasks."""
    first = world.sync()
    second = world.sync()
    assert second.sources[0].records == 0
    assert second.sinks[0].pushed == 0
    assert second.sinks[0].already_pushed == first.tasks_planned
    assert len(world.remote()) == first.tasks_planned


def test_repulling_the_same_records_changes_nothing(world: World, tmp_path: Path) -> None:
    """A source that sends everything again (a lost cursor) leaves the store as it was."""
    world.sync()
    store = open_store(world.store)
    with store.transaction():
        store.set_cursor("feed", "0")
    store.close()
    again = world.sync()
    assert (again.sources[0].records, again.sources[0].inserted, again.sources[0].unchanged) == (
        5,
        0,
        5,
    )
    assert again.sinks[0].pushed == 0


def test_bad_records_are_counted_and_the_rest_lands(world: World) -> None:
    """A source's problems are reported with their messages; good records still commit."""
    world.add(
        {"problem": "occurred_at: not a date (got 'yesterday')"},
        line("6", "2026-02-25T10:00:00+00:00"),
    )
    report = world.sync()
    source = report.sources[0]
    assert source.problems == 1
    assert source.messages == ("touchpoints.jsonl:6: occurred_at: not a date (got 'yesterday')",)
    assert source.records == 6
    assert report.ok


def test_input_passed_over_on_purpose_is_counted_by_reason(world: World) -> None:
    """Automated mail and the like are not errors, but the summary says how many and why."""
    world.add({"skipped": "automated"}, {"skipped": "automated"}, {"skipped": "spam/trash/draft"})
    report = world.sync()
    assert report.ok
    assert report.sources[0].skipped == {"automated": 2, "spam/trash/draft": 1}
    assert report.to_json()["sources"]["feed"]["skipped"] == {"automated": 2, "spam/trash/draft": 1}


def test_a_failing_source_keeps_what_was_checkpointed_and_pushes_nothing(
    world: World, tmp_path: Path
) -> None:
    """Records before the last checkpoint stay; the rest roll back; no task acts on partial data."""
    world.add(
        {"checkpoint": True}, line("6", "2026-02-26T10:00:00+00:00"), {"fail": "connection reset"}
    )
    report = world.sync()
    source = report.sources[0]
    assert source.error == "feed: connection reset"
    assert source.records == 5
    assert not report.ok
    assert report.sinks[0].skipped == "source failed: feed"
    assert world.remote() == {}
    store = open_store(world.store)
    assert unseal(store.get_cursor("feed")) == "6"
    assert store.touchpoint_count() == 5
    store.close()


def test_dry_run_plans_but_pushes_nothing(world: World) -> None:
    """--dry-run: the plan is reported, the sink untouched."""
    report = world.sync(dry_run=True)
    assert report.tasks_planned > 0
    assert report.sinks[0].skipped == "dry run"
    assert world.remote() == {}


def test_sink_outage_leaves_tasks_for_the_next_run(world: World) -> None:
    """The sink is down after the intent was recorded: the next run creates each task once."""
    world.sink_options = {"down": True}
    down = world.sync()
    assert not down.ok
    assert "the task service is down" in down.sinks[0].errors[0]
    world.sink_options = {}
    up = world.sync()
    assert up.sinks[0].pushed == down.tasks_planned
    assert len(world.remote()) == down.tasks_planned


def test_partial_failure_retries_only_the_refused_task(world: World) -> None:
    """A task the sink refused is retried next run; the accepted ones are not repeated."""
    planned = world.sync(dry_run=True)
    store = open_store(world.store)
    store.close()
    first_key = sorted(k for k in _planned_keys(world))[0]
    world.sink_options = {"refuse_keys": [first_key]}
    partial = world.sync()
    assert partial.sinks[0].failed == 1
    assert partial.sinks[0].pushed == planned.tasks_planned - 1
    assert first_key not in world.remote_keys()
    world.sink_options = {}
    retry = world.sync()
    assert retry.sinks[0].pushed == 1
    assert world.remote_keys() == sorted(_planned_keys(world))


def _planned_keys(world: World) -> set[str]:
    from engage.engine import Engine

    config = world.config()
    store = open_store(config.store)
    try:
        engine = Engine(
            store,
            [r.value for r in world.registry.factors.values()],
            [r.value for r in world.registry.rules.values()],
            config.scoring,
        )
        return {t.key for t in engine.tasks(AS_OF)}
    finally:
        store.close()


def test_tasks_whose_condition_cleared_are_completed(world: World) -> None:
    """When the situation behind a task changes, the old task is cleared (and completed where the sink can)."""
    world.sync()
    before = set(world.remote_keys())
    world.add(line("9", "2026-02-28T10:00:00+00:00", direction="outbound", channel="call"))
    report = world.sync()
    sink = report.sinks[0]
    assert sink.cleared >= 1
    assert sink.completed == sink.cleared
    done = {t["key"] for t in world.remote().values() if t["status"] == "done"}
    assert done and done <= before


def test_a_second_sync_waits_its_turn_on_a_store_of_one_runner(
    world: World, tmp_path: Path
) -> None:
    """SQLite takes one sync at a time: while one holds the store, another refuses to start.
    PostgreSQL takes several (each source pulled by one at a time), but none while a store
    copy or migration holds it alone."""
    holder = open_store(world.store)
    if holder.concurrent_runners:
        with holder.runner_lock():
            assert world.sync().ok
        refused = pytest.raises(LockedError, match="an engage store copy or migration is running")
    else:
        refused = pytest.raises(LockedError, match="another engage sync is running")
    with holder.lock(), refused:
        world.sync()
    holder.close()
    assert world.sync().ok


def test_unknown_plugin_or_option_fails_before_pulling(world: World) -> None:
    """A config mistake is reported before anything is pulled or pushed."""
    world.sink_options = {"colour": "blue"}
    with pytest.raises(ConfigError, match=r"\[sinks.remote\]: unknown key 'colour'"):
        world.sync()
    config = Config.from_dict(
        {"sources": {"x": {"plugin": "nosuch"}}}, path=world.root / "engage.toml"
    )
    store = open_store(world.store)
    with pytest.raises(PluginError, match="no source plugin named 'nosuch'"):
        run_sync(config, world.registry, store, as_of=AS_OF)
    store.close()
    assert world.remote() == {}


def test_hook_engage_sync_finished_receives_the_report(world: World) -> None:
    """Plugins observing syncs get the report after every run."""
    seen = []

    class Observer:
        @staticmethod
        @fakeplugins.hookimpl
        def engage_sync_finished(report: Any) -> None:
            seen.append(report)

    pm = make_plugin_manager(entry_points=False)
    pm.register(fakeplugins, name="testkit")
    pm.register(Observer, name="observer")
    config = world.config()
    store = open_store(config.store)
    report = run_sync(config, Registry.from_plugins(pm), store, as_of=AS_OF, pm=pm)
    store.close()
    assert seen == [report]


def test_crash_between_remote_create_and_ledger_never_duplicates(
    world: World, tmp_path: Path
) -> None:
    """The process dies right after the sink created the tasks; the re-run finds them instead of creating them again."""
    site = tmp_path / "site"
    env = fakeplugins.install_as_distribution(site, Path(__file__).resolve().parent)
    env["ENGAGE_LOAD_PLUGINS"] = "testkit"
    world.sink_options = {"die_after_create": True}
    (tmp_path / "engage.toml").write_text(_toml(world))
    command = [
        sys.executable,
        "-m",
        "engage",
        "--config",
        str(tmp_path / "engage.toml"),
        "sync",
        "--as-of",
        AS_OF.isoformat(),
        "--json",
    ]
    died = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert died.returncode == 17, died.stderr
    created = world.remote_keys()
    assert (
        len(created) == fakeplugins.JsonFileSink.batch_size
        or 0 < len(created) <= fakeplugins.JsonFileSink.batch_size
    )
    world.sink_options = {}
    (tmp_path / "engage.toml").write_text(_toml(world))
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["sinks"]["remote"]["recovered"] == len(created)
    keys = world.remote_keys()
    assert len(keys) == len(set(keys)) == report["tasks_planned"]


def _toml(world: World) -> str:
    sink = "".join(f"{k} = {json.dumps(v)}\n" for k, v in world.sink_options.items())
    return (
        f"store = {json.dumps(world.store)}\n"
        'internal_domains = ["ourco.com"]\n'
        '[sources.feed]\nplugin = "jsonl"\npath = "touchpoints.jsonl"\n'
        f'[sinks.remote]\nplugin = "jsonfile"\npath = "remote.json"\n{sink}'
    )


def test_the_same_email_from_two_sources_is_merged_and_reported(
    tmp_path: Path, store_target: str
) -> None:
    """The mailbox and the CRM both have the email: the sync says how many merged, health counts it once."""
    world = World(tmp_path, store_target)
    mail = tmp_path / "mail.jsonl"
    world.add(line("c1", "2026-02-20T10:00:00+00:00") | {"message_id": "m-1@acme.com"})
    mail.write_text(
        json.dumps(line("g1", "2026-02-20T10:03:00+00:00") | {"message_id": "m-1@acme.com"}) + "\n"
    )
    config = Config.from_dict(
        {
            "store": store_target,
            "sources": {
                "crm": {"plugin": "jsonl", "path": "touchpoints.jsonl"},
                "mail": {"plugin": "jsonl", "path": "mail.jsonl"},
            },
        },
        path=tmp_path / "engage.toml",
    )
    store = open_store(config.store)
    report = run_sync(config, world.registry, store, as_of=AS_OF)
    assert [s.merged for s in report.sources] == [0, 1]
    (facts,) = store.facts(AS_OF, config.scoring)
    assert facts.touches == 1
    store.close()
