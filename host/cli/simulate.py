"""``spasmwatch simulate``: run the simulated wearable live on a pty, or into files."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import time
from pathlib import Path
from typing import Any

from host.errors import ConfigError
from host.protocol.capture import CAPTURE_SUFFIX
from host.simulator.device import SUPPORTED_RATES_HZ, DeviceConfig, SimulatedDevice
from host.simulator.link import FaultInjector, LinkFaults
from host.simulator.pty_server import PtyWearable
from host.simulator.scenario import (
    Scenario,
    list_builtin_scenarios,
    resolve_scenario,
    write_truth,
)

__all__ = ["add_parser", "faults_from_args", "resolve_scenario", "run"]


logger = logging.getLogger(__name__)


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1], got {text}")
    return value


def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the link-fault options shared by ``simulate`` and ``demo``."""
    group = parser.add_argument_group("link faults")
    group.add_argument(
        "--drop",
        type=_probability,
        default=0.0,
        metavar="P",
        help="probability that a frame is lost",
    )
    group.add_argument(
        "--corrupt",
        type=_probability,
        default=0.0,
        metavar="P",
        help="probability that a frame has a byte changed",
    )
    group.add_argument(
        "--duplicate",
        type=_probability,
        default=0.0,
        metavar="P",
        help="probability that a frame is sent twice",
    )
    group.add_argument(
        "--reorder",
        type=_probability,
        default=0.0,
        metavar="P",
        help="probability that a frame is swapped with the next",
    )
    group.add_argument(
        "--delay",
        type=_probability,
        default=0.0,
        metavar="P",
        help="probability that a frame holds the stream up for --delay-s",
    )
    group.add_argument("--delay-s", type=float, default=0.2, metavar="S")
    group.add_argument(
        "--unplug-every",
        type=float,
        default=0.0,
        metavar="S",
        help="pull the cable every S seconds of streaming (pty only)",
    )
    group.add_argument("--unplug-for", type=float, default=2.0, metavar="S")
    group.add_argument("--fault-seed", type=int, default=0, metavar="N")


def add_parser(subparsers: Any) -> None:
    """Register the subcommand."""
    parser = subparsers.add_parser(
        "simulate",
        help="run a simulated wearable (live on a pseudo-terminal, or into files)",
        description=(
            "Run the simulated wearable through a scenario. By default it serves protocol "
            "v1 on a pseudo-terminal that the host opens like a USB serial port; with "
            "--out it writes a capture file (.sw1) and the ground truth (_events.tsv)."
        ),
    )
    names = ", ".join(list_builtin_scenarios())
    parser.add_argument(
        "--scenario",
        default="quick",
        help=f"built-in scenario ({names}) or a TOML file (default: quick)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the body model")
    parser.add_argument(
        "--rate",
        type=float,
        default=1000.0,
        help=f"EMG rate in Hz, one of {', '.join(f'{r:g}' for r in SUPPORTED_RATES_HZ)}",
    )
    parser.add_argument(
        "--clock-ppm",
        type=float,
        default=0.0,
        help="crystal error of the device clock, ppm (e.g. 200 or -200)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="1 = real time, 10 = ten times faster, 0 = as fast as read",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="stop after S seconds of the scenario",
    )
    parser.add_argument(
        "--loop", action="store_true", help="repeat the scenario indefinitely (live mode)"
    )
    parser.add_argument(
        "--autostart", action="store_true", help="stream from power-up without waiting for START"
    )
    parser.add_argument(
        "--link",
        default=None,
        metavar="PATH",
        help="keep a stable symlink to the pty at PATH (re-pointed on replug)",
    )
    parser.add_argument(
        "--out", default=None, metavar="DIR", help="write files into DIR instead of serving a pty"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print machine-readable lines (path, final fault record)",
    )
    add_fault_arguments(parser)
    parser.set_defaults(func=run)


def faults_from_args(args: argparse.Namespace) -> LinkFaults:
    """Build :class:`LinkFaults` from the parsed options."""
    return LinkFaults(
        drop=args.drop,
        corrupt=args.corrupt,
        duplicate=args.duplicate,
        reorder=args.reorder,
        delay=args.delay,
        delay_s=args.delay_s,
        unplug_every_s=args.unplug_every,
        unplug_for_s=args.unplug_for,
        seed=args.fault_seed,
    )


def _emit(args: argparse.Namespace, text: str, record: dict[str, object]) -> None:
    if args.json:
        print(json.dumps(record), flush=True)  # noqa: T201
    else:
        print(text, flush=True)  # noqa: T201


def run(args: argparse.Namespace) -> int:
    """Run the subcommand."""
    scenario = resolve_scenario(args.scenario)
    config = DeviceConfig(emg_sfreq=args.rate, clock_ppm=args.clock_ppm)
    faults = faults_from_args(args)
    if args.duration is not None and args.duration <= 0:
        raise ConfigError(f"--duration must be positive, got {args.duration}")
    if args.out is not None:
        return _to_files(args, scenario, config, faults)
    device = SimulatedDevice(
        scenario, config, seed=args.seed, loop=args.loop, autostart=args.autostart
    )
    wearable = PtyWearable(device, faults=faults, speed=args.speed, link_path=args.link)
    path = wearable.start()
    _emit(
        args,
        f"simulated wearable ({scenario.name}, {config.emg_sfreq:g} Hz) on {path}\n"
        f"open it with: spasmwatch stream --port {path}",
        {"event": "ready", "path": path, "scenario": scenario.name},
    )
    stop = False

    def _on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _on_signal)
    try:
        while not stop and not wearable.finished:
            if args.duration is not None and device.scenario_time_s >= args.duration:
                break
            if wearable.error is not None:
                raise wearable.error
            time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    finally:
        wearable.stop()
    _emit(
        args,
        f"stopped after {device.scenario_time_s:.1f} s of scenario; injected: "
        + json.dumps(wearable.injected.as_dict()),
        {
            "event": "stopped",
            "scenario_time_s": device.scenario_time_s,
            "injected": wearable.injected.as_dict(),
        },
    )
    return 0


def _to_files(
    args: argparse.Namespace, scenario: Scenario, config: DeviceConfig, faults: LinkFaults
) -> int:
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create output folder {out}: {err.strerror}") from None
    device = SimulatedDevice(scenario, config, seed=args.seed, autostart=True)
    injector = FaultInjector(faults)
    stem = f"{scenario.name}_seed{args.seed}"
    capture = out / f"{stem}{CAPTURE_SUFFIX}"
    events = out / f"{stem}_events.tsv"
    limit = args.duration if args.duration is not None else scenario.duration_s
    started = time.monotonic()
    try:
        with open(capture, "wb") as fh:
            frames = device.take_pending()
            while True:
                for chunk, _pause in injector.apply(frames):
                    fh.write(chunk)
                if device.finished or device.scenario_time_s >= limit:
                    break
                frames = device.step()
            fh.write(injector.release_held())
        write_truth([e for e in scenario.truth() if e.onset_s < limit], events)
    except OSError as err:
        raise ConfigError(f"cannot write {capture}: {err.strerror}") from None
    elapsed = time.monotonic() - started
    _emit(
        args,
        f"wrote {capture} and {events}: {device.scenario_time_s:.1f} s of scenario "
        f"in {elapsed:.1f} s ({device.scenario_time_s / max(elapsed, 1e-9):.0f}x real time)",
        {
            "event": "written",
            "capture": str(capture),
            "events": str(events),
            "scenario_time_s": device.scenario_time_s,
            "injected": injector.record.as_dict(),
        },
    )
    return 0
