"""Surface-EMG model: Gaussian noise shaped to a Shwedyk spectrum, modulated by activation.

The interference pattern picked up by a bipolar surface electrode over a large muscle is, to a
good approximation, zero-mean Gaussian noise whose variance follows the muscle's activation
(Hogan & Mann 1980) and whose power spectrum has the band-pass shape derived by Shwedyk,
Balasubramanian & Scott (1977). This module designs the shaping filter and runs it as a
streaming source whose state is carried from block to block.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import NDArray
from scipy import signal

__all__ = [
    "SHWEDYK_LOW_HIGH_RATIO",
    "ShapedNoise",
    "design_emg_shaping_filter",
    "shwedyk_psd",
]

#: Ratio ``f_low / f_high`` of the Shwedyk spectrum used throughout the simulator. With 0.5
#: the spectral peak lies at 0.68 x the median frequency and the mean frequency is about
#: 1.28 x the median frequency.
SHWEDYK_LOW_HIGH_RATIO = 0.5


def shwedyk_psd(freqs: NDArray[np.float64], f_low: float, f_high: float) -> NDArray[np.float64]:
    """Evaluate the Shwedyk surface-EMG power spectrum (peak-normalised).

    Parameters
    ----------
    freqs : ndarray of float, shape (n_freqs,)
        Frequencies in Hz.
    f_low : float
        Low corner of the spectrum in Hz (single pole).
    f_high : float
        High corner of the spectrum in Hz (double pole).

    Returns
    -------
    psd : ndarray of float, shape (n_freqs,)
        ``f_high**4 f**2 / ((f**2 + f_low**2) (f**2 + f_high**2)**2)`` scaled so that its
        maximum over a fine grid is 1.

    Notes
    -----
    Shwedyk E, Balasubramanian R, Scott RN (1977). A nonstationary model for the
    electromyogram. IEEE Trans Biomed Eng 24(5):417-424.
    """
    f2 = np.asarray(freqs, dtype=np.float64) ** 2
    psd = f_high**4 * f2 / ((f2 + f_low**2) * (f2 + f_high**2) ** 2)
    grid = np.linspace(0.0, 4.0 * f_high, 4001) ** 2
    peak = np.max(f_high**4 * grid / ((grid + f_low**2) * (grid + f_high**2) ** 2))
    return np.asarray(psd / peak, dtype=np.float64)


@functools.cache
def _median_to_high_ratio(low_high_ratio: float) -> float:
    """Return ``median_frequency / f_high`` of the (unlimited) analogue Shwedyk spectrum."""
    # Substituting f = f_high tan(phi) would be exact; a dense grid to 200 f_high is enough:
    # the f^-4 tail beyond it holds less than 1e-7 of the power.
    freqs = np.linspace(0.0, 200.0, 2_000_001)
    cumulative = np.cumsum(shwedyk_psd(freqs, low_high_ratio, 1.0))
    return float(np.interp(cumulative[-1] / 2.0, cumulative, freqs))


@functools.lru_cache(maxsize=64)
def _design_cached(median_freq_hz: float, sfreq: float, low_high_ratio: float) -> bytes:
    n_taps = max(15, 2 * int(round(0.064 * sfreq)) + 1)
    grid = np.linspace(0.0, sfreq / 2.0, 1025)
    f_high = median_freq_hz / _median_to_high_ratio(low_high_ratio)
    gains = np.sqrt(shwedyk_psd(grid, low_high_ratio * f_high, f_high))
    taps = signal.firwin2(n_taps, grid, gains, fs=sfreq, window="hann")
    taps = taps / np.sqrt(np.sum(taps**2))
    return np.asarray(taps, dtype=np.float64).tobytes()


def design_emg_shaping_filter(
    median_freq_hz: float, sfreq: float, *, low_high_ratio: float = SHWEDYK_LOW_HIGH_RATIO
) -> NDArray[np.float64]:
    """Design a filter that turns unit white noise into unit-variance surface EMG.

    Parameters
    ----------
    median_freq_hz : float
        Median frequency in Hz of the analogue spectrum (what an ideal, unlimited-bandwidth
        recording would show).
    sfreq : float
        Sampling frequency in Hz.
    low_high_ratio : float
        Ratio of the low to the high corner of the Shwedyk spectrum.

    Returns
    -------
    taps : ndarray of float, shape (n_taps,)
        Linear-phase FIR coefficients (about 64 ms long, an odd number of taps) with unit
        energy: filtering unit-variance white noise yields unit variance and a spectrum that
        follows :func:`shwedyk_psd` up to ``sfreq / 2``.

    Notes
    -----
    The Shwedyk spectrum (Shwedyk et al. 1977) is the squared magnitude of the analogue
    transfer function ``H(s) = s w_h^2 / ((s + w_l) (s + w_h)^2)``: one zero at DC, a pole at
    the low corner and a double pole at the high corner, so the spectrum rises as ``f^2`` and
    falls as ``f^-4``. Its magnitude is realised by frequency sampling (``firwin2``) rather
    than by a bilinear-transformed IIR filter, whose zeros at Nyquist would cut the upper
    spectrum a hundredfold too steeply at 1 kHz (real recordings keep the ``f^-4`` tail up
    to 450 Hz, see ``docs/simulator.md``). The spectrum is cut at Nyquist, as by an ideal
    anti-aliasing filter: at 1 kHz and above the sampled median frequency is within 1 % of
    ``median_freq_hz``; at low sampling rates it is lower, as it would be for a real
    recording.
    """
    if median_freq_hz <= 0.0:
        raise ValueError(f"median_freq_hz must be positive, got {median_freq_hz!r}.")
    if sfreq <= 0.0:
        raise ValueError(f"sfreq must be positive, got {sfreq!r}.")
    raw = _design_cached(float(median_freq_hz), float(sfreq), float(low_high_ratio))
    return np.frombuffer(raw, dtype=np.float64).copy()


class ShapedNoise:
    """Streaming source of spectrally shaped Gaussian noise, one stream per channel.

    Parameters
    ----------
    shaping : ndarray of float, shape (n_sections, 6) or (n_taps,)
        Shaping filter, normalised so that unit white noise gives unit variance: IIR
        second-order sections, or FIR taps.
    n_channels : int
        Number of independent streams.
    rng : numpy.random.Generator
        Source of the white noise. It is also used to settle the filter state (one burn-in
        second of noise), so the first output sample is already stationary.
    burn_in : int
        Number of samples run through the filter at construction.

    Notes
    -----
    State is carried ``scipy.signal.sosfilt(..., zi=...)`` (or ``lfilter``) style: the filter
    state at the end of one call is the initial state of the next, so the stream has no
    seams.
    """

    def __init__(
        self,
        shaping: NDArray[np.float64],
        n_channels: int,
        rng: np.random.Generator,
        *,
        burn_in: int = 2048,
    ) -> None:
        self._shaping = np.asarray(shaping, dtype=np.float64)
        self._n_channels = n_channels
        self._fir = self._shaping.ndim == 1
        if self._fir:
            self._zi = np.zeros((n_channels, self._shaping.size - 1))
        else:
            self._zi = np.zeros((self._shaping.shape[0], n_channels, 2))
        self._rng = rng
        if burn_in > 0:
            self.generate(max(burn_in, self._shaping.size))

    def generate(self, n_times: int) -> NDArray[np.float64]:
        """Return the next ``n_times`` samples.

        Parameters
        ----------
        n_times : int
            Number of samples per channel.

        Returns
        -------
        noise : ndarray of float, shape (n_channels, n_times)
            Shaped noise with unit variance (in steady state).
        """
        white = self._rng.standard_normal((self._n_channels, n_times))
        if self._fir:
            out, self._zi = signal.lfilter(self._shaping, [1.0], white, axis=-1, zi=self._zi)
        else:
            out, self._zi = signal.sosfilt(self._shaping, white, axis=-1, zi=self._zi)
        return np.asarray(out, dtype=np.float64)
