"""SpectralFeatures: window grid, known spectra, silence, the simulator's cramp, checks."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import signal

from dsp.spectral import (
    MAX_SPECTRAL_WINDOW_S,
    MIN_SPECTRAL_WINDOW_SAMPLES,
    SpectralFeatures,
    SpectralWindows,
)
from host.simulator import BodySimulator, builtin_scenario

SFREQ = 1000.0


def _in_blocks(
    features: SpectralFeatures, x: NDArray[np.float64], sizes: Sequence[int]
) -> SpectralWindows:
    parts = []
    start = 0
    for size in sizes:
        parts.append(features.process(x[:, start : start + size]))
        start = min(start + size, x.shape[1])
    parts.append(features.process(x[:, start:]))
    return SpectralWindows.concatenate(parts)


def _assert_same(a: SpectralWindows, b: SpectralWindows) -> None:
    np.testing.assert_array_equal(a.end_samples, b.end_samples)
    np.testing.assert_array_equal(a.silent, b.silent)
    for name in ("mnf_hz", "mdf_hz", "power"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, atol=0)


def _shaped_noise(
    rng: np.random.Generator, psd: NDArray[np.float64], n_times: int, rms_v: float
) -> NDArray[np.float64]:
    """Gaussian noise whose spectrum follows ``psd`` (given on ``rfftfreq(n_times)``)."""
    spectrum = np.sqrt(psd) * (rng.standard_normal(psd.shape) + 1j * rng.standard_normal(psd.shape))
    x = np.fft.irfft(spectrum, n_times)
    out: NDArray[np.float64] = x / np.std(x) * rms_v
    return out


# --------------------------------------------------------------------------- window grid


def test_windows_end_on_multiples_of_the_step() -> None:
    x = np.random.default_rng(0).standard_normal((2, 3000)) * 1e-5
    res = SpectralFeatures(SFREQ, 2).process(x)
    np.testing.assert_array_equal(res.end_samples, np.arange(500, 3001, 125))
    assert res.n_windows == 21
    assert res.mnf_hz.shape == res.mdf_hz.shape == res.power.shape == (2, 21)
    assert res.silent.dtype == np.bool_
    assert res.end_samples.dtype == np.int64
    # A window that is not a multiple of the step: ends stay on the step grid.
    odd = SpectralFeatures(SFREQ, 2, window_s=0.5, step_s=0.3).process(x)
    np.testing.assert_array_equal(
        odd.end_samples, [600, 900, 1200, 1500, 1800, 2100, 2400, 2700, 3000]
    )


def test_window_covers_the_samples_before_its_end() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2000)) * 1e-5
    res = SpectralFeatures(SFREQ, 2, window_s=0.3, step_s=0.1).process(x)
    for k in (0, 5, res.n_windows - 1):
        end = int(res.end_samples[k])
        alone = SpectralFeatures(SFREQ, 2, window_s=0.3, step_s=0.1).process(x[:, end - 300 : end])
        assert alone.n_windows == 1
        np.testing.assert_allclose(alone.mdf_hz[:, 0], res.mdf_hz[:, k], rtol=1e-12)
        np.testing.assert_allclose(alone.power[:, 0], res.power[:, k], rtol=1e-12)


def test_short_and_empty_blocks_return_no_windows() -> None:
    features = SpectralFeatures(SFREQ, 2)
    empty = features.process(np.zeros((2, 0)))
    assert empty.n_windows == 0
    assert empty.mnf_hz.shape == (2, 0)
    assert features.process(np.ones((2, 499)) * 1e-6).n_windows == 0
    assert features.process(np.ones((2, 1)) * 1e-6).end_samples.tolist() == [500]


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=700), max_size=20),
    n_window=st.integers(min_value=MIN_SPECTRAL_WINDOW_SAMPLES, max_value=600),
    step_fraction=st.floats(min_value=0.0, max_value=1.0),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_block_size_invariance(
    sizes: list[int], n_window: int, step_fraction: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2500)) * 2e-5
    x[:, 700:1300] = 0.0  # silent windows too
    x[1, 1800:] *= 40.0
    n_step = max(1, round(step_fraction * n_window))
    kwargs = {"window_s": n_window / SFREQ, "step_s": n_step / SFREQ}
    one_shot = SpectralFeatures(SFREQ, 2, **kwargs).process(x)
    assert one_shot.n_windows == max(0, 2500 // n_step - math.ceil(n_window / n_step) + 1)
    _assert_same(_in_blocks(SpectralFeatures(SFREQ, 2, **kwargs), x, sizes), one_shot)


def test_20_ms_blocks_match_one_shot() -> None:
    # 40 s: more windows (317) than one internal pass handles (256).
    x = np.random.default_rng(2).standard_normal((2, 40_000)) * 1e-5
    one_shot = SpectralFeatures(SFREQ, 2).process(x)
    assert one_shot.n_windows == 317
    _assert_same(_in_blocks(SpectralFeatures(SFREQ, 2), x, [20] * 2000), one_shot)


def test_reset() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 1600)) * 1e-5
    features = SpectralFeatures(SFREQ, 2)
    first = features.process(x)
    features.process(rng.standard_normal((2, 777)))
    features.reset()
    _assert_same(features.process(x), first)


# --------------------------------------------------------------------------- known spectra


def test_tone_on_a_bin_is_exact() -> None:
    amp = 1e-4
    n = np.arange(5000)
    x = np.vstack(
        [
            amp * np.sin(2 * np.pi * 80.0 * n / SFREQ + 0.3),
            amp * np.cos(2 * np.pi * 152.0 * n / SFREQ),
        ]
    )
    res = SpectralFeatures(SFREQ, 2).process(x)  # 2 Hz bins
    np.testing.assert_allclose(res.mdf_hz[0], 80.0, rtol=1e-12)
    np.testing.assert_allclose(res.mnf_hz[0], 80.0, rtol=1e-12)
    np.testing.assert_allclose(res.mdf_hz[1], 152.0, rtol=1e-12)
    np.testing.assert_allclose(res.mnf_hz[1], 152.0, rtol=1e-12)
    np.testing.assert_allclose(res.power, amp**2 / 2, rtol=1e-9)
    assert not res.silent.any()


@pytest.mark.parametrize("freq_hz", [33.3, 81.3, 100.5, 123.4, 301.7])
def test_tone_between_bins_sub_bin_accuracy(freq_hz: float) -> None:
    amp = 3e-4
    n = np.arange(4000)
    x = amp * np.sin(2 * np.pi * freq_hz * n / SFREQ + 1.0)[None, :]
    res = SpectralFeatures(SFREQ, 1).process(x)
    # Bins are 2 Hz apart: the median is found to a small fraction of a bin.
    np.testing.assert_allclose(res.mdf_hz, freq_hz, atol=0.15)
    np.testing.assert_allclose(res.mnf_hz, freq_hz, atol=0.01)
    np.testing.assert_allclose(res.power, amp**2 / 2, rtol=1e-3)


def test_two_tones_mean_frequency() -> None:
    n = np.arange(3000)
    t = n / SFREQ
    x = (1e-4 * np.sin(2 * np.pi * 50.0 * t) + 3e-4 * np.sin(2 * np.pi * 150.0 * t))[None, :]
    res = SpectralFeatures(SFREQ, 1).process(x)
    expected = (50.0 * 1.0 + 150.0 * 9.0) / 10.0  # weighted by power (amplitude squared)
    np.testing.assert_allclose(res.mnf_hz, expected, rtol=1e-9)
    # Hann spreads a tone on a bin over three bins, powers (1/4, 1, 1/4) x 1.5**-1 of it:
    # 1.5 + 13.5 units in all. Half (7.5) is reached inside the 150 Hz bin (148 Hz bin
    # ends at 3.75 units, the 150 Hz bin holds 9): MDF = 149 + 2 * 3.75 / 9 Hz.
    np.testing.assert_allclose(res.mdf_hz, 149.0 + 2.0 * 3.75 / 9.0, rtol=1e-9)


def test_flat_band_limited_noise() -> None:
    """White noise in 60-140 Hz: MDF = MNF = 100 Hz on average."""
    rng = np.random.default_rng(4)
    n_times = 2**18
    freqs = np.fft.rfftfreq(n_times, 1 / SFREQ)
    psd = ((freqs >= 60.0) & (freqs <= 140.0)).astype(float)
    x = _shaped_noise(rng, psd, n_times, 50e-6)[None, :]
    res = SpectralFeatures(SFREQ, 1).process(x)
    assert res.n_windows > 2000
    assert np.mean(res.mdf_hz) == pytest.approx(100.0, abs=1.0)
    assert np.mean(res.mnf_hz) == pytest.approx(100.0, abs=1.0)
    assert np.mean(res.power) == pytest.approx((50e-6) ** 2, rel=0.02)


def test_ramp_spectrum_separates_mean_and_median() -> None:
    """PSD rising linearly over 50-250 Hz: MNF = f1 + 2/3 B, MDF = f1 + B / sqrt(2)."""
    rng = np.random.default_rng(5)
    n_times = 2**18
    freqs = np.fft.rfftfreq(n_times, 1 / SFREQ)
    f1, f2 = 50.0, 250.0
    psd = np.where((freqs >= f1) & (freqs <= f2), freqs - f1, 0.0)
    x = _shaped_noise(rng, psd, n_times, 50e-6)[None, :]
    res = SpectralFeatures(SFREQ, 1).process(x)
    assert np.mean(res.mnf_hz) == pytest.approx(f1 + 2 / 3 * (f2 - f1), abs=1.5)
    assert np.mean(res.mdf_hz) == pytest.approx(f1 + (f2 - f1) / np.sqrt(2), abs=1.5)


def test_band_limits_exclude_out_of_band_power() -> None:
    n = np.arange(3000)
    t = n / SFREQ
    x = (1e-3 * np.sin(2 * np.pi * 6.0 * t) + 1e-4 * np.sin(2 * np.pi * 100.0 * t))[None, :]
    res = SpectralFeatures(SFREQ, 1).process(x)  # fmin = 20 Hz drops the 6 Hz drift
    np.testing.assert_allclose(res.mdf_hz, 100.0, atol=0.01)
    np.testing.assert_allclose(res.power, 0.5e-8, rtol=1e-3)
    res_low = SpectralFeatures(SFREQ, 1, fmin=0.0, fmax=50.0).process(x)
    np.testing.assert_allclose(res_low.mdf_hz, 6.0, atol=0.01)
    features = SpectralFeatures(SFREQ, 1, fmin=20.0, fmax=450.0)
    assert features.freqs[0] == 20.0
    assert features.freqs[-1] == 450.0


# --------------------------------------------------------------------------- silence


def test_silent_windows_are_nan_and_flagged() -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3000)) * 1e-5
    x[0, 1000:2500] = 0.0  # digital silence on the left
    x[1, 1000:2500] = 1e-11 * rng.standard_normal(1500)  # far below any noise floor
    res = SpectralFeatures(SFREQ, 2).process(x)
    inside = (res.end_samples - 500 >= 1000) & (res.end_samples <= 2500)
    assert inside.sum() == 9
    for ch in (0, 1):
        np.testing.assert_array_equal(res.silent[ch], inside)
        assert np.isnan(res.mdf_hz[ch, inside]).all()
        assert np.isnan(res.mnf_hz[ch, inside]).all()
        assert np.isfinite(res.mdf_hz[ch, ~inside]).all()
    np.testing.assert_array_equal(res.power[0, inside], 0.0)
    assert (res.power[1, inside] > 0).all()
    # With a zero threshold only exact zeros count as silent.
    strict = SpectralFeatures(SFREQ, 2, silence_rms_v=0.0).process(x)
    np.testing.assert_array_equal(strict.silent[0], inside)
    assert not strict.silent[1].any()
    assert np.isfinite(strict.mdf_hz[1]).all()


def test_result_is_frozen_and_read_only() -> None:
    res = SpectralFeatures(SFREQ, 1).process(np.ones((1, 600)) * 1e-6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.mdf_hz = np.zeros((1, 1))  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        res.mdf_hz[0, 0] = 1.0
    with pytest.raises(ValueError, match="at least one"):
        SpectralWindows.concatenate([])
    with pytest.raises(ValueError, match="shape"):
        SpectralWindows(
            end_samples=np.array([500]),
            mnf_hz=np.zeros((1, 2)),
            mdf_hz=np.zeros((1, 1)),
            power=np.zeros((1, 1)),
            silent=np.zeros((1, 1), dtype=bool),
        )


# --------------------------------------------------------------------------- simulator


def test_cramp_has_lower_median_frequency_than_tonic_spasm() -> None:
    scenario = builtin_scenario("quick")
    truth = scenario.truth()
    tonic = next(e for e in truth if e.kind == "tonic" and e.involuntary)
    cramp = next(e for e in truth if e.kind == "cramp" and e.involuntary)
    side = {"left": 0, "right": 1}
    body = BodySimulator(scenario, sfreq=SFREQ, accel_sfreq=0.0, seed=1)
    emg, _ = body.read(int(math.ceil(cramp.offset_s * SFREQ)))
    # The device's 20-450 Hz band-pass (plain scipy: this test is about the features).
    sos = signal.butter(4, [20.0, 450.0], btype="bandpass", output="sos", fs=SFREQ)
    filtered = signal.sosfilt(sos, emg, axis=-1)
    features = SpectralFeatures(SFREQ, 2)
    res = _in_blocks(features, filtered, [20] * (filtered.shape[1] // 20))
    start_s = (res.end_samples - features.n_window) / SFREQ
    end_s = res.end_samples / SFREQ

    def plateau_mdf(onset_s: float, offset_s: float, channel: int) -> NDArray[np.float64]:
        inside = (start_s >= onset_s) & (end_s <= offset_s)
        out: NDArray[np.float64] = res.mdf_hz[channel, inside]
        return out

    # Tonic plateau (after the 0.2 s onset, before the 1.5 s release); cramp once its
    # spectrum has compressed (first 30 %) and before the 2 s release.
    tonic_mdf = plateau_mdf(tonic.onset_s + 0.5, tonic.offset_s - 1.5, side[tonic.side])
    cramp_mdf = plateau_mdf(
        cramp.onset_s + 0.35 * cramp.duration_s, cramp.offset_s - 2.0, side[cramp.side]
    )
    assert tonic_mdf.size > 30
    assert cramp_mdf.size > 30
    assert np.median(cramp_mdf) < 0.8 * np.median(tonic_mdf)
    assert 45.0 < np.median(cramp_mdf) < 65.0  # 85 Hz x 0.6 compression + crosstalk
    assert 70.0 < np.median(tonic_mdf) < 90.0


# --------------------------------------------------------------------------- argument checks


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sfreq": 0.0}, ValueError, "sfreq"),
        ({"sfreq": -1.0}, ValueError, "sfreq"),
        ({"sfreq": None}, TypeError, "sfreq"),
        ({"n_channels": 0}, ValueError, "n_channels"),
        ({"n_channels": 1.5}, TypeError, "n_channels"),
        ({"window_s": 0.0}, ValueError, "window_s"),
        ({"window_s": 0.01}, ValueError, "at least 16 samples"),
        ({"window_s": MAX_SPECTRAL_WINDOW_S + 1.0}, ValueError, "at most"),
        ({"window_s": float("nan")}, ValueError, "window_s"),
        ({"step_s": 0.0}, ValueError, "step_s"),
        ({"step_s": 0.0001}, ValueError, "shorter than one sample"),
        ({"step_s": 0.6}, ValueError, "must not exceed window_s"),
        ({"fmin": -1.0}, ValueError, "fmin"),
        ({"fmax": 600.0}, ValueError, "Nyquist"),
        ({"fmax": 0.0}, ValueError, "fmax"),
        ({"fmin": 200.0, "fmax": 100.0}, ValueError, "below fmax"),
        ({"fmin": 100.0, "fmax": 101.0}, ValueError, "fewer than two frequency bins"),
        ({"silence_rms_v": -1e-9}, ValueError, "silence_rms_v"),
    ],
)
def test_bad_parameters(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    args: dict[str, object] = {"sfreq": SFREQ, "n_channels": 2} | kwargs
    with pytest.raises(error, match=match):
        SpectralFeatures(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("block", "error", "match"),
    [
        (np.array([[1e-6, np.nan], [0.0, 0.0]]), ValueError, "NaN"),
        (np.zeros(600), ValueError, "shape"),
        (np.zeros((1, 600)), ValueError, "2 channels"),
        (np.zeros((2, 600), dtype=np.int32), TypeError, "integer"),
    ],
)
def test_bad_block(block: NDArray[np.generic], error: type[Exception], match: str) -> None:
    features = SpectralFeatures(SFREQ, 2)
    with pytest.raises(error, match=match):
        features.process(block)
    # A refused block leaves the state untouched.
    assert features.process(np.ones((2, 500)) * 1e-6).end_samples.tolist() == [500]
