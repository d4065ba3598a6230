"""A device speaking another protocol version: one clear report, not silent error counts."""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from host.errors import UnsupportedVersionError
from host.pipeline.hub import LiveHub
from host.pipeline.pipeline import Pipeline
from host.protocol import (
    PROTOCOL_VERSION,
    Frame,
    SamplesFrame,
    cobs_encode,
    crc32,
    encode_payload,
)
from host.simulator.ble import BleWearable, VirtualRadio
from host.simulator.device import DeviceConfig, SimulatedDevice
from host.simulator.scenario import builtin_scenario
from host.storage import RecordingStore
from host.transports import open_transport
from host.transports.ble import BleTransport


def encode_as(frame: Frame, version: int) -> bytes:
    """Encode a frame as a device speaking protocol ``version`` would (CRC and all)."""
    payload = encode_payload(frame)
    if version != PROTOCOL_VERSION:
        body = bytes([version]) + payload[1:-4]
        payload = body + struct.pack("<I", crc32(body))
    return cobs_encode(payload) + b"\x00"


def write_capture(
    path: Path, known_factory: Any, seconds: float, version_of: Callable[[Frame, int], int]
) -> dict[str, int]:
    """Write ``seconds`` of the simulated wearable's frames, each in the version chosen.

    ``version_of(frame, k)`` gets every frame and the number of SAMPLES frames before it.
    Returns how many frames and EMG sample times went out in another version.
    """
    device = SimulatedDevice(
        builtin_scenario("quick"), autostart=True, body_factory=known_factory()
    )
    other = {"frames": 0, "samples": 0}
    n_samples_frames = 0
    with open(path, "wb") as fh:
        frames = device.take_pending()
        while device.scenario_time_s < seconds:
            for frame in frames:
                version = version_of(frame, n_samples_frames)
                if isinstance(frame, SamplesFrame):
                    n_samples_frames += 1
                    if version != PROTOCOL_VERSION:
                        other["samples"] += frame.n_times
                if version != PROTOCOL_VERSION:
                    other["frames"] += 1
                fh.write(encode_as(frame, version))
            frames = device.step()
    return other


