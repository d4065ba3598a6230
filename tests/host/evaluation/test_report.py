"""Targets and tables of a benchmark run."""

from __future__ import annotations

import dataclasses
import json
import math

from host.evaluation.corpus import ItemTags
from host.evaluation.report import (
    EvaluationReport,
    ItemResult,
    build_report,
    check_targets,
    format_markdown,
    format_text,
    reports_to_dict,
)
from host.evaluation.scoring import DetectionRecord, score_recording, summarize
from host.simulator.scenario import TruthEvent

TAGS = ItemTags(mains_hz=60.0, snr="low", electrode="pops", style="night", routine="night")


def spasm(onset: float, duration: float, kind: str = "tonic") -> TruthEvent:
    return TruthEvent(onset, duration, "contraction", kind, "left", involuntary=True)


def det(start: float, end: float, kind: str = "tonic") -> DetectionRecord:
    return DetectionRecord(start, end, True, kind, "left", 0.9)


def item_result(name: str, truth: list[TruthEvent], dets: list[DetectionRecord]) -> ItemResult:
    score = score_recording(truth, dets, 1800.0, name=name)
    return ItemResult(name, TAGS, score, summarize([score]), simulate_s=1.0, analyze_s=2.0)


def sample_report(use_accel: bool = True) -> EvaluationReport:
    a = item_result("rec-a", [spasm(100.0, 10.0), spasm(300.0, 60.0, "cramp")], [det(100.1, 110)])
    b = item_result("rec-b", [spasm(50.0, 5.0, "clonic")], [det(50, 55, "clonic"), det(900, 901)])
    return build_report([a, b], use_accel=use_accel, corpus="test")


def test_targets_met_and_missed() -> None:
    perfect = summarize([score_recording([spasm(10.0, 5.0)], [det(10.0, 15.0)], 3600.0)])
    targets = check_targets(perfect, use_accel=True)
    assert [t.name for t in targets] == [
        "f1",
        "false_alarms_per_h",
        "onset_error_median_s",
        "duration_error_median",
    ]
    assert all(t.met for t in targets)
    middling = dataclasses.replace(perfect, f1=0.85, false_alarms_per_h=1.5)
    with_accel = {t.name: t for t in check_targets(middling, use_accel=True)}
    emg_only = {t.name: t for t in check_targets(middling, use_accel=False)}
    assert not with_accel["f1"].met
    assert with_accel["f1"].threshold == 0.90
    assert emg_only["f1"].met
    assert emg_only["f1"].threshold == 0.80
    assert not emg_only["false_alarms_per_h"].met
    slow = dataclasses.replace(perfect, onset_error_median_s=0.3, duration_error_median=0.2)
    by_name = {t.name: t.met for t in check_targets(slow, use_accel=True)}
    assert by_name == {
        "f1": True,
        "false_alarms_per_h": True,
        "onset_error_median_s": False,
        "duration_error_median": True,  # the limit itself is allowed
    }


def test_undefined_values_miss_their_target_and_read_n_a() -> None:
    empty = build_report([], use_accel=False)
    targets = empty.targets()
    assert not any(t.met for t in targets)
    assert all(t.to_dict()["value"] is None for t in targets)
    text = format_text([empty])
    assert "EMG only: 0 recordings, 0.00 h" in text
    assert "n/a" in text
    assert "nan" not in text.lower()
    assert "missed" in text


def test_text_tables() -> None:
    report = sample_report()
    text = format_text([report])
    lines = text.splitlines()
    assert lines[0] == "EMG + accelerometer: test corpus, 2 recordings, 1.00 h"
    for title in ("Overall", "Per kind", "Kind confusion", "Per recording", "Targets"):
        assert title in lines
    row = next(line for line in lines if line.strip().startswith("rec-b"))
    assert row.split()[:8] == ["rec-b", "30", "60", "low", "pops", "1", "1", "1"]
    f1_line = next(line for line in lines if line.strip().startswith("F1 "))
    assert f1_line.split()[-1] == f"{report.overall.f1:.3f}"
    assert "false alarms per hour" in text
    assert "1.00 (1 in 1.00 h)" in text  # one false alarm in an hour
    cramp = next(line for line in lines if line.strip().startswith("cramp "))
    assert cramp.split()[1:4] == ["1", "0", "0.000"]
    confusion = next(line for line in lines if line.strip().startswith("truth"))
    assert confusion.split()[-1] == "missed"
    assert "Detector time: 4.0 s for 1.00 h (900x real time)" in text


def test_two_runs_get_a_comparison() -> None:
    text = format_text([sample_report(True), sample_report(False)])
    assert "EMG only: test corpus" in text
    comparison = text[text.index("Comparison") :]
    assert "EMG + accelerometer" in comparison
    assert "F1 >= 0.80 (EMG only)" in text
    assert "F1 >= 0.90 (with accelerometer)" in text


def test_markdown_has_tables_and_no_timings() -> None:
    md = format_markdown([sample_report(True), sample_report(False)])
    assert md.startswith("### Summary\n")
    assert "### EMG + accelerometer: test corpus, 2 recordings, 1.00 h" in md
    assert "#### Per recording" in md
    assert "| metric | value |" in md
    assert "| rec-a | 30 | 60 | low | pops |" in md
    assert "| truth \\ detected | tonic | clonic | myoclonic | cramp | missed |" in md
    assert "Detector time" not in md
    assert md == format_markdown([sample_report(True), sample_report(False)])


def test_json_is_strict_and_complete() -> None:
    report = sample_report()
    data = reports_to_dict([report])
    text = json.dumps(data, allow_nan=False)
    back = json.loads(text)
    run = back["runs"][0]
    assert run["mode"] == "EMG + accelerometer"
    assert run["n_recordings"] == 2
    assert math.isclose(run["overall"]["f1"], report.overall.f1)
    assert run["overall"]["per_kind"]["myoclonic"]["recall"] is None
    assert run["overall"]["confusion"]["cramp"]["missed"] == 1
    assert [t["name"] for t in run["targets"]][0] == "f1"
    item = run["items"][1]
    assert item["name"] == "rec-b"
    assert item["tags"]["electrode"] == "pops"
    assert item["false_alarms"] == [
        {
            "start_s": 900.0,
            "end_s": 901.0,
            "involuntary": True,
            "kind": "tonic",
            "side": "left",
            "confidence": 0.9,
        }
    ]
    assert run["items"][0]["missed"][0]["kind"] == "cramp"
