"""SQLite plumbing of the recording store: connections, error translation, the recorder lock.

Nothing here knows the schema. :func:`storage_error` turns ``sqlite3.Error`` and
``OSError`` into the :class:`~host.errors.StorageError` family with a message that names
the file, what was being done and how to fix it, so no ``sqlite3`` exception leaves
:mod:`host.storage`.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import sys
import time
from pathlib import Path

from host.errors import (
    StorageError,
    StorageFullError,
    StoragePermissionError,
    StoreCorruptError,
)

__all__ = [
    "MIN_SQLITE_VERSION",
    "SQLITE_MAGIC",
    "RecorderLock",
    "connect",
    "storage_error",
]

logger = logging.getLogger(__name__)

#: Oldest SQLite library the store runs on (upsert: 3.24, window functions: 3.25).
MIN_SQLITE_VERSION = (3, 25, 0)
#: The first 16 bytes of every SQLite 3 database file.
SQLITE_MAGIC = b"SQLite format 3\x00"

# Primary result codes (https://www.sqlite.org/rescode.html).
_SQLITE_PERM = 3
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_AUTH = 23
_SQLITE_NOTADB = 26

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}


def storage_error(exc: BaseException, path: Path, action: str) -> StorageError:
    """Translate a ``sqlite3`` or ``OSError`` exception into the storage error family.

    Parameters
    ----------
    exc : BaseException
        The exception raised by ``sqlite3`` or by the operating system.
    path : Path
        The store file (or directory) concerned; it is named in the message.
    action : str
        What was being done, as a verb phrase (``"append EMG samples to"``).

    Returns
    -------
    StorageError
        :class:`~host.errors.StorageFullError` for a full disk or size limit and for disk
        I/O errors, :class:`~host.errors.StoragePermissionError` for permissions and
        read-only files, :class:`~host.errors.StoreCorruptError` for damaged files and
        files that are not databases, a plain :class:`~host.errors.StorageError`
        otherwise. The caller raises it ``from exc``.
    """
    if isinstance(exc, OSError) and not isinstance(exc, sqlite3.Error):
        return _os_error(exc, path, action)
    code = getattr(exc, "sqlite_errorcode", None)
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    primary = code & 0xFF if isinstance(code, int) else None
    where = f"could not {action} {path}"
    if primary == _SQLITE_FULL:
        return StorageFullError(
            f"{where}: the disk is full or the store reached its size limit ({exc}). "
            "Recording stopped; everything committed before this moment is kept and readable. "
            "Free disk space (or raise the size limit), then start a new session."
        )
    if primary == _SQLITE_IOERR:
        return StorageFullError(
            f"{where}: disk I/O error ({name}: {exc}); the disk is full, failing or was "
            "removed. Recording stopped; everything committed before this moment is kept. "
            "Check free space and the drive, then start a new session."
        )
    if primary in (_SQLITE_READONLY, _SQLITE_PERM, _SQLITE_AUTH, _SQLITE_CANTOPEN):
        return StoragePermissionError(
            f"{where}: {exc} ({name}). The file and its directory must be readable and "
            f"writable by this user (SQLite also creates {path.name}-wal and {path.name}-shm "
            "next to it): fix the permissions, or choose another data directory with "
            "SPASMWATCH_DATA_DIR."
        )
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return StoreCorruptError(
            f"{where}: the file is damaged or is not a spasmwatch store ({exc}). Move it "
            "away (keep it: parts may be recoverable with the sqlite3 '.recover' command) "
            "and start a new store."
        )
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StorageError(
            f"{where}: the store stayed locked by another connection for longer than the "
            f"busy timeout ({exc}). Another process is holding a long write transaction; "
            "retry, or stop that process."
        )
    return StorageError(f"{where}: {exc} ({name})")


def _os_error(exc: OSError, path: Path, action: str) -> StorageError:
    where = f"could not {action} {exc.filename or path}"
    if exc.errno in _FULL_ERRNOS:
        return StorageFullError(
            f"{where}: {exc.strerror or exc}. The disk is full (or the file size limit is "
            "reached): free disk space, then start again."
        )
    if exc.errno in _DENIED_ERRNOS:
        return StoragePermissionError(
            f"{where}: {exc.strerror or exc}. Give this user write permission on that "
            "directory, or choose another data directory with SPASMWATCH_DATA_DIR."
        )
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return StoragePermissionError(
            f"{where}: a path component is a file, not a directory ({exc.strerror or exc}). "
            "Move that file away or choose another data directory with SPASMWATCH_DATA_DIR."
        )
    return StorageError(f"{where}: {exc}")


def connect(path: Path, *, readonly: bool, busy_timeout_s: float) -> sqlite3.Connection:
    """Open a connection in autocommit mode (transactions are explicit ``BEGIN``).

    Parameters
    ----------
    path : Path
        Database file; it must exist when ``readonly`` is true.
    readonly : bool
        Open with ``mode=ro``: every write fails with ``SQLITE_READONLY``.
    busy_timeout_s : float
        How long a statement waits for a lock held by another connection, s.

    Returns
    -------
    sqlite3.Connection
        Usable from any thread (the store serialises access with its own lock).
    """
    if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
        raise StorageError(
            f"the recording store needs SQLite {'.'.join(map(str, MIN_SQLITE_VERSION))} or "
            f"newer, but Python is linked against SQLite {sqlite3.sqlite_version}: upgrade "
            "Python (or its sqlite3 library)"
        )
    target = f"{path.resolve().as_uri()}?mode={'ro' if readonly else 'rwc'}"
    conn = sqlite3.connect(
        target,
        uri=True,
        timeout=busy_timeout_s,
        isolation_level=None,
        check_same_thread=False,
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {round(busy_timeout_s * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


class RecorderLock:
    """Advisory lock held by the one process recording into a store.

    It lives in a small file next to the store (``<store>.lock``) and is an ``flock``
    (``msvcrt.locking`` on Windows): the operating system releases it when the holder
    dies, even by ``SIGKILL``. So "the lock is free" means "no live process is
    recording", and sessions still marked ``recording`` can be declared interrupted.

    Parameters
    ----------
    path : Path
        The lock file; created if missing, never deleted.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free, without waiting.

        Returns
        -------
        bool
            True if the lock is now held by this object.

        Raises
        ------
        StorageError
            If the lock file cannot be created (permissions, full disk).
        """
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise storage_error(exc, self.path, "create the recorder lock file") from exc
        if not _lock_fd(fd):
            os.close(fd)
            return False
        self._fd = fd
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        return True

    def acquire(self, timeout_s: float) -> bool:
        """Take the lock, waiting up to ``timeout_s`` for another holder to let go.

        Returns
        -------
        bool
            True if the lock is now held by this object.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            if self.try_acquire():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def holder(self) -> str:
        """Return the process id written by the current holder, or ``"unknown"``."""
        try:
            text = self.path.read_text(encoding="ascii", errors="replace").strip()
        except OSError:
            return "unknown"
        return text or "unknown"

    def release(self) -> None:
        """Let the lock go (idempotent)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            _unlock_fd(fd)
        os.close(fd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock_fd(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock_fd(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_fd(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as exc:  # no flock on this filesystem: record without the guard
            logger.warning(
                "cannot lock %s (%s): another process could record into the same store, "
                "and a live session could be taken for an interrupted one",
                fd,
                exc,
            )
        return True

    def _unlock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
