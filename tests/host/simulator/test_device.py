"""The simulated wearable's firmware model: framing, ADC, commands, clock."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from host.errors import ConfigError
from host.protocol import (
    AccelFrame,
    Command,
    CommandFrame,
    CommandReplyFrame,
    DeviceInfoFrame,
    Frame,
    ReplyCode,
    SamplesFrame,
    StatusFrame,
    encode_frame,
)
from host.simulator.device import DeviceConfig, SimulatedDevice
from host.simulator.scenario import builtin_scenario

SCENARIO = builtin_scenario("quick")


def make_device(known_factory: Any, **kwargs: object) -> SimulatedDevice:
    duration = float(kwargs.pop("duration_s", 3600.0))  # type: ignore[arg-type]
    amp = float(kwargs.pop("amp_v", 100e-6))  # type: ignore[arg-type]
    config = kwargs.pop("config", DeviceConfig())
    return SimulatedDevice(
        SCENARIO,
        config,
        body_factory=known_factory(duration, amp),
        **kwargs,  # type: ignore[arg-type]
    )


def run_steps(device: SimulatedDevice, n: int) -> list[Frame]:
    out: list[Frame] = []
    for _ in range(n):
        out += device.step()
    return out


def command(c: Command, seq: int = 0, rate_hz: float = 0.0) -> CommandFrame:
    return CommandFrame(seq=seq, timestamp_us=0, command=c, rate_hz=rate_hz)


def test_waits_for_start_then_streams_contiguous_blocks(known_factory: Any) -> None:
    device = make_device(known_factory)
    boot = device.take_pending()
    assert [type(f) for f in boot] == [DeviceInfoFrame]
    assert run_steps(device, 5) == []  # not streaming yet; time still runs
    assert device.time_us == 250_000
    device.handle(command(Command.START, seq=7))
    frames = run_steps(device, 40)  # 2 s
    reply = next(f for f in frames if isinstance(f, CommandReplyFrame))
    assert (reply.request_seq, reply.result) == (7, ReplyCode.OK)
    samples = [f for f in frames if isinstance(f, SamplesFrame)]
    assert len(samples) == 40
    assert [s.first_sample for s in samples] == list(range(0, 2000, 50))
    assert [s.timestamp_us for s in samples] == [250_000 + 50_000 * k for k in range(40)]
    accel = [f for f in frames if isinstance(f, AccelFrame)]
    assert [a.first_sample for a in accel] == list(range(0, 200, 10))
    assert [a.timestamp_us for a in accel] == [250_000 + 100_000 * k for k in range(20)]
    assert sum(isinstance(f, StatusFrame) for f in frames) == 2
    seqs = [f.seq for f in boot + frames]
    assert seqs == list(range(len(seqs)))
    assert all(len(encode_frame(f)) <= 244 for f in frames)


def test_counts_reproduce_the_electrode_volts(known_factory: Any) -> None:
    device = make_device(known_factory, autostart=True)
    samples = [f for f in run_steps(device, 20) if isinstance(f, SamplesFrame)]
    counts = np.concatenate([s.counts for s in samples], axis=1)
    volts = counts * device.config.volts_per_count
    t = np.arange(counts.shape[1]) / 1000.0
    expected = 100e-6 * np.sin(2 * np.pi * 50.0 * t)
    assert np.max(np.abs(volts[0] - expected)) <= device.config.volts_per_count / 2 + 1e-15
    assert np.max(np.abs(volts[1] - expected / 2)) <= device.config.volts_per_count / 2 + 1e-15
    accel = np.concatenate(
        [f.counts for f in run_steps(device, 4) if isinstance(f, AccelFrame)], axis=1
    )
    assert np.all(accel[0] * device.config.accel_g_per_count == 1.0)


def test_clipping_is_flagged_in_status(known_factory: Any) -> None:
    device = make_device(known_factory, autostart=True, amp_v=5e-3)  # beyond the ±1.65 mV range
    frames = run_steps(device, 21)
    counts = np.concatenate([f.counts for f in frames if isinstance(f, SamplesFrame)], axis=1)
    assert counts.max() == 32767
    assert counts.min() == -32768
    statuses = [f for f in frames if isinstance(f, StatusFrame)]
    assert statuses[-1].saturation_mask == 0b11


def test_commands(known_factory: Any) -> None:
    device = make_device(known_factory, autostart=True)
    device.take_pending()
    device.handle(command(Command.START, 1))
    device.handle(command(Command.SET_RATE, 2, rate_hz=123.0))
    device.handle(command(Command.IDENTIFY, 3))
    device.handle(command(Command.STATUS, 4))
    out = device.take_pending()
    replies = [f for f in out if isinstance(f, CommandReplyFrame)]
    assert [(r.request_seq, r.result) for r in replies] == [
        (1, ReplyCode.OK),
        (2, ReplyCode.BAD_ARGUMENT),
        (3, ReplyCode.OK),
        (4, ReplyCode.OK),
    ]
    assert replies[0].message == "already streaming"
    assert "250, 500, 1000, 2000" in replies[1].message
    assert any(isinstance(f, DeviceInfoFrame) for f in out)
    assert any(isinstance(f, StatusFrame) for f in out)


def test_set_rate_restarts_sampling_at_the_new_rate(known_factory: Any) -> None:
    device = make_device(known_factory, autostart=True)
    run_steps(device, 10)
    device.handle(command(Command.SET_RATE, 9, rate_hz=500.0))
    frames = run_steps(device, 4)
    info = next(f for f in frames if isinstance(f, DeviceInfoFrame))
    assert info.emg_sfreq == 500.0
    samples = [f for f in frames if isinstance(f, SamplesFrame)]
    assert [s.first_sample for s in samples] == [0, 50, 100, 150]
    assert samples[1].timestamp_us - samples[0].timestamp_us == 100_000


def test_stop_stops_samples(known_factory: Any) -> None:
    device = make_device(known_factory, autostart=True)
    run_steps(device, 3)
    device.handle(command(Command.STOP, 5))
    assert not any(isinstance(f, SamplesFrame) for f in run_steps(device, 5))


def test_scenario_end_and_loop(known_factory: Any) -> None:
    device = make_device(known_factory, autostart=True, duration_s=1.0)
    frames = run_steps(device, 30)
    assert sum(isinstance(f, SamplesFrame) for f in frames) == 20
    assert device.finished
    assert not device.streaming
    looping = make_device(known_factory, autostart=True, duration_s=1.0, loop=True)
    frames = run_steps(looping, 30)
    samples = [f for f in frames if isinstance(f, SamplesFrame)]
    assert len(samples) == 30
    assert [s.first_sample for s in samples] == list(range(0, 1500, 50))


def test_clock_error_maps_device_time_to_true_time(known_factory: Any) -> None:
    device = make_device(known_factory, config=DeviceConfig(clock_ppm=200.0))
    assert device.true_seconds(1_000_200) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"emg_sfreq": 333.0}, "allowed values"),
        ({"accel_sfreq": 5000.0}, "accel_sfreq"),
        ({"samples_per_frame": 60}, "samples_per_frame"),
        ({"clock_ppm": 5000.0}, "ppm"),
    ],
)
def test_config_errors(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        DeviceConfig(**kwargs)  # type: ignore[arg-type]


def test_same_seed_same_bytes_with_the_real_body() -> None:
    def run(seed: int) -> bytes:
        device = SimulatedDevice(SCENARIO, seed=seed, autostart=True)
        frames = device.take_pending()
        for _ in range(20):
            frames += device.step()
        return b"".join(encode_frame(f) for f in frames)

    assert run(3) == run(3)
    assert run(3) != run(4)
