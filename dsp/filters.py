"""Filter design: pure functions returning second-order sections (SOS).

Design is separate from application (see :class:`dsp.sosfilter.SosFilter` for the
streaming state). Every function takes ``sfreq`` in Hz explicitly and designs in Hz
(``fs=sfreq``), never with normalised frequencies.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from dsp._validation import check_positive, check_sfreq

__all__ = [
    "DEFAULT_H_FREQ",
    "DEFAULT_L_FREQ",
    "MAX_EDGE_FRACTION",
    "design_bandpass",
    "design_highpass",
    "design_mains_notch",
]

logger = logging.getLogger(__name__)

#: Default surface-EMG band (Hz): 20 Hz removes motion artefact and most ECG energy,
#: 450 Hz keeps the EMG band (SENIAM; Merletti & Parker 2004, ch. 5).
DEFAULT_L_FREQ = 20.0
DEFAULT_H_FREQ = 450.0
#: Highest usable edge as a fraction of Nyquist; above it the design is ill-conditioned.
MAX_EDGE_FRACTION = 0.9


def design_highpass(sfreq: float, l_freq: float, *, order: int = 4) -> NDArray[np.float64]:
    """Design a Butterworth high-pass filter.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    l_freq : float
        -3 dB cut-off in Hz, below ``MAX_EDGE_FRACTION * sfreq / 2``.
    order : int
        Filter order (even orders give whole second-order sections).

    Returns
    -------
    sos : ndarray, shape (n_sections, 6)
        Second-order sections.
    """
    sfreq = check_sfreq(sfreq)
    l_freq = check_positive("l_freq", l_freq)
    nyquist = sfreq / 2.0
    if l_freq >= MAX_EDGE_FRACTION * nyquist:
        raise ValueError(
            f"l_freq must be below {MAX_EDGE_FRACTION:.0%} of Nyquist "
            f"({MAX_EDGE_FRACTION * nyquist:g} Hz at sfreq={sfreq:g} Hz), got {l_freq:g} Hz"
        )
    _check_order(order)
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
        Order of each of the low and high sides (the band-pass has twice as many poles).

    Returns
    -------
    sos : ndarray, shape (n_sections, 6)
        Second-order sections.

    Raises
    ------
    ValueError
        If ``l_freq`` is not below the (clipped) ``h_freq``, or the rate is too low for
        ``l_freq``.
    """
    sfreq = check_sfreq(sfreq)
    l_freq = check_positive("l_freq", l_freq)
    h_freq = check_positive("h_freq", h_freq)
    _check_order(order)
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
            stacklevel=2,
        )
        h_freq = limit
    if l_freq >= h_freq:
        raise ValueError(f"l_freq ({l_freq:g} Hz) must be below h_freq ({h_freq:g} Hz)")
    sos: NDArray[np.float64] = signal.butter(
        order, [l_freq, h_freq], btype="bandpass", output="sos", fs=sfreq
    )
    return sos


def design_mains_notch(
    sfreq: float,
    mains_freq: float,
    *,
    harmonics: bool = True,
    bandwidth: float = 2.0,
) -> NDArray[np.float64]:
    """Design a notch at the mains frequency and, optionally, every harmonic below Nyquist.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    mains_freq : float
        50.0 or 60.0 (any positive frequency below Nyquist is accepted).
    harmonics : bool
        Also notch 2f, 3f, ... up to ``MAX_EDGE_FRACTION`` of Nyquist.
    bandwidth : float
        -3 dB width of each notch in Hz (Q = f / bandwidth).

    Returns
    -------
    sos : ndarray, shape (n_notches, 6)
        One second-order section per notch (scipy ``iirnotch``).
    """
    sfreq = check_sfreq(sfreq)
    mains_freq = check_positive("mains_freq", mains_freq)
    bandwidth = check_positive("bandwidth", bandwidth)
    nyquist = sfreq / 2.0
    if mains_freq >= MAX_EDGE_FRACTION * nyquist:
        raise ValueError(
            f"mains_freq={mains_freq:g} Hz must be below {MAX_EDGE_FRACTION:.0%} of Nyquist "
            f"({MAX_EDGE_FRACTION * nyquist:g} Hz at sfreq={sfreq:g} Hz)"
        )
    freqs = [mains_freq]
    if harmonics:
        k = 2
        while k * mains_freq < MAX_EDGE_FRACTION * nyquist:
            freqs.append(k * mains_freq)
            k += 1
    sections = []
    for f0 in freqs:
        b, a = signal.iirnotch(f0, f0 / bandwidth, fs=sfreq)
        sections.append(np.concatenate([b, a]))
    return np.asarray(sections, dtype=np.float64)


def _check_order(order: int) -> None:
    if isinstance(order, bool) or not isinstance(order, int | np.integer) or not 1 <= order <= 10:
        raise ValueError(f"order must be an integer in [1, 10], got {order!r} instead")
