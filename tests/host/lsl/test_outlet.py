"""LSL outlets of the live hub, received by real inlets on this machine."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pylsl
import pytest

from dsp.envelope import MovingRms
from dsp.filterbank import EmgFilterBank
from host.errors import ConfigError
from host.lsl import LslOutlet, UtcToLslClock
from host.pipeline.hub import LiveHub
from host.pipeline.pipeline import Pipeline
from host.protocol import DeviceInfoFrame
from host.transports import open_transport

SFREQ = 1000.0
ACC_SFREQ = 100.0
FRAME = 50

INFO = DeviceInfoFrame(
    seq=0,
    timestamp_us=0,
    firmware_version=(1, 2, 3),
    device_id=0x1A2B3C4D5E6F7081,
    emg_sfreq=SFREQ,
    channel_names=("EMG L", "EMG R"),
    adc_bits=24,
    adc_bipolar=True,
    vref_v=2.4,
    gain=12.0,
    accel_sfreq=ACC_SFREQ,
    accel_g_per_count=1 / 4096,
    board="test board",
)


def _inlet(source_id: str) -> pylsl.StreamInlet:
    found = pylsl.resolve_byprop("source_id", source_id, 1, 5.0)
    assert found, f"stream {source_id} not found on this machine"
    inlet = pylsl.StreamInlet(found[0], max_buflen=60)
    inlet.open_stream(timeout=5.0)
    return inlet


def _pull(inlet: pylsl.StreamInlet, n: int | None) -> tuple[list[Any], list[float]]:
    """Pull ``n`` samples, or (``n`` None) until nothing more comes for 0.3 s."""
    samples: list[Any] = []
    stamps: list[float] = []
    deadline = time.monotonic() + 5.0
    while (n is None or len(samples) < n) and time.monotonic() < deadline:
        chunk, ts = inlet.pull_chunk(timeout=0.3)
        if n is None and samples and not chunk:
            break
        samples += chunk
        stamps += ts
    return samples, stamps


def _offset() -> float:
    """UTC - LSL, measured here independently of the outlet."""
    before = float(pylsl.local_clock())
    utc = time.time()
    return utc - (before + float(pylsl.local_clock())) / 2


async def _until(condition: Any) -> None:
    deadline = time.monotonic() + 5.0
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
    assert condition()


def _channels(xml: str) -> tuple[ET.Element, list[dict[str, str]]]:
    root = ET.fromstring(xml)
    channels = [
        {child.tag: child.text or "" for child in ch}
        for ch in root.findall("./desc/channels/channel")
    ]
    return root, channels


async def test_hub_streams_arrive_whole_with_metadata_and_device_times() -> None:
    rng = np.random.default_rng(7)
    uid = f"sw-test-{uuid.uuid4().hex}"
    hub = LiveHub()
    n_frames = 40
    volts = rng.normal(0, 50e-6, (2, FRAME * (n_frames + 1)))
    g = rng.normal(0, 0.1, (3, 5 * (n_frames + 1)))
    t_start = time.time()

    def emg(k: int) -> dict[str, Any]:
        return {
            "first_sample": k * FRAME,
            "sfreq": SFREQ,
            "t0_utc_s": t_start + k * FRAME / SFREQ,
            "channels": INFO.channel_names,
            "volts": volts[:, k * FRAME : (k + 1) * FRAME],
            "received_s": time.monotonic(),
        }

    def accel(k: int) -> dict[str, Any]:
        return {
            "first_sample": k * 5,
            "sfreq": ACC_SFREQ,
            "t0_utc_s": t_start + k * 5 / ACC_SFREQ,
            "channels": ("x", "y", "z"),
            "g": g[:, k * 5 : (k + 1) * 5],
            "received_s": time.monotonic(),
        }

    async with LslOutlet(hub, device=INFO, source_id=uid, mains_freq=50.0) as outlet:
        hub.publish("link", {"kind": "connected", "detail": "test"})  # held until streams exist
        hub.publish("emg", emg(0))
        hub.publish("accel", accel(0))
        await _until(lambda: outlet.pushed["accel"] == 5)
        inlets = {k: _inlet(f"{uid}-{k}") for k in ("emg", "envelope", "accel", "events")}
        for k in range(1, n_frames + 1):
            hub.publish("emg", emg(k))
            hub.publish("accel", accel(k))
        episode = {"start_s": 0.5, "end_s": 1.2, "side": "left", "involuntary": True}
        hub.publish("episode", episode)
        hub.publish("status", {"stream_s": 1.0})  # not forwarded
        await _until(lambda: outlet.pushed["markers"] == 2)
        offset = _offset()
        n = FRAME * n_frames
        got, stamps = _pull(inlets["emg"], n)
        acc_got, acc_stamps = _pull(inlets["accel"], 5 * n_frames)
        env_got, env_stamps = _pull(inlets["envelope"], n // 10)
        events, event_stamps = _pull(inlets["events"], 1)
        full = {k: inlet.info(timeout=5.0).as_xml() for k, inlet in inlets.items()}
    assert outlet.dropped == 0
    # Every sample after the inlet connected, exactly, each at its device-clock time.
    np.testing.assert_array_equal(np.asarray(got), volts[:, FRAME:].T * 1e6)
    expected = t_start + np.arange(FRAME, FRAME * (n_frames + 1)) / SFREQ - offset
    assert np.max(np.abs(np.asarray(stamps) - expected)) < 1e-3
    np.testing.assert_array_equal(np.asarray(acc_got), g[:, 5:].T)
    acc_expected = t_start + np.arange(5, 5 * (n_frames + 1)) / ACC_SFREQ - offset
    assert np.max(np.abs(np.asarray(acc_stamps) - acc_expected)) < 1e-3
    # The envelope: band-pass + 50 Hz notch + 150 ms RMS, every 10th sample.
    bank = EmgFilterBank(SFREQ, 2, mains_freq=50.0)
    reference = MovingRms(SFREQ, 2).process(bank.process(volts))[:, ::10]
    env = np.asarray(env_got)
    np.testing.assert_allclose(env, reference[:, -env.shape[0] :].T * 1e6, rtol=1e-9, atol=1e-9)
    env_expected = t_start + np.arange(0, volts.shape[1], 10)[-env.shape[0] :] / SFREQ - offset
    assert np.max(np.abs(np.asarray(env_stamps) - env_expected)) < 1e-3
    # The episode, at its onset on the device's time line.
    (event,) = events
    record = json.loads(event[0])
    assert record == {"topic": "episode", **episode}
    assert abs(event_stamps[0] - (t_start + 0.5 - offset)) < 1e-3
    # Metadata.
    root, channels = _channels(full["emg"])
    assert root.findtext("type") == "EMG"
    assert float(root.findtext("nominal_srate") or 0) == SFREQ
    assert channels == [
        {
            "label": "EMG L",
            "unit": "microvolts",
            "type": "EMG",
            "location": "left lumbar erector spinae",
        },
        {
            "label": "EMG R",
            "unit": "microvolts",
            "type": "EMG",
            "location": "right lumbar erector spinae",
        },
    ]
    assert root.findtext("./desc/acquisition/manufacturer") == "spasmwatch"
    assert root.findtext("./desc/acquisition/serial_number") == "1a2b3c4d5e6f7081"
    assert root.findtext("./desc/acquisition/model") == "test board firmware 1.2.3"
    root, channels = _channels(full["envelope"])
    assert float(root.findtext("nominal_srate") or 0) == SFREQ / 10
    assert [c["label"] for c in channels] == ["EMG L RMS", "EMG R RMS"]
    root, channels = _channels(full["accel"])
    assert root.findtext("type") == "Accelerometer"
    assert [(c["label"], c["unit"]) for c in channels] == [
        ("Accel X", "g"),
        ("Accel Y", "g"),
        ("Accel Z", "g"),
    ]
    root, _ = _channels(full["events"])
    assert root.findtext("type") == "Markers"
    assert float(root.findtext("nominal_srate") or 1) == 0.0
    assert root.findtext("channel_format") == "string"


async def test_a_pipeline_over_the_simulator_streams_what_it_publishes() -> None:
    uid = f"sw-test-{uuid.uuid4().hex}"
    hub = LiveHub()
    scope = hub.subscribe(maxlen=100_000, signals=["emg"])
    pipeline = Pipeline(open_transport("sim://quick?speed=0"), hub=hub)
    outlet = LslOutlet.for_pipeline(pipeline, source_id=uid, streams=["emg", "markers"])
    async with outlet:
        run = asyncio.create_task(pipeline.run(duration_s=16.0))
        await _until(lambda: "markers" in outlet.descriptions)
        emg_inlet, events_inlet = _inlet(f"{uid}-emg"), _inlet(f"{uid}-events")
        summary = await run
        # Pulled while the outlets exist: an inlet whose outlet is gone waits to recover.
        got, stamps = _pull(emg_inlet, None)
        events, event_stamps = _pull(events_inlet, 1)
        xml = emg_inlet.info(timeout=5.0).as_xml()
    offset = _offset()
    scope.close()
    published = [m.payload for m in [m async for m in scope] if m.topic == "emg"]
    volts = np.concatenate([p["volts"] for p in published], axis=1)
    t_utc = np.concatenate(
        [p["t0_utc_s"] + np.arange(p["volts"].shape[1]) / p["sfreq"] for p in published]
    )
    assert outlet.pushed["emg"] == summary.samples == volts.shape[1]
    # What the inlet got is the tail of what was published, sample for sample and in time.
    n = len(got)
    assert n > 1000
    np.testing.assert_array_equal(np.asarray(got), volts[:, -n:].T * 1e6)
    assert np.max(np.abs(np.asarray(stamps) - (t_utc[-n:] - offset))) < 1e-3
    records = [json.loads(e[0]) for e in events]
    spasms = [r for r in records if r["topic"] == "episode" and r["involuntary"]]
    assert len(spasms) == summary.involuntary == 1
    stamp = event_stamps[records.index(spasms[0])]
    onset = spasms[0]["start_s"] * 1000.0 - published[0]["first_sample"]
    assert abs(stamp - (t_utc[0] + onset / 1000.0 - offset)) < 1e-3
    root, _ = _channels(xml)
    info = pipeline.transport.device_info
    assert info is not None
    assert root.findtext("./desc/acquisition/serial_number") == f"{info.device_id:016x}"


def test_utc_to_lsl_offset_is_measured_and_measured_again() -> None:
    now = {"wall": 1000.0, "lsl": 50.0, "mono": 0.0}

    def lsl() -> float:
        now["lsl"] += 1e-6
        return now["lsl"]

    clock = UtcToLslClock(
        remeasure_s=10.0, wall=lambda: now["wall"], lsl=lsl, monotonic=lambda: now["mono"]
    )
    # Readings bracket the UTC reading by 1 us each side: the midpoint is taken.
    assert clock.to_lsl(1001.0) == pytest.approx(51.0000015, abs=1e-9)
    assert clock.measurements == 1
    assert clock.uncertainty_s == pytest.approx(0.5e-6)
    now["wall"] += 0.25  # the wall clock is stepped...
    now["mono"] = 5.0
    assert clock.to_lsl(1001.0) == pytest.approx(51.0000015, abs=1e-9)
    now["mono"] = 10.0  # ...and followed at the next measurement (10 LSL readings later)
    assert clock.to_lsl(1001.25) == pytest.approx(51.0000115, abs=1e-9)
    assert clock.measurements == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"streams": ["emg", "video"]}, "'streams' parameter"),
        ({"streams": []}, "'streams' parameter"),
        ({"channel_format": "int8"}, "'channel_format' parameter"),
        ({"envelope_sfreq": 0.0}, "envelope_sfreq"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LslOutlet(LiveHub(), **kwargs)
