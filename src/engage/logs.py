"""Where a run's log lines go, and what each carries.

Every run has a short random id (``run_id``), also in ``engage sync --json``. Log lines go
to stderr and, with ``--log-file PATH``, are appended to that file too:

- on a terminal, a line is ``engage: warning: ...`` (info lines without a level);
- anywhere else (cron, systemd, CI, a pipe) and in the log file, every line starts with its
  UTC time and the run: ``2026-11-02T09:00:01Z engage[3f9a2c] INFO pull files (csv): ...``.

Levels: stderr shows warnings and errors; ``-v`` adds what each stage did, ``-vv`` debug
lines; ``--quiet`` leaves errors only. The log file gets info lines (debug with ``-vv``)
whatever stderr shows.
"""

from __future__ import annotations

import logging
import secrets
import sys
import time
from pathlib import Path
from typing import TextIO

#: Set on a record (``extra=SHOWN``) whose text the command already printed on stderr
#: itself: it goes to the log file only.
SHOWN = {"engage_shown": True}

_MARK = "_engage_handler"


def new_run_id() -> str:
    """A short random id naming one run in log lines and JSON (6 hex digits)."""
    return secrets.token_hex(3)


class _Stamped(logging.Formatter):
    """``2026-11-02T09:00:01Z engage[3f9a2c] INFO message``: UTC, second precision."""

    def __init__(self, run_id: str, shape: str = "%(message)s") -> None:
        super().__init__(f"%(asctime)s engage[{run_id}] %(levelname)s {shape}")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))


class _Short(logging.Formatter):
    """``engage: warning: message`` on a terminal; info lines as ``engage: message``."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).removeprefix("engage: ")
        if record.levelno >= logging.WARNING:
            return f"engage: {record.levelname.lower()}: {text}"
        return f"engage: {text}"


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is logged (a test may swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        return None

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "engage_shown", False) and bool(super().filter(record))


class _OursOrWarnings(logging.Filter):
    """engage's and its plugins' records at any level; other libraries' warnings and worse."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.startswith("engage") or record.levelno >= logging.WARNING


def level_for(verbosity: int, quiet: bool) -> int:
    """The stderr level: errors with ``quiet``; warnings; info with ``-v``; debug with ``-vv``."""
    if quiet:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)


def configure(
    run_id: str,
    *,
    verbosity: int = 0,
    quiet: bool = False,
    log_file: Path | None = None,
    debug: bool = False,
    stamped: bool | None = None,
) -> None:
    """Send log lines to stderr (and ``log_file``) for this run, replacing an earlier setup.

    Args:
        run_id: The run's id, in every stamped line.
        verbosity: How many ``-v`` were given.
        quiet: ``--quiet``: errors only on stderr.
        log_file: Append log lines here too (stamped, info or debug).
        debug: ``--debug``: engage's and its plugins' debug lines (with tracebacks) on
            stderr, other libraries' warnings and worse.
        stamped: Stamp stderr lines with time and run; default when stderr is not a terminal.

    Raises:
        OSError: the log file cannot be opened.
    """
    close()
    root = logging.getLogger()
    if stamped is None:
        stamped = not sys.stderr.isatty()
    handlers: list[logging.Handler] = []
    stderr = _Stderr()
    stderr.setLevel(logging.DEBUG if debug else level_for(verbosity, quiet))
    if debug:
        stderr.addFilter(_OursOrWarnings())
    shape = "%(name)s: %(message)s" if debug else "%(message)s"
    stderr.setFormatter(_Stamped(run_id, shape) if stamped else _Short(shape))
    handlers.append(stderr)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file = logging.FileHandler(log_file, encoding="utf-8")
        file.setLevel(logging.DEBUG if verbosity >= 2 else logging.INFO)
        file.setFormatter(_Stamped(run_id))
        handlers.append(file)
    for handler in handlers:
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    root.setLevel(min(handler.level for handler in handlers))
    # chatty libraries stay at warnings unless -vv asks for everything
    for noisy in ("urllib3", "filelock", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbosity >= 3 else logging.WARNING)


def close() -> None:
    """Remove and close the handlers :func:`configure` added (the run is over)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
        handler.close()
