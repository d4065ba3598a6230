"""``spasmwatch devices``: listing (subprocess and in-process) and probing a pseudo-terminal."""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import threading
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from host.cli import devices, main
from host.protocol import Command, CommandFrame, DeviceInfoFrame, StreamDecoder, encode_frame
from host.transports import SerialPortInfo

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
    result = spasmwatch("devices", "--json")
    assert result.returncode == 0, result.stderr
    ports = json.loads(result.stdout)["ports"]
    assert isinstance(ports, list)
    for port in ports:
        assert {"path", "description", "vid_pid", "serial_number", "likely_spasmwatch"} <= set(port)


def test_probe_a_port_prints_its_device_info(
    responder: IdentifyResponder, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_in_process(capsys, "devices", "--port", responder.path, "--json")
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
    status, out, err = run_in_process(capsys, "devices", "--probe", "--port", responder.path)
    assert status == 0, err
    assert "PORT" in out
    assert "-> spasmwatch: pty-probe, firmware 0.9.1" in out
    assert "2000 Hz, 2 channels (L_ES, R_ES)" in out


def test_probe_of_a_silent_port_reports_no_answer(
    silent: IdentifyResponder, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_in_process(
        capsys, "devices", "--port", silent.path, "--timeout", "0.2", "--json"
    )
    assert status == 0, err
    entry = next(p for p in json.loads(out)["ports"] if p["path"] == silent.path)
    assert "no DEVICE_INFO answer" in entry["probe_error"]
    assert "device_info" not in entry


def test_probe_of_a_missing_port_reports_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "ttyACM7")
    status, out, err = run_in_process(capsys, "devices", "--port", missing, "--json")
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
    from host.errors import ConfigError

    with pytest.raises(ConfigError, match="--timeout"):
        devices.run(_args(timeout=0.0))
