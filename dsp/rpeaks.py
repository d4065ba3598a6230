"""Causal, streaming R-peak detection in surface EMG contaminated by the ECG.

:class:`RPeakDetector` finds heart beats in one reference channel of a multichannel EMG
recording, sample by sample, with a fixed worst-case delay. It is the beat detector of
:class:`dsp.ecg.EcgSuppressor` and can be used on its own.

The detector follows the structure of Pan & Tompkins (1985) and Hamilton & Tompkins (1986)
-- a QRS band-pass, an energy feature smoothed by a moving-window integrator, peak picking
with adaptive thresholds set between a signal level and a noise level, a refractory period
and a threshold that drops when a beat is overdue -- adapted to trunk surface EMG, where
muscle bursts can be far larger than the QRS complex:

* the band is 5-15 Hz and there is no derivative: the surface EMG spectrum rises as f^2
  below its peak (about 80 Hz at the lumbar erector spinae), so the lowest band that still
  holds the QRS energy gives the best QRS-to-EMG ratio, and a derivative would favour the
  EMG;
* the noise level is the running median of the feature over the last second (plus the
  look-ahead), and a peak must also exceed ``background_ratio`` times that median, so a
  burst raises the bar at once instead of being taken for a run of large beats;
* only beats that stand clear of the EMG (detection strength >= ``template_snr``) set the
  signal level, so a burst cannot leave the thresholds too high for the beats after it;
* decisions are made with a fixed look-ahead, so there is no search-back into the past:
  a beat that is overdue lowers the threshold for the candidates still to come instead;
* the R peak is placed by cross-correlation with a running band-passed QRS template,
  which is far less disturbed by EMG than a single extremum.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from typing import Final, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray
from scipy import signal
from scipy.ndimage import maximum_filter1d

from dsp._validation import check_block, check_n_channels, check_positive, check_sfreq
from dsp.filters import design_bandpass

__all__ = ["MIN_SFREQ", "RPeakDetector", "RPeaks"]

logger = logging.getLogger(__name__)

#: Lowest sampling rate (Hz) accepted by the ECG tools of :mod:`dsp`.
MIN_SFREQ: Final = 100.0
#: Number of recent beats (peak levels and RR intervals) the thresholds are built from
#: (Hamilton & Tompkins 1986).
_N_RECENT: Final = 8
#: A beat is overdue after this many average RR intervals (Pan & Tompkins 1985); the
#: threshold halves for every such interval without a beat.
_OVERDUE_RR: Final = 1.66
#: Search range of the fine placement of an R peak on the band-passed QRS template, s.
_SEARCH_S: Final = 0.02
#: RR interval assumed before two beats have been seen, s.
_DEFAULT_RR_S: Final = 1.0
#: Cap of the typical RR interval used for the overdue rule, s (50 bpm).
_MAX_RR_S: Final = 1.2
#: Candidates whose background medians are computed together (bounds the memory).
_CHUNK: Final = 64


class RPeaks(NamedTuple):
    """Beats reported by one call of :meth:`RPeakDetector.process`.

    Attributes
    ----------
    samples : ndarray of int64, shape (n_beats,)
        Sample index of each R peak, counted from the first sample after construction or
        :meth:`~RPeakDetector.reset`; increasing.
    snr : ndarray of float64, shape (n_beats,)
        Detection strength: the QRS-band energy at the beat over its background (running
        median) level. Above about 20 the beat stands clear of the EMG.
    """

    samples: NDArray[np.int64]
    snr: NDArray[np.float64]


class RPeakDetector:
    """Detect R peaks causally in one channel of a multichannel EMG stream.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz (at least :data:`MIN_SFREQ`).
    n_channels : int
        Number of channels (rows) of every block.
    reference : int
        Index of the channel the beats are detected in (the one with the largest ECG; in
        spasmwatch the left erector spinae, channel 0).
    l_freq, h_freq : float
        Edges of the QRS band-pass in Hz (Butterworth, order 2 per side).
    integration_s : float
        Length of the moving-window integrator of the band-passed energy, s.
    lookahead_s : float
        How long after a feature peak the detector waits before deciding on it, s. A
        candidate must be the largest value within ``lookahead_s`` on either side.
    refractory_s : float
        Minimum interval between two beats, s (0.25 s: up to 240 bpm).
    threshold_ratio : float
        Position of the detection threshold between the noise level and the median of the
        last 8 beat peaks (Hamilton & Tompkins 1986 use 0.3125).
    background_ratio : float
        A beat's feature peak must also exceed this multiple of the background level (the
        median of the feature over ``background_s`` before the peak and ``lookahead_s``
        after it). It is what keeps EMG bursts from being taken for beats.
    background_s : float
        Length of the background window before a candidate, s.
    learning_s : float
        Initial learning period, s: no beats are reported from it; the signal level starts
        at the median of the feature's maxima over each second of it.
    template_snr : float
        Detection strength (see :class:`RPeaks`) from which a beat updates the signal level
        and the band-passed QRS template.

    Attributes
    ----------
    latency_samples : int
        Worst-case delay of a report: a beat at sample ``r`` is returned by the call that
        processes sample ``r + latency_samples`` at the latest.
    group_delay_samples : int
        Group delay of the QRS band-pass at its centre frequency, subtracted from the
        position of the band-passed peak to give the R-peak sample.

    Notes
    -----
    Per sample: a 4-pole Butterworth band-pass (5-15 Hz) of the reference channel, its
    square, a moving-window integrator of ``integration_s`` (the feature), and a running
    maximum to find candidate peaks -- all vectorised. Per candidate (a few per second):
    the background median, computed for all the candidates of a block at once, and the
    threshold decision, in time order (a candidate whose peak is not above
    ``background_ratio`` times its background fails whatever the thresholds and is
    dropped before).

    A candidate ``k`` (a feature sample larger than every sample ``lookahead_s`` before it
    and at least as large as every sample ``lookahead_s`` after it) is a beat if it is more
    than ``refractory_s`` after the previous beat and its feature value exceeds both

    * ``N + threshold_ratio * (S - N)``, halved for every 1.66 typical RR intervals
      elapsed since the previous beat (the typical interval is the median of the last 8,
      capped at 1.2 s so that missed beats cannot inflate it), where ``S`` is the median
      feature value of the last 8 strong beats and ``N`` the background level, and
    * ``background_ratio * N``.

    The R peak is placed at the extremum of the band-passed signal (of the polarity most
    beats had so far) within the integration window that ends at ``k``, then moved by up
    to 20 ms to the best cross-correlation with the band-passed QRS template (a running
    mean of unit-energy strong beats), less the band-pass group delay. On the simulator its
    jitter is 1-2 ms (standard deviation) for detection strengths above 20 and about 3 ms
    from 10 to 20, and it grows fast below 10; a fixed bias of a few milliseconds (the
    phase response of the band and of whatever filters came before) is the same for every
    beat and does not matter to the template.

    The detector assumes the reference channel contains an ECG: the thresholds adapt to
    whatever the largest regular peaks are, so on a channel without ECG it reports noise
    peaks.

    References: Pan J, Tompkins WJ (1985). A real-time QRS detection algorithm. IEEE Trans
    Biomed Eng 32(3):230-236. Hamilton PS, Tompkins WJ (1986). Quantitative investigation
    of QRS detection rules using the MIT/BIH arrhythmia database. IEEE Trans Biomed Eng
    33(12):1157-1165.
    """

    def __init__(
        self,
        sfreq: float,
        n_channels: int,
        *,
        reference: int = 0,
        l_freq: float = 5.0,
        h_freq: float = 15.0,
        integration_s: float = 0.05,
        lookahead_s: float = 0.08,
        refractory_s: float = 0.25,
        threshold_ratio: float = 0.3125,
        background_ratio: float = 6.0,
        background_s: float = 1.0,
        learning_s: float = 2.0,
        template_snr: float = 20.0,
    ) -> None:
        self.sfreq = _check_min_sfreq(sfreq)
        self.n_channels = check_n_channels(n_channels)
        self.reference = _check_reference(reference, self.n_channels)
        self.l_freq = check_positive("l_freq", l_freq)
        self.h_freq = check_positive("h_freq", h_freq)
        self.integration_s = check_positive("integration_s", integration_s)
        self.lookahead_s = check_positive("lookahead_s", lookahead_s)
        self.refractory_s = check_positive("refractory_s", refractory_s)
        self.threshold_ratio = check_positive("threshold_ratio", threshold_ratio)
        if self.threshold_ratio >= 1.0:
            raise ValueError(f"threshold_ratio must be in (0, 1), got {threshold_ratio!r} instead")
        self.background_ratio = check_positive("background_ratio", background_ratio)
        self.background_s = check_positive("background_s", background_s)
        self.learning_s = check_positive("learning_s", learning_s)
        self.template_snr = check_positive("template_snr", template_snr, allow_zero=True)
        if self.refractory_s <= self.integration_s + self.lookahead_s:
            raise ValueError(
                f"refractory_s ({refractory_s!r}) must exceed integration_s + lookahead_s "
                f"({self.integration_s + self.lookahead_s:g} s), the window an R peak is "
                "placed in"
            )
        if self.learning_s < 1.0:
            raise ValueError(f"learning_s must be at least 1 s, got {learning_s!r} instead")

        sos = design_bandpass(self.sfreq, self.l_freq, self.h_freq, order=2)
        self._sos = sos
        self._n_int = max(1, round(self.integration_s * self.sfreq))
        self._n_look = max(1, round(self.lookahead_s * self.sfreq))
        self._n_refr = max(1, round(self.refractory_s * self.sfreq))
        self._n_bg = max(1, round(self.background_s * self.sfreq))
        self._n_second = max(1, round(self.sfreq))
        # Band-domain QRS template: half-width and search range of the fine placement; the
        # template and its search must fit in the look-ahead.
        self._n_search = max(1, round(_SEARCH_S * self.sfreq))
        self._n_half = self._n_look - self._n_search
        if self._n_half < 1:
            raise ValueError(
                f"lookahead_s must be longer than {_SEARCH_S:g} s at sfreq={self.sfreq:g} "
                f"Hz, got {lookahead_s!r} instead"
            )
        self._n_learn = max(
            self._n_bg + self._n_look,
            self._n_int + self._n_look + self._n_search,
            round(self.learning_s * self.sfreq),
        )
        self.group_delay_samples = _group_delay_samples(sos, self.sfreq, self.l_freq, self.h_freq)
        self.latency_samples = (
            self._n_int + self._n_search + self.group_delay_samples + self._n_look
        )
        self._zi_unit = signal.sosfilt_zi(sos)  # (n_sections, 2), steady state for a unit step
        self._init_state()

    def _init_state(self) -> None:
        self._zi: NDArray[np.float64] | None = None  # band-pass state, seeded on first sample
        self._n_seen = 0
        self._next_k = 0  # first feature sample not yet decided on
        self._h0 = 0  # absolute index of the first sample kept in the histories
        self._feature = np.zeros(0)
        self._bp = np.zeros(0)
        # Cumulative energy of the last n_int samples (zeros before the start).
        self._cum_tail = np.zeros(self._n_int)
        self._signal_level: float | None = None
        self._peaks: deque[float] = deque(maxlen=_N_RECENT)
        self._rr: deque[int] = deque(maxlen=_N_RECENT)
        # Medians of the two, updated when they change.
        self._level: float | None = None
        self._rr_median: float | None = None
        self._last_k: int | None = None
        self._votes = 0  # polarity votes of the band-passed extremum of past beats
        self._bp_template: NDArray[np.float64] | None = None

    def reset(self) -> None:
        """Forget everything: the next block starts a new recording (and a new learning)."""
        self._init_state()

    @property
    def n_times_seen(self) -> int:
        """Number of samples processed since construction or :meth:`reset`."""
        return self._n_seen

    def process(self, block: NDArray[np.float64]) -> RPeaks:
        """Process the next block and return the beats decided on during it.

        Parameters
        ----------
        block : ndarray of float, shape (n_channels, n_times)
            The next samples in volts (any ``n_times``, including 0).

        Returns
        -------
        RPeaks
            Sample indices (from the start of the stream) and detection strengths of the
            beats decided on in this block, in time order. A beat at sample ``r`` is
            returned by the block holding sample ``r + latency_samples`` at the latest.
        """
        x = check_block(block, n_channels=self.n_channels)
        return self._process_reference(x[self.reference])

    # ------------------------------------------------------------------ internals

    def _process_reference(self, ref: NDArray[np.float64]) -> RPeaks:
        """Process the reference channel of a checked block (1-D float64)."""
        n = ref.size
        if n == 0:
            return RPeaks(np.zeros(0, dtype=np.int64), np.zeros(0))
        if self._zi is None:
            # Start in the steady state of the first sample (no step transient from an
            # offset), as mne-lsl does; scipy's explicit state is carried between blocks.
            self._zi = self._zi_unit * ref[0]
        bp, self._zi = _sosfilt_1d(self._sos, ref, self._zi)
        # Moving-window integration through a running cumulative sum: the same additions
        # in the same order whatever the block sizes (np.cumsum is sequential).
        cum = np.cumsum(np.concatenate((self._cum_tail[-1:], bp * bp)))[1:]
        cum_ext = np.concatenate((self._cum_tail, cum))
        feature = (cum_ext[self._n_int :] - cum_ext[: -self._n_int]) / self._n_int
        self._cum_tail = cum_ext[-self._n_int :]
        self._feature = np.concatenate((self._feature, feature))
        self._bp = np.concatenate((self._bp, bp))
        self._n_seen += n

        if self._signal_level is None:
            if self._n_seen < self._n_learn:
                return RPeaks(np.zeros(0, dtype=np.int64), np.zeros(0))
            learn = self._feature[: self._n_learn]
            maxima = [
                float(learn[i : i + self._n_second].max())
                for i in range(0, self._n_learn - self._n_second + 1, self._n_second)
            ]
            self._signal_level = float(np.median(maxima))
            self._next_k = self._n_learn
            logger.debug("R-peak detector learned a signal level of %g", self._signal_level)

        beats, snrs = self._decide()
        self._trim()
        return RPeaks(np.asarray(beats, dtype=np.int64), np.asarray(snrs, dtype=np.float64))

    def _decide(self) -> tuple[list[int], list[float]]:
        """Decide on every feature sample whose look-ahead is complete."""
        look = self._n_look
        k_stop = self._n_seen - look  # exclusive: k + look must have been seen
        k_start = self._next_k
        if k_stop <= k_start:
            return [], []
        self._next_k = k_stop
        f = self._feature
        h0 = self._h0
        # Running maximum over the `look` samples ending at each index, over the segment
        # [k_start - look, k_stop + look) (indices before the history count as -inf).
        seg_lo = k_start - look
        seg = f[max(seg_lo - h0, 0) : k_stop + look - h0]
        if seg_lo < h0:
            seg = np.concatenate((np.full(h0 - seg_lo, -np.inf), seg))
        run_max = maximum_filter1d(seg, look, origin=(look - 1) // 2, mode="nearest")
        centre = seg[look : look + (k_stop - k_start)]
        left = run_max[look - 1 : look - 1 + (k_stop - k_start)]
        right = run_max[2 * look : 2 * look + (k_stop - k_start)]
        is_candidate = (centre > left) & (centre >= right) & (centre > 0.0)
        offsets = np.flatnonzero(is_candidate)
        beats: list[int] = []
        snrs: list[float] = []
        for chunk in range(0, offsets.size, _CHUNK):
            ks = (k_start + offsets[chunk : chunk + _CHUNK]).tolist()
            peaks = centre[offsets[chunk : chunk + _CHUNK]].tolist()
            for k, peak, background in zip(ks, peaks, self._backgrounds(ks), strict=True):
                # A peak not above background_ratio times the background fails whatever
                # the thresholds: checked first, without the sequential state.
                if not peak > self.background_ratio * background:
                    continue
                decided = self._decide_candidate(k, peak, background)
                if decided is not None:
                    beats.append(decided[0])
                    snrs.append(decided[1])
        return beats, snrs

    def _backgrounds(self, ks: list[int]) -> list[float]:
        """Background level of each candidate in ``ks``.

        The median of the feature from ``background_s`` before the candidate to the
        look-ahead after it; several candidates are done at once (one partition of their
        stacked windows).
        """
        h0 = self._h0
        n_bg, n_look = self._n_bg, self._n_look
        if len(ks) <= 2 or ks[0] < n_bg:
            # One by one: a few candidates, or windows cut by the start of the stream
            # (never after the learning period).
            return [_median(self._feature[max(k - n_bg, 0) - h0 : k + n_look + 1 - h0]) for k in ks]
        n_win = n_bg + n_look + 1
        # A copy (fancy indexing), partitioned in place.
        windows = sliding_window_view(self._feature, n_win)[np.array(ks) - (n_bg + h0)]
        half = n_win // 2
        if n_win % 2:
            windows.partition(half, axis=-1)
            backgrounds = windows[:, half]
        else:
            windows.partition((half - 1, half), axis=-1)
            backgrounds = 0.5 * (windows[:, half - 1] + windows[:, half])
        return list(backgrounds.tolist())

    def _decide_candidate(self, k: int, peak: float, background: float) -> tuple[int, float] | None:
        if self._last_k is not None and k - self._last_k <= self._n_refr:
            return None
        level = self._signal_level if self._level is None else self._level
        if level is None:  # pragma: no cover - set before any decision
            return None
        threshold = background + self.threshold_ratio * (level - background)
        if self._last_k is not None:
            # A beat is overdue after 1.66 typical RR intervals; the typical interval is the
            # median of the recent ones, capped so that missed beats cannot inflate it.
            rr = _DEFAULT_RR_S * self.sfreq if self._rr_median is None else self._rr_median
            rr = min(max(rr, float(self._n_refr)), _MAX_RR_S * self.sfreq)
            n_overdue = int((k - self._last_k) // (_OVERDUE_RR * rr))
            threshold *= 0.5 ** min(n_overdue, 16)
        threshold = max(threshold, self.background_ratio * background)
        if not peak > threshold:
            return None
        snr = peak / background if background > 0.0 else math.inf
        r_peak = self._place(k, snr) - self.group_delay_samples
        if self._last_k is not None:
            self._rr.append(k - self._last_k)
            self._rr_median = _small_median(self._rr)
        self._last_k = k
        if snr >= self.template_snr:
            # Only beats that stand clear of the EMG set the signal level: peaks inside
            # a burst (QRS plus EMG) would raise it, and the beats after the burst would
            # then be missed.
            self._peaks.append(peak)
            self._level = _small_median(self._peaks)
        return r_peak, snr

    def _place(self, k: int, snr: float) -> int:
        """Return the sample of the band-passed QRS of the beat found at feature peak ``k``.

        Coarse: the band-passed extremum of the usual polarity within the integration
        window that ends at ``k``. Fine: the shift within ``+-search`` that maximises the
        cross-correlation with the band-passed QRS template (the running mean of strong
        beats), which is far less disturbed by EMG than a single extremum.
        """
        h0 = self._h0
        lo = k - self._n_int
        window = self._bp[lo - h0 : k + 1 - h0]
        if self._votes == 0:
            j = lo + int(np.abs(window).argmax())
        elif self._votes > 0:
            j = lo + int(window.argmax())
        else:
            j = lo + int(window.argmin())  # the first minimum: argmax of -window
        half, search = self._n_half, self._n_search
        if self._bp_template is not None:
            seg = self._bp[j - half - search - h0 : j + half + search + 1 - h0]
            xcorr = np.correlate(seg, self._bp_template, "valid")
            j += int(xcorr.argmax()) - search
        vote = 1 if self._bp[j - h0] >= 0.0 else -1
        self._votes = min(max(self._votes + vote, -_N_RECENT), _N_RECENT)
        if snr >= self.template_snr:
            # Shape only: each beat enters with unit energy, so that one huge artefact
            # cannot take the template over.
            beat = self._bp[j - half - h0 : j + half + 1 - h0]
            norm = math.sqrt(float(np.dot(beat, beat)))
            if norm > 0.0:
                beat = beat / norm
                if self._bp_template is None:
                    self._bp_template = beat
                else:
                    self._bp_template = self._bp_template + (beat - self._bp_template) / _N_RECENT
        return j

    def _trim(self) -> None:
        """Drop history no longer needed for any future decision."""
        reach = max(self._n_bg, self._n_int + self._n_half + 2 * self._n_search, self._n_look)
        keep_from = self._next_k - reach - self._n_look
        drop = keep_from - self._h0
        if drop > 0:
            self._feature = self._feature[drop:]
            self._bp = self._bp[drop:]
            self._h0 += drop


def _sosfilt_1d(
    sos: NDArray[np.float64], x: NDArray[np.float64], zi: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``scipy.signal.sosfilt(sos, x, zi=zi)`` for 1-D ``x``, one ``lfilter`` per section.

    Same cascade of transposed direct-form II sections, without the wrapper overhead of
    ``sosfilt`` (about 35 us per call against 7 us per section), which dominates for
    20-sample blocks.
    """
    y = x
    zf = np.empty_like(zi)
    for i in range(sos.shape[0]):
        y, zf[i] = signal.lfilter(sos[i, :3], sos[i, 3:], y, zi=zi[i])
    return np.asarray(y, dtype=np.float64), zf


