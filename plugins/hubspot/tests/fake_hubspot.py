"""A stateful fake HubSpot on 127.0.0.1, built from the documented CRM v3/v4 API.

It stores objects, owners, associations, property groups and property definitions
(``definitions``: the call outcomes of ``hs_call_disposition``, HubSpot's six defaults and a
custom one, and any property created through the properties API), and enforces what the real
API enforces: Bearer auth (401), scopes (403 for object types in ``denied``; ``"properties"``
there refuses reading property definitions, ``"property-writes"`` creating properties and
groups), list pages of at most 100, search pages of at most 200 and the 10,000-result search
cap (400), batches of at most 100, property values that are strings, ``hs_timestamp`` on
engagements, enumeration values among a defined property's options, valid association type ids,
owner ids that exist, custom properties that exist (400 otherwise), unknown properties (404) and
URLs that fit (414).

Properties API: ``POST /crm/v3/properties/{type}`` needs ``name``, ``label``, ``type``,
``fieldType`` and an existing ``groupName`` (400), answers 409 when the name is taken and 201
with the ``Property``; ``hasUniqueValue`` is fixed at creation, at most 10 per object type.
``GET|POST /crm/v3/properties/{type}/groups[/{name}]`` read (404) and create (409) groups.
Unique values: a ``batch/create`` holding a value of a unique property that a live record has
already (or that two inputs share) is refused as a whole, 409 ``CONFLICT`` and nothing created,
as HubSpot answers batches with an existing unique value (reported for contacts by email:
HubSpot/hubspot-api-python#51; for batch upserts: airbytehq/airbyte#76340). Batch read by
``idProperty`` works only for a unique property (and contacts' ``email``), else 400. Search
knows ``IN``/``NOT_IN`` with ``values``.

Search sees a record only once it is indexed (``unindexed`` holds the ids that are not yet),
orders ties in no particular order, and answers a single sort. Rate limits are off unless a
test or benchmark asks: :meth:`enforce_limits` makes the fake count requests per token in
HubSpot's rolling windows (100 per 10 s, search apart at 5 per second) and answer 429 past
them. Faults: :meth:`rate_limit_next`
(429 with a ``policyName``), :meth:`lock_next` (423 Locked), and FakeServer's ``fail_next``,
``drop_next`` and ``slow_next``; ``lose_create_answers`` makes ``batch/create`` write the tasks
and then answer 502, as when a proxy loses the answer; ``refuse_creates`` holds statuses the next
``batch/create`` requests answer before writing anything (503, 423 with HubSpot's error body).
"""

from __future__ import annotations

import functools
import hashlib
import json
import socket
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from engage.testing import FakeServer, Reply, Request

ENGAGEMENTS = ("emails", "calls", "meetings", "notes", "tasks")
#: HUBSPOT_DEFINED association type ids: (from, to) → id.
TYPE_IDS = {
    ("tasks", "companies"): 192, ("tasks", "contacts"): 204, ("tasks", "deals"): 216,
    ("emails", "companies"): 186, ("emails", "contacts"): 198,
    ("calls", "companies"): 182, ("calls", "contacts"): 194,
    ("meetings", "companies"): 188, ("meetings", "contacts"): 200,
    ("notes", "companies"): 190, ("notes", "contacts"): 202,
    ("contacts", "companies"): 279, ("companies", "tasks"): 191, ("contacts", "tasks"): 203,
    ("deals", "companies"): 341, ("tickets", "companies"): 339,
    ("feedback_submissions", "contacts"): 1001,
}  # fmt: skip
CATEGORIES = {"HUBSPOT_DEFINED", "INTEGRATOR_DEFINED", "USER_DEFINED", "WORK"}
#: HubSpot's default call outcomes (the same ids in every account) and one a portal added.
CALL_OUTCOMES = {
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "Connected",
    "73a0d17f-1163-4015-bdd5-ec830791da20": "No answer",
    "b2cf5968-551e-4856-9783-52b3da59a7d0": "Left voicemail",
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff": "Left live message",
    "9d9162e7-6cf3-4944-bf63-4dff82258764": "Busy",
    "17b47fee-58de-441e-a44c-c6300d46f273": "Wrong number",
}
CUSTOM_OUTCOME = ("3b8f5e5a-2d0c-4c61-9a57-5f0e2f6b7c1d", "Meeting booked")
#: The object types the properties API knows (others: 400, as HubSpot cannot infer the type).
PROPERTY_TYPES = {"contacts", "companies", "deals", "tickets", "feedback_submissions", *ENGAGEMENTS}
#: Property groups every portal has (only those the fake's definitions use).
DEFAULT_GROUPS = {
    "calls": ["callinformation"], "contacts": ["contactinformation"],
    "companies": ["companyinformation"], "deals": ["dealinformation"],
}  # fmt: skip
#: Valid ``fieldType`` values per property ``type`` (the properties guide's table).
FIELD_TYPES = {
    "string": {"text", "textarea", "html", "phonenumber", "file", "calculation_equation"},
    "number": {"number", "calculation_equation"},
    "bool": {"booleancheckbox", "calculation_equation"},
    "enumeration": {"booleancheckbox", "checkbox", "radio", "select", "calculation_equation"},
    "date": {"date"}, "datetime": {"date"},
}  # fmt: skip
#: Most unique-value properties an object type may have.
MAX_UNIQUE = 10
#: Property names HubSpot defines on every object besides the ``hs_`` ones.
BUILT_IN = {"hubspot_owner_id", "hubspot_team_id", "createdate", "lastmodifieddate"}
TASK_ENUMS = {
    "hs_task_status": {"NOT_STARTED", "COMPLETED", "IN_PROGRESS", "WAITING", "DEFERRED"},
    "hs_task_priority": {"LOW", "MEDIUM", "HIGH", "NONE"},
    "hs_task_type": {"CALL", "EMAIL", "TODO", "LINKED_IN", "MEETING"},
}


