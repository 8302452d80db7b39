"""Several runners, one store: each source pulled by one runner at a time, the last to finish
plans and pushes once; an operator may split the work with --sources, --no-push and push."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engage.clock import utcnow
from engage.config import Config
from engage.errors import ConfigError
from engage.plugins import Registry, make_plugin_manager
from engage.report import SyncReport
from engage.runners import select_sources
from engage.store import SourcePull, Store, open_store
from engage.sync import run_sync
from tests.support import fakeplugins

AS_OF = datetime(2026, 3, 1, 9, tzinfo=UTC)


def touch(external_id: str, customer: str, day: str) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "customer": customer,
        "occurred_at": f"{day}T10:00:00+00:00",
        "channel": "email",
        "direction": "inbound",
        "contact_email": f"jane@{customer}",
        "owner": "alice@ourco.com",
    }


class Team:
    """Sources ``crm`` and ``mail`` (JSON-lines files) and a JSON task file, on one store that
    every runner of the team opens for itself."""

    def __init__(self, root: Path, store: str) -> None:
        self.root = root
        self.store = store
        pm = make_plugin_manager(entry_points=False)
        pm.register(fakeplugins, name="testkit")
        self.registry = Registry.from_plugins(pm)
        self.add("crm", touch("c1", "acme.com", "2026-02-24"))
        self.add("mail", touch("m1", "globex.com", "2026-02-25"))

    def add(self, source: str, *items: dict[str, Any]) -> None:
        with (self.root / f"{source}.jsonl").open("a") as handle:
            for item in items:
                handle.write(json.dumps(item) + "\n")

    def config(self) -> Config:
        return Config.from_dict(
            {
                "store": self.store,
                "internal_domains": ["ourco.com"],
                "sync": {"retry_wait": 0},  # a failed source's retry in the run waits no time
                "sources": {
                    name: {"plugin": "jsonl", "path": f"{name}.jsonl"} for name in ("crm", "mail")
                },
                "sinks": {"remote": {"plugin": "jsonfile", "path": "remote.json"}},
            },
            path=self.root / "engage.toml",
        )

    def run(self, **how: Any) -> SyncReport:
        """One runner's ``engage sync`` (``how``: sources, push, pull, dry_run)."""
        config = self.config()
        store = open_store(config.store)
        try:
            return run_sync(config, self.registry, store, as_of=AS_OF, **how)
        finally:
            store.close()

    def open(self) -> Store:
        return open_store(self.config().store)

    def remote_keys(self) -> list[str]:
        path = self.root / "remote.json"
        tasks = json.loads(path.read_text()) if path.exists() else {}
        return sorted(task["key"] for task in tasks.values())


@pytest.fixture
def team(tmp_path: Path, store_target: str) -> Team:
    return Team(tmp_path, store_target)


@pytest.fixture
def shared(team: Team) -> Iterator[Team]:
    """The team on a store several runners share at once (PostgreSQL)."""
    with team.open() as store:  # type: ignore[attr-defined]
        if not store.concurrent_runners:
            pytest.skip("SQLite takes one sync at a time")
    yield team


def sources_of(report: SyncReport) -> dict[str, str | None]:
    return {source.name: source.elsewhere for source in report.sources}


def test_sources_are_chosen_by_shell_patterns() -> None:
    names = ["crm", "mail_ann", "mail_bob", "calendar"]
    assert select_sources(names, []) == names
    assert select_sources(names, ["mail_*"]) == ["mail_ann", "mail_bob"]
    assert select_sources(names, ["calendar,crm"]) == ["crm", "calendar"]  # config order
    assert select_sources(names, ["mail_b*", "crm"]) == ["crm", "mail_bob"]
    with pytest.raises(ConfigError, match=r"--sources 'mial_\*' matches no source "
                       r"\(sources: crm, mail_ann, mail_bob, calendar\)"):  # fmt: skip
        select_sources(names, ["mial_*"])


