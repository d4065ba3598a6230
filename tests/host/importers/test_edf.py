"""EDF/EDF+/BDF/BDF+ files written by pyedflib (independent writer) or by hand, read back."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyedflib
import pytest
from numpy.typing import NDArray

from host.errors import ConfigError, RecordingError
from host.importers import edf as edf_module
from host.importers import open_recording, read_recording
from host.importers.channels import STANDARD_GRAVITY
from host.importers.edf import parse_tal

FS = 1000.0
FA = 100.0
START = dt.datetime(2024, 3, 5, 10, 20, 30)


def emg_and_accel(seconds: int, seed: int = 0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    emg_uv = rng.normal(0, 80, (2, int(seconds * FS))).clip(-999, 999)
    t = np.arange(int(seconds * FA)) / FA
    accel_g = np.vstack([0.1 * np.sin(t), 0.2 * np.cos(t), 0.97 + 0.01 * t])
    return emg_uv, accel_g


def standard_file(kit: SimpleNamespace, path: Path, file_type: int, seconds: int = 6) -> Path:
    emg_uv, accel_g = emg_and_accel(seconds)
    channels = [
        kit.Channel("EMG L", "uV", FS, emg_uv[0]),
        kit.Channel("EMG R", "uV", FS, emg_uv[1]),
        kit.Channel("Accel X", "g", FA, accel_g[0], -8.0, 8.0),
        kit.Channel("Accel Y", "g", FA, accel_g[1], -8.0, 8.0),
        kit.Channel("Accel Z", "g", FA, accel_g[2], -8.0, 8.0),
        kit.Channel("ECG", "mV", 250.0, np.zeros(seconds * 250), -5.0, 5.0),
    ]
    annotations = [(1.5, 0.5, "spasm left"), (4.0, 0.0, "lift")]
    plus = file_type in (pyedflib.FILETYPE_EDFPLUS, pyedflib.FILETYPE_BDFPLUS)
    return kit.write_pyedflib(
        path, channels, file_type=file_type, start=START, annotations=annotations if plus else ()
    )


@pytest.mark.parametrize(
    ("file_type", "suffix", "fmt", "bits"),
    [
        (pyedflib.FILETYPE_EDFPLUS, ".edf", "edf", 16),
        (pyedflib.FILETYPE_BDFPLUS, ".bdf", "bdf", 24),
        (pyedflib.FILETYPE_EDF, ".edf", "edf", 16),
        (pyedflib.FILETYPE_BDF, ".bdf", "bdf", 24),
    ],
)
def test_round_trip_through_pyedflib(
    tmp_path: Path, kit: SimpleNamespace, file_type: int, suffix: str, fmt: str, bits: int
) -> None:
    path = standard_file(kit, tmp_path / f"rec{suffix}", file_type)
    info, emg, accel = read_recording(path)
    emg_uv, accel_g = emg_and_accel(6)
    assert info.format == fmt
    assert info.sfreq == FS
    assert info.accel_sfreq == FA
    assert info.emg_labels == ("EMG L", "EMG R")
    assert info.sides == ("left", "right")
    assert info.accel_labels == ("Accel X", "Accel Y", "Accel Z")
    assert info.other_labels == ("ECG",)
    assert info.n_times == 6000
    assert info.n_accel_times == 600
    assert info.duration_s == 6.0
    assert info.start == START.replace(tzinfo=dt.UTC)
    assert info.warnings == ()
    emg_step_v = 2000.0 / (2**bits - 1) * 1e-6
    assert emg.shape == (2, 6000)
    assert np.max(np.abs(emg - emg_uv * 1e-6)) <= emg_step_v
    assert accel is not None
    assert accel.shape == (3, 600)
    assert np.max(np.abs(accel - accel_g)) <= 16.0 / (2**bits - 1)
    plus = file_type in (pyedflib.FILETYPE_EDFPLUS, pyedflib.FILETYPE_BDFPLUS)
    if plus:
        assert [(a.onset_s, a.duration_s, a.text) for a in info.annotations] == [
            (1.5, 0.5, "spasm left"),
            (4.0, 0.0, "lift"),
        ]
    else:
        assert info.annotations == ()


@pytest.mark.parametrize("block_s", [0.0373, 1.0, 2.5, 10.0, 1000.0])
def test_blocks_concatenate_to_the_whole_file(
    tmp_path: Path, kit: SimpleNamespace, block_s: float
) -> None:
    path = standard_file(kit, tmp_path / "rec.edf", pyedflib.FILETYPE_EDFPLUS, seconds=5)
    _, emg, accel = read_recording(path)
    assert accel is not None
    with open_recording(path) as reader:
        blocks = list(reader.blocks(block_s))
    n = max(1, round(block_s * FS))
    assert [b.first_sample for b in blocks] == list(range(0, 5000, n))
    assert np.array_equal(np.hstack([b.emg for b in blocks]), emg)
    parts = [b.accel for b in blocks if b.accel is not None]
    assert len(parts) == len(blocks)
    assert np.array_equal(np.hstack(parts), accel)
    for block in blocks:
        # Accelerometer sample j is at j / FA s; each lies within its EMG block's span.
        assert block.accel is not None
        assert block.first_accel_sample == math.ceil(block.first_sample * FA / FS)
        t_acc = (block.first_accel_sample + np.arange(block.accel.shape[1])) / FA
        t0 = block.first_sample / FS
        t1 = (block.first_sample + block.emg.shape[1]) / FS
        assert np.all((t_acc >= t0 - 1e-12) & (t_acc < t1))


def test_small_read_chunks_give_the_same_data(
    tmp_path: Path, kit: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = standard_file(kit, tmp_path / "rec.edf", pyedflib.FILETYPE_EDFPLUS, seconds=5)
    _, emg, accel = read_recording(path)
    monkeypatch.setattr(edf_module, "_CHUNK_BYTES", 1)  # one record per read
    _, emg_small, accel_small = read_recording(path)
    assert np.array_equal(emg, emg_small)
    assert accel is not None
    assert accel_small is not None
    assert np.array_equal(accel, accel_small)
    with open_recording(path) as reader:
        blocks = list(reader.blocks(0.7))
    assert np.array_equal(np.hstack([b.emg for b in blocks]), emg)


def test_accel_in_metres_per_second_squared_and_other_rate(
    tmp_path: Path, kit: SimpleNamespace
) -> None:
    rng = np.random.default_rng(3)
    emg_mv = rng.normal(0, 0.05, (2, 4 * 512))
    acc = np.vstack([np.full(4 * 32, 0.5), np.full(4 * 32, -1.0), np.full(4 * 32, 9.6)])
    channels = [
        kit.Channel("EMG_R", "mV", 512.0, emg_mv[0], -5.0, 5.0),
        kit.Channel("EMG_L", "mV", 512.0, emg_mv[1], -5.0, 5.0),
        kit.Channel("acc_x", "m/s^2", 32.0, acc[0], -80.0, 80.0),
        kit.Channel("acc_y", "m/s^2", 32.0, acc[1], -80.0, 80.0),
        kit.Channel("acc_z", "m/s^2", 32.0, acc[2], -80.0, 80.0),
    ]
    path = kit.write_pyedflib(tmp_path / "ms2.edf", channels)
    info, emg, accel = read_recording(path)
    assert info.sfreq == 512.0
    assert info.accel_sfreq == 32.0
    assert info.sides == ("right", "left")
    assert np.max(np.abs(emg - emg_mv * 1e-3)) <= 10.0 / 65535 * 1e-3
    assert accel is not None
    assert np.max(np.abs(accel - acc / STANDARD_GRAVITY)) <= 160.0 / 65535 / STANDARD_GRAVITY


def test_unitless_accel_is_inferred_and_unitless_emg_checked(
    tmp_path: Path, kit: SimpleNamespace
) -> None:
    rng = np.random.default_rng(4)
    emg_v = rng.normal(0, 1e-4, (1, 2000))
    channels = [
        kit.Channel("EMG", "", FS, emg_v[0], -0.01, 0.01),
        kit.Channel("ACC X", "", 50.0, np.zeros(100), -20.0, 20.0),
        kit.Channel("ACC Y", "", 50.0, np.zeros(100), -20.0, 20.0),
        kit.Channel("ACC Z", "", 50.0, np.full(100, 9.8), -20.0, 20.0),
    ]
    path = kit.write_pyedflib(tmp_path / "unitless.edf", channels)
    info, emg, accel = read_recording(path)
    assert info.sides == ("left",)
    assert np.max(np.abs(emg - emg_v)) <= 0.02 / 65535
    assert accel is not None
    assert np.allclose(accel[2], 9.8 / STANDARD_GRAVITY, atol=1e-3)
    text = " | ".join(info.warnings)
    assert "'EMG' gives no unit" in text
    assert "assumed 'left'" in text
    assert "accelerometer unit taken as m/s^2" in text

    channels[0] = kit.Channel("EMG", "", FS, emg_v[0] * 1e6, -1000.0, 1000.0)
    path = kit.write_pyedflib(tmp_path / "unitless_uv.edf", channels)
    with pytest.raises(RecordingError, match=r"'EMG' gives no unit .*emg_unit="):
        open_recording(path)
    info, emg, _ = read_recording(path, emg_unit="uV")
    assert np.max(np.abs(emg - emg_v)) <= 2000.0 / 65535 * 1e-6


def test_error_mismatched_emg_rates(tmp_path: Path, kit: SimpleNamespace) -> None:
    channels = [
        kit.Channel("EMG L", "uV", 1000.0, np.zeros(2000)),
        kit.Channel("EMG R", "uV", 500.0, np.zeros(1000)),
    ]
    path = kit.write_pyedflib(tmp_path / "rates.edf", channels)
    with pytest.raises(RecordingError) as info:
        open_recording(path)
    assert "EMG channels must share one sampling rate: 'EMG L' 1000 Hz, 'EMG R' 500 Hz" in str(
        info.value
    )


def test_error_three_emg_channels_then_picked(tmp_path: Path, kit: SimpleNamespace) -> None:
    channels = [
        kit.Channel(label, "uV", 200.0, np.full(400, value))
        for label, value in (("EMG L", 1.0), ("EMG R", 2.0), ("EMG chin", 3.0))
    ]
    path = kit.write_pyedflib(tmp_path / "three.edf", channels)
    with pytest.raises(RecordingError, match=r"3 EMG channels found.*--emg LABEL\[,LABEL\]"):
        open_recording(path)
    info, emg, _ = read_recording(path, emg=["EMG chin", "EMG L"], sides=["right", "left"])
    assert info.emg_labels == ("EMG chin", "EMG L")
    assert info.other_labels == ("EMG R",)
    assert np.allclose(emg[:, 0], [3e-6, 1e-6], atol=1e-7)


def test_error_no_emg(tmp_path: Path, kit: SimpleNamespace) -> None:
    channels = [kit.Channel("EEG Fpz-Cz", "uV", 100.0, np.zeros(100))]
    path = kit.write_pyedflib(tmp_path / "eeg.edf", channels)
    with pytest.raises(RecordingError, match=r"no EMG channel.*'EEG Fpz-Cz'.*--emg"):
        open_recording(path)
    assert read_recording(path, emg=[0])[0].emg_labels == ("EEG Fpz-Cz",)


def test_error_unknown_emg_unit(tmp_path: Path, kit: SimpleNamespace) -> None:
    channels = [kit.Channel("EMG L", "degC", 100.0, np.zeros(100))]
    path = kit.write_pyedflib(tmp_path / "unit.edf", channels)
    with pytest.raises(RecordingError, match=r"'EMG L' has unit 'degC'"):
        open_recording(path)


def test_error_sfreq_is_only_for_csv(tmp_path: Path, kit: SimpleNamespace) -> None:
    path = standard_file(kit, tmp_path / "rec.edf", pyedflib.FILETYPE_EDFPLUS, seconds=2)
    with pytest.raises(ConfigError, match="sfreq= applies only to CSV"):
        open_recording(path, sfreq=1000.0)


# ---------------------------------------------------------------------- hand-built files
def two_emg(kit: SimpleNamespace, n_records: int, n: int = 10) -> list[SimpleNamespace]:
    """Two EMG signals (0.1 µV per step) whose digital value is the global sample index."""
    left = kit.HandSignal("EMG L", "uV", n)
    right = kit.HandSignal("EMG R", "uV", n)
    for r in range(n_records):
        left.records.append(np.arange(r * n, (r + 1) * n))
        right.records.append(-np.arange(r * n, (r + 1) * n))
    return [left, right]


def test_edf_plus_d_places_records_at_their_onsets(tmp_path: Path, kit: SimpleNamespace) -> None:
    # EDF+D, record duration 1 s, 10 samples per record (10 Hz). Record onsets 0.25,
    # 1.25 and 4.25 s: a 2 s gap after the second record. The first onset is the
    # sub-second part of the start.
    signals = two_emg(kit, 3)
    ann = kit.HandSignal("EDF Annotations", "", 30)
    ann.records = [
        kit.tal(0.25),
        kit.tal(1.25, (1.75, 0.5, "spasm"), (1.8, 0.0, "µ-note")),
        kit.tal(4.25, (4.5, 0.0, "end")),
    ]
    path = tmp_path / "gap.edf"
    path.write_bytes(kit.edf_bytes([*signals, ann], reserved="EDF+D"))
    info, emg, accel = read_recording(path)
    assert accel is None
    assert info.accel_sfreq is None
    assert info.accel_labels == ()
    assert info.sfreq == 10.0
    assert info.n_times == 50  # 0..2 s, gap 2..4 s, 4..5 s
    assert info.start == dt.datetime(2024, 3, 5, 10, 20, 30, 250000, tzinfo=dt.UTC)
    expected = np.full(50, np.nan)
    expected[0:20] = np.arange(20) * 0.1e-6
    expected[40:50] = np.arange(20, 30) * 0.1e-6
    assert np.allclose(emg[0], expected, equal_nan=True, atol=1e-12)
    assert np.allclose(emg[1], -expected, equal_nan=True, atol=1e-12)
    assert [(a.onset_s, a.duration_s, a.text) for a in info.annotations] == [
        (1.5, 0.5, "spasm"),
        (pytest.approx(1.55), 0.0, "µ-note"),
        (4.25, 0.0, "end"),
    ]
    assert any("1 gap(s)" in w for w in info.warnings)
    with open_recording(path) as reader:
        blocks = list(reader.blocks(0.7))
    assert np.allclose(np.hstack([b.emg for b in blocks]), emg, equal_nan=True)


def test_edf_plus_d_overlapping_record_is_moved_with_a_warning(
    tmp_path: Path, kit: SimpleNamespace
) -> None:
    signals = two_emg(kit, 3)
    ann = kit.HandSignal("EDF Annotations", "", 15)
    ann.records = [kit.tal(0.0), kit.tal(0.5), kit.tal(3.0)]
    path = tmp_path / "overlap.edf"
    path.write_bytes(kit.edf_bytes([*signals, ann], reserved="EDF+D"))
    info, emg, _ = read_recording(path)
    assert info.n_times == 40
    assert np.allclose(emg[0, :20], np.arange(20) * 0.1e-6, rtol=0, atol=1e-15)
    assert np.isnan(emg[0, 20:30]).all()
    assert any("start before the previous one ends" in w for w in info.warnings)


def test_bdf_by_hand_decodes_24_bit_twos_complement(tmp_path: Path, kit: SimpleNamespace) -> None:
    digital = np.array([-(1 << 23), -1, 0, 1, (1 << 23) - 1, 123456, -654321, 42])
    sig = kit.HandSignal(
        "EMG", "uV", 8, [digital], -(1 << 23), (1 << 23) - 1, -(1 << 23), (1 << 23) - 1
    )
    path = tmp_path / "hand.bdf"
    path.write_bytes(kit.edf_bytes([sig], reserved="", bdf=True, recording="X"))
    info, emg, _ = read_recording(path)
    assert info.format == "bdf"
    assert np.allclose(emg[0], digital * 1e-6, rtol=0, atol=1e-15)
    # Plain BDF: the two-digit year 24 is 2024 (85..99 -> 19xx, 00..84 -> 20xx).
    assert info.start == dt.datetime(2024, 3, 5, 10, 20, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("start_date", "recording", "year"),
    [
        ("05.03.85", "X", 1985),
        ("05.03.84", "X", 2084),
        ("05.03.yy", "Startdate 05-MAR-2091 X X X", 2091),
        ("05.03.24", "Startdate 05-MAR-2024 X X X", 2024),
    ],
)
def test_start_year(
    tmp_path: Path, kit: SimpleNamespace, start_date: str, recording: str, year: int
) -> None:
    signals = two_emg(kit, 1)
    path = tmp_path / "year.edf"
    reserved = "EDF+C" if recording.startswith("Startdate") else ""
    path.write_bytes(
        kit.edf_bytes(signals, reserved=reserved, start_date=start_date, recording=recording)
    )
    info, _, _ = read_recording(path)
    assert info.start is not None
    assert info.start.year == year


def test_unreadable_start_is_a_warning_not_an_error(tmp_path: Path, kit: SimpleNamespace) -> None:
    path = tmp_path / "date.edf"
    path.write_bytes(kit.edf_bytes(two_emg(kit, 1), reserved="", start_date="31.02.24"))
    info, _, _ = read_recording(path)
    assert info.start is None
    assert any("byte 168" in w for w in info.warnings)


def test_truncated_file_reads_complete_records(tmp_path: Path, kit: SimpleNamespace) -> None:
    data = kit.edf_bytes(two_emg(kit, 4), reserved="")
    path = tmp_path / "cut.edf"
    path.write_bytes(data[:-15])  # 40 bytes per record: record 4 loses 15 of them
    info, emg, _ = read_recording(path)
    assert info.n_times == 30
    assert np.allclose(emg[0], np.arange(30) * 0.1e-6, rtol=0, atol=1e-15)
    text = " | ".join(info.warnings)
    assert "25 bytes into data record 4" in text
    assert "header says 4 data records" in text


def test_record_count_minus_one(tmp_path: Path, kit: SimpleNamespace) -> None:
    path = tmp_path / "open.edf"
    path.write_bytes(kit.edf_bytes(two_emg(kit, 3), reserved="", n_records=-1))
    info, emg, _ = read_recording(path)
    assert info.n_times == 30
    assert any("no record count (-1" in w for w in info.warnings)


def test_no_complete_record_is_an_error(tmp_path: Path, kit: SimpleNamespace) -> None:
    data = kit.edf_bytes(two_emg(kit, 1), reserved="")
    path = tmp_path / "empty.edf"
    path.write_bytes(data[:-1])
    with pytest.raises(RecordingError, match="no complete data record"):
        open_recording(path)


@pytest.mark.parametrize(
    ("offset", "raw", "field", "byte"),
    [
        (0, b"1       ", "'version'", "byte 0"),
        (252, b"ab  ", "'number of signals'", "byte 252"),
        (236, b"many    ", "'number of data records'", "byte 236"),
        (244, b"one     ", "'duration of a data record'", "byte 244"),
        # digital minimum of signal 2: 256 + 3 * (16 + 80 + 8 + 8 + 8) + 8
        (256 + 3 * 120 + 8, b"-x      ", "'digital minimum of signal 2'", f"byte {256 + 368}"),
        # samples per record of signal 1: 256 + 3 * (16 + 80 + 8 * 5 + 80)
        (256 + 3 * 216, b"ten     ", "'number of samples in each data record of signal 1'", ""),
    ],
)
def test_corrupt_header_names_field_and_offset(
    tmp_path: Path, kit: SimpleNamespace, offset: int, raw: bytes, field: str, byte: str
) -> None:
    signals = two_emg(kit, 2)
    ann = kit.HandSignal("EDF Annotations", "", 6, [kit.tal(0.0), kit.tal(1.0)])
    data = bytearray(kit.edf_bytes([*signals, ann]))
    data[offset : offset + len(raw)] = raw
    path = tmp_path / "corrupt.edf"
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError) as info:
        open_recording(path)
    message = str(info.value)
    assert field in message
    assert f"byte {offset}" in message
    assert byte in message
    assert repr(raw.decode().strip()) in message or raw.decode().strip() in message


def test_short_or_garbage_files(tmp_path: Path) -> None:
    path = tmp_path / "short.edf"
    path.write_bytes(b"0       garbage")
    with pytest.raises(RecordingError, match="shorter than the 256-byte"):
        open_recording(path)
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(RecordingError, match="'version' at byte 0"):
        open_recording(path)


def test_header_announcing_more_signals_than_present(tmp_path: Path, kit: SimpleNamespace) -> None:
    data = bytearray(kit.edf_bytes(two_emg(kit, 1), reserved=""))
    data[252:256] = b"99  "
    path = tmp_path / "ns.edf"
    path.write_bytes(bytes(data[:2000]))
    with pytest.raises(RecordingError, match="99 signals at byte 252"):
        open_recording(path)


def test_bad_digital_range_of_a_used_signal(tmp_path: Path, kit: SimpleNamespace) -> None:
    signals = two_emg(kit, 1)
    signals[1].dig_max = signals[1].dig_min
    path = tmp_path / "range.edf"
    path.write_bytes(kit.edf_bytes(signals, reserved=""))
    with pytest.raises(RecordingError, match=r"signal 2 \('EMG R'\) has digital maximum"):
        open_recording(path)


def test_parse_tal() -> None:
    tals, bad = parse_tal(b"+0\x14\x14\x00+1.5\x151\x14blink\x14two\x14\x00junk\x14\x00\x00\x00")
    assert tals == [(0.0, 0.0, []), (1.5, 1.0, ["blink", "two"])]
    assert bad == 1
    tals, bad = parse_tal(b"-0.5\x14\x14\x00")
    assert tals == [(-0.5, 0.0, [])]
    assert bad == 0


def test_closed_reader_refuses_blocks(tmp_path: Path, kit: SimpleNamespace) -> None:
    path = tmp_path / "c.edf"
    path.write_bytes(kit.edf_bytes(two_emg(kit, 2), reserved=""))
    reader = open_recording(path)
    reader.close()
    with pytest.raises(RecordingError, match="closed"):
        reader.blocks()
    with open_recording(path) as reader, pytest.raises(ConfigError, match="block_s"):
        reader.blocks(0.0)


def test_edf_plus_d_accelerometer_follows_the_same_gaps(
    tmp_path: Path, kit: SimpleNamespace
) -> None:
    # 10 Hz EMG and 5 Hz accelerometer (digital value = sample index, 1 mg per step);
    # records at 0, 1 and 3.5 s: the gap of 1.5 s is 15 EMG and 7.5 -> 8 accel samples.
    signals = two_emg(kit, 3)
    axes = []
    for axis in "XYZ":
        sig = kit.HandSignal(f"Accel {axis}", "mg", 5)
        sig.records = [np.arange(r * 5, (r + 1) * 5) for r in range(3)]
        axes.append(sig)
    ann = kit.HandSignal("EDF Annotations", "", 10, [kit.tal(0), kit.tal(1), kit.tal(3.5)])
    path = tmp_path / "gap_acc.edf"
    path.write_bytes(kit.edf_bytes([*signals, *axes, ann], reserved="EDF+D"))
    info, emg, accel = read_recording(path)
    assert info.accel_sfreq == 5.0
    assert info.n_times == 45
    assert info.n_accel_times == 23  # round(3.5 * 5) = 18 (half to even), + 5
    assert accel is not None
    assert np.isnan(emg[0, 20:35]).all()
    assert not np.isnan(emg[0, 35:]).any()
    assert np.isnan(accel[0, 10:18]).all()
    assert np.allclose(accel[0, 18:], np.arange(10, 15) * 1e-4, rtol=0, atol=1e-12)
    with open_recording(path) as reader:
        for block in reader.blocks(0.3):
            assert block.accel is not None
            assert block.first_accel_sample == math.ceil(block.first_sample / 2)
            # Where EMG is missing for the whole block, so is the accelerometer.
            if np.isnan(block.emg).all() and block.accel.size:
                assert np.isnan(block.accel).all()


def test_header_inconsistencies_are_warnings(tmp_path: Path, kit: SimpleNamespace) -> None:
    data = bytearray(kit.edf_bytes(two_emg(kit, 2), reserved="EDF+D"))
    data[184:192] = b"1024    "
    path = tmp_path / "odd.edf"
    path.write_bytes(bytes(data))
    info, emg, _ = read_recording(path)
    assert info.n_times == 20
    text = " | ".join(info.warnings)
    assert "'number of bytes in header' at byte 184 says 1024" in text
    assert "EDF+D" in text
    assert "contiguous" in text
