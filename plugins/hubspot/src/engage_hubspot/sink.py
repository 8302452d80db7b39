"""The HubSpot sink: follow-up tasks in people's HubSpot task queues, never twice.

- :meth:`HubSpotSink.create` sends up to 100 tasks per ``batch/create``, each with its key as
  ``objectWriteTraceId`` (so a 207 answer names each failed task) and as a marker line at the
  end of the body (and in ``task_key_property`` when configured), associated with the
  customer's company (type 192) and main contact (204).
- A create is sent once: when the answer is lost (5xx, timeout, dropped connection) the sink
  first looks for the tasks, then creates only the missing ones.
- :meth:`HubSpotSink.find` looks through the tasks associated with each customer's company and
  contact (associations are read at once; search catches up later), then by search.
- :meth:`HubSpotSink.complete` marks tasks COMPLETED when ``complete_cleared = true``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from engage.adapters import AdapterContext, Option, PushResult
from engage.http import AuthError, HttpError, RetriesExhausted
from engage.models import Task
from engage_hubspot import mapping
from engage_hubspot.client import BATCH, AmbiguousWrite, HubSpotClient
from engage_hubspot.options import SINK_OPTIONS, connect

#: HUBSPOT_DEFINED association type ids: task → company, task → contact.
TASK_TO_COMPANY = 192
TASK_TO_CONTACT = 204


class HubSpotSink:
    """Writes engage's tasks to HubSpot (``plugin = "hubspot"`` under ``[sinks.NAME]``)."""

    options: ClassVar[Mapping[str, Option]] = SINK_OPTIONS
    batch_size: ClassVar[int] = BATCH

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        self.context = context
        self.fallback_owner: str = options["fallback_owner"]
        self.complete_cleared: bool = options["complete_cleared"]
        self.key_property: str = options["task_key_property"]
        self.client: HubSpotClient = connect(options, context, "sinks")
        self._owners: dict[str, str] | None = None

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
        """HubSpot contact ids by email (one batch read by the ``email`` id property)."""
        wanted = sorted({e.lower() for e in emails if e})
        found = self.client.batch_read("contacts", wanted, ["email"], id_property="email")
        return {
            str((r.get("properties") or {}).get("email") or "").lower(): str(r["id"]) for r in found
        }

    # -- create ---------------------------------------------------------------------------

    def create(self, tasks: Sequence[Task]) -> Iterable[PushResult]:
        """Create ``tasks`` in one batch; a lost answer is followed by a look before a retry."""
        remaining = list(tasks)
        results: dict[str, PushResult] = {}
        contacts = self.contact_ids(t.contact_email for t in tasks)
        attempts = self.client.timing.retry.attempts
        for attempt in range(attempts):
            try:
                outcome = self.client.write_once(
                    "/crm/v3/objects/tasks/batch/create",
                    {"inputs": [self._input(t, contacts) for t in remaining]},
                )
            except AmbiguousWrite as exc:
                found = self.find(remaining)
                results.update({k: PushResult(k, remote_id=v) for k, v in found.items()})
                remaining = [t for t in remaining if t.key not in found]
                if not remaining:
                    break
                if attempt + 1 == attempts:
                    raise RetriesExhausted(
                        f"{exc}; {len(remaining)} task(s) may not exist yet: the next run looks "
                        "for them before creating them",
                        exc.status,
                    ) from None
                self.client.sleep(self.client.timing.retry.backoff(attempt))
                continue
            except AuthError:
                raise
            except HttpError as exc:
                if exc.status == 429:
                    raise
                return [PushResult(t.key, error=str(exc)) for t in remaining] + list(
                    results.values()
                )
            results.update(self._outcome(remaining, outcome.results, outcome.errors))
            break
        return list(results.values())

    def _input(self, task: Task, contacts: Mapping[str, str]) -> dict[str, Any]:
        associations = []
        company = self.company_of(task.customer)
        if company:
            associations.append(_association(company, TASK_TO_COMPANY))
        contact = contacts.get((task.contact_email or "").lower())
        if contact:
            associations.append(_association(contact, TASK_TO_CONTACT))
        return {
            "properties": mapping.task_properties(task, self.owner_of(task), self.key_property),
            "associations": associations,
            "objectWriteTraceId": task.key,
        }

    def _outcome(
        self, tasks: Sequence[Task], created: list[dict[str, Any]], errors: list[dict[str, Any]]
    ) -> dict[str, PushResult]:
        keys = {t.key for t in tasks}
        results: dict[str, PushResult] = {}
        for data in created:
            props = data.get("properties") or {}
            key = data.get("objectWriteTraceId") or mapping.key_from_body(props.get("hs_task_body"))
            if key in keys:
                results[key] = PushResult(key, remote_id=str(data["id"]))
        for error in errors:
            message = str(error.get("message") or "refused by HubSpot")
            for key in (error.get("context") or {}).get("objectWriteTraceId") or []:
                if key in keys and key not in results:
                    results[key] = PushResult(key, error=message)
        missing = [t for t in tasks if t.key not in results]
        if missing:  # never guess: look for them before calling them failed
            found = self.find(missing)
            for task in missing:
                results[task.key] = (
                    PushResult(task.key, remote_id=found[task.key])
                    if task.key in found
                    else PushResult(task.key, error="HubSpot answered nothing for this task")
                )
        return results

    # -- find -----------------------------------------------------------------------------

    def find(self, tasks: Sequence[Task]) -> Mapping[str, str]:
        """Tasks that already exist in HubSpot, by the key they carry: task key → task id."""
        wanted = {t.key for t in tasks}
        candidates: set[str] = set()
        contacts = self.contact_ids(t.contact_email for t in tasks)
        for company in sorted({c for t in tasks if (c := self.company_of(t.customer))}):
            candidates.update(self.client.associated_ids("companies", company, "tasks"))
        for contact in sorted(
            {contacts[e] for t in tasks if (e := (t.contact_email or "").lower()) in contacts}
        ):
            candidates.update(self.client.associated_ids("contacts", contact, "tasks"))
        found = self._read_keys(sorted(candidates), wanted)
        missing = sorted(wanted - set(found))
        if missing:
            found.update(self._search_keys(missing))
        return found

    def _read_keys(self, ids: list[str], wanted: set[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        props = ["hs_task_body", *([self.key_property] if self.key_property else [])]
        for data in self.client.batch_read("tasks", ids, props):
            key = self._key_of(data)
            if key in wanted:
                found[key] = str(data["id"])
        return found

    def _key_of(self, data: Mapping[str, Any]) -> str | None:
        props = data.get("properties") or {}
        if self.key_property and props.get(self.key_property):
            return str(props[self.key_property])
        return mapping.key_from_body(props.get("hs_task_body"))

    def _search_keys(self, keys: list[str]) -> dict[str, str]:
        """Search by the key property (EQ) or the body marker (CONTAINS_TOKEN) for the rest."""
        found: dict[str, str] = {}
        props = ["hs_task_body", *([self.key_property] if self.key_property else [])]
        for key in keys:
            if self.key_property:
                filters = [{"propertyName": self.key_property, "operator": "EQ", "value": key}]
            else:
                filters = [
                    {"propertyName": "hs_task_body", "operator": "CONTAINS_TOKEN", "value": key}
                ]
            for data in self.client.search("tasks", filters, ("hs_object_id", "ASCENDING"), props):
                if self._key_of(data) == key:
                    found[key] = str(data["id"])
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
