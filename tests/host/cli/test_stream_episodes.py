"""How ``spasmwatch stream`` shows the spasm detector: episode lines and the live banner."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest

from host.cli import stream
from host.cli.stream import StreamMonitor, format_episode
from host.protocol import DeviceInfoFrame, SamplesFrame, encode_frame
from host.transports import SerialTransport

INFO = DeviceInfoFrame(
    seq=0,
    timestamp_us=0,
    firmware_version=(1, 0, 0),
    device_id=7,
    emg_sfreq=1000.0,
    channel_names=("EMG L", "EMG R"),
    adc_bits=16,
    adc_bipolar=True,
    vref_v=1.65,
    gain=1000.0,
    samples_per_frame=50,
)


def episode(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "start_s": 12.34,
        "end_s": 20.61,
        "duration_s": 8.27,
        "side": "left",
        "involuntary": True,
        "kind": "tonic",
        "activity": "rest",
        "confidence": 0.974,
        "peak": 168.4,
        "unit": "uV",
        "posture_before": "supine",
        "quality_flags": [],
    }
    return record | changes


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "episode 12.3-20.6 s  left  INVOLUNTARY tonic (0.97)  peak 168 uV  at rest"),
        (
            {"involuntary": False, "kind": "voluntary", "activity": "walking", "side": "bilateral"},
            "episode 12.3-20.6 s  bilateral  voluntary (0.97)  peak 168 uV  while walking",
        ),
        (
            {"kind": "twitch", "side": "right", "peak": 20.6},
            "twitch 12.3-20.6 s  right (0.97)  peak 21 uV",
        ),
        (
            {"quality_flags": ["interrupted"], "peak": None, "unit": "%MVC"},
            "episode 12.3-20.6 s  left  INVOLUNTARY tonic (0.97)  at rest  [interrupted]",
        ),
    ],
)
def test_episode_lines(changes: dict[str, Any], expected: str) -> None:
    assert format_episode(episode(**changes)) == expected
    assert stream._human({"type": "episode"} | episode(**changes)) == expected


def test_the_status_line_carries_the_detector_state() -> None:
    transport = SerialTransport("/dev/null")  # never opened: only its decoder is used
    monitor = StreamMonitor(transport, start_s=0.0)
    first = monitor.tick(1.0)
    assert (first["detector"], first["episodes"]) == (None, [])  # no DEVICE_INFO yet

    transport._receive_bytes(encode_frame(INFO))
    rng = np.random.default_rng(3)
    for k in range(20):
        counts = rng.integers(-200, 200, size=(2, 50)).astype(np.int32)
        frame = SamplesFrame(seq=k + 1, timestamp_us=50_000 * k, first_sample=50 * k, counts=counts)
        transport._receive_bytes(encode_frame(frame))
        monitor.observe(frame)
    record = monitor.tick(2.0)
    assert record["detector"] == {
        "contraction": False,
        "side": None,
        "onset_s": None,
        "held_s": None,
        "suspected_involuntary": False,
        "accelerometer": False,
    }
    assert monitor.dsp is not None
    assert monitor.dsp.stream_time_s == pytest.approx(1.0)
    json.dumps(record, allow_nan=False)
    quiet = stream._human(record)
    assert "contraction" not in quiet

    record["detector"] = record["detector"] | {"contraction": True, "side": "left", "held_s": 2.2}
    assert " | contraction (left, 2 s)" in stream._human(record)
    record["detector"] |= {"suspected_involuntary": True, "held_s": 6.4}
    assert "involuntary contraction in progress (left, 6 s)" in stream._human(record)

    # A device that describes itself differently gets a new LiveDsp; nothing is lost.
    old = monitor.dsp
    transport._receive_bytes(encode_frame(dataclasses.replace(INFO, seq=21, gain=500.0)))
    monitor.observe(SamplesFrame(seq=22, timestamp_us=0, first_sample=1000, counts=counts))
    assert monitor.dsp is not old
    assert monitor.finish() == []
    summary = monitor.summary(3.0)
    assert (summary["episodes"], summary["involuntary_episodes"]) == (0, 0)
