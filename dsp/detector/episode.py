"""The episode record: one contraction as the wearer's doctor wants to see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["EPISODE_KINDS", "EPISODE_SIDES", "Episode"]

#: Kinds of contraction an episode can have.
EPISODE_KINDS = ("tonic", "clonic", "myoclonic", "twitch", "voluntary")
#: Sides an episode can be on.
EPISODE_SIDES = ("left", "right", "bilateral")


@dataclass(frozen=True)
class Episode:
    """One detected contraction, involuntary or voluntary.

    Sample indices count input samples from the first sample given to the detector
    (the stream's sample 0); :attr:`start_s` and :attr:`end_s` are the same in seconds.

    Attributes
    ----------
    start_sample, end_sample : int
        First sample of the contraction and first sample after it.
    sfreq : float
        Sampling rate, Hz.
    side : str
        ``"left"``, ``"right"`` or ``"bilateral"``.
    involuntary : bool
        True for a spasm.
    kind : str
        One of :data:`EPISODE_KINDS`.
    activity : str
        What the contraction went with (see :class:`dsp.detector.rules.Decision`).
    confidence : float
        Confidence in ``involuntary``/``kind``, 0.5-1.
    unit : str
        Unit of the amplitudes: ``"uV"``, or ``"%MVC"``/``"%RVC"`` when calibrated.
    peak, mean : float
        Largest and mean envelope (moving RMS) of the stronger side, in ``unit``.
    area : float
        Envelope above rest integrated over the episode on the stronger side,
        ``unit``·s.
    peak_by_channel : tuple of float
        Peak of every channel, in ``unit``.
    median_freq_hz : float
        Median frequency of the stronger side over (up to the first 10 s of) the episode;
        NaN if not measurable.
    posture_before, activity_before : str
        The wearer's posture and activity just before onset (``"unknown"`` without an
        accelerometer).
    quality_flags : tuple of str
        Signal problems that touch the episode: ``"interrupted"`` (ended by an unusable
        stretch), ``"short_baseline"`` (less than a minute of rest learnt),
        ``"no_accelerometer"``, ``"no_motion_data"``.
    reasons : tuple of str
        The classification rules that fired, with their weights.
    features : dict
        The measured evidence (durations, contrasts, rhythm, motion fractions) by name.
    """

    start_sample: int
    end_sample: int
    sfreq: float
    side: str
    involuntary: bool
    kind: str
    activity: str
    confidence: float
    unit: str
    peak: float
    mean: float
    area: float
    peak_by_channel: tuple[float, ...]
    median_freq_hz: float
    posture_before: str = "unknown"
    activity_before: str = "unknown"
    quality_flags: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    features: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def start_s(self) -> float:
        """Onset, s from the start of the stream."""
        return self.start_sample / self.sfreq

    @property
    def end_s(self) -> float:
        """End, s from the start of the stream."""
        return self.end_sample / self.sfreq

    @property
    def duration_s(self) -> float:
        """Length, s."""
        return (self.end_sample - self.start_sample) / self.sfreq

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary (NaN becomes None)."""

        def clean(value: Any) -> Any:
            if isinstance(value, float):
                return None if value != value else round(value, 6)
            if isinstance(value, tuple | list):
                return [clean(v) for v in value]
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            return value

        out = {
            "start_s": self.start_s,
            "end_s": self.end_s,
            "duration_s": self.duration_s,
            "start_sample": self.start_sample,
            "end_sample": self.end_sample,
            "side": self.side,
            "involuntary": self.involuntary,
            "kind": self.kind,
            "activity": self.activity,
            "confidence": self.confidence,
            "unit": self.unit,
            "peak": self.peak,
            "mean": self.mean,
            "area": self.area,
            "peak_by_channel": self.peak_by_channel,
            "median_freq_hz": self.median_freq_hz,
            "posture_before": self.posture_before,
            "activity_before": self.activity_before,
            "quality_flags": self.quality_flags,
            "reasons": self.reasons,
            "features": self.features,
        }
        return {k: clean(v) for k, v in out.items()}
