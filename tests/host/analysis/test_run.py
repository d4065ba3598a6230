"""Tests of host.analysis.run: analyze_arrays on a simulated day and on real recordings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from dsp.detector import Episode
from host.analysis import AnalysisResult, analyze_arrays
from host.errors import ConfigError
from host.simulator.body import BodySimulator
from host.simulator.scenario import TruthEvent, builtin_scenario

FS = 1000.0
FA = 100.0
DATA = Path(__file__).resolve().parents[2] / "data"
#: Involuntary contractions of the quick scenario that are episodes (the twitch is not).
SPASM_KINDS = ("tonic", "cramp", "myoclonic", "clonic")
#: The envelope delay the detector compensates: onsets may sit this much before new data.
ENVELOPE_HALF_WINDOW_S = 0.075


class Quick:
    """The quick scenario simulated once: EMG in volts, acceleration in g, truth."""

    def __init__(self) -> None:
        scenario = builtin_scenario("quick")
        body = BodySimulator(scenario, FS, FA, seed=1)
        self.emg, self.accel = body.read(round(scenario.duration_s * FS))
        self.truth: list[TruthEvent] = body.truth()


@pytest.fixture(scope="module")
def quick() -> Quick:
    return Quick()


@pytest.fixture(scope="module")
def with_accel(quick: Quick) -> AnalysisResult:
    return analyze_arrays(quick.emg, FS, accel_g=quick.accel, accel_sfreq=FA)


@pytest.fixture(scope="module")
def emg_only(quick: Quick) -> AnalysisResult:
    return analyze_arrays(quick.emg, FS)


def overlaps(ep: Episode, onset_s: float, offset_s: float) -> bool:
    return ep.start_s < offset_s and ep.end_s > onset_s


def spasms(truth: list[TruthEvent]) -> list[TruthEvent]:
    return [
        e for e in truth if e.category == "contraction" and e.involuntary and e.kind in SPASM_KINDS
    ]


# --------------------------------------------------------------------------- simulated day


def test_the_scenario_truth_is_what_the_tests_assume(quick: Quick) -> None:
    found = [(e.kind, e.side) for e in spasms(quick.truth)]
    assert found == [
        ("tonic", "left"),
        ("cramp", "right"),
        ("myoclonic", "bilateral"),
        ("clonic", "left"),
    ]
    assert quick.emg.shape == (2, round(180 * FS))
    assert quick.accel.shape == (3, round(180 * FA))


def test_spasms_of_the_quick_scenario_are_found(quick: Quick, with_accel: AnalysisResult) -> None:
    matched = []
    for truth in spasms(quick.truth):
        hits = [e for e in with_accel.involuntary if overlaps(e, truth.onset_s, truth.offset_s)]
        if hits:
            matched.append(truth.kind)
            best = max(
                hits, key=lambda e: min(e.end_s, truth.offset_s) - max(e.start_s, truth.onset_s)
            )
            assert best.side in (truth.side, "bilateral"), (truth.kind, best.side)
            assert best.kind in ("tonic", "clonic", "myoclonic")
    assert len(matched) >= 3, matched


def test_onset_of_the_tonic_spasm_at_rest(quick: Quick, with_accel: AnalysisResult) -> None:
    tonic = spasms(quick.truth)[0]
    hits = [e for e in with_accel.involuntary if overlaps(e, tonic.onset_s, tonic.offset_s)]
    assert len(hits) == 1
    assert abs(hits[0].start_s - tonic.onset_s) <= 0.5
    assert hits[0].side == "left"


def test_bending_and_lifting_are_not_spasms(quick: Quick, with_accel: AnalysisResult) -> None:
    reps = [
        e
        for e in quick.truth
        if e.category == "contraction" and not e.involuntary and 125.0 <= e.onset_s < 165.0
    ]
    assert len(reps) == 6  # three bends, three lifts
    for rep in reps:
        assert not [e for e in with_accel.involuntary if overlaps(e, rep.onset_s, rep.offset_s)]
    # The voluntary contractions themselves are seen, as voluntary.
    seen = [e for e in with_accel.episodes if overlaps(e, 125.0, 165.0)]
    assert len(seen) >= 3
    assert all(not e.involuntary for e in seen)


def test_walking_is_not_a_spasm_except_the_clonus(quick: Quick, with_accel: AnalysisResult) -> None:
    clonic = [e for e in spasms(quick.truth) if e.kind == "clonic"][0]
    walking = [e for e in with_accel.episodes if overlaps(e, 85.0, 125.0)]
    assert walking
    for ep in walking:
        if ep.involuntary:
            assert overlaps(ep, clonic.onset_s, clonic.offset_s), (ep.start_s, ep.end_s)


def test_result_describes_the_analysis(with_accel: AnalysisResult) -> None:
    r = with_accel
    assert r.duration_s == pytest.approx(180.0)
    assert r.sfreq == FS
    assert r.used_accelerometer
    assert r.mains_hz == 50.0  # the scenario's mains
    assert r.channels == ("EMG left", "EMG right")
    assert r.source == "<arrays>"
    assert r.start is None
    assert r.warnings == ()  # long enough, accelerometer, no gaps
    starts = [e.start_sample for e in r.episodes]
    assert starts == sorted(starts)
    assert all(e.kind != "twitch" for e in r.episodes)
    assert all(t.kind == "twitch" for t in r.twitches)
    assert all(0.0 <= e.start_s < e.end_s <= 180.0 for e in r.episodes + r.twitches)
    assert all(0.5 <= e.confidence <= 1.0 for e in r.episodes)


def test_emg_only_analysis_warns(emg_only: AnalysisResult) -> None:
    assert not emg_only.used_accelerometer
    assert any("no accelerometer" in w for w in emg_only.warnings)
    assert emg_only.episodes
    assert all("no_accelerometer" in e.quality_flags for e in emg_only.episodes)
    assert all(e.posture_before == "unknown" for e in emg_only.episodes)


def test_emg_only_still_finds_the_tonic_spasm_at_rest(
    quick: Quick, emg_only: AnalysisResult
) -> None:
    tonic = spasms(quick.truth)[0]
    hits = [e for e in emg_only.involuntary if overlaps(e, tonic.onset_s, tonic.offset_s)]
    assert [e.side for e in hits] == ["left"]


def test_accelerometer_needs_its_rate(quick: Quick) -> None:
    with pytest.raises(ConfigError, match="accel_sfreq"):
        analyze_arrays(quick.emg[:, :10_000], FS, accel_g=quick.accel[:, :1000])


def test_start_time_gives_utc_times(quick: Quick) -> None:
    start = dt.datetime(2024, 3, 5, 10, 20, 30, tzinfo=dt.UTC)
    r = analyze_arrays(
        quick.emg[:, :70_000],
        FS,
        accel_g=quick.accel[:, :7000],
        accel_sfreq=FA,
        start=start,
    )
    assert r.start == start
    ep = r.involuntary[0]
    d = r.episode_dict(ep)
    expected = (start + dt.timedelta(seconds=ep.start_s)).isoformat(timespec="milliseconds")
    assert d["start_utc"] == expected
    assert d["start_utc"].startswith("2024-03-05T10:20:3")


def test_progress_reaches_one(quick: Quick) -> None:
    seen: list[float] = []
    analyze_arrays(quick.emg[:, :35_000], FS, progress=seen.append)
    assert len(seen) == 4  # 10 s blocks
    assert seen == sorted(seen)
    assert seen[-1] == pytest.approx(1.0)
    assert 0.0 < seen[0] < 1.0


# --------------------------------------------------------------------------- gaps and warnings


def test_nan_gap_is_never_spanned_and_is_reported(quick: Quick) -> None:
    emg = quick.emg[:, :70_000].copy()
    gap = (8.0, 9.0)  # inside the tonic spasm at 5-13 s
    emg[:, round(gap[0] * FS) : round(gap[1] * FS)] = np.nan
    r = analyze_arrays(emg, FS, accel_g=quick.accel[:, :7000], accel_sfreq=FA)
    everything = r.episodes + r.twitches
    assert not [e for e in everything if e.start_s < gap[0] and e.end_s > gap[1]]
    for e in everything:  # at most the envelope delay reaches into the gap
        inside = min(e.end_s, gap[1]) - max(e.start_s, gap[0])
        assert inside <= ENVELOPE_HALF_WINDOW_S + 0.01, (e.start_s, e.end_s)
    assert any("1 gap(s)" in w for w in r.warnings)
    before = [e for e in r.episodes if e.start_s < gap[0] and e.end_s > 5.0]
    assert before
    assert "interrupted" in before[-1].quality_flags
    # The spasm is still seen before the gap (what follows it is too short to judge alone).
    assert [e for e in r.involuntary if overlaps(e, 5.0, gap[0])]


def test_each_gap_is_counted(quick: Quick) -> None:
    emg = quick.emg[:, :70_000].copy()
    emg[:, 8000:9000] = np.nan
    emg[:, 30_000:30_500] = np.nan
    emg[0, 50_000:50_010] = np.nan  # one channel missing counts as a gap too
    r = analyze_arrays(emg, FS)
    assert any("3 gap(s)" in w for w in r.warnings)


def test_sfreq_below_200_hz_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least 200 Hz"):
        analyze_arrays(np.zeros((2, 5000)), 150.0)


def test_short_recording_warns(quick: Quick) -> None:
    r = analyze_arrays(quick.emg[:, :30_000], FS, accel_g=quick.accel[:, :3000], accel_sfreq=FA)
    assert r.duration_s == pytest.approx(30.0)
    assert any("only 30 s long" in w for w in r.warnings)
    assert not any("no accelerometer" in w for w in r.warnings)


@pytest.mark.parametrize(
    ("emg", "message"),
    [
        (np.zeros((3, 1000)), "emg_v must have shape"),
        (np.zeros(1000), "emg_v must have shape"),
    ],
)
def test_bad_emg_shape_is_refused(emg: NDArray[np.float64], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        analyze_arrays(emg, FS)


def test_bad_accelerometer_shape_is_refused() -> None:
    with pytest.raises(ConfigError, match="accel_g must have shape"):
        analyze_arrays(np.zeros((2, 1000)), FS, accel_g=np.zeros((2, 100)), accel_sfreq=FA)


def test_bad_sides_are_refused() -> None:
    with pytest.raises(ConfigError, match="different sides"):
        analyze_arrays(np.zeros((2, 1000)), FS, sides=("left", "left"))


# --------------------------------------------------------------------------- real recordings


def test_emggo_ballistic_contractions_are_voluntary() -> None:
    """EMGgo sample: 250 Hz, µV, one channel; its authors report 56 voluntary bursts."""
    data = np.load(DATA / "03_emggo_onset_and_ecg" / "Sample_Data.npz")
    emg = np.asarray(data["emg"], dtype=np.float64)[None, :] * 1e-6
    sfreq = float(data["fs"])
    assert sfreq == 250.0
    r = analyze_arrays(emg, sfreq, sides=("left",))
    assert abs(len(r.episodes) - 56) <= 2, len(r.episodes)
    assert [(e.start_s, e.kind, e.reasons) for e in r.involuntary] == []


def test_bitalino_recording_near_rest_has_no_spasm() -> None:
    counts = np.loadtxt(DATA / "06_biosppy_bitalino" / "emg.txt", comments="#")
    volts = (counts / 4096.0 - 0.5) * 3.3 / 1009.0
    r = analyze_arrays(volts[None, :], 1000.0, sides=("left",))
    assert r.duration_s == pytest.approx(counts.size / 1000.0)
    assert [(e.start_s, e.kind, e.reasons) for e in r.involuntary] == []
