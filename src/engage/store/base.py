"""The store interface: everything engage keeps between runs.

SQLite (:mod:`engage.store.sqlite`) is the embedded default. The interface is small so a
shared server database can take over when several scheduled runners share one state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

import attrs

from engage.adapters import PushResult, Retire
from engage.facts import CustomerFacts
from engage.history import HealthPoint
from engage.models import Contact, Customer, Owner, Task, Touchpoint
from engage.playbook import CustomerPlan
from engage.settings import ScoringSettings
from engage.store.touchpoint_rows import TouchpointRows
from engage.timeline import TimelineEntry

Record = Customer | Contact | Owner | Touchpoint


@attrs.frozen
class WriteCounts:
    """What a batch of upserts changed.

    ``linked`` counts customer keys that named a customer only by name (a note under
    "Northwind Traders", a CRM company without a domain) and were found to be the customer of
    that name, once each, when found. ``notes`` says what a person should know about the
    write (a name that matches several customers); adding counts keeps each note once.
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    merged: int = 0  # touchpoints found to be an email another source already holds
    linked: int = 0
    notes: tuple[str, ...] = ()

    def __add__(self, other: WriteCounts) -> WriteCounts:
        return WriteCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.retired + other.retired,
            self.merged + other.merged,
            self.linked + other.linked,
            tuple(dict.fromkeys((*self.notes, *other.notes))),
        )


class LedgerStatus:
    """States of a task in a sink's ledger."""

    PENDING = "pending"  # intent recorded; the remote create may or may not have happened
    PUSHED = "pushed"  # created remotely; remote_id known
    FAILED = "failed"  # the sink refused it; retried next run
    CLEARED = "cleared"  # its condition cleared after it was pushed
    COMPLETED = "completed"  # cleared and marked done in the sink


@attrs.frozen
class LedgerEntry:
    """One task as a sink's ledger knows it."""

    sink: str
    task: Task
    status: str
    remote_id: str | None = None
    error: str | None = None
    attempts: int = 0


@attrs.frozen
class SourcePull:
    """A source's latest pull, as the store recorded it for the runners that share it.

    Attributes:
        source: The source's config name.
        runner: Who pulled (``host:pid``).
        started_at: When the pull began (the real clock).
        finished_at: When it ended, failed or not; None while it runs, or if its runner died.
        error: Why it failed, if it did.
    """

    source: str
    runner: str
    started_at: datetime
    finished_at: datetime | None = None
    error: str | None = None


