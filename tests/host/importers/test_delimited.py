"""CSV/TSV recordings: delimiters, time columns, units, gaps, and their errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from host.errors import ConfigError, RecordingError
from host.importers import delimited as delimited_module
from host.importers import open_recording, read_recording
from host.importers.channels import STANDARD_GRAVITY
from host.importers.delimited import time_column_scale

FS = 500.0


def signals(n: int, seed: int = 0) -> NDArray[np.float64]:
    """EMG left/right in µV and accelerometer x/y/z in g, shape (5, n)."""
    rng = np.random.default_rng(seed)
    emg = rng.normal(0, 60, (2, n))
    t = np.arange(n) / FS
    acc = np.vstack([0.1 * np.sin(t), np.zeros(n), np.full(n, 0.99)])
    return np.vstack([emg, acc])


def write_table(
    path: Path,
    header: list[str],
    times: list[str] | None,
    values: NDArray[np.float64],
    *,
    delim: str = ",",
    fmt: str = "{:.6f}",
    decimal_comma: bool = False,
) -> Path:
    lines = [delim.join(header)]
    for i in range(values.shape[1]):
        cells = [fmt.format(v) if np.isfinite(v) else "" for v in values[:, i]]
        if decimal_comma:
            cells = [c.replace(".", ",") for c in cells]
        lines.append(delim.join(([times[i]] if times is not None else []) + cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def seconds(n: int, first: float = 0.0) -> list[str]:
    return [f"{first + i / FS:.4f}" for i in range(n)]


def test_seconds_time_column_with_units(tmp_path: Path) -> None:
    data = signals(2000)
    header = ["time_s", "EMG L (uV)", "EMG R (uV)", "acc_x [g]", "acc_y [g]", "acc_z [g]"]
    path = write_table(tmp_path / "rec.csv", header, seconds(2000), data)
    info, emg, accel = read_recording(path)
    assert info.format == "csv"
    assert info.sfreq == FS
    assert info.accel_sfreq == FS
    assert info.n_times == 2000
    assert info.n_accel_times == 2000
    assert info.emg_labels == ("EMG L", "EMG R")
    assert info.sides == ("left", "right")
    assert info.accel_labels == ("acc_x", "acc_y", "acc_z")
    assert info.start is None
    assert info.annotations == ()
    assert info.warnings == ()
    assert np.allclose(emg, data[:2] * 1e-6, rtol=0, atol=1e-12)
    assert accel is not None
    assert np.allclose(accel, data[2:], rtol=0, atol=1e-6)


@pytest.mark.parametrize("block_s", [0.013, 1.0, 3.3, 100.0])
@pytest.mark.parametrize("chunk_lines", [7, 1 << 16])
def test_blocks_concatenate_to_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_s: float, chunk_lines: int
) -> None:
    data = signals(1500)
    times = seconds(1500)
    keep = np.ones(1500, dtype=bool)
    keep[100:137] = False  # a gap
    keep[1493:1499] = False  # a gap near the end
    header = ["t", "EMG L (uV)", "EMG R (uV)", "acc x (g)", "acc y (g)", "acc z (g)"]
    path = write_table(
        tmp_path / "gaps.csv",
        header,
        [t for t, k in zip(times, keep, strict=True) if k],
        data[:, keep],
    )
    monkeypatch.setattr(delimited_module, "_CHUNK_LINES", chunk_lines)
    info, emg, accel = read_recording(path)
    assert info.n_times == 1500
    assert np.array_equal(np.isnan(emg[0]), ~keep)
    assert np.allclose(emg[:, keep], data[:2, keep] * 1e-6, rtol=0, atol=1e-12)
    assert any("2 gap(s)" in w and "43 missing samples" in w for w in info.warnings)
    with open_recording(path) as reader:
        blocks = list(reader.blocks(block_s))
    n = max(1, round(block_s * FS))
    assert [b.first_sample for b in blocks] == list(range(0, 1500, n))
    assert all(b.first_accel_sample == b.first_sample for b in blocks)
    assert np.array_equal(np.hstack([b.emg for b in blocks]), emg, equal_nan=True)
    parts = [b.accel for b in blocks if b.accel is not None]
    assert accel is not None
    assert np.array_equal(np.hstack(parts), accel, equal_nan=True)


def test_iso_times_give_the_start_in_utc(tmp_path: Path) -> None:
    base = dt.datetime(2024, 5, 1, 8, 30, 0, 120000)
    times = [(base + dt.timedelta(seconds=i / FS)).isoformat() + "+02:00" for i in range(600)]
    path = write_table(tmp_path / "iso.csv", ["timestamp", "EMG (mV)"], times, signals(600)[:1])
    info, emg, _ = read_recording(path)
    assert info.sfreq == FS
    assert info.start == dt.datetime(2024, 5, 1, 6, 30, 0, 120000, tzinfo=dt.UTC)
    assert info.sides == ("left",)
    assert np.allclose(emg[0], signals(600)[0] * 1e-3, rtol=0, atol=1e-9)


def test_iso_times_with_z_and_without_zone(tmp_path: Path) -> None:
    base = dt.datetime(2023, 12, 31, 23, 59, 59)
    stamps = [(base + dt.timedelta(milliseconds=2 * i)).isoformat(sep=" ") for i in range(400)]
    header = ["Time", "EMG L (uV)", "EMG R (uV)"]
    path = write_table(tmp_path / "z.csv", header, [s + "Z" for s in stamps], signals(400)[:2])
    info, _, _ = read_recording(path)
    assert info.start == base.replace(tzinfo=dt.UTC)
    assert not any("UTC was assumed" in w for w in info.warnings)
    path = write_table(tmp_path / "naive.csv", header, stamps, signals(400)[:2])
    info, _, _ = read_recording(path)
    assert info.start == base.replace(tzinfo=dt.UTC)
    assert any("UTC was assumed" in w for w in info.warnings)


def test_semicolon_with_decimal_comma(tmp_path: Path) -> None:
    data = signals(300)
    times = [t.replace(".", ",") for t in seconds(300)]
    header = [
        "time",
        "emg_left_uV",
        "emg_right_uV",
        "ACC X (m/s^2)",
        "ACC Y (m/s^2)",
        "ACC Z (m/s^2)",
    ]
    scaled = data.copy()
    scaled[2:] *= STANDARD_GRAVITY
    path = write_table(tmp_path / "eu.csv", header, times, scaled, delim=";", decimal_comma=True)
    info, emg, accel = read_recording(path)
    assert info.sfreq == FS
    assert info.emg_labels == ("emg_left", "emg_right")
    assert np.allclose(emg, data[:2] * 1e-6, rtol=0, atol=1e-12)
    assert accel is not None
    assert np.allclose(accel, data[2:], rtol=0, atol=1e-6)
    assert any("decimal commas" in w for w in info.warnings)


def test_tsv_with_milliseconds_and_other_columns(tmp_path: Path) -> None:
    data = np.vstack([signals(250)[:2], np.arange(250)])
    times = [f"{i * 2}" for i in range(250)]  # ms at 500 Hz
    header = ["time (ms)", "EMG_R µV", "EMG_L µV", "marker"]
    path = write_table(tmp_path / "rec.tsv", header, times, data, delim="\t")
    info, emg, accel = read_recording(path)
    assert info.sfreq == FS
    assert info.sides == ("right", "left")
    assert info.other_labels == ("marker",)
    assert accel is None
    assert info.accel_sfreq is None
    assert np.allclose(emg, data[:2] * 1e-6, rtol=0, atol=1e-12)


def test_empty_cells_are_nan(tmp_path: Path) -> None:
    data = signals(100)[:2]
    data[0, 10] = np.nan
    data[1, 99] = np.nan
    path = write_table(
        tmp_path / "holes.csv", ["time", "EMG L (uV)", "EMG R (uV)"], seconds(100), data
    )
    _, emg, _ = read_recording(path)
    assert np.isnan(emg[0, 10])
    assert np.isnan(emg[1, 99])
    assert np.count_nonzero(np.isnan(emg)) == 2


def test_no_time_column_needs_sfreq(tmp_path: Path) -> None:
    data = signals(100)[:2]
    path = write_table(tmp_path / "bare.txt", ["EMG L (uV)", "EMG R (uV)"], None, data)
    with pytest.raises(RecordingError, match=r"no time column.*sfreq="):
        open_recording(path)
    info, emg, _ = read_recording(path, sfreq=250.0)
    assert info.sfreq == 250.0
    assert info.n_times == 100
    assert np.allclose(emg, data * 1e-6, rtol=0, atol=1e-12)
    with pytest.raises(ConfigError, match="sfreq must be a positive"):
        open_recording(path, sfreq=-1.0)


def test_sfreq_overrides_an_irregular_time_column(tmp_path: Path) -> None:
    times = [f"{i * 0.002 + (0.0003 if i % 2 else 0):.4f}" for i in range(100)]
    path = write_table(tmp_path / "jitter.csv", ["t", "EMG L (uV)"], times, signals(100)[:1])
    with pytest.raises(RecordingError, match=r"line 3: a time step of .*1 % at most.*sfreq="):
        open_recording(path)
    info, _, _ = read_recording(path, sfreq=500.0)
    assert info.n_times == 100
    assert any("time column not used" in w for w in info.warnings)


def test_unix_time_gives_a_start(tmp_path: Path) -> None:
    times = [f"{1714552200 + i / FS:.4f}" for i in range(100)]
    path = write_table(tmp_path / "unix.csv", ["timestamp", "EMG (uV)"], times, signals(100)[:1])
    info, _, _ = read_recording(path)
    assert info.start == dt.datetime(2024, 5, 1, 8, 30, tzinfo=dt.UTC)
    assert info.sfreq == FS
    assert any("Unix time" in w for w in info.warnings)


def test_missing_unit_assumed_volts_when_values_look_like_volts(tmp_path: Path) -> None:
    data = signals(200)[:2] * 1e-6
    path = write_table(
        tmp_path / "volts.csv", ["t", "EMG L", "EMG R"], seconds(200), data, fmt="{:.9e}"
    )
    info, emg, _ = read_recording(path)
    assert np.allclose(emg, data, rtol=1e-8)
    assert sum("look like volts" in w for w in info.warnings) == 2


def test_missing_unit_with_microvolt_values_asks_for_emg_unit(tmp_path: Path) -> None:
    data = signals(200)[:2]
    path = write_table(tmp_path / "uv.csv", ["t", "EMG L", "EMG R"], seconds(200), data)
    with pytest.raises(RecordingError, match=r"'EMG L' gives no unit .*emg_unit="):
        open_recording(path)
    info, emg, _ = read_recording(path, emg_unit="uV")
    assert np.allclose(emg, data * 1e-6, rtol=0, atol=1e-12)
    assert info.warnings == ()


def test_unknown_unit_is_named(tmp_path: Path) -> None:
    path = write_table(tmp_path / "k.csv", ["t", "EMG L (kOhm)"], seconds(10), signals(10)[:1])
    with pytest.raises(RecordingError, match=r"'EMG L' has unit 'kOhm'"):
        open_recording(path)


def test_header_row_is_required(tmp_path: Path) -> None:
    path = tmp_path / "noheader.csv"
    path.write_text("0.000,1.5,2.5\n0.002,1.6,2.4\n")
    with pytest.raises(RecordingError, match="header row naming the columns"):
        open_recording(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "empty file"),
        ("time,EMG (uV)\n", "no data rows"),
        ("time,EMG (uV)\n0.0,1\n", "single data row"),
        ("time,EMG (uV)\n0.0,1\n0.002,1\n0.001,1\n", r"line 4: time does not increase"),
        ("time,EMG (uV)\n0.0,1\nsoon,1\n", "not a number"),
        ("time,EMG (uV)\nnoon,1\n0.1,1\n", "expected seconds or an ISO-8601"),
        ("time,EMG (uV)\n0.0,1\n0.002,abc\n", r"lines 2\.\.3 as numbers"),
        ("time,EMG (uV)\n0.0,1\n,1\n", "line 3: empty time value"),
        ("time,ECG (mV)\n0.0,1\n0.002,1\n", "no EMG channel"),
    ],
)
def test_malformed_files(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(RecordingError, match=message):
        open_recording(path)


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bin.csv"
    path.write_bytes(b"time,EMG (uV)\n" + bytes(range(128, 256)) * 3)
    with pytest.raises(RecordingError, match="not a UTF-8 text file"):
        open_recording(path)


def test_mixed_time_zones_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "tz.csv"
    path.write_text("time,EMG (uV)\n2024-01-01T00:00:00.000Z,1\n2024-01-01T00:00:00.002+01:00,1\n")
    with pytest.raises(RecordingError, match="mixes time zones"):
        open_recording(path)


@pytest.mark.parametrize(
    ("label", "unit", "scale"),
    [
        ("time", "", 1.0),
        ("time_s", "", 1.0),
        ("t", "s", 1.0),
        ("Seconds", "", 1.0),
        ("timestamp", "", 1.0),
        ("time_ms", "", 1e-3),
        ("time", "ms", 1e-3),
        ("time_s", "ms", None),
        ("time", "h", None),
        ("timer", "", None),
        ("EMG", "", None),
    ],
)
def test_time_column_names(label: str, unit: str, scale: float | None) -> None:
    assert time_column_scale(label, unit) == scale
