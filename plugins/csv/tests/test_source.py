"""CsvSource: columns, identity, options, bad rows and real-world files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from engage.adapters import AdapterContext
from engage.errors import ConfigError, SourceError
from engage.models import Channel, Contact, Customer, Direction
from engage.testing import Pull
from engage_csv import CsvSource
from engage_csv.options import CsvOptions

Write = Callable[..., Path]
PullFn = Callable[..., Pull]

HEADER = "id,occurred_at,customer,email,name,channel,direction,owner,subject,feedback,segment,open_work\n"


class TestColumns:
    """Which columns are read, under which names."""

    def test_default_columns_fill_every_field(self, write: Write, pull: PullFn) -> None:
        """With engage's own header names every field reaches the records."""
        write(
            "t.csv",
            HEADER
            + "t1,2024-03-05T14:30:00Z,Acme Inc,Jane@Acme.com,Jane Doe,call,in, Alice@OurCo.com ,Renewal,9,enterprise,yes\n",
        )
        result = pull(path="t.csv")
        assert result.problems == []
        assert result.customers == [
            Customer("acme.com", name="Acme Inc", segment="enterprise", open_work=True)
        ]
        assert result.contacts == [Contact("jane@acme.com", "acme.com", "Jane Doe")]
        [tp] = result.touchpoints
        assert (tp.source, tp.external_id, tp.customer) == ("files", "t1", "acme.com")
        assert tp.occurred_at == datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
        assert (tp.channel, tp.direction) == (Channel.CALL, Direction.INBOUND)
        assert (tp.contact_email, tp.owner, tp.subject, tp.feedback) == (
            "jane@acme.com",
            "alice@ourco.com",
            "Renewal",
            0.9,
        )

    def test_minimal_file_uses_defaults(self, write: Write, pull: PullFn) -> None:
        """Only occurred_at and email are needed; channel is email, direction outbound."""
        write("t.csv", "occurred_at,email\n2024-03-05,jo@acme.com\n")
        [tp] = pull(path="t.csv").touchpoints
        assert (tp.channel, tp.direction, tp.owner, tp.subject, tp.feedback) == (
            Channel.EMAIL,
            Direction.OUTBOUND,
            None,
            None,
            None,
        )

    def test_notes_default_to_internal(self, write: Write, pull: PullFn) -> None:
        """A note without a direction is internal."""
        write("t.csv", "occurred_at,customer,channel\n2024-03-05,Acme,Note\n")
        [tp] = pull(path="t.csv").touchpoints
        assert tp.direction is Direction.INTERNAL

    def test_mapped_columns(self, write: Write, pull: PullFn) -> None:
        """columns maps engage fields to the file's own headers."""
        write(
            "t.csv",
            "Activity Date,Contact Email,Type,Rep\n2024-03-05,jo@acme.com,Phone Call,Bob@OurCo.com\n",
        )
        result = pull(
            path="t.csv",
            columns={
                "occurred_at": "Activity Date",
                "email": "Contact Email",
                "channel": "Type",
                "owner": "Rep",
            },
        )
        [tp] = result.touchpoints
        assert (tp.customer, tp.channel, tp.owner) == ("acme.com", Channel.CALL, "bob@ourco.com")

    def test_header_match_ignores_case_and_spaces(self, write: Write, pull: PullFn) -> None:
        """Headers match exactly first, then case-insensitively and trimmed."""
        write("t.csv", " Occurred_At ,EMAIL, Subject\n2024-03-05,jo@acme.com,Hi\n")
        [tp] = pull(path="t.csv").touchpoints
        assert tp.subject == "Hi"

    def test_missing_occurred_at_column(self, write: Write, pull: PullFn) -> None:
        """A header without occurred_at stops the pull, naming the file and the header."""
        write("t.csv", "a,b,c\n1,2,3\n")
        with pytest.raises(SourceError) as error:
            pull(path="t.csv")
        assert str(error.value) == (
            "t.csv: missing column 'occurred_at' (the header has: a, b, c; "
            'map yours with columns = { occurred_at = "Your Header" })'
        )

    def test_missing_email_and_customer_columns(self, write: Write, pull: PullFn) -> None:
        """A header with neither email nor customer stops the pull."""
        write("t.csv", "occurred_at,subject\n2024-03-05,Hi\n")
        with pytest.raises(
            SourceError,
            match=r"^t.csv: missing column 'email' or 'customer' \(the header has: occurred_at, subject",
        ):
            pull(path="t.csv")

    def test_mapped_column_missing_from_header(self, write: Write, pull: PullFn) -> None:
        """A column named in columns must be in the header."""
        write("t.csv", "occurred_at,email\n2024-03-05,jo@acme.com\n")
        with pytest.raises(
            SourceError,
            match=r"^t.csv: missing column 'Rep' \(the header has: occurred_at, email; map yours with columns = \{ owner",
        ):
            pull(path="t.csv", columns={"owner": "Rep"})

    def test_unknown_columns_key(self, source: Callable[..., CsvSource]) -> None:
        """An unknown field name in columns is a config error listing the valid names."""
        with pytest.raises(ConfigError) as error:
            source(path="t.csv", columns={"when": "Date"})
        assert str(error.value) == (
            "engage.toml: [sources.files]: columns: unknown field 'when' (expected one of: id, occurred_at, customer, "
            "email, name, channel, direction, outcome, owner, subject, feedback, segment, open_work)"
        )


