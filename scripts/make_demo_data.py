"""Write the demo sample engage ships: src/engage/demo/interactions.csv.

About forty customers of a small consultancy ("Brightpath") over eighteen months of email,
calls, meetings and feedback, ending on the sample's "today" (engage.demo.DEMO_AS_OF). Each
customer follows one story, chosen so that every playbook rule fires somewhere and most
relationships are simply healthy. Seeded: running it twice writes the same file.

    python scripts/make_demo_data.py
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

TODAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
START = TODAY - timedelta(days=548)
OUT = Path(__file__).resolve().parent.parent / "src" / "engage" / "demo" / "interactions.csv"
OWNERS = ["alice@brightpath.io", "ben@brightpath.io", "chloe@brightpath.io"]
LEAVER = "dmitri@brightpath.io"  # went quiet about five months ago

FIRST = [
    "Ana",
    "Björn",
    "Chen",
    "Dana",
    "Elif",
    "Femi",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Marta",
    "Nils",
    "Olu",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
]
LAST = [
    "Silva",
    "Berg",
    "Wei",
    "Cohen",
    "Yilmaz",
    "Adeyemi",
    "Okafor",
    "Tanaka",
    "Moreau",
    "Fischer",
    "Mensah",
    "Novak",
    "Lopez",
    "Larsen",
    "Bello",
    "Sharma",
    "Reid",
    "Costa",
    "Holm",
    "Nair",
]
SUBJECTS = {
    "email": [
        "Re: project timeline",
        "Invoice question",
        "Next steps",
        "Re: proposal",
        "Quick question",
        "Follow-up from our call",
        "Re: deliverables",
        "Schedule for next month",
    ],
    "call": ["Weekly sync call", "Call about scope", "Quarterly check-in call", "Support call"],
    "meeting": [
        "Kick-off meeting",
        "Workshop",
        "Quarterly business review",
        "Planning session",
        "On-site visit",
    ],
    "feedback": ["Satisfaction survey", "NPS survey", "Feedback after delivery"],
    "note": ["Internal: account notes", "Internal: renewal thoughts"],
}

# (story, company, domain, segment)
CUSTOMERS = [
    ("steady", "Acme Logistics", "acme-logistics.com", "enterprise"),
    ("steady", "Borealis Energy", "borealis-energy.com", "enterprise"),
    ("steady", "Cobalt Health", "cobalthealth.org", ""),
    ("steady", "Delta Foods", "deltafoods.co.uk", ""),
    ("steady", "Evergreen Schools", "evergreen-schools.org", ""),
    ("steady", "Fjord Analytics", "fjord-analytics.no", ""),
    ("steady", "Granite Insurance", "granite-ins.com", "enterprise"),
    ("steady", "Harbor Retail", "harborretail.com", ""),
    ("steady", "Iris Biotech", "irisbio.de", ""),
    ("steady", "Juniper Legal", "juniperlegal.com", ""),
    ("steady", "Kestrel Aviation", "kestrel-aviation.com", "enterprise"),
    ("steady", "Lumen Studios", "lumenstudios.tv", ""),
    ("welcome", "Meridian Travel", "meridiantravel.com", ""),
    ("welcome_fresh", "Nimbus Cloudworks", "nimbus-cloud.io", ""),
    ("first_feedback", "Orchid Hotels", "orchidhotels.com", ""),
    ("first_feedback", "Pioneer Robotics", "pioneer-robotics.com", ""),
    ("periodic_feedback", "Quartz Media", "quartzmedia.com", ""),
    ("periodic_feedback", "Redwood Capital", "redwoodcap.com", "enterprise"),
    ("check_in", "Sable Outdoor", "sable-outdoor.com", ""),
    ("check_in", "Tidewater Ports", "tidewaterports.com", ""),
    ("check_in", "Umber Architects", "umber-arch.com", ""),
    ("unanswered", "Vantage Dental", "vantagedental.com", ""),
    ("unanswered", "Willow Pharmacy", "willowpharmacy.com", ""),
    ("unanswered_leaver", "Xenon Labs", "xenonlabs.com", ""),
    ("reconnect", "Yarrow Farms", "yarrowfarms.com", ""),
    ("reconnect", "Zephyr Wind", "zephyrwind.com", "enterprise"),
    ("reconnect", "Atlas Freight", "atlasfreight.com", ""),
    ("pick_up_phone", "Beacon Realty", "beaconrealty.com", ""),
    ("pick_up_phone", "Cedar Software", "cedarsoft.com", ""),
    ("pick_up_phone", "Dune Motors", "dunemotors.com", ""),
    ("handover", "Ember Bakeries", "emberbakeries.com", ""),
    ("handover", "Falcon Security", "falconsec.com", ""),
    ("handover", "Garnet Jewelry", "garnetjewelry.com", ""),
    ("status_update", "Helix Engineering", "helix-eng.com", "enterprise"),
    ("status_update", "Indigo Textiles", "indigotextiles.com", ""),
    ("status_update", "Jade Restaurants", "jaderestaurants.com", ""),
    ("appreciation", "Koi Design", "koidesign.com", ""),
    ("appreciation", "Lark Publishing", "larkpublishing.com", ""),
    ("personal", "Maria Lopez", "maria.lopez@gmail.com", ""),
    ("personal", "Sam Okoro", "sam.okoro@outlook.com", ""),
]


class Story:
    """Touchpoints of one customer, appended in any order and sorted at the end."""

    def __init__(
        self,
        rng: random.Random,
        company: str,
        domain: str,
        segment: str,
        owner: str,
        open_work: bool,
    ) -> None:
        self.rng = rng
        self.company = company
        self.segment = segment
        self.owner = owner
        self.open_work = open_work
        if "@" in domain:
            self.contacts = [(domain, company)]
        else:
            people = rng.sample(range(len(FIRST)), 2)
            self.contacts = [
                (f"{FIRST[i].lower()}.{LAST[i].lower()}@{domain}", f"{FIRST[i]} {LAST[i]}")
                for i in people
            ]
        self.rows: list[dict[str, str]] = []

    def add(
        self,
        when: datetime,
        channel: str,
        direction: str,
        *,
        owner: str | None = None,
        feedback: str = "",
        contact: int | None = None,
    ) -> None:
        email, name = self.contacts[
            contact if contact is not None else self.rng.randrange(len(self.contacts))
        ]
        when = when.replace(
            hour=self.rng.randint(8, 17),
            minute=self.rng.choice((0, 15, 30, 45)),
            second=0,
            microsecond=0,
        )
        if when > TODAY:
            return
        self.rows.append(
            {
                "occurred_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "customer": self.company,
                "email": email,
                "name": name,
                "channel": channel,
                "direction": direction,
                "owner": owner or self.owner,
                "subject": self.rng.choice(SUBJECTS[channel]),
                "feedback": feedback,
                "segment": self.segment,
                "open_work": "yes" if self.open_work else "no",
            }
        )

    def conversation(
        self,
        start: datetime,
        end: datetime,
        every_days: float,
        *,
        calls: float = 0.25,
        owner: str | None = None,
    ) -> None:
        """Two-way traffic from ``start`` to ``end``: emails both ways, some calls and meetings."""
        when = start
        while when < end:
            roll = self.rng.random()
            if roll < calls * 0.6:
                self.add(when, "call", "outbound", owner=owner)
            elif roll < calls:
                self.add(when, "meeting", "outbound", owner=owner)
            else:
                self.add(when, "email", "inbound", owner=owner)
                self.add(
                    when + timedelta(days=self.rng.choice((0, 1))), "email", "outbound", owner=owner
                )
            when += timedelta(days=max(1.0, self.rng.gauss(every_days, every_days / 4)))

    def feedback_every(
        self, start: datetime, end: datetime, days: int, scores: tuple[int, int]
    ) -> None:
        when = start + timedelta(days=days)
        while when < end:
            self.add(when, "feedback", "outbound")
            self.add(
                when + timedelta(days=2),
                "feedback",
                "inbound",
                feedback=f"{self.rng.randint(*scores)}/10",
            )
            when += timedelta(days=days)


def story_rows(
    rng: random.Random, story: str, company: str, domain: str, segment: str, index: int
) -> list[dict[str, str]]:
    owner = LEAVER if story in ("handover", "unanswered_leaver") else OWNERS[index % len(OWNERS)]
    s = Story(rng, company, domain, segment, owner, open_work=story == "status_update")
    days = lambda n: TODAY - timedelta(days=n)  # noqa: E731
    if story == "steady":
        begin = START + timedelta(days=rng.randint(0, 120))
        s.conversation(begin, days(12), 10, calls=0.35)
        s.add(days(rng.randint(7, 10)), "email", "inbound")
        s.add(days(rng.randint(4, 6)), "email", "outbound")
        s.add(days(rng.randint(1, 3)), rng.choice(("meeting", "call")), "outbound")
        s.feedback_every(begin, TODAY - timedelta(days=10), 90, (8, 10))
    elif story == "welcome":
        s.add(days(rng.randint(4, 9)), "email", "inbound", contact=0)
        s.add(days(rng.randint(1, 3)), "email", "inbound", contact=0)
    elif story == "welcome_fresh":  # wrote yesterday: not waiting too long yet, not welcomed
        # the same draws in the same order as "welcome", so the stories after it stay as they were
        rng.randint(4, 9)
        s.add(TODAY - timedelta(hours=30), "email", "inbound", contact=0)
        rng.randint(1, 3)
        s.add(TODAY - timedelta(hours=20), "email", "inbound", contact=0)
    elif story == "first_feedback":
        begin = days(rng.randint(70, 90))
        s.conversation(begin, days(3), 9, calls=0.4)
        s.add(begin + timedelta(days=5), "meeting", "outbound")
    elif story == "periodic_feedback":
        begin = START + timedelta(days=rng.randint(0, 30))
        s.conversation(begin, days(5), 12, calls=0.35)
        s.add(begin + timedelta(days=40), "feedback", "outbound")
        s.add(begin + timedelta(days=43), "feedback", "inbound", feedback="7/10")
    elif story == "check_in":
        begin = START + timedelta(days=rng.randint(30, 200))
        s.conversation(begin, days(rng.randint(50, 70)), 14, calls=0.3)
        s.feedback_every(begin, days(80), 120, (7, 9))
        s.add(days(rng.randint(20, 30)), "email", "outbound")
    elif story in ("unanswered", "unanswered_leaver"):
        begin = START + timedelta(days=rng.randint(0, 150))
        until = days(160 if story == "unanswered_leaver" else 10)
        s.conversation(begin, until, 11, calls=0.3)
        s.feedback_every(begin, until, 100, (6, 9))
        s.add(
            days(rng.randint(3, 6)),
            "email",
            "inbound",
            owner=owner if story == "unanswered" else LEAVER,
        )
    elif story == "reconnect":
        begin = START
        s.conversation(begin, days(150), 5, calls=0.35)
        s.feedback_every(begin, days(150), 90, (8, 10))
        s.add(days(rng.randint(60, 80)), "email", "inbound")
        s.add(days(rng.randint(20, 40)), "call", "outbound")
        s.add(days(rng.randint(5, 10)), "email", "inbound")
        s.add(days(rng.randint(2, 4)), "email", "outbound")
    elif story == "pick_up_phone":
        begin = START + timedelta(days=rng.randint(0, 100))
        s.conversation(begin, days(120), 10, calls=0.3)
        s.feedback_every(begin, days(20), 90, (7, 9))
        when = days(110)
        while when < days(2):
            s.add(when, "email", "inbound")
            s.add(when + timedelta(days=1), "email", "outbound")
            when += timedelta(days=rng.randint(9, 13))
    elif story == "handover":
        begin = START + timedelta(days=rng.randint(0, 100))
        s.conversation(begin, days(150), 12, calls=0.3)
        s.feedback_every(begin, days(150), 90, (7, 9))
        s.add(days(rng.randint(20, 60)), "email", "inbound")
        s.add(days(rng.randint(5, 15)), "email", "inbound")
    elif story == "status_update":
        begin = START + timedelta(days=rng.randint(60, 250))
        s.conversation(begin, days(30), 8, calls=0.35)
        s.feedback_every(begin, days(30), 90, (7, 10))
        s.add(days(rng.randint(20, 25)), "meeting", "outbound")
    elif story == "appreciation":
        anniversary = days(365 - rng.randint(3, 10))
        s.conversation(anniversary, days(3), 10, calls=0.35)
        s.feedback_every(anniversary, days(10), 90, (8, 10))
    elif story == "personal":
        begin = START + timedelta(days=rng.randint(100, 300))
        s.conversation(begin, days(6), 16, calls=0.3)
        s.feedback_every(begin, days(10), 120, (7, 10))
    if rng.random() < 0.3:
        s.add(days(rng.randint(30, 200)), "note", "internal")
    return s.rows


def generate(seed: int = 20261102) -> Iterator[dict[str, str]]:
    """Every row of the sample, oldest first, with ids."""
    rng = random.Random(seed)
    rows = [row for index, spec in enumerate(CUSTOMERS) for row in story_rows(rng, *spec, index)]
    rows.sort(key=lambda r: (r["occurred_at"], r["email"], r["channel"], r["direction"]))
    for number, row in enumerate(rows, 1):
        yield {"id": f"demo-{number:05d}", **row}


def main() -> None:
    columns = [
        "id",
        "occurred_at",
        "customer",
        "email",
        "name",
        "channel",
        "direction",
        "owner",
        "subject",
        "feedback",
        "segment",
        "open_work",
    ]
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        count = 0
        for row in generate():
            writer.writerow(row)
            count += 1
    print(f"wrote {count} rows to {OUT}")


if __name__ == "__main__":
    main()
