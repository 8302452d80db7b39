"""Identity resolution: which customer an email address belongs to, and who is one of us.

A contact's customer is the domain of their email address (``jane@acme.com`` → ``acme.com``),
except for personal mail providers, where the whole address is the customer
(``jo@gmail.com`` → ``jo@gmail.com``): two Gmail users are not one company. Addresses in the
configured internal domains are our own people, never customers.

Some records name their customer only by name: a note one of ours logged under "Northwind
Traders", a CRM company without a domain. Their keys (``northwind traders``,
``hubspot-company:7``) are *name-only*; domains and addresses are *strong* keys
(:func:`is_strong_key`). :func:`name_key` gives the comparable form of a company name, so
the store can land such records on the customer of that name.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

import attrs

#: Mail domains that individuals use privately. A contact at one of these is their own customer.
PERSONAL_MAIL_DOMAINS: frozenset[str] = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "live.com",
        "live.co.uk",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "yahoo.co.jp",
        "yahoo.com.br",
        "ymail.com",
        "rocketmail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "aim.com",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "gmx.at",
        "web.de",
        "t-online.de",
        "freenet.de",
        "mail.com",
        "email.com",
        "zoho.com",
        "zohomail.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "inbox.ru",
        "bk.ru",
        "list.ru",
        "rambler.ru",
        "qq.com",
        "163.com",
        "126.com",
        "sina.com",
        "yeah.net",
        "naver.com",
        "daum.net",
        "hanmail.net",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "laposte.net",
        "sfr.fr",
        "libero.it",
        "virgilio.it",
        "tiscali.it",
        "btinternet.com",
        "sky.com",
        "virginmedia.com",
        "blueyonder.co.uk",
        "ntlworld.com",
        "talktalk.net",
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "bellsouth.net",
        "cox.net",
        "charter.net",
        "earthlink.net",
        "optonline.net",
        "shaw.ca",
        "rogers.com",
        "sympatico.ca",
        "bigpond.com",
        "optusnet.com.au",
        "rediffmail.com",
        "tutanota.com",
        "tuta.io",
        "fastmail.com",
        "fastmail.fm",
        "hey.com",
        "seznam.cz",
        "o2.pl",
        "wp.pl",
        "onet.pl",
        "interia.pl",
        "uol.com.br",
        "bol.com.br",
        "terra.com.br",
    ]
)

_ADDRESS = re.compile(r"^[^@\s]+@([^@\s]+\.[^@\s]+)$")


def email_domain(email: str) -> str | None:
    """The lower-cased domain of an email address, or None when it is not an address."""
    match = _ADDRESS.match(email.strip().lower())
    return match.group(1).rstrip(".") if match else None


def normalize_customer(text: str) -> str:
    """Normalise a customer key given by a source: trimmed, lower-cased, inner space collapsed."""
    return " ".join(text.split()).lower()


#: Legal forms ignored at the end of a company name, as people write them. Each is compared
#: as its words (``"S.A."`` is the words ``s a``, ``"Pty Ltd"`` is ``pty ltd``), so dotted,
#: spaced and run-together spellings listed here all match; several in a row are all ignored
#: (``"GmbH & Co. KG"``, ``"Co., Ltd."``).
LEGAL_FORMS: tuple[str, ...] = (
    # English-speaking countries
    "Inc", "Incorporated", "Corp", "Corporation", "Co", "Company", "Ltd", "Limited",
    "LLC", "L.L.C.", "LLP", "LP", "PLC", "PLLC", "Pty", "Pte", "Pvt",
    # German-speaking countries
    "GmbH", "mbH", "AG", "KG", "KGaA", "OHG", "UG", "SE", "e.V.", "e.K.",
    # French, Spanish, Portuguese, Italian
    "SA", "S.A.", "SAS", "S.A.S.", "SASU", "SARL", "S.A.R.L.", "EURL", "SNC", "SL", "S.L.",
    "SAU", "S.A.U.", "SpA", "S.p.A.", "Srl", "S.r.l.", "Lda", "Ltda",
    # Dutch and Belgian
    "BV", "B.V.", "NV", "N.V.", "BVBA", "VOF",
    # Nordic
    "AB", "AS", "A/S", "ASA", "ApS", "Oy", "Oyj",
    # elsewhere
    "KK", "K.K.", "Sdn Bhd", "Bhd", "s.r.o.", "Sp. z o.o.", "Kft", "Zrt",
)  # fmt: skip

_ASCII_WORD = re.compile(r"[a-z0-9]+")
_DOMAIN = re.compile(r"^(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[^\W\d_]{2,}|xn--[a-z0-9-]+)$")
#: A source's private id: ``hubspot-company:7``.
_SOURCE_ID = re.compile(r"^[a-z][a-z0-9_.-]*:\S+$")


def _is_latin(char: str) -> bool:
    return char < "\u0250" or "\u1e00" <= char <= "\u1eff"


def _fold(text: str) -> str:
    """``text`` without case, and without accents on Latin letters (é is e; ø stays ø)."""
    kept: list[str] = []
    latin = False
    for char in unicodedata.normalize("NFKD", text.casefold()):
        if unicodedata.combining(char):
            if latin:
                continue
        else:
            latin = _is_latin(char)
        kept.append(char)
    return unicodedata.normalize("NFKC", "".join(kept)).casefold()


def _words(text: str) -> list[str]:
    """The words of ``text`` (letters, digits and marks), folded."""
    if text.isascii():
        return _ASCII_WORD.findall(text.lower())
    folded = _fold(text)
    return "".join(c if unicodedata.category(c)[0] in "LNM" else " " for c in folded).split()


_FORMS: frozenset[tuple[str, ...]] = frozenset(tuple(_words(form)) for form in LEGAL_FORMS)
_LONGEST_FORM = max(len(form) for form in _FORMS)
_LAST_WORDS = frozenset(form[-1] for form in _FORMS)


@functools.lru_cache(maxsize=2048)  # a write asks twice for each customer record's name
def name_key(text: str) -> str:
    """The comparable form of a company name: two names with the same key name one company.

    Case, spacing, punctuation and accents on Latin letters are ignored, and so are legal
    forms at the end (:data:`LEGAL_FORMS`): "Northwind Traders, Inc.", "NORTHWIND  traders"
    and "Northwind-Traders GmbH" all give ``northwindtraders``. A name that is nothing but
    legal forms keeps its first word ("Inc." gives ``inc``, "Limited Co" ``limited``); a name
    without letters or digits gives ``""``, which names nothing.
    """
    words = _words(text)
    if len(words) > 1 and words[-1] in _LAST_WORDS:
        # ends[i]: words[i:] is a run of legal forms (found from the end; forms may overlap,
        # as "S.A.S." and "A/S" do, so every way of reading the run counts)
        ends = [False] * len(words) + [True]
        for start in range(len(words) - 1, 0, -1):
            ends[start] = any(
                ends[start + size] and tuple(words[start : start + size]) in _FORMS
                for size in range(1, min(_LONGEST_FORM, len(words) - start) + 1)
            )
        cut = next((start for start in range(1, len(words)) if ends[start]), len(words))
        del words[cut:]
    joined = "".join(words)
    # words run together may compose anew (an accent, Hangul jamo): fold the whole again
    return joined if joined.isascii() else _fold(joined)


def is_strong_key(key: str) -> bool:
    """True for a customer key that is a domain (``acme.com``) or an email address.

    Other keys name a customer only by its name (``northwind traders``, from a CSV cell) or
    by a source's private id (``hubspot-company:7``): records under them look for the
    customer of their name.
    """
    if "@" in key:
        return email_domain(key) is not None
    return _DOMAIN.match(key) is not None


def key_name(key: str) -> str | None:
    """The company name a name-only key spells (``northwind traders``), or None for a strong
    key or a source's private id (``hubspot-company:7``), which spell no name."""
    if is_strong_key(key) or _SOURCE_ID.match(key):
        return None
    return key


