"""What one pull knows about HubSpot ids: company → customer key, contact → email and key.

Records pulled in this run fill the caches; ids they do not cover (an engagement of a company
that did not change) are read with one batch read per page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from engage.identity import Identity
from engage_hubspot import mapping
from engage_hubspot.client import HubSpotClient


@attrs.frozen
class ContactInfo:
    """A contact as engagements need it: the address and the customer it belongs to."""

    email: str | None
    customer: str | None
    company_id: str | None


class Lookups:
    """Caches of company keys and contact details for one pull."""

    def __init__(self, client: HubSpotClient, identity: Identity) -> None:
        self.client = client
        self.identity = identity
        self.companies: dict[str, str] = {}
        self.contacts: dict[str, ContactInfo] = {}

    def add_company(self, data: Mapping[str, Any]) -> str:
        """Remember a company's key; returns it."""
        props = data.get("properties") or {}
        key = mapping.company_key(str(data["id"]), props.get("domain"))
        self.companies[str(data["id"])] = key
        return key

    def add_contact(self, data: Mapping[str, Any]) -> ContactInfo:
        """Remember a contact (its company must be known or is looked up); returns it."""
        props = data.get("properties") or {}
        email = (props.get("email") or "").strip().lower() or None
        company_id = props.get("associatedcompanyid") or None
        customer = self.company_key(company_id) if company_id else None
        if customer is None and email:
            customer = self.identity.customer_key(email)
        info = ContactInfo(email, customer, company_id)
        self.contacts[str(data["id"])] = info
        return info

    def company_key(self, company_id: str) -> str | None:
        """The key of a company (read when not cached); None when HubSpot does not have it."""
        if company_id not in self.companies:
            self.load_companies([company_id])
        return self.companies.get(company_id)

    def load_companies(self, ids: Iterable[str]) -> None:
        """Read the companies not cached yet."""
        missing = sorted({i for i in ids if i not in self.companies})
        if missing:
            for data in self.client.batch_read("companies", missing, ["domain", "name"]):
                self.add_company(data)

    def load_contacts(self, ids: Iterable[str]) -> None:
        """Read the contacts not cached yet (and their companies)."""
        missing = sorted({i for i in ids if i not in self.contacts})
        if not missing:
            return
        found = self.client.batch_read("contacts", missing, ["email", "associatedcompanyid"])
        self.load_companies(
            c for d in found if (c := (d.get("properties") or {}).get("associatedcompanyid"))
        )
        for data in found:
            self.add_contact(data)

    def resolve(self, companies: list[str], contacts: list[str]) -> tuple[str | None, str | None]:
        """The customer key and contact email of an engagement: its company first, then its contacts."""
        email = next((c.email for i in contacts if (c := self.contacts.get(i)) and c.email), None)
        for company_id in companies:
            key = self.companies.get(company_id)
            if key:
                return key, email
        for contact_id in contacts:
            info = self.contacts.get(contact_id)
            if info is not None and info.customer:
                return info.customer, info.email
        return None, email
