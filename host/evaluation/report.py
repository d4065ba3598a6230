"""Results of a benchmark run: per-recording and pooled metrics, targets, and their tables.

An :class:`EvaluationReport` holds one run of the detector over a corpus (with or without the
accelerometer). :func:`format_text` renders it for a terminal, :func:`format_markdown` for the
documentation, and :func:`reports_to_dict` as JSON-ready data. Undefined metrics are NaN in
the objects, ``n/a`` in the tables and ``null`` in JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from host.evaluation.corpus import ItemTags
from host.evaluation.scoring import Metrics, RecordingScore, summarize

__all__ = [
    "DURATION_ERROR_TARGET",
    "FALSE_ALARMS_PER_H_TARGET",
    "F1_TARGET_EMG_ONLY",
    "F1_TARGET_WITH_ACCEL",
    "ONSET_ERROR_TARGET_S",
    "EvaluationReport",
    "ItemResult",
    "TargetResult",
    "build_report",
    "check_targets",
    "format_markdown",
    "format_text",
    "reports_to_dict",
]

#: Episode F1 the detector aims at with the accelerometer.
F1_TARGET_WITH_ACCEL: Final = 0.90
#: Episode F1 the detector aims at from EMG alone.
F1_TARGET_EMG_ONLY: Final = 0.80
#: Most false alarms per hour of recording.
FALSE_ALARMS_PER_H_TARGET: Final = 1.0
#: Largest median onset error, seconds.
ONSET_ERROR_TARGET_S: Final = 0.25
#: Largest median relative duration error.
DURATION_ERROR_TARGET: Final = 0.20

NA: Final = "n/a"


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class ItemResult:
    """The score of one recording in one run.

    Parameters
    ----------
    name : str
        Corpus item name.
    tags : ItemTags
        The item's tags.
    score : RecordingScore
        Matches, misses and false alarms.
    metrics : Metrics
        ``summarize([score])``.
    simulate_s : float
        Wall time spent simulating the recording, seconds.
    analyze_s : float
        Wall time spent in the detector, seconds.
    """

    name: str
    tags: ItemTags
    score: RecordingScore
    metrics: Metrics
    simulate_s: float
    analyze_s: float

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dictionary (NaN as None)."""
        return {
            "name": self.name,
            "tags": self.tags.to_dict(),
            "duration_s": self.score.duration_s,
            "simulate_s": round(self.simulate_s, 3),
            "analyze_s": round(self.analyze_s, 3),
            "metrics": self.metrics.to_dict(),
            "missed": [t.to_dict() for t in self.score.missed],
            "false_alarms": [d.to_dict() for d in self.score.false_alarms],
        }


