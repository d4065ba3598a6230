"""The guided calibration procedure: prompts on sample indices, gaps, rejected trials, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from dsp.calibration import Calibration
from host.calibration import (
    PHASES,
    PROMPT_KINDS,
    CalibrationError,
    CalibrationPlan,
    CalibrationProcedure,
    Prompt,
)
from host.errors import ConfigError, SpasmwatchError

SFREQ = 1000.0
REST_V = 3e-6
CONTRACT_V = 300e-6
CLIP_V = 1.65e-3
#: The wearer starts contracting this long after "go" and relaxes this long after "release".
REACTION_S = 0.3


def _nominal_windows(plan: CalibrationPlan, sfreq: float) -> list[tuple[int, int]]:
    """Sample spans of the contractions of a wearer who follows the default time line."""
    n = round
    go = n(plan.rest_s * sfreq) + n(plan.countdown_s * sfreq)
    out = []
    for _ in range(plan.n_trials):
        start = go + n(REACTION_S * sfreq)
        out.append((start, go + n(plan.contract_s * sfreq)))
        go += n(plan.contract_s * sfreq) + n(plan.between_s * sfreq)
    return out


def _scripted(
    plan: CalibrationPlan, sfreq: float, *, seed: int, contract_v: float = CONTRACT_V
) -> NDArray[np.float64]:
    """EMG of a wearer contracting on the nominal cues (no interruptions), 2 s longer."""
    rng = np.random.default_rng(seed)
    n_times = round((plan.duration_s + 2.0) * sfreq)
    scale = np.full(n_times, REST_V)
    for start, end in _nominal_windows(plan, sfreq):
        scale[start:end] = contract_v
    out: NDArray[np.float64] = rng.standard_normal((2, n_times)) * scale
    return out


class Wearer:
    """Contracts while the procedure is in its contraction phase (reacting block by block)."""

    def __init__(
        self,
        proc: CalibrationProcedure,
        *,
        seed: int,
        contract_v: float = CONTRACT_V,
        first_sample: int | None = None,
    ) -> None:
        self.proc = proc
        self.rng = np.random.default_rng(seed)
        self.contract_v = contract_v
        self.first_sample = first_sample  # stream index of the procedure's sample 0

    def block(self, n: int) -> NDArray[np.float64]:
        level = self.contract_v if self.proc.phase == "contract" else REST_V
        out: NDArray[np.float64] = self.rng.standard_normal((self.proc.n_channels, n)) * level
        return out

    def run(self, n_times: int, block: int = 50) -> list[Prompt]:
        out: list[Prompt] = []
        for _ in range(0, n_times, block):
            first = None if self.first_sample is None else self.first_sample + self.proc.n_times
            out.extend(self.proc.process(self.block(block), first_sample=first))
        return out


def _expected_schedule(plan: CalibrationPlan, sfreq: float) -> list[tuple[int, str, int | None]]:
    """(sample, kind, trial) of every prompt of an uninterrupted run, from the plan."""
    n = round
    rest, count = n(plan.rest_s * sfreq), plan.countdown_s
    contract, between = n(plan.contract_s * sfreq), n(plan.between_s * sfreq)
    out: list[tuple[int, str, int | None]] = [(0, "relax", None)]
    go = rest + n(count * sfreq)
    for k in range(1, plan.n_trials + 1):
        start = go - n(count * sfreq)
        out += [(start + n(i * sfreq), "ready" if i == 0 else "count", k) for i in range(count)]
        out.append((go, "go", k))
        out.append((go + contract, "release", k))
        go += contract + between
    out.append((out[-1][0], "done", None))
    return out


def test_default_time_line_prompts_at_exact_samples() -> None:
    plan = CalibrationPlan()
    proc = CalibrationProcedure(SFREQ, 2, clip_level_v=CLIP_V)
    prompts = proc.start()
    data = _scripted(plan, SFREQ, seed=1)
    for i in range(0, data.shape[1], 50):
        prompts += proc.process(data[:, i : i + 50])
    got = [(p.sample, p.kind, p.trial) for p in prompts]
    assert got == _expected_schedule(plan, SFREQ)
    # The documented default time line: go at 13, 28 and 43 s, complete at 48 s.
    assert [p.time_s for p in prompts if p.kind == "go"] == [13.0, 28.0, 43.0]
    assert prompts[-1].kind == "done"
    assert prompts[-1].time_s == plan.duration_s == 48.0
    assert [p.text for p in prompts if p.trial == 1 and p.kind == "count"] == ["2", "1"]
    assert "as hard as you can" in prompts[1].text
    assert prompts[1].text.endswith("3")
    assert all(p.kind in PROMPT_KINDS and p.phase in PHASES for p in prompts)
    assert all(p.time_s == p.sample / SFREQ for p in prompts)
    assert proc.prompts == prompts
    assert proc.finished
    assert not proc.failed
    assert proc.remaining_s == 0.0
    cal = proc.result()
    assert isinstance(cal, Calibration)
    assert cal.reference_kind == "MVC"
    assert cal.unit == "%MVC"
    assert cal.n_rest_times == round(plan.rest_s * SFREQ)
    assert cal.n_reference_times == plan.n_trials * round(plan.contract_s * SFREQ)
    # White noise: the 20-400 Hz band keeps about 380/500 of its power; the MVC is the
    # highest 0.5 s RMS, a little above the mean, and the rest the median 0.25 s RMS.
    band = math.sqrt((cal.h_freq - cal.l_freq) / (SFREQ / 2))
    for ref in cal.reference_rms_v:
        assert CONTRACT_V * band < ref < 1.2 * CONTRACT_V * band
    for rest in cal.rest_rms_v:
        assert rest == pytest.approx(REST_V * band, rel=0.1)
    # Samples after the end are counted but say nothing.
    assert proc.process(data[:, :500]) == []


def test_odd_rate_and_plan_prompts_on_rounded_samples() -> None:
    plan = CalibrationPlan(rest_s=6.3, n_trials=2, contract_s=2.7, between_s=4.1, countdown_s=2)
    sfreq = 512.0
    proc = CalibrationProcedure(sfreq, 1, plan=plan)
    data = _scripted(plan, sfreq, seed=2)[:1]
    prompts: list[Prompt] = []
    for i in range(0, data.shape[1], 37):
        prompts += proc.process(data[:, i : i + 37])
    assert [(p.sample, p.kind, p.trial) for p in prompts] == _expected_schedule(plan, sfreq)
    assert proc.result().n_channels == 1


def test_remaining_time_counts_down_to_the_end() -> None:
    plan = CalibrationPlan()
    proc = CalibrationProcedure(SFREQ, 2)
    assert proc.remaining_s == pytest.approx(plan.duration_s)
    Wearer(proc, seed=3).run(20_000)
    assert proc.remaining_s == pytest.approx(plan.duration_s - 20.0)
    assert proc.phase == "wait"
    assert proc.trial == 2


@settings(max_examples=15, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=4000), min_size=1, max_size=40),
    seed=st.integers(min_value=0, max_value=3),
)
def test_block_size_invariance(sizes: list[int], seed: int) -> None:
    plan = CalibrationPlan(rest_s=5.0, n_trials=2, contract_s=2.0, between_s=4.0)
    data = _scripted(plan, SFREQ, seed=seed)
    whole = CalibrationProcedure(SFREQ, 2, plan=plan, clip_level_v=CLIP_V)
    expected = whole.process(data)
    pieces = CalibrationProcedure(SFREQ, 2, plan=plan, clip_level_v=CLIP_V)
    got: list[Prompt] = []
    pos, i = 0, 0
    while pos < data.shape[1]:
        step = sizes[i % len(sizes)]
        got += pieces.process(data[:, pos : pos + step], first_sample=1000 + pos)
        pos, i = pos + step, i + 1
    assert got == expected
    assert pieces.result() == whole.result()
    assert pieces.mains_freq == whole.mains_freq


def test_overlapping_block_is_not_counted_twice() -> None:
    plan = CalibrationPlan()
    data = _scripted(plan, SFREQ, seed=4)
    ref = CalibrationProcedure(SFREQ, 2)
    ref.process(data)
    proc = CalibrationProcedure(SFREQ, 2)
    proc.process(data[:, :30_000], first_sample=7)
    assert proc.process(data[:, 29_000:29_900], first_sample=7 + 29_000) == []  # already in
    proc.process(data[:, 29_500:], first_sample=7 + 29_500)
    assert proc.interruptions == 0
    assert proc.result() == ref.result()


def test_gap_during_rest_restarts_the_rest() -> None:
    plan = CalibrationPlan()
    proc = CalibrationProcedure(SFREQ, 2)
    wearer = Wearer(proc, seed=5)
    prompts = wearer.run(4000)
    block = wearer.block(1000)
    block[:, 200:700] = np.nan  # 0.5 s lost at 4.2 s
    prompts += proc.process(block)
    restart = 4700
    assert [(p.sample, p.kind) for p in prompts] == [(0, "relax"), (restart, "repeat")]
    assert "Signal lost for 0.5 s during the rest" in prompts[-1].text
    assert "rest recording starts again" in prompts[-1].text
    prompts += wearer.run(60_000)
    gos = [p.sample for p in prompts if p.kind == "go"]
    assert gos[0] == restart + round((plan.rest_s + plan.countdown_s) * SFREQ)
    assert proc.interruptions == 1
    cal = proc.result()
    assert cal.n_rest_times == round(plan.rest_s * SFREQ)  # only the clean rest


def test_gap_during_a_trial_repeats_it_after_a_full_rest() -> None:
    plan = CalibrationPlan()
    proc = CalibrationProcedure(SFREQ, 2)
    wearer = Wearer(proc, seed=6, first_sample=0)
    prompts = wearer.run(30_000)  # trial 2 started at 28 s
    assert proc.phase == "contract"
    assert proc.trial == 2
    # 0.3 s missing, in three pieces (a frame's jump, then NaN columns over two blocks):
    # one gap, acted on when the signal is back.
    prompts += proc.process(np.full((2, 100), np.nan), first_sample=30_000 + 150)
    assert proc.interruptions == 0
    block = wearer.block(100)
    block[:, :50] = np.nan
    prompts += proc.process(block)
    resume = 30_000 + 300
    repeat = prompts[-1]
    assert (repeat.sample, repeat.kind, repeat.trial) == (resume, "repeat", 2)
    assert repeat.text.startswith("Signal lost for 0.3 s during trial 2")
    assert "Release and relax: trial 2 is repeated in 10 s" in repeat.text
    assert proc.phase == "wait"
    assert proc.interruptions == 1
    prompts += wearer.run(60_000)
    gos = [(p.sample, p.trial) for p in prompts if p.kind == "go"]
    between = round(plan.between_s * SFREQ)
    assert gos[2] == (resume + between, 2)
    assert gos[3][1] == 3
    assert len(gos) == 4
    cal = proc.result()
    assert cal.n_reference_times == plan.n_trials * round(plan.contract_s * SFREQ)


def test_gap_reported_by_the_stream_and_a_restart() -> None:
    proc = CalibrationProcedure(SFREQ, 2)
    wearer = Wearer(proc, seed=7)
    wearer.run(11_000)  # in the countdown of trial 1
    assert proc.phase == "prepare"
    assert proc.gap(0, reason="The wearable restarted") == []
    prompts = wearer.run(50)
    assert prompts[0].kind == "repeat"
    assert prompts[0].text.startswith("The wearable restarted before trial 1")
    assert "Keep relaxing: trial 1 starts in 10 s" in prompts[0].text
    proc.gap(250)
    assert proc.n_times == 11_050 + 250
    assert proc.process(np.empty((2, 0))) == []  # no signal yet: still in the gap
    assert proc.interruptions == 1
    prompts = wearer.run(50)
    assert prompts[0].text.startswith("Signal lost for 0.25 s before trial 1")
    assert proc.interruptions == 2


def test_too_many_interruptions_fail_with_advice() -> None:
    plan = CalibrationPlan(max_interruptions=2)
    proc = CalibrationProcedure(SFREQ, 2, plan=plan)
    wearer = Wearer(proc, seed=8)
    prompts = wearer.run(2000)
    for _ in range(3):
        proc.gap(100)
        prompts += wearer.run(1000)
    assert proc.finished
    assert proc.failed
    assert prompts[-1].kind == "failed"
    with pytest.raises(CalibrationError, match="interrupted 3 times") as info:
        proc.result()
    assert "Check the link to the wearable" in str(info.value)
    assert isinstance(info.value, SpasmwatchError)
    assert wearer.run(1000) == []


def test_weak_contraction_fails_with_what_to_do() -> None:
    plan = CalibrationPlan()
    proc = CalibrationProcedure(SFREQ, 2)
    data = _scripted(plan, SFREQ, seed=9, contract_v=2 * REST_V)
    prompts = proc.process(data)
    assert [p.kind for p in prompts[-2:]] == ["release", "failed"]
    assert proc.failed
    with pytest.raises(CalibrationError) as info:
        proc.result()
    message = str(info.value)
    assert message.startswith("Not enough contraction: left: ")
    assert "right: " in message
    assert "Run the calibration again" in message
    assert "as hard as you can" in message


def test_clipping_trial_is_repeated() -> None:
    plan = CalibrationPlan(n_trials=2)
    proc = CalibrationProcedure(SFREQ, 2, plan=plan, clip_level_v=CLIP_V)
    wearer = Wearer(proc, seed=10, contract_v=3e-3)  # beyond the front end's range
    prompts = wearer.run(18_000)
    data_end = prompts[-1]
    assert data_end.kind == "repeat"
    assert data_end.sample == 18_000
    assert data_end.text.startswith("Trial 1 rejected: reference trial clips")
    assert "Release and relax: trial 1 is repeated" in data_end.text
    wearer.contract_v = CONTRACT_V
    prompts += wearer.run(40_000)
    assert proc.result().n_reference_times == 2 * round(plan.contract_s * SFREQ)
    assert [p.trial for p in prompts if p.kind == "go"] == [1, 1, 2]


def test_clipping_rest_restarts_the_rest() -> None:
    proc = CalibrationProcedure(SFREQ, 2, clip_level_v=CLIP_V)
    data = np.random.default_rng(11).standard_normal((2, 10_000)) * REST_V
    data[0, 3000:3100] = 2e-3
    prompts = proc.process(data)
    assert prompts[-1].kind == "repeat"
    assert prompts[-1].text.startswith("Rest recording rejected: rest trial clips")
    assert proc.phase == "rest"
    assert proc.interruptions == 1


def test_rvc_with_a_level() -> None:
    plan = CalibrationPlan(kind="RVC", level=0.4)
    proc = CalibrationProcedure(SFREQ, 2, plan=plan)
    prompts = proc.process(_scripted(plan, SFREQ, seed=12, contract_v=100e-6))
    go = next(p for p in prompts if p.kind == "go")
    assert "about 40 % of your maximum" in go.text
    cal = proc.result()
    assert (cal.reference_kind, cal.reference_level, cal.unit) == ("RVC", 0.4, "%RVC")


def test_fixed_mains_and_detected_mains() -> None:
    plan = CalibrationPlan()
    data = _scripted(plan, SFREQ, seed=13)
    t = np.arange(data.shape[1]) / SFREQ
    hum = data + 20e-6 * np.sin(2 * np.pi * 60.0 * t)
    detected = CalibrationProcedure(SFREQ, 2)
    detected.process(hum)
    assert detected.mains_freq == 60.0 == detected.result().mains_freq
    fixed = CalibrationProcedure(SFREQ, 2, mains_freq=50.0)
    fixed.process(data)
    assert fixed.result().mains_freq == 50.0


def test_result_before_the_end_says_what_is_missing() -> None:
    proc = CalibrationProcedure(SFREQ, 2)
    Wearer(proc, seed=14).run(30_000)
    with pytest.raises(CalibrationError, match=r"during trial 2, with 18\.0 s of signal"):
        proc.result()


def test_reset_starts_again() -> None:
    proc = CalibrationProcedure(SFREQ, 2)
    Wearer(proc, seed=15).run(20_000)
    proc.reset()
    assert proc.prompts == []
    assert proc.n_times == 0
    assert proc.phase == "rest"
    assert [p.kind for p in proc.start()] == ["relax"]
    assert proc.start() == []


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"rest_s": 4.0}, "rest_s must be at least 5 s"),
        ({"contract_s": 0.5}, "contract_s must be at least 1 s"),
        ({"n_trials": 0}, "n_trials must be an integer >= 1"),
        ({"between_s": 2.0}, "must leave room for the countdown"),
        ({"kind": "max"}, "Allowed values are 'MVC', 'RVC'"),
        ({"level": 0.5}, "use kind='RVC'"),
        ({"kind": "RVC", "level": 40.0}, r"fraction of MVC in \(0, 1\]"),
        ({"rest_s": math.nan}, "rest_s must be at least"),
        ({"max_interruptions": -1}, "max_interruptions"),
    ],
)
def test_plan_errors(options: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        CalibrationPlan(**options)  # type: ignore[arg-type]


def test_procedure_errors() -> None:
    with pytest.raises(ConfigError, match="sfreq must be > 0"):
        CalibrationProcedure(0.0, 2)
    with pytest.raises(ConfigError, match="n_channels"):
        CalibrationProcedure(SFREQ, 0)
    with pytest.raises(ConfigError, match="cannot calibrate this signal"):
        CalibrationProcedure(SFREQ, 2, ch_names=("only one",))
    proc = CalibrationProcedure(SFREQ, 2)
    with pytest.raises(ConfigError, match=r"shape \(2, n_times\)"):
        proc.process(np.zeros((3, 10)))
    with pytest.raises(ConfigError, match="n_times"):
        proc.gap(-1)
