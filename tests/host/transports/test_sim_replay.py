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
from host.transports.replay import ReplayTransport, merge_sample_runs
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


async def _items(url: str) -> list[object]:
    async with open_transport(url) as replay:
        return [item async for item in replay]


def _samples(items: list[object], kind: type) -> tuple[dict[int, np.ndarray], list[tuple]]:
    blocks = {i.first_sample: i.counts for i in items if type(i) is kind}
    gaps = [
        (i.first_missing_sample, i.n_missing)
        for i in items
        if isinstance(i, SampleGap) and i.frame_type == kind.frame_type
    ]
    return blocks, gaps


def _joined(blocks: dict[int, np.ndarray]) -> np.ndarray:
    return np.concatenate([blocks[k] for k in sorted(blocks)], axis=1)


async def test_full_speed_merges_frames_into_blocks_with_the_same_samples_and_gaps(
    tmp_path: Path,
) -> None:
    path = tmp_path / "quick.sw1"
    _write_capture(path, 20.0, drop_every=31)
    paced = await _items(f"replay://{path}?speed=1000")  # as the device sent it
    merged = await _items(f"replay://{path}?speed=0")
    for kind in (SamplesFrame, AccelFrame):
        few, few_gaps = _samples(merged, kind)
        many, many_gaps = _samples(paced, kind)
        assert few_gaps == many_gaps
        np.testing.assert_array_equal(_joined(few), _joined(many))
        assert len(few) < len(many) / 3
        sizes = [b.shape[1] for b in few.values()]
        assert max(sizes) <= (1000 if kind is SamplesFrame else 100)  # at most 1 s
    # Every other item is there, in the same order.
    others = [type(i) for i in merged if type(i) not in (SamplesFrame, AccelFrame)]
    assert others == [type(i) for i in paced if type(i) not in (SamplesFrame, AccelFrame)]
    assert SampleGap in others


def test_merge_keeps_non_contiguous_frames_apart_and_motion_first() -> None:
    def emg(first: int, seq: int) -> SamplesFrame:
        return SamplesFrame(seq, 0, first, np.zeros((2, 50), np.int32))

    def acc(first: int, seq: int) -> AccelFrame:
        return AccelFrame(seq, 0, first, np.zeros((3, 10), np.int32))

    limits = {SamplesFrame: 1000, AccelFrame: 100}
    out = merge_sample_runs([emg(0, 0), acc(0, 1), emg(50, 2), emg(200, 3)], limits)
    assert [(type(i).__name__, i.first_sample, i.counts.shape[1]) for i in out] == [
        ("AccelFrame", 0, 10),
        ("SamplesFrame", 0, 100),
        ("SamplesFrame", 200, 50),
    ]
    # A sample-index wrap is contiguous.
    wrap = merge_sample_runs([emg(0xFFFFFFFF - 49, 0), emg(0, 1)], limits)
    assert [(i.first_sample, i.counts.shape[1]) for i in wrap] == [(0xFFFFFFFF - 49, 100)]
