"""Presets: vendor-shaped exports (written from the documented columns) read with one key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engage.errors import ConfigError, SourceError
from engage.models import Channel, Direction
from engage.testing import Project, Pull
from engage_csv import CsvSource

Write = Callable[..., Path]
PullFn = Callable[..., Pull]

# Salesforce Data Export files: the Task, Event, Contact, Lead, User and Account objects' fields
TASK = (
    "Id,WhoId,WhatId,AccountId,OwnerId,Subject,ActivityDate,Status,Priority,Type,TaskSubtype,"
    "CallType,CallDisposition,CompletedDateTime,IsDeleted,IsClosed\n"
    "00T01,003A1,006X1,001A1,005U1,Kick-off call,2026-02-02,Completed,Normal,Call,Call,"
    "Outbound,Connected,2026-02-02T10:00:00.000Z,false,true\n"
    "00T02,00QL1,,,005U2,Send quote,2026-02-27,Not Started,High,,Task,,,,false,false\n"
    "00T03,00QL1,,,005U2,Prep for demo,2026-02-10,Completed,Normal,Prep,Task,,,"
    "2026-02-10T15:00:00.000Z,false,true\n"
    "00T04,003A2,,001A1,005U1,Quarterly review,2026-02-12,Completed,Normal,Meeting,Task,,,"
    "2026-02-12T09:30:00.000Z,false,true\n"
    "00T05,003A1,,001A1,005U1,Follow up,2026-03-10,Deferred,Normal,Email,Email,,,,false,false\n"
    "00T06,003A2,,001A1,005U1,Old,2026-01-05,Completed,Normal,Email,Email,,,"
    "2026-01-05T08:00:00.000Z,true,true\n"
)
EVENT = (
    "Id,WhoId,WhatId,AccountId,OwnerId,Subject,ActivityDateTime,ActivityDate,DurationInMinutes,"
    "Type,EventSubtype,IsAllDayEvent\n"
    "00U01,003A1,,001A1,005U2,Onsite visit,2026-02-20T13:00:00.000Z,2026-02-20,60,,Event,false\n"
)
CONTACT = (
    "Id,AccountId,FirstName,LastName,Name,Email,Title\n"
    "003A1,001A1,Jane,Doe,Jane Doe,jane.doe@acme-logistics.com,COO\n"
    "003A2,001A1,Raj,Patel,Raj Patel,raj@acme-logistics.com,CFO\n"
)
LEAD = "Id,FirstName,LastName,Name,Company,Email,Status\n00QL1,Lee,Wong,Lee Wong,Globex Corp,lee@globex.example,Open\n"
USER = (
    "Id,Username,Name,Email,IsActive\n"
    "005U1,carol@ourco.com.prod,Carol King,Carol@OurCo.com,true\n"
    "005U2,dave@ourco.com.prod,Dave Lo,dave@ourco.com,true\n"
)
ACCOUNT = "Id,Name,Industry\n001A1,Acme Logistics GmbH,Transport\n"


@pytest.fixture
def salesforce(write: Write) -> None:
    write("sf/Task.csv", TASK)
    write("sf/Event.csv", EVENT)
    write("sf/Contact.csv", CONTACT)
    write("sf/Lead.csv", LEAD)
    write("sf/User.csv", USER)
    write("sf/Account.csv", ACCOUNT)


@pytest.mark.usefixtures("salesforce")
class TestSalesforce:
    """preset = "salesforce": Task and Event exports with ids resolved from the other files."""

    def test_task_and_event_exports(self, pull: PullFn) -> None:
        """Completed tasks and events only; contacts by email, customers by company, owners by email."""
        result = pull(path="sf/Task.csv", preset="salesforce", values={"channel": {"Prep": "note"}})
        assert result.problems == []
        assert [(tp.external_id, tp.channel, tp.direction) for tp in result.touchpoints] == [
            ("00T01", Channel.CALL, Direction.OUTBOUND),
            ("00T03", Channel.NOTE, Direction.INTERNAL),
            ("00T04", Channel.MEETING, Direction.OUTBOUND),
        ]
        assert result.skipped == {
            "Status = Not Started": 1,
            "Status = Deferred": 1,
            "IsDeleted = true": 1,
        }
        assert {c.key: c.name for c in result.customers} == {
            "acme-logistics.com": "Acme Logistics GmbH",
            "globex.example": "Globex Corp",
        }
        assert {tp.owner for tp in result.touchpoints} == {"carol@ourco.com", "dave@ourco.com"}
        event = pull(path="sf/Event.csv", preset="salesforce").touchpoints
        assert [(tp.channel, tp.contact_email) for tp in event] == [
            (Channel.MEETING, "jane.doe@acme-logistics.com")
        ]

    def test_an_unmapped_type_names_the_line_to_add(self, pull: PullFn) -> None:
        """Without a mapping for Prep the row is refused, with the values line to add."""
        result = pull(path="sf/Task.csv", preset="salesforce")
        [problem] = result.problems
        assert problem.startswith("sf/Task.csv:4: channel: unknown channel")
        assert 'values = { channel = { "Prep" = "?" } }' in problem

    def test_the_lookup_files_must_be_beside_the_export(self, write: Write, pull: PullFn) -> None:
        """No Contact.csv or Lead.csv beside Task.csv: the file cannot be read, and says why."""
        write("other/Task.csv", TASK)
        with pytest.raises(SourceError) as error:
            pull(path="other/Task.csv", preset="salesforce")
        assert str(error.value) == (
            "other/Task.csv: the salesforce preset looks up WhoId in Contact.csv, Lead.csv beside "
            "the source's files (other), and none is there; export them too, or set your own "
            "[sources.files.lookups.WhoId]"
        )

    def test_through_engage_sync(self, csv_project: Project) -> None:
        """End to end: the preset and lookups through the CLI, health per company, tasks to owners."""
        project = csv_project
        project.config(
            '[sources.salesforce]\nplugin = "csv"\npath = "sf/[TE]*.csv"\npreset = "salesforce"\n'
            'values = { channel = { "Prep" = "note" } }\n\n'
            '[sinks.todo]\nplugin = "csv"\npath = "follow-ups.csv"\n'
        )
        run = project.sync(as_of="2026-03-01T09:00:00+00:00")
        assert run.code == 0, run.stderr
        report = run.json["sources"]["salesforce"]
        assert report["touchpoints"] == 4
        assert report["skipped"] == {
            "Status = Not Started": 1,
            "Status = Deferred": 1,
            "IsDeleted = true": 1,
        }
        health = project.run("health", "--json").json
        assert {h["customer"] for h in health} == {"acme-logistics.com", "globex.example"}
        tasks = project.run("tasks", "--json").json
        assert tasks
        assert {t["owner"] for t in tasks} <= {"carol@ourco.com", "dave@ourco.com", None}
        again = project.sync(as_of="2026-03-01T09:00:00+00:00")
        assert again.json["sources"]["salesforce"]["records"] == 0


class TestHubSpot:
    """preset = "hubspot": an activities export with HubSpot's property labels."""

    def test_calls_and_meetings_export(self, write: Write, pull: PullFn) -> None:
        """Associated contacts as 'Name (email)', call outcomes, meetings not held passed over."""
        write(
            "hs.csv",
            "Record ID,Activity date,Activity type,Call direction,Call outcome,Meeting outcome,"
            "Associated Contact,Associated Company,Activity assigned to,Call title,Meeting name\n"
            "101,2026-02-02 10:00,Call,Outbound,Connected,,Jane Doe (jane@acme.com),Acme,"
            "Carol King (carol@ourco.com),Intro,\n"
            "102,2026-02-03 11:00,Call,Inbound,No answer,,jo@gmail.com,,carol@ourco.com,Callback,\n"
            "103,2026-02-04 12:00,Meeting,,,Completed,Jane Doe (jane@acme.com),Acme,,,QBR\n"
            "104,2026-03-04 12:00,Meeting,,,Scheduled,Jane Doe (jane@acme.com),Acme,,,Next QBR\n",
        )
        result = pull(path="hs.csv", preset="hubspot")
        assert result.problems == []
        assert [
            (
                tp.external_id,
                tp.channel,
                tp.direction,
                tp.missed,
                tp.contact_email,
                tp.owner,
                tp.subject,
            )
            for tp in result.touchpoints
        ] == [
            (
                "101",
                Channel.CALL,
                Direction.OUTBOUND,
                False,
                "jane@acme.com",
                "carol@ourco.com",
                "Intro",
            ),
            (
                "102",
                Channel.CALL,
                Direction.INBOUND,
                True,
                "jo@gmail.com",
                "carol@ourco.com",
                "Callback",
            ),
            ("103", Channel.MEETING, Direction.OUTBOUND, False, "jane@acme.com", None, "QBR"),
        ]
        assert result.contacts[0].name == "Jane Doe"
        assert result.skipped == {"Meeting outcome = Scheduled": 1}


