"""Helpers for the sink tests: tasks, a directory, and sinks wired to FakeGoogleWrite."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import attrs
from fake_google_write import FakeGoogleWrite
from fake_oauth import write_credentials

from engage.adapters import AdapterContext, resolve_options
from engage.http import RetryPolicy
from engage.models import Contact, Customer, Owner, Task
from engage.testing import adapter_context, make_task
from engage_gmail.sinks import GmailDraftsSink, GoogleTasksSink

#: Tries with delays of milliseconds, so fault tests stay fast.
FAST = RetryPolicy(attempts=5, base_delay=0.001, max_delay=0.01, max_retry_after=0.05)


def task(n: int = 1, **changes: Any) -> Task:
    """The kit's task for Jane at Acme (:func:`engage.testing.make_task`) as a follow-up
    email from Carol, keyed by the day of February ``n`` (``n`` makes the key unique)."""
    email = {
        "key": f"check_in:acme.com:2026-02-{n:02d}",
        "title": "Checking in on the Acme rollout",
        "body": "Hi Jane,\n\nHow is the rollout going?\n\nCarol",
        "due": date(2026, 3, 2),
        "kind": "email",
        "owner": "carol",
    }
    return make_task(n, **{**email, **changes})


@attrs.define
class Directory:
    """What the store knows, for sinks built outside a sync."""

    contacts: list[Contact] = attrs.field(factory=list)
    owners: dict[str, Owner] = attrs.field(factory=dict)

    def get_customer(self, key: str) -> Customer | None:
        return Customer(key)

    def get_owner(self, owner_id: str) -> Owner | None:
        return self.owners.get(owner_id)

    def get_contacts(self, customer: str) -> list[Contact]:
        return [c for c in self.contacts if c.customer == customer]


def context(tmp_path: Path, name: str, directory: Directory | None = None) -> AdapterContext:
    """An adapter context for table ``name`` with our domain and a directory."""
    return adapter_context(
        name,
        base_dir=tmp_path,
        directory=directory
        or Directory(
            [Contact("jane@acme.com", "acme.com", "Jane Doe")],
            {"carol": Owner("carol", "carol@ourco.com", "Carol")},
        ),
    )


def drafts_sink(
    fake: FakeGoogleWrite, tmp_path: Path, directory: Directory | None = None, **options: Any
) -> GmailDraftsSink:
    """A drafts sink pointed at the fake, with fast retries."""
    given = {
        "credentials_file": str(write_credentials(tmp_path)),
        "token_uri": fake.oauth.token_uri,
        "base_url": fake.url,
        **options,
    }
    resolved = resolve_options(GmailDraftsSink.options, given, "engage.toml: [sinks.drafts]")
    return GmailDraftsSink(resolved, context(tmp_path, "drafts", directory), retry=FAST)


def tasks_sink(fake: FakeGoogleWrite, tmp_path: Path, **options: Any) -> GoogleTasksSink:
    """A Google Tasks sink pointed at the fake, with fast retries."""
    given = {
        "credentials_file": str(write_credentials(tmp_path)),
        "token_uri": fake.oauth.token_uri,
        "base_url": fake.url,
        **options,
    }
    resolved = resolve_options(GoogleTasksSink.options, given, "engage.toml: [sinks.todo]")
    return GoogleTasksSink(resolved, context(tmp_path, "todo"), retry=FAST)
