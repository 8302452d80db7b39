"""Identity resolution: which customer an address belongs to, and who is one of us."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from engage.identity import (
    LEGAL_FORMS,
    PERSONAL_MAIL_DOMAINS,
    Identity,
    customer_name_key,
    email_domain,
    is_strong_key,
    name_key,
)

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


# -- company names ---------------------------------------------------------------------------


def test_names_compare_without_case_spacing_punctuation_or_legal_form() -> None:
    """Every way people write Northwind Traders is one name."""
    spellings = [
        "Northwind Traders",
        "Northwind Traders, Inc.",
        "NORTHWIND  traders",
        "Northwind-Traders GmbH",
        "northwind traders ltd",
        "Northwind Traders Pty Ltd",
        "Northwind Traders S.A.",
        "Northwind Traders Co., Ltd.",
        "Northwind Traders GmbH & Co. KG",
        " Northwind\tTraders LLC ",
    ]
    assert {name_key(s) for s in spellings} == {"northwindtraders"}


def test_accents_on_latin_letters_do_not_count_other_scripts_keep_theirs() -> None:
    assert name_key("Société Générale S.A.") == name_key("Societe Generale")
    assert name_key("ガス") != name_key("カス")  # a voiced mark is a different letter
    assert name_key("日本電気株式会社") == "日本電気株式会社"


def test_a_legal_form_alone_is_still_a_name_and_nothing_is_no_name() -> None:
    assert name_key("Inc.") == "inc"
    assert name_key("Limited Co") == "limited"
    assert name_key(" - ") == ""
    assert customer_name_key("northwind traders", " - ") is None


def test_domains_and_addresses_are_strong_keys_names_and_private_ids_are_not() -> None:
    """Only keys that are not a domain or an address look for the customer of their name."""
    for strong in ("acme.com", "eu.acme.co.uk", "jo@gmail.com", "münchen.de", "xn--p1ai.xn--p1ai"):
        assert is_strong_key(strong), strong
    for weak in ("northwind traders", "acme", "hubspot-company:7", "acme co. ltd", "v1.2"):
        assert not is_strong_key(weak), weak


def test_a_customer_s_comparable_name_comes_from_its_name_else_from_a_name_only_key() -> None:
    assert customer_name_key("acme.com", "Acme Inc") == "acme"
    assert customer_name_key("acme.com", None) is None
    assert customer_name_key("northwind traders", None) == "northwindtraders"
    assert customer_name_key("hubspot-company:7", None) is None  # an id spells no name
    assert customer_name_key("hubspot-company:7", "Acme") == "acme"


@given(st.text())
def test_a_comparable_name_is_its_own_comparable_name(text: str) -> None:
    assert name_key(name_key(text)) == name_key(text)


#: Words of a company name: letters of several scripts, never a word of a legal form.
_FORM_WORDS = {word for form in LEGAL_FORMS for word in re.findall("[a-z]+", form.lower())}
_words = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzéüñøßαβγ日本"), min_size=2, max_size=8)
company_words = st.lists(
    _words.filter(lambda w: name_key(w) not in _FORM_WORDS), min_size=1, max_size=4
)
SEPARATORS = [" ", "  ", "\t", "-", ". ", ", ", "/", " & ", "'"]


@st.composite
def spellings(draw: st.DrawFn, words: list[str]) -> str:
    """``words`` as a person might write them: any case, any separators, any legal form."""
    text = draw(words_cased(words[0]))
    for word in words[1:]:
        text += draw(st.sampled_from(["", *SEPARATORS])) + draw(words_cased(word))
    for _ in range(draw(st.integers(0, 2))):
        text += draw(st.sampled_from([" ", ", ", " - "])) + draw(st.sampled_from(LEGAL_FORMS))
    return draw(st.sampled_from(["", " ", "\n"])) + text + draw(st.sampled_from(["", ".", " "]))


def words_cased(word: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda upper: "".join(c.upper() if u else c for c, u in zip(word, upper, strict=True))
    )


@given(st.data(), company_words)
def test_any_spelling_of_a_name_gives_the_same_comparable_name(
    data: st.DataObject, company: list[str]
) -> None:
    """Case, spacing, punctuation and legal forms never change a comparable name."""
    assert name_key(data.draw(spellings(company))) == name_key(" ".join(company))
