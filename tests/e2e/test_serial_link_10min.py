"""Acceptance: ten minutes of 2-channel 1 kHz data over a real pseudo-terminal.

The simulated wearable streams a 600 s scenario at 20x real time through a pty with 1 %
of frames dropped and 0.5 % corrupted; the host reads it with the real SerialTransport
(pyserial). Every injected fault must show up in the host's link statistics, exactly.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from host.protocol import FrameGap, SampleGap, SamplesFrame
from host.simulator.device import SimulatedDevice
from host.simulator.link import LinkFaults
from host.simulator.pty_server import PtyWearable
from host.simulator.scenario import loads_scenario
from host.transports import LinkEvent, SerialTransport

TEN_MINUTES = """
name = "ten_minutes"
[wearer]
seed = 11
[[segment]]
activity = "lying"
duration_s = 150.0
[[segment]]
activity = "sitting"
duration_s = 150.0
[[segment]]
activity = "walking"
duration_s = 150.0
[[segment]]
activity = "standing"
duration_s = 150.0
[[episode]]
kind = "tonic"
side = "left"
start_s = 60.0
duration_s = 20.0
peak_mvc = 0.4
"""


@pytest.mark.slow
async def test_ten_minutes_with_faults_match_exactly() -> None:
    scenario = loads_scenario(TEN_MINUTES, source="ten_minutes")
    assert scenario.duration_s == 600.0
    device = SimulatedDevice(scenario, seed=1)
    faults = LinkFaults(drop=0.01, corrupt=0.005, seed=2026)
    wearable = PtyWearable(device, faults=faults, speed=20.0)
    wearable.start()
    samples = 0
    last_seq = -1
    frame_gaps = sample_gaps = 0
    events: list[LinkEvent] = []
    try:
        async with SerialTransport(wearable.path) as transport:
            started = time.monotonic()
            iterator = transport.__aiter__()
            while True:
                try:
                    item = await asyncio.wait_for(iterator.__anext__(), timeout=1.0)
                except TimeoutError:
                    if wearable.finished:
                        break
                    assert time.monotonic() - started < 120, "the stream stalled"
                    continue
                if isinstance(item, SamplesFrame):
                    samples += item.n_times
                    last_seq = max(last_seq, item.seq)
                elif isinstance(item, FrameGap):
                    frame_gaps += 1
                elif isinstance(item, SampleGap) and item.frame_type == 1:
                    sample_gaps += item.n_missing
                elif isinstance(item, LinkEvent):
                    events.append(item)
            stats, link = transport.stats, transport.link
    finally:
        wearable.stop()
    rec = wearable.injected
    assert wearable.error is None
    lost_before_end = {s for s in rec.lost_seqs if s < last_seq}

    # 600 s x 1000 Hz were made; what arrived plus what is reported missing is all of it.
    assert device.scenario_time_s == pytest.approx(600.0)
    # (Samples in frames lost after the last one that arrived cannot be seen as a gap.)
    trailing = sum(n for seq, n in rec.lost_samples_by_seq.items() if seq > last_seq)
    assert samples + stats.samples_lost + trailing == 600_000
    assert 0.007 < rec.dropped / rec.frames_in < 0.013
    assert 0.003 < rec.corrupted / rec.frames_in < 0.007
    assert stats.frames_lost == len(lost_before_end)
    assert stats.crc_errors + stats.framing_errors == rec.corrupted
    assert stats.samples_lost == sample_gaps == rec.lost_samples - trailing
    assert stats.duplicates == stats.reordered == stats.malformed == stats.unsupported == 0
    assert frame_gaps == stats.gaps
    assert link.items_dropped == 0
    assert link.reconnects == 0
    assert [e.kind for e in events] == ["connected"]
