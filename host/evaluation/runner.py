"""Run the spasm detector over the benchmark corpus and score it.

Each corpus item is simulated (:func:`~host.evaluation.corpus.load_item`), passed to the
detector (by default ``host.analysis.analyze_arrays``) with or without the accelerometer, and
its episodes are scored against the truth (:func:`~host.evaluation.scoring.score_recording`).
With ``jobs > 1`` the items are spread over worker processes started with the ``spawn``
method; each worker simulates and analyses one item at a time.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import pickle
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Protocol, cast

import numpy as np
from numpy.typing import NDArray

from host.errors import ConfigError, SpasmwatchError
from host.evaluation.corpus import CorpusItem, load_item
from host.evaluation.report import EvaluationReport, ItemResult, build_report
from host.evaluation.scoring import Detection, RecordingScore, score_recording, summarize

__all__ = ["AnalysisLike", "AnalyzeFn", "compare_accel", "evaluate_corpus"]

logger = logging.getLogger(__name__)


class AnalysisLike(Protocol):
    """What the runner needs from a detector's result: its episodes."""

    @property
    def episodes(self) -> Sequence[Detection]:
        """Detected episodes (see :class:`~host.evaluation.scoring.Detection`)."""


class AnalyzeFn(Protocol):
    """The detector entry point the runner calls (``host.analysis.analyze_arrays``)."""

    def __call__(
        self,
        emg_v: NDArray[np.float64],
        sfreq: float,
        *,
        accel_g: NDArray[np.float64] | None = ...,
        accel_sfreq: float | None = ...,
    ) -> AnalysisLike:
        """Analyse a whole recording: EMG (2, n_times) in volts, acceleration (3, m) in g."""


def _default_analyze() -> AnalyzeFn:
    """Return ``host.analysis.analyze_arrays``, imported on first use."""
    try:
        module = importlib.import_module("host.analysis")
        analyze = module.analyze_arrays
    except (ImportError, AttributeError) as exc:
        raise SpasmwatchError(
            f"the spasm detector (host.analysis.analyze_arrays) is not available: {exc}"
        ) from exc
    return cast(AnalyzeFn, analyze)


@dataclass(frozen=True)
class _ItemOutcome:
    scores: tuple[RecordingScore, ...]  # one per mode
    analyze_s: tuple[float, ...]
    simulate_s: float


def _run_item(task: tuple[CorpusItem, AnalyzeFn | None, tuple[bool, ...]]) -> _ItemOutcome:
    """Simulate one item and score the detector on it in every mode (a worker's job)."""
    item, analyze, modes = task
    fn = analyze if analyze is not None else _default_analyze()
    t0 = time.perf_counter()
    sim = load_item(item)
    simulate_s = time.perf_counter() - t0
    scores, times = [], []
    for use_accel in modes:
        with_accel = use_accel and sim.accel_sfreq > 0
        t0 = time.perf_counter()
        try:
            result = fn(
                sim.emg_v,
                sim.sfreq,
                accel_g=sim.accel_g if with_accel else None,
                accel_sfreq=sim.accel_sfreq if with_accel else None,
            )
        except Exception as exc:
            exc.add_note(f"while analysing corpus item {item.name!r} (accelerometer: {use_accel})")
            raise
        times.append(time.perf_counter() - t0)
        scores.append(score_recording(sim.truth, result.episodes, sim.duration_s, name=item.name))
    return _ItemOutcome(tuple(scores), tuple(times), simulate_s)


def _check_jobs(jobs: int) -> None:
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs must be a positive integer, got {jobs!r}.")


def _check_items(items: Sequence[CorpusItem]) -> None:
    if len(items) == 0:
        raise ConfigError("no corpus items to evaluate; expected at least one.")
    names = [i.name for i in items]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"corpus item names must be unique; repeated: {', '.join(duplicates)}.")


