"""CSV and Parquet export: read back with pandas and pyarrow, compared with the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from host.errors import ConfigError
from host.export.selection import SignalOptions, select_sessions
from host.export.tables import export_tables
from host.storage import RecordingStore


def _export(built: Any, out: Path, **kwargs: Any) -> Any:
    with RecordingStore.open(built.path, readonly=True) as store:
        pieces = select_sessions(store, session_id=built.session_id)
        return export_tables(store, pieces, out, **kwargs)


def _stored(built: Any) -> tuple[Any, Any]:
    with RecordingStore.open(built.path, readonly=True) as store:
        return store.read_emg(built.session_id), store.read_accel(built.session_id)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_signal_tables_round_trip(make_store: Any, tmp_path: Path, fmt: str) -> None:
    built = make_store()
    result = _export(built, tmp_path / "out", fmt=fmt)
    emg, acc = _stored(built)
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    table = read(tmp_path / "out" / f"session1_emg.{fmt}")
    assert list(table.columns) == ["time_s", "time_utc", "L [uV]", "R [uV]"]
    assert len(table) == emg.n_times
    values = table[["L [uV]", "R [uV]"]].to_numpy().T
    assert np.array_equal(np.isnan(values), np.isnan(emg.data))  # gaps: empty cells / null
    ok = ~np.isnan(emg.data)
    assert np.allclose(values[ok], emg.data[ok] * 1e6, rtol=1e-12, atol=0)
    times = pd.to_datetime(table["time_utc"], utc=True)
    got_us = (times - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)
    assert np.array_equal(got_us.to_numpy(), emg.times_us())
    assert np.allclose(table["time_s"], (emg.times_us() - emg.times_us()[0]) / 1e6, atol=1e-9)
    accel = read(tmp_path / "out" / f"session1_accel.{fmt}")
    assert list(accel.columns)[2:] == ["x [g]", "y [g]", "z [g]"]
    got = accel[["x [g]", "y [g]", "z [g]"]].to_numpy().T
    assert np.array_equal(np.isnan(got), np.isnan(acc.data))
    assert np.allclose(got[~np.isnan(got)], acc.data[~np.isnan(acc.data)], rtol=1e-12)
    assert result.files[0].n_emg_samples == emg.n_times
    meta = json.loads((tmp_path / "out" / "export.json").read_text())
    assert meta["values"] == "raw (no software filter), microvolts"


def test_event_tables(make_store: Any, tmp_path: Path) -> None:
    built = make_store()
    _export(built, tmp_path / "out")
    with RecordingStore.open(built.path, readonly=True) as store:
        episodes = store.episodes(session_id=built.session_id)
        labels = store.labels()
        gaps = store.gaps(built.session_id)
    table = pd.read_csv(tmp_path / "out" / "session1_episodes.csv")
    assert list(table["episode_id"]) == [e.id for e in episodes]
    assert list(table["side"]) == ["left", "right"]
    assert table["duration_s"].tolist() == [2.75, 2.75]
    assert table["onset_s"].tolist() == [5.5, 30.25]
    assert table["labels"].fillna("").tolist() == ["spasm", ""]
    lab = pd.read_csv(tmp_path / "out" / "session1_labels.csv")
    assert lab["label"].tolist() == [labels[0].label]
    markers = pd.read_csv(tmp_path / "out" / "session1_markers.csv")
    assert markers["text"].tolist() == ["pain\t7/10"]
    assert markers["onset_s"].tolist() == [12.0]
    gap_table = pd.read_csv(tmp_path / "out" / "session1_gaps.csv")
    assert gap_table["n_samples"].tolist() == [gaps[0].n_samples, 200]
    links = pd.read_csv(tmp_path / "out" / "session1_link_events.csv")
    assert links["kind"].tolist() == ["gap"]


def test_counts_and_filtered_state_it(make_store: Any, tmp_path: Path) -> None:
    built = make_store()
    _export(built, tmp_path / "c", options=SignalOptions(units="counts"))
    emg, _ = _stored(built)
    table = pd.read_csv(tmp_path / "c" / "session1_emg.csv")
    counts = table["L [counts]"].to_numpy()
    ok = ~np.isnan(emg.data[0])
    assert np.array_equal(counts[ok], np.rint(emg.data[0, ok] / 0.195e-6))
    _export(built, tmp_path / "f", fmt="parquet", options=SignalOptions(filtered=True))
    schema = pq.read_schema(tmp_path / "f" / "session1_emg.parquet")
    assert schema.metadata[b"spasmwatch.values"].decode().startswith("filtered HP:20Hz LP:450Hz")
    assert schema.field("L [uV]").metadata[b"unit"] == b"uV"
    frame = pd.read_parquet(tmp_path / "f" / "session1_emg.parquet")
    assert frame["L [uV]"].isna().sum() == 2000  # the gap, the filter restarted after it


def test_existing_files_refused(make_store: Any, tmp_path: Path) -> None:
    built = make_store(gap_s=None, n_seconds=2)
    _export(built, tmp_path / "o")
    with pytest.raises(ConfigError, match="exists"):
        _export(built, tmp_path / "o")
    with pytest.raises(ConfigError, match="'fmt'"):
        _export(built, tmp_path / "o2", fmt="xlsx")
