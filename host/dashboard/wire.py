"""The live view's binary WebSocket frames: one header, then float32 samples.

Every frame is encoded once per batch and the same bytes go to every client. All numbers
are little-endian. The header is 56 bytes, so the float32 payload is 4-byte aligned::

    offset size  field
    0      4     magic b"SWL1"
    4      1     kind: 1 = EMG, 2 = accelerometer
    5      1     n_channels
    6      2     reserved (0)
    8      4     n_times
    12     4     reserved (0)
    16     8     first_sample (float64; the session's sample index, exact below 2**53)
    24     8     sfreq, Hz (float64)
    32     8     t0_utc_s: UTC of the first sample (float64)
    40     8     received_s: time.monotonic() when the pipeline handled the frame
    48     8     encoded_s: time.monotonic() when the dashboard encoded this batch

Payload of an EMG frame (float32, µV), channel after channel:

* the filtered EMG, ``n_channels x n_times``;
* its envelope (moving RMS), ``n_channels x n_times``;
* per channel the activation thresholds: onset, offset and rest level (``3 x n_channels``;
  NaN while the rest level is being learnt).

Payload of an accelerometer frame: ``3 x n_times`` float32 in g.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from host.errors import ConfigError

__all__ = ["HEADER", "KIND_ACCEL", "KIND_EMG", "MAGIC", "WireFrame", "decode", "encode"]

MAGIC = b"SWL1"
KIND_EMG = 1
KIND_ACCEL = 2
#: The header's layout (see the module notes).
HEADER = struct.Struct("<4sBBHIIddddd")


@dataclass(frozen=True)
class WireFrame:
    """One decoded frame (for tests and tools; the browser decodes its own).

    Attributes
    ----------
    kind : int
        :data:`KIND_EMG` or :data:`KIND_ACCEL`.
    first_sample : int
        Session sample index of the first column.
    sfreq : float
        Sampling rate, Hz.
    t0_utc_s, received_s, encoded_s : float
        See the module notes.
    signal : ndarray of float32, shape (n_channels, n_times)
        Filtered EMG (µV) or acceleration (g).
    envelope : ndarray of float32, shape (n_channels, n_times) | None
        EMG envelope, µV (None for the accelerometer).
    thresholds : ndarray of float32, shape (3, n_channels) | None
        Onset, offset and rest level per channel, µV (None for the accelerometer).
    """

    kind: int
    first_sample: int
    sfreq: float
    t0_utc_s: float
    received_s: float
    encoded_s: float
    signal: NDArray[np.float32]
    envelope: NDArray[np.float32] | None
    thresholds: NDArray[np.float32] | None


def encode(
    kind: int,
    *,
    first_sample: int,
    sfreq: float,
    t0_utc_s: float,
    received_s: float,
    encoded_s: float,
    signal: NDArray[np.floating],
    envelope: NDArray[np.floating] | None = None,
    thresholds: NDArray[np.floating] | None = None,
) -> bytes:
    """Encode one batch.

    Parameters
    ----------
    kind : int
        :data:`KIND_EMG` or :data:`KIND_ACCEL`.
    first_sample : int
        Session sample index of ``signal[:, 0]``.
    sfreq : float
        Sampling rate, Hz.
    t0_utc_s, received_s, encoded_s : float
        UTC of the first sample; monotonic times of arrival and of encoding, s.
    signal : ndarray, shape (n_channels, n_times)
        Filtered EMG in µV, or acceleration in g.
    envelope : ndarray, shape (n_channels, n_times) | None
        The EMG's envelope in µV (EMG frames only).
    thresholds : ndarray, shape (3, n_channels) | None
        Onset, offset and rest level per channel in µV (EMG frames only).

    Returns
    -------
    bytes
    """
    n_channels, n_times = signal.shape
    if kind == KIND_EMG:
        if envelope is None or thresholds is None:
            raise ConfigError("an EMG frame needs its envelope and thresholds")
        if envelope.shape != signal.shape or thresholds.shape != (3, n_channels):
            raise ConfigError(
                f"envelope must be {signal.shape} and thresholds (3, {n_channels}), got "
                f"{envelope.shape} and {thresholds.shape}"
            )
        parts: tuple[NDArray[np.floating], ...] = (signal, envelope, thresholds)
    elif kind == KIND_ACCEL:
        parts = (signal,)
    else:
        raise ConfigError(f"kind must be {KIND_EMG} (EMG) or {KIND_ACCEL} (accelerometer)")
    header = HEADER.pack(
        MAGIC,
        kind,
        n_channels,
        0,
        n_times,
        0,
        float(first_sample),
        float(sfreq),
        float(t0_utc_s),
        float(received_s),
        float(encoded_s),
    )
    payload = b"".join(np.ascontiguousarray(p, dtype="<f4").tobytes() for p in parts)
    return header + payload


def decode(data: bytes) -> WireFrame:
    """Decode one frame made by :func:`encode`.

    Parameters
    ----------
    data : bytes
        The frame.

    Returns
    -------
    WireFrame

    Raises
    ------
    ConfigError
        If the bytes are not a frame of this format.
    """
    if len(data) < HEADER.size:
        raise ConfigError(f"a live frame has a {HEADER.size}-byte header, got {len(data)} bytes")
    magic, kind, n_ch, _, n_times, _, first, sfreq, t0, received, encoded = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ConfigError(f"not a live frame: magic {magic!r}, expected {MAGIC!r}")
    values = np.frombuffer(data, dtype="<f4", offset=HEADER.size)
    size = n_ch * n_times
    signal = values[:size].reshape(n_ch, n_times)
    envelope = thresholds = None
    if kind == KIND_EMG:
        envelope = values[size : 2 * size].reshape(n_ch, n_times)
        thresholds = values[2 * size : 2 * size + 3 * n_ch].reshape(3, n_ch)
    return WireFrame(
        kind=int(kind),
        first_sample=int(first),
        sfreq=float(sfreq),
        t0_utc_s=float(t0),
        received_s=float(received),
        encoded_s=float(encoded),
        signal=signal,
        envelope=envelope,
        thresholds=thresholds,
    )