def test_a_run_given_sources_pulls_only_those(team: Team) -> None:
    report = team.run(sources=["mail*"])
    assert [s.name for s in report.sources] == ["mail"]
    with team.open() as store:  # type: ignore[attr-defined]
        assert store.get_cursor("crm") is None
        assert store.get_cursor("mail") is not None
        assert set(store.source_pulls()) == {"mail"}


def test_pull_only_leaves_planning_and_pushing_to_push(team: Team) -> None:
    pulled = team.run(push=False)
    assert pulled.ok and pulled.exit_code == 0
    assert pulled.planning is not None and "--no-push" in pulled.planning
    assert pulled.tasks_planned == 0 and team.remote_keys() == []
    assert all(sink.skipped == pulled.planning for sink in pulled.sinks) or not pulled.sinks

    pushed = team.run(pull=False)
    assert pushed.sources == () and pushed.planning is None
    assert pushed.customers_planned == 2 and pushed.sinks[0].pushed == len(team.remote_keys()) > 0

    again = team.run(pull=False)
    assert again.sinks[0].pushed == 0  # nothing is pushed twice
    assert len(team.remote_keys()) == pushed.sinks[0].pushed


def test_push_waits_while_a_sources_latest_pull_failed(team: Team) -> None:
    team.add("mail", {"fail": "the mail server answered 503"})
    pulled = team.run(push=False)
    assert [s.name for s in pulled.sources if s.error] == ["mail"]
    pushed = team.run(pull=False)
    assert pushed.sinks[0].skipped == "source failed: mail"
    assert team.remote_keys() == []


