"""The in-process simulated wearable (sim://) and capture replay (replay://)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from host.errors import TransportError
from host.protocol import (
    AccelFrame,
    DeviceInfoFrame,
    FrameType,
    SampleGap,
    SamplesFrame,
    encode_frame,
)
from host.protocol.capture import read_capture
from host.simulator import builtin_scenario
from host.simulator.device import SimulatedDevice
from host.transports import LinkEvent, open_transport
from host.transports.replay import ReplayTransport
from host.transports.sim import SimTransport

QUICK_S = builtin_scenario("quick").duration_s


async def test_sim_streams_the_whole_scenario_in_order_without_loss() -> None:
    start = 1_700_000_000.0
    samples = 0
    expected_next = 0
    arrivals: list[float] = []
    kinds: list[str] = []
    async with SimTransport("quick", speed=0, start_utc_s=start, clock_ppm=150.0) as sim:
        async for item in sim:
            if isinstance(item, LinkEvent):
                kinds.append(item.kind)
            if isinstance(item, SamplesFrame):
                assert item.first_sample == expected_next
                expected_next += item.counts.shape[1]
                samples += item.counts.shape[1]
                arrivals.append(sim.last_arrival_utc_s)
    assert samples == round(QUICK_S * 1000.0)
    assert kinds == ["connected", "disconnected"]
    assert sim.stats.frames_lost == 0
    assert sim.link.items_dropped == 0
    assert sim.device_info is not None
    diffs = np.diff(arrivals)
    assert np.all(diffs > 0)
    # A fast crystal (+150 ppm) makes 50 device samples take less than 50 ms of true time.
    assert float(np.median(diffs)) == pytest.approx(0.05 / (1 + 150e-6), abs=1e-6)
    assert arrivals[0] - start == pytest.approx(0.05 / (1 + 150e-6) + 0.002, abs=1e-6)


async def test_sim_at_full_speed_never_drops_with_a_tiny_queue() -> None:
    accel = 0
    async with SimTransport("quick", speed=0, queue_size=4) as sim:
        async for item in sim:
            if isinstance(item, AccelFrame):
                accel += item.counts.shape[1]
    assert sim.link.items_dropped == 0
    assert accel == round(QUICK_S * 100.0)


async def test_sim_url_and_commands() -> None:
    transport = open_transport("sim://quick?speed=0&seed=3&clock_ppm=-50&loop=0")
    assert isinstance(transport, SimTransport)
    assert transport.url == "sim://quick?speed=0&seed=3"
    with pytest.raises(TransportError, match="not open"):
        await transport.send_command(__import__("host.protocol").protocol.Command.STATUS)
    async with transport:
        assert transport.device is not None
        assert transport.device.streaming
        assert transport.device.config.clock_ppm == -50.0


def _write_capture(path: Path, seconds: float, drop_every: int = 0) -> int:
    """Write a capture of the quick scenario; drop every n-th SAMPLES frame if asked."""
    device = SimulatedDevice(builtin_scenario("quick"), autostart=True)
    dropped = 0
    n_samples = 0
    with open(path, "wb") as fh:
        frames = device.take_pending()
        while device.scenario_time_s < seconds:
            for frame in frames:
                if isinstance(frame, SamplesFrame):
                    n_samples += 1
                    if drop_every and n_samples % drop_every == 0:
                        dropped += frame.counts.shape[1]
                        continue
                fh.write(encode_frame(frame))
            frames = device.step()
    return dropped


async def test_replay_gives_what_read_capture_reads(tmp_path: Path) -> None:
    path = tmp_path / "quick.sw1"
    dropped = _write_capture(path, 30.0, drop_every=97)
    reference = read_capture(path)
    blocks: dict[int, np.ndarray] = {}
    gaps = 0
    async with open_transport(f"replay://{path}") as replay:
        assert isinstance(replay, ReplayTransport)
        async for item in replay:
            if isinstance(item, SamplesFrame):
                blocks[item.first_sample] = item.counts
                assert math.isnan(replay.last_arrival_utc_s)
            elif isinstance(item, SampleGap) and item.frame_type == FrameType.SAMPLES:
                gaps += item.n_missing
            elif isinstance(item, DeviceInfoFrame):
                info = item
    assert replay.progress == 1.0
    assert gaps == dropped > 0
    n = reference.emg_v.shape[1]
    counts = np.full((2, n), np.nan)
    for first, block in blocks.items():
        counts[:, first : first + block.shape[1]] = block
    np.testing.assert_array_equal(counts * info.volts_per_count, reference.emg_v)


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.sw1", "cannot replay"), ("data.edf", "expected a capture file ending in .sw1")],
)
async def test_replay_errors_name_the_file(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(Exception, match=message) as info:
        async with ReplayTransport(tmp_path / name):
            pass
    assert name in str(info.value)
