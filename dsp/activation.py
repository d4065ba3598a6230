"""Muscle activation (burst) detection on an EMG envelope, as a causal streaming state machine.

:class:`ActivationDetector` reads the moving-RMS envelope in volts (for instance
:attr:`dsp.preprocess.PreprocessedBlock.envelope`) and reports each completed activation as
an :class:`Activation` record: an adaptive, robust baseline learnt over quiet periods only,
a hysteresis double threshold, a minimum off time, a minimum on duration and a merge rule.
It reads no clock and does no IO; samples are counted from the first one it was given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dsp._validation import (
    check_block,
    check_mask,
    check_n_channels,
    check_positive,
    check_sfreq,
)

__all__ = [
    "DEFAULT_BASELINE_S",
    "DEFAULT_MAX_ON_S",
    "DEFAULT_MERGE_GAP_S",
    "DEFAULT_MIN_OFF_S",
    "DEFAULT_MIN_ON_S",
    "DEFAULT_OFF_K",
    "DEFAULT_ON_K",
    "Activation",
    "ActivationDetector",
]

#: Onset threshold, robust SDs above the baseline (Hodges & Bui, 1996: mean + 3 SD).
DEFAULT_ON_K = 3.0
#: Offset threshold, robust SDs above the baseline (hysteresis, Bonato et al., 1998).
DEFAULT_OFF_K = 1.5
#: Shortest activation kept, s (WASM minimum leg-movement duration, Ferri et al., 2016).
DEFAULT_MIN_ON_S = 0.5
#: The envelope must stay below the offset threshold this long to end an activation, s.
DEFAULT_MIN_OFF_S = 0.25
#: Activations separated by less than this are merged into one, s.
DEFAULT_MERGE_GAP_S = 0.5
#: Length of quiet envelope the baseline is estimated over, s.
DEFAULT_BASELINE_S = 60.0
#: An activation this long is taken as a new resting level and the baseline relearnt, s.
DEFAULT_MAX_ON_S = 60.0
#: Quiet envelope needed before detection starts, s.
DEFAULT_MIN_BASELINE_S = 2.0
#: Interval at which baseline and thresholds are re-estimated, s.
DEFAULT_UPDATE_S = 0.25

#: Rate at which quiet envelope samples are kept for the baseline, Hz. The 150 ms moving
#: RMS holds little above 7 Hz (its first spectral zero), so 25 Hz samples its
#: distribution fully, and the medians over a minute of it stay cheap.
_HISTORY_RATE = 25.0
#: Scale factor turning a median absolute deviation into a Gaussian SD.
_MAD_TO_SD = 1.4826

_TINY = float(np.finfo(float).tiny)
#: Threshold updates passed at most per call when skipping over rest (bounds the memory
#: and the work of one call on a long block).
_BATCH_UPDATES = 64

_IDLE = 0
_ACTIVE = 1
_CLOSING = 2


def _middle(ordered: NDArray[np.float64]) -> float:
    """Median of sorted values, bitwise as :func:`numpy.median` (``(a + b) / 2`` if even)."""
    n = ordered.size
    half = n // 2
    if n % 2:
        return float(ordered[half])
    return (float(ordered[half - 1]) + float(ordered[half])) / 2.0


def _rest_level(ordered: NDArray[np.float64]) -> tuple[float, float]:
    """Median and median absolute deviation of sorted values (at least one, no NaN).

    Both bitwise as :func:`numpy.median` of the values and of their absolute deviations
    ``|x - median|``. The deviations need no second sort: rounding is monotone, so along
    the sorted values they fall then rise (a valley), and the ``j``-th smallest of a
    valley is the smallest over its windows of ``j + 1`` neighbours of the larger end
    value (the ``j + 1`` smallest deviations always lie next to each other).
    """
    n = ordered.size
    half = n // 2
    base = _middle(ordered)
    dev = ordered - base
    np.abs(dev, out=dev)
    upper = float(np.minimum.reduce(np.maximum(dev[: n - half], dev[half:])))
    if n % 2:
        return base, upper
    lower = float(np.minimum.reduce(np.maximum(dev[: n - half + 1], dev[half - 1 :])))
    return base, (lower + upper) / 2.0


@dataclass
class _Anchor:
    """The sorted history at one moment and the estimates it gives (see ``_skip_rest``)."""

    ordered: NDArray[np.float64]  # the history then, sorted
    pushed: int  # values pushed into the history (since its last replace) by then
    estimate: tuple[float, float, float, float]  # baseline, noise, on and off thresholds


def _check_level(env: NDArray[np.float64]) -> None:
    """Refuse a negative envelope."""
    if env.size and float(env.min()) < 0:
        raise ValueError("envelope must be >= 0 (an RMS or rectified amplitude in volts)")


@dataclass(frozen=True)
class Activation:
    """One completed muscle activation on one channel.

    Attributes
    ----------
    channel : int
        Channel index (row of the envelope).
    start_sample : int
        First sample above the onset threshold, counted from the first sample given to the
        detector (since the last :meth:`ActivationDetector.reset`).
    end_sample : int
        First sample after the activation (excluded): the first sample of the run below the
        offset threshold that ended it, or the first unusable sample.
    peak_v : float
        Largest envelope value during the activation, V.
    mean_v : float
        Mean envelope value during the activation, V (gaps between merged activations
        excluded).
    baseline_v : float
        Baseline (median of the quiet envelope) in force at the onset, V.
    noise_v : float
        Robust SD of the quiet envelope in force at the onset, V.
    on_threshold_v, off_threshold_v : float
        Thresholds in force at the onset, V.
    interrupted : bool
        True if the activation was ended by an unusable sample rather than by the
        envelope falling below the offset threshold.
    brief : bool
        True for an activation shorter than ``min_on_s`` but at least ``min_brief_s``
        (reported only when the detector was given ``min_brief_s``): a twitch candidate.
    """

    channel: int
    start_sample: int
    end_sample: int
    peak_v: float
    mean_v: float
    baseline_v: float
    noise_v: float
    on_threshold_v: float
    off_threshold_v: float
    interrupted: bool = False
    brief: bool = False

    @property
    def n_samples(self) -> int:
        """Duration in samples."""
        return self.end_sample - self.start_sample


@dataclass
class _Open:
    """An activation being built (ongoing, or finished but waiting out the merge gap)."""

    start: int
    end: int
    baseline: float
    noise: float
    on_thr: float
    off_thr: float
    peak: float = 0.0
    total: float = 0.0
    count: int = 0
    interrupted: bool = False

    def record(self, channel: int, *, brief: bool = False) -> Activation:
        return Activation(
            channel=channel,
            start_sample=self.start,
            end_sample=self.end,
            peak_v=self.peak,
            mean_v=self.total / max(self.count, 1),
            baseline_v=self.baseline,
            noise_v=self.noise,
            on_threshold_v=self.on_thr,
            off_threshold_v=self.off_thr,
            interrupted=self.interrupted,
            brief=brief,
        )


class _Ring:
    """Fixed-capacity ring of the most recent values pushed (order within it is irrelevant)."""

    def __init__(self, capacity: int) -> None:
        self.data = np.zeros(capacity)
        self.capacity = capacity
        self.size = 0
        self.write = 0
        self.changed = False  # pushed to since the flag was last cleared
        self.pushed = 0  # values pushed since the last replace
        self.anchor: _Anchor | None = None  # latest exact estimate, sorted values kept

    def values(self) -> NDArray[np.float64]:
        return self.data[: self.size]

    def chronological(self) -> NDArray[np.float64]:
        if self.size < self.capacity:
            return self.data[: self.size].copy()
        return np.concatenate([self.data[self.write :], self.data[: self.write]])

    def push(self, values: NDArray[np.float64]) -> None:
        n = values.size
        if n == 0:
            return
        self.changed = True
        self.pushed += n
        if n >= self.capacity:
            self.data[:] = values[-self.capacity :]
            self.write = 0
            self.size = self.capacity
            return
        room = self.capacity - self.write
        first = n if n < room else room
        self.data[self.write : self.write + first] = values[:first]
        self.data[: n - first] = values[first:]
        self.write = (self.write + n) % self.capacity
        self.size = self.size + n if self.size + n < self.capacity else self.capacity

    def replace(self, values: NDArray[np.float64]) -> None:
        self.size = self.write = self.pushed = 0
        self.changed = True
        self.anchor = None
        self.push(values)


class _Channel:
    """State of one channel: baseline history, thresholds and the hysteresis machine."""

    def __init__(self, capacity: int, recent_capacity: int) -> None:
        self.history = _Ring(capacity)  # quiet samples only
        self.recent = _Ring(recent_capacity)  # every usable sample, for max_on_s
        self.baseline = np.nan
        self.noise = np.nan
        self.on_thr = np.inf
        self.off_thr = np.inf
        self.state = _IDLE
        self.current: _Open | None = None
        self.below_start = 0  # start of the run below the offset threshold (state _CLOSING)
        self.run_total = 0.0  # sum and count of the envelope over that run
        self.run_count = 0
        self.pending: _Open | None = None  # finished, may still merge with the next one


class ActivationDetector:
    """Detect muscle activations in an EMG envelope, block by block, causally.

    Parameters
    ----------
    sfreq : float
        Sampling rate of the envelope in Hz.
    n_channels : int
        Number of channels (rows of the envelope).
    on_k : float
        Onset threshold in robust SDs of the quiet envelope above its baseline.
    off_k : float
        Offset threshold in robust SDs above the baseline (``<= on_k``).
    min_on_s : float
        Activations shorter than this (after merging) are dropped, s.
    min_off_s : float
        The envelope must stay below the offset threshold this long to end an activation, s.
    merge_gap_s : float
        Activations whose gap (end of one to start of the next) is shorter than this are
        merged into one, s (0 disables merging beyond ``min_off_s``).
    baseline_s : float
        Amount of quiet envelope the baseline and noise are estimated over, s.
    min_baseline_s : float
        Quiet envelope needed before any detection, s (``<= baseline_s``).
    update_s : float
        Interval at which baseline and thresholds are re-estimated, s.
    max_on_s : float | None
        Once an activation has lasted this long, the baseline is re-estimated from every
        usable sample of the last ``max_on_s`` (at each update) so that a lasting change of
        the resting level ends it, s. None never relearns (a level change then keeps the
        channel active until it reverts).
    min_noise_fraction : float
        Floor of the noise SD as a fraction of the baseline. The moving RMS of stationary
        broadband noise fluctuates by only about ``1 / sqrt(2 · bandwidth · window)``,
        5-7 % for a 150 ms window over 20-450 Hz, so without a floor a perfectly steady
        rest (quantised, synthetic, or very clean) would put the onset threshold within
        20 % of the baseline and chance excursions would count; the default 0.1 keeps the
        onset at least 30 % above rest. Real rest envelopes (ECG residue, postural
        activity) usually fluctuate more and are not affected.
    min_brief_s : float | None
        When set, activations shorter than ``min_on_s`` but at least this long are
        reported too, with ``brief=True`` (twitch candidates); None drops them.

    Notes
    -----
    **Baseline.** Quiet envelope samples (usable, not within an activation and below the
    onset threshold) are kept at 100 Hz in a ring holding the last ``baseline_s`` seconds
    *of quiet*, so the baseline follows slow electrode and skin changes over hours of wear
    but is frozen during an activation: a long spasm never raises it. Every ``update_s``
    (on sample indices that are multiples of ``update_s · sfreq``, so the result does not
    depend on block boundaries) the baseline is re-estimated as the median of the ring and
    the noise as 1.4826 times its median absolute deviation, a robust SD (Hampel, 1974;
    Rousseeuw & Croux, 1993); contaminating activity below 50 % of the ring cannot move
    either much. Until ``min_baseline_s`` of quiet has been seen every usable sample is
    taken as quiet and nothing is detected.

    **Lasting level changes.** Freezing the baseline during activity has one failure: a
    step of the resting level (lying to sitting or walking raises paraspinal tone, an
    electrode reseated) would keep the channel active forever. A level held for
    ``max_on_s`` = 60 s is therefore taken as the new rest: from then on, at each update,
    the baseline is learnt from every usable sample of the last ``max_on_s``, which ends
    the activation once the envelope is steady; the record keeps its full duration and
    the thresholds in force at its onset. The price is that a spasm longer than a minute
    is ended (as a 60 s-plus activation) and becomes the reference for a while; the
    downstream episode logic must treat activations that long as sustained.

    **Double threshold with hysteresis.** An activation starts at the first usable sample
    above ``baseline + on_k · noise`` (Hodges & Bui, 1996, compared onset rules and
    recommend mean + 3 SD of the resting signal; the double threshold is Bonato et al.,
    1998) and ends when the envelope stays below ``baseline + off_k · noise`` for at least
    ``min_off_s``; ``end_sample`` is the start of that quiet run. This mirrors the
    leg-movement scoring rules of sleep medicine (Zucconi et al., 2006; Ferri et al.,
    2016): onset 8 µV above rest, offset when within 2 µV of rest for at least 0.5 s,
    movements less than 0.5 s apart counted as one, which inspire the default
    ``merge_gap_s`` = 0.5 s and the 2:1 ratio of ``on_k`` to ``off_k``.

    **Defaults.** ``on_k`` = 3 (Hodges & Bui, 1996); ``off_k`` = 1.5 keeps an activation
    through the amplitude dips of a sustained contraction; ``min_on_s`` = 0.5 s is the
    minimum duration of a scored leg movement (Ferri et al., 2016) and well above what a
    residual QRS complex or an isolated spike stays above threshold once smeared by a
    150 ms moving RMS (about 0.1 + 0.15 s), while contractions and spasms last seconds;
    ``min_off_s`` = 0.25 s bridges the brief envelope dips of one contraction;
    ``baseline_s`` = 60 s of quiet is long against a contraction yet short against
    electrode drying (minutes to hours). Thresholds are relative to the wearer's own rest,
    so no amplitude in volts needs setting.

    **Unusable samples** (``usable=False``, e.g. from :class:`dsp.quality.SignalQuality`)
    never count as activity and never enter the baseline: an ongoing activation is *ended*
    at the first unusable sample (``interrupted=True``; it is kept if it lasted
    ``min_on_s``) and no activation can start until the signal is usable again. Ending
    rather than suspending means an artefact cannot glue two contractions together and a
    record never spans data that were not seen.

    **Latency.** Because of ``min_off_s`` and the merge rule, an activation is reported
    ``min_off_s + merge_gap_s`` after its end at the earliest; :attr:`active` and
    :attr:`onset_sample` give the ongoing state without that delay. The envelope itself
    lags the EMG by about half its window (75 ms for a 150 ms moving RMS).

    **Cost.** The state machine loops in Python only over threshold crossings: the samples
    between them are scanned with numpy. The medians are exact (bit for bit those of
    :func:`numpy.median`, from one sort of the history: the deviations from the median
    need no second one), and a history frozen since the last update is not re-estimated.
    At rest once a baseline is known, the stretches up to the next onset are handled
    together: every usable sample is then quiet, so the history at each update is known in
    advance, and most updates need no estimate at all. Between two updates at most ``r``
    new values join the history, so its median is at least the value ``r`` ranks below
    the middle of the last sorted history, and the onset threshold at least what that
    value gives with the noise at its floor (``min_noise_fraction``); a stretch whose
    largest sample stays below that bound holds no onset. Only where the bound does not
    decide, and at the last update passed, is the estimate made. This gives the same
    thresholds and activations, bit for bit, as stretch-by-stretch processing. Processing
    in blocks of any size gives the same activations (``mean_v`` up to floating-point
    rounding, as it is summed block by block).

    References
    ----------
    Bonato P, D'Alessio T, Knaflitz M (1998). A statistical method for the measurement of
    muscle activation intervals from surface myoelectric signal during gait. IEEE Trans
    Biomed Eng 45(3):287-299.

    Ferri R et al. (2016). World Association of Sleep Medicine (WASM) 2016 standards for
    recording and scoring leg movements in polysomnograms. Sleep Med 26:86-95.

    Hampel FR (1974). The influence curve and its role in robust estimation. J Am Stat
    Assoc 69(346):383-393.

    Hodges PW, Bui BH (1996). A comparison of computer-based methods for the determination
    of onset of muscle contraction using electromyography. Electroencephalogr Clin
    Neurophysiol 101(6):511-519.

    Rousseeuw PJ, Croux C (1993). Alternatives to the median absolute deviation. J Am Stat
    Assoc 88(424):1273-1283.

    Zucconi M et al. (2006). The official World Association of Sleep Medicine (WASM)
    standards for recording and scoring periodic leg movements in sleep. Sleep Med
    7(2):175-183.
    """

    def __init__(
        self,
        sfreq: float,
        n_channels: int,
        *,
        on_k: float = DEFAULT_ON_K,
        off_k: float = DEFAULT_OFF_K,
        min_on_s: float = DEFAULT_MIN_ON_S,
        min_off_s: float = DEFAULT_MIN_OFF_S,
        merge_gap_s: float = DEFAULT_MERGE_GAP_S,
        baseline_s: float = DEFAULT_BASELINE_S,
        min_baseline_s: float = DEFAULT_MIN_BASELINE_S,
        update_s: float = DEFAULT_UPDATE_S,
        max_on_s: float | None = DEFAULT_MAX_ON_S,
        min_noise_fraction: float = 0.1,
        min_brief_s: float | None = None,
    ) -> None:
        self.sfreq = check_sfreq(sfreq)
        self.n_channels = check_n_channels(n_channels)
        self.on_k = check_positive("on_k", on_k)
        self.off_k = check_positive("off_k", off_k, allow_zero=True)
        if self.off_k > self.on_k:
            raise ValueError(
                f"off_k must not exceed on_k (hysteresis), got off_k={off_k!r} and "
                f"on_k={on_k!r} instead"
            )
        self.min_on_s = check_positive("min_on_s", min_on_s, allow_zero=True)
        self.min_off_s = check_positive("min_off_s", min_off_s, allow_zero=True)
        self.merge_gap_s = check_positive("merge_gap_s", merge_gap_s, allow_zero=True)
        self.baseline_s = check_positive("baseline_s", baseline_s)
        self.min_baseline_s = check_positive("min_baseline_s", min_baseline_s)
        if self.min_baseline_s > self.baseline_s:
            raise ValueError(
                f"min_baseline_s must not exceed baseline_s, got {min_baseline_s!r} > "
                f"{baseline_s!r}"
            )
        self.update_s = check_positive("update_s", update_s)
        self.max_on_s = None if max_on_s is None else check_positive("max_on_s", max_on_s)
        if self.max_on_s is not None and self.max_on_s < self.min_baseline_s:
            raise ValueError(
                f"max_on_s must be at least min_baseline_s, got {max_on_s!r} < {min_baseline_s!r}"
            )
        self.min_noise_fraction = check_positive(
            "min_noise_fraction", min_noise_fraction, allow_zero=True
        )
        self.min_brief_s = (
            None if min_brief_s is None else check_positive("min_brief_s", min_brief_s)
        )
        if self.min_brief_s is not None and self.min_brief_s > self.min_on_s:
            raise ValueError(
                f"min_brief_s must not exceed min_on_s, got {min_brief_s!r} > {min_on_s!r}"
            )
        self._min_brief = None if self.min_brief_s is None else round(self.min_brief_s * sfreq)
        self._min_on = round(self.min_on_s * self.sfreq)
        self._min_off = max(round(self.min_off_s * self.sfreq), 1)
        self._merge_gap = round(self.merge_gap_s * self.sfreq)
        self._update = max(round(self.update_s * self.sfreq), 1)
        self._decim = max(round(self.sfreq / _HISTORY_RATE), 1)
        history_rate = self.sfreq / self._decim
        self._capacity = max(round(self.baseline_s * history_rate), 1)
        self._min_history = min(max(round(self.min_baseline_s * history_rate), 1), self._capacity)
        self._max_on = None if self.max_on_s is None else round(self.max_on_s * self.sfreq)
        recent_s = self.min_baseline_s if self.max_on_s is None else self.max_on_s
        self._recent_capacity = max(round(min(recent_s, self.baseline_s) * history_rate), 1)
        self.reset()

    # ------------------------------------------------------------------ public state

    def reset(self) -> None:
        """Forget everything (baseline included), as for a new recording."""
        self._channels = [
            _Channel(self._capacity, self._recent_capacity) for _ in range(self.n_channels)
        ]
        self._n = 0

    @property
    def n_samples(self) -> int:
        """Number of samples processed since the last :meth:`reset`."""
        return self._n

    @property
    def active(self) -> NDArray[np.bool_]:
        """Whether each channel is within an activation now, shape (n_channels,).

        True from the onset until the offset run has lasted ``min_off_s`` (the minimum
        duration has not been checked yet).
        """
        return np.array([ch.state != _IDLE for ch in self._channels], dtype=bool)

    @property
    def onset_sample(self) -> NDArray[np.int64]:
        """Onset of the ongoing activation per channel (-1 when not active), samples."""
        return np.array(
            [
                ch.current.start if ch.current is not None and ch.state != _IDLE else -1
                for ch in self._channels
            ],
            dtype=np.int64,
        )

    @property
    def open_since(self) -> int | None:
        """Earliest start of an activation not reported yet (ongoing or in its merge gap).

        None when nothing is open: every activation up to now has been returned.
        """
        starts = [
            op.start for ch in self._channels for op in (ch.current, ch.pending) if op is not None
        ]
        return min(starts) if starts else None

    @property
    def baseline_v(self) -> NDArray[np.float64]:
        """Current baseline per channel (NaN while learning), V."""
        return np.array([ch.baseline for ch in self._channels])

    @property
    def noise_v(self) -> NDArray[np.float64]:
        """Current robust noise SD per channel (NaN while learning), V."""
        return np.array([ch.noise for ch in self._channels])

    @property
    def on_threshold_v(self) -> NDArray[np.float64]:
        """Current onset threshold per channel (inf while learning), V."""
        return np.array([ch.on_thr for ch in self._channels])

    @property
    def off_threshold_v(self) -> NDArray[np.float64]:
        """Current offset threshold per channel (inf while learning), V."""
        return np.array([ch.off_thr for ch in self._channels])

    # ------------------------------------------------------------------ processing

    def process(
        self, envelope: NDArray[np.float64], usable: NDArray[np.bool_] | None = None
    ) -> list[Activation]:
        """Advance the detector by one block of envelope.

        Parameters
        ----------
        envelope : ndarray of float, shape (n_channels, n_times)
            Envelope in volts (>= 0, no NaN), consecutive with the previous block.
        usable : ndarray of bool, shape (n_channels, n_times) | None
            False where the signal must not be trusted (artefact, electrode off); a 1-D
            array of shape (n_times,) applies to every channel. None means all usable.

        Returns
        -------
        list of Activation
            Activations completed in this block (merge gap elapsed), ordered by start
            sample then channel.
        """
        env = check_block(envelope, n_channels=self.n_channels, name="envelope")
        _check_level(env)
        ok = check_mask(usable, env.shape)
        return self._advance_all(env, ok)

    def _process(self, env: NDArray[np.float64], ok: NDArray[np.bool_]) -> list[Activation]:
        """:meth:`process` of a block already checked by the caller.

        For :class:`dsp.detector.SpasmDetector`, which checks its input once: ``env``
        must be float64 of shape (n_channels, n_times) without NaN, ``ok`` a boolean mask
        of the same shape. Only the sign of the envelope is checked here.
        """
        _check_level(env)
        return self._advance_all(env, ok)

    def _advance_all(self, env: NDArray[np.float64], ok: NDArray[np.bool_]) -> list[Activation]:
        n_times = env.shape[1]
        out: list[Activation] = []
        all_ok = bool(ok.all())
        # Channels are independent: each is advanced over the whole block in turn.
        for c, ch in enumerate(self._channels):
            out.extend(self._advance(c, ch, env[c], ok[c], all_ok))
        self._n += n_times
        if len(out) > 1:
            out.sort(key=lambda a: (a.start_sample, a.channel))
        return out

    def relearn(self, quiet: NDArray[np.float64]) -> list[Activation]:
        """Take a stretch of envelope as the new resting level, now.

        For a known change of resting level, such as a new posture after a movement
        (lying to sitting raises paraspinal tone): the baseline and noise of every channel
        are re-estimated from ``quiet`` alone, the thresholds updated at once, and any
        ongoing activation ends here (it is returned if it lasted ``min_on_s``, or as
        brief). Later quiet samples join the new history as usual.

        Parameters
        ----------
        quiet : ndarray of float, shape (n_channels, n)
            Envelope values (V) of the new rest, e.g. the last second or two; NaN ignored.

        Returns
        -------
        list of Activation
            Activations ended by the change.
        """
        q = np.asarray(quiet, dtype=np.float64)
        if q.ndim != 2 or q.shape[0] != self.n_channels:
            raise ValueError(f"quiet must have shape ({self.n_channels}, n), got {q.shape} instead")
        out: list[Activation] = []
        for c, ch in enumerate(self._channels):
            values = q[c][np.isfinite(q[c])]
            if values.size == 0:
                continue
            if ch.state != _IDLE and ch.current is not None:
                end = ch.below_start if ch.state == _CLOSING else self._n
                self._close(ch, end, interrupted=False)
            self._emit(ch, c, out)
            ch.history.replace(values)
            self._set_rest(ch, values)
        return sorted(out, key=lambda a: (a.start_sample, a.channel))

    def flush(self) -> list[Activation]:
        """Close what is open at the end of a recording and return it (state is kept).

        An ongoing activation ends at the current sample (``interrupted=True``) if it
        already lasted ``min_on_s``; an activation waiting out the merge gap is released.
        """
        out: list[Activation] = []
        for c, ch in enumerate(self._channels):
            if ch.state != _IDLE and ch.current is not None:
                end = ch.below_start if ch.state == _CLOSING else self._n
                self._close(ch, end, interrupted=ch.state != _CLOSING)
            self._emit(ch, c, out)
        return sorted(out, key=lambda a: (a.start_sample, a.channel))

    # ------------------------------------------------------------------ internals

    def _advance(
        self,
        c: int,
        ch: _Channel,
        env: NDArray[np.float64],
        ok: NDArray[np.bool_],
        all_ok: bool,
    ) -> list[Activation]:
        """Advance one channel over a block, stretch by stretch of constant thresholds."""
        out: list[Activation] = []
        n_times = env.size
        pos = 0
        while pos < n_times:
            if ch.state == _IDLE and ch.pending is None and ch.history.size >= self._min_history:
                # At rest with a baseline: skip ahead to the first stretch where something
                # starts.
                pos = self._skip_rest(ch, env, ok, pos, all_ok)
                if pos >= n_times:
                    break
            absolute = self._n + pos
            stop = min(n_times, pos + self._update - absolute % self._update)
            if absolute % self._update == 0:
                self._update_thresholds(ch, absolute)
            seg, seg_ok = env[pos:stop], ok[pos:stop]
            if ch.state == _IDLE and ch.pending is None:
                # At rest (history still filling): nothing starts, every usable sample is
                # quiet.
                above = seg > ch.on_thr
                if not all_ok:
                    above &= seg_ok
                if not above.any():
                    self._learn_quiet(ch, seg, None if all_ok else seg_ok, absolute)
                    pos = stop
                    continue
            out.extend(self._run(c, ch, seg, seg_ok, absolute))
            pos = stop
        return out

    def _skip_rest(
        self,
        ch: _Channel,
        env: NDArray[np.float64],
        ok: NDArray[np.bool_],
        pos: int,
        all_ok: bool,
    ) -> int:
        """Advance an idle channel with a baseline over the stretches where nothing starts.

        Equivalent to stretch-by-stretch processing, batched: as long as nothing exceeds
        the onset threshold every usable (decimated) sample is quiet, so the history at
        each update is known in advance. Most updates need no estimate at all: a lower
        bound of the onset threshold (:meth:`_onset_bound`) already shows that the
        stretch after them holds no onset. Exact estimates are made only where the bound
        does not decide and for the last update passed (whose thresholds are kept).
        Returns the start of the stretch holding the first onset (processed by the caller
        as usual), or the end of what was done (at most ``_BATCH_UPDATES`` updates).
        """
        n_times = env.size
        first = self._n + pos
        upd, decim = self._update, self._decim
        u0 = pos + (-first) % upd
        n_upd = min(-(-(n_times - u0) // upd), _BATCH_UPDATES) if u0 < n_times else 0
        end = n_times if n_upd < _BATCH_UPDATES else min(n_times, u0 + upd * n_upd)
        # Stretches of constant thresholds (a first one before any update, if pos is not
        # an update point) and the largest usable sample of each.
        lead = 0 if n_upd and u0 == pos else 1
        starts = np.arange(u0 - lead * upd, end, upd)
        starts[0] = pos
        seg = env[pos:end] if all_ok else np.where(ok[pos:end], env[pos:end], -np.inf)
        peaks = np.maximum.reduceat(seg, starts - pos)
        if lead and peaks[0] > ch.on_thr:
            return pos
        # Quiet samples joining the history (every usable decimated one), and how many
        # of them precede each update.
        d0 = pos + (-first) % decim
        values = env[d0:end:decim]
        where = None
        if not all_ok:
            keep = ok[d0:end:decim]
            if not keep.all():
                where = keep.nonzero()[0] * decim + d0
                values = values[keep]
        updates = starts[lead:]
        if where is None:
            before = (updates - d0 + decim - 1) // decim
        else:
            before = where.searchsorted(updates)
        history = ch.history
        hist: list[NDArray[np.float64]] = []  # the history in time order, when needed
        known: dict[int, tuple[float, float, float, float]] = {}
        largest = peaks.tolist()
        joined = (before + history.pushed).tolist()
        hit = -1
        for k in range(n_upd):
            # An update whose bound rules out an onset in its stretch needs nothing more.
            anchor = history.anchor
            if anchor is not None:
                bound = self._onset_bound(anchor, joined[k])
                if bound is not None and largest[lead + k] <= bound:
                    continue
            est = known[k] = self._estimate_ahead(ch, hist, values, int(before[k]))
            if largest[lead + k] > est[2]:
                hit = k
                break
        stop = int(updates[hit]) if hit >= 0 else end
        # Commit what happened before it: the updates and the quiet samples.
        done = hit if hit >= 0 else n_upd
        if done:
            last = known.get(done - 1)
            if last is None:
                last = self._estimate_ahead(ch, hist, values, int(before[done - 1]))
            ch.baseline, ch.noise, ch.on_thr, ch.off_thr = last
        pushed = values[: int(before[hit])] if hit >= 0 else values
        if pushed.size:
            history.push(pushed)
            ch.recent.push(pushed)
        return stop

    def _onset_bound(self, anchor: _Anchor, pushed: int) -> float | None:
        """Lower bound of the onset threshold once ``pushed`` values have joined the history.

        Between the anchor and then, ``r`` values joined the history (and as many of its
        oldest left, once full), so at most ``r`` of its values rank below any old one:
        its lower middle value, and hence its median, is at least the old sorted value
        ``r`` ranks lower. The onset threshold is ``base + on_k * noise`` with ``noise`` at
        least ``min_noise_fraction * base``, both rounded monotonically, so a lower bound
        of the median bounds it too. None when ``r`` is too large for a bound.
        """
        held = anchor.ordered.size
        added = pushed - anchor.pushed
        size = min(added + held, self._capacity)
        rank = (size - 1) // 2 - added
        if rank < 0:
            return None
        low = float(anchor.ordered[rank])
        return low + self.on_k * max(self.min_noise_fraction * low, _TINY)

    def _estimate_ahead(
        self, ch: _Channel, hist: list[NDArray[np.float64]], values: NDArray[np.float64], n: int
    ) -> tuple[float, float, float, float]:
        """Estimates once the first ``n`` of ``values`` have joined the history.

        ``hist`` caches the history in time order (filled on first use). The sorted
        history then becomes the anchor of later bounds if it is the most recent one.
        """
        history = ch.history
        size = min(history.size + n, self._capacity)
        if n >= size:
            ordered = np.sort(values[n - size : n])
        else:
            if not hist:
                hist.append(history.chronological())
            ordered = np.concatenate([hist[0][history.size - (size - n) :], values[:n]])
            ordered.sort()
        est = self._estimates(ordered)
        pushed = history.pushed + n
        if history.anchor is None or history.anchor.pushed <= pushed:
            history.anchor = _Anchor(ordered, pushed, est)
        return est

    def _estimates(self, ordered: NDArray[np.float64]) -> tuple[float, float, float, float]:
        """Baseline, noise, onset and offset thresholds from sorted quiet envelope."""
        base, mad = _rest_level(ordered)
        noise = max(_MAD_TO_SD * mad, self.min_noise_fraction * base, _TINY)
        return base, noise, base + self.on_k * noise, base + self.off_k * noise

    def _update_thresholds(self, ch: _Channel, now: int) -> None:
        cur = ch.current
        if (
            self._max_on is not None
            and ch.state != _IDLE
            and cur is not None
            and now - cur.start >= self._max_on
        ):
            # Held for max_on_s: a new resting level (posture, electrode), not a burst.
            ch.history.replace(ch.recent.chronological())
        # An unchanged history gives the same estimate (it is frozen during activity).
        history = ch.history
        if history.size < self._min_history or not history.changed:
            return
        history.changed = False
        anchor = history.anchor
        if anchor is None or anchor.pushed != history.pushed:
            ordered = np.sort(history.values())
            anchor = history.anchor = _Anchor(ordered, history.pushed, self._estimates(ordered))
        ch.baseline, ch.noise, ch.on_thr, ch.off_thr = anchor.estimate

    def _set_rest(self, ch: _Channel, values: NDArray[np.float64]) -> None:
        """Baseline, noise and thresholds of ``ch`` from quiet envelope ``values``."""
        ch.baseline, ch.noise, ch.on_thr, ch.off_thr = self._estimates(np.sort(values))

    def _close(self, ch: _Channel, end: int, *, interrupted: bool) -> None:
        """End the current activation at ``end`` and make it the pending one."""
        cur = ch.current
        assert cur is not None
        cur.end = end
        cur.interrupted = interrupted
        ch.state = _IDLE
        ch.current = None
        ch.pending = cur

    def _emit(self, ch: _Channel, c: int, out: list[Activation]) -> None:
        """Emit the pending activation if it lasted ``min_on_s``, and forget it."""
        pend = ch.pending
        if pend is not None:
            length = pend.end - pend.start
            if length >= self._min_on:
                out.append(pend.record(c))
            elif self._min_brief is not None and length >= max(self._min_brief, 1):
                out.append(pend.record(c, brief=True))
        ch.pending = None

    def _run(
        self,
        c: int,
        ch: _Channel,
        env: NDArray[np.float64],
        ok: NDArray[np.bool_],
        first: int,
    ) -> list[Activation]:
        """Advance one channel over a stretch with constant thresholds."""
        out: list[Activation] = []
        n = env.size
        # Samples above the onset / below the offset threshold, made when first needed.
        above: NDArray[np.bool_] | None = None
        below: NDArray[np.bool_] | None = None
        busy: list[tuple[int, int]] = []  # stretches within an activation: not quiet
        i = 0
        while i < n:
            if ch.state == _IDLE:
                if above is None:
                    above = ok & (env > ch.on_thr)
                pend = ch.pending
                if pend is None:
                    hits = above[i:].nonzero()[0]
                    if hits.size == 0:
                        break
                    j = i + int(hits[0])
                    cur = _Open(
                        start=first + j,
                        end=first + j,
                        baseline=ch.baseline,
                        noise=ch.noise,
                        on_thr=ch.on_thr,
                        off_thr=ch.off_thr,
                    )
                else:
                    # An onset before the merge gap runs out (and before any unusable
                    # sample) continues the pending activation; otherwise it is emitted.
                    deadline = max(min(n, pend.end + self._merge_gap - first), i)
                    bad = (~ok[i:deadline]).nonzero()[0]
                    if bad.size:
                        deadline = i + int(bad[0])
                    hits = above[i:deadline].nonzero()[0]
                    if hits.size == 0:
                        if deadline == n and not bad.size:
                            break
                        self._emit(ch, c, out)
                        i = deadline
                        continue
                    j = i + int(hits[0])
                    cur = pend
                    ch.pending = None
                ch.current = cur
                ch.state = _ACTIVE
                i = j
            assert ch.current is not None
            cur = ch.current
            if below is None:
                below = ok & (env < ch.off_thr)
            if ch.state == _ACTIVE:
                stops = (~ok[i:] | below[i:]).nonzero()[0]
                k = n if stops.size == 0 else i + int(stops[0])
                self._accumulate(cur, env[i:k], first + k)
                busy.append((i, k))
                if k == n:
                    break
                if not ok[k]:
                    self._close(ch, first + k, interrupted=True)
                    self._emit(ch, c, out)
                    i = k
                    continue
                ch.state = _CLOSING
                ch.below_start = first + k
                ch.run_total = 0.0
                ch.run_count = 0
                i = k
            # Closing: the envelope is below the offset threshold since ch.below_start.
            stops = (~below[i:]).nonzero()[0]
            k = n if stops.size == 0 else i + int(stops[0])
            done = ch.below_start + self._min_off - first  # index at which the run suffices
            if done <= k:
                done = max(done, i)
                busy.append((i, done))
                self._close(ch, ch.below_start, interrupted=False)
                i = done
                continue
            busy.append((i, k))
            ch.run_total += float(np.add.reduce(env[i:k]))
            ch.run_count += k - i
            if k == n:
                break
            if not ok[k]:
                self._close(ch, ch.below_start, interrupted=False)
                i = k
                continue
            # Back above the offset threshold: the dip belongs to the activation.
            cur.total += ch.run_total
            cur.count += ch.run_count
            ch.state = _ACTIVE
            i = k
        self._learn(ch, env, busy, ok, first)
        return out

    @staticmethod
    def _accumulate(cur: _Open, seg: NDArray[np.float64], end: int) -> None:
        if seg.size:
            top = float(np.maximum.reduce(seg))
            cur.peak = top if top > cur.peak else cur.peak
            cur.total += float(np.add.reduce(seg))
            cur.count += seg.size
        cur.end = end

    def _learn(
        self,
        ch: _Channel,
        env: NDArray[np.float64],
        busy: list[tuple[int, int]],
        ok: NDArray[np.bool_],
        first: int,
    ) -> None:
        """Keep the quiet samples of a stretch (those on the history grid).

        Quiet is usable, not above the onset threshold and not within the ``busy``
        stretches (those of an activation).
        """
        decim = self._decim
        offset = (-first) % decim
        kept = env[offset::decim]
        usable = ok[offset::decim]
        quiet = usable & ~(kept > ch.on_thr)
        for a, b in busy:  # grid points a <= offset + t * decim < b
            quiet[(a - offset + decim - 1) // decim : (b - offset + decim - 1) // decim] = False
        ch.history.push(kept[quiet])
        ch.recent.push(kept[usable])

    def _learn_quiet(
        self,
        ch: _Channel,
        env: NDArray[np.float64],
        ok: NDArray[np.bool_] | None,
        first: int,
    ) -> None:
        """Like :meth:`_learn` for a stretch whose usable samples are all quiet (None: all)."""
        sl = slice((-first) % self._decim, None, self._decim)
        kept = env[sl] if ok is None else env[sl][ok[sl]]
        ch.history.push(kept)
        ch.recent.push(kept)
