"""Incremental planning in the PostgreSQL store (see :mod:`engage.store.sqlite_plans`).

Mixed into :class:`~engage.store.postgres.store.PostgresStore`. The triggers of
:mod:`engage.store.postgres.schema` mark stale customers; :meth:`PlanMixin.begin_planning`
chooses the customers to plan again into ``due_customers`` (a table, not a session's
temporary one, so the facts can stream from another connection of the pool) and clears
the marks in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Set
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

from engage.clock import ensure_utc, to_micros
from engage.errors import StoreError
from engage.facts import CustomerFacts
from engage.playbook import CustomerPlan
from engage.settings import ScoringSettings
from engage.store.postgres.facts import (
    history_start,
    load_owners,
    owner_activity,
    set_planning,
)
from engage.store.sqlite_plans import HELD, _held, owner_states

#: The saved plans of customers marked stale, made due at once (a moment before any).
_DUE_NOW = """UPDATE plans SET valid_until = 0
WHERE customer IN (SELECT customer FROM stale_customers) AND (valid_until IS NULL OR valid_until <> 0)"""

_CHOOSE = """
INSERT INTO due_customers (key)
SELECT key FROM customers c WHERE NOT EXISTS (SELECT 1 FROM plans p WHERE p.customer = c.key)
UNION SELECT customer FROM stale_customers WHERE customer IN (SELECT key FROM customers)
UNION SELECT customer FROM plans WHERE valid_until <= %(now)s OR planned_at > %(now)s
ON CONFLICT DO NOTHING
"""

_NOT_HELD = f"""
INSERT INTO due_customers (key)
SELECT DISTINCT p.customer FROM planned_tasks p
WHERE NOT EXISTS (
    SELECT 1 FROM ledger l
    WHERE l.sink = %s AND l.key = p.key AND l.status IN ({", ".join(f"'{s}'" for s in HELD)})
)
ON CONFLICT DO NOTHING
"""

_HOLDS_ALL = """
SELECT EXISTS (SELECT 1 FROM planning WHERE name = %s)
    AND NOT EXISTS (SELECT 1 FROM ledger WHERE sink = %s AND status = 'pending')
    AND NOT EXISTS (SELECT 1 FROM ledger WHERE sink = %s AND status = 'failed')
"""


#: The tables planning and facts read, with how many changed rows since their last ANALYZE
#: (or none yet) make their statistics stale.
_STALE_STATISTICS = """
SELECT relname FROM pg_stat_user_tables
WHERE schemaname = current_schema()
  AND relname IN ('touchpoints', 'customers', 'contacts', 'owners', 'plans', 'planned_tasks',
                  'ledger', 'stale_customers')
  AND ((last_analyze IS NULL AND last_autoanalyze IS NULL AND n_live_tup + n_mod_since_analyze > 0)
       OR n_mod_since_analyze > greatest(1000, n_live_tup / 10))