class TestIdentity:
    """Which customer a row belongs to."""

    def test_company_domain(self, write: Write, pull: PullFn) -> None:
        """A company address belongs to its domain; the customer column names it."""
        write(
            "t.csv",
            "occurred_at,email,customer\n2024-03-05,jane@acme.com,Acme Inc\n2024-03-06,joe@acme.com,\n",
        )
        result = pull(path="t.csv")
        assert result.customers == [Customer("acme.com", name="Acme Inc")]
        assert [c.email for c in result.contacts] == ["jane@acme.com", "joe@acme.com"]
        assert {tp.customer for tp in result.touchpoints} == {"acme.com"}

    def test_personal_address_is_its_own_customer(self, write: Write, pull: PullFn) -> None:
        """A Gmail user is a customer of their own, named after the contact."""
        write(
            "t.csv",
            "occurred_at,email,name\n2024-03-05,Jo@Gmail.com,Jo Bloggs\n2024-03-05,ann@gmail.com,\n",
        )
        result = pull(path="t.csv")
        assert result.customers == [
            Customer("jo@gmail.com", name="Jo Bloggs"),
            Customer("ann@gmail.com"),
        ]
        assert [tp.customer for tp in result.touchpoints] == ["jo@gmail.com", "ann@gmail.com"]

    def test_customer_column_without_email(self, write: Write, pull: PullFn) -> None:
        """Without an email the customer column is the key, normalised."""
        write("t.csv", "occurred_at,email,customer\n2024-03-05,,  ACME   Corp \n")
        result = pull(path="t.csv")
        assert result.customers == [Customer("acme corp", name="ACME   Corp")]
        assert result.contacts == []
        assert result.touchpoints[0].contact_email is None

    def test_internal_address_uses_the_customer_column(self, write: Write, pull: PullFn) -> None:
        """Our own address is no contact; the row's customer column decides."""
        write("t.csv", "occurred_at,email,customer\n2024-03-05,alice@ourco.com,Acme\n")
        result = pull(path="t.csv")
        assert result.contacts == []
        [tp] = result.touchpoints
        assert (tp.customer, tp.contact_email) == ("acme", None)

    def test_internal_address_without_customer_is_passed_over(
        self, write: Write, pull: PullFn
    ) -> None:
        """A row between two of our own people (or ours and nobody) is internal: passed over, no problem."""
        write(
            "t.csv",
            "occurred_at,email,customer,owner\n2024-03-05,alice@ourco.com,,bob@ourco.com\n"
            "2024-03-06,alice@ourco.com,,\n2024-03-07,jo@acme.com,,bob@ourco.com\n",
        )
        result = pull(path="t.csv")
        assert [tp.customer for tp in result.touchpoints] == ["acme.com"]
        assert result.problems == []
        assert result.skipped == {"internal": 2}

    def test_internal_address_with_an_outside_owner_is_a_bad_row(
        self, write: Write, pull: PullFn
    ) -> None:
        """Our own address facing an outside owner, with no customer, cannot be placed."""
        write(
            "t.csv",
            "occurred_at,email,customer,owner\n2024-03-05,alice@ourco.com,,jo@acme.com\n"
            "2024-03-06,jo@acme.com,,\n",
        )
        result = pull(path="t.csv")
        assert result.problems == [
            "t.csv:2: customer: missing; alice@ourco.com is one of our own addresses, so the row needs a customer (got '')"
        ]

    def test_records_yielded_once_per_key(self, write: Write, pull: PullFn) -> None:
        """Each customer and contact comes once per pull, however many rows mention it."""
        write("a.csv", "occurred_at,email\n2024-03-05,jo@acme.com\n2024-03-06,jo@acme.com\n")
        write("b.csv", "occurred_at,email\n2024-03-07,JO@acme.com\n")
        result = pull(path="*.csv")
        assert (len(result.customers), len(result.contacts), len(result.touchpoints)) == (1, 1, 3)


