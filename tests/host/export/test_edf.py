"""EDF+/BDF+ export: round trips through independent readers (pyedflib, edfio, MNE)."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import edfio
import mne
import numpy as np
import pyedflib
import pytest

from dsp.filterbank import EmgFilterBank
from host.errors import ConfigError
from host.export.edf import (
    PatientInfo,
    RecordingInfo,
    choose_record_s,
    export_edf,
    format_edf_number,
    tal_bytes,
)
from host.export.selection import SignalOptions, select_sessions
from host.importers.edf import read_edf_header
from host.storage import RecordingStore

T0_US = 1_714_550_400_123_456  # as the stores of conftest.py


def _export(built: Any, out: Path, **kwargs: Any) -> Any:
    with RecordingStore.open(built.path, readonly=True) as store:
        pieces = select_sessions(store, session_id=built.session_id)
        return export_edf(store, pieces, out, **kwargs)


def _stored(built: Any) -> tuple[Any, Any]:
    with RecordingStore.open(built.path, readonly=True) as store:
        return store.read_emg(built.session_id), store.read_accel(built.session_id)


def _resolution(reader: pyedflib.EdfReader, ch: int) -> float:
    header = reader.getSignalHeader(ch)
    span = float(header["physical_max"]) - float(header["physical_min"])
    return span / (float(header["digital_max"]) - float(header["digital_min"]))


def test_edf_round_trip_pyedflib_split_at_gap(make_store: Any, tmp_path: Path) -> None:
    built = make_store()
    result = _export(built, tmp_path / "s.edf")
    assert result.format == "edf"
    assert [f.path.name for f in result.files] == ["s_part01.edf", "s_part02.edf"]
    emg, acc = _stored(built)
    emg_times, acc_times = emg.times_us(), acc.times_us()
    for exported in result.files:
        with pyedflib.EdfReader(str(exported.path)) as reader:
            assert reader.getFileDuration() == exported.duration_s
            # The start, to the microsecond: whole seconds in the header, the rest in the TAL.
            start = reader.getStartdatetime().replace(microsecond=0).timestamp()
            start_us = round(start) * 1_000_000 + reader.starttime_subsecond // 10
            assert start_us == exported.t_start_us
            i0 = int(np.searchsorted(emg_times, start_us))
            assert emg_times[i0] == start_us
            for ch in range(2):
                got = reader.readSignal(ch)
                want = emg.data[ch, i0 : i0 + got.size] * 1e6
                assert not np.isnan(want).any()
                assert np.max(np.abs(got - want)) <= _resolution(reader, ch) / 2 + 1e-9
                assert reader.getPhysicalDimension(ch) == "uV"
                assert reader.getPrefilter(ch) == "none"
            j0 = int(np.searchsorted(acc_times, start_us))
            assert acc_times[j0] == start_us
            got = reader.readSignal(2)
            want = acc.data[0, j0 : j0 + got.size]
            assert np.max(np.abs(got - want)) <= _resolution(reader, 2) / 2 + 1e-12
            assert reader.getPhysicalDimension(2) == "g"
            assert reader.getSampleFrequency(0) == 1000.0
            assert reader.getSampleFrequency(2) == 100.0
    # Every sample of the store is in a file.
    assert sum(f.n_emg_samples for f in result.files) == built.n_seconds * 1000 - 2000
    assert result.dropped_emg_samples == 0


def test_edf_annotations_every_reader(make_store: Any, tmp_path: Path) -> None:
    built = make_store()
    result = _export(built, tmp_path / "s.edf")
    first = result.files[0]
    with RecordingStore.open(built.path, readonly=True) as store:
        episodes = store.episodes(session_id=built.session_id)
        markers = store.markers(session_id=built.session_id)
    # pyedflib: onsets relative to the first sample.
    found: dict[str, tuple[float, float]] = {}
    for exported in result.files:
        with pyedflib.EdfReader(str(exported.path)) as reader:
            for onset, duration, text in zip(*reader.readAnnotations(), strict=True):
                abs_us = exported.t_start_us + round(onset * 1e6)
                found[text] = (abs_us, duration)
    ep0 = next(t for t in found if t.startswith("episode spasm side=left"))
    assert "confidence=0.875" in ep0
    assert "labels=spasm" in ep0
    assert found[ep0][0] == episodes[0].start_us
    assert found[ep0][1] == pytest.approx(episodes[0].duration_s)
    ep1 = next(t for t in found if t.startswith("episode voluntary side=right"))
    assert found[ep1][0] == episodes[1].start_us
    assert found["marker: pain 7/10"][0] == markers[0].t_us
    assert found["gap emg 2000 samples"] == (first.t_start_us + 20_000_000, 2.0)
    assert "link gap emg 2000 samples" in found
    # edfio reads the same texts and onsets.
    texts = set()
    for exported in result.files:
        edf = edfio.read_edf(exported.path)
        texts |= {a.text for a in edf.annotations}
        if exported is first:
            assert edf.starttime.microsecond == exported.t_start_us % 1_000_000
            onsets = {a.text: a.onset for a in edf.annotations}
            assert onsets[ep0] == pytest.approx((episodes[0].start_us - first.t_start_us) / 1e6)
    assert texts == set(found)
    # MNE: the gap at the end of the first file lies beyond its data; MNE says so.
    with pytest.warns(RuntimeWarning, match="outside the data range"):
        raw = mne.io.read_raw_edf(first.path, preload=True)
    assert ep0 in set(raw.annotations.description)
    emg, _ = _stored(built)
    assert np.allclose(raw.get_data(picks=[0])[0], emg.data[0, : raw.n_times], atol=0.1e-6)


def test_bdf_chosen_for_24_bit_and_mne_reads_it(make_store: Any, tmp_path: Path) -> None:
    built = make_store(sample_format="int24", gap_s=None, n_seconds=14)
    result = _export(built, tmp_path / "s.bdf")
    assert result.format == "bdf"
    (exported,) = result.files
    raw = mne.io.read_raw_bdf(exported.path, preload=True, verbose="error")
    emg, acc = _stored(built)
    with pyedflib.EdfReader(str(exported.path)) as reader:
        res = _resolution(reader, 0)
        assert reader.filetype == pyedflib.FILETYPE_BDFPLUS
        assert np.max(np.abs(reader.readSignal(1) - emg.data[1] * 1e6)) <= res / 2 + 1e-9
    assert raw.info["sfreq"] == 1000.0
    got = raw.get_data(picks=[0, 1])
    assert np.max(np.abs(got - emg.data)) <= res * 1e-6 / 2 + 1e-15
    descriptions = list(raw.annotations.description)
    assert descriptions[1] == "marker: pain 7/10"
    assert descriptions[0].startswith("episode spasm side=left")


def test_counts_are_exact_digital_values(make_store: Any, tmp_path: Path) -> None:
    built = make_store(gap_s=None, n_seconds=5)
    result = _export(built, tmp_path / "c.edf", options=SignalOptions(units="counts"))
    emg, acc = _stored(built)
    with pyedflib.EdfReader(str(result.files[0].path)) as reader:
        assert reader.getPhysicalDimension(0) == "counts"
        counts = reader.readSignal(0, digital=True)
        assert np.array_equal(counts, np.rint(emg.data[0] / 0.195e-6))
        assert np.array_equal(reader.readSignal(0), counts)
        assert np.array_equal(reader.readSignal(4, digital=True), np.rint(acc.data[2] * 4096))
    assert "ADC counts" in result.values


def test_filtered_export_states_band_and_matches_filter_bank(
    make_store: Any, tmp_path: Path
) -> None:
    built = make_store()
    options = SignalOptions(filtered=True, mains_freq=50.0)
    result = _export(built, tmp_path / "f.edf", options=options)
    emg, _ = _stored(built)
    for exported in result.files:
        with pyedflib.EdfReader(str(exported.path)) as reader:
            assert reader.getPrefilter(0) == "HP:20Hz LP:450Hz N:50Hz"
            got = np.vstack([reader.readSignal(0), reader.readSignal(1)])
            res = np.array([[_resolution(reader, 0)], [_resolution(reader, 1)]])
        i0 = int(np.searchsorted(emg.times_us(), exported.t_start_us))
        bank = EmgFilterBank(1000.0, 2, mains_freq=50.0)
        want = bank.process(emg.data[:, i0 : i0 + got.shape[1]]) * 1e6
        assert np.all(np.abs(got - want) <= res / 2 + 1e-6)
    assert result.values.startswith("filtered HP:20Hz LP:450Hz N:50Hz")


def test_header_identification_and_anonymisation(make_store: Any, tmp_path: Path) -> None:
    from datetime import date

    built = make_store(gap_s=None, n_seconds=3)
    patient = PatientInfo(code="P 07", sex="F", birthdate=date(1961, 2, 3), name="Ann Lee")
    recording = RecordingInfo(admin_code="ST1", technician="Bob", equipment="spasmwatch v1")
    named = _export(built, tmp_path / "n.edf", patient=patient, recording=recording)
    anon = _export(built, tmp_path / "a.edf", patient=patient, recording=recording, anonymize=True)
    head = named.files[0].path.read_bytes()[:256].decode("ascii")
    assert head[8:88].rstrip() == "P_07 F 03-FEB-1961 Ann_Lee"
    assert head[88:168].rstrip() == "Startdate 01-MAY-2024 ST1 Bob spasmwatch_v1"
    assert head[168:184] == "01.05.2408.00.00"
    assert head[192:197] == "EDF+C"
    head = anon.files[0].path.read_bytes()[:256].decode("ascii")
    assert head[8:88].rstrip() == "X X X X"
    assert head[88:168].rstrip() == "Startdate 01-MAY-2024 X X spasmwatch_v1"
    with pyedflib.EdfReader(str(anon.files[0].path)) as reader:
        assert reader.getPatientName() == "X"
        assert reader.getTransducer(0) == "spasmwatch surface EMG electrodes"


def test_int24_forced_into_edf_scales_never_clips(make_store: Any, tmp_path: Path) -> None:
    built = make_store(sample_format="int24", gap_s=None, n_seconds=4)
    result = _export(built, tmp_path / "w.edf", fmt="edf")
    emg, _ = _stored(built)
    with pyedflib.EdfReader(str(result.files[0].path)) as reader:
        res = _resolution(reader, 0)
        got = reader.readSignal(0)
        assert reader.getPhysicalMaximum(0) >= np.max(emg.data[0]) * 1e6
        assert reader.getPhysicalMinimum(0) <= np.min(emg.data[0]) * 1e6
    assert np.max(np.abs(got - emg.data[0] * 1e6)) <= res / 2 + 1e-6
    with pytest.raises(ConfigError, match="outside the range the file can hold"):
        _export(built, tmp_path / "x.edf", fmt="edf", options=SignalOptions(units="counts"))
    assert not (tmp_path / "x.edf").exists()


def test_record_duration_and_tail_file(make_store: Any, tmp_path: Path) -> None:
    built = make_store(n_seconds=40, gap_s=(20, 22))
    result = _export(built, tmp_path / "r.edf", record_s=0.3)
    # 20 s and 18 s runs in 0.3 s records: 66 and 60 records; the 0.2 s left of the first
    # run is a file of its own, one 0.2 s record.
    assert [f.path.name for f in result.files] == [
        "r_part01.edf",
        "r_part01_tail.edf",
        "r_part02.edf",
    ]
    assert [f.n_emg_samples for f in result.files] == [19_800, 200, 18_000]
    assert [f.n_accel_samples for f in result.files] == [1_980, 20, 1_800]
    assert result.dropped_emg_samples == 0
    assert result.dropped_accel_samples == 0
    assert result.files[1].t_start_us == result.files[0].t_start_us + 19_800_000
    with pyedflib.EdfReader(str(result.files[0].path)) as reader:
        assert reader.datarecord_duration == pytest.approx(0.3)
    with pyedflib.EdfReader(str(result.files[1].path)) as reader:
        assert reader.datarecord_duration == pytest.approx(0.2)
        assert reader.datarecords_in_file == 1


def test_without_accel_and_our_importer_agrees(make_store: Any, tmp_path: Path) -> None:
    built = make_store(gap_s=None, n_seconds=6)
    result = _export(built, tmp_path / "e.edf", with_accel=False)
    with pyedflib.EdfReader(str(result.files[0].path)) as reader:
        assert reader.signals_in_file == 2
    path = result.files[0].path
    with path.open("rb") as handle:
        header = read_edf_header(handle, path)
    assert header.plus
    assert not header.discontinuous
    assert not header.bdf
    assert header.n_records == 6
    assert header.record_duration_s == 1.0
    assert path.stat().st_size == header.data_offset + header.n_records * header.record_bytes


def test_bad_output_paths(make_store: Any, tmp_path: Path) -> None:
    built = make_store(gap_s=None, n_seconds=3)
    _export(built, tmp_path / "x.edf")
    with pytest.raises(ConfigError, match="exists"):
        _export(built, tmp_path / "x.edf")
    _export(built, tmp_path / "x.edf", overwrite=True)
    with pytest.raises(ConfigError, match="ends in .bdf"):
        _export(built, tmp_path / "x.bdf")
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="a path component is a file|is a file"):
        _export(built, tmp_path / "file" / "x.edf")
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ConfigError, match="permission denied"):
            _export(built, locked / "x.edf")


def test_format_edf_number_rounds_outward() -> None:
    assert format_edf_number(-6389.76, round_up=False) == "-6389.76"
    assert format_edf_number(6389.565, round_up=True) == "6389.565"
    assert format_edf_number(-401_310.123_45, round_up=False) == "-401311"
    assert float(format_edf_number(1599.9512, round_up=True)) >= 1599.9512
    assert float(format_edf_number(-1599.9512, round_up=False)) <= -1599.9512
    assert len(format_edf_number(-12345.678_91, round_up=False)) <= 8
    with pytest.raises(ConfigError, match="8 characters"):
        format_edf_number(1e12, round_up=True)


def test_tal_and_record_duration() -> None:
    assert tal_bytes(0.123456, None, ()) == b"+0.123456\x14\x14\x00"
    assert tal_bytes(10.5, 2.75, ["a\x14b"]) == b"+10.5\x152.75\x14a b\x14\x00"
    assert choose_record_s([1000.0, 100.0]) == Fraction(1)
    assert choose_record_s([1000.0, 100.0], 0.05) == Fraction(1, 20)
    assert choose_record_s([250.0, 52.0], 0.7) == Fraction(1, 2)
    assert choose_record_s([1000.0, 100.0], 0.001) == Fraction(1, 100)


# A store whose gapless stretches end mid-record, with a clock drift of 50 ppm (so a
# file's start on a uniform grid would be wrong by up to 0.6 ms) and an accelerometer
# that samples 4.5 ms after the EMG in the second stretch.
_DRIFT = 1 + 50e-6
# (EMG first sample, EMG samples, accelerometer first sample, samples, its offset in µs)
_STRETCHES = (
    (0, 12_347, 0, 1_235, 0),
    (15_000, 12_504, 1_500, 1_250, 4_500),
    (30_000, 400, 3_000, 40, 0),
)


def _build_mid_record(path: Path, *, accel: bool = True) -> tuple[Path, int]:
    rng = np.random.default_rng(7)
    with RecordingStore.open(path) as store:
        sid = store.start_session(
            source_url="sim://test",
            sfreq=1000.0,
            channel_names=["L", "R"],
            emg_volts_per_count=0.195e-6,
            sample_format="int16",
            accel_sfreq=100.0 if accel else None,
            accel_g_per_count=1 / 4096 if accel else None,
            started_us=T0_US,
        )
        for e0, n_e, a0, n_a, offset_us in _STRETCHES:
            for s in range(0, n_e, 1000):
                m = min(1000, n_e - s)
                t0 = T0_US + round((e0 + s) * 1000 * _DRIFT)
                t1 = T0_US + round((e0 + s + m) * 1000 * _DRIFT)
                store.append_emg(sid, e0 + s, rng.integers(-30_000, 30_000, (2, m)), t0, t1)
            for s in range(0, n_a if accel else 0, 100):
                m = min(100, n_a - s)
                t0 = T0_US + offset_us + round((a0 + s) * 10_000 * _DRIFT)
                t1 = T0_US + offset_us + round((a0 + s + m) * 10_000 * _DRIFT)
                store.append_accel(sid, a0 + s, rng.integers(-8000, 8000, (3, m)), t0, t1)
        store.commit()
        # Markers inside the end of the first stretch and inside the short third one.
        store.add_marker(T0_US + 12_200_000, "tail marker", session_id=sid)
        store.add_marker(T0_US + 30_100_000, "short stretch marker", session_id=sid)
        store.commit()
        store.end_session(sid)
    return path, sid


def _export_path(path: Path, sid: int, out: Path, **kwargs: Any) -> Any:
    with RecordingStore.open(path, readonly=True) as store:
        return export_edf(store, select_sessions(store, session_id=sid), out, **kwargs)


def _stored_path(path: Path, sid: int) -> tuple[Any, Any]:
    with RecordingStore.open(path, readonly=True) as store:
        accel = store.read_accel(sid) if store.session(sid).has_accel else None
        return store.read_emg(sid), accel


def _stretch_ends(valid: np.ndarray) -> np.ndarray:
    """Index of the last sample of the gapless stretch holding each sample."""
    last = np.flatnonzero(valid & ~np.append(valid[1:], False))
    return last[np.searchsorted(last, np.arange(valid.size))]


def _start_us(reader: pyedflib.EdfReader) -> int:
    start = reader.getStartdatetime().replace(microsecond=0).timestamp()
    return int(round(start) * 1_000_000 + reader.starttime_subsecond // 10)


def test_every_sample_exported_when_stretches_end_mid_record(tmp_path: Path) -> None:
    path, sid = _build_mid_record(tmp_path / "mid.sqlite3")
    result = _export_path(path, sid, tmp_path / "m.edf")
    emg, acc = _stored_path(path, sid)
    emg_t, acc_t = emg.times_us(), acc.times_us()
    emg_ok, acc_ok = ~np.isnan(emg.data[0]), ~np.isnan(acc.data[0])
    emg_seen = np.zeros(emg_ok.size, dtype=int)
    acc_seen = np.zeros(acc_ok.size, dtype=int)
    names = [f.path.name for f in result.files]
    # Stretch 1: whole records, a tail in whole 10 ms, the last 7 ms of EMG alone.
    # Stretch 2: the 5 ms of EMG before the accelerometer alone, whole records, a tail,
    # the last 9 ms of EMG alone. Stretch 3: one 0.4 s record of both.
    assert names == [
        "m_part01.edf",
        "m_part01_tail.edf",
        "m_part02.edf",
        "m_part03.edf",
        "m_part04.edf",
        "m_part04_tail.edf",
        "m_part05.edf",
        "m_part06.edf",
    ]
    emg_only = {"m_part02.edf", "m_part03.edf", "m_part05.edf"}
    for exported in result.files:
        with pyedflib.EdfReader(str(exported.path)) as reader:
            # Each file starts at its first sample's stored time, to the microsecond.
            start_us = _start_us(reader)
            assert start_us == exported.t_start_us
            i0 = int(np.searchsorted(emg_t, start_us))
            assert emg_t[i0] == start_us
            n_rec = reader.datarecords_in_file
            duration = reader.datarecord_duration
            assert n_rec * duration == pytest.approx(exported.duration_s)
            if exported.path.name in emg_only:
                # EMG alone, at most 9 ms: one record holding all of it (1 ms steps).
                assert reader.signals_in_file == 2
                assert exported.n_accel_samples == 0
                assert n_rec == 1
                assert 1 <= exported.n_emg_samples <= 9
            elif exported.path.name.endswith("_tail.edf") or "part06" in exported.path.name:
                # One record as long as the rest, in whole 10 ms (1 kHz EMG, 100 Hz accel).
                assert n_rec == 1
                assert duration < 1.0
                assert round(duration * 100) == pytest.approx(duration * 100)
            for ch in range(2):
                got = reader.readSignal(ch)
                want = emg.data[ch, i0 : i0 + got.size] * 1e6
                assert np.max(np.abs(got - want)) <= _resolution(reader, ch) / 2 + 1e-9
            emg_seen[i0 : i0 + got.size] += 1
            if exported.path.name in emg_only:
                continue
            # The accelerometer starts at its sample nearest the first EMG sample.
            j0 = int(np.argmin(np.abs(acc_t - start_us)))
            assert abs(acc_t[j0] - start_us) <= 5_000
            got = np.vstack([reader.readSignal(2 + k) for k in range(3)])
            want = acc.data[:, j0 : j0 + got.shape[1]]
            assert np.max(np.abs(got - want)) <= _resolution(reader, 2) / 2 + 1e-12
            acc_seen[j0 : j0 + got.shape[1]] += 1
    # Every EMG sample exactly once, nothing from a gap.
    assert np.array_equal(emg_seen, emg_ok.astype(int))
    assert result.dropped_emg_samples == 0
    assert acc_seen.max() == 1
    assert not (acc_seen & ~acc_ok).any()
    # The accelerometer left out is counted exactly: at most 2 samples at the very end of
    # a stretch (after the last whole period that the EMG covers).
    acc_left = np.flatnonzero(acc_ok & (acc_seen == 0))
    assert result.dropped_accel_samples == acc_left.size
    acc_end = _stretch_ends(acc_ok)
    assert np.all(acc_end[acc_left] - acc_left < 2)
    assert sum(f.n_emg_samples for f in result.files) == emg_ok.sum()
    assert sum(f.n_accel_samples for f in result.files) + acc_left.size == acc_ok.sum()


def test_mid_record_tails_read_by_mne_with_annotations(tmp_path: Path) -> None:
    path, sid = _build_mid_record(tmp_path / "mid.sqlite3")
    result = _export_path(path, sid, tmp_path / "m.edf")
    emg, _ = _stored_path(path, sid)
    emg_t = emg.times_us()
    n_emg = 0
    for exported in result.files:
        raw = mne.io.read_raw_edf(exported.path, preload=True, verbose="error")
        i0 = int(np.searchsorted(emg_t, exported.t_start_us))
        got = raw.get_data(picks=[0, 1])
        assert got.shape[1] == exported.n_emg_samples
        assert np.max(np.abs(got - emg.data[:, i0 : i0 + got.shape[1]])) <= 0.1e-6
        # MNE keeps whole seconds of the start (meas_date); the rest is in the file.
        assert raw.info["meas_date"].timestamp() == exported.t_start_us // 1_000_000
        n_emg += got.shape[1]
        texts = set(raw.annotations.description)
        if exported.path.name == "m_part01_tail.edf":
            # The marker at 12.2 s lies in the tail (the whole records end at 12 s).
            assert texts == {"marker: tail marker"}
            onset = raw.annotations.onset[0]
            want = (T0_US + 12_200_000 - exported.t_start_us) / 1e6
            # MNE counts onsets from the first sample.
            assert onset == pytest.approx(want, abs=1e-6)
        elif exported.path.name == "m_part06.edf":
            assert texts == {"marker: short stretch marker"}
        elif exported.path.name == "m_part02.edf":
            # The last EMG of a stretch: the gaps that follow begin at its end (MNE drops
            # the accelerometer's, which begins 3 ms after the EMG's last sample).
            assert texts == {"gap emg 2653 samples"}
        elif exported.path.name == "m_part05.edf":
            assert texts == {"gap emg 2496 samples"}
        else:
            assert texts == set()
    assert n_emg == sum(f.n_emg_samples for f in result.files)


def test_mid_record_emg_only_loses_nothing(tmp_path: Path) -> None:
    path, sid = _build_mid_record(tmp_path / "mid.sqlite3", accel=False)
    result = _export_path(path, sid, tmp_path / "e.edf", with_accel=False)
    emg, _ = _stored_path(path, sid)
    assert result.dropped_emg_samples == 0
    assert result.dropped_accel_samples == 0
    assert sum(f.n_emg_samples for f in result.files) == np.count_nonzero(~np.isnan(emg.data[0]))
    tail = result.files[1]
    assert tail.path.name == "e_part01_tail.edf"
    with pyedflib.EdfReader(str(tail.path)) as reader:
        # The EMG alone divides any duration in ms: the tail is exact.
        assert reader.datarecord_duration == pytest.approx(0.347)
        assert reader.getNSamples()[0] == 347
        assert _start_us(reader) == emg.times_us()[12_000]
    raw = mne.io.read_raw_edf(tail.path, preload=True, verbose="error")
    assert np.max(np.abs(raw.get_data() - emg.data[:, 12_000:12_347])) <= 0.1e-6


def test_filtered_tail_continues_the_filter(tmp_path: Path) -> None:
    path, sid = _build_mid_record(tmp_path / "mid.sqlite3")
    options = SignalOptions(filtered=True, mains_freq=50.0)
    result = _export_path(path, sid, tmp_path / "f.edf", options=options)
    emg, _ = _stored_path(path, sid)
    main, tail = result.files[0], result.files[1]
    got, res = [], []
    for exported in (main, tail):
        with pyedflib.EdfReader(str(exported.path)) as reader:
            got.append(reader.readSignal(0))
            res.append(np.full(got[-1].size, _resolution(reader, 0)))
    bank = EmgFilterBank(1000.0, 2, mains_freq=50.0)
    n = main.n_emg_samples + tail.n_emg_samples
    want = bank.process(emg.data[:, :n])[0] * 1e6
    # One filter over the whole stretch, not restarted at the tail file.
    assert np.all(np.abs(np.concatenate(got) - want) <= np.concatenate(res) / 2 + 1e-6)
