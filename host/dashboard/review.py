"""Episodes as the wearer and the clinician review them: labels, severity, summaries.

Pure functions over the store's records (no HTTP): the routes and the tests share them.

Severity. With a calibration the amplitude is in %MVC and the peak grades it: below 20 %
*mild*, 20-50 % *moderate*, above *severe* (the bands of everyday paraspinal use: below
about 20 % MVC for posture and walking, McGill 2007 and Dankaerts et al. 2004 report
resting and lifting levels; above half of a maximal effort is a strong contraction).
Without one the amplitude in µV says little from one wearer to another, so the duration
grades it: below 10 s *mild*, 10-60 s *moderate*, a minute or more *severe* (cramps and
long tonic spasms, Minetto et al. 2013).

Labels. The latest label of an episode is the wearer's current judgement. ``spasm`` and
the spasm kinds (``tonic``, ``clonic``, ``myoclonic``, ``cramp``) say it was involuntary;
``voluntary`` and ``artefact`` that it was not; ``unsure`` leaves the detector's call.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from host.storage import EpisodeRecord, LabelRecord

__all__ = [
    "INVOLUNTARY_LABELS",
    "LABELS",
    "NOT_INVOLUNTARY_LABELS",
    "TRIGGERS",
    "episode_view",
    "latest_labels",
    "reviewed_involuntary",
    "severity",
    "summarise",
]

#: Labels the wearer may give, and what they mean for the detector's call.
INVOLUNTARY_LABELS = ("spasm", "tonic", "clonic", "myoclonic", "cramp")
NOT_INVOLUNTARY_LABELS = ("voluntary", "artefact")
LABELS = (*INVOLUNTARY_LABELS, *NOT_INVOLUNTARY_LABELS, "unsure")
#: What may have set an episode off (the issue's list, and "other" with a note).
TRIGGERS = ("lifting", "sitting long", "stress", "after exercise", "other")


def severity(episode: EpisodeRecord) -> str:
    """Return ``"mild"``, ``"moderate"`` or ``"severe"`` (see the module notes)."""
    unit = str(episode.data.get("unit") or "uV")
    peak = episode.data.get("peak")
    if unit.startswith("%") and isinstance(peak, int | float):
        return "mild" if peak < 20 else "moderate" if peak < 50 else "severe"
    duration = episode.duration_s
    return "mild" if duration < 10 else "moderate" if duration < 60 else "severe"


def latest_labels(labels: Iterable[LabelRecord]) -> dict[int, LabelRecord]:
    """Return the latest label of each episode (labels oldest first, as the store lists)."""
    out: dict[int, LabelRecord] = {}
    for label in labels:
        out[label.episode_id] = label
    return out


def label_view(label: LabelRecord) -> dict[str, Any]:
    """Return a label as JSON."""
    return {
        "id": label.id,
        "label": label.label,
        "note": label.note,
        "trigger": label.trigger,
        "author": label.author,
        "created_us": label.created_us,
    }


def reviewed_involuntary(episode: EpisodeRecord, label: LabelRecord | None) -> bool:
    """Whether the episode counts as a spasm once the wearer's label is taken into account."""
    if label is None or label.label not in (*INVOLUNTARY_LABELS, *NOT_INVOLUNTARY_LABELS):
        return episode.involuntary
    return label.label in INVOLUNTARY_LABELS


def episode_view(episode: EpisodeRecord, label: LabelRecord | None) -> dict[str, Any]:
    """Return an episode as the API shows it (JSON-ready)."""
    d = episode.data
    return {
        "id": episode.id,
        "session_id": episode.session_id,
        "start_us": episode.start_us,
        "end_us": episode.end_us,
        "duration_s": round(episode.duration_s, 3),
        "involuntary": episode.involuntary,
        "kind": episode.kind,
        "side": episode.side,
        "confidence": episode.confidence,
        "peak": d.get("peak"),
        "unit": d.get("unit", "uV"),
        "activity": d.get("activity"),
        "activity_before": d.get("activity_before"),
        "posture_before": d.get("posture_before"),
        "quality_flags": d.get("quality_flags") or [],
        "reasons": d.get("reasons") or [],
        "severity": severity(episode),
        "label": None if label is None else label_view(label),
        "reviewed_involuntary": reviewed_involuntary(episode, label),
    }


