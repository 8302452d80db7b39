"""Write the messy history tests/test_messy_history.py reads: a mailbox and a CRM export.

Carol (carol@ourco.com) has kept her Gmail for about four years up to the fixture's "now",
2026-11-02T09:00Z; her team logs calls, meetings and notes in a CRM. What people really have:

- two-way threads with a dozen customers, at their own pace (one cooling off, one whose
  fourth anniversary is next week, one freelancer at gmail.com), with calendar invitations;
- Cc chains: lawyers, auditors, partners and personal gmail.com / outlook.com addresses only
  ever copied on a customer's thread;
- newsletters, notifications, a mailing list, bulk invitations, an out-of-office reply, bounces,
  spam, binned mail and drafts;
- one-off enquiries from years ago that nobody answered;
- Dmitri (dmitri@ourco.com), who looked after four accounts and wrote his last customer mail
  eight months ago; his customers kept writing and calling;
- a new customer who wrote last week; mail among colleagues only;
- odd but valid headers: a folded Subject, RFC 2047 names (one with a comma inside), Dates
  in other zones with a comment;
- a CRM export with its own column names: calls both ways (held, missed, voicemail), meetings,
  NPS scores, notes logged under a company's *name* ("Northwind Traders"), owners by email in
  any case, channels and directions spelled every which way, emails the CRM also logged (the
  same mail as in the mailbox), a quoted field spanning lines, and two bad rows.

It also writes ``recent/``: the same data cut to its last two days, with its own config, and
``expected.json``: which customer plays which part, and the counts the sync should report.

Seeded and dated by constants: running it again writes the same files.

    .venv/bin/python tests/data/messy/make_messy.py
"""

from __future__ import annotations

import base64
import csv
import io
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

