"""``spasmwatch export``: every format from the command line, and exit 2 on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyedflib
import pytest

from host.cli import main
from host.cli.export import parse_utc
from host.errors import ConfigError
from host.storage import RecordingStore

T0_US = 1_714_550_400_000_000  # 2024-05-01T08:00:00Z


def _build(data_dir: Path, wearer: str = "alice") -> None:
    rng = np.random.default_rng(1)
    with RecordingStore.open(data_dir / f"{wearer}.sqlite3") as store:
        for k in range(2):
            start = T0_US + k * 3_600_000_000
            sid = store.start_session(
                source_url="sim://t",
                sfreq=1000.0,
                channel_names=["L", "R"],
                emg_volts_per_count=0.195e-6,
                accel_sfreq=100.0,
                accel_g_per_count=1 / 4096,
                started_us=start,
            )
            for sec in range(6):
                t = start + sec * 1_000_000
                store.append_emg(sid, sec * 1000, rng.integers(-99, 99, (2, 1000)), t, t + 10**6)
                store.append_accel(sid, sec * 100, rng.integers(-9, 9, (3, 100)), t, t + 10**6)
            store.commit()
            store.add_marker(start + 2_000_000, f"marker {k}", session_id=sid)
            store.commit()
            store.end_session(sid)


def run(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str, str]:
    status = main(["export", "--data-dir", str(data_dir), "--wearer", "alice", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_export_session_edf(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _build(tmp_path)
    out_file = tmp_path / "out" / "s1.edf"
    status, out, err = run(
        capsys, tmp_path, "--session", "1", "-o", str(out_file), "--anonymize", "--sex", "F"
    )
    assert status == 0, err
    assert "edf: raw (no software filter), microvolts" in out
    with pyedflib.EdfReader(str(out_file)) as reader:
        assert reader.getFileDuration() == 6
        assert reader.getPatientName() == "X"
        assert list(reader.readAnnotations()[2]) == ["marker: marker 0"]


def test_export_time_range_across_sessions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _build(tmp_path)
    status, out, err = run(
        capsys,
        tmp_path,
        "--start",
        "2024-05-01T08:00:03Z",
        "--end",
        "2024-05-01T09:00:02",
        "--format",
        "bdf",
        "-o",
        str(tmp_path / "r.bdf"),
    )
    assert status == 0, err
    first, second = tmp_path / "r_part01.bdf", tmp_path / "r_part02.bdf"
    with pyedflib.EdfReader(str(first)) as reader:
        assert reader.getFileDuration() == 3  # 08:00:03-08:00:06 of session 1
        assert reader.getStartdatetime().second == 3
    with pyedflib.EdfReader(str(second)) as reader:
        assert reader.getFileDuration() == 2  # 09:00:00-09:00:02 of session 2
        assert list(reader.readAnnotations()[2]) == []  # its marker is at 09:00:02


@pytest.mark.parametrize("fmt", ["csv", "parquet", "bids"])
def test_export_folders(capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str) -> None:
    _build(tmp_path)
    extra = ["--subject", "01", "--power-line", "50"] if fmt == "bids" else []
    status, out, err = run(
        capsys, tmp_path, "--session", "2", "--format", fmt, "-o", str(tmp_path / fmt), *extra
    )
    assert status == 0, err
    if fmt == "bids":
        assert (tmp_path / "bids" / "sub-01" / "emg" / "sub-01_task-daily_emg.edf").is_file()
    else:
        assert (tmp_path / fmt / f"session2_emg.{fmt}").is_file()
        assert (tmp_path / fmt / f"session2_markers.{fmt}").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--session", "7", "-o", "x.edf"], "no session 7"),
        (["--start", "2023-01-01", "--end", "2023-01-02", "-o", "x.edf"], "no EMG samples"),
        (["-o", "x.edf"], "name a session"),
        (["--start", "yesterday", "-o", "x.edf"], "ISO 8601"),
        (["--session", "1", "-o", "/proc/spasmwatch/x.edf"], "cannot write the export"),
        (["--session", "1", "--format", "bids", "-o", "b"], "BIDS subject label 'alice_1'"),
        (["--session", "1", "--units", "counts", "--filtered", "-o", "x.edf"], "counts"),
        (["--session", "1", "--birthdate", "3 May", "-o", "x.edf"], "YYYY-MM-DD"),
    ],
)
def test_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    _build(tmp_path, wearer="alice")
    (tmp_path / "alice.sqlite3").rename(tmp_path / "alice_1.sqlite3")
    monkeypatch.chdir(tmp_path)
    status = main(["export", "--data-dir", str(tmp_path), "--wearer", "alice_1", *args])
    _, err = capsys.readouterr()
    assert status == 2
    assert message in err


def test_missing_store_and_parse_utc(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run(capsys, tmp_path, "--session", "1", "-o", str(tmp_path / "x.edf"))
    assert status == 2
    assert "no store for wearer 'alice'" in err
    assert parse_utc("2024-05-01T08:00:00.5Z", "--start") == T0_US + 500_000
    assert parse_utc("2024-05-01T10:00:00+02:00", "--start") == T0_US
    with pytest.raises(ConfigError, match="--end"):
        parse_utc("", "--end")


def test_accel_gap_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    with RecordingStore.open(tmp_path / "alice.sqlite3") as store:
        sid = store.start_session(
            source_url="sim://t",
            sfreq=1000.0,
            channel_names=["L", "R"],
            emg_volts_per_count=0.195e-6,
            accel_sfreq=100.0,
            accel_g_per_count=1 / 4096,
            started_us=T0_US,
        )
        for sec in range(4):
            t = T0_US + sec * 1_000_000
            store.append_emg(sid, sec * 1000, rng.integers(-99, 99, (2, 1000)), t, t + 10**6)
            if sec != 2:  # the accelerometer alone loses its third second
                store.append_accel(sid, sec * 100, rng.integers(-9, 9, (3, 100)), t, t + 10**6)
        store.commit()
        store.end_session(sid)
    status, out, err = run(capsys, tmp_path, "--session", "1", "-o", str(tmp_path / "g.edf"))
    assert status == 0, err
    lines = [line for line in out.splitlines() if ".edf" in line]
    assert len(lines) == 3
    assert ["EMG only" in line for line in lines] == [False, True, False]
    assert "not written" not in out
    total = 0
    for k in (1, 2, 3):
        with pyedflib.EdfReader(str(tmp_path / f"g_part0{k}.edf")) as reader:
            total += reader.getNSamples()[0]
    assert total == 4000