GOOD = "2024-03-05,jo@acme.com,,email,in,,"


class TestBadRows:
    """A bad row is reported as FILE:LINE: field: problem (got 'value') and skipped."""

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            (
                "yesterday,jo@acme.com,,,,,",
                "occurred_at: not a date I recognise; use ISO 8601 (2024-03-05 or "
                "2024-03-05T14:30:00Z), a form such as 2024/03/05, 25/03/2024 or Mar 5, 2024, or set date_format (got 'yesterday')",
            ),
            (
                "05/03/2024,jo@acme.com,,,,,",
                "occurred_at: ambiguous day/month: no date in this file has a day above 12 to "
                "show the order (dates that could be either: lines 3); set date_format = "
                '"%d/%m/%Y" (day first) or "%m/%d/%Y" (month first) (got \'05/03/2024\')',
            ),
            (",jo@acme.com,,,,,", "occurred_at: missing; every row needs a date (got '')"),
            (
                "2024-03-05,jo@acme.com,,fax,,,",
                "channel: unknown channel; expected one of: email, e-mail, mail, call, "
                "phone, phone call, meeting, video call, visit, demo, note, feedback, survey, nps, csat, chat, sms, "
                'message, whatsapp, other; or map it: values = { channel = { "fax" = "?" } } with '
                "each ? one of: email, call, meeting, note, feedback, chat, other "
                "(values without a mapping so far: fax) (got 'fax')",
            ),
            (
                "2024-03-05,jo@acme.com,,,sideways,,",
                "direction: unknown direction; expected one of: in, incoming, "
                "received, inbound, out, outgoing, sent, outbound, internal; or map it: "
                'values = { direction = { "sideways" = "?" } } with each ? one of: inbound, '
                "outbound, internal (values without a mapping so far: sideways) (got 'sideways')",
            ),
            (
                "2024-03-05,jo@acme.com,,,,11,",
                "feedback: out of range; expected a number from 0 to 10, a fraction "
                "such as 4/5, or a percentage (got '11')",
            ),
            (
                "2024-03-05,jo@acme.com,,,,great,",
                "feedback: not a score; expected a number from 0 to 10, a fraction "
                "such as 4/5, or a percentage (got 'great')",
            ),
            (
                "2024-03-05,jo@acme.com,,,,,maybe",
                "open_work: expected yes or no (yes/true/1/y/x or no/false/0/n); or map it: "
                'values = { open_work = { "maybe" = "?" } } with each ? one of: yes, no '
                "(values without a mapping so far: maybe) (got 'maybe')",
            ),
            ("2024-03-05,jo at acme,,,,,", "email: not an email address (got 'jo at acme')"),
            ("2024-03-05,,,,,,", "email: missing; every row needs an email or a customer (got '')"),
            (
                "2024-03-05,jo@acme.com,,,,,,extra,more",
                "row: too many fields; the header has 7 (got 'extra,more')",
            ),
        ],
    )
    def test_bad_row(self, write: Write, pull: PullFn, row: str, message: str) -> None:
        """The bad row gives one problem with its line; the good rows around it still load."""
        write(
            "t.csv",
            f"occurred_at,email,customer,channel,direction,feedback,open_work\n{GOOD}\n{row}\n{GOOD}\n",
        )
        result = pull(path="t.csv")
        assert result.problems == [f"t.csv:3: {message}"]
        assert len(result.touchpoints) == 2

    def test_short_row_is_padded(self, write: Write, pull: PullFn) -> None:
        """A row with too few fields reads the missing ones as empty."""
        write("t.csv", "occurred_at,email,subject,channel\n2024-03-05,jo@acme.com\n")
        result = pull(path="t.csv")
        assert result.problems == []
        assert result.touchpoints[0].channel is Channel.EMAIL

    def test_empty_trailing_fields_are_not_ragged(self, write: Write, pull: PullFn) -> None:
        """Spreadsheets' trailing empty cells beyond the header are ignored."""
        write("t.csv", "occurred_at,email\n2024-03-05,jo@acme.com,,\n")
        assert pull(path="t.csv").problems == []

    def test_line_is_where_a_multiline_row_starts(self, write: Write, pull: PullFn) -> None:
        """A row whose quoted field spans lines is reported at its first line."""
        write(
            "t.csv",
            'occurred_at,email,subject\n2024-03-05,jo@acme.com,"two\nlines"\n\n"bad",jo@acme.com,"also\r\ntwo"\n',
        )
        result = pull(path="t.csv")
        assert result.touchpoints[0].subject == "two\nlines"
        assert result.problems[0].startswith("t.csv:5: occurred_at:")

    def test_strict_raises_at_the_first_bad_row(self, write: Write, pull: PullFn) -> None:
        """With strict = true the first bad row stops the pull with the same message."""
        write(
            "t.csv",
            f"occurred_at,email,customer,channel,direction,feedback,open_work\n{GOOD}\n2024-03-05,jo@acme.com,,fax,,,\n",
        )
        with pytest.raises(
            SourceError, match=r"^t.csv:3: channel: unknown channel; .* \(got 'fax'\)$"
        ):
            pull(path="t.csv", strict=True)