AS_OF = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
START = datetime(2022, 11, 7, tzinfo=UTC)
RECENT = AS_OF - timedelta(days=2)
SEED = 20261102
HERE = Path(__file__).resolve().parent
CRM_ZONE = ZoneInfo("Europe/Berlin")
DEPARTED_LAST = datetime(2026, 3, 2, 15, 40, tzinfo=UTC)  # Dmitri's last word to a customer

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def utc(text: str) -> datetime:
    """``2026-10-20 14:05`` as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def encoded(name: str, charset: str = "UTF-8") -> str:
    """``name`` as one RFC 2047 B-word."""
    return f"=?{charset}?B?{base64.b64encode(name.encode(charset)).decode()}?="


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    offset: int = 0  # minutes east of UTC in the Date headers they write
    display: str | None = None  # how their mail client writes the address, when unusual

    @property
    def header(self) -> str:
        if self.display is not None:
            return f"{self.display} <{self.email}>"
        if not self.name:
            return self.email
        return f"{self.name} <{self.email}>"

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]


@dataclass
class Mail:
    when: datetime
    sender: Person
    to: list[Person]
    subject: str
    labels: str
    scenario: str
    cc: list[Person] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)
    in_reply_to: str | None = None
    body: str = ""
    date_comment: str = ""
    message_id: str | None = None
    thread: int = 0


@dataclass
class Row:
    when: datetime
    company: str
    email: str
    name: str
    type: str
    direction: str
    owner: str
    subject: str
    scenario: str
    outcome: str = ""
    nps: str = ""
    raw_date: str | None = None  # a date cell written by hand (a planted bad row)


# -- the people ---------------------------------------------------------------------------------

CAROL = Person("Carol Jensen", "carol@ourco.com")
DMITRI = Person("Dmitri Volkov", "dmitri@ourco.com", 60)
BEN = Person("Ben Okafor", "ben@ourco.com")
LEAD = Person("Lena Hart", "lead@ourco.com")
TEAM = Person("", "team@ourco.com")

JANE = Person("Jane Roe", "jane@acme.com", -420)
JOSE = Person("José Muñoz", "jose@acme.com", -420, display="=?UTF-8?Q?Jos=C3=A9_Mu=C3=B1oz?=")
TOM = Person("Tom Baker", "tom@acme.com", -420)
RACHAEL = Person("Rachael Tyrell", "rachael@tyrell.com", -480)
HANK = Person("Hank Scorpio", "hank@globex.com", -300)
ALICE_W = Person("Alice Wong", "alice.w@umbrella.io", 0)
PETER = Person("Peter Gibbons", "peter@initech.com", -360)
NANCY = Person("Davolio, Nancy", "nancy@northwind.com", 60, display="=?UTF-8?Q?Davolio=2C_Nancy?=")
ZOE = Person("Zoë Åkesson", "zoe@northwind.com", 60, display=encoded("Zoë Åkesson"))
PRIYA = Person("Priya Raman", "priya@soylent.com", 330)
NINA = Person("Nina Sharp", "nina@massive-dynamic.com", -240)
OLIVER = Person("Oliver Grant", "oliver@blue-harbor.co.uk", 0)
SAM = Person("Sam Rivera", "sam.rivera@gmail.com", -180)

GAVIN = Person("Gavin Belson", "gavin@hooli.com", -420)
ART = Person("Art Vandelay", "art@vandelay.com", -300)
RICHARD = Person("Richard Hendricks", "richard@piedpiper.com", -420)
MICHAEL = Person("Michael Scott", "michael@dunder-mifflin.com", -300)

KING = Person("Robert King", "r.king@oldprospect.com", 0)
WALSH = Person("Kelly Walsh", "k.walsh@hotmail.com", 0)
LARS = Person("Lars Berg", "lars@bluefin-marine.com", 120)
MAYA = Person("Maya Chen", "maya@freshstart.io", -240)

# only ever copied on someone else's mail
KATE = Person("Kate Lawson", "kate@lawfirm.co.uk", 0)
AUDIT = Person("Bob Auditor", "bob@auditco.com", 60)
MIKE = Person("Mike", "mike.personal@gmail.com", -300)
LISA = Person("Lisa Müller", "lisa@partnerfirm.de", 60, display="=?ISO-8859-1?Q?Lisa_M=FCller?=")
ANNA = Person("Anna K.", "anna.k@outlook.com", 60)
COPIED_ONLY = [KATE, AUDIT, MIKE, LISA, ANNA]

TOPICS = [
    "Q{q} roadmap",
    "Invoice {month}",
    "Onboarding for the new team",
    "Support ticket #{n}",
    "Renewal",
    "Feature request: exports",
    "Training session",
    "Data migration",
    "Contract amendment",
    "Quick question",
    "Reporting dashboard",
    "API limits",
    "SSO setup",
    "Price list {year}",
]

GREETINGS = ["Hi {0},", "Hello {0},", "Dear {0},", "{0},"]
LINES = [
    "Thanks for the quick turnaround on this.",
    "Could you have a look at the attached numbers?",
    "We would like to move the call to next week if possible.",
    "From time to time we review our vendors; no action needed on your side.",
    "The team is happy with how the rollout went.",
    "Can you confirm the dates before Friday?",
    "I have forwarded this to our finance department.",
    "Let me know if anything is unclear.",
]


class History:
    """Everything the generator writes, built story by story."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.mail: list[Mail] = []
        self.rows: list[Row] = []
        self.threads = 0

    # -- building blocks ---------------------------------------------------------------------

    def workday(self, moment: datetime, person: Person) -> datetime:
        """``moment`` moved into ``person``'s working hours (9-18, Monday to Friday)."""
        local = moment + timedelta(minutes=person.offset)
        while local.weekday() >= 5:
            local += timedelta(days=1)
        if not 9 <= local.hour < 18:
            local = local.replace(hour=self.rng.randint(9, 17), minute=self.rng.randint(0, 59))
        local = local.replace(second=self.rng.randint(0, 59), microsecond=0)
        return local - timedelta(minutes=person.offset)

    def subject(self, moment: datetime) -> str:
        topic = self.rng.choice(TOPICS)
        return topic.format(
            q=(moment.month - 1) // 3 + 1,
            month=_MONTHS[moment.month - 1] + f" {moment.year}",
            n=self.rng.randint(1000, 9999),
            year=moment.year + 1,
        )

    def body(self, to: Person, sender: Person) -> str:
        first = (to.name.split(", ")[-1] or to.email).split()[0]
        lines = [self.rng.choice(GREETINGS).format(first), ""]
        lines += self.rng.sample(LINES, self.rng.randint(1, 2))
        lines += ["", "Best,", (sender.name.split(", ")[-1] or sender.email).split()[0]]
        return "\n".join(lines) + "\n"

    def add(self, mail: Mail) -> Mail:
        if mail.message_id is None:
            host = "mail.gmail.com" if mail.sender.domain == "ourco.com" else mail.sender.domain
            token = f"{self.rng.getrandbits(64):016x}"
            mail.message_id = f"<{token}.{len(self.mail)}@{host}>"
        if not mail.body and mail.scenario == "automated":
            mail.body = f"{mail.subject}\n\nYou get this because of your settings.\nUnsubscribe\n"
        elif not mail.body:
            mail.body = self.body(mail.to[0] if mail.to else CAROL, mail.sender)
        self.mail.append(mail)
        return mail

    def thread(
        self,
        start: datetime,
        us: Person,
        them: list[Person],
        *,
        scenario: str,
        turns: int,
        them_first: bool,
        subject: str | None = None,
        cc_them: list[Person] | None = None,
        cc_us: list[Person] | None = None,
        until: datetime = AS_OF,
    ) -> list[Mail]:
        """One conversation: messages alternating between us and the customer."""
        self.threads += 1
        subject = subject or self.subject(start)
        copy_carol = [CAROL] if us != CAROL else []
        moment, sent, previous = start, [], None
        for turn in range(turns):
            ours = (turn % 2 == 1) == them_first
            person = us if ours else self.rng.choice(them)
            moment = self.workday(moment, person)
            if moment > until:
                break
            title = subject if turn == 0 else f"Re: {subject}"
            if ours:
                mail = Mail(
                    moment,
                    us,
                    [them[0]],
                    title,
                    "Sent" if us == CAROL else "Inbox,Opened",
                    scenario,
                    cc=[*copy_carol, *(cc_us or [])],
                )
            else:
                mail = Mail(
                    moment,
                    person,
                    [us],
                    title,
                    self.rng.choice(["Inbox,Opened", "Archived,Opened", "Important,Opened"]),
                    scenario,
                    cc=[*copy_carol, *(cc_them or [])],
                )
            mail.in_reply_to = previous.message_id if previous else None
            mail.thread = self.threads
            previous = self.add(mail)
            sent.append(mail)
            moment += timedelta(hours=self.rng.uniform(2, 50))
        return sent

    def regular(
        self,
        us: Person,
        them: list[Person],
        start: datetime,
        end: datetime,
        per_month: float,
        *,
        scenario: str,
        copied: list[Person] | None = None,
        company: str = "",
        calls_per_month: float = 0.0,
        caller: Person | None = None,
        invitations: bool = True,
    ) -> None:
        """Threads at ``per_month`` from ``start`` to ``end``, and the calls and meetings the
        CRM logged over the same span."""
        moment = start
        first = True
        while True:
            if not first:
                moment += timedelta(days=self.rng.expovariate(per_month / 30.44))
            if moment > end:
                break
            them_first = first or self.rng.random() < 0.6
            turns = self.rng.choice([2, 2, 2, 3]) if them_first else self.rng.choice([1, 1, 2])
            cc_them = cc_us = None
            if copied and self.rng.random() < 0.3:
                chosen = [self.rng.choice(copied)]
                if self.rng.random() < 0.5:
                    cc_them = chosen
                else:
                    cc_us = chosen
            self.thread(
                moment,
                us,
                them,
                scenario=scenario,
                turns=turns,
                them_first=them_first,
                cc_them=cc_them,
                cc_us=cc_us,
                until=end + timedelta(days=3),
            )
            if invitations and self.rng.random() < 0.12:
                self.invitation(moment + timedelta(days=2), us, them[0], scenario)
            first = False
        if calls_per_month:
            self.calls(caller or us, them[0], company, start, end, calls_per_month, scenario)

    def invitation(self, moment: datetime, us: Person, them: Person, scenario: str) -> None:
        """A calendar invitation from us and the customer's acceptance: a meeting each."""
        when = self.workday(moment, us)
        meeting = when + timedelta(days=self.rng.randint(3, 9))
        while meeting.weekday() >= 5:
            meeting += timedelta(days=1)
        day = (
            f"{_DAYS[meeting.weekday()]} {meeting.day} {_MONTHS[meeting.month - 1]} {meeting.year}"
        )
        title = f"Quarterly review @ {day} 3pm - 4pm (UTC) ({us.email})"
        invite = self.add(
            Mail(
                when,
                us,
                [them],
                f"Invitation: {title}",
                "Sent",
                scenario,
                cc=[CAROL] if us != CAROL else [],
                extra=[("Content-Type", 'text/calendar; charset="UTF-8"; method=REQUEST')],
                body="BEGIN:VCALENDAR\nMETHOD:REQUEST\nEND:VCALENDAR\n",
            )
        )
        reply = Mail(
            self.workday(when + timedelta(hours=self.rng.uniform(1, 30)), them),
            them,
            [us],
            f"Accepted: {title}",
            "Inbox,Opened",
            scenario,
            extra=[("Content-Type", 'text/calendar; charset="UTF-8"; method=REPLY')],
            body="BEGIN:VCALENDAR\nMETHOD:REPLY\nEND:VCALENDAR\n",
        )
        reply.in_reply_to = invite.message_id
        if reply.when <= AS_OF:
            self.add(reply)

    def crm(
        self,
        when: str | datetime,
        company: str,
        them: Person | None,
        kind: str,
        direction: str,
        owner: str,
        subject: str,
        scenario: str,
        outcome: str = "",
        nps: str = "",
    ) -> None:
        """One row of the CRM export; ``them`` None for a row with no contact (a note)."""
        moment = utc(when) if isinstance(when, str) else when
        email, name = (them.email, them.name) if them else ("", "")
        row = Row(moment, company, email, name, kind, direction, owner, subject, scenario)
        row.outcome, row.nps = outcome, nps
        self.rows.append(row)

    def say(
        self,
        when: str,
        sender: Person,
        to: Person,
        subject: str,
        labels: str,
        scenario: str,
        **kw: Any,
    ) -> Mail:
        """One message written out by hand (``kw``: the other :class:`Mail` fields)."""
        return self.add(Mail(utc(when), sender, [to], subject, labels, scenario, **kw))

    def calls(
        self, owner: Person, them: Person, company: str, start: datetime, end: datetime,
        per_month: float, scenario: str,
    ) -> None:  # fmt: skip
        """Calls and meetings the CRM logged, with the spellings people type."""
        rng = self.rng
        moment = start + timedelta(days=rng.uniform(5, 40))
        while moment <= end:
            kind = rng.random()
            who = rng.choice([owner.email, owner.email, owner.email.title(), f" {owner.email} "])
            when = self.workday(moment, owner)
            if kind < 0.55:
                outcome = rng.choice(["Connected", "connected", "", "Completed", ""])
                if rng.random() < 0.15:
                    outcome = rng.choice(["No answer", "Left voicemail", "BUSY"])
                channel = rng.choice(["Call", "phone", "Phone Call", "PHONE_CALL", "call"])
                direction = rng.choice(["Outbound", "out", "Outgoing", "OUT"])
                subject = rng.choice(["Check-in call", "Follow-up", "Pricing call", ""])
            elif kind < 0.8:
                channel = rng.choice(["Call", "Phone"])
                direction = rng.choice(["Inbound", "in", "Incoming"])
                subject = rng.choice(["Question about invoice", "Support", "Called in"])
                outcome = rng.choice(["Connected", "", "Answered"])
            else:
                channel = rng.choice(["Meeting", "Video Call", "visit", "Demo"])
                direction = "Outbound"
                subject = rng.choice(["Quarterly business review", "Workshop", "On-site visit"])
                outcome = "No show" if rng.random() < 0.1 else ""
            self.crm(when, company, them, channel, direction, who, subject, scenario, outcome)
            moment += timedelta(days=rng.expovariate(per_month / 30.44))

    def nps(self, them: Person, company: str, days: list[str]) -> None:
        for day in days:
            score = str(self.rng.choice([7, 8, 9, 9, 10]))
            kind = self.rng.choice(["NPS", "Survey"])
            self.crm(day, company, them, kind, "Inbound", "", "Annual NPS survey", "nps", nps=score)

    def crm_copy(self, mail: Mail, company: str) -> None:
        """The CRM logged this email too (same contact, direction and subject, to the minute)."""
        ours = mail.sender.domain == "ourco.com"
        them = mail.to[0] if ours else mail.sender
        self.crm(
            mail.when.replace(second=0),
            company,
            them,
            self.rng.choice(["E-mail", "email", "Mail"]),
            "Sent" if ours else "Received",
            mail.sender.email if ours else CAROL.email,
            " ".join(mail.subject.split()),  # the CRM keeps the subject unfolded
            "crm copy of a mailbox email",
        )