def spasmwatch(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPASMWATCH_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "host.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


@pytest.mark.parametrize(
    ("version", "fix"),
    [
        (2, "update spasmwatch on this computer"),
        (0, "update the wearable's firmware"),
    ],
)
def test_run_reports_the_version_once_and_stops(
    tmp_path: Path, known_factory: Any, version: int, fix: str
) -> None:
    capture = tmp_path / "newer.sw1"
    other = write_capture(capture, known_factory, 5.0, lambda frame, k: version)
    assert other["frames"] > 100
    result = spasmwatch(tmp_path, "run", "--source", f"replay://{capture}")
    assert result.returncode == 2  # an error, not a session that ended well
    said = f"speaks version {version} of the spasmwatch wire protocol"
    output = result.stdout + result.stderr
    assert output.count(said) == 1, output  # once, not once per frame
    (line,) = [line for line in result.stderr.splitlines() if said in line]
    assert line.startswith("spasmwatch run: error: the device at replay://")
    assert f"this host speaks version {PROTOCOL_VERSION}" in line
    assert fix in line
    assert "recording stopped" in line
    assert "Traceback" not in output
    with RecordingStore.open(tmp_path / "default.sqlite3", readonly=True) as store:
        assert store.list_sessions() == []  # nothing decodable, nothing recorded


async def test_pipeline_stops_at_once_and_says_why(tmp_path: Path, known_factory: Any) -> None:
    capture = tmp_path / "v2.sw1"
    write_capture(capture, known_factory, 5.0, lambda frame, k: 2)
    hub = LiveHub()
    sub = hub.subscribe(maxlen=1000)
    pipeline = Pipeline(
        open_transport(f"replay://{capture}"),
        open_store=lambda: RecordingStore.open(tmp_path / "w.sqlite3"),
        hub=hub,
    )
    with pytest.raises(UnsupportedVersionError) as info:
        await pipeline.run()
    message = str(info.value)
    assert "speaks version 2 of the spasmwatch wire protocol" in message
    assert f"this host speaks version {PROTOCOL_VERSION}" in message
    assert pipeline.summary.stop_reason == f"error: {message}"
    # It stopped at the first such frame, not after counting them all.
    assert pipeline.summary.extra["unsupported_version_frames"] == 1
    assert pipeline.summary.extra["device_protocol_version"] == 2
    sub.close()
    links = [m.payload async for m in sub if m.topic == "link"]
    reports = [m for m in links if m["kind"] == "unsupported protocol version"]
    assert len(reports) == 1
    assert (reports[0]["received_version"], reports[0]["supported_version"]) == (2, 1)


async def test_frames_of_another_version_among_good_ones_are_reported_once(
    tmp_path: Path, known_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    capture = tmp_path / "mixed.sw1"

    def every_37th_samples_frame(frame: Frame, k: int) -> int:
        return 3 if isinstance(frame, SamplesFrame) and k % 37 == 36 else PROTOCOL_VERSION

    other = write_capture(capture, known_factory, 30.0, every_37th_samples_frame)
    assert other["frames"] >= 10
    hub = LiveHub()
    sub = hub.subscribe(maxlen=100_000)
    path = tmp_path / "w.sqlite3"
    with caplog.at_level(logging.WARNING, logger="host.pipeline"):
        summary = await Pipeline(
            open_transport(f"replay://{capture}"),
            open_store=lambda: RecordingStore.open(path),
            hub=hub,
            detect=False,
        ).run()
    assert summary.stop_reason == "end of stream"
    reports = [r for r in caplog.records if "wire protocol" in r.getMessage()]
    assert len(reports) == 1
    assert reports[0].levelno == logging.ERROR
    assert "speaks version 3 of the spasmwatch wire protocol" in reports[0].getMessage()
    assert "the others are recorded" in reports[0].getMessage()
    assert summary.extra["unsupported_version_frames"] == other["frames"]
    sub.close()
    kinds = [m.payload["kind"] async for m in sub if m.topic == "link"]
    assert kinds.count("unsupported protocol version") == 1
    # What decoded is recorded; the dropped frames are gaps of their exact length.
    assert summary.missing_samples == other["samples"]
    with RecordingStore.open(path, readonly=True) as store:
        (session,) = store.list_sessions()
        assert session.status == "stopped"
        assert sum(g.n_samples for g in store.gaps(session.id)) == other["samples"]


# -- live: the virtual BLE wearable with another protocol version ----------------------------


@pytest.fixture
async def radio() -> AsyncIterator[VirtualRadio]:
    radio = VirtualRadio()
    yield radio
    await radio.close()


async def test_ble_wearable_of_another_version_stops_the_run(
    radio: VirtualRadio, known_factory: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    device = SimulatedDevice(
        builtin_scenario("quick"), DeviceConfig(device_id=0x2222), body_factory=known_factory()
    )
    wearable = BleWearable(device, radio, speed=1.0, protocol_version=2)
    await wearable.start()
    transport = BleTransport(
        wearable.name,
        client_backend=radio.client_backend,
        scanner_backend=radio.scanner_backend,
        scan_timeout_s=2.0,
    )
    pipeline = Pipeline(transport, open_store=lambda: RecordingStore.open(tmp_path / "w.sqlite3"))
    started = asyncio.get_running_loop().time()
    with (
        caplog.at_level(logging.WARNING),
        pytest.raises(UnsupportedVersionError, match="speaks version 2 of the spasmwatch"),
    ):
        await asyncio.wait_for(pipeline.run(), 10.0)
    assert asyncio.get_running_loop().time() - started < 5.0
    assert f"ble://{wearable.name}" in pipeline.summary.stop_reason
    assert not [r for r in caplog.records if "wire protocol" in r.getMessage()]  # raised only
    assert not transport.is_connected  # the link was let go
    with RecordingStore.open(tmp_path / "w.sqlite3", readonly=True) as store:
        assert store.list_sessions() == []
