"""Scoring and planning over a store: the part of engage that needs no network.

:class:`Engine` ties a store, the registered factors and rules, and the scoring settings
together. ``engage health``, ``engage tasks`` and ``engage sync`` all go through it, and so
can a script::

    import engage
    book = engage.Engine.in_memory(internal_domains=["ourco.com"])
    book.add(engage.Touchpoint(source="notes", external_id="1", customer="acme.com", ...))
    for health in book.health():
        print(health.customer, health.score, health.band)

:func:`engage.open` builds one on the store a config file describes.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from engage.clock import parse_moment, utcnow
from engage.config import check_weights
from engage.errors import ValidationError
from engage.facts import CustomerFacts
from engage.health import Factor, Health, score
from engage.history import BACKFILL_MONTHS, HealthPoint, day_start, month_ends
from engage.identity import Identity
from engage.mapahead import map_ahead
from engage.models import Channel, Contact, Customer, Direction, Owner, Task, Touchpoint
from engage.playbook import CustomerPlan, Rule, plan, plan_until
from engage.settings import ScoringSettings
from engage.store.base import Record, Store, WriteCounts
from engage.timeline import TimelineEntry

if TYPE_CHECKING:
    from engage.config import Config
    from engage.plugins import Registry

#: From this many customers to plan (a first load, a changed rule), they are scored and
#: planned in a child process beside the store's work (:mod:`engage.mapahead`); an hourly
#: sync's few hundred are not worth the fork.
PLAN_AHEAD_CUSTOMERS = 2000

_Kept = TypeVar("_Kept")


@attrs.define
class Engine:
    """Scores customers and plans tasks from what a store holds.

    Attributes:
        store: Where the touchpoints are.
        factors: Health factors, in report order.
        rules: Playbook rules.
        settings: Segments, windows, weights and thresholds.
        identity: Resolves email addresses to customers (for :meth:`touch`).
    """

    store: Store
    factors: Sequence[Factor]
    rules: Sequence[Rule]
    settings: ScoringSettings = attrs.field(factory=ScoringSettings)
    identity: Identity = attrs.field(factory=Identity)

    def __attrs_post_init__(self) -> None:
        """Refuse settings that weight a factor the engine does not have (a typo, a plugin missing).

        Raises:
            ConfigError: a segment's ``weights`` names no factor.
        """
        check_weights(self.settings, (factor.name for factor in self.factors), "Engine settings")

    @classmethod
    def from_config(cls, store: Store, config: Config, registry: Registry) -> Engine:
        """The engine the config describes on ``store``: every factor and rule ``registry``
        holds, the config's scoring settings and identity. The one way cli, sync, the demo
        and :func:`engage.open` build it.

        Raises:
            ConfigError: a segment's ``weights`` names no registered factor (naming the
                config file and the key).
        """
        config.check_factors(registry.factors)
        return cls(
            store=store,
            factors=[r.value for r in registry.factors.values()],
            rules=[r.value for r in registry.rules.values()],
            settings=config.scoring,
            identity=config.identity,
        )

    @classmethod
    def in_memory(
        cls,
        *,
        internal_domains: Iterable[str] = (),
        settings: ScoringSettings | None = None,
        plugins: bool = False,
    ) -> Engine:
        """An engine on a fresh in-memory store with the built-in factors and rules.

        Args:
            internal_domains: Our own mail domains (their addresses are owners, not customers).
            settings: Scoring settings (defaults documented in the README).
            plugins: Also use factors and rules of installed plugins.
        """
        from engage.plugins import Registry, make_plugin_manager
        from engage.store.sqlite import SQLiteStore

        registry = Registry.from_plugins(make_plugin_manager(entry_points=plugins))
        return cls(
            store=SQLiteStore(":memory:"),
            factors=[r.value for r in registry.factors.values()],
            rules=[r.value for r in registry.rules.values()],
            settings=settings or ScoringSettings(),
            identity=Identity.for_domains(internal_domains),
        )

    def add(self, records: Record | Iterable[Record], source: str = "python") -> WriteCounts:
        """Store one record or many (upserting by their identity) in one transaction.

        ``records`` is a :class:`~engage.Customer`, :class:`~engage.Contact`,
        :class:`~engage.Owner` or :class:`~engage.Touchpoint`, or an iterable of them (a
        list, a generator). ``source`` names where they come from for the store's
        bookkeeping; a touchpoint keeps its own ``source``. Returns what the write changed.

        Raises:
            TypeError: something else was given (a string, a dict, ...); nothing is stored.
        """
        items: Iterable[object] = (
            [records] if isinstance(records, _RECORD_TYPES) else _iterable(records)
        )
        with self.store.transaction():
            return self.store.write(_checked(items), source)

    def timeline(
        self,
        customer: str,
        since: datetime | str | None = None,
        *,
        as_of: datetime | str | None = None,
    ) -> list[TimelineEntry]:
        """The customer's touchpoints in time order, oldest first (:mod:`engage.timeline`).

        An email that several sources hold appears once, with the copies listed in its
        ``merged``. ``since`` and ``as_of`` bound the range (both included; ISO 8601 text
        without an offset is UTC, a bare date its midnight); ``customer`` is a key, a name or
        a unique prefix of either (:meth:`find_customer`).

        Raises:
            ValidationError: no customer or several match ``customer``, or a time is bad.
        """
        key = self.find_customer(customer)
        low = parse_moment(since, what="timeline: since") if isinstance(since, str) else since
        high = parse_moment(as_of, what="timeline: as_of") if isinstance(as_of, str) else as_of
        return self.store.timeline(key, low, high)

    def find_customer(self, text: str) -> str:
        """The key of the customer ``text`` names: its key, else its name (ignoring case),
        else a prefix of exactly one customer's key or name.

        Raises:
            ValidationError: no customer matches (naming the closest ones), or several do
                (naming them).
        """
        wanted = text.strip()
        if not wanted:
            raise ValidationError("customer: expected a key, a name or the start of one (got '')")
        if self.store.get_customer(wanted) is not None:
            return wanted
        folded = wanted.casefold()
        known = list(self.store.customer_names())
        for field in (0, 1):  # the key, then the name, ignoring case
            same = [pair for pair in known if (pair[field] or "").casefold() == folded]
            if len(same) == 1:
                return same[0][0]
            if same:
                raise ValidationError(_ambiguous(text, same))
        started = [
            (key, name)
            for key, name in known
            if key.casefold().startswith(folded) or (name or "").casefold().startswith(folded)
        ]
        if len(started) == 1:
            return started[0][0]
        if started:
            raise ValidationError(_ambiguous(text, started))
        raise ValidationError(_unknown(text, known))

    def close(self) -> None:
        """Close the store (a second close does nothing)."""
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def touch(
        self,
        email: str,
        at: datetime | str,
        channel: Channel | str = Channel.EMAIL,
        direction: Direction | str = Direction.OUTBOUND,
        *,
        owner: str | None = None,
        subject: str | None = None,
        feedback: float | None = None,
        missed: bool = False,
        source: str = "python",
    ) -> Touchpoint:
        """Record one touchpoint with a contact, resolving the customer from the address.

        ``at`` may be an aware datetime or ISO 8601 text (text without an offset is UTC).
        ``missed`` marks a call that was no conversation (no answer, a voicemail).

        Raises:
            ValidationError: the address is one of ours or not an address, or a value is bad.
        """
        customer = self.identity.customer_key(email)
        if customer is None:
            raise ValidationError(
                f"touch: {email!r} is not a customer's email address (internal or malformed)"
            )
        moment = parse_moment(at, what="touch: at") if isinstance(at, str) else at
        fields = (
            email,
            moment.isoformat(),
            str(channel),
            str(direction),
            owner or "",
            subject or "",
            *(("missed",) if missed else ()),  # ids of touches stored before stay the same
        )
        external_id = hashlib.sha256("\x1f".join(fields).encode()).hexdigest()[:24]
        touchpoint = Touchpoint(
            source=source,
            external_id=external_id,
            customer=customer,
            occurred_at=moment,
            channel=channel,
            direction=direction,
            contact_email=email,
            owner=owner,
            subject=subject,
            feedback=feedback,
            missed=missed,
        )
        self.add([touchpoint], source)
        return touchpoint

    def health(
        self, as_of: datetime | None = None, customer: str | None = None
    ) -> Iterator[Health]:
        """Health of every customer (or one), in key order, as of ``as_of`` (default now)."""
        for _facts, health in self._scored(as_of, customer):
            yield health

    def assess(
        self, as_of: datetime | None = None, customer: str | None = None
    ) -> Iterator[tuple[Health, list[Task]]]:
        """Health and planned tasks of every customer (or one), in key order."""
        for facts, health in self._scored(as_of, customer):
            yield health, plan(facts, health, self.rules, self.settings)

    def review(
        self, as_of: datetime | None = None, customer: str | None = None
    ) -> Iterator[tuple[CustomerFacts, Health, list[Task]]]:
        """Facts, health and planned tasks of every customer (or one), in key order: what
        ``engage report`` shows, streamed."""
        for facts, health in self._scored(as_of, customer):
            yield facts, health, plan(facts, health, self.rules, self.settings)

    def iter_tasks(
        self, as_of: datetime | None = None, customer: str | None = None
    ) -> Iterator[Task]:
        """Every task the playbook plans, customer by customer, without holding them all."""
        for _health, tasks in self.assess(as_of, customer):
            yield from tasks

    def tasks(self, as_of: datetime | None = None, customer: str | None = None) -> list[Task]:
        """Every task the playbook plans as of ``as_of``, most urgent first."""
        order = {"high": 0, "medium": 1, "low": 2}
        planned = [task for _health, tasks in self.assess(as_of, customer) for task in tasks]
        return sorted(planned, key=lambda t: (order[t.priority.value], t.due, t.customer, t.rule))

    def fingerprint(self) -> str:
        """Identifies everything planning depends on besides the data.

        The scoring version (settings and formulas), the fallback owner, and each factor's
        and rule's name, class, ``version`` attribute if any, and source file (its size and
        modification time, so upgrading a plugin counts). When it changes, a sync plans every
        customer again.
        """
        parts = [self.settings.version, self.settings.fallback_owner or ""]
        for kind, items in (("factor", self.factors), ("rule", self.rules)):
            for item in items:
                parts.append(f"{kind} {item.name} {_code_identity(item)}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def replan(
        self, as_of: datetime | None = None, sinks: Sequence[str] = ()
    ) -> Iterator[CustomerPlan]:
        """Plans of the customers whose plan may have changed since the last planning.

        The store chooses them (:meth:`~engage.store.base.Store.begin_planning`): new data,
        a plan's ``valid_until`` come, an owner's status changed, a task one of ``sinks`` does
        not hold yet, or different rules or settings (then everyone). The caller saves each
        plan with :meth:`~engage.store.base.Store.save_plans` once it acted on it.
        """
        for _health, customer_plan in self.replan_scored(as_of, sinks):
            yield customer_plan

    def replan_scored(
        self, as_of: datetime | None = None, sinks: Sequence[str] = ()
    ) -> Iterator[tuple[Health, CustomerPlan]]:
        """As :meth:`replan`, each plan with the health it was planned on."""
        return self._replan(as_of, sinks, _whole_health)

    def replan_points(
        self, as_of: datetime | None = None, sinks: Sequence[str] = ()
    ) -> Iterator[tuple[HealthPoint, CustomerPlan]]:
        """As :meth:`replan`, each plan with the history point of the health it was planned
        on (what a sync records: :meth:`record_points`).

        Lighter than :meth:`replan_scored` where planning runs in a child process: a point
        is one small object to hand back, a health report one per factor too.
        """
        return self._replan(as_of, sinks, HealthPoint.of)

    def _replan(
        self,
        as_of: datetime | None,
        sinks: Sequence[str],
        keep: Callable[[Health], _Kept],
    ) -> Iterator[tuple[_Kept, CustomerPlan]]:
        """The plans :meth:`replan` makes, each with ``keep`` of its health."""
        moment = as_of or utcnow()
        due = self.store.begin_planning(moment, self.settings, self.fingerprint(), sinks)
        version = self.settings.version
        factors, rules, settings = self.factors, self.rules, self.settings

        def scored_plan(facts: CustomerFacts) -> tuple[_Kept, CustomerPlan]:
            health = score(facts, factors, version)
            return keep(health), plan_until(facts, health, rules, settings)

        if due < PLAN_AHEAD_CUSTOMERS:
            yield from map(scored_plan, self.store.facts_to_plan(moment, settings))
            return
        # scored and planned in a child process while the store streams facts here and the
        # plans are saved and pushed here (engage.mapahead); a store that can hand over its
        # facts as raw rows has the child assemble them too
        split: Callable[[datetime, ScoringSettings], Any] | None = getattr(
            self.store, "facts_rows_to_plan", None
        )
        if split is None:
            yield from map_ahead(scored_plan, self.store.facts_to_plan(moment, settings))
            return
        found = split(moment, settings)
        assemble = found.assemble
        yield from map_ahead(lambda row: scored_plan(assemble(row)), found.rows)

    def record_history(self, healths: Iterable[Health]) -> int:
        """Add to the store's history the reports that change their customer's state
        (:mod:`engage.history`); returns how many rows were written."""
        return self.record_points(HealthPoint.of(health) for health in healths)

    def record_points(self, points: Iterable[HealthPoint]) -> int:
        """As :meth:`record_history`, from the points of the reports (:meth:`replan_points`)."""
        return self.store.record_health(points)

    def record_daily_history(self, as_of: datetime | None = None) -> int:
        """Score every customer and record the changes, unless that was done since midnight
        UTC of ``as_of``'s day (default now); returns how many rows were written.

        A sync calls it after planning, so scores that drifted with time alone (recency
        decays between syncs) reach the history at least once a day.
        """
        moment = as_of or utcnow()
        last = self.store.history_mark("full_pass")
        if last is not None and day_start(moment) <= last:
            return 0
        written = self.record_history(self.health(moment))
        self.store.set_history_mark("full_pass", moment)
        return written

    def backfill_history(self, as_of: datetime | None = None, months: int = BACKFILL_MONTHS) -> int:
        """Once per store: record the score as of the end of each of the last ``months``
        months before ``as_of`` (default now), from the touchpoints dated up to then, for the
        month ends before the first row a sync recorded; rows are marked ``backfilled``.

        A customer's back-filled history starts at its first touch. Returns how many rows
        were written (0 once done).
        """
        moment = as_of or utcnow()
        if self.store.history_mark("backfill") is not None:
            return 0
        first = self.store.first_recorded()
        written = 0
        for end in month_ends(moment, months):
            if first is not None and end >= first:
                break
            written += self.store.record_health(
                HealthPoint.of(health, backfilled=True)
                for health in self.health(end)
                if health.has_data
            )
        self.store.set_history_mark("backfill", moment)
        return written

    def history(
        self, customer: str, *, backfill: bool = True, as_of: datetime | None = None
    ) -> list[HealthPoint]:
        """The customer's health history, oldest first (:mod:`engage.history`).

        With ``backfill`` (the default), a store never back-filled is back-filled first
        (:meth:`backfill_history`, as of ``as_of``): the whole store, once.
        """
        if backfill:
            self.backfill_history(as_of)
        return self.store.health_history(customer)

    def _scored(
        self, as_of: datetime | None, customer: str | None
    ) -> Iterator[tuple[CustomerFacts, Health]]:
        moment = as_of or utcnow()
        version = self.settings.version
        for facts in self.store.facts(moment, self.settings, customer):
            yield facts, score(facts, self.factors, version)


_RECORD_TYPES = (Customer, Contact, Owner, Touchpoint)

#: Customers named at most in an error that lists matches.
_LISTED = 8


def _whole_health(health: Health) -> Health:
    return health


def _iterable(records: object) -> Iterable[object]:
    if isinstance(records, str | bytes) or not isinstance(records, Iterable):
        raise TypeError(
            "Engine.add: expected a Customer, Contact, Owner or Touchpoint, or an iterable of "
            f"them (got {type(records).__name__})"
        )
    return records


def _checked(items: Iterable[object]) -> Iterator[Record]:
    for index, item in enumerate(items):
        if not isinstance(item, _RECORD_TYPES):
            raise TypeError(
                f"Engine.add: item {index} is a {type(item).__name__}, not a Customer, "
                "Contact, Owner or Touchpoint"
            )
        yield item


def _described(key: str, name: str | None) -> str:
    return key if not name or name == key else f"{key} ({name})"


def _ambiguous(text: str, matches: Sequence[tuple[str, str | None]]) -> str:
    shown = ", ".join(_described(key, name) for key, name in matches[:_LISTED])
    more = f" and {len(matches) - _LISTED} more" if len(matches) > _LISTED else ""
    return f"customer {text!r} matches {len(matches)} customers: {shown}{more}; give its key"


def _unknown(text: str, known: Sequence[tuple[str, str | None]]) -> str:
    by_word: dict[str, tuple[str, str | None]] = {}
    for key, name in known:
        by_word.setdefault(key.casefold(), (key, name))
        if name:
            by_word.setdefault(name.casefold(), (key, name))
    close = difflib.get_close_matches(text.strip().casefold(), list(by_word), n=5, cutoff=0.6)
    found = list(dict.fromkeys(by_word[word] for word in close))
    hint = (
        "; did you mean " + ", ".join(_described(key, name) for key, name in found) + "?"
        if found
        else ""
    )
    return f"no customer {text!r} in the store (not a key, a name or the start of one){hint}"


def _code_identity(item: object) -> str:
    """A factor's or rule's class, version attribute and source file state."""
    kind = type(item)
    version = getattr(item, "version", "")
    try:
        path = inspect.getfile(kind)
        stat = os.stat(path)
        where = f"{path}:{stat.st_size}:{stat.st_mtime_ns}"
    except (TypeError, OSError):
        where = "?"
    return f"{kind.__module__}.{kind.__qualname__} {version} {where}"
