"""``replay://`` of a recording from another device (EDF+/BDF+, CSV/TSV, WFDB) as a live link.

:class:`RecordingReplayTransport` reads a recording with
:func:`~host.importers.open_recording`, block by block, and turns it into the byte stream a
spasmwatch wearable would have sent: one synthetic DEVICE_INFO frame, then SAMPLES and
ACCEL frames, encoded with the wire codec and fed to the transport's own decoder. Every
consumer (the pipeline, its store and its detector) therefore runs unchanged, exactly as
for a device or a ``.sw1`` capture.

The synthetic device
--------------------
* **Rates and channels**: the recording's EMG rate and channels (one or two), named after
  their labels (printable ASCII, at most 16 characters; a side letter ``L``/``R`` is added
  when the label does not name the side the channel was given), and its accelerometer
  (x, y, z) at its own rate, when it has one.
* **EMG counts** are 24-bit (``int24``). The scale (volts per count) is the recording's
  own resolution, found from its first seconds (the smallest step between distinct values,
  when the values lie on a grid, as EDF, BDF and WFDB values do), but never finer than
  :data:`EMG_FULL_SCALE_V` over the 24-bit range, so that values up to that size are held
  without clipping: an EDF file is stored exactly, a CSV of arbitrary decimals within half
  a count (below 0.01 µV).
* **Accelerometer counts** are 16-bit (the store's accelerometer width), with the
  recording's resolution but never finer than :data:`ACCEL_FULL_SCALE_G` over the 16-bit
  range.
* **Device clock**: the sample index (``timestamp_us = round(index * 1e6 / sfreq)``); each
  frame "arrives" at the recording's UTC time of its last sample (the file's start time
  when it has one, else ``start_utc_s``, else the time the replay is opened), so the
  stored session lies on the recording's own time line.
* **Gaps**: a sample time where any EMG channel is NaN (an EDF+D discontinuity, a missing
  CSV row) is not sent; the decoder reports the missing run as a sample gap, as it would
  for a radio drop-out. The same holds for the accelerometer.

Values beyond the counts' range are clipped, counted in
:attr:`RecordingReplayTransport.clipped_samples` and reported once in the log.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
from numpy.typing import NDArray

from host.errors import ConfigError, RecordingError, TransportError
from host.importers.channels import emg_side
from host.importers.recording import (
    SUFFIXES,
    RecordingBlock,
    RecordingInfo,
    RecordingReader,
    open_recording,
    resolve_format,
)
from host.protocol import (
    AccelFrame,
    DeviceInfoFrame,
    Frame,
    SampleFormat,
    SamplesFrame,
    encode_frame,
    max_samples_per_frame,
)
from host.protocol.capture import CAPTURE_SUFFIX
from host.transports.base import DEFAULT_QUEUE_SIZE, LinkEvent, Transport
from host.transports.playback import PlaybackTransport

__all__ = [
    "ACCEL_FULL_SCALE_G",
    "EMG_FULL_SCALE_V",
    "RECORDING_REPLAY_OPTIONS",
    "RecordingReplayTransport",
    "open_replay",
    "quantisation_step",
]

logger = logging.getLogger(__name__)

#: EMG amplitude (V) always representable without clipping: the finest EMG scale is this
#: over the 24-bit count range (about 0.012 µV per count).
EMG_FULL_SCALE_V = 0.1
#: Acceleration (g) always representable without clipping: the finest accelerometer scale
#: is this over the 16-bit count range (about 0.5 mg per count).
ACCEL_FULL_SCALE_G = 16.0
#: Seconds of the recording read before the synthetic DEVICE_INFO is made, to find the
#: recording's resolution.
PROBE_S = 10.0
#: Options of a ``replay://`` URL naming a recording (``speed`` applies to captures too).
RECORDING_REPLAY_OPTIONS = (
    "speed",
    "emg",
    "sides",
    "accel",
    "emg_unit",
    "accel_unit",
    "sfreq",
    "format",
    "start_utc_s",
)

_INT24_MAX = (1 << 23) - 1
_INT16_MAX = (1 << 15) - 1
#: Bits and reference of the synthetic ADC: the scale is set through its gain.
_ADC_BITS = 24
_VREF_V = 1.0
#: Seconds of the recording read per block while replaying.
_BLOCK_S = 1.0
_PRINTABLE = re.compile(r"[^\x20-\x7e]+")
_MAX_NAME = 16


def quantisation_step(values: NDArray[np.float64]) -> float | None:
    """Return the grid step the values lie on, or None when they lie on no visible grid.

    Parameters
    ----------
    values : ndarray of float
        Samples (NaN ignored), e.g. one channel of an EDF file in volts.

    Returns
    -------
    float | None
        The smallest positive difference between distinct values, when every difference
        between consecutive distinct values is a whole multiple of it (within 0.1 %), as
        for values converted from integers with one gain and offset; None with fewer
        than two distinct values or values on no common grid.
    """
    finite = values[np.isfinite(values)]
    distinct = np.unique(finite)
    if distinct.size < 2:
        return None
    steps = np.diff(distinct)
    step = float(steps.min())
    if not step > 0:
        return None
    ratio = steps / step
    if float(np.max(np.abs(ratio - np.round(ratio)))) > 1e-3:
        return None
    return step


def _device_name(label: str, side: str) -> str:
    """Printable ASCII of at most 16 characters that still names ``side``."""
    name = _PRINTABLE.sub("", label).strip()[:_MAX_NAME].strip() or "EMG"
    if emg_side(name) == side:
        return name
    letter = "L" if side == "left" else "R"
    named = f"{name[: _MAX_NAME - 2].rstrip()} {letter}"
    return named if emg_side(named) == side else f"EMG {letter}"


def _runs(valid: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Return ``[start, stop)`` of every run of True."""
    padded = np.concatenate(([False], valid, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


class RecordingReplayTransport(PlaybackTransport):
    """Replay a recording file as a spasmwatch device (``replay:///rec.edf?emg=EMG1,EMG2``).

    Parameters
    ----------
    path : str | Path
        An EDF/EDF+ (``.edf``), BDF/BDF+ (``.bdf``), CSV/TSV (``.csv``, ``.tsv``,
        ``.txt``) or WFDB (``.hea``) recording (see :func:`~host.importers.open_recording`).
    speed : float
        Real-time factor by the recording's time: 1 is the original pace, 0 as fast as the
        consumer takes the items (nothing is ever dropped: the file waits).
    start_utc_s : float | None
        UTC time (s) of the first sample when the file gives none; the time the replay is
        opened when None. A start time in the file wins.
    format, emg, sides, accel, emg_unit, accel_unit, sfreq
        The channel and format options of :func:`~host.importers.open_recording`.
    queue_size : int
        See :class:`~host.transports.base.Transport`.

    Raises
    ------
    ConfigError
        If ``speed`` or ``start_utc_s`` is not a usable number, or the file is a ``.sw1``
        capture (replayed by :class:`~host.transports.replay.ReplayTransport`).
    RecordingError
        If the file type is not supported or the file does not exist. Problems inside
        the file (channels not found, rates that differ, units unknown) are raised by
        :meth:`open`.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        speed: float = 0.0,
        start_utc_s: float | None = None,
        format: str | None = None,
        emg: Sequence[str | int] | None = None,
        sides: Sequence[str] | None = None,
        accel: Sequence[str | int] | None = None,
        emg_unit: str | None = None,
        accel_unit: str | None = None,
        sfreq: float | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        super().__init__(queue_size=queue_size)
        self._lossless = True
        self._path = Path(path)
        if not (speed >= 0.0 and math.isfinite(speed)):
            raise ConfigError(f"speed must be a real-time factor >= 0 (0: full speed), got {speed}")
        if start_utc_s is not None and not math.isfinite(start_utc_s):
            raise ConfigError(
                f"start_utc_s must be a finite UTC time in seconds, got {start_utc_s}"
            )
        fmt = resolve_format(self._path, format)
        if fmt == "sw1" or self._path.suffix == CAPTURE_SUFFIX:
            raise ConfigError(
                f"{self._path} is a spasmwatch capture: replay it with ReplayTransport "
                "(open_transport('replay:///path/capture.sw1'))"
            )
        if not self._path.exists():
            raise RecordingError(f"{self._path}: no such file")
        self._speed = float(speed)
        self._start_utc_s = start_utc_s
        self._options: dict[str, Any] = {
            "format": format,
            "emg": emg,
            "sides": sides,
            "accel": accel,
            "emg_unit": emg_unit,
            "accel_unit": accel_unit,
            "sfreq": sfreq,
        }
        self._reader: RecordingReader | None = None
        self._recording: RecordingInfo | None = None
        self._blocks: Iterator[RecordingBlock] | None = None
        self._pending: list[RecordingBlock] = []
        self._info: DeviceInfoFrame | None = None
        self._seq = 0
        self._sent = 0
        self.clipped_samples = 0

    # -- what it tells -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``replay://<path>?speed=...`` (with the channel options given)."""
        extra = "".join(
            f"&{key}={_url_value(value)}"
            for key, value in self._options.items()
            if value is not None
        )
        return f"replay://{self._path}?speed={self._speed:g}{extra}"

    @property
    def recording(self) -> RecordingInfo | None:
        """What the recording holds (channels, rates, start, warnings), once open."""
        return self._recording

    @property
    def synthetic_info(self) -> DeviceInfoFrame | None:
        """The DEVICE_INFO frame made for the recording, once open."""
        return self._info

    @property
    def start_utc_s(self) -> float | None:
        """UTC time of the first sample (the file's, or set at open)."""
        return self._start_utc_s

    @property
    def progress(self) -> float:
        """Fraction of the recording's EMG samples sent so far, 0-1."""
        rec = self._recording
        return self._sent / rec.n_times if rec is not None and rec.n_times else 0.0

    # -- life cycle ----------------------------------------------------------------------

    async def open(self) -> None:
        """Open the recording, make its DEVICE_INFO and start replaying.

        Raises
        ------
        RecordingError
            If the recording cannot be read or lacks what the pipeline needs (an EMG
            channel with a known unit; ``emg=``/``accel=`` names that exist; one rate
            per stream).
        ConfigError
            If an option is malformed.
        TransportError
            If the transport was closed before.
        """
        if self._closed:
            raise TransportError(f"{self.url}: a closed transport cannot be reopened")
        if self._opened:
            return
        reader = await asyncio.to_thread(self._open_reader)
        try:
            self._reader = reader
            self._recording = reader.info
            self._blocks = reader.blocks(_BLOCK_S)
            self._pending = await asyncio.to_thread(self._probe)
            self._info = self._make_info(self._pending)
        except BaseException:
            reader.close()
            raise
        start = reader.info.start
        if start is not None:
            self._start_utc_s = start.timestamp()
        elif self._start_utc_s is None:
            self._start_utc_s = time.time()
        self._start_playback()

    def _close_source(self) -> None:
        if self._reader is not None:
            self._reader.close()

    # -- reading -------------------------------------------------------------------------

    def _open_reader(self) -> RecordingReader:
        return open_recording(self._path, **self._options)

    def _probe(self) -> list[RecordingBlock]:
        """Read the first blocks (up to :data:`PROBE_S`) to find the resolution."""
        assert self._blocks is not None
        out: list[RecordingBlock] = []
        seconds = 0.0
        for block in self._blocks:
            out.append(block)
            seconds += _BLOCK_S
            if seconds >= PROBE_S:
                break
        return out

    def _make_info(self, probe: Sequence[RecordingBlock]) -> DeviceInfoFrame:
        rec = self._recording
        assert rec is not None
        n = len(rec.emg_labels)
        emg = np.concatenate([b.emg for b in probe], axis=1) if probe else np.empty((n, 0))
        steps = [quantisation_step(row) for row in emg]
        finest = EMG_FULL_SCALE_V / _INT24_MAX
        found = [s for s in steps if s is not None]
        emg_scale = max(finest, min(found)) if len(found) == n else finest
        if len(found) == n and max(found) > min(found) * (1 + 1e-9):
            logger.info(
                "%s: EMG channels have different resolutions %s V; stored at %.4g V per count",
                self._path.name,
                [f"{s:.4g}" for s in found],
                emg_scale,
            )
        base = (2.0 * _VREF_V) / float(1 << _ADC_BITS)
        names = tuple(
            _device_name(label, side) for label, side in zip(rec.emg_labels, rec.sides, strict=True)
        )
        if len(set(names)) != len(names):
            names = tuple(f"EMG {'L' if side == 'left' else 'R'}" for side in rec.sides)
        accel_sfreq = 0.0
        g_per_count = 0.0
        if rec.accel_sfreq is not None and rec.accel_labels:
            accel_sfreq = rec.accel_sfreq
            acc = [b.accel for b in probe if b.accel is not None and b.accel.size]
            acc_steps = (
                [quantisation_step(row) for row in np.concatenate(acc, axis=1)] if acc else []
            )
            acc_found = [s for s in acc_steps if s is not None]
            g_finest = ACCEL_FULL_SCALE_G / _INT16_MAX
            g_per_count = max(g_finest, min(acc_found)) if len(acc_found) == 3 else g_finest
        for what, rate in (("EMG", rec.sfreq), ("accelerometer", accel_sfreq)):
            if rate and abs(round(rate * 1000) / 1000 - rate) > 1e-6 * rate:
                logger.warning(
                    "%s: the %s rate %.9g Hz is announced to the pipeline as %.3f Hz (the "
                    "protocol's millihertz); its time line drifts by %.2g ppm",
                    self._path.name,
                    what,
                    rate,
                    round(rate * 1000) / 1000,
                    abs(round(rate * 1000) / 1000 - rate) / rate * 1e6,
                )
        digest = hashlib.blake2b(str(self._path.resolve()).encode(), digest_size=8).digest()
        board = f"recording {rec.format}"[:32]
        info = DeviceInfoFrame(
            seq=0,
            timestamp_us=0,
            firmware_version=(0, 0, 0),
            device_id=int.from_bytes(digest, "little"),
            emg_sfreq=rec.sfreq,
            channel_names=names,
            adc_bits=_ADC_BITS,
            adc_bipolar=True,
            vref_v=_VREF_V,
            gain=base / emg_scale,
            emg_format=SampleFormat.INT24,
            accel_sfreq=accel_sfreq,
            accel_g_per_count=g_per_count,
            samples_per_frame=max_samples_per_frame(n, SampleFormat.INT24),
            board=board,
        )
        logger.info(
            "%s: replayed as a %d-channel device at %g Hz, %.4g uV per count%s",
            self._path.name,
            n,
            info.emg_sfreq,
            info.volts_per_count * 1e6,
            f", accelerometer at {accel_sfreq:g} Hz" if accel_sfreq else "",
        )
        return info

    # -- producing -----------------------------------------------------------------------

    def _next_block(self) -> RecordingBlock | None:
        if self._pending:
            return self._pending.pop(0)
        assert self._blocks is not None
        return next(self._blocks, None)

    def _frames(self, block: RecordingBlock) -> list[tuple[float, Frame]]:
        """Frames of one block, each with the time (s from the start) its last sample ends.

        In time order (EMG first on ties: the pipeline times the accelerometer from the
        EMG's clock mapping) and numbered in that order, as a device would send them.
        """
        info = self._info
        assert info is not None
        parts: list[tuple[float, bool, int, NDArray[np.int32]]] = []
        sfreq = info.emg_sfreq
        counts = self._counts(block.emg, info.volts_per_count, _INT24_MAX, "EMG")
        valid = np.all(np.isfinite(block.emg), axis=0)
        for a, b in _runs(valid):
            for s in range(a, b, info.samples_per_frame):
                e = min(s + info.samples_per_frame, b)
                index = block.first_sample + s
                parts.append(((index + e - s) / sfreq, False, index, counts[:, s:e]))
        if block.accel is not None and info.accel_sfreq > 0 and block.accel.size:
            acc_rate = info.accel_sfreq
            acc_limit = max_samples_per_frame(3, SampleFormat.INT16)
            acc_counts = self._counts(block.accel, info.accel_g_per_count, _INT16_MAX, "accel")
            acc_valid = np.all(np.isfinite(block.accel), axis=0)
            for a, b in _runs(acc_valid):
                for s in range(a, b, acc_limit):
                    e = min(s + acc_limit, b)
                    index = block.first_accel_sample + s
                    parts.append(((index + e - s) / acc_rate, True, index, acc_counts[:, s:e]))
        parts.sort(key=lambda part: (part[0], part[1]))
        out: list[tuple[float, Frame]] = []
        for end_s, is_accel, index, block_counts in parts:
            rate = info.accel_sfreq if is_accel else sfreq
            kind = AccelFrame if is_accel else SamplesFrame
            frame = kind(
                seq=self._seq & 0xFFFFFFFF,
                timestamp_us=round(index * 1e6 / rate),
                first_sample=index & 0xFFFFFFFF,
                counts=block_counts,
                sample_format=SampleFormat.INT16 if is_accel else SampleFormat.INT24,
            )
            self._seq += 1
            out.append((end_s, frame))
        return out

    def _counts(
        self, values: NDArray[np.float64], scale: float, limit: int, what: str
    ) -> NDArray[np.int32]:
        scaled = np.round(np.nan_to_num(values, nan=0.0) / scale)
        over = np.abs(scaled) > limit
        if over.any():
            n = int(np.count_nonzero(np.any(over, axis=0)))
            if self.clipped_samples == 0:
                logger.warning(
                    "%s: %s values beyond %.4g at %.4g per count are clipped (counted in "
                    "clipped_samples)",
                    self._path.name,
                    what,
                    limit * scale,
                    scale,
                )
            self.clipped_samples += n
            np.clip(scaled, -limit, limit, out=scaled)
        return scaled.astype(np.int32)

    async def _produce(self) -> None:
        info, start = self._info, self._start_utc_s
        assert info is not None
        assert start is not None
        t0 = time.monotonic()
        try:
            self._seq = 1
            self._receive_bytes(encode_frame(info), start)
            while not self._closed:
                block = await asyncio.to_thread(self._next_block)
                if block is None:
                    self._emit(LinkEvent("disconnected", "end of the recording", time.monotonic()))
                    self._end_of_stream()
                    return
                for end_s, frame in self._frames(block):
                    self._receive_bytes(encode_frame(frame), start + end_s)
                self._sent = block.first_sample + block.emg.shape[1]
                await self._wait_for_room()
                if self._speed == 0.0:
                    await asyncio.sleep(0)
                    continue
                due = t0 + self._sent / info.emg_sfreq / self._speed
                await asyncio.sleep(max(0.0, due - time.monotonic()))
        except asyncio.CancelledError:
            raise
        except (OSError, RecordingError) as exc:
            self._fail(TransportError(f"{self.url}: reading failed: {exc}"))


def _url_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _labels(text: str) -> list[str | int]:
    """``"EMG1,EMG2"`` -> labels; whole numbers are channel indices (as on the CLI)."""
    out: list[str | int] = []
    for part in text.split(","):
        part = part.strip()
        if part:
            out.append(int(part) if part.isdigit() else part)
    return out


def _float(url: str, options: dict[str, str], name: str) -> float | None:
    if name not in options:
        return None
    try:
        return float(options[name])
    except ValueError:
        raise ConfigError(
            f"Invalid value {options[name]!r} for {name!r} in {url!r}: expected a number"
        ) from None


def open_replay(url: str) -> Transport:
    """Create (not yet open) the transport a ``replay://`` URL names.

    Parameters
    ----------
    url : str
        ``replay:///path/to/capture.sw1?speed=0`` replays a spasmwatch capture
        (:class:`~host.transports.replay.ReplayTransport`, option ``speed`` only);
        ``replay:///path/rec.edf?emg=EMG1,EMG2&accel=AX,AY,AZ&speed=0`` replays a
        recording from another device (:class:`RecordingReplayTransport`). Options for
        recordings (:data:`RECORDING_REPLAY_OPTIONS`), as in
        :func:`~host.importers.open_recording`: ``emg`` and ``accel`` (comma-separated
        labels, or 0-based indices; ``accel=`` empty ignores the accelerometer),
        ``sides`` (``left,right``), ``emg_unit``, ``accel_unit``, ``sfreq`` (a CSV without
        time column), ``format`` (``edf``, ``bdf``, ``csv``, ``tsv``, ``wfdb``), and
        ``speed`` (real-time factor, default 0: as fast as possible) and ``start_utc_s``
        (UTC of the first sample when the file gives none).

    Returns
    -------
    Transport

    Raises
    ------
    ConfigError
        If the URL names no file, or an option is unknown or malformed.
    RecordingError
        If the file's type is not supported or the file does not exist.
    """
    parts = urlsplit(url)
    target = unquote(parts.netloc) + unquote(parts.path)
    if not target:
        raise ConfigError(
            f"Invalid transport URL {url!r}: expected a capture file "
            "(replay:///path/to/capture.sw1) or a recording (replay:///path/to/recording.edf)"
        )
    parsed = parse_qs(parts.query, keep_blank_values=True)
    options = {key: values[-1] for key, values in parsed.items()}
    fmt = options.get("format")
    if fmt is None and Path(target).suffix.lower() not in SUFFIXES:
        recordings = ", ".join(s for s in SUFFIXES if s != CAPTURE_SUFFIX)
        raise ConfigError(
            f"cannot replay {target!r}: expected a capture file ending in {CAPTURE_SUFFIX} "
            f"or a recording ({recordings}); give format= for a recording with another name"
        )
    capture = Path(target).suffix.lower() == CAPTURE_SUFFIX and fmt in (None, "sw1")
    allowed = ("speed",) if capture else RECORDING_REPLAY_OPTIONS
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        what = (
            "capture (.sw1) replays accept only speed"
            if capture
            else (f"recording replays accept {', '.join(allowed)}")
        )
        raise ConfigError(f"Invalid option(s) {', '.join(unknown)} in {url!r}: {what}")
    speed = _float(url, options, "speed")
    if capture:
        from host.transports.replay import ReplayTransport

        return ReplayTransport(target, speed=0.0 if speed is None else speed)
    accel: list[str | int] | None = None
    if "accel" in options:
        accel = _labels(options["accel"])
        if accel and len(accel) != 3:
            raise ConfigError(
                f"Invalid value {options['accel']!r} for 'accel' in {url!r}: expected three "
                "channels x,y,z (labels or indices), or nothing to ignore the accelerometer"
            )
    sides = None
    if "sides" in options:
        sides = [s.strip().lower() for s in options["sides"].split(",") if s.strip()]
        bad = [s for s in sides if s not in ("left", "right")]
        if bad:
            raise ConfigError(
                f"Invalid value {options['sides']!r} for 'sides' in {url!r}: expected "
                "'left' and/or 'right', comma-separated"
            )
    return RecordingReplayTransport(
        target,
        speed=0.0 if speed is None else speed,
        start_utc_s=_float(url, options, "start_utc_s"),
        format=fmt,
        emg=_labels(options["emg"]) if options.get("emg") else None,
        sides=sides,
        accel=accel,
        emg_unit=options.get("emg_unit") or None,
        accel_unit=options.get("accel_unit") or None,
        sfreq=_float(url, options, "sfreq"),
    )
