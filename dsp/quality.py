"""Signal quality of raw surface EMG: contact, clipping, mains, motion, flat line, noise floor.

:class:`SignalQuality` watches the **raw** electrode voltages (volts at the input, after the
ADC but *before* any band-pass or notch: the faults it looks for live exactly in what those
filters remove: DC and drift, mains, clipping levels) and emits one :class:`QualityReport`
per fixed window of ``window_s`` seconds, aligned to the first sample of the stream, so the
reports do not depend on how the stream was cut into blocks.

Every window of every channel is described by a handful of numbers, all computed from one
least-squares fit and one Hann-windowed FFT of the window:

* a least-squares fit of an offset, a linear trend and sinusoids at every mains harmonic up
  to the top of the EMG band (the Goertzel/DFT-bin estimate generalised to windows that do
  not hold a whole number of mains cycles); the fitted line power minus the broadband power
  the fit picks up by chance is the hum;
* the Hann periodogram of what is left gives the power below ``l_freq`` (motion artefact,
  plus the fitted trend) and in the EMG band ``l_freq``-``h_freq`` (20-450 Hz);
* the excursion of the window smoothed over three mains periods (steps and pops);
* sample statistics: the fraction of samples at the ADC rails and the longest runs of
  samples sitting at a rail or at the window's extreme (flat-topping) or repeating the same
  value (stuck input).

The flags derived from them, their thresholds and why are documented in
:class:`QualityThresholds`; the per-channel ``usable`` flag combines them (mains alone does
not make a channel unusable: the notch filter removes it).
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from dsp._validation import check_block, check_option, check_positive, check_sfreq
from dsp.filters import DEFAULT_H_FREQ, DEFAULT_L_FREQ, MAX_EDGE_FRACTION

__all__ = ["QualityReport", "QualityThresholds", "SignalQuality"]

logger = logging.getLogger(__name__)

_UV: Final = 1e-6
#: Lowest sampling rate accepted (the EMG band must reach past the 60 Hz mains line).
MIN_SFREQ: Final = 200.0
#: Allowed window lengths, s: long enough to resolve 20 Hz, short enough to follow artefacts
#: and to keep mains harmonics coherent when the grid frequency is off by a few tenths of Hz.
_WINDOW_RANGE_S: Final = (0.1, 2.0)
#: Power floor (V^2) used as the denominator of ratios, (0.01 uV)^2.
_POWER_FLOOR: Final = 1e-16
#: Windows processed together at most (bounds temporary memory for long recordings).
_BATCH: Final = 256
#: Neighbouring FFT bins used to estimate the broadband level under a mains line: from
#: 2.5 to 5 bins away (outside the Hann main lobe of the line, inside the local spectrum).
_NEIGHBOUR_BINS: Final = (2.5, 5.0)


@dataclass(frozen=True)
class QualityThresholds:
    """Thresholds of the signal-quality flags, with their physiological justification.

    Parameters
    ----------
    off_mains_uv : float
        Electrode off when the mains hum (RMS of fundamental and harmonics) reaches this many
        µV **and** dominates the EMG band (``off_mains_ratio``). A skin electrode in good
        contact picks up a few µV of hum through an instrumentation amplifier with > 90 dB
        CMRR; a drying or loose one tens of µV; an open input floats and picks up mV to V
        (Webster 2010, ch. 6; Huhta & Webster 1973). 200 µV is ten times the worst
        acceptable contact and far below what an open input shows.
    off_mains_ratio : float
        Hum power / EMG-band power needed for the mains rule of ``electrode_off`` (1: hum at
        least as strong as the whole EMG band). Guards against a strong contraction, whose
        broadband power leaks into a short-window line estimate.
    off_pinned_s : float
        Electrode off when a channel sits at an ADC rail for this long without interruption
        (an open input drifting into saturation on bias current). Saturating deflections
        (cable tug, static discharge) recover within about a second.
    clip_tolerance : float
        A sample counts as clipped when ``|x| >= clip_level_v * (1 - clip_tolerance)``
        ("within a hair" of the rail: absorbs the one-count asymmetry of a two's-complement
        ADC and a little gain error).
    clip_run_s : float
        Saturated when the longest run of consecutive samples at a rail, or of identical
        values at the window's maximum or minimum (flat-topping, also without a known clip
        level), lasts this long (at least 3 samples). EMG peaks are 1-3 ms wide (median
        frequency 60-100 Hz), so genuine EMG that grazes the rail does not stay there for
        5 ms; an amplifier driven into saturation does.
    max_clip_fraction : float
        Saturated when at least this fraction of the window's samples is at a rail. 5 % of
        a Gaussian signal beyond ±1.65 mV needs 840 µV RMS, above any lumbar erector spinae
        contraction seen by a 16-bit ±1.65 mV front end (MVC typically 150-500 µV RMS), so a
        strong spasm whose peaks touch the rail is not flagged.
    mains_uv : float
        Excessive mains (informational, ``usable`` is unaffected: the notch removes it)
        when the hum reaches this many µV RMS and ``mains_ratio`` of the EMG-band power.
        Hum that large points to a degraded or unbalanced contact impedance and usually
        precedes a lost electrode.
    mains_ratio : float
        Hum power / EMG-band power also needed for the mains flag (see
        ``off_mains_ratio``): during heavy lifting the broadband EMG mistaken for hum
        reaches a ratio of about 0.6, real excess hum at rest 10-1000.
    motion_uv : float
        Motion artefact when the content below ``l_freq`` (Hann periodogram of the detrended
        window plus the power of the fitted linear trend, so steps and ramps count) reaches
        this many µV RMS **and** ``motion_ratio`` times the EMG-band power. Surface EMG has
        little power below 20 Hz, motion artefact most of its power there (De Luca et al.
        2010); 50 µV below 20 Hz leaks about 5-10 µV through a 4th-order 20 Hz high-pass,
        a few % MVC, while ECG and gait jolts stay around 20 µV.
    motion_ratio : float
        Power below ``l_freq`` / EMG-band power needed for the motion flag. A tonic spasm
        has a ratio of about 0.05 (0.4 for a cramp, whose spectrum is compressed), a motion
        burst 3-30.
    step_uv : float
        Electrode pop or movement step (also reported as ``motion``) when the excursion,
        the peak-to-peak of the window smoothed over 3 mains periods (60 ms at 50 Hz), or
        the jump of that smoothed level since the previous window, reaches this many µV
        **and** ``step_ratio`` times the EMG-band RMS. A pop (a step relaxing over
        0.1-0.5 s; Webster 2010) of 100 µV leaves a transient of 85 µV peak, 10 µV RMS over
        250 ms, after the 20 Hz band-pass: a 3 % MVC burst to the detector. ECG (R wave
        up to about 150 µV) and gait jolts stay below; the smoothing removes EMG and QRS.
    step_ratio : float
        Excursion / EMG-band RMS needed for the step rule: contractions, however strong,
        stay around 1.
    motion_adapt : float
        The motion and step levels rise to this many times the recent background: the
        ``background_percentile`` of ``low_uv`` and ``excursion_uv`` over the last
        ``noise_history_s`` of windows with contact and without clipping. A wearer whose
        ECG (or ordinary movement) is large then stops being flagged on every beat, while
        rare bursts (motion artefact is flagged in about 0.1 % of a day) leave the
        background where it was.
    motion_adapt_max : float
        Cap of the adapted levels, as a multiple of ``motion_uv`` and ``step_uv``, so that a
        persistently bad contact cannot talk its way into being usable: bursts above 200 µV
        below 20 Hz or 400 µV steps are always flagged.
    background_percentile : float
        Percentile of the background history (90: above every QRS-free window, as high as
        the typical window holding a QRS).
    background_min_s : float
        History needed before the levels adapt, s (until then ``motion_uv`` and
        ``step_uv`` apply as they are). One minute, so that a first motion burst cannot
        raise the background.
    flat_rms_uv : float
        Flat line when the window's standard deviation is below this (µV): an order of
        magnitude below the input-referred noise of any surface-EMG amplifier (about
        1 µV RMS), 2 counts of a 0.05 µV/count ADC.
    flat_run_fraction : float
        Flat line also when one value repeats for this fraction of the window (stuck ADC or
        a frozen stream).
    noise_history_s : float
        Length of the history behind the noise floor, s. Five minutes: a spasm or cramp of
        up to about 4.5 min leaves more than 10 % quiet windows in it.
    noise_percentile : float
        Percentile of the EMG-band RMS of the usable windows in the history taken as the
        noise floor (quietest windows: no contraction, no ECG QRS in the window).
    noise_min_s : float
        Usable data needed before a noise floor is reported (NaN before).
    hold_s : float
        A channel stays unusable for this long after its last flagged window (the
        detector's 20 Hz high-pass rings for tens of ms after a large step, and artefacts
        fade out below the thresholds).
    """

    off_mains_uv: float = 200.0
    off_mains_ratio: float = 1.0
    off_pinned_s: float = 2.0
    clip_tolerance: float = 0.002
    clip_run_s: float = 0.005
    max_clip_fraction: float = 0.05
    mains_uv: float = 50.0
    mains_ratio: float = 1.0
    motion_uv: float = 50.0
    motion_ratio: float = 1.0
    step_uv: float = 100.0
    step_ratio: float = 4.0
    motion_adapt: float = 2.0
    motion_adapt_max: float = 4.0
    background_percentile: float = 90.0
    background_min_s: float = 60.0
    flat_rms_uv: float = 0.1
    flat_run_fraction: float = 0.5
    noise_history_s: float = 300.0
    noise_percentile: float = 10.0
    noise_min_s: float = 1.0
    hold_s: float = 0.25

    def __post_init__(self) -> None:
        for name in (
            "off_mains_uv",
            "off_mains_ratio",
            "off_pinned_s",
            "clip_run_s",
            "mains_uv",
            "mains_ratio",
            "motion_uv",
            "motion_ratio",
            "step_uv",
            "step_ratio",
            "motion_adapt",
            "motion_adapt_max",
            "flat_rms_uv",
            "noise_history_s",
        ):
            check_positive(name, getattr(self, name))
        for name in ("noise_min_s", "background_min_s", "hold_s"):
            check_positive(name, getattr(self, name), allow_zero=True)
        for name in ("clip_tolerance", "max_clip_fraction", "flat_run_fraction"):
            value = check_positive(name, getattr(self, name))
            if value > 1.0:
                raise ValueError(f"{name} must be a fraction in (0, 1], got {value!r} instead")
        for name in ("noise_percentile", "background_percentile"):
            pct = check_positive(name, getattr(self, name), allow_zero=True)
            if pct > 100.0:
                raise ValueError(f"{name} must be in [0, 100], got {pct!r} instead")


def _readonly(arr: NDArray[Any]) -> NDArray[Any]:
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class QualityReport:
    """Signal quality of one window of every channel.

    Arrays have shape ``(n_channels,)`` and are read-only. Flags are booleans; amplitudes
    are RMS in µV.

    Attributes
    ----------
    start, stop : int
        Sample indices of the window in the stream (``stop`` excluded).
    sfreq : float
        Sampling rate in Hz.
    ch_names : tuple of str
        Channel names used in the reasons.
    usable : ndarray of bool
        False while any of ``electrode_off``, ``saturated``, ``flat_line``, ``motion`` is
        raised and for ``hold_s`` after it: the detector should ignore the channel.
    electrode_off, saturated, flat_line, motion, mains : ndarray of bool
        The individual flags (see :class:`QualityThresholds`). ``mains`` is informational.
    emg_uv : ndarray of float
        RMS in the EMG band (``l_freq``-``h_freq``) without the mains lines, µV.
    low_uv : ndarray of float
        RMS below ``l_freq`` including the fitted linear trend (DC offset excluded), µV.
    low_ratio : ndarray of float
        Power below ``l_freq`` / EMG-band power.
    hum_uv : ndarray of float
        Mains hum, fundamental and harmonics up to ``h_freq``, RMS in µV, with the
        broadband contribution removed (0 when none is detectable).
    hum_ratio : ndarray of float
        Hum power / EMG-band power.
    hum_freq : ndarray of float
        Mains frequency the hum was measured at (the louder of 50 and 60 Hz when the
        :class:`SignalQuality` was not told; 50 when neither is detectable), Hz.
    slope_uv_per_s : ndarray of float
        Absolute slope of the fitted linear trend, µV/s.
    excursion_uv : ndarray of float
        Peak-to-peak of the window smoothed over 3 mains periods, or the jump of the
        smoothed level since the previous window if larger, µV (steps, pops, drift).
    offset_uv : ndarray of float
        Mean of the window, µV.
    clip_fraction : ndarray of float
        Fraction of samples within ``clip_tolerance`` of ±``clip_level_v``; without a clip
        level, of samples sharing the window's maximum or minimum value when at least 3 do
        (flat tops).
    clip_run_s : ndarray of float
        Longest run at a rail or flat top at the window's extreme, s.
    noise_floor_uv : ndarray of float
        Running noise floor: ``noise_percentile`` of ``emg_uv`` over the usable windows of
        the last ``noise_history_s`` (NaN until ``noise_min_s`` of usable data).
    reasons : tuple of str
        One short explanation per channel ("" when nothing is wrong), e.g. ``"left
        electrode lost contact (mains 1.6 mV)"``.
    """

    start: int
    stop: int
    sfreq: float
    ch_names: tuple[str, ...]
    usable: NDArray[np.bool_]
    electrode_off: NDArray[np.bool_]
    saturated: NDArray[np.bool_]
    flat_line: NDArray[np.bool_]
    motion: NDArray[np.bool_]
    mains: NDArray[np.bool_]
    emg_uv: NDArray[np.float64]
    low_uv: NDArray[np.float64]
    low_ratio: NDArray[np.float64]
    hum_uv: NDArray[np.float64]
    hum_ratio: NDArray[np.float64]
    hum_freq: NDArray[np.float64]
    slope_uv_per_s: NDArray[np.float64]
    excursion_uv: NDArray[np.float64]
    offset_uv: NDArray[np.float64]
    clip_fraction: NDArray[np.float64]
    clip_run_s: NDArray[np.float64]
    noise_floor_uv: NDArray[np.float64]
    reasons: tuple[str, ...] = field(default=())

    @property
    def start_s(self) -> float:
        """Start of the window, s from the first sample of the stream."""
        return self.start / self.sfreq

    @property
    def stop_s(self) -> float:
        """End of the window (excluded), s."""
        return self.stop / self.sfreq

    @property
    def reason(self) -> str:
        """All non-empty channel reasons joined with ``"; "`` ("" when all is well)."""
        return "; ".join(r for r in self.reasons if r)


#: Per-channel numbers of a report taken straight from the window features.
_VALUE_FIELDS: Final = (
    "emg_uv",
    "low_uv",
    "low_ratio",
    "hum_uv",
    "hum_ratio",
    "hum_freq",
    "slope_uv_per_s",
    "excursion_uv",
    "offset_uv",
    "clip_fraction",
    "clip_run_s",
)


def _counts_and_runs(
    mask: NDArray[np.bool_], least: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Return the number of True per row (along the last axis) and the longest run of True.

    ``least`` (0 or 1) is a count every row is known to reach (1 for the samples equal to
    the row's maximum, 0 in general): when the total shows that every row holds exactly
    that many, both results are that number. Otherwise only the True elements are visited
    (cheap for the sparse masks of a continuous signal: extremes, repeated values, rails).
    """
    lead = mask.shape[:-1]
    n = mask.shape[-1]
    n_rows = math.prod(lead)
    if np.count_nonzero(mask) == least * n_rows:
        return np.full(lead, least, dtype=np.int64), np.full(lead, least, dtype=np.int64)
    where = np.flatnonzero(mask)
    row = where // n
    count = np.bincount(row, minlength=n_rows).astype(np.int64, copy=False)
    # A run starts at a True element that does not follow another one in its row.
    starts = np.ones(where.size, dtype=bool)
    starts[1:] = (where[1:] - where[:-1] != 1) | (row[1:] != row[:-1])
    first = np.flatnonzero(starts)
    longest = np.zeros(n_rows, dtype=np.int64)
    np.maximum.at(longest, row[first], np.diff(first, append=where.size))
    return count.reshape(lead), longest.reshape(lead)


