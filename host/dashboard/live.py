"""The live view's server side: from the live hub to every browser, encoded once.

:class:`LiveBroadcaster` subscribes to the pipeline's :class:`~host.pipeline.hub.LiveHub`
(the signal topics only while at least one browser watches, so a recording without
viewers pays nothing), filters the EMG for display (:class:`DisplayChain`: the dsp
package's filter bank, moving RMS and activation thresholds), encodes each batch once
(:mod:`host.dashboard.wire`) and hands the same bytes to every client. Each client has
two bounded queues (:class:`LiveClient`): events (JSON text: status, episodes, link and
motion) and signal batches; a client that does not keep up loses its oldest batches,
never the pipeline's or the other clients' time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections import deque
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dsp.activation import ActivationDetector
from dsp.envelope import MovingRms
from dsp.filterbank import EmgFilterBank
from dsp.filters import DEFAULT_H_FREQ, MAX_EDGE_FRACTION
from dsp.motion import MIN_ACCEL_SFREQ, MotionTracker, activity_name, posture_name
from host.dashboard import wire
from host.pipeline.hub import LiveHub, Message, Subscription

__all__ = [
    "CLIENT_BATCHES",
    "CLIENT_EVENTS",
    "DisplayChain",
    "LiveBroadcaster",
    "LiveClient",
    "MotionDisplay",
    "json_ready",
]

logger = logging.getLogger(__name__)

#: Signal batches a client's queue holds before the oldest is dropped (about 3 s of EMG
#: and accelerometer frames at 20 frames/s each).
CLIENT_BATCHES = 128
#: Event messages (JSON) a client's queue holds before the oldest is dropped.
CLIENT_EVENTS = 256
#: Buffer of the broadcaster's hub subscription, messages.
HUB_BUFFER = 4096
#: Motion summaries are sent at most this often, s.
MOTION_INTERVAL_S = 0.5


class DisplayChain:
    """Display filtering of one EMG stream: band-pass and notch, envelope, thresholds.

    The same stages as the detector's cleaning chain (:class:`dsp.filterbank.EmgFilterBank`,
    :class:`dsp.envelope.MovingRms`) without the ECG suppression, and an
    :class:`dsp.activation.ActivationDetector` with the detector's settings, whose onset
    and offset thresholds are drawn on the envelope.

    Parameters
    ----------
    sfreq : float
        EMG rate, Hz.
    n_channels : int
        EMG channels.
    """

    def __init__(self, sfreq: float, n_channels: int) -> None:
        self.sfreq = sfreq
        self.n_channels = n_channels
        h_freq = min(DEFAULT_H_FREQ, MAX_EDGE_FRACTION * sfreq / 2.0)
        self.filterbank = EmgFilterBank(sfreq, n_channels, h_freq=h_freq)
        self.rms = MovingRms(sfreq, n_channels)
        self.activation = ActivationDetector(
            sfreq, n_channels, max_on_s=300.0, min_brief_s=0.1, update_s=1.0
        )
        self.mains_freq: float | None = None
        self.next_sample: int | None = None

    def set_mains(self, mains_freq: float | None) -> None:
        """Notch the mains frequency the pipeline found (50 or 60 Hz, None for none)."""
        if mains_freq != self.mains_freq and mains_freq in (None, 50.0, 60.0):
            self.filterbank.set_mains(mains_freq)
            self.mains_freq = mains_freq

    def reset(self) -> None:
        """Start again (after a gap: missing samples never enter a filter)."""
        self.filterbank.reset()
        self.rms.reset()
        self.activation.reset()
        self.next_sample = None

    def process(
        self, first_sample: int, volts: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Filter one block.

        Parameters
        ----------
        first_sample : int
            Session index of the block's first sample (a jump resets the chain).
        volts : ndarray, shape (n_channels, n_times)
            Raw EMG, V.

        Returns
        -------
        filtered, envelope : ndarray, shape (n_channels, n_times)
            µV.
        thresholds : ndarray, shape (3, n_channels)
            Onset, offset and rest level per channel, µV (NaN while learning).
        """
        if self.next_sample is not None and first_sample != self.next_sample:
            self.reset()
        self.next_sample = first_sample + volts.shape[1]
        filtered = self.filterbank.process(volts)
        envelope = self.rms.process(filtered)
        self.activation.process(envelope)
        act = self.activation
        thresholds = np.vstack([act.on_threshold_v, act.off_threshold_v, act.baseline_v])
        thresholds[~np.isfinite(thresholds)] = np.nan
        return filtered * 1e6, envelope * 1e6, thresholds * 1e6


