"""Identity resolution: which customer an address belongs to, and who is one of us."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engage.identity import PERSONAL_MAIL_DOMAINS, Identity, email_domain

identity = Identity.for_domains(["ourco.com"])


def test_company_address_belongs_to_its_domain() -> None:
    """Everyone at acme.com is one customer: Acme."""
    assert identity.customer_key("Jane.Doe@Acme.com") == "acme.com"
    assert identity.customer_key("bob@acme.com") == "acme.com"


def test_personal_address_is_its_own_customer() -> None:
    """Two Gmail users are two customers, not one company called gmail.com."""
    assert identity.customer_key("jo@gmail.com") == "jo@gmail.com"
    assert identity.customer_key("Sam@Outlook.com") == "sam@outlook.com"
    assert {
        "gmail.com",
        "outlook.com",
        "yahoo.com",
        "icloud.com",
        "hotmail.com",
    } <= PERSONAL_MAIL_DOMAINS


def test_our_own_people_are_never_customers() -> None:
    """Addresses in internal domains, subdomains included, are owners."""
    assert identity.customer_key("carol@ourco.com") is None
    assert identity.customer_key("carol@eu.ourco.com") is None
    assert identity.is_internal("carol@OURCO.com")
    assert not identity.is_internal("carol@notourco.com")


def test_extra_personal_domains_come_from_config() -> None:
    """A team can add the providers its customers use."""
    custom = Identity.for_domains(["ourco.com"], extra_personal=["posteo.de"])
    assert custom.customer_key("ann@posteo.de") == "ann@posteo.de"


def test_non_addresses_have_no_customer() -> None:
    """Bare words, empty strings and the null address resolve to nothing."""
    for value in ("foo", "", "<>", "a@b", "two@@at.com"):
        assert identity.customer_key(value) is None


@given(st.from_regex(r"[a-z0-9._]{1,12}@[a-z0-9]{1,10}\.(com|org|io|co\.uk)", fullmatch=True))
def test_every_company_address_resolves_to_its_domain(address: str) -> None:
    """For any ordinary address outside our and personal domains, the key is the domain."""
    domain = email_domain(address)
    assert domain is not None
    if domain not in PERSONAL_MAIL_DOMAINS and not identity.is_internal(address):
        assert identity.customer_key(address) == domain
        assert identity.customer_key(address.upper()) == domain