class TestOptions:
    """Every config key."""

    def test_glob_reads_every_match_in_order(self, write: Write, pull: PullFn) -> None:
        """A glob reads all matching files, sorted, each with a checkpoint."""
        write("exports/b.csv", "occurred_at,email,subject\n2024-03-05,jo@acme.com,b\n")
        write(
            "exports/a.csv",
            "occurred_at,email,subject\n2024-03-05,jo@acme.com,a\nbad,jo@acme.com,x\n",
        )
        write("exports/notes.txt", "not csv")
        result = pull(path="exports/*.csv")
        assert [tp.subject for tp in result.touchpoints] == ["a", "b"]
        assert result.problems[0].startswith("exports/a.csv:3: occurred_at:")
        assert len(result.checkpoints) == 2

    def test_glob_matching_nothing(self, tmp_path: Path, pull: PullFn) -> None:
        """A glob that matches no file is an error naming it."""
        with pytest.raises(
            SourceError, match=rf"^exports/\*\.csv: no files match \(looked in {tmp_path}\)$"
        ):
            pull(path="exports/*.csv")

    def test_missing_file(self, pull: PullFn) -> None:
        """A missing file is an error naming the path."""
        with pytest.raises(SourceError, match=r"^missing\.csv: no such file"):
            pull(path="missing.csv")

    def test_absolute_path(self, write: Write, pull: PullFn) -> None:
        """An absolute path is used as given."""
        path = write("t.csv", "occurred_at,email\n2024-03-05,jo@acme.com\n")
        assert len(pull(path=str(path)).touchpoints) == 1

    def test_timezone(self, write: Write, pull: PullFn) -> None:
        """Naive times are in timezone; explicit offsets are kept; all become UTC."""
        write(
            "t.csv",
            "occurred_at,email\n2024-07-01 12:00,jo@acme.com\n2024-07-01T12:00:00+00:00,jo@acme.com\n",
        )
        result = pull(path="t.csv", timezone="America/New_York")
        assert [tp.occurred_at for tp in result.touchpoints] == [
            datetime(2024, 7, 1, 16, tzinfo=UTC),
            datetime(2024, 7, 1, 12, tzinfo=UTC),
        ]

    def test_unknown_timezone(self, source: Callable[..., CsvSource]) -> None:
        """An unknown zone is a config error."""
        with pytest.raises(
            ConfigError,
            match=r"^engage.toml: \[sources.files\]: key 'timezone' expected an IANA time zone "
            r".* \(got 'Mars/Olympus'\)$",
        ):
            source(path="t.csv", timezone="Mars/Olympus")

    def test_unknown_encoding(self, source: Callable[..., CsvSource]) -> None:
        """An unknown encoding is a config error."""
        with pytest.raises(
            ConfigError, match=r"key 'encoding' expected a known encoding.* \(got 'klingon'\)$"
        ):
            source(path="t.csv", encoding="klingon")

    def test_explicit_delimiter(self, write: Write, pull: PullFn) -> None:
        """delimiter overrides sniffing; 'tab' means a tab."""
        write("p.csv", "occurred_at|email|subject\n2024-03-05|jo@acme.com|a,b\n")
        write("t.tsv", "occurred_at\temail\n2024-03-05\tjo@acme.com\n")
        assert pull(path="p.csv", delimiter="|").touchpoints[0].subject == "a,b"
        assert len(pull(path="t.tsv", delimiter="tab").touchpoints) == 1

    def test_bad_delimiter(self, source: Callable[..., CsvSource]) -> None:
        """A delimiter must be one character."""
        with pytest.raises(
            ConfigError, match=r"key 'delimiter' expected one character, or 'tab' \(got ';;'\)$"
        ):
            source(path="t.csv", delimiter=";;")

    def test_date_format(self, write: Write, pull: PullFn) -> None:
        """date_format replaces inference and settles day/month ambiguity."""
        write("t.csv", "occurred_at,email\n05/03/2024 09:30,jo@acme.com\n2024-03-05,jo@acme.com\n")
        result = pull(path="t.csv", date_format="%d/%m/%Y %H:%M")
        assert [tp.occurred_at for tp in result.touchpoints] == [
            datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
        ]
        assert result.problems == [
            "t.csv:3: occurred_at: does not match date_format '%d/%m/%Y %H:%M' (got '2024-03-05')"
        ]

    def test_feedback_scale(self, write: Write, pull: PullFn) -> None:
        """Bare feedback numbers are read on feedback_scale."""
        write(
            "t.csv",
            "occurred_at,email,feedback\n2024-03-05,jo@acme.com,4\n2024-03-06,jo@acme.com,9/10\n",
        )
        result = pull(path="t.csv", feedback_scale=5)
        assert [tp.feedback for tp in result.touchpoints] == [0.8, 0.9]

    def test_bad_feedback_scale(self, source: Callable[..., CsvSource]) -> None:
        """feedback_scale must be positive."""
        with pytest.raises(
            ConfigError, match=r"key 'feedback_scale' expected a number above 0 \(got 0.0\)$"
        ):
            source(path="t.csv", feedback_scale=0)

    def test_progress_is_reported(self, write: Write, tmp_path: Path) -> None:
        """Rows are counted to context.progress in batches and at the end of each file."""
        counts: list[tuple[str, int]] = []

        class Recorder:
            def advance(self, what: str, count: int = 1) -> None:
                counts.append((what, count))

        rows = "".join(f"2024-03-05,p{i}@acme.com\n" for i in range(5003))
        write("t.csv", "occurred_at,email\n" + rows)
        options = CsvOptions(path="t.csv")
        list(
            CsvSource(
                options, AdapterContext("files", base_dir=tmp_path, progress=Recorder())
            ).pull(None)
        )
        assert counts == [("rows", 5000), ("rows", 3)]