#: Carol's customers: contacts, first and last random thread, threads a month, people copied
#: on their threads, company name in the CRM, CRM calls and meetings a month, who calls.
# fmt: off
CUSTOMERS: list[tuple[list[Person], str, str, float, list[Person], str, float, Person]] = [
    ([JANE, JOSE, TOM], "2022-11-14 16:20", "2026-10-16", 0.45, [KATE, AUDIT], "Acme Corp", 0.25, CAROL),
    ([RACHAEL], "2022-11-10 17:05", "2026-10-14", 0.35, [ANNA], "Tyrell Corporation", 0.15, CAROL),
    ([HANK], "2023-02-06 15:00", "2026-09-25", 0.4, [MIKE], "Globex", 0.2, CAROL),
    ([ALICE_W], "2024-01-15 10:30", "2026-10-05", 0.35, [], "Umbrella", 0.15, CAROL),
    ([PETER], "2022-12-01 15:00", "2025-11-20", 0.6, [], "Initech", 0.3, CAROL),
    ([NANCY, ZOE], "2023-05-08 09:30", "2026-10-10", 0.35, [LISA], "Northwind Traders", 0.15, CAROL),
    ([PRIYA], "2024-06-03 06:00", "2026-10-05", 0.3, [], "Soylent", 0.3, BEN),
    ([NINA], "2023-09-11 14:00", "2026-09-20", 0.2, [], "Massive Dynamic", 1.0, BEN),
    ([OLIVER], "2025-01-20 10:00", "2026-10-10", 0.45, [], "Blue Harbor Logistics", 0.0, CAROL),
    ([SAM], "2024-03-04 18:00", "2026-09-10", 0.3, [], "", 0.0, CAROL),
]
#: Dmitri's accounts: he wrote (Carol copied) and called until early 2026.
DMITRIS = [
    (GAVIN, "Hooli", "2023-01-09 17:00"),
    (ART, "Vandelay Industries", "2023-04-03 15:00"),
    (RICHARD, "Pied Piper", "2024-02-05 18:00"),
    (MICHAEL, "Dunder Mifflin", "2023-06-12 15:00"),
]
# fmt: on
NORTHWIND_NAMES = ["Northwind Traders", "Northwind Traders, Inc.", "NORTHWIND TRADERS"]
TWO_WAY = "two-way customer threads"
DEPARTED = "departed colleague's accounts"


