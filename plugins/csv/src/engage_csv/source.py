"""CsvSource: touchpoints, customers and contacts from CSV files exported by anything.

See the package README for the config keys. One pull reads every file the ``path`` option
matches, skipping files unchanged since the last pull and reading only the rows appended to
files that grew, and yields a :class:`~engage.adapters.Checkpoint` after each file.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections import OrderedDict
from collections.abc import Generator, Iterator, Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import IO, Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engage.adapters import (
    FUTURE_TOLERANCE,
    AdapterContext,
    Checkpoint,
    Option,
    Problem,
    SourceItem,
)
from engage.errors import ConfigError, SourceError
from engage.identity import email_domain, normalize_customer
from engage.models import Channel, Contact, Customer, Touchpoint
from engage_csv.cursor import (
    FileState,
    HashingReader,
    dump_cursor,
    load_cursor,
    options_hash,
    plan,
    prefix_matches,
)
from engage_csv.dates import DateParser
from engage_csv.fields import (
    FieldError,
    parse_channel,
    parse_direction,
    parse_feedback,
    parse_flag,
    parse_outcome,
)
from engage_csv.header import FIELDS, IDENTIFYING, find_files, match_header
from engage_csv.keyindex import KeyIndex

_SNIFF_BYTES = 64 * 1024
_PROGRESS_EVERY = 5000
#: Addresses resolved to customers within a pull (the most recently used kept; past it the
#: least recently used are resolved again), and customer and contact keys kept as text
#: beside their digests, so memory stays flat on huge files.
_MAX_REMEMBERED = 8192
_DELIMITERS = ",;\t|"
#: The channels an outcome applies to: only a call or a meeting can be missed.
_CONVERSATIONS = frozenset({Channel.CALL, Channel.MEETING})


class _Sent:
    """The customers and contacts sent in this pull: all of them as 8-byte digests, and the
    lately seen ones as text too, so the busy ones (most rows) are found without hashing."""

    def __init__(self) -> None:
        self._all = KeyIndex()
        self._lately: set[str] = set()

    def __contains__(self, key: str) -> bool:
        if key in self._lately:
            return True
        if key in self._all:
            self._remember(key)
            return True
        return False

    def add(self, key: str) -> None:
        self._all.add(key)
        self._remember(key)

    def _remember(self, key: str) -> None:
        if len(self._lately) >= _MAX_REMEMBERED:
            self._lately.clear()
        self._lately.add(key)


class _BadRow(Exception):
    def __init__(self, field: str, problem: str, value: str) -> None:
        super().__init__(f"{field}: {problem} (got {value!r})")


class _Lines:
    """Feeds lines to :func:`csv.reader`, counting characters and noticing the end of input."""

    __slots__ = ("_lines", "chars", "done", "last")

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.chars = 0
        self.done = False
        self.last = ""

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        try:
            line = next(self._lines)
        except StopIteration:
            self.done = True
            raise
        self.chars += len(line)
        self.last = line
        return line


def _terminated(line: str) -> bool:
    return line.endswith(("\n", "\r"))


class CsvSource:
    """Reads touchpoints from one CSV file or a glob of them (``plugin = "csv"``)."""

    options: ClassVar[Mapping[str, Option]] = {
        "path": Option(str, required=True, help="a CSV file or a glob such as 'exports/*.csv'"),
        "columns": Option(
            dict, default={}, help='engage field → your header, e.g. { email = "Contact Email" }'
        ),
        "timezone": Option(str, default="UTC", help="the zone of times written without an offset"),
        "encoding": Option(str, default="utf-8", help="the files' text encoding, e.g. 'latin-1'"),
        "delimiter": Option(str, default=None, help="the field separator; sniffed when not given"),
        "date_format": Option(str, default=None, help="a strptime format such as '%d/%m/%Y'"),
        "strict": Option(
            bool, default=False, help="stop at the first bad row instead of skipping it"
        ),
        "feedback_scale": Option(
            float, default=10.0, help="the top of the scale of bare feedback numbers"
        ),
    }

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        """Build the source from resolved options (see :func:`engage.adapters.resolve_options`).

        Raises:
            ConfigError: an unknown field in ``columns``, an unknown time zone or encoding,
                a delimiter that is not one character, or a non-positive ``feedback_scale``.
        """
        given = {key: option.default for key, option in self.options.items()} | dict(options)
        where = f"[sources.{context.name}]"
        self.context = context
        if not given["path"]:
            raise ConfigError(f"{where}: missing required key 'path' ({self.options['path'].help})")
        self.path: str = given["path"]
        self.columns: dict[str, str] = self._check_columns(given["columns"] or {}, where)
        self.zone: tzinfo = self._check_zone(given["timezone"], where)
        self.encoding: str = self._check_encoding(given["encoding"], where)
        self.delimiter: str | None = self._check_delimiter(given["delimiter"], where)
        self.date_format: str | None = given["date_format"]
        self.strict: bool = bool(given["strict"])
        self.feedback_scale = float(given["feedback_scale"])
        if not self.feedback_scale > 0:
            raise ConfigError(
                f"{where}: feedback_scale must be above 0 (got {given['feedback_scale']!r})"
            )
        self.parse_date = DateParser(self.zone, self.date_format)
        #: Rows dated after this are refused (the real clock and a day, set at each pull).
        self.latest: datetime = context.now() + FUTURE_TOLERANCE
        #: email → (is an address, its customer key): resolved once per distinct address
        self._customers: OrderedDict[str, tuple[bool, str | None]] = OrderedDict()
        identity = context.identity
        self.fingerprint = options_hash(
            {
                "name": context.name,
                "columns": self.columns,
                "timezone": given["timezone"],
                "encoding": self.encoding,
                "delimiter": self.delimiter,
                "date_format": self.date_format,
                "feedback_scale": self.feedback_scale,
                "internal": sorted(identity.internal_domains),
                "personal": hashlib.sha256(
                    " ".join(sorted(identity.personal_domains)).encode()
                ).hexdigest(),
            }
        )

    @staticmethod
    def _check_columns(columns: Mapping[str, Any], where: str) -> dict[str, str]:
        for key, value in columns.items():
            if key not in FIELDS:
                raise ConfigError(
                    f"{where}: columns: unknown field '{key}' (expected one of: {', '.join(FIELDS)})"
                )
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: columns: '{key}' must name a header (got {value!r})")
        return dict(columns)

    @staticmethod
    def _check_zone(name: str, where: str) -> tzinfo:
        if name.upper() == "UTC":
            return UTC
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"{where}: timezone: unknown time zone {name!r} (use an IANA name such as 'Europe/Berlin' or 'UTC')"
            ) from None

    @staticmethod
    def _check_encoding(name: str, where: str) -> str:
        try:
            canonical = codecs.lookup(name).name
        except LookupError:
            raise ConfigError(
                f"{where}: encoding: unknown encoding {name!r} (e.g. 'utf-8', 'latin-1', 'cp1252')"
            ) from None
        return "utf-8-sig" if canonical == "utf-8" else canonical

    @staticmethod
    def _check_delimiter(value: str | None, where: str) -> str | None:
        if value is None:
            return None
        value = {"tab": "\t", "\\t": "\t"}.get(value.lower(), value)
        if len(value) != 1:
            raise ConfigError(f"{where}: delimiter must be one character, or 'tab' (got {value!r})")
        return value

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        """Yield the records of new and changed files, with a checkpoint after each file read."""
        self.latest = self.context.now() + FUTURE_TOLERANCE
        files = find_files(self.path, self.context.path(self.path), self.context.base_dir)
        keyed = [(display, path, str(path.resolve())) for display, path in files]
        matched = {key for _, _, key in keyed}
        states = {key: state for key, state in load_cursor(cursor).items() if key in matched}
        seen = _Sent()
        emitted = cursor
        for display, path, key in keyed:
            stat = path.stat()
            action = plan(states.get(key), stat, self.fingerprint)
            if action == "skip":
                continue
            previous = states.get(key) if action == "resume" else None
            states[key] = yield from self._read(
                display, path, key, stat.st_size, stat.st_mtime_ns, previous, seen
            )
            emitted = dump_cursor(states)
            yield Checkpoint(emitted)
        final = dump_cursor(states)
        if final != emitted:
            yield Checkpoint(final)

    def _sniff(self, raw: IO[bytes]) -> str:
        if self.delimiter is not None:
            return self.delimiter
        raw.seek(0)
        sample = raw.read(_SNIFF_BYTES).decode(self.encoding, errors="replace").lstrip("\r\n")
        if len(sample) >= _SNIFF_BYTES // 2:  # cut at the last full line
            sample = sample[: max(sample.rfind("\n"), sample.rfind("\r")) + 1] or sample
        try:
            return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
        except csv.Error:
            return ","

    def _read(
        self,
        display: str,
        path: Path,
        key: str,
        size: int,
        mtime_ns: int,
        previous: FileState | None,
        seen: _Sent,
    ) -> Generator[SourceItem, None, FileState]:
        with path.open("rb") as raw:
            digest = prefix_matches(raw, previous) if previous is not None else None
            if previous is not None and digest is not None:
                start, base_line, hash_from = previous.offset, previous.line, previous.size
                header: list[str] | None = list(previous.header)
                delimiter = previous.delimiter
            else:
                digest, start, base_line, hash_from, header = hashlib.sha256(), 0, 1, 0, None
                delimiter = self._sniff(raw)
            encoding = self.encoding if start == 0 else self.encoding.removesuffix("-sig")
            stream = io.BufferedReader(HashingReader(raw, start, size, digest, hash_from), 1 << 16)
            text = io.TextIOWrapper(stream, encoding=encoding, newline="")
            lines = _Lines(text)
            rows = csv.reader(lines, delimiter=delimiter)
            try:
                offset_line, offset_chars, resumable = yield from self._rows(
                    display, rows, lines, header, base_line, delimiter, seen
                )
            except UnicodeDecodeError as error:
                raise self._decode_error(
                    display, raw, start, size, encoding, base_line, error
                ) from None
            tail = lines.chars - offset_chars
            if tail == 0:
                offset = size
            elif tail <= len(lines.last):
                offset = size - len(lines.last[-tail:].encode(encoding))
            else:  # an unterminated quoted field spanning lines at the end: measure it
                raw.seek(start)
                consumed = raw.read(size - start).decode(encoding)
                offset = size - len(consumed[offset_chars:].encode(encoding))
            if not _ascii_compatible(encoding):
                resumable = None
            return FileState(
                path=key,
                size=size,
                mtime_ns=mtime_ns,
                sha256=digest.hexdigest(),
                offset=offset,
                line=base_line + offset_line,
                options=self.fingerprint,
                header=tuple(resumable or ()),
                delimiter=delimiter,
            )

    def _rows(
        self,
        display: str,
        rows: Any,
        lines: _Lines,
        header: list[str] | None,
        base_line: int,
        delimiter: str,
        seen: _Sent,
    ) -> Generator[SourceItem, None, tuple[int, int, list[str] | None]]:
        """Yield the records of the rows.

        Returns the line count and character count where the last complete row ended, and
        the header, or None when a later pull cannot resume this file from there.
        """
        if header is None:
            for row in rows:
                if any(cell.strip() for cell in row):
                    header = [row[0].lstrip("\ufeff"), *row[1:]]
                    break
            if header is None or lines.done or not _terminated(lines.last):
                return rows.line_num, lines.chars, None  # empty, or a header still being written
        found = match_header(display, header, self.columns)
        width = len(header)
        index = {field: found.get(field, width) for field in FIELDS}  # width → the padding ""
        identifying = [index[field] for field in IDENTIFYING]
        pos_line, pos_chars = rows.line_num, lines.chars
        row_line, row_chars = pos_line, pos_chars
        last_done = False
        count = 0
        progress = self.context.progress
        for row in rows:
            row_line, row_chars = pos_line, pos_chars
            pos_line, pos_chars = rows.line_num, lines.chars
            last_done = lines.done
            if not any(row):
                continue
            count += 1
            if count % _PROGRESS_EVERY == 0:
                progress.advance("rows", _PROGRESS_EVERY)
            if len(row) > width and any(cell.strip() for cell in row[width:]):
                bad: _BadRow | None = _BadRow(
                    "row", f"too many fields; the header has {width}", delimiter.join(row[width:])
                )
            else:
                cells = row[:width] + [""] * (width + 1 - min(len(row), width))
                try:
                    records = self._records(cells, index, identifying, seen)
                except _BadRow as error:
                    bad = error
                else:
                    yield from records
                    continue
            message = f"{display}:{base_line + row_line}: {bad}"
            if self.strict:
                raise SourceError(message)
            yield Problem(message)
        progress.advance("rows", count % _PROGRESS_EVERY)
        if count and (last_done or not _terminated(lines.last)):
            return row_line, row_chars, header  # the last row may still be growing
        return pos_line, pos_chars, header

    def _records(
        self, cells: list[str], index: Mapping[str, int], identifying: list[int], seen: _Sent
    ) -> list[Customer | Contact | Touchpoint]:
        """The records of one row (cells padded with one trailing empty cell).

        Raises:
            _BadRow: a cell cannot be read; nothing of the row is recorded as seen.
        """
        occurred_text = cells[index["occurred_at"]]
        try:
            occurred_at = self.parse_date(occurred_text)
        except FieldError as error:
            raise _BadRow("occurred_at", str(error), occurred_text) from None
        if occurred_at > self.latest:  # a typo such as 3609: engage.future_problem's rule
            raise _BadRow("occurred_at", "in the future", occurred_text)
        field = "channel"
        try:
            channel = parse_channel(cells[index["channel"]])
            field = "direction"
            direction = parse_direction(cells[index["direction"]], channel)
            field = "outcome"
            missed = parse_outcome(cells[index["outcome"]]) and channel in _CONVERSATIONS
            field = "feedback"
            feedback = parse_feedback(cells[index["feedback"]], self.feedback_scale)
            field = "open_work"
            open_work = parse_flag(cells[index["open_work"]])
        except FieldError as error:
            raise _BadRow(field, str(error), cells[index[field]]) from None

        email = cells[index["email"]].strip()
        customer_text = cells[index["customer"]].strip()
        contact_name = cells[index["name"]].strip() or None
        contact: Contact | None = None
        if email:
            resolved = self._customers.get(email)
            if resolved is None:  # addresses repeat across rows: resolve each once per pull
                valid = email_domain(email) is not None
                resolved = (valid, self.context.identity.customer_key(email) if valid else None)
                self._customers[email] = resolved
                if len(self._customers) > _MAX_REMEMBERED:
                    self._customers.popitem(last=False)
            else:
                self._customers.move_to_end(email)
            if not resolved[0]:
                raise _BadRow("email", "not an email address", email)
            key = resolved[1]
            if key is None:  # one of our own addresses
                if not customer_text:
                    raise _BadRow(
                        "customer",
                        f"missing; {email} is one of our own addresses, so the row needs a customer",
                        "",
                    )
                key = normalize_customer(customer_text)
                email = ""
            else:
                email = email.lower()
                if "@" + email not in seen:
                    contact = Contact(email, key, contact_name)
        elif customer_text:
            key = normalize_customer(customer_text)
        else:
            raise _BadRow("email", "missing; every row needs an email or a customer", "")

        records: list[Customer | Contact | Touchpoint] = []
        if key not in seen:
            seen.add(key)
            name = customer_text or (contact_name if key == email else None)
            segment = cells[index["segment"]].strip() or None
            records.append(Customer(key, name=name, segment=segment, open_work=open_work))
        if contact is not None:
            seen.add("@" + email)
            records.append(contact)
        external_id = cells[index["id"]].strip()
        if not external_id:
            joined = "\x1f".join(cells[i].strip() for i in identifying)
            external_id = hashlib.sha256(joined.encode()).hexdigest()[:24]
        records.append(
            Touchpoint(
                source=self.context.name,
                external_id=external_id,
                customer=key,
                occurred_at=occurred_at,
                channel=channel,
                direction=direction,
                contact_email=email or None,
                owner=cells[index["owner"]].strip().lower() or None,
                subject=cells[index["subject"]].strip() or None,
                feedback=feedback,
                missed=missed,
            )
        )
        return records

    def _decode_error(
        self,
        display: str,
        raw: IO[bytes],
        start: int,
        size: int,
        encoding: str,
        base_line: int,
        error: UnicodeDecodeError,
    ) -> SourceError:
        raw.seek(start)
        data = raw.read(size - start)
        try:
            data.decode(encoding)
            position = 0
        except UnicodeDecodeError as exact:
            position = exact.start
        before = data[:position].decode(encoding, errors="replace")
        line = base_line + before.count("\n") + before.count("\r") - before.count("\r\n")
        byte = data[position : position + 1].hex().upper() or "?"
        name = self.encoding.removesuffix("-sig")
        return SourceError(
            f"{display}:{line}: cannot decode byte 0x{byte} as {name} ({error.reason}); "
            f'if the file was saved by Excel or an older system, set encoding = "latin-1" (or "cp1252")'
        )


def _ascii_compatible(encoding: str) -> bool:
    probe = 'a,;\t|"\r\n'
    try:
        return probe.encode(encoding.removesuffix("-sig")) == probe.encode("ascii")
    except UnicodeEncodeError:
        return False
