"""The spasm detector: contractions found, measured and judged involuntary or voluntary.

* :mod:`dsp.detector.machine` — :class:`SpasmDetector`, the causal state machine;
* :mod:`dsp.detector.features` — the evidence measured on each contraction;
* :mod:`dsp.detector.rules` — the rules that weigh it;
* :mod:`dsp.detector.episode` — the :class:`Episode` record.
"""

from dsp.detector.episode import EPISODE_KINDS, EPISODE_SIDES, Episode
from dsp.detector.features import EmgEvidence, MotionEvidence
from dsp.detector.machine import DetectorState, SpasmDetector
from dsp.detector.rules import Decision, RuleParams, classify

__all__ = [
    "EPISODE_KINDS",
    "EPISODE_SIDES",
    "Decision",
    "DetectorState",
    "EmgEvidence",
    "Episode",
    "MotionEvidence",
    "RuleParams",
    "SpasmDetector",
    "classify",
]
