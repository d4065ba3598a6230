"""The spasm detector's benchmark: labelled simulated recordings, scoring and reports.

* :mod:`host.evaluation.corpus` — a fixed, deterministic corpus of simulated recordings with
  ground truth (:func:`benchmark_corpus`, :func:`load_item`);
* :mod:`host.evaluation.scoring` — episode-level matching and metrics (pure functions);
* :mod:`host.evaluation.runner` — run a detector over the corpus (:func:`evaluate_corpus`);
* :mod:`host.evaluation.report` — per-recording and pooled results, targets, tables.

``spasmwatch evaluate`` runs it from the command line; the rules are in ``docs/detector.md``.

Examples
--------
>>> from host.evaluation import benchmark_corpus, score_recording, summarize
>>> items = benchmark_corpus("quick")
>>> truth = items[0].truth()
>>> score = score_recording(truth, [], items[0].duration_s)  # a detector that finds nothing
>>> summarize([score]).recall
0.0
"""

from __future__ import annotations

from host.evaluation.corpus import (
    CORPUS_SIZES,
    CorpusItem,
    ItemTags,
    Simulated,
    benchmark_corpus,
    load_item,
)
from host.evaluation.report import (
    EvaluationReport,
    ItemResult,
    TargetResult,
    check_targets,
    format_markdown,
    format_text,
    reports_to_dict,
)
from host.evaluation.runner import compare_accel, evaluate_corpus
from host.evaluation.scoring import (
    SCORED_KINDS,
    VOLUNTARY_ACTIVITIES,
    Detection,
    DetectionRecord,
    KindMetrics,
    Match,
    Metrics,
    RecordingScore,
    match_episodes,
    score_recording,
    scored_truth,
    summarize,
)

__all__ = [
    "CORPUS_SIZES",
    "SCORED_KINDS",
    "VOLUNTARY_ACTIVITIES",
    "CorpusItem",
    "Detection",
    "DetectionRecord",
    "EvaluationReport",
    "ItemResult",
    "ItemTags",
    "KindMetrics",
    "Match",
    "Metrics",
    "RecordingScore",
    "Simulated",
    "TargetResult",
    "benchmark_corpus",
    "check_targets",
    "compare_accel",
    "evaluate_corpus",
    "format_markdown",
    "format_text",
    "load_item",
    "match_episodes",
    "reports_to_dict",
    "score_recording",
    "scored_truth",
    "summarize",
]
