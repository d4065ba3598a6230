"""Tests of the store writer: batches in order, merged appends, errors per operation."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from host.errors import ConfigError, StorageFullError
from host.pipeline.writer import BATCH_OPS, BATCH_S, StoreWriter
from host.storage import RecordingStore

T0_US = 1_709_251_200_000_000
SESSION: dict[str, Any] = {
    "source_url": "sim://quick",
    "sfreq": 1000.0,
    "channel_names": ("EMG L", "EMG R"),
    "emg_volts_per_count": 1e-7,
    "accel_sfreq": 100.0,
    "accel_g_per_count": 1 / 4096,
    "started_us": T0_US,
}


def frames(seed: int, n_frames: int) -> list[tuple[str, int, np.ndarray, int, int]]:
    """Appends like the pipeline's: EMG frames of odd sizes with two gaps, accel frames."""
    rng = np.random.default_rng(seed)
    out: list[tuple[str, int, np.ndarray, int, int]] = []
    emg = acc = 0
    for i in range(n_frames):
        if i in (40, 97):
            emg += int(rng.integers(1, 300))  # a gap
            acc += 3
        n = int(rng.integers(20, 60))
        counts = rng.integers(-30000, 30000, (2, n)).astype(np.int32)
        out.append(("append_emg", emg, counts, T0_US + emg * 1000, T0_US + (emg + n - 1) * 1000))
        emg += n
        if i % 2:
            m = int(rng.integers(3, 12))
            a = rng.integers(-4000, 4000, (3, m)).astype(np.int32)
            out.append(
                ("append_accel", acc, a, T0_US + acc * 10_000, T0_US + (acc + m - 1) * 10_000)
            )
            acc += m
    return out


def blocks(path: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return [
            row
            for table in ("emg_blocks", "accel_blocks")
            for row in conn.execute(
                f"SELECT first_sample, n_samples, t_start_us, t_end_us, counts FROM {table} "
                "ORDER BY first_sample"
            )
        ]
    finally:
        conn.close()


async def test_merged_appends_store_the_blocks_single_appends_store(tmp_path: Path) -> None:
    ops = frames(1, 300)
    direct = tmp_path / "direct.sqlite3"
    with RecordingStore.open(direct) as store:
        sid = store.start_session(**SESSION)
        for method, *args in ops:
            getattr(store, method)(sid, *args)
        store.commit()
    merged = tmp_path / "merged.sqlite3"
    # One commit at the end, as above: commits end blocks wherever they fall.
    writer = StoreWriter(lambda: RecordingStore.open(merged), commit_interval_s=3600.0)
    await writer.start()
    sid = await writer.call("start_session", **SESSION)
    futures = [writer.submit(method, sid, *args) for method, *args in ops]
    await writer.close()
    assert all(f.result() is None for f in futures)
    assert writer.error is None
    assert writer.operations == len(ops) + 1
    assert blocks(merged) == blocks(direct)
    assert len(blocks(merged)) < len(ops) / 5  # merged into blocks of up to 1 s


async def test_a_slow_source_is_written_in_order_and_committed(tmp_path: Path) -> None:
    path = tmp_path / "slow.sqlite3"
    writer = StoreWriter(lambda: RecordingStore.open(path), commit_interval_s=0.05)
    await writer.start()
    sid = await writer.call("start_session", **SESSION)
    ops = frames(2, 60)
    for i, (method, *args) in enumerate(ops):
        writer.submit(method, sid, *args)
        if i % 7 == 0:
            writer.submit("add_link_event", sid, args[2], "gap", detail={"i": i})
        if i % 11 == 0:  # the writer's idle timeout takes what is waiting
            await asyncio.sleep(1.5 * BATCH_S)
    await asyncio.sleep(3 * BATCH_S)
    with RecordingStore.open(path, readonly=True) as reader:  # committed without close()
        record = reader.session(sid)
        assert record.n_emg_samples == sum(a[2].shape[1] for a in ops if a[0] == "append_emg")
        assert record.n_accel_samples == sum(a[2].shape[1] for a in ops if a[0] != "append_emg")
        assert len(reader.link_events(session_id=sid)) == len(range(0, len(ops), 7))
    assert writer.backlog == 0
    await writer.close()
    assert writer.error is None


async def test_a_bad_append_fails_alone_and_the_others_are_stored(tmp_path: Path) -> None:
    path = tmp_path / "bad.sqlite3"
    writer = StoreWriter(lambda: RecordingStore.open(path))
    await writer.start()
    sid = await writer.call("start_session", **SESSION)
    counts = np.zeros((2, 50), dtype=np.int32)
    writer.submit("append_emg", sid, 0, counts, T0_US, T0_US + 49_000)
    writer.submit("append_emg", sid, 50, counts, T0_US + 50_000, T0_US + 99_000)
    bad = writer.submit("append_emg", sid, 60, counts, T0_US + 60_000, T0_US + 109_000)
    writer.submit("append_emg", sid, 100, counts, T0_US + 100_000, T0_US + 149_000)
    with pytest.raises(ConfigError, match="overlaps samples already stored"):
        await asyncio.wrap_future(bad)  # the appends of one batch share a future
    event = await writer.call("add_link_event", sid, T0_US, "gap")  # a future of its own
    assert isinstance(event, int)
    await writer.close()
    assert writer.error is None  # not a storage failure: recording went on
    with RecordingStore.open(path, readonly=True) as reader:
        assert reader.session(sid).n_emg_samples == 150


async def test_after_a_full_disk_nothing_more_is_written(tmp_path: Path) -> None:
    path = tmp_path / "full.sqlite3"
    writer = StoreWriter(lambda: RecordingStore.open(path, max_size_bytes=200_000))
    await writer.start()
    sid = await writer.call("start_session", **SESSION)
    rng = np.random.default_rng(3)
    futures = []
    for i in range(BATCH_OPS * 4):
        counts = rng.integers(-30000, 30000, (2, 50)).astype(np.int32)
        t = T0_US + i * 50_000
        futures.append(writer.submit("append_emg", sid, 50 * i, counts, t, t + 49_000))
        await writer.drain()
    marker = writer.submit("add_marker", T0_US, "after", session_id=sid)
    await writer.close()
    assert isinstance(writer.error, StorageFullError)
    with pytest.raises(StorageFullError):
        marker.result()
    assert isinstance(futures[-1].exception(), StorageFullError)