@dataclass(frozen=True)
class TargetResult:
    """One target checked against the pooled metrics.

    Parameters
    ----------
    name : str
        Short name (``"f1"``, ``"false_alarms_per_h"``, ...).
    description : str
        What is required, e.g. ``"F1 >= 0.90"``.
    value : float
        The measured value (NaN when undefined).
    threshold : float
        The limit.
    higher_is_better : bool
        Whether the value must be at least (True) or at most (False) the threshold.
    """

    name: str
    description: str
    value: float
    threshold: float
    higher_is_better: bool

    @property
    def met(self) -> bool:
        """Whether the target is met (an undefined value never meets it)."""
        if math.isnan(self.value):
            return False
        if self.higher_is_better:
            return self.value >= self.threshold
        return self.value <= self.threshold

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dictionary (NaN as None)."""
        return {
            "name": self.name,
            "description": self.description,
            "value": None if math.isnan(self.value) else self.value,
            "threshold": self.threshold,
            "met": self.met,
        }


def check_targets(metrics: Metrics, *, use_accel: bool) -> list[TargetResult]:
    """Check the detector's targets.

    Parameters
    ----------
    metrics : Metrics
        Pooled metrics of a run.
    use_accel : bool
        Whether the run used the accelerometer (the F1 target differs).

    Returns
    -------
    targets : list of TargetResult
        F1 (>= 0.90 with the accelerometer, >= 0.80 from EMG alone), false alarms per hour
        (<= 1), median onset error (<= 0.25 s), median duration error (<= 20 %).
    """
    f1_target = F1_TARGET_WITH_ACCEL if use_accel else F1_TARGET_EMG_ONLY
    mode = "with accelerometer" if use_accel else "EMG only"
    return [
        TargetResult("f1", f"F1 >= {f1_target:.2f} ({mode})", metrics.f1, f1_target, True),
        TargetResult(
            "false_alarms_per_h",
            f"false alarms <= {FALSE_ALARMS_PER_H_TARGET:g} per hour",
            metrics.false_alarms_per_h,
            FALSE_ALARMS_PER_H_TARGET,
            False,
        ),
        TargetResult(
            "onset_error_median_s",
            f"median onset error <= {ONSET_ERROR_TARGET_S:g} s",
            metrics.onset_error_median_s,
            ONSET_ERROR_TARGET_S,
            False,
        ),
        TargetResult(
            "duration_error_median",
            f"median duration error <= {100.0 * DURATION_ERROR_TARGET:.0f} %",
            metrics.duration_error_median,
            DURATION_ERROR_TARGET,
            False,
        ),
    ]


@dataclass(frozen=True)
class EvaluationReport:
    """One run of the detector over a corpus.

    Parameters
    ----------
    use_accel : bool
        Whether the detector was given the accelerometer.
    items : tuple of ItemResult
        Per-recording results, in corpus order.
    overall : Metrics
        Metrics pooled over all recordings.
    corpus : str
        Name of the corpus (``"full"``, ``"quick"`` or a description).
    """

    use_accel: bool
    items: tuple[ItemResult, ...]
    overall: Metrics
    corpus: str = ""

    @property
    def mode(self) -> str:
        """``"EMG + accelerometer"`` or ``"EMG only"``."""
        return "EMG + accelerometer" if self.use_accel else "EMG only"

    @property
    def analyze_s(self) -> float:
        """Total wall time spent in the detector, seconds."""
        return math.fsum(i.analyze_s for i in self.items)

    def targets(self) -> list[TargetResult]:
        """Return the targets checked against :attr:`overall`."""
        return check_targets(self.overall, use_accel=self.use_accel)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dictionary (NaN as None)."""
        return {
            "corpus": self.corpus,
            "mode": self.mode,
            "use_accel": self.use_accel,
            "n_recordings": len(self.items),
            "duration_h": self.overall.duration_s / 3600.0,
            "analyze_s": round(self.analyze_s, 3),
            "overall": self.overall.to_dict(),
            "targets": [t.to_dict() for t in self.targets()],
            "items": [i.to_dict() for i in self.items],
        }


def build_report(
    results: Sequence[ItemResult], *, use_accel: bool, corpus: str = ""
) -> EvaluationReport:
    """Pool per-recording results into a report.

    Parameters
    ----------
    results : sequence of ItemResult
        One per recording.
    use_accel : bool
        Whether the run used the accelerometer.
    corpus : str
        Name of the corpus, for the headings.

    Returns
    -------
    report : EvaluationReport
        With the pooled (micro-averaged) metrics.
    """
    scores: list[RecordingScore] = [r.score for r in results]
    return EvaluationReport(
        use_accel=use_accel, items=tuple(results), overall=summarize(scores), corpus=corpus
    )


def reports_to_dict(reports: Sequence[EvaluationReport]) -> dict[str, Any]:
    """Return one or more runs as a JSON-ready dictionary ``{"runs": [...]}``."""
    return {"runs": [r.to_dict() for r in reports]}


# --------------------------------------------------------------------------- formatting


def _num(value: float, digits: int = 2) -> str:
    return NA if math.isnan(value) else f"{value:.{digits}f}"


def _pct(value: float) -> str:
    return NA if math.isnan(value) else f"{100.0 * value:.0f} %"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600.0:.2f} h"


