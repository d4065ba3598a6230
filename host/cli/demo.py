"""``spasmwatch demo``: a simulated wearable recorded live through the real host stack.

The simulated device serves protocol v1 on a pseudo-terminal; the host opens it with the
same serial transport that reads real hardware and records it with the same pipeline as
``spasmwatch run`` (:class:`host.pipeline.pipeline.Pipeline`): every sample, gap and
episode goes into a recording store (a temporary one, removed at the end, unless
``--data-dir``/``--wearer`` name one to keep), through the live signal processing and the
spasm detector. What the pipeline publishes on its live hub is shown once per second: the
link statistics, per-channel RMS, cleaned envelope and signal quality, and the detector's
episodes as they are found. A narrator line says what the simulated wearer is doing (the
scenario's script). When the demo ends (Ctrl-C, ``--duration``, or the scenario's end
with ``--once``) it prints how the detected involuntary episodes compare with the scripted
ones, and what was stored.

``--json`` prints one JSON object per line instead: every hub message as
``{"type": <topic>, ...}`` (``status`` once a second, with the demo's link figures and
RMS added; ``episode``, ``link``, ``gap``, ``device``), ``device_info`` once the session
has started, then ``summary`` (the pipeline's), ``demo_summary``
(:func:`compare_with_script`) and ``stored`` (what the store holds).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import shutil
import signal
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from host.cli._live_dashboard import add_dashboard_arguments, live_dashboard
from host.cli.devices import describe_device_info, device_info_dict
from host.cli.simulate import add_fault_arguments, faults_from_args, resolve_scenario
from host.cli.stream import format_episode
from host.errors import ConfigError, StorageError, TransportError
from host.evaluation.scoring import DetectionRecord, match_episodes, scored_truth
from host.pipeline.hub import LiveHub, Message, Subscription
from host.pipeline.pipeline import Pipeline, PipelineSummary
from host.protocol import Command
from host.simulator.device import DeviceConfig, SimulatedDevice
from host.simulator.pty_server import PtyWearable
from host.simulator.scenario import Scenario, TruthEvent, list_builtin_scenarios
from host.storage import RecordingStore, store_path
from host.transports import SerialTransport, Transport

__all__ = ["add_parser", "compare_with_script", "format_comparison", "run"]

#: Wearer name of the demo's store when ``--data-dir`` is given without ``--wearer``.
DEMO_WEARER = "demo"
#: How often the end conditions are checked, s of wall time.
_WATCH_S = 0.25
#: Ask again for DEVICE_INFO this often (s of wall time) until it arrives.
_IDENTIFY_RETRY_S = 3.0
#: Messages the display's hub subscription holds before it loses the oldest.
_DISPLAY_BUFFER = 4096


def add_parser(subparsers: Any) -> None:
    """Register the subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="record a simulated wearable through the host and show it live",
        description=(
            "Start a simulated wearable on a pseudo-terminal, read it with the real serial "
            "transport and record it with the real pipeline (as 'spasmwatch run' does) into "
            "a recording store, printing link statistics, per-channel RMS and signal "
            "quality once per second, every contraction the spasm detector finds, and what "
            "the simulated wearer is doing. At the end the detected involuntary episodes "
            "are compared with the scripted ones and what was stored is summed up. The "
            "store is temporary unless --data-dir or --wearer names one to keep. A little "
            "link trouble is injected by default (0.2 %% lost, 0.1 %% corrupted frames, a "
            "cable pull every 90 s) so the statistics have something to show; --clean "
            "turns it off."
        ),
    )
    names = ", ".join(list_builtin_scenarios())
    parser.add_argument("--scenario", default="quick", help=f"{names} or a TOML file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--speed", type=float, default=1.0, help="1 = real time, 10 = ten times faster"
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="stop after S seconds (default: until Ctrl-C)",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="play the scenario once and stop at its end (default: start it over until Ctrl-C)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--clean", action="store_true", help="no injected link faults")
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="keep the recording in this folder of stores (default: a temporary store, "
        "removed at the end)",
    )
    parser.add_argument(
        "--wearer",
        metavar="NAME",
        help=f"keep the recording in this wearer's store (default with --data-dir: "
        f"{DEMO_WEARER}; without --data-dir: in the user data folder)",
    )
    parser.add_argument(
        "--no-dashboard",
        action="store_true",
        help="do not serve the live dashboard (default: on http://127.0.0.1:8000)",
    )
    add_dashboard_arguments(parser)
    add_fault_arguments(parser)
    parser.set_defaults(func=run, drop=0.002, corrupt=0.001, unplug_every=90.0, unplug_for=2.0)


