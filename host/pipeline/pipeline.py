"""The one place where the rooms meet: source -> decoder -> timing -> dsp -> sinks.

:class:`Pipeline` takes any :class:`~host.transports.Transport` (serial, BLE, the
simulator, a replay), whose decoder already accounts for every lost frame and sample, and:

* maps each frame's device time to UTC (:class:`~host.timing.ClockSync`);
* hands every sample, in compact counts, to the recording store (through
  :class:`~host.pipeline.writer.StoreWriter`, on its own thread, committed at least once a
  second), late frames included, with every gap, reconnect and restart as a link event;
* runs the dsp stage (:class:`~host.pipeline.live_dsp.LiveDsp`: cleaning, signal quality,
  the spasm detector) and stores each episode with its UTC times;
* publishes a status message every second and every episode and link event on the
  :class:`~host.pipeline.hub.LiveHub`, which never blocks.

Back-pressure: a live link is never paused (its transport drops the oldest items only if
the pipeline itself stalls, and counts them); a source that can wait (a replay, the
simulator) is paused while the store's queue is long, so memory stays flat at any speed.

Sample indices: the store's EMG index counts from the session's first sample; a device
restart (its counters start again) continues the index after the last sample received, so
a session's time line never goes backwards.

Another protocol version: a frame whose (CRC-checked) version byte is not the one this host
speaks cannot be decoded at all (``docs/protocol.md``, "Versioning"). If such a frame
comes before anything decodable on the link, the device speaks that version: the run stops
at once with one :class:`~host.errors.UnsupportedVersionError` naming both versions and
the fix (update spasmwatch, or the wearable's firmware). If it comes among decodable
frames, it is reported once (an error in the log, a ``link`` message on the hub), and
recording goes on with what decodes.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, get_args

from dsp.calibration import Calibration
from dsp.detector import Episode
from host.errors import StorageError, StorageFullError, UnsupportedVersionError
from host.pipeline.hub import LiveHub
from host.pipeline.live_dsp import ANALYSIS_BLOCK_S, REPLAY_BLOCK_S, LiveDsp, episode_record
from host.pipeline.writer import StoreWriter
from host.protocol import (
    PROTOCOL_VERSION,
    AccelFrame,
    DecodeIssue,
    DeviceInfoFrame,
    Frame,
    FrameGap,
    FrameType,
    LateFrame,
    SampleGap,
    SamplesFrame,
    StatusFrame,
    StreamRestart,
)
from host.protocol.decoder import unwrap_index
from host.storage import RecordingStore
from host.timing import ClockSync
from host.transports.base import LinkEvent, Transport

__all__ = ["Pipeline", "PipelineSummary"]

logger = logging.getLogger(__name__)

#: Interval of the status messages, s of wall time.
STATUS_INTERVAL_S = 1.0

#: The version a rejected frame announced, in the decoder's message.
_VERSION_RE = re.compile(r"protocol version (\d+)")
#: What the decoder hands out for a frame it could decode.
_DECODED: tuple[type, ...] = (*get_args(Frame), LateFrame)


@dataclass
class PipelineSummary:
    """What a run did (JSON-ready through :meth:`as_dict`).

    Attributes
    ----------
    session_id : int | None
        The store's session (None without a store or before DEVICE_INFO).
    samples, accel_samples : int
        EMG / accelerometer sample times received (late ones included).
    missing_samples : int
        EMG sample times reported missing by the decoder (and never refilled).
    gaps : int
        EMG gaps.
    late_samples : int
        Samples that arrived late, refilling part of an earlier gap.
    restarts, disconnects : int
        Device restarts and link drops seen.
    episodes, involuntary : int
        Detected contractions, and how many were involuntary.
    stream_s, wall_s : float
        Seconds of signal received, and of wall time taken.
    items_dropped : int
        Items the transport dropped because the pipeline did not keep up (0 expected).
    stop_reason : str
        ``"end of stream"``, ``"duration reached"``, ``"stopped"``, or the error.
    """

    session_id: int | None = None
    samples: int = 0
    accel_samples: int = 0
    missing_samples: int = 0
    gaps: int = 0
    late_samples: int = 0
    restarts: int = 0
    disconnects: int = 0
    episodes: int = 0
    involuntary: int = 0
    stream_s: float = 0.0
    wall_s: float = 0.0
    items_dropped: int = 0
    stop_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def speed(self) -> float:
        """Seconds of signal per second of wall time."""
        return self.stream_s / self.wall_s if self.wall_s > 0 else math.nan

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as a JSON-ready dictionary."""
        out = asdict(self)
        out["speed"] = None if math.isnan(self.speed) else round(self.speed, 2)
        return out


