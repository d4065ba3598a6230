"""``spasmwatch devices``: listing (subprocess and in-process), probing a pseudo-terminal,
and Bluetooth LE wearables heard through bleak's ``BleakScanner`` on the virtual radio."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import subprocess
import sys
import threading
import tty
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
)
from bumble import gatt

from host.cli import devices, main
from host.errors import ConfigError
from host.protocol import Command, CommandFrame, DeviceInfoFrame, StreamDecoder, encode_frame
from host.protocol.gatt import uuid16
from host.simulator.ble import BleWearable, VirtualPeripheral, VirtualRadio
from host.simulator.device import DeviceConfig, SimulatedDevice
from host.simulator.scenario import builtin_scenario
from host.transports import SerialPortInfo
from host.transports.ble import BleTransport
from host.transports.ble_scan import ble_url

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")

INFO = DeviceInfoFrame(
    seq=0,
    timestamp_us=0,
    firmware_version=(0, 9, 1),
    device_id=0xC0FFEE,
    emg_sfreq=2000.0,
    channel_names=("L_ES", "R_ES"),
    adc_bits=24,
    adc_bipolar=True,
    vref_v=2.42,
    gain=24.0,
    board="pty-probe",
)


class IdentifyResponder:
    """A pseudo-terminal device that answers IDENTIFY (or stays silent) and records commands."""

    def __init__(self, *, answer: bool) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self.answer = answer
        self.commands: list[Command] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        decoder = StreamDecoder()
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.01)
            if not ready:
                continue
            for item in decoder.feed(os.read(self.master, 4096)):
                if isinstance(item, CommandFrame):
                    self.commands.append(item.command)
                    if item.command is Command.IDENTIFY and self.answer:
                        os.write(self.master, encode_frame(INFO))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture
def responder() -> Iterator[IdentifyResponder]:
    device = IdentifyResponder(answer=True)
    yield device
    device.close()


@pytest.fixture
def silent() -> Iterator[IdentifyResponder]:
    device = IdentifyResponder(answer=False)
    yield device
    device.close()


def spasmwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "host.cli", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def run_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``spasmwatch ARGS`` in this process; return (status, stdout, stderr)."""
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_devices_json_is_valid() -> None:
    result = spasmwatch("devices", "--json", "--ble-timeout", "0.5")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    ports = report["ports"]
    assert isinstance(ports, list)
    for port in ports:
        assert {"path", "description", "vid_pid", "serial_number", "likely_spasmwatch"} <= set(port)
    # This computer may or may not have Bluetooth: either wearables (maybe none) or why not.
    ble = report["ble"]
    assert ble["timeout_s"] == 0.5
    if ble["error"] is None:
        assert all(d["url"].startswith("ble://") for d in ble["devices"])
    else:
        assert ble["devices"] == []
        assert "\n" not in ble["error"]
        assert ble["error"].startswith("Bluetooth")


def test_devices_table_lists_ports_then_one_bluetooth_line() -> None:
    result = spasmwatch("devices", "--ble-timeout", "0.5")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith(("PORT", "No serial ports found"))  # serial ports first
    ble_lines = [line for line in lines if "Bluetooth LE" in line]
    assert len(ble_lines) == 1  # one line: the wearables' header, none heard, or why not


def test_no_ble_does_not_scan() -> None:
    result = spasmwatch("devices", "--json", "--no-ble")
    assert result.returncode == 0, result.stderr
    assert "ble" not in json.loads(result.stdout)


