"""What went wrong with the SQLite store, in one line naming the file and the fix.

:func:`explain` turns an :class:`sqlite3.Error` (or an :class:`OSError` met opening the store)
into the :class:`~engage.errors.StoreError` a person can act on: the disk is full, the file
or its directory is read-only, permission is denied, the file is corrupt, another process
keeps it busy. The store itself is fine in all but the corrupt case, and the message says so.

:class:`OpenMark` keeps the "clean shutdown" mark: a side file ``<store>.open`` that holds a
process id while some process has the store open and is emptied when the last one closes it.
A store opened while the mark says the last process never closed it (a crash, a kill, a power
cut) gets a quick integrity check first (:func:`check_integrity`), so damage is reported at
once, not by a later sync half-way through.
"""

from __future__ import annotations

import errno
import os
import shlex
import shutil
import sqlite3
from pathlib import Path

from engage.errors import (
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
)

try:
    import fcntl
except ImportError:  # Windows: no shared locks (see OpenMark)
    fcntl = None  # type: ignore[assignment]
try:
    import resource
except ImportError:  # Windows: no file size limit
    resource = None  # type: ignore[assignment]

__all__ = ["LOW_SPACE", "OpenMark", "check_integrity", "explain"]

# SQLite's primary result codes (``sqlite3.Error.sqlite_errorcode & 0xFF``).
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT = 3, 5, 6, 8, 10, 11
_FULL, _CANTOPEN, _NOTADB = 13, 14, 26

#: Free bytes below which an I/O error on the store is taken for a full disk.
LOW_SPACE = 1 << 20


def explain(path: str, error: sqlite3.Error | OSError) -> StoreError:
    """The :class:`~engage.errors.StoreError` for ``error`` met on the store at ``path``.

    Args:
        path: The store's file.
        error: What SQLite (or the file system, while opening) raised.

    Returns:
        A :class:`~engage.errors.StoreFullError`, :class:`~engage.errors.StoreReadOnlyError`,
        :class:`~engage.errors.StoreCorruptError`, :class:`~engage.errors.StoreBusyError`, or
        a plain :class:`~engage.errors.StoreError`; each message is one line naming ``path``.
    """
    if isinstance(error, OSError):
        return _explain_os(path, error)
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    said = " ".join(str(error).split())
    if code == _FULL or (code == _IOERR and _low_space(path)):
        return _full(path, said)
    limit = _size_limit_reached(path) if code == _IOERR else None
    if limit is not None:
        return StoreFullError(
            f"{path}: no room to write: the store reached this process's file size limit of "
            f"{limit:,} bytes (ulimit -f, systemd LimitFSIZE=) ({said}); raise the limit, then "
            "run again: the last change was rolled back, nothing was lost"
        )
    if code in (_READONLY, _PERM, _CANTOPEN):
        return _unwritable(path, said, opening=code == _CANTOPEN)
    if code in (_CORRUPT, _NOTADB):
        return _corrupt(path, said, not_a_database=code == _NOTADB)
    if code in (_BUSY, _LOCKED):
        return StoreBusyError(
            f"{path}: another process kept the store busy too long ({said}); try again later"
        )
    if code == _IOERR:
        return StoreError(
            f"{path}: the disk reported an error ({said}); check the disk and its space, "
            "then run again: the last change was rolled back"
        )
    return StoreError(f"{path}: {said}")


def check_integrity(conn: sqlite3.Connection, path: str) -> None:
    """Run ``PRAGMA quick_check`` on ``conn``.

    Raises:
        StoreCorruptError: the check found damage (or could not read the file at all).
    """
    try:
        rows = conn.execute("PRAGMA quick_check(3)").fetchall()
    except sqlite3.DatabaseError as exc:
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        if code in (_CORRUPT, _NOTADB):
            raise _corrupt(path, " ".join(str(exc).split())) from exc
        raise explain(path, exc) from exc
    found = [str(row[0]) for row in rows]
    if found != ["ok"]:
        raise _corrupt(path, "quick_check: " + "; ".join(" ".join(f.split()) for f in found))


