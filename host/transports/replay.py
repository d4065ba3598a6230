"""``replay://``: a recorded byte stream (a ``.sw1`` capture) played back as a live link.

A capture holds exactly the bytes a device sent (:mod:`host.protocol.capture`), so
replaying it through the transport contract runs the same decoder, the same gap
accounting and the same pipeline as the live recording did. It is how a session is
re-analysed with a newer detector, and how the pipeline is measured at full speed.

A capture carries the device's clock but not the host's, so replayed items have no arrival
time (:attr:`~host.transports.base.Transport.last_arrival_utc_s` is NaN) and the pipeline
times samples from the device clock alone, anchored at ``start_utc_s``.

At full speed (``speed=0``) every frame is decoded as always, and then each run of
consecutive sample frames of one stream, between two other items (a STATUS, a gap, a
late frame, ...), is handed on as one frame of up to :data:`MERGE_MAX_S` of samples
(:func:`merge_sample_runs`): the same samples, gaps and counters, with a twentieth of the
per-frame work downstream. At any other speed the frames go on as the device sent them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from host.errors import ConfigError, TransportError
from host.protocol import AccelFrame, DeviceInfoFrame, LateFrame, SamplesFrame
from host.protocol.capture import CAPTURE_SUFFIX
from host.transports.base import DEFAULT_QUEUE_SIZE, LinkEvent, TransportItem
from host.transports.playback import PlaybackTransport

__all__ = ["MERGE_MAX_S", "ReplayTransport", "merge_sample_runs"]

logger = logging.getLogger(__name__)

#: Bytes fed to the decoder at a time: about a second of a 2-channel 1 kHz stream.
_CHUNK = 4096
#: Longest run of sample frames merged into one at full speed, in device seconds
#: (nominal: frame length / rate).
MERGE_MAX_S = 1.0


def _mergeable(run: list[SamplesFrame | AccelFrame], frame: SamplesFrame | AccelFrame) -> bool:
    last = run[-1]
    return (
        type(frame) is type(last)
        and frame.n_channels == last.n_channels
        and frame.sample_format == last.sample_format
        and frame.first_sample == (last.first_sample + last.counts.shape[1]) & 0xFFFFFFFF
    )


def merge_sample_runs(
    items: Sequence[TransportItem], max_samples: dict[type, int]
) -> list[TransportItem]:
    """Merge consecutive sample frames of each stream between other items.

    Parameters
    ----------
    items : list
        Decoded items in the order received.
    max_samples : dict
        Longest merged frame per frame class (``SamplesFrame``, ``AccelFrame``), in
        samples.

    Returns
    -------
    list
        The items with each run of contiguous frames of one stream (no other item in
        between, only the other stream's frames) replaced by one frame holding its samples,
        with the first frame's sequence number and device time. The accelerometer run of a
        stretch comes before its EMG run; every other item keeps its place.
    """
    out: list[TransportItem] = []
    runs: dict[type, list[SamplesFrame | AccelFrame]] = {}
    counts: dict[type, int] = {}

    def flush(kind: type) -> None:
        run = runs.pop(kind, None)
        counts.pop(kind, None)
        if not run:
            return
        if len(run) == 1:
            out.append(run[0])
            return
        first = run[0]
        out.append(
            type(first)(
                seq=first.seq,
                timestamp_us=first.timestamp_us,
                first_sample=first.first_sample,
                counts=np.concatenate([f.counts for f in run], axis=1),
                sample_format=first.sample_format,
            )
        )

    def flush_all() -> None:
        # The accelerometer first, as `spasmwatch analyze` hands it over: the detector then
        # has the trunk's motion for all the EMG it is given.
        flush(AccelFrame)
        flush(SamplesFrame)

    for item in items:
        kind = type(item)
        if kind is SamplesFrame or kind is AccelFrame:
            assert isinstance(item, SamplesFrame | AccelFrame)
            run = runs.get(kind)
            n = item.counts.shape[1]
            if run is not None and (
                not _mergeable(run, item) or counts[kind] + n > max_samples[kind]
            ):
                flush_all()
                run = None
            if run is None:
                runs[kind] = [item]
                counts[kind] = n
            else:
                run.append(item)
                counts[kind] += n
            continue
        flush_all()
        out.append(item)
    flush_all()
    return out


class ReplayTransport(PlaybackTransport):
    """Play a ``.sw1`` capture file back (``replay:///path/day.sw1?speed=0``).

    Parameters
    ----------
    path : str | Path
        The capture file.
    speed : float
        Real-time factor by the device clock: 1 is the original pace, 0 as fast as the
        consumer takes the items (nothing is ever dropped at any speed: the file waits).
    start_utc_s : float | None
        UTC time given to the first sample (the capture has none); now when None.
    queue_size : int
        See :class:`~host.transports.base.Transport`.

    Raises
    ------
    ConfigError
        If the path is not a ``.sw1`` file or ``speed`` is negative.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        speed: float = 0.0,
        start_utc_s: float | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        super().__init__(queue_size=queue_size)
        self._lossless = True
        self._path = Path(path)
        if self._path.suffix != CAPTURE_SUFFIX:
            raise ConfigError(
                f"cannot replay {str(self._path)!r}: expected a capture file ending in "
                f"{CAPTURE_SUFFIX} (recordings from other devices, EDF, BDF, CSV or WFDB, are "
                "replayed by RecordingReplayTransport, which open_transport picks for them)"
            )
        if not (speed >= 0.0 and math.isfinite(speed)):
            raise ConfigError(f"speed must be a real-time factor >= 0 (0: full speed), got {speed}")
        self._speed = float(speed)
        self._start_utc_s = start_utc_s
        self._file: BinaryIO | None = None
        self._size = 0
        self._position = 0
        self._max_samples: dict[type, int] | None = None

    @property
    def url(self) -> str:
        """``replay://<path>?speed=...``."""
        return f"replay://{self._path}?speed={self._speed:g}"

    @property
    def start_utc_s(self) -> float | None:
        """UTC time of the first sample (set at open when not given)."""
        return self._start_utc_s

    @property
    def progress(self) -> float:
        """Fraction of the file fed to the decoder so far, 0-1."""
        return self._position / self._size if self._size else 0.0

    async def open(self) -> None:
        """Open the file and start feeding it.

        Raises
        ------
        TransportError
            If the file does not exist or cannot be read.
        """
        if self._closed:
            raise TransportError(f"{self.url}: a closed transport cannot be reopened")
        if self._opened:
            return
        try:
            self._file = open(self._path, "rb")  # noqa: SIM115 - closed in close()
            self._size = self._path.stat().st_size
        except OSError as exc:
            raise TransportError(
                f"cannot replay {str(self._path)!r}: {exc.strerror or exc}"
            ) from exc
        if self._start_utc_s is None:
            self._start_utc_s = time.time()
        self._start_playback()

    def _close_source(self) -> None:
        if self._file is not None:
            self._file.close()

    def _receive_bytes(self, data: bytes, arrival_utc_s: float | None = None) -> None:
        if self._speed != 0.0:
            super()._receive_bytes(data, arrival_utc_s)
            return
        self._link.bytes_received += len(data)
        items: list[TransportItem] = list(self._decoder.feed(data))
        for item in items:
            info = item if isinstance(item, DeviceInfoFrame) else None
            if isinstance(item, LateFrame) and isinstance(item.frame, DeviceInfoFrame):
                info = item.frame if self._device_info is None else None
            if info is None:
                continue
            self._device_info = info
            if self._max_samples is None:
                self._max_samples = {
                    SamplesFrame: max(round(MERGE_MAX_S * info.emg_sfreq), 1),
                    AccelFrame: max(round(MERGE_MAX_S * info.accel_sfreq), 1),
                }
        if self._max_samples is None:  # nothing known of the rates yet: as received
            merged = items
        else:
            merged = merge_sample_runs(items, self._max_samples)
        for item in merged:
            self._put(item, math.nan if arrival_utc_s is None else arrival_utc_s)

    def _last_device_s(self) -> float | None:
        for item in reversed(self._items):
            if isinstance(item, SamplesFrame):
                return item.timestamp_us * 1e-6
        return None

    async def _produce(self) -> None:
        fh = self._file
        assert fh is not None
        t0 = time.monotonic()
        first_device_s: float | None = None
        try:
            while not self._closed:
                chunk = await asyncio.to_thread(fh.read, _CHUNK * (16 if self._speed == 0 else 1))
                if not chunk:
                    self._emit(LinkEvent("disconnected", "end of the capture", time.monotonic()))
                    self._end_of_stream()
                    return
                self._position += len(chunk)
                self._receive_bytes(chunk, math.nan)
                await self._wait_for_room()
                if self._speed == 0.0:
                    await asyncio.sleep(0)
                    continue
                device_s = self._last_device_s()
                if device_s is None:
                    continue
                if first_device_s is None:
                    first_device_s = device_s
                due = t0 + (device_s - first_device_s) / self._speed
                await asyncio.sleep(max(0.0, due - time.monotonic()))
        except asyncio.CancelledError:
            raise
        except OSError as exc:
            self._fail(TransportError(f"{self.url}: reading failed: {exc.strerror or exc}"))
