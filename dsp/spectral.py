"""Streaming spectral features of surface EMG: mean and median frequency over sliding windows.

:class:`SpectralFeatures` emits one estimate per channel every ``step_s`` seconds, on a
fixed grid of sample indices, so that the windows (and the numbers) do not depend on how
the recording is cut into blocks. Each call to ``process`` returns the windows completed
within its block as a :class:`SpectralWindows`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import fft, signal

from dsp._validation import check_block, check_n_channels, check_positive, check_sfreq

__all__ = [
    "DEFAULT_SILENCE_RMS_V",
    "MAX_SPECTRAL_WINDOW_S",
    "MIN_SPECTRAL_WINDOW_SAMPLES",
    "SpectralFeatures",
    "SpectralWindows",
]

logger = logging.getLogger(__name__)

#: Fewest samples in a spectral window.
MIN_SPECTRAL_WINDOW_SAMPLES = 16
#: Longest spectral window (s): EMG is only quasi-stationary over 0.25-2 s.
MAX_SPECTRAL_WINDOW_S = 10.0
#: In-band RMS (V) at or below which a window counts as silent: 1 nV, three orders of
#: magnitude under any electrode/amplifier noise floor, so only digital silence (zeros,
#: filled gaps) qualifies.
DEFAULT_SILENCE_RMS_V = 1e-9
#: Windows transformed per internal pass (bounds temporary memory; output is unaffected).
_MAX_PASS_WINDOWS = 256


def _readonly(arr: NDArray[np.generic]) -> None:
    arr.setflags(write=False)


@dataclass(frozen=True, eq=False)
class SpectralWindows:
    """Spectral features of the windows completed within one block.

    Window ``k`` covers samples ``end_samples[k] - n_window`` up to, but excluding,
    ``end_samples[k]`` (absolute indices since the last reset); its time stamp in seconds
    is ``end_samples[k] / sfreq``. The arrays are read-only.

    Attributes
    ----------
    end_samples : ndarray of int64, shape (n_windows,)
        Exclusive end of each window, a multiple of the step in samples.
    mnf_hz : ndarray of float64, shape (n_channels, n_windows)
        Mean frequency in Hz (NaN for silent windows).
    mdf_hz : ndarray of float64, shape (n_channels, n_windows)
        Median frequency in Hz (NaN for silent windows).
    power : ndarray of float64, shape (n_channels, n_windows)
        Power in the analysis band in V**2 (the mean square of the band's content).
    silent : ndarray of bool, shape (n_channels, n_windows)
        Whether the in-band RMS was at or below ``silence_rms_v``.
    """

    end_samples: NDArray[np.int64]
    mnf_hz: NDArray[np.float64]
    mdf_hz: NDArray[np.float64]
    power: NDArray[np.float64]
    silent: NDArray[np.bool_]

    def __post_init__(self) -> None:
        n_windows = self.end_samples.shape[0]
        if self.end_samples.ndim != 1:
            raise ValueError("end_samples must be 1-D")
        for name in ("mnf_hz", "mdf_hz", "power", "silent"):
            arr = getattr(self, name)
            if arr.ndim != 2 or arr.shape[1] != n_windows:
                raise ValueError(
                    f"{name} must have shape (n_channels, {n_windows}), got {arr.shape}"
                )
        for arr in (self.end_samples, self.mnf_hz, self.mdf_hz, self.power, self.silent):
            _readonly(arr)

    @property
    def n_windows(self) -> int:
        """Number of windows."""
        return int(self.end_samples.shape[0])

    @classmethod
    def concatenate(cls, parts: Sequence[SpectralWindows]) -> SpectralWindows:
        """Join consecutive results (e.g. from successive blocks) into one.

        Parameters
        ----------
        parts : sequence of SpectralWindows
            At least one result; all with the same number of channels.

        Returns
        -------
        SpectralWindows
            The windows of every part, in order.
        """
        if not parts:
            raise ValueError("parts must contain at least one SpectralWindows")
        return cls(
            end_samples=np.concatenate([p.end_samples for p in parts]),
            mnf_hz=np.concatenate([p.mnf_hz for p in parts], axis=1),
            mdf_hz=np.concatenate([p.mdf_hz for p in parts], axis=1),
            power=np.concatenate([p.power for p in parts], axis=1),
            silent=np.concatenate([p.silent for p in parts], axis=1),
        )


class SpectralFeatures:
    """Mean and median frequency of every channel over sliding, sample-aligned windows.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    n_channels : int
        Number of channels (rows) of every block.
    window_s : float
        Window length in seconds, rounded to ``n_window`` samples; at least
        ``MIN_SPECTRAL_WINDOW_SAMPLES`` samples and at most ``MAX_SPECTRAL_WINDOW_S``.
    step_s : float
        Interval between window ends in seconds, rounded to ``n_step`` samples; at least
        one sample and at most the window (no sample may be skipped).
    fmin : float
        Lower edge of the analysis band in Hz (>= 0).
    fmax : float | None
        Upper edge of the analysis band in Hz, at most Nyquist; ``None`` means Nyquist.
        The band must hold at least two frequency bins (``sfreq / n_window`` Hz apart).
    silence_rms_v : float
        In-band RMS in volts at or below which a window is flagged silent and gets NaN
        frequencies (default ``DEFAULT_SILENCE_RMS_V``, 1 nV).

    Attributes
    ----------
    n_window, n_step : int
        Window and step in samples.
    freqs : ndarray of float64, shape (n_freqs,)
        Centres of the frequency bins inside the band, in Hz.
    delay_s : float
        Age of a window's centre when it is emitted, ``(n_window - 1) / (2 * sfreq)``.

    Notes
    -----
    Windows end at every multiple of ``n_step`` samples that is at least ``n_window``
    (counting from the first sample after construction or ``reset``); a window's features
    are returned by the call whose block contains its last sample. Each window has its
    mean removed, is multiplied by a periodic Hann window and transformed (one-sided
    periodogram, scaled to a power spectral density in V**2/Hz, so that ``power`` is the
    mean square of the in-band content). Only bins whose centre lies in
    ``[fmin, fmax]`` are used:

    * mean frequency ``MNF = sum(f * P) / sum(P)``;
    * median frequency ``MDF``, the frequency that splits the in-band power in half,
      found with sub-bin resolution by treating each bin as a rectangle of width
      ``sfreq / n_window`` centred on its frequency and interpolating the cumulative
      power linearly inside the bin that crosses one half.

    Both follow the classical definitions used to track the myoelectric manifestations of
    fatigue (De Luca 1997; Merletti & Parker 2004): as conduction velocity falls the
    spectrum compresses towards low frequencies, and a cramp shows a lower MDF/MNF than a
    fresh contraction of the same strength. MDF is less sensitive to noise and MNF has
    lower variance (Merletti & Parker 2004).

    A window whose in-band RMS is at or below ``silence_rms_v`` has no meaningful spectrum:
    its MNF and MDF are NaN and its ``silent`` flag is set; ``power`` is still reported.

    References
    ----------
    .. [1] De Luca CJ (1997). The use of surface electromyography in biomechanics. J Appl
       Biomech 13(2):135-163.
    .. [2] Merletti R, Parker PA (eds) (2004). Electromyography: Physiology, Engineering,
       and Noninvasive Applications. IEEE Press / Wiley.
    """

    def __init__(
        self,
        sfreq: float,
        n_channels: int,
        *,
        window_s: float = 0.5,
        step_s: float = 0.125,
        fmin: float = 20.0,
        fmax: float | None = None,
        silence_rms_v: float = DEFAULT_SILENCE_RMS_V,
    ) -> None:
        self.sfreq = check_sfreq(sfreq)
        self.n_channels = check_n_channels(n_channels)
        self.window_s = check_positive("window_s", window_s)
        self.step_s = check_positive("step_s", step_s)
        self.silence_rms_v = check_positive("silence_rms_v", silence_rms_v, allow_zero=True)
        if self.window_s > MAX_SPECTRAL_WINDOW_S:
            raise ValueError(
                f"window_s must be at most {MAX_SPECTRAL_WINDOW_S:g} s, got {window_s!r} instead"
            )
        self.n_window = int(round(self.window_s * self.sfreq))
        if self.n_window < MIN_SPECTRAL_WINDOW_SAMPLES:
            raise ValueError(
                f"window_s={window_s!r} gives {self.n_window} samples at sfreq={self.sfreq:g} "
                f"Hz; a spectral window needs at least {MIN_SPECTRAL_WINDOW_SAMPLES} samples"
            )
        self.n_step = int(round(self.step_s * self.sfreq))
        if self.n_step < 1:
            raise ValueError(
                f"step_s={step_s!r} is shorter than one sample at sfreq={self.sfreq:g} Hz"
            )
        if self.n_step > self.n_window:
            raise ValueError(
                f"step_s ({step_s!r} s, {self.n_step} samples) must not exceed window_s "
                f"({window_s!r} s, {self.n_window} samples): samples between windows would "
                "be ignored"
            )
        nyquist = self.sfreq / 2.0
        self.fmin = check_positive("fmin", fmin, allow_zero=True)
        self.fmax = nyquist if fmax is None else check_positive("fmax", fmax)
        if self.fmax > nyquist:
            raise ValueError(
                f"fmax must be at most Nyquist ({nyquist:g} Hz at sfreq={self.sfreq:g} Hz), "
                f"got {fmax!r} instead"
            )
        if self.fmin >= self.fmax:
            raise ValueError(f"fmin ({self.fmin:g} Hz) must be below fmax ({self.fmax:g} Hz)")
        all_freqs = fft.rfftfreq(self.n_window, d=1.0 / self.sfreq)
        in_band = (all_freqs >= self.fmin) & (all_freqs <= self.fmax)
        if in_band.sum() < 2:
            raise ValueError(
                f"the band {self.fmin:g}-{self.fmax:g} Hz holds fewer than two frequency bins "
                f"at a resolution of {self.sfreq / self.n_window:g} Hz; widen the band or "
                "lengthen window_s"
            )
        self._bins = np.flatnonzero(in_band)
        self.freqs: NDArray[np.float64] = all_freqs[self._bins]
        self._df = self.sfreq / self.n_window
        taper = signal.get_window("hann", self.n_window, fftbins=True)
        self._taper: NDArray[np.float64] = np.asarray(taper, dtype=np.float64)
        # One-sided PSD scale: every bin but DC and (even n_window) Nyquist counts twice.
        scale = np.full(all_freqs.shape, 2.0 / (self.sfreq * float(np.sum(taper**2))))
        scale[0] /= 2.0
        if self.n_window % 2 == 0:
            scale[-1] /= 2.0
        self._scale = scale[self._bins]
        self.delay_s = (self.n_window - 1) / (2.0 * self.sfreq)
        self._silence_power = self.silence_rms_v**2
        self._history = np.empty((self.n_channels, 0))
        self._n_seen = 0

    def reset(self) -> None:
        """Forget the state; sample indices start again from 0."""
        self._history = np.empty((self.n_channels, 0))
        self._n_seen = 0

    def process(self, block: ArrayLike) -> SpectralWindows:
        """Analyse one block and return the windows it completes.

        Parameters
        ----------
        block : array-like of float, shape (n_channels, n_times)
            The next samples in volts (any ``n_times``, including 0).

        Returns
        -------
        SpectralWindows
            The windows whose last sample lies in this block (often none).
        """
        x = check_block(block, n_channels=self.n_channels)
        start = self._n_seen
        stop = start + x.shape[1]
        n_win, n_step = self.n_window, self.n_step
        first_k = max(-(-n_win // n_step), start // n_step + 1)
        ends = np.arange(first_k, stop // n_step + 1, dtype=np.int64) * n_step
        ext = np.concatenate([self._history, x], axis=1)
        ext_start = start - self._history.shape[1]
        n_out = ends.shape[0]
        mnf = np.empty((self.n_channels, n_out))
        mdf = np.empty((self.n_channels, n_out))
        power = np.empty((self.n_channels, n_out))
        if n_out:
            frames_view = np.lib.stride_tricks.sliding_window_view(ext, n_win, axis=-1)
            starts = ends - n_win - ext_start
            for i in range(0, n_out, _MAX_PASS_WINDOWS):
                sel = slice(i, min(i + _MAX_PASS_WINDOWS, n_out))
                psd = self._psd(frames_view[:, starts[sel]])
                power[:, sel], mnf[:, sel], mdf[:, sel] = self._features(psd)
        silent = power <= self._silence_power
        mnf[silent] = np.nan
        mdf[silent] = np.nan
        self._history = ext[:, max(ext.shape[1] - (n_win - 1), 0) :].copy()
        self._n_seen = stop
        return SpectralWindows(end_samples=ends, mnf_hz=mnf, mdf_hz=mdf, power=power, silent=silent)

    def _psd(self, frames: NDArray[np.float64]) -> NDArray[np.float64]:
        """In-band PSD (V**2/Hz), shape (n_channels, n_frames, n_freqs), of raw frames."""
        centred = frames - frames.mean(axis=-1, keepdims=True)
        spectrum = fft.rfft(centred * self._taper, axis=-1)[..., self._bins]
        psd: NDArray[np.float64] = (spectrum.real**2 + spectrum.imag**2) * self._scale
        return psd

    def _features(
        self, psd: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Return in-band power (V**2), MNF (Hz) and MDF (Hz) of each frame."""
        cumulative = np.cumsum(psd, axis=-1)
        total = cumulative[..., -1]
        power = total * self._df
        valid = total > 0.0
        safe_total = np.where(valid, total, 1.0)
        mnf = np.sum(psd * self.freqs, axis=-1) / safe_total
        half = 0.5 * total
        # First bin whose cumulative power reaches one half; interpolate inside it.
        idx = np.argmax(cumulative >= half[..., None], axis=-1)
        in_bin = np.take_along_axis(psd, idx[..., None], axis=-1)[..., 0]
        before = np.take_along_axis(cumulative, idx[..., None], axis=-1)[..., 0] - in_bin
        fraction = (half - before) / np.where(in_bin > 0.0, in_bin, 1.0)
        mdf = self.freqs[idx] - 0.5 * self._df + np.clip(fraction, 0.0, 1.0) * self._df
        mnf[~valid] = np.nan
        mdf[~valid] = np.nan
        return power, mnf, mdf