class TestStableIds:
    """external_id identifies a row across pulls."""

    def test_id_column_is_used(self, write: Write, pull: PullFn) -> None:
        """The id column, trimmed, is the external id."""
        write("t.csv", "id,occurred_at,email\n 42 ,2024-03-05,jo@acme.com\n")
        assert pull(path="t.csv").touchpoints[0].external_id == "42"

    def test_rows_without_id_get_the_same_hash_every_time(self, write: Write, pull: PullFn) -> None:
        """Without an id, the same row gets the same 24-hex-digit id on every read."""
        write(
            "t.csv",
            "id,occurred_at,email,subject\n,2024-03-05,jo@acme.com,a\n,2024-03-05,jo@acme.com,b\n",
        )
        first = [tp.external_id for tp in pull(path="t.csv").touchpoints]
        second = [tp.external_id for tp in pull(path="t.csv").touchpoints]
        assert first == second
        assert len(set(first)) == 2
        assert all(len(i) == 24 and int(i, 16) >= 0 for i in first)


class TestSamples:
    """Real files from csvkit's examples (tests/data)."""

    MAP: ClassVar[dict[str, str]] = {"occurred_at": "a", "customer": "b", "subject": "c"}

    def test_utf8_bom(self, sample: Callable[[str], str], pull: PullFn) -> None:
        """A UTF-8 byte-order mark does not stick to the first header."""
        name = sample("test_utf8_bom.csv")
        result = pull(
            path=name,
            columns={"occurred_at": "foo", "customer": "bar", "subject": "baz"},
            date_format="%d",
        )
        assert result.problems == []
        assert [tp.subject for tp in result.touchpoints] == ["3", "ʤ"]

    def test_semicolons_are_sniffed(self, sample: Callable[[str], str], pull: PullFn) -> None:
        """A semicolon-separated file is read without a delimiter option."""
        result = pull(path=sample("sniff_limit.csv"), columns=self.MAP, date_format="%d")
        [tp] = result.touchpoints
        assert (tp.customer, tp.subject) == ("2", "3")

    def test_cr_only_newlines(self, sample: Callable[[str], str], pull: PullFn) -> None:
        """Old Mac CR line endings work, including a CR inside a quoted field."""
        result = pull(
            path=sample("mac_newlines.csv"),
            columns={"subject": "a", "occurred_at": "b", "customer": "c"},
            date_format="%d",
        )
        assert result.problems == []
        assert [tp.subject for tp in result.touchpoints] == ["1", "Once upon\ra time"]

    def test_blank_lines_before_header(self, sample: Callable[[str], str], pull: PullFn) -> None:
        """Blank lines before the header are skipped and still counted in line numbers."""
        result = pull(path=sample("test_skip_lines.csv"), columns=self.MAP, max_bad_ratio=1.0)
        assert result.problems[0].startswith(
            "test_skip_lines.csv:5: occurred_at: not a date I recognise"
        )

    def test_latin1_decode_error(self, sample: Callable[[str], str], pull: PullFn) -> None:
        """A file that is not UTF-8 stops the pull at the bad line, suggesting latin-1."""
        with pytest.raises(SourceError) as error:
            pull(path=sample("test_latin1.csv"), columns=self.MAP, date_format="%d")
        message = str(error.value)
        assert message.startswith("test_latin1.csv:3: cannot decode byte 0xA9 as utf-8")
        assert 'encoding = "latin-1"' in message

    def test_latin1_with_encoding(self, sample: Callable[[str], str], pull: PullFn) -> None:
        """With encoding = "latin-1" the same file reads."""
        result = pull(
            path=sample("test_latin1.csv"), columns=self.MAP, date_format="%d", encoding="latin-1"
        )
        assert [tp.subject for tp in result.touchpoints] == ["3", "©"]

    def test_ragged_rows(self, sample: Callable[[str], str], pull: PullFn) -> None:
        """csvkit's bad.csv: a long row is refused, a short one padded, a good one read."""
        result = pull(
            path=sample("bad.csv"),
            columns={"occurred_at": "column_c", "customer": "column_b", "subject": "column_a"},
            date_format="%d",
            max_bad_ratio=1.0,
        )
        assert result.problems == [
            'bad.csv:2: row: too many fields; the header has 3 (got "I\'m too long!")',
            "bad.csv:3: occurred_at: missing; every row needs a date (got '')",
        ]
        [tp] = result.touchpoints
        assert (tp.customer, tp.occurred_at.day) == ("mixed types.... uh oh", 17)


class TestMemory:
    """What a pull remembers stays bounded however large the file."""

    def test_each_customer_and_contact_is_sent_once_however_many(
        self, write: Write, pull: PullFn, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """More addresses than the resolver remembers: every record still comes, once."""
        import engage_csv.rows

        monkeypatch.setattr(engage_csv.rows, "MAX_REMEMBERED", 3)
        rows = "".join(f"t{i},2024-03-05,,jo@c{i % 7}.com,Jo,email,out,,,,,\n" for i in range(40))
        result = pull(path=write("t.csv", HEADER + rows).name)
        assert sorted(c.key for c in result.customers) == [f"c{i}.com" for i in range(7)]
        assert sorted(c.email for c in result.contacts) == [f"jo@c{i}.com" for i in range(7)]
        assert len(result.touchpoints) == 40
