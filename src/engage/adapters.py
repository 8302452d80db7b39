"""The contract between engage and its sources and sinks.

A **source** is a class registered under a name through ``engage_register_sources``. engage
builds it from its config table and calls :meth:`Source.pull` with the cursor it saved last
time. ``pull`` yields records (:class:`~engage.models.Customer`, :class:`~engage.models.Contact`,
:class:`~engage.models.Owner`, :class:`~engage.models.Touchpoint`) as a stream, a
:class:`Problem` for each bad input record it skipped, :class:`Skipped` for input it passed over
on purpose (automated mail, say), and a :class:`Checkpoint` whenever the
records so far form a consistent whole. engage commits the records and the checkpoint's cursor
in one transaction; if the pull fails, everything since the last checkpoint is rolled back and
the cursor stays where it was.

A **sink** is a class registered through ``engage_register_sinks``. engage hands it the tasks
its ledger has not seen. Before creating a task whose earlier push was interrupted, engage asks
the sink to :meth:`Sink.find` it, so a crash between the remote create and the ledger write
never produces a duplicate.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar, overload, runtime_checkable
from urllib.parse import urlsplit

import attrs

from engage.clock import utcnow
from engage.identity import Identity
from engage.models import Contact, Customer, Owner, Task, Touchpoint
from engage.options import build_options, is_options_class, unknown_key_message
from engage.options_types import OptionCheck as OptionCheck  # an option's own test of a value
from engage.options_types import range_problem

_Options = TypeVar("_Options")


@attrs.frozen
class Checkpoint:
    """Marks a consistent point in a pull: commit what came before, with this cursor.

    ``cursor`` is any text the source understands (JSON is common); engage stores it
    verbatim and hands it back on the next pull.
    """

    cursor: str


@attrs.frozen
class Problem:
    """A bad input record a source skipped, as ``FILE:LINE: field: problem (got 'value')``."""

    message: str


@attrs.frozen
class Skipped:
    """Input records a source passed over on purpose (not errors), counted in the sync summary.

    ``what`` says why, in a few words (``automated``, ``spam/trash/draft``).
    """

    what: str
    count: int = 1


@attrs.frozen
class Notice:
    """Something a person should know about a pull that is neither an error nor a bad record:
    a fallback taken, a setting that would read more (``mailbox_owner`` is not set ...).

    Shown once per sync in the summary and in ``engage sync --json`` (``notices``); a
    repeated message is shown once.
    """

    message: str


@attrs.frozen
class Retire:
    """A record the source says no longer exists (archived or deleted) since the last pull."""

    kind: str  # "touchpoint", "customer", "contact" or "owner"
    id: str


#: What a pull yields.
SourceItem = (
    Customer | Contact | Owner | Touchpoint | Problem | Skipped | Notice | Checkpoint | Retire
)

#: How far past the real clock a touchpoint may be dated (clock skew, a time zone read
#: wrongly) before it counts as a bad record: beyond it, the date is a typo ("3609").
FUTURE_TOLERANCE = timedelta(days=1)


def future_problem(moment: datetime, now: datetime, got: str | None = None) -> str | None:
    """Why a touchpoint dated ``moment`` is refused, or None when it is not from the future.

    A touchpoint dated more than :data:`FUTURE_TOLERANCE` after ``now`` (the real clock
    when it is read, never an ``--as-of`` moment) is refused as a bad record. engage checks
    every pulled touchpoint; a source that checks its records itself can name the file and
    line: ``Problem(f"{file}:{line}: {problem}")``.

    Args:
        moment: The touchpoint's ``occurred_at`` (aware).
        now: The real clock (``context.now()``).
        got: The value as the input wrote it, for the message; defaults to ``moment`` in
            ISO 8601.

    Returns:
        ``occurred_at: in the future (got '3609-01-01')``, or None.
    """
    if moment <= now + FUTURE_TOLERANCE:
        return None
    shown = moment.isoformat() if got is None else got
    return f"occurred_at: in the future (got {shown!r})"


@attrs.frozen
class Option:
    """One config key an adapter accepts (the mapping form; see :mod:`engage.options` for
    options declared as a frozen attrs class).

    Attributes:
        type: The Python type a value must have (``str``, ``int``, ``bool``, ``list``,
            ``dict``, ``float``); ints are accepted for floats.
        default: The value when the key is absent (ignored when ``required``).
        required: The key must be given.
        help: One line for the config reference and error messages.
        minimum: For numbers, the smallest value accepted (``requests_per_10s`` needs 1).
        maximum: For numbers, the largest value accepted (a ratio's is 1).
        check: A test of a given value beyond its type and range (:data:`OptionCheck`),
            such as :func:`http_url` or :func:`date_format`.

    :func:`resolve_options` enforces all of them on the values a config gives, when the
    config is loaded, so a bad value fails before anything is read; defaults are trusted.
    """

    type: type
    default: Any = None
    required: bool = False
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    check: OptionCheck | None = None

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (already of :attr:`type`), or None when it is fine."""
        problem = range_problem(value, self.minimum, self.maximum, self.type is int)
        if problem is None and self.check is not None:
            problem = self.check(value)
        return problem


def http_url(value: Any) -> str | None:
    """An :data:`OptionCheck`: an http(s) URL with a host and no spaces (``base_url``)."""
    text = str(value)
    expected = "expected an http(s) URL with a host and no spaces, e.g. 'https://api.example.com'"
    if not text or any(char.isspace() or not char.isprintable() for char in text):
        return expected
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        return expected
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return expected
    return None


#: A moment whose day differs from its month and whose hour is past noon, written and read
#: back to test a format.
_FORMAT_PROBE = datetime(2024, 3, 5, 13, 7, 9, tzinfo=UTC)


def date_format(value: Any) -> str | None:
    """An :data:`OptionCheck`: a :func:`~datetime.datetime.strptime` format that reads back
    what it writes: a moment written with it (``strftime``) must parse (``strptime``) and
    write the same text again. ``%Q-%d`` fails (``'Q' is a bad directive``); ``%d/%m/%Y``
    passes."""
    text = str(value)
    if not text.strip():
        return "expected a strptime format such as '%d/%m/%Y' (got an empty one)"
    try:
        written = _FORMAT_PROBE.strftime(text)  # a lone surrogate cannot be encoded
        read = datetime.strptime(written, text)
        again = (read if read.tzinfo else read.replace(tzinfo=UTC)).strftime(text)
    except ValueError as exc:
        return f"expected a strptime format such as '%d/%m/%Y' or '%Y-%m-%d %H:%M' ({exc})"
    if again != written:
        return (
            "expected a strptime format that reads back what it writes, such as '%d/%m/%Y' "
            f"({written!r} was read back as {again!r})"
        )
    return None


#: How an adapter declares its options: a mapping of key → :class:`Option`, or a frozen
#: attrs class of :func:`engage.options.option` fields (see :mod:`engage.options`).
OptionsSpec = Mapping[str, Option] | type[Any]


class Progress(Protocol):
    """Reports how far a long pull has got; engage shows it on a terminal only.

    A source that knows how much it will read in all (the bytes of its files, the total an
    API reports) says so with :func:`expect`, then advances that kind as it reads, so the
    display can show a percentage and an estimate of the time left.
    """

    def advance(self, what: str, count: int = 1) -> None:
        """Count ``count`` more records of kind ``what`` (``"contacts"``, ``"rows"``...)."""
        ...


@runtime_checkable
class SizedProgress(Progress, Protocol):
    """A :class:`Progress` that can also be told the total to expect (engage's own are)."""

    def total(self, what: str, count: int) -> None:
        """Expect ``count`` of ``what`` in all this pull (``"bytes"`` for files); a second
        call replaces the total."""
        ...


def expect(progress: Progress, what: str, count: int) -> bool:
    """Tell ``progress`` the total of ``what`` this pull will read, if it takes totals.

    Returns True when it did: then advance ``what`` as it is read (``bytes`` read for
    ``"bytes"``). A plain :class:`Progress` (a test's recorder, an older one) is left alone
    and False is returned, so a source need not count what nobody shows.
    """
    if isinstance(progress, SizedProgress):
        progress.total(what, count)
        return True
    return False


class Directory(Protocol):
    """Read access to what the store knows, for sinks that must map engage's keys to their own ids."""

    def get_customer(self, key: str) -> Customer | None:
        """The customer record with this key (its ``attributes`` carry source ids), or None."""
        ...

    def get_owner(self, owner_id: str) -> Owner | None:
        """The owner record with this id, or None."""
        ...

    def get_contacts(self, customer: str) -> list[Contact]:
        """The customer's known contacts."""
        ...


class _SilentProgress:
    def advance(self, what: str, count: int = 1) -> None:
        return None


@attrs.frozen
class AdapterContext:
    """What engage gives every source and sink when it builds one.

    Attributes:
        name: The config table's name (``files`` for ``[sources.files]``).
        base_dir: The directory relative paths in options are resolved against (the
            config file's directory).
        identity: Resolves email addresses to customer keys with the configured domains.
        progress: Where to report progress of a long pull.
        now: The moment of this run, for cursors and look-back windows.
        env: The environment to read secrets from (``os.environ`` unless a test gives one).
        directory: What the store knows about customers, contacts and owners (given to
            adapters built by ``engage sync``; None when an adapter is built on its own).
        where: Where the adapter's table is, for messages: the config file and the table
            (``/srv/engage.toml: [sources.files]``), as ``engage sync`` builds it; empty for an
            adapter built in code. Use :meth:`table` to start every ConfigError with it.
    """

    name: str
    base_dir: Path = attrs.field(factory=Path.cwd)
    identity: Identity = attrs.field(factory=Identity)
    progress: Progress = attrs.field(factory=_SilentProgress)
    now: Callable[[], Any] = utcnow
    env: Mapping[str, str] = attrs.field(factory=dict)
    directory: Directory | None = None
    where: str = ""

    def table(self, kind: str) -> str:
        """Where the adapter's table is: :attr:`where`, else ``[KIND.NAME]`` (``kind`` is
        ``sources`` or ``sinks``)."""
        return self.where or f"[{kind}.{self.name}]"

    def path(self, value: str) -> Path:
        """Resolve a path option against ``base_dir``, expanding ``~``."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path


@runtime_checkable
class Source(Protocol):
    """Reads records from somewhere. Built as ``cls(options, context)``.

    Attributes:
        options: The config keys the source accepts (:data:`OptionsSpec`); engage rejects
            any other key and fills in defaults before calling the constructor, which gets
            a dict (mapping form) or an instance of the options class.
    """

    options: ClassVar[Any]  # an OptionsSpec (Any: a plugin may declare either form)

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        """Yield records changed since ``cursor`` (None on the first sync), with checkpoints."""
        ...


@attrs.frozen
class PushResult:
    """The outcome of pushing one task: its remote id, or why it failed."""

    key: str
    remote_id: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the sink accepted the task."""
        return self.remote_id is not None and self.error is None


@runtime_checkable
class Sink(Protocol):
    """Writes tasks somewhere people work. Built as ``cls(options, context)``.

    Attributes:
        options: The config keys the sink accepts (:data:`OptionsSpec`).
        batch_size: The most tasks engage hands :meth:`create` at once.

    A sink may also have a ``notices`` attribute (a sequence of strings) with what a person
    should know about its run that is not an error (a fallback taken); engage reads it after
    the push and shows each message once in the sync summary.
    """

    options: ClassVar[Any]  # an OptionsSpec (Any: a plugin may declare either form)
    batch_size: ClassVar[int]

    def find(self, tasks: Sequence[Task]) -> Mapping[str, str]:
        """Look for tasks an interrupted earlier run may have created: task key → remote id.

        Called only for tasks whose push was started but never recorded as finished.
        """
        ...

    def create(self, tasks: Sequence[Task]) -> Iterable[PushResult]:
        """Create ``tasks`` remotely; one result per task, in any order.

        Raise :class:`~engage.errors.SinkError` when nothing could be created; return failed
        results for tasks that failed alone.
        """
        ...

    def complete(self, remote_ids: Mapping[str, str]) -> Iterable[PushResult]:
        """Mark tasks whose condition has cleared as done (task key → remote id).

        Sinks that cannot complete tasks return an empty iterable.
        """
        ...


@overload
def resolve_options(
    spec: Mapping[str, Option],
    given: Mapping[str, Any],
    where: str,
    *,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]: ...


@overload
def resolve_options(
    spec: type[_Options],
    given: Mapping[str, Any],
    where: str,
    *,
    env: Mapping[str, str] | None = None,
) -> _Options: ...


def resolve_options(
    spec: OptionsSpec,
    given: Mapping[str, Any],
    where: str,
    *,
    env: Mapping[str, str] | None = None,
) -> Any:
    """Check ``given`` against an adapter's option ``spec`` and fill in the defaults.

    Both forms of :data:`OptionsSpec` are accepted: a mapping of :class:`Option` gives a
    dict; an options class gives an instance of it, built by
    :func:`engage.options.build_options` (inner types, ``env=`` and secret keys too).

    Args:
        spec: The adapter's ``options``.
        given: The keys from the config table (without ``plugin``).
        where: Where the keys come from, for messages: ``engage.toml: [sources.files]``.
        env: The environment ``env=`` options of an options class are read from
            (default ``os.environ``; ``engage sync`` passes the adapter context's).

    Raises:
        ConfigError: a key is unknown (naming the closest), a required key is missing, a
            value has the wrong type, is out of its option's range or fails its check; the
            message names ``where`` (the file and the table) and the key.
    """
    from engage.errors import ConfigError

    if is_options_class(spec):
        return build_options(spec, given, where, os.environ if env is None else env)
    if not isinstance(spec, Mapping):
        raise TypeError(f"options must be a mapping of Option or an attrs class (got {spec!r})")
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise ConfigError(unknown_key_message(where, unknown[0], spec))
    resolved: dict[str, Any] = {}
    for key, option in spec.items():
        if key not in given:
            if option.required:
                hint = f" ({option.help})" if option.help else ""
                raise ConfigError(f"{where}: missing required key '{key}'{hint}")
            resolved[key] = option.default
            continue
        value = given[key]
        expected = option.type
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            hint = f": {option.help}" if option.help else ""
            raise ConfigError(
                f"{where}: key '{key}' expected {expected.__name__}{hint} (got {type(value).__name__} {value!r})"
            )
        problem = option.problem(value)
        if problem is not None:
            raise ConfigError(f"{where}: key '{key}' {problem} (got {value!r})")
        resolved[key] = value
    return resolved
