"""The pipeline end to end: real transports, a real SQLite store, real processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from host.errors import StorageFullError
from host.pipeline.hub import LiveHub
from host.pipeline.pipeline import Pipeline
from host.protocol import SamplesFrame, encode_frame
from host.simulator import builtin_scenario
from host.simulator.device import SimulatedDevice
from host.storage import RecordingStore
from host.transports import open_transport


async def test_sim_session_is_stored_whole_with_its_episodes(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite3"
    hub = LiveHub()
    sub = hub.subscribe(maxlen=10_000)
    pipeline = Pipeline(
        open_transport("sim://quick?speed=0&clock_ppm=200"),
        open_store=lambda: RecordingStore.open(path),
        hub=hub,
    )
    summary = await pipeline.run(duration_s=90.0)
    assert summary.stop_reason == "duration reached"
    assert summary.items_dropped == 0
    with RecordingStore.open(path, readonly=True) as store:
        (session,) = store.list_sessions()
        assert session.status == "stopped"
        assert session.n_emg_samples == summary.samples >= 90_000
        segment = store.read_emg(session.id)
        assert segment.data.shape == (2, summary.samples)
        assert np.isfinite(segment.data).all()
        episodes = store.episodes(session_id=session.id)
        assert len(episodes) == summary.episodes > 0
        assert sum(e.involuntary for e in episodes) == summary.involuntary
        # Episode times are on the session's UTC time line.
        assert all(session.started_us <= e.start_us < e.end_us for e in episodes)
    sub.close()
    topics = {m.topic async for m in sub}
    assert "episode" in topics


async def test_live_signal_messages_carry_exactly_what_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite3"
    hub = LiveHub()
    scope = hub.subscribe(maxlen=100_000, signals=["emg", "accel"])
    pipeline = Pipeline(
        open_transport("sim://quick?speed=0"),
        open_store=lambda: RecordingStore.open(path),
        hub=hub,
    )
    summary = await pipeline.run(duration_s=5.0)
    scope.close()
    messages = [m async for m in scope]
    emg = [m.payload for m in messages if m.topic == "emg"]
    accel = [m.payload for m in messages if m.topic == "accel"]
    assert [p["first_sample"] for p in emg] == sorted(p["first_sample"] for p in emg)
    volts = np.concatenate([p["volts"] for p in emg], axis=1)
    assert volts.shape == (2, summary.samples)
    assert emg[0]["sfreq"] > 0
    assert len(emg[0]["channels"]) == 2
    g = np.concatenate([p["g"] for p in accel], axis=1)
    assert g.shape == (3, summary.accel_samples)
    with RecordingStore.open(path, readonly=True) as store:
        (session,) = store.list_sessions()
        np.testing.assert_allclose(store.read_emg(session.id).data, volts, rtol=1e-12)
        np.testing.assert_allclose(store.read_accel(session.id).data, g, rtol=1e-12)
        first_us = store.read_emg(session.id).t_start_us
        assert first_us is not None
    assert abs(emg[0]["t0_utc_s"] * 1e6 - first_us) <= 1


async def test_contraction_in_progress_at_the_end_is_stored(tmp_path: Path) -> None:
    """The quick scenario's left tonic spasm runs 5-13 s; stopping at 11 s closes it."""
    path = tmp_path / "w.sqlite3"
    hub = LiveHub()
    sub = hub.subscribe(maxlen=10_000)
    pipeline = Pipeline(
        open_transport("sim://quick?speed=0"),
        open_store=lambda: RecordingStore.open(path),
        hub=hub,
    )
    summary = await pipeline.run(duration_s=11.0)
    with RecordingStore.open(path, readonly=True) as store:
        (session,) = store.list_sessions()
        episodes = store.episodes(session_id=session.id)
    spasms = [e for e in episodes if e.involuntary]
    assert len(spasms) == 1
    assert summary.involuntary == 1
    assert 4.0 <= (spasms[0].start_us - session.started_us) / 1e6 <= 6.0
    sub.close()
    published = [m.payload for m in [m async for m in sub] if m.topic == "episode"]
    assert any(e["involuntary"] for e in published)


