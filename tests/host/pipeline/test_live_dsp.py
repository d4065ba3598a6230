"""Live dsp on decoded frames: volts, cleaning, quality, resets at gaps, spasm detection."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest

from host.errors import ConfigError
from host.pipeline.live_dsp import MAX_GAP_S, LiveDsp, channel_sides, episode_record
from host.protocol import (
    AccelFrame,
    DeviceInfoFrame,
    FrameType,
    SampleGap,
    SamplesFrame,
    StreamDecoder,
    StreamRestart,
    encode_frame,
)
from host.simulator.device import DeviceConfig, SimulatedDevice
from host.simulator.scenario import TruthEvent, builtin_scenario


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


# ---------------------------------------------------------------------- spasm detection


def stream_quick(
    seconds: float,
    *,
    lost_s: tuple[float, float] | None = None,
    jump_s: tuple[float, float] | None = None,
) -> tuple[LiveDsp, list[dict[str, Any]], list[SampleGap]]:
    """Stream the quick scenario into a LiveDsp through the decoder, ticking every second.

    ``lost_s = (a, b)`` drops every SAMPLES and ACCEL frame starting in ``a <= t < b``
    (a cable pull); ``jump_s = (at, by)`` moves every frame from ``at`` on ``by`` seconds
    later on the device's time line (a long silent stretch).
    """
    device = SimulatedDevice(builtin_scenario("quick"), DeviceConfig(), seed=1, autostart=True)
    cfg = device.config
    decoder = StreamDecoder()
    live: LiveDsp | None = None
    ticks: list[dict[str, Any]] = []
    gaps: list[SampleGap] = []
    frames = device.take_pending()
    steps_per_tick = round(1.0 / device.frame_period_s)
    for step in range(round(seconds / device.frame_period_s)):
        frames += device.step()
        for frame in frames:
            if isinstance(frame, SamplesFrame | AccelFrame):
                rate = cfg.emg_sfreq if isinstance(frame, SamplesFrame) else cfg.accel_sfreq
                t = frame.first_sample / rate
                if lost_s is not None and lost_s[0] <= t < lost_s[1]:
                    continue
                if jump_s is not None and t >= jump_s[0]:
                    moved = frame.first_sample + round(jump_s[1] * rate)
                    frame = dataclasses.replace(frame, first_sample=moved)
            for item in decoder.feed(encode_frame(frame)):
                if isinstance(item, DeviceInfoFrame) and live is None:
                    live = LiveDsp.for_device(item)
                if isinstance(item, SampleGap):
                    gaps.append(item)
                if live is not None:
                    live.observe(item)
        frames = []
        if live is not None and step % steps_per_tick == steps_per_tick - 1:
            ticks.append(live.tick())
    assert live is not None
    return live, ticks, gaps


def scripted(kind: str) -> TruthEvent:
    (event,) = (
        e
        for e in builtin_scenario("quick").truth()
        if e.category == "contraction" and e.kind == kind
    )
    return event


def strict_json(value: object) -> str:
    return json.dumps(value, allow_nan=False)  # raises on NaN or a non-JSON type


def test_a_gap_mid_spasm_keeps_later_episodes_on_time() -> None:
    tonic, cramp = scripted("tonic"), scripted("cramp")
    lost = (tonic.onset_s + 3.0, tonic.onset_s + 4.0)  # a 1 s cable pull inside the spasm
    live, ticks, gaps = stream_quick(cramp.offset_s + 2.5, lost_s=lost)
    emg_gaps = [g for g in gaps if g.frame_type is FrameType.SAMPLES]
    assert [g.n_missing for g in emg_gaps] == [round((lost[1] - lost[0]) * live.sfreq)]
    assert live.analyses == 1  # a short gap is filled, not restarted from
    reported = [e for t in ticks for e in t["episodes"]]
    assert reported == [episode_record(e) for e in live.episodes]  # each reported once
    strict_json(ticks)

    # The spasm goes on after the pull: its second part is found, on the left, at rest.
    after = [
        e
        for e in reported
        if e["involuntary"] and e["side"] == "left" and e["end_s"] > lost[1] + 1.0
    ]
    assert after
    assert abs(after[0]["end_s"] - tonic.offset_s) < 0.5
    # The cramp 35 s after the gap is on the device's time line to within 0.5 s.
    (found,) = (e for e in reported if e["start_s"] < cramp.offset_s and e["end_s"] > cramp.onset_s)
    assert (found["side"], found["involuntary"]) == ("right", True)
    assert abs(found["start_s"] - cramp.onset_s) < 0.5
    assert abs(found["end_s"] - cramp.offset_s) < 0.5
    # While it lasted, the status said an involuntary contraction was in progress.
    suspected = [t["detector"] for t in ticks if t["detector"]["suspected_involuntary"]]
    assert any(s["side"] == "right" and s["held_s"] >= 3.0 for s in suspected)
    assert all(cramp.onset_s - 1.0 < s["onset_s"] for s in suspected if s["side"] == "right")


def test_a_gap_longer_than_the_limit_restarts_the_analysis_on_the_same_time_line() -> None:
    cramp = scripted("cramp")
    jump = (25.0, MAX_GAP_S + 60.0)  # the device is silent for 11 minutes at 25 s
    live, ticks, gaps = stream_quick(cramp.offset_s + 2.5, jump_s=jump)
    assert any(g.n_missing > MAX_GAP_S * live.sfreq for g in gaps)
    assert live.analyses == 2
    assert live.resets >= 1
    episodes = [e for t in ticks for e in t["episodes"]]
    strict_json(ticks)
    onset, offset = cramp.onset_s + jump[1], cramp.offset_s + jump[1]
    (found,) = (e for e in episodes if e["start_s"] < offset and e["end_s"] > onset)
    assert (found["side"], found["involuntary"]) == ("right", True)
    assert abs(found["start_s"] - onset) < 0.5
    assert live.stream_time_s == pytest.approx(cramp.offset_s + 2.5 + jump[1], abs=0.1)


def test_a_stream_restart_closes_the_contraction_in_progress() -> None:
    tonic = scripted("tonic")
    live, ticks, _ = stream_quick(tonic.onset_s + 5.0)
    state = ticks[-1]["detector"]
    assert state["contraction"]
    assert state["side"] == "left"
    assert not [e for t in ticks for e in t["episodes"] if e["involuntary"]]
    live.observe(StreamRestart("sequence"))
    assert live.analyzer is None
    tick = live.tick()
    assert tick["detector"]["contraction"] is False
    (closed,) = (e for e in tick["episodes"] if e["side"] == "left")
    assert abs(closed["start_s"] - tonic.onset_s) < 1.0
    assert closed["end_s"] == pytest.approx(tonic.onset_s + 5.0, abs=1.0)
    assert live.finish() == []  # nothing left to report


@pytest.mark.parametrize(
    ("names", "sides"),
    [
        (("EMG L", "EMG R"), ("left", "right")),
        (("R_ES", "L_ES"), ("right", "left")),
        (("EMG1", "EMG right"), ("left", "right")),
        (("EMG left", "EMG2"), ("left", "right")),
        (("ch0", "ch1"), ("left", "right")),
        (("EMG R",), ("right",)),
        (("a", "b", "c"), None),
    ],
)
def test_channel_sides_from_names(names: tuple[str, ...], sides: tuple[str, ...] | None) -> None:
    assert channel_sides(names) == sides


def test_without_a_usable_channel_layout_only_the_status_runs() -> None:
    info = DeviceInfoFrame(
        seq=0,
        timestamp_us=0,
        firmware_version=(1, 0, 0),
        device_id=1,
        emg_sfreq=1000.0,
        channel_names=("EMG 1", "EMG 2", "EMG 3"),
        adc_bits=16,
        adc_bipolar=True,
        vref_v=2.4,
        gain=1000.0,
    )
    live = LiveDsp(info)
    rng = np.random.default_rng(0)
    counts = rng.integers(-100, 100, size=(3, 50)).astype(np.int32)
    live.observe(SamplesFrame(seq=1, timestamp_us=0, first_sample=0, counts=counts))
    tick = live.tick()
    assert (tick["detector"], tick["episodes"], live.analyzer) == (None, [], None)
    assert set(tick["envelope_uv"]) == set(info.channel_names)


def decoded_quick(seconds: float, lost_s: tuple[float, float]) -> list[Any]:
    """The quick scenario's decoded items, with the frames of ``lost_s`` dropped."""
    device = SimulatedDevice(builtin_scenario("quick"), DeviceConfig(), seed=1, autostart=True)
    decoder = StreamDecoder()
    items: list[Any] = []
    frames = device.take_pending()
    for _ in range(round(seconds / device.frame_period_s)):
        frames += device.step()
        for frame in frames:
            if isinstance(frame, SamplesFrame | AccelFrame):
                rate = 1000.0 if isinstance(frame, SamplesFrame) else 100.0
                if lost_s[0] <= frame.first_sample / rate < lost_s[1]:
                    continue
            items.extend(decoder.feed(encode_frame(frame)))
        frames = []
    return items


