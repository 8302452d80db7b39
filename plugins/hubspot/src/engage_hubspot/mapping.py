"""HubSpot records → engage models, and engage tasks → HubSpot task properties. Pure functions.

Customer keys merge with every other source: a company with a domain is its lower-cased
domain without ``www.``, a company without one is ``hubspot-company:<id>``. An owner with an
email is that email (CSV and Gmail know owners by email), else ``hubspot-owner:<id>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from engage.models import Channel, Customer, Direction, Owner, Task, Touchpoint
from engage_hubspot import calls

#: Engagement object types and the channel each becomes.
ENGAGEMENTS: Mapping[str, Channel] = {
    "emails": Channel.EMAIL,
    "calls": Channel.CALL,
    "meetings": Channel.MEETING,
    "notes": Channel.NOTE,
}
FEEDBACK = "feedback_submissions"

#: The singular used in touchpoint external ids (``email:123``).
SINGULAR = {
    "emails": "email",
    "calls": "call",
    "meetings": "meeting",
    "notes": "note",
    FEEDBACK: "feedback",
}

#: Properties read for each object type.
PROPERTIES: Mapping[str, tuple[str, ...]] = {
    "companies": ("name", "domain", "hubspot_owner_id", "createdate", "hs_lastmodifieddate"),
    "contacts": ("email", "firstname", "lastname", "associatedcompanyid", "lastmodifieddate"),
    "emails": (
        "hs_timestamp", "hubspot_owner_id", "hs_email_subject", "hs_email_direction",
        "hs_email_status", "hs_email_headers", "hs_email_message_id", "hs_lastmodifieddate",
    ),
    "calls": (
        "hs_timestamp", "hubspot_owner_id", "hs_call_title", "hs_call_direction",
        "hs_call_status", "hs_call_disposition", "hs_lastmodifieddate",
    ),
    "meetings": (
        "hs_timestamp", "hubspot_owner_id", "hs_meeting_title", "hs_meeting_outcome",
        "hs_meeting_start_time", "hs_lastmodifieddate",
    ),
    "notes": ("hs_timestamp", "hubspot_owner_id", "hs_lastmodifieddate"),
    FEEDBACK: (
        "hs_submission_timestamp", "hs_survey_type", "hs_response_value", "hs_createdate",
        "hs_lastmodifieddate",
    ),
}  # fmt: skip

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: The last-modified property search filters on, per object type.
MODIFIED = {"contacts": "lastmodifieddate"}
MODIFIED_DEFAULT = "hs_lastmodifieddate"

#: Email statuses and meeting outcomes that mean nothing reached the customer (calls: calls.py).
EMAIL_NOT_SENT = frozenset({"BOUNCED", "FAILED", "SCHEDULED", "SENDING"})
MEETING_NOT_HELD = frozenset({"CANCELED", "NO_SHOW", "RESCHEDULED"})

#: The marker line that carries a task's key in its body, so a task can be found again.
MARKER_PREFIX = "engage-task-key: "
_MARKER = re.compile(r"^engage-task-key: (.+?)[ \t]*$", re.MULTILINE)

_PRIORITY = {"high": "HIGH", "medium": "MEDIUM", "low": "LOW"}
_TYPE = {"call": "CALL", "email": "EMAIL", "todo": "TODO"}


def modified_property(object_type: str) -> str:
    """The last-modified property of an object type."""
    return MODIFIED.get(object_type, MODIFIED_DEFAULT)


def parse_time(value: Any) -> datetime | None:
    """A HubSpot time (ISO-8601 or epoch milliseconds, as text) as aware UTC; None if absent or bad."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if re.fullmatch(r"-?\d+", text):
        try:
            return EPOCH + timedelta(milliseconds=int(text))
        except (OverflowError, ValueError):
            return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_millis(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def domain_key(domain: str | None) -> str | None:
    """A company domain as a customer key: lower-cased, no scheme, path or ``www.``; None if empty."""
    if not domain:
        return None
    text = domain.strip().lower()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].strip().rstrip(".")
    while text.startswith("www."):
        text = text[4:]
    return text or None