def test_probe_a_port_prints_its_device_info(
    responder: IdentifyResponder, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_in_process(
        capsys, "devices", "--port", responder.path, "--json", "--no-ble"
    )
    assert status == 0, err
    entry = next(p for p in json.loads(out)["ports"] if p["path"] == responder.path)
    info = entry["device_info"]
    assert (info["board"], info["firmware"], info["emg_sfreq"]) == ("pty-probe", "0.9.1", 2000.0)
    assert info["channel_names"] == ["L_ES", "R_ES"]
    assert info["device_id"] == "0000000000c0ffee"
    assert info["uv_per_count"] == pytest.approx(INFO.volts_per_count * 1e6)
    assert responder.commands == [Command.IDENTIFY]  # probing never starts the stream


def test_probe_human_output(
    responder: IdentifyResponder, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_in_process(
        capsys, "devices", "--probe", "--port", responder.path, "--no-ble"
    )
    assert status == 0, err
    assert "PORT" in out
    assert "-> spasmwatch: pty-probe, firmware 0.9.1" in out
    assert "2000 Hz, 2 channels (L_ES, R_ES)" in out


def test_probe_of_a_silent_port_reports_no_answer(
    silent: IdentifyResponder, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_in_process(
        capsys, "devices", "--port", silent.path, "--timeout", "0.2", "--json", "--no-ble"
    )
    assert status == 0, err
    entry = next(p for p in json.loads(out)["ports"] if p["path"] == silent.path)
    assert "no DEVICE_INFO answer" in entry["probe_error"]
    assert "device_info" not in entry


def test_probe_of_a_missing_port_reports_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "ttyACM7")
    status, out, err = run_in_process(capsys, "devices", "--port", missing, "--json", "--no-ble")
    assert status == 0, err
    entry = next(p for p in json.loads(out)["ports"] if p["path"] == missing)
    assert f"serial port {missing} does not exist" in entry["probe_error"]


def _args(**overrides: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "json": False,
        "probe": False,
        "all": False,
        "port": [],
        "timeout": 1.0,
        "baud": 115200,
        "no_ble": True,
        "ble_timeout": 3.0,
    }
    values.update(overrides)
    return argparse.Namespace(**values)


def test_no_ports_gives_a_clean_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(devices, "list_serial_ports", list)
    assert devices.run(_args()) == 0
    assert "No serial ports found" in capsys.readouterr().out
    assert devices.run(_args(json=True)) == 0
    assert json.loads(capsys.readouterr().out) == {"ports": []}
    assert devices.run(_args(probe=True)) == 0
    assert "No serial ports found" in capsys.readouterr().out


def test_table_marks_likely_devices(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ports = [
        SerialPortInfo(
            "/dev/ttyACM0", "spasmwatch v1", 0x2E8A, 0x000A, "E661", None, None, "yes", "named"
        ),
        SerialPortInfo(
            "/dev/ttyUSB0", "CP2102", 0x10C4, 0xEA60, "0001", None, None, "maybe", "Silicon Labs"
        ),
        SerialPortInfo("/dev/ttyS0", "", None, None, None, None, None, "no", ""),
    ]
    monkeypatch.setattr(devices, "list_serial_ports", lambda: ports)
    assert devices.run(_args()) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["PORT", "USB", "ID", "SERIAL", "DESCRIPTION", "SPASMWATCH?"]
    assert lines[1].startswith("/dev/ttyACM0")
    assert "2e8a:000a" in lines[1]
    assert lines[1].rstrip().endswith("yes")
    assert "maybe: Silicon Labs" in lines[2]
    assert lines[3].rstrip().endswith("-")


def test_bad_timeout_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--timeout"):
        devices.run(_args(timeout=0.0))
    with pytest.raises(ConfigError, match="--ble-timeout must be a positive number"):
        devices.run(_args(no_ble=False, ble_timeout=-1.0))


# -- Bluetooth LE: bleak's BleakScanner on the virtual radio -------------------------------

SERIAL_PORT = SerialPortInfo(
    "/dev/ttyACM0", "spasmwatch v1", 0x2E8A, 0x000A, "E661", None, None, "yes", "named"
)


@pytest.fixture
async def radio() -> AsyncIterator[VirtualRadio]:
    radio = VirtualRadio()
    yield radio
    await radio.close()


async def start_wearable(
    radio: VirtualRadio, known_factory: Any, device_id: int, **kwargs: Any
) -> BleWearable:
    device = SimulatedDevice(
        builtin_scenario("quick"), DeviceConfig(device_id=device_id), body_factory=known_factory()
    )
    wearable = BleWearable(device, radio, speed=1.0, **kwargs)
    await wearable.start()
    return wearable  # the radio stops it


async def start_heart_rate_strap(radio: VirtualRadio) -> VirtualPeripheral:
    service = gatt.Service(
        uuid16(0x180D),
        [
            gatt.Characteristic(
                uuid16(0x2A37),
                gatt.Characteristic.Properties.NOTIFY,
                gatt.Characteristic.Permissions(0),
                b"",
            )
        ],
    )
    strap = VirtualPeripheral(
        radio,
        name="HRM-Pro",
        address="C2:00:00:00:0B:0B",
        services=[service],
        advertised_uuids=[uuid16(0x180D)],
    )
    await strap.start()
    return strap


async def test_wearables_in_range_are_listed_with_the_url_to_use(
    radio: VirtualRadio,
    known_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = await start_wearable(radio, known_factory, 0x1A2B)
    second = await start_wearable(radio, known_factory, 0x3C4D)
    strap = await start_heart_rate_strap(radio)
    monkeypatch.setattr(devices, "list_serial_ports", lambda: [SERIAL_PORT])
    args = _args(no_ble=False, ble_timeout=0.3, json=True)

    assert await devices.run_async(args, scanner_backend=radio.scanner_backend) == 0
    report = json.loads(capsys.readouterr().out)
    assert [p["path"] for p in report["ports"]] == ["/dev/ttyACM0"]
    ble = report["ble"]
    assert (ble["timeout_s"], ble["error"]) == (0.3, None)
    heard = {d["name"]: d for d in ble["devices"]}
    assert set(heard) == {first.name, second.name}  # wearables only, not the strap
    for wearable in (first, second):
        entry = heard[wearable.name]
        assert entry["address"] == wearable.address
        assert entry["url"] == f"ble://{wearable.name}"
        assert entry["rssi"] < 0

    args.json = False
    assert await devices.run_async(args, scanner_backend=radio.scanner_backend) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[0] == "PORT"
    assert lines[1].startswith("/dev/ttyACM0")
    start = lines.index("Bluetooth LE wearables (spasmwatch service, 0.3 s scan):")
    assert lines[start + 1].split() == ["NAME", "ADDRESS", "RSSI", "URL"]
    rows = {line.split()[0]: line.split() for line in lines[start + 2 :]}
    assert set(rows) == {first.name, second.name}
    for wearable in (first, second):
        entry = heard[wearable.name]
        assert rows[wearable.name] == [
            wearable.name,
            wearable.address,
            str(entry["rssi"]),
            "dBm",
            f"ble://{wearable.name}",
        ]
    assert strap.name not in "\n".join(lines)


async def test_the_listed_url_reaches_that_wearable(
    radio: VirtualRadio,
    known_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await start_wearable(radio, known_factory, 0x1111)
    wanted = await start_wearable(radio, known_factory, 0x2222)
    monkeypatch.setattr(devices, "list_serial_ports", list)
    args = _args(no_ble=False, ble_timeout=0.3, json=True)
    assert await devices.run_async(args, scanner_backend=radio.scanner_backend) == 0
    (url,) = [
        d["url"]
        for d in json.loads(capsys.readouterr().out)["ble"]["devices"]
        if d["name"] == wanted.name
    ]
    transport = BleTransport.from_url(
        url, client_backend=radio.client_backend, scanner_backend=radio.scanner_backend
    )
    async with transport:
        assert transport.address == wanted.address
    assert wanted.connections == 1


async def test_wearables_sharing_a_name_are_listed_by_address(
    radio: VirtualRadio,
    known_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    twins = [
        await start_wearable(radio, known_factory, device_id, name="spasmwatch-7777")
        for device_id in (0x0001_7777, 0x0002_7777)
    ]
    monkeypatch.setattr(devices, "list_serial_ports", list)
    args = _args(no_ble=False, ble_timeout=0.3, json=True)
    assert await devices.run_async(args, scanner_backend=radio.scanner_backend) == 0
    heard = json.loads(capsys.readouterr().out)["ble"]["devices"]
    assert {d["address"]: d["url"] for d in heard} == {
        twin.address: ble_url(twin.address) for twin in twins
    }
    assert all(d["name"] == "spasmwatch-7777" for d in heard)
    assert BleTransport.from_url(heard[0]["url"]).target == heard[0]["address"]


async def test_nothing_heard_says_what_to_check(
    radio: VirtualRadio, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await start_heart_rate_strap(radio)
    monkeypatch.setattr(devices, "list_serial_ports", list)
    args = _args(no_ble=False, ble_timeout=0.2)
    assert await devices.run_async(args, scanner_backend=radio.scanner_backend) == 0
    out = capsys.readouterr().out
    assert "No serial ports found" in out
    assert "No spasmwatch wearable heard over Bluetooth LE in 0.2 s" in out
    assert "switched on" in out


def failing_scanner(error: BaseException) -> type[BaseBleakScanner]:
    """A bleak scanner backend whose start fails as the platform's does without Bluetooth."""

    class Failing(BaseBleakScanner):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(None, None)

        async def start(self) -> None:
            raise error

        async def stop(self) -> None:
            return None

    return Failing


_NOT_AVAILABLE = BleakBluetoothNotAvailableReason


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            BleakBluetoothNotAvailableError(
                "No Bluetooth adapters found.", _NOT_AVAILABLE.NO_BLUETOOTH
            ),
            "Bluetooth is not available (no bluetooth): this computer has no Bluetooth adapter",
        ),
        (
            BleakBluetoothNotAvailableError("Turn on Bluetooth", _NOT_AVAILABLE.POWERED_OFF),
            "Bluetooth is not available (powered off): switch the Bluetooth adapter on",
        ),
        (
            BleakBluetoothNotAvailableError("denied", _NOT_AVAILABLE.DENIED_BY_USER),
            "Bluetooth is not available (denied by user): allow this program",
        ),
        (
            BleakDBusError(
                "org.freedesktop.DBus.Error.ServiceUnknown",
                ["The name org.bluez was not provided by any .service files"],
            ),
            "Bluetooth is not available (the BlueZ service is not running)",
        ),
        (
            # What bleak's BlueZ backend raises when there is no D-Bus system bus socket.
            FileNotFoundError(2, "No such file or directory"),
            "Bluetooth is not available (BlueZ cannot be reached over the D-Bus system bus"
            if sys.platform.startswith("linux")
            else "Bluetooth scan failed: FileNotFoundError",
        ),
    ],
)
async def test_no_bluetooth_is_one_line_and_serial_ports_are_still_listed(
    error: BaseException,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(devices, "list_serial_ports", lambda: [SERIAL_PORT])
    backend = failing_scanner(error)
    assert await devices.run_async(_args(no_ble=False), scanner_backend=backend) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[1].startswith("/dev/ttyACM0")
    (ble_line,) = [line for line in lines if "Bluetooth" in line]
    assert ble_line.startswith(f"Bluetooth LE: not scanned: {expected}")
    assert "Traceback" not in out + err

    assert await devices.run_async(_args(no_ble=False, json=True), scanner_backend=backend) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ports"][0]["path"] == "/dev/ttyACM0"
    assert report["ble"]["devices"] == []
    assert report["ble"]["error"].startswith(expected)


async def test_no_ble_never_creates_a_scanner(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Forbidden(BaseBleakScanner):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise AssertionError("--no-ble must not scan")

    monkeypatch.setattr(devices, "list_serial_ports", lambda: [SERIAL_PORT])
    assert await devices.run_async(_args(json=True), scanner_backend=Forbidden) == 0
    assert "ble" not in json.loads(capsys.readouterr().out)
    assert await devices.run_async(_args(), scanner_backend=Forbidden) == 0
    assert "Bluetooth" not in capsys.readouterr().out


async def test_scan_runs_while_the_ports_are_probed(
    radio: VirtualRadio,
    known_factory: Any,
    silent: IdentifyResponder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wearable = await start_wearable(radio, known_factory, 0x1A2B)
    args = _args(no_ble=False, ble_timeout=0.5, port=[silent.path], timeout=0.5, json=True)
    started = asyncio.get_running_loop().time()
    assert await devices.run_async(args, scanner_backend=radio.scanner_backend) == 0
    elapsed = asyncio.get_running_loop().time() - started
    report = json.loads(capsys.readouterr().out)
    entry = next(p for p in report["ports"] if p["path"] == silent.path)
    assert "no DEVICE_INFO answer" in entry["probe_error"]
    assert [d["name"] for d in report["ble"]["devices"]] == [wearable.name]
    assert elapsed < 0.95  # 0.5 s probe and 0.5 s scan side by side, not one after the other
