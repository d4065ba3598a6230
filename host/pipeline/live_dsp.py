"""Live signal processing and spasm detection of a stream of frames (the pipeline's dsp stage).

:class:`LiveDsp` takes the frames of a live stream as they arrive and converts counts to
physical units with the device's DEVICE_INFO (EMG in volts, acceleration in g) and runs
the spasm detector on them through :class:`host.analysis.EpisodeAnalyzer` (the engine
``spasmwatch analyze`` runs over files): every finished episode is collected and reported,
and :meth:`LiveDsp.live_state` tells whether a contraction is in progress. The status
reported once per interval (mains frequency, mean cleaned envelope, per-channel signal
quality) comes from the analyzer's own cleaning chain, mains detector and signal quality,
so each sample is cleaned once. Only when the detector cannot run (more than two EMG
channels) does a separate status front end (mains detection, cleaning chain, quality)
process the frames; a sample gap resets it, so missing samples never enter a filter.

Timing of the detector follows the device's sample counter, not the arrival of frames:
a gap of ``n`` missing EMG samples (reported by the decoder, or seen from a frame's
``first_sample``) is fed to the analyzer as ``n`` NaN columns, which it treats as
unusable signal, so every episode keeps its place on the device's time line. Episode
times are seconds of that time line (``first_sample / sfreq``: since the device started
sampling). A gap longer than :data:`MAX_GAP_S` is not filled: the analysis is finished
and a new one starts after the gap (its resting baseline is learnt again), still on the
same time line. A :class:`~host.protocol.StreamRestart` (the device's counters started
again) finishes the analysis too; the next one counts from the device's new start.
Late frames are not fed (their samples were already reported missing).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dsp.calibration import Calibration
from dsp.detector import Episode
from dsp.filters import DEFAULT_H_FREQ, MAX_EDGE_FRACTION
from dsp.mains import MainsDetector
from dsp.preprocess import EmgPreprocessor
from dsp.quality import QualityReport, SignalQuality
from host.analysis import EpisodeAnalyzer
from host.errors import ConfigError
from host.importers.channels import emg_side
from host.protocol import (
    AccelFrame,
    DeviceInfoFrame,
    FrameType,
    SampleGap,
    SamplesFrame,
    StreamRestart,
)
from host.protocol.decoder import unwrap_index

__all__ = [
    "ANALYSIS_BLOCK_S",
    "MAX_ACCEL_BUFFER_S",
    "MAX_GAP_S",
    "MIN_SFREQ",
    "REPLAY_BLOCK_S",
    "LiveDsp",
    "activity_phrase",
    "channel_sides",
    "episode_record",
]

logger = logging.getLogger(__name__)

#: Below this rate the front end is not run (signal quality needs 200 Hz).
MIN_SFREQ = 200.0
#: A gap in the EMG (or accelerometer) longer than this is not filled with NaN: the
#: analysis ends before it and a new one starts after it, s. Ten minutes of NaN cost
#: little, but after that long the wearer's resting level must be learnt again anyway,
#: and a device that claims hours of missing samples is better not believed sample by
#: sample.
MAX_GAP_S = 600.0
#: The EMG is handed to the analyzer in blocks of at least this long, s. Calling it for
#: every 50-sample frame costs about three times as much; the blocks are whole signal
#: quality windows longer than the cleaning chain's latency, so the analyzer always holds
#: cleaned signal beyond the last window it judged.
ANALYSIS_BLOCK_S = 0.5
#: The same for a recording replayed at full speed, where nobody waits for the live
#: state: longer blocks cost less per second of signal, and the episodes are the same
#: (on the 24 h benchmark day, identical at 0.5, 2 and 5 s), s. Blocks of a minute or
#: more are not: see "Block size" in docs/detector.md.
REPLAY_BLOCK_S = 5.0
#: Accelerometer samples are buffered until the next EMG block, but never more than this
#: long (if the EMG stalls, the motion goes ahead of it, which the detector expects), s.
MAX_ACCEL_BUFFER_S = 5.0

#: How an episode's activity reads after its description.
_ACTIVITY_PHRASES = {
    "rest": "at rest",
    "walking": "while walking",
    "movement": "with movement",
    "posture change": "with a posture change",
}


def channel_sides(names: Sequence[str]) -> tuple[str, ...] | None:
    """Return the body side of each EMG channel from its name, for the spasm detector.

    Parameters
    ----------
    names : sequence of str
        EMG channel names from DEVICE_INFO, e.g. ``("EMG L", "EMG R")``.

    Returns
    -------
    tuple of str | None
        ``"left"``/``"right"`` per channel, from the names' side tokens (``L``, ``left``,
        ``R``, ``right``, ...; see :func:`host.importers.channels.emg_side`). A channel
        whose name gives no side takes the side the other one leaves free; with no usable
        names (none, or both the same side) the first channel is left and the second
        right. None when there are not 1 or 2 channels (the detector takes one or two).
    """
    if len(names) not in (1, 2):
        return None
    found = [emg_side(name) for name in names]
    if len(found) == 1:
        return (found[0] or "left",)
    first, second = found
    if first is not None and second is not None and first != second:
        return (first, second)
    if first is not None and second is None:
        return (first, _other(first))
    if second is not None and first is None:
        return (_other(second), second)
    logger.info("EMG channels %s name no distinct sides: assumed left, right", tuple(names))
    return ("left", "right")


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


def _number(value: float, digits: int) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


def episode_record(episode: Episode) -> dict[str, Any]:
    """Return the JSON-ready summary of one detected episode.

    Parameters
    ----------
    episode : Episode
        A detected episode, samples counted on the stream's time line.

    Returns
    -------
    dict
        ``start_s``, ``end_s``, ``duration_s``, ``side``, ``involuntary``, ``kind``,
        ``activity``, ``confidence``, ``peak`` and ``unit`` (the amplitude's unit),
        ``posture_before`` and ``quality_flags``; NaN numbers become None.
    """
    return {
        "start_s": _number(episode.start_s, 3),
        "end_s": _number(episode.end_s, 3),
        "duration_s": _number(episode.duration_s, 3),
        "side": episode.side,
        "involuntary": bool(episode.involuntary),
        "kind": episode.kind,
        "activity": episode.activity,
        "confidence": _number(episode.confidence, 3),
        "peak": _number(episode.peak, 2),
        "unit": episode.unit,
        "posture_before": episode.posture_before,
        "quality_flags": list(episode.quality_flags),
    }


def activity_phrase(activity: str) -> str:
    """Return how an episode's activity reads in a sentence (``"rest"`` -> ``"at rest"``)."""
    return _ACTIVITY_PHRASES.get(activity, activity)


class LiveDsp:
    """The dsp front end and the spasm detector on a live stream of frames.

    Parameters
    ----------
    info : DeviceInfoFrame
        The device's description (rates, channels, counts-to-volts and counts-to-g
        scales). Channel names give the sides (:func:`channel_sides`); the accelerometer
        is used when the device reports one (``accel_sfreq`` and ``accel_g_per_count``
        above 0).
    detect : bool
        Run the spasm detector (False: only the status front end).
    calibration : Calibration | None
        The wearer's calibration (``spasmwatch calibrate``): episode amplitudes in %MVC
        (or %RVC) instead of µV. One made for another number of channels is not used (a
        warning is logged).
    block_s : float
        The EMG is processed in blocks of about this long, s: the live state lags the
        signal by up to a block. :data:`ANALYSIS_BLOCK_S` for a live link,
        :data:`REPLAY_BLOCK_S` for a replay at full speed.

    Attributes
    ----------
    calibration : Calibration | None
        The calibration in use (None: amplitudes in µV).
    sides : tuple of str | None
        Side of each EMG channel; None when the detector does not run.
    analyzer : EpisodeAnalyzer | None
        The current analysis (None before the first EMG frame, after a restart until the
        next one, and when the detector does not run).
    episodes : list of Episode
        Every episode detected so far, samples counted on the stream's time line.
    analyses : int
        Analyses started (1 + the restarts after long gaps and stream restarts).
    """

    def __init__(
        self,
        info: DeviceInfoFrame,
        *,
        detect: bool = True,
        calibration: Calibration | None = None,
        block_s: float = ANALYSIS_BLOCK_S,
    ) -> None:
        if not 0 < block_s <= MAX_ACCEL_BUFFER_S:
            raise ConfigError(f"block_s must be in (0, {MAX_ACCEL_BUFFER_S:g}] s, got {block_s!r}")
        self.info = info
        self.block_s = float(block_s)
        sfreq, n = info.emg_sfreq, info.n_channels
        if calibration is not None and calibration.n_channels != n:
            logger.warning(
                "the calibration is for %d EMG channels and the device has %d: not used "
                "(amplitudes in uV); calibrate again with this device",
                calibration.n_channels,
                n,
            )
            calibration = None
        self.calibration = calibration
        self.sfreq = sfreq
        self.chain = EmgPreprocessor(
            sfreq, n, h_freq=min(DEFAULT_H_FREQ, MAX_EDGE_FRACTION * sfreq / 2)
        )
        self.mains = MainsDetector(sfreq, n)
        self._mains_fed = 0  # samples given to the mains detector since its reset
        self.quality = self._new_quality(mains_freq=None)
        self.mains_freq: float | None = None
        self.resets = 0
        self._env_sum = np.zeros(n)
        self._env_n = 0
        self._last_env: NDArray[np.float64] | None = None  # previous interval's mean, V
        self._last_quality: QualityReport | None = None

        self.sides = channel_sides(info.channel_names) if detect else None
        if detect and self.sides is None:
            logger.warning(
                "spasm detection needs 1 or 2 EMG channels; the device has %d: not run", n
            )
        has_accel = info.accel_sfreq > 0 and info.accel_g_per_count > 0
        self.accel_sfreq: float | None = info.accel_sfreq if has_accel else None
        self.analyzer: EpisodeAnalyzer | None = None
        self.episodes: list[Episode] = []
        self.analyses = 0
        self._unreported: list[Episode] = []
        self._origin = 0  # stream index of the analyzer's sample 0
        self._next: int | None = None  # stream index of the next EMG sample
        self._acc_next: int | None = None  # accelerometer index of the next accel sample
        self._received: int | None = None  # stream index after the last EMG sample
        self._block: list[NDArray[np.float64]] = []
        self._block_n = 0
        self._block_len = 1
        # Accelerometer samples (g) not yet given to the analyzer: handed over in one call
        # just before each EMG block (as ``spasmwatch analyze`` does), not frame by frame.
        self._acc_block: list[NDArray[np.float64]] = []
        self._acc_block_n = 0
        # Accelerometer frames received while no analysis runs (first sample, g).
        self._acc_early: list[tuple[int, NDArray[np.float64]]] = []
        self._max_gap = round(MAX_GAP_S * sfreq)
        # Without the detector, the status front end's EMG, processed a block at a time.
        self._fe_block: list[NDArray[np.float64]] = []
        self._fe_block_n = 0
        self._fe_block_len = max(round(self.block_s * sfreq), 1)

    @classmethod
    def for_device(cls, info: DeviceInfoFrame | None) -> LiveDsp | None:
        """Build one for a device, or return None when it cannot run (no info, low rate)."""
        if info is None or info.emg_sfreq < MIN_SFREQ:
            return None
        return cls(info)

    # ------------------------------------------------------------------ input

    def observe(self, item: Any) -> None:
        """Feed one transport item (frames in order, gaps and restarts)."""
        if isinstance(item, SamplesFrame):
            if item.n_channels != self.info.n_channels:
                return
            volts = np.multiply(item.counts, self.info.volts_per_count, dtype=np.float64)
            if self.sides is not None:
                # The analyzer's own cleaning, mains and quality feed the status too.
                self._analyse_emg(item.first_sample, volts)
            else:
                self._fe_block.append(volts)
                self._fe_block_n += volts.shape[1]
                if self._fe_block_n >= self._fe_block_len:
                    self._flush_front_end()
        elif isinstance(item, AccelFrame):
            if self.accel_sfreq is not None and item.n_channels == 3:
                g = item.counts.astype(np.float64) * self.info.accel_g_per_count
                self._analyse_accel(item.first_sample, g)
        elif isinstance(item, SampleGap):
            if item.frame_type is FrameType.SAMPLES:
                self._reset()
                if self._next is not None:
                    first = unwrap_index(item.first_missing_sample, self._next)
                    self._skip_emg(first + item.n_missing)
            elif item.frame_type is FrameType.ACCEL and self._acc_next is not None:
                first = unwrap_index(item.first_missing_sample, self._acc_next)
                self._skip_accel(first + item.n_missing)
        elif isinstance(item, StreamRestart):
            self._reset()
            if self.analyzer is not None:
                self._end_analysis()
            self._next = None  # the device counts from its new start
            self._acc_early = []

    def finish(self) -> list[dict[str, Any]]:
        """End the analysis (end of the stream) and return the episodes not yet reported.

        The contraction in progress, if any, is closed and judged. Frames observed
        afterwards start a new analysis.

        Returns
        -------
        list of dict
            :func:`episode_record` of every episode not returned by :meth:`tick` yet.
        """
        return [episode_record(e) for e in self.finish_episodes()]

    def finish_episodes(self) -> list[Episode]:
        """End the analysis, like :meth:`finish`, and return the unreported episodes.

        Returns
        -------
        list of Episode
            Every episode not yet taken by :meth:`take_episodes` or :meth:`tick`, the
            contraction in progress at the end included.
        """
        if self.analyzer is not None:
            self._end_analysis()
        self._flush_front_end()
        self._next = None
        return self.take_episodes()

    # ------------------------------------------------------------------ status front end

    def _new_quality(self, mains_freq: float | None) -> SignalQuality:
        """Return a signal-quality monitor for this device (fresh state)."""
        info = self.info
        clip = info.volts_per_count * (1 << (info.adc_bits - 1))  # full scale, volts
        return SignalQuality(
            info.emg_sfreq,
            info.n_channels,
            clip_level_v=clip,
            mains_freq=mains_freq,
            ch_names=info.channel_names,
        )

    def _flush_front_end(self) -> None:
        """Process the front end's buffered EMG (without the detector)."""
        if not self._fe_block:
            return
        parts, self._fe_block, self._fe_block_n = self._fe_block, [], 0
        self._process(parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1))

    def _reset(self) -> None:
        self._flush_front_end()  # the signal before the gap or restart
        self.chain.reset()
        self.mains.reset()
        self._mains_fed = 0
        self.quality.reset()
        self.resets += 1
        # The notch setting survives the reset; the detector decides again.

    def _process(self, volts: NDArray[np.float64]) -> None:
        # Each stage switches to a new mains decision at the sample after the window that
        # made it, whatever the block size.
        fed = self._mains_fed
        self._mains_fed += volts.shape[1]
        pos = 0
        for report in self.mains.process(volts):
            if report.mains_freq is not None and report.mains_freq != self.mains_freq:
                at = min(max(report.end_sample - fed, pos), volts.shape[1])
                self._front_end(volts[:, pos:at])
                pos = at
                self.mains_freq = report.mains_freq
                self.chain.set_mains(report.mains_freq)
                self.quality = self._new_quality(report.mains_freq)
        self._front_end(volts[:, pos:])

    def _front_end(self, volts: NDArray[np.float64]) -> None:
        if not volts.shape[1]:
            return
        out = self.chain.process(volts)
        if out.envelope.shape[1]:
            self._env_sum += out.envelope.sum(axis=1)
            self._env_n += out.envelope.shape[1]
        reports = self.quality.process(volts)
        if reports:
            self._last_quality = reports[-1]

    # ------------------------------------------------------------------ detector

    def _start_analysis(self, origin: int) -> EpisodeAnalyzer:
        assert self.sides is not None
        try:
            info = self.info
            analyzer = EpisodeAnalyzer(
                self.sfreq,
                info.n_channels,
                sides=self.sides,
                accel_sfreq=self.accel_sfreq,
                calibration=self.calibration,
                clip_level_v=info.volts_per_count * (1 << (info.adc_bits - 1)),
                ch_names=info.channel_names,
            )
        except ConfigError as err:
            logger.warning("spasm detection not run: %s", err)
            self.sides = None
            raise
        self.analyzer = analyzer
        self.analyses += 1
        self._origin = self._next = origin
        self._acc_next = None
        early, self._acc_early = self._acc_early, []
        for first_sample, g in early:
            self._analyse_accel(first_sample, g)
        # Whole quality windows, longer than the chain's latency, about ANALYSIS_BLOCK_S.
        window = analyzer.quality.n_window
        need = max(self.block_s * self.sfreq, analyzer.chain.latency_samples + 1)
        self._block_len = window * math.ceil(need / window)
        return analyzer

    def _end_analysis(self) -> None:
        """Flush and finish the current analysis; the next EMG frame starts a new one."""
        analyzer = self.analyzer
        assert analyzer is not None
        self._feed_block()
        self._feed_accel()
        self._collect(analyzer.finish())
        self.analyzer = None
        self._acc_next = None

    def _collect(self, episodes: list[Episode]) -> None:
        for episode in episodes:
            shifted = replace(
                episode,
                start_sample=episode.start_sample + self._origin,
                end_sample=episode.end_sample + self._origin,
            )
            self.episodes.append(shifted)
            self._unreported.append(shifted)

    def _feed_block(self) -> None:
        if self.analyzer is None or not self._block:
            return
        block = self._block[0] if len(self._block) == 1 else np.concatenate(self._block, axis=1)
        self._block, self._block_n = [], 0
        analyzer = self.analyzer
        self._feed_accel()
        self._collect(analyzer.feed_emg(block))
        total, count = analyzer.take_envelope()
        self._env_sum += total
        self._env_n += count
        if analyzer.last_quality is not None:
            self._last_quality = analyzer.last_quality
        self.mains_freq = analyzer.mains_freq

    def _feed_accel(self) -> None:
        """Give the buffered accelerometer samples to the analyzer (one call)."""
        if not self._acc_block:
            return
        parts, self._acc_block, self._acc_block_n = self._acc_block, [], 0
        if self.analyzer is None:
            return
        block = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        self._collect(self.analyzer.feed_accel(block))

    def _buffer_accel(self, g: NDArray[np.float64]) -> None:
        self._acc_block.append(g)
        self._acc_block_n += g.shape[1]
        assert self.accel_sfreq is not None
        if self._acc_block_n >= MAX_ACCEL_BUFFER_S * self.accel_sfreq:
            self._feed_accel()  # the EMG has stalled: motion ahead of it is fine

    def _skip_emg(self, target: int) -> None:
        """Advance the EMG to stream index ``target``: NaN over a gap, a restart if long."""
        if self._next is None or target <= self._next:
            return
        n = target - self._next
        if self.analyzer is None:
            self._next = target
            return
        if n > self._max_gap:
            logger.info(
                "EMG gap of %.0f s (over %.0f s): the analysis starts again after it",
                n / self.sfreq,
                MAX_GAP_S,
            )
            self._end_analysis()
            self._next = target
            return
        # Joined with the block being collected, so the analyzer sees the signal end
        # where it ended, then the gap.
        self._block.append(np.full((self.info.n_channels, n), np.nan))
        self._next = target
        self._feed_block()

    def _analyse_emg(self, first_sample: int, volts: NDArray[np.float64]) -> None:
        start = first_sample if self._next is None else unwrap_index(first_sample, self._next)
        self._skip_emg(start)
        if self._next is not None and start < self._next:
            cut = self._next - start  # already covered (overlap): keep only what is new
            if cut >= volts.shape[1]:
                return
            volts, start = volts[:, cut:], self._next
        if self.analyzer is None:
            try:
                self._start_analysis(start)
            except ConfigError:
                return
        self._block.append(volts)
        self._block_n += volts.shape[1]
        self._next = self._received = start + volts.shape[1]
        if self._block_n >= self._block_len:
            self._feed_block()

    def _skip_accel(self, target: int) -> bool:
        """Advance the accelerometer to ``target`` with NaN; False if the analysis ended.

        A gap longer than :data:`MAX_GAP_S` ends the analysis (the next EMG frame starts
        the next one).
        """
        if self.analyzer is None:
            return False
        if self._acc_next is None or target <= self._acc_next:
            return True
        assert self.accel_sfreq is not None
        n = target - self._acc_next
        if n > MAX_GAP_S * self.accel_sfreq:
            logger.info(
                "accelerometer gap of %.0f s (over %.0f s): the analysis starts again",
                n / self.accel_sfreq,
                MAX_GAP_S,
            )
            self._end_analysis()
            return False
        self._buffer_accel(np.full((3, n), np.nan))
        self._acc_next = target
        return True

    def _analyse_accel(self, first_sample: int, g: NDArray[np.float64]) -> None:
        if self.accel_sfreq is None:
            return
        if self.analyzer is None:
            # The accelerometer joins once the EMG has started an analysis; what comes
            # just before (a replay hands each second's motion before its EMG) waits.
            self._acc_early.append((first_sample, g))
            while sum(b.shape[1] for _, b in self._acc_early) > (
                MAX_ACCEL_BUFFER_S * self.accel_sfreq
            ):
                self._acc_early.pop(0)
            return
        if self._acc_next is None:
            # Accelerometer sample of the analyzer's EMG sample 0 (same device clock).
            self._acc_next = round(self._origin * self.accel_sfreq / self.sfreq)
        start = unwrap_index(first_sample, self._acc_next)
        if not self._skip_accel(start):
            return
        expected = self._acc_next
        if start < expected:
            cut = expected - start  # already covered (overlap): keep only what is new
            if cut >= g.shape[1]:
                return
            g = g[:, cut:]
        self._buffer_accel(g)
        self._acc_next = expected + g.shape[1]

    # ------------------------------------------------------------------ output

    @property
    def stream_time_s(self) -> float | None:
        """End of the EMG analysed so far on the stream's time line, s (None before any)."""
        return None if self._received is None else self._received / self.sfreq

    def live_state(self) -> dict[str, Any] | None:
        """Return what the detector sees now (JSON-ready), or None when it does not run.

        Returns
        -------
        dict | None
            ``contraction`` (a contraction is in progress), ``side`` (``"left"``,
            ``"right"``, ``"bilateral"`` or None), ``onset_s`` (its onset on the stream's
            time line) and ``held_s`` (how long it has lasted), ``suspected_involuntary``
            (it has lasted long enough, with the trunk still, to be probably a spasm; the
            final word comes with the episode) and ``accelerometer`` (motion is used).
        """
        if self.sides is None:
            return None
        state: dict[str, Any] = {
            "contraction": False,
            "side": None,
            "onset_s": None,
            "held_s": None,
            "suspected_involuntary": False,
            "accelerometer": self.accel_sfreq is not None,
        }
        if self.analyzer is None:
            return state
        detector = self.analyzer.detector
        now = detector.state
        if now.onset_sample is None:
            return state
        state.update(
            contraction=True,
            side=self._live_side(now.active, now.baseline_v),
            onset_s=round((self._origin + now.onset_sample) / self.sfreq, 3),
            held_s=round(max(detector.n_samples - now.onset_sample, 0) / self.sfreq, 3),
            suspected_involuntary=bool(now.suspected_involuntary),
        )
        return state

    def _live_side(self, active: NDArray[np.bool_], rest_v: NDArray[np.float64]) -> str | None:
        """Side of the contraction in progress, judged as the detector judges an episode's.

        The weaker channel counts when it is active and its contrast over its own rest
        reaches a third of the stronger one's; the recent cleaned envelope gives the level.
        """
        assert self.sides is not None
        on = [bool(a) for a in active]
        if len(self.sides) == 1 or not all(on):
            chosen = [side for side, a in zip(self.sides, on, strict=True) if a]
            return chosen[0] if chosen else None
        level = self._env_sum / self._env_n if self._env_n else self._last_env
        if level is None or not np.all(rest_v > 0):
            return "bilateral"
        strength = np.clip((level - rest_v) / rest_v, 0.0, None)
        strong = int(np.argmax(strength))
        if strength[1 - strong] >= strength[strong] / 3.0:
            return "bilateral"
        return self.sides[strong]

    def take_episodes(self) -> list[Episode]:
        """Return (and forget) the episodes finished since the last call or tick.

        Returns
        -------
        list of Episode
            In order; samples counted on the stream's time line (see the module notes).
        """
        out, self._unreported = self._unreported, []
        return out

    def _take_unreported(self) -> list[dict[str, Any]]:
        out = [episode_record(e) for e in self._unreported]
        self._unreported = []
        return out

    def tick(self) -> dict[str, Any]:
        """Return and restart the interval's summary (JSON-ready).

        Returns
        -------
        dict
            ``envelope_uv`` (mean cleaned envelope per channel over the interval, µV),
            ``mains_hz``, ``quality`` (per channel ``"ok"`` or the problem), ``dsp_resets``,
            ``episodes`` (:func:`episode_record` of the episodes finished since the last
            tick, in order) and ``detector`` (:meth:`live_state`).
        """
        names = self.info.channel_names
        self._flush_front_end()
        envelope: dict[str, float] = {}
        if self._env_n:
            self._last_env = self._env_sum / self._env_n
            mean = self._last_env * 1e6
            envelope = {k: round(float(v), 2) for k, v in zip(names, mean, strict=True)}
        quality: dict[str, str] = {}
        if self._last_quality is not None:
            q = self._last_quality
            for i, name in enumerate(names):
                quality[name] = "ok" if bool(q.usable[i]) else (q.reasons[i] or "unusable")
        detector = self.live_state()  # before the interval's envelope is cleared
        self._env_sum[:] = 0.0
        self._env_n = 0
        return {
            "envelope_uv": envelope,
            "mains_hz": self.mains_freq,
            "quality": quality,
            "dsp_resets": self.resets,
            "episodes": self._take_unreported(),
            "detector": detector,
        }