class MotionDisplay:
    """Posture and activity of the trunk for the live view (:class:`dsp.motion.MotionTracker`).

    Parameters
    ----------
    accel_sfreq : float
        Accelerometer rate, Hz.
    """

    def __init__(self, accel_sfreq: float) -> None:
        self.tracker = MotionTracker(accel_sfreq)
        self.next_sample: int | None = None
        self.latest: dict[str, Any] | None = None

    def process(self, first_sample: int, g: NDArray[np.float64]) -> None:
        """Feed one block of acceleration (g); a jump in ``first_sample`` restarts."""
        if self.next_sample is not None and first_sample != self.next_sample:
            self.tracker.reset()
        self.next_sample = first_sample + g.shape[1]
        frames = self.tracker.process(g)
        if len(frames) and bool(frames.valid[-1]):
            self.latest = {
                "posture": posture_name(frames.posture[-1]),
                "activity": activity_name(frames.activity[-1]),
                "inclination_deg": round(float(frames.inclination_deg[-1]), 1),
                "dynamic_g": round(float(frames.dynamic_g[-1]), 3),
            }


class LiveClient:
    """One browser's queues: events (text) and signal batches (bytes), both bounded.

    Parameters
    ----------
    max_batches : int
        Signal batches held before the oldest is dropped.
    max_events : int
        Events held before the oldest is dropped.
    """

    def __init__(self, max_batches: int = CLIENT_BATCHES, max_events: int = CLIENT_EVENTS) -> None:
        self.batches: deque[bytes] = deque(maxlen=max_batches)
        self.events: deque[str] = deque(maxlen=max_events)
        self.dropped_batches = 0
        self.dropped_events = 0
        self.sent = 0
        self._ready = asyncio.Event()

    def put_batch(self, data: bytes) -> None:
        """Queue a signal batch, dropping the oldest when full."""
        if len(self.batches) == self.batches.maxlen:
            self.dropped_batches += 1
        self.batches.append(data)
        self._ready.set()

    def put_event(self, text: str) -> None:
        """Queue an event, dropping the oldest when full."""
        if len(self.events) == self.events.maxlen:
            self.dropped_events += 1
        self.events.append(text)
        self._ready.set()

    async def wait(self) -> None:
        """Return when something is queued."""
        while not self.batches and not self.events:
            self._ready.clear()
            await self._ready.wait()


