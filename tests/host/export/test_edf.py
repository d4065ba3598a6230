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


def test_record_duration_and_dropped_tail(make_store: Any, tmp_path: Path) -> None:
    built = make_store(n_seconds=40, gap_s=(20, 22))
    result = _export(built, tmp_path / "r.edf", record_s=0.3)
    # 20 s and 18 s runs in 0.3 s records: 66 and 60 records, 0.2 s and 0 s left over.
    assert [f.n_emg_samples for f in result.files] == [19_800, 18_000]
    assert result.dropped_emg_samples == 200
    assert result.dropped_accel_samples == 20
    with pyedflib.EdfReader(str(result.files[0].path)) as reader:
        assert reader.datarecord_duration == pytest.approx(0.3)


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
