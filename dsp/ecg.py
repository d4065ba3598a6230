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
#: Smallest positive float64 (floors of divisors).
_TINY: Final = float(np.finfo(np.float64).tiny)
#: Clip of the log-likelihood ratio of "beat" versus "no beat" (avoids overflow).
_MAX_LOG_ODDS: Final = 50.0
#: Rows (beats times channels) of the segments prepared together: bounds the memory and
#: keeps each matrix product small (one thread, and the same result for a row whatever
#: the other rows, so that the output does not depend on the block size).
_BATCH_ROWS: Final = 24

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

    *Computation.* The work is per beat on windows of a few hundred samples, so it is
    arranged to take few array operations: what does not depend on the template (the
    windows of all the beats of a block, their nuisance-free parts, edge lines, powers and
    spectra) is computed together; the 2x2 fits are done on scalars, the residual sum of
    squares from the normal equations; the weighted average is a running mean moved by
    each beat's share of the total weight, its noise spectrum divided by the squared
    total weight; the zero-padded DFT of the tapered window and its inverse are matrix
    products on the window's even and odd halves (the window has a prime number of
    samples at 1 kHz, where an FFT is slow). All of it is the computation described above,
    reorganised: results equal the direct one up to floating-point rounding (on an hour
    of simulated recording at 1 kHz the outputs differ by at most 6e-20 V, for signals up
    to 8e-4 V).

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
        self._nuisance_t = np.ascontiguousarray(q.T)  # (2, n_len)
        # A beat is stored as the spectrum of its tapered window (``n_spec`` values: the
        # real parts of its n_fft-point DFT, then the imaginary parts, the phase taken
        # from the window's centre), then the window itself, both without their nuisance
        # part; ``nuisance_rows`` turns nuisance coefficients into the same two
        # representations (the transforms are linear).
        self._n_freq = self._n_fft // 2 + 1
        self._n_spec = 2 * self._n_freq
        self._dft = _CentredDft(self._n_fft, self._taper)
        self._nuisance_rows = self._stored(self._nuisance_t)  # (2, n_spec + n_len)
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
        self._y = np.zeros((self.n_channels, 0))  # the same, with the ECG subtracted
        self._pending: deque[tuple[int, float]] = deque()
        self._forget_template()
        self.n_beats_detected = 0
        self.n_beats_subtracted = 0
        self.n_beats_learned = 0

    def _forget_template(self) -> None:
        n_ch, n_freq, n_spec = self.n_channels, self._n_freq, self._n_spec
        # Running, inverse-variance weighted mean of the stored beats (the spectrum of their
        # tapered windows, then the windows), forgetting 1/n_beats per beat, and the
        # weighted mean square of the beats' spectral differences from the mean before
        # them, divided by the squared total weight: the noise spectrum of the mean (real
        # and imaginary parts apart; their sum is the noise power). Updated in place.
        self._mean = np.zeros((n_ch, n_spec + self._n_len))
        self._mean_spec = self._mean[:, :n_spec]
        self._mean_real = self._mean[:, :n_freq]
        self._mean_imag = self._mean[:, n_freq:n_spec]
        self._mean_wave = self._mean[:, n_spec:]
        self._noise_spec = np.zeros((n_ch, n_spec))
        self._noise_real = self._noise_spec[:, :n_freq]
        self._noise_imag = self._noise_spec[:, n_freq:]
        self._weight = [0.0] * n_ch  # sum of the forgotten weights
        self._weight_sq = [0.0] * n_ch  # the same with the weights forgotten twice as fast
        self._n_stored = 0  # beats learned since the template was (re)started
        self._template = None
        # Rows: the template of each channel, their derivatives, the nuisance basis; and
        # per channel (as lists: the fit works on scalars) the nuisance coefficients of
        # the template and of its derivative, their Gram matrix without their nuisance
        # parts, the RMS frequency of the template (Hz) and whether it is used.
        self._basis = np.zeros((2 * n_ch + 2, self._n_len))
        self._basis[2 * n_ch :] = self._nuisance_t
        self._regressors = self._basis[: 2 * n_ch]
        self._templates = self._basis[:n_ch]
        self._derivs = self._basis[n_ch : 2 * n_ch]
        self._basis_coef: list[list[list[float]]] = []
        self._gram: list[list[list[float]]] = []
        self._freq: list[float] = [0.0] * n_ch
        self._usable: list[bool] = [False] * n_ch
        self._rejected_streak = 0

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
        return np.array(self._usable, dtype=bool)

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
        self._y = np.concatenate((self._y, x), axis=1)
        self._n_seen += n
        self.n_beats_detected += peaks.samples.size
        self._pending.extend(zip(peaks.samples.tolist(), peaks.snr.tolist(), strict=True))
        self._handle_ready()

        start = self._n_seen - n - self.latency_samples  # absolute index of out[:, 0]
        stop = self._n_seen - self.latency_samples
        if start >= 0:
            # Every beat that touches these samples has been subtracted already, and
            # nothing writes to them any more.
            out = self._y[:, start - self._x0 : stop - self._x0]
        else:
            out = np.zeros((self.n_channels, n))
            if stop > 0:
                out[:, -start:] = self._y[:, -self._x0 : stop - self._x0]
        # Keep what the next output and the beats still to come can touch.
        drop = max(stop, 0) - self._x0
        if drop > 0:
            self._x = self._x[:, drop:]
            self._y = self._y[:, drop:]
            self._x0 += drop
        return out

    # ------------------------------------------------------------------ beats

    def _handle_ready(self) -> None:
        """Handle, in time order, every pending beat whose window has fully arrived.

        What does not depend on the template (the segments, their nuisance-free parts and
        spectra, edge lines and powers) is computed for all of them at once; the fits and
        the learning, which do, follow beat by beat. Each beat's numbers are computed on
        its own rows, whatever the other beats in the batch, so the result does not
        depend on the block size.
        """
        last = self._n_seen - 1
        ready: list[tuple[int, float]] = []
        while self._pending and self._pending[0][0] + self._n_post <= last:
            r_peak, snr = self._pending.popleft()
            if r_peak + self._n_pre < self._x0:
                logger.debug("beat at sample %d is outside the kept signal; skipped", r_peak)
                continue
            ready.append((r_peak, snr))
        if not ready:
            return
        per_batch = max(1, _BATCH_ROWS // self.n_channels)
        for chunk in range(0, len(ready), per_batch):
            self._handle_batch(ready[chunk : chunk + per_batch])

    def _handle_batch(self, ready: list[tuple[int, float]]) -> None:
        n_b, n_ch, n_len = len(ready), self.n_channels, self._n_len
        starts = [r_peak + self._n_pre - self._x0 for r_peak, _ in ready]
        index = np.array(starts)[:, None] + np.arange(n_len)
        # One row per beat and channel.
        segments = np.ascontiguousarray(self._x[:, index].transpose(1, 0, 2)).reshape(-1, n_len)
        # (einsum, not a matrix product: its rows do not depend on the number of rows)
        seg_proj = segments - np.einsum("rt,tk->rk", segments, self._nuisance) @ self._nuisance_t
        proj_energy = np.einsum("rt,rt->r", seg_proj, seg_proj).reshape(n_b, n_ch).tolist()
        # Offset and drift by default: the straight line through the window's two ends (the
        # tapers, where the template is about 0). The beat less that line is seg_proj plus
        # a nuisance part (the line is in the nuisance subspace); its power is the beat's
        # noise when there is no usable template.
        m = self._n_edge
        left = segments[:, :m].sum(axis=-1) / m
        right = segments[:, -m:].sum(axis=-1) / m
        centred = segments - (left[:, None] + (right - left)[:, None] * self._edge_ramp)
        edge_noise = (np.einsum("rt,rt->r", centred, centred) / n_len).reshape(n_b, n_ch)
        edge_coef = np.einsum("rt,tk->rk", centred, self._nuisance).reshape(n_b, n_ch, 2).tolist()
        learn = [snr >= self.learn_snr for _, snr in ready]
        stored = self._stored(seg_proj).reshape(n_b, n_ch, -1) if any(learn) else None
        seg_proj = seg_proj.reshape(n_b, n_ch, n_len)
        for i, (_, snr) in enumerate(ready):
            coef = edge_coef[i]
            noise = edge_noise[i].tolist()
            consistent = True
            if self._n_stored >= self.min_beats and any(self._usable):
                # Offset and drift are fitted jointly with the template: projecting them
                # out of the segment and of the regressors gives the same amplitudes
                # (Frisch-Waugh-Lovell); only the template part is subtracted.
                consistent = self._fit(seg_proj[i], proj_energy[i], snr, starts[i], coef, noise)
            if stored is not None and learn[i]:
                self._learn(stored[i], coef, noise, consistent)

    def _stored(self, waves: NDArray[np.float64]) -> NDArray[np.float64]:
        """Spectra of the tapered windows (rows), then the windows: (rows, n_spec + n_len)."""
        return np.concatenate((self._dft.forward(waves), waves), axis=-1)

    def _fit(
        self,
        seg_proj: NDArray[np.float64],
        energy: list[float],
        snr: float,
        lo: int,
        coef: list[list[float]],
        noise: list[float],
    ) -> bool:
        """Fit the template to one beat and subtract its posterior estimate.

        Parameters
        ----------
        seg_proj : ndarray, shape (n_channels, n_len)
            The beat's segment with the nuisance subspace removed.
        energy : list of float
            Sum of squares of ``seg_proj`` per channel.
        snr : float
            The detection strength, which sets the expected timing error.
        lo : int
            Index of the segment's first sample in the kept history.
        coef, noise : list
            Per channel, the nuisance coefficients and the noise variance of the beat
            less its edge line. Replaced, on the fitted channels, by the nuisance
            coefficients of the least-squares template part (the beat less its fitted
            straight line is learned) and by the variance of the fit residual.

        Returns
        -------
        bool
            Whether the beat looks like the template (probably a real beat, amplitude
            within 3 standard deviations of the expected one), i.e. may be learned from.
        """
        n_ch, n_len = self.n_channels, self._n_len
        # Right-hand sides of the per-channel 2x2 normal equations for [T, T'] (all
        # channel pairs; the segment has no nuisance part, so [T, T'] need not have theirs
        # removed here).
        rhs = (self._regressors @ seg_proj.T).tolist()
        # Expected timing error of the R peak (s) and the amplitude it leaves on average:
        # the template's correlation with itself shifted by a Gaussian error.
        timing_sd = self._timing_sd_snr / math.sqrt(max(snr, 1.0))
        prior_var = self.amplitude_sd**2
        # Posterior probability of a real beat (a ~ N(prior_mean, sd^2)) against a false
        # detection (a = 0), from every fitted channel.
        log_ratio = 0.0
        plausible = True
        fits: list[tuple[int, float, float, float, float, float, float, float]] = []
        for c, usable in enumerate(self._usable):
            if not usable:
                continue
            (g_tt, g_td), (_, g_dd) = self._gram[c]
            det = g_tt * g_dd - g_td * g_td
            if not det > _MIN_CONDITION * g_tt * g_dd:
                continue
            r_t, r_d = rhs[c][c], rhs[n_ch + c][c]
            a_ls = (g_dd * r_t - g_td * r_d) / det
            b_ls = (g_tt * r_d - g_td * r_t) / det
            # Residual sum of squares of the least-squares fit: |y|^2 - beta . X'y.
            residual = max(energy[c] - (a_ls * r_t + b_ls * r_d), 0.0)
            floor = _MIN_CONDITION * (energy[c] / n_len) + _TINY
            sigma2 = max(residual / max(n_len - 4, 1), floor)
            var_a = sigma2 * g_dd / det
            var_b = sigma2 * g_tt / det
            x = 2.0 * math.pi * self._freq[c] * timing_sd
            prior_mean = math.exp(-0.5 * (x * x))
            total_var = prior_var + var_a
            log_ratio += 0.5 * (
                a_ls * a_ls / var_a
                - (a_ls - prior_mean) ** 2 / total_var
                + math.log(var_a / total_var)
            )
            plausible &= abs(a_ls - prior_mean) <= _MAX_AMPLITUDE_Z * math.sqrt(total_var)
            fits.append((c, a_ls, b_ls, sigma2, var_a, var_b, prior_mean, total_var))
        log_odds = self._log_prior_odds + log_ratio
        p_beat = 1.0 / (1.0 + math.exp(-min(max(log_odds, -_MAX_LOG_ODDS), _MAX_LOG_ODDS)))
        # Posterior means: the amplitude shrunk towards its prior, the shift term towards 0;
        # the waveform subtracted from channel c is row c of shrunk @ [T; T'].
        shrunk = [[0.0] * (2 * n_ch) for _ in range(n_ch)]
        for c, a_ls, b_ls, sigma2, var_a, var_b, prior_mean, total_var in fits:
            a_hat = p_beat * (a_ls * prior_var + prior_mean * var_a) / total_var
            shift_var = (timing_sd * self.sfreq * a_hat) ** 2
            shrunk[c][c] = a_hat
            shrunk[c][n_ch + c] = p_beat * b_ls * shift_var / (shift_var + var_b)
            (t_0, t_1), (d_0, d_1) = self._basis_coef[c]
            coef[c] = [a_ls * t_0 + b_ls * d_0, a_ls * t_1 + b_ls * d_1]
            noise[c] = sigma2
        self._y[:, lo : lo + n_len] -= np.array(shrunk) @ self._regressors
        self.n_beats_subtracted += 1
        return p_beat >= 0.5 and plausible

    def _learn(
        self,
        stored: NDArray[np.float64],
        coef: list[list[float]],
        noise: list[float],
        consistent: bool,
    ) -> None:
        """Add a strong beat to the template (or count a strong misfit).

        ``stored`` is the beat's nuisance-free part (spectrum of the tapered window, then
        the window) and ``coef`` its nuisance coefficients per channel.
        """
        if self._n_stored >= self.min_beats and not consistent:
            self._rejected_streak += 1
            if self._rejected_streak >= self.n_beats:
                logger.info(
                    "%d strong beats in a row did not match the ECG template; relearning it",
                    self._rejected_streak,
                )
                self._forget_template()
            return
        self._rejected_streak = 0
        n_freq = self._n_freq
        # Inverse-variance weights (Hoke et al. 1984), forgotten by 1/n_beats per beat.
        floor = _MIN_NOISE_FRACTION * max(noise) + _TINY
        weight = [1.0 / max(value, floor) for value in noise]
        keep = 1.0 - 1.0 / self.n_beats
        total = [keep * w + v for w, v in zip(self._weight, weight, strict=True)]
        self._weight_sq = [keep**2 * w + v for w, v in zip(self._weight_sq, weight, strict=True)]
        self._weight = total
        beat = np.array(coef) @ self._nuisance_rows
        beat += stored
        if self._n_stored == 0:
            self._mean[...] = beat
        else:
            # The new mean is the old one moved by the beat's share of the total weight
            # towards the beat; the noise spectrum of this beat is its difference from
            # the mean so far.
            shares = [v / w for w, v in zip(total, weight, strict=True)]
            factors = np.array([[f, (1.0 - f) ** 2] for f in shares])
            beat -= self._mean
            beat *= factors[:, :1]
            step = beat[:, : self._n_spec]
            self._noise_spec *= factors[:, 1:]
            self._noise_spec += step * step
            self._mean += beat
        self._n_stored += 1
        self.n_beats_learned += 1
        if self._n_stored > 1:
            # A posteriori Wiener filter of the average (Walter 1969): each frequency is
            # kept in proportion to its share of signal in the template's power.
            square = self._mean_spec * self._mean_spec
            power = square[:, :n_freq] + square[:, n_freq:]
            noise_power = self._noise_real + self._noise_imag
            noise_power += power
            np.maximum(noise_power, _TINY, out=noise_power)
            power /= noise_power  # the gain
            self._dft.inverse(self._mean_real * power, self._mean_imag * power, out=self._templates)
        else:
            np.multiply(self._mean_wave, self._taper, out=self._templates)
        # A channel's template is used if its energy clearly exceeds that of its noise
        # (per-sample variance of the weighted mean: sum(k^2i w_i) / sum(k^i w_i)^2).
        n_len = self._n_len
        ready = self._n_stored >= self.min_beats
        self._usable = [
            ready and energy > _MIN_TEMPLATE_SNR * (n_len * w_sq / (w * w))
            for energy, w, w_sq in zip(
                np.einsum("ct,ct->c", self._mean_wave, self._mean_wave).tolist(),
                self._weight,
                self._weight_sq,
                strict=True,
            )
        ]
        self._set_template()

    def _set_template(self) -> None:
        """Complete the templates just written to their rows of the basis for the fit."""
        n_ch = self.n_channels
        template, deriv = self._templates, self._derivs
        # np.gradient: central differences, one-sided at the ends.
        np.subtract(template[:, 2:], template[:, :-2], out=deriv[:, 1:-1])
        deriv[:, 1:-1] *= 0.5
        np.subtract(template[:, 1], template[:, 0], out=deriv[:, 0])
        np.subtract(template[:, -1], template[:, -2], out=deriv[:, -1])
        self._template = template
        # Products of every row of the basis with [T; T'] (all channel pairs): the Gram
        # matrix of [T, T'] less their nuisance parts is B B' - C C' (the nuisance basis
        # is orthonormal), C holding their nuisance coefficients.
        prods = (self._basis @ self._regressors.T).tolist()
        scale = self.sfreq / (2.0 * math.pi)
        self._basis_coef = []
        self._gram = []
        self._freq = []
        for c in range(n_ch):
            d = n_ch + c
            tt, td, dd = prods[c][c], prods[c][d], prods[d][d]
            (t_0, d_0), (t_1, d_1) = (
                (prods[2 * n_ch][c], prods[2 * n_ch][d]),
                (prods[2 * n_ch + 1][c], prods[2 * n_ch + 1][d]),
            )
            self._basis_coef.append([[t_0, t_1], [d_0, d_1]])
            g_td = td - (t_0 * d_0 + t_1 * d_1)
            self._gram.append(
                [[tt - (t_0 * t_0 + t_1 * t_1), g_td], [g_td, dd - (d_0 * d_0 + d_1 * d_1)]]
            )
            self._freq.append(math.sqrt(dd / max(tt, _TINY)) * scale)


class _CentredDft:
    """Tapered, zero-padded real DFT of a window and its tapered inverse, as matrix products.

    ``forward(x)`` is ``rfft(x * taper, n_fft)`` with the phase taken from the window's
    centre ``c = (n_len - 1) / 2`` (each frequency ``k`` turned by ``exp(2 pi i k c /
    n_fft)``), as its real parts then its imaginary parts; ``inverse(re, im)`` takes such
    a spectrum back to the first ``n_len`` samples of ``irfft``, times the taper. Products
    of magnitudes and of one spectrum with the conjugate of another (all the Wiener filter
    uses) do not see the turn.

    The taper is symmetric, so the real parts come from the even part of the window and
    the imaginary parts from its odd part, each half the length: two matrix products a
    quarter of the size of the full one. At these sizes (a prime number of window
    samples) that is several times faster than an FFT.
    """

    def __init__(self, n_fft: int, taper: NDArray[np.float64]) -> None:
        n_len = taper.size
        self.n_len = n_len
        self.n_half = n_len // 2  # pairs (t, n_len - 1 - t); the centre sample if odd
        self.n_even = n_len - self.n_half  # half plus the centre sample if odd
        k = np.arange(n_fft // 2 + 1)
        t = np.arange(self.n_even)
        # 2 (t - c) k, in integers, reduced mod 2 n_fft: the angle is pi times it / n_fft.
        steps = ((2 * t - (n_len - 1))[:, None] * k[None, :]) % (2 * n_fft)
        angle = math.pi * steps / n_fft
        cos, sin = np.cos(angle), np.sin(angle)  # (n_even, n_freq)
        half_taper = taper[: self.n_even, None]
        self.cos = cos * half_taper
        if self.n_even > self.n_half:
            self.cos[-1] *= 0.5  # the centre sample is counted twice by the fold
        self.sin = -sin[: self.n_half] * half_taper[: self.n_half]
        scale = np.full(k.size, 2.0 / n_fft)
        scale[0] = 1.0 / n_fft
        if n_fft % 2 == 0:
            scale[-1] = 1.0 / n_fft
        self.inv_cos = np.ascontiguousarray((cos * scale * half_taper).T)
        self.inv_sin = np.ascontiguousarray(
            (-sin[: self.n_half] * scale * half_taper[: self.n_half]).T
        )

    def forward(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Spectrum of ``x`` (..., n_len) as (..., 2 n_freq): real parts, imaginary parts."""
        shape = x.shape[:-1]
        flipped = x[..., ::-1]
        even = (x[..., : self.n_even] + flipped[..., : self.n_even]).reshape(-1, self.n_even)
        odd = (x[..., : self.n_half] - flipped[..., : self.n_half]).reshape(-1, self.n_half)
        spectrum = np.concatenate((even @ self.cos, odd @ self.sin), axis=-1)
        return spectrum.reshape(*shape, spectrum.shape[-1])

    def inverse(
        self, real: NDArray[np.float64], imag: NDArray[np.float64], out: NDArray[np.float64]
    ) -> None:
        """Write the tapered window of the spectrum ``real + i imag`` (rows) into ``out``."""
        even = real @ self.inv_cos  # (rows, n_even)
        odd = imag @ self.inv_sin  # (rows, n_half)
        half = self.n_half
        np.add(even[:, :half], odd, out=out[:, :half])
        np.subtract(even[:, :half], odd, out=out[:, : self.n_len - 1 - half : -1])
        if self.n_even > half:
            out[:, half] = even[:, half]


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
