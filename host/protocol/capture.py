"""Capture files: a device's raw byte stream, as received, and its reading into arrays.

A capture file (extension ``.sw1``) holds the bytes a device sent, exactly as they
arrived, concatenated: nothing is lost or reinterpreted, and reading it runs the same
:class:`~host.protocol.decoder.StreamDecoder` as a live link. :func:`read_capture` turns
one into EMG volts and accelerometer g with NaN wherever samples are missing, so that a
gap is a gap and never silently joined signal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from host.errors import ProtocolError
from host.protocol.decoder import (
    LateFrame,
    LinkStats,
    SampleGap,
    StreamDecoder,
    StreamRestart,
    unwrap_index,
)
from host.protocol.frames import AccelFrame, DeviceInfoFrame, SamplesFrame, StatusFrame

__all__ = ["CAPTURE_SUFFIX", "Capture", "read_capture"]

CAPTURE_SUFFIX = ".sw1"


@dataclass
class _Assembler:
    """Places sample blocks by their (unwrapped) index; what is never filled stays NaN."""

    blocks: list[tuple[int, NDArray[np.int32]]] = field(default_factory=list)
    base: int = 0  # offset of the current segment (after restarts)
    next_index: int | None = None  # unwrapped index expected next, within the segment
    end: int = 0

    def unwrap(self, first_sample: int) -> int:
        if self.next_index is None:
            return first_sample
        return unwrap_index(first_sample, self.next_index)

    def add(self, first_sample: int, counts: NDArray[np.int32], *, late: bool) -> None:
        start = self.unwrap(first_sample)
        self.blocks.append((self.base + start, counts))
        self.end = max(self.end, self.base + start + counts.shape[1])
        if not late:
            self.next_index = start + counts.shape[1]

    def restart(self) -> None:
        self.base = self.end
        self.next_index = None

    def assemble(self, n_rows: int) -> NDArray[np.float64]:
        out = np.full((n_rows, self.end), np.nan)
        for start, counts in self.blocks:
            out[:, start : start + counts.shape[1]] = counts
        return out


@dataclass
class Capture:
    """A capture file read into arrays.

    Attributes
    ----------
    info : DeviceInfoFrame
        The device's description (the last one received).
    emg_v : ndarray, shape (n_channels, n_times)
        EMG in volts at the electrodes; NaN where samples are missing.
    accel_g : ndarray, shape (3, n_accel)
        Acceleration in g; NaN where samples are missing. Empty without accelerometer.
    sample_gaps : list of SampleGap
        Every gap the decoder reported, EMG and accelerometer.
    statuses : list of StatusFrame
        Status frames in arrival order.
    stats : LinkStats
        The decoder's link statistics over the whole file.
    first_timestamp_us : int
        Device time of the first EMG sample.
    """

    info: DeviceInfoFrame
    emg_v: NDArray[np.float64]
    accel_g: NDArray[np.float64]
    sample_gaps: list[SampleGap]
    statuses: list[StatusFrame]
    stats: LinkStats
    first_timestamp_us: int

    @property
    def sfreq(self) -> float:
        """EMG sampling rate in Hz."""
        return self.info.emg_sfreq

    @property
    def accel_sfreq(self) -> float:
        """Accelerometer rate in Hz (0.0 without accelerometer)."""
        return self.info.accel_sfreq

    @property
    def ch_names(self) -> tuple[str, ...]:
        """EMG channel names."""
        return self.info.channel_names


def read_capture(path: str | Path, *, chunk_size: int = 1 << 20) -> Capture:
    """Read a capture file into volts and g, with NaN for missing samples.

    Parameters
    ----------
    path : str | Path
        A ``.sw1`` file.
    chunk_size : int
        Bytes read at a time.

    Returns
    -------
    Capture
        The signals, gaps, statuses and link statistics.

    Raises
    ------
    ProtocolError
        If the file holds no DEVICE_INFO frame (the counts cannot be converted without
        one) or no EMG samples.
    FileNotFoundError
        If the file does not exist.
    """
    decoder = StreamDecoder()
    emg, acc = _Assembler(), _Assembler()
    info: DeviceInfoFrame | None = None
    gaps: list[SampleGap] = []
    statuses: list[StatusFrame] = []
    first_us: int | None = None
    n_channels = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            for item in decoder.feed(chunk):
                late = isinstance(item, LateFrame)
                frame = item.frame if isinstance(item, LateFrame) else item
                if isinstance(frame, SamplesFrame):
                    if n_channels and frame.n_channels != n_channels:
                        raise ProtocolError(
                            f"{path}: channel count changed from {n_channels} to "
                            f"{frame.n_channels} within one capture"
                        )
                    n_channels = frame.n_channels
                    if first_us is None:
                        first_us = frame.timestamp_us
                    emg.add(frame.first_sample, frame.counts, late=late)
                elif isinstance(frame, AccelFrame):
                    acc.add(frame.first_sample, frame.counts, late=late)
                elif isinstance(frame, DeviceInfoFrame):
                    info = frame
                elif isinstance(frame, StatusFrame):
                    statuses.append(frame)
                elif isinstance(item, SampleGap):
                    gaps.append(item)
                elif isinstance(item, StreamRestart):
                    emg.restart()
                    acc.restart()
    if info is None:
        raise ProtocolError(
            f"{path}: no DEVICE_INFO frame, so counts cannot be converted to volts "
            "(expected a capture that starts at or before the device's START)"
        )
    if first_us is None:
        raise ProtocolError(f"{path}: no EMG samples in this capture")
    emg_v = emg.assemble(n_channels) * info.volts_per_count
    accel_g = acc.assemble(3) * info.accel_g_per_count
    return Capture(
        info=info,
        emg_v=emg_v,
        accel_g=accel_g,
        sample_gaps=gaps,
        statuses=statuses,
        stats=decoder.stats,
        first_timestamp_us=first_us,
    )
