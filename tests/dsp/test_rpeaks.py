"""Streaming R-peak detector: accuracy on known beats, latency, streaming contract, checks."""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import signal

from dsp.rpeaks import MIN_SFREQ, RPeakDetector, RPeaks, _small_median
from host.simulator import BodySimulator, loads_scenario

DATA = Path(__file__).parents[1] / "data" / "03_emggo_onset_and_ecg" / "ECG_Contaminated.npz"


def synthetic_ecg(
    sfreq: float, duration_s: float, rng: np.random.Generator, *, rate_bpm: float = 70.0
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Unit-R QRS complexes (Gaussian Q, R, S waves) at jittered intervals; R-peak samples."""
    rr = 60.0 / rate_bpm
    beats_s = np.cumsum(rr * (1.0 + 0.05 * rng.standard_normal(int(duration_s / rr) + 2)))
    beats_s = beats_s[beats_s < duration_s - 0.3]
    t = np.arange(round(duration_s * sfreq)) / sfreq
    ecg = np.zeros(t.size)
    for b in beats_s:
        for centre, amp, width in ((-0.03, -0.15, 0.008), (0.0, 1.0, 0.01), (0.03, -0.3, 0.01)):
            ecg += amp * np.exp(-0.5 * ((t - b - centre) / width) ** 2)
    return ecg, np.round(beats_s * sfreq).astype(np.int64)


def match(detected: NDArray[np.int64], true: NDArray[np.int64], tol: int) -> tuple[int, int, int]:
    """Greedy one-to-one matching within ``tol`` samples: (true positives, misses, false)."""
    used = np.zeros(detected.size, dtype=bool)
    tp = 0
    for t in true:
        near = np.flatnonzero(~used & (np.abs(detected - t) <= tol))
        if near.size:
            used[near[np.argmin(np.abs(detected[near] - t))]] = True
            tp += 1
    return tp, true.size - tp, detected.size - tp


def in_blocks(det: RPeakDetector, x: NDArray[np.float64], sizes: Sequence[int]) -> RPeaks:
    samples, snr = [], []
    start = 0
    for size in [*sizes, x.shape[1]]:
        peaks = det.process(x[:, start : start + size])
        samples.append(peaks.samples)
        snr.append(peaks.snr)
        start = min(start + size, x.shape[1])
    return RPeaks(np.concatenate(samples), np.concatenate(snr))


def simulate_known_ecg(
    segments: str, sfreq: float, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Simulated electrode signal and its ECG component (same run with the ECG switched off)."""
    base = (
        "[wearer]\nseed = 5\nelectrode_pop_per_h = 0.0\nlift_off_per_h = 0.0\n"
        "motion_artefact_per_h = 0.0\nsaturation_per_h = 0.0\n"
    )
    on = loads_scenario(base + segments)
    off = loads_scenario(
        base.replace("[wearer]\n", "[wearer]\necg_uv_left = 0.0\necg_uv_right = 0.0\n") + segments
    )
    n = round(on.duration_s * sfreq)
    x, _ = BodySimulator(on, sfreq=sfreq, accel_sfreq=0.0, seed=seed).read(n)
    y, _ = BodySimulator(off, sfreq=sfreq, accel_sfreq=0.0, seed=seed).read(n)
    return x, x - y


def true_peaks(ecg: NDArray[np.float64], sfreq: float) -> NDArray[np.int64]:
    """R peaks of a noise-free ECG: its large local maxima."""
    peaks, _ = signal.find_peaks(ecg, height=0.5 * ecg.max(), distance=round(0.25 * sfreq))
    out: NDArray[np.int64] = np.asarray(peaks, dtype=np.int64)
    return out


# ---------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("sfreq", [250.0, 1000.0, 2048.0])
def test_synthetic_beats_found_exactly(sfreq: float) -> None:
    rng = np.random.default_rng(0)
    ecg, beats = synthetic_ecg(sfreq, 40.0, rng)
    x = 40e-6 * ecg + 3e-6 * rng.standard_normal(ecg.size)
    det = RPeakDetector(sfreq, 1)
    peaks = det.process(x[None, :])
    assert peaks.samples.dtype == np.int64
    assert np.all(np.diff(peaks.samples) > 0)
    scored = beats[beats > 2.2 * sfreq]
    tp, missed, false = match(peaks.samples, scored, round(0.01 * sfreq))
    assert (missed, false) == (0, 0)
    # R peaks placed within a few milliseconds (a constant bias of the band's phase
    # response is allowed; the jitter must be small).
    nearest = peaks.samples[np.searchsorted(peaks.samples, scored).clip(0, peaks.samples.size - 1)]
    error_ms = (nearest - scored) / sfreq * 1e3
    sample_ms = 1e3 / sfreq
    assert np.all(np.abs(error_ms) <= 8.0 + sample_ms)
    assert np.std(error_ms) <= max(1.5, 0.6 * sample_ms)
    assert np.all(peaks.snr > 20.0)


@pytest.fixture(scope="module")
def simulated() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    segments = (
        '[[segment]]\nactivity = "lying"\nduration_s = 40.0\n'
        '[[segment]]\nactivity = "sitting"\nduration_s = 30.0\ntone_mvc = 0.3\n'
        '[[segment]]\nactivity = "lying"\nduration_s = 30.0\n'
    )
    return simulate_known_ecg(segments, 1000.0, seed=3)


def test_simulated_rest_and_contraction(
    simulated: tuple[NDArray[np.float64], NDArray[np.float64]],
) -> None:
    x, ecg = simulated
    sfreq = 1000.0
    true = true_peaks(ecg[0], sfreq)
    det = RPeakDetector(sfreq, 2, reference=0)
    found = det.process(x).samples
    tol = round(0.05 * sfreq)

    def score(lo: int, hi: int) -> tuple[int, int, int]:
        return match(found[(found >= lo) & (found < hi)], true[(true >= lo) & (true < hi)], tol)

    tp, missed, false = score(2500, 40000)  # at rest, after the 2 s learning period
    assert missed == 0
    assert false == 0
    # At 30 % MVC the QRS is buried in the EMG: few beats are found and some EMG peaks pass
    # the thresholds, but the detector must not fire at EMG peaks wholesale.
    tp, missed, false = score(42000, 70000)
    assert tp >= 3
    assert false <= 10  # < 22 per minute, at a heart rate of about 70 per minute
    # Back at rest: the contraction must not have left the thresholds too high.
    tp, missed, false = score(72000, 99500)
    assert missed <= 1
    assert false == 0


def test_real_recording_regular_rhythm() -> None:
    data = np.load(DATA)
    x = np.ascontiguousarray(data["emg"].T) * 1e-3
    sfreq = float(data["fs"])
    det = RPeakDetector(sfreq, 8, reference=1)
    found = det.process(x).samples
    # About 0.58 s between beats (README); 20 s, of which 2 s of learning.
    rr_s = np.diff(found) / sfreq
    assert 28 <= found.size <= 32
    assert np.all((rr_s > 0.45) & (rr_s < 0.75))
    assert abs(np.median(rr_s) - 0.58) < 0.04


# ---------------------------------------------------------------------------- streaming


def test_latency_bound_holds() -> None:
    rng = np.random.default_rng(1)
    sfreq = 500.0
    ecg, _ = synthetic_ecg(sfreq, 30.0, rng)
    x = (40e-6 * ecg + 2e-6 * rng.standard_normal(ecg.size))[None, :]
    det = RPeakDetector(sfreq, 1)
    start = 0
    n_found = 0
    while start < x.shape[1]:
        size = int(rng.integers(1, 40))
        peaks = det.process(x[:, start : start + size])
        # Reported by the block holding sample r + latency_samples at the latest.
        assert np.all(peaks.samples + det.latency_samples >= start)
        start = min(start + size, x.shape[1])
        assert np.all(peaks.samples < start)
        n_found += peaks.samples.size
    assert n_found > 20
    assert det.n_times_seen == x.shape[1]


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(min_value=0, max_value=600), min_size=1, max_size=40))
def test_block_size_invariance(sizes: list[int]) -> None:
    rng = np.random.default_rng(2)
    sfreq = 250.0
    ecg, _ = synthetic_ecg(sfreq, 20.0, rng)
    emg = np.zeros(ecg.size)
    emg[2000:3000] = 60e-6 * rng.standard_normal(1000)  # a burst
    x = np.stack((40e-6 * ecg + emg + 2e-6 * rng.standard_normal(ecg.size), emg))
    one_shot = RPeakDetector(sfreq, 2).process(x)
    blocks = in_blocks(RPeakDetector(sfreq, 2), x, sizes)
    assert one_shot.samples.size > 10
    np.testing.assert_array_equal(blocks.samples, one_shot.samples)
    np.testing.assert_allclose(blocks.snr, one_shot.snr, rtol=1e-9)


