"""``spasmwatch devices``: list serial ports and Bluetooth LE wearables, optionally probe.

Serial ports are marked when they are likely spasmwatch devices; Bluetooth LE wearables
are those heard advertising the spasmwatch service, each with the ``ble://`` URL that
``spasmwatch run --source`` takes. Without a usable Bluetooth adapter the listing says so
in one line and still lists the serial ports.

Examples
--------
::

    spasmwatch devices                 # table of ports, then of BLE wearables in range
    spasmwatch devices --json          # the same as JSON
    spasmwatch devices --no-ble        # serial ports only (no Bluetooth scan)
    spasmwatch devices --ble-timeout 8 # listen longer for wearables
    spasmwatch devices --probe         # ask likely devices who they are (sends IDENTIFY)
    spasmwatch devices --port /dev/ttyACM0   # probe this port, listed or not
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from typing import Any

from bleak.backends.scanner import BaseBleakScanner

from host.errors import ConfigError, TransportError
from host.protocol import DeviceInfoFrame
from host.transports import (
    DEFAULT_BAUDRATE,
    SerialPortInfo,
    SerialTransport,
    list_serial_ports,
    probe_device,
)
from host.transports.ble_scan import BleDeviceInfo, ble_url, scan_ble_devices

__all__ = [
    "DEFAULT_BLE_TIMEOUT_S",
    "add_parser",
    "ble_device_entries",
    "describe_device_info",
    "device_info_dict",
    "run",
    "run_async",
]

#: How long ``spasmwatch devices`` listens for wearables, in seconds (a wearable
#: advertises at least every 152.5 ms, see ``host.protocol.gatt``).
DEFAULT_BLE_TIMEOUT_S = 3.0


def add_parser(subparsers: Any) -> None:
    """Register the subcommand."""
    parser = subparsers.add_parser(
        "devices",
        help="list serial ports and Bluetooth LE wearables in range",
        description=(
            "List the serial ports of this computer (path, USB VID:PID, serial number, "
            "description) and mark those that are likely spasmwatch devices, then the "
            "wearables heard over Bluetooth LE advertising the spasmwatch service (name, "
            "address, signal strength, and the ble:// URL to record from). With --probe, "
            "open each serial candidate, send IDENTIFY and show what the device says about "
            "itself."
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
    parser.add_argument(
        "--no-ble",
        action="store_true",
        help="do not scan for Bluetooth LE wearables",
    )
    parser.add_argument(
        "--ble-timeout",
        type=float,
        default=DEFAULT_BLE_TIMEOUT_S,
        metavar="S",
        help="seconds to listen for Bluetooth LE wearables (default: %(default)s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List (and probe) the serial ports, scan for BLE wearables; return 0."""
    return asyncio.run(run_async(args))


async def run_async(
    args: argparse.Namespace, *, scanner_backend: type[BaseBleakScanner] | None = None
) -> int:
    """Do what :func:`run` does, on the running event loop.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of ``spasmwatch devices``.
    scanner_backend : type of bleak.backends.scanner.BaseBleakScanner, optional
        bleak's ``BleakScanner(backend=)`` for the Bluetooth scan (the platform's by
        default; the virtual radio's in tests).

    Returns
    -------
    int
        0. A failed Bluetooth scan (no adapter, adapter off, no Bluetooth service) is
        reported in the listing, not raised.

    Raises
    ------
    ConfigError
        If ``--timeout`` or ``--ble-timeout`` is not a positive number of seconds.
    """
    if not args.timeout > 0:
        raise ConfigError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    scan_ble = not args.no_ble
    if scan_ble and not args.ble_timeout > 0:
        raise ConfigError(
            f"--ble-timeout must be a positive number of seconds, got {args.ble_timeout}"
        )
    # The scan listens for its whole timeout: let it run while the serial ports are probed.
    ble_task = (
        asyncio.ensure_future(_scan_ble(args.ble_timeout, scanner_backend)) if scan_ble else None
    )
    try:
        entries, n_probed = await _serial_entries(args)
    except BaseException:
        if ble_task is not None:
            ble_task.cancel()
            await asyncio.gather(ble_task, return_exceptions=True)
        raise
    ble = await ble_task if ble_task is not None else None
    probed = bool(args.probe or args.port)
    if args.json:
        report: dict[str, Any] = {"ports": entries}
        if ble is not None:
            report["ble"] = ble
        print(json.dumps(report, indent=2))  # noqa: T201
        return 0
    _print_table(entries, probed=probed, n_probed=n_probed)
    if ble is not None:
        _print_ble(ble)
    return 0


def ble_device_entries(found: list[BleDeviceInfo]) -> list[dict[str, Any]]:
    """Describe the wearables a scan heard, each with the URL that reaches it.

    Parameters
    ----------
    found : list of BleDeviceInfo
        What :func:`~host.transports.ble_scan.scan_ble_devices` returned.

    Returns
    -------
    list of dict
        ``address``, ``name``, ``rssi`` (dBm) and ``url``: ``ble://<name>``, or
        ``ble://<address>`` when the wearable has no name or shares it with another.
    """
    names = Counter(info.name for info in found if info.name)
    entries = []
    for info in found:
        entry = info.as_dict()
        if info.name and names[info.name] > 1:
            entry["url"] = ble_url(info.address)
        entries.append(entry)
    return entries


async def _scan_ble(
    timeout_s: float, scanner_backend: type[BaseBleakScanner] | None
) -> dict[str, Any]:
    try:
        found = await scan_ble_devices(timeout_s, scanner_backend=scanner_backend)
    except TransportError as err:
        return {"timeout_s": timeout_s, "devices": [], "error": " ".join(str(err).split())}
    return {"timeout_s": timeout_s, "devices": ble_device_entries(found), "error": None}


async def _serial_entries(args: argparse.Namespace) -> tuple[list[dict[str, Any]], int]:
    """List (and probe) the serial ports; return the entries and how many were probed."""
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
        results = await _probe_all(probe_paths, args.timeout, args.baud)
        for entry in entries:
            if entry["path"] in results:
                outcome = results[entry["path"]]
                if isinstance(outcome, DeviceInfoFrame):
                    entry["device_info"] = device_info_dict(outcome)
                else:
                    entry["probe_error"] = outcome
    return entries, len(probe_paths)


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


def _print_ble(ble: dict[str, Any]) -> None:
    timeout = f"{ble['timeout_s']:g} s"
    if ble["error"] is not None:
        print(f"\nBluetooth LE: not scanned: {ble['error']}")  # noqa: T201
        return
    devices = ble["devices"]
    if not devices:
        print(  # noqa: T201
            f"\nNo spasmwatch wearable heard over Bluetooth LE in {timeout}. Is it switched "
            "on, charged, within range and not connected to another computer or phone?"
        )
        return
    print(f"\nBluetooth LE wearables (spasmwatch service, {timeout} scan):")  # noqa: T201
    rows = [("NAME", "ADDRESS", "RSSI", "URL")] + [
        (d["name"] or "-", d["address"], f"{d['rssi']} dBm", d["url"]) for d in devices
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        print("  ".join(cells) + "  " + row[3])  # noqa: T201
