"""``spasmwatch analyze``: files written by independent writers, analysed as a user runs it."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
from pathlib import Path

import numpy as np
import pyedflib
import pytest
from numpy.typing import NDArray

from host.cli import main
from host.simulator.body import BodySimulator
from host.simulator.scenario import TruthEvent, builtin_scenario

FS = 1000.0
FA = 100.0
START = dt.datetime(2024, 3, 5, 10, 20, 30)
#: Physical range of the EMG channels, µV: about the input range of the device's ADC.
EMG_RANGE_UV = 3200.0
EPISODE_FIELDS = ("start_s", "end_s", "side", "involuntary", "kind", "confidence", "peak")


def write_edf(
    path: Path,
    signals: list[tuple[str, str, float, NDArray[np.float64], float]],
    start: dt.datetime = START,
) -> Path:
    """Write an EDF+ file with pyedflib: ``(label, unit, sfreq, data, range)`` per signal."""
    writer = pyedflib.EdfWriter(str(path), len(signals), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setSignalHeaders(
            [
                {
                    "label": label,
                    "dimension": unit,
                    "sample_frequency": sfreq,
                    "physical_min": -span,
                    "physical_max": span,
                    "digital_min": -32768,
                    "digital_max": 32767,
                    "transducer": "",
                    "prefilter": "",
                }
                for label, unit, sfreq, _, span in signals
            ]
        )
        writer.setStartdatetime(start)
        writer.writeSamples(
            [np.ascontiguousarray(np.clip(d, -span, span)) for _, _, _, d, span in signals]
        )
    finally:
        writer.close()
    return path


class QuickFiles:
    """The quick scenario written once as EDF+ (EMG + accelerometer) and as a short CSV."""

    def __init__(self, folder: Path) -> None:
        scenario = builtin_scenario("quick")
        body = BodySimulator(scenario, FS, FA, seed=1)
        emg_v, accel_g = body.read(round(scenario.duration_s * FS))
        self.truth: list[TruthEvent] = body.truth()
        emg_uv = emg_v * 1e6
        self.edf = write_edf(
            folder / "quick.edf",
            [
                ("EMG L", "uV", FS, emg_uv[0], EMG_RANGE_UV),
                ("EMG R", "uV", FS, emg_uv[1], EMG_RANGE_UV),
                ("Accel X", "g", FA, accel_g[0], 8.0),
                ("Accel Y", "g", FA, accel_g[1], 8.0),
                ("Accel Z", "g", FA, accel_g[2], 8.0),
            ],
        )
        # 70 s of EMG only, with a time column in seconds.
        n = round(70.0 * FS)
        lines = ["time_s,EMG L (uV),EMG R (uV)"]
        lines.extend(f"{i / FS:.3f},{emg_uv[0, i]:.3f},{emg_uv[1, i]:.3f}" for i in range(n))
        self.csv = folder / "quick70.csv"
        self.csv.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> QuickFiles:
    return QuickFiles(tmp_path_factory.mktemp("analyze"))


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(["analyze", *args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def edf_json(files: QuickFiles) -> dict[str, object]:
    """The JSON output for the EDF file (run once; capsys is function-scoped)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = main(["analyze", str(files.edf), "--json"])
    assert status == 0
    data: dict[str, object] = json.loads(buffer.getvalue())
    return data


def spasms(truth: list[TruthEvent]) -> list[TruthEvent]:
    kinds = ("tonic", "cramp", "myoclonic", "clonic")
    return [e for e in truth if e.category == "contraction" and e.involuntary and e.kind in kinds]


# --------------------------------------------------------------------------- JSON


def test_json_has_episodes_twitches_and_summary(edf_json: dict[str, object]) -> None:
    assert set(edf_json) == {"episodes", "twitches", "summary"}
    episodes = edf_json["episodes"]
    assert isinstance(episodes, list)
    assert episodes
    for ep in episodes:
        for name in EPISODE_FIELDS:
            assert name in ep, name
        assert ep["start_utc"].startswith("2024-03-05T10:")
        assert ep["end_utc"] >= ep["start_utc"]
        assert ep["side"] in ("left", "right", "bilateral")
        assert 0.5 <= ep["confidence"] <= 1.0
        assert ep["start_s"] < ep["end_s"]
        assert ep["unit"] == "uV"
    starts = [ep["start_s"] for ep in episodes]
    assert starts == sorted(starts)


def test_json_utc_times_follow_the_file_start(edf_json: dict[str, object]) -> None:
    episodes = edf_json["episodes"]
    assert isinstance(episodes, list)
    start = START.replace(tzinfo=dt.UTC)
    for ep in episodes:
        expected = (start + dt.timedelta(seconds=ep["start_s"])).isoformat(timespec="milliseconds")
        assert ep["start_utc"] == expected


def test_json_summary(edf_json: dict[str, object], files: QuickFiles) -> None:
    s = edf_json["summary"]
    assert isinstance(s, dict)
    assert s["source"] == str(files.edf)
    assert s["start_utc"] == "2024-03-05T10:20:30.000+00:00"
    assert s["duration_s"] == pytest.approx(180.0)
    assert s["sfreq"] == FS
    assert s["used_accelerometer"] is True
    assert s["channels"] == ["EMG L (left)", "EMG R (right)"]
    assert s["mains_hz"] == 50.0
    assert s["n_involuntary"] >= 3
    episodes = edf_json["episodes"]
    assert isinstance(episodes, list)
    assert s["n_episodes"] == len(episodes)
    assert s["n_involuntary"] + s["n_voluntary"] == s["n_episodes"]
    assert sum(s["by_kind"].values()) == s["n_involuntary"]


