"""Involuntary or voluntary: the evidence a clinician would weigh, as additive log-odds.

Each rule looks at one piece of :class:`~dsp.detector.features.EmgEvidence` or
:class:`~dsp.detector.features.MotionEvidence` and adds or subtracts log-odds in favour
of an *involuntary* contraction; the sum gives the decision (> 0) and, through the
logistic function, the confidence. The rules and their weights are listed, with their
rationale, in ``docs/detector.md``; :func:`classify` returns the reasons that fired so
every decision can be explained to the wearer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp.detector.features import EmgEvidence, MotionEvidence

__all__ = ["Decision", "RuleParams", "classify"]


@dataclass(frozen=True)
class RuleParams:
    """Thresholds of the classification rules (see ``docs/detector.md`` for each).

    Attributes
    ----------
    min_strength : float
        Peak contrast over rest below which a contraction is taken for a change of
        postural tone (sitting up, standing) rather than a spasm.
    tonic_s, long_s : float
        Sustained contractions at least this long count as tonic / long evidence.
    brief_s : float
        Contractions shorter than this are brief (ballistic or postural bursts).
    min_episode_s : float
        The episode threshold: shorter contractions are never involuntary *episodes*; if
        the evidence is involuntary they are twitches.
    rhythm_min : float
        Autocorrelation peak above which a rhythm is taken as real.
    gait_min_s : float
        Shortest contraction train scored as gait-like rhythm.
    unilateral : float
        Asymmetry index above which a contraction is one-sided.
    abrupt_s, gradual_s : float
        Rise times (onset to half peak) taken as abrupt / gradual.
    moving : float
        Fraction of a contraction with trunk motion above which it is movement-related.
    still : float
        Fraction below which the trunk is taken as still.
    posture_change_deg : float
        Trunk rotation during the contraction above which it is a posture change.
    jerk_min_bursts : int
        Bursts needed for a train of myoclonic jerks ...
    jerk_max_duty : float
        ... with at most this duty cycle (jerks are brief, with silence between).
    compressed_mdf : float
        Median frequency relative to the wearer's usual one at or below which the
        spectrum counts as compressed.
    emg_only_bias : float
        Log-odds added without an accelerometer: with less evidence the detector must be
        more sure before it calls a contraction involuntary.
    """

    min_strength: float = 2.0
    tonic_s: float = 3.0
    long_s: float = 10.0
    brief_s: float = 2.0
    min_episode_s: float = 1.2
    rhythm_min: float = 0.3
    gait_min_s: float = 5.0
    unilateral: float = 0.6
    abrupt_s: float = 0.25
    gradual_s: float = 1.0
    moving: float = 0.4
    still: float = 0.15
    posture_change_deg: float = 25.0
    jerk_min_bursts: int = 3
    jerk_max_duty: float = 0.5
    compressed_mdf: float = 0.85
    emg_only_bias: float = -1.0


@dataclass(frozen=True)
class Decision:
    """Outcome of :func:`classify`.

    Attributes
    ----------
    involuntary : bool
        The contraction is taken as involuntary (a spasm).
    kind : str
        ``"tonic"``, ``"clonic"`` or ``"myoclonic"`` when involuntary, else ``"voluntary"``.
    activity : str
        What the contraction went with: ``"rest"``, ``"walking"``, ``"movement"``,
        ``"posture change"``, ``"postural tone"``, ``"brief burst"``, ``"rhythmic"`` or
        ``"contraction"``.
    confidence : float
        Probability-like confidence in the decision, 0.5-1.
    log_odds : float
        Sum of the rule weights in favour of involuntary.
    reasons : tuple of str
        The rules that fired, with their signed weights.
    """

    involuntary: bool
    kind: str
    activity: str
    confidence: float
    log_odds: float
    reasons: tuple[str, ...]


def classify(
    emg: EmgEvidence,
    motion: MotionEvidence | None,
    params: RuleParams | None = None,
    *,
    truncated: bool = False,
) -> Decision:
    """Decide whether a contraction is involuntary, of which kind, and how sure we are.

    Parameters
    ----------
    emg : EmgEvidence
        Muscle-activity evidence.
    motion : MotionEvidence | None
        Trunk-motion evidence, or None without an accelerometer (or without valid data
        over the contraction).
    params : RuleParams | None
        Thresholds; defaults when None.
    truncated : bool
        The contraction was cut short by unusable signal (a gap, the electrode off): its
        length is unknown, so shortness is not held against it.

    Returns
    -------
    Decision
    """
    p = params or RuleParams()
    score = 0.0
    reasons: list[str] = []

    def add(weight: float, why: str) -> None:
        nonlocal score
        score += weight
        reasons.append(f"{why} ({weight:+.1f})")

    strength = float(np.max(emg.strength)) if emg.strength.size else 0.0
    peak_strength = float(np.max(emg.peak_strength)) if emg.peak_strength.size else strength
    duration = emg.duration_s
    # A 3-8 Hz rhythm is specific to clonus; a slower one can come from the shape of the
    # envelope itself, so it counts as gait only without a clonic rhythm.
    # A motion artefact or an electrode step is itself a train of spikes: where signal
    # quality flags most of the candidate, its pattern is not taken for clonus or jerks.
    artefactual = emg.artefact_fraction >= 0.5
    clonic_rhythm = not artefactual and emg.clonic_strength >= p.rhythm_min
    gait_rhythm = (
        not clonic_rhythm and emg.gait_strength >= p.rhythm_min and duration >= p.gait_min_s
    )
    jerk_train = (
        not artefactual
        and not clonic_rhythm
        and emg.n_bursts >= p.jerk_min_bursts
        and emg.duty < p.jerk_max_duty
    )
    # Clonus and myoclonus are recognised by their pattern, whatever their length.
    patterned = clonic_rhythm or jerk_train
    activity = "contraction"

    # --- muscle activity -------------------------------------------------------------
    # Brief jerks have a low 90th percentile: judge a train of them by its peaks.
    if max(strength, peak_strength / 3.0 if patterned else 0.0) < p.min_strength:
        add(-6.0, f"weak: {strength:.1f}x rest above rest, a tone change")
        activity = "postural tone"
    # A tonic spasm is sustained; a contraction of a second or two is told from a
    # voluntary one only by a clonic rhythm or a train of jerks.
    if duration >= p.long_s:
        add(2.0, f"sustained {duration:.0f} s")
    elif duration >= p.tonic_s:
        add(1.0, f"sustained {duration:.1f} s")
    elif duration < p.min_episode_s:
        pass  # below the episode threshold, length decides twitch vs episode, not this
    elif truncated:
        reasons.append("cut short by unusable signal: length unknown")
    elif patterned:
        # A few beats or jerks: the pattern is there, but barely.
        if duration < p.brief_s:
            add(-1.5, f"brief {duration:.1f} s")
    elif duration < p.brief_s:
        add(-3.5, f"brief {duration:.1f} s burst")
        activity = "brief burst"
    else:
        add(-3.5, f"short {duration:.1f} s contraction")
    # With an accelerometer, a gait rhythm counts only if the trunk walks.
    walking_rhythm = gait_rhythm and (motion is None or motion.walking_fraction >= 0.2)
    if walking_rhythm:
        add(-3.0, f"rhythmic at {emg.gait_hz:.1f} Hz like gait")
        activity = "rhythmic"
    elif clonic_rhythm:
        add(2.5, f"clonic rhythm at {emg.clonic_hz:.1f} Hz")
    elif jerk_train:
        add(2.0, f"train of {emg.n_bursts} brief jerks")
    if math.isfinite(emg.asymmetry):
        if emg.asymmetry >= p.unilateral:
            add(1.0, f"one-sided (asymmetry {emg.asymmetry:.2f})")
        elif emg.asymmetry < 0.3:
            add(-1.0, "symmetric on both sides")
    if math.isfinite(emg.rise_s):
        if emg.rise_s <= p.abrupt_s:
            add(0.5, f"abrupt onset ({emg.rise_s * 1000:.0f} ms to half peak)")
        elif emg.rise_s >= p.gradual_s:
            add(-0.5, f"gradual onset ({emg.rise_s:.1f} s to half peak)")
    # Fatigue-like compression is a 15-50 % fall of the median frequency; far lower is
    # low-frequency artefact, not muscle.
    # Compression develops over seconds of sustained contraction; in a brief burst the
    # median frequency only reflects noise.
    if (
        duration >= p.tonic_s
        and math.isfinite(emg.mdf_ratio)
        and 0.5 <= emg.mdf_ratio <= p.compressed_mdf
    ):
        add(1.0, f"spectrum compressed (median frequency {1 - emg.mdf_ratio:.0%} below usual)")
    if artefactual:
        add(-3.0, f"signal artefact flagged over {emg.artefact_fraction:.0%} of it")

    # --- trunk motion ----------------------------------------------------------------
    if motion is None:
        add(p.emg_only_bias, "no accelerometer")
    else:
        if motion.walking_fraction >= p.moving:
            add(-3.0, "walking")
            activity = "walking"
        # A clonus or a train of jerks shakes the trunk itself: then only rotation or
        # walking counts as movement.
        moving = motion.turning_fraction if patterned else motion.moving_fraction
        if motion.walking_fraction >= p.moving:
            pass
        elif moving >= p.moving:
            add(-3.0, f"trunk moving for {moving:.0%} of it")
            activity = "movement"
        elif moving <= p.still:
            add(2.0, "trunk still throughout")
            if activity == "contraction":
                activity = "rest"
            if motion.walking_before >= 0.5:
                add(1.0, "walking stopped at onset")
        if motion.tilt_change_deg >= p.posture_change_deg:
            add(-2.0, f"trunk turned {motion.tilt_change_deg:.0f} deg")
            activity = "posture change"

    involuntary = score > 0.0
    confidence = 1.0 / (1.0 + math.exp(-abs(score)))
    if duration < p.min_episode_s:
        kind = "twitch" if involuntary else "voluntary"
        return Decision(
            involuntary=involuntary,
            kind=kind,
            activity="rest" if involuntary else activity,
            confidence=round(confidence, 3),
            log_odds=round(score, 3),
            reasons=(*reasons, f"below the {p.min_episode_s:g} s episode threshold"),
        )
    if involuntary:
        if clonic_rhythm:
            kind = "clonic"
        elif jerk_train:
            kind = "myoclonic"
        else:
            kind = "tonic"
        if activity in ("contraction", "rhythmic", "brief burst", "postural tone"):
            activity = "rest"
    else:
        kind = "voluntary"
    return Decision(
        involuntary=involuntary,
        kind=kind,
        activity=activity,
        confidence=round(confidence, 3),
        log_odds=round(score, 3),
        reasons=tuple(reasons),
    )
