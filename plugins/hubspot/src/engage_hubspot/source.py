"""The HubSpot source: owners, companies, contacts, engagements and feedback, incrementally.

Each run:

1. reads every owner, active and archived (an archived owner left: ``Owner(active=False)``);
2. reads open deals and tickets, when ``open_work`` is on, to know which companies have work;
3. per object type (companies, contacts, then engagements and feedback): the first sync pages
   through the list endpoint (100 a page); later syncs search on the last-modified property
   from the saved watermark minus ``overlap_minutes``, 200 a page, by *keyset*: every page is
   a fresh query from the last time seen, so neither the 10,000-result cap nor records
   changing while paging can skip or repeat anything; when a whole page shares one time, it
   pages those records by id. Then it sweeps archived records and retires them;
4. looks again at engagements that had no company or contact (associations made later);
5. tells companies whose open work changed.

Calls are judged by :mod:`engage_hubspot.calls`: the portal's call outcome labels are read
once per pull, when the first calls arrive. A cursor written under older call rules has its
calls listed again, so every stored call is judged by the rules of today.

A :class:`~engage.adapters.Checkpoint` follows every page, so a failure loses nothing and
the next run resumes from the last page committed.

Progress counts records by object type. For a progress that takes totals (engage's own), a
first sync asks for each object type's total before listing it (one search with ``limit=1``,
under the search limiter; none when the listing resumes a saved page), and a later sync takes
each search answer's ``total``. A total is kept above what is read while more pages follow
and made exact by the last page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from engage.adapters import (
    AdapterContext,
    Checkpoint,
    Problem,
    Retire,
    SizedProgress,
    SourceItem,
    expect,
)
from engage.http import HttpError
from engage.models import Contact, Customer
from engage_hubspot import calls, mapping, search
from engage_hubspot.client import HubSpotClient
from engage_hubspot.cursor import Cursor, TypeState
from engage_hubspot.lookups import Lookups
from engage_hubspot.options import SourceOptions, connect

Record = dict[str, Any]


class HubSpotSource:
    """Pulls a HubSpot account into engage (``plugin = "hubspot"`` under ``[sources.NAME]``)."""

    options: ClassVar[type[SourceOptions]] = SourceOptions

    def __init__(self, options: SourceOptions, context: AdapterContext) -> None:
        self.context = context
        self.segment_property = options.segment_property
        self.company_properties = options.company_properties
        self.engagements: tuple[str, ...] = tuple(dict.fromkeys(options.engagements))
        self.feedback = options.feedback
        self.open_work = options.open_work
        self.overlap_ms = options.overlap_minutes * 60_000
        self.client: HubSpotClient = connect(options, context, "sources")
        self.owners: dict[str, str] = {}
        self.unassociated = 0
        self.call_labels: dict[str, str] | None = None
        self.read: Counter[str] = Counter()  # records counted this pull, by object type
        self.expected: dict[str, int] = {}  # the total told to the progress, by object type

    def __repr__(self) -> str:
        return f"HubSpotSource({self.context.name!r}, {self.client!r})"

    # -- the pull -------------------------------------------------------------------------

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        """Yield records changed since ``cursor``, with a checkpoint after every page."""
        now: datetime = self.context.now()
        start = mapping.to_millis(now)
        state = Cursor.load(cursor)
        if state.call_rules != calls.RULES:
            _read_calls_again(state)
        lookups = Lookups(self.client, self.context.identity)
        self.unassociated = 0
        self.call_labels = None
        self.read, self.expected = Counter(), {}
        yield from self._owners()
        open_ids = self._open_companies() if self.open_work else None
        written: set[str] = set()
        for object_type in self.object_types:
            yield from self._object_type(object_type, state, start, now, lookups, open_ids, written)
        for object_type in list(state.unassociated):
            yield from self._recheck(object_type, state, now, lookups)
        if open_ids is not None:
            yield from self._open_work(state, open_ids, lookups, written)
        if self.unassociated:
            yield Problem(
                f"{self.context.name}: {self.unassociated} engagement(s) have no company or "
                "contact in HubSpot; they are skipped and looked at again next run"
            )
        yield Checkpoint(state.dump())

    @property
    def object_types(self) -> tuple[str, ...]:
        """The object types pulled, in order: companies before contacts before engagements."""
        kinds = ("companies", "contacts", *self.engagements)
        return (*kinds, mapping.FEEDBACK) if self.feedback else kinds

    def _owners(self) -> Iterator[SourceItem]:
        for archived in (False, True):
            for data in self.client.owners(archived=archived):
                owner = mapping.owner_from_hubspot({**data, "archived": archived})
                self.owners[str(data["id"])] = owner.id
                self.context.progress.advance("owners")
                yield owner

    def _open_companies(self) -> set[str]:
        """Ids of companies with an open deal or ticket (searched by id, so never capped)."""
        companies: set[str] = set()
        open_filter = {"propertyName": "hs_is_closed", "operator": "EQ", "value": "false"}
        for object_type in ("deals", "tickets"):
            for page in search.by_id(self.client, object_type, [open_filter], ["hs_object_id"]):
                if page.items:
                    ids = [r["id"] for r in page.items]
                    linked = self.client.associations(object_type, "companies", ids)
                    companies.update(c for ids in linked.values() for c in ids)
                    self.context.progress.advance(object_type, len(page.items))
        return companies

    # -- one object type ------------------------------------------------------------------

    def _object_type(
        self,
        object_type: str,
        state: Cursor,
        start: int,
        now: datetime,
        lookups: Lookups,
        open_ids: set[str] | None,
        written: set[str],
    ) -> Iterator[SourceItem]:
        kind = state.types.get(object_type)
        if kind is None:
            kind = state.types[object_type] = TypeState(modified=start, archived=start)
        properties = self._properties(object_type)
        associations = (
            ["companies", "contacts"] if object_type not in ("companies", "contacts") else []
        )
        if kind.listing:
            if kind.after is None:
                self._count(object_type)
            for page in self.client.list_pages(
                object_type, properties, associations=associations, after=kind.after
            ):
                self._expect(object_type, len(page.items), None, last=page.next is None)
                yield from self._records(
                    object_type, page.items, state, now, lookups, open_ids, written, listed=True
                )
                kind.after, kind.listing = page.next, page.next is not None
                yield Checkpoint(state.dump())
            return
        yield from self._changes(object_type, kind, state, start, now, lookups, open_ids, written)
        yield from self._archived(object_type, kind, state, start)

    def _count(self, object_type: str) -> None:
        """Before listing: tell a progress that takes totals how many records there are."""
        if not isinstance(self.context.progress, SizedProgress):
            return  # nobody shows a total: spend no request on it
        try:
            total = search.count(self.client, object_type)
        except HttpError:
            return  # a total is a nicety: the listing says what is wrong, if anything is
        if total:
            self._tell(object_type, self.read[object_type] + total)

    def _expect(self, object_type: str, coming: int, after: int | None, *, last: bool) -> None:
        """Before ``coming`` more records are counted: expect ``after`` more beyond them
        (None: as many as expected so far), or none on the ``last`` page."""
        done = self.read[object_type] + coming
        known = self.expected.get(object_type)
        if last:
            total = done if known is not None or after is not None else None
        elif after is not None:
            total = done + max(after, 1)  # more pages follow
        else:
            total = None if known is None else max(known, done + 1)
        if total is not None and total != known:
            self._tell(object_type, total)

    def _tell(self, object_type: str, total: int) -> None:
        self.expected[object_type] = total
        if total:
            expect(self.context.progress, object_type, total)

    def _properties(self, object_type: str) -> list[str]:
        props = list(mapping.PROPERTIES[object_type])
        if object_type == "companies":
            props += [p for p in (self.segment_property, *self.company_properties) if p]
        return props

    def _changes(
        self,
        object_type: str,
        kind: TypeState,
        state: Cursor,
        start: int,
        now: datetime,
        lookups: Lookups,
        open_ids: set[str] | None,
        written: set[str],
    ) -> Iterator[SourceItem]:
        """Keyset search from the watermark (:func:`engage_hubspot.search.modified_since`); the
        records of a moment a whole page shares are read by id."""
        prop = mapping.modified_property(object_type)
        seen: set[tuple[str, int]] = set()
        since = min(kind.modified, start) - self.overlap_ms
        resumed = kind.id is not None and self.overlap_ms == 0
        if resumed:  # the last run stopped inside one moment's records: finish them first
            yield from self._same_time(
                object_type, kind, state, since, str(kind.id), now, lookups, open_ids, written, seen
            )
        for page in search.modified_since(
            self.client,
            object_type,
            prop,
            since,
            self._properties(object_type),
            moment=lambda record: self._modified(record, prop),
            after_since=resumed,
        ):
            fresh = self._fresh(page.items, prop, seen)
            total = search.total(page.answer)
            beyond = None if total is None else total - len(page.items)
            self._expect(object_type, len(fresh), beyond, last=page.next is None)
            yield from self._records(object_type, fresh, state, now, lookups, open_ids, written)
            since = max([since, *(self._modified(r, prop) for r in page.items)])
            kind.modified, kind.id = max(kind.modified, min(since, start)), None
            yield Checkpoint(state.dump())
            moment = search.tie(page)
            if moment is not None:  # a whole page at one time: page those records by id
                yield from self._same_time(
                    object_type, kind, state, moment, "0", now, lookups, open_ids, written, seen
                )

    def _same_time(
        self,
        object_type: str,
        kind: TypeState,
        state: Cursor,
        moment: int,
        after_id: str,
        now: datetime,
        lookups: Lookups,
        open_ids: set[str] | None,
        written: set[str],
        seen: set[tuple[str, int]],
    ) -> Iterator[SourceItem]:
        prop = mapping.modified_property(object_type)
        at_moment = {"propertyName": prop, "operator": "EQ", "value": str(moment)}
        for page in search.by_id(
            self.client, object_type, [at_moment], self._properties(object_type), after_id=after_id
        ):
            fresh = self._fresh(page.items, prop, seen)
            self._expect(object_type, len(fresh), None, last=False)
            yield from self._records(object_type, fresh, state, now, lookups, open_ids, written)
            if page.items:
                kind.modified, kind.id = moment, str(page.items[-1]["id"])
                yield Checkpoint(state.dump())

    @classmethod
    def _fresh(cls, page: list[Record], prop: str, seen: set[tuple[str, int]]) -> list[Record]:
        """The records not read yet in this version (a record changed meanwhile comes again)."""
        fresh = []
        for record in page:
            version = (str(record["id"]), cls._modified(record, prop))
            if version not in seen:
                seen.add(version)
                fresh.append(record)
        return fresh

    @staticmethod
    def _modified(record: Record, prop: str) -> int:
        props = record.get("properties") or {}
        moment = mapping.parse_time(props.get(prop) or record.get("updatedAt"))
        return mapping.to_millis(moment) if moment else 0

    def _archived(
        self, object_type: str, kind: TypeState, state: Cursor, start: int
    ) -> Iterator[SourceItem]:
        """Retire what was archived since the last sweep (archiving keeps the last-modified time)."""
        since = kind.archived - self.overlap_ms
        props = (
            ["domain"]
            if object_type == "companies"
            else ["email"]
            if object_type == "contacts"
            else []
        )
        for page in self.client.list_pages(object_type, props, archived=True):
            for data in page.items:
                when = mapping.parse_time(data.get("archivedAt"))
                if when is not None and mapping.to_millis(when) < since:
                    continue
                retire = self._retire(object_type, data)
                if retire is not None:
                    yield retire
        kind.archived = start
        yield Checkpoint(state.dump())

    @staticmethod
    def _retire(object_type: str, data: Record) -> Retire | None:
        props = data.get("properties") or {}
        if object_type == "companies":
            return Retire("customer", mapping.company_key(str(data["id"]), props.get("domain")))
        if object_type == "contacts":
            return Retire("contact", props["email"]) if props.get("email") else None
        return Retire("touchpoint", mapping.external_id(object_type, str(data["id"])))

    # -- records --------------------------------------------------------------------------

    def _records(
        self,
        object_type: str,
        results: Sequence[Record],
        state: Cursor,
        now: datetime,
        lookups: Lookups,
        open_ids: set[str] | None,
        written: set[str],
        *,
        listed: bool = False,
    ) -> Iterator[SourceItem]:
        if not results:
            return
        self.read[object_type] += len(results)
        self.context.progress.advance(object_type, len(results))
        if object_type == "companies":
            for data in results:
                lookups.add_company(data)
                written.add(str(data["id"]))
                yield mapping.customer_from_company(
                    data,
                    self.owners,
                    segment_property=self.segment_property,
                    extra_properties=self.company_properties,
                    open_work=None if open_ids is None else str(data["id"]) in open_ids,
                )
        elif object_type == "contacts":
            lookups.load_companies(
                c for d in results if (c := (d.get("properties") or {}).get("associatedcompanyid"))
            )
            for data in results:
                info = lookups.add_contact(data)
                if info.email and info.customer:
                    if info.company_id is None:
                        yield Customer(key=info.customer)
                    name = mapping.contact_name(data.get("properties") or {})
                    yield Contact(email=info.email, customer=info.customer, name=name)
        else:
            yield from self._engagements(object_type, results, state, now, lookups, listed)

    def _engagements(
        self,
        object_type: str,
        results: Sequence[Record],
        state: Cursor,
        now: datetime,
        lookups: Lookups,
        listed: bool,
    ) -> Iterator[SourceItem]:
        ids = [str(r["id"]) for r in results]
        if listed:
            companies = {str(r["id"]): _listed(r, "companies") for r in results}
            contacts = {str(r["id"]): _listed(r, "contacts") for r in results}
        else:
            companies = self.client.associations(object_type, "companies", ids)
            contacts = self.client.associations(object_type, "contacts", ids)
        lookups.load_companies(c for v in companies.values() for c in v)
        lookups.load_contacts(c for v in contacts.values() for c in v)
        labels = (yield from self._call_labels()) if object_type == "calls" else {}
        lonely: list[str] = []
        for data in results:
            object_id = str(data["id"])
            customer, email = lookups.resolve(
                companies.get(object_id, []), contacts.get(object_id, [])
            )
            if customer is None:
                lonely.append(object_id)
                continue
            touchpoint = mapping.touchpoint_from_engagement(
                object_type,
                data,
                source=self.context.name,
                customer=customer,
                contact_email=email,
                owners=self.owners,
                now=now,
                call_labels=labels,
            )
            if touchpoint is None:  # did not happen (cancelled, unsent): drop any older copy
                yield Retire("touchpoint", mapping.external_id(object_type, object_id))
            else:
                yield touchpoint
        self.unassociated += len(lonely)
        dropped = state.remember_unassociated(object_type, lonely, set(ids) - set(lonely))
        if dropped:
            yield Problem(
                f"{self.context.name}: {dropped} unassociated {object_type} no longer tracked "
                "(more than 10,000 waiting)"
            )

    def _call_labels(self) -> Generator[SourceItem, None, Mapping[str, str]]:
        """The portal's call outcome labels by id, read once per pull.

        Refused (403: a token without a scope that reads properties) or missing (404): no
        labels, so HubSpot's default outcomes are known by their ids and calls with a custom
        outcome are judged by their status; a problem line says so.
        """
        if self.call_labels is None:
            try:
                definition = self.client.property_definition("calls", "hs_call_disposition")
                self.call_labels = calls.options_labels(definition)
            except HttpError as exc:
                if exc.status not in (403, 404):
                    raise
                self.call_labels = {}
                yield Problem(
                    f"{self.context.name}: the call outcomes could not be read ({exc}); HubSpot's "
                    "default outcomes are known by their ids, calls with a custom outcome are "
                    "judged by hs_call_status"
                )
        return self.call_labels

    def _recheck(
        self, object_type: str, state: Cursor, now: datetime, lookups: Lookups
    ) -> Iterator[SourceItem]:
        """Engagements without associations last time: read them again if they have some now."""
        waiting = list(state.unassociated.get(object_type, []))
        if not waiting:
            return
        before = self.unassociated
        companies = self.client.associations(object_type, "companies", waiting)
        contacts = self.client.associations(object_type, "contacts", waiting)
        linked = [i for i in waiting if companies.get(i) or contacts.get(i)]
        if not linked:
            return
        records = self.client.batch_read(object_type, linked, mapping.PROPERTIES[object_type])
        gone = set(linked) - {str(r["id"]) for r in records}
        state.remember_unassociated(object_type, [], gone)
        yield from self._engagements(object_type, records, state, now, lookups, listed=False)
        self.unassociated = before  # they were counted when first seen this run, or last run
        yield Checkpoint(state.dump())

    def _open_work(
        self, state: Cursor, open_ids: set[str], lookups: Lookups, written: set[str]
    ) -> Iterator[SourceItem]:
        """Tell companies not pulled this run whose open work started or ended."""
        before = state.open_companies or {}
        changed = (open_ids ^ set(before)) - written
        lookups.load_companies(i for i in changed if i not in before)
        for company_id in sorted(changed):
            key = before.get(company_id) or lookups.companies.get(company_id)
            if key:
                yield Customer(key=key, open_work=company_id in open_ids)
        lookups.load_companies(open_ids - set(lookups.companies) - set(before))
        state.open_companies = {
            i: k for i in sorted(open_ids) if (k := lookups.companies.get(i) or before.get(i))
        }
        yield Checkpoint(state.dump())


def _read_calls_again(state: Cursor) -> None:
    """Calls stored under older call rules are listed again, so each is judged by today's."""
    kind = state.types.get("calls")
    if kind is not None:
        state.types["calls"] = TypeState(modified=kind.modified, archived=kind.archived)
    state.call_rules = calls.RULES


def _listed(record: Record, to_type: str) -> list[str]:
    block = (record.get("associations") or {}).get(to_type) or {}
    return [str(r["id"]) for r in block.get("results") or []]
