"""The live path without a browser: wire format, display chain, broadcaster, WebSocket."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from host.dashboard import create_app, wire
from host.dashboard.live import DisplayChain, LiveBroadcaster, LiveClient, json_ready
from host.errors import ConfigError
from host.pipeline.hub import LiveHub


def _emg_payload(first: int, n: int, rng: np.random.Generator, amp_v: float = 5e-6) -> dict:
    return {
        "first_sample": first,
        "sfreq": 1000.0,
        "t0_utc_s": 1.7e9 + first / 1000,
        "channels": ("EMG L", "EMG R"),
        "volts": rng.normal(0, amp_v, (2, n)),
        "received_s": time.monotonic(),
    }


def test_wire_round_trip() -> None:
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(2, 50))
    envelope = np.abs(signal)
    thresholds = np.array([[10.0, 11.0], [5.0, 6.0], [np.nan, 2.0]])
    data = wire.encode(
        wire.KIND_EMG,
        first_sample=123_456_789,
        sfreq=1000.0,
        t0_utc_s=1.7e9,
        received_s=12.5,
        encoded_s=12.51,
        signal=signal,
        envelope=envelope,
        thresholds=thresholds,
    )
    assert len(data) == wire.HEADER.size + 4 * (2 * 2 * 50 + 6)
    frame = wire.decode(data)
    assert (frame.kind, frame.first_sample, frame.sfreq) == (wire.KIND_EMG, 123_456_789, 1000.0)
    assert frame.received_s == 12.5
    np.testing.assert_allclose(frame.signal, signal, rtol=1e-6)
    np.testing.assert_allclose(frame.envelope, envelope, rtol=1e-6)
    np.testing.assert_array_equal(np.isnan(frame.thresholds), np.isnan(thresholds))
    accel = wire.decode(
        wire.encode(
            wire.KIND_ACCEL,
            first_sample=0,
            sfreq=100.0,
            t0_utc_s=0.0,
            received_s=0.0,
            encoded_s=0.0,
            signal=np.ones((3, 10)),
        )
    )
    assert accel.envelope is None
    assert accel.signal.shape == (3, 10)
    with pytest.raises(ConfigError, match="magic"):
        wire.decode(b"XXXX" + data[4:])
    with pytest.raises(ConfigError, match="envelope and thresholds"):
        wire.encode(
            wire.KIND_EMG,
            first_sample=0,
            sfreq=1.0,
            t0_utc_s=0,
            received_s=0,
            encoded_s=0,
            signal=signal,
        )


def test_display_chain_learns_thresholds_and_resets_at_a_jump() -> None:
    rng = np.random.default_rng(1)
    chain = DisplayChain(1000.0, 2)
    first = 0
    for _ in range(100):  # 5 s of rest in 50-sample frames
        _, env, thr = chain.process(first, rng.normal(0, 5e-6, (2, 50)))
        first += 50
    assert env.shape == (2, 50)
    on, off, rest = thr
    assert np.all(np.isfinite(on))
    assert np.all(on > off)
    assert np.all(off > rest)
    assert 2 < rest[0] < 10  # µV: the 5 µV noise after the 20-450 Hz band-pass
    _, _, thr = chain.process(first + 500, rng.normal(0, 5e-6, (2, 50)))  # a gap
    assert np.all(np.isnan(thr))  # learning again


def test_json_ready_replaces_what_browsers_refuse() -> None:
    out = json_ready(
        {"a": float("nan"), "b": np.float32(2.5), "c": (1, np.int64(2)), "d": np.ones(2)}
    )
    assert out == {"a": None, "b": 2.5, "c": [1, 2], "d": [1.0, 1.0]}
    json.dumps(out, allow_nan=False)


async def test_one_encoding_for_every_client_and_the_signal_only_while_watched() -> None:
    hub = LiveHub()
    broadcaster = LiveBroadcaster(hub)
    broadcaster.start()
    rng = np.random.default_rng(2)
    assert not hub.wants("emg")
    a, b = LiveClient(), LiveClient()
    broadcaster.add_client(a)
    broadcaster.add_client(b)
    assert hub.wants("emg")
    for k in range(5):
        hub.publish("emg", _emg_payload(50 * k, 50, rng))
    hub.publish("status", {"stream_s": 1.0, "detector": {"contraction": False}, "x": float("nan")})
    await asyncio.sleep(0.05)
    assert broadcaster.batches_encoded == 5
    assert len(a.batches) == len(b.batches) == 5
    assert all(x is y for x, y in zip(a.batches, b.batches, strict=True))  # the same bytes
    status = json.loads(a.events[-1])
    assert status["type"] == "status"
    assert status["x"] is None
    broadcaster.remove_client(a)
    broadcaster.remove_client(b)
    assert not hub.wants("emg")
    await broadcaster.stop()


async def test_a_slow_client_loses_its_oldest_batches_only() -> None:
    hub = LiveHub()
    broadcaster = LiveBroadcaster(hub)
    broadcaster.start()
    slow, fast = LiveClient(max_batches=4), LiveClient()
    broadcaster.add_client(slow)
    broadcaster.add_client(fast)
    rng = np.random.default_rng(3)
    for k in range(10):
        hub.publish("emg", _emg_payload(50 * k, 50, rng))
    await asyncio.sleep(0.05)
    assert slow.dropped_batches == 6
    assert fast.dropped_batches == 0
    firsts = [wire.decode(x).first_sample for x in slow.batches]
    assert firsts == [300, 350, 400, 450]
    await broadcaster.stop()


def test_websocket_sends_events_frames_and_pongs(tmp_path: Path) -> None:
    hub = LiveHub()
    app = create_app(store_path=tmp_path / "w.sqlite3", hub=hub)
    rng = np.random.default_rng(4)
    with TestClient(app) as client, client.websocket_connect("/ws/live") as ws:
        assert hub.wants("emg")
        ws.send_text(json.dumps({"type": "ping", "t": 12.0}))
        pong = json.loads(ws.receive_text())
        assert pong["type"] == "pong"
        assert pong["t"] == 12.0
        assert pong["server_s"] > 0
        portal = client.portal
        assert portal is not None
        portal.call(lambda: hub.publish("emg", _emg_payload(0, 50, rng)))
        frame = wire.decode(ws.receive_bytes())
        assert frame.first_sample == 0
        assert frame.signal.shape == (2, 50)
        portal.call(lambda: hub.publish("episode", {"involuntary": True, "kind": "tonic"}))
        assert json.loads(ws.receive_text())["kind"] == "tonic"
        state = client.get("/api/live").json()
        assert state["live"] is True
        assert state["episode"]["kind"] == "tonic"
    assert not hub.wants("emg")  # the client left


def test_websocket_of_a_review_dashboard_says_it_is_idle(tmp_path: Path) -> None:
    with TestClient(create_app(store_path=tmp_path / "w.sqlite3")) as client:
        assert client.get("/api/live").json()["live"] is False
        with client.websocket_connect("/ws/live") as ws:
            assert json.loads(ws.receive_text())["type"] == "idle"
