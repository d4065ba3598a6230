"""The researchers' API: load_session, events_table, to_mne, and the documented example."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mne
import numpy as np
import pytest

from dsp.filterbank import EmgFilterBank
from host.errors import ConfigError
from host.research import load_session
from host.storage import RecordingStore

T0_US = 1_714_550_400_250_000


def _build(path: Path) -> int:
    rng = np.random.default_rng(3)
    with RecordingStore.open(path) as store:
        sid = store.start_session(
            source_url="sim://t",
            sfreq=1000.0,
            channel_names=["L", "R"],
            emg_volts_per_count=0.195e-6,
            accel_sfreq=100.0,
            accel_g_per_count=1 / 4096,
            started_us=T0_US,
        )
        for sec in range(12):
            if sec in (6, 7):
                continue
            t = T0_US + sec * 1_000_000
            store.append_emg(sid, sec * 1000, rng.integers(-999, 999, (2, 1000)), t, t + 10**6)
            store.append_accel(sid, sec * 100, rng.integers(-99, 99, (3, 100)), t, t + 10**6)
        store.commit()
        ep = store.add_episode(
            sid,
            {
                "start_sample": 2000,
                "end_sample": 3500,
                "involuntary": True,
                "kind": "spasm",
                "side": "both",
                "confidence": 0.75,
            },
        )
        store.add_marker(T0_US + 9_000_000, "stood up", session_id=sid)
        store.commit()
        store.add_label(ep, "artefact", author="me")
        store.end_session(sid)
    return sid


def test_load_session_arrays_and_events(tmp_path: Path) -> None:
    path = tmp_path / "alice.sqlite3"
    sid = _build(path)
    rec = load_session(sid, wearer="alice", data_dir=tmp_path)
    with RecordingStore.open(path, readonly=True) as store:
        emg = store.read_emg(sid)
        acc = store.read_accel(sid)
    assert rec.data.shape == (2, 12_000)
    assert np.array_equal(rec.data, emg.data, equal_nan=True)
    assert np.isnan(rec.data[:, 6000:8000]).all()
    assert rec.sfreq == 1000.0
    assert rec.ch_names == ("L", "R")
    assert np.array_equal(rec.times_us, emg.times_us())
    assert rec.times[1000] == 1.0
    assert rec.meas_date.timestamp() == T0_US / 1e6
    assert rec.accel is not None
    assert np.array_equal(rec.accel, acc.data, equal_nan=True)
    assert rec.accel_sfreq == 100.0
    table = rec.events_table()
    episode = table[table["category"] == "episode"].iloc[0]
    assert (episode["onset_s"], episode["duration_s"], episode["side"]) == (2.0, 1.5, "both")
    assert episode["labels"] == "artefact"
    assert table[table["category"] == "marker"]["onset_s"].tolist() == [9.0]
    assert sorted(table[table["category"] == "gap"]["duration_s"]) == [2.0, 2.0]


def test_to_mne_annotations_and_filtered(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    sid = _build(path)
    rec = load_session(sid, store=path)
    raw = rec.to_mne()
    assert isinstance(raw, mne.io.RawArray)
    assert raw.get_channel_types() == ["emg", "emg"]
    assert raw.info["meas_date"] == rec.meas_date
    descriptions = list(raw.annotations.description)
    assert descriptions.count("BAD_gap") == 2
    assert any(d.startswith("episode spasm side=both") for d in descriptions)
    assert raw.annotations.onset[descriptions.index("marker: stood up")] == pytest.approx(9.0)
    good = raw.get_data(reject_by_annotation="omit")
    assert good.shape[1] == 10_000
    assert not np.isnan(good).any()
    filt = load_session(sid, store=path, filtered=True, start_s=1.0, stop_s=11.0)
    assert filt.data.shape == (2, 10_000)
    assert filt.filtered == "HP:20Hz LP:450Hz"
    want = EmgFilterBank(1000.0, 2).process(rec.data[:, 1000:6000])
    assert np.allclose(filt.data[:, :5000], want, atol=1e-15)
    assert np.isnan(filt.data[:, 5000:7000]).all()
    assert [e.category for e in filt.events][:1] == ["episode"]


def test_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    _build(path)
    with pytest.raises(ConfigError, match="no session 5"):
        load_session(5, store=path)
    with pytest.raises(ConfigError, match="holds no EMG"):
        load_session(1, store=path, start_s=100.0)


def test_example_script_runs(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite3"
    sid = _build(path)
    script = Path(__file__).resolve().parents[2] / "docs" / "examples" / "load_session.py"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(script), "--store", str(path), "--session", str(sid)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(root), "MPLBACKEND": "Agg"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "2 EMG channels at 1000 Hz" in done.stdout
    assert "episodes: 1" in done.stdout
