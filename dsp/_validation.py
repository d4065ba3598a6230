"""Argument checks shared by every public function and streaming class of ``dsp``.

Messages follow MNE-Python's style: they name the parameter, what was expected and what
was received. There is never a default sampling rate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "check_block",
    "check_n_channels",
    "check_option",
    "check_positive",
    "check_sfreq",
    "check_signal",
]


def check_sfreq(sfreq: Any) -> float:
    """Return ``sfreq`` as a float after checking it is a finite rate in Hz above 0.

    Raises
    ------
    TypeError
        If ``sfreq`` is not a real number (``None`` included: there is no default).
    ValueError
        If it is not finite or not positive.
    """
    if isinstance(sfreq, bool) or not isinstance(sfreq, int | float | np.integer | np.floating):
        raise TypeError(
            f"sfreq must be the sampling rate in Hz as a number, got {type(sfreq).__name__} "
            f"({sfreq!r}) instead"
        )
    value = float(sfreq)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"sfreq must be a finite sampling rate > 0 Hz, got {sfreq!r} instead")
    return value


def check_n_channels(n_channels: Any) -> int:
    """Return ``n_channels`` after checking it is a positive integer.

    Raises
    ------
    TypeError
        If it is not an integer (bools included).
    ValueError
        If it is below 1.
    """
    if isinstance(n_channels, bool) or not isinstance(n_channels, int | np.integer):
        raise TypeError(
            f"n_channels must be a positive integer, got {type(n_channels).__name__} "
            f"({n_channels!r}) instead"
        )
    if n_channels < 1:
        raise ValueError(f"n_channels must be a positive integer, got {n_channels!r} instead")
    return int(n_channels)


def check_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float after checking it is finite and > 0 (or >= 0)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r})")
    out = float(value)
    ok = out >= 0 if allow_zero else out > 0
    if not math.isfinite(out) or not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r} instead")
    return out


def check_option(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError listing them."""
    options = tuple(allowed)
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(
            f"Invalid value for the {name!r} parameter. Allowed values are {listed}, "
            f"but got {value!r} instead."
        )
    return value


def check_signal(
    data: Any,
    *,
    name: str = "data",
    n_channels: int | None = None,
    allow_nan: bool = False,
    allow_empty: bool = True,
) -> NDArray[np.float64]:
    """Check a signal of shape ``(n_channels, n_times)`` and return it as float64.

    Parameters
    ----------
    data : array-like of float, shape (n_channels, n_times)
        Signal in volts. A 1-D array is refused rather than guessed at.
    name : str
        Parameter name used in messages.
    n_channels : int | None
        Required number of channels, if the caller is configured for one.
    allow_nan : bool
        Accept NaN samples (gaps). Infinite values are always refused.
    allow_empty : bool
        Accept ``n_times == 0``.

    Returns
    -------
    ndarray of float64, shape (n_channels, n_times)
        The data (a copy only when a conversion was needed).

    Raises
    ------
    TypeError
        If the data are not a real floating-point array (integer arrays are refused: they
        are almost always ADC counts that were not converted to volts).
    ValueError
        On a wrong number of dimensions or channels, an empty array where one is not
        allowed, or non-finite values.
    """
    arr = np.asarray(data)
    if arr.dtype.kind != "f":  # every floating dtype, and only those, has kind "f"
        if np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
            raise TypeError(
                f"{name} must be floating-point volts, got an integer array (dtype "
                f"{arr.dtype}) instead; ADC counts must be converted to volts first "
                "(DeviceInfo.volts_per_count)"
            )
        raise TypeError(
            f"{name} must be a real-valued floating-point array of shape (n_channels, "
            f"n_times), got dtype {arr.dtype} instead"
        )
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must have shape (n_channels, n_times), got an array of shape "
            f"{arr.shape} ({arr.ndim} dimensions) instead"
        )
    if n_channels is not None and arr.shape[0] != n_channels:
        raise ValueError(
            f"{name} must have {n_channels} channels (rows), as configured, got "
            f"{arr.shape[0]} instead (shape {arr.shape})"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must have at least one channel, got shape {arr.shape}")
    if arr.shape[1] == 0 and not allow_empty:
        raise ValueError(f"{name} must have at least one sample, got shape {arr.shape}")
    out = arr.astype(np.float64, copy=False)
    if out.size:
        finite = np.isfinite(out)
        if not finite.all():
            if np.isinf(out).any():
                raise ValueError(f"{name} contains infinite values")
            if not allow_nan:
                raise ValueError(
                    f"{name} contains {int((~finite).sum())} NaN samples; fill or split gaps "
                    "before processing"
                )
    return out


def check_block(
    block: Any, *, n_channels: int, name: str = "block", allow_nan: bool = False
) -> NDArray[np.float64]:
    """Check one block for a streaming component configured for ``n_channels``."""
    return check_signal(block, name=name, n_channels=n_channels, allow_nan=allow_nan)


def check_mask(
    mask: Any, shape: tuple[int, ...], *, name: str = "usable", default: bool = True
) -> NDArray[np.bool_]:
    """Check a per-sample boolean mask for a block of ``shape`` (n_channels, n_times).

    None gives a mask filled with ``default``; a 1-D mask of length n_times applies to
    every channel (a read-only broadcast view).
    """
    if mask is None:
        return np.full(shape, default, dtype=bool)
    arr = np.asarray(mask)
    if arr.dtype != np.bool_:
        raise TypeError(f"{name} must be a boolean array, got dtype {arr.dtype} instead")
    if arr.ndim == 1 and arr.shape[0] == shape[1]:
        return np.broadcast_to(arr, shape)
    if arr.shape != shape:
        raise ValueError(
            f"{name} must have shape {shape} or ({shape[1]},), got {arr.shape} instead"
        )
    return arr