def _day(t_us: int, tz: dt.tzinfo) -> str:
    return dt.datetime.fromtimestamp(t_us / 1e6, tz).date().isoformat()


def summarise(
    episodes: Sequence[EpisodeRecord],
    labels: dict[int, LabelRecord],
    *,
    start_us: int,
    end_us: int,
    tz: dt.tzinfo = dt.UTC,
) -> dict[str, Any]:
    """Summarise the spasms of a range for the clinician.

    Parameters
    ----------
    episodes : sequence of EpisodeRecord
        Every episode of the range (voluntary ones too: labels may turn them into spasms).
    labels : dict
        Latest label per episode id.
    start_us, end_us : int
        The range, UTC µs.
    tz : tzinfo
        Time zone of the days and of the time-of-day histogram.

    Returns
    -------
    dict
        ``n_spasms``, ``n_twitches`` (involuntary but below the episode threshold, not
        counted as spasms), ``per_day`` (every day of the range, zeros included), ``total_s``,
        ``median_s``, ``severity``, ``side``, ``kind``, ``hour_of_day`` (24 counts),
        ``activity_before``, ``per_week`` (count and median duration), ``labels``
        (confirmed, rejected, relabelled, unreviewed), ``triggers``.
    """
    involuntary = [e for e in episodes if reviewed_involuntary(e, labels.get(e.id))]
    # Twitches are involuntary but below the episode threshold (docs/detector.md): counted
    # apart, not as spasms.
    spasms = [e for e in involuntary if e.kind != "twitch"]
    durations = [e.duration_s for e in spasms]
    first = dt.datetime.fromtimestamp(start_us / 1e6, tz).date()
    last = dt.datetime.fromtimestamp((end_us - 1) / 1e6, tz).date()
    days = [(first + dt.timedelta(days=k)).isoformat() for k in range((last - first).days + 1)]
    per_day = Counter(_day(e.start_us, tz) for e in spasms)
    hours = [0] * 24
    for e in spasms:
        hours[dt.datetime.fromtimestamp(e.start_us / 1e6, tz).hour] += 1
    weeks: dict[str, list[float]] = {}
    for e in spasms:
        year, week, _ = dt.datetime.fromtimestamp(e.start_us / 1e6, tz).isocalendar()
        weeks.setdefault(f"{year}-W{week:02d}", []).append(e.duration_s)
    review: Counter[str] = Counter()
    for e in episodes:
        label = labels.get(e.id)
        if label is None:
            review["unreviewed"] += 1
        elif label.label == "unsure":
            review["unsure"] += 1
        elif (label.label in INVOLUNTARY_LABELS) == e.involuntary:
            review["confirmed"] += 1
        else:
            review["rejected" if e.involuntary else "relabelled"] += 1
    triggers = Counter(
        labels[e.id].trigger for e in spasms if e.id in labels and labels[e.id].trigger
    )
    return {
        "start_us": start_us,
        "end_us": end_us,
        "n_episodes": len(episodes),
        "n_spasms": len(spasms),
        "n_twitches": len(involuntary) - len(spasms),
        "per_day": [{"day": d, "count": per_day.get(d, 0)} for d in days],
        "mean_per_day": round(len(spasms) / max(len(days), 1), 2),
        "total_s": round(sum(durations), 1),
        "median_s": round(statistics.median(durations), 1) if durations else None,
        "longest_s": round(max(durations), 1) if durations else None,
        "severity": dict(Counter(severity(e) for e in spasms)),
        "side": dict(Counter(e.side for e in spasms)),
        "kind": dict(Counter(e.kind for e in spasms)),
        "hour_of_day": hours,
        "activity_before": dict(
            Counter(str(e.data.get("activity_before") or "unknown") for e in spasms)
        ),
        "per_week": [
            {"week": w, "count": len(v), "median_s": round(statistics.median(v), 1)}
            for w, v in sorted(weeks.items())
        ],
        "labels": dict(review),
        "triggers": dict(triggers),
    }
