"""The source contract: the promises every engage source keeps, as tests a source inherits.

Subclass :class:`SourceContract` in your plugin's tests and give it one fixture,
``source_case``, returning a :class:`SourceCase` over data your test prepared (files in
``tmp_path``, records on your fake server)::

    class TestIcsSource(SourceContract):
        @pytest.fixture
        def source_case(self, tmp_path: Path) -> SourceCase:
            (tmp_path / "a.ics").write_text(CALENDAR_A)
            (tmp_path / "b.ics").write_text(CALENDAR_B)
            return SourceCase(adapter="ics", options={"path": "*.ics"}, base_dir=tmp_path,
                              places=("b.ics:12",))
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import attrs
import pytest

from engage.adapters import (
    Checkpoint,
    Notice,
    Problem,
    Retire,
    Skipped,
    Source,
)
from engage.errors import EngageError
from engage.models import Contact, Customer, Owner, Touchpoint
from engage.pull import pull_source
from engage.report import SourceReport
from engage.store import open_store
from engage.testing.contract import AdapterCase, Contract
from engage.testing.leaks import error_texts, find_secret, log_texts
from engage.testing.pull import Pull, describe

#: Everything a source may yield.
ITEM_TYPES = (Customer, Contact, Owner, Touchpoint, Problem, Skipped, Notice, Checkpoint, Retire)

#: Saved cursors a source may meet: damaged text, another program's JSON, and (built from
#: one of the source's own checkpoints) one cut short.
BAD_CURSORS = {
    "garbage": "\x00\ufffd not a cursor {",
    "foreign": json.dumps({"format": "someone-else", "version": 999, "files": 7, "after": [1]}),
    "truncated": "",
}


@attrs.frozen(kw_only=True)
class SourceCase(AdapterCase):
    """The source under test and its data (see :class:`~engage.testing.contract.AdapterCase`
    for how it is built).

    Attributes:
        places: Where the data's bad records are, as the source's problems name them
            (``"export.csv:4"``, ``"gmail message 18c2"``): each must begin a problem's
            message, ``PLACE: what is wrong``. Empty when the data has no bad record (the
            check is then skipped).
    """

    places: Sequence[str] = ()

    def source(self) -> Source:
        """A fresh source over the case's data, built as ``engage sync`` builds it."""
        source: Source = self._build("sources")
        return source


@attrs.frozen
class Resumed:
    """A pull resumed from one checkpoint of a first pull."""

    index: int
    of: int
    committed: list[str]
    resumed: list[str]

    def __str__(self) -> str:
        return f"checkpoint {self.index + 1} of {self.of}"


