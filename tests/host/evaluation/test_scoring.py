"""Episode-level scoring on hand-made truth and detection lists."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from host.errors import ConfigError
from host.evaluation.scoring import (
    SCORED_KINDS,
    DetectionRecord,
    match_episodes,
    score_recording,
    scored_truth,
    summarize,
)
from host.simulator.scenario import TruthEvent

HOUR = 3600.0


@dataclass(frozen=True)
class Det:
    start_s: float
    end_s: float
    involuntary: bool = True
    kind: str = "tonic"
    side: str = "left"
    confidence: float = 0.8


def spasm(onset: float, duration: float, kind: str = "tonic", side: str = "left") -> TruthEvent:
    return TruthEvent(onset, duration, "contraction", kind, side, involuntary=True, peak_mvc=0.4)


def voluntary(onset: float, duration: float) -> TruthEvent:
    return TruthEvent(onset, duration, "contraction", "voluntary", "bilateral", peak_mvc=0.3)


def activity(onset: float, duration: float, kind: str) -> TruthEvent:
    return TruthEvent(onset, duration, "activity", kind)


def record(d: Det) -> DetectionRecord:
    return DetectionRecord.from_detection(d)


def test_perfect_detections_score_one() -> None:
    truth = [
        activity(0.0, HOUR, "sitting"),
        spasm(100.0, 10.0, "tonic", "left"),
        spasm(300.0, 5.0, "clonic", "right"),
        spasm(600.0, 3.0, "myoclonic", "bilateral"),
        spasm(900.0, 60.0, "cramp", "left"),
    ]
    dets = [Det(t.onset_s, t.offset_s, True, t.kind, t.side) for t in truth[1:]]
    m = summarize([score_recording(truth, dets, HOUR)])
    assert (m.n_truth, m.n_detections, m.n_matched, m.n_false_alarms) == (4, 4, 4, 0)
    assert m.precision == m.recall == m.f1 == 1.0
    assert m.false_alarms_per_h == 0.0
    assert m.onset_error_median_s == 0.0
    assert m.duration_error_p90 == 0.0
    assert m.side_accuracy == m.kind_accuracy == 1.0
    for kind in SCORED_KINDS:
        assert m.per_kind[kind].recall == 1.0
        assert m.confusion[kind][kind] == 1
        assert m.confusion[kind]["missed"] == 0


def test_shifted_detections_give_onset_and_duration_errors() -> None:
    truth = [spasm(100.0, 10.0), spasm(200.0, 20.0), spasm(300.0, 4.0)]
    dets = [
        Det(100.5, 110.5),  # late by 0.5 s, same length
        Det(199.0, 221.0),  # early by 1 s, 2 s longer (10 %)
        Det(302.0, 303.0),  # late by 2 s, 3 s shorter (75 %)
    ]
    m = summarize([score_recording(truth, dets, HOUR)])
    assert m.n_matched == 3
    onset = [0.5, 1.0, 2.0]
    duration = [0.0, 0.1, 0.75]
    assert m.onset_error_median_s == pytest.approx(np.median(onset))
    assert m.onset_error_p90_s == pytest.approx(1.8)  # linear interpolation: 1 + 0.8 * (2 - 1)
    assert m.duration_error_median == pytest.approx(0.1)
    assert m.duration_error_p90 == pytest.approx(np.percentile(duration, 90))


def test_touching_intervals_do_not_match() -> None:
    truth = [spasm(100.0, 10.0)]
    m = summarize([score_recording(truth, [Det(110.0, 115.0)], HOUR)])
    assert m.n_matched == 0
    assert m.n_false_alarms == 1
    assert m.recall == 0.0


def test_split_episode_gives_one_match_and_one_false_alarm() -> None:
    truth = [spasm(100.0, 20.0)]
    small, large = Det(100.0, 104.0), Det(106.0, 120.0)
    matches, missed, unmatched = match_episodes(truth, [record(small), record(large)])
    assert [m.detection for m in matches] == [record(large)]  # the larger overlap wins
    assert missed == []
    assert unmatched == [record(small)]
    m = summarize([score_recording(truth, [small, large], HOUR)])
    assert (m.n_matched, m.n_false_alarms) == (1, 1)
    assert m.precision == 0.5
    assert m.recall == 1.0
    assert m.f1 == pytest.approx(2 * 0.5 * 1.0 / 1.5)


def test_merged_episodes_give_one_match_and_one_miss() -> None:
    truth = [spasm(100.0, 5.0, "clonic"), spasm(108.0, 10.0, "tonic")]
    merged = Det(100.0, 118.0, kind="tonic")
    matches, missed, unmatched = match_episodes(truth, [record(merged)])
    assert [m.truth for m in matches] == [truth[1]]  # 10 s overlap beats 5 s
    assert missed == [truth[0]]
    assert unmatched == []
    m = summarize([score_recording(truth, [merged], HOUR)])
    assert m.recall == 0.5
    assert m.precision == 1.0
    assert m.confusion["clonic"]["missed"] == 1


def test_matching_maximises_the_number_of_pairs() -> None:
    # Greedy by overlap would pair the long detection with the long episode (10 s) and leave
    # the short episode unmatched; the optimum pairs both.
    truth = [spasm(0.0, 10.0), spasm(12.0, 2.0)]
    dets = [record(Det(0.0, 14.0)), record(Det(8.0, 9.0))]
    matches, missed, unmatched = match_episodes(truth, dets)
    assert len(matches) == 2
    assert missed == []
    assert unmatched == []
    pairs = {(m.truth.onset_s, m.detection.start_s) for m in matches}
    assert pairs == {(0.0, 8.0), (12.0, 0.0)}


def test_ties_in_count_are_broken_by_total_overlap() -> None:
    truth = [spasm(0.0, 10.0)]
    dets = [record(Det(0.0, 2.0)), record(Det(1.0, 9.0)), record(Det(9.5, 12.0))]
    matches, _, unmatched = match_episodes(truth, dets)
    assert matches[0].detection == dets[1]
    assert matches[0].overlap_s == pytest.approx(8.0)
    assert unmatched == [dets[0], dets[2]]


def test_missed_episodes_and_no_detections() -> None:
    truth = [spasm(100.0, 10.0), spasm(200.0, 10.0, "cramp")]
    m = summarize([score_recording(truth, [], HOUR)])
    assert m.recall == 0.0
    assert m.f1 == 0.0
    assert math.isnan(m.precision)
    assert math.isnan(m.onset_error_median_s)
    assert math.isnan(m.side_accuracy)
    assert m.confusion["cramp"]["missed"] == 1
    assert m.per_kind["cramp"].recall == 0.0
    assert math.isnan(m.per_kind["clonic"].recall)  # no clonic episodes at all


def test_false_alarms_per_hour() -> None:
    truth = [activity(0.0, 1800.0, "sitting"), spasm(100.0, 10.0)]
    dets = [Det(100.0, 110.0), Det(500.0, 505.0), Det(900.0, 903.0)]
    score = score_recording(truth, dets, 1800.0)
    m = summarize([score])
    assert m.n_false_alarms == 2
    assert m.false_alarms_per_h == pytest.approx(4.0)
    assert [d.start_s for d in score.false_alarms] == [500.0, 900.0]
    assert m.n_false_alarms_in_activity == 0  # sitting is not voluntary activity


def test_twitches_are_not_scored_and_detecting_one_is_a_false_alarm() -> None:
    twitch = TruthEvent(50.0, 0.2, "contraction", "twitch", "left", involuntary=True)
    truth = [twitch, spasm(100.0, 10.0)]
    assert scored_truth(truth) == [truth[1]]
    m = summarize([score_recording(truth, [Det(100.0, 110.0)], HOUR)])
    assert m.n_truth == 1
    assert m.recall == 1.0
    assert m.n_false_alarms == 0
    m = summarize([score_recording(truth, [Det(49.9, 50.3), Det(100.0, 110.0)], HOUR)])
    assert m.n_truth == 1
    assert m.n_false_alarms == 1
    assert m.n_false_alarms_on_twitch == 1
    only_twitch = summarize([score_recording([twitch], [], HOUR)])
    assert only_twitch.n_truth == 0
    assert math.isnan(only_twitch.recall)


def test_voluntary_detections_do_not_compete() -> None:
    truth = [spasm(100.0, 10.0), voluntary(200.0, 3.0), voluntary(300.0, 2.0)]
    dets = [
        Det(100.0, 110.0, involuntary=False, kind="voluntary"),  # a spasm called voluntary
        Det(200.5, 202.0, involuntary=False, kind="voluntary"),
    ]
    m = summarize([score_recording(truth, dets, HOUR)])
    assert m.n_detections == 0
    assert m.recall == 0.0
    assert m.n_false_alarms == 0
    assert (m.n_voluntary, m.n_voluntary_found) == (2, 1)
    assert m.voluntary_recall == 0.5


def test_false_alarms_during_voluntary_activity() -> None:
    truth = [
        activity(0.0, 100.0, "sitting"),
        voluntary(50.0, 4.0),  # 4 s of voluntary activity while sitting
        activity(100.0, 100.0, "walking"),
        voluntary(150.0, 2.0),  # inside the walk: counted once
        activity(200.0, 30.0, "lifting"),
        activity(230.0, 370.0, "standing"),
        spasm(300.0, 10.0),
    ]
    dets = [
        Det(51.0, 52.0),  # on the voluntary contraction
        Det(120.0, 125.0),  # while walking
        Det(210.0, 211.0),  # while lifting
        Det(198.0, 201.0),  # straddles walking and lifting: one false alarm
        Det(400.0, 402.0),  # while standing: not during voluntary activity
        Det(301.0, 309.0),  # the spasm
    ]
    score = score_recording(truth, dets, 600.0)
    assert score.voluntary_activity_s == pytest.approx(134.0)
    m = summarize([score])
    assert m.n_false_alarms == 5
    assert m.n_false_alarms_in_activity == 4
    assert m.false_alarms_in_activity_per_h == pytest.approx(4 / (134.0 / HOUR))
    assert m.false_alarms_per_h == pytest.approx(5 / (600.0 / HOUR))


def test_per_kind_metrics_and_confusion() -> None:
    truth = [
        spasm(100.0, 10.0, "tonic", "left"),
        spasm(200.0, 30.0, "cramp", "right"),
        spasm(300.0, 5.0, "clonic", "bilateral"),
        spasm(400.0, 3.0, "myoclonic", "left"),
        spasm(500.0, 8.0, "tonic", "right"),
    ]
    dets = [
        Det(100.2, 110.0, kind="tonic", side="left"),
        Det(200.0, 225.0, kind="tonic", side="right"),  # cramp called tonic
        Det(300.0, 305.0, kind="clonic", side="left"),  # wrong side
        Det(500.0, 508.0, kind="spasm", side="right"),  # a kind the truth does not use
    ]
    m = summarize([score_recording(truth, dets, HOUR)])
    assert m.confusion["tonic"] == {
        "tonic": 1,
        "clonic": 0,
        "myoclonic": 0,
        "cramp": 0,
        "spasm": 1,
        "missed": 0,
    }
    assert m.confusion["cramp"]["tonic"] == 1
    assert m.confusion["myoclonic"]["missed"] == 1
    assert m.per_kind["tonic"].n_truth == 2
    assert m.per_kind["tonic"].recall == 1.0
    assert m.per_kind["tonic"].onset_error_median_s == pytest.approx(0.1)
    assert m.per_kind["cramp"].duration_error_median == pytest.approx(5.0 / 30.0)
    assert m.per_kind["myoclonic"].recall == 0.0
    assert math.isnan(m.per_kind["myoclonic"].onset_error_median_s)
    assert m.kind_accuracy == pytest.approx(2 / 4)
    assert m.side_accuracy == pytest.approx(3 / 4)


def test_empty_inputs_give_nan_not_errors() -> None:
    m = summarize([score_recording([], [], 0.0)])
    assert m.n_truth == m.n_detections == m.n_false_alarms == 0
    for value in (
        m.precision,
        m.recall,
        m.f1,
        m.false_alarms_per_h,
        m.false_alarms_in_activity_per_h,
        m.onset_error_median_s,
        m.onset_error_p90_s,
        m.duration_error_median,
        m.duration_error_p90,
        m.side_accuracy,
        m.kind_accuracy,
        m.voluntary_recall,
    ):
        assert math.isnan(value)
    nothing = summarize([])
    assert nothing.n_recordings == 0
    assert math.isnan(nothing.f1)
    assert all(v is None for v in (nothing.to_dict()["f1"], nothing.to_dict()["recall"]))


def test_pooling_is_over_counts_not_over_recordings() -> None:
    a = score_recording([spasm(10.0, 5.0), spasm(50.0, 5.0), spasm(90.0, 5.0)], [], 1800.0)
    b = score_recording([spasm(10.0, 5.0)], [Det(10.5, 15.0), Det(100.0, 101.0)], 1800.0)
    m = summarize([a, b])
    assert m.n_recordings == 2
    assert m.duration_s == 3600.0
    assert m.recall == pytest.approx(1 / 4)  # per-recording mean would be 0.5
    assert m.precision == pytest.approx(1 / 2)
    assert m.false_alarms_per_h == pytest.approx(1.0)
    assert m.onset_error_median_s == pytest.approx(0.5)


def test_invalid_detections_and_durations_raise() -> None:
    with pytest.raises(ConfigError, match=r"detection\[1\]"):
        score_recording([], [Det(1.0, 2.0), Det(5.0, 4.0)], HOUR)
    with pytest.raises(ConfigError, match="finite"):
        score_recording([], [Det(float("nan"), 2.0)], HOUR)
    with pytest.raises(ConfigError, match="duration_s"):
        score_recording([], [], -1.0)


def test_detection_order_does_not_matter() -> None:
    truth = [spasm(100.0, 10.0), spasm(200.0, 10.0), spasm(300.0, 10.0)]
    dets = [Det(301.0, 309.0), Det(150.0, 151.0), Det(99.0, 111.0), Det(205.0, 230.0)]
    forward = summarize([score_recording(truth, dets, HOUR)])
    backward = summarize([score_recording(truth, dets[::-1], HOUR)])
    assert forward.to_dict() == backward.to_dict()
    assert forward.n_matched == 3
