"""The streaming analysis engine: raw volts (with gaps) in, episodes out.

:class:`EpisodeAnalyzer` wires the ``dsp`` stages for one recording or live stream: mains
detection, the cleaning chain (:class:`dsp.preprocess.EmgPreprocessor`), signal quality
(:class:`dsp.quality.SignalQuality`, whose unusable stretches the detector skips) and the
:class:`dsp.detector.SpasmDetector`. NaN samples are gaps: the filters are restarted after
each one and the detector sees the gap as unusable signal, so nothing is joined across it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from dsp.calibration import Calibration
from dsp.detector import Episode, SpasmDetector
from dsp.filters import DEFAULT_H_FREQ
from dsp.mains import MainsDetector
from dsp.preprocess import EmgPreprocessor
from dsp.quality import QualityReport, SignalQuality
from host.errors import ConfigError

__all__ = ["MIN_SFREQ", "EpisodeAnalyzer"]

logger = logging.getLogger(__name__)

#: Lowest EMG rate analysed: the 20-450 Hz band needs at least 200 Hz to keep 20-80 Hz.
MIN_SFREQ = 200.0
#: Mains-detection window, s (the live default).
MAINS_WINDOW_S = 1.0
#: Once the mains frequency is known, it is re-checked on this much of every minute, s.
MAINS_RECHECK_S = 8.0
#: Signal-quality window, s.
QUALITY_WINDOW_S = 1.0
#: After a window with the electrode off, saturated or flat, the channel stays unusable
#: this long: the band-pass filters ring for a while after a step of millivolts, s.
BAD_HOLD_S = 2.0
#: Upper band edge as a fraction of the sampling rate. Acquisition front ends pass up to
#: about 0.4 fs and roll off above (anti-alias filters; decimation filters of sigma-delta
#: converters), and a signal resampled by repeating samples carries an image above
#: fs/4; keeping the band below 0.4 fs keeps both out.
H_FREQ_FRACTION = 0.4


class EpisodeAnalyzer:
    """Run cleaning, signal quality and the spasm detector over a stream of raw EMG.

    Parameters
    ----------
    sfreq : float
        EMG rate, Hz (at least 200).
    n_channels : int
        EMG channels (1 or 2).
    sides : sequence of str
        ``"left"``/``"right"`` per channel.
    accel_sfreq : float | None
        Accelerometer rate, Hz; None for EMG-only.
    calibration : Calibration | None
        Amplitudes in %MVC when given.
    mains_freq : float | None
        50 or 60 to notch from the start; None detects it from the signal.
    ecg_method : str | None
        ECG suppression (``"template"``, ``"highpass"`` or None).
    clip_level_v : float | None
        ADC full scale in volts, for saturation checks (None: judged from the signal).
    ch_names : sequence of str | None
        Channel names used in signal-quality messages.

    Attributes
    ----------
    last_quality : QualityReport | None
        The latest signal-quality window (for a live status line).
    """

    def __init__(
        self,
        sfreq: float,
        n_channels: int,
        *,
        sides: Sequence[str] = ("left", "right"),
        accel_sfreq: float | None = None,
        calibration: Calibration | None = None,
        mains_freq: float | None = None,
        ecg_method: str | None = "template",
        clip_level_v: float | None = None,
        ch_names: Sequence[str] | None = None,
    ) -> None:
        if not sfreq >= MIN_SFREQ:
            raise ConfigError(
                f"EMG sampled at {sfreq:g} Hz cannot be analysed: at least {MIN_SFREQ:g} Hz "
                "is needed for the 20 Hz-and-up EMG band"
            )
        self.sfreq = float(sfreq)
        self.n_channels = n_channels
        h_freq = min(DEFAULT_H_FREQ, H_FREQ_FRACTION * self.sfreq)
        self.chain = EmgPreprocessor(
            self.sfreq, n_channels, h_freq=h_freq, mains_freq=mains_freq, ecg_method=ecg_method
        )
        # Windows longer than the live defaults: the detector needs mains and electrode
        # state to the second, not to the quarter second, and the cost is per window.
        self.mains = (
            MainsDetector(self.sfreq, n_channels, window_s=MAINS_WINDOW_S)
            if mains_freq is None
            else None
        )
        self.mains_freq = mains_freq
        self._mains_fed = 0  # samples given to the mains detector since its reset
        self.quality = SignalQuality(
            self.sfreq,
            n_channels,
            window_s=QUALITY_WINDOW_S,
            clip_level_v=clip_level_v,
            ch_names=None if ch_names is None else tuple(ch_names),
        )
        self.last_quality: QualityReport | None = None
        self._env_sum = np.zeros(n_channels)
        self._env_n = 0
        try:
            self.detector = SpasmDetector(
                self.sfreq,
                n_channels,
                sides=sides,
                accel_sfreq=accel_sfreq,
                calibration=calibration,
                rms_window_s=self.chain.rms.window_s,
            )
        except ValueError as err:
            raise ConfigError(str(err)) from err
        self.n_gaps = 0
        self._n_in = 0  # input samples seen
        self._seg_start: int | None = None  # absolute start of the current gap-free stretch
        self._det_cursor = 0  # next absolute sample the detector expects
        self._pending: list[tuple[int, NDArray[np.float64], NDArray[np.float64]]] = []
        self._artefact_spans: list[tuple[int, int, NDArray[np.bool_]]] = []
        self._usable_spans: list[tuple[int, int, NDArray[np.bool_]]] = []
        self._quality_end = 0  # absolute sample up to which quality is known
        self._bad_until = np.zeros(n_channels, dtype=np.int64)

    # ------------------------------------------------------------------ input

    def feed_emg(self, volts: NDArray[np.float64]) -> list[Episode]:
        """Feed raw EMG in volts, shape (n_channels, n); NaN columns are gaps."""
        x = np.asarray(volts, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != self.n_channels:
            raise ConfigError(
                f"EMG block must have shape ({self.n_channels}, n_times), got {x.shape}"
            )
        out: list[Episode] = []
        bad = np.asarray(~np.isfinite(x).all(axis=0), dtype=bool)
        pos = 0
        n = x.shape[1]
        while pos < n:
            if bad[pos]:
                nxt = np.flatnonzero(~bad[pos:])
                stop = n if nxt.size == 0 else pos + int(nxt[0])
                out.extend(self._end_segment())
                pos = stop
                continue
            nxt = np.flatnonzero(bad[pos:])
            stop = n if nxt.size == 0 else pos + int(nxt[0])
            out.extend(self._run(x[:, pos:stop], self._n_in + pos))
            pos = stop
        self._n_in += n
        return out

    def feed_accel(self, accel_g: NDArray[np.float64]) -> list[Episode]:
        """Feed accelerometer samples in g, shape (3, m); NaN marks gaps."""
        if self.detector.motion is None:
            return []
        return self.detector.process_accel(np.asarray(accel_g, dtype=np.float64))

    def take_envelope(self) -> tuple[NDArray[np.float64], int]:
        """Sum (V) and count of the envelope samples analysed since the last call."""
        out = (self._env_sum.copy(), self._env_n)
        self._env_sum[:] = 0.0
        self._env_n = 0
        return out

    def finish(self) -> list[Episode]:
        """End of the recording: flush every stage and return the last episodes."""
        out = self._end_segment()
        out.extend(self._feed_until(self._n_in, fill=True))
        out.extend(self.detector.flush())
        return out

    # ------------------------------------------------------------------ internals

    def _run(self, raw: NDArray[np.float64], first: int) -> list[Episode]:
        if self._seg_start is None:
            if first > 0 and self._det_cursor > 0:
                self.n_gaps += 1  # signal before and after: a gap
            self._seg_start = first
            self.chain.reset()
            self.quality.reset()
            if self.mains is not None:
                self.mains.reset()
                self._mains_fed = 0
        seg = self._seg_start
        # The notch follows the mains decision from the sample after the window that made
        # it (not from the next block), so the block size does not matter.
        changes: list[tuple[int, float]] = []
        for lo, hi in self._mains_spans(first, raw.shape[1]):
            assert self.mains is not None
            fed = self._mains_fed
            for report in self.mains.process(raw[:, lo:hi]):
                if report.mains_freq is not None and report.mains_freq != self.mains_freq:
                    self.mains_freq = report.mains_freq
                    changes.append((lo + report.end_sample - fed, report.mains_freq))
                    logger.info("mains at %g Hz: notch on", report.mains_freq)
            self._mains_fed += hi - lo
        out = self.chain.process(raw[:, : changes[0][0]] if changes else raw)
        first_out = seg + out.first_sample
        cleaned, envelope = out.cleaned, out.envelope
        if changes:
            pieces_c, pieces_e = [cleaned], [envelope]
            bounds = [at for at, _ in changes[1:]] + [raw.shape[1]]
            for (at, freq), stop in zip(changes, bounds, strict=True):
                self.chain.set_mains(freq)
                more = self.chain.process(raw[:, at:stop])
                pieces_c.append(more.cleaned)
                pieces_e.append(more.envelope)
            cleaned = np.concatenate(pieces_c, axis=1)
            envelope = np.concatenate(pieces_e, axis=1)
        if first_out < seg:  # the chain's pre-roll after a restart: not signal
            cut = min(seg - first_out, cleaned.shape[1])
            cleaned, envelope, first_out = cleaned[:, cut:], envelope[:, cut:], first_out + cut
        if cleaned.shape[1]:
            self._pending.append((first_out, cleaned, envelope))
        for rep in self.quality.process(raw):
            self.last_quality = rep
            # Only signal that cannot be EMG is skipped. Motion-artefact and step flags are
            # not: they fire on the low-frequency content of strong real contractions (the
            # 20 Hz high-pass removes it from the envelope), and movement is judged by
            # the detector's rules.
            bad = rep.electrode_off | rep.saturated | rep.flat_line
            self._bad_until[bad] = seg + rep.stop + round(BAD_HOLD_S * self.sfreq)
            ok = ~bad & (self._bad_until <= seg + rep.start)
            self._usable_spans.append((seg + rep.start, seg + rep.stop, ok))
            art = ~rep.usable & ok
            if art.any():
                self._artefact_spans.append((seg + rep.start, seg + rep.stop, art))
            self._quality_end = seg + rep.stop
        return self._feed_until(self._quality_end, fill=False)

    def _mains_spans(self, first: int, n: int) -> list[tuple[int, int]]:
        """Stretches (relative to this block) that go to the mains detector.

        The first two minutes do; afterwards (the grid does not change within a
        recording, and a hum not found by then is small) only the first
        ``MAINS_RECHECK_S`` of every minute, so that a change or a late hum is still seen,
        at an eighth of the cost. Chosen by absolute sample index, so the block size does
        not matter.
        """
        if self.mains is None:
            return []
        head = round(120.0 * self.sfreq)
        minute = round(60.0 * self.sfreq)
        check = round(MAINS_RECHECK_S * self.sfreq)
        spans = []
        a = first
        stop = first + n
        while a < stop:
            if a < head:
                b = min(head, stop)
                spans.append((a - first, b - first))
                a = b
                continue
            m0 = (a // minute) * minute
            if a < m0 + check:
                b = min(m0 + check, stop)
                spans.append((a - first, b - first))
                a = b
            else:
                a = m0 + minute
        return spans

    def _end_segment(self) -> list[Episode]:
        """Close the gap-free stretch: release what the chain produced, restart at the next."""
        if self._seg_start is None:
            return []
        self._seg_start = None
        self._quality_end = max(self._quality_end, self._n_in)
        return self._feed_until(self._n_in, fill=True)

    def _feed_until(self, limit: int, *, fill: bool) -> list[Episode]:
        """Give the detector every buffered output sample before ``limit``.

        With ``fill`` (at a gap or the end, where ``limit`` is the input's end), samples the
        chain will never produce (its delayed tail, the gap itself) go to the detector as
        unusable, so its sample count stays on the input's time line.
        """
        out: list[Episode] = []
        keep: list[tuple[int, NDArray[np.float64], NDArray[np.float64]]] = []
        for first, clean, env in self._pending:
            n = clean.shape[1]
            stop = min(first + n, limit)
            if stop <= first:
                keep.append((first, clean, env))
                continue
            if stop < first + n:
                cut = stop - first
                keep.append((stop, clean[:, cut:], env[:, cut:]))
                clean, env = clean[:, :cut], env[:, :cut]
            out.extend(self._to_detector(first, clean, env))
        self._pending = keep
        if fill and not keep and limit > self._det_cursor:
            out.extend(self._fill(limit))
        return out

    def _fill(self, stop: int) -> list[Episode]:
        n = stop - self._det_cursor
        if n <= 0:
            return []
        zeros = np.zeros((self.n_channels, n))
        self._det_cursor = stop
        return self.detector.process(zeros, zeros, np.zeros((self.n_channels, n), dtype=bool))

    def _to_detector(
        self, first: int, clean: NDArray[np.float64], env: NDArray[np.float64]
    ) -> list[Episode]:
        out: list[Episode] = []
        if first < self._det_cursor:
            cut = self._det_cursor - first
            if cut >= clean.shape[1]:
                return out
            clean, env, first = clean[:, cut:], env[:, cut:], self._det_cursor
        if first > self._det_cursor:
            out.extend(self._fill(first))
        usable = self._mask(self._usable_spans, first, clean.shape[1], fill=True)
        artefact = self._mask(self._artefact_spans, first, clean.shape[1], fill=False)
        out.extend(self.detector.process(env, clean, usable, artefact))
        self._env_sum += env.sum(axis=1)
        self._env_n += env.shape[1]
        self._det_cursor = first + clean.shape[1]
        return out

    def _mask(
        self,
        spans: list[tuple[int, int, NDArray[np.bool_]]],
        first: int,
        n: int,
        *,
        fill: bool,
    ) -> NDArray[np.bool_]:
        """Per-sample mask over ``first .. first + n`` from per-window flags (spans pruned)."""
        mask = np.full((self.n_channels, n), fill, dtype=bool)
        stop = first + n
        keep = []
        for a, b, flags in spans:
            if b <= first:
                continue
            keep.append((a, b, flags))
            if a >= stop:
                continue
            lo, hi = max(a, first) - first, min(b, stop) - first
            mask[flags != fill, lo:hi] = not fill
        spans[:] = keep
        return mask
