"""The errors engage raises, and the exit code each asks the command line for.

Every error a user can meet derives from :class:`EngageError`. Messages name the file,
line, key or plugin involved and what was expected; only the command line turns them into
one stderr line and an exit code.

Each family carries the exit code a scheduler can act on (:attr:`EngageError.exit_code`):

==== ===================== ==========================================================
code name                  meaning
==== ===================== ==========================================================
0    :data:`EXIT_OK`       done
1    :data:`EXIT_ERROR`    failed for another reason (no such customer; a bug: run
                           again with ``--debug`` for the traceback)
2    (click)               bad usage: an unknown option, a bad ``--as-of``
3    :data:`EXIT_PARTIAL`  done, but a source refused its input (more bad records than its
                           tolerance, e.g. ``max_bad_ratio``) or a sink refused tasks
75   :data:`EXIT_TEMPFAIL` temporary: the network, a rate limit, the lock; try again later
78   :data:`EXIT_CONFIG`   needs a person: configuration, credentials, a plugin, the store
                           (newer schema, disk full, read-only, corrupt)
==== ===================== ==========================================================

Each family also says whether it is worth trying again (:attr:`EngageError.retriable`, a
class attribute): the exit-75 families are (:class:`RetriableSourceError`,
:class:`RetriableSinkError`, :class:`RetriableHttpError`, :class:`LockedError`,
:class:`StoreBusyError`), every other one is not. ``engage sync`` reads it, never the exit
code or the message: a retriable failure of a source or sink is tried again later in the run
(:mod:`engage.retries`), a fatal one is reported with what to fix. A subclass that sets only
``retriable = True`` exits 75 too; one that sets only ``exit_code`` is retriable when that is
75; one that sets ``retriable = False`` under a 75 family (temporary, but not worth trying
again in this run) keeps 75 for the next run. An exception that is not an EngageError is a
bug: never retried.

A web API's failure is an :class:`HttpError` (raised by :mod:`engage.http`): refused (a 4xx,
the credentials) needs a person, 78; :attr:`HttpError.retriable` ones (a rate limit, a 5xx,
the network, a write whose answer was lost) are temporary, 75. Their fields (status,
endpoint, :class:`Fault`, ``retry_after``) say what happened, so no caller reads the
message. An adapter that turns one into its own error raises it ``from`` the HTTP error, so
the sync can still read what happened (a refusal that wrote nothing, the wait it asked).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import ClassVar

#: Success.
EXIT_OK = 0
#: An error of no other kind: a request that cannot be met, or a bug (see ``--debug``).
EXIT_ERROR = 1
#: Done, but a source refused its input (too many bad records) or a sink refused tasks.
#: Bad records within a source's tolerance are reported, not a failure.
EXIT_PARTIAL = 3
#: Temporary (network, rate limit, another sync holds the lock): try again later (EX_TEMPFAIL).
EXIT_TEMPFAIL = 75
#: Needs a person: configuration, credentials, a missing plugin, the store (EX_CONFIG).
EXIT_CONFIG = 78

#: Exit codes from least to most urgent: a run that met several reports the last one.
_URGENCY = (EXIT_OK, EXIT_TEMPFAIL, EXIT_PARTIAL, EXIT_CONFIG, EXIT_ERROR)


class EngageError(Exception):
    """Root of every error engage raises on purpose.

    Attributes:
        exit_code: What the command line exits with when this error ends a command (see
            the module's table); subclasses set their family's.
        retriable: Whether the failure may pass on its own, so the sync tries it again
            later in the run (see the module); subclasses set their family's.
    """

    exit_code: ClassVar[int] = EXIT_ERROR
    retriable: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        """Keep a subclass's two answers together when it gives only one (see the module)."""
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if "retriable" in own and "exit_code" not in own and cls.retriable:
            cls.exit_code = EXIT_TEMPFAIL
        elif "exit_code" in own and "retriable" not in own:
            cls.retriable = cls.exit_code == EXIT_TEMPFAIL


class ConfigError(EngageError):
    """The configuration (a file or options given in code) is missing a key or has a bad value."""

    exit_code: ClassVar[int] = EXIT_CONFIG


class PluginError(EngageError):
    """A plugin is broken, missing, or registered something invalid."""

    exit_code: ClassVar[int] = EXIT_CONFIG


class PluginLoadError(PluginError):
    """An installed plugin could not be loaded; the message names its entry point."""


class PluginCrashError(PluginError):
    """A plugin raised an exception it did not mean to (a bug in it, or an error it does not
    handle); the message names the plugin and the exception, the traceback is in the debug
    log (``--debug``). Exit code :data:`EXIT_ERROR`."""

    exit_code: ClassVar[int] = EXIT_ERROR


class ValidationError(EngageError):
    """A value handed to engage breaks a model's invariant (a naive time, an unknown channel)."""


class SourceError(EngageError):
    """A source could not deliver its records; nothing from the failed batch was committed.

    Fatal until a person acts (a missing file, a refused request); see
    :class:`RetriableSourceError` for failures that pass on their own.
    """

    exit_code: ClassVar[int] = EXIT_CONFIG


class RetriableSourceError(SourceError):
    """A source failure that may go away on its own (network fault, rate limit) after retries."""

    exit_code: ClassVar[int] = EXIT_TEMPFAIL
    retriable: ClassVar[bool] = True


class BadInputError(SourceError):
    """A source refused its input: too many bad records in a file (or one, in strict mode).

    The source's other input and the rest of the sync go on; the run exits
    :data:`EXIT_PARTIAL`.
    """

    exit_code: ClassVar[int] = EXIT_PARTIAL


class SinkError(EngageError):
    """A sink could not accept tasks."""

    exit_code: ClassVar[int] = EXIT_CONFIG


class RetriableSinkError(SinkError):
    """A sink failure that may go away on its own; the tasks are retried on the next run."""

    exit_code: ClassVar[int] = EXIT_TEMPFAIL
    retriable: ClassVar[bool] = True


class StoreError(EngageError):
    """The store could not be opened, read or written."""

    exit_code: ClassVar[int] = EXIT_CONFIG


class StoreFullError(StoreError):
    """The disk holding the store is full; the transaction was rolled back, nothing was lost."""


class StoreReadOnlyError(StoreError):
    """The store (its file, or the directory its journal files go in) cannot be written or read."""


class StoreCorruptError(StoreError):
    """The store's file is damaged: restore a backup or recover it with ``sqlite3 .recover``."""


class LockedError(StoreError):
    """Another ``engage sync`` holds the store's lock."""

    exit_code: ClassVar[int] = EXIT_TEMPFAIL
    retriable: ClassVar[bool] = True


class StoreBusyError(StoreError):
    """The store is out of reach for now: another process held its write lock for longer
    than the timeout, or the PostgreSQL server cannot be reached or dropped the connection."""

    exit_code: ClassVar[int] = EXIT_TEMPFAIL
    retriable: ClassVar[bool] = True


class Fault(enum.Enum):
    """What happened to a request that failed: a field to act on, never read from a message.

    A create whose answer is lost may have been written; only :attr:`CONNECT` and a refusing
    :attr:`STATUS` (4xx, 429) say for certain that nothing was.
    """

    #: The API answered with an error status (:attr:`HttpError.status`).
    STATUS = "status"
    #: No connection was made (refused, no such host, connect timeout): nothing was sent.
    CONNECT = "connect"
    #: Sent, and no answer before the read timeout: the request may still be in flight.
    READ_TIMEOUT = "read_timeout"
    #: Sent, and the connection closed or broke without an answer: the request is over.
    DROPPED = "dropped"
    #: Answered 2xx with a body engage cannot read (no JSON, a field of another type).
    ANSWER = "answer"


class HttpError(EngageError):
    """A request to a web API failed; refused as it stands, so it needs a person (exit 78).

    :class:`RetriableHttpError` and its subclasses are the failures that may pass on their
    own (exit 75). Everything is a field, so callers never parse the message.

    Attributes:
        status: The HTTP status of the answer, or None when there was none (a network fault,
            an unreadable answer).
        endpoint: ``METHOD /path`` of the request, without its query ("" when unknown).
        fault: What happened (None for a failure the adapter declared for reasons of its own).
        retry_after: Seconds the server (its ``Retry-After``) or the adapter's rules asked to
            wait before trying again, if they said.
        retriable: Whether the same request may succeed later (a class attribute).
    """

    exit_code: ClassVar[int] = EXIT_CONFIG
    retriable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        status: int | None = None,
        *,
        endpoint: str = "",
        fault: Fault | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.endpoint = endpoint
        self.fault = fault if fault is not None or status is None else Fault.STATUS
        self.retry_after = retry_after


class AuthError(HttpError):
    """The API refused the credentials (401) or their scope (403): a person must act."""


class RetriableHttpError(HttpError):
    """A request failed in a way that may pass on its own: a rate limit, the server's own
    trouble, the network. Temporary: exit 75, the next run tries again."""

    exit_code: ClassVar[int] = EXIT_TEMPFAIL
    retriable: ClassVar[bool] = True


class RetriesExhausted(RetriableHttpError):
    """Retriable failures outlasted the retry budget: every try failed, or the server asked
    to wait longer than a run waits (``Retry-After``, a daily limit). Nothing was written."""


class NotSent(RetriableHttpError):
    """The request was never sent: the session failed before it left (a token refresh the
    token endpoint could not serve or that could not reach it). Nothing was written, so even
    a create may be sent again; temporary (exit 75), never an :class:`AmbiguousWrite`.

    A session (a :class:`requests.Session` an adapter gives its
    :class:`~engage.http.HttpClient`) raises it from ``request``; the client tries again
    within its budget, as for a connection never made, then raises :class:`RetriesExhausted`
    (or, for a write sent once, a :class:`NotSent` saying nothing was written). ``fault``
    is :attr:`Fault.CONNECT`; ``status`` is None (the API never answered).
    """

    def __init__(
        self, message: str, *, endpoint: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message, endpoint=endpoint, fault=Fault.CONNECT, retry_after=retry_after)


class AmbiguousWrite(RetriableHttpError):
    """A write was sent and its answer lost (a 5xx, a read timeout, a dropped connection, an
    unreadable answer): it may have been written. Look for it before sending it again."""


class UnexpectedAnswer(RetriableHttpError):
    """The API answered 2xx with a body of the wrong shape: no JSON (an HTML page, a cut
    body), no JSON object, or a field of another type than documented.

    Not the user's configuration; a proxy or a cut connection may have caused it, so it is
    temporary. ``status`` is None, so that callers who tell refusals by their status (404,
    409) never take it for one.
    """

    def __init__(self, message: str, *, endpoint: str = "") -> None:
        super().__init__(message, endpoint=endpoint, fault=Fault.ANSWER)


def exit_code_of(error: BaseException) -> int:
    """The exit code ``error`` asks for: its family's for an :class:`EngageError`, else
    :data:`EXIT_ERROR` (an unexpected exception is a bug)."""
    return error.exit_code if isinstance(error, EngageError) else EXIT_ERROR


def most_urgent(codes: Iterable[int]) -> int:
    """The code of a run that met all of ``codes``: a person's attention beats a partial
    result, which beats a temporary failure, which beats success.

    Order: :data:`EXIT_ERROR` (a bug), :data:`EXIT_CONFIG`, :data:`EXIT_PARTIAL`,
    :data:`EXIT_TEMPFAIL`, :data:`EXIT_OK`. A code outside the table counts as EXIT_ERROR.
    """
    worst = EXIT_OK
    for code in codes:
        rank = _URGENCY.index(code) if code in _URGENCY else len(_URGENCY) - 1
        if rank > _URGENCY.index(worst):
            worst = _URGENCY[rank]
    return worst


def unexpected(plugin: str, error: BaseException) -> str:
    """One line for an exception a plugin did not mean to raise (a bug, or an error it does
    not catch): ``plugin 'hubspot' failed: InvalidURL: ... (run with --debug for the
    traceback)``; the traceback itself belongs in the debug log."""
    said = " ".join(str(error).split())
    if len(said) > 300:
        said = said[:297] + "..."
    return (
        f"plugin '{plugin}' failed: {type(error).__name__}: {said} "
        "(run with --debug for the traceback)"
    )
