from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from dsp.calibration import Calibration
from host.errors import ConfigError, StorageError
from host.protocol import DeviceInfoFrame, SampleFormat
from host.storage import RecordingStore, SignalSegment


def _blocks(path: Path, table: str = "emg_blocks") -> list[tuple[int, int]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT first_sample, n_samples FROM {table} ORDER BY 1").fetchall()
    finally:
        conn.close()


def _record(
    store: RecordingStore,
    sid: int,
    counts: NDArray[np.int64],
    *,
    frame: int,
    skip: Callable[[int], bool] = lambda i: False,
    first: int = 0,
) -> NDArray[np.bool_]:
    """Append ``counts`` in frames, leaving out the frames ``skip`` picks; return the mask
    of stored samples. Sample ``i`` is due at ``started_us + i ms``."""
    rec = store.session(sid)
    stored = np.zeros(counts.shape[1], dtype=bool)
    for i, start in enumerate(range(0, counts.shape[1], frame)):
        if skip(i):
            continue
        block = counts[:, start : start + frame]
        t_start = rec.started_us + round((first + start) * 1e6 / rec.sfreq)
        store.append_emg(sid, first + start, block, t_start)
        stored[start : start + block.shape[1]] = True
    return stored


def _expected(
    counts: NDArray[np.int64], stored: NDArray[np.bool_], scale: float
) -> NDArray[np.float64]:
    out = counts * scale
    return np.where(stored, out, np.nan)


def test_round_trip_with_gaps(
    store_file: Path, writer: RecordingStore, start_session: Callable[..., int]
) -> None:
    sid = start_session(writer)
    counts = np.random.default_rng(4).integers(-30000, 30000, (2, 12_345))
    stored = _record(writer, sid, counts, frame=50, skip=lambda i: i in (7, 8, 100))
    writer.commit()
    scale = writer.session(sid).emg_volts_per_count
    with RecordingStore.open(store_file, readonly=True) as reader:
        seg = reader.read_emg(sid)
        assert seg.data.shape == counts.shape
        assert seg.unit == "V"
        assert seg.ch_names == ("EMG L", "EMG R")
        assert seg.first_sample == 0
        np.testing.assert_array_equal(seg.data, _expected(counts, stored, scale))
        np.testing.assert_array_equal(seg.missing, ~stored)
        gaps = reader.gaps(sid)
        assert [(g.first_sample, g.n_samples) for g in gaps] == [(350, 100), (5000, 50)]
        rec = reader.session(sid)
        assert gaps[0].t_start_us == rec.started_us + 350_000
        assert gaps[0].t_end_us == rec.started_us + 450_000
        assert rec.n_emg_samples == int(stored.sum())
        assert rec.data_end_us == rec.started_us + 12_345_000


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    frame=st.integers(1, 700),
    n_times=st.integers(1, 4000),
    fmt=st.sampled_from([SampleFormat.INT16, SampleFormat.INT24]),
    block_s=st.sampled_from([0.05, 1.0, 3.0]),
    seed=st.integers(0, 2**16),
)
def test_any_frame_size_reads_back_the_same(
    tmp_path_factory: pytest.TempPathFactory,
    start_session: Callable[..., int],
    frame: int,
    n_times: int,
    fmt: SampleFormat,
    block_s: float,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    low, high = fmt.limits
    counts = rng.integers(low, high, (2, n_times), endpoint=True)
    n_frames = -(-n_times // frame)
    skipped = set(rng.choice(n_frames, size=min(2, n_frames - 1), replace=False).tolist())
    path = tmp_path_factory.mktemp("prop") / "s.sqlite3"
    with RecordingStore.open(path, block_s=block_s) as store:
        sid = start_session(store, sample_format=fmt)
        stored = _record(store, sid, counts, frame=frame, skip=lambda i: i in skipped)
        store.commit()
        scale = store.session(sid).emg_volts_per_count
        seg = store.read_emg(sid)
        first_stored = int(np.argmax(stored))
        last_stored = len(stored) - int(np.argmax(stored[::-1]))
        want = _expected(counts, stored, scale)[:, first_stored:last_stored]
        np.testing.assert_array_equal(seg.data, want)
        assert seg.first_sample == first_stored
        cap = max(1, round(block_s * 1000))
        assert all(n <= max(cap, frame) for _, n in _blocks(path))


def test_contiguous_appends_are_merged_into_blocks(
    store_file: Path, writer: RecordingStore, start_session: Callable[..., int]
) -> None:
    sid = start_session(writer)
    counts = np.random.default_rng(5).integers(-100, 100, (2, 10_000))
    _record(writer, sid, counts, frame=50, skip=lambda i: i == 30)
    writer.commit()
    # 1 s blocks; the gap at samples 1500-1549 ends the second block early.
    assert _blocks(store_file) == [
        (0, 1000),
        (1000, 500),
        (1550, 1000),
        (2550, 1000),
        (3550, 1000),
        (4550, 1000),
        (5550, 1000),
        (6550, 1000),
        (7550, 1000),
        (8550, 1000),
        (9550, 450),
    ]


def test_uncommitted_writes_are_invisible_to_readers(
    store_file: Path, writer: RecordingStore, start_session: Callable[..., int]
) -> None:
    sid = start_session(writer)
    with RecordingStore.open(store_file, readonly=True) as reader:
        writer.append_emg(sid, 0, np.ones((2, 2000), dtype=np.int16), 0)
        writer.add_marker(5, "pain", session_id=sid)
        assert reader.read_emg(sid).n_times == 0
        assert reader.markers() == []
        writer.commit()
        assert reader.read_emg(sid).n_times == 2000
        assert [m.text for m in reader.markers()] == ["pain"]


def test_partial_reads_and_chunks(
    writer: RecordingStore, start_session: Callable[..., int]
) -> None:
    sid = start_session(writer)
    counts = np.random.default_rng(6).integers(-100, 100, (2, 5000))
    stored = _record(writer, sid, counts, frame=100, skip=lambda i: i == 20)
    writer.commit()
    scale = writer.session(sid).emg_volts_per_count
    full = _expected(counts, stored, scale)
    seg = writer.read_emg(sid, 1.9, 2.25)  # spans the gap at 2.0-2.1 s
    assert seg.first_sample == 1900
    np.testing.assert_array_equal(seg.data, full[:, 1900:2250])
    assert seg.n_missing == 100
    assert writer.read_emg(sid, 4.5).n_times == 500
    assert writer.read_emg(sid, 9.0, 10.0).n_times == 0
    chunks = list(writer.iter_segments(sid, chunk_s=0.7, start_s=0.3))
    assert [c.first_sample for c in chunks] == list(range(300, 5000, 700))
    np.testing.assert_array_equal(np.hstack([c.data for c in chunks]), full[:, 300:])
    with pytest.raises(ConfigError, match="stop_s"):
        writer.read_emg(sid, 2.0, 1.0)
    with pytest.raises(ConfigError, match="start_s"):
        writer.read_emg(sid, -1.0)


def test_sample_times_follow_the_block_times(
    writer: RecordingStore, start_session: Callable[..., int]
) -> None:
    """Blocks carry the timing module's UTC times: a clock running 200 ppm fast shows up
    between blocks and is interpolated inside them."""
    sid = start_session(writer, started_us=0)
    period_us = 1000 * (1 + 200e-6)
    for k in range(5):
        t0, t1 = round(k * 1000 * period_us), round((k + 1) * 1000 * period_us)
        writer.append_emg(sid, k * 1000, np.zeros((2, 1000), dtype=np.int16), t0, t1)
    writer.commit()
    seg = writer.read_emg(sid)
    times = seg.times_us()
    want = np.rint(np.arange(5000) * period_us).astype(np.int64)
    assert np.abs(times - want).max() <= 1
    assert seg.t_start_us == 0
    # Extrapolation beyond the stored blocks uses the nominal rate.
    assert seg.sample_times_us(np.array([5010]))[0] == round(5000 * period_us) + 10_000


def test_time_range_query_across_sessions(
    writer: RecordingStore, start_session: Callable[..., int]
) -> None:
    hour = 3_600_000_000
    rng = np.random.default_rng(7)
    first = start_session(writer, started_us=0)
    counts_a = rng.integers(-9, 9, (2, 10_000))
    _record(writer, first, counts_a, frame=250)
    writer.end_session(first)
    second = start_session(writer, started_us=hour)
    counts_b = rng.integers(-9, 9, (2, 10_000))
    _record(writer, second, counts_b, frame=250, skip=lambda i: i == 2)
    writer.commit()
    scale = writer.session(first).emg_volts_per_count

    segments = writer.read_emg_between(7_500_100, hour + 1_000_000)
    assert [s.session_id for s in segments] == [first, second]
    a, b = segments
    assert a.first_sample == 7501  # first sample at or after 7.5001 s
    np.testing.assert_array_equal(a.data, counts_a[:, 7501:] * scale)
    assert b.first_sample == 0
    assert b.n_times == 1000  # samples before 1 s: 0..999
    assert b.n_missing == 250
    times = b.times_us()[~b.missing]
    assert times.min() >= hour
    assert times.max() < hour + 1_000_000
    assert writer.read_emg_between(20_000_000, hour) == []
    accel = writer.read_accel_between(0, 2 * hour)
    assert accel == []  # no accelerometer samples were stored
    with pytest.raises(ConfigError, match="end_us"):
        writer.read_emg_between(10, 5)


def test_accelerometer(writer: RecordingStore, start_session: Callable[..., int]) -> None:
    sid = start_session(writer)
    counts = np.random.default_rng(8).integers(-4096, 4096, (3, 950))
    for i in range(0, 950, 10):
        writer.append_accel(sid, 5 + i, counts[:, i : i + 10], writer.session(sid).started_us)
    writer.commit()
    seg = writer.read_accel(sid)
    assert seg.unit == "g"
    assert seg.ch_names == ("x", "y", "z")
    assert seg.sfreq == 100.0
    assert seg.first_sample == 5
    np.testing.assert_array_equal(seg.data, counts / 4096)
    assert writer.session(sid).n_accel_samples == 950

    no_accel = start_session(writer, accel_sfreq=None, accel_g_per_count=None)
    with pytest.raises(ConfigError, match="without an accelerometer"):
        writer.append_accel(no_accel, 0, counts, 0)


@pytest.mark.parametrize(
    ("counts", "match"),
    [
        (np.zeros((3, 10), dtype=np.int16), r"shape \(2, n_times\)"),
        (np.zeros(10, dtype=np.int16), r"shape \(2, n_times\)"),
        (np.zeros((2, 10)), "must be integers"),
        (np.full((2, 10), 40_000), r"fit int16 \[-32768, 32767\]"),
    ],
)
def test_bad_blocks_are_refused(
    writer: RecordingStore,
    start_session: Callable[..., int],
    counts: NDArray[np.generic],
    match: str,
) -> None:
    sid = start_session(writer)
    with pytest.raises(ConfigError, match=match):
        writer.append_emg(sid, 0, counts, 0)  # type: ignore[arg-type]


def test_overlap_and_bad_positions_are_refused(
    store_file: Path, writer: RecordingStore, start_session: Callable[..., int]
) -> None:
    sid = start_session(writer)
    block = np.zeros((2, 100), dtype=np.int16)
    writer.append_emg(sid, 1000, block, 0)
    with pytest.raises(ConfigError, match="overlaps samples already stored"):
        writer.append_emg(sid, 1050, block, 0)  # overlaps the buffered block
    writer.commit()
    with pytest.raises(ConfigError, match=r"up to sample 1099"):
        writer.append_emg(sid, 999, block, 0)  # overlaps the stored block
    with pytest.raises(ConfigError, match="first_sample must be >= 0"):
        writer.append_emg(sid, -1, block, 0)
    with pytest.raises(ConfigError, match="t_end_us"):
        writer.append_emg(sid, 5000, block, 10, 5)
    with pytest.raises(ConfigError, match="no session with id 99"):
        writer.append_emg(99, 0, block, 0)
    writer.commit()
    assert _blocks(store_file) == [(1000, 100)]
    # A new writer (after a restart of the recorder) knows what is stored, too.
    with RecordingStore.open(store_file) as other:
        with pytest.raises(ConfigError, match="overlaps"):
            other.append_emg(sid, 1099, block, 0)


def test_sessions_life_cycle(
    store_file: Path, writer: RecordingStore, start_session: Callable[..., int]
) -> None:
    sid = start_session(writer, notes="first night")
    rec = writer.session(sid)
    assert (rec.status, rec.ended_us, rec.notes) == ("recording", None, "first night")
    writer.append_emg(sid, 0, np.zeros((2, 1500), dtype=np.int16), rec.started_us)
    writer.end_session(sid)  # flushes and commits
    rec = writer.session(sid)
    assert rec.status == "stopped"
    assert rec.ended_us == rec.started_us + 1_500_000  # the end of the last block
    assert rec.duration_s == 1.5
    with pytest.raises(ConfigError, match="already ended"):
        writer.end_session(sid)
    with pytest.raises(ConfigError, match="not recording"):
        writer.append_emg(sid, 2000, np.zeros((2, 10), dtype=np.int16), 0)
    failed = start_session(writer, started_us=rec.started_us + 10**9)
    writer.end_session(failed, "failed", "device gave up", ended_us=rec.started_us + 2 * 10**9)
    writer.set_session_notes(failed, "cable broke")
    with RecordingStore.open(store_file, readonly=True) as reader:
        got = reader.session(failed)
        assert (got.status, got.reason, got.notes) == ("failed", "device gave up", "cable broke")
        assert got.ended_us == rec.started_us + 2 * 10**9
        assert [s.id for s in reader.list_sessions()] == [sid, failed]
        assert [s.id for s in reader.list_sessions(status="failed")] == [failed]
        assert [s.id for s in reader.list_sessions(start_us=rec.started_us + 10**9)] == [failed]
        assert [s.id for s in reader.list_sessions(end_us=rec.started_us + 10**9)] == [sid]
    with pytest.raises(ConfigError, match="'status'"):
        writer.end_session(start_session(writer), "paused")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"sfreq": 0.0}, "sfreq"),
        ({"channel_names": ()}, "channel_names"),
        ({"channel_names": ("a", "a")}, "channel_names"),
        ({"emg_volts_per_count": float("nan")}, "emg_volts_per_count"),
        ({"sample_format": "float32"}, "'sample_format'"),
        ({"accel_g_per_count": None}, "accel_g_per_count is required"),
        ({"source_url": ""}, "source_url"),
        ({"device_id": 42}, "no device with id 42"),
    ],
)
def test_invalid_session_parameters(
    writer: RecordingStore, start_session: Callable[..., int], override: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        start_session(writer, **override)
    assert writer.list_sessions() == []


def test_close_interrupts_open_sessions(
    store_file: Path, start_session: Callable[..., int]
) -> None:
    with RecordingStore.open(store_file) as store:
        sid = start_session(store)
        store.append_emg(sid, 0, np.zeros((2, 700), dtype=np.int16), 0, 700_000)
    with RecordingStore.open(store_file, readonly=True) as reader:
        rec = reader.session(sid)
    assert rec.status == "interrupted"
    assert "closed while the session was recording" in rec.reason
    assert (rec.n_emg_samples, rec.ended_us) == (700, 700_000)


def test_devices(writer: RecordingStore, start_session: Callable[..., int]) -> None:
    info = DeviceInfoFrame(
        seq=0,
        timestamp_us=0,
        firmware_version=(1, 2, 3),
        device_id=0xFEED_FACE_CAFE_BEEF,
        emg_sfreq=1000.0,
        channel_names=("L", "R"),
        adc_bits=24,
        adc_bipolar=True,
        vref_v=2.4,
        gain=12.0,
        emg_format=SampleFormat.INT24,
        accel_sfreq=100.0,
        accel_g_per_count=1 / 4096,
        samples_per_frame=25,
        board="swatch-v1",
    )
    did = writer.register_device(
        name="swatch", address="/dev/ttyACM0", transport="serial", info=info, seen_us=10
    )
    again = writer.register_device(
        name="swatch-2", address="/dev/ttyACM0", transport="serial", seen_us=20
    )
    other = writer.register_device(name="swatch", address="AA:BB", transport="ble", seen_us=30)
    assert did == again != other
    first, second = writer.devices()
    assert (first.name, first.first_seen_us, first.last_seen_us) == ("swatch-2", 10, 20)
    assert second.transport == "ble"
    stored = writer.register_device(
        name="swatch", address="/dev/ttyACM0", transport="serial", info=info
    )
    device = writer.devices()[0]
    assert stored == did
    assert device.info["device_id"] == "feedfacecafebeef"
    assert device.info["firmware_version"] == [1, 2, 3]
    assert device.info["volts_per_count"] == info.volts_per_count

    sid = writer.start_session_from_info(info, source_url="serial:///dev/ttyACM0", device_id=did)
    rec = writer.session(sid)
    assert rec.device_id == did
    assert rec.sample_format == "int24"
    assert rec.channel_names == ("L", "R")
    assert rec.emg_volts_per_count == info.volts_per_count
    assert (rec.accel_sfreq, rec.accel_g_per_count) == (100.0, 1 / 4096)
    big = np.array([[8_000_000, -8_000_000], [1, 2]])
    writer.append_emg(sid, 0, big, 0)
    writer.commit()
    np.testing.assert_array_equal(writer.read_emg(sid).data, big * info.volts_per_count)
    with pytest.raises(ConfigError, match="name"):
        writer.register_device(name="", address="x", transport="ble")


def _episode(start: int, end: int, *, involuntary: bool = True) -> dict[str, Any]:
    return {
        "start_s": start / 1000,
        "end_s": end / 1000,
        "start_sample": start,
        "end_sample": end,
        "side": "left",
        "involuntary": involuntary,
        "kind": "tonic" if involuntary else "voluntary",
        "confidence": 0.75,
        "median_freq_hz": float("nan"),
        "peak_by_channel": (1.5, 0.5),
        "features": {"rhythm_hz": np.float64(4.5), "n": np.int64(3)},
    }


def test_episodes(
    store_file: Path, writer: RecordingStore, start_session: Callable[..., int]
) -> None:
    sid = start_session(writer, started_us=0)
    writer.append_emg(sid, 0, np.zeros((2, 3000), dtype=np.int16), 0, 3_000_000)
    writer.append_emg(sid, 3000, np.zeros((2, 3000), dtype=np.int16), 3_000_600, 6_001_200)
    a = writer.add_episode(sid, _episode(500, 1500))  # times from the blocks
    b = writer.add_episode(sid, _episode(4000, 4500, involuntary=False))
    c = writer.add_episode(sid, _episode(5000, 5100), start_us=9, end_us=10)
    writer.commit()
    with RecordingStore.open(store_file, readonly=True) as reader:
        got = reader.episodes()
        assert [e.id for e in got] == [c, a, b]  # by onset time
        ea = reader.episode(a)
        assert (ea.start_us, ea.end_us) == (500_000, 1_500_000)
        assert reader.episode(b).start_us == 3_000_600 + 1000 * 1000 + 200  # drift in block 2
        assert ea.duration_s == 1.0
        assert (ea.involuntary, ea.kind, ea.side) == (True, "tonic", "left")
        assert ea.confidence == 0.75
        assert ea.data["median_freq_hz"] is None  # NaN stored as null
        assert ea.data["peak_by_channel"] == [1.5, 0.5]
        assert ea.data["features"] == {"rhythm_hz": 4.5, "n": 3}
        assert [e.id for e in reader.episodes(involuntary=False)] == [b]
        assert [e.id for e in reader.episodes(start_us=100, end_us=4_000_801)] == [a, b]
        assert [e.id for e in reader.episodes(session_id=sid, start_us=10**6)] == [b]
        assert reader.episodes(session_id=sid + 1) == []
    with pytest.raises(ConfigError, match="missing the keys"):
        writer.add_episode(sid, {"start_sample": 1})
    with pytest.raises(ConfigError, match="end_sample"):
        writer.add_episode(sid, _episode(20, 10))
    with pytest.raises(ConfigError, match="no episode with id"):
        writer.episode(999)
    empty = start_session(writer)
    with pytest.raises(ConfigError, match="no EMG is stored yet"):
        writer.add_episode(empty, _episode(0, 10))


def test_labels(writer: RecordingStore, start_session: Callable[..., int]) -> None:
    sid = start_session(writer)
    eid = writer.add_episode(sid, _episode(0, 100), start_us=0, end_us=100_000)
    lid = writer.add_label(eid, "spasm", note="woke me up", author="wearer", created_us=5)
    writer.add_label(eid, "voluntary", author="dr. k", created_us=9)
    labels = writer.labels(episode_id=eid)
    assert [(x.id, x.label, x.author) for x in labels][0] == (lid, "spasm", "wearer")
    assert [x.label for x in labels] == ["spasm", "voluntary"]
    assert labels[0].note == "woke me up"
    assert writer.labels(episode_id=eid + 1) == []
    with pytest.raises(ConfigError, match="no episode with id 77"):
        writer.add_label(77, "spasm")
    with pytest.raises(ConfigError, match="label must be"):
        writer.add_label(eid, "  ")


def test_markers_and_link_events(writer: RecordingStore, start_session: Callable[..., int]) -> None:
    sid = start_session(writer)
    writer.add_marker(300, "stood up", session_id=sid)
    writer.add_marker(100, "took pill")
    gap = writer.add_link_event(
        sid, 200, "gap", stream="emg", first_sample=50, n_samples=120, detail={"frames": 3}
    )
    writer.add_link_event(sid, 150, "disconnected", detail={"port": "/dev/ttyACM0"})
    writer.add_link_event(sid, 250, "reconnect")
    writer.commit()
    assert [(m.t_us, m.text, m.session_id) for m in writer.markers()] == [
        (100, "took pill", None),
        (300, "stood up", sid),
    ]
    assert [m.text for m in writer.markers(session_id=sid)] == ["stood up"]
    assert [m.t_us for m in writer.markers(start_us=100, end_us=300)] == [100]
    events = writer.link_events(session_id=sid)
    assert [e.kind for e in events] == ["disconnected", "gap", "reconnect"]
    g = writer.link_events(kind="gap")[0]
    assert (g.id, g.stream, g.first_sample, g.n_samples, g.detail) == (
        gap,
        "emg",
        50,
        120,
        {"frames": 3},
    )
    assert [e.kind for e in writer.link_events(start_us=200, end_us=251)] == ["gap", "reconnect"]
    with pytest.raises(ConfigError, match="lower-case identifier"):
        writer.add_link_event(sid, 0, "CRC Error")
    with pytest.raises(ConfigError, match="'stream'"):
        writer.add_link_event(sid, 0, "gap", stream="ecg")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no session"):
        writer.add_marker(0, "x", session_id=sid + 5)


def _calibration() -> Calibration:
    return Calibration(
        sfreq=1000.0,
        l_freq=20.0,
        h_freq=450.0,
        mains_freq=50.0,
        noise_rms_v=(2e-6, 3e-6),
        rest_rms_v=(5e-6, 6e-6),
        reference_rms_v=(2e-4, 3e-4),
        reference_kind="MVC",
        reference_level=None,
        reference_window_s=0.5,
        n_rest_times=30_000,
        n_reference_times=9_000,
    )


def test_calibrations(
    store_file: Path, writer: RecordingStore, start_session: Callable[..., int]
) -> None:
    assert writer.latest_calibration() is None
    did = writer.register_device(name="w", address="sim", transport="sim")
    sid = start_session(writer, device_id=did)
    cal = _calibration()
    first = writer.save_calibration(cal, session_id=sid, device_id=did, created_us=1)
    second = writer.save_calibration(cal.to_dict(), created_us=2)
    with RecordingStore.open(store_file, readonly=True) as reader:
        latest = reader.latest_calibration()
        assert latest is not None
        assert latest.id == second
        assert latest.calibration() == cal
        mine = reader.latest_calibration(device_id=did)
        assert mine is not None
        assert (mine.id, mine.session_id) == (first, sid)
        assert [c.id for c in reader.calibrations(session_id=sid)] == [first]
    bad = cal.to_dict() | {"format": "something else"}
    with pytest.raises(ConfigError, match="not a valid calibration"):
        writer.save_calibration(bad)
    with pytest.raises(ConfigError, match="no device with id 5"):
        writer.save_calibration(cal, device_id=5)


def test_one_recorder_per_store(store_file: Path, start_session: Callable[..., int]) -> None:
    with RecordingStore.open(store_file, busy_timeout_s=0.2) as first:
        start_session(first)
        with RecordingStore.open(store_file, busy_timeout_s=0.2) as second:
            with pytest.raises(StorageError, match="is recording into"):
                start_session(second)
            # It may still add labels and read while the first records.
            assert len(second.list_sessions()) == 1


def test_segment_helpers_on_empty_session(
    writer: RecordingStore, start_session: Callable[..., int]
) -> None:
    sid = start_session(writer)
    seg = writer.read_emg(sid)
    assert isinstance(seg, SignalSegment)
    assert seg.data.shape == (2, 0)
    assert seg.t_start_us is None
    assert seg.times_us().shape == (0,)
    assert writer.gaps(sid) == []
    assert list(writer.iter_segments(sid)) == []