def _group_delay_samples(
    sos: NDArray[np.float64], sfreq: float, l_freq: float, h_freq: float
) -> int:
    """Group delay of ``sos`` at the geometric centre of the band, in whole samples."""
    centre = math.sqrt(l_freq * h_freq)
    delta = 1e-3 * centre
    _, h = signal.sosfreqz(sos, worN=np.array([centre - delta, centre + delta]), fs=sfreq)
    phase = np.unwrap(np.angle(h))
    delay_s = -float(phase[1] - phase[0]) / (2.0 * math.pi * 2.0 * delta)
    return max(0, round(delay_s * sfreq))


def _check_min_sfreq(sfreq: float) -> float:
    value = check_sfreq(sfreq)
    if value < MIN_SFREQ:
        raise ValueError(
            f"sfreq={value:g} Hz is too low for ECG detection and suppression: it must be "
            f"at least {MIN_SFREQ:g} Hz"
        )
    return value


def _check_reference(reference: int, n_channels: int) -> int:
    if isinstance(reference, bool) or not isinstance(reference, int | np.integer):
        raise TypeError(
            f"reference must be a channel index (int), got {type(reference).__name__} "
            f"({reference!r}) instead"
        )
    if not 0 <= reference < n_channels:
        raise ValueError(
            f"reference must be a channel index in [0, {n_channels - 1}] for "
            f"n_channels={n_channels}, got {reference!r} instead"
        )
    return int(reference)


def _small_median(values: deque[float] | deque[int]) -> float:
    """Median of a few numbers, as ``statistics.median`` computes it."""
    ordered = sorted(values)
    half = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[half])
    return float((ordered[half - 1] + ordered[half]) / 2)


def _median(values: NDArray[np.float64]) -> float:
    """Median of a 1-D array, as ``np.median`` but without its per-call overhead."""
    n = values.shape[0]
    half = n // 2
    if n % 2:
        return float(np.partition(values, half)[half])
    part = np.partition(values, (half - 1, half))
    return 0.5 * (float(part[half - 1]) + float(part[half]))