class TestPipedrive:
    """preset = "pipedrive": an activities export; only done activities count."""

    def test_activities_export(self, write: Write, pull: PullFn) -> None:
        """Done activities become touchpoints; to-dos are passed over; lunch is a meeting."""
        write(
            "pd.csv",
            "ID,Subject,Type,Done,Due date,Marked as done time,Contact person,Person - Email,"
            "Organization,Assigned to user\n"
            "1,Discovery,Call,Done,2026-02-02,2026-02-02 10:15:00,Jane Doe,jane@acme.com,Acme,"
            "carol@ourco.com\n"
            "2,Lunch with Jane,Lunch,Done,2026-02-05,,Jane Doe,jane@acme.com,Acme,carol@ourco.com\n"
            "3,Send proposal,Task,To do,2026-03-09,,Jane Doe,jane@acme.com,Acme,carol@ourco.com\n",
        )
        result = pull(path="pd.csv", preset="pipedrive")
        assert result.problems == []
        assert [(tp.external_id, tp.channel, tp.occurred_at.day) for tp in result.touchpoints] == [
            ("1", Channel.CALL, 2),
            ("2", Channel.MEETING, 5),
        ]
        assert result.skipped == {"Done = To do": 1}
        assert result.customers[0].name == "Acme"


class TestPresetRules:
    """A preset is only defaults; the user's keys win."""

    def test_an_unknown_preset(self, source: Callable[..., CsvSource]) -> None:
        """The error lists the presets."""
        with pytest.raises(ConfigError) as error:
            source(path="t.csv", preset="zoho")
        assert str(error.value) == (
            "engage.toml: [sources.files]: key 'preset' expected one of 'salesforce', 'hubspot', "
            "'pipedrive': defaults for a CRM's export: salesforce, hubspot or pipedrive "
            "(got str 'zoho')"
        )

    def test_the_users_columns_and_filters_win(self, write: Write, pull: PullFn) -> None:
        """columns and skip given by the user replace the preset's for that field or header."""
        write(
            "t.csv",
            "Id,When,Email,Status\n1,2026-02-02,jo@acme.com,Not Started\n2,2026-02-03,jo@acme.com,Done\n",
        )
        options: dict[str, Any] = {
            "path": "t.csv",
            "preset": "salesforce",
            "columns": {"occurred_at": "When", "email": "Email"},
        }
        assert [tp.external_id for tp in pull(**options).touchpoints] == ["2"]
        mine = pull(**options, skip={"Status": ["Done"]})
        assert [tp.external_id for tp in mine.touchpoints] == ["1"]