"""


def analyze_if_stale(conn: psycopg.Connection[tuple[Any, ...]]) -> list[str]:
    """ANALYZE the tables whose statistics are missing or stale; returns their names.

    A first load of a million rows left the planner believing the touchpoints table empty
    (autovacuum may be off, or not yet round): the facts query then chose a nested loop
    that grew with the square of the rows (an unchanged re-sync of 1M touchpoints took
    525 s; analyzed, a 100k one went from 6.9 s to 0.8 s).
    """
    stale = [name for (name,) in conn.execute(_STALE_STATISTICS)]
    for name in stale:
        conn.execute(f"ANALYZE {name}")
    return stale


class PlanMixin:
    """Planning methods over the store's connection."""

    if TYPE_CHECKING:

        @property
        def conn(self) -> psycopg.Connection[tuple[Any, ...]]: ...

        def _errors(self) -> AbstractContextManager[None]: ...

        def _own_transaction(self, what: str) -> AbstractContextManager[None]: ...

        def _facts(
            self,
            as_of: datetime,
            settings: ScoringSettings,
            customer: str | None = None,
            *,
            due_only: bool = False,
            keys: Sequence[str] | None = None,
        ) -> Iterator[CustomerFacts]: ...

    #: Whether the last :meth:`begin_planning` chose every customer (None: not called yet).
    _all_due: bool | None = None
    #: How many customers the last :meth:`begin_planning` chose (None: not called yet).
    planning_count: int | None = None

    def begin_planning(
        self,
        as_of: datetime,
        settings: ScoringSettings,
        fingerprint: str,
        sinks: Iterable[str] = (),
    ) -> int:
        """Choose the customers to plan as of ``as_of`` and return how many (commits on its
        own); :meth:`facts_to_plan` then streams their facts."""
        now = to_micros(ensure_utc(as_of, "begin_planning: as_of"))
        conn = self.conn
        with self._own_transaction("begin_planning"):
            analyze_if_stale(conn)
            row = conn.execute("SELECT value FROM planning WHERE name = 'fingerprint'").fetchone()
            if row is None or row[0] != fingerprint:
                conn.execute("DELETE FROM plans")
                set_planning(conn, "fingerprint", fingerprint)
            self._replan_on_new_history_start()
            self._replan_changed_owners(now, settings)
            conn.execute("DELETE FROM due_customers")
            conn.execute(_CHOOSE, {"now": now})
            for sink in sinks:
                holds = conn.execute(_HOLDS_ALL, (_held(sink), sink, sink)).fetchone()
                if not (holds and holds[0]):
                    conn.execute(_NOT_HELD, (sink,))
            # The marks become due plans, not nothing: a sync killed before it saves the
            # new plans leaves these customers due for the next one.
            conn.execute(_DUE_NOW)
            conn.execute("DELETE FROM stale_customers")
            due = _count(conn, "SELECT count(*) FROM due_customers")
            total = _count(conn, "SELECT count(*) FROM customers")
        self._all_due = due == total
        self.planning_count = due
        return due

    def _replan_on_new_history_start(self) -> None:
        """Plan everyone again when older history arrived."""
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
        set_planning(conn, "planned_history_start", value)

    def _replan_changed_owners(self, now: int, settings: ScoringSettings) -> None:
        """Mark the customers of owners whose status changed since the last planning."""
        conn = self.conn
        activity = owner_activity(conn, now, save=True)
        owners = load_owners(conn)
        planned = conn.execute("SELECT DISTINCT owner FROM plans WHERE owner IS NOT NULL")
        states = owner_states(owners, activity, (o for (o,) in planned), now, settings)
        before = dict(conn.execute("SELECT owner, state FROM owner_states").fetchall())
        changed = [o for o, state in states.items() if before.get(o) != state]
        if changed:
            conn.execute(
                """INSERT INTO stale_customers (customer)
                SELECT customer FROM plans WHERE owner = ANY(%s) ON CONFLICT DO NOTHING""",
                (changed,),
            )
        conn.execute("DELETE FROM owner_states")
        with conn.cursor() as cursor:
            if states:
                cursor.executemany(
                    "INSERT INTO owner_states (owner, state) VALUES (%s, %s)", list(states.items())
                )

    def facts_to_plan(self, as_of: datetime, settings: ScoringSettings) -> Iterator[CustomerFacts]:
        """Facts of the customers :meth:`begin_planning` chose, in key order.

        Raises:
            StoreError: :meth:`begin_planning` was not called on this store first.
        """
        if self._all_due is None:
            raise StoreError("facts_to_plan: call begin_planning first, to choose the customers")
        return self._facts(as_of, settings, None, due_only=not self._all_due)

    def save_plans(self, plans: Sequence[CustomerPlan], as_of: datetime) -> None:
        """Record these customers' plans, replacing their planned tasks (commits on its own)."""
        now = to_micros(ensure_utc(as_of, "save_plans: as_of"))
        if not plans:
            return
        rows = [
            (p.customer, p.owner, None if p.valid_until is None else to_micros(p.valid_until), now)
            for p in plans
        ]
        tasks = [(t.key, t.customer) for p in plans for t in p.tasks]
        conn = self.conn
        with self._own_transaction("save_plans"), conn.cursor() as cursor:
            cursor.execute("DELETE FROM planning WHERE name LIKE 'held:%%'")
            cursor.execute(
                "DELETE FROM planned_tasks WHERE customer = ANY(%s)", ([p.customer for p in plans],)
            )
            # a customer retired by another writer since its facts were read keeps no plan
            if tasks:
                cursor.executemany(
                    """INSERT INTO planned_tasks (key, customer)
                    SELECT v.key, v.customer FROM (VALUES (%s::text, %s::text)) AS v (key, customer)
                    WHERE EXISTS (SELECT 1 FROM customers WHERE key = v.customer)
                    ON CONFLICT (key) DO UPDATE SET customer = excluded.customer""",
                    tasks,
                )
            cursor.executemany(
                """INSERT INTO plans (customer, owner, valid_until, planned_at)
                SELECT v.c, v.o, v.u, v.p
                FROM (VALUES (%s::text, %s::text, %s::bigint, %s::bigint)) AS v (c, o, u, p)
                WHERE EXISTS (SELECT 1 FROM customers WHERE key = v.c)
                ON CONFLICT (customer) DO UPDATE SET owner = excluded.owner,
                    valid_until = excluded.valid_until, planned_at = excluded.planned_at""",
                rows,
            )

    def mark_all_held(self, sink: str) -> None:
        """Record that ``sink`` holds every planned task (commits on its own)."""
        with self._own_transaction("mark_all_held"):
            set_planning(self.conn, _held(sink), "")

    def planned_task_count(self) -> int:
        """How many tasks the saved plans hold."""
        with self._errors():
            return _count(self.conn, "SELECT count(*) FROM planned_tasks")

    def planned_keys(self) -> Set[str]:
        """The keys of every task the saved plans hold."""
        with self._errors():
            return frozenset(k for (k,) in self.conn.execute("SELECT key FROM planned_tasks"))


def _count(conn: psycopg.Connection[tuple[Any, ...]], query: str) -> int:
    row = conn.execute(query).fetchone()
    return 0 if row is None else int(row[0])
