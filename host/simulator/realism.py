"""Statistics that compare simulated surface EMG with real recordings.

Offline analysis only (zero-phase filtering is fine here): the same functions are applied to
the simulator's output and to the public recordings in ``tests/data/`` by the tests and by
``docs/scripts/simulator_realism.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal, stats
from scipy.integrate import trapezoid

__all__ = [
    "EmgStatistics",
    "detect_r_peaks",
    "subtract_ecg",
    "emg_statistics",
    "highpass",
    "median_frequency",
    "mean_frequency",
    "otsu_threshold",
    "window_rms",
]


def highpass(x: NDArray[np.float64], sfreq: float, l_freq: float = 20.0) -> NDArray[np.float64]:
    """Zero-phase 4th-order Butterworth high-pass (offline analysis only).

    Parameters
    ----------
    x : ndarray of float, shape (..., n_times)
        Signal.
    sfreq : float
        Sampling frequency in Hz.
    l_freq : float
        Corner in Hz; 20 Hz is the corner recommended for surface EMG (De Luca et al. 2010).

    Returns
    -------
    y : ndarray of float, shape (..., n_times)
        Filtered signal.

    Notes
    -----
    De Luca CJ, Gilmore LD, Kuznetsov M, Roy SH (2010). Filtering the surface EMG signal:
    movement artifact and baseline noise contamination. J Biomech 43(8):1573-1579.
    """
    sos = signal.butter(4, l_freq, btype="highpass", fs=sfreq, output="sos")
    return np.asarray(signal.sosfiltfilt(sos, x, axis=-1), dtype=np.float64)


def window_rms(x: NDArray[np.float64], sfreq: float, window_s: float = 0.25) -> NDArray[np.float64]:
    """RMS of consecutive non-overlapping windows.

    Parameters
    ----------
    x : ndarray of float, shape (n_times,)
        Signal.
    sfreq : float
        Sampling frequency in Hz.
    window_s : float
        Window length in s.

    Returns
    -------
    rms : ndarray of float, shape (n_windows,)
        One value per complete window.
    """
    n = max(1, int(round(window_s * sfreq)))
    k = x.size // n
    return np.asarray(np.sqrt(np.mean(x[: k * n].reshape(k, n) ** 2, axis=1)), dtype=np.float64)


def otsu_threshold(values: NDArray[np.float64], n_bins: int = 128) -> float:
    """Return the threshold that best splits values into two classes (Otsu 1979).

    Parameters
    ----------
    values : ndarray of float, shape (n_values,)
        Data (here: log10 of window RMS).
    n_bins : int
        Histogram resolution.

    Returns
    -------
    threshold : float
        Maximises the between-class variance.

    Notes
    -----
    Otsu N (1979). A threshold selection method from gray-level histograms. IEEE Trans Syst
    Man Cybern 9(1):62-66.
    """
    hist, edges = np.histogram(values, bins=n_bins)
    centres = 0.5 * (edges[:-1] + edges[1:])
    weight = np.cumsum(hist).astype(np.float64)
    total = weight[-1]
    mean_cum = np.cumsum(hist * centres)
    w0 = weight / total
    w1 = 1.0 - w0
    mu0 = mean_cum / np.maximum(weight, 1e-12)
    mu1 = (mean_cum[-1] - mean_cum) / np.maximum(total - weight, 1e-12)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(edges[int(np.argmax(between[:-1])) + 1])


def detect_r_peaks(x: NDArray[np.float64], sfreq: float) -> NDArray[np.intp]:
    """Find R peaks of an ECG that dominates an EMG recording.

    Parameters
    ----------
    x : ndarray of float, shape (n_times,)
        Signal in which the QRS complexes are the largest deflections.
    sfreq : float
        Sampling frequency in Hz.

    Returns
    -------
    peaks : ndarray of int, shape (n_beats,)
        Sample indices of the R peaks (8-40 Hz band, above half the 99.8th percentile,
        at least 0.35 s apart).
    """
    sos = signal.butter(2, (8.0, 40.0), btype="bandpass", fs=sfreq, output="sos")
    envelope = np.abs(signal.sosfiltfilt(sos, x - np.mean(x)))
    height = 0.5 * float(np.percentile(envelope, 99.8))
    peaks, _ = signal.find_peaks(envelope, height=height, distance=int(0.35 * sfreq))
    return np.asarray(peaks, dtype=np.intp)


def subtract_ecg(
    x: NDArray[np.float64], sfreq: float, peaks: NDArray[np.intp] | None = None
) -> NDArray[np.float64]:
    """Remove ECG by subtracting a median beat template at every R peak.

    Parameters
    ----------
    x : ndarray of float, shape (n_times,)
        Signal.
    sfreq : float
        Sampling frequency in Hz.
    peaks : ndarray of int | None
        R-peak indices; detected with :func:`detect_r_peaks` when None.

    Returns
    -------
    cleaned : ndarray of float, shape (n_times,)
        ``x`` minus the template (0.15 s before to 0.45 s after each R peak).

    Notes
    -----
    Template subtraction is one of the ECG-removal methods compared for trunk EMG by Drake
    JDM, Callaghan JP (2006), J Electromyogr Kinesiol 16(2):175-187. The median over beats
    keeps EMG bursts out of the template.
    """
    if peaks is None:
        peaks = detect_r_peaks(x, sfreq)
    before, after = int(0.15 * sfreq), int(0.45 * sfreq)
    inner = peaks[(peaks >= before) & (peaks + after < x.size)]
    cleaned = np.asarray(x, dtype=np.float64).copy()
    if inner.size < 3:
        return cleaned
    offsets = np.arange(-before, after)
    epochs = x[inner[:, None] + offsets[None, :]]
    template = np.median(epochs - np.median(epochs, axis=1, keepdims=True), axis=0)
    template -= np.linspace(template[0], template[-1], template.size)
    for peak in inner:
        cleaned[peak - before : peak + after] -= template
    return cleaned


def median_frequency(freqs: NDArray[np.float64], psd: NDArray[np.float64]) -> float:
    """Frequency that splits the spectrum's power in two halves (Hz)."""
    cumulative = np.cumsum(psd)
    return float(np.interp(cumulative[-1] / 2.0, cumulative, freqs))


