"""The simulated wearable on a real pseudo-terminal, read with pyserial."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import serial

from host.protocol import (
    Command,
    CommandFrame,
    DeviceInfoFrame,
    FrameGap,
    SamplesFrame,
    StreamDecoder,
    encode_frame,
)
from host.simulator.device import SimulatedDevice
from host.simulator.link import LinkFaults
from host.simulator.pty_server import PtyWearable
from host.simulator.scenario import builtin_scenario


@pytest.fixture
def device(known_factory: Any) -> SimulatedDevice:
    return SimulatedDevice(builtin_scenario("quick"), body_factory=known_factory(duration_s=30.0))


def read_some(port: serial.Serial) -> bytes:
    # pyserial's read(n) discards what it had read when the port vanishes mid-call;
    # reading only what is waiting loses nothing.
    return bytes(port.read(max(1, port.in_waiting)))


def read_until(
    port: serial.Serial, decoder: StreamDecoder, n_samples: int, timeout: float = 10.0
) -> list[object]:
    items: list[object] = []
    deadline = time.monotonic() + timeout
    while sum(isinstance(i, SamplesFrame) for i in items) < n_samples:
        assert time.monotonic() < deadline, "timed out waiting for frames"
        items += decoder.feed(read_some(port))
    return items


def start_command(seq: int = 0) -> bytes:
    return b"\x00" + encode_frame(CommandFrame(seq=seq, timestamp_us=0, command=Command.START))


def test_streams_after_start_over_a_real_pty(tmp_path: Path, device: SimulatedDevice) -> None:
    with PtyWearable(device, speed=0, link_path=tmp_path / "wearable") as wearable:
        assert os.path.islink(wearable.path)
        with serial.Serial(wearable.path, timeout=0.05) as port:
            port.write(start_command())
            decoder = StreamDecoder()
            items = read_until(port, decoder, 40)
    assert any(isinstance(i, DeviceInfoFrame) for i in items)
    samples = [i for i in items if isinstance(i, SamplesFrame)]
    assert [s.first_sample for s in samples[:40]] == list(range(0, 2000, 50))
    assert decoder.stats.corrupt_frames == 0
    assert decoder.stats.frames_lost == 0


def test_real_time_pacing(device: SimulatedDevice) -> None:
    with (
        PtyWearable(device, speed=1.0) as wearable,
        serial.Serial(wearable.path, timeout=0.05) as port,
    ):
        port.write(start_command())
        decoder = StreamDecoder()
        read_until(port, decoder, 1)
        t0 = time.monotonic()
        read_until(port, decoder, 20)  # 20 frames of 50 ms
        elapsed = time.monotonic() - t0
    assert 0.7 < elapsed < 1.6


def test_unplug_and_replug_keeps_the_stable_path(tmp_path: Path, device: SimulatedDevice) -> None:
    link = tmp_path / "wearable"
    with PtyWearable(device, speed=4.0, link_path=link) as wearable:
        assert wearable.plugs == 1
        decoder = StreamDecoder()
        with serial.Serial(str(link), timeout=0.05) as port:
            port.write(start_command())
            read_until(port, decoder, 10)
            wearable.unplug(1.0)
            with pytest.raises(serial.SerialException):
                read_until(port, decoder, 10**9, timeout=5.0)
        decoder.discard_partial()
        deadline = time.monotonic() + 5
        while wearable.plugs < 2 or not os.path.exists(link):
            assert time.monotonic() < deadline, "the wearable was never plugged back in"
            time.sleep(0.01)
        with serial.Serial(str(link), timeout=0.05) as port:
            port.write(start_command(seq=1))
            items = read_until(port, decoder, 10)
    gaps = [i for i in items if isinstance(i, FrameGap)]
    assert gaps, "frames made while unplugged must show as a gap"
    assert wearable.injected.unplugs == 1
    assert decoder.stats.frames_lost == wearable.injected.unsent_frames


def test_faults_over_the_pty_are_accounted_exactly(device: SimulatedDevice) -> None:
    faults = LinkFaults(drop=0.05, corrupt=0.05, duplicate=0.02, seed=3)
    wearable = PtyWearable(device, speed=0, faults=faults)  # 30 s scenario = 600 frames
    with wearable, serial.Serial(wearable.path, timeout=0.1) as port:
        port.write(start_command())
        decoder = StreamDecoder()
        items: list[object] = []
        deadline = time.monotonic() + 20
        while True:
            assert time.monotonic() < deadline
            chunk = port.read(65536)
            items += decoder.feed(chunk)
            if not chunk and wearable.finished:
                break
    rec, stats = wearable.injected, decoder.stats
    last_seq = max(i.seq for i in items if isinstance(i, SamplesFrame))
    assert rec.dropped > 10
    assert rec.corrupted > 10
    assert stats.crc_errors + stats.framing_errors == rec.corrupted
    assert stats.frames_lost == sum(seq < last_seq for seq in rec.lost_seqs)
    assert stats.duplicates == rec.duplicated
