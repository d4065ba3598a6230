"""The simulator against real surface-EMG recordings (tests/data, see its README.md).

The acceptance criterion of the project: the simulated EMG's spectral median frequency and
its contraction-to-rest amplitude ratio lie within the ranges measured on the public surface
recordings, analysed with the same pipeline (:func:`host.simulator.realism.emg_statistics`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from host.simulator import BodySimulator, builtin_scenario
from host.simulator.realism import EmgStatistics, emg_statistics, subtract_ecg

DATA = Path(__file__).resolve().parents[2] / "data"


def _bitalino() -> tuple[NDArray[np.float64], float]:
    counts = np.loadtxt(DATA / "06_biosppy_bitalino" / "emg_1.txt")
    return counts, 1000.0


def _emggo_sample() -> tuple[NDArray[np.float64], float]:
    z = np.load(DATA / "03_emggo_onset_and_ecg" / "Sample_Data.npz")
    return np.asarray(z["emg"], dtype=np.float64).ravel(), float(z["fs"])


def _emggo_ecg(channel: int) -> tuple[NDArray[np.float64], float]:
    z = np.load(DATA / "03_emggo_onset_and_ecg" / "ECG_Contaminated.npz")
    return np.asarray(z["emg"][:, channel], dtype=np.float64), float(z["fs"])


@functools.cache
def _real() -> dict[str, EmgStatistics]:
    x_bit, fs_bit = _bitalino()
    x_sd, fs_sd = _emggo_sample()
    x_ec, fs_ec = _emggo_ecg(1)
    return {
        "bitalino": emg_statistics(x_bit, fs_bit),
        "emggo_sample": emg_statistics(x_sd, fs_sd),
        "emggo_ecg": emg_statistics(x_ec, fs_ec, remove_ecg=True),
    }


@functools.cache
def _simulated(sfreq: float) -> list[EmgStatistics]:
    body = BodySimulator(builtin_scenario("bursts"), sfreq=sfreq, accel_sfreq=10.0, seed=3)
    emg, _ = body.read(body.n_times_total)
    return [emg_statistics(emg[ch], sfreq) for ch in range(2)]


#: Recordings whose spectrum is usable for the median frequency: Sample_Data holds each
#: sample twice (125 Hz content at 250 Hz), which caps its spectrum at 62.5 Hz.
FULL_BAND = ("bitalino", "emggo_ecg")


def test_real_recordings_are_what_the_readme_says() -> None:
    x_sd, fs_sd = _emggo_sample()
    assert fs_sd == 250.0
    assert np.mean(np.abs(np.diff(x_sd)[0::2])) < 0.01 * np.mean(np.abs(np.diff(x_sd)[1::2]))
    real = _real()
    # 56 activation bursts in Sample_Data: count runs of active 250 ms windows.
    active = real["emggo_sample"].active.astype(int)
    onsets = np.flatnonzero(np.diff(active) == 1)
    assert 50 <= onsets.size <= 62
    # ECG_Contaminated: QRS every ~0.58 s, removed by template subtraction.
    x_ec, fs_ec = _emggo_ecg(1)
    cleaned = subtract_ecg(x_ec, fs_ec)
    assert np.std(cleaned) < 0.7 * np.std(x_ec)


@pytest.mark.parametrize("sfreq", [1000.0, 2048.0])
def test_median_frequency_within_real_range(sfreq: float) -> None:
    real = _real()
    low = min(real[k].median_freq_hz for k in FULL_BAND)
    high = max(real[k].median_freq_hz for k in FULL_BAND)
    assert 60.0 < low < high < 110.0  # sanity of the reference itself
    for stats in _simulated(sfreq):
        assert low <= stats.median_freq_hz <= high
        assert stats.mean_freq_hz > stats.median_freq_hz  # right-skewed, as in real sEMG


def test_burst_to_rest_ratio_within_real_range() -> None:
    real = _real()
    ratios = [s.burst_rest_ratio for s in real.values()]
    low, high = min(ratios), max(ratios)
    for stats in _simulated(1000.0):
        assert low <= stats.burst_rest_ratio <= high
        assert 0.1 < stats.active_fraction < 0.4  # 20 contractions in 2 min


def test_amplitude_distribution_is_near_gaussian_in_contraction() -> None:
    real = _real()
    real_kurtosis = [s.kurtosis_active for s in real.values()]
    for stats in _simulated(1000.0):
        # Simulated bursts are Gaussian by construction (kurtosis 3); real ones are a little
        # heavier-tailed. Both stay well below the spiky regime of needle EMG.
        assert 2.8 <= stats.kurtosis_active <= max(real_kurtosis)


def test_simulated_rest_and_contraction_levels_in_microvolts() -> None:
    left, right = _simulated(1000.0)
    for stats in (left, right):
        assert 3.0 < stats.rest_rms * 1e6 < 15.0  # relaxed sitting: tone, noise and ECG
        assert 40.0 < stats.active_rms * 1e6 < 200.0  # 10-50 % of a 320-350 uV MVC
