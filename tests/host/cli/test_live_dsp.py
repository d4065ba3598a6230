"""Live dsp on decoded frames: volts, cleaning, quality, and resets at gaps."""

from __future__ import annotations

from typing import Any

import numpy as np

from host.cli.live_dsp import LiveDsp
from host.protocol import DeviceInfoFrame, SampleGap, SamplesFrame, StreamDecoder, encode_frame
from host.simulator.device import DeviceConfig, SimulatedDevice
from host.simulator.scenario import builtin_scenario


def run_device(seconds: float, drop_every: int = 0) -> tuple[LiveDsp, list[dict[str, Any]], int]:
    device = SimulatedDevice(builtin_scenario("quick"), DeviceConfig(), seed=1, autostart=True)
    decoder = StreamDecoder()
    live: LiveDsp | None = None
    ticks: list[dict[str, Any]] = []
    gaps = 0
    frames = device.take_pending()
    n_steps = int(seconds / device.frame_period_s)
    for step in range(n_steps):
        frames += device.step()
        for frame in frames:
            if drop_every and isinstance(frame, SamplesFrame) and frame.seq % drop_every == 0:
                continue
            for item in decoder.feed(encode_frame(frame)):
                if isinstance(item, DeviceInfoFrame) and live is None:
                    live = LiveDsp.for_device(item)
                if isinstance(item, SampleGap):
                    gaps += 1
                if live is not None:
                    live.observe(item)
        frames = []
        if live is not None and step % 20 == 19:
            ticks.append(live.tick())
    assert live is not None
    return live, ticks, gaps


def test_cleans_detects_mains_and_reports_quality() -> None:
    live, ticks, _ = run_device(10.0)
    assert live.mains_freq == 50.0  # the quick scenario's mains
    last = ticks[-1]
    assert set(last["envelope_uv"]) == {"EMG L", "EMG R"}
    # 6-10 s of the quick scenario is a left tonic spasm: left far above right.
    assert last["envelope_uv"]["EMG L"] > 3 * last["envelope_uv"]["EMG R"]
    assert last["quality"] == {"EMG L": "ok", "EMG R": "ok"}
    assert live.resets == 0


def test_every_sample_gap_resets_the_chain() -> None:
    live, ticks, gaps = run_device(6.0, drop_every=37)
    assert gaps > 0
    assert live.resets == gaps
    assert all(
        np.isfinite(list(t["envelope_uv"].values())).all() for t in ticks if t["envelope_uv"]
    )


def test_not_run_below_its_minimum_rate() -> None:
    info = DeviceInfoFrame(
        seq=0,
        timestamp_us=0,
        firmware_version=(1, 0, 0),
        device_id=1,
        emg_sfreq=100.0,
        channel_names=("EMG L", "EMG R"),
        adc_bits=10,
        adc_bipolar=False,
        vref_v=5.0,
        gain=1000.0,
    )
    assert LiveDsp.for_device(info) is None
    assert LiveDsp.for_device(None) is None
