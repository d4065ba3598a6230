"""``spasmwatch evaluate`` on a tiny corpus with an injected detector."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from host.cli import main
from host.evaluation import corpus, runner
from host.evaluation.corpus import CorpusItem


@pytest.fixture
def sizes(
    tiny_items: list[CorpusItem],
    fake_detector: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> list[str]:
    """Serve the tiny items as the corpus and a truth-returning detector; record sizes asked."""
    asked: list[str] = []

    def tiny_corpus(size: str = "full") -> list[CorpusItem]:
        asked.append(size)
        return list(tiny_items)

    detector = fake_detector()
    monkeypatch.setattr(corpus, "benchmark_corpus", tiny_corpus)
    monkeypatch.setattr(runner, "_default_analyze", lambda: detector)
    return asked


def test_table_output(sizes: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate"]) == 0
    out = capsys.readouterr().out
    assert sizes == ["full"]
    lines = out.splitlines()
    assert lines[0] == "EMG + accelerometer: full corpus, 2 recordings, 0.06 h"
    f1 = next(line for line in lines if line.strip().startswith("F1 "))
    assert f1.split()[-1] == "1.000"
    for name in ("tiny-a", "tiny-b"):
        row = next(line for line in lines if line.strip().startswith(name))
        assert row.split()[-6:-3] == ["1.00", "1.00", "1.00"]  # P, R, F1 (then "0.00 0 %")
    kinds = [line.split()[0] for line in lines if line.strip().split()[:1] == ["tonic"]]
    assert kinds  # per-kind rows
    targets = out[out.index("Targets") :]
    assert targets.count(" met") == 4
    assert "F1 >= 0.90 (with accelerometer)" in targets


def test_targets_missed_still_exit_zero(
    tiny_items: list[CorpusItem],
    fake_detector: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    detector = fake_detector(empty=True)
    monkeypatch.setattr(corpus, "benchmark_corpus", lambda size="full": list(tiny_items))
    monkeypatch.setattr(runner, "_default_analyze", lambda: detector)
    assert main(["evaluate", "--emg-only", "--item", "tiny-b"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("EMG only: full corpus, 1 recording, 0.03 h")
    assert "F1 >= 0.80 (EMG only)" in out
    assert "missed" in out
    assert "n/a" in out
    assert "tiny-a" not in out
    assert detector.calls[0]["accel_shape"] is None


def test_json_output(sizes: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--quick", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sizes == ["quick"]
    (run,) = data["runs"]
    assert run["corpus"] == "quick"
    assert run["overall"]["f1"] == 1.0
    assert run["overall"]["n_truth"] == 4
    assert [i["name"] for i in run["items"]] == ["tiny-a", "tiny-b"]
    assert all(t["met"] for t in run["targets"])


def test_both_modes_and_markdown(
    sizes: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "benchmark.md"
    assert main(["evaluate", "--both", "--markdown", str(path), "--item", "tiny-b"]) == 0
    out = capsys.readouterr().out
    assert "EMG + accelerometer: full corpus, 1 recording" in out
    assert "EMG only: full corpus, 1 recording" in out
    assert "Comparison" in out
    md = path.read_text(encoding="utf-8")
    assert md.startswith("### Summary")
    assert md.count("#### Per recording") == 2
    assert "| tiny-b |" in md


def test_list(sizes: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["tiny-a", "tiny-b"]
    assert lines[0].split()[-2:] == ["3", "episodes"]


def test_bad_options(sizes: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--item", "nope"]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err
    assert "tiny-a, tiny-b" in err
    assert main(["evaluate", "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "--both", "--emg-only"])
    assert info.value.code == 2
