"""Episode-level scoring of a spasm detector against ground-truth labels.

Pure functions on plain data: a recording's truth labels
(:class:`~host.simulator.scenario.TruthEvent`) and a detector's episodes (any objects with
``start_s``, ``end_s``, ``involuntary``, ``kind``, ``side`` and ``confidence``) go in; counts,
matched pairs and summary metrics come out.

Rules (also in ``docs/detector.md``):

* **Scored truth**: ``contraction`` labels that are involuntary and of kind ``tonic``,
  ``clonic``, ``myoclonic`` or ``cramp``. Sub-threshold ``twitch`` labels are not scored.
* **Competing detections**: only those with ``involuntary=True``.
* **Matching**: one-to-one; a detection and a truth episode may match when their time
  intervals intersect (overlap > 0). The matching has the largest possible number of pairs
  and, among those, the largest total overlap (maximum-weight bipartite matching,
  Kuhn 1955, solved with :func:`scipy.optimize.linear_sum_assignment`).
* **False alarm**: an involuntary detection left unmatched.
* Undefined metrics (no truth, no detections, no matches) are NaN, never a division error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import numpy as np
from scipy.optimize import linear_sum_assignment

from host.errors import ConfigError
from host.simulator.scenario import TruthEvent

__all__ = [
    "SCORED_KINDS",
    "VOLUNTARY_ACTIVITIES",
    "Detection",
    "DetectionRecord",
    "KindMetrics",
    "Match",
    "Metrics",
    "RecordingScore",
    "match_episodes",
    "score_recording",
    "scored_truth",
    "summarize",
]

#: Involuntary contraction kinds that are scored (``twitch`` is meant to stay undetected).
SCORED_KINDS: Final = ("tonic", "clonic", "myoclonic", "cramp")
#: Activities during which an unmatched detection counts as a false alarm "during voluntary
#: activity" (a voluntary truth contraction counts too).
VOLUNTARY_ACTIVITIES: Final = ("walking", "lifting", "bending", "sit_to_stand", "turning_in_bed")
#: Column of the confusion table for a truth episode that no detection matched.
MISSED: Final = "missed"

_SECONDS_PER_HOUR: Final = 3600.0


class Detection(Protocol):
    """What the scoring needs from one detected episode (structural type).

    The detector's own episode class fits as long as it has these attributes.
    """

    @property
    def start_s(self) -> float:
        """Onset, seconds from the start of the recording."""

    @property
    def end_s(self) -> float:
        """End, seconds from the start of the recording."""

    @property
    def involuntary(self) -> bool:
        """True for a spasm; False for a contraction judged voluntary."""

    @property
    def kind(self) -> str:
        """Detected kind (``"tonic"``, ``"clonic"``, ``"myoclonic"``, ``"cramp"``, ...)."""

    @property
    def side(self) -> str:
        """``"left"``, ``"right"`` or ``"bilateral"``."""

    @property
    def confidence(self) -> float:
        """Detector confidence in [0, 1]."""


@dataclass(frozen=True)
class DetectionRecord:
    """A plain, picklable copy of one detection.

    Parameters
    ----------
    start_s, end_s : float
        Onset and end in seconds from the start of the recording.
    involuntary : bool
        Whether the detector called it involuntary.
    kind : str
        Detected kind.
    side : str
        Detected side.
    confidence : float
        Detector confidence.
    """

    start_s: float
    end_s: float
    involuntary: bool
    kind: str
    side: str
    confidence: float

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.end_s - self.start_s

    @classmethod
    def from_detection(cls, detection: Detection, index: int = 0) -> DetectionRecord:
        """Copy the scored attributes of any detection object.

        Parameters
        ----------
        detection : Detection
            An object with ``start_s``, ``end_s``, ``involuntary``, ``kind``, ``side`` and
            ``confidence``.
        index : int
            Position of the detection in its list (for error messages).

        Returns
        -------
        record : DetectionRecord
            The copy.

        Raises
        ------
        ConfigError
            If the times are not finite or the detection ends before it starts.
        """
        start, end = float(detection.start_s), float(detection.end_s)
        if not (math.isfinite(start) and math.isfinite(end)) or end < start:
            raise ConfigError(
                f"detection[{index}] has start_s={start!r} and end_s={end!r}; expected finite "
                "times with end_s >= start_s."
            )
        return cls(
            start_s=start,
            end_s=end,
            involuntary=bool(detection.involuntary),
            kind=str(detection.kind),
            side=str(detection.side),
            confidence=float(detection.confidence),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the detection as a JSON-ready dictionary."""
        return {
            "start_s": self.start_s,
            "end_s": self.end_s,
            "involuntary": self.involuntary,
            "kind": self.kind,
            "side": self.side,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class Match:
    """A truth episode and the detection matched to it.

    Parameters
    ----------
    truth : TruthEvent
        The scored truth episode.
    detection : DetectionRecord
        The involuntary detection matched to it.
    overlap_s : float
        Length of the intersection of the two intervals, seconds (> 0).
    """

    truth: TruthEvent
    detection: DetectionRecord
    overlap_s: float

    @property
    def onset_error_s(self) -> float:
        """``|detection.start_s - truth.onset_s|`` in seconds."""
        return abs(self.detection.start_s - self.truth.onset_s)

    @property
    def duration_error(self) -> float:
        """``|detected duration - true duration| / true duration`` (a fraction)."""
        return abs(self.detection.duration_s - self.truth.duration_s) / self.truth.duration_s


def scored_truth(truth: Iterable[TruthEvent]) -> list[TruthEvent]:
    """Return the truth episodes a detector is scored on.

    Parameters
    ----------
    truth : iterable of TruthEvent
        All labels of a recording (activities, contractions, artefacts).

    Returns
    -------
    episodes : list of TruthEvent
        ``contraction`` labels with ``involuntary`` set and a kind in :data:`SCORED_KINDS`,
        in onset order.
    """
    return sorted(
        (
            e
            for e in truth
            if e.category == "contraction" and e.involuntary and e.kind in SCORED_KINDS
        ),
        key=lambda e: e.onset_s,
    )


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


def _match_pairs(
    truth: Sequence[tuple[float, float]], detections: Sequence[tuple[float, float]]
) -> list[tuple[int, int, float]]:
    """Match intervals one-to-one: most pairs, then most total overlap.

    Returns ``(truth index, detection index, overlap_s)`` triples sorted by truth index.
    """
    candidates = [
        j
        for j, (d0, d1) in enumerate(detections)
        if any(_overlap(t0, t1, d0, d1) > 0.0 for t0, t1 in truth)
    ]
    if not truth or not candidates:
        return []
    overlap = np.array(
        [[max(_overlap(t0, t1, *detections[j]), 0.0) for j in candidates] for t0, t1 in truth]
    )
    # Each pair is worth 1 plus its overlap scaled so that all overlaps together stay below 1:
    # the best assignment has the most pairs, and among those the largest total overlap.
    scale = float(overlap.sum()) + 1.0
    weight = np.where(overlap > 0.0, 1.0 + overlap / scale, 0.0)
    rows, cols = linear_sum_assignment(weight, maximize=True)
    pairs = [
        (int(i), candidates[int(k)], float(overlap[i, k]))
        for i, k in zip(rows, cols, strict=True)
        if overlap[i, k] > 0.0
    ]
    return sorted(pairs)


def match_episodes(
    truth: Sequence[TruthEvent], detections: Sequence[DetectionRecord]
) -> tuple[list[Match], list[TruthEvent], list[DetectionRecord]]:
    """Match detections to truth episodes one-to-one by time overlap.

    Parameters
    ----------
    truth : sequence of TruthEvent
        The episodes to match (typically :func:`scored_truth`).
    detections : sequence of DetectionRecord
        The detections that compete (typically the involuntary ones).

    Returns
    -------
    matches : list of Match
        Matched pairs, in truth onset order.
    missed : list of TruthEvent
        Truth episodes left unmatched.
    unmatched : list of DetectionRecord
        Detections left unmatched, in their input order.

    Notes
    -----
    A pair may match when the intervals intersect (overlap > 0 s). Among all one-to-one
    matchings the one with the most pairs is chosen, ties broken by the largest total
    overlap: a maximum-weight bipartite matching (Kuhn 1955) with weights ``1 + overlap /
    (total overlap + 1)``, solved by :func:`scipy.optimize.linear_sum_assignment`. A detection
    spanning two episodes therefore matches one of them (the other is missed); two detections
    splitting one episode give one match and one false alarm.
    """
    pairs = _match_pairs(
        [(t.onset_s, t.offset_s) for t in truth], [(d.start_s, d.end_s) for d in detections]
    )
    matches = [Match(truth[i], detections[j], ov) for i, j, ov in pairs]
    used_truth = {i for i, _, _ in pairs}
    used_det = {j for _, j, _ in pairs}
    missed = [t for i, t in enumerate(truth) if i not in used_truth]
    unmatched = [d for j, d in enumerate(detections) if j not in used_det]
    return matches, missed, unmatched


def _union_length(intervals: Iterable[tuple[float, float]]) -> float:
    total = 0.0
    end = -math.inf
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


@dataclass(frozen=True)
class RecordingScore:
    """Everything scored on one recording (raw material for :func:`summarize`).

    Parameters
    ----------
    name : str
        Recording name.
    duration_s : float
        Length of the recording in seconds.
    matches : tuple of Match
        Matched truth/detection pairs.
    missed : tuple of TruthEvent
        Scored truth episodes no detection matched.
    false_alarms : tuple of DetectionRecord
        Involuntary detections left unmatched.
    n_detections : int
        Number of involuntary detections.
    voluntary_activity_s : float
        Time covered by voluntary activity (:data:`VOLUNTARY_ACTIVITIES` segments and voluntary
        truth contractions, their union), seconds.
    n_false_alarms_in_activity : int
        False alarms that overlap voluntary activity.
    n_false_alarms_on_twitch : int
        False alarms that overlap a (not scored) truth twitch.
    n_false_alarms_on_artefact : int
        False alarms that overlap a truth artefact.
    n_voluntary : int
        Truth voluntary contractions.
    n_voluntary_found : int
        Truth voluntary contractions overlapped by at least one detection with
        ``involuntary=False``.
    """

    name: str
    duration_s: float
    matches: tuple[Match, ...]
    missed: tuple[TruthEvent, ...]
    false_alarms: tuple[DetectionRecord, ...]
    n_detections: int
    voluntary_activity_s: float
    n_false_alarms_in_activity: int
    n_false_alarms_on_twitch: int
    n_false_alarms_on_artefact: int
    n_voluntary: int
    n_voluntary_found: int

    @property
    def n_truth(self) -> int:
        """Number of scored truth episodes."""
        return len(self.matches) + len(self.missed)


def score_recording(
    truth: Iterable[TruthEvent],
    detections: Iterable[Detection],
    duration_s: float,
    *,
    name: str = "",
) -> RecordingScore:
    """Score one recording's detections against its truth labels.

    Parameters
    ----------
    truth : iterable of TruthEvent
        All labels of the recording (activities, contractions, artefacts), as returned by
        :meth:`~host.simulator.scenario.Scenario.truth`.
    detections : iterable of Detection
        The detector's episodes (any objects with ``start_s``, ``end_s``, ``involuntary``,
        ``kind``, ``side`` and ``confidence``).
    duration_s : float
        Length of the recording in seconds (> 0 for rates to be defined).
    name : str
        Recording name, carried into the result.

    Returns
    -------
    score : RecordingScore
        Matches, misses, false alarms and the counts behind every metric.

    Raises
    ------
    ConfigError
        If ``duration_s`` is negative or not finite, or a detection's times are invalid.
    """
    if not (math.isfinite(duration_s) and duration_s >= 0.0):
        raise ConfigError(f"duration_s must be a finite number >= 0, got {duration_s!r}.")
    labels = list(truth)
    records = [DetectionRecord.from_detection(d, i) for i, d in enumerate(detections)]
    involuntary = [d for d in records if d.involuntary]
    voluntary_dets = [d for d in records if not d.involuntary]
    matches, missed, false_alarms = match_episodes(scored_truth(labels), involuntary)

    activity = [
        (e.onset_s, e.offset_s)
        for e in labels
        if (e.category == "activity" and e.kind in VOLUNTARY_ACTIVITIES)
        or (e.category == "contraction" and not e.involuntary)
    ]
    twitches = [
        (e.onset_s, e.offset_s)
        for e in labels
        if e.category == "contraction" and e.involuntary and e.kind == "twitch"
    ]
    artefacts = [(e.onset_s, e.offset_s) for e in labels if e.category == "artefact"]

    def n_overlapping(intervals: Sequence[tuple[float, float]]) -> int:
        return sum(
            any(_overlap(a, b, d.start_s, d.end_s) > 0.0 for a, b in intervals)
            for d in false_alarms
        )

    voluntary_truth = [e for e in labels if e.category == "contraction" and not e.involuntary]
    found = sum(
        any(_overlap(e.onset_s, e.offset_s, d.start_s, d.end_s) > 0.0 for d in voluntary_dets)
        for e in voluntary_truth
    )
    clipped = [(max(a, 0.0), min(b, duration_s)) for a, b in activity]
    return RecordingScore(
        name=name,
        duration_s=float(duration_s),
        matches=tuple(matches),
        missed=tuple(missed),
        false_alarms=tuple(false_alarms),
        n_detections=len(involuntary),
        voluntary_activity_s=_union_length((a, b) for a, b in clipped if b > a),
        n_false_alarms_in_activity=n_overlapping(activity),
        n_false_alarms_on_twitch=n_overlapping(twitches),
        n_false_alarms_on_artefact=n_overlapping(artefacts),
        n_voluntary=len(voluntary_truth),
        n_voluntary_found=int(found),
    )


# --------------------------------------------------------------------------- summaries


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def _median(values: Sequence[float]) -> float:
    return float(np.median(values)) if len(values) else math.nan


def _p90(values: Sequence[float]) -> float:
    return float(np.percentile(values, 90.0)) if len(values) else math.nan


def _clean(value: Any) -> Any:
    """Replace NaN by None, recursively (JSON has no NaN)."""
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


@dataclass(frozen=True)
class KindMetrics:
    """Metrics of the truth episodes of one kind.

    Parameters
    ----------
    kind : str
        Truth kind.
    n_truth : int
        Scored truth episodes of this kind.
    n_matched : int
        Of these, how many a detection matched.
    recall : float
        ``n_matched / n_truth`` (NaN without truth episodes).
    onset_error_median_s : float
        Median onset error of the matched ones, seconds (NaN without matches).
    duration_error_median : float
        Median relative duration error of the matched ones (NaN without matches).
    """

    kind: str
    n_truth: int
    n_matched: int
    recall: float
    onset_error_median_s: float
    duration_error_median: float

    def to_dict(self) -> dict[str, Any]:
        """Return the metrics as a JSON-ready dictionary (NaN as None)."""
        return dict(_clean(self.__dict__))


@dataclass(frozen=True)
class Metrics:
    """Summary metrics of one or more recordings (counts pooled over recordings).

    Parameters
    ----------
    n_recordings : int
        Number of recordings pooled.
    duration_s : float
        Total recorded time, seconds.
    n_truth : int
        Scored truth episodes.
    n_detections : int
        Involuntary detections.
    n_matched : int
        Matched pairs (true positives).
    n_false_alarms : int
        Unmatched involuntary detections.
    precision, recall, f1 : float
        ``n_matched / n_detections``, ``n_matched / n_truth`` and
        ``2 n_matched / (n_detections + n_truth)``; NaN when the denominator is 0.
    false_alarms_per_h : float
        False alarms per hour of recording.
    voluntary_activity_s : float
        Time of voluntary activity, seconds.
    n_false_alarms_in_activity : int
        False alarms overlapping voluntary activity.
    false_alarms_in_activity_per_h : float
        Those per hour of voluntary activity.
    n_false_alarms_on_twitch, n_false_alarms_on_artefact : int
        False alarms overlapping a truth twitch, a truth artefact (information).
    onset_error_median_s, onset_error_p90_s : float
        Median and 90th percentile of ``|detected onset - true onset|`` over matches, seconds.
    duration_error_median, duration_error_p90 : float
        Median and 90th percentile of ``|detected - true duration| / true duration``.
    side_accuracy : float
        Fraction of matches whose detected side equals the true side.
    kind_accuracy : float
        Fraction of matches whose detected kind equals the true kind.
    n_voluntary, n_voluntary_found : int
        Truth voluntary contractions, and those overlapped by a voluntary detection.
    voluntary_recall : float
        ``n_voluntary_found / n_voluntary`` (information, not a target).
    per_kind : dict of str to KindMetrics
        One entry per scored kind (:data:`SCORED_KINDS`).
    confusion : dict of str to dict of str to int
        Truth kind to detected kind (or ``"missed"``) to count.
    """

    n_recordings: int
    duration_s: float
    n_truth: int
    n_detections: int
    n_matched: int
    n_false_alarms: int
    precision: float
    recall: float
    f1: float
    false_alarms_per_h: float
    voluntary_activity_s: float
    n_false_alarms_in_activity: int
    false_alarms_in_activity_per_h: float
    n_false_alarms_on_twitch: int
    n_false_alarms_on_artefact: int
    onset_error_median_s: float
    onset_error_p90_s: float
    duration_error_median: float
    duration_error_p90: float
    side_accuracy: float
    kind_accuracy: float
    n_voluntary: int
    n_voluntary_found: int
    voluntary_recall: float
    per_kind: dict[str, KindMetrics] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def n_missed(self) -> int:
        """Scored truth episodes left unmatched."""
        return self.n_truth - self.n_matched

    def to_dict(self) -> dict[str, Any]:
        """Return the metrics as a JSON-ready dictionary (NaN as None)."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("per_kind", "confusion")}
        out["n_missed"] = self.n_missed
        out["per_kind"] = {k: v.to_dict() for k, v in self.per_kind.items()}
        out["confusion"] = {k: dict(v) for k, v in self.confusion.items()}
        return dict(_clean(out))


def _confusion_columns(matches: Sequence[Match]) -> list[str]:
    others = sorted({m.detection.kind for m in matches} - set(SCORED_KINDS))
    return [*SCORED_KINDS, *others, MISSED]


def summarize(scores: Sequence[RecordingScore]) -> Metrics:
    """Pool recordings into one set of metrics (micro average).

    Parameters
    ----------
    scores : sequence of RecordingScore
        One per recording; pass a single one for per-recording metrics.

    Returns
    -------
    metrics : Metrics
        Counts summed over recordings and metrics computed from the pooled counts; error
        statistics over all matches pooled. Undefined values are NaN.
    """
    matches = [m for s in scores for m in s.matches]
    missed = [t for s in scores for t in s.missed]
    n_truth = len(matches) + len(missed)
    n_det = sum(s.n_detections for s in scores)
    n_fa = sum(len(s.false_alarms) for s in scores)
    duration_s = math.fsum(s.duration_s for s in scores)
    activity_s = math.fsum(s.voluntary_activity_s for s in scores)
    n_fa_activity = sum(s.n_false_alarms_in_activity for s in scores)
    onset = [m.onset_error_s for m in matches]
    dur = [m.duration_error for m in matches]
    n_vol = sum(s.n_voluntary for s in scores)
    n_vol_found = sum(s.n_voluntary_found for s in scores)

    per_kind: dict[str, KindMetrics] = {}
    for kind in SCORED_KINDS:
        km = [m for m in matches if m.truth.kind == kind]
        n_kind = len(km) + sum(t.kind == kind for t in missed)
        per_kind[kind] = KindMetrics(
            kind=kind,
            n_truth=n_kind,
            n_matched=len(km),
            recall=_ratio(len(km), n_kind),
            onset_error_median_s=_median([m.onset_error_s for m in km]),
            duration_error_median=_median([m.duration_error for m in km]),
        )
    columns = _confusion_columns(matches)
    confusion = {kind: dict.fromkeys(columns, 0) for kind in SCORED_KINDS}
    for m in matches:
        confusion[m.truth.kind][m.detection.kind] += 1
    for t in missed:
        confusion[t.kind][MISSED] += 1

    return Metrics(
        n_recordings=len(scores),
        duration_s=duration_s,
        n_truth=n_truth,
        n_detections=n_det,
        n_matched=len(matches),
        n_false_alarms=n_fa,
        precision=_ratio(len(matches), n_det),
        recall=_ratio(len(matches), n_truth),
        f1=_ratio(2 * len(matches), n_det + n_truth),
        false_alarms_per_h=_ratio(n_fa, duration_s / _SECONDS_PER_HOUR),
        voluntary_activity_s=activity_s,
        n_false_alarms_in_activity=n_fa_activity,
        false_alarms_in_activity_per_h=_ratio(n_fa_activity, activity_s / _SECONDS_PER_HOUR),
        n_false_alarms_on_twitch=sum(s.n_false_alarms_on_twitch for s in scores),
        n_false_alarms_on_artefact=sum(s.n_false_alarms_on_artefact for s in scores),
        onset_error_median_s=_median(onset),
        onset_error_p90_s=_p90(onset),
        duration_error_median=_median(dur),
        duration_error_p90=_p90(dur),
        side_accuracy=_ratio(sum(m.detection.side == m.truth.side for m in matches), len(matches)),
        kind_accuracy=_ratio(sum(m.detection.kind == m.truth.kind for m in matches), len(matches)),
        n_voluntary=n_vol,
        n_voluntary_found=n_vol_found,
        voluntary_recall=_ratio(n_vol_found, n_vol),
        per_kind=per_kind,
        confusion=confusion,
    )
