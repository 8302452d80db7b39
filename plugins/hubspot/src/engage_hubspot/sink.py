"""The HubSpot sink: follow-up tasks in people's HubSpot task queues, never twice.

- Idempotent against HubSpot itself, whatever the ledger says (a lost store, a restored
  backup): every task carries its key in a unique task property (``task_key_property``,
  ``engage_task_key`` by default, created when missing; see :mod:`engage_hubspot.task_keys`),
  so HubSpot refuses a second task with the same key. When it refuses a batch, the sink reads
  the batch's keys back (batch read by ``idProperty``, 100 a request), records the tasks that
  exist as pushed and creates the rest; a refusal no existing key explains is split in halves.
- :meth:`HubSpotSink.create` sends up to 100 tasks per ``batch/create``, each with its key as
  ``objectWriteTraceId`` (so a 207 answer names each failed task) and as a marker line at the
  end of the body, associated with the customer's company (type 192) and main contact (204).
- Creates go through :func:`engage.http.create_once`: each batch is sent once a try; when the
  answer is lost (5xx, timeout, dropped connection) the sink first looks for the tasks, a
  batch read per 100 keys, then creates only the missing ones (HubSpot refuses a copy by its
  unique key, so a look that misses one in flight is safe). A 423 (locked) or 429 is waited
  out and sent again (HubSpot refused it).
- Without the unique property (no scope to create it) the sink looks before every create: the
  tasks associated with the customers' companies and contacts (read at once; search lags),
  then search by the key property (``IN``, 100 keys a request) or the body marker. It says so
  once per run (:attr:`HubSpotSink.notices`, and a log warning). A create whose answer is
  lost is not sent again in that run (a look might miss it still in flight, and HubSpot would
  not refuse a copy): an AmbiguousWrite (exit 75) leaves the batch pending for the next run
  to find.
- :meth:`HubSpotSink.find` (for pushes an interrupted run left pending) reads the keys back.
- :meth:`HubSpotSink.complete` marks tasks COMPLETED when ``complete_cleared = true``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from engage.adapters import AdapterContext, PushResult
from engage.http import AmbiguousWrite, AuthError, Dedupe, HttpError, create_once
from engage.models import Task
from engage_hubspot import mapping, search, task_keys
from engage_hubspot.answers import WriteOutcome
from engage_hubspot.client import BATCH, HubSpotClient
from engage_hubspot.options import SinkOptions, connect
from engage_hubspot.task_keys import KeyProperty, Mode

log = logging.getLogger(__name__)

#: The endpoint tasks are created at, up to 100 a request.
CREATE = "/crm/v3/objects/tasks/batch/create"
#: HUBSPOT_DEFINED association type ids: task → company, task → contact.
TASK_TO_COMPANY = 192
TASK_TO_CONTACT = 204
#: Keys per search ``IN`` filter (one batch's worth).
IN_VALUES = 100
#: Filter groups per search request (HubSpot allows five).
FILTER_GROUPS = 5


class HubSpotSink:
    """Writes engage's tasks to HubSpot (``plugin = "hubspot"`` under ``[sinks.NAME]``)."""

    options: ClassVar[type[SinkOptions]] = SinkOptions
    batch_size: ClassVar[int] = BATCH

    def __init__(self, options: SinkOptions, context: AdapterContext) -> None:
        self.context = context
        self.fallback_owner = options.fallback_owner
        self.complete_cleared = options.complete_cleared
        self.key_property = options.task_key_property
        self.client: HubSpotClient = connect(options, context, "sinks")
        self.notices: list[str] = []
        self._owners: dict[str, str] | None = None
        self._contacts: dict[str, str | None] = {}
        self._keys: KeyProperty | None = None

    def __repr__(self) -> str:
        return f"HubSpotSink({self.context.name!r}, {self.client!r})"

    # -- ids ------------------------------------------------------------------------------

    def owner_ids(self) -> dict[str, str]:
        """Active owners' engage ids and HubSpot ids → HubSpot owner id (read once)."""
        if self._owners is None:
            owners: dict[str, str] = {}
            for data in self.client.owners(archived=False):
                hubspot_id = str(data["id"])
                owners[mapping.owner_key(hubspot_id, data.get("email"))] = hubspot_id
                owners[f"hubspot-owner:{hubspot_id}"] = hubspot_id
                owners[hubspot_id] = hubspot_id
            self._owners = owners
        return self._owners

    def owner_of(self, task: Task) -> str | None:
        """The HubSpot owner for a task: its owner if active there, else ``fallback_owner``."""
        owners = self.owner_ids()
        for candidate in (task.owner, self.fallback_owner):
            if candidate and (
                found := owners.get(candidate.strip().lower()) or owners.get(candidate)
            ):
                return found
        return None

    def company_of(self, customer: str) -> str | None:
        """The HubSpot company id of a customer, from the store's record or the key itself."""
        directory = self.context.directory
        record = directory.get_customer(customer) if directory is not None else None
        if record is not None and record.attributes.get("hubspot_company_id"):
            return str(record.attributes["hubspot_company_id"])
        return mapping.company_id_of_key(customer)

    def contact_ids(self, emails: Iterable[str | None]) -> dict[str, str]:
        """HubSpot contact ids by email (batch reads by the ``email`` id property, once a run)."""
        wanted = {e.lower() for e in emails if e}
        unknown = sorted(wanted - set(self._contacts))
        if unknown:
            found = self.client.batch_read("contacts", unknown, ["email"], id_property="email")
            self._contacts.update(dict.fromkeys(unknown))
            for r in found:
                email = str((r.get("properties") or {}).get("email") or "").lower()
                self._contacts[email] = str(r["id"])
        return {e: i for e in wanted if (i := self._contacts.get(e))}

    # -- the key property ------------------------------------------------------------------

    def keys(self) -> KeyProperty:
        """The task-key property, read (and created if missing) once per sink."""
        if self._keys is None:
            self._keys = task_keys.prepare(self.client, self.key_property)
            if self._keys.warning:
                self.notices.append(self._keys.warning)
                log.warning("HubSpot sink %s: %s", self.context.name, self._keys.warning)
        return self._keys

    # -- create ---------------------------------------------------------------------------

    def create(self, tasks: Sequence[Task]) -> Iterable[PushResult]:
        """Create ``tasks``; those HubSpot holds already are recorded with their ids, not made again.

        Raises:
            AmbiguousWrite: a create may have landed and cannot be sent again in this run;
                the batch stays pending and the next run looks for it first (exit 75).
            RetriesExhausted, AuthError: HubSpot kept refusing (a rate limit) or refused
                the credentials; nothing was created.
        """
        contacts = self.contact_ids(t.contact_email for t in tasks)
        return list(self._create(tasks, contacts).values())

    def _create(self, tasks: Sequence[Task], contacts: Mapping[str, str]) -> dict[str, PushResult]:
        """One batch through :func:`~engage.http.create_once`; split when HubSpot refuses it."""
        by_key = {t.key: t for t in tasks}
        unique = self.keys().mode is Mode.UNIQUE

        def send(keys: Sequence[str]) -> WriteOutcome:
            inputs = [self._input(by_key[k], contacts) for k in keys]
            return self.client.write_once(CREATE, {"inputs": inputs})

        try:
            made = create_once(
                list(by_key),
                send,
                lambda keys: self._lookup([by_key[k] for k in keys]),
                dedupe=Dedupe.UNIQUE if unique else Dedupe.NEXT_RUN,
                retry=self.client.timing.retry,
                look_first=not unique,  # HubSpot would not refuse a duplicate: look first
                sleep=self.client.sleep,
                what=f"{len(tasks)} task(s)",
            )
        except (AmbiguousWrite, AuthError):
            raise
        except HttpError as exc:
            if exc.retriable and exc.status != 423:  # rate limited or down: stop the push
                raise
            if exc.status in (400, 409) and unique:
                return self._refused(tasks, contacts, exc)
            return {t.key: PushResult(t.key, error=str(exc)) for t in tasks}
        results = {k: PushResult(k, remote_id=v) for k, v in made.found.items()}
        if made.answer is not None:
            sent = [by_key[k] for k in made.sent]
            results.update(self._outcome(sent, made.answer.results, made.answer.errors))
        return results

    def _refused(
        self, tasks: Sequence[Task], contacts: Mapping[str, str], exc: HttpError
    ) -> dict[str, PushResult]:
        """HubSpot refused a whole batch: tasks whose key exists are pushed; the rest go again.

        HubSpot answers a batch holding one existing unique value with a 409 for the whole
        batch. The keys are read back (100 a request); the tasks found are recorded as pushed
        and the others created. A refusal none of the keys explains is split in halves until
        the task it belongs to stands alone, and fails alone.
        """
        found = self._lookup(tasks)
        results = {k: PushResult(k, remote_id=v) for k, v in found.items()}
        rest = [t for t in tasks if t.key not in found]
        if not rest:
            return results
        if found:
            results.update(self._create(rest, contacts))
        elif exc.status == 409 and len(rest) > 1:
            half = len(rest) // 2
            results.update(self._create(rest[:half], contacts))
            results.update(self._create(rest[half:], contacts))
        else:
            results.update({t.key: PushResult(t.key, error=str(exc)) for t in rest})
        return results

    def _input(self, task: Task, contacts: Mapping[str, str]) -> dict[str, Any]:
        associations = []
        company = self.company_of(task.customer)
        if company:
            associations.append(_association(company, TASK_TO_COMPANY))
        contact = contacts.get((task.contact_email or "").lower())
        if contact:
            associations.append(_association(contact, TASK_TO_CONTACT))
        return {
            "properties": mapping.task_properties(task, self.owner_of(task), self.keys().name),
            "associations": associations,
            "objectWriteTraceId": task.key,
        }

    def _outcome(
        self, tasks: Sequence[Task], created: list[dict[str, Any]], errors: list[dict[str, Any]]
    ) -> dict[str, PushResult]:
        keys = {t.key for t in tasks}
        results: dict[str, PushResult] = {}
        for data in created:
            key = data.get("objectWriteTraceId") or self._key_of(data)
            if key in keys:
                results[key] = PushResult(key, remote_id=str(data["id"]))
        for error in errors:
            message = str(error.get("message") or "refused by HubSpot")
            for key in (error.get("context") or {}).get("objectWriteTraceId") or []:
                if key in keys and key not in results:
                    results[key] = PushResult(key, error=message)
        unique = self.keys().mode is Mode.UNIQUE
        # never guess: look for a task before calling it failed (a refused one may exist)
        look = [t for t in tasks if t.key not in results or (unique and not results[t.key].ok)]
        if look:
            found = self._lookup(look)
            for task in look:
                if task.key in found:
                    results[task.key] = PushResult(task.key, remote_id=found[task.key])
                elif task.key not in results:
                    results[task.key] = PushResult(
                        task.key, error="HubSpot answered nothing for this task"
                    )
        return results

    # -- find -----------------------------------------------------------------------------

    def _lookup(self, tasks: Sequence[Task]) -> dict[str, str]:
        """The tasks of a create that exist: by the unique key, else by :meth:`find`."""
        if self.keys().mode is Mode.UNIQUE:
            return self._read_by_key([t.key for t in tasks])
        return dict(self.find(tasks))

    def find(self, tasks: Sequence[Task]) -> Mapping[str, str]:
        """Tasks that already exist in HubSpot, by the key they carry: task key → task id.

        With the unique key property, a batch read by ``idProperty`` per 100 keys, then, for
        keys not found, the customers' associated tasks (tasks an engage without the property
        created). Otherwise the associated tasks (consistent at once), then search (which lags)
        for the rest: by the key property, or by the body marker for tasks created without any
        association (a task is created with its associations, so the others were read).
        """
        wanted = {t.key for t in tasks}
        found: dict[str, str] = {}
        if self.keys().mode is Mode.UNIQUE:
            found.update(self._read_by_key(sorted(wanted)))
            rest = [t for t in tasks if t.key not in found]
            if rest:
                found.update(self._associated(rest, wanted - set(found)))
            return found
        found.update(self._associated(tasks, wanted))
        if self.keys().mode is Mode.SEARCH:  # IN: a request per 100 keys
            missing = sorted(wanted - set(found))
        else:  # a task is created with its associations: search only for those it has none of
            contacts = self.contact_ids(t.contact_email for t in tasks)
            missing = sorted(
                t.key
                for t in tasks
                if t.key not in found
                and not self.company_of(t.customer)
                and (t.contact_email or "").lower() not in contacts
            )
        if missing:
            found.update(self._search_keys(missing))
        return found

    def _read_by_key(self, keys: Sequence[str]) -> dict[str, str]:
        """Batch read by the unique key property: one request per 100 keys, consistent at once."""
        name = self.keys().name
        found: dict[str, str] = {}
        for data in self.client.batch_read(
            "tasks", list(keys), [name, "hs_task_body"], id_property=name
        ):
            key = self._key_of(data)
            if key:
                found[key] = str(data["id"])
        return found

    def _associated(self, tasks: Sequence[Task], wanted: set[str]) -> dict[str, str]:
        """The wanted keys among the tasks associated with the tasks' companies and contacts."""
        contacts = self.contact_ids(t.contact_email for t in tasks)
        companies = sorted({c for t in tasks if (c := self.company_of(t.customer))})
        people = sorted(
            {contacts[e] for t in tasks if (e := (t.contact_email or "").lower()) in contacts}
        )
        candidates: set[str] = set()
        for kind, ids in (("companies", companies), ("contacts", people)):
            if ids:
                for linked in self.client.associations(kind, "tasks", ids).values():
                    candidates.update(linked)
        found: dict[str, str] = {}
        props = ["hs_task_body", *([self.keys().name] if self.keys().name else [])]
        for data in self.client.batch_read("tasks", sorted(candidates), props):
            key = self._key_of(data)
            if key in wanted:
                found[key] = str(data["id"])
        return found

    def _key_of(self, data: Mapping[str, Any]) -> str | None:
        props = data.get("properties") or {}
        name = self.keys().name
        if name and props.get(name):
            return str(props[name])
        return mapping.key_from_body(props.get("hs_task_body"))

    def _search_keys(self, keys: list[str]) -> dict[str, str]:
        """Search for keys: ``IN`` on the key property (100 a request), else the body marker
        (``CONTAINS_TOKEN``, one filter group per key, five groups a request)."""
        name = self.keys().name
        props = ["hs_task_body", *([name] if name else [])]
        groups: list[list[list[dict[str, Any]]]]
        if name:
            groups = [
                [[{"propertyName": name, "operator": "IN", "values": keys[i : i + IN_VALUES]}]]
                for i in range(0, len(keys), IN_VALUES)
            ]
        else:
            groups = [
                [
                    [{"propertyName": "hs_task_body", "operator": "CONTAINS_TOKEN", "value": k}]
                    for k in keys[i : i + FILTER_GROUPS]
                ]
                for i in range(0, len(keys), FILTER_GROUPS)
            ]
        wanted = set(keys)
        found: dict[str, str] = {}
        for request in groups:
            for data in search.all_matches(self.client, "tasks", request, props):
                key = self._key_of(data)
                if key in wanted:
                    found.setdefault(key, str(data["id"]))
        return found

    # -- complete -------------------------------------------------------------------------

    def complete(self, remote_ids: Mapping[str, str]) -> Iterable[PushResult]:
        """Mark cleared tasks COMPLETED when ``complete_cleared`` is on; else do nothing."""
        if not self.complete_cleared or not remote_ids:
            return []
        by_id = {v: k for k, v in remote_ids.items()}
        results: list[PushResult] = []
        items = sorted(by_id)
        for start in range(0, len(items), BATCH):
            chunk = items[start : start + BATCH]
            outcome = self.client.batch_update(
                "tasks",
                [{"id": i, "properties": {"hs_task_status": "COMPLETED"}} for i in chunk],
            )
            done = {str(r["id"]) for r in outcome.results}
            for task_id in chunk:
                key = by_id[task_id]
                results.append(
                    PushResult(key, remote_id=task_id)
                    if task_id in done
                    else PushResult(key, error="HubSpot did not complete this task")
                )
        return results


def _association(object_id: str, type_id: int) -> dict[str, Any]:
    return {
        "to": {"id": object_id},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
    }