def build() -> tuple[History, dict[str, object]]:
    """The whole history, and the parts its customers play."""
    h = History(SEED)
    for them, start, end, rate, copied, company, calls, caller in CUSTOMERS:
        h.regular(
            CAROL, them, utc(start), utc(end), rate, scenario=TWO_WAY, copied=copied,
            company=company, calls_per_month=calls, caller=caller,
            invitations=company not in ("Massive Dynamic", ""),
        )  # fmt: skip
    h.nps(JANE, "Acme Corp", ["2023-12-04 10:00", "2024-12-02 10:00", "2025-12-01 10:00"])
    h.nps(RACHAEL, "Tyrell Corporation", ["2024-12-02 11:00", "2025-12-01 11:00"])
    h.nps(HANK, "Globex", ["2025-06-02 09:00"])
    h.nps(NANCY, "Northwind Traders", ["2025-12-01 12:00"])
    recent_ends(h)
    for person, company, start in DMITRIS:
        h.regular(
            DMITRI, [person], utc(start), utc("2026-02-05"), 0.3, scenario=DEPARTED,
            company=company, calls_per_month=0.3, invitations=False,
        )  # fmt: skip
    departed(h)

    # one-off enquiries from years ago, never answered
    one_off = "one-off enquiry from years ago"
    h.say("2023-11-09 10:15", KING, CAROL, "Pricing for 40 seats?", "Opened", one_off)
    h.say("2023-07-19 19:02", WALSH, CAROL, "Do you work with small charities?", "Opened", one_off)
    h.say("2024-04-11 08:30", LARS, CAROL, "Partnership enquiry", "Opened", one_off)

    # a new customer who wrote last week, twice
    subject = "Getting started - who should we talk to?"
    first = h.say("2026-10-29 18:05", MAYA, CAROL, subject, "Inbox,Important", "new customer")
    h.say(
        "2026-10-31 14:12", MAYA, CAROL, f"Re: {subject}", "Inbox", "new customer",
        in_reply_to=first.message_id,
    )  # fmt: skip

    # a prospect our people only took notes on
    for day, note in [("2026-09-14 10:00", "Met at a trade fair"), ("2026-10-02 11:00", "")]:
        h.crm(day, "Contoso Ltd", None, "Note", "", "ben@ourco.com", note, "notes only")

    automated(h)
    colleagues(h)
    junk(h)
    bad = planted(h)
    roles: dict[str, object] = {
        "called_in": ["globex.com", "umbrella.io"],
        "missed_call": ["soylent.com", "massive-dynamic.com"],
        "dormant_one_off": ["oldprospect.com", "k.walsh@hotmail.com", "bluefin-marine.com"],
        "copied_only": sorted(
            p.email if p.domain in ("gmail.com", "outlook.com") else p.domain for p in COPIED_ONLY
        ),
        "departed_owner_accounts": ["hooli.com", "piedpiper.com", "vandelay.com"],
        "departed_owner_dormant": ["dunder-mifflin.com"],
        "new_customer": ["freshstart.io"],
        "northwind": {"customer": "northwind.com", "names": NORTHWIND_NAMES},
        "no_touch": ["contoso ltd"],
    }
    return h, {"roles": roles, "bad_rows": bad}


