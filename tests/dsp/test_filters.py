"""Filter design against its written specification (see the docstring of dsp.filters).

Band-pass (Butterworth, order 4 per side, default 20-450 Hz, upper edge clipped at 90 % of
Nyquist):
  * -3.01 dB +- 0.1 dB at both effective edges;
  * monotone: rising up to the peak, falling after it (no ripple);
  * within 0.5 dB of 0 dB from 1.5 * l_freq to 0.8 * h_freq;
  * >= 24 dB down at l_freq / 2, >= 48 dB at l_freq / 4, >= 24 dB half-way between h_freq
    and Nyquist, an exact zero at DC.
Mains notch (Butterworth band-stop, order 3, 4 Hz wide, every harmonic below 90 % Nyquist):
  * >= 200 dB at every line (a null: float64 round-off in practice), checked in the
    frequency domain and on sinusoids in the time domain;
  * >= 55 dB within +-0.2 Hz of every line, >= 30 dB within +-0.6 Hz;
  * < 0.5 dB of loss further than 3 Hz from every line.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import optimize, signal

from dsp.filters import (
    DEFAULT_NOTCH_BANDWIDTH,
    MAX_EDGE_FRACTION,
    design_bandpass,
    design_highpass,
    design_mains_notch,
    mains_harmonics,
)

SFREQS = (250.0, 500.0, 1000.0, 2000.0)
MAINS = (50.0, 60.0)


def _gain_db(sos: NDArray[np.float64], freqs: object, sfreq: float) -> NDArray[np.float64]:
    """Gain in dB at ``freqs`` (Hz); -6000 dB stands for an exact zero."""
    f = np.atleast_1d(np.asarray(freqs, dtype=np.float64))
    _, h = signal.sosfreqz(sos, worN=f, fs=sfreq)
    return np.asarray(20.0 * np.log10(np.maximum(np.abs(h), 1e-300)))


def _bandpass(sfreq: float) -> tuple[NDArray[np.float64], float, float]:
    """Default band-pass and its effective edges (the clipping warning is expected)."""
    h_freq = min(450.0, MAX_EDGE_FRACTION * sfreq / 2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sos = design_bandpass(sfreq)
    return sos, 20.0, h_freq


# ---------------------------------------------------------------------------- band-pass


@pytest.mark.parametrize("sfreq", SFREQS)
def test_bandpass_edges_are_minus_3_db(sfreq: float) -> None:
    sos, l_freq, h_freq = _bandpass(sfreq)
    np.testing.assert_allclose(_gain_db(sos, [l_freq, h_freq], sfreq), -3.0103, atol=0.1)


@pytest.mark.parametrize("sfreq", SFREQS)
def test_bandpass_pass_band_is_flat_and_monotone(sfreq: float) -> None:
    sos, l_freq, h_freq = _bandpass(sfreq)
    pass_band = np.linspace(1.5 * l_freq, 0.8 * h_freq, 5001)
    gain = _gain_db(sos, pass_band, sfreq)
    assert gain.max() <= 1e-9
    assert gain.min() >= -0.5
    freqs = np.linspace(0.5, sfreq / 2.0 - 0.5, 20001)
    mag = np.abs(signal.sosfreqz(sos, worN=freqs, fs=sfreq)[1])
    peak = int(np.argmax(mag))
    assert 0 < peak < freqs.size - 1
    tol = 1e-12
    assert (np.diff(mag[: peak + 1]) >= -tol).all(), "ripple below the peak"
    assert (np.diff(mag[peak:]) <= tol).all(), "ripple above the peak"


@pytest.mark.parametrize("sfreq", SFREQS)
def test_bandpass_stop_band(sfreq: float) -> None:
    sos, l_freq, h_freq = _bandpass(sfreq)
    nyquist = sfreq / 2.0
    assert _gain_db(sos, l_freq / 2, sfreq)[0] <= -24.0
    assert _gain_db(sos, l_freq / 4, sfreq)[0] <= -48.0
    assert _gain_db(sos, (h_freq + nyquist) / 2, sfreq)[0] <= -24.0
    assert _gain_db(sos, 0.0, sfreq)[0] <= -200.0
    if 2 * h_freq < nyquist:
        assert _gain_db(sos, 2 * h_freq, sfreq)[0] <= -24.0


@pytest.mark.parametrize(("sfreq", "clipped"), [(250.0, True), (500.0, True), (1000.0, False)])
def test_bandpass_clips_h_freq_with_a_warning(sfreq: float, clipped: bool) -> None:
    if clipped:
        with pytest.warns(UserWarning, match=r"h_freq=450 Hz is above 90% of Nyquist"):
            sos = design_bandpass(sfreq)
        edge = MAX_EDGE_FRACTION * sfreq / 2
    else:
        sos = design_bandpass(sfreq)  # warnings are errors: none may be raised
        edge = 450.0
    assert _gain_db(sos, edge, sfreq)[0] == pytest.approx(-3.0103, abs=0.01)


@pytest.mark.parametrize("order", [1, 2, 4, 6])
def test_bandpass_order_sets_the_sections(order: int) -> None:
    sos = design_bandpass(1000.0, 20.0, 450.0, order=order)
    assert sos.shape == (order, 6)
    assert _gain_db(sos, 20.0, 1000.0)[0] == pytest.approx(-3.0103, abs=0.01)


def test_bandpass_matches_scipy_butter() -> None:
    sos = design_bandpass(1000.0, 20.0, 450.0)
    expected = signal.butter(4, [20.0, 450.0], btype="bandpass", output="sos", fs=1000.0)
    np.testing.assert_array_equal(sos, expected)


# ---------------------------------------------------------------------------- high-pass


@pytest.mark.parametrize("sfreq", SFREQS)
def test_highpass_spec(sfreq: float) -> None:
    sos = design_highpass(sfreq, 20.0)
    assert _gain_db(sos, 20.0, sfreq)[0] == pytest.approx(-3.0103, abs=0.01)
    assert _gain_db(sos, 10.0, sfreq)[0] <= -24.0
    assert _gain_db(sos, 0.0, sfreq)[0] <= -200.0
    freqs = np.linspace(0.1, sfreq / 2 - 0.1, 5001)
    mag = np.abs(signal.sosfreqz(sos, worN=freqs, fs=sfreq)[1])
    assert (np.diff(mag) >= -1e-12).all()
    assert _gain_db(sos, 60.0, sfreq)[0] >= -0.1


# ---------------------------------------------------------------------------- notch


@pytest.mark.parametrize("sfreq", SFREQS)
@pytest.mark.parametrize("mains_freq", MAINS)
def test_mains_harmonics_below_the_limit(sfreq: float, mains_freq: float) -> None:
    lines = mains_harmonics(sfreq, mains_freq)
    limit = MAX_EDGE_FRACTION * sfreq / 2
    assert lines[0] == mains_freq
    np.testing.assert_allclose(np.diff(lines), mains_freq)
    assert lines[-1] < limit <= lines[-1] + mains_freq
    assert mains_harmonics(sfreq, mains_freq, harmonics=False).tolist() == [mains_freq]


def test_mains_harmonics_known_values() -> None:
    assert mains_harmonics(1000.0, 50.0).tolist() == [50, 100, 150, 200, 250, 300, 350, 400]
    assert mains_harmonics(250.0, 60.0).tolist() == [60.0]
    assert mains_harmonics(250.0, 50.0).tolist() == [50.0, 100.0]


@pytest.mark.parametrize("sfreq", SFREQS)
@pytest.mark.parametrize("mains_freq", MAINS)
def test_notch_depth_at_every_line(sfreq: float, mains_freq: float) -> None:
    sos = design_mains_notch(sfreq, mains_freq)
    lines = mains_harmonics(sfreq, mains_freq)
    assert sos.shape == (3 * lines.size, 6)
    assert (_gain_db(sos, lines, sfreq) <= -200.0).all()
    # Grid off nominal: every line, at the same offset.
    for offset in (-0.6, -0.2, 0.2, 0.6):
        gain = _gain_db(sos, lines + offset, sfreq)
        assert (gain <= (-55.0 if abs(offset) <= 0.2 else -30.0)).all(), (offset, gain)


@pytest.mark.parametrize("sfreq", SFREQS)
@pytest.mark.parametrize("mains_freq", MAINS)
def test_notch_time_domain_depth(sfreq: float, mains_freq: float) -> None:
    sos = design_mains_notch(sfreq, mains_freq)
    t = np.arange(int(12 * sfreq)) / sfreq
    for line in mains_harmonics(sfreq, mains_freq):
        x = np.sin(2 * np.pi * line * t + 0.3)
        y = signal.sosfilt(sos, x)
        tail = y[-int(4 * sfreq) :]
        depth_db = 20 * np.log10(np.sqrt(np.mean(tail**2)) / np.sqrt(0.5))
        assert depth_db <= -200.0, (line, depth_db)


@pytest.mark.parametrize("sfreq", SFREQS)
@pytest.mark.parametrize("mains_freq", MAINS)
def test_notch_leaves_the_rest_of_the_band_alone(sfreq: float, mains_freq: float) -> None:
    sos = design_mains_notch(sfreq, mains_freq)
    lines = mains_harmonics(sfreq, mains_freq)
    freqs = np.linspace(0.0, sfreq / 2, 100001)
    distance = np.min(np.abs(freqs[:, None] - lines[None, :]), axis=1)
    gain = _gain_db(sos, freqs[distance > 3.0], sfreq)
    assert gain.min() >= -0.5
    assert gain.max() <= 1e-9
    # Unit gain at DC and Nyquist.
    np.testing.assert_allclose(_gain_db(sos, [0.0, sfreq / 2], sfreq), 0.0, atol=1e-9)


@pytest.mark.parametrize("bandwidth", [1.0, 2.0, DEFAULT_NOTCH_BANDWIDTH, 8.0])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_notch_null_and_bandwidth_are_exact(bandwidth: float, order: int) -> None:
    sfreq, f0 = 1000.0, 50.0
    sos = design_mains_notch(sfreq, f0, harmonics=False, bandwidth=bandwidth, order=order)
    assert sos.shape == (order, 6)

    def above_minus_3db(f: float) -> float:
        return float(_gain_db(sos, f, sfreq)[0]) + 10 * math.log10(2)

    low = optimize.brentq(above_minus_3db, f0 - 3 * bandwidth, f0 - 1e-6)
    high = optimize.brentq(above_minus_3db, f0 + 1e-6, f0 + 3 * bandwidth)
    assert high - low == pytest.approx(bandwidth, abs=1e-6)
    assert abs(0.5 * (low + high) - f0) < 0.05 * bandwidth
    assert _gain_db(sos, f0, sfreq)[0] <= -200.0


def test_notch_order_1_is_the_classic_second_order_notch() -> None:
    sos = design_mains_notch(1000.0, 50.0, harmonics=False, bandwidth=2.0, order=1)
    b, a = signal.iirnotch(50.0, 50.0 / 2.0, fs=1000.0)
    freqs = np.linspace(0.0, 500.0, 5001)
    h_sos = signal.sosfreqz(sos, worN=freqs, fs=1000.0)[1]
    h_ba = signal.freqz(b, a, worN=freqs, fs=1000.0)[1]
    np.testing.assert_allclose(h_sos, h_ba, atol=1e-10)


def test_notch_without_harmonics() -> None:
    sos = design_mains_notch(1000.0, 60.0, harmonics=False)
    assert sos.shape == (3, 6)
    assert _gain_db(sos, 120.0, 1000.0)[0] > -0.01


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("sfreq", "error", "match"),
    [
        (None, TypeError, r"sfreq must be the sampling rate in Hz as a number, got NoneType"),
        ("1000", TypeError, r"sfreq must be .* got str \('1000'\)"),
        (True, TypeError, r"sfreq must be .* got bool"),
        (0.0, ValueError, r"sfreq must be a finite sampling rate > 0 Hz, got 0.0"),
        (-1000.0, ValueError, r"sfreq must be a finite sampling rate > 0 Hz, got -1000.0"),
        (math.nan, ValueError, r"sfreq must be a finite .* got nan"),
        (math.inf, ValueError, r"sfreq must be a finite .* got inf"),
    ],
)
def test_bad_sfreq(sfreq: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        design_bandpass(sfreq)  # type: ignore[arg-type]
    with pytest.raises(error, match=match):
        design_highpass(sfreq, 20.0)  # type: ignore[arg-type]
    with pytest.raises(error, match=match):
        design_mains_notch(sfreq, 50.0)  # type: ignore[arg-type]


def test_sfreq_too_low_for_the_band() -> None:
    with pytest.raises(ValueError, match=r"sfreq=40 Hz is too low for l_freq=20 Hz"):
        design_bandpass(40.0)
    with pytest.raises(ValueError, match=r"sfreq=40 Hz is too low for l_freq=20 Hz"):
        design_highpass(40.0, 20.0)
    with pytest.raises(ValueError, match=r"sfreq=100 Hz is too low for mains_freq=50 Hz"):
        design_mains_notch(100.0, 50.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"l_freq": 0.0}, ValueError, r"l_freq must be finite and > 0, got 0.0"),
        ({"l_freq": -5.0}, ValueError, r"l_freq must be finite and > 0, got -5.0"),
        ({"h_freq": math.nan}, ValueError, r"h_freq must be finite and > 0, got nan"),
        ({"l_freq": "20"}, TypeError, r"l_freq must be a number, got str"),
        ({"l_freq": 300.0, "h_freq": 200.0}, ValueError, r"l_freq must be below h_freq, got"),
        ({"order": 0}, ValueError, r"order must be an integer in \[1, 10\], got 0"),
        ({"order": 11}, ValueError, r"order must be an integer in \[1, 10\], got 11"),
        ({"order": 2.0}, TypeError, r"order must be an integer in \[1, 10\], got float"),
        ({"order": True}, TypeError, r"order must be an integer in \[1, 10\], got bool"),
    ],
)
def test_bad_bandpass_arguments(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        design_bandpass(1000.0, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"mains_freq": 0.0}, ValueError, r"mains_freq must be finite and > 0, got 0.0"),
        ({"mains_freq": None}, TypeError, r"mains_freq must be a number, got NoneType"),
        ({"mains_freq": 50.0, "bandwidth": 0.0}, ValueError, r"bandwidth must be finite and > 0"),
        (
            {"mains_freq": 50.0, "bandwidth": 25.0},
            ValueError,
            r"bandwidth must be below mains_freq / 2 = 25 Hz .* got 25 Hz",
        ),
        ({"mains_freq": 50.0, "order": 0}, ValueError, r"order must be an integer in \[1, 10\]"),
    ],
)
def test_bad_notch_arguments(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        design_mains_notch(1000.0, **kwargs)  # type: ignore[arg-type]