def _bin_range(selected: NDArray[np.bool_]) -> slice:
    """Return the contiguous range of frequency bins where ``selected`` is True, as a slice."""
    bins = np.flatnonzero(selected)
    return slice(int(bins[0]), int(bins[-1]) + 1) if bins.size else slice(0, 0)


def _fmt_uv(value_uv: float) -> str:
    if value_uv >= 1000.0:
        return f"{value_uv / 1000.0:.1f} mV"
    return f"{value_uv:.0f} µV"


#: Windows since the last flagged one at the start of a stream (no artefact seen yet).
_LONG_AGO: Final = 1 << 62


class SignalQuality:
    """Streaming per-channel signal-quality monitor for raw surface EMG.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz (at least 200).
    n_channels : int
        Number of channels (rows) of every block.
    window_s : float
        Length of a quality window, s (0.1-2). Windows hold ``round(window_s * sfreq)``
        samples and start at sample 0 of the stream.
    clip_level_v : float | None
        Clipping level of the front end referred to the input, V (e.g. 1.65e-3 for the
        spasmwatch ADC). ``None`` if unknown: clipping is then recognised only by
        flat-topping.
    mains_freq : None | 50 | 60
        Mains frequency in Hz; ``None`` measures both and reports the louder per window
        (slightly more broadband power is mistaken for hum, see Notes).
    l_freq, h_freq : float
        EMG band in Hz (default 20-450 Hz); ``h_freq`` is lowered to 90 % of Nyquist if
        needed. Content below ``l_freq`` is the motion band.
    ch_names : sequence of str | None
        Channel names for the reasons; default ``("left", "right")`` for two channels,
        ``("channel 0", ...)`` otherwise.
    thresholds : QualityThresholds | None
        Flag thresholds (default: :class:`QualityThresholds` ()).

    Notes
    -----
    Feed **raw** volts (converted from ADC counts, before any filter). Each window of each
    channel is fitted by least squares with an offset, a linear trend and a cosine/sine pair
    at every mains harmonic up to ``h_freq``. For a window holding a whole number of
    cycles, the fitted power of a harmonic equals the Goertzel (single DFT bin) power; the
    least-squares form stays exact for 0.25 s windows that hold 12.5 cycles of 50 Hz. The
    fit also captures, by chance, broadband EMG near each harmonic, on average
    ``S(f) / T`` per harmonic for a one-sided power spectral density ``S`` and a window of
    ``T`` s; ``S`` is estimated from the residual periodogram 2.5-5 bins either side of the
    line and subtracted, so a contraction does not read as hum. The remaining uncertainty
    is why the mains rules also require the hum to dominate the EMG band.

    The residual (offset, trend and hum removed) is Hann-windowed (sidelobes falling at
    18 dB/octave keep drift and artefact out of the EMG band) and its periodogram summed
    below ``l_freq`` and over ``l_freq``-``h_freq``. Processing is vectorised over the
    windows of a block; only the running statistics (noise floor, motion background), the
    hold-off, the pinned-rail counter and the smoothed level carried into the next window
    are updated window by window, so any split of a recording into blocks gives the same
    reports (numbers to rounding, flags exactly). The running percentiles are exact: each
    history is also kept as a sorted list (one binary-search insertion and removal per
    window), from which the order statistic is read directly. A partial window at the end
    of a stream is never reported.

    References: Goertzel G (1958) An algorithm for the evaluation of finite trigonometric
    series, Am Math Monthly 65(1):34-35; De Luca CJ, Gilmore LD, Kuznetsov M, Roy SH (2010)
    Filtering the surface EMG signal: movement artifact and baseline noise contamination,
    J Biomech 43(8):1573-1579; Webster JG (ed.) (2010) Medical Instrumentation, 4th ed.,
    Wiley; Harris FJ (1978) On the use of windows for harmonic analysis with the discrete
    Fourier transform, Proc IEEE 66(1):51-83.

    Examples
    --------
    >>> import numpy as np
    >>> sq = SignalQuality(1000.0, 2, clip_level_v=1.65e-3, mains_freq=50)
    >>> rng = np.random.default_rng(0)
    >>> reports = sq.process(5e-6 * rng.standard_normal((2, 1000)))
    >>> len(reports), bool(reports[0].usable.all())
    (4, True)
    """

    def __init__(
        self,
        sfreq: float,
        n_channels: int,
        *,
        window_s: float = 0.25,
        clip_level_v: float | None = None,
        mains_freq: float | None = None,
        l_freq: float = DEFAULT_L_FREQ,
        h_freq: float = DEFAULT_H_FREQ,
        ch_names: tuple[str, ...] | list[str] | None = None,
        thresholds: QualityThresholds | None = None,
    ) -> None:
        self.sfreq = check_sfreq(sfreq)
        if self.sfreq < MIN_SFREQ:
            raise ValueError(
                f"sfreq must be at least {MIN_SFREQ:g} Hz for surface-EMG quality (the EMG "
                f"band must reach past the mains line), got {sfreq!r} instead"
            )
        if isinstance(n_channels, bool) or not isinstance(n_channels, int) or n_channels < 1:
            raise ValueError(f"n_channels must be a positive integer, got {n_channels!r}")
        self.n_channels = n_channels
        window_s = check_positive("window_s", window_s)
        lo, hi = _WINDOW_RANGE_S
        if not lo <= window_s <= hi:
            raise ValueError(f"window_s must be in [{lo:g}, {hi:g}] s, got {window_s!r} instead")
        self.n_window = int(round(window_s * self.sfreq))
        self.window_s = self.n_window / self.sfreq
        self.clip_level_v = (
            None if clip_level_v is None else check_positive("clip_level_v", clip_level_v)
        )
        check_option("mains_freq", mains_freq, (None, 50.0, 60.0))
        self.mains_freq = None if mains_freq is None else float(mains_freq)
        self.l_freq = check_positive("l_freq", l_freq)
        h_freq = check_positive("h_freq", h_freq)
        limit = MAX_EDGE_FRACTION * self.sfreq / 2.0
        if h_freq > limit:
            logger.info("h_freq %.1f Hz lowered to %.1f Hz (90 %% of Nyquist)", h_freq, limit)
            h_freq = limit
        if not self.l_freq < h_freq:
            raise ValueError(f"l_freq ({self.l_freq:g} Hz) must be below h_freq ({h_freq:g} Hz)")
        self.h_freq = h_freq
        if ch_names is None:
            names = (
                ("left", "right")
                if n_channels == 2
                else tuple(f"channel {i}" for i in range(n_channels))
            )
        else:
            names = tuple(str(n) for n in ch_names)
            if len(names) != n_channels:
                raise ValueError(
                    f"ch_names must have {n_channels} names, got {len(names)} ({names!r})"
                )
        self.ch_names: tuple[str, ...] = names
        if thresholds is None:
            thresholds = QualityThresholds()
        if not isinstance(thresholds, QualityThresholds):
            raise TypeError(
                f"thresholds must be a QualityThresholds, got {type(thresholds).__name__}"
            )
        self.thresholds = thresholds
        self._design()
        self.reset()

    # ------------------------------------------------------------------ design

    def _design(self) -> None:
        n, fs = self.n_window, self.sfreq
        th = self.thresholds
        t = (np.arange(n) - (n - 1) / 2.0) / fs
        families = (50.0, 60.0) if self.mains_freq is None else (self.mains_freq,)
        freqs: list[float] = []
        for f0 in families:
            k = 1
            while k * f0 <= self.h_freq + 1e-9:
                if all(abs(k * f0 - g) > 1e-9 for g in freqs):
                    freqs.append(k * f0)
                k += 1
        if not freqs:
            raise ValueError(
                f"No mains harmonic at or below h_freq={self.h_freq:g} Hz; raise sfreq"
            )
        # Harmonic membership of every family (300 Hz belongs to 50 and 60 Hz).
        member = np.array([[abs(f / f0 - round(f / f0)) < 1e-9 for f in freqs] for f0 in families])
        n_h = len(freqs)
        h = np.asarray(freqs)
        basis = np.empty((n, 2 + 2 * n_h))
        basis[:, 0] = 1.0
        basis[:, 1] = t
        basis[:, 2::2] = np.cos(2.0 * np.pi * h[None, :] * t[:, None])
        basis[:, 3::2] = np.sin(2.0 * np.pi * h[None, :] * t[:, None])
        self._t = t
        # Least-squares projection and basis, transposed and C-contiguous for the products.
        self._proj_t = np.ascontiguousarray(np.linalg.pinv(basis).T)  # (n, n_regressors)
        self._basis_t = np.ascontiguousarray(basis.T)  # (n_regressors, n)
        self._families = np.asarray(families)
        self._member_t = member.T.astype(np.float64)  # (n_harmonics, n_families)
        # Spectrum of the residual.
        self._hann = np.hanning(n + 1)[:-1]
        rfreqs = np.fft.rfftfreq(n, 1.0 / fs)
        self._df = fs / n
        self._psd_scale = 2.0 / (fs * float(np.sum(self._hann**2)))
        self._low_bins = _bin_range((rfreqs > 0.0) & (rfreqs < self.l_freq))
        self._band_bins = _bin_range((rfreqs >= self.l_freq) & (rfreqs <= self.h_freq))
        # Neighbour-averaging matrix: broadband PSD under each mains line.
        near, far = _NEIGHBOUR_BINS
        in_band = (rfreqs >= self.l_freq) & (rfreqs <= self.h_freq)
        weights = np.zeros((n_h, rfreqs.size))
        for i, f in enumerate(h):
            dist = np.abs(rfreqs - f) / self._df
            sel = in_band & (dist >= near) & (dist <= far)
            if not sel.any():
                sel = in_band
            weights[i, sel] = 1.0 / sel.sum()
        self._neighbours = weights
        self._window_time_s = n / fs
        self._smooth = max(1, min(n // 2, int(round(3.0 * fs / (self.mains_freq or 50.0)))))
        self._clip_run = max(3, int(math.ceil(th.clip_run_s * fs - 1e-9)))
        self._flat_run = max(2, int(math.ceil(th.flat_run_fraction * n - 1e-9)))
        self._hold_windows = int(math.ceil(th.hold_s / self.window_s - 1e-9))
        self._pinned_windows = max(1, int(math.ceil(th.off_pinned_s / self.window_s - 1e-9)))
        self._history = max(1, int(round(th.noise_history_s / self.window_s)))
        self._noise_min = max(1, int(math.ceil(th.noise_min_s / self.window_s - 1e-9)))
        self._bg_min = max(1, int(math.ceil(th.background_min_s / self.window_s - 1e-9)))

    def reset(self) -> None:
        """Forget everything; the next block starts a new stream at sample 0."""
        self._buffer = np.zeros((self.n_channels, self.n_window))
        self._filled = 0
        self._n_seen = 0  # samples of completed windows
        self._since_bad = [_LONG_AGO] * self.n_channels
        self._pinned = [0] * self.n_channels
        # Rings of the last `_history` values, oldest first once full, each with a sorted
        # copy whose k-th element is the order statistic np.partition would give: emg_uv
        # of the usable windows (noise floor); low_uv and excursion_uv of the windows with
        # contact and without clipping (motion background). Position of the oldest value of
        # each full ring.
        n_ch = self.n_channels
        self._noise_ring: list[list[float]] = [[] for _ in range(n_ch)]
        self._noise_sorted: list[list[float]] = [[] for _ in range(n_ch)]
        self._noise_pos = [0] * n_ch
        self._low_ring: list[list[float]] = [[] for _ in range(n_ch)]
        self._low_sorted: list[list[float]] = [[] for _ in range(n_ch)]
        self._exc_ring: list[list[float]] = [[] for _ in range(n_ch)]
        self._exc_sorted: list[list[float]] = [[] for _ in range(n_ch)]
        self._bg_pos = [0] * n_ch
        self._last_level: NDArray[np.float64] | None = None

    # ------------------------------------------------------------------ streaming

    def process(self, block: NDArray[np.float64]) -> list[QualityReport]:
        """Add samples; return the reports of the windows they complete.

        Parameters
        ----------
        block : ndarray of float, shape (n_channels, n_times)
            The next raw samples in volts (any ``n_times``, including 0). NaN and inf are
            refused.

        Returns
        -------
        reports : list of QualityReport
            One per window completed by this block, in time order (often empty).
        """
        x = check_block(block, n_channels=self.n_channels)
        n = self.n_window
        windows: list[NDArray[np.float64]] = []
        pos = 0
        n_times = x.shape[1]
        if self._filled:
            take = min(n - self._filled, n_times)
            self._buffer[:, self._filled : self._filled + take] = x[:, :take]
            self._filled += take
            pos = take
            if self._filled == n:
                windows.append(self._buffer.copy()[None])
                self._filled = 0
        n_full = (n_times - pos) // n
        if n_full:
            chunk = x[:, pos : pos + n_full * n].reshape(self.n_channels, n_full, n)
            windows.append(chunk.transpose(1, 0, 2))
            pos += n_full * n
        rest = n_times - pos
        if rest:
            self._buffer[:, :rest] = x[:, pos:]
            self._filled = rest
        reports: list[QualityReport] = []
        if not windows:
            return reports
        stacked = np.concatenate(windows, axis=0) if len(windows) > 1 else windows[0]
        for b0 in range(0, stacked.shape[0], _BATCH):
            batch = np.ascontiguousarray(stacked[b0 : b0 + _BATCH])
            reports.extend(self._reports(self._features(batch)))
        return reports

    # ------------------------------------------------------------------ features

    def _features(self, win: NDArray[np.float64]) -> dict[str, NDArray[Any]]:
        """Window features, each of shape (n_windows, n_channels)."""
        th = self.thresholds
        n = self.n_window
        n_win, n_ch = win.shape[0], win.shape[1]
        # The numbers of the reports, (n_windows, n_fields, n_channels), written in place as
        # they are computed: each report holds read-only views into this one array.
        values = np.empty((n_win, len(_VALUE_FIELDS), n_ch))
        (
            emg_uv,
            low_uv,
            low_ratio,
            hum_uv,
            hum_ratio,
            hum_freq,
            slope_uv,
            excursion_uv,
            offset_uv,
            clip_fraction,
            clip_run_s,
        ) = values.transpose(1, 0, 2)
        # Stacked products with C-contiguous operands: one small BLAS call per window,
        # always on the calling thread (a single product over every window would be large
        # enough for OpenBLAS to wake its thread pool, which costs more than it saves).
        beta = win @ self._proj_t  # (n_win, n_ch, n_regressors)
        resid = beta @ self._basis_t
        np.subtract(win, resid, out=resid)
        work = resid * self._hann
        spec = np.fft.rfft(work, axis=-1)
        psd = np.square(spec.real)
        psd += np.square(spec.imag)
        psd *= self._psd_scale  # one-sided, V^2/Hz
        p_low = psd[..., self._low_bins].sum(axis=-1)
        p_low *= self._df
        p_band = psd[..., self._band_bins].sum(axis=-1)
        p_band *= self._df
        line = 0.5 * (beta[..., 2::2] ** 2 + beta[..., 3::2] ** 2)  # (..., n_h)
        chance = (psd @ self._neighbours.T) / self._window_time_s  # broadband under lines
        fam_line = line @ self._member_t  # (..., n_families)
        fam_chance = chance @ self._member_t
        fam_hum = np.maximum(fam_line - fam_chance, 0.0)
        p_hum = fam_hum.max(axis=-1)
        hum_freq[...] = self._families[np.argmax(fam_hum, axis=-1)]
        # Energy bookkeeping: what the line fit took but is not hum belongs to the EMG band.
        p_emg = p_band + line.sum(axis=-1) - p_hum
        slope = beta[..., 1]
        p_low += (slope * self._window_time_s) ** 2 / 12.0
        # Excursion: peak-to-peak of the signal without hum, smoothed over 3 mains periods
        # (the moving average nulls the lines and keeps below about 10 Hz: steps, drift,
        # motion; EMG and QRS complexes are averaged away), and the jump of the smoothed
        # level from the end of the previous window, so a step at a window edge counts.
        slow = np.multiply(slope[..., None], self._t, out=work)
        slow += resid
        slow += beta[..., :1]
        csum = np.cumsum(slow, axis=-1, out=slow)
        m = self._smooth
        # Sums of m consecutive samples (the first one, then those starting at 1 .. n - m),
        # divided by m only where needed: the division is monotonic, so it commutes with
        # the maximum and minimum.
        head = csum[..., m - 1]
        sums = np.subtract(csum[..., m:], csum[..., :-m], out=resid[..., : n - m])
        top = np.maximum(sums.max(axis=-1), head)
        bottom = np.minimum(sums.min(axis=-1), head)
        excursion = top / m - bottom / m
        first, last = head / m, sums[..., -1] / m
        before = np.concatenate(
            [(first[0] if self._last_level is None else self._last_level)[None], last[:-1]]
        )
        self._last_level = last[-1].copy()
        excursion = np.maximum(excursion, np.abs(first - before))
        denom = np.maximum(p_emg, _POWER_FLOOR)
        xmax = win.max(axis=-1)
        xmin = win.min(axis=-1)
        at_max = win == xmax[..., None]
        at_min = win == xmin[..., None]
        # Counts and longest runs of: the maximum, the minimum (every row holds each at
        # least once) and, with a clip level, each rail.
        n_max, run_max = _counts_and_runs(at_max, 1)
        n_min, run_min = _counts_and_runs(at_min, 1)
        run_top = np.maximum(run_max, run_min)
        run_bottom = np.minimum(run_max, run_min)
        constant = xmax == xmin
        if self.clip_level_v is not None:
            rail = self.clip_level_v * (1.0 - th.clip_tolerance)
            hi = win >= rail
            lo = win <= -rail
            n_hi, run_hi = _counts_and_runs(hi, 0)
            n_lo, run_lo = _counts_and_runs(lo, 0)
            np.divide(n_hi + n_lo, n, out=clip_fraction)
            rail_run = np.maximum(run_hi, run_lo)
            rail_to_rail = (run_hi >= self._clip_run) & (run_lo >= self._clip_run)
            # Pinned: nearly the whole window at one rail (an open input drifting off).
            pinned = np.maximum(n_hi, n_lo) >= 0.9 * n
        else:
            # Flat tops: samples sharing the window's maximum or minimum, when at least 3 do
            # (a continuous-valued signal reaches each extreme once).
            n_top = np.where(n_max >= 3, n_max, 0) + np.where(n_min >= 3, n_min, 0)
            clip_fraction[...] = np.where(constant, 0.0, n_top / n)
            rail_run = np.zeros((n_win, n_ch), dtype=np.int64)
            rail_to_rail = np.zeros((n_win, n_ch), dtype=bool)
            pinned = rail_to_rail.copy()
        # Flat tops: identical values at the window's extreme (a constant window is a flat
        # line, not a flat top, unless it sits at a known rail).
        top_run = np.where(constant, 0, run_top)
        rail_to_rail = rail_to_rail | (~constant & (run_bottom >= self._clip_run))
        clip_run = np.maximum(rail_run, top_run)
        np.divide(clip_run, self.sfreq, out=clip_run_s)
        # Flat line by the SD: SD >= range / sqrt(2 n), so a window whose range is well
        # above the limit cannot be flat and its SD is not computed.
        flat_rms = th.flat_rms_uv * _UV
        quiet = (xmax - xmin) < 1.01 * flat_rms * math.sqrt(2.0 * n)
        flat_line = np.zeros((n_win, n_ch), dtype=bool)
        if quiet.any():
            flat_line[quiet] = win[quiet].std(axis=-1) < flat_rms
        # Flat line also when one value repeats for `_flat_run` samples: a run of at least
        # `_flat_run - 1` equal consecutive differences; rows with fewer repeats in all
        # cannot hold one and are not scanned.
        repeated = win[..., 1:] == win[..., :-1]
        need = self._flat_run - 1
        if np.count_nonzero(repeated) >= need:
            flat_line |= _counts_and_runs(repeated, 0)[1] >= need
        at_rail = clip_fraction >= 0.5
        flat_line &= ~at_rail
        np.divide(p_hum, denom, out=hum_ratio)
        np.divide(p_low, denom, out=low_ratio)
        np.divide(np.sqrt(p_hum), _UV, out=hum_uv)
        np.divide(np.sqrt(p_low), _UV, out=low_uv)
        electrode_off = (
            (hum_uv >= th.off_mains_uv) & (hum_ratio >= th.off_mains_ratio)
        ) | rail_to_rail
        saturated = (clip_fraction >= th.max_clip_fraction) | (clip_run >= self._clip_run)
        np.divide(excursion, _UV, out=excursion_uv)
        np.divide(np.sqrt(np.maximum(p_emg, 0.0)), _UV, out=emg_uv)
        np.divide(np.abs(slope), _UV, out=slope_uv)
        np.divide(beta[..., 0], _UV, out=offset_uv)
        # The absolute levels of the motion rules are applied in _reports, where they adapt
        # to the recent background; the spectral conditions are fixed.
        low_dominant = low_ratio >= th.motion_ratio
        step_dominant = excursion_uv >= th.step_ratio * emg_uv
        mains = (hum_uv >= th.mains_uv) & (hum_ratio >= th.mains_ratio)
        return {
            "electrode_off": electrode_off,
            "saturated": saturated,
            "flat_line": flat_line,
            "low_dominant": low_dominant,
            "step_dominant": step_dominant,
            "mains": mains,
            "rail_to_rail": rail_to_rail,
            "pinned": pinned,
            "emg_uv": emg_uv,
            "excursion_uv": excursion_uv,
            "low_uv": low_uv,
            "hum_uv": hum_uv,
            "clip_fraction": clip_fraction,
            "clip_run_s": clip_run_s,
            "values": _readonly(values),
        }

    # ------------------------------------------------------------------ reports

    def _reports(self, feats: dict[str, NDArray[Any]]) -> list[QualityReport]:
        th = self.thresholds
        values_a = feats["values"]
        n_win, _, n_ch = values_a.shape
        cap = self._history
        noise_pct = th.noise_percentile / 100.0
        bg_pct = th.background_percentile / 100.0
        motion_uv, step_uv, adapt = th.motion_uv, th.step_uv, th.motion_adapt
        low_cap = th.motion_adapt_max * th.motion_uv
        step_cap = th.motion_adapt_max * th.step_uv
        noise_min, bg_min = self._noise_min, self._bg_min
        pinned_windows, hold_windows = self._pinned_windows, self._hold_windows
        # The running statistics, hold-off and pinned counter are sequential but per
        # channel: one pass per channel over the windows, in Python scalars (lists).
        cols = {
            key: feats[key].T.tolist()
            for key in (
                "emg_uv",
                "low_uv",
                "excursion_uv",
                "low_dominant",
                "step_dominant",
                "pinned",
                "electrode_off",
                "saturated",
                "flat_line",
            )
        }
        noise_c: list[list[float]] = []
        usable_c: list[list[bool]] = []
        off_c: list[list[bool]] = []
        motion_c: list[list[bool]] = []
        state_c: list[list[tuple[bool, bool, bool]]] = []  # long_pinned, low_burst, step
        for c in range(n_ch):
            emg, low, exc = cols["emg_uv"][c], cols["low_uv"][c], cols["excursion_uv"][c]
            low_dom, step_dom = cols["low_dominant"][c], cols["step_dominant"][c]
            pinned_w, e_off = cols["pinned"][c], cols["electrode_off"][c]
            sat, flat = cols["saturated"][c], cols["flat_line"][c]
            n_ring, n_sorted = self._noise_ring[c], self._noise_sorted[c]
            l_ring, l_sorted = self._low_ring[c], self._low_sorted[c]
            e_ring, e_sorted = self._exc_ring[c], self._exc_sorted[c]
            n_pos, b_pos = self._noise_pos[c], self._bg_pos[c]
            pinned, since = self._pinned[c], self._since_bad[c]
            n_count, b_count = len(n_ring), len(l_ring)
            noise_l = [math.nan] * n_win
            usable_l = [False] * n_win
            off_l = [False] * n_win
            motion_l = [False] * n_win
            state_l = [(False, False, False)] * n_win
            for w in range(n_win):
                # Running statistics of the windows before this one: the noise floor
                # (usable windows) and the background the motion rules must stand out
                # from (ECG, ordinary movement; every window with contact, no clipping).
                if n_count >= noise_min:
                    noise_l[w] = n_sorted[int(noise_pct * (n_count - 1))]
                low_level = motion_uv
                step_level = step_uv
                if b_count >= bg_min:
                    k = int(bg_pct * (b_count - 1))
                    # min(max(floor, adapt * level), cap), written out (hot loop)
                    level = adapt * l_sorted[k]
                    low_level = level if level > low_level else low_level
                    low_level = low_cap if low_cap < low_level else low_level
                    level = adapt * e_sorted[k]
                    step_level = level if level > step_level else step_level
                    step_level = step_cap if step_cap < step_level else step_level
                low_burst = low[w] >= low_level and low_dom[w]
                step = exc[w] >= step_level and step_dom[w]
                motion = low_burst or step
                pinned = pinned + 1 if pinned_w[w] else 0
                long_pinned = pinned >= pinned_windows
                off = e_off[w] or long_pinned
                contact = not (off or sat[w] or flat[w])
                bad = not contact or motion
                since = 0 if bad else since + 1
                usable = not bad and since > hold_windows
                # Rings of at most `cap` values, each with a sorted copy (inline: this
                # loop runs for every window).
                if usable:
                    if n_count < cap:
                        n_count += 1
                        n_ring.append(emg[w])
                    else:
                        del n_sorted[bisect_left(n_sorted, n_ring[n_pos])]
                        n_ring[n_pos] = emg[w]
                        n_pos = n_pos + 1 if n_pos + 1 < cap else 0
                    insort(n_sorted, emg[w])
                if contact:
                    if b_count < cap:
                        b_count += 1
                        l_ring.append(low[w])
                        e_ring.append(exc[w])
                    else:
                        del l_sorted[bisect_left(l_sorted, l_ring[b_pos])]
                        del e_sorted[bisect_left(e_sorted, e_ring[b_pos])]
                        l_ring[b_pos] = low[w]
                        e_ring[b_pos] = exc[w]
                        b_pos = b_pos + 1 if b_pos + 1 < cap else 0
                    insort(l_sorted, low[w])
                    insort(e_sorted, exc[w])
                usable_l[w] = usable
                off_l[w] = off
                motion_l[w] = motion
                if not usable:  # (a usable window has none of these)
                    state_l[w] = (long_pinned, low_burst, step)
            self._noise_pos[c], self._bg_pos[c] = n_pos, b_pos
            self._pinned[c], self._since_bad[c] = pinned, since
            noise_c.append(noise_l)
            usable_c.append(usable_l)
            off_c.append(off_l)
            motion_c.append(motion_l)
            state_c.append(state_l)
        # Flags of every window in one array per field; the reports hold row views.
        usable_a = _readonly(np.array(usable_c, dtype=bool).T.copy())
        off_a = _readonly(np.array(off_c, dtype=bool).T.copy())
        motion_a = _readonly(np.array(motion_c, dtype=bool).T.copy())
        noise_a = _readonly(np.array(noise_c, dtype=np.float64).T.copy())
        sat_a = _readonly(feats["saturated"])
        flat_a = _readonly(feats["flat_line"])
        mains_a = _readonly(feats["mains"])
        # Windows where every channel is usable and free of hum have no reason to give.
        clean = np.logical_and.reduce(usable_a & ~mains_a, axis=1).tolist()
        no_reasons = ("",) * n_ch
        mains = mains_a.tolist()
        sfreq, ch_names, step_n = self.sfreq, self.ch_names, self.n_window
        start = self._n_seen
        out: list[QualityReport] = []
        for w, numbers in enumerate(values_a):
            reasons = (
                no_reasons
                if clean[w]
                else tuple(
                    ""
                    if usable_c[c][w] and not mains[w][c]
                    else self._reason(c, feats, w, off_c[c][w], usable_c[c][w], *state_c[c][w])
                    for c in range(n_ch)
                )
            )
            # Row views of the numbers, in the order of _VALUE_FIELDS.
            (
                emg_uv,
                low_uv,
                low_ratio,
                hum_uv,
                hum_ratio,
                hum_freq,
                slope_uv_per_s,
                excursion_uv,
                offset_uv,
                clip_fraction,
                clip_run_s,
            ) = numbers
            out.append(
                QualityReport(
                    start=start,
                    stop=start + step_n,
                    sfreq=sfreq,
                    ch_names=ch_names,
                    usable=usable_a[w],
                    electrode_off=off_a[w],
                    saturated=sat_a[w],
                    flat_line=flat_a[w],
                    motion=motion_a[w],
                    mains=mains_a[w],
                    emg_uv=emg_uv,
                    low_uv=low_uv,
                    low_ratio=low_ratio,
                    hum_uv=hum_uv,
                    hum_ratio=hum_ratio,
                    hum_freq=hum_freq,
                    slope_uv_per_s=slope_uv_per_s,
                    excursion_uv=excursion_uv,
                    offset_uv=offset_uv,
                    clip_fraction=clip_fraction,
                    clip_run_s=clip_run_s,
                    noise_floor_uv=noise_a[w],
                    reasons=reasons,
                )
            )
            start += step_n
        self._n_seen = start
        return out

    def _reason(
        self,
        c: int,
        feats: dict[str, NDArray[Any]],
        w: int,
        off: bool,
        usable: bool,
        long_pinned: bool,
        low_burst: bool,
        step: bool,
    ) -> str:
        name = self.ch_names[c]
        hum = float(feats["hum_uv"][w, c])
        if off:
            if long_pinned:
                detail = "pinned at the rail"
            elif feats["rail_to_rail"][w, c]:
                detail = "rail to rail"
            else:
                detail = f"mains {_fmt_uv(hum)}"
            return f"{name} electrode lost contact ({detail})"
        if feats["saturated"][w, c]:
            frac = float(feats["clip_fraction"][w, c])
            if self.clip_level_v is not None and frac > 0:
                return f"{name} channel saturated ({100 * frac:.0f} % of samples at the rail)"
            run_ms = 1000.0 * float(feats["clip_run_s"][w, c])
            return (
                f"{name} channel saturated (flat-topped for up to {run_ms:.0f} ms, "
                f"{100 * frac:.0f} % of samples)"
            )
        if feats["flat_line"][w, c]:
            return f"{name} signal flat (stuck or shorted input)"
        if low_burst:
            low = float(feats["low_uv"][w, c])
            return f"{name} motion artefact ({_fmt_uv(low)} below {self.l_freq:g} Hz)"
        if step:
            exc = float(feats["excursion_uv"][w, c])
            return f"{name} electrode pop or movement step ({_fmt_uv(exc)})"
        if not usable:
            return f"{name} settling after an artefact"
        if feats["mains"][w, c]:
            return f"{name} mains hum {_fmt_uv(hum)}"
        return ""
