"""Lab Streaming Layer outlets of a live recording: raw EMG, envelope, accelerometer, events.

:class:`LslOutlet` subscribes to the pipeline's :class:`~host.pipeline.hub.LiveHub` (the
``"emg"`` and ``"accel"`` signal topics and the event topics) and republishes it as LSL
streams, one per kind of data, described separately from the outlets that move them (a
``pylsl.StreamInfo`` each, with the channels' labels, units, types and locations and the
device in the XML description; ``docs/lsl.md``):

==========================  ==============  =========================  ===================
stream (name suffix)        type            channels, unit             rate
==========================  ==============  =========================  ===================
``EMG``                     ``EMG``         EMG channels, microvolts   the device's
``EMG envelope``            ``EMG``         EMG channels, microvolts   ``sfreq / k``
``Accelerometer``           ``Accelerometer``  x, y, z, g              the device's
``Events``                  ``Markers``     one string: JSON           irregular
==========================  ==============  =========================  ===================

Streams are created when the first EMG message arrives (the device's rates, channels and
identity are known then); events published before that are held and sent then.

Time stamps
-----------
Every sample is stamped with its own time, from the device clock: the hub gives the UTC
of each block's first sample (``t0_utc_s``, from :class:`~host.timing.ClockSync`), sample
``i`` is at ``t0_utc_s + i / sfreq``, and UTC is converted to :func:`pylsl.local_clock`
with an offset measured on this computer (:class:`~host.lsl.clock.UtcToLslClock`). The
chunks are pushed with one explicit time stamp per sample, so jitter of the link and of
the event loop never reaches the time stamps, and missing samples leave a hole in time.
An episode's marker is stamped with the time of its onset (it is sent when the episode
ends, so it arrives after later samples; LSL keeps the stamp).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import numpy as np
from numpy.typing import NDArray

from host.errors import ConfigError
from host.importers.channels import emg_side
from host.lsl.clock import UtcToLslClock, require_pylsl
from host.lsl.envelope import DEFAULT_ENVELOPE_SFREQ, EnvelopeStream
from host.pipeline.hub import LiveHub, Message, Subscription
from host.protocol import DeviceInfoFrame

if TYPE_CHECKING:
    from host.pipeline.pipeline import Pipeline

__all__ = [
    "DEFAULT_EVENT_TOPICS",
    "LOCATIONS",
    "STREAM_KINDS",
    "LslOutlet",
    "StreamDescription",
    "make_stream_info",
]

logger = logging.getLogger(__name__)

#: The streams an outlet can publish.
STREAM_KINDS = ("emg", "envelope", "accel", "markers")
#: Hub topics forwarded to the event stream by default.
DEFAULT_EVENT_TOPICS = ("episode", "gap", "link", "session", "marker")
#: Electrode location of an EMG channel by side.
LOCATIONS = {
    "left": "left lumbar erector spinae",
    "right": "right lumbar erector spinae",
}
#: Held events before the streams exist (the oldest are dropped beyond it).
_MAX_EARLY_EVENTS = 256
_CHANNEL_FORMATS = ("float32", "double64")


@dataclass(frozen=True)
class StreamDescription:
    """What one LSL stream carries (turned into a ``pylsl.StreamInfo`` by :func:`make_stream_info`).

    Attributes
    ----------
    name, type, source_id : str
        The stream's name, content type (``"EMG"``, ``"Accelerometer"``, ``"Markers"``)
        and unique source id (an inlet that loses it finds it again by this id).
    labels, units, channel_types, locations : tuple of str
        One entry per channel (``locations`` may hold ``""``).
    sfreq : float
        Nominal rate in Hz, 0.0 for an irregular stream.
    channel_format : {"float32", "double64", "string"}
        Sample type.
    manufacturer, model, serial_number : str
        The device (``desc/acquisition``).
    extra : tuple of (str, str)
        More ``desc`` children (name, text), e.g. the envelope's filters.
    """

    name: str
    type: str
    source_id: str
    labels: tuple[str, ...]
    units: tuple[str, ...]
    channel_types: tuple[str, ...]
    locations: tuple[str, ...]
    sfreq: float
    channel_format: str
    manufacturer: str = "spasmwatch"
    model: str = ""
    serial_number: str = ""
    extra: tuple[tuple[str, str], ...] = ()


def make_stream_info(description: StreamDescription) -> Any:
    """Return the ``pylsl.StreamInfo`` of a stream, with its XML description.

    Parameters
    ----------
    description : StreamDescription
        What the stream carries.

    Returns
    -------
    pylsl.StreamInfo
        ``desc`` holds ``channels/channel`` (``label``, ``unit``, ``type``,
        ``location``) per channel, ``acquisition`` (``manufacturer``, ``model``,
        ``serial_number``) and the ``extra`` children, following the XDF meta-data
        conventions (https://github.com/sccn/xdf/wiki/Meta-Data).
    """
    pylsl = require_pylsl()
    formats = {
        "float32": pylsl.cf_float32,
        "double64": pylsl.cf_double64,
        "string": pylsl.cf_string,
    }
    d = description
    info = pylsl.StreamInfo(
        d.name, d.type, len(d.labels), d.sfreq, formats[d.channel_format], d.source_id
    )
    desc = info.desc()
    channels = desc.append_child("channels")
    for label, unit, kind, location in zip(
        d.labels, d.units, d.channel_types, d.locations, strict=True
    ):
        channel = channels.append_child("channel")
        channel.append_child_value("label", label)
        channel.append_child_value("unit", unit)
        channel.append_child_value("type", kind)
        if location:
            channel.append_child_value("location", location)
    acquisition = desc.append_child("acquisition")
    acquisition.append_child_value("manufacturer", d.manufacturer)
    if d.model:
        acquisition.append_child_value("model", d.model)
    if d.serial_number:
        acquisition.append_child_value("serial_number", d.serial_number)
    for key, value in d.extra:
        desc.append_child_value(key, value)
    return info


DeviceSource = DeviceInfoFrame | Callable[[], DeviceInfoFrame | None] | None


class LslOutlet:
    """Publish a live recording's hub as Lab Streaming Layer streams.

    Parameters
    ----------
    hub : LiveHub
        The pipeline's hub (subscribed at once, so nothing published from now on is
        missed).
    device : DeviceInfoFrame | callable | None
        The device (its serial number, firmware and board go into the metadata), or a
        callable returning it when the streams are created (e.g.
        ``lambda: pipeline.transport.device_info``). See :meth:`for_pipeline`.
    name : str
        Prefix of the stream names (``"<name> EMG"``...).
    source_id : str | None
        Prefix of the streams' source ids; ``"spasmwatch-<device id in hex>"`` when None.
    streams : iterable of str
        Which of :data:`STREAM_KINDS` to publish.
    envelope_sfreq : float
        Envelope rate aimed at, Hz (see :class:`~host.lsl.envelope.EnvelopeStream`).
    mains_freq : float | None
        Mains frequency notched in the envelope; None to detect it.
    event_topics : iterable of str
        Hub topics forwarded to the event stream.
    channel_format : {"double64", "float32"}
        Sample type of the numeric streams (double64 carries every value exactly).
    maxlen : int
        The hub subscription's buffer (messages); a full buffer drops the oldest.
    clock : UtcToLslClock | None
        UTC to LSL conversion; a new one when None.

    Attributes
    ----------
    clock : UtcToLslClock
        The conversion in use (its ``offset_s`` maps UTC to LSL time).
    pushed : dict of str to int
        Samples (events for ``"markers"``) pushed per stream kind.
    descriptions : dict of str to StreamDescription
        The streams created, by kind.
    """

    def __init__(
        self,
        hub: LiveHub,
        *,
        device: DeviceSource = None,
        name: str = "spasmwatch",
        source_id: str | None = None,
        streams: Iterable[str] = STREAM_KINDS,
        envelope_sfreq: float = DEFAULT_ENVELOPE_SFREQ,
        mains_freq: float | None = None,
        event_topics: Iterable[str] = DEFAULT_EVENT_TOPICS,
        channel_format: str = "double64",
        maxlen: int = 4096,
        clock: UtcToLslClock | None = None,
    ) -> None:
        kinds = tuple(streams)
        unknown = sorted(set(kinds) - set(STREAM_KINDS))
        if unknown or not kinds:
            raise ConfigError(
                f"Invalid value for the 'streams' parameter. Allowed values are "
                f"{', '.join(STREAM_KINDS)} (at least one), but got {list(kinds)} instead."
            )
        if channel_format not in _CHANNEL_FORMATS:
            raise ConfigError(
                f"Invalid value for the 'channel_format' parameter. Allowed values are "
                f"{', '.join(_CHANNEL_FORMATS)}, but got {channel_format!r} instead."
            )
        if not (envelope_sfreq > 0 and math.isfinite(envelope_sfreq)):
            raise ConfigError(f"envelope_sfreq must be a positive rate in Hz, got {envelope_sfreq}")
        self._kinds = kinds
        self._device = device
        self._name = name
        self._source_id = source_id
        self._envelope_sfreq = float(envelope_sfreq)
        self._mains_freq = mains_freq
        self._event_topics = frozenset(event_topics)
        self._format = channel_format
        self.clock = clock or UtcToLslClock()
        self.clock.measure()
        signals = [s for s in ("emg", "accel") if s in kinds]
        if "envelope" in kinds and "emg" not in signals:
            signals.append("emg")
        self._sub: Subscription = hub.subscribe(maxlen, signals=signals)
        self._outlets: dict[str, Any] = {}
        self.descriptions: dict[str, StreamDescription] = {}
        self.pushed: dict[str, int] = dict.fromkeys(kinds, 0)
        self._envelope: EnvelopeStream | None = None
        self._emg_layout: tuple[float, tuple[str, ...]] | None = None
        self._accel_sfreq: float | None = None
        self._last_emg: dict[str, Any] | None = None
        self._early: list[tuple[str, float]] = []
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def for_pipeline(cls, pipeline: Pipeline, **kwargs: Any) -> LslOutlet:
        """Return an outlet of a pipeline's hub, with its device's identity in the metadata.

        Parameters
        ----------
        pipeline : Pipeline
            The pipeline (not necessarily running yet).
        **kwargs
            Other parameters of :class:`LslOutlet`.

        Returns
        -------
        LslOutlet
        """
        transport = pipeline.transport
        return cls(pipeline.hub, device=lambda: transport.device_info, **kwargs)

    # -- life cycle ----------------------------------------------------------------------

    async def run(self) -> None:
        """Forward the hub's messages until :meth:`close` (returns then)."""
        try:
            async for message in self._sub:
                self.handle(message)
        finally:
            self._destroy()

    def close(self) -> None:
        """Stop: :meth:`run` returns after the messages already received."""
        self._closed = True
        self._sub.close()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self.run(), name="spasmwatch lsl outlet")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def dropped(self) -> int:
        """Hub messages lost because the outlet did not keep up (0 expected)."""
        return self._sub.dropped

    # -- messages ------------------------------------------------------------------------

    def handle(self, message: Message) -> None:
        """Forward one hub message (what :meth:`run` does with each)."""
        topic, payload = message.topic, message.payload
        if topic == "emg":
            self._emg(payload)
        elif topic == "accel":
            self._accel(payload)
        elif topic in self._event_topics:
            self._event(topic, payload)

    def push_marker(self, text: str, *, utc_s: float | None = None) -> None:
        """Send a free-text marker on the event stream.

        Parameters
        ----------
        text : str
            What happened (sent as ``{"topic": "marker", "text": text}``).
        utc_s : float | None
            When, UTC seconds; now when None.
        """
        when = time.time() if utc_s is None else utc_s
        self._send_event(json.dumps({"topic": "marker", "text": text}), self.clock.to_lsl(when))

    def _emg(self, payload: dict[str, Any]) -> None:
        sfreq = float(payload["sfreq"])
        channels = tuple(str(c) for c in payload["channels"])
        volts: NDArray[np.float64] = np.asarray(payload["volts"], dtype=np.float64)
        if self._emg_layout != (sfreq, channels):
            self._create_emg(sfreq, channels)
        self._last_emg = payload
        n = volts.shape[1]
        t0 = self.clock.to_lsl(float(payload["t0_utc_s"]))
        if "emg" in self._outlets:
            stamps = t0 + np.arange(n) / sfreq
            self._outlets["emg"].push_chunk(np.ascontiguousarray(volts.T * 1e6), stamps.tolist())
            self.pushed["emg"] += n
        if self._envelope is not None and "envelope" in self._outlets:
            first = int(payload["first_sample"])
            indices, env = self._envelope.process(first, volts)
            if indices.size:
                stamps = t0 + (indices - first) / sfreq
                self._outlets["envelope"].push_chunk(
                    np.ascontiguousarray(env.T * 1e6), stamps.tolist()
                )
                self.pushed["envelope"] += int(indices.size)

    def _accel(self, payload: dict[str, Any]) -> None:
        if "accel" not in self._kinds or self._emg_layout is None:
            return  # the streams are made at the first EMG message
        sfreq = float(payload["sfreq"])
        if self._accel_sfreq != sfreq:
            self._create_accel(sfreq)
        g: NDArray[np.float64] = np.asarray(payload["g"], dtype=np.float64)
        n = g.shape[1]
        t0 = self.clock.to_lsl(float(payload["t0_utc_s"]))
        stamps = t0 + np.arange(n) / sfreq
        self._outlets["accel"].push_chunk(np.ascontiguousarray(g.T), stamps.tolist())
        self.pushed["accel"] += n

    def _event(self, topic: str, payload: dict[str, Any]) -> None:
        when = time.time()
        last = self._last_emg
        if last is not None:
            sfreq, first, t0 = float(last["sfreq"]), int(last["first_sample"]), last["t0_utc_s"]
            sample: float | None = None
            if topic == "episode" and payload.get("start_s") is not None:
                sample = float(payload["start_s"]) * sfreq
            elif topic == "gap" and payload.get("stream") == "emg":
                sample = float(payload["first_sample"])
            if sample is not None:
                when = float(t0) + (sample - first) / sfreq
        text = json.dumps({"topic": topic, **payload}, default=_jsonable)
        self._send_event(text, self.clock.to_lsl(when))

    def _send_event(self, text: str, stamp: float) -> None:
        if "markers" not in self._kinds:
            return
        outlet = self._outlets.get("markers")
        if outlet is None:
            self._early.append((text, stamp))
            del self._early[:-_MAX_EARLY_EVENTS]
            return
        outlet.push_sample([text], stamp)
        self.pushed["markers"] += 1

    # -- streams -------------------------------------------------------------------------

    def _device_info(self) -> DeviceInfoFrame | None:
        source = self._device
        if source is None or isinstance(source, DeviceInfoFrame):
            return source
        return source()

    def _base(self) -> tuple[str, tuple[str, str, str]]:
        """Source id prefix, and (manufacturer, model, serial number) of the device."""
        info = self._device_info()
        serial = f"{info.device_id:016x}" if info is not None else ""
        base = self._source_id or (f"spasmwatch-{serial}" if serial else "spasmwatch")
        model = ""
        if info is not None:
            major, minor, patch = info.firmware_version
            model = f"{info.board or 'spasmwatch'} firmware {major}.{minor}.{patch}"
        return base, ("spasmwatch", model, serial)

    def _open(self, kind: str, description: StreamDescription) -> None:
        pylsl = require_pylsl()
        old = self._outlets.pop(kind, None)
        if old is not None:
            logger.warning("LSL %s stream changed layout: created again", kind)
            del old
        self._outlets[kind] = pylsl.StreamOutlet(make_stream_info(description))
        self.descriptions[kind] = description
        logger.info(
            "LSL stream %r (type %s, %d channels, %g Hz, source_id %s)",
            description.name,
            description.type,
            len(description.labels),
            description.sfreq,
            description.source_id,
        )

    def _create_emg(self, sfreq: float, channels: tuple[str, ...]) -> None:
        base, ident = self._base()
        sides = [emg_side(c) for c in channels]
        locations = tuple(LOCATIONS.get(s or "", "") for s in sides)
        n = len(channels)
        if "emg" in self._kinds:
            self._open(
                "emg",
                StreamDescription(
                    name=f"{self._name} EMG",
                    type="EMG",
                    source_id=f"{base}-emg",
                    labels=channels,
                    units=("microvolts",) * n,
                    channel_types=("EMG",) * n,
                    locations=locations,
                    sfreq=sfreq,
                    channel_format=self._format,
                    manufacturer=ident[0],
                    model=ident[1],
                    serial_number=ident[2],
                ),
            )
        if "envelope" in self._kinds:
            self._envelope = EnvelopeStream(
                sfreq, n, envelope_sfreq=self._envelope_sfreq, mains_freq=self._mains_freq
            )
            env = self._envelope
            self._open(
                "envelope",
                StreamDescription(
                    name=f"{self._name} EMG envelope",
                    type="EMG",
                    source_id=f"{base}-envelope",
                    labels=tuple(f"{c} RMS" for c in channels),
                    units=("microvolts",) * n,
                    channel_types=("EMG envelope",) * n,
                    locations=locations,
                    sfreq=env.sfreq_out,
                    channel_format=self._format,
                    extra=(
                        (
                            "filtering",
                            f"band-pass {env.filterbank.l_freq:g}-{env.filterbank.h_freq:g} Hz "
                            f"Butterworth, mains notch when detected, moving RMS "
                            f"{env.rms.window_s * 1e3:g} ms, every {env.decimation}th sample",
                        ),
                    ),
                    manufacturer=ident[0],
                    model=ident[1],
                    serial_number=ident[2],
                ),
            )
        if "markers" in self._kinds and "markers" not in self._outlets:
            self._open(
                "markers",
                StreamDescription(
                    name=f"{self._name} Events",
                    type="Markers",
                    source_id=f"{base}-events",
                    labels=("event",),
                    units=("JSON",),
                    channel_types=("Marker",),
                    locations=("",),
                    sfreq=0.0,
                    channel_format="string",
                    manufacturer=ident[0],
                    model=ident[1],
                    serial_number=ident[2],
                ),
            )
            early, self._early = self._early, []
            for text, stamp in early:
                self._send_event(text, stamp)
        self._emg_layout = (sfreq, channels)

    def _create_accel(self, sfreq: float) -> None:
        base, ident = self._base()
        self._open(
            "accel",
            StreamDescription(
                name=f"{self._name} Accelerometer",
                type="Accelerometer",
                source_id=f"{base}-accel",
                labels=("Accel X", "Accel Y", "Accel Z"),
                units=("g",) * 3,
                channel_types=("ACC",) * 3,
                locations=("lower back",) * 3,
                sfreq=sfreq,
                channel_format=self._format,
                manufacturer=ident[0],
                model=ident[1],
                serial_number=ident[2],
            ),
        )
        self._accel_sfreq = sfreq

    def _destroy(self) -> None:
        self._outlets.clear()


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Sequence):
        return list(value)
    return str(value)
