"""Moving RMS, noise-floor correction and TKEO: known answers, streaming contract, checks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from dsp.envelope import (
    DEFAULT_RMS_WINDOW_S,
    MAX_RMS_WINDOW_S,
    MovingRms,
    Tkeo,
    noise_corrected_rms,
)

SFREQ = 1000.0

Streaming = MovingRms | Tkeo


def _in_blocks(obj: Streaming, x: NDArray[np.float64], sizes: Sequence[int]) -> NDArray[np.float64]:
    """Feed ``x`` in blocks of the given sizes (the remainder last) and join the outputs."""
    outs = []
    start = 0
    for size in sizes:
        outs.append(obj.process(x[:, start : start + size]))
        start = min(start + size, x.shape[1])
    outs.append(obj.process(x[:, start:]))
    return np.concatenate(outs, axis=1)


def _reference_rms(x: NDArray[np.float64], n_window: int) -> NDArray[np.float64]:
    """Brute-force causal moving RMS (zeros before the start)."""
    padded = np.concatenate([np.zeros((x.shape[0], n_window - 1)), x], axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(padded**2, n_window, axis=-1)
    out: NDArray[np.float64] = np.sqrt(windows.sum(axis=-1) / n_window)
    return out


def _emg_like(rng: np.random.Generator, n_times: int, n_channels: int = 2) -> NDArray[np.float64]:
    """Noise with bursts and a large spike: a wide dynamic range, like real EMG."""
    x = rng.standard_normal((n_channels, n_times)) * 5e-6
    x[:, n_times // 3 : n_times // 2] *= 60.0
    x[0, n_times // 4] = 5e-3
    return x


block_sizes = st.lists(st.integers(min_value=0, max_value=400), max_size=25)


# --------------------------------------------------------------------------- MovingRms


def test_moving_rms_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    x = _emg_like(rng, 4000)
    for window_s in (0.001, 0.05, DEFAULT_RMS_WINDOW_S, 0.25, 1.0):
        rms = MovingRms(SFREQ, 2, window_s=window_s)
        out = rms.process(x)
        assert out.shape == x.shape
        assert out.dtype == np.float64
        np.testing.assert_allclose(out, _reference_rms(x, rms.n_window), rtol=1e-12, atol=0)


def test_moving_rms_of_sine_is_amplitude_over_sqrt2() -> None:
    amp = 200e-6
    n = np.arange(3000)
    x = np.vstack([amp * np.sin(2 * np.pi * 50.0 * n / SFREQ + 0.4), 0.5 * amp * np.ones(3000)])
    rms = MovingRms(SFREQ, 2, window_s=0.1)  # 5 whole periods of 50 Hz
    out = rms.process(x)
    np.testing.assert_allclose(out[0, 100:], amp / np.sqrt(2), rtol=1e-12)
    np.testing.assert_allclose(out[1, 100:], 0.5 * amp, rtol=1e-12)
    # Default 150 ms window (7.5 periods): within 1 % of A/sqrt(2).
    out_default = MovingRms(SFREQ, 2).process(x)
    np.testing.assert_allclose(out_default[0, 150:], amp / np.sqrt(2), rtol=0.01)


def test_moving_rms_starts_from_rest() -> None:
    x = np.full((1, 300), 3e-6)
    out = MovingRms(SFREQ, 1, window_s=0.1).process(x)
    n = np.arange(300)
    expected = 3e-6 * np.sqrt(np.minimum(n + 1, 100) / 100)
    np.testing.assert_allclose(out[0], expected, rtol=1e-13)


def test_moving_rms_window_rounding_and_delay() -> None:
    rms = MovingRms(512.0, 3, window_s=0.2)
    assert rms.n_window == round(0.2 * 512)
    assert rms.delay_s == pytest.approx((rms.n_window - 1) / (2 * 512.0))
    assert MovingRms(SFREQ, 1, window_s=0.001).n_window == 1
    assert MovingRms(SFREQ, 1).n_window == 150


@settings(max_examples=60, deadline=None)
@given(
    sizes=block_sizes,
    n_window=st.integers(min_value=1, max_value=300),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    corrected=st.booleans(),
)
def test_moving_rms_block_size_invariance(
    sizes: list[int], n_window: int, seed: int, corrected: bool
) -> None:
    rng = np.random.default_rng(seed)
    x = _emg_like(rng, 1500)
    noise = [4e-6, 7e-6] if corrected else None
    one_shot = MovingRms(SFREQ, 2, window_s=n_window / SFREQ, noise_rms=noise).process(x)
    streamed = _in_blocks(MovingRms(SFREQ, 2, window_s=n_window / SFREQ, noise_rms=noise), x, sizes)
    np.testing.assert_allclose(streamed, one_shot, rtol=1e-9, atol=1e-18)


def test_moving_rms_blocks_are_bit_identical() -> None:
    rng = np.random.default_rng(1)
    x = _emg_like(rng, 5000)
    one_shot = MovingRms(SFREQ, 2).process(x)
    for sizes in ([1] * 400, [0, 149, 150, 151, 0, 1, 299, 300], [20] * 250, [7, 4993]):
        np.testing.assert_array_equal(_in_blocks(MovingRms(SFREQ, 2), x, sizes), one_shot)
    # Longer than one internal pass (65536 samples), in 20 ms blocks.
    long = _emg_like(rng, 150_000)
    np.testing.assert_array_equal(
        _in_blocks(MovingRms(SFREQ, 2), long, [20] * 7500), MovingRms(SFREQ, 2).process(long)
    )


@pytest.mark.parametrize("n_window", [1, 7, 150])
def test_moving_rms_sums_in_the_documented_order(n_window: int) -> None:
    # Bit for bit: the prefix sum of the window's part in the current chunk plus the
    # suffix sum (accumulated from the chunk's end) of its part in the previous chunk.
    rng = np.random.default_rng(n_window)
    x = _emg_like(rng, 4 * n_window + 3)
    sq = x * x
    want = np.empty_like(sq)
    for t in range(sq.shape[1]):
        start = t - t % n_window
        total = np.cumsum(sq[:, start : t + 1], axis=1)[:, -1]
        if t % n_window < n_window - 1 and start:
            tail = sq[:, t - n_window + 1 : start][:, ::-1]
            total = total + np.cumsum(tail, axis=1)[:, -1]
        want[:, t] = total
    got = MovingRms(SFREQ, 2, window_s=n_window / SFREQ).process(x)
    np.testing.assert_array_equal(got, np.sqrt(want / n_window))


def test_moving_rms_reset() -> None:
    rng = np.random.default_rng(2)
    x = _emg_like(rng, 800)
    rms = MovingRms(SFREQ, 2, window_s=0.2)
    first = rms.process(x)
    rms.process(rng.standard_normal((2, 333)))
    rms.reset()
    np.testing.assert_array_equal(rms.process(x), first)


def test_moving_rms_does_not_drift_over_1e7_samples() -> None:
    """Ten million samples (2.8 h at 1 kHz) with a 30 mV artefact, then a 1.5 uV floor."""
    rng = np.random.default_rng(3)
    n_times, block = 10_000_000, 250_000
    x = rng.standard_normal((1, n_times)) * 50e-6
    x[:, 4_000_000:4_001_000] *= 600.0  # 30 mV: 4e8 times the final mean square
    x[:, 5_000_000:] *= 0.03
    rms = MovingRms(SFREQ, 1)
    probes = np.array([5_000_149, 7_777_777, n_times - 12_345, n_times - 1])
    got = np.empty(probes.size)
    for start in range(0, n_times, block):
        out = rms.process(x[:, start : start + block])
        hit = (probes >= start) & (probes < start + block)
        got[hit] = out[0, probes[hit] - start]
    n_win = rms.n_window
    exact = np.array([np.sqrt(np.sum(x[0, p - n_win + 1 : p + 1] ** 2) / n_win) for p in probes])
    np.testing.assert_allclose(got, exact, rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- noise floor


def test_noise_corrected_rms_known_answer() -> None:
    rms = np.array([[5e-6, 3e-6, 2e-6, 0.0], [13e-6, 12e-6, 1e-6, 0.0]])
    out = noise_corrected_rms(rms, np.array([3e-6, 5e-6]))
    expected = np.array([[4e-6, 0.0, 0.0, 0.0], [12e-6, np.sqrt(119) * 1e-6, 0.0, 0.0]])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-21)
    assert (out >= 0).all()
    # One number applies to every channel; zero noise is the identity.
    np.testing.assert_allclose(noise_corrected_rms(rms, 3e-6)[0], out[0], rtol=1e-12)
    np.testing.assert_array_equal(noise_corrected_rms(rms, 0.0), rms)


def test_noise_correction_recovers_emg_amplitude() -> None:
    """EMG (sigma 10 uV) in independent noise (sigma 6 uV): corrected RMS -> 10 uV."""
    rng = np.random.default_rng(4)
    n_times = 200_000
    emg = rng.standard_normal((2, n_times)) * 10e-6
    noise = rng.standard_normal((2, n_times)) * np.array([[6e-6], [3e-6]])
    x = emg + noise
    raw = MovingRms(SFREQ, 2, window_s=MAX_RMS_WINDOW_S).process(x)[:, 5000:]
    corrected = MovingRms(SFREQ, 2, window_s=MAX_RMS_WINDOW_S, noise_rms=[6e-6, 3e-6])
    out = corrected.process(x)
    np.testing.assert_allclose(
        out,
        noise_corrected_rms(MovingRms(SFREQ, 2, window_s=5.0).process(x), [6e-6, 3e-6]),
        rtol=1e-9,
    )
    assert np.mean(raw[0]) == pytest.approx(np.hypot(10e-6, 6e-6), rel=0.01)
    np.testing.assert_allclose(np.mean(out[:, 5000:], axis=1), 10e-6, rtol=0.01)


def test_noise_correction_at_rest_is_zero_about_half_the_time() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 100_000)) * 2e-6
    out = MovingRms(SFREQ, 1, noise_rms=2e-6).process(x)[:, 1000:]
    assert 0.3 < np.mean(out == 0.0) < 0.7


@pytest.mark.parametrize(
    ("rms", "noise", "error", "match"),
    [
        (np.array([[1e-6, -1e-9]]), 1e-6, ValueError, "rms must be >= 0"),
        (np.array([[1e-6, np.nan]]), 1e-6, ValueError, "NaN"),
        (np.array([1e-6, 2e-6]), 1e-6, ValueError, "shape"),
        (np.array([[1, 2]]), 1e-6, TypeError, "integer"),
        (np.ones((2, 3)) * 1e-6, -1e-6, ValueError, "noise_rms"),
        (np.ones((2, 3)) * 1e-6, np.array([1e-6, -1e-6]), ValueError, "noise_rms"),
        (np.ones((2, 3)) * 1e-6, np.array([1e-6, np.nan]), ValueError, "noise_rms"),
        (np.ones((2, 3)) * 1e-6, np.array([1e-6, 2e-6, 3e-6]), ValueError, "shape"),
        (np.ones((2, 3)) * 1e-6, np.array([1, 2]), TypeError, "floating-point"),
        (np.ones((2, 3)) * 1e-6, True, TypeError, "bool"),
        (np.ones((2, 3)) * 1e-6, "1e-6", TypeError, "noise_rms"),
    ],
)
def test_noise_corrected_rms_bad_input(
    rms: NDArray[np.float64], noise: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        noise_corrected_rms(rms, noise)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- TKEO


@pytest.mark.parametrize(("amp", "omega", "phase"), [(1.0, 0.3, 0.1), (250e-6, 2.1, -1.0)])
def test_tkeo_of_sine_is_exact(amp: float, omega: float, phase: float) -> None:
    n = np.arange(2000)
    x = amp * np.sin(omega * n + phase)
    out = Tkeo(SFREQ, 1).process(x[None, :])
    # Output n is psi[n - 1]; it is defined from n = 2 on (zeros before the start).
    np.testing.assert_allclose(out[0, 2:], amp**2 * np.sin(omega) ** 2, rtol=1e-9)


def test_tkeo_is_the_operator_delayed_by_one_sample() -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 500)) * 1e-4
    tkeo = Tkeo(SFREQ, 2)
    out = tkeo.process(x)
    psi = x[:, 1:-1] ** 2 - x[:, :-2] * x[:, 2:]  # psi[1] ... psi[n - 2]
    np.testing.assert_array_equal(out[:, 2:], psi)
    np.testing.assert_array_equal(out[:, 0], 0.0)
    np.testing.assert_array_equal(out[:, 1], x[:, 0] ** 2)
    assert tkeo.delay_s == pytest.approx(1 / SFREQ)


@settings(max_examples=60, deadline=None)
@given(sizes=block_sizes, seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_tkeo_block_size_invariance(sizes: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = _emg_like(rng, 1500)
    one_shot = Tkeo(SFREQ, 2).process(x)
    streamed = _in_blocks(Tkeo(SFREQ, 2), x, sizes)
    np.testing.assert_allclose(streamed, one_shot, rtol=1e-9, atol=1e-24)
    np.testing.assert_array_equal(streamed, one_shot)


def test_tkeo_reset() -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 100))
    tkeo = Tkeo(SFREQ, 3)
    first = tkeo.process(x)
    tkeo.process(rng.standard_normal((3, 5)))
    tkeo.reset()
    np.testing.assert_array_equal(tkeo.process(x), first)


# --------------------------------------------------------------------------- argument checks


def _make(kind: str) -> Streaming:
    return MovingRms(SFREQ, 2) if kind == "rms" else Tkeo(SFREQ, 2)


@pytest.mark.parametrize("kind", ["rms", "tkeo"])
@pytest.mark.parametrize(
    ("block", "error", "match"),
    [
        (np.array([[1e-6, np.nan], [0.0, 0.0]]), ValueError, "NaN"),
        (np.array([[1e-6, np.inf], [0.0, 0.0]]), ValueError, "infinite"),
        (np.zeros(10), ValueError, "shape"),
        (np.zeros((2, 3, 4)), ValueError, "shape"),
        (np.zeros((3, 10)), ValueError, "2 channels"),
        (np.zeros((2, 10), dtype=np.int16), TypeError, "integer"),
        (np.zeros((2, 10), dtype=complex), TypeError, "floating-point"),
    ],
)
def test_streaming_bad_block(
    kind: str, block: NDArray[np.generic], error: type[Exception], match: str
) -> None:
    obj = _make(kind)
    with pytest.raises(error, match=match):
        obj.process(block)


@pytest.mark.parametrize("kind", ["rms", "tkeo"])
def test_streaming_empty_and_float32_blocks(kind: str) -> None:
    obj = _make(kind)
    assert obj.process(np.zeros((2, 0))).shape == (2, 0)
    out = obj.process(np.ones((2, 4), dtype=np.float32) * 1e-6)
    assert out.dtype == np.float64
    assert out.shape == (2, 4)


@pytest.mark.parametrize("cls", [MovingRms, Tkeo])
@pytest.mark.parametrize(
    ("sfreq", "n_channels", "error", "match"),
    [
        (0.0, 2, ValueError, "sfreq"),
        (-1000.0, 2, ValueError, "sfreq"),
        (float("nan"), 2, ValueError, "sfreq"),
        (None, 2, TypeError, "sfreq"),
        (SFREQ, 0, ValueError, "n_channels"),
        (SFREQ, 2.0, TypeError, "n_channels"),
        (SFREQ, True, TypeError, "n_channels"),
    ],
)
def test_bad_construction(
    cls: type[Streaming], sfreq: object, n_channels: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        cls(sfreq, n_channels)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("window_s", "noise_rms", "error", "match"),
    [
        (0.0004, None, ValueError, "shorter than one sample"),
        (0.0, None, ValueError, "window_s"),
        (-0.1, None, ValueError, "window_s"),
        (float("inf"), None, ValueError, "window_s"),
        (MAX_RMS_WINDOW_S + 0.001, None, ValueError, "at most"),
        ("0.15", None, TypeError, "window_s"),
        (0.15, [1e-6], ValueError, "shape"),
        (0.15, [1e-6, -1e-6], ValueError, "noise_rms"),
        (0.15, -1e-6, ValueError, "noise_rms"),
    ],
)
def test_moving_rms_bad_parameters(
    window_s: object, noise_rms: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        MovingRms(SFREQ, 2, window_s=window_s, noise_rms=noise_rms)  # type: ignore[arg-type]
