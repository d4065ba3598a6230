"""The result of analysing a recording: episodes, twitches and the doctor's summary."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from dsp.detector import Episode

__all__ = ["AnalysisResult", "summarise"]


@dataclass(frozen=True)
class AnalysisResult:
    """Everything ``spasmwatch analyze`` reports about one recording.

    Attributes
    ----------
    episodes : list of Episode
        Every contraction above the episode threshold, involuntary or voluntary, by onset.
    twitches : list of Episode
        Brief involuntary twitches below the episode threshold.
    duration_s : float
        Length of the analysed recording, s.
    sfreq : float
        EMG rate, Hz.
    start : datetime | None
        UTC start of the recording, when known (episode times are then absolute too).
    source : str
        What was analysed (a path, or ``"<arrays>"``).
    used_accelerometer : bool
        Whether trunk motion informed the decisions.
    mains_hz : float | None
        Mains frequency found (and notched).
    channels : tuple of str
        EMG channel labels with their sides.
    warnings : tuple of str
        Assumptions made and reduced-confidence conditions (short recording, no
        accelerometer, gaps, ...).
    """

    episodes: list[Episode]
    twitches: list[Episode]
    duration_s: float
    sfreq: float
    start: datetime | None = None
    source: str = "<arrays>"
    used_accelerometer: bool = False
    mains_hz: float | None = None
    channels: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def involuntary(self) -> list[Episode]:
        """The involuntary episodes (spasms)."""
        return [e for e in self.episodes if e.involuntary]

    def utc(self, seconds: float) -> str | None:
        """ISO-8601 UTC time of a moment ``seconds`` into the recording, or None."""
        if self.start is None:
            return None
        return (self.start + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")

    def episode_dict(self, ep: Episode) -> dict[str, Any]:
        """JSON form of one episode, with UTC times when the start is known."""
        out = ep.to_dict()
        out["start_utc"] = self.utc(ep.start_s)
        out["end_utc"] = self.utc(ep.end_s)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"episodes": [...], "twitches": [...], "summary": {...}}``."""
        return {
            "episodes": [self.episode_dict(e) for e in self.episodes],
            "twitches": [self.episode_dict(e) for e in self.twitches],
            "summary": summarise(self),
        }


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"total": 0.0, "median": None, "max": None}
    return {
        "total": round(float(np.sum(values)), 3),
        "median": round(float(np.median(values)), 3),
        "max": round(float(np.max(values)), 3),
    }


def summarise(result: AnalysisResult) -> dict[str, Any]:
    """Summarise an analysis: how often, how long, how strong, which side, when, doing what.

    Parameters
    ----------
    result : AnalysisResult
        An analysis.

    Returns
    -------
    dict
        JSON-ready summary.
    """
    spasms = result.involuntary
    hours = result.duration_s / 3600.0
    durations = [e.duration_s for e in spasms]
    peaks = [e.peak for e in spasms if math.isfinite(e.peak)]
    unit = spasms[0].unit if spasms else (result.episodes[0].unit if result.episodes else "uV")
    by_hour: Counter[int] = Counter()
    if result.start is not None:
        for e in spasms:
            by_hour[(result.start + timedelta(seconds=e.start_s)).hour] += 1
    return {
        "source": result.source,
        "start_utc": result.utc(0.0),
        "duration_s": round(result.duration_s, 3),
        "sfreq": result.sfreq,
        "channels": list(result.channels),
        "used_accelerometer": result.used_accelerometer,
        "mains_hz": result.mains_hz,
        "n_episodes": len(result.episodes),
        "n_involuntary": len(spasms),
        "n_voluntary": len(result.episodes) - len(spasms),
        "n_twitches": len(result.twitches),
        "involuntary_per_hour": round(len(spasms) / hours, 3) if hours > 0 else None,
        "involuntary_duration_s": _stats(durations),
        "involuntary_peak": {**_stats(peaks), "unit": unit},
        "by_kind": dict(Counter(e.kind for e in spasms)),
        "by_side": dict(Counter(e.side for e in spasms)),
        "by_activity_before": dict(Counter(e.activity_before for e in spasms)),
        "by_posture_before": dict(Counter(e.posture_before for e in spasms)),
        "by_hour_utc": {str(h): n for h, n in sorted(by_hour.items())},
        "voluntary_by_activity": dict(
            Counter(e.activity for e in result.episodes if not e.involuntary)
        ),
        "warnings": list(result.warnings),
    }
