"""What the recording store hands back: immutable records and signal segments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray

from dsp.calibration import Calibration
from host.storage.codec import SampleFormatName

__all__ = [
    "SESSION_STATUSES",
    "CalibrationRecord",
    "DeviceRecord",
    "EpisodeRecord",
    "LabelRecord",
    "LinkEventRecord",
    "MarkerRecord",
    "SessionRecord",
    "SessionStatus",
    "SignalSegment",
    "StoredGap",
    "Stream",
]

SessionStatus: TypeAlias = Literal["recording", "stopped", "interrupted", "failed"]
#: Every session status; ``recording`` while a process writes it, then one of the others.
SESSION_STATUSES: tuple[SessionStatus, ...] = ("recording", "stopped", "interrupted", "failed")
Stream: TypeAlias = Literal["emg", "accel"]


@dataclass(frozen=True)
class DeviceRecord:
    """A wearable the store has seen.

    Attributes
    ----------
    id : int
        Row id.
    name : str
        Human name (BLE advertised name, board name).
    address : str
        Where it was reached: serial port or USB ``VID:PID``, BLE address.
    transport : str
        ``"serial"``, ``"ble"``, ``"sim"``, ``"replay"``.
    info : dict
        Device information (firmware version, device id, board, scales), JSON.
    first_seen_us, last_seen_us : int
        UTC µs of the first and latest registration.
    """

    id: int
    name: str
    address: str
    transport: str
    info: dict[str, Any]
    first_seen_us: int
    last_seen_us: int


@dataclass(frozen=True)
class SessionRecord:
    """One recording session: a continuous stretch of acquisition from one device.

    Attributes
    ----------
    id : int
        Row id.
    device_id : int or None
        The device (:class:`DeviceRecord`), if registered.
    source_url : str
        Transport URL the samples came from (``serial:///dev/ttyACM0``, ``ble://...``).
    status : {"recording", "stopped", "interrupted", "failed"}
        ``recording`` while a process writes it; ``stopped`` when ended normally;
        ``interrupted`` when the recording process died or closed the store without
        ending it; ``failed`` when recording stopped on an error (``reason`` says which).
    reason : str
        Why the session ended, for ``interrupted`` and ``failed``.
    started_us : int
        UTC µs when the session started.
    ended_us : int or None
        UTC µs when it ended; None while recording.
    sfreq : float
        EMG sampling rate, Hz.
    channel_names : tuple of str
        EMG channel names, one per row of the EMG arrays.
    emg_volts_per_count : float
        Scale from EMG counts to volts at the electrodes.
    sample_format : {"int16", "int24"}
        Storage width of EMG counts.
    accel_sfreq : float or None
        Accelerometer rate, Hz; None without accelerometer.
    accel_channel_names : tuple of str
        Accelerometer axes (``("x", "y", "z")``), empty without accelerometer.
    accel_g_per_count : float or None
        Scale from accelerometer counts to g.
    accel_sample_format : {"int16", "int24"}
        Storage width of accelerometer counts.
    notes : str
        Free text by the wearer or clinician.
    n_emg_samples, n_accel_samples : int
        Sample times stored (committed).
    data_end_us : int or None
        UTC µs just after the last stored sample, None before the first block.
    """

    id: int
    device_id: int | None
    source_url: str
    status: SessionStatus
    reason: str
    started_us: int
    ended_us: int | None
    sfreq: float
    channel_names: tuple[str, ...]
    emg_volts_per_count: float
    sample_format: SampleFormatName
    accel_sfreq: float | None
    accel_channel_names: tuple[str, ...]
    accel_g_per_count: float | None
    accel_sample_format: SampleFormatName
    notes: str
    n_emg_samples: int
    n_accel_samples: int
    data_end_us: int | None

    @property
    def n_channels(self) -> int:
        """Number of EMG channels."""
        return len(self.channel_names)

    @property
    def has_accel(self) -> bool:
        """True if the session was set up with an accelerometer."""
        return self.accel_sfreq is not None

    @property
    def duration_s(self) -> float:
        """Wall-clock length, s: to ``ended_us``, or to the last stored sample while recording."""
        end = self.ended_us if self.ended_us is not None else self.data_end_us
        return 0.0 if end is None else max(0, end - self.started_us) / 1e6


@dataclass(frozen=True, eq=False)
class SignalSegment:
    """Consecutive samples of one stream of one session, with NaN where samples are missing.

    Attributes
    ----------
    session_id : int
        The session.
    stream : {"emg", "accel"}
        Which signal.
    data : ndarray of float64, shape (n_channels, n_times)
        Volts (EMG) or g (accelerometer); NaN for every sample the store does not hold
        (link gaps, device buffer overflows).
    sfreq : float
        Sampling rate, Hz.
    ch_names : tuple of str
        One name per row of ``data``.
    first_sample : int
        Device sample index of ``data[:, 0]`` (unwrapped, counted since the device started
        streaming).
    unit : {"V", "g"}
        Unit of ``data``.
    anchor_samples, anchor_us : ndarray of int64, shape (n_anchors,)
        Sample index and UTC µs at the start and end of every stored block the segment
        touches (in sample order); :meth:`times_us` interpolates between them.
    """

    session_id: int
    stream: Stream
    data: NDArray[np.float64]
    sfreq: float
    ch_names: tuple[str, ...]
    first_sample: int
    unit: Literal["V", "g"]
    anchor_samples: NDArray[np.int64] = field(repr=False)
    anchor_us: NDArray[np.int64] = field(repr=False)

    @property
    def n_channels(self) -> int:
        """Number of channels (rows of ``data``)."""
        return int(self.data.shape[0])

    @property
    def n_times(self) -> int:
        """Number of sample times (columns of ``data``)."""
        return int(self.data.shape[1])

    @property
    def missing(self) -> NDArray[np.bool_]:
        """Boolean mask, shape (n_times,): True where the store holds no sample."""
        if self.n_channels == 0:
            return np.zeros(self.n_times, dtype=np.bool_)
        return np.asarray(np.isnan(self.data).any(axis=0), dtype=np.bool_)

    @property
    def n_missing(self) -> int:
        """Number of sample times without data."""
        return int(self.missing.sum())

    @property
    def t_start_us(self) -> int | None:
        """UTC µs of ``data[:, 0]``, or None for an empty segment."""
        if self.n_times == 0:
            return None
        return int(self.sample_times_us(np.array([self.first_sample]))[0])

    def times_us(self) -> NDArray[np.int64]:
        """Return the UTC time of every column of ``data``.

        Returns
        -------
        ndarray of int64, shape (n_times,)
            UTC µs, linear between the block anchors (the host-clock mapping of the
            timing module, stored per block), extrapolated at ``sfreq`` beyond them.
        """
        return self.sample_times_us(self.first_sample + np.arange(self.n_times, dtype=np.int64))

    def sample_times_us(self, samples: NDArray[np.int64]) -> NDArray[np.int64]:
        """Return the UTC time of device sample indices (see :meth:`times_us`).

        Parameters
        ----------
        samples : ndarray of int64
            Device sample indices.

        Returns
        -------
        ndarray of int64
            UTC µs, same shape as ``samples``.
        """
        samples = np.asarray(samples, dtype=np.int64)
        xs, ys = self.anchor_samples, self.anchor_us
        if xs.size == 0:
            return np.zeros(samples.shape, dtype=np.int64)
        period_us = 1e6 / self.sfreq
        rel = (samples - xs[0]).astype(np.float64)
        out = np.interp(rel, (xs - xs[0]).astype(np.float64), (ys - ys[0]).astype(np.float64))
        before = samples < xs[0]
        after = samples > xs[-1]
        out[before] = rel[before] * period_us
        out[after] = (ys[-1] - ys[0]) + (samples[after] - xs[-1]) * period_us
        times: NDArray[np.int64] = ys[0] + np.rint(out).astype(np.int64)
        return times


@dataclass(frozen=True)
class StoredGap:
    """A run of samples missing from the store between two stored blocks.

    Attributes
    ----------
    first_sample : int
        First missing device sample index.
    n_samples : int
        Number of missing sample times.
    t_start_us, t_end_us : int
        UTC µs at the end of the block before and at the start of the block after.
    """

    first_sample: int
    n_samples: int
    t_start_us: int
    t_end_us: int


@dataclass(frozen=True)
class EpisodeRecord:
    """A detected episode (spasm or voluntary contraction) as stored.

    Attributes
    ----------
    id : int
        Row id (what labels refer to).
    session_id : int
        The session.
    start_sample, end_sample : int
        First sample of the episode and first sample after it, in the session's EMG
        sample index.
    start_us, end_us : int
        The same as UTC µs.
    involuntary : bool
        True for a spasm.
    kind, side : str
        As decided by the detector (``dsp.detector.Episode``).
    confidence : float or None
        Confidence of the decision, 0.5-1.
    data : dict
        The full episode dictionary (``Episode.to_dict()``).
    """

    id: int
    session_id: int
    start_sample: int
    end_sample: int
    start_us: int
    end_us: int
    involuntary: bool
    kind: str
    side: str
    confidence: float | None
    data: dict[str, Any]

    @property
    def duration_s(self) -> float:
        """Length in seconds, from the UTC times."""
        return (self.end_us - self.start_us) / 1e6


@dataclass(frozen=True)
class LinkEventRecord:
    """Something that happened to the link or the sample stream of a session.

    Attributes
    ----------
    id : int
        Row id.
    session_id : int
        The session.
    t_us : int
        UTC µs when it happened (for a gap: when the missing samples were due).
    kind : str
        ``"gap"``, ``"connected"``, ``"disconnected"``, ``"reconnecting"``, ``"gave_up"``,
        ``"crc_error"``, ``"frame_lost"``, ``"restart"``, ``"overflow"``, ...
    stream : {"emg", "accel"} or None
        The sample stream concerned, for gaps.
    first_sample, n_samples : int or None
        The samples concerned (a gap: the first missing sample and how many).
    detail : dict
        Anything else (JSON): counters, error text, reconnect attempt.
    """

    id: int
    session_id: int
    t_us: int
    kind: str
    stream: Stream | None
    first_sample: int | None
    n_samples: int | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class MarkerRecord:
    """A marker the wearer set (button, app), with text.

    Attributes
    ----------
    id : int
        Row id.
    session_id : int or None
        The session recording at the time, if any.
    t_us : int
        UTC µs the marker points at.
    text : str
        What the wearer wrote or chose.
    created_us : int
        UTC µs when it was stored.
    """

    id: int
    session_id: int | None
    t_us: int
    text: str
    created_us: int


@dataclass(frozen=True)
class LabelRecord:
    """A judgement of an episode by the wearer or a clinician.

    Attributes
    ----------
    id : int
        Row id.
    episode_id : int
        The episode (:class:`EpisodeRecord`).
    label : str
        The judgement (``"spasm"``, ``"voluntary"``, ``"artefact"``, ...).
    note : str
        Free text.
    author : str
        Who labelled.
    created_us : int
        UTC µs when the label was stored.
    trigger : str
        What the wearer thinks set the episode off (``"lifting"``, ``"sitting long"``,
        ``"stress"``, ``"after exercise"``, ...); empty when not given.
    """

    id: int
    episode_id: int
    label: str
    note: str
    author: str
    created_us: int
    trigger: str = ""


@dataclass(frozen=True)
class CalibrationRecord:
    """A stored calibration (``dsp.calibration.Calibration``).

    Attributes
    ----------
    id : int
        Row id.
    created_us : int
        UTC µs when it was stored.
    session_id, device_id : int or None
        The session it was measured in and the device, if known.
    data : dict
        ``Calibration.to_dict()``.
    """

    id: int
    created_us: int
    session_id: int | None
    device_id: int | None
    data: dict[str, Any]

    def calibration(self) -> Calibration:
        """Return the :class:`~dsp.calibration.Calibration` rebuilt from :attr:`data`."""
        return Calibration.from_dict(self.data)
