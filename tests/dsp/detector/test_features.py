"""Tests of dsp.detector.features: fine envelope, rhythm, median frequency, EMG evidence."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import signal

from dsp.detector.features import (
    CLONIC_BAND_HZ,
    GAIT_BAND_HZ,
    EmgEvidence,
    emg_evidence,
    fine_envelope,
    median_frequency,
    rhythm,
)
from dsp.detector.features import _welch as welch_psd

RATE = 100.0  # fine-envelope rate, Hz
REST_V = 5e-6
#: Mean absolute value of Gaussian noise over its RMS: the fine-envelope scale of the rest.
RMS_TO_MEAN_ABS = math.sqrt(2.0 / math.pi)


def pulse_train(freq_hz: float, duration_s: float, width_s: float) -> NDArray[np.float64]:
    """Rectangular pulses of ``width_s`` every ``1 / freq_hz`` s, at :data:`RATE`."""
    t = np.arange(round(duration_s * RATE)) / RATE
    return ((t * freq_hz) % 1.0 < width_s * freq_hz).astype(np.float64)


def profile(
    t: NDArray[np.float64], on_s: float, off_s: float, ramp_s: float = 0.05
) -> NDArray[np.float64]:
    """0 outside ``on_s .. off_s``, 1 inside, with linear ramps of ``ramp_s``."""
    up = np.clip((t - on_s) / ramp_s, 0.0, 1.0)
    down = np.clip((off_s - t) / ramp_s, 0.0, 1.0)
    return np.minimum(up, down)


def evidence_of(gains: NDArray[np.float64]) -> EmgEvidence:
    """EMG evidence of envelopes ``REST_V * (1 + gains)`` with fine = envelope scale."""
    env = REST_V * (1.0 + np.atleast_2d(gains))
    n_ch = env.shape[0]
    return emg_evidence(
        env,
        RATE,
        env * RMS_TO_MEAN_ABS,
        RATE,
        np.full(n_ch, REST_V),
        np.full(n_ch, 1.5 * REST_V),
    )


# --------------------------------------------------------------------------- fine_envelope


@pytest.mark.parametrize("sfreq", [1000.0, 500.0, 2000.0])
def test_fine_envelope_is_the_rectified_mean_in_10_ms_bins(sfreq: float) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, round(1.234 * sfreq)))
    out = fine_envelope(x, sfreq)
    step = round(0.01 * sfreq)
    n_bins = x.shape[1] // step
    assert out.shape == (2, n_bins)
    expected = np.abs(x[:, : n_bins * step]).reshape(2, n_bins, step).mean(axis=2)
    np.testing.assert_allclose(out, expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
@pytest.mark.parametrize("sfreq", [1000.0, 512.0, 100.0])
def test_fine_envelope_is_bitwise_numpy_mean(dtype: type, sfreq: float) -> None:
    x: NDArray[np.generic] = (np.random.default_rng(3).normal(size=(2, 1234)) * 1000).astype(dtype)
    step = max(round(0.01 * sfreq), 1)
    n_bins = x.shape[1] // step
    want = np.abs(x[:, : n_bins * step]).reshape(2, n_bins, step).mean(axis=2)
    got = fine_envelope(x, sfreq)  # type: ignore[arg-type]  # any dtype works as in numpy
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_fine_envelope_of_gaussian_noise_is_sqrt_2_over_pi_of_its_rms() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, REST_V, size=(1, 200_000))
    assert float(fine_envelope(x, 1000.0).mean()) == pytest.approx(
        REST_V * RMS_TO_MEAN_ABS, rel=0.01
    )


# --------------------------------------------------------------------------- rhythm


def test_rhythm_finds_a_5_hz_pulse_train_in_the_clonic_band() -> None:
    freq, strength = rhythm(pulse_train(5.0, 3.0, 0.04), RATE, CLONIC_BAND_HZ)
    assert freq == pytest.approx(5.0, abs=0.2)
    assert strength > 0.7


def test_rhythm_finds_a_1_8_hz_pulse_train_in_the_gait_band() -> None:
    freq, strength = rhythm(pulse_train(1.8, 10.0, 0.15), RATE, GAIT_BAND_HZ)
    assert freq == pytest.approx(1.8, abs=0.1)
    assert strength > 0.7


def test_gait_rhythm_is_weak_in_the_clonic_band() -> None:
    _, strength = rhythm(pulse_train(1.8, 10.0, 0.15), RATE, CLONIC_BAND_HZ)
    assert strength < 0.3


@pytest.mark.parametrize("seed", range(5))
def test_noise_has_no_rhythm(seed: int) -> None:
    x = np.random.default_rng(seed).normal(size=1000)
    for band in (CLONIC_BAND_HZ, GAIT_BAND_HZ):
        _, strength = rhythm(x, RATE, band)
        assert strength < 0.25


def _ramps() -> dict[str, NDArray[np.float64]]:
    t = np.arange(1000) / RATE
    noise = np.random.default_rng(3).normal(0.0, 0.05, t.size)
    return {
        "noisy linear rise": 0.5 * t + noise,
        "exponential rise": 5.0 * (1.0 - np.exp(-t / 3.0)),
        "sigmoid": 1.0 / (1.0 + np.exp(-(t - 5.0))),
        "rise then plateau": np.clip(t - 2.0, 0.0, 5.0),
        "slow 0.2 Hz wave": np.sin(2 * np.pi * 0.2 * t),
    }


@pytest.mark.parametrize("name", sorted(_ramps()))
def test_a_slow_trend_gives_no_false_rhythm(name: str) -> None:
    trace = _ramps()[name]
    for band in (CLONIC_BAND_HZ, GAIT_BAND_HZ):
        _, strength = rhythm(trace, RATE, band)
        assert strength < 0.3, (name, band, strength)


def test_bug_an_exact_linear_ramp_gives_a_false_rhythm() -> None:
    """A noiseless linear ramp must not look rhythmic.

    The moving-average detrend leaves only floating-point residue of a straight line, and
    that residue, normalised by its own (tiny) power, shows autocorrelation peaks well
    above the rules' ``rhythm_min`` of 0.3.
    """
    t = np.arange(1000) / RATE
    for trace in (0.5 * t, 2.0 * t):
        for band in (CLONIC_BAND_HZ, GAIT_BAND_HZ):
            _, strength = rhythm(trace, RATE, band)
            assert strength < 0.3, (band, strength)


def test_rhythm_of_a_too_short_trace_is_nan_and_zero() -> None:
    freq, strength = rhythm(pulse_train(1.8, 1.0, 0.15), RATE, GAIT_BAND_HZ)
    assert math.isnan(freq)
    assert strength == 0.0


def test_rhythm_of_a_constant_is_nan_and_zero() -> None:
    freq, strength = rhythm(np.full(500, 3.0), RATE, CLONIC_BAND_HZ)
    assert math.isnan(freq)
    assert strength == 0.0


def test_rhythm_ignores_nan_samples() -> None:
    trace = pulse_train(5.0, 3.0, 0.04)
    with_nan = np.concatenate([np.full(7, np.nan), trace])
    assert rhythm(with_nan, RATE, CLONIC_BAND_HZ) == rhythm(trace, RATE, CLONIC_BAND_HZ)


# --------------------------------------------------------------------------- median_frequency


def test_median_frequency_of_band_limited_noise_is_mid_band() -> None:
    sfreq = 1000.0
    sos = signal.butter(4, [60.0, 140.0], btype="bandpass", fs=sfreq, output="sos")
    x = signal.sosfilt(sos, np.random.default_rng(0).normal(size=20_000))
    assert median_frequency(x, sfreq) == pytest.approx(100.0, abs=8.0)


def test_median_frequency_of_a_sine_is_its_frequency() -> None:
    sfreq = 1000.0
    x = np.sin(2 * np.pi * 80.0 * np.arange(5000) / sfreq)
    assert median_frequency(x, sfreq) == pytest.approx(80.0, abs=4.0)


def test_median_frequency_band_limits_are_applied() -> None:
    sfreq = 1000.0
    x = np.random.default_rng(2).normal(size=20_000)
    # White noise: the median of a flat spectrum is the middle of the band searched.
    assert median_frequency(x, sfreq) == pytest.approx((20.0 + 500.0) / 2, abs=25.0)
    assert median_frequency(x, sfreq, fmin=20.0, fmax=200.0) == pytest.approx(110.0, abs=12.0)


def test_median_frequency_falls_when_the_spectrum_is_compressed() -> None:
    sfreq = 1000.0
    noise = np.random.default_rng(4).normal(size=20_000)
    fresh = signal.sosfilt(signal.butter(2, [40, 200], "bandpass", fs=sfreq, output="sos"), noise)
    tired = signal.sosfilt(signal.butter(2, [25, 110], "bandpass", fs=sfreq, output="sos"), noise)
    assert median_frequency(tired, sfreq) < median_frequency(fresh, sfreq) - 20.0


def test_median_frequency_is_nan_when_not_measurable() -> None:
    assert math.isnan(median_frequency(np.ones(10), 1000.0))  # too short
    assert math.isnan(median_frequency(np.zeros(1000), 1000.0))  # no power
    assert math.isnan(median_frequency(np.full(1000, np.nan), 1000.0))


def _welch_median_frequency(x: NDArray[np.float64], sfreq: float) -> float:
    """The median frequency from scipy's own Welch estimate (the definition)."""
    x = x[np.isfinite(x)]
    freqs, psd = signal.welch(x, fs=sfreq, nperseg=min(x.size, max(round(0.25 * sfreq), 16)))
    band = (freqs >= 20.0) & (freqs <= sfreq / 2.0)
    cum = np.cumsum(psd[band])
    return float(np.interp(cum[-1] / 2.0, cum, freqs[band]))