def _describe(event: TruthEvent) -> str:
    if event.category == "activity":
        return f"wearer: {event.kind.replace('_', ' ')} for {event.duration_s:.0f} s"
    if event.category == "contraction":
        who = "INVOLUNTARY" if event.involuntary else "voluntary"
        kind = "" if event.kind == "voluntary" else f" {event.kind}"
        side = f", {event.side}" if event.side != "none" else ""
        return (
            f"{who}{kind} contraction{side}, {100 * event.peak_mvc:.0f} %MVC, "
            f"{event.duration_s:.1f} s"
        )
    return f"artefact: {event.kind.replace('_', ' ')} ({event.side})"


async def _narrate(device: SimulatedDevice, as_json: bool) -> None:
    events = sorted(device.scenario.truth(), key=lambda e: e.onset_s)
    period = device.scenario.duration_s
    told = 0
    lap = 0
    while True:
        now = device.scenario_time_s
        if now < (events[told - 1].onset_s if told else 0.0) - 1.0:
            told, lap = 0, lap + 1  # the scenario started over
        while told < len(events) and events[told].onset_s <= now:
            event = events[told]
            told += 1
            if as_json:
                continue  # machine output stays the transport's JSON lines
            clock = event.onset_s + lap * period
            line = f"            ({clock // 60:02.0f}:{clock % 60:04.1f}) {_describe(event)}"
            print(line, flush=True)  # noqa: T201
        await asyncio.sleep(0.1)


def _clock(seconds: float) -> str:
    return f"{seconds // 60:02.0f}:{seconds % 60:04.1f}"


def compare_with_script(
    scenario: Scenario, episodes: list[dict[str, Any]], streamed_s: float
) -> dict[str, Any]:
    """Compare detected episodes with a scenario's scripted involuntary episodes.

    Parameters
    ----------
    scenario : Scenario
        The scenario played (looped: its script repeats every ``duration_s``).
    episodes : list of dict
        Detected episodes (:func:`host.pipeline.live_dsp.episode_record`), times on the
        device's time line (which starts with the scenario).
    streamed_s : float
        How much of the device's time line was analysed, s; scripted episodes that had
        not ended by then are left out.

    Returns
    -------
    dict
        JSON-ready: ``streamed_s``; ``scripted``, one entry per scripted episode
        (``onset_s``, ``offset_s``, ``kind``, ``side``, ``detected``: the matched
        detection or None, ``side_ok``); ``found`` and ``side_ok`` counts; ``other``: the
        involuntary detections that match no scripted episode.

    Notes
    -----
    The rules are those of the detector benchmark (:mod:`host.evaluation.scoring`):
    scripted tonic, clonic, myoclonic and cramp episodes are scored (twitches are not),
    involuntary detections other than twitches compete, and each scripted episode is
    matched one-to-one to an overlapping detection (most pairs, then most overlap).
    """
    period = scenario.duration_s
    laps = max(math.ceil(streamed_s / period), 1) if period > 0 else 1
    truth = [
        replace(event, onset_s=event.onset_s + lap * period)
        for lap in range(laps)
        for event in scored_truth(scenario.truth())
    ]
    truth = [t for t in truth if t.offset_s <= streamed_s]
    detections = [
        DetectionRecord(
            start_s=e["start_s"],
            end_s=e["end_s"],
            involuntary=True,
            kind=e["kind"],
            side=e["side"],
            confidence=e["confidence"] if e["confidence"] is not None else math.nan,
        )
        for e in episodes
        if e["involuntary"] and e["kind"] != "twitch"
    ]
    matches, _, unmatched = match_episodes(truth, detections)
    found = {id(m.truth): m.detection for m in matches}
    scripted = []
    for event in truth:
        det = found.get(id(event))
        scripted.append(
            {
                "onset_s": round(event.onset_s, 3),
                "offset_s": round(event.offset_s, 3),
                "kind": event.kind,
                "side": event.side,
                "detected": None if det is None else _detection(det),
                "side_ok": det is not None and det.side == event.side,
            }
        )
    return {
        "streamed_s": round(streamed_s, 3),
        "scripted": scripted,
        "found": len(matches),
        "side_ok": sum(s["side_ok"] for s in scripted),
        "other": [_detection(d) for d in unmatched],
    }