class _Stream:
    """Unwrapping of one stream's u32 sample counter onto the session's index."""

    def __init__(self) -> None:
        self.base = 0  # session index of the device's sample 0 (moves at restarts)
        self.next: int | None = None  # device index (unwrapped) expected next
        self.end = 0  # session index after the last sample received

    def place(self, first_sample: int, n: int, *, late: bool) -> int:
        device = first_sample if self.next is None else unwrap_index(first_sample, self.next)
        if not late:
            self.next = device + n
        index = self.base + device
        self.end = max(self.end, index + n)
        return index

    def restart(self) -> None:
        self.base = self.end
        self.next = None


class Pipeline:
    """Record and analyse one source.

    Parameters
    ----------
    transport : Transport
        The source (not yet open).
    open_store : callable | None
        Opens the recording store (on the store's thread); None to record nothing.
    hub : LiveHub | None
        Where live messages go; a private one when None.
    detect : bool
        Run the spasm detector.
    on_status : callable | None
        Called with each status message (e.g. the CLI's status line).
    clock : callable
        Wall clock for the status interval (``time.monotonic``).
    calibration : Calibration | None
        The wearer's calibration, given to the detector (:class:`LiveDsp`): episode
        amplitudes in %MVC. None: in µV.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        open_store: Callable[[], RecordingStore] | None = None,
        hub: LiveHub | None = None,
        detect: bool = True,
        on_status: Callable[[dict[str, Any]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        calibration: Calibration | None = None,
    ) -> None:
        self.transport = transport
        self.calibration = calibration
        self.hub = hub or LiveHub()
        self.summary = PipelineSummary()
        self._open_store = open_store
        self._writer: StoreWriter | None = None
        self._detect = detect
        self._on_status = on_status
        self._clock = clock
        self._info: DeviceInfoFrame | None = None
        self._dsp: LiveDsp | None = None
        self._sync: ClockSync | None = None
        self._emg = _Stream()
        self._acc = _Stream()
        self._restart_pending = False
        self._early_accel: list[tuple[AccelFrame, bool]] = []
        self._first_device_us: int | None = None
        self._anchor_utc_s: float | None = None
        self._stop = asyncio.Event()
        self._decoded_on_link = False  # a frame decoded since the link (re)connected
        self._version_rejected = 0  # frames of another protocol version

    @property
    def session_id(self) -> int | None:
        """The store's session, once DEVICE_INFO has arrived."""
        return self.summary.session_id

    def stop(self) -> None:
        """Ask the run to end: the source is closed and what was received is kept.

        Call it on the event loop's thread (``loop.add_signal_handler`` does).
        """
        if not self._stop.is_set():
            self._stop.set()
            asyncio.ensure_future(self.transport.close())

    async def run(self, *, duration_s: float | None = None) -> PipelineSummary:
        """Record until the source ends, ``duration_s`` of signal is in, or :meth:`stop`.

        Parameters
        ----------
        duration_s : float | None
            Seconds of signal to record; None for as long as the source lasts.

        Returns
        -------
        PipelineSummary

        Raises
        ------
        StorageError
            If the store cannot be opened, or fails while recording (disk full): the
            session is ended as ``failed`` where possible, and everything committed before
            stays readable.
        TransportError
            If the source cannot be opened or gives up.
        """
        t0 = self._clock()
        summary = self.summary
        if self._open_store is not None:
            self._writer = StoreWriter(self._open_store)
            await self._writer.start()
        reason = "end of stream"
        error: BaseException | None = None
        next_status = t0 + STATUS_INTERVAL_S
        try:
            async with self.transport as transport:
                iterator = transport.__aiter__()
                while True:
                    if self._stop.is_set():
                        reason = "stopped"
                        break
                    try:
                        item = await iterator.__anext__()
                    except StopAsyncIteration:
                        if self._stop.is_set():
                            reason = "stopped"
                        break
                    self._handle(item)
                    writer = self._writer
                    if writer is not None:
                        if writer.error is not None:
                            raise writer.error
                        if transport._lossless:
                            await writer.drain()
                    if duration_s is not None and summary.stream_s >= duration_s:
                        reason = "duration reached"
                        break
                    now = self._clock()
                    if now >= next_status:
                        self._status()
                        next_status = now + STATUS_INTERVAL_S
        except StorageError as exc:
            reason = f"storage error: {exc}"
            error = exc
        except BaseException as exc:
            reason = f"error: {exc}"
            error = exc
            raise
        finally:
            summary.items_dropped = self.transport.link.items_dropped
            summary.stop_reason = reason
            await self._finish(error)
            summary.wall_s = self._clock() - t0
        if error is not None:
            raise error
        return summary

    # ------------------------------------------------------------------ items

    def _handle(self, item: Any) -> None:
        if isinstance(item, _DECODED):
            self._decoded_on_link = True
        elif isinstance(item, DecodeIssue) and item.kind == "version":
            self._other_version(item)
        elif isinstance(item, LinkEvent) and item.kind == "connected":
            self._decoded_on_link = False
        if isinstance(item, SamplesFrame):
            self._samples(item, late=False)
        elif isinstance(item, AccelFrame):
            self._accel(item, late=False)
        elif isinstance(item, LateFrame):
            frame = item.frame
            if isinstance(frame, SamplesFrame):
                self._samples(frame, late=True)
            elif isinstance(frame, AccelFrame):
                self._accel(frame, late=True)
            return  # the dsp has moved on: late samples are stored, not analysed
        elif isinstance(item, DeviceInfoFrame):
            self._device_info(item)
        elif isinstance(item, SampleGap):
            self._gap(item)
        elif isinstance(item, StreamRestart):
            self.summary.restarts += 1
            self._event("restart", detail={"reason": "device counters started again"})
        elif isinstance(item, LinkEvent):
            if item.kind == "disconnected":
                self.summary.disconnects += 1
            self._event(item.kind, detail={"detail": item.detail})
            self.hub.publish("link", {"kind": item.kind, "detail": item.detail})
        elif isinstance(item, FrameGap):
            self.hub.publish("link", {"kind": "frames lost", "n": item.n_missing})
        elif isinstance(item, StatusFrame):
            self.hub.publish("device", {"battery_pct": item.battery_pct})
        if self._dsp is not None:
            self._dsp.observe(item)
            if isinstance(item, StreamRestart):
                self._store_episodes(self._dsp.take_episodes())
                self._emg.restart()
                self._acc.restart()
                self._restart_pending = True
            else:
                self._store_episodes(self._dsp.take_episodes())

    def _other_version(self, issue: DecodeIssue) -> None:
        """Handle a frame of another protocol version: stop, or report it once and go on.

        The CRC vouches for the version byte, so one such frame is conclusive: with nothing
        decodable before it on this link, the device speaks that version and nothing it
        sends can be recorded.
        """
        self._version_rejected += 1
        extra = self.summary.extra
        extra["unsupported_version_frames"] = self._version_rejected
        stops = not self._decoded_on_link
        if self._version_rejected > 1 and not stops:
            return  # reported once already; recording goes on
        match = _VERSION_RE.search(issue.message)
        received = int(match.group(1)) if match else None
        extra["device_protocol_version"] = received
        if stops:
            message = (
                f"{_version_mismatch(self.transport.url, received)} Nothing it sends can be "
                "decoded, so recording stopped."
            )
        else:
            message = (
                f"{_version_mismatch(self.transport.url, received)} Its frames of that version "
                "are dropped (their samples are missing); the others are recorded."
            )
        self.hub.publish(
            "link",
            {
                "kind": "unsupported protocol version",
                "detail": message,
                "received_version": received,
                "supported_version": PROTOCOL_VERSION,
            },
        )
        if stops:
            raise UnsupportedVersionError(message)
        logger.error("%s", message)

    def _device_info(self, info: DeviceInfoFrame) -> None:
        if self._info is not None:
            return
        self._info = info
        self._sync = ClockSync(info.emg_sfreq)
        self._dsp = LiveDsp(
            info,
            detect=self._detect,
            calibration=self.calibration,
            # A replay at full speed has no live viewer waiting for each half second.
            block_s=REPLAY_BLOCK_S if _full_speed(self.transport) else ANALYSIS_BLOCK_S,
        )
        if self._writer is not None:
            started = (
                time.time()
                if math.isnan(self.transport.last_arrival_utc_s)
                else (self.transport.last_arrival_utc_s)
            )
            future = self._writer.submit(
                "start_session_from_info",
                info,
                source_url=self.transport.url,
                started_us=round(started * 1e6),
            )
            self.summary.session_id = future.result(timeout=30.0)

    def _arrival(self, frame: SamplesFrame) -> float:
        """Host UTC of the frame's arrival; from the device clock when the source has none."""
        arrival = self.transport.last_arrival_utc_s
        if math.isfinite(arrival):
            return arrival
        if self._first_device_us is None or self._anchor_utc_s is None:
            self._first_device_us = frame.timestamp_us
            self._anchor_utc_s = time.time()
        assert self._info is not None
        n = int(frame.counts.shape[1])
        elapsed_s = (frame.timestamp_us - self._first_device_us) * 1e-6
        return float(self._anchor_utc_s + elapsed_s + n / self._info.emg_sfreq)

    def _samples(self, frame: SamplesFrame, *, late: bool) -> None:
        info, sync = self._info, self._sync
        if info is None or sync is None or frame.n_channels != info.n_channels:
            return
        n = frame.counts.shape[1]
        index = self._emg.place(frame.first_sample, n, late=late)
        if not late:
            sync.observe(
                index,
                frame.timestamp_us,
                self._arrival(frame),
                n_times=n,
                restart=self._restart_pending,
            )
            self._restart_pending = False
            self.summary.stream_s += n / info.emg_sfreq
            if self._early_accel:
                early, self._early_accel = self._early_accel, []
                for accel_frame, accel_late in early:
                    self._accel(accel_frame, late=accel_late)
        else:
            self.summary.late_samples += n
            self.summary.missing_samples -= n
        self.summary.samples += n
        hub = self.hub
        if not late and hub.wants("emg"):
            hub.publish(
                "emg",
                {
                    "first_sample": index,
                    "sfreq": info.emg_sfreq,
                    "t0_utc_s": sync.sample_time_utc(index),
                    "channels": info.channel_names,
                    "volts": frame.counts * info.volts_per_count,
                    "received_s": time.monotonic(),
                },
            )
        if self._writer is not None and self.summary.session_id is not None:
            t_start, t_end = sync.sample_span_utc(index, index + n - 1)
            self._writer.submit(
                "append_emg",
                self.summary.session_id,
                index,
                frame.counts,
                round(t_start * 1e6),
                round(t_end * 1e6),
            )

    def _accel(self, frame: AccelFrame, *, late: bool) -> None:
        info, sync = self._info, self._sync
        if info is None or sync is None:
            return
        if sync.n_observations == 0:
            # Timed from the EMG's clock fit: held until the first EMG frame arrives.
            self._early_accel.append((frame, late))
            return
        if info.accel_sfreq <= 0 or frame.n_channels != 3:
            return
        n = frame.counts.shape[1]
        index = self._acc.place(frame.first_sample, n, late=late)
        self.summary.accel_samples += n
        hub = self.hub
        if not late and hub.wants("accel"):
            hub.publish(
                "accel",
                {
                    "first_sample": index,
                    "sfreq": info.accel_sfreq,
                    "t0_utc_s": sync.device_time_utc(frame.timestamp_us),
                    "channels": ("x", "y", "z"),
                    "g": frame.counts * info.accel_g_per_count,
                    "received_s": time.monotonic(),
                },
            )
        if self._writer is not None and self.summary.session_id is not None:
            t_start = sync.device_time_utc(frame.timestamp_us)
            t_end = t_start + (n - 1) / info.accel_sfreq
            self._writer.submit(
                "append_accel",
                self.summary.session_id,
                index,
                frame.counts,
                round(t_start * 1e6),
                round(t_end * 1e6),
            )

    def _gap(self, gap: SampleGap) -> None:
        info, sync = self._info, self._sync
        if info is None or sync is None:
            return
        stream = self._emg if gap.frame_type is FrameType.SAMPLES else self._acc
        if stream.next is None:
            return
        device_first = unwrap_index(gap.first_missing_sample, stream.next)
        first = stream.base + device_first
        n = gap.n_missing
        if gap.frame_type is FrameType.SAMPLES:
            self.summary.gaps += 1
            self.summary.missing_samples += n
            onset = sync.sample_time_utc(first) if sync.n_observations else time.time()
            name = "emg"
            rate = info.emg_sfreq
        else:
            onset = sync.device_time_utc(gap.resume_timestamp_us) - n / info.accel_sfreq
            name = "accel"
            rate = info.accel_sfreq
        detail = {"duration_s": n / rate}
        self.hub.publish("gap", {"stream": name, "first_sample": first, "n_samples": n, **detail})
        if self._writer is not None and self.summary.session_id is not None:
            self._writer.submit(
                "add_link_event",
                self.summary.session_id,
                round(onset * 1e6),
                "gap",
                stream=name,
                first_sample=first,
                n_samples=n,
                detail=detail,
            )

    def _event(self, kind: str, *, detail: dict[str, Any]) -> None:
        if self._writer is not None and self.summary.session_id is not None:
            self._writer.submit(
                "add_link_event",
                self.summary.session_id,
                round(time.time() * 1e6),
                kind,
                detail=detail,
            )

    def _store_episodes(self, episodes: list[Episode]) -> None:
        sync = self._sync
        for episode in episodes:
            self.summary.episodes += 1
            self.summary.involuntary += int(episode.involuntary)
            record = episode.to_dict()
            record["start_sample"] = episode.start_sample + self._emg.base
            record["end_sample"] = episode.end_sample + self._emg.base
            self.hub.publish("episode", episode_record(episode))
            if self._writer is not None and self.summary.session_id is not None and sync:
                self._writer.submit(
                    "add_episode",
                    self.summary.session_id,
                    record,
                    start_us=round(sync.sample_time_utc(record["start_sample"]) * 1e6),
                    end_us=round(sync.sample_time_utc(record["end_sample"]) * 1e6),
                )

    def _status(self) -> None:
        summary = self.summary
        status: dict[str, Any] = {
            "stream_s": round(summary.stream_s, 3),
            "samples": summary.samples,
            "missing_samples": summary.missing_samples,
            "gaps": summary.gaps,
            "episodes": summary.episodes,
            "involuntary": summary.involuntary,
            "link": self.transport.link.as_dict(),
            "frames_lost": self.transport.stats.frames_lost,
            "store_backlog": self._writer.backlog if self._writer is not None else 0,
        }
        if self._sync is not None and self._sync.n_observations:
            status["drift_ppm"] = round(float(self._sync.drift_ppm), 2)
        if self._dsp is not None:
            tick = self._dsp.tick()
            tick.pop("episodes", None)
            status.update(tick)
        self.hub.publish("status", status)
        if self._on_status is not None:
            self._on_status(status)

    async def _finish(self, error: BaseException | None) -> None:
        if self._dsp is not None:
            self._store_episodes(self._dsp.finish_episodes())
        writer = self._writer
        if writer is None:
            return
        session = self.summary.session_id
        if session is not None and writer.error is None:
            if error is None:
                status, why = "stopped", self.summary.stop_reason
            elif isinstance(error, StorageFullError):
                status, why = "failed", "disk full"
            else:
                status, why = "failed", str(error)
            try:
                await writer.call("end_session", session, status, why)
            except StorageError as exc:
                logger.error("could not end session %s: %s", session, exc)
        await writer.close()
        self.summary.extra["store_operations"] = writer.operations


def _full_speed(transport: Transport) -> bool:
    """Whether ``transport`` plays a recording or simulation back as fast as it can."""
    return transport._lossless and getattr(transport, "_speed", None) == 0.0


def _version_mismatch(url: str, received: int | None) -> str:
    """Say which protocol versions disagree and how to make them agree."""
    supported = PROTOCOL_VERSION
    if received is None:
        return (
            f"the device at {url} speaks another version of the spasmwatch wire protocol than "
            f"this host (version {supported}). Update spasmwatch on this computer or the "
            "wearable's firmware, so that both speak the same version."
        )
    said = (
        f"the device at {url} speaks version {received} of the spasmwatch wire protocol; "
        f"this host speaks version {supported}."
    )
    if received > supported:
        return (
            f"{said} Its firmware is newer than this spasmwatch: update spasmwatch on this "
            f"computer, or flash the wearable with firmware that speaks version {supported}."
        )
    return (
        f"{said} Its firmware is older than this spasmwatch: update the wearable's firmware, "
        f"or use a spasmwatch release that speaks version {received}."
    )
