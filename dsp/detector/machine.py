"""The spasm detector: a causal state machine from cleaned EMG (and trunk motion) to episodes.

:class:`SpasmDetector` joins the per-channel :class:`~dsp.activation.ActivationDetector`,
the accelerometer's :class:`~dsp.motion.MotionTracker`, the evidence of
:mod:`dsp.detector.features` and the rules of :mod:`dsp.detector.rules`. It reads no clock
and does no IO: samples are counted from the first one it is given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from dsp._validation import (
    check_block,
    check_mask,
    check_n_channels,
    check_positive,
    check_sfreq,
)
from dsp.activation import Activation, ActivationDetector
from dsp.calibration import Calibration, Normaliser
from dsp.detector.episode import EPISODE_SIDES, Episode
from dsp.detector.features import (
    FINE_BIN_S,
    EmgEvidence,
    MotionEvidence,
    emg_evidence,
    fine_envelope,
    median_frequency,
)
from dsp.detector.history import History
from dsp.detector.rules import Decision, RuleParams, classify
from dsp.motion import ACTIVITIES, POSTURES, MotionFrames, MotionTracker, angle_between_deg

__all__ = ["DetectorState", "SpasmDetector"]

#: Envelope and motion kept for feature extraction, s (the longest episode measured whole).
_HISTORY_S = 900.0
#: Cleaned EMG kept for the median frequency, s.
_CLEANED_S = 180.0
#: Motion context before an onset, s (posture, activity and orientation "just before").
_BEFORE_S = 3.0
#: Trunk rotation faster than this is voluntary movement, deg/s. Bending, lifting,
#: sit-to-stand and turning in bed all rotate the trunk by tens of degrees within 1-3 s.
_TILT_RATE_MOVING = 10.0
#: Body acceleration above this (RMS over 1 s) is movement whatever the rotation, g. It
#: stays above the jolts with which myoclonic jerks shake a resting trunk (brief
#: impulses of about 0.1 g peak), which are not movement.
_DYNAMIC_MOVING_G = 0.1
#: Movement-related muscle activity starts before and outlasts visible trunk motion (the
#: anticipatory postural adjustments of the trunk lead limb movement by 50-100 ms,
#: Hodges & Richardson 1997, and paraspinal activity continues while the trunk is braked
#: and settled), so motion frames are widened by this much on both sides, s.
_MOVEMENT_MARGIN_S = 0.5
#: A moving stretch this long inside a contraction splits it (a real voluntary movement:
#: sit-to-stand takes about 2 s), s.
_MIN_MOVING_PART_S = 2.0
#: A still stretch this long next to a movement is judged on its own, s.
_MIN_STILL_PART_S = 1.5
#: Accelerometer frames may lag the EMG by this much before a decision is taken without
#: them, s.
_MAX_MOTION_WAIT_S = 10.0
#: Resting tone depends on posture (lying < sitting < standing), so after a movement the
#: rest is relearnt from the envelope of the first still seconds: the movement must have
#: lasted this long, s ...
_REBASE_MIN_MOVE_S = 1.0
#: ... and the trunk must then stay still for this long (the window starts after the
#: movement margin), s ...
_REBASE_SETTLE_S = 2.0
#: ... and the new level must be at most this many times the old rest: a higher level
#: is a contraction (a spasm right after lifting), not a new tone. Postural tone changes
#: between lying, sitting and standing stay within about 1-3 times rest (Callaghan &
#: McGill 2001; O'Sullivan et al. 2002).
_REBASE_MAX_RATIO = 3.0
#: A stretch without motion estimates shorter than this is bridged: the trunk is taken to
#: be doing what it did before, so a movement that a short gap in the link interrupts
#: still ends in a relearning. The stretch is the gap plus the motion estimate's warm-up
#: after it (about 1.5 s). After a longer one nothing is relearnt until the next
#: movement, s.
_REBASE_BRIDGE_S = 3.0
#: At least this fraction of a relearning window must hold usable EMG.
_REBASE_MIN_USABLE = 0.5
#: Motion codes of the rest relearning.
_MV_START, _MV_STILL, _MV_MOVING, _MV_GAP = -1, 0, 1, 2
#: Peak contrast over rest a brief activation needs to count as a twitch.
_TWITCH_STRENGTH = 3.0
#: Median frequency is measured over at most this much of an episode, s.
_MDF_MAX_S = 10.0
#: Recent episodes whose median frequencies make the wearer's usual one, and how many
#: are needed before spectral compression is judged.
_MDF_HISTORY = 50
_MDF_MIN_HISTORY = 5


@dataclass(frozen=True)
class DetectorState:
    """Live state of a :class:`SpasmDetector` (for a dashboard banner).

    Attributes
    ----------
    active : ndarray of bool, shape (n_channels,)
        Channels within an activation now.
    onset_sample : int | None
        Onset of the ongoing contraction (earliest channel), input samples; None if none.
    baseline_v, on_threshold_v, off_threshold_v : ndarray, shape (n_channels,)
        Current resting level and thresholds, V.
    suspected_involuntary : bool
        The ongoing contraction has lasted at least ``tonic_s`` with the trunk still (or,
        without an accelerometer, simply lasted that long): an involuntary episode is
        probably in progress; the final word comes with the episode record.
    """

    active: NDArray[np.bool_]
    onset_sample: int | None
    baseline_v: NDArray[np.float64]
    on_threshold_v: NDArray[np.float64]
    off_threshold_v: NDArray[np.float64]
    suspected_involuntary: bool


@dataclass
class _Region:
    """Overlapping activations of any channel: one candidate contraction."""

    start: int
    end: int
    activations: list[Activation] = field(default_factory=list)
    brief: bool = False


class SpasmDetector:
    """Detect contractions and tell involuntary spasms from voluntary activity, causally.

    Parameters
    ----------
    sfreq : float
        EMG sampling rate, Hz.
    n_channels : int
        EMG channels (1 or 2; the usual left and right erector spinae).
    sides : sequence of str
        Side of every channel, ``"left"`` or ``"right"``.
    accel_sfreq : float | None
        Accelerometer rate, Hz, or None for EMG-only detection.
    calibration : Calibration | None
        The wearer's calibration: amplitudes in %MVC/%RVC instead of µV.
    rms_window_s : float
        Window of the moving-RMS envelope given to :meth:`process`; onsets and ends are
        moved back by half of it, the envelope's delay.
    rules : RuleParams | None
        Classification thresholds.
    sample_offset : int
        Input index of the first sample given to :meth:`process` (e.g. minus the latency of
        :class:`dsp.preprocess.EmgPreprocessor`, whose first output samples are
        pre-roll). Motion frames are timed from input sample 0.
    max_on_s : float
        Passed to :class:`~dsp.activation.ActivationDetector`: a contraction this long is
        taken as a new resting level. Long, because cramps last minutes.
    merge_gap_s : float
        Activations of any channel closer than this form one candidate, s.

    Notes
    -----
    The method, each rule and its reference are in ``docs/detector.md``. In short:

    1. every channel's envelope goes through an
       :class:`~dsp.activation.ActivationDetector` (adaptive rest baseline, hysteresis);
    2. overlapping activations of both sides form one candidate; a candidate that contains
       both real trunk movement (at least 2 s) and stillness (at least 1.5 s) is split at
       the changes, so a spasm that freezes walking is judged apart from the walking;
    3. each part is measured (:func:`~dsp.detector.features.emg_evidence`, trunk motion)
       and judged by :func:`~dsp.detector.rules.classify`;
    4. activations shorter than 0.5 s, at least 4x rest and with the trunk still, are
       reported as ``twitch`` episodes (below the episode threshold).

    Episodes are returned once they have ended, the merge gap has elapsed and (with an
    accelerometer) motion data up to their end have arrived, i.e. about 1-2 s after the
    end; :attr:`state` tells what is going on meanwhile.
    """

    def __init__(
        self,
        sfreq: float,
        n_channels: int = 2,
        *,
        sides: Sequence[str] = ("left", "right"),
        accel_sfreq: float | None = None,
        calibration: Calibration | None = None,
        rms_window_s: float = 0.15,
        rules: RuleParams | None = None,
        sample_offset: int = 0,
        max_on_s: float = 300.0,
        merge_gap_s: float = 0.5,
    ) -> None:
        self.sfreq = check_sfreq(sfreq)
        self.n_channels = check_n_channels(n_channels)
        if self.n_channels > 2:
            raise ValueError(
                f"the spasm detector takes 1 or 2 EMG channels (left/right), got {n_channels}"
            )
        self.sides = tuple(sides)
        if len(self.sides) != self.n_channels or any(
            s not in ("left", "right") for s in self.sides
        ):
            raise ValueError(
                f"sides must give 'left' or 'right' for each of the {self.n_channels} "
                f"channels, got {tuple(sides)!r}"
            )
        if self.n_channels == 2 and self.sides[0] == self.sides[1]:
            raise ValueError(f"the two channels must be on different sides, got {self.sides!r}")
        self.rules = rules or RuleParams()
        self.rms_window_s = check_positive("rms_window_s", rms_window_s)
        self.merge_gap_s = check_positive("merge_gap_s", merge_gap_s, allow_zero=True)
        self.sample_offset = int(sample_offset)
        self.calibration = calibration
        self._normaliser = Normaliser(calibration, n_channels=self.n_channels)
        self.unit = self._normaliser.unit
        # The rest baseline is a median over a minute of quiet: re-estimating it every
        # second (not every 0.25 s) changes nothing that matters and costs a quarter.
        self.activation = ActivationDetector(
            self.sfreq, self.n_channels, max_on_s=max_on_s, min_brief_s=0.1, update_s=1.0
        )
        self.motion: MotionTracker | None = None
        if accel_sfreq is not None:
            self.motion = MotionTracker(accel_sfreq)
        # Envelope and fine-envelope histories share the fine envelope's 10 ms bins.
        self._bin = max(round(FINE_BIN_S * self.sfreq), 1)
        self._bin_rate = self.sfreq / self._bin
        self._delay = round(self.rms_window_s / 2.0 * self.sfreq)
        self._merge = round(self.merge_gap_s * self.sfreq)
        self.reset()

    # ------------------------------------------------------------------ state

    def reset(self) -> None:
        """Forget everything, as for a new recording."""
        self.activation.reset()
        if self.motion is not None:
            self.motion.reset()
        cap = round(_HISTORY_S * self._bin_rate)
        self._env = History(self.n_channels, cap)
        self._fine = History(self.n_channels, cap)
        self._clean = History(self.n_channels, round(_CLEANED_S * self.sfreq), dtype=np.float32)
        self._art = History(1, cap, fill=0.0)
        # 1 where a bin holds an unusable sample of the channel (a gap, electrode off).
        self._bad = History(self.n_channels, cap, fill=0.0)
        self._tail_clean = np.empty((self.n_channels, 0))
        self._tail_env = np.empty((self.n_channels, 0))
        self._tail_marks = np.empty((1 + self.n_channels, 0), dtype=bool)
        self._n = 0
        self._region: _Region | None = None
        self._ready: list[_Region] = []
        self._motion_cap = 0
        self._mdfs: list[float] = []
        self._last_rest = np.zeros(self.n_channels)
        self._rebase: list[tuple[int, int]] = []  # (window start, apply at), detector samples
        self._mv_prev = _MV_START  # 0 still, 1 moving, 2 no data (a gap), -1 before data
        self._mv_run_start = 0
        self._mv_gap_from: int | None = None  # first frame of a run without data
        self._settle_from: int | None = None
        self.n_rebases = 0
        if self.motion is not None:
            spf = self.motion.frame_s
            self._motion_cap = round(_HISTORY_S / spf)
            self._mot_grav = History(3, self._motion_cap)
            self._mot_num = History(3, self._motion_cap)  # dynamic_g, tilt rate, valid
            self._mot_code = History(2, self._motion_cap, dtype=np.int8, fill=0)

    @property
    def n_samples(self) -> int:
        """Samples processed since the last reset."""
        return self._n

    @property
    def state(self) -> DetectorState:
        """What the detector sees now (see :class:`DetectorState`)."""
        onsets = self.activation.onset_sample
        on = onsets[onsets >= 0]
        onset = None if on.size == 0 else int(on.min()) + self.sample_offset - self._delay
        suspected = False
        if onset is not None:
            held = (self._n + self.sample_offset - onset) / self.sfreq
            suspected = held >= self.rules.tonic_s
            if suspected and self.motion is not None:
                ev = self._motion_evidence(onset - self.sample_offset, self._n)
                suspected = ev is None or ev.moving_fraction <= self.rules.still
        return DetectorState(
            active=self.activation.active,
            onset_sample=onset,
            baseline_v=self.activation.baseline_v,
            on_threshold_v=self.activation.on_threshold_v,
            off_threshold_v=self.activation.off_threshold_v,
            suspected_involuntary=suspected,
        )

    # ------------------------------------------------------------------ input

    def process(
        self,
        envelope: NDArray[np.float64],
        cleaned: NDArray[np.float64],
        usable: NDArray[np.bool_] | None = None,
        artefact: NDArray[np.bool_] | None = None,
    ) -> list[Episode]:
        """Advance by one block of EMG.

        Parameters
        ----------
        envelope : ndarray, shape (n_channels, n_times)
            Moving-RMS envelope of ``cleaned``, V.
        cleaned : ndarray, shape (n_channels, n_times)
            Cleaned (band-passed, notched, ECG-suppressed) EMG, V, aligned with
            ``envelope``.
        usable : ndarray of bool, shape (n_channels, n_times) or (n_times,) | None
            False where the signal must not be trusted (electrode off, saturation).
        artefact : ndarray of bool, same shapes as ``usable`` | None
            True where signal quality saw a motion artefact or an electrode step: the
            signal is still analysed, but a contraction that is mostly artefact is less
            likely a spasm.

        Returns
        -------
        list of Episode
            Episodes completed and classified in this call, in order of onset.
        """
        env = check_block(envelope, n_channels=self.n_channels, name="envelope")
        clean = check_block(cleaned, n_channels=self.n_channels, name="cleaned")
        if clean.shape != env.shape:
            raise ValueError(
                f"cleaned must have the shape of envelope {env.shape}, got {clean.shape}"
            )
        ok = check_mask(usable, env.shape)
        self._push_history(
            env,
            clean,
            None if artefact is None else check_mask(artefact, env.shape, name="artefact"),
            None if usable is None else ok,
        )
        acts: list[Activation] = []
        pos = 0
        n = env.shape[1]
        while self._rebase and self._rebase[0][1] <= self._n + n:
            win0, at = self._rebase.pop(0)
            cut = min(max(at - self._n, pos), n)
            if cut > pos:
                acts.extend(self.activation._process(env[:, pos:cut], ok[:, pos:cut]))
            pos = cut
            acts.extend(self._apply_rebase(win0, self._n + pos))
        if pos < n:
            acts.extend(self.activation._process(env[:, pos:], ok[:, pos:]))
        self._n += n
        self._assemble(acts)
        return self._decide(final=False)

    def process_accel(self, accel_g: NDArray[np.float64]) -> list[Episode]:
        """Advance the trunk-motion tracker by one block of accelerometer samples (g).

        Returns the episodes that were waiting for these motion data.
        """
        if self.motion is None:
            raise ValueError("this detector was made without an accelerometer (accel_sfreq=None)")
        frames = self.motion.process(accel_g)
        self._push_motion(frames)
        return self._decide(final=False)

    def flush(self) -> list[Episode]:
        """End of the recording: close and classify everything still open."""
        self._assemble(self.activation.flush(), final=True)
        return self._decide(final=True)

    # ------------------------------------------------------------------ histories

    def _push_history(
        self,
        env: NDArray[np.float64],
        clean: NDArray[np.float64],
        artefact: NDArray[np.bool_] | None,
        ok: NDArray[np.bool_] | None,
    ) -> None:
        self._clean.push(clean.astype(np.float32))
        # Row 0: an artefact on any channel; rows 1..: the channel's sample is unusable.
        marks = np.zeros((1 + self.n_channels, env.shape[1]), dtype=bool)
        if artefact is not None:
            marks[0] = artefact.any(axis=0)
        if ok is not None:
            np.logical_not(ok, out=marks[1:])
        # Complete the bin left open by the previous block (a few samples joined), then
        # take the whole bins of this block in place.
        head = 0
        if self._tail_clean.shape[1]:
            head = min(self._bin - self._tail_clean.shape[1], env.shape[1])
            self._tail_env = np.concatenate([self._tail_env, env[:, :head]], axis=1)
            self._tail_clean = np.concatenate([self._tail_clean, clean[:, :head]], axis=1)
            self._tail_marks = np.concatenate([self._tail_marks, marks[:, :head]], axis=1)
            if self._tail_clean.shape[1] < self._bin:
                return
            self._push_bins(self._tail_env, self._tail_clean, self._tail_marks)
        n_bins = (env.shape[1] - head) // self._bin
        used = head + n_bins * self._bin
        if n_bins:
            self._push_bins(env[:, head:used], clean[:, head:used], marks[:, head:used])
        self._tail_env = env[:, used:].copy()
        self._tail_clean = clean[:, used:].copy()
        self._tail_marks = marks[:, used:].copy()

    def _push_bins(
        self, env: NDArray[np.float64], clean: NDArray[np.float64], marks: NDArray[np.bool_]
    ) -> None:
        """Append whole bins (the lengths are multiples of the bin) to the histories."""
        n_bins = clean.shape[1] // self._bin
        self._env.push(env[:, self._bin - 1 :: self._bin])
        self._fine.push(fine_envelope(clean, self.sfreq))
        if marks.any():
            binned = np.asarray(
                marks.reshape(marks.shape[0], n_bins, self._bin).any(axis=2), dtype=np.float64
            )
            self._art.push(binned[:1])
            self._bad.push(binned[1:])
        else:
            self._art.push(np.zeros((1, n_bins)))
            self._bad.push(np.zeros((self.n_channels, n_bins)))

    def _apply_rebase(self, win0: int, now: int) -> list[Activation]:
        """Relearn each channel's rest from ``win0 .. now`` if it looks like a tone change."""
        b0, b1 = self._bins(win0, now)
        window = self._env.get(b0, b1)
        if window.shape[1] == 0:
            return []
        bad = self._bad.get(b0, b1) > 0  # gaps and lost contact are not rest
        if bad.any():
            window[bad | (bad.mean(axis=1, keepdims=True) > 1.0 - _REBASE_MIN_USABLE)] = np.nan
        level = np.full(window.shape[0], np.nan)
        rows = ~np.isnan(window).all(axis=1)
        if rows.any():
            level[rows] = np.nanmedian(window[rows], axis=1)
        base = self.activation.baseline_v
        keep = np.isfinite(level) & np.isfinite(base) & (level <= _REBASE_MAX_RATIO * base)
        if not keep.any():
            return []
        window[~keep] = np.nan
        self.n_rebases += 1
        return self.activation.relearn(window)

    def _schedule_rebases(self, frames: MotionFrames) -> None:
        """Find movements that ended in stillness and schedule the rest relearning."""
        assert self.motion is not None
        valid = np.asarray(frames.valid, dtype=bool)
        walking = np.asarray(frames.activity) == ACTIVITIES.index("walking")
        moving = (
            walking
            | (np.asarray(frames.tilt_rate_deg_s) > _TILT_RATE_MOVING)
            | (np.asarray(frames.dynamic_g) > _DYNAMIC_MOVING_G)
        )
        code = np.where(valid, moving.astype(np.int8), _MV_GAP)
        fs = self.motion.frame_s
        min_move = round(_REBASE_MIN_MOVE_S / fs)
        settle = round(_REBASE_SETTLE_S / fs)
        margin = round(_MOVEMENT_MARGIN_S / fs)
        bridge = round(_REBASE_BRIDGE_S / fs)
        first = frames.first_frame
        prev = _MV_GAP if self._mv_gap_from is not None else self._mv_prev
        for i in np.flatnonzero(code != np.concatenate(([prev], code[:-1]))):
            f = first + int(i)
            c = int(code[i])
            if c == _MV_GAP:
                if self._mv_prev != _MV_START:
                    self._mv_gap_from = f  # decided when the data is back
                continue
            gap_from = self._mv_gap_from
            self._mv_gap_from = None
            if gap_from is not None and f - gap_from > bridge:
                self._transition(gap_from, _MV_GAP, min_move, margin, settle)
            if c != self._mv_prev:
                self._transition(f, c, min_move, margin, settle)
        last = first + len(code) - 1
        if self._settle_from is not None and last >= self._settle_from + settle:
            self._schedule(self._settle_from, margin, settle)
            self._settle_from = None

    def _transition(self, f: int, code: int, min_move: int, margin: int, settle: int) -> None:
        """End the run of ``self._mv_prev`` (begun at ``self._mv_run_start``) at ``f``."""
        if self._settle_from is not None and f >= self._settle_from + settle:
            self._schedule(self._settle_from, margin, settle)
        ended_move = self._mv_prev == _MV_MOVING and f - self._mv_run_start >= min_move
        self._settle_from = f if code == _MV_STILL and ended_move else None
        self._mv_run_start = f
        self._mv_prev = code

    def _schedule(self, settle_from: int, margin: int, settle: int) -> None:
        self._rebase.append(
            (self._frame_end(settle_from + margin), self._frame_end(settle_from + settle))
        )

    def _frame_end(self, frame: int) -> int:
        """Detector sample at the end of motion frame ``frame``."""
        assert self.motion is not None
        return round((frame + 1) * self.motion.frame_s * self.sfreq) - self.sample_offset

    def _push_motion(self, frames: MotionFrames) -> None:
        k = len(frames)
        if k == 0:
            return
        self._schedule_rebases(frames)
        self._mot_grav.skip_to(frames.first_frame)
        self._mot_num.skip_to(frames.first_frame)
        self._mot_code.skip_to(frames.first_frame)
        self._mot_grav.push(np.asarray(frames.gravity, dtype=np.float64))
        self._mot_num.push(
            np.vstack(
                [
                    np.asarray(frames.dynamic_g, dtype=np.float64),
                    np.asarray(frames.tilt_rate_deg_s, dtype=np.float64),
                    np.asarray(frames.valid, dtype=np.float64),
                ]
            )
        )
        self._mot_code.push(
            np.vstack([np.asarray(frames.posture), np.asarray(frames.activity)]).astype(np.int8)
        )

    # ------------------------------------------------------------------ assembly

    def _assemble(self, acts: list[Activation], *, final: bool = False) -> None:
        # Activations arrive in the order they end, not start: a region takes the earliest
        # start, and stays open while another channel's activation that began within it
        # (or within the merge gap after it) is still going on.
        open_since = None if final else self.activation.open_since
        for act in acts:
            if act.brief:
                self._ready.append(_Region(act.start_sample, act.end_sample, [act], brief=True))
                continue
            reg = self._region
            bridged = (
                open_since is not None and reg is not None and (open_since <= reg.end + self._merge)
            )
            if reg is not None and (act.start_sample <= reg.end + self._merge or bridged):
                reg.start = min(reg.start, act.start_sample)
                reg.end = max(reg.end, act.end_sample)
                reg.activations.append(act)
                continue
            if reg is not None:
                self._ready.append(reg)
            self._region = _Region(act.start_sample, act.end_sample, [act])
        reg = self._region
        if reg is None:
            return
        if final or (
            self._n > reg.end + self._merge
            and (open_since is None or open_since > reg.end + self._merge)
        ):
            self._ready.append(reg)
            self._region = None

    # ------------------------------------------------------------------ decisions

    def _motion_end_sample(self) -> float:
        """Detector index up to which motion frames have arrived."""
        if self.motion is None:
            return math.inf
        t = self._mot_num.end * self.motion.frame_s
        return t * self.sfreq - self.sample_offset

    def _decide(self, *, final: bool) -> list[Episode]:
        out: list[Episode] = []
        keep: list[_Region] = []
        motion_end = self._motion_end_sample()
        wait = _MAX_MOTION_WAIT_S * self.sfreq
        for reg in self._ready:
            need = reg.end + _MOVEMENT_MARGIN_S * self.sfreq
            if final or motion_end >= need or self._n - need > wait:
                out.extend(self._episodes_of(reg))
            else:
                keep.append(reg)
        self._ready = keep
        # Brief activations overlapping a contraction are part of it, not twitches.
        spans = [(e.start_sample, e.end_sample) for e in out if e.kind != "twitch"]
        out = [
            e
            for e in out
            if e.kind != "twitch"
            or not any(a < e.end_sample and e.start_sample < b for a, b in spans)
        ]
        # Twitches seen on both sides (or twice) are one twitch.
        out.sort(key=lambda e: (e.start_sample, e.end_sample))
        unique: list[Episode] = []
        for e in out:
            last = next((u for u in reversed(unique) if u.kind == "twitch"), None)
            if e.kind == "twitch" and last is not None and e.start_sample < last.end_sample:
                continue
            unique.append(e)
        return unique

    def _episodes_of(self, reg: _Region) -> list[Episode]:
        start = max(reg.start - self._delay, 0)
        end = max(reg.end - self._delay, start + 1)
        rest, off = self._rest_of(reg)
        if reg.brief:
            return self._twitch(reg, start, end, rest, off)
        parts = self._split(start, end)
        episodes = [self._judge(reg, a, b, rest, off) for a, b in parts]
        # Neighbouring involuntary parts are one spasm (a clonus that shakes the trunk
        # can look like a movement in the middle): judge them together.
        merged: list[Episode] = []
        for ep in episodes:
            prev = merged[-1] if merged else None
            if prev is not None and prev.involuntary and ep.involuntary:
                whole = self._judge(
                    reg,
                    prev.start_sample - self.sample_offset,
                    ep.end_sample - self.sample_offset,
                    rest,
                    off,
                    learn=False,
                )
                if whole.involuntary:
                    merged[-1] = whole
                    continue
            merged.append(ep)
        return merged

    def _rest_of(self, reg: _Region) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        rest = np.array(self.activation.baseline_v, dtype=np.float64)
        off = np.array(self.activation.off_threshold_v, dtype=np.float64)
        for act in reg.activations:
            rest[act.channel] = act.baseline_v
            off[act.channel] = act.off_threshold_v
        return rest, off

    def _split(self, start: int, end: int) -> list[tuple[int, int]]:
        """Cut a candidate at the changes between real movement and stillness."""
        if self.motion is None:
            return [(start, end)]
        moving, valid, first_frame = self._moving_mask(start, end)
        if moving.size == 0 or valid.mean() < 0.5:
            return [(start, end)]
        spf = self.motion.frame_s * self.sfreq
        runs = _runs(moving)
        min_move = _MIN_MOVING_PART_S / self.motion.frame_s
        min_still = _MIN_STILL_PART_S / self.motion.frame_s
        # Keep a change only where both sides of it are long enough.
        labels = [(value, lo, hi) for value, lo, hi in runs]
        merged: list[list[int]] = []
        for value, lo, hi in labels:
            long_enough = (hi - lo) >= (min_move if value else min_still)
            if merged and (not long_enough or merged[-1][0] == int(value)):
                merged[-1][2] = hi
                continue
            merged.append([int(value), lo, hi])
        if len(merged) <= 1:
            return [(start, end)]
        bounds = [start]
        for _, lo, _ in merged[1:]:
            t = round((first_frame + lo + 1) * spf - self.sample_offset)
            bounds.append(min(max(t, bounds[-1] + 1), end - 1))
        bounds.append(end)
        return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]

    def _frame_of(self, index: int) -> int:
        """Motion frame whose time span holds detector sample ``index``."""
        assert self.motion is not None
        spf = self.motion.frame_s * self.sfreq
        return int(math.floor((index + self.sample_offset) / spf))

    def _moving_mask(
        self, start: int, end: int, *, turning_only: bool = False
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], int]:
        """Widened moving flag and validity of the frames over ``start .. end``."""
        assert self.motion is not None
        margin = round(_MOVEMENT_MARGIN_S / self.motion.frame_s)
        f0, f1 = self._frame_of(start), self._frame_of(end) + 1
        num = self._mot_num.get(f0 - margin, f1 + margin)
        code = self._mot_code.get(f0 - margin, f1 + margin)
        valid = num[2] > 0.5
        act = code[1]
        moving = valid & (
            (act == ACTIVITIES.index("walking"))
            | (num[1] > _TILT_RATE_MOVING)
            | ((num[0] > _DYNAMIC_MOVING_G) & (not turning_only))
        )
        if margin:
            kernel = np.ones(2 * margin + 1)
            moving = np.convolve(moving.astype(float), kernel, mode="same") > 0
        sl = slice(margin, margin + (f1 - f0))
        return moving[sl], valid[sl], f0

    def _motion_evidence(
        self, start: int, end: int, ref_start: int | None = None
    ) -> MotionEvidence | None:
        """Trunk motion over ``start .. end``; "before" is before ``ref_start``."""
        if self.motion is None:
            return None
        moving, valid, f0 = self._moving_mask(start, end)
        if moving.size == 0 or valid.mean() < 0.5:
            return None
        f1 = f0 + moving.size
        code = self._mot_code.get(f0, f1)
        walking_code = ACTIVITIES.index("walking")
        walking = valid & (code[1] == walking_code)
        before_n = round(_BEFORE_S / self.motion.frame_s)
        gap_n = max(round(0.3 / self.motion.frame_s), 1)
        # Walking just before this part (the freeze cue).
        wb = self._mot_code.get(f0 - before_n, f0 - gap_n)[1]
        wv = self._mot_num.get(f0 - before_n, f0 - gap_n)[2] > 0.5
        walking_before = float(np.mean(wb[wv] == walking_code)) if wv.any() else 0.0
        # Posture and activity before the whole contraction.
        r0 = f0 if ref_start is None else self._frame_of(ref_start)
        b0, b1 = r0 - before_n, r0 - gap_n
        num_b = self._mot_num.get(b0, b1)
        code_b = self._mot_code.get(b0, b1)
        grav_b = self._mot_grav.get(b0, b1)
        valid_b = num_b[2] > 0.5
        posture_before = activity_before = "unknown"
        tilt = 0.0
        if valid_b.any():
            posture_before = POSTURES[_mode(code_b[0][valid_b])]
            activity_before = ACTIVITIES[_mode(code_b[1][valid_b])]
            ref = np.nanmean(grav_b[:, valid_b], axis=1)
            grav = self._mot_grav.get(f0, f1)[:, valid]
            if grav.size:
                angles = angle_between_deg(ref[:, None], grav)
                tilt = float(_percentile_90(angles))
        turning, _, _ = self._moving_mask(start, end, turning_only=True)
        return MotionEvidence(
            moving_fraction=float(moving[valid].mean()),
            walking_fraction=float(walking[valid].mean()) if valid.any() else 0.0,
            turning_fraction=float(turning[valid].mean()),
            tilt_change_deg=tilt,
            walking_before=walking_before,
            posture_before=posture_before,
            activity_before=activity_before,
            coverage=float(valid.mean()),
        )

    def _bins(self, start: int, end: int) -> tuple[int, int]:
        """History bins covering detector samples ``start .. end`` (at least one)."""
        b0 = start // self._bin
        return b0, max(end // self._bin, b0 + 1)

    def _emg_evidence(
        self, start: int, end: int, rest: NDArray[np.float64], off: NDArray[np.float64]
    ) -> EmgEvidence:
        self._last_rest = rest
        b0, b1 = self._bins(start, end)
        env = self._env.get(b0, b1)
        fine = self._fine.get(b0, b1)
        ev = emg_evidence(env, self._bin_rate, fine, self._bin_rate, rest, off)
        art = float(np.mean(self._art.get(b0, b1))) if b1 > b0 else 0.0
        return replace(ev, artefact_fraction=art)

    def _median_frequency(self, start: int, end: int, channel: int) -> float:
        """Median frequency of ``channel`` over (the first ``_MDF_MAX_S`` of) a part, Hz."""
        stop = min(end, start + round(_MDF_MAX_S * self.sfreq))
        clean = self._clean.get(start, stop)[channel].astype(np.float64)
        return median_frequency(clean, self.sfreq)

    def _judge(
        self,
        reg: _Region,
        start: int,
        end: int,
        rest: NDArray[np.float64],
        off: NDArray[np.float64],
        *,
        learn: bool = True,
    ) -> Episode:
        emg = self._emg_evidence(start, end, rest, off)
        mdf = self._median_frequency(start, end, int(np.argmax(emg.strength)))
        ratio = float("nan")
        if len(self._mdfs) >= _MDF_MIN_HISTORY and math.isfinite(mdf):
            ratio = mdf / float(np.median(self._mdfs))
        if learn and math.isfinite(mdf) and emg.duration_s >= self.rules.min_episode_s:
            self._mdfs = [*self._mdfs[-(_MDF_HISTORY - 1) :], mdf]
        emg = replace(emg, median_freq_hz=mdf, mdf_ratio=ratio)
        motion = self._motion_evidence(start, end, ref_start=max(reg.start - self._delay, 0))
        truncated = any(
            a.interrupted and a.end_sample - self._delay >= end - 1 for a in reg.activations
        )
        decision = classify(emg, motion, self.rules, truncated=truncated)
        flags = self._flags(reg, motion)
        return self._record(start, end, emg, motion, decision, flags, mdf=mdf)

    def _twitch(
        self,
        reg: _Region,
        start: int,
        end: int,
        rest: NDArray[np.float64],
        off: NDArray[np.float64],
    ) -> list[Episode]:
        # Most brief activations are small (heartbeat residue, noise): check the level
        # before measuring anything else. The peak bounds the strength's 90th percentile
        # from above, so this only skips what the strength check below would reject.
        b0, b1 = self._bins(start, end)
        peak = np.asarray(np.fmax.reduce(self._env.get(b0, b1), axis=1))  # NaN ignored
        safe_rest = np.maximum(np.where(np.isnan(rest), 0.0, rest), 1e-12)  # rest is never inf
        if not np.any((peak - safe_rest) / safe_rest >= _TWITCH_STRENGTH):
            return []
        emg = self._emg_evidence(start, end, rest, off)
        if float(np.max(emg.strength)) < _TWITCH_STRENGTH:
            return []
        motion = self._motion_evidence(start, end)
        if motion is not None and motion.moving_fraction > self.rules.still:
            return []
        decision = Decision(
            involuntary=True,
            kind="twitch",
            activity="rest",
            confidence=0.5,
            log_odds=0.0,
            reasons=(f"brief {emg.duration_s:.2f} s burst below the episode threshold",),
        )
        return [self._record(start, end, emg, motion, decision, self._flags(reg, motion))]

    def _flags(self, reg: _Region, motion: MotionEvidence | None) -> tuple[str, ...]:
        flags = []
        if any(a.interrupted for a in reg.activations):
            flags.append("interrupted")
        if reg.start < 60.0 * self.sfreq:
            flags.append("short_baseline")
        if self.motion is None:
            flags.append("no_accelerometer")
        elif motion is None:
            flags.append("no_motion_data")
        return tuple(flags)

    def _side(self, emg: EmgEvidence) -> str:
        if self.n_channels == 1:
            return self.sides[0]
        # Both sides are involved when the weaker one's mean excess over its rest reaches
        # 40 % of the stronger one's (crosstalk from one side to the other stays below
        # about 25 %) and it was itself above threshold most of the time.
        if not np.isfinite(emg.asymmetry):
            return self.sides[0]
        strong = int(np.argmax(emg.mean_v - np.nan_to_num(self._last_rest)))
        weak = 1 - strong
        ratio = (1.0 - emg.asymmetry) / (1.0 + emg.asymmetry)  # weaker / stronger excess
        if ratio >= 0.4 and emg.active_fraction[weak] >= 0.5:
            return "bilateral"
        return self.sides[strong]

    def _record(
        self,
        start: int,
        end: int,
        emg: EmgEvidence,
        motion: MotionEvidence | None,
        decision: Decision,
        flags: tuple[str, ...],
        *,
        mdf: float | None = None,
    ) -> Episode:
        side = self._side(emg)
        strong = int(np.argmax(emg.strength))
        peak_u = self._normaliser.normalise(emg.peak_v[:, None])[:, 0]
        mean_u = self._normaliser.normalise(emg.mean_v[:, None])[:, 0]
        area_u = self._normaliser.normalise(emg.area_vs[:, None])[:, 0]
        if mdf is None:
            mdf = self._median_frequency(start, end, strong)
        features: dict[str, object] = {
            "strength": [round(float(s), 3) for s in emg.strength],
            "asymmetry": emg.asymmetry,
            "gait_hz": emg.gait_hz,
            "gait_strength": emg.gait_strength,
            "clonic_hz": emg.clonic_hz,
            "clonic_strength": emg.clonic_strength,
            "duty": emg.duty,
            "n_bursts": emg.n_bursts,
            "rise_s": emg.rise_s,
            "steadiness": emg.steadiness,
            "artefact_fraction": emg.artefact_fraction,
            "mdf_ratio": emg.mdf_ratio,
            "log_odds": decision.log_odds,
        }
        if motion is not None:
            features.update(
                moving_fraction=motion.moving_fraction,
                walking_fraction=motion.walking_fraction,
                tilt_change_deg=motion.tilt_change_deg,
                walking_before=motion.walking_before,
            )
        assert side in EPISODE_SIDES
        return Episode(
            start_sample=start + self.sample_offset,
            end_sample=end + self.sample_offset,
            sfreq=self.sfreq,
            side=side,
            involuntary=decision.involuntary,
            kind=decision.kind,
            activity=decision.activity,
            confidence=decision.confidence,
            unit=self.unit,
            peak=float(peak_u[strong]),
            mean=float(mean_u[strong]),
            area=float(area_u[strong]),
            peak_by_channel=tuple(float(v) for v in peak_u),
            median_freq_hz=mdf,
            posture_before=motion.posture_before if motion else "unknown",
            activity_before=motion.activity_before if motion else "unknown",
            quality_flags=flags,
            reasons=decision.reasons,
            features=features,
        )


def _runs(mask: NDArray[np.bool_]) -> list[tuple[bool, int, int]]:
    """Return the runs of equal values as ``(value, start, stop)``."""
    if mask.size == 0:
        return []
    change = np.flatnonzero(np.diff(mask.astype(np.int8))) + 1
    starts = np.concatenate(([0], change))
    stops = np.concatenate((change, [mask.size]))
    return [(bool(mask[a]), int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def _percentile_90(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """90th percentile along the last axis, NaN ignored (``np.nanpercentile``).

    Without NaN, :func:`numpy.percentile` gives the same numbers at a fraction of the cost.
    """
    if np.isnan(values).any():
        with np.errstate(all="ignore"):
            return np.asarray(np.nanpercentile(values, 90, axis=-1), dtype=np.float64)
    return np.asarray(np.percentile(values, 90, axis=-1), dtype=np.float64)


def _mode(codes: NDArray[np.int8]) -> int:
    values, counts = np.unique(codes, return_counts=True)
    return int(values[np.argmax(counts)])