class LiveBroadcaster:
    """Fan-out of the live hub to the dashboard's browsers.

    Parameters
    ----------
    hub : LiveHub
        The pipeline's hub.
    """

    def __init__(self, hub: LiveHub) -> None:
        self.hub = hub
        self.clients: set[LiveClient] = set()
        self.batches_encoded = 0
        self.encode_s = 0.0
        self._events: Subscription | None = None
        self._signals: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._chain: DisplayChain | None = None
        self._motion: MotionDisplay | None = None
        self._next_motion = 0.0
        #: time.monotonic() when each event topic last arrived.
        self.last_seen: dict[str, float] = {}

    # ------------------------------------------------------------------ lifetime

    def start(self) -> None:
        """Follow the hub's events (call in the event loop)."""
        if self._events is None:
            self._events = self.hub.subscribe(HUB_BUFFER)
            self._tasks.append(asyncio.create_task(self._follow(self._events)))

    async def stop(self) -> None:
        """Stop following the hub and end every client's stream."""
        for sub in (self._events, self._signals):
            if sub is not None:
                sub.close()
        self._events = self._signals = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def add_client(self, client: LiveClient) -> None:
        """Start sending to a client (the signal is subscribed to with the first one)."""
        self.clients.add(client)
        for topic in ("status", "device", "episode"):
            latest = self.hub.latest.get(topic)
            if latest is not None:
                client.put_event(_event_text(latest))
        if self._signals is None:
            self._chain = None
            self._motion = None
            self._signals = self.hub.subscribe(HUB_BUFFER, signals=("emg", "accel"))
            self._tasks.append(asyncio.create_task(self._follow_signals(self._signals)))

    def remove_client(self, client: LiveClient) -> None:
        """Stop sending to a client (the signal is unsubscribed after the last one)."""
        self.clients.discard(client)
        if not self.clients and self._signals is not None:
            self._signals.close()
            self._signals = None

    # ------------------------------------------------------------------ hub messages

    async def _follow(self, sub: Subscription) -> None:
        async for message in sub:
            self.last_seen[message.topic] = time.monotonic()
            try:
                if message.topic == "status" and self._chain is not None:
                    mains = message.payload.get("mains_hz")
                    self._chain.set_mains(float(mains) if mains else None)
                if message.topic == "gap" and self._chain is not None:
                    self._chain.reset()
                text = _event_text(message)
            except Exception:  # a malformed message must not end the live view
                logger.exception("live %s message not sent", message.topic)
                continue
            for client in self.clients:
                client.put_event(text)

    async def _follow_signals(self, sub: Subscription) -> None:
        async for message in sub:
            try:
                data = self._encode(message)
            except Exception:
                logger.exception("live %s batch not sent", message.topic)
                continue
            if data is None:
                continue
            for client in self.clients:
                client.put_batch(data)

    def _encode(self, message: Message) -> bytes | None:
        t0 = time.perf_counter()
        p = message.payload
        if message.topic == "emg":
            volts = np.asarray(p["volts"], dtype=np.float64)
            sfreq = float(p["sfreq"])
            chain = self._chain
            if chain is None or chain.sfreq != sfreq or chain.n_channels != volts.shape[0]:
                chain = self._chain = DisplayChain(sfreq, volts.shape[0])
                status = self.hub.latest.get("status")
                if status is not None and status.payload.get("mains_hz"):
                    chain.set_mains(float(status.payload["mains_hz"]))
            filtered, envelope, thresholds = chain.process(int(p["first_sample"]), volts)
            data = wire.encode(
                wire.KIND_EMG,
                first_sample=int(p["first_sample"]),
                sfreq=sfreq,
                t0_utc_s=_finite(p.get("t0_utc_s")),
                received_s=float(p["received_s"]),
                encoded_s=time.monotonic(),
                signal=filtered,
                envelope=envelope,
                thresholds=thresholds,
            )
        elif message.topic == "accel":
            g = np.asarray(p["g"], dtype=np.float64)
            sfreq = float(p["sfreq"])
            if sfreq >= MIN_ACCEL_SFREQ and g.shape[0] == 3:
                if self._motion is None or self._motion.tracker.accel_sfreq != sfreq:
                    self._motion = MotionDisplay(sfreq)
                self._motion.process(int(p["first_sample"]), g)
                now = time.monotonic()
                if self._motion.latest is not None and now >= self._next_motion:
                    self._next_motion = now + MOTION_INTERVAL_S
                    text = json.dumps({"type": "motion", **self._motion.latest})
                    for client in self.clients:
                        client.put_event(text)
            data = wire.encode(
                wire.KIND_ACCEL,
                first_sample=int(p["first_sample"]),
                sfreq=sfreq,
                t0_utc_s=_finite(p.get("t0_utc_s")),
                received_s=float(p["received_s"]),
                encoded_s=time.monotonic(),
                signal=g,
            )
        else:
            return None
        self.batches_encoded += 1
        self.encode_s += time.perf_counter() - t0
        return data

    def rest_levels_uv(self) -> dict[str, float | None]:
        """Rest level (noise at rest) of each EMG channel from the display chain, µV."""
        chain = self._chain
        if chain is None:
            return {}
        levels = chain.activation.baseline_v * 1e6
        return {
            str(k): (round(float(v), 2) if np.isfinite(v) else None) for k, v in enumerate(levels)
        }

    def motion(self) -> dict[str, Any] | None:
        """Return the latest posture and activity, or None."""
        return None if self._motion is None else self._motion.latest

    def stats(self) -> dict[str, Any]:
        """Return counters for the device page and the benchmark (JSON-ready)."""
        return {
            "clients": len(self.clients),
            "batches_encoded": self.batches_encoded,
            "encode_ms_mean": round(1e3 * self.encode_s / self.batches_encoded, 3)
            if self.batches_encoded
            else None,
            "dropped_batches": sum(c.dropped_batches for c in self.clients),
        }


def _finite(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _event_text(message: Message) -> str:
    """Return a hub event as the JSON the browser receives (``type`` = the topic)."""
    return json.dumps(json_ready({"type": message.topic, **message.payload}))


def json_ready(value: Any) -> Any:
    """Return ``value`` with numpy scalars and arrays as Python, non-finite floats as None.

    Browsers' ``JSON.parse`` refuses ``NaN`` and ``Infinity``.
    """
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        return json_ready(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)