def iso(ms: int) -> str:
    """HubSpot's time format: ISO-8601 UTC with milliseconds."""
    return (
        datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    )


@functools.lru_cache(maxsize=65_536)
def _tie(record_id: str) -> str:
    """Where a record goes among those a search's sort ties: no useful order."""
    return hashlib.sha1(record_id.encode()).hexdigest()


def _millis(value: Any) -> float | None:
    return _millis_of(str(value).strip())


@functools.lru_cache(maxsize=65_536)  # a search compares every record: the same texts again
def _millis_of(text: str) -> float | None:
    if text.lstrip("-").isdigit():
        return float(text)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


#: HubSpot's 429 messages by ``policyName``.
RATE_LIMIT_MESSAGES = {
    "DAILY": "You have reached your daily limit.",
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "SECONDLY": "You have reached your secondly limit.",
}


def rate_limit_body(policy: str) -> dict[str, Any]:
    """HubSpot's 429 body for ``policy``: the usage guidelines' example (``DAILY``, quoted in
    /work/shared/API_NOTES.md §1.8) with that policy's name and message."""
    return {"status": "error", "message": RATE_LIMIT_MESSAGES[policy], "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()), "policyName": policy, "requestId": str(uuid.uuid4())}  # fmt: skip


def search_limit_body() -> dict[str, Any]:
    """The 429 the CRM search endpoints answer past their secondly limit, as recorded from
    api.hubapi.com in grouparoo's HubSpot plugin fixtures (nock recordings of 2021-2022,
    grouparoo/grouparoo plugins/@grouparoo/hubspot/__tests__/fixtures): no ``policyName``,
    only the message HubSpot's Node client also keys on (``secondlyLimitMessage``)."""
    return {"status": "error", "message": RATE_LIMIT_MESSAGES["SECONDLY"],
            "correlationId": str(uuid.uuid4()), "category": "RATE_LIMITS"}  # fmt: skip


class RateLimits:
    """HubSpot's request limits, per token, in rolling windows (see :meth:`FakeHubSpot.enforce_limits`).

    Attributes:
        per_window: Requests (search aside) per ``window`` seconds.
        searches: Search requests per ``search_window`` seconds.
        window: The burst window, in seconds.
        search_window: The search window, in seconds.
        clock: Monotonic seconds (a test passes its own).
        log: Every request counted or refused, in arrival order: (clock time, ``"search"`` or
            ``"burst"``, admitted).
    """

    def __init__(
        self,
        per_window: int,
        searches: int,
        window: float,
        search_window: float,
        clock: Callable[[], float],
    ) -> None:
        self.per_window, self.searches = per_window, searches
        self.window, self.search_window = window, search_window
        self.clock = clock
        self.log: list[tuple[float, str, bool]] = []
        self._seen: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def admit(self, token: str, search: bool) -> Reply | None:
        """Count one request of ``token``; the 429 to answer when it is over a limit, else None.

        A refused request is not counted (HubSpot does not say whether it counts them)."""
        kind = "search" if search else "burst"
        limit, window = (
            (self.searches, self.search_window) if search else (self.per_window, self.window)
        )
        with self._lock:
            now = self.clock()
            seen = self._seen[(token, kind)]
            while seen and now - seen[0] >= window:
                seen.popleft()
            admitted = len(seen) < limit
            if admitted:
                seen.append(now)
            self.log.append((now, kind, admitted))
        if admitted:
            return None
        body = search_limit_body() if search else rate_limit_body("TEN_SECONDLY_ROLLING")
        return Reply(429, body)


def error(status: int, message: str, category: str = "VALIDATION_ERROR", **extra: Any) -> Reply:
    """An error in HubSpot's documented shape."""
    body = {"status": "error", "message": message, "category": category,
            "correlationId": str(uuid.uuid4()), **extra}  # fmt: skip
    return Reply(status, body)


class FakeHubSpot(FakeServer):
    """The fake account: ``objects[type][id]``, ``owners``, ``links[(from, to)][from_id][to_id]``."""

    def __init__(self, token: str = "pat-na1-test-token") -> None:
        super().__init__()
        self.token = token
        self.denied: set[str] = set()
        self.now_ms = int(time.time() * 1000)
        self.objects: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.owners: list[dict[str, Any]] = []
        self.links: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(
            lambda: defaultdict(dict)
        )
        self.unindexed: set[str] = set()
        self.definitions: dict[tuple[str, str], dict[str, Any]] = {
            ("calls", "hs_call_disposition"): self.enumeration(
                "hs_call_disposition", "Call outcome", [*CALL_OUTCOMES.items(), CUSTOM_OUTCOME]
            )
        }
        self.groups: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for kind, names in DEFAULT_GROUPS.items():
            for name in names:
                self.groups[kind][name] = self.group(name, name.title())
        self.lose_create_answers = 0
        self.refuse_creates: list[int] = []
        #: Associations per object in one v4 batch read answer before it pages that object
        #: ("The 'paging' field will only be present if there are more pages"); None: all.
        self.association_batch_page: int | None = None
        self.url_limit = 4000
        #: HubSpot's rate limits, enforced only after :meth:`enforce_limits` (None: off).
        self.limits: RateLimits | None = None
        self._ids = 1000
        self._routes()

    # -- state for tests ------------------------------------------------------------------

    def next_id(self) -> str:
        self._ids += 1
        return str(self._ids)

    def add(
        self,
        object_type: str,
        properties: dict[str, Any] | None = None,
        *,
        id: str | None = None,
        modified: int | None = None,
        companies: Iterable[str] = (),
        contacts: Iterable[str] = (),
    ) -> str:
        """Create a record (as the HubSpot UI would) and return its id."""
        object_id = id or self.next_id()
        moment = self.now_ms if modified is None else modified
        self.now_ms += 1
        props = {k: str(v) for k, v in (properties or {}).items() if v is not None}
        props.update(hs_object_id=object_id, createdate=iso(moment), hs_createdate=iso(moment))
        self.objects[object_type][object_id] = {
            "id": object_id, "properties": props, "createdAt": iso(moment),
            "archived": False, "archivedAt": None,
        }  # fmt: skip
        self.touch(object_type, object_id, moment)
        for company in companies:
            self.associate(object_type, object_id, "companies", company)
        for contact in contacts:
            self.associate(object_type, object_id, "contacts", contact)
        return object_id

    def touch(self, object_type: str, object_id: str, moment: int | None = None) -> None:
        """Set a record's last-modified time (now by default)."""
        moment = self.now_ms if moment is None else moment
        record = self.objects[object_type][object_id]
        record["updatedAt"] = iso(moment)
        prop = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
        record["properties"][prop] = iso(moment)

    def update(
        self, object_type: str, object_id: str, modified: int | None = None, **props: Any
    ) -> None:
        """Change properties; the last-modified time moves."""
        self.objects[object_type][object_id]["properties"].update(
            {k: str(v) for k, v in props.items()}
        )
        self.touch(object_type, object_id, modified)
        self.now_ms += 1

    def archive(self, object_type: str, object_id: str) -> None:
        """Archive a record; as in HubSpot, its last-modified time does not change."""
        record = self.objects[object_type][object_id]
        record["archived"], record["archivedAt"] = True, iso(self.now_ms)

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Associate two records both ways (their last-modified times do not change)."""
        self.links[(from_type, to_type)][from_id][to_id] = TYPE_IDS.get((from_type, to_type), 1)
        self.links[(to_type, from_type)][to_id][from_id] = TYPE_IDS.get((to_type, from_type), 1)

    def add_owner(self, email: str | None, *, archived: bool = False, first: str = "") -> str:
        """Add an owner (archived: a user who was deactivated) and return its id."""
        owner_id = self.next_id()
        self.owners.append({
            "id": owner_id, "email": email, "firstName": first or None, "lastName": None,
            "userId": int(owner_id) + 5000, "type": "PERSON", "archived": archived, "teams": [],
            "createdAt": iso(self.now_ms), "updatedAt": iso(self.now_ms),
        })  # fmt: skip
        return owner_id

    def enumeration(
        self, name: str, label: str, options: Iterable[tuple[str, str]]
    ) -> dict[str, Any]:
        """A property definition in HubSpot's ``Property`` shape, with (value, label) options."""
        stamp = iso(self.now_ms)
        return {
            "name": name, "label": label, "description": f"The {label.lower()}.",
            "groupName": "callinformation", "type": "enumeration", "fieldType": "select",
            "options": [{"value": v, "label": t, "description": "", "displayOrder": n,
                         "hidden": False} for n, (v, t) in enumerate(options)],
            "displayOrder": -1, "calculated": False, "externalOptions": False,
            "hasUniqueValue": False, "hidden": False, "hubspotDefined": True, "formField": False,
            "modificationMetadata": {"archivable": False, "readOnlyDefinition": True,
                                     "readOnlyValue": False, "readOnlyOptions": False},
            "createdAt": stamp, "updatedAt": stamp, "archived": False,
        }  # fmt: skip

    @staticmethod
    def group(name: str, label: str) -> dict[str, Any]:
        """A property group in HubSpot's ``PropertyGroup`` shape."""
        return {"name": name, "label": label, "displayOrder": -1, "archived": False}

    def unique_properties(self, object_type: str) -> list[str]:
        """The names of an object type's properties with unique values."""
        return [n for (t, n), d in self.definitions.items() if t == object_type and d.get("hasUniqueValue")]  # fmt: skip

    def lock_next(self, count: int = 1) -> None:
        """Answer the next ``count`` requests with 423 Locked ("locks will last for 2 seconds")."""
        self.fail_next(423, count, body={
            "status": "error", "category": "LOCKED", "correlationId": str(uuid.uuid4()),
            "message": "The record is locked; retry after at least 2 seconds",
        })  # fmt: skip

    def rate_limit_next(self, policy: str, count: int = 1, retry_after: str | None = None) -> None:
        """Answer the next ``count`` requests with HubSpot's 429 for ``policy``."""
        self.fail_next(
            429,
            count,
            body=rate_limit_body(policy),
            headers={"Retry-After": retry_after} if retry_after else None,
        )

    def enforce_limits(
        self,
        per_10s: int = 100,
        searches_per_second: int = 5,
        *,
        window: float = 10.0,
        search_window: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> RateLimits:
        """Count every authenticated request per token and answer 429 past HubSpot's limits.

        HubSpot's documented limits (/work/shared/API_NOTES.md §1.8 and §1.3):

        - the burst limit of a privately distributed app, per 10 s: 100 on Free and Starter,
          190 on Professional and Enterprise, 250 with the API limit increase
          (https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines,
          https://developers.hubspot.com/changelog/increasing-our-api-limits); past it a 429
          with ``policyName`` ``TEN_SECONDLY_ROLLING`` (:func:`rate_limit_body`);
        - the CRM search endpoints, apart from it ("five requests per second per account",
          https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm; the
          spec exempts them from the ten-secondly limit), past it the secondly 429
          (:func:`search_limit_body`).

        Windows roll: a request is refused while ``per_10s`` (``searches_per_second``) others
        arrived less than ``window`` (``search_window``) seconds before it. Tests shrink the
        windows or pass a ``clock``. Returns the limits, whose ``log`` the benchmark reads.
        """
        self.limits = RateLimits(per_10s, searches_per_second, window, search_window, clock)
        return self.limits

    def live(self, object_type: str) -> list[dict[str, Any]]:
        """The records of a type that are not archived, by id."""
        return sorted(
            (r for r in self.objects[object_type].values() if not r["archived"]),
            key=lambda r: int(r["id"]),
        )

    def requests_to(self, method: str, fragment: str) -> list[Request]:
        """The requests received whose path contains ``fragment``."""
        return [r for r in self.requests if r.method == method and fragment in r.path]

    @staticmethod
    def _write(handler: Any, reply: Reply) -> None:
        # headers and body go out in two writes; without NODELAY the second waits for a
        # delayed ACK (40 ms a request on Linux loopback)
        handler.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        FakeServer._write(handler, reply)

    # -- routes ---------------------------------------------------------------------------

    def _routes(self) -> None:
        obj = r"/crm/v3/objects/(?P<type>\w+)"
        self._add("GET", r"/crm/v3/owners/?", self._owners, "owners")
        self._add("GET", obj + "/?", self._list)
        self._add("POST", obj + "/search", self._search)
        self._add("POST", obj + "/batch/read", self._batch_read)
        self._add("POST", obj + "/batch/create", self._batch_create)
        self._add("POST", obj + "/batch/update", self._batch_update)
        props = r"/crm/v3/properties/(?P<type>\w+)"
        self._add("GET", props + r"/(?P<name>\w+)", self._property, "properties")
        self._add("POST", props + "/?", self._create_property, "property-writes")
        self._add("GET", props + r"/groups/(?P<name>\w+)", self._group, "properties")
        self._add("POST", props + "/groups/?", self._create_group, "property-writes")
        self._add(
            "GET",
            r"/crm/v4/objects/(?P<type>\w+)/(?P<id>\d+)/associations/(?P<to>\w+)",
            self._assoc_page,
        )
        self._add(
            "POST", r"/crm/v4/associations/(?P<type>\w+)/(?P<to>\w+)/batch/read", self._assoc_batch
        )

    def _add(
        self, method: str, pattern: str, handler: Callable[[Request], Reply], scope: str = ""
    ) -> None:
        def guarded(request: Request) -> Reply:
            if request.header("Authorization") != f"Bearer {self.token}":
                return error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
            if self.limits is not None:
                refused = self.limits.admit(self.token, request.path.endswith("/search"))
                if refused is not None:
                    return refused
            if len(request.path) + len(urlencode(request.query, doseq=True)) > self.url_limit:
                return Reply(414, text="Request-URI Too Long")
            kind = scope or request.match.get("type", "")
            if kind in self.denied or request.match.get("to") in self.denied:
                return error(
                    403,
                    f"This app hasn't been granted all required scopes for {kind}.",
                    "MISSING_SCOPES",
                )
            return handler(request)

        self.route(method, pattern)(guarded)

    @staticmethod
    def _multi(request: Request, name: str) -> list[str]:
        return [p for v in request.query.get(name, []) for p in v.split(",") if p]

    @staticmethod
    def _flag(request: Request, name: str) -> bool:
        return (request.arg(name) or "false").lower() == "true"

    def _limit(self, value: Any, default: int, most: int) -> int | Reply:
        limit = int(value) if value not in (None, "") else default
        if not 0 < limit <= most:
            return error(400, f"limit must be between 1 and {most} (got {limit})")
        return limit

    def _view(
        self, object_type: str, record: dict[str, Any], props: list[str] | None
    ) -> dict[str, Any]:
        defaults = [
            "hs_object_id",
            "createdate",
            "lastmodifieddate",
            "hs_lastmodifieddate",
            "hs_createdate",
        ]
        wanted = props if props else ["name", "domain", "firstname", "lastname", "email"]
        shown = {k: v for k, v in record["properties"].items() if k in wanted or k in defaults}
        shown.update({k: None for k in wanted if k not in shown})
        view = {"id": record["id"], "properties": shown, "createdAt": record["createdAt"],
                "updatedAt": record["updatedAt"], "archived": record["archived"]}  # fmt: skip
        if record["archived"]:
            view["archivedAt"] = record["archivedAt"]
        return view

    def _owners(self, request: Request) -> Reply:
        limit = self._limit(request.arg("limit"), 100, 500)
        if isinstance(limit, Reply):
            return limit
        archived = self._flag(request, "archived")
        owners = [o for o in self.owners if o["archived"] == archived]
        start = int(request.arg("after") or 0)
        body: dict[str, Any] = {"results": owners[start : start + limit]}
        if start + limit < len(owners):
            body["paging"] = {
                "next": {"after": str(start + limit), "link": "?after=" + str(start + limit)}
            }
        return Reply(200, body)

    def _property(self, request: Request) -> Reply:
        object_type, name = request.match["type"], request.match["name"]
        if object_type not in PROPERTY_TYPES:
            return error(400, f"Unable to infer object type from: {object_type}")
        definition = self.definitions.get((object_type, name))
        if definition is None or self._flag(request, "archived"):  # none of them is archived
            return error(
                404,
                f"Property {name} does not exist for object type {object_type}",
                "OBJECT_NOT_FOUND",
            )
        return Reply(200, definition)

    def _create_property(self, request: Request) -> Reply:
        object_type = request.match["type"]
        if object_type not in PROPERTY_TYPES:
            return error(400, f"Unable to infer object type from: {object_type}")
        body = request.json() or {}
        missing = [
            k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)
        ]
        if missing:
            return error(400, f"{missing[0]} can not be null or empty")
        name, kind, field = str(body["name"]), body["type"], body["fieldType"]
        if not name.replace("_", "").isalnum() or name != name.lower() or not name[0].isalpha():
            return error(400, f"Invalid property name {name!r}")
        if field not in FIELD_TYPES.get(kind, set()):
            return error(400, f"fieldType {field!r} is not valid for type {kind!r}")
        if body["groupName"] not in self.groups[object_type]:
            return error(400, f"Property group {body['groupName']} does not exist")
        if (object_type, name) in self.definitions:
            return error(409, f"A property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
        unique = bool(body.get("hasUniqueValue"))
        if unique and len(self.unique_properties(object_type)) >= MAX_UNIQUE:
            return error(400, f"{object_type} already has {MAX_UNIQUE} unique value properties")
        stamp = iso(self.now_ms)
        definition = {
            "name": name, "label": body["label"], "description": body.get("description", ""),
            "groupName": body["groupName"], "type": kind, "fieldType": field, "options": [],
            "displayOrder": body.get("displayOrder", -1), "calculated": False,
            "externalOptions": False, "hasUniqueValue": unique, "hidden": bool(body.get("hidden")),
            "hubspotDefined": False, "formField": bool(body.get("formField")),
            "modificationMetadata": {"archivable": True, "readOnlyDefinition": False,
                                     "readOnlyValue": False, "readOnlyOptions": False},
            "createdAt": stamp, "updatedAt": stamp, "archived": False,
        }  # fmt: skip
        self.definitions[(object_type, name)] = definition
        return Reply(201, definition)

    def _group(self, request: Request) -> Reply:
        found = self.groups[request.match["type"]].get(request.match["name"])
        if found is None:
            return error(404, f"Property group {request.match['name']} does not exist", "OBJECT_NOT_FOUND")  # fmt: skip
        return Reply(200, found)

    def _create_group(self, request: Request) -> Reply:
        object_type = request.match["type"]
        body = request.json() or {}
        if not body.get("name") or not body.get("label"):
            return error(400, "name and label are required")
        if body["name"] in self.groups[object_type]:
            return error(409, f"A group named '{body['name']}' already exists.", "OBJECT_ALREADY_EXISTS")  # fmt: skip
        self.groups[object_type][body["name"]] = self.group(body["name"], body["label"])
        return Reply(201, self.groups[object_type][body["name"]])

    def _list(self, request: Request) -> Reply:
        object_type = request.match["type"]
        limit = self._limit(request.arg("limit"), 10, 100)
        if isinstance(limit, Reply):
            return limit
        archived = self._flag(request, "archived")
        props = self._multi(request, "properties")
        start = int(request.arg("after") or 0)
        records = [r for r in sorted(self.objects[object_type].values(), key=lambda r: int(r["id"]))
                   if r["archived"] == archived and int(r["id"]) >= start]  # fmt: skip
        page = records[:limit]
        results = []
        for record in page:
            view = self._view(object_type, record, props)
            linked = {}
            for to_type in self._multi(request, "associations"):
                ids = self.links[(object_type, to_type)].get(record["id"], {})
                if ids:
                    linked[to_type] = {
                        "results": [
                            {"id": i, "type": f"{object_type[:-1]}_to_{to_type[:-1]}"} for i in ids
                        ]
                    }
            if linked:
                view["associations"] = linked
            results.append(view)
        body: dict[str, Any] = {"results": results}
        if len(records) > limit:
            after = str(int(page[-1]["id"]) + 1)
            body["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
        return Reply(200, body)

    def _matches(self, record: dict[str, Any], flt: dict[str, Any]) -> bool:
        name, op = flt["propertyName"], flt["operator"]
        value = record["properties"].get(name)
        if op == "HAS_PROPERTY":
            return value not in (None, "")
        if op == "NOT_HAS_PROPERTY":
            return value in (None, "")
        if value is None:
            return op == "NEQ"
        if op == "CONTAINS_TOKEN":
            return str(flt["value"]).lower() in str(value).lower().split()
        if op in ("IN", "NOT_IN"):
            inside = str(value).lower() in {str(v).lower() for v in flt.get("values", [])}
            return inside == (op == "IN")
        left, right = _millis(value), _millis(flt.get("value"))
        if left is None or right is None:
            left, right = str(value).lower(), str(flt.get("value")).lower()  # type: ignore[assignment]
        return {
            "EQ": left == right, "NEQ": left != right, "LT": left < right, "LTE": left <= right,  # type: ignore[operator]
            "GT": left > right, "GTE": left >= right,  # type: ignore[operator]
        }[op]  # fmt: skip

    def _search(self, request: Request) -> Reply:
        object_type = request.match["type"]
        body = request.json() or {}
        limit = self._limit(body.get("limit"), 10, 200)
        if isinstance(limit, Reply):
            return limit
        start = int(body.get("after") or 0)
        if start + limit > 10_000:
            return error(400, "The maximum number of results that can be returned is 10,000.")
        groups = body.get("filterGroups") or []
        if len(groups) > 5 or any(len(g.get("filters", [])) > 6 for g in groups):
            return error(400, "too many filterGroups or filters")
        sorts = body.get("sorts") or []
        if len(sorts) > 1:
            return error(400, "only one sort is supported")
        records = [r for r in self.live(object_type) if r["id"] not in self.unindexed
                   and (not groups or any(all(self._matches(r, f) for f in g["filters"]) for g in groups))]  # fmt: skip

        if sorts:
            prop = sorts[0]["propertyName"] if isinstance(sorts[0], dict) else str(sorts[0])
            descending = isinstance(sorts[0], dict) and sorts[0].get("direction") == "DESCENDING"
            records.sort(
                key=lambda r: (_millis(r["properties"].get(prop)) or 0, _tie(r["id"])),
                reverse=descending,
            )
        page = records[start : start + limit]
        reply: dict[str, Any] = {
            "total": len(records),
            "results": [self._view(object_type, r, body.get("properties")) for r in page],
        }
        if start + limit < len(records):
            reply["paging"] = {"next": {"after": str(start + limit)}}
        return Reply(200, reply)

    def _batch_read(self, request: Request) -> Reply:
        object_type = request.match["type"]
        body = request.json() or {}
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return error(400, "Batch operations are limited to 100 records at a time")
        archived = self._flag(request, "archived")
        by = body.get("idProperty")
        if by and by not in self.unique_properties(object_type) and (object_type, by) != ("contacts", "email"):  # fmt: skip
            return error(
                400, f"Unable to perform batch read by non-unique {object_type} property {by}"
            )
        index = {
            (str(r["properties"].get(by, "")).lower() if by else r["id"]): r
            for r in self.objects[object_type].values() if r["archived"] == archived
        }  # fmt: skip
        results, errors = [], []
        for item in inputs:
            record = index.get(str(item["id"]).lower() if by else str(item["id"]))
            if record is None:
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND", "message": f"{item['id']} not found",
                               "context": {"ids": [str(item["id"])]}, "errors": [], "links": {}})  # fmt: skip
            else:
                results.append(self._view(object_type, record, body.get("properties")))
        return self._batch_reply(results, errors, 200)

    def _batch_reply(self, results: list[Any], errors: list[Any], ok: int) -> Reply:
        stamp = iso(self.now_ms)
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": stamp,
            "completedAt": stamp,
        }
        if errors:
            body.update(numErrors=len(errors), errors=errors)
        return Reply(207 if errors else ok, body)

    def _invalid(self, object_type: str, item: dict[str, Any]) -> str | None:
        props = item.get("properties")
        if not isinstance(props, dict):
            return "properties must be an object"
        bad = [k for k, v in props.items() if not isinstance(v, str)]
        if bad:
            return f"Property values were not valid: {bad[0]} must be a string"
        unknown = [k for k in props if not k.startswith("hs_") and k not in BUILT_IN
                   and (object_type, k) not in self.definitions]  # fmt: skip
        if unknown:
            return f"Property values were not valid: Property {unknown[0]!r} does not exist"
        if object_type in ENGAGEMENTS and not props.get("hs_timestamp"):
            return "Property values were not valid: hs_timestamp is required"
        for name, allowed in TASK_ENUMS.items():
            if object_type == "tasks" and name in props and props[name] not in allowed:
                return f"{props[name]!r} was not one of the allowed options for {name}"
        for name, value in props.items():
            definition = self.definitions.get((object_type, name))
            if (definition and definition["type"] == "enumeration" and value
                    and value not in {o["value"] for o in definition["options"]}):  # fmt: skip
                return f"{value!r} was not one of the allowed options for {name}"
        owner = props.get("hubspot_owner_id")
        if owner and owner not in {o["id"] for o in self.owners if not o["archived"]}:
            return f"{owner!r} was not one of the allowed options for hubspot_owner_id"
        for association in item.get("associations") or []:
            for spec in association.get("types") or []:
                pair = next(
                    (
                        k
                        for k, v in TYPE_IDS.items()
                        if k[0] == object_type and v == spec.get("associationTypeId")
                    ),
                    None,
                )
                if spec.get("associationCategory") not in CATEGORIES or pair is None:
                    return f"invalid association type {spec}"
                if str(association["to"]["id"]) not in self.objects[pair[1]]:
                    return f"{pair[1]} {association['to']['id']} does not exist"
        return None

    def _batch_create(self, request: Request) -> Reply:
        object_type = request.match["type"]
        inputs = (request.json() or {}).get("inputs") or []
        if len(inputs) > 100:
            return error(400, "Batch operations are limited to 100 records at a time")
        if self.refuse_creates:
            status = self.refuse_creates.pop(0)
            category = {423: "LOCKED"}.get(status, "INTERNAL_ERROR")
            return error(status, f"injected {status} before anything was written", category)
        conflict = self._conflict(object_type, inputs)
        if conflict:
            return conflict
        problems = [(item, self._invalid(object_type, item)) for item in inputs]
        traced = all(item.get("objectWriteTraceId") for item in inputs)
        if any(p for _, p in problems) and not traced:
            return error(400, next(p for _, p in problems if p))
        results, errors = [], []
        for item, problem in problems:
            trace = item.get("objectWriteTraceId")
            if problem:
                errors.append({"status": "error", "category": "VALIDATION_ERROR", "message": problem,
                               "context": {"objectWriteTraceId": [trace]}, "errors": [], "links": {}})  # fmt: skip
                continue
            object_id = self.add(object_type, item["properties"])
            for association in item.get("associations") or []:
                for spec in association["types"]:
                    to_type = next(
                        k[1]
                        for k, v in TYPE_IDS.items()
                        if k[0] == object_type and v == spec["associationTypeId"]
                    )
                    self.associate(object_type, object_id, to_type, str(association["to"]["id"]))
            self.unindexed.add(object_id)  # search catches up later
            view = self._view(
                object_type, self.objects[object_type][object_id], list(item["properties"])
            )
            results.append({**view, **({"objectWriteTraceId": trace} if trace else {})})
        if self.lose_create_answers > 0:
            self.lose_create_answers -= 1
            return Reply(502, text="Bad Gateway")
        return self._batch_reply(results, errors, 201)

    def _conflict(self, object_type: str, inputs: list[dict[str, Any]]) -> Reply | None:
        """409 for the whole batch when an input repeats a unique value (nothing is created)."""
        for name in self.unique_properties(object_type):
            taken = {r["properties"].get(name): r["id"] for r in self.live(object_type)
                     if r["properties"].get(name)}  # fmt: skip
            for item in inputs:
                value = (item.get("properties") or {}).get(name)
                if not value:
                    continue
                if value in taken:
                    return error(
                        409,
                        f"A {object_type[:-1]} with {name} {value} already exists. Existing ID: {taken[value]}",
                        "CONFLICT",
                    )
                taken[value] = "(this batch)"
        return None

    def _batch_update(self, request: Request) -> Reply:
        object_type = request.match["type"]
        inputs = (request.json() or {}).get("inputs") or []
        if len(inputs) > 100:
            return error(400, "Batch operations are limited to 100 records at a time")
        results, errors = [], []
        for item in inputs:
            record = self.objects[object_type].get(str(item.get("id")))
            props = item.get("properties") or {}
            if record is None or any(not isinstance(v, str) for v in props.values()):
                errors.append({"status": "error", "category": "VALIDATION_ERROR", "message": f"cannot update {item.get('id')}",
                               "context": {"ids": [str(item.get("id"))]}, "errors": [], "links": {}})  # fmt: skip
                continue
            self.update(object_type, record["id"], **props)
            results.append(self._view(object_type, record, list(props)))
        return self._batch_reply(results, errors, 200)

    def _assoc_page(self, request: Request) -> Reply:
        limit = self._limit(request.arg("limit"), 500, 500)
        if isinstance(limit, Reply):
            return limit
        kind, to_type = request.match["type"], request.match["to"]
        linked = sorted(
            self.links[(kind, to_type)].get(request.match["id"], {}).items(),
            key=lambda kv: int(kv[0]),
        )
        start = int(request.arg("after") or 0)
        page = linked[start : start + limit]
        body: dict[str, Any] = {"results": [
            {"toObjectId": int(i), "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": t, "label": None}]}
            for i, t in page]}  # fmt: skip
        if start + limit < len(linked):
            body["paging"] = {"next": {"after": str(start + limit)}}
        return Reply(200, body)

    def _assoc_batch(self, request: Request) -> Reply:
        kind, to_type = request.match["type"], request.match["to"]
        inputs = (request.json() or {}).get("inputs") or []
        if len(inputs) > 1000:
            return error(400, "at most 1000 inputs")
        results, errors = [], []
        for item in inputs:
            linked = self.links[(kind, to_type)].get(str(item["id"]), {})
            if not linked:
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND", "message": f"No {to_type} associated with {item['id']}",
                               "context": {"fromObjectId": [str(item["id"])]}, "errors": [], "links": {}})  # fmt: skip
                continue
            pairs, start = list(linked.items()), int(item.get("after") or 0)
            size = self.association_batch_page or len(pairs)
            result: dict[str, Any] = {"from": {"id": str(item["id"])}, "to": [
                {"toObjectId": int(i), "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": t, "label": None}]}
                for i, t in pairs[start : start + size]]}  # fmt: skip
            if start + size < len(pairs):
                result["paging"] = {"next": {"after": str(start + size)}}
            results.append(result)
        return self._batch_reply(results, errors, 200)


def dump(data: Any) -> str:
    """JSON for test messages."""
    return json.dumps(data, indent=1, default=str)
