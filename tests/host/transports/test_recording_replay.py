"""Recordings from other devices (EDF+, CSV, WFDB) replayed through the whole pipeline."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyedflib
import pytest
import wfdb
from numpy.typing import NDArray

from host.errors import ConfigError, RecordingError
from host.importers import read_recording
from host.pipeline.pipeline import Pipeline, PipelineSummary
from host.protocol import encode_frame
from host.protocol.capture import read_capture
from host.simulator import builtin_scenario
from host.simulator.device import SimulatedDevice
from host.storage import RecordingStore
from host.transports import open_transport
from host.transports.recording_replay import RecordingReplayTransport, quantisation_step
from host.transports.replay import ReplayTransport

START = dt.datetime(2024, 3, 5, 10, 20, 30)
SECONDS = 16  # the quick scenario's left tonic spasm runs 5-13 s


def _body(tmp_path: Path) -> tuple[NDArray[np.float64], NDArray[np.float64], float, float]:
    """EMG (V) and acceleration (g) of the simulated wearer, with a spasm at 5-13 s."""
    device = SimulatedDevice(builtin_scenario("quick"), autostart=True)
    path = tmp_path / "body.sw1"
    with open(path, "wb") as fh:
        frames = device.take_pending()
        while device.scenario_time_s < SECONDS + 1:
            for frame in frames:
                fh.write(encode_frame(frame))
            frames = device.step()
    capture = read_capture(path)
    n = int(SECONDS * capture.sfreq)
    n_acc = int(SECONDS * capture.accel_sfreq)
    return capture.emg_v[:, :n], capture.accel_g[:, :n_acc], capture.sfreq, capture.accel_sfreq


async def _replay(url: str, store: Path) -> tuple[PipelineSummary, RecordingReplayTransport]:
    transport = open_transport(url)
    assert isinstance(transport, RecordingReplayTransport)
    summary = await Pipeline(transport, open_store=lambda: RecordingStore.open(store)).run()
    assert summary.stop_reason == "end of stream"
    assert summary.items_dropped == 0
    return summary, transport


def _write_edf(
    path: Path, emg: NDArray[np.float64], acc: NDArray[np.float64], fs: float, afs: float
) -> Path:
    writer = pyedflib.EdfWriter(str(path), 5, file_type=pyedflib.FILETYPE_EDFPLUS)
    specs = [("EMG1", "uV", fs, 5000.0), ("EMG2", "uV", fs, 5000.0)]
    specs += [(f"Acc{axis}", "g", afs, 8.0) for axis in "XYZ"]
    writer.setSignalHeaders(
        [
            {
                "label": label,
                "dimension": unit,
                "sample_frequency": rate,
                "physical_min": -limit,
                "physical_max": limit,
                "digital_min": -32768,
                "digital_max": 32767,
                "transducer": "",
                "prefilter": "",
            }
            for label, unit, rate, limit in specs
        ]
    )
    writer.setStartdatetime(START)
    writer.writeSamples(
        [np.ascontiguousarray(emg[0] * 1e6), np.ascontiguousarray(emg[1] * 1e6)]
        + [np.ascontiguousarray(a) for a in acc]
    )
    writer.close()
    return path


async def test_edf_is_stored_within_its_quantisation_and_the_spasm_found(tmp_path: Path) -> None:
    emg, acc, fs, afs = _body(tmp_path)
    path = _write_edf(tmp_path / "rec.edf", emg, acc, fs, afs)
    url = f"replay://{path}?emg=EMG1,EMG2&sides=left,right&accel=AccX,AccY,AccZ&speed=0"
    store = tmp_path / "w.sqlite3"
    summary, transport = await _replay(url, store)
    info, file_emg, file_acc = read_recording(
        path, emg=["EMG1", "EMG2"], accel=["AccX", "AccY", "AccZ"]
    )
    assert file_acc is not None
    device = transport.synthetic_info
    assert device is not None
    assert device.channel_names == ("EMG1 L", "EMG2 R")
    # The EDF's own step (10 mV over 16 bits) is the counts' scale.
    assert device.volts_per_count == pytest.approx(10e-3 / 65535, rel=1e-6)
    assert summary.samples == file_emg.shape[1] == SECONDS * fs
    assert summary.accel_samples == file_acc.shape[1]
    with RecordingStore.open(store, readonly=True) as db:
        (session,) = db.list_sessions()
        assert session.started_us == round(START.replace(tzinfo=dt.UTC).timestamp() * 1e6)
        stored = db.read_emg(session.id).data
        stored_acc = db.read_accel(session.id).data
        episodes = db.episodes(session_id=session.id)
    assert np.max(np.abs(stored - file_emg)) <= device.volts_per_count / 2 * (1 + 1e-9)
    assert np.max(np.abs(stored_acc - file_acc)) <= device.accel_g_per_count / 2 * (1 + 1e-6)
    spasms = [e for e in episodes if e.involuntary]
    assert len(spasms) == summary.involuntary == 1
    onset_s = (spasms[0].start_us - session.started_us) / 1e6
    assert 4.0 <= onset_s <= 6.5


async def test_csv_with_missing_rows_is_stored_with_the_gap(tmp_path: Path) -> None:
    emg, _, fs, _ = _body(tmp_path)
    n = emg.shape[1]
    keep = np.ones(n, dtype=bool)
    keep[3000:3100] = False  # 100 rows missing
    t = np.arange(n) / fs
    rows = np.column_stack([t, emg[0] * 1e6, emg[1] * 1e6])[keep]
    path = tmp_path / "rec.csv"
    np.savetxt(
        path,
        rows,
        fmt=["%.4f", "%.4f", "%.4f"],
        delimiter=",",
        header="time_s,EMG L (uV),EMG R (uV)",
        comments="",
    )
    store = tmp_path / "w.sqlite3"
    summary, transport = await _replay(f"replay://{path}?start_utc_s=1700000000", store)
    device = transport.synthetic_info
    assert device is not None
    assert summary.missing_samples == 100
    assert summary.gaps == 1
    assert summary.involuntary == 1
    _, file_emg, _ = read_recording(path)
    with RecordingStore.open(store, readonly=True) as db:
        (session,) = db.list_sessions()
        assert session.started_us == 1_700_000_000_000_000
        stored = db.read_emg(session.id).data
    assert stored.shape == file_emg.shape == (2, n)
    assert np.array_equal(np.isnan(stored), np.isnan(file_emg))
    finite = np.isfinite(file_emg)
    # Decimals of 1e-4 uV lie below the finest scale: half a count of it at most.
    assert np.max(np.abs(stored[finite] - file_emg[finite])) <= device.volts_per_count / 2 * 1.001
    assert device.volts_per_count < 0.02e-6


async def test_wfdb_with_a_slower_accelerometer_is_replayed(tmp_path: Path) -> None:
    emg, acc, fs, afs = _body(tmp_path)
    k = int(fs // afs)
    wfdb.wrsamp(
        "rec",
        fs=afs,
        units=["mV", "mV", "g", "g", "g"],
        sig_name=["EMG left", "EMG right", "acc x", "acc y", "acc z"],
        e_p_signal=[emg[0] * 1e3, emg[1] * 1e3, acc[0], acc[1], acc[2]],
        samps_per_frame=[k, k, 1, 1, 1],
        fmt=["16"] * 5,
        adc_gain=[20000.0, 20000.0, 2000.0, 2000.0, 2000.0],
        baseline=[0] * 5,
        write_dir=str(tmp_path),
    )
    store = tmp_path / "w.sqlite3"
    summary, transport = await _replay(f"replay://{tmp_path / 'rec.hea'}", store)
    device = transport.synthetic_info
    assert device is not None
    assert device.emg_sfreq == fs
    assert device.accel_sfreq == afs
    # 1/20000 mV per digital step.
    assert device.volts_per_count == pytest.approx(1e-3 / 20000, rel=1e-6)
    _, file_emg, file_acc = read_recording(tmp_path / "rec.hea")
    assert file_acc is not None
    with RecordingStore.open(store, readonly=True) as db:
        (session,) = db.list_sessions()
        stored = db.read_emg(session.id).data
        stored_acc = db.read_accel(session.id).data
    assert stored.shape == file_emg.shape
    assert np.max(np.abs(stored - file_emg)) <= device.volts_per_count / 2 * (1 + 1e-6)
    assert np.max(np.abs(stored_acc - file_acc)) <= device.accel_g_per_count / 2 * (1 + 1e-6)
    assert summary.involuntary == 1


def test_quantisation_step_finds_the_grid() -> None:
    rng = np.random.default_rng(3)
    step = 10e-3 / 65535
    values = (rng.integers(-300, 300, 5000) + 0.5) * step
    assert quantisation_step(values.astype(np.float64)) == pytest.approx(step, rel=1e-9)
    assert quantisation_step(rng.normal(size=1000)) is None
    assert quantisation_step(np.full(10, 3.0)) is None


def _two_rate_edf(path: Path) -> Path:
    writer = pyedflib.EdfWriter(str(path), 2, file_type=pyedflib.FILETYPE_EDFPLUS)
    writer.setSignalHeaders(
        [
            {
                "label": label,
                "dimension": "uV",
                "sample_frequency": rate,
                "physical_min": -1000.0,
                "physical_max": 1000.0,
                "digital_min": -32768,
                "digital_max": 32767,
                "transducer": "",
                "prefilter": "",
            }
            for label, rate in (("EMG L", 1000.0), ("EMG R", 500.0))
        ]
    )
    writer.writeSamples([np.zeros(2000), np.zeros(1000)])
    writer.close()
    return path


@pytest.mark.parametrize(
    ("name", "query", "error", "message"),
    [
        ("rec.edf", "?emg=Nope,EMG2", RecordingError, "'Nope', which is not a channel"),
        ("missing.edf", "", RecordingError, "no such file"),
        ("rec.xyz", "", ConfigError, "expected a capture file ending in .sw1 or a recording"),
        ("rates.edf", "", RecordingError, "share one sampling rate"),
        ("rec.edf", "?channels=1", ConfigError, "Invalid option.*channels"),
        ("rec.edf", "?accel=AccX", ConfigError, "three channels"),
        ("rec.edf", "?sides=up,down", ConfigError, "'left' and/or 'right'"),
        ("c.sw1", "?emg=EMG1", ConfigError, "accept only speed"),
    ],
)
async def test_bad_input_is_refused_clearly(
    tmp_path: Path, name: str, query: str, error: type[Exception], message: str
) -> None:
    rng = np.random.default_rng(0)
    emg = rng.normal(0, 20e-6, (2, 2000))
    acc = np.zeros((3, 200))
    _write_edf(tmp_path / "rec.edf", emg, acc, 1000.0, 100.0)
    _two_rate_edf(tmp_path / "rates.edf")
    (tmp_path / "rec.xyz").write_text("x")
    with pytest.raises(error, match=message):
        await _open_and_close(f"replay://{tmp_path / name}{query}")


async def _open_and_close(url: str) -> None:
    async with open_transport(url):
        pass


def test_captures_still_replay_as_captures(tmp_path: Path) -> None:
    transport = open_transport(f"replay://{tmp_path / 'c.sw1'}?speed=2")
    assert isinstance(transport, ReplayTransport)
    assert "speed=2" in transport.url