def _capture(path: Path, seconds: float, drop_every: int) -> int:
    device = SimulatedDevice(builtin_scenario("quick"), autostart=True)
    dropped, n = 0, 0
    with open(path, "wb") as fh:
        frames = device.take_pending()
        while device.scenario_time_s < seconds:
            for frame in frames:
                if isinstance(frame, SamplesFrame):
                    n += 1
                    if n % drop_every == 0:
                        dropped += frame.counts.shape[1]
                        continue
                fh.write(encode_frame(frame))
            frames = device.step()
    return dropped


async def test_replay_gaps_are_stored_with_their_exact_length(tmp_path: Path) -> None:
    capture = tmp_path / "c.sw1"
    dropped = _capture(capture, 60.0, drop_every=53)
    path = tmp_path / "w.sqlite3"
    summary = await Pipeline(
        open_transport(f"replay://{capture}"), open_store=lambda: RecordingStore.open(path)
    ).run()
    assert summary.missing_samples == dropped
    with RecordingStore.open(path, readonly=True) as store:
        (session,) = store.list_sessions()
        gaps = store.gaps(session.id)
        assert sum(g.n_samples for g in gaps) == dropped
        assert len(gaps) == summary.gaps
        events = [e for e in store.link_events(session_id=session.id) if e.kind == "gap"]
        assert sum(e.n_samples or 0 for e in events if e.stream == "emg") == dropped
        data = store.read_emg(session.id).data
        assert int(np.isnan(data[0]).sum()) == dropped
        assert data.shape[1] == summary.samples + dropped


async def test_disk_full_stops_cleanly_and_keeps_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite3"
    pipeline = Pipeline(
        open_transport("sim://quick?speed=0"),
        open_store=lambda: RecordingStore.open(path, max_size_bytes=600_000),
    )
    with pytest.raises(StorageFullError) as info:
        await pipeline.run()
    assert "full" in str(info.value)
    assert pipeline.summary.stop_reason.startswith("storage error")
    with RecordingStore.open(path, readonly=True) as store:
        (session,) = store.list_sessions()
        kept = store.read_emg(session.id).data
        assert kept.shape[1] > 10_000
        assert np.isfinite(kept).all()
        assert store.integrity_check() == []


async def test_readers_never_see_a_locked_database_while_recording(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite3"
    errors: list[BaseException] = []
    reads = 0
    done = threading.Event()
    pipeline = Pipeline(
        open_transport("sim://quick?speed=0"), open_store=lambda: RecordingStore.open(path)
    )

    def reader() -> None:
        nonlocal reads
        while not done.is_set():
            try:
                if pipeline.session_id is None:  # the store is being created
                    time.sleep(0.01)
                    continue
                with RecordingStore.open(path, readonly=True) as store:
                    for session in store.list_sessions():
                        store.read_emg(session.id, start_s=0.0, stop_s=5.0)
                        store.episodes(session_id=session.id)
                    reads += 1
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        await pipeline.run(duration_s=60.0)
    finally:
        done.set()
        for t in threads:
            t.join()
    assert errors == []
    assert reads > 10


@pytest.mark.slow
def test_sigkill_loses_at_most_the_last_second(tmp_path: Path) -> None:
    env = {**os.environ, "SPASMWATCH_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "host.cli", "run", "--source", "sim://quick?speed=1", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    reported = 0
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            record = json.loads(line)
            if record.get("event") == "status":
                reported = record["samples"]
                if record["stream_s"] >= 8.0:
                    proc.send_signal(signal.SIGKILL)
                    break
    finally:
        proc.kill()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert reported >= 8000
    with RecordingStore.open(tmp_path / "default.sqlite3") as store:  # a writer: recovers
        (session,) = store.list_sessions()
        assert session.status == "interrupted"
        stored = session.n_emg_samples
        assert reported - 1000 <= stored
        data = store.read_emg(session.id).data
        assert data.shape[1] == stored
        assert np.isfinite(data).all()
        assert store.integrity_check() == []


async def test_stop_ends_the_session_as_stopped(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite3"
    pipeline = Pipeline(
        open_transport("sim://quick?speed=20"), open_store=lambda: RecordingStore.open(path)
    )
    task = asyncio.create_task(pipeline.run())
    await asyncio.sleep(1.5)
    pipeline.stop()
    summary = await asyncio.wait_for(task, 30)
    assert summary.stop_reason == "stopped"
    with RecordingStore.open(path, readonly=True) as store:
        (session,) = store.list_sessions()
        assert session.status == "stopped"
        assert session.n_emg_samples == summary.samples > 0
