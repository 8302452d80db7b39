"""Incremental planning in the SQLite store: which customers a sync must plan again.

Mixed into :class:`~engage.store.sqlite.SQLiteStore`. Each planned customer has a row in
``plans`` (the owner id it was planned with, and the moment its plan may next change with
time alone) and its task keys in ``planned_tasks``. Triggers mark a customer in
``stale_customers`` whenever one of its touchpoints, its record, one of its contacts or its
owner's record changes, in the same transaction as the change (new touchpoints are marked
by their insert, :mod:`engage.store.sqlite_inserted`).

:meth:`PlanMixin.begin_planning` then chooses the customers to plan again:

- every customer, when the rules, settings or engage itself changed (the fingerprint);
- customers never planned, or marked stale since their plan;
- customers whose plan's moment has come (or was made for a later moment than now);
- customers of an owner whose status changed (went quiet, came back, left; the team went
  quiet), compared owner by owner with the statuses of the last planning;
- customers with a planned task that a sink does not hold yet (a new sink, a failed push,
  a sync whose pushes were skipped), so the sink gets it. That look-up is skipped for a
  sink the last sync marked as holding every planned task (:meth:`PlanMixin.mark_all_held`)
  while its ledger has nothing pending or failed; saving plans removes the marks.

Their marks are cleared in the same transaction that records the choice, so a write that
lands while the plans are being made marks its customer again for the next sync; a marked
customer's saved plan is made due at once in that transaction, so a sync killed before it
saves the new plans leaves the customer due for the next one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engage.clock import ensure_utc, to_micros
from engage.errors import StoreError
from engage.facts import CustomerFacts, OwnerStatus
from engage.models import Owner
from engage.playbook import CustomerPlan
from engage.settings import ScoringSettings
from engage.store.base import LedgerStatus
from engage.store.sqlite_facts import (
    DAY_US,
    FactsRows,
    OwnerActivity,
    facts_rows,
    history_start,
    is_team_active,
    load_owners,
    owner_activity,
    owner_status,
)
from engage.store.sqlite_keys import held_keys
from engage.store.sqlite_totals import Totals, save_totals, totals_of

#: Ledger states in which a sink holds a task (or held it and its condition cleared): the
#: states in which a sync pushes it no more.
HELD = (LedgerStatus.PUSHED, LedgerStatus.CLEARED, LedgerStatus.COMPLETED)

#: The saved plans of customers marked stale, made due at once (a moment before any).
_DUE_NOW = """UPDATE plans SET valid_until = 0
WHERE customer IN (SELECT customer FROM stale_customers) AND (valid_until IS NULL OR valid_until <> 0)"""

_CHOOSE = """
INSERT OR IGNORE INTO temp.engage_due (key)
SELECT key FROM customers WHERE key NOT IN (SELECT customer FROM plans)
UNION SELECT customer FROM stale_customers WHERE customer IN (SELECT key FROM customers)
UNION SELECT customer FROM plans WHERE valid_until <= :now OR planned_at > :now
"""

_NOT_HELD = f"""
INSERT OR IGNORE INTO temp.engage_due (key)
SELECT DISTINCT p.customer FROM planned_tasks p
WHERE NOT EXISTS (
    SELECT 1 FROM ledger l
    WHERE l.sink = ? AND l.key = p.key AND l.status IN ({", ".join(f"'{s}'" for s in HELD)})
)
"""


#: The sink was marked as holding every planned task, and its ledger has no task left
#: pending (an interrupted push) or failed since.
_HOLDS_ALL = """
SELECT EXISTS (SELECT 1 FROM planning WHERE name = ?)
    AND NOT EXISTS (SELECT 1 FROM ledger WHERE sink = ? AND status = 'pending')
    AND NOT EXISTS (SELECT 1 FROM ledger WHERE sink = ? AND status = 'failed')