def test_reset_starts_afresh() -> None:
    rng = np.random.default_rng(3)
    ecg, _ = synthetic_ecg(500.0, 15.0, rng)
    x = (40e-6 * ecg + 2e-6 * rng.standard_normal(ecg.size))[None, :]
    det = RPeakDetector(500.0, 1)
    first = det.process(x)
    det.reset()
    assert det.n_times_seen == 0
    second = det.process(x)
    np.testing.assert_array_equal(first.samples, second.samples)


def test_silence_and_short_input() -> None:
    det = RPeakDetector(1000.0, 2)
    peaks = det.process(np.zeros((2, 5000)))
    assert peaks.samples.size == 0
    assert peaks.samples.dtype == np.int64
    assert peaks.snr.dtype == np.float64
    assert det.process(np.zeros((2, 0))).samples.size == 0


# ---------------------------------------------------------------------------- checks


@pytest.mark.parametrize(
    ("kwargs", "error", "match_text"),
    [
        ({"sfreq": 0.0}, ValueError, "sfreq"),
        ({"sfreq": -1000.0}, ValueError, "sfreq"),
        ({"sfreq": 50.0}, ValueError, "too low"),
        ({"sfreq": None}, TypeError, "sfreq"),
        ({"n_channels": 0}, ValueError, "n_channels"),
        ({"reference": 2}, ValueError, "reference"),
        ({"reference": -1}, ValueError, "reference"),
        ({"reference": 1.0}, TypeError, "reference"),
        ({"threshold_ratio": 1.2}, ValueError, "threshold_ratio"),
        ({"refractory_s": 0.1}, ValueError, "refractory_s"),
        ({"lookahead_s": 0.01}, ValueError, "lookahead_s"),
        ({"learning_s": 0.5}, ValueError, "learning_s"),
        ({"background_ratio": 0.0}, ValueError, "background_ratio"),
    ],
)
def test_bad_parameters(kwargs: dict[str, object], error: type[Exception], match_text: str) -> None:
    args: dict[str, object] = {"sfreq": 1000.0, "n_channels": 2}
    args.update(kwargs)
    with pytest.raises(error, match=match_text):
        RPeakDetector(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("block", "error"),
    [
        (np.zeros((2, 10), dtype=np.int16), TypeError),
        (np.full((2, 10), np.nan), ValueError),
        (np.zeros(10), ValueError),
        (np.zeros((3, 10)), ValueError),
        (np.full((2, 10), np.inf), ValueError),
    ],
)
def test_bad_blocks(block: NDArray[np.float64], error: type[Exception]) -> None:
    det = RPeakDetector(1000.0, 2)
    with pytest.raises(error):
        det.process(block)


def test_min_sfreq_accepted() -> None:
    det = RPeakDetector(MIN_SFREQ, 1)
    assert det.latency_samples > 0


def test_background_medians_together_equal_one_by_one() -> None:
    rng = np.random.default_rng(7)
    det = RPeakDetector(250.0, 1)
    det.process(rng.standard_normal((1, 5000)) ** 3)
    n_bg, n_look, h0 = det._n_bg, det._n_look, det._h0
    # Every candidate whose window is still in the history (the last look-ahead's worth).
    ks = list(range(h0 + n_bg, det.n_times_seen - n_look))
    assert len(ks) > 2
    together = det._backgrounds(ks)
    one_by_one = [float(np.median(det._feature[k - n_bg - h0 : k + n_look + 1 - h0])) for k in ks]
    assert together == one_by_one


@pytest.mark.parametrize("values", [[3], [5, 1], [4.5, 1.0, 2.25, 8.0], [7, 2, 9, 4, 4, 1, 8]])
def test_small_median_is_statistics_median(values: list[float]) -> None:
    assert _small_median(deque(values)) == statistics.median(values)