class OpenMark:
    """The clean-shutdown mark of one store file: ``<store>.open``.

    Every open store holds a shared ``flock`` on the mark. The first to open it (an
    exclusive lock succeeds) reads it: a process id left there means the last process
    never closed the store, so :attr:`unclean` is True; then it writes its own id. The
    last to close it (an exclusive lock succeeds again) empties it. The kernel drops the
    locks of a dead process, so a crash leaves the id and nothing else. (On Windows, with
    no shared locks, every process reads and writes the mark as if it were alone: a store
    open twice at once may be checked once too often, or once too few.)

    Raises:
        StoreError: the mark cannot be created or locked (a read-only directory, a full
            disk), explained by :func:`explain`.
    """

    def __init__(self, store: str) -> None:
        self.path = f"{store}.open"
        self.unclean = False
        try:
            self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise explain(store, exc) from exc
        try:
            if not _alone(self._fd):  # open elsewhere: that process owns the mark
                _share(self._fd)
                return
            self.unclean = bool(os.read(self._fd, 64).strip())
            mark = f"{os.getpid()}\n".encode()
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.write(self._fd, mark)  # before truncating: a failed write keeps an old mark
            os.ftruncate(self._fd, len(mark))
            os.fsync(self._fd)
            _share(self._fd)
        except OSError as exc:
            os.close(self._fd)
            self._fd = None
            raise explain(store, exc) from exc

    def close(self, *, clean: bool = True) -> None:
        """Release the mark; the last process to close the store empties it (clean).

        Args:
            clean: False when the store could not be opened: the mark then stays as it was
                found (an unclean mark stays, so the next open checks again).
        """
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if (clean or not self.unclean) and _alone(fd):
                os.ftruncate(fd, 0)
        except OSError:
            pass  # still open elsewhere (or unwritable): its last closer marks it clean
        finally:
            os.close(fd)


def _alone(fd: int) -> bool:
    """Take the mark's exclusive lock if no other open store holds it."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _share(fd: int) -> None:
    """Hold the mark's shared lock (waiting: another process opening or closing the store
    holds the exclusive one only for a moment)."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_SH)


def _explain_os(path: str, error: OSError) -> StoreError:
    said = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return _full(path, said)
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        where = error.filename if isinstance(error.filename, str) else path
        return _unwritable(path, f"{said}: {where}", opening=True)
    return StoreError(f"{path}: cannot open the store ({said})")


def _full(path: str, said: str) -> StoreFullError:
    where = _existing_dir(path)
    return StoreFullError(
        f"{path}: the disk is full ({said}); free space on the disk holding {where} (or "
        "point 'store' at another disk), then run again: the last change was rolled back, "
        "nothing was lost"
    )


def _unwritable(path: str, said: str, *, opening: bool) -> StoreError:
    """Read-only file system, read-only file or directory, or no permission to read."""
    file = Path(path)
    folder = _existing_dir(path)
    fix = "or point 'store' in the config at a writable place"
    if _read_only_fs(folder):
        return StoreReadOnlyError(
            f"{path}: the store is on a read-only file system ({said}); the store is fine: "
            f"remount {folder} read-write, {fix}"
        )
    if file.exists() and not os.access(file, os.R_OK):
        return StoreReadOnlyError(
            f"{path}: permission denied reading the store ({said}); run engage as the "
            f"file's owner or let this user read and write it (chmod u+rw {path})"
        )
    if file.exists() and not os.access(file, os.W_OK):
        return StoreReadOnlyError(
            f"{path}: the store file is read-only ({said}); the store is fine: make it "
            f"writable for this user (chmod u+w {path}), {fix}"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        return StoreReadOnlyError(
            f"{path}: the store's directory {folder} is read-only ({said}); engage writes "
            f"{file.name}-wal, {file.name}-shm and {file.name}.open next to the store; the "
            f"store is fine: make the directory writable for this user (chmod u+w {folder}), "
            f"{fix}"
        )
    if opening:
        return StoreError(
            f"{path}: cannot open the store ({said}); check that its directory exists and "
            "that this user may write it"
        )
    return StoreReadOnlyError(
        f"{path}: the store cannot be written ({said}); make it and its directory writable "
        f"for this user, {fix}"
    )


def _corrupt(path: str, said: str, *, not_a_database: bool = False) -> StoreCorruptError:
    fix = (
        f"restore it from a backup, or recover what is readable: sqlite3 {shlex.quote(path)} "
        ".recover | sqlite3 recovered.db (then point 'store' at recovered.db)"
    )
    if not_a_database:
        return StoreCorruptError(
            f"{path}: not an SQLite database, or a damaged one ({said}); if it is the store, "
            f"{fix}; if not, point 'store' at another file"
        )
    return StoreCorruptError(f"{path}: the store is corrupt ({said}); {fix}")


def _existing_dir(path: str) -> Path:
    folder = Path(path).absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _read_only_fs(folder: Path) -> bool:
    statvfs = getattr(os, "statvfs", None)  # not on Windows
    if statvfs is None:
        return False
    try:
        return bool(statvfs(folder).f_flag & getattr(os, "ST_RDONLY", 1))
    except OSError:
        return False


def _size_limit_reached(path: str) -> int | None:
    """The file size limit (RLIMIT_FSIZE) when the store or its journal has reached it."""
    if resource is None:
        return None
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit == resource.RLIM_INFINITY or limit <= 0:
        return None
    for suffix in ("", "-wal", "-journal"):
        try:
            if os.path.getsize(path + suffix) > limit - LOW_SPACE:
                return int(limit)
        except OSError:
            continue
    return None


def _low_space(path: str) -> bool:
    try:
        return shutil.disk_usage(_existing_dir(path)).free < LOW_SPACE
    except OSError:
        return False
