"""BIDS export: layout, sidecars and the rules of the specification (own checker)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mne
import numpy as np
import pandas as pd
import pytest

from host.errors import ConfigError
from host.export.bids import REQUIRED_SIDECAR_FIELDS, check_label, export_bids, validate_bids
from host.export.selection import SignalOptions, select_sessions
from host.storage import RecordingStore


def _export(built: Any, root: Path, **kwargs: Any) -> Any:
    with RecordingStore.open(built.path, readonly=True) as store:
        pieces = select_sessions(store, session_id=built.session_id)
        return export_bids(store, pieces, root, **kwargs)


def test_bids_dataset_is_valid(make_store: Any, tmp_path: Path) -> None:
    built = make_store()
    root = tmp_path / "ds"
    result = _export(
        built,
        root,
        subject="01",
        session_label="home",
        power_line_freq=50.0,
        options=SignalOptions(filtered=True, mains_freq=50.0),
    )
    assert validate_bids(root) == []
    emg_dir = root / "sub-01" / "ses-home" / "emg"
    names = sorted(p.name for p in emg_dir.iterdir())
    assert "sub-01_ses-home_task-daily_run-1_emg.edf" in names
    assert "sub-01_ses-home_task-daily_run-2_emg.edf" in names
    assert [f.path.parent for f in result.files] == [emg_dir, emg_dir]
    sidecar = json.loads((emg_dir / "sub-01_ses-home_task-daily_run-1_emg.json").read_text())
    assert set(REQUIRED_SIDECAR_FIELDS) <= set(sidecar)
    assert sidecar["SamplingFrequency"] == 1000.0
    assert sidecar["PowerLineFrequency"] == 50.0
    assert sidecar["EMGChannelCount"] == 2
    assert sidecar["RecordingDuration"] == 20.0
    band = sidecar["SoftwareFilters"]["spasmwatch EmgFilterBank"]
    assert (band["HighpassCutoffHz"], band["LowpassCutoffHz"], band["NotchHz"]) == (20, 450, 50)
    channels = pd.read_csv(emg_dir / "sub-01_ses-home_task-daily_run-1_channels.tsv", sep="\t")
    assert channels["type"].tolist() == ["EMG", "EMG", "ACCEL", "ACCEL", "ACCEL"]
    assert channels["units"].tolist() == ["uV", "uV", "g", "g", "g"]
    events = pd.read_csv(emg_dir / "sub-01_ses-home_task-daily_run-1_events.tsv", sep="\t")
    assert events["onset"].tolist()[:2] == [5.5, 12.0]
    assert events["trial_type"].tolist()[:2] == ["spasm", "marker"]
    events2 = pd.read_csv(emg_dir / "sub-01_ses-home_task-daily_run-2_events.tsv", sep="\t")
    assert events2["onset"].tolist() == [8.25]  # 30.25 s, the second file starts at 22 s
    participants = pd.read_csv(root / "participants.tsv", sep="\t")
    assert participants["participant_id"].tolist() == ["sub-01"]
    raw = mne.io.read_raw_edf(emg_dir / "sub-01_ses-home_task-daily_run-2_emg.edf", verbose="error")
    assert raw.n_times == 18_000
    # A second subject joins the same dataset.
    _export(built, root, subject="02", overwrite=True)
    assert validate_bids(root) == []
    assert (root / "sub-02" / "emg" / "sub-02_task-daily_run-1_emg.edf").is_file()
    assert pd.read_csv(root / "participants.tsv", sep="\t")["participant_id"].tolist() == [
        "sub-01",
        "sub-02",
    ]


@pytest.mark.parametrize(
    ("kwargs", "entity"),
    [
        ({"subject": "patient-07"}, "subject"),
        ({"subject": "01", "task": "free living"}, "task"),
        ({"subject": "01", "session_label": "a_b"}, "session"),
        ({"subject": ""}, "subject"),
    ],
)
def test_illegal_labels(make_store: Any, tmp_path: Path, kwargs: Any, entity: str) -> None:
    built = make_store(gap_s=None, n_seconds=2)
    with pytest.raises(ConfigError, match=f"BIDS {entity} label .* letters and digits"):
        _export(built, tmp_path / "ds", **kwargs)
    assert not (tmp_path / "ds").exists()
    assert check_label("task", "daily2") == "daily2"


def test_checker_finds_problems(make_store: Any, tmp_path: Path) -> None:
    built = make_store(gap_s=None, n_seconds=3)
    root = tmp_path / "ds"
    _export(built, root, subject="01")
    emg_dir = root / "sub-01" / "emg"
    sidecar_path = emg_dir / "sub-01_task-daily_emg.json"
    sidecar = json.loads(sidecar_path.read_text())
    del sidecar["EMGReference"]
    sidecar["SamplingFrequency"] = "1000"
    sidecar_path.write_text(json.dumps(sidecar))
    (emg_dir / "sub-01_task-daily_emg.edf").rename(emg_dir / "sub-01_task-da_ily_emg.edf")
    (root / "participants.tsv").write_text("participant_id\n")
    (root / "dataset_description.json").write_text('{"Name": "x"}')
    problems = validate_bids(root)
    assert any("BIDSVersion" in p for p in problems)
    assert any("sub-01 is not listed" in p for p in problems)
    assert any("not a valid BIDS EMG file name" in p for p in problems)
    (emg_dir / "sub-01_task-da_ily_emg.edf").rename(emg_dir / "sub-01_task-daily_emg.edf")
    problems = validate_bids(root)
    assert any("lacks the required field EMGReference" in p for p in problems)
    assert any("SamplingFrequency must be a number" in p for p in problems)


def test_bids_tail_file_is_a_run_of_its_own(make_store: Any, tmp_path: Path) -> None:
    built = make_store()  # 20 s, a 2 s gap, 18 s
    root = tmp_path / "ds"
    # 0.3 s records: the first run ends 0.2 s after its last whole record.
    result = _export(built, root, subject="01", record_s=0.3)
    assert validate_bids(root) == []
    assert result.dropped_emg_samples == 0
    assert [f.n_emg_samples for f in result.files] == [19_800, 200, 18_000]
    emg_dir = root / "sub-01" / "emg"
    base = "sub-01_task-daily_run-"
    tail = json.loads((emg_dir / f"{base}2_emg.json").read_text())
    assert tail["RecordingDuration"] == pytest.approx(0.2)
    raw = mne.io.read_raw_edf(emg_dir / f"{base}2_emg.edf", verbose="error")
    assert raw.n_times == 200
    # The gap's events (at 20 s) belong to the tail (19.8-20 s), the episode at 30.25 s to
    # the run after the gap (from 22 s).
    events2 = pd.read_csv(emg_dir / f"{base}2_events.tsv", sep="\t")
    assert set(events2["trial_type"]) == {"gap", "link"}
    assert np.allclose(events2["onset"], 0.2)
    events3 = pd.read_csv(emg_dir / f"{base}3_events.tsv", sep="\t")
    assert events3["onset"].tolist() == [8.25]
