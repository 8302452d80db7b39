"""The checkpoint after a bulk load, run by a helper process while the sync goes on.

In WAL mode a commit appends pages to the write-ahead log, and the connection that commits
copies them into the database file once the log passes a thousand pages (a checkpoint). A
first load commits the whole store at once: hundreds of megabytes copied and flushed to
disk, about a second at a million touchpoints, with every later step of the sync waiting.
That copy needs no Python and no lock a writer or reader waits on (a *passive* checkpoint),
so after a bulk load the store's connection leaves it to a short-lived helper process, and
the sync plans meanwhile. The helper's own connection copies what was committed; the store
waits for it when it closes (long done by then), and commits checkpoint by themselves again
once it is done.

Any failure of the helper is harmless: the pages stay in the log, where SQLite reads them,
and the next checkpoint copies them.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys

log = logging.getLogger(__name__)

#: SQLite's default: commits checkpoint once the log holds this many pages.
AUTOCHECKPOINT_PAGES = 1000

_HELPER = (
    "import sqlite3, sys\n"
    "conn = sqlite3.connect(sys.argv[1], timeout=60)\n"
    "conn.execute('PRAGMA wal_checkpoint(PASSIVE)').fetchone()\n"
    "conn.close()\n"
)


class BackgroundCheckpoint:
    """A passive checkpoint of one store, run by a helper process (see the module)."""

    def __init__(self, path: str) -> None:
        """Start the helper on the store at ``path`` (if it cannot start, commits checkpoint
        as before once :meth:`done` says so)."""
        self.path = path
        self._process: subprocess.Popen[bytes] | None
        try:
            # -I: isolated, so nothing in the environment changes what the helper runs
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-c", _HELPER, path],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            log.debug("%s: no checkpoint helper (%s); checkpointing in this process", path, exc)
            self._process = None

    def done(self) -> bool:
        """The helper has finished (or never started)."""
        return self._process is None or self._process.poll() is not None

    def wait(self) -> None:
        """Wait for the helper (once; again does nothing); its failure is logged, never
        raised (see the module)."""
        process, self._process = self._process, None
        if process is None:
            return
        _, errors = process.communicate()
        if process.returncode != 0:
            log.debug(
                "%s: the checkpoint helper failed (%s): %s",
                self.path,
                process.returncode,
                errors.decode(errors="replace").strip(),
            )


def defer_checkpoints(conn: sqlite3.Connection) -> None:
    """Let ``conn``'s commits leave the log to a :class:`BackgroundCheckpoint`."""
    conn.execute("PRAGMA wal_autocheckpoint = 0")


def resume_checkpoints(conn: sqlite3.Connection) -> None:
    """Let ``conn``'s commits checkpoint by themselves again."""
    conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