@dataclass(frozen=True)
class _Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    #: Left-align every column (key/value tables); otherwise only the first one.
    left: bool = False

    def text(self, indent: str = "  ") -> str:
        widths = [
            max(len(cell) for cell in column)
            for column in zip(self.headers, *self.rows, strict=True)
        ]

        def line(cells: Sequence[str]) -> str:
            first = cells[0].ljust(widths[0])
            rest = (
                c.ljust(w) if self.left else c.rjust(w)
                for c, w in zip(cells[1:], widths[1:], strict=True)
            )
            return (indent + "  ".join((first, *rest))).rstrip()

        rule = indent + "  ".join("-" * w for w in widths)
        return "\n".join([line(self.headers), rule, *(line(r) for r in self.rows)])

    def markdown(self) -> str:
        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        align = ["---", *("---" if self.left else "---:" for _ in self.headers[1:])]
        return "\n".join([line(self.headers), "|" + "|".join(align) + "|", *map(line, self.rows)])


def _overall_table(m: Metrics) -> _Table:
    rows = [
        ("scored episodes", str(m.n_truth)),
        ("involuntary detections", str(m.n_detections)),
        ("matched / missed", f"{m.n_matched} / {m.n_missed}"),
        ("precision", _num(m.precision, 3)),
        ("recall", _num(m.recall, 3)),
        ("F1", _num(m.f1, 3)),
        (
            "false alarms per hour",
            f"{_num(m.false_alarms_per_h)} ({m.n_false_alarms} in {_hours(m.duration_s)})",
        ),
        (
            "false alarms per hour of voluntary activity",
            f"{_num(m.false_alarms_in_activity_per_h)} ({m.n_false_alarms_in_activity} in "
            f"{_hours(m.voluntary_activity_s)})",
        ),
        (
            "false alarms on twitches / on artefacts",
            f"{m.n_false_alarms_on_twitch} / {m.n_false_alarms_on_artefact}",
        ),
        (
            "onset error median / p90",
            f"{_num(m.onset_error_median_s)} s / {_num(m.onset_error_p90_s)} s",
        ),
        (
            "duration error median / p90",
            f"{_pct(m.duration_error_median)} / {_pct(m.duration_error_p90)}",
        ),
        ("side correct", _pct(m.side_accuracy)),
        ("kind correct", _pct(m.kind_accuracy)),
        (
            "voluntary contractions found as voluntary",
            f"{m.n_voluntary_found} / {m.n_voluntary} ({_pct(m.voluntary_recall)})",
        ),
    ]
    return _Table(("metric", "value"), tuple(rows), left=True)


def _kind_table(m: Metrics) -> _Table:
    rows = [
        (
            k.kind,
            str(k.n_truth),
            str(k.n_matched),
            _num(k.recall, 3),
            _num(k.onset_error_median_s),
            _pct(k.duration_error_median),
        )
        for k in m.per_kind.values()
    ]
    headers = ("kind", "episodes", "matched", "recall", "onset error (s)", "duration error")
    return _Table(headers, tuple(rows))


def _confusion_table(m: Metrics) -> _Table:
    columns = list(next(iter(m.confusion.values())).keys()) if m.confusion else []
    rows = [(kind, *(str(m.confusion[kind][c]) for c in columns)) for kind in m.confusion]
    return _Table(("truth \\ detected", *columns), tuple(rows))


def _item_table(report: EvaluationReport) -> _Table:
    rows = []
    for item in report.items:
        m, t = item.metrics, item.tags
        rows.append(
            (
                item.name,
                f"{m.duration_s / 60.0:.0f}",
                f"{t.mains_hz:g}",
                t.snr,
                t.electrode,
                str(m.n_truth),
                str(m.n_matched),
                str(m.n_false_alarms),
                _num(m.precision),
                _num(m.recall),
                _num(m.f1),
                _num(m.onset_error_median_s),
                _pct(m.duration_error_median),
            )
        )
    headers = (
        "recording",
        "min",
        "mains",
        "SNR",
        "electrodes",
        "episodes",
        "matched",
        "false alarms",
        "P",
        "R",
        "F1",
        "onset (s)",
        "duration",
    )
    return _Table(headers, tuple(rows))


