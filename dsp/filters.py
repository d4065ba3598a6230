"""Filter design: pure functions returning second-order sections (SOS).

Design is separate from application (see :class:`dsp.sosfilter.SosFilter` for the
streaming state and :class:`dsp.filterbank.EmgFilterBank` for the surface-EMG chain).
Every function takes ``sfreq`` in Hz explicitly and designs in Hz (``fs=sfreq``), never
with normalised frequencies.

Specification met by the defaults (measured and tested at 250, 500, 1000 and 2000 Hz in
``tests/dsp/test_filters.py``):

* band-pass (Butterworth, order 4 per side): -3.01 dB at both (clipped) edges, gain
  monotone on either side of its peak, within 0.5 dB of 0 dB from ``1.5 * l_freq`` to
  ``0.8 * h_freq``, >= 24 dB attenuation at ``l_freq / 2``, >= 48 dB at ``l_freq / 4``,
  an exact zero at DC, >= 24 dB half-way between ``h_freq`` and Nyquist;
* mains notch (Butterworth band-stop, order 3, 4 Hz wide, at the mains frequency and
  every harmonic below ``MAX_EDGE_FRACTION`` of Nyquist): a null exactly at each line,
  >= 55 dB within +-0.2 Hz of it, >= 30 dB within +-0.6 Hz, and less than 0.5 dB of loss
  more than 3 Hz away from every line.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, signal

from dsp._validation import check_positive, check_sfreq

__all__ = [
    "DEFAULT_H_FREQ",
    "DEFAULT_L_FREQ",
    "DEFAULT_NOTCH_BANDWIDTH",
    "DEFAULT_NOTCH_ORDER",
    "MAINS_FREQS",
    "MAX_EDGE_FRACTION",
    "design_bandpass",
    "design_highpass",
    "design_mains_notch",
    "mains_harmonics",
]

logger = logging.getLogger(__name__)

#: Default surface-EMG band (Hz): 20 Hz removes motion artefact and most ECG energy,
#: 450 Hz keeps the EMG band (SENIAM; Merletti & Parker 2004, ch. 5).
DEFAULT_L_FREQ = 20.0
DEFAULT_H_FREQ = 450.0
#: Highest usable edge as a fraction of Nyquist; above it the design is ill-conditioned.
MAX_EDGE_FRACTION = 0.9
#: Nominal mains frequencies of the world's grids (Hz).
MAINS_FREQS: tuple[float, float] = (50.0, 60.0)
#: Default -3 dB width (Hz) of each mains notch. With :data:`DEFAULT_NOTCH_ORDER` it gives
#: >= 30 dB of rejection within +-0.6 Hz of the nominal line (a grid 0.2 Hz off nominal at
#: the 3rd harmonic) and < 0.5 dB of loss further than 3 Hz from it.
DEFAULT_NOTCH_BANDWIDTH = 4.0
#: Default order of the Butterworth band-stop prototype of each notch (``order`` SOS rows
#: per line). Order 1 is the classic second-order notch (same as ``scipy.signal.iirnotch``).
DEFAULT_NOTCH_ORDER = 3


def design_highpass(sfreq: float, l_freq: float, *, order: int = 4) -> NDArray[np.float64]:
    """Design a Butterworth high-pass filter.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    l_freq : float
        -3 dB cut-off in Hz, below ``MAX_EDGE_FRACTION * sfreq / 2``.
    order : int
        Filter order, 1 to 10 (even orders give whole second-order sections).

    Returns
    -------
    sos : ndarray, shape (n_sections, 6)
        Second-order sections, ``n_sections = ceil(order / 2)``.

    Raises
    ------
    TypeError
        If ``sfreq``, ``l_freq`` or ``order`` is not a number (``order``: an integer).
    ValueError
        If ``l_freq`` is not below ``MAX_EDGE_FRACTION`` of Nyquist, or ``order`` is out
        of range.

    Notes
    -----
    Butterworth (1930) maximally flat response, digitised by the bilinear transform with
    the cut-off pre-warped (Oppenheim & Schafer 2010, sec. 7.2), as ``scipy.signal.butter``
    does when given ``fs``.
    """
    sfreq = check_sfreq(sfreq)
    l_freq = check_positive("l_freq", l_freq)
    order = _check_order("order", order)
    nyquist = sfreq / 2.0
    limit = MAX_EDGE_FRACTION * nyquist
    if l_freq >= limit:
        raise ValueError(
            f"sfreq={sfreq:g} Hz is too low for l_freq={l_freq:g} Hz: l_freq must be below "
            f"{MAX_EDGE_FRACTION:.0%} of Nyquist ({limit:g} Hz at sfreq={sfreq:g} Hz)"
        )
    sos: NDArray[np.float64] = signal.butter(
        order, l_freq, btype="highpass", output="sos", fs=sfreq
    )
    return sos


def design_bandpass(
    sfreq: float,
    l_freq: float = DEFAULT_L_FREQ,
    h_freq: float = DEFAULT_H_FREQ,
    *,
    order: int = 4,
) -> NDArray[np.float64]:
    """Design a Butterworth band-pass filter for surface EMG.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    l_freq, h_freq : float
        -3 dB edges in Hz. When ``h_freq`` is above ``MAX_EDGE_FRACTION`` of Nyquist
        (e.g. 450 Hz at 500 or 250 Hz sampling) it is clipped there, with a
        ``UserWarning`` saying so.
    order : int
        Order of each of the low and high sides, 1 to 10 (the band-pass has twice as many
        poles).

    Returns
    -------
    sos : ndarray, shape (order, 6)
        Second-order sections.

    Raises
    ------
    TypeError
        If an argument is not a number (``order``: an integer).
    ValueError
        If ``l_freq`` is not below the (clipped) ``h_freq``, or the rate is too low for
        ``l_freq``.

    Notes
    -----
    Butterworth (1930) low-pass prototype, band-pass transformed and digitised by the
    bilinear transform with both edges pre-warped (Oppenheim & Schafer 2010, sec. 7.2), so
    the digital -3 dB points are exactly ``l_freq`` and ``h_freq``. The gain rises
    monotonically to 0 dB and falls monotonically after it (no ripple), with exact zeros
    at DC and Nyquist. The default band follows the SENIAM recommendations for surface EMG
    (Hermens et al. 2000; Merletti & Parker 2004).
    """
    sos, _, _ = _design_bandpass(sfreq, l_freq, h_freq, order, stacklevel=3)
    return sos


def mains_harmonics(
    sfreq: float, mains_freq: float, *, harmonics: bool = True
) -> NDArray[np.float64]:
    """Return the mains frequency and its harmonics that :func:`design_mains_notch` notches.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    mains_freq : float
        Fundamental in Hz, below ``MAX_EDGE_FRACTION`` of Nyquist.
    harmonics : bool
        Include ``2 * mains_freq``, ``3 * mains_freq``, ... below ``MAX_EDGE_FRACTION`` of
        Nyquist; otherwise only the fundamental.

    Returns
    -------
    freqs : ndarray of float, shape (n_lines,)
        Line frequencies in Hz, ascending.
    """
    sfreq = check_sfreq(sfreq)
    mains_freq = check_positive("mains_freq", mains_freq)
    limit = MAX_EDGE_FRACTION * sfreq / 2.0
    if mains_freq >= limit:
        raise ValueError(
            f"sfreq={sfreq:g} Hz is too low for mains_freq={mains_freq:g} Hz: it must be below "
            f"{MAX_EDGE_FRACTION:.0%} of Nyquist ({limit:g} Hz at sfreq={sfreq:g} Hz)"
        )
    n_lines = math.ceil(limit / mains_freq) - 1 if harmonics else 1
    return mains_freq * np.arange(1, n_lines + 1, dtype=np.float64)


def design_mains_notch(
    sfreq: float,
    mains_freq: float,
    *,
    harmonics: bool = True,
    bandwidth: float = DEFAULT_NOTCH_BANDWIDTH,
    order: int = DEFAULT_NOTCH_ORDER,
) -> NDArray[np.float64]:
    """Design a notch at the mains frequency and, optionally, every harmonic below the limit.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    mains_freq : float
        Fundamental in Hz: 50.0 or 60.0 in practice (any positive frequency below
        ``MAX_EDGE_FRACTION`` of Nyquist is accepted).
    harmonics : bool
        Also notch ``2f, 3f, ...`` below ``MAX_EDGE_FRACTION`` of Nyquist (see
        :func:`mains_harmonics`).
    bandwidth : float
        -3 dB width of each notch in Hz (the same for every harmonic), below
        ``mains_freq / 2``. Default :data:`DEFAULT_NOTCH_BANDWIDTH`.
    order : int
        Order of the Butterworth band-stop prototype, 1 to 10: each notch is ``order``
        SOS rows and its attenuation grows as ``20 * order`` dB per decade of detuning.
        ``order=1`` is the classic second-order notch (``scipy.signal.iirnotch``).
        Default :data:`DEFAULT_NOTCH_ORDER`.

    Returns
    -------
    sos : ndarray, shape (n_lines * order, 6)
        Second-order sections, ``order`` rows per line, lines in ascending frequency.

    Raises
    ------
    TypeError
        If an argument is not a number (``order``: an integer).
    ValueError
        If ``mains_freq`` is not below ``MAX_EDGE_FRACTION`` of Nyquist (``sfreq`` too
        low), or ``bandwidth`` or ``order`` is out of range.

    Notes
    -----
    Each notch is a Butterworth (1930) band-stop filter digitised with the bilinear
    transform (Oppenheim & Schafer 2010, sec. 7.2). The analogue band-stop is designed
    around the pre-warped line frequency ``w0 = 2 sfreq tan(pi f0 / sfreq)`` with edges
    ``w0 exp(-u)`` and ``w0 exp(u)`` (geometric symmetry), ``u`` being solved for so that
    the digital -3 dB edges are exactly ``bandwidth`` Hz apart. This puts the null exactly
    at ``f0``, which designing from ``f0 +- bandwidth / 2`` directly would not. Each
    notch has unit gain at DC and Nyquist, so the cascade only acts near the lines.
    """
    sfreq = check_sfreq(sfreq)
    mains_freq = check_positive("mains_freq", mains_freq)
    bandwidth = check_positive("bandwidth", bandwidth)
    order = _check_order("order", order)
    if bandwidth >= mains_freq / 2.0:
        raise ValueError(
            f"bandwidth must be below mains_freq / 2 = {mains_freq / 2.0:g} Hz so that "
            f"neighbouring notches stay apart, got {bandwidth:g} Hz instead"
        )
    freqs = mains_harmonics(sfreq, mains_freq, harmonics=harmonics)
    sections = [_design_bandstop(sfreq, float(f0), bandwidth, order) for f0 in freqs]
    return np.concatenate(sections, axis=0)


def _design_bandpass(
    sfreq: Any, l_freq: Any, h_freq: Any, order: Any, *, stacklevel: int
) -> tuple[NDArray[np.float64], float, float]:
    """Return the band-pass SOS and its effective (clipped) edges ``(l_freq, h_freq)``.

    ``stacklevel`` is passed to the clipping warning so that it points at user code.
    """
    sfreq = check_sfreq(sfreq)
    l_freq = check_positive("l_freq", l_freq)
    h_freq = check_positive("h_freq", h_freq)
    order = _check_order("order", order)
    nyquist = sfreq / 2.0
    limit = MAX_EDGE_FRACTION * nyquist
    if l_freq >= limit:
        raise ValueError(
            f"sfreq={sfreq:g} Hz is too low for l_freq={l_freq:g} Hz: the band needs "
            f"l_freq below {limit:g} Hz ({MAX_EDGE_FRACTION:.0%} of Nyquist)"
        )
    if h_freq > limit:
        warnings.warn(
            f"h_freq={h_freq:g} Hz is above {MAX_EDGE_FRACTION:.0%} of Nyquist at "
            f"sfreq={sfreq:g} Hz; clipping the upper edge to {limit:g} Hz (EMG power above "
            "it is lost at this rate)",
            UserWarning,
            stacklevel=stacklevel,
        )
        h_freq = limit
    if l_freq >= h_freq:
        raise ValueError(
            f"l_freq must be below h_freq, got l_freq={l_freq:g} Hz and h_freq={h_freq:g} Hz"
        )
    sos: NDArray[np.float64] = signal.butter(
        order, [l_freq, h_freq], btype="bandpass", output="sos", fs=sfreq
    )
    return sos, l_freq, h_freq


def _design_bandstop(sfreq: float, f0: float, bandwidth: float, order: int) -> NDArray[np.float64]:
    """Butterworth band-stop with its null exactly at ``f0`` and -3 dB edges ``bandwidth`` apart.

    Returns the SOS, shape ``(order, 6)``.
    """
    two_fs = 2.0 * sfreq
    w0 = two_fs * math.tan(math.pi * f0 / sfreq)  # pre-warped centre, rad/s

    def edge_gap(u: float) -> float:
        upper = math.atan(w0 * math.exp(u) / two_fs)
        lower = math.atan(w0 * math.exp(-u) / two_fs)
        return sfreq / math.pi * (upper - lower) - bandwidth

    # edge_gap rises monotonically from -bandwidth (u = 0) towards sfreq / 2 - bandwidth.
    u = optimize.brentq(edge_gap, 0.0, 50.0, xtol=1e-15, rtol=1e-15)
    band = [w0 * math.exp(-u), w0 * math.exp(u)]
    z, p, k = signal.butter(order, band, btype="bandstop", analog=True, output="zpk")
    zd, pd, kd = signal.bilinear_zpk(z, p, k, fs=sfreq)
    sos: NDArray[np.float64] = signal.zpk2sos(zd, pd, kd)
    return sos


def _check_order(name: str, order: Any) -> int:
    """Return ``order`` after checking it is an integer in [1, 10]."""
    if isinstance(order, bool) or not isinstance(order, int | np.integer):
        raise TypeError(
            f"{name} must be an integer in [1, 10], got {type(order).__name__} ({order!r}) instead"
        )
    if not 1 <= order <= 10:
        raise ValueError(f"{name} must be an integer in [1, 10], got {order!r} instead")
    return int(order)


def _check_mains_freq(mains_freq: Any, *, allow_none: bool = True) -> float | None:
    """Return ``mains_freq`` as 50.0 or 60.0 (or None), else raise an MNE-style ValueError.

    Unlike ``check_option`` this never compares an array element-wise with the options.
    """
    if mains_freq is None and allow_none:
        return None
    is_number = not isinstance(mains_freq, bool) and isinstance(
        mains_freq, int | float | np.integer | np.floating
    )
    if is_number and float(mains_freq) in MAINS_FREQS:
        return float(mains_freq)
    allowed: tuple[float | None, ...] = (*MAINS_FREQS, None) if allow_none else MAINS_FREQS
    listed = ", ".join(repr(option) for option in allowed)
    raise ValueError(
        f"Invalid value for the 'mains_freq' parameter. Allowed values are {listed}, "
        f"but got {mains_freq!r} instead."
    )
