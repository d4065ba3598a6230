"""ECG picked up by lumbar EMG electrodes: beat timing with heart-rate variability, waveform.

Beat times are planned ahead in chunks from an instantaneous heart rate that follows the
activity (first-order lag), with respiratory sinus arrhythmia, a slow (Mayer-wave, ~0.1 Hz)
component and beat-to-beat jitter. Each beat is drawn as a sum of Gaussian waves (P, Q, R, S,
T) whose repolarisation stretches with the RR interval.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import signal

__all__ = ["ECG_WAVES", "HeartBeatPlanner", "render_ecg"]

#: The P-QRS-T complex as Gaussian waves: (centre after the R peak in s at RR = 1 s,
#: amplitude relative to R, standard deviation in s). The T wave's centre scales with
#: sqrt(RR) (Bazett 1920). Representation after McSharry et al. (2003).
ECG_WAVES: Final[tuple[tuple[float, float, float], ...]] = (
    (-0.19, 0.10, 0.025),  # P
    (-0.035, -0.12, 0.010),  # Q
    (0.0, 1.00, 0.011),  # R
    (0.035, -0.30, 0.012),  # S
    (0.27, 0.22, 0.055),  # T
)
_T_WAVE: Final = 4
_BEAT_SUPPORT_BEFORE_S: Final = 0.3
_BEAT_SUPPORT_AFTER_S: Final = 0.6

_GRID_DT_S: Final = 0.05
_CHUNK_S: Final = 30.0
_HR_LAG_S: Final = 20.0


class HeartBeatPlanner:
    """Plan heartbeat times ahead of the signal, chunk by chunk.

    Parameters
    ----------
    rng : numpy.random.Generator
        Randomness of the heart-rate variability.
    heart_rate_target : callable
        Maps times in s (ndarray) to the heart rate in bpm the body is heading for (rest
        rate plus activity and pain).
    respiration_rate_bpm : float
        Resting breathing rate.
    rsa_bpm : float
        Peak respiratory sinus arrhythmia at rest, bpm (shrinks as the heart rate rises).
    lf_bpm : float
        Standard deviation of the slow (0.04-0.15 Hz) heart-rate fluctuation, bpm.
    jitter_s : float
        Standard deviation of the beat-to-beat jitter, s.

    Notes
    -----
    Heart-rate variability components after Task Force of the ESC and NASPE (1996), Heart
    rate variability: standards of measurement, physiological interpretation and clinical
    use, Circulation 93(5):1043-1065. Heart-rate kinetics are a first-order lag with a
    20 s time constant.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        heart_rate_target: Callable[[NDArray[np.float64]], NDArray[np.float64]],
        *,
        respiration_rate_bpm: float,
        rsa_bpm: float = 4.0,
        lf_bpm: float = 2.0,
        jitter_s: float = 0.008,
    ) -> None:
        self._rng = rng
        self._target = heart_rate_target
        self._resp_hz = respiration_rate_bpm / 60.0
        self._rsa_bpm = rsa_bpm
        self._lf_bpm = lf_bpm
        self._jitter_s = jitter_s
        fs = 1.0 / _GRID_DT_S
        alpha = np.exp(-_GRID_DT_S / _HR_LAG_S)
        self._lag_b = np.array([1.0 - alpha])
        self._lag_a = np.array([1.0, -alpha])
        first = float(heart_rate_target(np.zeros(1))[0])
        self._lag_zi = np.array([alpha * first])
        self._lf_sos = signal.butter(2, (0.04, 0.15), btype="bandpass", fs=fs, output="sos")
        impulse = np.zeros(int(200 * fs))
        impulse[0] = 1.0
        self._lf_gain = 1.0 / np.sqrt(np.sum(signal.sosfilt(self._lf_sos, impulse) ** 2))
        self._lf_zi = np.zeros((self._lf_sos.shape[0], 2))
        # Settle the slow fluctuation so it does not start from zero.
        _, self._lf_zi = signal.sosfilt(
            self._lf_sos, rng.standard_normal(int(120 * fs)), zi=self._lf_zi
        )
        self._resp_phase = float(rng.uniform(0.0, 1.0))
        self._cardiac_phase = float(rng.uniform(0.0, 1.0))
        self._planned_until_s = 0.0
        self._beats = np.zeros(0)
        self._rr = np.zeros(0)
        self._gain = np.zeros(0)

    def beats_between(
        self, start_s: float, stop_s: float
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Return the beats whose waveform reaches into ``[start_s, stop_s)``.

        Parameters
        ----------
        start_s, stop_s : float
            Time window in seconds. Windows must move forward: beats long before
            ``start_s`` are forgotten.

        Returns
        -------
        times_s : ndarray of float, shape (n_beats,)
            R-peak times.
        rr_s : ndarray of float, shape (n_beats,)
            The RR interval ending at each beat.
        gain : ndarray of float, shape (n_beats,)
            Respiratory modulation of the QRS amplitude (around 1).
        """
        while self._planned_until_s < stop_s + _BEAT_SUPPORT_BEFORE_S:
            self._plan_chunk()
        keep = self._beats >= start_s - 5.0
        if not np.all(keep):
            self._beats, self._rr, self._gain = self._beats[keep], self._rr[keep], self._gain[keep]
        lo = np.searchsorted(self._beats, start_s - _BEAT_SUPPORT_AFTER_S, side="left")
        hi = np.searchsorted(self._beats, stop_s + _BEAT_SUPPORT_BEFORE_S, side="right")
        return self._beats[lo:hi], self._rr[lo:hi], self._gain[lo:hi]

    def _plan_chunk(self) -> None:
        n = int(round(_CHUNK_S / _GRID_DT_S))
        t = np.asarray(self._planned_until_s + _GRID_DT_S * np.arange(1, n + 1), dtype=np.float64)
        target = np.asarray(self._target(t), dtype=np.float64)
        lagged, self._lag_zi = signal.lfilter(self._lag_b, self._lag_a, target, zi=self._lag_zi)
        lf, self._lf_zi = signal.sosfilt(self._lf_sos, self._rng.standard_normal(n), zi=self._lf_zi)
        # Breathing quickens with exertion; sinus arrhythmia fades with it.
        excess = np.maximum(lagged - self._target(np.zeros(1))[0], 0.0)
        resp_hz = self._resp_hz * (1.0 + 0.015 * excess)
        resp_phase = self._resp_phase + np.cumsum(resp_hz) * _GRID_DT_S
        self._resp_phase = float(resp_phase[-1] % 1.0)
        resp_phase = resp_phase % 1.0
        rsa = self._rsa_bpm / (1.0 + excess / 15.0) * np.sin(2.0 * np.pi * resp_phase)
        rate_bpm = np.clip(lagged + rsa + self._lf_bpm * self._lf_gain * lf, 30.0, 200.0)
        phase = self._cardiac_phase + np.cumsum(rate_bpm / 60.0) * _GRID_DT_S
        prev = np.concatenate(([self._cardiac_phase], phase[:-1]))
        crossing = np.flatnonzero(np.floor(phase) > np.floor(prev))
        frac = (np.floor(phase[crossing]) - prev[crossing]) / (phase[crossing] - prev[crossing])
        times = t[crossing] - _GRID_DT_S + frac * _GRID_DT_S
        times = times + self._jitter_s * self._rng.standard_normal(times.size)
        gain = 1.0 + 0.08 * np.sin(2.0 * np.pi * resp_phase[crossing])
        self._cardiac_phase = float(phase[-1] - np.floor(phase[-1]))
        if times.size:
            last = self._beats[-1] if self._beats.size else times[0] - 60.0 / float(rate_bpm[0])
            rr = np.maximum(np.diff(np.concatenate(([last], times))), 0.25)
            self._beats = np.concatenate((self._beats, times))
            self._rr = np.concatenate((self._rr, rr))
            self._gain = np.concatenate((self._gain, gain))
        self._planned_until_s = float(t[-1])


def render_ecg(
    times_s: NDArray[np.float64],
    beat_times_s: NDArray[np.float64],
    rr_s: NDArray[np.float64],
    gain: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Draw the ECG (unit R amplitude) at the given sample times.

    Parameters
    ----------
    times_s : ndarray of float, shape (n_times,)
        Sample times in s.
    beat_times_s, rr_s, gain : ndarray of float, shape (n_beats,)
        From :meth:`HeartBeatPlanner.beats_between`.

    Returns
    -------
    ecg : ndarray of float, shape (n_times,)
        Sum of the beats' Gaussian waves; the R peak has amplitude ``gain``.

    Notes
    -----
    Gaussian-wave representation of the P-QRS-T complex after McSharry PE, Clifford GD,
    Tarassenko L, Smith LA (2003). A dynamical model for generating synthetic
    electrocardiogram signals. IEEE Trans Biomed Eng 50(3):289-294. QT adaptation after
    Bazett HC (1920), Heart 7:353-370.
    """
    out = np.zeros(times_s.size)
    if beat_times_s.size == 0:
        return out
    dt = times_s[None, :] - beat_times_s[:, None]
    qt_scale = np.sqrt(np.clip(rr_s, 0.3, 2.0))[:, None]
    for i, (centre, amplitude, width) in enumerate(ECG_WAVES):
        c = centre * qt_scale if i == _T_WAVE else centre
        w = width * qt_scale if i == _T_WAVE else width
        out += np.sum(gain[:, None] * amplitude * np.exp(-0.5 * ((dt - c) / w) ** 2), axis=0)
    return out