def customer_name_key(key: str, name: str | None) -> str | None:
    """The comparable name of a customer: :func:`name_key` of its name, else of what its
    name-only key spells; None when neither gives one."""
    text = name if name else key_name(key)
    return (name_key(text) or None) if text else None


def _lower_set(domains: Iterable[str]) -> frozenset[str]:
    return frozenset(domain.lower() for domain in domains)


@attrs.frozen
class Identity:
    """Resolves email addresses to customer keys for one configuration.

    Attributes:
        internal_domains: Our own mail domains; their addresses are owners, not customers.
        personal_domains: Personal mail providers; their addresses are customers of their own.
    """

    internal_domains: frozenset[str] = attrs.field(default=frozenset(), converter=_lower_set)
    personal_domains: frozenset[str] = PERSONAL_MAIL_DOMAINS

    @classmethod
    def for_domains(
        cls, internal: Iterable[str] = (), extra_personal: Iterable[str] = ()
    ) -> Identity:
        """An identity with our ``internal`` domains and any ``extra_personal`` providers."""
        return cls(frozenset(internal), PERSONAL_MAIL_DOMAINS | {d.lower() for d in extra_personal})

    def is_internal(self, email: str) -> bool:
        """True when ``email`` is one of our people (its domain or a parent domain is internal)."""
        domain = email_domain(email)
        if domain is None:
            return False
        return any(domain == d or domain.endswith("." + d) for d in self.internal_domains)

    def customer_key(self, email: str) -> str | None:
        """The customer an outside address belongs to; None for our own people or non-addresses."""
        domain = email_domain(email)
        if domain is None or self.is_internal(email):
            return None
        if domain in self.personal_domains:
            return email.strip().lower()
        return domain
