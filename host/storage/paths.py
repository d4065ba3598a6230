"""Where recording stores live: one SQLite file per wearer under a user data directory."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from host.errors import ConfigError

__all__ = [
    "DATA_DIR_ENV",
    "DEFAULT_WEARER",
    "STORE_SUFFIX",
    "check_wearer",
    "default_data_dir",
    "store_path",
]

#: Environment variable that overrides the data directory.
DATA_DIR_ENV = "SPASMWATCH_DATA_DIR"
#: Wearer name used when none is given.
DEFAULT_WEARER = "default"
#: File name extension of a store.
STORE_SUFFIX = ".sqlite3"

_APP = "spasmwatch"
_WEARER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Device names Windows refuses as file names, whatever the extension.
_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt") for i in range(10)}


def default_data_dir() -> Path:
    r"""Return the directory that holds the stores (it may not exist yet).

    In order of precedence: ``$SPASMWATCH_DATA_DIR``; on Linux and other Unixes
    ``$XDG_DATA_HOME/spasmwatch`` when that variable holds an absolute path, else
    ``~/.local/share/spasmwatch`` (XDG Base Directory Specification); on macOS
    ``~/Library/Application Support/spasmwatch``; on Windows
    ``%LOCALAPPDATA%\spasmwatch``.

    Returns
    -------
    Path
        An absolute path (``~`` expanded).
    """
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser().absolute()
    home = Path.home()
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA", "").strip()
        return (Path(local) if local else home / "AppData" / "Local") / _APP
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / _APP
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():  # the spec says to ignore relative values
        return Path(xdg) / _APP
    return home / ".local" / "share" / _APP


def check_wearer(wearer: str) -> str:
    """Check that a wearer name can safely become a file name, and return it.

    Parameters
    ----------
    wearer : str
        1 to 64 ASCII letters, digits, ``.``, ``_`` or ``-``, starting with a letter or
        digit, not ending with ``.``, and not a name Windows reserves (``con``, ``nul``,
        ``com1``, ...).

    Returns
    -------
    str
        ``wearer`` unchanged.

    Raises
    ------
    ConfigError
        If the name does not follow these rules.
    """
    if (
        not isinstance(wearer, str)
        or _WEARER_RE.fullmatch(wearer) is None
        or wearer.endswith(".")
        or wearer.split(".")[0].lower() in _RESERVED
    ):
        raise ConfigError(
            f"Invalid wearer name {wearer!r}: it becomes the store's file name, so it must "
            "be 1-64 ASCII letters, digits, '.', '_' or '-', start with a letter or digit, "
            "not end with '.', and not be a reserved device name (con, nul, com1, ...); "
            "for example 'alice' or 'patient-07'."
        )
    return wearer


def store_path(
    wearer: str = DEFAULT_WEARER, data_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Return the store file of a wearer.

    Parameters
    ----------
    wearer : str
        Wearer name, checked with :func:`check_wearer`.
    data_dir : path-like or None
        Directory of the stores; ``None``: :func:`default_data_dir`.

    Returns
    -------
    Path
        ``<data_dir>/<wearer>.sqlite3``. Nothing is created.

    Raises
    ------
    ConfigError
        If the wearer name is not a safe file name.
    """
    check_wearer(wearer)
    base = default_data_dir() if data_dir is None else Path(data_dir).expanduser()
    return base / f"{wearer}{STORE_SUFFIX}"
