"""WFDB records written by wfdb.wrsamp (an independent writer), read back."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import wfdb

from host.errors import RecordingError
from host.importers import open_recording, read_recording


def _write(
    tmp_path: Path, *, spf: int = 1, units: str = "uV"
) -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    n_frames = 3000
    emg = rng.normal(0, 40.0, (2, n_frames * spf))
    acc = rng.normal(0, 0.2, (3, n_frames)) + np.array([[0.0], [0.0], [1.0]])
    wfdb.wrsamp(
        "rec",
        fs=200.0,
        units=[units, units, "g", "g", "g"],
        sig_name=["EMG R", "EMG L", "Acc X", "Acc Y", "Acc Z"],
        e_p_signal=[emg[0], emg[1], acc[0], acc[1], acc[2]],
        samps_per_frame=[spf, spf, 1, 1, 1],
        fmt=["16"] * 5,
        adc_gain=[100.0, 100.0, 1000.0, 1000.0, 1000.0],
        baseline=[0] * 5,
        base_date=None,
        write_dir=str(tmp_path),
    )
    return tmp_path / "rec.hea", emg, acc


@pytest.mark.parametrize("spf", [1, 5])
def test_record_reads_back_within_its_resolution(tmp_path: Path, spf: int) -> None:
    path, emg, acc = _write(tmp_path, spf=spf)
    info, got, got_acc = read_recording(path)
    assert info.format == "wfdb"
    assert info.sfreq == 200.0 * spf
    assert info.accel_sfreq == 200.0
    assert info.emg_labels == ("EMG R", "EMG L")
    assert info.sides == ("right", "left")
    assert got.shape == emg.shape
    # 1/100 uV per digital step, read in volts.
    np.testing.assert_allclose(got, emg * 1e-6, atol=0.5e-8 * (1 + 1e-9))
    assert got_acc is not None
    np.testing.assert_allclose(got_acc, acc, atol=0.5e-3 * (1 + 1e-9))


def test_blocks_concatenate_to_the_whole_record(tmp_path: Path) -> None:
    path, _, _ = _write(tmp_path, spf=5)
    _, whole, whole_acc = read_recording(path)
    with open_recording(path) as reader:
        blocks = list(reader.blocks(block_s=0.37))
    assert np.array_equal(np.concatenate([b.emg for b in blocks], axis=1), whole)
    assert whole_acc is not None
    acc = np.concatenate([b.accel for b in blocks if b.accel is not None], axis=1)
    assert np.array_equal(acc, whole_acc)


def test_missing_wfdb_package_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _, _ = _write(tmp_path)
    monkeypatch.setitem(sys.modules, "wfdb", None)
    with pytest.raises(RecordingError, match="pip install wfdb"):
        open_recording(path)


def test_bad_records_are_refused(tmp_path: Path) -> None:
    path, _, _ = _write(tmp_path, units="furlongs")
    with pytest.raises(RecordingError, match="not a voltage unit"):
        open_recording(path)
    with pytest.raises(RecordingError, match="no such file"):
        open_recording(tmp_path / "none.hea")
    bad = tmp_path / "bad.hea"
    bad.write_text("this is not a header\n")
    with pytest.raises(RecordingError, match="bad.hea"):
        open_recording(bad)