class SourceContract(Contract):
    """The promises every engage source keeps. Subclass it and define ``source_case``.

    The data should hold a few touchpoints spread over at least two checkpoints (two
    files, two pages), and one bad record whose place ``SourceCase.places`` names.
    """

    @pytest.fixture
    def source_case(self) -> SourceCase:
        """Override: the source under test, over data the test prepared."""
        pytest.fail(f"{type(self).__name__}: define a source_case fixture returning a SourceCase")

    @pytest.fixture
    def first_pull(self, source_case: SourceCase) -> Pull:
        """A first pull of the case's data, from no cursor."""
        return Pull.run(source_case.source())

    def test_a_pull_yields_only_what_engage_takes(self, first_pull: Pull) -> None:
        """Every item is a record, a problem, a skip, a notice, a retirement or a checkpoint,
        and the case's data gives touchpoints."""
        wrong = [describe(item) for item in first_pull if not isinstance(item, ITEM_TYPES)]
        assert not wrong, f"the pull yielded items engage does not take: {wrong}"
        assert first_pull.touchpoints, "the case's data gave no touchpoint: give it a few records"

    def test_times_are_aware_utc(self, first_pull: Pull) -> None:
        """Every moment is timezone-aware and in UTC (a naive time has no known moment)."""
        bad = [
            f"{t.external_id}: occurred_at {t.occurred_at!r}"
            for t in first_pull.touchpoints
            if not _is_utc(t.occurred_at)
        ]
        bad += [
            f"customer {c.key}: first_seen {c.first_seen!r}"
            for c in first_pull.customers
            if c.first_seen is not None and not _is_utc(c.first_seen)
        ]
        assert not bad, f"times that are not aware UTC: {bad}"

    def test_touchpoints_carry_the_source_name(
        self, first_pull: Pull, source_case: SourceCase
    ) -> None:
        """Each touchpoint's ``source`` is the config table's name (``context.name``)."""
        names = {t.source for t in first_pull.touchpoints}
        assert names == {source_case.name}, (
            f"touchpoints carry source {sorted(names)}, expected {source_case.name!r}"
        )

    def test_an_external_id_shows_once_per_pull(self, first_pull: Pull) -> None:
        """One pull yields each touchpoint once."""
        twice = sorted(i for i, n in Counter(first_pull.external_ids).items() if n > 1)
        assert not twice, f"touchpoints yielded more than once in one pull: {twice}"

    def test_ids_are_stable_across_pulls(self, first_pull: Pull, source_case: SourceCase) -> None:
        """Pulling the same data again, from a fresh source, gives the same touchpoints under
        the same external ids (so re-pulling never makes a second copy)."""
        again = {t.external_id: t for t in Pull.run(source_case.source()).touchpoints}
        first = {t.external_id: t for t in first_pull.touchpoints}
        assert sorted(again) == sorted(first), (
            f"a second pull gave other ids: only first {sorted(set(first) - set(again))}, "
            f"only second {sorted(set(again) - set(first))}"
        )
        changed = sorted(i for i in first if first[i] != again[i])
        assert not changed, f"the same records pulled twice differ: {changed}"

    def test_a_pull_checkpoints_along_the_way_and_at_its_end(self, first_pull: Pull) -> None:
        """The pull ends with a checkpoint (else the next sync reads it all again) and the
        case's data spans at least two, so resuming is checked from the middle too."""
        assert first_pull.items and isinstance(first_pull.items[-1], Checkpoint), (
            "the pull does not end with a Checkpoint"
        )
        assert len(first_pull.checkpoints) >= 2, (
            "the case's data gives one checkpoint: make it span two (two files, two pages)"
        )

    @pytest.fixture
    def resumed(self, first_pull: Pull, source_case: SourceCase) -> list[Resumed]:
        """For each checkpoint of the first pull: what a sync had committed when it stopped
        there, and what a fresh source resuming from its cursor yields."""
        return [
            Resumed(
                index,
                len(first_pull.checkpoints),
                first_pull.before(index).external_ids,
                Pull.run(source_case.source(), cursor).external_ids,
            )
            for index, cursor in enumerate(first_pull.checkpoints)
        ]

    def test_resuming_from_each_checkpoint_misses_nothing(
        self, first_pull: Pull, resumed: list[Resumed]
    ) -> None:
        """A sync that stopped after any checkpoint and resumes from its cursor, with a fresh
        source, gets every touchpoint it had not committed."""
        everything = set(first_pull.external_ids)
        for point in resumed:
            missed = sorted(everything - set(point.committed) - set(point.resumed))
            assert not missed, f"resuming from {point} never yielded: {missed}"

    def test_resuming_from_each_checkpoint_repeats_nothing(self, resumed: list[Resumed]) -> None:
        """... and none it had committed (a checkpoint's cursor covers what came before it)."""
        for point in resumed:
            repeated = sorted(set(point.committed) & set(point.resumed))
            assert not repeated, (
                f"resuming from {point} yielded again touchpoints committed before it: {repeated}"
            )

    @pytest.mark.parametrize("kind", sorted(BAD_CURSORS))
    def test_a_bad_saved_cursor_starts_over_with_a_notice(
        self, kind: str, first_pull: Pull, source_case: SourceCase, tmp_path: Path
    ) -> None:
        """The one rule for a saved cursor that is damaged or not this source's: the sync
        starts over from the beginning, says so in a Notice, and loses nothing: it stores
        what a first sync stores, and does not fail.

        The bad cursor is planted in the store as it is, so it reaches the source (a cursor
        the core did not seal is handed over unread); ``truncated`` is the source's own
        middle checkpoint cut in half. A source keeps the rule by raising
        :class:`engage.cursors.CursorError` for a cursor it cannot read (the core then
        starts it over and says so), or by starting over and yielding a
        :class:`~engage.adapters.Notice` itself."""
        cursor = BAD_CURSORS[kind] or _truncated(first_pull)
        first, clean = _sync_once_with_report(source_case, tmp_path / "clean.db", None)
        assert first.error is None, f"a first sync of the case's data failed: {first.error}"
        report, stored = _sync_once_with_report(source_case, tmp_path / "bad.db", cursor)
        assert report.error is None, f"a {kind} saved cursor failed the pull: {report.error}"
        assert set(report.notices) - set(first.notices), (
            f"a {kind} saved cursor was set aside without a Notice saying so "
            f"(the sync's notices: {list(report.notices)})"
        )
        assert stored == clean, (
            f"after a {kind} saved cursor the store holds {stored} touchpoints, a first sync "
            f"stores {clean}: it did not start over"
        )

    def test_bad_records_are_problems_naming_their_place(
        self, first_pull: Pull, source_case: SourceCase
    ) -> None:
        """A bad record is skipped as a Problem whose message begins with where it is
        (``FILE:LINE: ...``, ``message ID: ...``), and the pull goes on past it."""
        if not source_case.places:
            pytest.skip("the case has no bad record (SourceCase.places is empty)")
        problems = first_pull.problems
        shapeless = [m for m in problems if not all(m.partition(": ")[::2])]
        assert not shapeless, f"problems without a 'PLACE: what' shape: {shapeless}"
        for place in source_case.places:
            assert any(m.startswith(f"{place}: ") for m in problems), (
                f"no problem names {place!r}; the problems: {problems}"
            )
        assert first_pull.touchpoints, "the pull stopped at the bad record"

    def test_the_secret_never_shows(
        self, source_case: SourceCase, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The planted secret is in no repr of the source, no yielded item, no cursor and no
        log line (at DEBUG)."""
        secret = _planted(source_case)
        caplog.set_level(logging.DEBUG)
        source = source_case.source()
        texts = [("repr(source)", repr(source)), ("str(source)", str(source))]
        pulled = Pull.run(source)
        texts += [(f"item {n}", repr(item)) for n, item in enumerate(pulled.items)]
        texts += [("repr(source) after the pull", repr(source))]
        texts += [("log", text) for text in log_texts(caplog.records)]
        leaks = find_secret(secret, texts)
        assert not leaks, f"the secret shows: {leaks}"

    def test_a_failing_pull_raises_an_engage_error_without_the_secret(
        self, source_case: SourceCase, caplog: pytest.LogCaptureFixture
    ) -> None:
        """When the source cannot read (``SourceCase.fail``), it raises an EngageError (a
        SourceError, retriable or not), whose text and logs do not show the secret."""
        if source_case.fail is None:
            pytest.skip("the case scripts no failure (SourceCase.fail is None)")
        caplog.set_level(logging.DEBUG)
        source = source_case.source()
        source_case.fail()
        _, error = Pull.until_error(source)
        assert isinstance(error, EngageError), (
            f"the pull failed with {type(error).__name__}: {error} (raise a SourceError, or "
            "RetriableSourceError for what passes on its own)"
        )
        if source_case.secret:
            texts = [("error", text) for text in error_texts(error)]
            texts += [("log", text) for text in log_texts(caplog.records)]
            leaks = find_secret(source_case.secret, texts)
            assert not leaks, f"the secret shows: {leaks}"


def _is_utc(moment: object) -> bool:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        return False
    return moment.utcoffset() == timedelta(0)


def _planted(case: SourceCase) -> str:
    if not case.secret:
        pytest.skip("the case plants no secret (SourceCase.secret is None)")
    return case.secret


def _truncated(pull: Pull) -> str:
    checkpoints = pull.checkpoints
    assert checkpoints, "the pull gave no checkpoint"
    cursor = checkpoints[(len(checkpoints) - 1) // 2]
    return cursor[: max(1, len(cursor) // 2)]


def _sync_once_with_report(
    case: SourceCase, path: Path, cursor: str | None
) -> tuple[SourceReport, int]:
    """Pull the case's source into a new store at ``path`` whose saved cursor is ``cursor``,
    as ``engage sync`` does; the report, and how many touchpoints the store then holds."""
    store = open_store(str(path))
    try:
        if cursor is not None:
            store.set_cursor(case.name, cursor)
        report = pull_source(store, case.name, case.plugin, case.source(), now=case.now())
        return report, store.touchpoint_count(case.name)
    finally:
        store.close()