class TestAttributes:
    """attributes = [headers]: copied into the customer's attributes."""

    def test_columns_are_copied_to_the_customer(self, write: Write, pull: PullFn) -> None:
        """Empty cells are left out; the first row naming a customer gives its attributes."""
        write(
            "t.csv",
            "occurred_at,email,Plan,ARR\n2026-02-02,jo@acme.com,Gold,12000\n"
            "2026-02-03,jo@acme.com,Silver,\n2026-02-03,ann@initech.com,,500\n",
        )
        result = pull(path="t.csv", attributes=["Plan", "ARR"])
        assert {c.key: dict(c.attributes) for c in result.customers} == {
            "acme.com": {"Plan": "Gold", "ARR": "12000"},
            "initech.com": {"ARR": "500"},
        }

    def test_a_missing_attribute_column_is_named(self, write: Write, pull: PullFn) -> None:
        """Like any column the options need."""
        write("t.csv", "occurred_at,email\n2026-02-02,jo@acme.com\n")
        with pytest.raises(SourceError, match=r"^t.csv: missing column 'Plan' of attributes"):
            pull(path="t.csv", attributes=["Plan"])

    def test_attributes_must_be_a_list_of_headers(self, source: Callable[..., CsvSource]) -> None:
        """A config error names the key."""
        with pytest.raises(
            ConfigError, match=r"key 'attributes' expected a list of headers, none of them empty"
        ):
            source(path="t.csv", attributes=["Plan", ""])