def recent_ends(h: History) -> None:
    """The last weeks of Carol's customers, written out so each plays its part."""
    # acme: a reply-all chain with a lawyer, a colleague and a private address copied
    subject = "Renewal of the support contract, the new price list and\n the training days"
    acme = h.thread(
        utc("2026-10-19 16:00"), CAROL, [JANE], scenario=TWO_WAY, turns=3, them_first=True,
        subject=subject, cc_them=[KATE, TOM],
    )  # fmt: skip
    h.crm_copy(acme[0], "Acme Corp")
    friday = h.say(
        "2026-10-30 15:12:40", JANE, CAROL, "Training days: dates", "Inbox,Opened", TWO_WAY,
        cc=[KATE, MIKE], date_comment=" (PDT)",
    )  # fmt: skip
    h.say(
        "2026-11-02 08:10:05", CAROL, JANE, "Re: Training days: dates", "Sent", TWO_WAY,
        cc=[AUDIT], in_reply_to=friday.message_id,
    )  # fmt: skip
    # tyrell: four years together next week
    tyrell = h.thread(
        utc("2026-10-20 17:00"), CAROL, [RACHAEL], scenario=TWO_WAY, turns=2, them_first=True,
        subject="Q4 planning", cc_them=[ANNA],
    )  # fmt: skip
    h.crm_copy(tyrell[1], "Tyrell Corporation")
    h.say(
        "2026-11-02 07:45:10", CAROL, RACHAEL, "Re: Q4 planning", "Sent", TWO_WAY,
        in_reply_to=tyrell[-1].message_id,
    )  # fmt: skip
    # globex and umbrella wrote, then called and talked to us
    called = "called in"
    globex = h.say(
        "2026-10-20 14:05:37", HANK, CAROL, "Question about the October invoice", "Inbox,Opened",
        called, cc=[MIKE],
    )  # fmt: skip
    h.crm_copy(globex, "Globex")
    h.crm(
        "2026-10-21 13:30", "Globex", HANK, "Phone", "Inbound", "carol@ourco.com",
        "Called about the invoice", called, outcome="Connected",
    )  # fmt: skip
    h.say("2026-10-27 09:15:02", ALICE_W, CAROL, "Access for two new users", "Inbox", called)
    h.crm(
        "2026-10-28 10:45", "Umbrella", ALICE_W, "call", "Incoming", "Carol@OurCo.com",
        "Walked through the user setup", called,
    )  # fmt: skip
    # initech cooled off: a note now and then, and a call nobody picked up
    h.thread(
        utc("2026-06-10 15:00"), CAROL, [PETER], scenario=TWO_WAY, turns=2, them_first=False,
        subject="Checking in",
    )  # fmt: skip
    h.say("2026-09-21 14:00", CAROL, PETER, "New reporting features", "Sent", TWO_WAY)
    h.crm(
        "2026-10-15 14:00", "Initech", PETER, "Phone Call", "Outbound", "carol@ourco.com",
        "Tried to reach Peter", TWO_WAY, outcome="No_Answer",
    )  # fmt: skip
    # northwind: mail with Nancy, and what our people logged under the company's name only
    northwind = h.thread(
        utc("2026-10-14 09:00"), CAROL, [NANCY], scenario=TWO_WAY, turns=2, them_first=True,
        subject="Workshop agenda", cc_us=[LISA],
    )  # fmt: skip
    h.crm_copy(northwind[0], "Northwind Traders")
    by_name = "logged under the company's name"
    first, inc, upper = NORTHWIND_NAMES
    carol = CAROL.email
    h.crm(
        "2024-02-12 10:00", first, None, "Note", "", carol, "Budget cycle starts in April", by_name
    )
    h.crm("2025-03-03 11:00", inc, None, "note", "", carol, "Asked about SSO; sent docs", by_name)
    h.crm("2026-09-15 12:00", first, None, "Visit", "Outbound", carol, "On-site workshop", by_name)
    h.crm(
        "2026-10-22 16:00", upper, None, "Note", "Internal", carol,
        "Workshop went well.\nWants SSO in Q1", by_name,
    )  # fmt: skip
    # the CRM filled in the user who logged it as the contact
    h.crm("2026-07-01 09:00", first, CAROL, "Note", "", carol, "Renewal discussed", by_name)
    h.crm(
        "2026-11-02 07:00", first, NANCY, "Call", "Outbound", "ben@ourco.com",
        "Intro call about SSO", TWO_WAY,
    )  # fmt: skip
    # soylent and massive dynamic: a missed call a few days ago
    h.crm(
        "2026-10-29 15:10", "Soylent", PRIYA, "Phone", "Inbound", "ben@ourco.com", "Priya called",
        "missed call", outcome="Left voicemail",
    )  # fmt: skip
    h.crm(
        "2026-10-30 10:20", "Massive Dynamic", NINA, "Call", "in", "Ben@ourco.com", "",
        "missed call", outcome="missed-call",
    )  # fmt: skip
    # blue harbor wrote on Wednesday and is still waiting
    h.say(
        "2026-10-28 11:30", OLIVER, CAROL, "Delivery times for December", "Inbox", TWO_WAY,
        date_comment=" (GMT)",
    )  # fmt: skip


