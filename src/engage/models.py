"""engage's data model: customers, contacts, owners, touchpoints and tasks.

All models are frozen attrs classes. Times are timezone-aware UTC: a naive datetime is
refused at construction (:class:`~engage.errors.ValidationError`), never silently assumed.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from engage.clock import ensure_utc
from engage.errors import ValidationError
from engage.pickled import as_values


class Channel(enum.StrEnum):
    """How a touchpoint happened."""

    EMAIL = "email"
    CALL = "call"
    MEETING = "meeting"
    NOTE = "note"
    FEEDBACK = "feedback"
    CHAT = "chat"
    OTHER = "other"


class Direction(enum.StrEnum):
    """Who started a touchpoint: the customer (inbound), us (outbound), or nobody outside (internal)."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class TaskKind(enum.StrEnum):
    """What a person does to complete a task."""

    CALL = "call"
    EMAIL = "email"
    TODO = "todo"


class Priority(enum.StrEnum):
    """How soon a task matters."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


def _to_aware(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationError(f"{what}: expected a datetime (got {value!r})")
    return ensure_utc(value, what)


E = TypeVar("E", bound=enum.StrEnum)


def _to_enum(kind: type[E], value: Any, what: str) -> E:
    if type(value) is kind:  # already a member: the common case, checked first
        return value
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise ValidationError(f"{what}: expected one of {choices} (got {value!r})") from None


def _occurred_at(value: datetime) -> datetime:
    return _to_aware(value, "Touchpoint.occurred_at")


def _first_seen(value: datetime | None) -> datetime | None:
    return None if value is None else _to_aware(value, "Customer.first_seen")


def _channel(value: Channel | str) -> Channel:
    return _to_enum(Channel, value, "Touchpoint.channel")


def _direction(value: Direction | str) -> Direction:
    return _to_enum(Direction, value, "Touchpoint.direction")


def _priority(value: Priority | str) -> Priority:
    return _to_enum(Priority, value, "Task.priority")


def _kind(value: TaskKind | str) -> TaskKind:
    return _to_enum(TaskKind, value, "Task.kind")


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    return value or None


def _required_email(value: str) -> str:
    email = _email(value)
    if not email or "@" not in email:
        raise ValidationError(f"Contact.email: expected an email address (got {value!r})")
    return email


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


def _feedback(value: float | None) -> float | None:
    if value is None:
        return None
    if not 0.0 <= float(value) <= 1.0:
        raise ValidationError(
            f"Touchpoint.feedback: expected a score between 0 and 1 (got {value!r})"
        )
    return float(value)


@as_values
@attrs.frozen
class Owner:
    """One of our people who can own customer relationships.

    ``active`` is false for someone who left (an archived CRM user); owners who simply went
    quiet are detected from their activity by the handover rule.
    """

    id: str
    email: str | None = attrs.field(default=None, converter=_email)
    name: str | None = None
    active: bool = True


@as_values
@attrs.frozen
class Contact:
    """A person at a customer."""

    email: str = attrs.field(converter=_required_email)
    customer: str
    name: str | None = None


@attrs.frozen
class Customer:
    """A customer: the institutional record that outlives any single contact or owner.

    Attributes:
        key: Stable identity: a company domain (``acme.com``), a personal address
            (``jo@gmail.com``), or a CRM company id.
        name: Display name, when known.
        segment: The customer type whose cadence and weights apply; None means the
            segment is decided by config rules or the default.
        owner: Id of the owning :class:`Owner`, if any source names one.
        first_seen: When the relationship started, if a source knows better than the
            first touchpoint.
        open_work: The customer has running work (an open deal, ticket or project); None
            when the source does not know, which never erases what another source said.
        attributes: Extra facts a source carries, for third-party factors and rules.
    """

    key: str
    name: str | None = None
    segment: str | None = None
    owner: str | None = None
    first_seen: datetime | None = attrs.field(default=None, converter=_first_seen)
    open_work: bool | None = None
    attributes: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping, eq=False)

    def attributes_json(self) -> str:
        """The attributes as the JSON text the stores keep: keys sorted, values JSON cannot
        hold written as their text; ``{}`` for none (most records), without an encoder."""
        if not self.attributes:
            return "{}"
        return json.dumps(dict(self.attributes), sort_keys=True, default=str)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as its values: a mappingproxy (the frozen attributes) cannot be pickled
        return (
            type(self),
            (self.key, self.name, self.segment, self.owner, self.first_seen, self.open_work,
             dict(self.attributes)),
        )  # fmt: skip


@attrs.frozen
class Touchpoint:
    """One interaction with a customer: an email, call, meeting, note or feedback.

    ``(source, external_id)`` identifies it: pulling the same record again changes nothing.
    ``feedback`` is a satisfaction score normalised to 0–1 (NPS 9/10 is 0.9) when the
    touchpoint carries one. ``missed`` marks a call or meeting that did not take place as a
    conversation (a missed call, a voicemail, no answer): it is then a one-way message in its
    direction, so a customer's missed call waits for a call back. Bodies of mail are never
    stored.
    """

    source: str
    external_id: str
    customer: str
    occurred_at: datetime = attrs.field(converter=_occurred_at)
    channel: Channel = attrs.field(converter=_channel)
    direction: Direction = attrs.field(converter=_direction)
    contact_email: str | None = attrs.field(default=None, converter=_email)
    owner: str | None = None
    subject: str | None = None
    feedback: float | None = attrs.field(default=None, converter=_feedback)
    message_id: str | None = None
    missed: bool = False

    @classmethod
    def from_checked(
        cls,
        source: str,
        external_id: str,
        customer: str,
        occurred_at: datetime,
        channel: Channel,
        direction: Direction,
        contact_email: str | None = None,
        owner: str | None = None,
        subject: str | None = None,
        feedback: float | None = None,
        message_id: str | None = None,
        missed: bool = False,
    ) -> Touchpoint:
        """A touchpoint from values a source has already checked, without converting them.

        For sources that read many rows (the CSV source builds one per row): the values must
        be what the constructor would make of them, an aware UTC ``occurred_at``, members of
        :class:`Channel` and :class:`Direction`, a stripped lower-case ``contact_email`` or
        None, a ``feedback`` float from 0 to 1 or None. The result equals
        ``Touchpoint(...)`` of the same values; the checks are simply not repeated.
        """
        touchpoint = _new(cls)
        _SET_SOURCE(touchpoint, source)
        _SET_EXTERNAL_ID(touchpoint, external_id)
        _SET_CUSTOMER(touchpoint, customer)
        _SET_OCCURRED_AT(touchpoint, occurred_at)
        _SET_CHANNEL(touchpoint, channel)
        _SET_DIRECTION(touchpoint, direction)
        _SET_CONTACT_EMAIL(touchpoint, contact_email)
        _SET_OWNER(touchpoint, owner)
        _SET_SUBJECT(touchpoint, subject)
        _SET_FEEDBACK(touchpoint, feedback)
        _SET_MESSAGE_ID(touchpoint, message_id)
        _SET_MISSED(touchpoint, missed)
        return touchpoint

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as its values, unpickled without checking them again (a source reading
        # ahead in another process sends a million of these)
        return (
            type(self).from_checked,
            (self.source, self.external_id, self.customer, self.occurred_at, self.channel,
             self.direction, self.contact_email, self.owner, self.subject, self.feedback,
             self.message_id, self.missed),
        )  # fmt: skip


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The setter of a slot of a frozen class (which refuses plain assignment)."""
    setter: Callable[[Any, Any], None] = getattr(cls, name).__set__
    return setter


