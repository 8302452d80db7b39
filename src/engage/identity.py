"""Identity resolution: which customer an email address belongs to, and who is one of us.

A contact's customer is the domain of their email address (``jane@acme.com`` → ``acme.com``),
except for personal mail providers, where the whole address is the customer
(``jo@gmail.com`` → ``jo@gmail.com``): two Gmail users are not one company. Addresses in the
configured internal domains are our own people, never customers.
"""

from __future__ import annotations

import re
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
