"""What a clinician looks at in a contraction, measured: the evidence the rules weigh.

Every function here is pure: arrays in, numbers out. :class:`EmgEvidence` describes the
muscle activity of one candidate episode, :class:`MotionEvidence` the wearer's trunk
around it (from the accelerometer), and the rules in :mod:`dsp.detector.rules` turn both
into a decision.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import fft, signal

__all__ = [
    "CLONIC_BAND_HZ",
    "GAIT_BAND_HZ",
    "EmgEvidence",
    "MotionEvidence",
    "emg_evidence",
    "fine_envelope",
    "median_frequency",
    "rhythm",
]

#: Envelope periodicity of gait: erector spinae fire at each heel strike, so bursts
#: recur at the step rate (about 1.4-2.4 steps/s) or, per side, the stride rate
#: (0.7-1.2 Hz) (Thorstensson et al., 1982; Anders et al., 2009).
GAIT_BAND_HZ = (0.6, 2.6)
#: Clonus: involuntary rhythmic contractions at 3-8 Hz (Boyraz et al., 2015;
#: Beres-Jones et al., 2003 on spinal-cord-injury clonus at 5-8 Hz).
CLONIC_BAND_HZ = (3.0, 8.0)
#: Resolution of the fine envelope used for rhythm and burst analysis, s.
FINE_BIN_S = 0.01


@dataclass(frozen=True)
class EmgEvidence:
    """Muscle activity of one candidate episode.

    Attributes
    ----------
    duration_s : float
        Length of the candidate.
    strength : ndarray, shape (n_channels,)
        Level of the contraction above the resting baseline, in units of that baseline
        (``(p90 - rest) / rest`` with ``p90`` the 90th percentile of the envelope, robust
        to a single spike): a dimensionless contrast that does not depend on gain or
        electrode impedance.
    peak_v, mean_v : ndarray, shape (n_channels,)
        Peak and mean envelope over the candidate, V.
    area_vs : ndarray, shape (n_channels,)
        Integral of the envelope above the resting baseline, V·s.
    active_fraction : ndarray, shape (n_channels,)
        Fraction of the candidate each channel spends above its offset threshold.
    asymmetry : float
        ``|a - b| / (a + b)`` of the two sides' mean envelope above rest, in volts (0
        symmetric, 1 one side only); NaN with one channel.
    gait_hz, gait_strength : float
        Periodicity of the fine envelope in the gait band (:data:`GAIT_BAND_HZ`) and its
        autocorrelation (0-1); NaN and 0 when too short to show three cycles.
    clonic_hz, clonic_strength : float
        The same in the clonus band (:data:`CLONIC_BAND_HZ`).
    duty : float
        Fraction of the candidate with the fine envelope (smoothed over 100 ms) above
        half its 95th-percentile contrast (low for trains of brief jerks, high for tonic
        contraction).
    n_bursts : int
        Number of separate bursts above that level.
    peak_strength : ndarray, shape (n_channels,)
        Peak envelope above rest in units of rest (like ``strength`` but from the peak).
    rise_s : float
        Time from onset to the first sample at half the peak contrast (onset abruptness).
    steadiness : float
        Coefficient of variation of the envelope over the middle 60 % of the candidate
        (low for a sustained tonic contraction).
    artefact_fraction : float
        Fraction of the candidate flagged by signal quality as a motion artefact or an
        electrode step (0 when not given).
    median_freq_hz : float
        Median frequency of the stronger side over (up to 10 s of) the candidate.
    mdf_ratio : float
        ``median_freq_hz`` relative to the wearer's usual median frequency in
        contractions (the median over recent episodes); NaN until five are known.
    """

    duration_s: float
    strength: NDArray[np.float64]
    peak_v: NDArray[np.float64]
    mean_v: NDArray[np.float64]
    area_vs: NDArray[np.float64]
    active_fraction: NDArray[np.float64]
    asymmetry: float
    gait_hz: float
    gait_strength: float
    clonic_hz: float
    clonic_strength: float
    duty: float
    n_bursts: int
    rise_s: float
    steadiness: float
    peak_strength: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    artefact_fraction: float = 0.0
    median_freq_hz: float = float("nan")
    mdf_ratio: float = float("nan")


@dataclass(frozen=True)
class MotionEvidence:
    """The wearer's trunk around a candidate episode (from the accelerometer).

    Attributes
    ----------
    moving_fraction : float
        Fraction of the candidate during which the trunk moves (activity ``moving`` or
        ``walking``), the decision frames widened by the movement margin.
    walking_fraction : float
        Fraction spent walking.
    turning_fraction : float
        Fraction with the trunk rotating or walking (widened like ``moving_fraction``):
        movement that a spasm's own shaking cannot produce.
    tilt_change_deg : float
        Angle (90th percentile over the candidate) between the trunk orientation just
        before the contraction began and its orientation during the candidate: a trunk
        held bent or turned is held there on purpose.
    walking_before : float
        Fraction of the few seconds before the candidate spent walking (a spasm stops
        the wearer: the "freeze" of gait).
    posture_before, activity_before : str
        Posture and activity just before the contraction began (``"unknown"`` without
        data). For a part of a longer contraction, "before" is before the whole of it.
    coverage : float
        Fraction of the candidate covered by valid accelerometer frames.
    """

    moving_fraction: float
    walking_fraction: float
    turning_fraction: float
    tilt_change_deg: float
    walking_before: float
    posture_before: str
    activity_before: str
    coverage: float


def fine_envelope(cleaned: NDArray[np.float64], sfreq: float) -> NDArray[np.float64]:
    """Mean rectified EMG in 10 ms bins, shape ``(n_channels, n_bins)``.

    The 150 ms moving RMS used for detection attenuates modulations above about 4 Hz
    (a moving average of length T has gain ``sinc(f T)``: 0.3 at 5 Hz, nearly 0 at 7 Hz),
    so clonus would vanish from it; 10 ms bins keep rhythms up to 50 Hz.
    """
    step = max(round(FINE_BIN_S * sfreq), 1)
    n_bins = cleaned.shape[1] // step
    rect = np.abs(cleaned[:, : n_bins * step]).reshape(cleaned.shape[0], n_bins, step)
    if rect.dtype in (np.float64, np.float32):
        # The sum divided by the count: numpy's mean, without its overhead.
        fast: NDArray[np.float64] = np.add.reduce(rect, axis=2) / step
        return fast
    out: NDArray[np.float64] = rect.mean(axis=2)
    return out


def rhythm(
    trace: NDArray[np.float64], rate: float, band_hz: tuple[float, float]
) -> tuple[float, float]:
    """Periodicity of a trace within a frequency band: ``(frequency Hz, strength 0-1)``.

    The trace is detrended by subtracting its moving average over one period of the
    band's lowest frequency (a slow ramp would otherwise keep the autocorrelation high at
    every lag), then its autocorrelation is searched for the highest local maximum at lags
    inside the band; at least three periods of that lag must fit in the trace. The
    strength is the autocorrelation there (1 for a perfect rhythm, about 0 for noise).
    Returns ``(nan, 0.0)`` when the trace is too short or shows no peak.

    Parameters
    ----------
    trace : ndarray, shape (n,)
        Envelope samples.
    rate : float
        Sampling rate of ``trace``, Hz.
    band_hz : (float, float)
        Lowest and highest rhythm frequency searched, Hz.
    """
    x = np.asarray(trace, dtype=np.float64)
    x = x[np.isfinite(x)]
    energy = float(np.dot(x - x.mean(), x - x.mean())) if x.size else 0.0
    width = max(int(round(rate / band_hz[0])), 1)
    if x.size < 3 * width // 2 + 3:
        return float("nan"), 0.0
    kernel = np.ones(width) / width
    x = x - np.convolve(x, kernel, mode="same")
    half = width // 2
    x = x[half : x.size - half] if x.size > 2 * half + 3 else x
    n = x.size
    min_lag = max(int(np.floor(rate / band_hz[1])), 1)
    max_lag = min(int(np.ceil(rate / band_hz[0])), n // 3)
    if max_lag <= min_lag + 1:
        return float("nan"), 0.0
    x = x - x.mean()
    power = float(np.dot(x, x))
    # Nothing left after detrending (a pure ramp leaves only rounding residue): no rhythm.
    if power <= 1e-9 * energy or power <= 0.0:
        return float("nan"), 0.0
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(x, nfft)
    acf = np.fft.irfft(spec * np.conj(spec), nfft)[: max_lag + 2] / power
    lags = np.arange(min_lag, max_lag + 1)
    inner = lags[(lags > 0) & (lags < acf.size - 1)]
    is_peak = (acf[inner] > acf[inner - 1]) & (acf[inner] >= acf[inner + 1])
    peaks = inner[is_peak]
    if peaks.size == 0:
        return float("nan"), 0.0
    # Multiples of the period peak too: take the shortest lag nearly as high as the best.
    top = float(acf[peaks].max())
    best = int(peaks[np.flatnonzero(acf[peaks] >= top - 0.1 * abs(top))[0]])
    return float(rate / best), float(np.clip(acf[best], 0.0, 1.0))


def median_frequency(
    cleaned: NDArray[np.float64], sfreq: float, fmin: float = 20.0, fmax: float | None = None
) -> float:
    """Median frequency of a stretch of cleaned EMG (Welch estimate), Hz; NaN if too short.

    MDF splits the power spectrum in two halves of equal power; it falls as conduction
    velocity drops in a sustained contraction (De Luca, 1997). The spectrum is Welch's
    average of periodograms (Welch, 1967): 250 ms periodic-Hann segments overlapping by
    half, each with its mean removed, i.e. :func:`scipy.signal.welch` with its defaults,
    computed here for all segments at once with the same arithmetic (the same numbers,
    at a fraction of the cost).
    """
    x = np.asarray(cleaned, dtype=np.float64)
    x = x[np.isfinite(x)]
    nperseg = min(x.size, max(round(0.25 * sfreq), 16))
    if x.size < 16 or float(np.dot(x, x)) <= 0.0:
        return float("nan")
    freqs, psd = _welch(x, float(sfreq), nperseg)
    top = sfreq / 2.0 if fmax is None else fmax
    band = (freqs >= fmin) & (freqs <= top)
    if band.sum() < 2:
        return float("nan")
    cum = np.cumsum(psd[band])
    if cum[-1] <= 0:
        return float("nan")
    return float(np.interp(cum[-1] / 2.0, cum, freqs[band]))


@functools.lru_cache(maxsize=8)
def _welch_setup(nperseg: int, sfreq: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Scaled window and frequencies of :func:`_welch`, exactly as scipy makes them."""
    stft = signal.ShortTimeFFT(
        signal.get_window("hann", nperseg),
        nperseg - nperseg // 2,
        sfreq,
        fft_mode="onesided",
        mfft=nperseg,
        scale_to="psd",
        phase_shift=None,
    )
    window = np.array(stft.win, dtype=np.float64)
    freqs = np.array(stft.f, dtype=np.float64)
    window.setflags(write=False)
    freqs.setflags(write=False)
    return window, freqs