def departed(h: History) -> None:
    """Dmitri's last words, and what his customers did after."""
    inbox = "Inbox,Opened"
    h.add(Mail(DEPARTED_LAST, DMITRI, [ART], "Re: Spring order", inbox, DEPARTED, cc=[CAROL]))
    for when, sender, to, subject in [
        ("2026-02-10 09:00", DMITRI, MICHAEL, "Paper order"),
        ("2026-02-16 16:00", GAVIN, DMITRI, "Re: Roadmap"),
        ("2026-02-18 10:30", DMITRI, GAVIN, "Re: Roadmap"),
        ("2026-02-25 17:20", DMITRI, RICHARD, "Compression benchmarks"),
        # after he went quiet
        ("2026-06-15 16:40", GAVIN, DMITRI, "Still there?"),
        ("2026-09-30 17:00", RICHARD, DMITRI, "Follow-up on our call"),
        ("2026-10-22 18:05", GAVIN, DMITRI, "Renewal question"),
        ("2026-11-01 20:05", GAVIN, DMITRI, "Re: Renewal question"),
    ]:
        h.say(when, sender, to, subject, inbox, DEPARTED, cc=[CAROL])
    dmitri = DMITRI.email
    # fmt: off
    for when, company, them, kind, direction, owner, subject, outcome in [
        ("2026-07-08 16:00", "Pied Piper", RICHARD, "Call", "Inbound", "", "Reception", ""),
        ("2026-08-11 14:30", "Vandelay Industries", ART, "E-mail", "Received", dmitri, "Latex order for Q4", ""),
        ("2026-09-03 15:00", "Hooli", GAVIN, "Call", "Inbound", dmitri, "", "Missed"),
        ("2026-11-01 18:40", "Vandelay Industries", ART, "Phone", "Inbound", dmitri, "", "Voicemail"),
    ]:
        h.crm(when, company, them, kind, direction, owner, subject, DEPARTED, outcome)
    # fmt: on


def automated(h: History) -> None:
    """Mail that is nobody's conversation: every kind the source passes over."""
    news = Person("SaaS Weekly", "news@saas-weekly.com")
    lists = [
        ("List-Id", "SaaS Weekly <weekly.saas-weekly.com>"),
        ("List-Unsubscribe", "<https://saas-weekly.com/u/c4r0l>"),
    ]
    moment = START + timedelta(days=3)
    while moment < AS_OF:
        issue = (moment - START).days // 30 + 1
        h.add(
            Mail(
                moment.replace(hour=6, minute=0, second=12), news, [CAROL],
                f"SaaS Weekly #{issue}: what churn really costs", "Inbox,Category Promotions",
                "automated", extra=list(lists),
            )
        )  # fmt: skip
        moment += timedelta(days=30)
    group = [
        ("List-Id", "<cs-leaders.googlegroups.com>"),
        ("List-Post", "<mailto:cs-leaders@googlegroups.com>"),
    ]
    report = [("Content-Type", 'multipart/report; report-type=delivery-status; boundary="b1"')]
    # fmt: off
    senders = [
        (Person("GitHub", "notifications@github.com"), "[ourco/site] Build failed on main", []),
        (Person("Zoom", "no-reply@zoom.us"), "Cloud recording is now available", []),
        (Person("Alice Park", "alice@somecommunity.org"), "[cs-leaders] How do you measure churn?", group),
        (Person("Conf Europe", "events@conf-europe.eu"), "Last chance: early-bird tickets", [("Precedence", "bulk")]),
        (Person("Acme Corp", "marketing@acme.com"), "Acme product update", []),
        (Person("Mail Delivery Subsystem", "mailer-daemon@googlemail.com"), "Delivery Status Notification (Failure)", report),
    ]
    # fmt: on
    for sender, subject, extra in senders:
        for _ in range(h.rng.randint(4, 9)):
            day = START + timedelta(days=h.rng.uniform(0, (AS_OF - START).days - 1))
            h.add(
                Mail(
                    h.workday(day, sender), sender, [CAROL], subject, "Inbox,Category Updates",
                    "automated", extra=list(extra),
                )
            )  # fmt: skip
    out_of_office = [("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes")]
    for when in ["2024-08-05 16:00:03", "2025-12-22 09:14:44"]:  # a customer's out-of-office
        h.say(
            when, JANE, CAROL, "Automatic reply: Invoice", "Inbox", "automated",
            extra=list(out_of_office),
        )  # fmt: skip