def run_items(items: list[Any], **kwargs: Any) -> tuple[LiveDsp, dict[str, Any]]:
    live: LiveDsp | None = None
    for item in items:
        if isinstance(item, DeviceInfoFrame) and live is None:
            live = LiveDsp(item, **kwargs)
        if live is not None:
            live.observe(item)
    assert live is not None
    live.finish()
    return live, live.tick()


def test_block_length_changes_neither_episodes_nor_status() -> None:
    items = decoded_quick(90.0, lost_s=(69.5, 69.8))
    short, _ = run_items(items, block_s=0.5)
    long, _ = run_items(items, block_s=2.0)
    assert [episode_record(e) for e in short.episodes] == [episode_record(e) for e in long.episodes]
    assert any(e.involuntary for e in short.episodes)
    # Without the detector, the status front end buffers the EMG too.
    fine, fine_tick = run_items(items, detect=False, block_s=0.05)
    coarse, coarse_tick = run_items(items, detect=False, block_s=2.0)
    assert fine.resets == coarse.resets == 1
    assert fine_tick["envelope_uv"] == coarse_tick["envelope_uv"]
    assert fine_tick["envelope_uv"]["EMG L"] > 0
    assert fine_tick["quality"] == coarse_tick["quality"]
    assert fine.mains_freq == coarse.mains_freq == 50.0


@pytest.mark.parametrize("block_s", [0.0, -1.0, 60.0])
def test_block_length_out_of_range(block_s: float) -> None:
    info = next(i for i in decoded_quick(0.1, lost_s=(0, 0)) if isinstance(i, DeviceInfoFrame))
    with pytest.raises(ConfigError, match="block_s must be in"):
        LiveDsp(info, block_s=block_s)
