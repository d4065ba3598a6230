"""Mains interference: which frequency (50 or 60 Hz) and how much, from the data itself.

:class:`MainsDetector` cuts the stream into fixed, sample-aligned windows (window ``j``
covers samples ``[j * n_window, (j + 1) * n_window)`` counted from the first sample after
construction or :meth:`~MainsDetector.reset`), so its reports do not depend on how the
stream is split into blocks. In each window it measures, per channel, the power of the
lines at 50 Hz, 60 Hz and their harmonics against the noise floor of the neighbouring
frequencies, votes for 50 Hz, 60 Hz or neither, and reports the hum level in microvolts
RMS (a signal-quality metric).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import signal

from dsp._validation import check_block, check_n_channels, check_positive, check_sfreq
from dsp.filters import MAINS_FREQS, MAX_EDGE_FRACTION

__all__ = [
    "DEFAULT_THRESHOLD_DB",
    "MainsDetector",
    "MainsReport",
]

logger = logging.getLogger(__name__)

#: Line-to-floor ratio (dB) a window's strongest line must reach to vote. Without mains
#: (white or EMG-like noise, bursts, ECG, motion, the simulated wearer) fewer than 3 windows
#: in 10^4 vote, and deciding takes two consecutive votes for the same frequency.
DEFAULT_THRESHOLD_DB = 12.0
#: The winning frequency must beat the other one by this much (dB) to vote.
_MARGIN_DB = 6.0
#: Highest harmonic used (1 = fundamental). The 3rd and 5th carry most harmonic hum.
_MAX_HARMONIC = 5
#: Half-width (Hz) of the band summed as the line: the Hann main lobe of a line up to
#: 0.5 Hz off nominal with a 1 s window, wider than the grid's tolerance.
_LINE_HALF_WIDTH_HZ = 1.0
#: The noise floor of a line is estimated from the bins 3 to 15 Hz away on either side...
_FLOOR_GAP_HZ = 3.0
_FLOOR_REACH_HZ = 15.0
#: ... except those within 2.5 Hz of any harmonic of either candidate (a possible line).
_EXCLUDE_HZ = 2.5
#: Fraction of the floor bins, the lowest, averaged (a trimmed mean: robust to a few
#: contaminated bins, and nearly as efficient as the mean).
_FLOOR_KEEP = 0.75
_WINDOW_S_RANGE = (1.0, 10.0)
_V_TO_UV = 1e6


@dataclass(frozen=True, slots=True)
class MainsReport:
    """What :class:`MainsDetector` found in one window.

    Attributes
    ----------
    end_sample : int
        Index one past the window's last sample, counted from the first sample after
        construction or reset; the window covers ``[end_sample - n_window, end_sample)``.
    hum_uv : tuple of float, length n_channels
        Hum per channel in microvolts RMS: the fundamental and harmonics at ``hum_freq``
        together, noise floor subtracted (about 0 when there is no hum).
    hum_freq : float
        Mains frequency ``hum_uv`` was measured at: the decision if there is one, else
        the stronger of 50 and 60 Hz in this window.
    snr_db : tuple of float, length 2
        Line-to-floor ratio in dB of the strongest line (over channels and harmonics) of
        50 Hz and of 60 Hz, in that order; about 0 dB when there is no hum.
    vote : float | None
        This window's vote (50.0, 60.0) or None.
    mains_freq : float | None
        The detector's decision after this window (None while undecided).
    confidence : float
        Fraction of all votes since reset cast for ``mains_freq`` (0.0 while undecided).
    """

    end_sample: int
    hum_uv: tuple[float, ...]
    hum_freq: float
    snr_db: tuple[float, float]
    vote: float | None
    mains_freq: float | None
    confidence: float


class MainsDetector:
    """Decide 50 vs 60 Hz mains from the data and track the hum level per channel.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz, at least 167 Hz (the 60 Hz line and its noise floor, up to
        75 Hz, must lie below 90 % of Nyquist).
    n_channels : int
        Number of channels (rows) of every block.
    window_s : float
        Analysis window in seconds, 1 to 10 (rounded to whole samples: ``n_window =
        round(window_s * sfreq)``). It sets the frequency resolution (``1 / window_s``
        Hz), how often a report is made and how soon a decision can be made.
    threshold_db : float
        Line-to-floor ratio (dB) the strongest line must reach for the window to vote.
        Default :data:`DEFAULT_THRESHOLD_DB`.
    n_confirm : int
        Consecutive windows voting for the same frequency needed to decide (default 2:
        a decision after 2 windows, i.e. 2 s with the default window; a window that
        does not vote breaks the run).
    n_revise : int
        Consecutive windows voting for the other frequency needed to change a decision
        (default 10).

    Attributes
    ----------
    sfreq : float
        Sampling rate in Hz.
    n_channels : int
        Number of channels.
    n_window : int
        Window length in samples.
    lines : dict of float to tuple of float
        The line frequencies (Hz) examined for each candidate: harmonics 1 to 5 whose
        noise floor lies below 90 % of Nyquist, except 300 Hz (a harmonic of both), e.g.
        ``{50.0: (50.0, 100.0, 150.0, 200.0, 250.0), 60.0: (60.0, 120.0, 180.0, 240.0)}``
        at 1 kHz and ``{50.0: (50.0,), 60.0: (60.0,)}`` at 250 Hz.

    Notes
    -----
    Each window of each channel has its mean removed and is weighted by a periodic Hann
    window (Blackman & Tukey 1958; Harris 1978), whose sidelobes keep large low-frequency
    motion artefacts and baseline drift out of the mains bins. Around each line ``f``
    (``k * 50`` or ``k * 60`` Hz, ``k = 1 ... 5``) the DFT is evaluated at ``f + m / T``
    (``T`` the window length, ``m`` integer; by heterodyning the window to ``f`` and one
    FFT, which works for any window length):

    * line power ``L``: the sum of the ``n_line`` bins within 1 Hz of ``f`` (3 bins with
      a 1 s window: the Hann main lobe, 98 % of a line up to 0.5 Hz off nominal);
    * noise floor ``F`` per bin: a trimmed mean (lowest 75 %) of the bins 3 to 15 Hz away
      on either side, skipping any within 2.5 Hz of a harmonic of 50 or 60 Hz, divided by
      its expected value for exponentially distributed bin powers (Renyi 1953). This is
      an ordered-statistic CFAR estimate (Rohling 1983): a few contaminated bins (an ECG
      harmonic, a line slightly off nominal) do not move it.

    The line-to-floor ratio ``L / (n_line F)`` is about 1 (0 dB) for noise of any smooth
    spectrum: a surface-EMG burst raises the floor along with the line, so it does not
    vote. A window votes for the candidate whose strongest line (over channels and
    harmonics) reaches ``threshold_db`` and beats the other candidate's by 6 dB. The hum
    power of a line is ``2 (L - n_line F) / (N sum(w**2))`` (Parseval; ``N`` samples,
    window ``w``); ``hum_uv`` is the square root of its sum over the lines, clipped at 0,
    in microvolts.

    Feed the detector the raw or band-passed signal, never the notched one (the notch
    removes what it measures).
    """

    def __init__(
        self,
        sfreq: float,
        n_channels: int,
        *,
        window_s: float = 1.0,
        threshold_db: float = DEFAULT_THRESHOLD_DB,
        n_confirm: int = 2,
        n_revise: int = 10,
    ) -> None:
        self.sfreq = check_sfreq(sfreq)
        self.n_channels = check_n_channels(n_channels)
        window_s = check_positive("window_s", window_s)
        low, high = _WINDOW_S_RANGE
        if not low <= window_s <= high:
            raise ValueError(
                f"window_s must be between {low:g} and {high:g} s (1 s resolves a line from its "
                f"noise floor; longer windows delay the decision), got {window_s!r} instead"
            )
        self.threshold_db = check_positive("threshold_db", threshold_db)
        self.n_confirm = _check_count("n_confirm", n_confirm)
        self.n_revise = _check_count("n_revise", n_revise)
        self.n_window = int(round(window_s * self.sfreq))
        top = MAX_EDGE_FRACTION * self.sfreq / 2.0 - _FLOOR_REACH_HZ
        if max(MAINS_FREQS) > top:
            lowest = 2.0 * (max(MAINS_FREQS) + _FLOOR_REACH_HZ) / MAX_EDGE_FRACTION
            raise ValueError(
                f"sfreq={self.sfreq:g} Hz is too low for mains detection: it needs at least "
                f"{math.ceil(lowest)} Hz (60 Hz and its noise floor up to "
                f"{max(MAINS_FREQS) + _FLOOR_REACH_HZ:g} Hz below {MAX_EDGE_FRACTION:.0%} of "
                "Nyquist)"
            )
        self.lines: dict[float, tuple[float, ...]] = {
            mains: _usable_lines(mains, top) for mains in MAINS_FREQS
        }
        self._build_analysis()
        self._buffer = np.empty((self.n_channels, self.n_window))
        self.reset()

    # ------------------------------------------------------------------ public

    @property
    def window_s(self) -> float:
        """Effective window length in seconds (``n_window / sfreq``)."""
        return self.n_window / self.sfreq

    @property
    def mains_freq(self) -> float | None:
        """The decided mains frequency (50.0 or 60.0), or None until decided."""
        return self._mains_freq

    @property
    def confidence(self) -> float:
        """Fraction of all votes since reset cast for :attr:`mains_freq` (0.0 if undecided)."""
        if self._mains_freq is None:
            return 0.0
        total = sum(self._votes.values())
        return self._votes[self._mains_freq] / total if total else 0.0

    @property
    def n_times(self) -> int:
        """Number of samples processed since construction or reset."""
        return self._n_times

    def reset(self) -> None:
        """Forget everything: buffered samples, votes and the decision."""
        self._fill = 0
        self._n_times = 0
        self._mains_freq: float | None = None
        self._run_freq: float | None = None
        self._run_len = 0
        self._votes: dict[float, int] = dict.fromkeys(MAINS_FREQS, 0)

    def process(self, block: ArrayLike) -> list[MainsReport]:
        """Take the next samples and return the reports of the windows they complete.

        Parameters
        ----------
        block : array-like of float, shape (n_channels, n_times)
            Samples in volts (any ``n_times``, including 0).

        Returns
        -------
        list of MainsReport
            One report per window completed within this block, oldest first (often
            empty: with 20 ms blocks and 1 s windows, one block in 50 completes a window).

        Raises
        ------
        TypeError
            If ``block`` is not a floating-point array (integer ADC counts are refused).
        ValueError
            On a wrong shape or channel count, or NaN/infinite samples.
        """
        x = check_block(block, n_channels=self.n_channels)
        reports: list[MainsReport] = []
        start = 0
        n_total = x.shape[1]
        while start < n_total:
            take = min(self.n_window - self._fill, n_total - start)
            self._buffer[:, self._fill : self._fill + take] = x[:, start : start + take]
            self._fill += take
            self._n_times += take
            start += take
            if self._fill == self.n_window:
                reports.append(self._analyse(self._buffer))
                self._fill = 0
        return reports

    def __repr__(self) -> str:
        return (
            f"MainsDetector(sfreq={self.sfreq:g}, n_channels={self.n_channels}, "
            f"window_s={self.window_s:g}, mains_freq={self._mains_freq!r})"
        )

    # ------------------------------------------------------------------ internals

    def _build_analysis(self) -> None:
        """Precompute the heterodyning carriers and the bins of every line and floor."""
        n = self.n_window
        bin_hz = self.sfreq / n
        centres = [f for mains in MAINS_FREQS for f in self.lines[mains]]
        self._line_owner = np.array(
            [i for i, mains in enumerate(MAINS_FREQS) for _ in self.lines[mains]]
        )
        window = signal.get_window("hann", n, fftbins=True)
        # Phase in cycles reduced modulo 1 before scaling keeps the exponent accurate.
        cycles = np.mod(np.outer(centres, np.arange(n)) / self.sfreq, 1.0)
        self._carriers = window * np.exp(-2j * np.pi * cycles)  # (n_lines, n_window)
        reach = int(math.floor(_FLOOR_REACH_HZ / bin_hz + 1e-9))
        offsets = np.arange(-reach, reach + 1)
        self._fft_index = np.mod(offsets, n)  # FFT bins of offsets -reach ... reach
        offsets_hz = offsets * bin_hz
        self._line_mask = np.abs(offsets_hz) <= _LINE_HALF_WIDTH_HZ + 1e-9
        self._n_line_bins = int(self._line_mask.sum())
        harmonics = np.array(
            [k * m for m in MAINS_FREQS for k in range(1, int(self.sfreq / m) + 2)]
        )
        self._floor_index: list[NDArray[np.intp]] = []
        self._floor_keep: list[int] = []
        self._floor_norm: list[float] = []
        for centre in centres:
            freqs = centre + offsets_hz
            others = harmonics[np.abs(harmonics - centre) > 1e-9]
            near_other = (np.abs(freqs[:, None] - others[None, :]) < _EXCLUDE_HZ).any(axis=1)
            usable = (np.abs(offsets_hz) >= _FLOOR_GAP_HZ - 1e-9) & ~near_other
            index = np.flatnonzero(usable)
            keep = max(1, int(round(_FLOOR_KEEP * index.size)))
            self._floor_index.append(index)
            self._floor_keep.append(keep)
            self._floor_norm.append(_exponential_trimmed_mean(index.size, keep))
        self._power_scale = 2.0 / (n * float(np.sum(window**2)))

    def _analyse(self, data: NDArray[np.float64]) -> MainsReport:
        """Measure one complete window and update the vote and decision."""
        centred = data - data.mean(axis=1, keepdims=True)
        spectra = np.fft.fft(centred[:, None, :] * self._carriers[None, :, :], axis=-1)
        power = np.abs(spectra[:, :, self._fft_index]) ** 2  # (n_channels, n_lines, n_bins)
        line = power[:, :, self._line_mask].sum(axis=2)  # (n_channels, n_lines)
        floor = np.empty_like(line)
        for i, (index, keep, norm) in enumerate(
            zip(self._floor_index, self._floor_keep, self._floor_norm, strict=True)
        ):
            lowest = np.sort(power[:, i, index], axis=1)[:, :keep]
            floor[:, i] = lowest.mean(axis=1) / norm
        noise = self._n_line_bins * floor
        tiny = np.finfo(np.float64).tiny
        # 1e-12 * line caps the ratio at 120 dB for a noiseless line; 0 / 0 gives 0 dB.
        snr_line_db = 10.0 * np.log10((line + tiny) / (noise + 1e-12 * line + tiny))
        excess = (line - noise) * self._power_scale  # hum power per line (V**2), unbiased
        snr = tuple(
            float(snr_line_db[:, self._line_owner == i].max()) for i in range(len(MAINS_FREQS))
        )
        best = int(np.argmax(snr))
        vote: float | None = None
        if snr[best] >= self.threshold_db and snr[best] - snr[1 - best] >= _MARGIN_DB:
            vote = MAINS_FREQS[best]
        self._update_decision(vote)
        hum_index = MAINS_FREQS.index(self._mains_freq) if self._mains_freq is not None else best
        # Sum, then clip: clipping each line first would bias a hum-free window upwards.
        hum_v = np.sqrt(np.maximum(excess[:, self._line_owner == hum_index].sum(axis=1), 0.0))
        return MainsReport(
            end_sample=self._n_times,
            hum_uv=tuple(float(v) for v in hum_v * _V_TO_UV),
            hum_freq=MAINS_FREQS[hum_index],
            snr_db=(snr[0], snr[1]),
            vote=vote,
            mains_freq=self._mains_freq,
            confidence=self.confidence,
        )

    def _update_decision(self, vote: float | None) -> None:
        """Count the vote; decide after n_confirm (revise after n_revise) consecutive ones."""
        if vote is None:
            self._run_freq, self._run_len = None, 0
            return
        self._votes[vote] += 1
        if vote == self._run_freq:
            self._run_len += 1
        else:
            self._run_freq, self._run_len = vote, 1
        if vote == self._mains_freq:
            return
        needed = self.n_confirm if self._mains_freq is None else self.n_revise
        if self._run_len >= needed:
            if self._mains_freq is None:
                logger.info("Mains detected at %g Hz after %d samples", vote, self._n_times)
            else:
                logger.warning(
                    "Mains decision revised from %g to %g Hz after %d samples",
                    self._mains_freq,
                    vote,
                    self._n_times,
                )
            self._mains_freq = vote


def _usable_lines(mains: float, top: float) -> tuple[float, ...]:
    """Harmonics of ``mains`` (k <= 5) up to ``top`` Hz, apart from the other candidate's."""
    others = [f for f in MAINS_FREQS if f != mains]
    lines = []
    for k in range(1, _MAX_HARMONIC + 1):
        f = k * mains
        if f > top:
            break
        if all(abs(f - round(f / other) * other) >= 2 * _EXCLUDE_HZ for other in others):
            lines.append(f)
    return tuple(lines)


def _exponential_trimmed_mean(n: int, keep: int) -> float:
    """Return the expected mean of the ``keep`` smallest of ``n`` i.i.d. unit exponentials.

    The i-th smallest has expectation ``sum_{j < i} 1 / (n - j)`` (Renyi 1953).
    """
    expected = np.cumsum(1.0 / (n - np.arange(keep)))
    return float(expected.mean())


def _check_count(name: str, value: Any) -> int:
    """Return ``value`` after checking it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"{name} must be an integer >= 1, got {type(value).__name__} ({value!r}) instead"
        )
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r} instead")
    return int(value)