def _welch(
    x: NDArray[np.float64], sfreq: float, nperseg: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Welch PSD of ``x`` as ``scipy.signal.welch(x, fs=sfreq, nperseg=nperseg)``.

    Periodic Hann window scaled to a density, half-overlapping segments (the last
    partial one dropped), constant detrend, one-sided spectrum doubled except at DC
    and Nyquist, mean over segments; the operations are those of scipy's
    ``ShortTimeFFT`` in the same order and memory layout, vectorised over segments.
    """
    window, freqs = _welch_setup(nperseg, sfreq)
    overlap = nperseg // 2
    hop = nperseg - overlap
    n_seg = (x.size - overlap) // hop
    frames = np.lib.stride_tricks.sliding_window_view(x, nperseg)[::hop][:n_seg]
    centred = frames - frames.mean(axis=-1, keepdims=True)
    spectrum = fft.rfft(centred * window, n=nperseg, axis=-1)
    power = np.ascontiguousarray((spectrum.real**2 + spectrum.imag**2).T)
    power[1 : -1 if nperseg % 2 == 0 else None] *= 2
    psd: NDArray[np.float64] = power.mean(axis=-1) if n_seg > 1 else power[:, 0]
    return freqs, psd


def emg_evidence(
    envelope: NDArray[np.float64],
    env_rate: float,
    fine: NDArray[np.float64],
    fine_rate: float,
    rest_v: NDArray[np.float64],
    off_threshold_v: NDArray[np.float64],
) -> EmgEvidence:
    """Measure the muscle activity of one candidate.

    Parameters
    ----------
    envelope : ndarray, shape (n_channels, n)
        Moving-RMS envelope over the candidate, decimated to ``env_rate``; NaN allowed.
    env_rate : float
        Rate of ``envelope``, Hz.
    fine : ndarray, shape (n_channels, m)
        Fine (10 ms) rectified envelope over the candidate, see :func:`fine_envelope`.
    fine_rate : float
        Rate of ``fine``, Hz.
    rest_v, off_threshold_v : ndarray, shape (n_channels,)
        Resting baseline and offset threshold of each channel, V (envelope scale).

    Returns
    -------
    EmgEvidence
    """
    n_ch, n = envelope.shape
    duration_s = n / env_rate
    rest = np.maximum(_nan_to_num(rest_v), 1e-12)
    # Without NaN (the usual case) the plain reductions give the same numbers as the
    # NaN-aware ones, much faster.
    has_nan = bool(np.isnan(envelope).any())
    with np.errstate(all="ignore"):
        excess = np.clip(envelope - rest[:, None], 0.0, None)
        if not n:
            peak = mean = active = level = np.zeros(n_ch)
            area = np.sum(excess, axis=1) / env_rate
        elif has_nan:
            peak = np.nanmax(envelope, axis=1)
            mean = np.nanmean(envelope, axis=1)
            area = np.nansum(excess, axis=1) / env_rate
            level = np.nanpercentile(envelope, 90, axis=1)
        else:
            peak = np.max(envelope, axis=1)
            mean = np.mean(envelope, axis=1)
            area = np.sum(excess, axis=1) / env_rate
            level = np.percentile(envelope, 90, axis=1)
        if n:
            active = np.mean(envelope > off_threshold_v[:, None], axis=1)
    peak = _nan_to_num(peak)
    mean = _nan_to_num(mean)
    level = _nan_to_num(level)
    strength = np.clip((level - rest) / rest, 0.0, None)
    # Asymmetry from the excess in volts: the two sides' electrodes see muscle of the
    # same size through similar skin, whereas their rest levels differ (ECG residue is
    # larger on the left), which would bias a ratio of contrasts.
    asymmetry = float("nan")
    if n_ch >= 2:
        excess_mean = np.clip(mean - rest, 0.0, None)
        a, b = float(excess_mean[0]), float(excess_mean[1])
        asymmetry = abs(a - b) / (a + b) if a + b > 0 else 0.0

    # Fine envelope: contrast of each channel, summed, for rhythm and burst shape.
    fine_rest = rest * _RMS_TO_MEAN_ABS
    contrast = np.clip(_nan_to_num(fine) - fine_rest[:, None], 0.0, None) / fine_rest[:, None]
    combined = contrast.sum(axis=0)
    gait_hz, gait_strength = rhythm(combined, fine_rate, GAIT_BAND_HZ)
    clonic_hz, clonic_strength = rhythm(combined, fine_rate, CLONIC_BAND_HZ)
    duty, n_bursts, rise_s = _burst_shape(combined, fine_rate)

    steadiness = float("nan")
    dominant = int(np.argmax(strength)) if n_ch else 0
    lo, hi = int(0.2 * n), int(0.8 * n)
    if hi - lo >= 3:
        mid = envelope[dominant, lo:hi]
        if has_nan:
            m = float(np.nanmean(mid))
            steadiness = float(np.nanstd(mid) / m) if m > 0 else float("nan")
        else:
            m = float(np.mean(mid))
            steadiness = float(np.std(mid) / m) if m > 0 else float("nan")
    return EmgEvidence(
        duration_s=duration_s,
        strength=strength,
        peak_v=peak,
        mean_v=mean,
        area_vs=area,
        active_fraction=_nan_to_num(active),
        asymmetry=asymmetry,
        gait_hz=gait_hz,
        gait_strength=gait_strength,
        clonic_hz=clonic_hz,
        clonic_strength=clonic_strength,
        duty=duty,
        n_bursts=n_bursts,
        rise_s=rise_s,
        steadiness=steadiness,
        peak_strength=np.clip((peak - rest) / rest, 0.0, None),
    )


def _nan_to_num(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """:func:`numpy.nan_to_num` (a copy), without its cost when every value is finite."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f" and bool(np.isfinite(arr).all()):
        return arr.copy()
    out: NDArray[np.float64] = np.nan_to_num(arr)
    return out


#: Mean absolute value of a Gaussian signal relative to its RMS, sqrt(2/pi): turns the RMS
#: baseline into the rectified-mean scale of the fine envelope.
_RMS_TO_MEAN_ABS = float(np.sqrt(2.0 / np.pi))


def _burst_shape(combined: NDArray[np.float64], rate: float) -> tuple[float, int, float]:
    """Duty cycle, burst count and rise time of a contrast trace (see EmgEvidence)."""
    if combined.size == 0:
        return 0.0, 0, float("nan")
    # Smooth over 100 ms so that the random fluctuation of a rectified interference
    # pattern does not split a sustained contraction into "bursts" (myoclonic jerks last
    # 50-200 ms and stay separate), and take the 95th percentile as the top so that one
    # spike does not set the scale.
    width = max(int(round(0.1 * rate)), 1)
    smooth = np.convolve(combined, np.ones(width) / width, mode="same")
    top = float(np.percentile(smooth, 95))
    if top <= 0:
        return 0.0, 0, float("nan")
    above = smooth >= 0.5 * top
    duty = float(above.mean())
    padded = np.concatenate(([False], above, [False])).astype(np.int8)
    starts = np.flatnonzero(np.diff(padded) == 1)
    ends = np.flatnonzero(np.diff(padded) == -1)
    # Bursts separated by a dip shorter than 100 ms are one burst.
    n_bursts = int(starts.size)
    if starts.size > 1:
        n_bursts = 1 + int(np.sum((starts[1:] - ends[:-1]) >= 0.1 * rate))
    first = int(np.argmax(above))
    return duty, n_bursts, first / rate
