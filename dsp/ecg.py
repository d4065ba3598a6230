"""ECG suppression for trunk surface EMG: adaptive template subtraction or a 30 Hz high-pass.

Lumbar surface EMG at rest is a few microvolts; the heart beat it picks up is tens of
microvolts (larger on the left). :class:`EcgSuppressor` removes it in real time, in one of
two ways:

* ``method="template"`` detects the beats (:class:`dsp.rpeaks.RPeakDetector`), keeps a
  per-channel QRS template -- a weighted running average of the clean beats, Wiener
  filtered -- and subtracts it from every beat with its size (and a sub-sample shift)
  fitted by least squares (Levine et al. 1986). The output is delayed by a fixed
  :attr:`~EcgSuppressor.latency_samples`; the EMG between the beats is passed untouched.
* ``method="highpass"`` is the 4th-order Butterworth high-pass at 30 Hz that Drake &
  Callaghan (2006) found the best simple trade-off; it also removes the EMG below 30 Hz.

The suppressor works on the EMG after its band-pass (20-450 Hz and mains notch), where
the P and T waves and the baseline drift are gone and the template only has to cover the
QRS complex. Beats are best detected before the 20 Hz high-pass, though (the QRS stands
highest above the EMG at 5-15 Hz): pass the same samples before the high-pass as
``wideband`` to :meth:`EcgSuppressor.process`.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.signal import windows

from dsp._validation import check_block, check_n_channels, check_option, check_positive
from dsp.filters import design_highpass
from dsp.rpeaks import (
    RPeakDetector,
    _check_min_sfreq,
    _check_reference,
)
from dsp.sosfilter import SosFilter

__all__ = ["ECG_METHODS", "EcgSuppressor"]

logger = logging.getLogger(__name__)

#: Methods of :class:`EcgSuppressor`.
ECG_METHODS: Final = ("template", "highpass")
#: Fraction of the template window tapered (half at each end, Tukey window), so the
#: subtracted waveform fades in and out instead of stepping.
_TAPER_FRACTION: Final = 0.25
#: A channel's template is used only if its energy is this many times the energy of its
#: own noise (a channel with no visible ECG is left untouched).
_MIN_TEMPLATE_SNR: Final = 4.0
#: Floor of a beat's noise variance relative to the noisiest channel's when weighting it
#: (no beat, however clean, may outweigh the others by more than a million).
_MIN_NOISE_FRACTION: Final = 1e-6
#: A beat whose amplitude is further than this many standard deviations from the
#: expected one is not learned from.
_MAX_AMPLITUDE_Z: Final = 3.0
#: Relative floor of determinants and variances (guards exact fits and flat templates).
_MIN_CONDITION: Final = 1e-12
#: Clip of the log-likelihood ratio of "beat" versus "no beat" (avoids overflow).
_MAX_LOG_ODDS: Final = 50.0

Method = Literal["template", "highpass"]


class EcgSuppressor:
    """Remove the ECG from multichannel surface EMG, causally and block by block.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz (at least :data:`dsp.rpeaks.MIN_SFREQ`, 100 Hz).
    n_channels : int
        Number of channels (rows) of every block.
    method : ``"template"`` | ``"highpass"``
        Adaptive template subtraction, or the 30 Hz Butterworth high-pass.
    reference : int
        Channel the beats are detected in (``"template"``): the one with the largest ECG.
        In spasmwatch the left erector spinae, channel 0.
    tmin, tmax : float
        Template window around the R peak, s (``"template"``). The default -0.06 to
        +0.12 s holds 99.9 % of the ECG energy left after a causal 20-450 Hz band-pass on
        the simulator, and 97-98 % of the beat-averaged energy on a real recording (the
        rest being mostly EMG that the average kept).
    n_beats : int
        Memory of the template, in learned beats (``"template"``): each new beat is
        weighted against a running average that forgets ``1 / n_beats`` per beat.
    min_beats : int
        Beats to learn before anything is subtracted (``"template"``).
    learn_snr : float
        Detection strength (:attr:`dsp.rpeaks.RPeaks.snr`) a beat needs to be learned
        from (``"template"``): beats inside EMG bursts are kept out of the template.
    amplitude_sd : float
        Prior standard deviation of a beat's amplitude relative to the template
        (``"template"``); see Notes.
    beat_prior : float
        Prior probability that a detected beat is a real heart beat (``"template"``);
        see Notes.
    l_freq : float
        Cut-off of the high-pass in Hz (``"highpass"``).

    Attributes
    ----------
    latency_samples : int
        Fixed delay of the output: output sample ``i`` is input sample
        ``i - latency_samples`` with the ECG removed; the first ``latency_samples``
        outputs after construction or :meth:`reset` are zeros. 0 for ``"highpass"``
        (its group delay, about 8 ms at 60 Hz, is not compensated).
    detector : RPeakDetector | None
        The beat detector (``None`` for ``"highpass"``).
    n_beats_detected, n_beats_subtracted, n_beats_learned : int
        Counters since construction or :meth:`reset` (``"template"``).

    Notes
    -----
    **Template.** Each beat reported by the detector is handled once the samples up to
    ``tmax`` after it have arrived; its segment runs from ``tmin`` to ``tmax`` around the
    R peak.

    1. *Fit* (once a template exists). Per channel, the segment is regressed on the
       template ``T``, its derivative ``T'`` (a small shift ``d``:
       ``a T(t - d) ~ a T - a d T'``) and a straight line (offset and drift) by least
       squares, as Levine et al. (1986) fit an ECG template's size and offset at the point
       of best correlation. Only the template part is subtracted.
    2. *Shrinkage* (spasmwatch's own; not part of the published method). The
       least-squares amplitude ``a`` has a standard error ``s`` from the residual. A real
       beat is expected at ``a ~ N(m, amplitude_sd^2)``, where ``m <= 1`` is the
       template's correlation with itself shifted by the R peak's expected timing error
       (which grows as the detection strength falls); a false detection has ``a = 0``
       (prior probability ``1 - beat_prior``). The subtracted amplitude is the posterior
       mean, ``p (a sd^2 + m s^2) / (sd^2 + s^2)``, where ``p`` is the posterior
       probability of a real beat from all channels with a usable template; the shift
       term is shrunk towards 0 likewise. A clean beat is fitted as it is; a clean
       false detection (``a ~ 0``) is left alone; a beat buried in EMG gets about ``m``
       times the template rather than a noisy fit, which would add noise to the output.
    3. *Learning*. A beat with detection strength ``>= learn_snr`` -- and, once the
       template is in use, ``p >= 0.5`` and ``a`` within 3 standard errors of ``m`` --
       enters the template, less its fitted straight line (before there is a usable
       template: the line through the means of the two tapered ends of the window). The
       template is a running average that forgets ``1 / n_beats`` per beat,
       each beat weighted by the inverse of its noise variance per channel (the fit
       residual; Hoke et al. 1984), so beats in EMG bursts barely count. The average is
       then Wiener filtered (Walter 1969): each frequency is kept in proportion to its
       share of signal, the noise spectrum being the weighted average of the beats'
       differences from the running mean. A channel whose template energy is not 4 times
       its noise energy is not subtracted. If ``n_beats`` strong beats in a row fail the
       consistency test (the ECG changed shape, e.g. after an electrode moved), the
       template is dropped and learned afresh.

    Before ``min_beats`` beats are learned (the detector's 2 s learning period plus a few
    beats: 5-10 s at rest after construction, :meth:`reset` or a relearn) nothing is
    subtracted: the output is the input, delayed. :attr:`template_ready` says which state
    the suppressor is in.

    The latency is ``max(D, tmax) - tmin`` where ``D`` is the detector's worst-case
    :attr:`~dsp.rpeaks.RPeakDetector.latency_samples`: every beat that touches an output
    sample has been detected and fitted before the sample leaves. Processing is block-size
    invariant: any partition of the input gives the same output.

    **High-pass.** Drake & Callaghan (2006) superimposed ECG on uncontaminated EMG and
    compared 23 removal methods; the 4th-order Butterworth high-pass at 30 Hz gave the best
    balance of ECG removal, EMG preservation and ease. Here it is applied causally
    (:class:`dsp.sosfilter.SosFilter`: state carried between blocks, seeded from the first
    sample).

    References: Levine S, Gillen J, Weiser P, Kwatny E (1986). Description and validation
    of an ECG removal procedure for EMGdi power spectrum analysis. J Appl Physiol
    60(3):1073-1081. Hoke M, Ross B, Wickesberg R, Luetkenhoener B (1984). Weighted
    averaging -- theory and application to electric response audiometry.
    Electroencephalogr Clin Neurophysiol 57(5):484-489. Walter DO (1969). A posteriori
    "Wiener filtering" of average evoked responses. Electroencephalogr Clin Neurophysiol
    Suppl 27:61-70. Drake JDM, Callaghan JP (2006). Elimination of electrocardiogram
    contamination from electromyogram signals: an evaluation of currently used removal
    techniques. J Electromyogr Kinesiol 16(2):175-187.
    """

    def __init__(
        self,
        sfreq: float,
        n_channels: int,
        *,
        method: Method = "template",
        reference: int = 0,
        tmin: float = -0.06,
        tmax: float = 0.12,
        n_beats: int = 16,
        min_beats: int = 4,
        learn_snr: float = 20.0,
        amplitude_sd: float = 0.25,
        beat_prior: float = 0.9,
        l_freq: float = 30.0,
    ) -> None:
        self.sfreq = _check_min_sfreq(sfreq)
        self.n_channels = check_n_channels(n_channels)
        self.method: Method = check_option("method", method, ECG_METHODS)
        self.reference = _check_reference(reference, self.n_channels)
        self.detector: RPeakDetector | None = None
        self._highpass: SosFilter | None = None
        self._template: NDArray[np.float64] | None = None
        self._n_stored = 0
        self.n_beats_detected = self.n_beats_subtracted = self.n_beats_learned = 0
        if self.method == "highpass":
            self.l_freq = check_positive("l_freq", l_freq)
            self._highpass = SosFilter(
                design_highpass(self.sfreq, self.l_freq, order=4), self.n_channels
            )
            self.latency_samples = 0
            return

        self.tmin = _check_number("tmin", tmin)
        self.tmax = _check_number("tmax", tmax)
        if not self.tmin < 0.0 < self.tmax:
            raise ValueError(
                f"the template window must contain the R peak: tmin < 0 < tmax, got "
                f"tmin={tmin!r}, tmax={tmax!r} instead"
            )
        self.n_beats = _check_count("n_beats", n_beats, minimum=1)
        self.min_beats = _check_count("min_beats", min_beats, minimum=1)
        if self.min_beats > self.n_beats:
            raise ValueError(f"min_beats ({min_beats!r}) must not exceed n_beats ({n_beats!r})")
        self.learn_snr = check_positive("learn_snr", learn_snr, allow_zero=True)
        self.amplitude_sd = check_positive("amplitude_sd", amplitude_sd)
        self.beat_prior = check_positive("beat_prior", beat_prior)
        if not self.beat_prior < 1.0:
            raise ValueError(f"beat_prior must be in (0, 1), got {beat_prior!r} instead")

        self.detector = RPeakDetector(self.sfreq, self.n_channels, reference=self.reference)
        self._n_pre = round(self.tmin * self.sfreq)  # < 0
        self._n_post = round(self.tmax * self.sfreq)
        if self._n_pre >= 0 or self._n_post <= 0:
            raise ValueError(
                f"the template window tmin={tmin!r} to tmax={tmax!r} s is shorter than one "
                f"sample on either side of the R peak at sfreq={self.sfreq:g} Hz"
            )
        self._n_len = self._n_post - self._n_pre + 1
        self._n_fft = 2 * self._n_len  # zero-padded: the Wiener filter must not wrap around
        self.latency_samples = max(self.detector.latency_samples, self._n_post) - self._n_pre
        self._taper = windows.tukey(self._n_len, alpha=_TAPER_FRACTION)
        self._n_edge = max(1, round(_TAPER_FRACTION / 2.0 * self._n_len))
        self._edge_ramp = (np.arange(self._n_len) - (self._n_edge - 1) / 2.0) / (
            self._n_len - self._n_edge
        )
        # Orthonormal basis of the nuisance (offset and straight-line drift) subspace.
        ramp = np.linspace(-1.0, 1.0, self._n_len)
        q, _ = np.linalg.qr(np.stack((np.ones(self._n_len), ramp), axis=1))
        self._nuisance = q  # (n_len, 2)
        self._log_prior_odds = math.log(self.beat_prior / (1.0 - self.beat_prior))
        # Timing error of an R peak found in a band around f_c with amplitude SNR A is
        # about 1 / (2 pi f_c A); the detection strength is an energy ratio (A^2).
        band_centre = math.sqrt(self.detector.l_freq * self.detector.h_freq)
        self._timing_sd_snr = 1.0 / (2.0 * math.pi * band_centre)
        self._init_state()

    # ------------------------------------------------------------------ state

    def _init_state(self) -> None:
        if self.detector is not None:
            self.detector.reset()
        self._n_seen = 0
        self._wideband: bool | None = None
        self._x0 = 0  # absolute index of the first sample kept in the history
        self._x = np.zeros((self.n_channels, 0))
        self._corr = np.zeros((self.n_channels, 0))
        self._pending: deque[tuple[int, float]] = deque()
        # Exponentially forgetting, inverse-variance weighted sums of the stored beats.
        self._sum = np.zeros((self.n_channels, self._n_len))
        self._weight = np.zeros(self.n_channels)
        self._weight_sq = np.zeros(self.n_channels)
        self._noise_spec = np.zeros((self.n_channels, self._n_fft // 2 + 1))
        self._n_stored = 0  # beats learned since the template was (re)started
        self._template = None
        self._template_deriv: NDArray[np.float64] | None = None
        self._template_proj: NDArray[np.float64] | None = None
        self._deriv_proj: NDArray[np.float64] | None = None
        self._usable = np.zeros(self.n_channels, dtype=bool)
        self._template_freq = np.zeros(self.n_channels)
        self._rejected_streak = 0
        self.n_beats_detected = 0
        self.n_beats_subtracted = 0
        self.n_beats_learned = 0

    def reset(self) -> None:
        """Forget the signal, the beats and the template; the next block starts afresh."""
        if self._highpass is not None:
            self._highpass.reset()
            return
        self._init_state()

    @property
    def template_ready(self) -> bool:
        """True when enough clean beats are stored for the template to be subtracted."""
        return self.method == "template" and self._n_stored >= self.min_beats

    @property
    def active_channels(self) -> NDArray[np.bool_]:
        """Channels whose template is being subtracted, shape (n_channels,).

        False everywhere before the template is ready and for ``"highpass"``; a channel
        stays False while its template is not clearly above its noise (no visible ECG).
        """
        if self.method != "template" or not self.template_ready:
            return np.zeros(self.n_channels, dtype=bool)
        return self._usable.copy()

    @property
    def template(self) -> NDArray[np.float64] | None:
        """Current QRS template, shape (n_channels, n_template_times), in volts, or None.

        Sample ``j`` is at ``tmin + j / sfreq`` s from the R peak; channels whose template
        is not significant (no visible ECG) are still shown but not subtracted.
        """
        return None if self._template is None else self._template.copy()

    # ------------------------------------------------------------------ processing

    def process(
        self, block: NDArray[np.float64], wideband: NDArray[np.float64] | None = None
    ) -> NDArray[np.float64]:
        """Remove the ECG from the next block.

        Parameters
        ----------
        block : ndarray of float, shape (n_channels, n_times)
            The next samples in volts (any ``n_times``, including 0), normally after the
            EMG band-pass.
        wideband : ndarray of float, shape (n_channels, n_times) | None
            The same samples before the EMG high-pass (raw, or only mains-filtered), for
            the beat detector (``"template"`` only). The QRS-to-EMG ratio is highest at
            5-15 Hz, which a 20 Hz high-pass has taken out of ``block``: detection under
            muscle activity is much more sensitive on the wideband signal. ``None``
            detects on ``block``. Must be given for every block or for none (checked and
            ignored by ``"highpass"``).

        Returns
        -------
        ndarray of float64, shape (n_channels, n_times)
            The cleaned signal, delayed by :attr:`latency_samples` (``"template"``).
        """
        x = check_block(block, n_channels=self.n_channels)
        detect_on = x
        if wideband is not None:
            detect_on = check_block(wideband, n_channels=self.n_channels, name="wideband")
            if detect_on.shape != x.shape:
                raise ValueError(
                    f"wideband must have the shape of block {x.shape}, got "
                    f"{detect_on.shape} instead"
                )
        if self._highpass is not None:
            return self._highpass.process(x)
        if self.detector is None:  # pragma: no cover - set for "template"
            raise RuntimeError("template method without a detector")
        if self._wideband is None:
            self._wideband = wideband is not None
        elif self._wideband != (wideband is not None):
            raise ValueError(
                "wideband must be given with every block or with none (since the start or "
                "the last reset)"
            )
        n = x.shape[1]
        if n == 0:
            return np.zeros((self.n_channels, 0))
        # The block is checked already; the detector only needs its reference channel.
        peaks = self.detector._process_reference(detect_on[self.reference])
        self._x = np.concatenate((self._x, x), axis=1)
        self._corr = np.concatenate((self._corr, np.zeros_like(x)), axis=1)
        self._n_seen += n
        self.n_beats_detected += peaks.samples.size
        self._pending.extend(zip(peaks.samples.tolist(), peaks.snr.tolist(), strict=True))
        last = self._n_seen - 1
        while self._pending and self._pending[0][0] + self._n_post <= last:
            r_peak, snr = self._pending.popleft()
            self._handle_beat(r_peak, snr)

        out = np.zeros((self.n_channels, n))
        start = self._n_seen - n - self.latency_samples  # absolute index of out[:, 0]
        first = max(start, 0)
        stop = self._n_seen - self.latency_samples
        if stop > first:
            lo, hi = first - self._x0, stop - self._x0
            out[:, first - start :] = self._x[:, lo:hi] - self._corr[:, lo:hi]
        # Keep what the next output and the beats still to come can touch.
        keep_from = max(stop, 0)
        drop = keep_from - self._x0
        if drop > 0:
            self._x = self._x[:, drop:]
            self._corr = self._corr[:, drop:]
            self._x0 += drop
        return out

    # ------------------------------------------------------------------ beats

    def _handle_beat(self, r_peak: int, snr: float) -> None:
        lo = r_peak + self._n_pre - self._x0
        hi = lo + self._n_len
        if lo < 0 or hi > self._x.shape[1]:
            logger.debug("beat at sample %d is outside the kept signal; skipped", r_peak)
            return
        segment = self._x[:, lo:hi]
        # Offset and drift: by default the straight line through the window's two ends
        # (the tapers, where the template is about 0).
        baseline = self._edge_line(segment)
        # Noise of this beat per channel: the residual of the fit, or (without a usable
        # template) the segment's own power.
        centred = segment - baseline
        noise = np.einsum("ct,ct->c", centred, centred) / self._n_len
        consistent = True
        if self.template_ready:
            # Offset and drift are fitted jointly with the template: projecting them out
            # of the segment and of the regressors gives the same amplitudes (Frisch-
            # Waugh-Lovell); only the template part is subtracted.
            seg_proj = segment - (segment @ self._nuisance) @ self._nuisance.T
            fit = self._fit(seg_proj, snr)
            if fit is not None:
                estimate, consistent, residual_var, fitted, ok = fit
                rest = segment - fitted
                fitted_baseline = (rest @ self._nuisance) @ self._nuisance.T
                baseline = np.where(ok[:, None], fitted_baseline, baseline)
                noise = np.where(ok, residual_var, noise)
                self._corr[:, lo:hi] += estimate
                self.n_beats_subtracted += 1
        if snr >= self.learn_snr:
            self._learn(segment - baseline, noise, consistent)

    def _edge_line(self, segment: NDArray[np.float64]) -> NDArray[np.float64]:
        """Straight line through the means of the first and last ``n_edge`` samples."""
        m = self._n_edge
        left = segment[:, :m].mean(axis=-1)
        right = segment[:, -m:].mean(axis=-1)
        line: NDArray[np.float64] = left[:, None] + (right - left)[:, None] * self._edge_ramp
        return line

    def _fit(
        self, seg_proj: NDArray[np.float64], snr: float
    ) -> (
        tuple[
            NDArray[np.float64], bool, NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]
        ]
        | None
    ):
        """Fit the template to one beat.

        Parameters
        ----------
        seg_proj : ndarray, shape (n_channels, n_len)
            The beat's segment with the nuisance subspace removed.
        snr : float
            The detection strength, which sets the expected timing error.

        Returns
        -------
        estimate : ndarray, shape (n_channels, n_len)
            The waveform to subtract.
        consistent : bool
            Whether the beat looks like the template (probably a real beat, amplitude
            within 3 standard deviations of the expected one), i.e. may be learned from.
        residual_var : ndarray, shape (n_channels,)
            Variance of the fit residual per channel.
        fitted : ndarray, shape (n_channels, n_len)
            The least-squares template part (before shrinkage), for the baseline.
        ok : ndarray of bool, shape (n_channels,)
            Channels that were fitted.
        """
        t_proj, d_proj = self._template_proj, self._deriv_proj
        template, deriv = self._template, self._template_deriv
        if t_proj is None or d_proj is None or template is None or deriv is None:
            return None  # pragma: no cover - template_ready implies a template
        usable = self._usable
        if not usable.any():
            return None
        # Per-channel 2x2 normal equations for [T, T'] (the nuisance is projected out).
        g_tt = np.einsum("ct,ct->c", t_proj, t_proj)
        g_dd = np.einsum("ct,ct->c", d_proj, d_proj)
        g_td = np.einsum("ct,ct->c", t_proj, d_proj)
        r_t = np.einsum("ct,ct->c", t_proj, seg_proj)
        r_d = np.einsum("ct,ct->c", d_proj, seg_proj)
        det = g_tt * g_dd - g_td * g_td
        ok = usable & (det > _MIN_CONDITION * g_tt * g_dd)
        det = np.where(ok, det, 1.0)
        a_ls = np.where(ok, (g_dd * r_t - g_td * r_d) / det, 0.0)
        b_ls = np.where(ok, (g_tt * r_d - g_td * r_t) / det, 0.0)
        residual = seg_proj - a_ls[:, None] * t_proj - b_ls[:, None] * d_proj
        power = np.einsum("ct,ct->c", seg_proj, seg_proj) / self._n_len
        sigma2 = np.einsum("ct,ct->c", residual, residual) / max(self._n_len - 4, 1)
        sigma2 = np.maximum(sigma2, _MIN_CONDITION * power + np.finfo(np.float64).tiny)
        var_a = np.where(ok, sigma2 * g_dd / det, 1.0)
        var_b = np.where(ok, sigma2 * g_tt / det, 1.0)
        # Expected timing error of the R peak (s) and the amplitude it leaves on average:
        # the template's correlation with itself shifted by a Gaussian error.
        timing_sd = self._timing_sd_snr / math.sqrt(max(snr, 1.0))
        prior_mean = np.exp(-0.5 * (2.0 * math.pi * self._template_freq * timing_sd) ** 2)
        # Posterior probability of a real beat (a ~ N(prior_mean, sd^2)) against a false
        # detection (a = 0), from every usable channel.
        prior_var = self.amplitude_sd**2
        total_var = prior_var + var_a
        log_ratio = 0.5 * (
            a_ls**2 / var_a - (a_ls - prior_mean) ** 2 / total_var + np.log(var_a / total_var)
        )
        log_odds = self._log_prior_odds + float(np.sum(log_ratio[ok]))
        p_beat = 1.0 / (1.0 + math.exp(-min(max(log_odds, -_MAX_LOG_ODDS), _MAX_LOG_ODDS)))
        # Posterior means: the amplitude shrunk towards its prior, the shift term towards 0.
        a_hat = np.where(ok, p_beat * (a_ls * prior_var + prior_mean * var_a) / total_var, 0.0)
        shift_var = (timing_sd * self.sfreq * a_hat) ** 2
        b_hat = np.where(ok, p_beat * b_ls * shift_var / (shift_var + var_b), 0.0)
        estimate = a_hat[:, None] * template + b_hat[:, None] * deriv
        plausible = np.abs(a_ls - prior_mean) <= _MAX_AMPLITUDE_Z * np.sqrt(total_var)
        consistent = p_beat >= 0.5 and bool(np.all(plausible[ok]))
        fitted = a_ls[:, None] * template + b_ls[:, None] * deriv
        return estimate, consistent, sigma2, fitted, ok

    def _learn(
        self, beat: NDArray[np.float64], noise: NDArray[np.float64], consistent: bool
    ) -> None:
        """Add a strong beat to the template (or count a strong misfit)."""
        if self.template_ready and not consistent:
            self._rejected_streak += 1
            if self._rejected_streak >= self.n_beats:
                logger.info(
                    "%d strong beats in a row did not match the ECG template; relearning it",
                    self._rejected_streak,
                )
                self._forget_template()
            return
        self._rejected_streak = 0
        # Inverse-variance weights (Hoke et al. 1984), forgotten by 1/n_beats per beat.
        floor = _MIN_NOISE_FRACTION * np.max(noise) + np.finfo(np.float64).tiny
        weight = 1.0 / np.maximum(noise, floor)
        keep = 1.0 - 1.0 / self.n_beats
        if self._n_stored > 0:
            # Noise spectrum of this beat: its difference from the running mean so far.
            residual = beat - self._sum / self._weight[:, None]
            spectrum = np.fft.rfft(residual * self._taper, n=self._n_fft, axis=-1)
            self._noise_spec = keep**2 * self._noise_spec + (
                weight[:, None] ** 2 * np.abs(spectrum) ** 2
            )
        self._sum = keep * self._sum + weight[:, None] * beat
        self._weight = keep * self._weight + weight
        self._weight_sq = keep**2 * self._weight_sq + weight
        self._n_stored += 1
        self.n_beats_learned += 1
        mean = self._sum / self._weight[:, None]
        template = mean * self._taper
        if self._n_stored > 1:
            # A posteriori Wiener filter of the average (Walter 1969): each frequency is
            # kept in proportion to its share of signal in the template's power.
            spectrum = np.fft.rfft(template, n=self._n_fft, axis=-1)
            power = np.abs(spectrum) ** 2
            noise_power = self._noise_spec / self._weight[:, None] ** 2
            gain = power / np.maximum(power + noise_power, np.finfo(np.float64).tiny)
            filtered = np.fft.irfft(gain * spectrum, n=self._n_fft, axis=-1)
            template = filtered[:, : self._n_len] * self._taper
        deriv = np.gradient(template, axis=-1)
        self._template = template
        self._template_deriv = deriv
        self._template_proj = template - (template @ self._nuisance) @ self._nuisance.T
        self._deriv_proj = deriv - (deriv @ self._nuisance) @ self._nuisance.T
        # RMS frequency of each channel's template, Hz.
        energy = np.maximum(np.sum(template**2, axis=-1), np.finfo(np.float64).tiny)
        self._template_freq = np.sqrt(np.sum(deriv**2, axis=-1) / energy)
        self._template_freq *= self.sfreq / (2.0 * math.pi)
        # A channel's template is used if its energy clearly exceeds that of its noise
        # (per-sample variance of the weighted mean: sum(k^2i w_i) / sum(k^i w_i)^2).
        noise_energy = self._n_len * self._weight_sq / self._weight**2
        self._usable = (self._n_stored >= self.min_beats) & (
            np.sum(mean**2, axis=-1) > _MIN_TEMPLATE_SNR * noise_energy
        )

    def _forget_template(self) -> None:
        self._sum = np.zeros((self.n_channels, self._n_len))
        self._weight = np.zeros(self.n_channels)
        self._weight_sq = np.zeros(self.n_channels)
        self._noise_spec = np.zeros((self.n_channels, self._n_fft // 2 + 1))
        self._n_stored = 0
        self._template = self._template_deriv = None
        self._template_proj = self._deriv_proj = None
        self._usable = np.zeros(self.n_channels, dtype=bool)
        self._template_freq = np.zeros(self.n_channels)
        self._rejected_streak = 0


def _check_number(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r})")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r} instead")
    return out


def _check_count(name: str, value: int, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r} instead")
    return int(value)