def test_json_finds_the_spasms_of_the_file(edf_json: dict[str, object], files: QuickFiles) -> None:
    episodes = edf_json["episodes"]
    assert isinstance(episodes, list)
    found = 0
    for truth in spasms(files.truth):
        if any(
            ep["involuntary"] and ep["start_s"] < truth.offset_s and ep["end_s"] > truth.onset_s
            for ep in episodes
        ):
            found += 1
    assert found >= 3


def test_involuntary_only(files: QuickFiles, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, str(files.edf), "--json", "--involuntary-only")
    assert status == 0
    data = json.loads(out)
    assert data["episodes"]
    assert all(ep["involuntary"] for ep in data["episodes"])
    assert len(data["episodes"]) == data["summary"]["n_involuntary"]


# --------------------------------------------------------------------------- table


def test_table_lists_every_episode_and_the_summary(
    files: QuickFiles, edf_json: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(capsys, str(files.edf))
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"{files.edf}: 0.05 h at 1000 Hz")
    assert "accelerometer: used" in out
    header = [line for line in lines if line.split()[:3] == ["#", "start", "dur"]]
    assert len(header) == 1
    for word in ("side", "invol", "kind", "conf", "peak", "unit"):
        assert word in header[0]
    rows = [line for line in lines if line.strip().split(" ")[0].isdigit()]
    episodes = edf_json["episodes"]
    assert isinstance(episodes, list)
    assert len(rows) == len(episodes)
    # Clock times, because the file has a start date: 10:20:30 + the tonic spasm at ~5 s.
    assert rows[0].split()[1].startswith("10:20:3")
    summary = edf_json["summary"]
    assert isinstance(summary, dict)
    assert f"involuntary episodes: {summary['n_involuntary']} (" in out
    assert f"voluntary contractions: {summary['n_voluntary']}" in out
    assert "spasm duration: median" in out
    assert err == ""


def test_no_accel_gives_the_emg_only_warning(
    files: QuickFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run_cli(capsys, str(files.edf), "--no-accel")
    assert status == 0
    assert "accelerometer: none (EMG-only)" in out
    assert "note: no accelerometer" in out
    assert "note: accelerometer ignored on request" in out


def test_csv_with_a_time_column(files: QuickFiles, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, str(files.csv), "--json")
    assert status == 0, err
    data = json.loads(out)
    s = data["summary"]
    assert s["duration_s"] == pytest.approx(70.0)
    assert s["sfreq"] == pytest.approx(FS)
    assert s["used_accelerometer"] is False
    assert s["start_utc"] is None
    assert s["channels"] == ["EMG L (left)", "EMG R (right)"]
    assert any("no accelerometer" in w for w in s["warnings"])
    tonic = [
        ep
        for ep in data["episodes"]
        if ep["involuntary"] and ep["start_s"] < 13.0 and ep["end_s"] > 5.0
    ]
    assert [ep["side"] for ep in tonic] == ["left"]
    assert all(ep["start_utc"] is None for ep in data["episodes"])
    assert all(not math.isnan(ep["start_s"]) for ep in data["episodes"])


def test_table_without_start_time_prints_seconds(
    files: QuickFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run_cli(capsys, str(files.csv), "--involuntary-only")
    assert status == 0
    rows = [line for line in out.splitlines() if line.strip().split(" ")[0].isdigit()]
    assert rows
    fields = rows[0].split()
    assert fields[2] == "s"  # "5.12 s": seconds from the start, no clock time
    assert float(fields[1]) == pytest.approx(5.0, abs=0.5)


# --------------------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing.edf"
    status, out, err = run_cli(capsys, str(missing))
    assert status == 2
    assert out == ""
    assert err.startswith("spasmwatch analyze: error:")
    assert "no such file" in err
    assert "nothing.edf" in err


def test_unsupported_extension(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "recording.xyz"
    path.write_text("time,EMG L\n0,1\n", encoding="utf-8")
    status, _, err = run_cli(capsys, str(path))
    assert status == 2
    assert "unsupported file type '.xyz'" in err


def test_file_without_emg_channel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "no_emg.csv"
    rows = [f"{i / 500:.3f},{np.sin(i / 10):.4f},{np.cos(i / 10):.4f}" for i in range(1000)]
    path.write_text("time_s,ECG (mV),Resp (mV)\n" + "\n".join(rows) + "\n", encoding="utf-8")
    status, _, err = run_cli(capsys, str(path))
    assert status == 2
    assert "no EMG channel found" in err
    assert "--emg" in err  # says how to name them


def test_edf_without_emg_channel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ecg = np.sin(np.arange(5000) / 50.0)
    path = write_edf(tmp_path / "ecg.edf", [("ECG", "mV", 500.0, ecg, 5.0)])
    status, _, err = run_cli(capsys, str(path))
    assert status == 2
    assert "no EMG channel found" in err


def test_bad_sides_option(files: QuickFiles, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(capsys, str(files.csv), "--sides", "up,down")
    assert status == 2
    assert "--sides takes 'left' and/or 'right'" in err


def test_too_slow_emg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    path = write_edf(
        tmp_path / "slow.edf", [("EMG L", "uV", 100.0, rng.normal(0, 20, 6000), 500.0)]
    )
    status, _, err = run_cli(capsys, str(path))
    assert status == 2
    assert "at least 200 Hz" in err