def _target_table(report: EvaluationReport) -> _Table:
    formats: dict[str, Callable[[float], str]] = {
        "f1": lambda v: _num(v, 3),
        "false_alarms_per_h": _num,
        "onset_error_median_s": lambda v: f"{_num(v)} s",
        "duration_error_median": _pct,
    }
    rows = [
        (t.description, formats.get(t.name, _num)(t.value), "met" if t.met else "missed")
        for t in report.targets()
    ]
    return _Table(("target", "value", "status"), tuple(rows))


def _comparison_table(reports: Sequence[EvaluationReport]) -> _Table:
    rows = []
    metrics = [r.overall for r in reports]
    lines: tuple[tuple[str, Callable[[Metrics], str]], ...] = (
        ("precision", lambda m: _num(m.precision, 3)),
        ("recall", lambda m: _num(m.recall, 3)),
        ("F1", lambda m: _num(m.f1, 3)),
        ("false alarms per hour", lambda m: _num(m.false_alarms_per_h)),
        ("median onset error (s)", lambda m: _num(m.onset_error_median_s)),
        ("median duration error", lambda m: _pct(m.duration_error_median)),
    )
    for label, fmt in lines:
        rows.append((label, *(fmt(m) for m in metrics)))
    return _Table(("metric", *(r.mode for r in reports)), tuple(rows))


def _heading(report: EvaluationReport) -> str:
    corpus = f"{report.corpus} corpus, " if report.corpus else ""
    n = len(report.items)
    return (
        f"{report.mode}: {corpus}{n} recording{'' if n == 1 else 's'}, "
        f"{_hours(report.overall.duration_s)}"
    )


def _sections(report: EvaluationReport) -> list[tuple[str, _Table]]:
    return [
        ("Overall", _overall_table(report.overall)),
        ("Per kind", _kind_table(report.overall)),
        ("Kind confusion", _confusion_table(report.overall)),
        ("Per recording", _item_table(report)),
        ("Targets", _target_table(report)),
    ]


def format_text(reports: Sequence[EvaluationReport]) -> str:
    """Render one or more runs as plain-text tables for a terminal.

    Parameters
    ----------
    reports : sequence of EvaluationReport
        The runs (e.g. with and without the accelerometer); two or more get a side-by-side
        summary at the end.

    Returns
    -------
    text : str
        The tables, ending with a newline. Undefined values read ``n/a``.
    """
    out: list[str] = []
    for report in reports:
        out += [_heading(report), "=" * len(_heading(report)), ""]
        for title, table in _sections(report):
            out += [title, table.text(), ""]
        duration_s = report.overall.duration_s
        if report.analyze_s > 0.0 and duration_s > 0.0:
            out += [
                f"Detector time: {report.analyze_s:.1f} s for {_hours(duration_s)} "
                f"({duration_s / report.analyze_s:.0f}x real time)",
                "",
            ]
    if len(reports) > 1:
        out += ["Comparison", _comparison_table(reports).text(), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def format_markdown(reports: Sequence[EvaluationReport]) -> str:
    """Render one or more runs as markdown tables (for ``docs/detector.md``).

    Parameters
    ----------
    reports : sequence of EvaluationReport
        The runs.

    Returns
    -------
    markdown : str
        A ``###`` heading per run and ``####`` per table; no timings, so the text depends
        only on the corpus and the detector.
    """
    out: list[str] = []
    if len(reports) > 1:
        out += ["### Summary", "", _comparison_table(reports).markdown(), ""]
    for report in reports:
        out += [f"### {_heading(report)}", ""]
        for title, table in _sections(report):
            out += [f"#### {title}", "", table.markdown(), ""]
    return "\n".join(out).rstrip("\n") + "\n"
