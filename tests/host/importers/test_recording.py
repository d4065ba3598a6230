"""The entry points: format choice, missing files, options common to every format."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from host.errors import ConfigError, RecordingError, SpasmwatchError
from host.importers import (
    FORMATS,
    SUFFIXES,
    RecordingInfo,
    open_recording,
    read_recording,
)
from host.importers.delimited import DelimitedReader
from host.importers.recording import accel_bound, block_length, rate_ratio

CSV = "time,EMG L (uV),EMG R (uV)\n" + "".join(f"{i / 100:.2f},{i},{-i}\n" for i in range(50))


def test_recording_error_is_a_value_error() -> None:
    assert issubclass(RecordingError, SpasmwatchError)
    assert issubclass(RecordingError, ValueError)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"nothere\.edf: no such file"):
        open_recording(tmp_path / "nothere.edf")


def test_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "rec.csv"
    folder.mkdir()
    with pytest.raises(RecordingError, match="is a folder"):
        open_recording(folder)


@pytest.mark.parametrize("name", ["rec.mat", "rec", "rec.edf.gz"])
def test_unsupported_extension_lists_supported_formats(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(CSV)
    with pytest.raises(RecordingError) as info:
        open_recording(path)
    message = str(info.value)
    assert "unsupported file type" in message
    for part in (".edf", ".bdf", ".csv", ".tsv", ".txt", ".sw1", "format="):
        assert part in message


def test_format_option_reads_any_name(tmp_path: Path) -> None:
    path = tmp_path / "rec.dat"
    path.write_text(CSV)
    info, emg, _ = read_recording(path, format="TSV")
    assert info.format == "csv"
    assert info.sfreq == 100.0
    assert np.allclose(emg[1], -np.arange(50) * 1e-6)
    with pytest.raises(RecordingError, match=r"unsupported format 'mat'.*edf, bdf, csv, tsv, sw1"):
        open_recording(path, format="mat")


def test_extensions_are_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "REC.CSV"
    path.write_text(CSV)
    assert read_recording(path)[0].n_times == 50
    assert set(SUFFIXES.values()) <= set(FORMATS)


def test_info_and_blocks_share_the_contract(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text(CSV)
    with open_recording(path) as reader:
        info = reader.info
        assert isinstance(info, RecordingInfo)
        assert info.duration_s == 0.5
        first = next(reader.blocks(0.2))
        assert first.emg.shape == (2, 20)
        assert first.accel is None
        assert first.first_sample == 0
        assert first.first_accel_sample == 0
    with pytest.raises(RecordingError, match="closed"):
        reader.blocks()


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.csv"
    path.write_text(CSV)

    def refuse(p: Path) -> None:
        raise PermissionError(13, "Permission denied", str(p))

    monkeypatch.setattr(DelimitedReader, "_text", staticmethod(refuse))
    with pytest.raises(RecordingError, match=r"locked\.csv: permission denied"):
        open_recording(path)


def test_block_length_and_accel_bounds() -> None:
    assert block_length(10.0, 1000.0) == 10000
    assert block_length(1e-9, 1000.0) == 1
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="block_s"):
            block_length(bad, 1000.0)
    ratio = rate_ratio(100.0, 1000.0)
    assert ratio == Fraction(1, 10)
    # 24 h at 1 kHz and 100 Hz: no drift, exact ceil.
    n_times, n_accel = 86_400_000, 8_640_000
    assert accel_bound(86_399_991, ratio, n_times, n_accel) == 8_640_000
    assert accel_bound(86_399_990, ratio, n_times, n_accel) == 8_639_999
    assert accel_bound(n_times, ratio, n_times, n_accel + 1) == n_accel + 1
    assert rate_ratio(1000.0 / 3, 1000.0) == pytest.approx(1 / 3, rel=1e-9)