def _detection(d: DetectionRecord) -> dict[str, Any]:
    confidence = None if math.isnan(d.confidence) else d.confidence
    return {
        "start_s": d.start_s,
        "end_s": d.end_s,
        "kind": d.kind,
        "side": d.side,
        "confidence": confidence,
    }


def _describe_detection(d: dict[str, Any]) -> str:
    confidence = "" if d["confidence"] is None else f" ({d['confidence']:.2f})"
    return f"{d['start_s']:.1f}-{d['end_s']:.1f} s {d['side']} {d['kind']}{confidence}"


def format_comparison(scenario: Scenario, result: dict[str, Any]) -> str:
    """Return the readable form of :func:`compare_with_script`'s result (several lines)."""
    lines = [f"detector vs script ({scenario.name}, {result['streamed_s']:.0f} s streamed):"]
    for s in result["scripted"]:
        what = f"{s['kind']} {s['side']}"
        det = s["detected"]
        if det is None:
            verdict = "MISSED"
        else:
            side = "" if s["side_ok"] else f"  (side: {det['side']})"
            verdict = f"found   {_describe_detection(det)}{side}"
        lines.append(
            f"  scripted {_clock(s['onset_s'])}-{_clock(s['offset_s'])}  {what:<20}  {verdict}"
        )
    if not result["scripted"]:
        lines.append("  (no scripted involuntary episode has ended yet)")
    for d in result["other"]:
        lines.append(f"  not scripted: {_describe_detection(d)}")
    n = len(result["scripted"])
    lines.append(
        f"found {result['found']} of {n} scripted involuntary episodes "
        f"({result['side_ok']} on the right side); {len(result['other'])} other "
        "involuntary detection(s)"
    )
    return "\n".join(lines)


def _emit(record: dict[str, Any], as_json: bool, text: str | None = None) -> None:
    """Print a JSON record, or its readable ``text`` (nothing when None)."""
    if as_json:
        print(json.dumps(record), flush=True)  # noqa: T201
    elif text is not None:
        print(text, flush=True)  # noqa: T201