def test_no_push_and_dry_run_are_one_or_the_other(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from engage.cli import cli

    (tmp_path / "engage.toml").write_text('store = "engage.db"\n')
    result = CliRunner().invoke(
        cli, ["--config", str(tmp_path / "engage.toml"), "sync", "--no-push", "--dry-run"]
    )
    assert result.exit_code == 2 and "pick one" in result.output


def test_a_source_another_runner_pulls_is_left_to_it_and_so_is_the_planning(
    shared: Team,
) -> None:
    """Runner A is in the middle of pulling ``mail`` when runner B starts: B pulls ``crm``
    only and leaves; A, the last to finish, plans and pushes, once."""
    shared.add("mail", {"wait_for": "mail.go"}, touch("m2", "globex.com", "2026-02-26"))
    first: dict[str, SyncReport] = {}
    runner_a = threading.Thread(target=lambda: first.update(a=shared.run(sources=["mail"])))
    runner_a.start()
    with shared.open() as store:  # type: ignore[attr-defined]
        for _ in range(500):  # until A has begun pulling mail
            pull = store.source_pulls().get("mail")
            if pull is not None and pull.finished_at is None:
                break
            threading.Event().wait(0.02)
    b = shared.run()
    assert b.ok and b.exit_code == 0
    assert sources_of(b)["crm"] is None  # B pulled it
    assert (sources_of(b)["mail"] or "").startswith("being pulled by ")
    assert b.planning is not None and b.planning.startswith("left to the runner that pulls mail")
    assert shared.remote_keys() == []

    (shared.root / "mail.go").write_text("")
    runner_a.join(30)
    a = first["a"]
    assert a.planning is None and a.sinks[0].pushed > 0
    assert a.customers_planned == 2  # crm's customer too: B pulled it in this cycle
    keys = shared.remote_keys()
    assert len(keys) == len(set(keys)) == a.sinks[0].pushed


def test_a_source_pulled_in_this_cycle_is_not_pulled_again(shared: Team) -> None:
    """Runner A pulled ``crm`` and is pulling ``mail``; runner C, started now, pulls neither."""
    with shared.open() as store:  # type: ignore[attr-defined]
        now = utcnow()
        store.record_pull(SourcePull("crm", "host-a:1", now - timedelta(minutes=2), now))
        with store.claim("source:mail"):
            store.record_pull(SourcePull("mail", "host-a:1", now))
            c = shared.run()
            assert sources_of(c)["crm"] == f"pulled by host-a:1 at {now:%Y-%m-%d %H:%M} UTC"
            assert (sources_of(c)["mail"] or "").startswith("being pulled by host-a:1 since")
            assert c.planning is not None and shared.remote_keys() == []
            assert store.get_cursor("crm") is None  # C did not pull it


def test_a_pull_whose_runner_died_is_pulled_again(shared: Team) -> None:
    """A pull that began and never ended, with no claim held (its runner was killed), is
    pulled by the next runner, which then plans."""
    with shared.open() as store:  # type: ignore[attr-defined]
        store.record_pull(SourcePull("mail", "host-a:1", utcnow() - timedelta(minutes=1)))
    report = shared.run()
    assert sources_of(report) == {"crm": None, "mail": None}
    assert report.planning is None and len(shared.remote_keys()) == report.sinks[0].pushed > 0


def test_the_next_cycle_pulls_everything_again(shared: Team) -> None:
    """Pulls that ended before the last planning began belong to the last cycle."""
    assert shared.run().planning is None
    shared.add("crm", touch("c2", "acme.com", "2026-02-27"))
    report = shared.run()
    assert sources_of(report) == {"crm": None, "mail": None}
    assert report.sources[0].inserted == 1 and report.planning is None


def test_reads_never_wait_for_a_runner_writing(team: Team) -> None:
    """While a runner holds the store's write turn (a checkpoint's transaction), health and
    tasks answer at once, from what was committed."""
    shared = team
    from click.testing import CliRunner

    from engage.cli import cli
    from engage.models import Touchpoint

    assert shared.run().planning is None
    config = str(shared.root / "engage.toml")
    (shared.root / "engage.toml").write_text(f'store = "{shared.store}"\n')
    answers: dict[str, Any] = {}

    def read() -> None:
        for command in ("health", "tasks"):
            result = CliRunner().invoke(
                cli, ["--config", config, command, "--json", "--as-of", AS_OF.isoformat()]
            )
            answers[command] = (result.exit_code, result.output)

    with shared.open() as writer, writer.transaction():  # type: ignore[attr-defined]
        writer.write(
            [Touchpoint(source="crm", external_id="c9", customer="initech.com",
                        occurred_at=AS_OF - timedelta(days=1), channel="email",
                        direction="inbound")],
            "crm",
        )  # fmt: skip
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(60)  # were a read to wait for the writer, it would wait for ever
        assert not reader.is_alive(), "a read waited for the writing runner"
    health = json.loads(answers["health"][1])
    assert answers["health"][0] == 0 and answers["tasks"][0] == 0
    assert {row["customer"] for row in health} == {"acme.com", "globex.com"}  # not initech


def test_a_runner_late_to_a_cycle_already_planned_pulls_nothing(shared: Team) -> None:
    """A runner of the same schedule that starts, then finds every source pulled and the
    planning begun by the others, leaves: it neither pulls again nor plans again."""
    from engage.runners import PLANNING, Runner

    with shared.open() as store:  # type: ignore[attr-defined]
        late = Runner(store, shared=True)  # started; the others are faster
        now = utcnow()
        for name in ("crm", "mail"):
            store.record_pull(SourcePull(name, "host-a:1", now - timedelta(seconds=5), now))
        store.set_run_mark(PLANNING, now + timedelta(milliseconds=1))

        def must_not_pull(name: str) -> Any:
            raise AssertionError(f"{name} was pulled again")

        reports = late.pull_all(["crm", "mail"], lambda name: "jsonl", must_not_pull)
        assert [r.elsewhere for r in reports] == [
            f"pulled by host-a:1 at {now:%Y-%m-%d %H:%M} UTC"
        ] * 2
        assert (late.last_to_finish(["crm", "mail"]) or "").startswith("planned by another runner")
