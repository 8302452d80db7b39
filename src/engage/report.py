"""What a sync did: per-source counts and errors, planned tasks, per-sink pushes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from engage.errors import EXIT_OK, EXIT_PARTIAL, most_urgent

#: At most this many problem messages are kept per source; the count is always exact.
MAX_MESSAGES = 200


@attrs.frozen
class SourceReport:
    """One source's part of a sync.

    Attributes:
        name: The config table's name.
        plugin: The plugin that read it.
        records: Records received and committed (customers, contacts, owners, touchpoints).
        touchpoints: Touchpoints among them.
        inserted: Records new to the store.
        updated: Records that changed.
        unchanged: Records the store already held as they are.
        retired: Records the source said were archived or deleted.
        merged: Touchpoints that were an email another source already holds (counted once).
        problems: Bad input records skipped (exact count).
        skipped: Input passed over on purpose, by reason (``{"automated": 120}``).
        read: What the source said it read, by kind (``{"rows": 300000}``): the input,
            where ``records`` counts what it became (a row can make a touchpoint, a
            contact and a customer).
        messages: The first problem messages, each naming file, line and field.
        notices: What a person should know that is not an error (each once): a fallback
            taken, a name that matches two customers.
        error: Why the source failed, if it did; records since its last checkpoint were
            rolled back and its cursor is unchanged.
        error_code: The exit code the failure asks for (75 temporary, 78 needs a person,
            3 input refused, 1 a plugin's bug; see :mod:`engage.errors`); 0 without one.
        elsewhere: Why this run did not pull the source, when another runner sharing the
            store pulls it (``pulled by host:812 at 09:02 UTC``); None when this run pulled it.
        attempts: How many times this run pulled the source: 1, more when a temporary
            failure was tried again after the other sources (``[sync] retries``), 0 when
            another runner pulls it. The counts add up over the attempts.
        earlier_errors: Why each attempt before the last failed (the last one's is
            ``error``): a source retried successfully has these and no ``error``.
        retriable: Whether ``error`` is temporary (it may pass on its own: the network, a
            rate limit; exit 75): the next run tries again from the last checkpoint.
        retry_after: How long the error asked to wait before trying again, if it said.
        not_retried: Why a temporary failure was not tried again in this run (a wait
            longer than ``[sync] max_retry_wait``, retries off); None otherwise.
        rolled_back_problems: Of ``problems``, those counted in the records the failure
            rolled back: a retry reads them again (and counts them again).
        rolled_back_skipped: Of ``skipped``, likewise.
    """

    name: str
    plugin: str
    records: int = 0
    touchpoints: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    merged: int = 0
    problems: int = 0
    skipped: Mapping[str, int] = attrs.field(factory=dict)
    read: Mapping[str, int] = attrs.field(factory=dict)
    messages: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    error: str | None = None
    error_code: int = EXIT_OK
    elsewhere: str | None = None
    attempts: int = 1
    earlier_errors: tuple[str, ...] = ()
    retriable: bool = False
    retry_after: float | None = None
    not_retried: str | None = None
    rolled_back_problems: int = 0
    rolled_back_skipped: Mapping[str, int] = attrs.field(factory=dict)

    @property
    def retried(self) -> bool:
        """Whether this run pulled the source more than once."""
        return self.attempts > 1

    @property
    def exit_code(self) -> int:
        """What this source asks the run to exit with: its failure's code (3 when it has
        none), else 0. Bad records within the source's tolerance (``max_bad_ratio``) are
        reported, not a failure."""
        return (self.error_code or EXIT_PARTIAL) if self.error else EXIT_OK

    def counted(self) -> str:
        """What was read and stored, each count saying what it counts:
        ``330,000 records (300,000 touchpoints) from 300,000 rows read``."""
        records = f"{self.records:,} record{'' if self.records == 1 else 's'}"
        if self.touchpoints != self.records:
            records += f" ({self.touchpoints:,} touchpoint{'' if self.touchpoints == 1 else 's'})"
        read = ", ".join(
            f"{n:,} {what[:-1] if n == 1 and what.endswith('s') else what}"
            for what, n in self.read.items()
        )
        if read:
            return f"{records} from {read} read"
        return f"{records} (nothing new to read)" if not self.records else records

    def to_json(self) -> dict[str, Any]:
        """The source as ``engage sync --json`` prints it."""
        return {
            "plugin": self.plugin,
            "records": self.records,
            "touchpoints": self.touchpoints,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "retired": self.retired,
            "merged": self.merged,
            "skipped": dict(self.skipped),
            "read": dict(self.read),
            "errors": self.problems + (1 if self.error else 0),
            "messages": [*self.messages, *([self.error] if self.error else [])],
            "notices": list(self.notices),
            "failed": self.error is not None,
            "retriable": self.retriable,
            "attempts": self.attempts,
            "retried": self.retried,
            "earlier_errors": list(self.earlier_errors),
            "not_retried": self.not_retried,
            "elsewhere": self.elsewhere,
        }


@attrs.frozen
class SinkReport:
    """One sink's part of a sync.

    Attributes:
        pushed: Tasks created in the sink by this run.
        already_pushed: Planned tasks the ledger shows were pushed before.
        recovered: Tasks an interrupted run had created, found again instead of re-created.
        failed: Tasks the sink refused this run (retried next run).
        cleared: Pushed tasks whose condition cleared.
        completed: Cleared tasks the sink marked as done.
        errors: What went wrong.
        notices: What a person should know that is not an error (each once).
        skipped: Why nothing was pushed (dry run, a failed source), if so.
        error_code: The exit code its errors ask for: the sink's failure's (75 temporary,
            78 needs a person, 1 a plugin's bug), 3 when it refused some tasks; 0 without.
        stopped: Whether pushing to the sink stopped on a failure (the last of ``errors``):
            the tasks it did not take stay for the next run.
        pending: Planned tasks the sink does not hold after this run because pushing
            stopped (the next run looks for the interrupted ones, then pushes the rest).
        attempts: How many times this run pushed to the sink: more than 1 when a push that
            stopped on a temporary failure that wrote nothing was tried again after the
            other sinks (``[sync] retries``).
        earlier_errors: Why each attempt before the last stopped.
        not_retried: Why a temporary failure was not tried again in this run (a write that
            may have landed waits for the next run, which looks for it first); None
            otherwise.
    """

    name: str
    plugin: str
    pushed: int = 0
    already_pushed: int = 0
    recovered: int = 0
    failed: int = 0
    cleared: int = 0
    completed: int = 0
    errors: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    skipped: str | None = None
    error_code: int = EXIT_OK
    stopped: bool = False
    pending: int = 0
    attempts: int = 1
    earlier_errors: tuple[str, ...] = ()
    not_retried: str | None = None

    @property
    def retried(self) -> bool:
        """Whether this run pushed to the sink more than once."""
        return self.attempts > 1

    @property
    def exit_code(self) -> int:
        """What this sink asks the run to exit with (3 for errors without a code of their own)."""
        return (self.error_code or EXIT_PARTIAL) if self.errors or self.failed else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """The sink as ``engage sync --json`` prints it."""
        return {
            "plugin": self.plugin,
            "pushed": self.pushed,
            "already_pushed": self.already_pushed,
            "recovered": self.recovered,
            "failed": self.failed,
            "cleared": self.cleared,
            "completed": self.completed,
            "errors": list(self.errors),
            "notices": list(self.notices),
            "skipped": self.skipped,
            "stopped": self.stopped,
            "pending": self.pending,
            "attempts": self.attempts,
            "retried": self.retried,
            "earlier_errors": list(self.earlier_errors),
            "not_retried": self.not_retried,
        }


@attrs.frozen
class SyncReport:
    """Everything one ``engage sync`` (or ``engage push``) did.

    ``planning`` says why this run did not plan, if it did not: pull only (``--no-push``),
    or another runner sharing the store plans this cycle.
    """

    as_of: datetime
    dry_run: bool
    sources: tuple[SourceReport, ...]
    sinks: tuple[SinkReport, ...]
    customers: int
    tasks_planned: int
    customers_planned: int = 0
    planning: str | None = None

    @property
    def ok(self) -> bool:
        """True when no source failed and every sink took every task."""
        return not any(s.error for s in self.sources) and not any(s.errors for s in self.sinks)

    @property
    def exit_code(self) -> int:
        """The code ``engage sync`` exits with (:func:`engage.errors.most_urgent` of every
        source's and sink's): 0 done; 3 done, but a source's input was refused (too many bad
        records) or a sink refused tasks; 75 a temporary failure; 78 one that needs a
        person; 1 a plugin's bug."""
        return most_urgent(
            [*(s.exit_code for s in self.sources), *(s.exit_code for s in self.sinks)]
        )

    def to_json(self) -> dict[str, Any]:
        """The report as ``engage sync --json`` prints it."""
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "sources": {s.name: s.to_json() for s in self.sources},
            "customers": self.customers,
            "tasks_planned": self.tasks_planned,
            "customers_planned": self.customers_planned,
            "planning": self.planning,
            "sinks": {s.name: s.to_json() for s in self.sinks},
        }
