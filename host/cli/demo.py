"""``spasmwatch demo``: a simulated wearable streamed live through the real host stack.

The simulated device serves protocol v1 on a pseudo-terminal; the host opens it with the
same serial transport that reads real hardware and runs ``spasmwatch stream`` on it: the
live link statistics, per-channel RMS, cleaned envelope and signal quality, and the spasm
detector's episodes as they are found. A narrator line says what the simulated wearer is
doing (the scenario's script). When the demo ends (Ctrl-C, ``--duration``, or the
scenario's end with ``--once``) it prints how the detected involuntary episodes compare
with the scripted ones.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from host.cli.simulate import add_fault_arguments, faults_from_args, resolve_scenario
from host.cli.stream import StreamMonitor, stream_transport
from host.errors import ConfigError
from host.evaluation.scoring import DetectionRecord, match_episodes, scored_truth
from host.simulator.device import DeviceConfig, SimulatedDevice
from host.simulator.pty_server import PtyWearable
from host.simulator.scenario import Scenario, TruthEvent, list_builtin_scenarios
from host.transports import SerialTransport

__all__ = ["add_parser", "compare_with_script", "format_comparison", "run"]


def add_parser(subparsers: Any) -> None:
    """Register the subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="stream a simulated wearable through the host and show it live",
        description=(
            "Start a simulated wearable on a pseudo-terminal and stream from it with the "
            "real serial transport, printing link statistics, per-channel RMS and signal "
            "quality once per second, every contraction the spasm detector finds, and what "
            "the simulated wearer is doing. At the end the detected involuntary episodes "
            "are compared with the scripted ones. A little link trouble is injected by "
            "default (0.2 %% lost, 0.1 %% corrupted frames, a cable pull every 90 s) so the "
            "statistics have something to show; --clean turns it off."
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


def _report(scenario: Scenario, monitor: StreamMonitor, as_json: bool) -> None:
    streamed = monitor.dsp.stream_time_s if monitor.dsp is not None else None
    result = compare_with_script(scenario, monitor.episodes, streamed or 0.0)
    if as_json:
        print(json.dumps({"type": "demo_summary"} | result), flush=True)  # noqa: T201
    else:
        print(format_comparison(scenario, result), flush=True)  # noqa: T201


def _scenario_over(wearable: PtyWearable) -> Callable[[StreamMonitor], bool]:
    """Return the stream's end condition for ``--once``: all sent, and all received."""
    seen = [-1]
    end_s = wearable.device.scenario.duration_s - wearable.device.frame_period_s

    def over(monitor: StreamMonitor) -> bool:
        if not wearable.finished:
            return False
        # Everything is written to the pty: done once the last frame is in, or once a
        # whole tick brought no frame (the last ones were lost).
        streamed = monitor.dsp.stream_time_s if monitor.dsp is not None else None
        idle = monitor.frames_received == seen[0]
        seen[0] = monitor.frames_received
        return idle or (streamed is not None and streamed >= end_s)

    return over


async def _demo(
    transport: SerialTransport,
    wearable: PtyWearable,
    duration_s: float | None,
    as_json: bool,
    once: bool,
) -> int:
    device = wearable.device
    narrator = asyncio.create_task(_narrate(device, as_json))
    try:
        return await stream_transport(
            transport,
            duration_s=duration_s,
            as_json=as_json,
            until=_scenario_over(wearable) if once else None,
            on_end=lambda monitor: _report(device.scenario, monitor, as_json),
        )
    finally:
        narrator.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await narrator


def run(args: argparse.Namespace) -> int:
    """Run the subcommand."""
    if args.duration is not None and args.duration <= 0:
        raise ConfigError(f"--duration must be positive, got {args.duration}")
    if args.speed <= 0:
        raise ConfigError(f"--speed must be positive for the demo, got {args.speed}")
    scenario = resolve_scenario(args.scenario)
    if args.clean:
        args.drop = args.corrupt = args.duplicate = args.reorder = args.delay = 0.0
        args.unplug_every = 0.0
    device = SimulatedDevice(scenario, DeviceConfig(), seed=args.seed, loop=not args.once)
    folder = Path(tempfile.mkdtemp(prefix="spasmwatch-demo-"))
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
        transport = SerialTransport(path, max_reconnect_s=30.0)
        return asyncio.run(_demo(transport, wearable, args.duration, args.json, args.once))
    finally:
        wearable.stop()
        with contextlib.suppress(OSError):
            folder.rmdir()
