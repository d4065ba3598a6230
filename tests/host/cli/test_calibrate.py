"""``spasmwatch calibrate`` against the simulated wearer, into a real store, used by ``run``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from dsp.calibration import Calibration
from host.cli import main
from host.cli.run import load_calibration
from host.simulator.scenario import builtin_scenario
from host.storage import RecordingStore, store_path

SOURCE = "sim://calibration?speed=0"


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _calibrate(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[Any]:
    argv = ["calibrate", "--source", SOURCE, "--data-dir", str(tmp_path), "--json", *extra]
    assert main(argv) == 0
    return _lines(capsys.readouterr().out)


def _episodes(path: Path) -> list[dict[str, Any]]:
    with RecordingStore.open(path, readonly=True) as store:
        return [e.data for e in store.episodes()]


def _quiet_scenario(tmp_path: Path, duration_s: float) -> str:
    """A wearer who lies still throughout: no contraction at any cue."""
    path = tmp_path / "quiet.toml"
    path.write_text(
        'name = "quiet"\n[wearer]\nseed = 2\nelectrode_pop_per_h = 0.0\nlift_off_per_h = 0.0\n'
        "motion_artefact_per_h = 0.0\nsaturation_per_h = 0.0\n"
        f'[[segment]]\nactivity = "lying"\nposture = "prone"\nduration_s = {duration_s}\n'
    )
    return f"sim://{path}?speed=0"


def test_calibrate_saves_to_the_store_and_run_reports_percent_mvc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _calibrate(tmp_path, capsys)
    events = [r["event"] for r in records]
    assert events[0] == "link"  # connected
    assert events[1] == "device"
    assert events[-1] == "result"
    device = records[1]
    prompts = [r for r in records if r["event"] == "prompt"]
    assert [p["time_s"] for p in prompts if p["kind"] == "go"] == [13.0, 28.0, 43.0]
    assert prompts[-1]["kind"] == "done"
    assert not any(p["kind"] in ("repeat", "failed") for p in prompts)
    result = records[-1]
    assert result["unit"] == "%MVC"
    # The scenario's wearer: MVC amplitudes and the effort of each trial.
    scenario = builtin_scenario("calibration")
    mvc_uv = (scenario.wearer.mvc_uv_left, scenario.wearer.mvc_uv_right)
    efforts = [e.peak_mvc for e in scenario.episodes]
    assert len(efforts) == 3
    for row, mvc in zip(result["channels"], mvc_uv, strict=True):
        assert 0.8 * min(efforts) * mvc < row["reference_uv"] < 1.5 * mvc
        assert 1.0 < row["noise_uv"] <= row["rest_uv"] < 10.0
        assert row["ratio"] == pytest.approx(row["reference_uv"] / row["rest_uv"], rel=1e-2)
    path = store_path("default", tmp_path)
    assert result["store"] == str(path)
    with RecordingStore.open(path, readonly=True) as store:
        (stored,) = store.calibrations()
        devices = store.devices()
    assert stored.id == result["calibration_id"]
    assert stored.device_id == result["device_id"] == devices[0].id
    assert devices[0].info["device_id"] == device["device_id"]
    assert (devices[0].transport, devices[0].address) == ("sim", "calibration")
    calibration = stored.calibration()
    assert calibration == Calibration.from_dict(result["calibration"])
    assert calibration.sfreq == device["emg_sfreq"]
    assert calibration.n_rest_times == 10 * calibration.sfreq

    # `spasmwatch run` picks it up: episodes in %MVC, the summary names the calibration.
    argv = ["run", "--source", SOURCE, "--data-dir", str(tmp_path), "--json"]
    assert main(argv) == 0
    summary = _lines(capsys.readouterr().out)[-1]
    assert summary["event"] == "summary"
    assert summary["calibration"]["id"] == stored.id
    assert summary["calibration"]["unit"] == "%MVC"
    episodes = _episodes(path)
    assert len(episodes) == summary["episodes"] >= 3
    assert {e["unit"] for e in episodes} == {"%MVC"}
    # The trials were 85-95 % MVC; the detector's shorter envelope peaks a little higher.
    strongest = sorted(e["peak"] for e in episodes)[-3:]
    assert all(50.0 < peak < 200.0 for peak in strongest)


def test_run_without_calibration_or_with_no_calibration_is_in_uv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--source", SOURCE, "--data-dir", str(tmp_path), "--duration", "22"]
    assert main(argv) == 0
    assert "amplitudes in uV (no calibration" in capsys.readouterr().err
    _calibrate(tmp_path, capsys)
    path = store_path("default", tmp_path)
    before = len(_episodes(path))
    assert main([*argv, "--json", "--no-calibration"]) == 0
    summary = _lines(capsys.readouterr().out)[-1]
    assert summary["calibration"] is None
    new = _episodes(path)[before:]
    assert new
    assert {e["unit"] for e in new} == {"uV"}


def test_calibration_for_other_channels_is_not_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    path = store_path("default", tmp_path)
    one_channel = Calibration(
        sfreq=1000.0,
        l_freq=20.0,
        h_freq=400.0,
        mains_freq=None,
        noise_rms_v=(2e-6,),
        rest_rms_v=(3e-6,),
        reference_rms_v=(300e-6,),
        reference_kind="MVC",
        reference_level=None,
        reference_window_s=0.5,
        n_rest_times=10000,
        n_reference_times=15000,
    )
    with RecordingStore.open(path) as store:
        store.save_calibration(one_channel)
    argv = ["run", "--source", SOURCE, "--data-dir", str(tmp_path), "--duration", "22"]
    with caplog.at_level(logging.WARNING):
        assert main(argv) == 0
    assert "amplitudes in %MVC: calibration 1" in capsys.readouterr().err
    assert "calibration is for 1 EMG channels and the device has 2: not used" in caplog.text
    episodes = _episodes(path)
    assert episodes
    assert {e["unit"] for e in episodes} == {"uV"}


def test_text_output_and_rvc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["calibrate", "--source", SOURCE, "--data-dir", str(tmp_path), "--wearer", "ann"]
    assert main([*argv, "--kind", "rvc", "--level", "40"]) == 0
    out = capsys.readouterr().out
    assert "[  0.0 s] Relax: " in out
    assert "[ 13.0 s] Go! Contract to about 40 % of your maximum and hold it steady (5 s)." in out
    assert "[ 48.0 s] Calibration complete." in out
    assert "calibration: reference RVC at 40 % of MVC, 20-400 Hz" in out
    table = out[out.index("channel ") :].splitlines()
    assert table[0].split() == ["channel", "noise", "uV", "rest", "uV", "RVC", "uV", "ratio"]
    assert table[1].startswith("EMG L ")
    assert table[2].startswith("EMG R ")
    assert f"saved as calibration 1 in {store_path('ann', tmp_path)}" in out
    with RecordingStore.open(store_path("ann", tmp_path), readonly=True) as store:
        record = store.latest_calibration()
    assert record is not None
    calibration = record.calibration()
    assert (calibration.reference_kind, calibration.reference_level) == ("RVC", 0.4)
    assert calibration.unit == "%RVC"


def test_weak_contraction_is_an_error_and_nothing_is_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _quiet_scenario(tmp_path, 50.0)
    argv = ["calibrate", "--source", source, "--data-dir", str(tmp_path), "--json"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    records = _lines(captured.out)
    assert records[-1]["event"] == "error"
    assert records[-1]["message"].startswith("Not enough contraction: EMG L: ")
    assert [r["kind"] for r in records if r["event"] == "prompt"][-2:] == ["release", "failed"]
    assert "spasmwatch calibrate: error: Not enough contraction" in captured.err
    assert "Run the calibration again" in captured.err
    with RecordingStore.open(store_path("default", tmp_path), readonly=True) as store:
        assert store.calibrations() == []


def test_source_ending_early_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _quiet_scenario(tmp_path, 20.0)
    assert main(["calibrate", "--source", source, "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "The source ended after 20.0 s, before the calibration finished (28.0 s more" in err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--source", "foo://x"], "Invalid transport URL 'foo://x'"),
        (["--source", "sim://no_such_scenario"], "no_such_scenario"),
        (["--source", SOURCE, "--level", "40"], "--level applies to a submaximal reference"),
        (["--source", SOURCE, "--kind", "RVC", "--level", "150"], "Invalid value for --level"),
        (["--source", SOURCE, "--kind", "RVC", "--level", "0"], "Invalid value for --level"),
        (["--source", SOURCE, "--kind", "max"], "Invalid value for --kind"),
        (["--source", SOURCE, "--rest-s", "2"], "--rest-s must be at least 5 s"),
        (["--source", SOURCE, "--trials", "0"], "--trials must be an integer >= 1"),
        (["--source", SOURCE, "--between-s", "1"], "--between-s (1 s) must leave room"),
        (["--source", SOURCE, "--wearer", "../x"], "wearer"),
    ],
)
def test_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    assert main(["calibrate", "--data-dir", str(tmp_path), *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spasmwatch calibrate: error: ")
    assert message in err
    assert not list(tmp_path.glob("*.sqlite3"))  # nothing created


def test_load_calibration_of_a_missing_or_unreadable_store(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert load_calibration(tmp_path / "nobody.sqlite3") is None
    assert not (tmp_path / "nobody.sqlite3").exists()  # not created by looking
    bad = tmp_path / "bad.sqlite3"
    bad.write_text("not a recording store\n" * 10)
    with caplog.at_level(logging.WARNING):
        assert load_calibration(bad) is None
    assert "cannot read the calibration from" in caplog.text
    empty = tmp_path / "empty.sqlite3"
    RecordingStore.open(empty).close()
    assert load_calibration(empty) is None
