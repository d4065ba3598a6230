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
    """Return ``median_frequency / f_high`` of the analogue Shwedyk spectrum."""
    f_high = 1.0
    f = np.linspace(0.0, 200.0, 2_000_001)
    psd = shwedyk_psd(f, low_high_ratio * f_high, f_high)
    cumulative = np.cumsum(psd)
    return float(f[np.searchsorted(cumulative, cumulative[-1] / 2.0)])


def _design_analogue_match(
    median_freq_hz: float, sfreq: float, low_high_ratio: float
) -> NDArray[np.float64]:
    """Discretise the Shwedyk filter whose analogue median frequency is ``median_freq_hz``."""
    f_high = median_freq_hz / _median_to_high_ratio(low_high_ratio)
    f_high = min(f_high, 0.45 * sfreq)
    f_low = low_high_ratio * f_high
    # Pre-warp so the double pole lands on f_high after the bilinear transform.
    w_high = 2.0 * sfreq * np.tan(np.pi * f_high / sfreq)
    w_low = w_high * f_low / f_high
    z_d, p_d, k_d = signal.bilinear_zpk(
        np.array([0.0]), np.array([-w_low, -w_high, -w_high]), w_high**2, fs=sfreq
    )
    return np.asarray(signal.zpk2sos(z_d, p_d, k_d), dtype=np.float64)


def _digital_median(sos: NDArray[np.float64], sfreq: float) -> float:
    freqs, response = signal.sosfreqz(sos, worN=8192, fs=sfreq)
    cumulative = np.cumsum(np.abs(response) ** 2)
    return float(freqs[np.searchsorted(cumulative, cumulative[-1] / 2.0)])


@functools.lru_cache(maxsize=64)
def _design_cached(
    median_freq_hz: float, sfreq: float, low_high_ratio: float
) -> tuple[tuple[float, ...], ...]:
    target = median_freq_hz
    analogue = median_freq_hz
    sos = _design_analogue_match(analogue, sfreq, low_high_ratio)
    for _ in range(8):
        achieved = _digital_median(sos, sfreq)
        if abs(achieved - target) <= 0.002 * target:
            break
        analogue *= target / achieved
        if analogue / _median_to_high_ratio(low_high_ratio) > 0.45 * sfreq:
            analogue = 0.45 * sfreq * _median_to_high_ratio(low_high_ratio)
            sos = _design_analogue_match(analogue, sfreq, low_high_ratio)
            break
        sos = _design_analogue_match(analogue, sfreq, low_high_ratio)
    f_low = low_high_ratio * analogue / _median_to_high_ratio(low_high_ratio)
    impulse = np.zeros(max(4096, int(16.0 * sfreq / max(f_low, 1.0))))
    impulse[0] = 1.0
    energy = float(np.sum(signal.sosfilt(sos, impulse) ** 2))
    sos[0, :3] /= np.sqrt(energy)
    return tuple(tuple(float(v) for v in row) for row in sos)


def design_emg_shaping_filter(
    median_freq_hz: float, sfreq: float, *, low_high_ratio: float = SHWEDYK_LOW_HIGH_RATIO
) -> NDArray[np.float64]:
    """Design a filter that turns unit white noise into unit-variance surface EMG.

    Parameters
    ----------
    median_freq_hz : float
        Median frequency in Hz of the sampled spectrum to realise.
    sfreq : float
        Sampling frequency in Hz.
    low_high_ratio : float
        Ratio of the low to the high corner of the Shwedyk spectrum.

    Returns
    -------
    sos : ndarray of float, shape (n_sections, 6)
        Second-order sections. Filtering unit-variance white noise yields a signal of unit
        variance whose spectrum follows :func:`shwedyk_psd`.

    Notes
    -----
    The Shwedyk spectrum (Shwedyk et al. 1977) is the squared magnitude of the analogue
    transfer function ``H(s) = s w_h^2 / ((s + w_l) (s + w_h)^2)``: one zero at DC, a pole at
    the low corner and a double pole at the high corner. It is discretised with the bilinear
    transform pre-warped at the high corner, and the corners are then nudged (a few secant
    steps) so that the median frequency of the *sampled* spectrum equals ``median_freq_hz``;
    the bilinear zeros at Nyquist would otherwise pull it down by about 5 % at 1 kHz. When the
    high corner would exceed 0.45 ``sfreq`` it is clamped there, and the median frequency then
    falls short of the request (the anti-aliased spectrum a real front end delivers at that
    rate).
    """
    if median_freq_hz <= 0.0:
        raise ValueError(f"median_freq_hz must be positive, got {median_freq_hz!r}.")
    if sfreq <= 0.0:
        raise ValueError(f"sfreq must be positive, got {sfreq!r}.")
    rows = _design_cached(float(median_freq_hz), float(sfreq), float(low_high_ratio))
    return np.array(rows, dtype=np.float64)


class ShapedNoise:
    """Streaming source of spectrally shaped Gaussian noise, one stream per channel.

    Parameters
    ----------
    sos : ndarray of float, shape (n_sections, 6)
        Shaping filter, normalised so that unit white noise gives unit variance.
    n_channels : int
        Number of independent streams.
    rng : numpy.random.Generator
        Source of the white noise. It is also used to settle the filter state (one burn-in
        second of noise), so the first output sample is already stationary.
    burn_in : int
        Number of samples run through the filter at construction.

    Notes
    -----
    State is carried ``scipy.signal.sosfilt(..., zi=...)`` style: drawing ``n`` samples and then
    ``m`` samples gives the same numbers as drawing ``n + m`` at once provided the generator is
    asked in the same order.
    """

    def __init__(
        self,
        sos: NDArray[np.float64],
        n_channels: int,
        rng: np.random.Generator,
        *,
        burn_in: int = 2048,
    ) -> None:
        self._sos = sos
        self._n_channels = n_channels
        self._zi = np.zeros((sos.shape[0], n_channels, 2))
        self._rng = rng
        if burn_in > 0:
            self.generate(burn_in)

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
        out, self._zi = signal.sosfilt(self._sos, white, axis=-1, zi=self._zi)
        return np.asarray(out, dtype=np.float64)
