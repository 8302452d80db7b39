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
"""

from __future__ import annotations

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
    """

    exit_code: ClassVar[int] = EXIT_ERROR


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


class StoreBusyError(StoreError):
    """The store is out of reach for now: another process held its write lock for longer
    than the timeout, or the PostgreSQL server cannot be reached or dropped the connection."""

    exit_code: ClassVar[int] = EXIT_TEMPFAIL


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