"""


class PlanMixin:
    """Planning methods over the store's connection."""

    if TYPE_CHECKING:

        @property
        def conn(self) -> sqlite3.Connection: ...

        def _errors(self) -> AbstractContextManager[None]: ...

        def _own_transaction(self, what: str) -> AbstractContextManager[None]: ...

    #: Whether the last :meth:`begin_planning` chose every customer (None: not called yet).
    _all_due: bool | None = None
    #: How many customers the last :meth:`begin_planning` chose (None: not called yet).
    planning_count: int | None = None
    #: The fact totals of the busy customers being planned, saved with their plans, and the
    #: moment their facts were read for (which need not be the moment plans are saved for).
    _totals: dict[str, Totals] = {}  # noqa: RUF012 (replaced, never changed, here)
    _totals_upto = 0

    def begin_planning(
        self,
        as_of: datetime,
        settings: ScoringSettings,
        fingerprint: str,
        sinks: Iterable[str] = (),
    ) -> int:
        """Choose the customers to plan as of ``as_of`` (see the module) and return how many.

        ``fingerprint`` identifies the rules and settings; when it differs from the last
        planning's, every customer is planned again. ``sinks`` are the sinks this sync
        pushes to. Commits on its own; :meth:`facts_to_plan` then streams their facts.
        """
        now = to_micros(ensure_utc(as_of, "begin_planning: as_of"))
        conn = self.conn
        with self._own_transaction("begin_planning"):
            row = conn.execute("SELECT value FROM planning WHERE name = 'fingerprint'").fetchone()
            if row is None or row[0] != fingerprint:
                conn.execute("DELETE FROM plans")
                conn.execute(
                    "INSERT OR REPLACE INTO planning (name, value) VALUES ('fingerprint', ?)",
                    (fingerprint,),
                )
            self._replan_on_new_history_start()
            self._replan_changed_owners(now, settings)
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS engage_due (key TEXT PRIMARY KEY)")
            conn.execute("DELETE FROM temp.engage_due")
            conn.execute(_CHOOSE, {"now": now})
            for sink in sinks:
                if not conn.execute(_HOLDS_ALL, (_held(sink), sink, sink)).fetchone()[0]:
                    conn.execute(_NOT_HELD, (sink,))
            # The marks become due plans, not nothing: a sync killed before it saves the
            # new plans leaves these customers due for the next one.
            conn.execute(_DUE_NOW)
            conn.execute("DELETE FROM stale_customers")
            due = int(conn.execute("SELECT count(*) FROM temp.engage_due").fetchone()[0])
            total = int(conn.execute("SELECT count(*) FROM customers").fetchone()[0])
        self._all_due = due == total
        self.planning_count = due
        return due

    def _replan_on_new_history_start(self) -> None:
        """Plan everyone again when older history arrived: whether a customer is new depends on
        how far back the store's touchpoints reach (see CustomerFacts.is_new)."""
        conn = self.conn
        start = history_start(conn, save=True)
        value = "" if start is None else str(start)
        planned = conn.execute(
            "SELECT value FROM planning WHERE name = 'planned_history_start'"
        ).fetchone()
        if planned is not None and planned[0] == value:
            return
        if planned is not None:
            conn.execute("DELETE FROM plans")
        conn.execute(
            "INSERT OR REPLACE INTO planning (name, value) VALUES ('planned_history_start', ?)",
            (value,),
        )

    def _replan_changed_owners(self, now: int, settings: ScoringSettings) -> None:
        """Mark the customers of owners whose status changed since the last planning."""
        conn = self.conn
        activity = owner_activity(conn, now, save=True)
        owners = load_owners(conn)
        planned = conn.execute("SELECT DISTINCT owner FROM plans WHERE owner IS NOT NULL")
        states = owner_states(owners, activity, (o for (o,) in planned), now, settings)
        before = dict(conn.execute("SELECT owner, state FROM owner_states").fetchall())
        changed = [(o,) for o, state in states.items() if before.get(o) != state]
        conn.executemany(
            """INSERT OR IGNORE INTO stale_customers (customer)
            SELECT customer FROM plans WHERE owner = ?""",
            changed,
        )
        conn.execute("DELETE FROM owner_states")
        conn.executemany("INSERT INTO owner_states (owner, state) VALUES (?, ?)", states.items())

    def facts_to_plan(self, as_of: datetime, settings: ScoringSettings) -> Iterator[CustomerFacts]:
        """Facts of the customers :meth:`begin_planning` chose, in key order.

        Raises:
            StoreError: :meth:`begin_planning` was not called on this store first.
        """
        found = self.facts_rows_to_plan(as_of, settings)
        yield from map(found.assemble, found.rows)

    def facts_rows_to_plan(self, as_of: datetime, settings: ScoringSettings) -> FactsRows:
        """As :meth:`facts_to_plan`, the rows and what assembles them apart: a planning child
        assembles them (:meth:`engage.engine.Engine.replan_scored`).

        Raises:
            StoreError: :meth:`begin_planning` was not called on this store first.
        """
        if self._all_due is None:
            raise StoreError("facts to plan: call begin_planning first, to choose the customers")
        with self._errors():
            found = facts_rows(self.conn, as_of, settings, None, due_only=not self._all_due)
        self._totals, self._totals_upto = {}, to_micros(ensure_utc(as_of, "facts: as_of"))
        return FactsRows(self._translated(found.rows), found.assemble)

    def _translated(self, rows: Iterator[Any]) -> Iterator[Any]:
        """The rows, with store errors explained; the totals of busy customers' rows kept
        for :meth:`save_plans` (few: only customers with long histories have them)."""
        totals = self._totals
        with self._errors():
            for row in rows:
                kept = totals_of(row)
                if kept is not None:
                    totals[row[0]] = kept
                yield row

    def save_plans(self, plans: Sequence[CustomerPlan], as_of: datetime) -> None:
        """Record these customers' plans, replacing their planned tasks (commits on its own)."""
        now = to_micros(ensure_utc(as_of, "save_plans: as_of"))
        rows = [
            (p.customer, p.owner, None if p.valid_until is None else to_micros(p.valid_until), now)
            for p in plans
        ]
        if not plans:
            return
        with self._own_transaction("save_plans"):
            conn = self.conn
            conn.execute("DELETE FROM planning WHERE name LIKE 'held:%'")
            conn.executemany(
                "DELETE FROM planned_tasks WHERE customer = ?", ((p.customer,) for p in plans)
            )
            # a customer retired by another writer since its facts were read keeps no plan
            # (looked up once for the chunk: this transaction holds the write lock)
            stored = held_keys(conn, "customers", "key", [p.customer for p in plans])
            conn.executemany(
                "INSERT OR REPLACE INTO planned_tasks (key, customer) VALUES (?, ?)",
                [(t.key, t.customer) for p in plans if p.customer in stored for t in p.tasks],
            )
            conn.executemany(
                """INSERT OR REPLACE INTO plans (customer, owner, valid_until, planned_at)
                VALUES (?, ?, ?, ?)""",
                [row for row in rows if row[0] in stored],
            )
            if self._totals:
                keys = (p.customer for p in plans if p.customer in stored)
                save_totals(conn, self._totals, keys, self._totals_upto)

    def mark_all_held(self, sink: str) -> None:
        """Record that ``sink`` holds every planned task (commits on its own)."""
        with self._own_transaction("mark_all_held"):
            self.conn.execute(
                "INSERT OR REPLACE INTO planning (name, value) VALUES (?, '')", (_held(sink),)
            )

    def planned_task_count(self) -> int:
        """How many tasks the saved plans hold."""
        with self._errors():
            return int(self.conn.execute("SELECT count(*) FROM planned_tasks").fetchone()[0])

    def planned_keys(self) -> Set[str]:
        """The keys of every task the saved plans hold."""
        with self._errors():
            return frozenset(k for (k,) in self.conn.execute("SELECT key FROM planned_tasks"))