def colleagues(h: History) -> None:
    """Mail among ourselves only."""
    pairs = [
        (CAROL, BEN, "Lunch on Thursday?"),
        (BEN, CAROL, "Pipeline review"),
        (LEAD, TEAM, "Team offsite agenda"),
        (CAROL, LEAD, "Holiday cover"),
        (DMITRI, CAROL, "Can you cover Hooli next week?"),
        (CAROL, DMITRI, "Re: Can you cover Hooli next week?"),
    ]
    for _ in range(28):
        sender, to, subject = h.rng.choice(pairs)
        end = DEPARTED_LAST if DMITRI in (sender, to) else AS_OF - timedelta(days=3)
        day = START + timedelta(days=h.rng.uniform(0, (end - START).days - 1))
        labels = "Sent" if sender == CAROL else "Inbox,Opened"
        cc = [CAROL] if CAROL not in (sender, to) else []
        h.add(Mail(h.workday(day, sender), sender, [to], subject, labels, "colleagues only", cc=cc))


def junk(h: History) -> None:
    """Spam, binned mail and drafts: labels the source skips."""
    junk = "spam, bin, drafts"
    for n, (sender, subject) in enumerate(
        [
            (Person("Prince", "prince@lottery-win.biz"), "You have won!"),
            (Person("SEO Expert", "rank1@seo-fast.net"), "Top Google ranking guaranteed"),
            (Person("", "offers@cheap-meds.info"), "Special offer"),
            (Person("Crypto", "invest@coin-moon.io"), "10x returns"),
            (Person("Lead Gen", "sales@leads4u.com"), "Buy 10,000 verified leads"),
        ]
    ):
        day = START + timedelta(days=200 * n + 17)
        h.add(Mail(h.workday(day, sender), sender, [CAROL], subject, "Spam", junk))
    for when, address in [("2024-05-06 10:00", "sales@printer-ink.com"), ("2025-09-01 11:00", "hi@webinar.tv")]:  # fmt: skip
        h.say(when, Person("", address), CAROL, "Quick intro", "Trash,Opened", junk)
    for when in ["2025-04-07 17:00", "2026-08-03 12:00"]:
        h.say(when, CAROL, JANE, "Draft: ideas", "Drafts", junk)


def planted(h: History) -> list[dict[str, str]]:
    """Two rows a real export has, which the source must refuse by file and line."""
    carol = CAROL.email
    h.crm("2026-05-04 10:00", "Globex", HANK, "Call", "Outbound", carol, "Follow-up", "bad row")
    h.rows[-1].raw_date = "TBD"
    h.crm("2025-02-17 10:00", "Acme Corp", JANE, "Fax", "Outbound", carol, "Order form", "bad row")
    return [
        {"field": "occurred_at", "value": "TBD"},
        {"field": "channel", "value": "Fax"},
    ]


def from_line(moment: datetime, token: int) -> str:
    m = moment.astimezone(UTC)
    return (
        f"From {token}@xxx {_DAYS[m.weekday()]} {_MONTHS[m.month - 1]} {m.day:02d} "
        f"{m:%H:%M:%S} +0000 {m.year}"
    )


def render(mail: Mail, token: int) -> str:
    zone = timezone(timedelta(minutes=mail.sender.offset))
    received = mail.when + timedelta(seconds=4 + token % 50)
    lines = [
        from_line(received, token),
        f"X-GM-THRID: {1_600_000_000_000_000_000 + mail.thread * 7919 + (0 if mail.thread else token)}",
        f"X-Gmail-Labels: {mail.labels}",
        f"Date: {format_datetime(mail.when.astimezone(zone))}{mail.date_comment}",
        f"From: {mail.sender.header}",
    ]
    if mail.to:
        lines.append("To: " + ", ".join(p.header for p in mail.to))
    if mail.cc:
        lines.append("Cc: " + ",\n\t".join(p.header for p in mail.cc))
    lines.append(f"Subject: {mail.subject}")
    lines.append(f"Message-ID: {mail.message_id}")
    if mail.in_reply_to:
        lines += [f"In-Reply-To: {mail.in_reply_to}", f"References: {mail.in_reply_to}"]
    lines.append("MIME-Version: 1.0")
    if not any(name == "Content-Type" for name, _ in mail.extra):
        lines.append('Content-Type: text/plain; charset="UTF-8"')
    lines += [f"{name}: {value}" for name, value in mail.extra]
    return "\n".join(lines) + "\n\n" + mail.body + "\n"


