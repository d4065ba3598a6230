"""``spasmwatch demo``: a simulated wearable streamed live through the real host stack.

The simulated device serves protocol v1 on a pseudo-terminal; the host opens it with the
same serial transport that reads real hardware and prints the live link statistics and
per-channel RMS, while a narrator line says what the simulated wearer is doing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
from pathlib import Path
from typing import Any

from host.cli.simulate import add_fault_arguments, faults_from_args, resolve_scenario
from host.cli.stream import stream_transport
from host.errors import ConfigError
from host.simulator.device import DeviceConfig, SimulatedDevice
from host.simulator.pty_server import PtyWearable
from host.simulator.scenario import TruthEvent, list_builtin_scenarios
from host.transports import SerialTransport

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register the subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="stream a simulated wearable through the host and show it live",
        description=(
            "Start a simulated wearable on a pseudo-terminal and stream from it with the "
            "real serial transport, printing link statistics and per-channel RMS once per "
            "second and what the simulated wearer is doing. A little link trouble is "
            "injected by default (0.2 %% lost, 0.1 %% corrupted frames, a cable pull every "
            "90 s) so the statistics have something to show; --clean turns it off."
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
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--clean", action="store_true", help="no injected link faults")
    add_fault_arguments(parser)
    parser.set_defaults(func=run, drop=0.002, corrupt=0.001, unplug_every=90.0, unplug_for=2.0)


def _describe(event: TruthEvent) -> str:
    if event.category == "activity":
        return f"wearer: {event.kind.replace('_', ' ')} for {event.duration_s:.0f} s"
    if event.category == "contraction":
        who = "INVOLUNTARY" if event.involuntary else "voluntary"
        side = f", {event.side}" if event.side != "none" else ""
        return (
            f"{who} {event.kind} contraction{side}, {100 * event.peak_mvc:.0f} %MVC, "
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


async def _demo(
    transport: SerialTransport, device: SimulatedDevice, duration_s: float | None, as_json: bool
) -> int:
    narrator = asyncio.create_task(_narrate(device, as_json))
    try:
        return await stream_transport(transport, duration_s=duration_s, as_json=as_json)
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
    device = SimulatedDevice(scenario, DeviceConfig(), seed=args.seed, loop=True)
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
        return asyncio.run(_demo(transport, device, args.duration, args.json))
    finally:
        wearable.stop()
        with contextlib.suppress(OSError):
            folder.rmdir()
