"""Waveforms of the non-muscle signals at the electrodes: mains, drift, pops, lift-off.

Everything here is a pure function of time except :func:`design_noise_filter`, whose output
feeds a :class:`~host.simulator.emg_model.ShapedNoise` stream.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import signal

__all__ = [
    "MAINS_HARMONICS",
    "design_noise_filter",
    "electrode_pop",
    "mains_waveform",
    "plateau_envelope",
    "saturation_pulse",
]

#: Relative amplitudes of the mains fundamental and harmonics picked up by a body-worn
#: differential input (odd harmonics dominate: rectifier loads, fluorescent lighting).
MAINS_HARMONICS: Final[tuple[tuple[int, float], ...]] = ((1, 1.0), (2, 0.08), (3, 0.35), (5, 0.15))


def design_noise_filter(
    kind: str, sfreq: float, *, l_freq: float | None = None, h_freq: float | None = None
) -> NDArray[np.float64]:
    """Design a Butterworth filter whose output has unit variance for unit white input.

    Parameters
    ----------
    kind : str
        ``"lowpass"`` (uses ``h_freq``), ``"bandpass"`` (both) or ``"pink"`` (a first-order
        approximation of 1/f noise above ``l_freq``: a single pole at ``l_freq``).
    sfreq : float
        Sampling frequency in Hz.
    l_freq, h_freq : float | None
        Corner frequencies in Hz.

    Returns
    -------
    sos : ndarray of float, shape (n_sections, 6)
        Second-order sections scaled to unit output variance.
    """
    if kind == "lowpass":
        if h_freq is None:
            raise ValueError("A low-pass noise filter needs h_freq.")
        sos = signal.butter(2, h_freq, btype="lowpass", fs=sfreq, output="sos")
        slowest = h_freq
    elif kind == "bandpass":
        if l_freq is None or h_freq is None:
            raise ValueError("A band-pass noise filter needs l_freq and h_freq.")
        sos = signal.butter(2, (l_freq, h_freq), btype="bandpass", fs=sfreq, output="sos")
        slowest = l_freq
    elif kind == "pink":
        if l_freq is None:
            raise ValueError("A pink noise filter needs l_freq.")
        sos = signal.butter(1, l_freq, btype="lowpass", fs=sfreq, output="sos")
        slowest = l_freq
    else:
        raise ValueError(
            f"Invalid value for the 'kind' parameter. Allowed values are 'lowpass', "
            f"'bandpass' and 'pink', but got {kind!r} instead."
        )
    sos = np.asarray(sos, dtype=np.float64)
    impulse = np.zeros(max(1024, int(12.0 * sfreq / slowest)))
    impulse[0] = 1.0
    sos[0, :3] /= np.sqrt(np.sum(signal.sosfilt(sos, impulse) ** 2))
    return sos


def mains_waveform(
    sample_index: NDArray[np.int64],
    sfreq: float,
    mains_hz: float,
    phase_rad: float,
) -> NDArray[np.float64]:
    """Return mains interference with harmonics (unit fundamental amplitude).

    Parameters
    ----------
    sample_index : ndarray of int, shape (n_times,)
        Absolute sample numbers (time ``k / sfreq``); using integers keeps the phase exact
        over days of signal.
    sfreq : float
        Sampling frequency in Hz.
    mains_hz : float
        50 or 60.
    phase_rad : float
        Phase of the fundamental at sample 0.

    Returns
    -------
    mains : ndarray of float, shape (n_times,)
        Fundamental plus the harmonics of :data:`MAINS_HARMONICS` below 0.45 ``sfreq`` (a
        real front end's anti-aliasing filter removes the others).
    """
    cycles = np.mod(sample_index * (mains_hz / sfreq), 1.0)
    out = np.zeros(sample_index.size)
    for order, rel in MAINS_HARMONICS:
        if order * mains_hz < 0.45 * sfreq:
            out += rel * np.sin(2.0 * np.pi * order * cycles + order * phase_rad)
    return out


def electrode_pop(
    times_s: NDArray[np.float64],
    onsets_s: NDArray[np.float64],
    amplitudes: NDArray[np.float64],
    taus_s: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Return electrode pops: a step followed by an exponential decay.

    Parameters
    ----------
    times_s : ndarray of float, shape (n_times,)
        Sample times.
    onsets_s, amplitudes, taus_s : ndarray of float, shape (n_pops,)
        Pop onsets, signed step sizes and decay time constants.

    Returns
    -------
    pops : ndarray of float, shape (n_times,)
        Sum of ``a exp(-(t - t0) / tau)`` for ``t >= t0``.

    Notes
    -----
    A sudden change of electrode-skin contact discharges the electrode's half-cell
    capacitance: the potential jumps and relaxes through the contact resistance (Webster JG,
    Medical Instrumentation, 4th ed. 2010, ch. 5).
    """
    out = np.zeros(times_s.size)
    for onset, amp, tau in zip(onsets_s, amplitudes, taus_s, strict=True):
        lag = times_s - onset
        on = lag >= 0.0
        out[on] += amp * np.exp(-lag[on] / tau)
    return out


def plateau_envelope(
    times_s: NDArray[np.float64], onset_s: float, duration_s: float, ramp_s: float
) -> NDArray[np.float64]:
    """Return a raised-cosine plateau: 0 outside, 1 inside, cosine ramps at both ends.

    Parameters
    ----------
    times_s : ndarray of float, shape (n_times,)
        Sample times.
    onset_s, duration_s : float
        Support of the envelope.
    ramp_s : float
        Length of each ramp (clipped to half the duration).

    Returns
    -------
    envelope : ndarray of float, shape (n_times,)
        Values in [0, 1].
    """
    ramp = max(min(ramp_s, duration_s / 2.0), 1e-6)
    rise = np.clip((times_s - onset_s) / ramp, 0.0, 1.0)
    fall = np.clip((onset_s + duration_s - times_s) / ramp, 0.0, 1.0)
    return np.asarray(0.25 * (1.0 - np.cos(np.pi * rise)) * (1.0 - np.cos(np.pi * fall)))


def saturation_pulse(
    times_s: NDArray[np.float64], onset_s: float, duration_s: float
) -> NDArray[np.float64]:
    """Return the shape of a saturating deflection (cable tug, static discharge).

    Parameters
    ----------
    times_s : ndarray of float, shape (n_times,)
        Sample times.
    onset_s, duration_s : float
        Support of the deflection.

    Returns
    -------
    pulse : ndarray of float, shape (n_times,)
        A fast rise (10 % of the duration), a flat top and an exponential return, peak 1;
        zero outside ``[onset_s, onset_s + 2 duration_s)``.
    """
    lag = times_s - onset_s
    rise = np.clip(lag / (0.1 * duration_s), 0.0, 1.0)
    tail = np.where(lag > duration_s, np.exp(-(lag - duration_s) / (0.1 * duration_s)), 1.0)
    inside = (lag >= 0.0) & (lag < 2.0 * duration_s)
    return np.asarray(np.where(inside, np.sin(0.5 * np.pi * rise) * tail, 0.0))