def _evaluate(
    items: Sequence[CorpusItem],
    analyze: AnalyzeFn | None,
    modes: tuple[bool, ...],
    jobs: int,
    corpus: str,
) -> list[EvaluationReport]:
    _check_jobs(jobs)
    _check_items(items)
    tasks = [(item, analyze, modes) for item in items]
    outcomes: list[_ItemOutcome] = []
    workers = min(jobs, len(items))
    if workers == 1:
        for item, task in zip(items, tasks, strict=True):
            outcomes.append(_run_item(task))
            _log_item(item, outcomes[-1])
    else:
        if analyze is not None:
            try:
                pickle.dumps(analyze)
            except (pickle.PicklingError, AttributeError, TypeError) as exc:
                raise ConfigError(
                    "with jobs > 1 the analyze function must be picklable (a module-level "
                    f"function), got {analyze!r}."
                ) from exc
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for item, outcome in zip(items, pool.map(_run_item, tasks), strict=True):
                outcomes.append(outcome)
                _log_item(item, outcome)
    reports = []
    for k, use_accel in enumerate(modes):
        results = [
            ItemResult(
                name=item.name,
                tags=item.tags,
                score=outcome.scores[k],
                metrics=summarize([outcome.scores[k]]),
                simulate_s=outcome.simulate_s,
                analyze_s=outcome.analyze_s[k],
            )
            for item, outcome in zip(items, outcomes, strict=True)
        ]
        reports.append(build_report(results, use_accel=use_accel, corpus=corpus))
    return reports


def _log_item(item: CorpusItem, outcome: _ItemOutcome) -> None:
    score = outcome.scores[0]
    logger.info(
        "%s: %d episodes, %d matched, %d false alarms (simulated in %.1f s, analysed in %.1f s)",
        item.name,
        score.n_truth,
        len(score.matches),
        len(score.false_alarms),
        outcome.simulate_s,
        sum(outcome.analyze_s),
    )


def evaluate_corpus(
    items: Sequence[CorpusItem],
    *,
    analyze: AnalyzeFn | None = None,
    use_accel: bool = True,
    jobs: int = 1,
    corpus: str = "",
) -> EvaluationReport:
    """Run the detector over corpus items and score it.

    Parameters
    ----------
    items : sequence of CorpusItem
        The recordings (e.g. :func:`~host.evaluation.corpus.benchmark_corpus`); names must be
        unique.
    analyze : callable | None
        ``analyze(emg_v, sfreq, *, accel_g=None, accel_sfreq=None)`` returning an object with
        ``.episodes``. Default: ``host.analysis.analyze_arrays``, imported when needed.
        With ``jobs > 1`` it must be picklable (a module-level function).
    use_accel : bool
        Give the detector the accelerometer (True) or only the EMG (``accel_g=None``).
    jobs : int
        Worker processes (1: run in this process).
    corpus : str
        Name of the corpus, for the report's headings.

    Returns
    -------
    report : EvaluationReport
        Per-recording and pooled metrics.

    Raises
    ------
    ConfigError
        If ``items`` is empty or has repeated names, ``jobs`` is not a positive integer, or
        ``analyze`` cannot be sent to worker processes.
    SpasmwatchError
        If the default detector cannot be imported.
    """
    return _evaluate(items, analyze, (use_accel,), jobs, corpus)[0]


def compare_accel(
    items: Sequence[CorpusItem],
    *,
    analyze: AnalyzeFn | None = None,
    jobs: int = 1,
    corpus: str = "",
) -> tuple[EvaluationReport, EvaluationReport]:
    """Score the detector with and without the accelerometer, simulating each item once.

    Parameters
    ----------
    items : sequence of CorpusItem
        The recordings.
    analyze : callable | None
        The detector (see :func:`evaluate_corpus`).
    jobs : int
        Worker processes.
    corpus : str
        Name of the corpus, for the headings.

    Returns
    -------
    with_accel, emg_only : EvaluationReport
        The two runs.
    """
    with_accel, emg_only = _evaluate(items, analyze, (True, False), jobs, corpus)
    return with_accel, emg_only