@pytest.mark.parametrize("sfreq", [1000.0, 512.0, 2048.0, 200.0])
def test_median_frequency_is_that_of_scipy_welch(sfreq: float) -> None:
    rng = np.random.default_rng(int(sfreq))
    for n in (16, 17, 63, 64, round(0.25 * sfreq), round(0.25 * sfreq) + 1, 777, 5000, 10_001):
        x = rng.normal(size=n) * 1e-5 + 3e-6
        freqs, psd = signal.welch(x, fs=sfreq, nperseg=min(n, max(round(0.25 * sfreq), 16)))
        got_freqs, got_psd = welch_psd(x, sfreq, min(n, max(round(0.25 * sfreq), 16)))
        np.testing.assert_array_equal(got_freqs, freqs)
        np.testing.assert_allclose(got_psd, psd, rtol=1e-12, atol=0.0)
        assert median_frequency(x, sfreq) == pytest.approx(
            _welch_median_frequency(x, sfreq), rel=1e-12
        )


# --------------------------------------------------------------------------- emg_evidence


def test_evidence_of_a_unilateral_tonic_contraction() -> None:
    t = np.arange(600) / RATE
    gains = np.vstack([9.0 * profile(t, 0.3, 5.7), np.zeros_like(t)])
    ev = evidence_of(gains)
    assert ev.duration_s == pytest.approx(6.0)
    # 90th percentile at 10x rest: contrast 9 on the active side, 0 on the resting one.
    np.testing.assert_allclose(ev.strength, [9.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(ev.peak_v, [10 * REST_V, REST_V])
    assert ev.mean_v[0] == pytest.approx(REST_V * (1 + 9.0 * profile(t, 0.3, 5.7).mean()))
    # Area above rest: 9 * rest over about 5.35 s of plateau plus the ramps.
    assert ev.area_vs[0] == pytest.approx(9 * REST_V * np.sum(profile(t, 0.3, 5.7)) / RATE)
    assert ev.area_vs[1] == 0.0
    assert ev.active_fraction[0] == pytest.approx(5.4 / 6.0, abs=0.02)
    assert ev.active_fraction[1] == 0.0
    assert ev.asymmetry == pytest.approx(1.0)
    assert ev.duty > 0.8
    assert ev.n_bursts == 1
    assert ev.rise_s == pytest.approx(0.33, abs=0.03)
    assert ev.steadiness < 0.05
    assert ev.gait_strength < 0.3
    assert ev.clonic_strength < 0.3


def test_evidence_of_a_symmetric_contraction() -> None:
    t = np.arange(600) / RATE
    ev = evidence_of(np.vstack([6.0 * profile(t, 0.3, 5.7)] * 2))
    assert ev.asymmetry == pytest.approx(0.0)
    np.testing.assert_allclose(ev.strength, [6.0, 6.0], atol=1e-9)


def test_asymmetry_is_the_normalised_difference_of_mean_contrasts() -> None:
    t = np.arange(600) / RATE
    ev = evidence_of(
        np.vstack([9.0 * profile(t, 0.0, 6.0, 1e-9), 3.0 * profile(t, 0.0, 6.0, 1e-9)])
    )
    assert ev.asymmetry == pytest.approx((9 - 3) / (9 + 3), abs=1e-6)


def test_one_channel_has_no_asymmetry() -> None:
    t = np.arange(600) / RATE
    ev = evidence_of(5.0 * profile(t, 0.3, 5.7))
    assert math.isnan(ev.asymmetry)
    assert ev.strength.shape == (1,)


def test_evidence_of_a_train_of_brief_bursts() -> None:
    """Six 150 ms jerks 0.9 s apart: many bursts, low duty cycle, a gait-band rhythm."""
    t = np.arange(600) / RATE
    gain = np.zeros_like(t)
    for k in range(6):
        gain = np.maximum(gain, profile(t, 0.3 + 0.9 * k, 0.45 + 0.9 * k, 0.02))
    ev = evidence_of(np.vstack([9.0 * gain] * 2))
    assert ev.n_bursts == 6
    assert ev.duty < 0.3
    assert ev.rise_s == pytest.approx(0.3, abs=0.05)
    assert ev.gait_hz == pytest.approx(1 / 0.9, abs=0.05)
    assert ev.gait_strength > 0.5
    assert ev.steadiness > 0.5  # far from a steady tonic level


def test_bursts_with_a_clear_pause_count_separately() -> None:
    t = np.arange(300) / RATE
    gain = np.maximum(profile(t, 0.5, 0.9, 0.01), profile(t, 1.3, 1.7, 0.01))
    assert evidence_of(9.0 * gain).n_bursts == 2
    gain = np.maximum(gain, profile(t, 2.1, 2.5, 0.01))
    assert evidence_of(9.0 * gain).n_bursts == 3


def test_a_dip_shorter_than_the_smoothing_does_not_split_a_burst() -> None:
    t = np.arange(300) / RATE
    gain = np.maximum(profile(t, 0.5, 0.9, 0.001), profile(t, 0.92, 1.4, 0.001))
    assert evidence_of(9.0 * gain).n_bursts == 1


def test_bug_bursts_less_than_100_ms_apart_count_as_one() -> None:
    """``_burst_shape`` says "Bursts closer than 100 ms are one burst".

    Two 400 ms bursts separated by a 60 ms dip are counted as two: the code compares the
    distance between burst *onsets* (460 ms here) with 100 ms instead of the pause
    between the end of one burst and the start of the next.
    """
    t = np.arange(300) / RATE
    gain = np.maximum(profile(t, 0.5, 0.9, 0.01), profile(t, 0.96, 1.4, 0.01))
    assert evidence_of(9.0 * gain).n_bursts == 1


def test_rise_time_of_a_gradual_contraction() -> None:
    t = np.arange(600) / RATE
    gain = 9.0 * np.clip((t - 0.5) / 2.0, 0.0, 1.0)  # 0.5 s quiet, then a 2 s ramp
    ev = evidence_of(np.vstack([gain, gain]))
    assert ev.rise_s == pytest.approx(1.5, abs=0.1)  # half of the peak 1 s into the ramp


def test_evidence_of_a_clonic_contraction() -> None:
    gain = 9.0 * pulse_train(5.0, 4.0, 0.08)
    ev = evidence_of(np.vstack([gain, np.zeros_like(gain)]))
    assert ev.clonic_hz == pytest.approx(5.0, abs=0.3)
    assert ev.clonic_strength > 0.6
    assert ev.clonic_strength > ev.gait_strength


def test_evidence_tolerates_nan_in_the_envelope() -> None:
    t = np.arange(600) / RATE
    gains = np.vstack([9.0 * profile(t, 0.3, 5.7), np.zeros_like(t)])
    env = REST_V * (1.0 + gains)
    env[:, 200:230] = np.nan
    ev = emg_evidence(
        env, RATE, env * RMS_TO_MEAN_ABS, RATE, np.full(2, REST_V), np.full(2, 1.5 * REST_V)
    )
    assert np.isfinite(ev.strength).all()
    assert np.isfinite(ev.peak_v).all()
    assert ev.peak_v[0] == pytest.approx(10 * REST_V)
    assert ev.n_bursts >= 1


def test_evidence_of_rest_is_zero_contrast() -> None:
    ev = evidence_of(np.zeros((2, 400)))
    np.testing.assert_allclose(ev.strength, 0.0)
    np.testing.assert_allclose(ev.area_vs, 0.0)
    assert ev.asymmetry == 0.0
    assert ev.n_bursts == 0
    assert ev.duty == 0.0
    assert math.isnan(ev.rise_s)
