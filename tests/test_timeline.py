"""A customer's timeline: its touchpoints in time order, each email once, then its open tasks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner, Result

import engage
from engage.cli import App, cli
from engage.plugins import make_plugin_manager
from engage.store import Store

AS_OF = "2026-03-01T09:00:00+00:00"


def touch(
    source: str,
    external_id: str,
    at: str,
    *,
    customer: str = "acme.com",
    channel: str = "email",
    direction: str = "inbound",
    subject: str | None = "Renewal",
    message_id: str | None = None,
    missed: bool = False,
) -> engage.Touchpoint:
    return engage.Touchpoint(
        source=source,
        external_id=external_id,
        customer=customer,
        occurred_at=engage.parse_moment(at),
        channel=channel,
        direction=direction,
        contact_email=f"jane@{customer}",
        owner="carol@ourco.com",
        subject=subject,
        message_id=message_id,
        missed=missed,
    )


@pytest.fixture
def book(store: Store) -> engage.Engine:
    built = engage.Engine.in_memory(internal_domains=["ourco.com"])
    built.store.close()
    book = attrs.evolve(built, store=store)  # the same engine on each backend's store
    book.add(
        [
            engage.Customer("acme.com", name="Acme Logistics"),
            engage.Customer("acmeware.io", name="Acmeware"),
            engage.Customer("globex.com", name="Globex Corp"),
        ]
    )
    book.add(  # as a sync writes: one source at a time
        [
            touch("mailbox", "m2", "2026-02-20T09:00Z", message_id="<b@acme.com>"),
            touch("mailbox", "m1", "2026-01-10T10:00Z", channel="meeting", direction="outbound"),
        ]
    )
    book.add(
        [
            # the CRM logged the mailbox's email: same Message-ID, a minute later
            touch("crm", "c9", "2026-02-20T09:01Z", message_id="<b@acme.com>"),
            touch("crm", "c3", "2026-02-25T16:00Z", channel="call", missed=True, subject=None),
            touch("crm", "g1", "2026-02-01T09:00Z", customer="globex.com"),
        ]
    )
    return book


class TestEngineTimeline:
    """Engine.timeline and the records it returns."""

    def test_touchpoints_come_oldest_first_with_every_field(self, book: engage.Engine) -> None:
        """Time order; each entry carries the stored touchpoint."""
        entries = book.timeline("acme.com")
        assert [e.touchpoint.external_id for e in entries] == ["m1", "m2", "c3"]
        first = entries[0].touchpoint
        assert first.occurred_at == datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
        assert (first.channel, first.direction) == (engage.Channel.MEETING, "outbound")
        assert (first.contact_email, first.owner, first.subject) == (
            "jane@acme.com",
            "carol@ourco.com",
            "Renewal",
        )
        assert entries[2].touchpoint.missed is True

    def test_an_email_two_sources_hold_is_shown_once_with_both_sources(
        self, book: engage.Engine
    ) -> None:
        """The copy the store merged joins the kept touchpoint instead of repeating it."""
        entry = book.timeline("acme.com")[1]
        assert (entry.touchpoint.source, entry.touchpoint.external_id) == ("mailbox", "m2")
        assert entry.merged == (engage.MergedCopy("crm", "c9"),)
        assert entry.sources == ("mailbox", "crm")
        assert entry.to_json()["sources"] == ["mailbox", "crm"]

    def test_since_and_as_of_bound_the_range(self, book: engage.Engine) -> None:
        """Both ends are included; text is ISO 8601 in UTC, a bare date its midnight."""
        ids = [e.touchpoint.external_id for e in book.timeline("acme.com", since="2026-02-20")]
        assert ids == ["m2", "c3"]
        ids = [
            e.touchpoint.external_id
            for e in book.timeline("acme.com", as_of=datetime(2026, 2, 20, 9, 0, tzinfo=UTC))
        ]
        assert ids == ["m1", "m2"]

    def test_a_copy_whose_kept_touchpoint_is_out_of_range_is_marked(
        self, book: engage.Engine
    ) -> None:
        """Cut off from the email it repeats, a copy shows on its own, saying where it counts."""
        entries = book.timeline("acme.com", since="2026-02-20T09:00:30Z")
        copy = entries[0]
        assert copy.touchpoint.external_id == "c9"
        assert copy.duplicate_of == engage.MergedCopy("mailbox", "m2")
        assert copy.to_json()["duplicate_of"] == {"source": "mailbox", "external_id": "m2"}

    def test_a_customer_without_touchpoints_has_an_empty_timeline(
        self, book: engage.Engine
    ) -> None:
        """Known but never touched: no entries, no error."""
        assert book.timeline("acmeware.io") == []

    def test_naive_times_are_refused(self, book: engage.Engine) -> None:
        """A naive datetime has no moment: refused, never assumed."""
        with pytest.raises(engage.ValidationError, match="timezone-aware"):
            book.timeline("acme.com", since=datetime(2026, 1, 1))


class TestFindCustomer:
    """A customer is named by its key, its name or the start of either."""

    @pytest.mark.parametrize(
        ("text", "key"),
        [
            ("acme.com", "acme.com"),
            ("ACME.com", "acme.com"),
            ("acme logistics", "acme.com"),
            ("Glob", "globex.com"),
            ("acmew", "acmeware.io"),
        ],
    )
    def test_key_name_or_unique_prefix(self, book: engage.Engine, text: str, key: str) -> None:
        """Exact key, then the name ignoring case, then a prefix only one customer has."""
        assert book.find_customer(text) == key

    def test_a_prefix_of_several_customers_names_them(self, book: engage.Engine) -> None:
        """Ambiguity is an error that lists the candidates."""
        with pytest.raises(engage.ValidationError, match=r"matches 2 customers: acme\.com"):
            book.find_customer("acme")

    def test_an_unknown_customer_suggests_close_ones(self, book: engage.Engine) -> None:
        """A typo gets the closest keys or names."""
        with pytest.raises(engage.ValidationError, match=r"no customer 'acne\.com'.*acme\.com"):
            book.find_customer("acne.com")


# -- engage timeline -------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_target: str) -> Path:
    (tmp_path / "engage.toml").write_text(
        f'store = {json.dumps(store_target)}\ninternal_domains = ["ourco.com"]\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENGAGE_CONFIG", raising=False)
    monkeypatch.setenv("ENGAGE_LOAD_PLUGINS", "")
    with engage.open() as book:
        book.add(engage.Customer("acme.com", name="Acme Logistics"))
        book.add(
            [
                touch(
                    "mailbox", "m1", "2026-01-10T10:00Z", channel="meeting", direction="outbound"
                ),
                touch("mailbox", "m2", "2026-02-20T09:00Z", message_id="<b@acme.com>"),
            ]
        )
        book.add(
            [
                touch("crm", "c9", "2026-02-20T09:01Z", message_id="<b@acme.com>"),
                touch(
                    "crm", "c3", "2026-02-25T16:00Z", channel="call", missed=True, subject="[b]x"
                ),
            ]
        )
    return tmp_path


def run(*args: str) -> Result:
    pm = make_plugin_manager(entry_points=False)
    return CliRunner().invoke(cli, list(args), obj=App(None, pm=pm))


def test_timeline_table_shows_each_touch_once_and_the_open_tasks(project: Path) -> None:
    """Time, channel, direction (missed), contact, owner, subject, sources; then tasks."""
    result = run("timeline", "Acme", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    out: str = result.output
    assert "Timeline of Acme Logistics (acme.com): 3 touchpoints" in out
    assert "2026-02-20 09:00" in out and "2026-02-20 09:01" not in out
    assert "mailbox + crm" in out
    assert "inbound, missed" in out
    assert "[b]x" in out  # a subject is text, never markup
    assert "unanswered" in out  # the missed call waits for a call back


def test_timeline_json_lists_touchpoints_and_tasks(project: Path) -> None:
    """--json: the customer, its touchpoints oldest first with their sources, its tasks."""
    result = run("timeline", "acme.com", "--json", "--since", "2026-02-01", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["customer"], data["name"]) == ("acme.com", "Acme Logistics")
    assert data["since"] == "2026-02-01T00:00:00+00:00"
    assert [t["external_id"] for t in data["touchpoints"]] == ["m2", "c3"]
    assert data["touchpoints"][0]["sources"] == ["mailbox", "crm"]
    assert data["touchpoints"][1]["missed"] is True
    assert {t["rule"] for t in data["tasks"]} >= {"unanswered"}
    assert all(t["customer"] == "acme.com" for t in data["tasks"])


def test_timeline_of_an_unknown_customer_is_one_error_line(project: Path) -> None:
    """Exit 1 with the close matches."""
    result = run("timeline", "acne.com")
    assert result.exit_code == 1
    assert "no customer 'acne.com'" in result.output
    assert "acme.com" in result.output


def test_timeline_since_must_be_a_date(project: Path) -> None:
    """A bad --since is bad usage (exit 2)."""
    result = run("timeline", "acme.com", "--since", "last week")
    assert result.exit_code == 2
    assert "--since" in result.output
