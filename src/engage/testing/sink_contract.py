"""The sink contract: the promises every engage sink keeps, as tests a sink inherits.

Subclass :class:`SinkContract` in your plugin's tests and give it one fixture,
``sink_case``, returning a :class:`SinkCase` pointed at your fake, with a way to read back
which tasks the remote holds::

    class TestTodoSink(SinkContract):
        @pytest.fixture
        def sink_case(self, fake: FakeTodo) -> SinkCase:
            return SinkCase(adapter="todo", options={"base_url": fake.url},
                            env={"TODO_TOKEN": fake.token}, secret=fake.token,
                            remote_keys=lambda: [t["engage_key"] for t in fake.tasks])

The checks push through engage's own ledger (:class:`engage.push.SinkPush` on a temporary
store), so "never twice" is checked the way ``engage sync`` pushes, crashes included.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import attrs
import pytest

from engage.adapters import PushResult, Sink
from engage.errors import EngageError
from engage.models import Task
from engage.push import SinkPush
from engage.store import Store, open_store
from engage.store.base import LedgerStatus
from engage.testing.builders import directory_records, make_tasks
from engage.testing.contract import AdapterCase, Contract
from engage.testing.leaks import error_texts, find_secret, log_texts


def _three_tasks() -> tuple[Task, ...]:
    return tuple(make_tasks(3))


@attrs.frozen(kw_only=True)
class SinkCase(AdapterCase):
    """The sink under test, pointed at its fake (see
    :class:`~engage.testing.contract.AdapterCase` for how it is built).

    Attributes:
        remote_keys: Reads the remote: the task key of every task it holds, one entry per
            remote task (a task created twice shows twice).
        tasks: The tasks pushed; all must be ones the sink accepts (three check-ins for
            Jane at Acme, owned by carol@ourco.com, unless given).
        prepare: Writes what the sink looks up into the store it is given as its
            directory, after the tasks' customers, contacts and owners (a CRM's company id
            in a customer's ``attributes``, say).
    """

    remote_keys: Callable[[], Sequence[str]]
    tasks: Sequence[Task] = attrs.field(factory=_three_tasks, converter=tuple)
    prepare: Callable[[Store], None] | None = None

    def sink(self, store: Store) -> Sink:
        """A fresh sink (as a new ``engage sync`` run builds it) reading ``store``."""
        sink: Sink = self._build("sinks", directory=store)
        return sink


class SinkContract(Contract):
    """The promises every engage sink keeps. Subclass it and define ``sink_case``."""

    @pytest.fixture
    def sink_case(self) -> SinkCase:
        """Override: the sink under test, pointed at its fake."""
        pytest.fail(f"{type(self).__name__}: define a sink_case fixture returning a SinkCase")

    @pytest.fixture
    def sink_store(self, sink_case: SinkCase, tmp_path: Path) -> Iterator[Store]:
        """A store that knows the tasks' customers, contacts and owners (and what
        ``SinkCase.prepare`` adds): the sink's directory and engage's ledger."""
        store = open_store(str(tmp_path / "sink-contract.db"))
        with store.transaction():
            store.write(directory_records(list(sink_case.tasks)), "contract")
        if sink_case.prepare is not None:
            sink_case.prepare(store)
        yield store
        store.close()

    def test_create_answers_once_per_task_and_creates_each_once(
        self, sink_case: SinkCase, sink_store: Store
    ) -> None:
        """``create`` gives one result per task, each with a remote id, and the remote then
        holds each task once."""
        results = list(sink_case.sink(sink_store).create(sink_case.tasks))
        keys = [task.key for task in sink_case.tasks]
        assert sorted(r.key for r in results) == sorted(keys), (
            f"create answered for {sorted(r.key for r in results)}, was given {sorted(keys)}"
        )
        failed = [(r.key, r.error) for r in results if not r.ok]
        assert not failed, f"the case's tasks were refused: {failed}"
        _assert_each_once(sink_case, keys)

    def test_find_agrees_with_create(self, sink_case: SinkCase, sink_store: Store) -> None:
        """What ``create`` made, ``find`` (on a fresh sink, as the next run) finds under the
        same remote ids; a task never created is not found."""
        created, *rest = sink_case.tasks
        results = list(sink_case.sink(sink_store).create([created]))
        assert [r.remote_id is not None for r in results] == [True], results
        found = dict(sink_case.sink(sink_store).find(sink_case.tasks))
        assert found == {created.key: results[0].remote_id}, (
            f"find answered {found} after create made {created.key!r} as {results[0].remote_id!r}"
            f" (and never made {[t.key for t in rest]})"
        )

    def test_a_second_push_creates_nothing(self, sink_case: SinkCase, sink_store: Store) -> None:
        """Pushing the same tasks through the ledger again creates nothing."""
        first = _push(sink_case, sink_store)
        second = _push(sink_case, sink_store)
        assert (first.pushed, second.pushed) == (len(sink_case.tasks), 0), (
            f"pushed {first.pushed} then {second.pushed}; errors: {first.errors + second.errors}"
        )
        _assert_each_once(sink_case, [task.key for task in sink_case.tasks])

    def test_a_crash_between_create_and_ledger_creates_nothing_twice(
        self, sink_case: SinkCase, sink_store: Store
    ) -> None:
        """A run that died after the remote create, before engage recorded the remote ids:
        the next run finds every task (through ``find``) and creates none again."""
        sink_store.record_intent(sink_case.name, sink_case.tasks)
        created = {r.key: r.remote_id for r in sink_case.sink(sink_store).create(sink_case.tasks)}
        # the process dies here: the results never reach the ledger
        rerun = _push(sink_case, sink_store)
        _assert_each_once(sink_case, [task.key for task in sink_case.tasks])
        assert rerun.recovered == len(sink_case.tasks), (
            f"the next run recovered {rerun.recovered} of {len(sink_case.tasks)} tasks"
        )
        ledger = {k: e.remote_id for k, e in sink_store.ledger(sink_case.name).items()}
        assert ledger == created, f"the ledger holds {ledger}, the remote made {created}"

    def test_a_crash_before_create_creates_each_task_once(
        self, sink_case: SinkCase, sink_store: Store
    ) -> None:
        """A run that died after recording its intent, before the remote create: the next
        run finds nothing and creates each task, once."""
        sink_store.record_intent(sink_case.name, sink_case.tasks)
        rerun = _push(sink_case, sink_store)
        assert rerun.pushed == len(sink_case.tasks), (
            f"pushed {rerun.pushed} of {len(sink_case.tasks)}; errors: {rerun.errors}"
        )
        _assert_each_once(sink_case, [task.key for task in sink_case.tasks])
        statuses = sink_store.ledger_statuses(sink_case.name, [t.key for t in sink_case.tasks])
        assert set(statuses.values()) == {LedgerStatus.PUSHED}, statuses

    def test_complete_answers_only_for_what_it_was_given(
        self, sink_case: SinkCase, sink_store: Store
    ) -> None:
        """``complete`` answers for the tasks it was handed and no others (or for none, if
        the sink cannot complete tasks)."""
        results = list(sink_case.sink(sink_store).create(sink_case.tasks))
        first = results[0]
        assert first.remote_id is not None, first
        done = list(sink_case.sink(sink_store).complete({first.key: first.remote_id}))
        assert {r.key for r in done} <= {first.key}, (
            f"complete of {first.key!r} answered for {[r.key for r in done]}"
        )

    def test_the_secret_never_shows(
        self, sink_case: SinkCase, sink_store: Store, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The planted secret is in no repr of the sink, no result and no log line."""
        if not sink_case.secret:
            pytest.skip("the case plants no secret (SinkCase.secret is None)")
        caplog.set_level(logging.DEBUG)
        sink = sink_case.sink(sink_store)
        texts = [("repr(sink)", repr(sink)), ("str(sink)", str(sink))]
        results = list(sink.create(sink_case.tasks))
        texts += [(f"result {r.key}", repr(r)) for r in results]
        texts += [("find", repr(sink.find(sink_case.tasks)))]
        texts += [("repr(sink) after create", repr(sink))]
        texts += [("log", text) for text in log_texts(caplog.records)]
        leaks = find_secret(sink_case.secret, texts)
        assert not leaks, f"the secret shows: {leaks}"

    def test_a_failing_create_is_an_engage_error_without_the_secret(
        self, sink_case: SinkCase, sink_store: Store, caplog: pytest.LogCaptureFixture
    ) -> None:
        """When the remote fails (``SinkCase.fail``), ``create`` raises an EngageError (a
        SinkError, retriable or not) or fails the tasks one by one; neither shows the
        secret."""
        if sink_case.fail is None:
            pytest.skip("the case scripts no failure (SinkCase.fail is None)")
        caplog.set_level(logging.DEBUG)
        sink = sink_case.sink(sink_store)
        sink_case.fail()
        texts: list[tuple[str, str]] = []
        try:
            results: list[PushResult] = list(sink.create(sink_case.tasks))
        except Exception as error:
            assert isinstance(error, EngageError), (
                f"create failed with {type(error).__name__}: {error} (raise a SinkError, or "
                "RetriableSinkError for what passes on its own)"
            )
            texts += [("error", text) for text in error_texts(error)]
        else:
            assert results and not any(r.ok for r in results), (
                f"the scripted failure did not fail create: {results}"
            )
            texts += [(f"result {r.key}", repr(r)) for r in results]
        if sink_case.secret:
            texts += [("log", text) for text in log_texts(caplog.records)]
            leaks = find_secret(sink_case.secret, texts)
            assert not leaks, f"the secret shows: {leaks}"


def _push(case: SinkCase, store: Store) -> SinkPush:
    """One run's push of the case's tasks through the ledger, with a fresh sink."""
    push = SinkPush(store, case.name, case.plugin, case.sink(store))
    push.recover()
    push.push(case.tasks)
    return push


def _assert_each_once(case: SinkCase, keys: Sequence[str]) -> None:
    held = Counter(case.remote_keys())
    twice = sorted(k for k in keys if held[k] > 1)
    missing = sorted(k for k in keys if held[k] == 0)
    assert not twice, f"the remote holds these tasks more than once: {twice}"
    assert not missing, f"the remote does not hold: {missing} (it holds {sorted(held)})"