def company_key(company_id: str, domain: str | None) -> str:
    """A company's customer key: its domain, else ``hubspot-company:<id>``."""
    return domain_key(domain) or f"hubspot-company:{company_id}"


def company_id_of_key(key: str) -> str | None:
    """The HubSpot company id inside a ``hubspot-company:<id>`` key, else None."""
    return key.split(":", 1)[1] if key.startswith("hubspot-company:") else None


def owner_key(hubspot_id: str, email: str | None) -> str:
    """An owner's engage id: the lower-cased email, else ``hubspot-owner:<id>``."""
    email = (email or "").strip().lower()
    return email if "@" in email else f"hubspot-owner:{hubspot_id}"


def owner_from_hubspot(data: Mapping[str, Any]) -> Owner:
    """An engage owner from a PublicOwner; archived owners (people who left) are inactive."""
    name = " ".join(p for p in (data.get("firstName"), data.get("lastName")) if p) or None
    return Owner(
        id=owner_key(str(data["id"]), data.get("email")),
        email=data.get("email") or None,
        name=name,
        active=not data.get("archived", False),
    )


def customer_from_company(
    data: Mapping[str, Any],
    owners: Mapping[str, str],
    *,
    segment_property: str = "",
    extra_properties: Sequence[str] = (),
    open_work: bool | None = None,
) -> Customer:
    """An engage customer from a company; ``owners`` maps HubSpot owner ids to engage ids."""
    props = data.get("properties") or {}
    company_id = str(data["id"])
    owner = props.get("hubspot_owner_id") or None
    attributes: dict[str, Any] = {"hubspot_company_id": company_id}
    attributes.update({p: props[p] for p in extra_properties if props.get(p) not in (None, "")})
    return Customer(
        key=company_key(company_id, props.get("domain")),
        name=props.get("name") or None,
        segment=(props.get(segment_property) or None) if segment_property else None,
        owner=owners.get(owner, f"hubspot-owner:{owner}") if owner else None,
        first_seen=parse_time(props.get("createdate")),
        open_work=open_work,
        attributes=attributes,
    )


def contact_name(props: Mapping[str, Any]) -> str | None:
    """A contact's display name from first and last name."""
    return " ".join(p for p in (props.get("firstname"), props.get("lastname")) if p) or None


def email_message_id(props: Mapping[str, Any]) -> str | None:
    """The RFC 5322 Message-ID of a logged email, from its property or its headers JSON."""
    value = props.get("hs_email_message_id")
    if not value:
        try:
            headers = json.loads(props.get("hs_email_headers") or "{}")
        except ValueError:
            headers = {}
        if isinstance(headers, dict):
            value = next(
                (v for k, v in headers.items() if k.lower().replace("-", "") in ("messageid",)),
                None,
            )
    text = str(value).strip() if value else ""
    return text or None


def channel_direction(
    object_type: str, props: Mapping[str, Any], now: datetime
) -> tuple[Channel, Direction] | None:
    """How an engagement happened; None when it did not (unsent email, cancelled call or meeting...).

    A call that ended without a conversation still happened (see :mod:`engage_hubspot.calls`).
    """
    if object_type == "emails":
        if (props.get("hs_email_status") or "").upper() in EMAIL_NOT_SENT:
            return None
        direction = (props.get("hs_email_direction") or "EMAIL").upper()
        inbound = direction in ("INCOMING_EMAIL", "FORWARDED_EMAIL")
        return Channel.EMAIL, Direction.INBOUND if inbound else Direction.OUTBOUND
    if object_type == "calls":
        if (props.get("hs_call_status") or "").strip().upper() in calls.NOT_HELD_STATUSES:
            return None
        inbound = (props.get("hs_call_direction") or "").upper() == "INBOUND"
        return Channel.CALL, Direction.INBOUND if inbound else Direction.OUTBOUND
    if object_type == "meetings":
        outcome = (props.get("hs_meeting_outcome") or "").upper()
        start = parse_time(props.get("hs_meeting_start_time") or props.get("hs_timestamp"))
        if outcome in MEETING_NOT_HELD or (
            outcome != "COMPLETED" and (start is None or start > now)
        ):
            return None
        return Channel.MEETING, Direction.OUTBOUND
    if object_type == "notes":
        return Channel.NOTE, Direction.INTERNAL
    if object_type == FEEDBACK:
        return Channel.FEEDBACK, Direction.INBOUND
    return None


