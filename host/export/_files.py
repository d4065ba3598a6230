"""Output paths of exports: checked before any work, errors that say what to do."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from host.errors import ConfigError

__all__ = ["check_output_dir", "check_output_file", "output_error"]


def output_error(exc: OSError, path: Path) -> ConfigError:
    """Return a :class:`ConfigError` describing why ``path`` cannot be written."""
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "permission denied"
    elif exc.errno == errno.ENOSPC:
        why = "the disk is full"
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST):
        why = "a path component is a file"
    elif exc.errno == errno.ENOENT:
        why = "the folder does not exist"
    else:
        why = exc.strerror or str(exc)
    return ConfigError(f"cannot write the export {path}: {why}. Choose another output path.")


def check_output_dir(directory: Path) -> None:
    """Create ``directory`` (and parents) and check that files can be written in it.

    Raises
    ------
    ConfigError
        If it cannot be created or is not writable.
    """
    if directory.exists() and not directory.is_dir():
        raise ConfigError(
            f"cannot write the export into {directory}: it is a file, not a folder. "
            "Choose another output path."
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, directory) from exc
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(
            f"cannot write the export into {directory}: permission denied. "
            "Choose another output path."
        )


def check_output_file(path: Path, *, overwrite: bool) -> None:
    """Check that ``path`` may be (over)written; create its folder.

    Raises
    ------
    ConfigError
        If it exists (and ``overwrite`` is False), is a folder, or cannot be written.
    """
    if path.is_dir():
        raise ConfigError(f"cannot write the export {path}: it is a folder. Give a file name.")
    if path.exists() and not overwrite:
        raise ConfigError(
            f"{path} exists: remove it, choose another output path, or pass overwrite=True "
            "(--overwrite)"
        )
    check_output_dir(path.parent)
