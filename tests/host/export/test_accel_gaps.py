"""Gaps in the accelerometer alone: every stored EMG sample is still exported."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import mne
import numpy as np
import pyedflib
import pytest

from dsp.filterbank import EmgFilterBank
from host.export.bids import export_bids, validate_bids
from host.export.edf import MIN_JOINT_S, export_edf
from host.export.selection import SignalOptions, plan_runs, select_sessions
from host.export.tables import export_tables
from host.storage import RecordingStore

T0_US = 1_714_550_400_123_456
# The accelerometer starts 2.303 s after the EMG and sends 100 ms frames of 10 samples;
# one frame is lost (a short gap) and 30 (a long one, 3 s); the EMG has no gap.
_ACC_START_US = 2_303_000
_LOST_FRAMES = {77} | set(range(157, 187))
_N_FRAMES = 277  # to 29.999 s: the accelerometer ends with the EMG (30 s)


def _build(path: Path, sample_format: str = "int16", lost: set[int] = _LOST_FRAMES) -> int:
    rng = np.random.default_rng(3)
    high = 30_000 if sample_format == "int16" else 8_000_000
    with RecordingStore.open(path) as store:
        sid = store.start_session(
            source_url="sim://test",
            sfreq=1000.0,
            channel_names=["L", "R"],
            emg_volts_per_count=0.195e-6,
            sample_format=sample_format,
            accel_sfreq=100.0,
            accel_g_per_count=1 / 4096,
            started_us=T0_US,
        )
        for sec in range(30):
            t = T0_US + sec * 1_000_000
            store.append_emg(sid, sec * 1000, rng.integers(-high, high, (2, 1000)), t, t + 10**6)
        for frame in range(_N_FRAMES):
            if frame in lost:
                continue
            t = T0_US + _ACC_START_US + frame * 100_000
            counts = rng.integers(-8000, 8000, (3, 10))
            store.append_accel(sid, frame * 10, counts, t, t + 100_000)
        store.commit()
        store.add_marker(T0_US + 19_000_000, "during the long gap", session_id=sid)
        store.commit()
        store.end_session(sid)
    return sid


def _export(path: Path, sid: int, out: Path, **kwargs: Any) -> Any:
    with RecordingStore.open(path, readonly=True) as store:
        return export_edf(store, select_sessions(store, session_id=sid), out, **kwargs)


def _stored(path: Path, sid: int) -> tuple[Any, Any]:
    with RecordingStore.open(path, readonly=True) as store:
        return store.read_emg(sid), store.read_accel(sid)


def _resolution(reader: pyedflib.EdfReader, ch: int) -> float:
    header = reader.getSignalHeader(ch)
    span = float(header["physical_max"]) - float(header["physical_min"])
    return span / (float(header["digital_max"]) - float(header["digital_min"]))


def _start_us(reader: pyedflib.EdfReader) -> int:
    start = reader.getStartdatetime().replace(microsecond=0).timestamp()
    return int(round(start) * 1_000_000 + reader.starttime_subsecond // 10)


# (name, EMG samples, accelerometer samples): the EMG before the accelerometer (2.303 s:
# two records and a 0.303 s tail), both streams to the short gap (7.7 s), the EMG during
# it (0.1 s), both to the long gap (7.9 s), the EMG during it (3 s), both to the end
# (8.997 s: the accelerometer ends 3 ms before the EMG), the last 7 ms of EMG.
_LAYOUT = [
    ("a_part01.{}", 2_000, 0),
    ("a_part01_tail.{}", 303, 0),
    ("a_part02.{}", 7_000, 700),
    ("a_part02_tail.{}", 700, 70),
    ("a_part03.{}", 100, 0),
    ("a_part04.{}", 7_000, 700),
    ("a_part04_tail.{}", 900, 90),
    ("a_part05.{}", 3_000, 0),
    ("a_part06.{}", 8_000, 800),
    ("a_part06_tail.{}", 990, 99),
    ("a_part07.{}", 7, 0),
]


@pytest.mark.parametrize(("sample_format", "ext"), [("int16", "edf"), ("int24", "bdf")])
def test_every_emg_sample_despite_accel_gaps(tmp_path: Path, sample_format: str, ext: str) -> None:
    path = tmp_path / "s.sqlite3"
    sid = _build(path, sample_format)
    result = _export(path, sid, tmp_path / f"a.{ext}")
    emg, acc = _stored(path, sid)
    emg_t, acc_t = emg.times_us(), acc.times_us()
    emg_ok, acc_ok = ~np.isnan(emg.data[0]), ~np.isnan(acc.data[0])
    assert emg_ok.all()
    assert [(f.path.name, f.n_emg_samples, f.n_accel_samples) for f in result.files] == [
        (name.format(ext), n_e, n_a) for name, n_e, n_a in _LAYOUT
    ]
    emg_seen = np.zeros(emg_ok.size, dtype=int)
    acc_seen = np.zeros(acc_ok.size, dtype=int)
    texts: dict[str, set[str]] = {}
    for exported in result.files:
        with pyedflib.EdfReader(str(exported.path)) as reader:
            start_us = _start_us(reader)
            assert start_us == exported.t_start_us
            i0 = int(np.searchsorted(emg_t, start_us))
            assert emg_t[i0] == start_us
            n_acc_signals = reader.signals_in_file - 2
            assert n_acc_signals == (3 if exported.n_accel_samples else 0)
            for ch in range(2):
                got = reader.readSignal(ch)
                step = _resolution(reader, ch)
                want = emg.data[ch, i0 : i0 + got.size] * 1e6
                assert np.max(np.abs(got - want)) <= step / 2 + 1e-9
            emg_seen[i0 : i0 + got.size] += 1
            if n_acc_signals:
                j0 = int(np.argmin(np.abs(acc_t - start_us)))
                assert abs(acc_t[j0] - start_us) <= 500
                got_acc = np.vstack([reader.readSignal(2 + k) for k in range(3)])
                want_acc = acc.data[:, j0 : j0 + got_acc.shape[1]]
                assert np.max(np.abs(got_acc - want_acc)) <= 1 / 4096
                acc_seen[j0 : j0 + got_acc.shape[1]] += 1
            texts[exported.path.name] = set(reader.readAnnotations()[2])
        # MNE reads the same EMG.
        read = mne.io.read_raw_bdf if ext == "bdf" else mne.io.read_raw_edf
        raw = read(exported.path, preload=True, verbose="error")
        got_mne = raw.get_data(picks=[0, 1])
        assert got_mne.shape[1] == exported.n_emg_samples
        assert np.max(np.abs(got_mne - emg.data[:, i0 : i0 + got_mne.shape[1]])) <= 0.1e-6
        assert len(raw.ch_names) == 2 + (3 if exported.n_accel_samples else 0)
    # Every stored EMG sample exactly once; the accelerometer once, nothing from its gaps.
    assert np.array_equal(emg_seen, np.ones(emg_ok.size, dtype=int))
    assert result.dropped_emg_samples == 0
    assert acc_seen.max() == 1
    assert not (acc_seen.astype(bool) & ~acc_ok).any()
    assert result.dropped_accel_samples == np.count_nonzero(acc_ok & (acc_seen == 0)) == 1
    # The accelerometer gaps are annotations of the EMG-only files covering them.
    assert texts[f"a_part03.{ext}"] == {"gap accel 10 samples"}
    assert texts[f"a_part05.{ext}"] == {"gap accel 300 samples", "marker: during the long gap"}


def test_filter_continues_through_emg_only_files(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    sid = _build(path)
    options = SignalOptions(filtered=True, mains_freq=50.0)
    result = _export(path, sid, tmp_path / "f.edf", options=options)
    emg, _ = _stored(path, sid)
    got, res = [], []
    for exported in result.files:
        with pyedflib.EdfReader(str(exported.path)) as reader:
            got.append(reader.readSignal(1))
            res.append(np.full(got[-1].size, _resolution(reader, 1)))
    # One filter over the whole gapless EMG: EMG-only files do not restart it.
    want = EmgFilterBank(1000.0, 2, mains_freq=50.0).process(emg.data)[1] * 1e6
    assert np.concatenate(got).size == want.size
    assert np.all(np.abs(np.concatenate(got) - want) <= np.concatenate(res) / 2 + 1e-6)


def test_short_stretches_between_accel_gaps_join_the_emg(tmp_path: Path) -> None:
    # Every other frame lost from 5.1 s to 15 s: 49 stretches of 0.1 s between 50 gaps.
    path = tmp_path / "s.sqlite3"
    lost = set(range(28, 128, 2))
    sid = _build(path, lost=lost)
    with RecordingStore.open(path, readonly=True) as store:
        piece = select_sessions(store, session_id=sid)[0]
        every = plan_runs(store, piece, with_accel=True)
        merged = plan_runs(store, piece, with_accel=True, min_joint_s=MIN_JOINT_S)
    assert sum(r.accel is not None for r in every) == 51
    assert sum(r.accel is not None for r in merged) == 2
    for runs in (every, merged):
        # The runs cover the EMG exactly, the later ones continuing the first.
        assert [r.continues for r in runs] == [False] + [True] * (len(runs) - 1)
        assert all(a.emg[1] == b.emg[0] for a, b in zip(runs, runs[1:], strict=False))
        assert (runs[0].emg[0], runs[-1].emg[1]) == (0, 30_000)
    result = _export(path, sid, tmp_path / "m.edf")
    assert sum(f.n_emg_samples for f in result.files) == 30_000
    assert result.dropped_emg_samples == 0
    # The accelerometer of the 49 short stretches inside the flaky part is not written.
    n_acc = (_N_FRAMES - len(lost)) * 10
    assert sum(f.n_accel_samples for f in result.files) + result.dropped_accel_samples == n_acc
    assert result.dropped_accel_samples == 49 * 10 + 1  # and 1 at the end, as above
    # 9 files (the flaky 10 s as one EMG-only part and its tail) instead of 4 per gap.
    assert len(result.files) == 9


def test_bids_and_tables_keep_all_emg(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    sid = _build(path)
    with RecordingStore.open(path, readonly=True) as store:
        pieces = select_sessions(store, session_id=sid)
        bids = export_bids(store, pieces, tmp_path / "ds", subject="01")
        tables = export_tables(store, pieces, tmp_path / "t", fmt="csv")
    assert validate_bids(tmp_path / "ds") == []
    assert sum(f.n_emg_samples for f in bids.files) == 30_000
    for exported in bids.files:
        channels = exported.path.with_name(
            exported.path.name.replace("_emg.edf", "_channels.tsv")
        ).read_text()
        assert ("ACCEL" in channels) == (exported.n_accel_samples > 0)
    with (tmp_path / "t" / f"session{sid}_emg.csv").open() as handle:
        rows = list(csv.reader(handle))[1:]
    assert len(rows) == 30_000
    assert all(row[2] and row[3] for row in rows)
    assert tables.dropped_emg_samples == 0