class _StoreReader:
    """Read-only view of the demo's store, as any other reader (the dashboard) has it.

    It gives the RMS of the EMG committed since the previous call (the pipeline's status
    has no raw RMS), the end of the stored EMG on the device's time line, and what a
    session holds.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: RecordingStore | None = None
        self._origin: int | None = None  # first stored sample
        self.end_sample: int | None = None  # after the last stored sample read
        self.sfreq: float | None = None

    def _open(self) -> RecordingStore:
        if self._store is None:
            self._store = RecordingStore.open(self.path, readonly=True)
        return self._store

    def rms_uv(self, session_id: int) -> dict[str, float]:
        """Return the RMS per channel (µV, mean removed) of the EMG stored since last call."""
        store = self._open()
        start_s = None
        if self._origin is not None and self.end_sample is not None and self.sfreq:
            start_s = (self.end_sample - self._origin) / self.sfreq
        segment = store.read_emg(session_id, start_s)
        if segment.n_times == 0:
            return {}
        if self._origin is None:
            self._origin = segment.first_sample
        self.sfreq = segment.sfreq
        self.end_sample = segment.first_sample + segment.n_times
        data = segment.data[:, ~segment.missing]
        if data.shape[1] == 0:
            return {}
        rms = np.std(data, axis=-1) * 1e6
        return {name: round(float(v), 3) for name, v in zip(segment.ch_names, rms, strict=True)}

    def stored(self, session_id: int) -> dict[str, Any]:
        """Return what the store holds of a session (JSON-ready)."""
        store = self._open()
        session = store.session(session_id)
        gaps = store.gaps(session_id)
        episodes = store.episodes(session_id=session_id)
        return {
            "session_id": session_id,
            "status": session.status,
            "samples": session.n_emg_samples,
            "missing_samples": int(sum(g.n_samples for g in gaps)),
            "gaps": len(gaps),
            "episodes": len(episodes),
            "involuntary": sum(1 for e in episodes if e.involuntary),
        }

    def close(self) -> None:
        """Close the read-only connection (if open)."""
        if self._store is not None:
            self._store.close()
            self._store = None


class _SpedUpSerialTransport(SerialTransport):
    """The serial link to a simulated wearable that runs ``speed`` times faster than real time.

    Arrival times are those a live device would give: the wall time elapsed since the link
    was created, times ``speed``, after that moment (as the in-process simulator's
    ``sim://`` link gives them). Wall-clock arrivals of a sped-up device would tell the
    pipeline's clock sync (:class:`host.timing.ClockSync`, which allows a few hundred ppm of
    drift) that the device clock runs ``speed`` times fast, and the samples' UTC times
    would jump back at every re-anchoring. At ``speed=1`` they are the wall-clock times.

    Parameters
    ----------
    port : str
        The pseudo-terminal (or its stable link).
    speed : float
        The simulated wearable's real-time factor, > 0.
    **kwargs
        Passed on to :class:`~host.transports.SerialTransport`.
    """

    def __init__(self, port: str, *, speed: float, **kwargs: Any) -> None:
        super().__init__(port, **kwargs)
        self.speed = speed
        self._origin_utc_s = time.time()

    @property
    def last_arrival_utc_s(self) -> float:
        """Host UTC (s) at which the last item would have arrived at real-time speed."""
        wall = super().last_arrival_utc_s
        return self._origin_utc_s + (wall - self._origin_utc_s) * self.speed


def _detector_status(state: dict[str, Any] | None) -> str:
    if not state or not state["contraction"]:
        return ""
    where = f"{state['side']}, " if state["side"] else ""
    held = f"{where}{state['held_s']:.0f} s"
    if state["suspected_involuntary"]:
        return f" | >> involuntary contraction in progress ({held}) <<"
    return f" | contraction ({held})"


def _status_line(r: dict[str, Any]) -> str:
    """One readable line of a status record (pipeline status plus the demo's figures)."""
    if r["rms"]:
        values = "  ".join(f"{k} {v:.1f}" for k, v in r["rms"].items())
        rms = f"RMS uV  {values}"
    else:
        rms = "RMS -"
    clean = ""
    if r.get("envelope_uv"):
        values = "  ".join(f"{v:.1f}" for v in r["envelope_uv"].values())
        mains = f"{r['mains_hz']:g} Hz notched" if r.get("mains_hz") else "no mains yet"
        problems = {k: v for k, v in r.get("quality", {}).items() if v != "ok"}
        quality = "; ".join(problems.values()) if problems else "signal ok"
        clean = f" | clean {values} uV, {mains}, {quality}"
    state = "" if r["connected"] else "  [disconnected]"
    reconnects = r.get("link", {}).get("reconnects", 0)
    return (
        f"[{r['elapsed_s']:7.1f} s] {r['frames_per_s']:6.1f} fr/s {r['sample_rate_hz']:7.1f} Hz"
        f" | loss {r['loss_pct']:5.2f}% | crc {r['crc_errors']} framing {r['framing_errors']}"
        f" | gaps {r['gaps']} dup {r['duplicates']} reord {r['reordered']}"
        f" | reconn {reconnects} | rec {_clock(r['stream_s'])} | {rms}{clean}"
        f"{_detector_status(r.get('detector'))}{state}"
    )


class _Display:
    """The terminal view of a run, built from what the pipeline publishes on its hub.

    The link figures the pipeline's status does not carry (frame rate, loss, CRC and
    framing errors, duplicates, reordered frames, connected) are read from the transport's
    counters, and the raw RMS from the store, when a status message arrives.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        reader: _StoreReader,
        *,
        as_json: bool,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.pipeline = pipeline
        self.transport: Transport = pipeline.transport
        self.reader = reader
        self.as_json = as_json
        self.loop = loop
        self.start_s = loop.time()
        self.episodes: list[dict[str, Any]] = []
        self._last_s = self.start_s
        self._last_frames = 0
        self._last_samples = 0
        self._announced = False

    def _elapsed(self) -> float:
        return round(self.loop.time() - self.start_s, 3)

    async def follow(self, subscription: Subscription) -> None:
        """Show every message of a hub subscription until it is closed."""
        async for message in subscription:
            self.show(message)

    def show(self, message: Message) -> None:
        """Show one hub message."""
        topic, payload = message.topic, message.payload
        if topic == "status":
            self._announce()
            record = self._status(payload)
            _emit(record, self.as_json, _status_line(record))
        elif topic == "episode":
            self.episodes.append(payload)
            _emit({"type": "episode"} | payload, self.as_json, format_episode(payload))
        elif topic == "link":
            record = {"type": "link", **payload, "elapsed_s": self._elapsed()}
            # Link state changes get a line; lost frames are in the status line's counts.
            text = None
            if "detail" in payload:
                text = f"[{record['elapsed_s']:7.1f} s] link {payload['kind']}: {payload['detail']}"
            _emit(record, self.as_json, text)
        else:
            _emit({"type": topic, **payload}, self.as_json)

    def _announce(self) -> None:
        """Once the session has started: say which device is recorded, and where."""
        session_id, info = self.pipeline.session_id, self.transport.device_info
        if self._announced or session_id is None or info is None:
            return
        self._announced = True
        record = {
            "type": "device_info",
            "description": describe_device_info(info),
            **device_info_dict(info),
            "session_id": session_id,
            "store": str(self.reader.path),
        }
        text = (
            f"device: {record['description']}\n"
            f"recording session {session_id} into {self.reader.path}"
        )
        _emit(record, self.as_json, text)

    def _status(self, status: dict[str, Any]) -> dict[str, Any]:
        """Return the status record: the pipeline's status and what it does not carry."""
        now = self.loop.time()
        dt = max(now - self._last_s, 1e-9)
        stats = self.transport.stats
        samples = int(status.get("samples", 0))
        rms: dict[str, float] = {}
        session_id = self.pipeline.session_id
        if session_id is not None:
            try:
                rms = self.reader.rms_uv(session_id)
            except StorageError as err:  # the display must not stop the recording
                rms = {}
                if not self.as_json:
                    print(f"(store not readable for RMS: {err})", flush=True)  # noqa: T201
        record = {
            "type": "status",
            **status,
            "elapsed_s": round(now - self.start_s, 3),
            "connected": self.transport.is_connected,
            "frames_per_s": round((stats.frames_received - self._last_frames) / dt, 2),
            "sample_rate_hz": round((samples - self._last_samples) / dt, 2),
            "loss_pct": round(100.0 * stats.loss_fraction, 3),
            "crc_errors": stats.crc_errors,
            "framing_errors": stats.framing_errors,
            "duplicates": stats.duplicates,
            "reordered": stats.reordered,
            "rms_unit": "uV",
            "rms": rms,
        }
        self._last_s, self._last_frames, self._last_samples = now, stats.frames_received, samples
        return record


async def _watch(
    pipeline: Pipeline,
    wearable: PtyWearable,
    *,
    duration_s: float | None,
    once: bool,
) -> None:
    """Stop the pipeline after ``duration_s`` of wall time, or (``once``) at the scenario's end.

    It also asks again for DEVICE_INFO while none has arrived (the first request may reach
    the device while it is still booting); without it nothing is recorded.
    """
    loop = asyncio.get_running_loop()
    transport = pipeline.transport
    start = loop.time()
    deadline = None if duration_s is None else start + duration_s
    next_identify = start + _IDENTIFY_RETRY_S
    device = wearable.device
    seen, seen_at = -1, start
    while True:
        now = loop.time()
        if deadline is not None and now >= deadline:
            break
        if once and wearable.finished:
            # All is written to the pty: done once the last frame is in, or once a whole
            # second brought no sample (the last frames were lost).
            summary = pipeline.summary
            received = summary.samples
            end = (device.scenario.duration_s - device.frame_period_s) * device.sfreq
            if received + summary.missing_samples >= end:
                break
            if received != seen:
                seen, seen_at = received, now
            elif now - seen_at >= 1.0:
                break
        if transport.device_info is None and now >= next_identify:
            next_identify = now + _IDENTIFY_RETRY_S
            with contextlib.suppress(TransportError):
                await transport.send_command(Command.IDENTIFY)
        wait = _WATCH_S if deadline is None else min(_WATCH_S, deadline - now)
        await asyncio.sleep(max(wait, 0.0))
    pipeline.stop()


def _summary_line(summary: PipelineSummary, transport: Transport, n_episodes: int) -> str:
    stats = transport.stats
    return (
        f"summary: {summary.wall_s:.1f} s, {summary.stream_s:.1f} s of signal, "
        f"{stats.frames_received} frames, {summary.samples} samples, "
        f"lost {stats.frames_lost} frames ({100.0 * stats.loss_fraction:.2f}%), "
        f"{stats.crc_errors} CRC / {stats.framing_errors} framing errors, "
        f"{summary.gaps} gaps, {stats.duplicates} duplicates, {stats.reordered} reordered, "
        f"{summary.disconnects} disconnects, {transport.link.reconnects} reconnects, "
        f"{n_episodes} contractions detected ({summary.involuntary} involuntary); "
        f"ended: {summary.stop_reason}"
    )


def _stored_line(stored: dict[str, Any] | None, path: Path, keep_hint: str | None) -> str:
    if stored is None:
        return f"stored: nothing (the device never described itself) in {path}"
    where = (
        f"temporary store {path}, removed now"
        if keep_hint is None
        else f"{path}; see it with: {keep_hint} {stored['session_id']}"
    )
    return (
        f"stored: session {stored['session_id']} ({stored['status']}): {stored['samples']} "
        f"samples, {stored['missing_samples']} missing in {stored['gaps']} gaps, "
        f"{stored['episodes']} episodes ({stored['involuntary']} involuntary); {where}"
    )


async def _demo(
    transport: Transport,
    wearable: PtyWearable,
    *,
    hub: LiveHub,
    store: Path,
    keep_hint: str | None,
    duration_s: float | None,
    as_json: bool,
    once: bool,
    dashboard: argparse.Namespace | None = None,
) -> int:
    """Record the wearable through the pipeline into ``store``, showing ``hub`` live.

    ``hub`` is the run's one live hub: the terminal display and, unless ``dashboard`` is
    None, the live dashboard (served with its ``host``/``port``/``token``) follow it.
    """
    loop = asyncio.get_running_loop()
    device = wearable.device
    pipeline = Pipeline(transport, open_store=lambda: RecordingStore.open(store), hub=hub)
    reader = _StoreReader(store)
    display = _Display(pipeline, reader, as_json=as_json, loop=loop)
    subscription = hub.subscribe(maxlen=_DISPLAY_BUFFER)
    tasks = [
        asyncio.create_task(display.follow(subscription)),
        asyncio.create_task(_narrate(device, as_json)),
        asyncio.create_task(_watch(pipeline, wearable, duration_s=duration_s, once=once)),
    ]
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, pipeline.stop)
            handled.append(sig)
    try:
        if not as_json:
            print(  # noqa: T201
                f"recording {transport.url} into {store}"
                + (f" for {duration_s:g} s" if duration_s else "; Ctrl-C to stop"),
                flush=True,
            )
        try:
            async with contextlib.AsyncExitStack() as stack:
                if dashboard is not None:
                    url = await stack.enter_async_context(
                        live_dashboard(dashboard, hub=hub, store=store, transport=transport)
                    )
                    _emit(
                        {"type": "dashboard", "url": url},
                        as_json,
                        f"dashboard: open {url} (live view, timeline, episodes, summary)",
                    )
                summary = await pipeline.run()
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            subscription.close()  # the display shows what is buffered, then ends
            await tasks[0]
            for task in tasks[1:]:
                task.cancel()
            await asyncio.gather(*tasks[1:], return_exceptions=True)
        _report(device.scenario, summary, display, reader, keep_hint, as_json)
    finally:
        reader.close()
    return 0