def mean_frequency(freqs: NDArray[np.float64], psd: NDArray[np.float64]) -> float:
    """Power-weighted mean frequency of a spectrum (Hz)."""
    return float(np.sum(freqs * psd) / np.sum(psd))


@dataclass(frozen=True)
class EmgStatistics:
    """Amplitude and spectral statistics of one surface-EMG channel.

    Attributes
    ----------
    sfreq : float
        Sampling frequency in Hz.
    band : tuple of float
        Band (Hz) over which the spectral statistics are computed.
    rms : ndarray
        RMS of each 250 ms window of the 20 Hz high-passed signal (signal units).
    active : ndarray of bool
        Windows classified as contraction (Otsu split of the log median absolute value).
    rest_rms, active_rms : float
        Median window RMS at rest and in contraction.
    burst_rest_ratio : float
        ``active_rms / rest_rms``.
    active_fraction : float
        Fraction of windows in contraction.
    median_freq_hz, mean_freq_hz : float
        Of the average spectrum of the active windows, within ``band``.
    window_median_freq_hz : ndarray
        Median frequency of each active window.
    kurtosis_active, kurtosis_rest : float
        Median per-window Pearson kurtosis (3 for Gaussian) of active / rest windows.
    freqs, psd : ndarray
        Welch spectrum of the whole high-passed signal, normalised to unit area in ``band``.
    active_psd : ndarray
        Average spectrum of the active windows on ``active_freqs``, unit area in ``band``.
    active_freqs : ndarray
        Frequencies of ``active_psd``.
    """

    sfreq: float
    band: tuple[float, float]
    rms: NDArray[np.float64]
    active: NDArray[np.bool_]
    rest_rms: float
    active_rms: float
    burst_rest_ratio: float
    active_fraction: float
    median_freq_hz: float
    mean_freq_hz: float
    window_median_freq_hz: NDArray[np.float64]
    kurtosis_active: float
    kurtosis_rest: float
    freqs: NDArray[np.float64]
    psd: NDArray[np.float64]
    active_freqs: NDArray[np.float64]
    active_psd: NDArray[np.float64]