def feedback_value(survey_type: str | None, value: Any) -> float | None:
    """A survey answer as 0–1: NPS 0–10 ÷ 10, CSAT 1–5 and CES 1–7 scaled; None if unknown."""
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    kind = (survey_type or "").upper()
    low, high = {"NPS": (0.0, 10.0), "CSAT": (1.0, 5.0), "CES": (1.0, 7.0)}.get(kind, (0.0, 0.0))
    if high <= low or number != number:
        return None
    return min(1.0, max(0.0, (number - low) / (high - low)))


def external_id(object_type: str, object_id: str) -> str:
    """A touchpoint's external id: ``email:123``, ``feedback:9``..."""
    return f"{SINGULAR[object_type]}:{object_id}"


def touchpoint_from_engagement(
    object_type: str,
    data: Mapping[str, Any],
    *,
    source: str,
    customer: str,
    contact_email: str | None,
    owners: Mapping[str, str],
    now: datetime,
    call_labels: Mapping[str, str] = calls.DEFAULT_DISPOSITIONS,
) -> Touchpoint | None:
    """A touchpoint from an engagement or feedback submission; None when it did not happen.

    ``call_labels`` maps the portal's call outcome ids to their labels: a call nobody talked
    on is ``missed``, in its own direction (an inbound missed call waits for a call back).
    """
    props = data.get("properties") or {}
    how = channel_direction(object_type, props, now)
    occurred = parse_time(
        props.get("hs_timestamp")
        or props.get("hs_submission_timestamp")
        or props.get("hs_createdate")
        or data.get("createdAt")
    )
    if how is None or occurred is None:
        return None
    owner = props.get("hubspot_owner_id") or None
    subject = (
        props.get("hs_email_subject") or props.get("hs_call_title") or props.get("hs_meeting_title")
    )
    return Touchpoint(
        source=source,
        external_id=external_id(object_type, str(data["id"])),
        customer=customer,
        occurred_at=occurred,
        channel=how[0],
        direction=how[1],
        contact_email=contact_email,
        owner=owners.get(owner, f"hubspot-owner:{owner}") if owner else None,
        subject=subject or None,
        feedback=feedback_value(props.get("hs_survey_type"), props.get("hs_response_value"))
        if object_type == FEEDBACK
        else None,
        message_id=email_message_id(props) if object_type == "emails" else None,
        missed=object_type == "calls"
        and calls.call_outcome(props, call_labels) is calls.CallOutcome.MISSED,
    )


def marker(key: str) -> str:
    """The line a task body carries so the task can be found by its key."""
    return f"{MARKER_PREFIX}{key}"


def key_from_body(body: str | None) -> str | None:
    """The task key in a task body's marker line, or None."""
    match = _MARKER.search(body or "")
    return match.group(1) if match else None


def due_millis(due: date) -> str:
    """A due date as HubSpot's ``hs_timestamp``: 09:00 UTC that day, in epoch milliseconds."""
    return str(to_millis(datetime.combine(due, time(9, 0), tzinfo=UTC)))


def task_properties(task: Task, owner_id: str | None, key_property: str = "") -> dict[str, str]:
    """The HubSpot properties of a task (every value a string, as the API requires)."""
    props = {
        "hs_task_subject": task.title[:255],
        "hs_task_body": f"{task.body}\n\n{marker(task.key)}",
        "hs_timestamp": due_millis(task.due),
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": _PRIORITY[task.priority.value],
        "hs_task_type": _TYPE[task.kind.value],
    }
    if owner_id:
        props["hubspot_owner_id"] = owner_id
    if key_property:
        props[key_property] = task.key
    return props