def _report(
    scenario: Scenario,
    summary: PipelineSummary,
    display: _Display,
    reader: _StoreReader,
    keep_hint: str | None,
    as_json: bool,
) -> None:
    transport = display.transport
    record = {"type": "summary", **summary.as_dict(), "stats": transport.stats.as_dict()}
    _emit(record, as_json, _summary_line(summary, transport, len(display.episodes)))
    stored = None
    streamed_s = 0.0
    if summary.session_id is not None:
        reader.rms_uv(summary.session_id)  # reads on to the end of the stored EMG
        if reader.end_sample is not None and reader.sfreq:
            streamed_s = reader.end_sample / reader.sfreq  # the device's time line
        stored = reader.stored(summary.session_id)
    result = compare_with_script(scenario, display.episodes, streamed_s)
    _emit({"type": "demo_summary"} | result, as_json, format_comparison(scenario, result))
    record = {
        "type": "stored",
        "store": str(reader.path),
        "kept": keep_hint is not None,
        **(stored or {"session_id": None}),
    }
    _emit(record, as_json, _stored_line(stored, reader.path, keep_hint))


def _choose_store(args: argparse.Namespace, folder: Path) -> tuple[Path, str | None]:
    """Return the store's path and, when it is kept, the command that lists its sessions."""
    if args.data_dir is None and args.wearer is None:
        return store_path(DEMO_WEARER, folder), None
    wearer = args.wearer or DEMO_WEARER
    path = store_path(wearer, args.data_dir)
    hint = "spasmwatch sessions"
    if args.data_dir is not None:
        hint += f" --data-dir {args.data_dir}"
    return path, f"{hint} --wearer {wearer}"


