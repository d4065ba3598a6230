"""Byte layout of the sample blocks kept in the store.

A block of ``n_times`` samples of ``n_channels`` channels is stored as the counts of the
ADC (or accelerometer), channel-interleaved in time order (sample-major, as on the wire:
``t0c0 t0c1 t1c0 t1c1 ...``), each count a little-endian two's-complement integer of
2 bytes (``int16``) or 3 bytes (``int24``, packed without padding). The blob is exactly
``n_times * n_channels * width`` bytes; the scale to physical units is a column of the
session, not part of the blob.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray

from host.errors import ConfigError, StoreCorruptError

__all__ = [
    "SAMPLE_FORMATS",
    "SampleFormatName",
    "decode_counts",
    "decode_counts_view",
    "encode_counts",
    "format_limits",
    "format_width",
]

SampleFormatName: TypeAlias = Literal["int16", "int24"]
#: Sample formats a block can use.
SAMPLE_FORMATS: tuple[SampleFormatName, ...] = ("int16", "int24")

_WIDTH: dict[str, int] = {"int16": 2, "int24": 3}


def format_width(sample_format: SampleFormatName) -> int:
    """Return the bytes per count of a sample format (2 or 3)."""
    return _WIDTH[sample_format]


def format_limits(sample_format: SampleFormatName) -> tuple[int, int]:
    """Return the smallest and largest count a sample format holds."""
    bits = 8 * _WIDTH[sample_format]
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def encode_counts(counts: NDArray[np.integer], sample_format: SampleFormatName) -> bytes:
    """Pack counts into a block blob.

    Parameters
    ----------
    counts : ndarray of int, shape (n_channels, n_times)
        ADC counts; every value must fit ``sample_format``.
    sample_format : {"int16", "int24"}
        Width of one count.

    Returns
    -------
    bytes
        ``n_times * n_channels * width`` bytes, channel-interleaved, little-endian.

    Raises
    ------
    ConfigError
        If a count does not fit the format (checked by the caller for speed; this only
        guards the cast).
    """
    interleaved = np.ascontiguousarray(np.asarray(counts).T)
    if sample_format == "int16":
        return interleaved.astype("<i2", copy=False).tobytes()
    if sample_format == "int24":
        wide = interleaved.astype("<i4", copy=False)
        return wide.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    raise ConfigError(f"sample_format must be 'int16' or 'int24', got {sample_format!r}")


def decode_counts(
    blob: bytes, n_channels: int, sample_format: SampleFormatName
) -> NDArray[np.int32]:
    """Unpack a block blob (or several concatenated) into counts.

    Parameters
    ----------
    blob : bytes
        Bytes written by :func:`encode_counts`.
    n_channels : int
        Channels per sample time.
    sample_format : {"int16", "int24"}
        Width of one count.

    Returns
    -------
    ndarray of int32, shape (n_times, n_channels)
        Counts in time order, one row per sample time (transpose for
        ``(n_channels, n_times)``).

    Raises
    ------
    StoreCorruptError
        If the length of ``blob`` is not a whole number of sample times.
    """
    return decode_counts_view(blob, n_channels, sample_format).astype(np.int32, copy=False)


def decode_counts_view(
    blob: bytes, n_channels: int, sample_format: SampleFormatName
) -> NDArray[np.signedinteger]:
    """Unpack a block blob without widening: a read-only ``int16`` view of ``blob`` for int16.

    Same as :func:`decode_counts` but cheaper for large reads; int24 comes back as int32.

    Parameters
    ----------
    blob : bytes
        Bytes written by :func:`encode_counts`.
    n_channels : int
        Channels per sample time.
    sample_format : {"int16", "int24"}
        Width of one count.

    Returns
    -------
    ndarray of int16 or int32, shape (n_times, n_channels)
        Counts in time order.

    Raises
    ------
    StoreCorruptError
        If the length of ``blob`` is not a whole number of sample times.
    """
    width = _WIDTH[sample_format]
    frame = width * n_channels
    if len(blob) % frame:
        raise StoreCorruptError(
            f"a sample block of {len(blob)} bytes is not a whole number of {n_channels}-channel "
            f"{sample_format} sample times ({frame} bytes each): the store is damaged"
        )
    if sample_format == "int16":
        return np.frombuffer(blob, dtype="<i2").reshape(-1, n_channels)
    raw = np.frombuffer(blob, dtype=np.uint8).reshape(-1, 3)
    wide = np.empty((raw.shape[0], 4), dtype=np.uint8)
    wide[:, :3] = raw
    wide[:, 3] = np.where(raw[:, 2] & 0x80, 0xFF, 0x00)  # sign extension
    return wide.view("<i4").reshape(-1, n_channels)
