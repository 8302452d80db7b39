"""From a row's cells to engage records: filters, lookups, value maps, identity, attributes.

:meth:`Rows.bind` matches a file's header once (a :class:`Layout`); :meth:`Rows.records`
then turns each row into its records, or raises :class:`BadRow` (refused: a problem with
the field and value) or :class:`PassOver` (passed over on purpose: a filter, or a row
between two of our own people).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, cast

import attrs

from engage.errors import SourceError
from engage.identity import Identity, email_domain, normalize_customer
from engage.models import Channel, Contact, Customer, Direction, Touchpoint
from engage.readahead import checked_row
from engage_csv.dates import Ambiguous
from engage_csv.fields import FieldError, parse_feedback
from engage_csv.header import FIELDS, IDENTIFYING, match_columns
from engage_csv.keyindex import KeyIndex
from engage_csv.settings import Settings, fold
from engage_csv.values import ValueMaps

if TYPE_CHECKING:
    from engage_csv.dates import DateParser
    from engage_csv.lookups import Active, Lookups

#: Reads the file's dates for the day/month order: (order, lines that could be either, count).
Infer = Callable[[], tuple[str | None, list[int], int]]

#: Addresses resolved to customers within a pull (the most recently used kept), and keys kept
#: as text beside their digests, so memory stays flat on huge files.
MAX_REMEMBERED = 65536
#: An email cell resolved: (is an address, its customer key or None for one of ours, the
#: address lower-cased, whether its customer and contact were sent in this pull).
Address = tuple[bool, str | None, str, bool]
#: What a row's closed-set cells give: channel, direction, missed, feedback, open_work.
Closed = tuple[Channel, Direction, bool, float | None, bool | None]
#: The fields whose cells give :data:`Closed`, in its order.
_CLOSED_FIELDS = ("channel", "direction", "outcome", "feedback", "open_work")
#: The other fields a row's records are made of, in the order :meth:`Rows.records` unpacks them.
_PICKED = (
    "occurred_at",
    "email",
    "customer",
    "name",
    "owner",
    "id",
    "subject",
    "segment",
)
#: The channels an outcome applies to: only a call or a meeting can be missed.
_CONVERSATIONS = frozenset({Channel.CALL, Channel.MEETING})
#: ``Jane Doe <jane@acme.com>`` or ``Jane Doe (jane@acme.com)``: an address with a name.
_NAMED = re.compile(r"^\s*(?P<name>[^<(]*?)\s*[<(]\s*(?P<email>[^<>()\s]+@[^<>()\s]+)\s*[>)]\s*$")


class BadRow(Exception):
    """A row refused: ``field: problem (got 'value')``."""

    def __init__(self, field: str, problem: str, value: str) -> None:
        super().__init__(f"{field}: {problem} (got {value!r})")


class PassOver(Exception):
    """A row passed over on purpose; the message is the reason counted in the summary."""


class Sent:
    """The customers and contacts sent in this pull: all as 8-byte digests, the lately seen as text."""

    def __init__(self) -> None:
        self._all = KeyIndex()
        #: The keys seen lately, as text: a caller may look here first, without a call.
        self.lately: set[str] = set()

    def claim(self, key: str) -> bool:
        """Remember ``key`` as sent; returns whether it was not sent before in this pull."""
        if key in self.lately:
            return False
        new = self._all.insert(key)
        self._remember(key)
        return new

    def _remember(self, key: str) -> None:
        if len(self.lately) >= MAX_REMEMBERED:
            self.lately.clear()
        self.lately.add(key)


@attrs.frozen
class Layout:
    """Where a file's cells are: each field's slot in a row padded to ``size`` cells."""

    header: tuple[str, ...]
    width: int
    size: int
    index: Mapping[str, int]
    #: (slot, candidate columns): fields read from the first non-empty of several columns
    multi: tuple[tuple[int, tuple[int, ...]], ...]
    lookups: tuple[tuple[Active, int], ...]
    skip: tuple[tuple[int, Mapping[str, str], str], ...]
    only: tuple[tuple[int, Mapping[str, str], str], ...]
    attributes: tuple[tuple[str, int], ...]
    identifying: tuple[int, ...]
    #: The cells of :data:`_CLOSED_FIELDS` from a padded row, in one call.
    closed: Callable[[Sequence[str]], tuple[str, ...]] = attrs.field(eq=False, repr=False)
    #: The cells of :data:`_PICKED` from a padded row, in one call.
    pick: Callable[[Sequence[str]], tuple[str, ...]] = attrs.field(eq=False, repr=False)
    #: The empty cells that pad a row of ``width`` cells to ``size``.
    pad: list[str] = attrs.field(eq=False, repr=False)


class Rows:
    """Turns rows into records for one source and pull (see the module)."""

    def __init__(
        self,
        settings: Settings,
        *,
        name: str,
        identity: Identity,
        parse_date: DateParser,
        values: ValueMaps,
        feedback_scale: float,
        latest: datetime,
        lookups: Lookups | None,
    ) -> None:
        self.settings = settings
        self.name = name
        self.identity = identity
        self.parse_date = parse_date
        self.values = values
        self.feedback_scale = feedback_scale
        self.latest = latest
        self.lookups = lookups
        self.seen = Sent()
        #: How to find the current file's day/month order, until tried (set per file).
        self.infer: Infer | None = None
        #: The current file's occurred_at columns.
        self.date_columns: tuple[int, ...] = ()
        self._ambiguous: str | None = None
        #: email → (is an address, its customer key, the address lower-cased, whether its
        #: customer and contact are sent): resolved once per distinct address
        self._customers: dict[str, Address] = {}
        #: an owner cell → the owner id it gives
        self._owners: dict[str, str] = {}
        #: the closed-set cells of a row → what they give: few distinct, so each read once
        self._closed: dict[tuple[str, ...], Closed] = {}
        #: What makes each row's touchpoint (see :meth:`send_rows`).
        self.make_touchpoint: Callable[..., Touchpoint] = Touchpoint.from_checked

    def send_rows(self) -> None:
        """Give each row's touchpoint as the row the store writes, built from the same checked
        values (:func:`engage.readahead.checked_row`): only in a child reading ahead whose
        touchpoints are sent as rows (:func:`engage.readahead.rows_wanted`), where the pipe
        turns a touchpoint into that row anyway and nothing else sees the item."""
        self.make_touchpoint = cast(Callable[..., Touchpoint], checked_row)

    def bind(self, display: str, header: Sequence[str]) -> Layout:
        """Match a file's header to the fields, filters, lookups and attributes.

        Raises:
            SourceError: a column the settings need is not in the header.
        """
        settings = self.settings
        active = self.lookups.active if self.lookups is not None else []
        present = {a.spec.column: a for a in active}
        missing = self.lookups.missing if self.lookups is not None else {}
        for name, why in missing.items():
            if _find(header, name) is not None:
                raise SourceError(f"{display}: {why}")
        found = match_columns(
            display, header, settings.columns, {f for a in active for f in a.spec.fields}
        )
        self.date_columns = tuple(found["occurred_at"])
        self.parse_date.order = None
        self._ambiguous = None
        width = len(header)
        size = width
        index: dict[str, int] = {}
        multi: list[tuple[int, tuple[int, ...]]] = []
        for field in FIELDS:
            columns = found.get(field, ())
            if len(columns) == 1:
                index[field] = columns[0]
            else:
                index[field] = size  # a slot of its own: empty, or filled per row
                size += 1
                if columns:
                    multi.append((index[field], tuple(columns)))

        def column(name: str, what: str, optional: bool = False) -> int | None:
            at = _find(header, name)
            if at is None and not optional:
                has = ", ".join(header) or "nothing"
                raise SourceError(
                    f"{display}: missing column '{name}' of {what} (the header has: {has})"
                )
            return at

        lookups = []
        for name, lookup in present.items():
            at = column(name, f"lookups.{name}", optional=lookup.spec.preset is not None)
            if at is not None:
                lookups.append((lookup, at))
        filters = []
        for key, table in (("skip", settings.skip), ("only", settings.only)):
            chosen = []
            for name, chosen_values in table.items():
                at = column(name, key, optional=name in settings.optional_filters)
                if at is not None:
                    shown = " / ".join(chosen_values.values())
                    chosen.append((at, chosen_values, f"{name} not {shown}"))
            filters.append(tuple(chosen))
        attributes = tuple(
            (name, at)
            for name in settings.attributes
            if (at := column(name, "attributes")) is not None
        )
        return Layout(
            header=tuple(header),
            width=width,
            size=size,
            index=index,
            multi=tuple(multi),
            lookups=tuple(lookups),
            skip=filters[0],
            only=filters[1],
            attributes=attributes,
            identifying=tuple(index[field] for field in IDENTIFYING),
            closed=itemgetter(*(index[field] for field in _CLOSED_FIELDS)),
            pick=itemgetter(*(index[field] for field in _PICKED)),
            pad=[""] * (size - width),
        )

    def records(self, layout: Layout, row: list[str]) -> list[Customer | Contact | Touchpoint]:
        """The records of one row as read (not changed).

        Raises:
            PassOver: a filter passes the row over, or it is between two of our own people.
            BadRow: the row has non-empty cells beyond the header, a cell cannot be read, or
                a looked-up id is found nowhere.
        """
        cells = row + layout.pad if len(row) == layout.width else self._fit(layout, row)
        for slot, columns in layout.multi:
            for at in columns:
                if cells[at].strip():
                    cells[slot] = cells[at]
                    break
        for at, chosen, _ in layout.skip:
            value = chosen.get(fold(cells[at]))
            if value is not None:
                raise PassOver(f"{layout.header[at]} = {value}")
        for at, chosen, reason in layout.only:
            if fold(cells[at]) not in chosen:
                raise PassOver(reason)
        if layout.lookups:
            self._look_up(layout, cells)
        # This runs once per row: the cells are picked by two calls, not slot by slot.
        closed_key = layout.closed(cells)
        (
            occurred_text,
            email,
            customer_text,
            name_text,
            owner_text,
            external_id,
            subject,
            segment_text,
        ) = layout.pick(cells)
        try:
            occurred_at = self.parse_date(occurred_text)
        except Ambiguous as error:
            occurred_at = self._settle(occurred_text, error)
        except FieldError as error:
            raise BadRow("occurred_at", str(error), occurred_text) from None
        if occurred_at > self.latest:  # a typo such as 3609: engage.future_problem's rule
            raise BadRow("occurred_at", "in the future", occurred_text)
        closed = self._closed.get(closed_key)
        if closed is None:  # cells of these values not read yet in this pull
            closed = self._read_closed(closed_key)
            if len(self._closed) >= MAX_REMEMBERED:
                self._closed.clear()
            self._closed[closed_key] = closed
        channel, direction, missed, feedback, open_work = closed

        email = email.strip()
        customer_text = customer_text.strip()
        contact_name = name_text.strip() or None
        owner = self._owners.get(owner_text)
        if owner is None:
            owner = _owner(owner_text)
            if len(self._owners) >= MAX_REMEMBERED:
                self._owners.clear()
            self._owners[owner_text] = owner
        contact: Contact | None = None
        seen = self.seen
        lately = seen.lately
        # Most rows name an address seen before whose customer and contact are sent: then
        # one lookup of the cell gives all, and neither is looked for among those sent.
        sent = False
        if email:
            cell = email
            resolved = self._customers.get(cell)
            if resolved is not None and resolved[0]:  # a known address: the common case
                _, key, email, sent = resolved
            else:
                key, email, contact_name = self._customer(cell, contact_name)
                resolved = self._customers.get(cell)
            if key is None:  # one of our own addresses
                if not customer_text:
                    if not owner or self.identity.is_internal(owner):
                        raise PassOver("internal")
                    raise BadRow(
                        "customer",
                        f"missing; {email} is one of our own addresses, so the row needs a customer",
                        "",
                    )
                key = normalize_customer(customer_text)
                email = ""
            elif not sent:
                if (at_email := "@" + email) not in lately and seen.claim(at_email):
                    contact = Contact(email, key, contact_name)
                if resolved is not None and resolved[0]:  # the customer is claimed below
                    self._customers[cell] = (True, key, email, True)
        elif customer_text:
            key = normalize_customer(customer_text)
        else:
            raise BadRow("email", "missing; every row needs an email or a customer", "")

        records: list[Customer | Contact | Touchpoint] = []
        if not sent and key not in lately and seen.claim(key):
            name = customer_text or (contact_name if key == email else None)
            segment = segment_text.strip() or None
            attributes = {n: v for n, at in layout.attributes if (v := cells[at].strip())}
            records.append(
                Customer(
                    key, name=name, segment=segment, open_work=open_work, attributes=attributes
                )
            )
        if contact is not None:
            records.append(contact)
        external_id = external_id.strip()
        if not external_id:
            joined = "\x1f".join(cells[i].strip() for i in layout.identifying)
            external_id = hashlib.sha256(joined.encode()).hexdigest()[:24]
        records.append(
            self.make_touchpoint(  # each value checked above
                self.name,
                external_id,
                key,
                occurred_at,
                channel,
                direction,
                email or None,
                owner or None,
                subject.strip() or None,
                feedback,
                None,
                missed,
            )
        )
        return records

    @staticmethod
    def _fit(layout: Layout, row: list[str]) -> list[str]:
        """A row of other than ``width`` cells cut or padded to the layout's ``size``.

        Raises:
            BadRow: the row has non-empty cells beyond the header.
        """
        width = layout.width
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            raise BadRow("row", f"too many fields; the header has {width}", ",".join(row[width:]))
        return row[:width] + [""] * (layout.size - min(len(row), width))

    def _read_closed(self, texts: tuple[str, ...]) -> Closed:
        """The channel, direction, missed, feedback and open_work the cells of ``texts`` give.

        Raises:
            BadRow: one of them cannot be read (the first, in that order).
        """
        values = self.values
        channel_text, direction_text, outcome_text, feedback_text, open_work_text = texts
        field, text = "channel", channel_text
        try:
            channel = values.channel(channel_text)
            field, text = "direction", direction_text
            direction = values.direction(direction_text, channel)
            field, text = "outcome", outcome_text
            missed = values.outcome(outcome_text) and channel in _CONVERSATIONS
            field, text = "feedback", feedback_text
            feedback = parse_feedback(feedback_text, self.feedback_scale)
            field, text = "open_work", open_work_text
            open_work = values.open_work(open_work_text)
        except FieldError as error:
            raise BadRow(field, str(error), text) from None
        return channel, direction, missed, feedback, open_work

    def _settle(self, text: str, error: Ambiguous) -> datetime:
        """Read an ambiguous date in the order the file's other dates show, once it is known.

        Raises:
            BadRow: no date in the file shows the order.
        """
        if self.infer is not None:
            infer, self.infer = self.infer, None  # once per file
            order, lines, count = infer()
            if order is not None:
                self.parse_date.order = order
                return self.parse_date(text)
            shown = ", ".join(str(line) for line in lines)
            more = f" and {count - len(lines)} more" if count > len(lines) else ""
            self._ambiguous = (
                f"no date in this file has a day above 12 to show the order "
                f"(dates that could be either: lines {shown}{more})"
            )
        day, month = error.formats
        reason = self._ambiguous or "the order is not known"
        raise BadRow(
            "occurred_at",
            f'ambiguous day/month: {reason}; set date_format = "{day}" (day first) '
            f'or "{month}" (month first)',
            text,
        )

    def _customer(self, email: str, name: str | None) -> tuple[str | None, str, str | None]:
        """The customer key of an address (None: one of ours), the address lower-cased, the name.

        Raises:
            BadRow: not an address (nor ``Name <address>``).
        """
        resolved = self._customers.get(email)
        if resolved is None:  # addresses repeat across rows: resolve each once per pull
            valid = email_domain(email) is not None
            key = self.identity.customer_key(email) if valid else None
            resolved = (valid, key, email.lower(), False)
            if len(self._customers) >= MAX_REMEMBERED:
                self._customers.clear()
            self._customers[email] = resolved
        if not resolved[0]:
            named, address = _address(email)
            if address is None or email_domain(address) is None:
                raise BadRow("email", "not an email address", email)
            return self.identity.customer_key(address), address.lower(), name or named
        return resolved[1], resolved[2], name

    def _look_up(self, layout: Layout, cells: list[str]) -> None:
        lookups = self.lookups
        assert lookups is not None
        filled: set[str] = set()
        index = layout.index
        for active, at in layout.lookups:
            key = cells[at].strip()
            if not key:
                continue
            found = lookups.find(active, key)
            if found is None:
                raise BadRow(
                    active.spec.column,
                    f"no row with {active.spec.key} {key!r} in {active.shown}",
                    key,
                )
            for field, value in found.items():
                if value and field not in filled:
                    filled.add(field)
                    cells[index[field]] = value


def _find(header: Sequence[str], name: str) -> int | None:
    for at, cell in enumerate(header):
        if cell == name:
            return at
    wanted = fold(name)
    for at, cell in enumerate(header):
        if fold(cell) == wanted:
            return at
    return None


def _owner(text: str) -> str:
    """The owner id a cell gives: the address of ``Name <address>``, lower-cased."""
    owner = text.strip()
    if "@" in owner and ("<" in owner or "(" in owner):
        owner = _address(owner)[1] or owner
    return owner.lower()


def _address(text: str) -> tuple[str | None, str | None]:
    match = _NAMED.match(text)
    if match is None:
        return None, None
    return match["name"].strip(" \"'") or None, match["email"]