def run(args: argparse.Namespace) -> int:
    """Run the subcommand."""
    if args.duration is not None and not args.duration > 0:
        raise ConfigError(f"--duration must be positive, got {args.duration}")
    if not args.speed > 0:
        raise ConfigError(f"--speed must be positive for the demo, got {args.speed}")
    scenario = resolve_scenario(args.scenario)
    if args.clean:
        args.drop = args.corrupt = args.duplicate = args.reorder = args.delay = 0.0
        args.unplug_every = 0.0
    folder = Path(tempfile.mkdtemp(prefix="spasmwatch-demo-"))
    try:
        store, keep_hint = _choose_store(args, folder)
        store.parent.mkdir(parents=True, exist_ok=True)
        device = SimulatedDevice(scenario, DeviceConfig(), seed=args.seed, loop=not args.once)
        wearable = PtyWearable(
            device, faults=faults_from_args(args), speed=args.speed, link_path=folder / "wearable"
        )
        path = wearable.start()
        try:
            if not args.json:
                print(  # noqa: T201
                    f"spasmwatch demo: simulated wearable ({scenario.name}: "
                    f"{scenario.description or 'a scripted day'}) on {path}",
                    flush=True,
                )
            transport = _SpedUpSerialTransport(path, speed=args.speed, max_reconnect_s=30.0)
            hub = LiveHub()  # the run's one live hub (the dashboard will subscribe to it)
            return asyncio.run(
                _demo(
                    transport,
                    wearable,
                    hub=hub,
                    store=store,
                    keep_hint=keep_hint,
                    duration_s=args.duration,
                    as_json=args.json,
                    once=args.once,
                    dashboard=None if args.no_dashboard else args,
                )
            )
        finally:
            wearable.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