# for Touchpoint.from_checked
_new = object.__new__
_SET_SOURCE = _slot_setter(Touchpoint, "source")
_SET_EXTERNAL_ID = _slot_setter(Touchpoint, "external_id")
_SET_CUSTOMER = _slot_setter(Touchpoint, "customer")
_SET_OCCURRED_AT = _slot_setter(Touchpoint, "occurred_at")
_SET_CHANNEL = _slot_setter(Touchpoint, "channel")
_SET_DIRECTION = _slot_setter(Touchpoint, "direction")
_SET_CONTACT_EMAIL = _slot_setter(Touchpoint, "contact_email")
_SET_OWNER = _slot_setter(Touchpoint, "owner")
_SET_SUBJECT = _slot_setter(Touchpoint, "subject")
_SET_FEEDBACK = _slot_setter(Touchpoint, "feedback")
_SET_MESSAGE_ID = _slot_setter(Touchpoint, "message_id")
_SET_MISSED = _slot_setter(Touchpoint, "missed")


#: A string as JSON text, as ``json.dumps`` writes it (ASCII, the rest escaped).
_json_string: Callable[[str], str] = json.encoder.encode_basestring_ascii


def _json_or_null(value: str | None) -> str:
    return "null" if value is None else _json_string(value)


@as_values
@attrs.frozen
class Task:
    """A follow-up a person should do, planned by a playbook rule.

    ``key`` is deterministic: the same rule, customer and facts give the same key, so a
    task is never pushed twice.
    """

    key: str
    customer: str
    rule: str
    title: str
    body: str
    due: date
    priority: Priority = attrs.field(converter=_priority)
    kind: TaskKind = attrs.field(converter=_kind)
    owner: str | None
    reason: str
    contact_email: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The task as the JSON object ``engage tasks --json`` prints."""
        return {
            "key": self.key,
            "customer": self.customer,
            "rule": self.rule,
            "title": self.title,
            "body": self.body,
            "due": self.due.isoformat(),
            "priority": self.priority.value,
            "kind": self.kind.value,
            "owner": self.owner,
            "reason": self.reason,
            "contact": self.contact_email,
        }

    def json_text(self) -> str:
        """:meth:`to_json` as ``json.dumps(task.to_json(), sort_keys=True)`` writes it: the
        text the ledger stores.

        Written field by field with the :mod:`json` module's own string escaping: the same
        text in about half the time (4 µs a task instead of 8-9: ``json.dumps`` sets up an
        encoder and sorts the keys on each call), and a first load records tens of thousands.
        """
        text, due = _json_string, self.due.isoformat()
        return (
            f'{{"body": {text(self.body)}, "contact": {_json_or_null(self.contact_email)}, '
            f'"customer": {text(self.customer)}, "due": {text(due)}, "key": {text(self.key)}, '
            f'"kind": {text(self.kind.value)}, "owner": {_json_or_null(self.owner)}, '
            f'"priority": {text(self.priority.value)}, "reason": {text(self.reason)}, '
            f'"rule": {text(self.rule)}, "title": {text(self.title)}}}'
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Task:
        """Rebuild a task from :meth:`to_json` output (the ledger stores tasks this way)."""
        return cls(
            key=data["key"],
            customer=data["customer"],
            rule=data["rule"],
            title=data["title"],
            body=data["body"],
            due=date.fromisoformat(data["due"]),
            priority=data["priority"],
            kind=data["kind"],
            owner=data.get("owner"),
            reason=data["reason"],
            contact_email=data.get("contact"),
        )