def _held(sink: str) -> str:
    return f"held:{sink}"


def _state(
    owner: Owner,
    last_active: int | None,
    team_active: bool,
    now: int,
    inactive: int,
    evidence: bool,
) -> str:
    """What planning knew of an owner, as text: the status, and for a quiet owner since when."""
    status = owner_status(owner, last_active, team_active, now, inactive, evidence)
    if status is OwnerStatus.INACTIVE:
        return f"{status}:{last_active}"
    return str(status)


def owner_states(
    owners: Mapping[str, Owner],
    activity: OwnerActivity,
    planned: Iterable[str],
    now: int,
    settings: ScoringSettings,
) -> dict[str, str]:
    """What planning knows of each owner (:func:`_state`) as of ``now``: the stored owners,
    the active ones and the ``planned`` ones (the owners of saved plans), in both backends."""
    inactive = settings.owner_inactive_days * DAY_US
    team_active = is_team_active(activity, now, inactive)
    evidence = activity.covers(now, inactive)
    ids: set[str] = {*owners, *activity.last}
    ids.update(planned)
    return {
        owner_id: _state(
            owners.get(owner_id) or Owner(owner_id),
            activity.last.get(owner_id),
            team_active,
            now,
            inactive,
            evidence,
        )
        for owner_id in ids
    }
