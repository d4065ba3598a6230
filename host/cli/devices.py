"""``spasmwatch devices``: list serial ports, mark likely spasmwatch devices, optionally probe.

Examples
--------
::

    spasmwatch devices                 # table of ports
    spasmwatch devices --json          # the same as JSON
    spasmwatch devices --probe         # ask likely devices who they are (sends IDENTIFY)
    spasmwatch devices --port /dev/ttyACM0   # probe this port, listed or not
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from host.errors import ConfigError, TransportError
from host.protocol import DeviceInfoFrame
from host.transports import (
    DEFAULT_BAUDRATE,
    SerialPortInfo,
    SerialTransport,
    list_serial_ports,
    probe_device,
)

__all__ = ["add_parser", "device_info_dict", "describe_device_info", "run"]


def add_parser(subparsers: Any) -> None:
    """Register the subcommand."""
    parser = subparsers.add_parser(
        "devices",
        help="list serial ports, marking likely spasmwatch devices",
        description=(
            "List the serial ports of this computer (path, USB VID:PID, serial number, "
            "description) and mark those that are likely spasmwatch devices. With --probe, "
            "open each candidate, send IDENTIFY and show what the device says about itself."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--probe",
        action="store_true",
        help="ask likely spasmwatch devices who they are (opens the port, sends IDENTIFY)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="with --probe: probe every listed port, not only likely spasmwatch devices",
    )
    parser.add_argument(
        "--port",
        action="append",
        default=[],
        metavar="PATH",
        help="probe this port too, listed or not (repeatable; implies --probe)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds to wait for each device's answer (default: %(default)s)",
    )
    parser.add_argument(
        "--baud",
        type=int,
        default=DEFAULT_BAUDRATE,
        help="line rate for UART devices, ignored over USB (default: %(default)s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List (and probe) the ports; return 0."""
    if not args.timeout > 0:
        raise ConfigError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    ports = list_serial_ports()
    entries: list[dict[str, Any]] = [port.as_dict() for port in ports]
    probe_paths: list[str] = []
    if args.probe or args.port:
        probe_paths = [p.path for p in ports if args.all or p.likely_spasmwatch != "no"] + [
            path for path in args.port if path not in {p.path for p in ports}
        ]
        for path in args.port:
            if path not in {e["path"] for e in entries}:
                entries.append(_unlisted_entry(path))
        results = asyncio.run(_probe_all(probe_paths, args.timeout, args.baud))
        for entry in entries:
            if entry["path"] in results:
                outcome = results[entry["path"]]
                if isinstance(outcome, DeviceInfoFrame):
                    entry["device_info"] = device_info_dict(outcome)
                else:
                    entry["probe_error"] = outcome
    if args.json:
        print(json.dumps({"ports": entries}, indent=2))  # noqa: T201
        return 0
    _print_table(entries, probed=bool(args.probe or args.port), n_probed=len(probe_paths))
    return 0


def device_info_dict(info: DeviceInfoFrame) -> dict[str, Any]:
    """Return what a DEVICE_INFO frame says, as a JSON-ready dictionary.

    Parameters
    ----------
    info : DeviceInfoFrame
        The device's answer to IDENTIFY.

    Returns
    -------
    dict
        Board, firmware, id, rates, channels and scales.
    """
    return {
        "board": info.board,
        "firmware": ".".join(str(v) for v in info.firmware_version),
        "device_id": f"{info.device_id:016x}",
        "emg_sfreq": info.emg_sfreq,
        "channel_names": list(info.channel_names),
        "n_channels": info.n_channels,
        "emg_format": info.emg_format.name,
        "samples_per_frame": info.samples_per_frame,
        "adc_bits": info.adc_bits,
        "uv_per_count": info.volts_per_count * 1e6,
        "accel_sfreq": info.accel_sfreq,
    }


def describe_device_info(info: DeviceInfoFrame) -> str:
    """Return one line describing a device (board, firmware, rate, channels, scale)."""
    return _describe_dict(device_info_dict(info))


def _unlisted_entry(path: str) -> dict[str, Any]:
    return SerialPortInfo(
        path=path,
        description="(not listed by the operating system)",
        vid=None,
        pid=None,
        serial_number=None,
        manufacturer=None,
        product=None,
        likely_spasmwatch="no",
        reason="",
    ).as_dict()


async def _probe_one(path: str, timeout_s: float, baudrate: int) -> DeviceInfoFrame | str:
    transport = SerialTransport(path, baudrate=baudrate, connect_commands=(), max_reconnect_s=0)
    try:
        return await probe_device(transport, timeout_s=timeout_s)
    except TransportError as err:
        return str(err)


async def _probe_all(
    paths: list[str], timeout_s: float, baudrate: int
) -> dict[str, DeviceInfoFrame | str]:
    outcomes = await asyncio.gather(*(_probe_one(p, timeout_s, baudrate) for p in paths))
    return dict(zip(paths, outcomes, strict=True))


def _print_table(entries: list[dict[str, Any]], *, probed: bool, n_probed: int) -> None:
    if not entries:
        print(  # noqa: T201
            "No serial ports found. Is the device plugged in (with a data cable) and "
            "switched on? On Linux, `dmesg` shows whether a ttyACM/ttyUSB device appeared."
        )
        return
    rows = [("PORT", "USB ID", "SERIAL", "DESCRIPTION", "SPASMWATCH?")]
    for e in entries:
        likely = e["likely_spasmwatch"]
        mark = {"yes": "yes", "maybe": f"maybe: {e['reason']}", "no": "-"}[likely]
        rows.append(
            (
                e["path"],
                e["vid_pid"] or "-",
                e["serial_number"] or "-",
                e["description"] or "-",
                mark,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    probe_lines = {
        e["path"]: (
            f"  -> spasmwatch: {_describe_dict(e['device_info'])}"
            if "device_info" in e
            else f"  -> no answer: {e['probe_error']}"
        )
        for e in entries
        if "device_info" in e or "probe_error" in e
    }
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        print("  ".join(cells) + "  " + row[4])  # noqa: T201
        if row[0] in probe_lines:
            print(probe_lines[row[0]])  # noqa: T201
    if probed and n_probed == 0:
        print(  # noqa: T201
            "\nNo likely spasmwatch device to probe: use --all to probe every port, or "
            "--port PATH for a particular one."
        )


def _describe_dict(d: dict[str, Any]) -> str:
    board = d["board"] or "(unnamed board)"
    return (
        f"{board}, firmware {d['firmware']}, id {d['device_id']}, {d['emg_sfreq']:g} Hz, "
        f"{d['n_channels']} channels ({', '.join(d['channel_names'])}), "
        f"{d['uv_per_count']:.4g} uV/count"
    )
