"""The errors engage raises.

Every error a user can meet derives from :class:`EngageError`. Messages name the file,
line, key or plugin involved and what was expected; only the command line turns them into
one stderr line and an exit code.
"""

from __future__ import annotations


class EngageError(Exception):
    """Root of every error engage raises on purpose."""


class ConfigError(EngageError):
    """The configuration (a file or options given in code) is missing a key or has a bad value."""


class PluginError(EngageError):
    """A plugin is broken, missing, or registered something invalid."""


class PluginLoadError(PluginError):
    """An installed plugin could not be loaded; the message names its entry point."""


class ValidationError(EngageError):
    """A value handed to engage breaks a model's invariant (a naive time, an unknown channel)."""


class SourceError(EngageError):
    """A source could not deliver its records; nothing from the failed batch was committed."""


class RetriableSourceError(SourceError):
    """A source failure that may go away on its own (network fault, rate limit) after retries."""


class SinkError(EngageError):
    """A sink could not accept tasks."""


class RetriableSinkError(SinkError):
    """A sink failure that may go away on its own; the tasks are retried on the next run."""


class StoreError(EngageError):
    """The store could not be opened, read or written."""


class LockedError(StoreError):
    """Another ``engage sync`` holds the store's lock."""