def write_mbox(path: Path, mails: list[Mail]) -> None:
    ordered = sorted(mails, key=lambda m: m.when)
    text = "".join(render(m, 1_700_000_000 + n) for n, m in enumerate(ordered))
    path.write_bytes(text.encode("utf-8"))


HEADER = [
    "Activity ID",
    "Activity Date",
    "Company",
    "Contact Email",
    "Contact Name",
    "Type",
    "Direction",
    "Call Outcome",
    "Assigned To",
    "Subject",
    "NPS Score",
]
COLUMNS = {
    "id": "Activity ID",
    "occurred_at": "Activity Date",
    "customer": "Company",
    "email": "Contact Email",
    "name": "Contact Name",
    "channel": "Type",
    "direction": "Direction",
    "outcome": "Call Outcome",
    "owner": "Assigned To",
    "subject": "Subject",
    "feedback": "NPS Score",
}


def write_crm(path: Path, rows: list[Row]) -> dict[str, int]:
    """The export, rows by date; returns the line each bad row starts on."""
    ordered = sorted(rows, key=lambda r: r.when)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    bad: dict[str, int] = {}
    for n, row in enumerate(ordered, 1):
        line = out.getvalue().count("\n") + 1
        when = row.raw_date or row.when.astimezone(CRM_ZONE).strftime("%Y-%m-%d %H:%M")
        if row.scenario == "bad row":
            bad[row.raw_date or row.type] = line
        writer.writerow(
            [
                f"ACT-{n:05d}",
                when,
                row.company,
                row.email,
                row.name,
                row.type,
                row.direction,
                row.outcome,
                row.owner,
                row.subject,
                row.nps,
            ]
        )
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    return bad


def config(title: str) -> str:
    columns = ", ".join(f'{k} = "{v}"' for k, v in COLUMNS.items())
    return f"""# {title} (written by make_messy.py)
store = "engage.db"
internal_domains = ["ourco.com"]
fallback_owner = "lead@ourco.com"

[sources.mail]
plugin = "gmail"
mbox = "mailbox.mbox"
mailbox_owner = "carol@ourco.com"

[sources.crm]
plugin = "csv"
path = "crm.csv"
timezone = "Europe/Berlin"
columns = {{ {columns} }}

[sinks.tasks]
plugin = "csv"
path = "tasks.csv"
"""


def main(out: Path = HERE) -> dict[str, object]:
    history, story = build()
    out.mkdir(parents=True, exist_ok=True)
    mails = [m for m in history.mail if m.when <= AS_OF]
    rows = [r for r in history.rows if r.when <= AS_OF]
    write_mbox(out / "mailbox.mbox", mails)
    lines = write_crm(out / "crm.csv", rows)
    (out / "engage.toml").write_text(config("Carol's mailbox and the team's CRM, four years"))
    recent_dir = out / "recent"
    recent_dir.mkdir(exist_ok=True)
    recent_mail = [m for m in mails if m.when >= RECENT]
    recent_rows = [r for r in rows if r.when >= RECENT and r.scenario != "bad row"]
    write_mbox(recent_dir / "mailbox.mbox", recent_mail)
    write_crm(recent_dir / "crm.csv", recent_rows)
    (recent_dir / "engage.toml").write_text(config("The same data, only its last two days"))

    skipped = Counter[str]()
    for m in mails:
        if m.scenario == "automated":
            skipped["automated"] += 1
        elif m.scenario == "spam, bin, drafts":
            skipped["spam/trash/draft"] += 1
        elif m.scenario == "colleagues only":
            skipped["internal"] += 1
    bad_rows = story["bad_rows"]
    assert isinstance(bad_rows, list)
    expected = {
        "as_of": AS_OF.isoformat().replace("+00:00", "Z"),
        "recent_since": RECENT.isoformat().replace("+00:00", "Z"),
        "departed_owner": DMITRI.email,
        "fallback_owner": LEAD.email,
        "roles": story["roles"],
        "mailbox": {
            "messages": len(mails),
            "skipped": dict(sorted(skipped.items())),
            "by_scenario": dict(sorted(Counter(m.scenario for m in mails).items())),
        },
        "crm": {
            "rows": len(rows),
            "by_scenario": dict(sorted(Counter(r.scenario for r in rows).items())),
            "merged": sum(r.scenario == "crm copy of a mailbox email" for r in rows),
            "bad_rows": [
                {**bad, "file": "crm.csv", "line": lines[bad["value"]]} for bad in bad_rows
            ],
        },
        "recent": {"messages": len(recent_mail), "rows": len(recent_rows)},
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n")
    return expected


if __name__ == "__main__":
    summary = main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(json.dumps({k: summary[k] for k in ("mailbox", "crm", "recent")}, indent=2))
