"""The runner: simulate, analyse with an injected detector, score, in one or more processes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from host.errors import ConfigError, SpasmwatchError
from host.evaluation import runner
from host.evaluation.corpus import CorpusItem, load_item
from host.evaluation.runner import compare_accel, evaluate_corpus


def test_a_detector_that_returns_the_truth_scores_one(
    tiny_items: list[CorpusItem], fake_detector: Callable[..., Any]
) -> None:
    detector = fake_detector()
    report = evaluate_corpus(tiny_items, analyze=detector, corpus="tiny")
    m = report.overall
    assert m.n_truth == 4  # tonic, clonic, cramp; myoclonic (the twitch is not scored)
    assert m.f1 == 1.0
    assert m.n_false_alarms == 0
    assert m.onset_error_median_s == 0.0
    assert [i.name for i in report.items] == ["tiny-a", "tiny-b"]
    assert [i.metrics.n_truth for i in report.items] == [3, 1]
    assert all(i.metrics.f1 == 1.0 for i in report.items)
    assert report.use_accel
    assert report.corpus == "tiny"
    assert all(t.met for t in report.targets())
    # The detector saw the whole recording and the accelerometer.
    assert [c["emg_shape"] for c in detector.calls] == [(2, 60000), (2, 90000)]
    assert [c["accel_shape"] for c in detector.calls] == [(3, 6000), (3, 9000)]
    assert [c["accel_sfreq"] for c in detector.calls] == [50.0, 100.0]


def test_a_detector_that_finds_nothing_has_zero_recall(
    tiny_items: list[CorpusItem], fake_detector: Callable[..., Any]
) -> None:
    report = evaluate_corpus(tiny_items[:1], analyze=fake_detector(empty=True))
    m = report.overall
    assert m.recall == 0.0
    assert m.f1 == 0.0
    assert math.isnan(m.precision)
    assert m.n_missed == 3
    assert not report.targets()[0].met


def test_emg_only_passes_no_accelerometer(
    tiny_items: list[CorpusItem], fake_detector: Callable[..., Any]
) -> None:
    detector = fake_detector()
    report = evaluate_corpus(tiny_items[1:], analyze=detector, use_accel=False)
    assert not report.use_accel
    assert report.mode == "EMG only"
    assert detector.calls == [
        {"duration_s": 90.0, "emg_shape": (2, 90000), "accel_shape": None, "accel_sfreq": None}
    ]


def test_compare_accel_simulates_once_and_returns_both_runs(
    tiny_items: list[CorpusItem],
    fake_detector: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loads: list[str] = []
    real_load = load_item

    def counting_load(item: CorpusItem) -> Any:
        loads.append(item.name)
        return real_load(item)

    monkeypatch.setattr(runner, "load_item", counting_load)
    detector = fake_detector()
    with_accel, emg_only = compare_accel(tiny_items[1:], analyze=detector)
    assert loads == ["tiny-b"]
    assert (with_accel.use_accel, emg_only.use_accel) == (True, False)
    assert [c["accel_shape"] for c in detector.calls] == [(3, 9000), None]
    assert with_accel.overall.f1 == emg_only.overall.f1 == 1.0


def test_bad_arguments_are_refused(
    tiny_items: list[CorpusItem], fake_detector: Callable[..., Any]
) -> None:
    detector = fake_detector()
    with pytest.raises(ConfigError, match="jobs"):
        evaluate_corpus(tiny_items, analyze=detector, jobs=0)
    with pytest.raises(ConfigError, match="at least one"):
        evaluate_corpus([], analyze=detector)
    with pytest.raises(ConfigError, match="unique.*tiny-a"):
        evaluate_corpus([tiny_items[0], tiny_items[0]], analyze=detector)
    with pytest.raises(ConfigError, match="picklable"):
        evaluate_corpus(tiny_items, analyze=lambda *a, **k: None, jobs=2)  # type: ignore[arg-type]
    assert detector.calls == []


def test_a_missing_detector_is_a_clear_error(
    tiny_items: list[CorpusItem], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "host.analysis", None)  # makes the import fail
    with pytest.raises(SpasmwatchError, match=r"host\.analysis\.analyze_arrays"):
        evaluate_corpus(tiny_items[1:])


def test_a_detector_error_names_the_item(tiny_items: list[CorpusItem]) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom") as info:
        evaluate_corpus(tiny_items[1:], analyze=broken)
    assert any("tiny-b" in note for note in info.value.__notes__)


SPAWN_SCRIPT = """
import json
import sys
from dataclasses import dataclass

from host.evaluation.corpus import CorpusItem, ItemTags
from host.evaluation.runner import evaluate_corpus
from host.evaluation.scoring import scored_truth
from host.simulator.scenario import loads_scenario

TOML = '''
name = "{name}"
[wearer]
seed = {seed}
electrode_pop_per_h = 0.0
lift_off_per_h = 0.0
motion_artefact_per_h = 0.0
saturation_per_h = 0.0
[[segment]]
activity = "sitting"
duration_s = {duration}
[[episode]]
start_s = 20.0
kind = "tonic"
side = "left"
duration_s = 5.0
peak_mvc = 0.4
'''


def item(name, seed, duration):
    text = TOML.format(name=name, seed=seed, duration=duration)
    tags = ItemTags(50.0, "high", "good", "day", "test")
    return CorpusItem(name, loads_scenario(text), text, 500.0, 50.0, seed, tags)


ITEMS = [item("spawn-a", 1, 40.0), item("spawn-b", 2, 45.0), item("spawn-c", 3, 50.0)]
TRUTH = {round(i.duration_s): scored_truth(i.truth()) for i in ITEMS}


@dataclass(frozen=True)
class Found:
    start_s: float
    end_s: float
    involuntary: bool
    kind: str
    side: str
    confidence: float


@dataclass(frozen=True)
class Result:
    episodes: list


def oracle(emg_v, sfreq, *, accel_g=None, accel_sfreq=None):
    truth = TRUTH[round(emg_v.shape[1] / sfreq)]
    return Result([Found(t.onset_s, t.offset_s, True, t.kind, t.side, 1.0) for t in truth])


if __name__ == "__main__":
    report = evaluate_corpus(ITEMS, analyze=oracle, jobs=2)
    json.dump(
        {"f1": report.overall.f1, "names": [i.name for i in report.items]}, sys.stdout
    )
"""


def test_worker_processes_give_the_same_scores(tmp_path: Path) -> None:
    script = tmp_path / "spawn_run.py"
    script.write_text(SPAWN_SCRIPT, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out == {"f1": 1.0, "names": ["spawn-a", "spawn-b", "spawn-c"]}