class Store(Protocol):
    """Persistent state: records, cursors, the task ledger and the sync lock."""

    def transaction(self) -> AbstractContextManager[None]:
        """Everything written inside commits together, or not at all on an exception.

        A transaction inside another is a savepoint: its failure undoes only its own writes
        (and the error still propagates); nothing is durable until the outermost one commits.
        """
        ...

    def write(
        self, records: Iterable[Record | TouchpointRows | Retire], source: str
    ) -> WriteCounts:
        """Upsert records from ``source`` (inside the caller's transaction).

        ``source`` is the config name of the source; touchpoints carry it as their own
        ``source`` and a ``Retire("touchpoint", id)`` refers to that source's external id.

        Touchpoints are keyed by (source, external_id): writing the same one again changes
        nothing. A touchpoint's customer, contact and owner are created if unknown. Fields a
        record leaves as None never erase what the store already knows. A
        :class:`~engage.store.touchpoint_rows.TouchpointRows` (touchpoints in row form, as a
        source reading ahead sends them) is written as the touchpoints it holds.
        """
        ...

    def get_cursor(self, source: str) -> str | None:
        """The cursor saved for ``source``, or None before its first sync."""
        ...

    def set_cursor(self, source: str, cursor: str) -> None:
        """Save ``source``'s cursor (inside the caller's transaction, with its records)."""
        ...

    def get_customer(self, key: str) -> Customer | None:
        """The stored customer record with this key, or None."""
        ...

    def get_owner(self, owner_id: str) -> Owner | None:
        """The stored owner record with this id, or None."""
        ...

    def get_contacts(self, customer: str) -> list[Contact]:
        """The customer's known contacts."""
        ...

    def customer_count(self) -> int:
        """How many customers the store knows."""
        ...

    def touchpoint_count(self, source: str | None = None) -> int:
        """How many touchpoints the store holds, from one source or all."""
        ...

    def facts(
        self, as_of: datetime, settings: ScoringSettings, customer: str | None = None
    ) -> Iterator[CustomerFacts]:
        """Facts for every customer (or one), in key order, computed where the data is."""
        ...

    def ledger(self, sink: str) -> Mapping[str, LedgerEntry]:
        """The sink's ledger: task key → entry."""
        ...

    def ledger_statuses(self, sink: str, keys: Sequence[str]) -> dict[str, str]:
        """The ledger status of each of ``keys`` the sink's ledger knows (unknown keys are absent)."""
        ...

    def ledger_with_status(self, sink: str, status: str) -> list[LedgerEntry]:
        """The sink's ledger entries in one status (``pending`` after a crash, say)."""
        ...

    def ledger_pushed(self, sink: str, *, unplanned_only: bool = False) -> dict[str, str]:
        """Task key → remote id of every task the sink holds open (status pushed).

        With ``unplanned_only``, only those no saved plan holds (see :meth:`save_plans`).
        """
        ...

    def begin_planning(
        self,
        as_of: datetime,
        settings: ScoringSettings,
        fingerprint: str,
        sinks: Iterable[str] = (),
    ) -> int:
        """Choose the customers a sync must plan again as of ``as_of``; returns how many.

        They are: every customer when ``fingerprint`` (the rules and settings) changed;
        customers never planned or whose data changed since (touchpoints, record, contacts,
        owner record); those whose plan's ``valid_until`` has come; those of an owner whose
        status changed; and those with a planned task one of ``sinks`` does not hold.
        Commits on its own.
        """
        ...

    def facts_to_plan(self, as_of: datetime, settings: ScoringSettings) -> Iterator[CustomerFacts]:
        """Facts of the customers :meth:`begin_planning` chose, in key order."""
        ...

    def save_plans(self, plans: Sequence[CustomerPlan], as_of: datetime) -> None:
        """Record customers' plans, replacing their planned tasks (commits on its own)."""
        ...

    def mark_all_held(self, sink: str) -> None:
        """Record that ``sink`` holds every planned task, so the next :meth:`begin_planning`
        need not look for tasks it lacks; :meth:`save_plans` forgets it (commits on its own)."""
        ...

    def planned_task_count(self) -> int:
        """How many tasks the saved plans hold."""
        ...

    def record_intent(self, sink: str, tasks: Iterable[Task]) -> None:
        """Mark tasks as about to be pushed (status pending), committed before the push.

        The ledger methods commit on their own and refuse to run inside a transaction, whose
        commit would otherwise come only after the push they guard.
        """
        ...

    def record_results(self, sink: str, results: Iterable[PushResult]) -> None:
        """Record push outcomes: pushed with a remote id, or failed with the error."""
        ...

    def record_cleared(self, sink: str, keys: Iterable[str], completed: bool) -> None:
        """Mark pushed tasks whose condition cleared (and were completed in the sink, or not)."""
        ...

    def record_health(self, points: Iterable[HealthPoint]) -> int:
        """Write the points that change their customer's score, band, stage or scoring version
        (against its latest row at or before the point); returns how many (commits on its own)."""
        ...

    def health_history(self, customer: str) -> list[HealthPoint]:
        """The customer's recorded history, oldest first."""
        ...

    def history_states(
        self, moments: Sequence[datetime]
    ) -> Iterator[tuple[str, list[tuple[int | None, str] | None]]]:
        """Each customer with history, in key order, with its (score, band) at each moment
        (None before its first row)."""
        ...

    def first_recorded(self) -> datetime | None:
        """The moment of the earliest history row a sync recorded (back-filled rows aside)."""
        ...

    def history_mark(self, kind: str) -> datetime | None:
        """When the history task ``kind`` (``full_pass``, ``backfill``) last ran, if ever."""
        ...

    def set_history_mark(self, kind: str, moment: datetime) -> None:
        """Record that the history task ``kind`` ran as of ``moment`` (commits on its own)."""
        ...

    def touch_months(
        self, customers: Sequence[str], since: datetime, until: datetime
    ) -> dict[str, list[tuple[str, str, str, int]]]:
        """Each customer's touchpoints in (``since``, ``until``] as (``YYYY-MM``, channel,
        direction, count), oldest month first."""
        ...

    def facts_of(
        self, as_of: datetime, settings: ScoringSettings, customers: Sequence[str]
    ) -> Iterator[CustomerFacts]:
        """Facts of these customers, in key order, in one pass."""
        ...

    def source_rows(self) -> list[tuple[str, int, datetime | None, datetime | None]]:
        """Every source held: (name, touchpoints, latest touchpoint, last pulled), by name."""
        ...

    def timeline(
        self, customer: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[TimelineEntry]:
        """The customer's touchpoints from ``since`` up to ``until`` (both included; None: no
        bound), oldest first: each email once, with the copies other sources hold merged into
        it (:mod:`engage.timeline`)."""
        ...

    def customer_names(self) -> Iterator[tuple[str, str | None]]:
        """Every customer's key and name, in key order (to find a customer by either)."""
        ...

    def lock(self) -> AbstractContextManager[None]:
        """Hold the store for one job alone (a sync on SQLite, a copy or migration); raises
        :class:`~engage.errors.LockedError` if a sync or another such job holds it."""
        ...

    #: Whether several runners may sync into the store at once (:meth:`runner_lock` is shared
    #: and :meth:`claim` keeps them out of each other's way), or one at a time.
    concurrent_runners: bool

    def runner_lock(self) -> AbstractContextManager[None]:
        """Hold the store for one sync among the runners that may share it (shared where
        :attr:`concurrent_runners`, else the same as :meth:`lock`); raises
        :class:`~engage.errors.LockedError` if :meth:`lock` (or, alone, another sync) holds it."""
        ...

    def claim(self, job: str) -> AbstractContextManager[bool]:
        """Try to take ``job`` (``source:NAME``, ``planning``) for this runner alone, without
        waiting; yields whether it was taken. A claim ends with the block, or with the
        runner's connection if it dies."""
        ...

    def record_pull(self, pull: SourcePull) -> None:
        """Save ``pull`` as its source's latest (commits on its own)."""
        ...

    def source_pulls(self) -> dict[str, SourcePull]:
        """Each source's latest pull, by source name."""
        ...

    def run_mark(self, kind: str) -> datetime | None:
        """When the runners' step ``kind`` (``planning``) last began, if ever."""
        ...

    def set_run_mark(self, kind: str, moment: datetime) -> None:
        """Record that the runners' step ``kind`` began at ``moment`` (commits on its own)."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...