def emg_statistics(
    x: NDArray[np.float64],
    sfreq: float,
    *,
    band: tuple[float, float] | None = None,
    window_s: float = 0.25,
    remove_ecg: bool = False,
) -> EmgStatistics:
    """Compute the realism statistics of one surface-EMG channel.

    Parameters
    ----------
    x : ndarray of float, shape (n_times,)
        Raw signal (any unit; ratios and spectra are unit-free).
    sfreq : float
        Sampling frequency in Hz.
    band : tuple of float | None
        Band for spectral statistics; default ``(20, min(450, 0.45 sfreq))``.
    window_s : float
        Analysis window in s.
    remove_ecg : bool
        Subtract an ECG template first (:func:`subtract_ecg`); only for recordings whose
        QRS complexes are larger than the EMG, so that R peaks can be found.

    Returns
    -------
    stats : EmgStatistics
        See :class:`EmgStatistics`.

    Notes
    -----
    Pipeline: remove the mean (and optionally the ECG), 20 Hz zero-phase high-pass, 250 ms
    windows, Otsu split of the log10 of each window's median absolute value into rest and
    contraction (the median is insensitive to the odd QRS complex in a rest window),
    Hann-windowed periodograms of the active windows averaged for the median and mean
    frequency.
    """
    if band is None:
        band = (20.0, min(450.0, 0.45 * sfreq))
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    if remove_ecg:
        x = subtract_ecg(x, sfreq)
    y = highpass(x, sfreq)
    rms = window_rms(y, sfreq, window_s)
    n = max(1, int(round(window_s * sfreq)))
    windows = y[: rms.size * n].reshape(rms.size, n)
    level = np.log10(np.maximum(np.median(np.abs(windows), axis=1), 1e-15))
    active = level > otsu_threshold(level)
    freqs_w, pxx = signal.periodogram(windows, fs=sfreq, window="hann", axis=-1)
    in_band = (freqs_w >= band[0]) & (freqs_w <= band[1])
    active_psd = pxx[active][:, in_band].mean(axis=0)
    active_psd = active_psd / trapezoid(active_psd, freqs_w[in_band])
    window_mdf = np.array([median_frequency(freqs_w[in_band], p[in_band]) for p in pxx[active]])
    kurt = stats.kurtosis(windows, axis=1, fisher=False)
    freqs, psd = signal.welch(y, fs=sfreq, nperseg=min(y.size, int(2 ** np.ceil(np.log2(sfreq)))))
    in_band_w = (freqs >= band[0]) & (freqs <= band[1])
    psd = psd / trapezoid(psd[in_band_w], freqs[in_band_w])
    rest_rms = float(np.median(rms[~active]))
    active_rms = float(np.median(rms[active]))
    return EmgStatistics(
        sfreq=float(sfreq),
        band=(float(band[0]), float(band[1])),
        rms=rms,
        active=active,
        rest_rms=rest_rms,
        active_rms=active_rms,
        burst_rest_ratio=active_rms / rest_rms,
        active_fraction=float(np.mean(active)),
        median_freq_hz=median_frequency(freqs_w[in_band], active_psd),
        mean_freq_hz=mean_frequency(freqs_w[in_band], active_psd),
        window_median_freq_hz=window_mdf,
        kurtosis_active=float(np.median(kurt[active])),
        kurtosis_rest=float(np.median(kurt[~active])),
        freqs=freqs,
        psd=psd,
        active_freqs=freqs_w[in_band],
        active_psd=active_psd,
    )
