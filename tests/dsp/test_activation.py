"""Tests of dsp.activation: rules on synthetic envelopes, simulator, real data, contract."""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from dsp.activation import Activation, ActivationDetector, _rest_level
from dsp.envelope import MovingRms
from dsp.preprocess import EmgPreprocessor
from host.simulator import BodySimulator, builtin_scenario

SFREQ = 1000.0
UV = 1e-6
REST_V = 5 * UV
BURST_V = 50 * UV
RMS_WINDOW_S = 0.15
SAMPLE_DATA = (
    Path(__file__).resolve().parents[1] / "data" / "03_emggo_onset_and_ecg" / "Sample_Data.npz"
)


# --------------------------------------------------------------------------- helpers


def _envelope(
    bursts: list[tuple[float, float]],
    duration_s: float,
    *,
    seed: int = 0,
    sfreq: float = SFREQ,
    n_channels: int = 1,
) -> NDArray[np.float64]:
    """150 ms moving RMS of white noise at REST_V with bursts (start_s, dur_s) at BURST_V."""
    rng = np.random.default_rng(seed)
    n = round(duration_s * sfreq)
    amp = np.full(n, REST_V)
    for start_s, dur_s in bursts:
        amp[round(start_s * sfreq) : round((start_s + dur_s) * sfreq)] = BURST_V
    x = amp * rng.standard_normal((n_channels, n))
    return MovingRms(sfreq, n_channels, window_s=RMS_WINDOW_S).process(x)


def _detect_all(
    det: ActivationDetector,
    env: NDArray[np.float64],
    usable: NDArray[np.bool_] | None = None,
    sizes: list[int] | None = None,
) -> list[Activation]:
    """Run the detector over ``env`` in blocks of ``sizes`` (cycled), then flush."""
    out: list[Activation] = []
    n = env.shape[1]
    pos, k = 0, 0
    while pos < n:
        step = n if not sizes else sizes[k % len(sizes)]
        stop = min(n, pos + step)
        ok = None if usable is None else usable[..., pos:stop]
        out.extend(det.process(env[:, pos:stop], ok))
        pos, k = stop, k + 1
    out.extend(det.flush())
    return sorted(out, key=lambda a: (a.channel, a.start_sample))


def _times(acts: list[Activation], sfreq: float = SFREQ) -> list[tuple[float, float]]:
    return [(a.start_sample / sfreq, a.end_sample / sfreq) for a in acts]


# --------------------------------------------------------------------------- synthetic


def test_onsets_and_offsets_of_known_bursts() -> None:
    bursts = [(5.0, 1.0), (9.0, 0.7), (12.0, 2.0), (30.0, 3.0)]
    env = _envelope(bursts, 40.0)
    acts = _detect_all(ActivationDetector(SFREQ, 1), env)
    assert len(acts) == len(bursts)
    for act, (start_s, dur_s) in zip(acts, bursts, strict=True):
        onset_err = act.start_sample / SFREQ - start_s
        # The moving RMS rises within its window and falls one window after the burst.
        offset_err = act.end_sample / SFREQ - (start_s + dur_s) - RMS_WINDOW_S
        assert 0.0 <= onset_err < 0.05
        assert abs(offset_err) < 0.05
        assert act.baseline_v == pytest.approx(REST_V, rel=0.1)
        assert act.on_threshold_v > act.off_threshold_v > act.baseline_v
        assert act.peak_v >= act.mean_v > act.on_threshold_v
        assert act.mean_v == pytest.approx(BURST_V, rel=0.15)
        assert not act.interrupted


def test_no_detection_on_rest_and_during_warm_up() -> None:
    det = ActivationDetector(SFREQ, 2)
    env = _envelope([], 120.0, n_channels=2, seed=3)
    assert _detect_all(det, env) == []
    assert np.allclose(det.baseline_v, REST_V, rtol=0.1)
    # A burst inside the first min_baseline_s is part of the learning, never reported.
    early = _envelope([(0.5, 1.0)], 10.0)
    assert _detect_all(ActivationDetector(SFREQ, 1, min_baseline_s=2.0), early) == []


def test_minimum_duration() -> None:
    env = _envelope([(5.0, 0.3), (10.0, 0.6)], 15.0)
    # The envelope of a 0.3 s burst stays above threshold for about 0.3 s (+/- window).
    assert _times(_detect_all(ActivationDetector(SFREQ, 1, min_on_s=0.5), env)) == [
        pytest.approx((10.0, 10.75), abs=0.05)
    ]
    assert len(_detect_all(ActivationDetector(SFREQ, 1, min_on_s=0.2), env)) == 2


def test_merge_gap_and_min_off() -> None:
    # Envelope gaps (burst gap minus the 150 ms window): 0.05 s, 0.35 s, 1.35 s.
    env = _envelope([(5.0, 1.0), (6.2, 1.0), (7.7, 1.0), (10.2, 1.0)], 15.0)
    kw = {"min_off_s": 0.1}
    merged = _detect_all(ActivationDetector(SFREQ, 1, merge_gap_s=0.5, **kw), env)
    assert _times(merged) == [
        pytest.approx((5.0, 8.85), abs=0.05),
        pytest.approx((10.2, 11.35), abs=0.05),
    ]
    separate = _detect_all(ActivationDetector(SFREQ, 1, merge_gap_s=0.0, **kw), env)
    assert len(separate) == 3  # the 0.05 s dip is shorter than min_off_s
    # A long min_off_s bridges every gap but the last.
    long_off = _detect_all(ActivationDetector(SFREQ, 1, min_off_s=0.5, merge_gap_s=0.0), env)
    assert len(long_off) == 2
    # Gaps of merged activations are excluded from the mean.
    assert merged[0].mean_v == pytest.approx(BURST_V, rel=0.15)


def test_unusable_suppresses_and_ends() -> None:
    env = _envelope([(5.0, 2.0), (10.0, 2.0)], 15.0)
    usable = np.ones(env.shape[1], dtype=bool)
    usable[9500:12500] = False  # the whole second burst
    usable[6000:6100] = False  # 100 ms inside the first
    acts = _detect_all(ActivationDetector(SFREQ, 1), env, usable)
    # The first burst is ended at the gap and restarts after it; the second is never seen.
    assert _times(acts) == [
        pytest.approx((5.0, 6.0), abs=0.05),
        pytest.approx((6.1, 7.15), abs=0.05),
    ]
    assert acts[0].end_sample == 6000
    assert acts[0].interrupted
    assert acts[1].start_sample == 6100
    assert not acts[1].interrupted
    # Per-channel masks give the same; a 0.9 s piece before the gap is dropped (min_on_s).
    assert _detect_all(ActivationDetector(SFREQ, 1), env, usable[np.newaxis]) == acts
    usable[5900:6000] = False
    assert len(_detect_all(ActivationDetector(SFREQ, 1, min_on_s=0.95), env, usable)) == 1
    # Unusable rest is not learnt: a 10x level step while flagged does not move the baseline.
    det = ActivationDetector(SFREQ, 1)
    rest = _envelope([], 10.0)
    det.process(rest)
    before = det.baseline_v.copy()
    det.process(10 * rest, np.zeros(rest.shape[1], dtype=bool))
    # (only the quiet samples of the last update interval before the step are added)
    assert det.baseline_v == pytest.approx(before, rel=0.01)
    assert not det.active[0]


def test_ongoing_state_and_long_activation_does_not_raise_baseline() -> None:
    det = ActivationDetector(SFREQ, 1, baseline_s=30.0, max_on_s=50.0)
    env = _envelope([(10.0, 45.0)], 65.0)
    det.process(env[:, :40_000])
    assert det.active[0]
    assert det.onset_sample[0] == pytest.approx(10_000, abs=50)
    assert det.baseline_v[0] == pytest.approx(REST_V, rel=0.1)
    acts = det.process(env[:, 40_000:])
    assert len(acts) == 1
    assert acts[0].n_samples / SFREQ == pytest.approx(45.15, abs=0.05)
    assert not det.active[0]
    assert det.onset_sample[0] == -1
    assert det.baseline_v[0] == pytest.approx(REST_V, rel=0.1)


def test_lasting_level_change_is_relearnt() -> None:
    # Rest steps from 5 to 20 uV at 10 s (new posture) and stays there.
    rng = np.random.default_rng(7)
    n = round(150 * SFREQ)
    amp = np.where(np.arange(n) < 10 * SFREQ, REST_V, 4 * REST_V)
    env = MovingRms(SFREQ, 1, window_s=RMS_WINDOW_S).process(amp * rng.standard_normal((1, n)))
    det = ActivationDetector(SFREQ, 1, max_on_s=30.0)
    acts = _detect_all(det, env)
    assert len(acts) == 1
    assert acts[0].start_sample == pytest.approx(10_000, abs=50)
    assert acts[0].n_samples / SFREQ == pytest.approx(30.0, abs=1.0)
    assert det.baseline_v[0] == pytest.approx(4 * REST_V, rel=0.1)
    # Without relearning the channel stays active to the end.
    never = ActivationDetector(SFREQ, 1, max_on_s=None)
    never.process(env)
    assert never.active[0]


def test_baseline_tracks_slow_change() -> None:
    # Rest doubles over 5 min (electrode drying); a 2x step over minutes is not activity.
    rng = np.random.default_rng(5)
    n = round(300 * SFREQ)
    amp = REST_V * np.linspace(1.0, 2.0, n)
    env = MovingRms(SFREQ, 1, window_s=RMS_WINDOW_S).process(amp * rng.standard_normal((1, n)))
    det = ActivationDetector(SFREQ, 1)
    assert _detect_all(det, env) == []
    assert det.baseline_v[0] == pytest.approx(1.9 * REST_V, rel=0.1)


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=8),
    seed=st.integers(min_value=0, max_value=3),
    baseline_s=st.sampled_from([60.0, 2.0]),
)
def test_block_size_invariance(sizes: list[int], seed: int, baseline_s: float) -> None:
    # A 60 s history never fills here; a 2 s one does, and rest is then skipped over
    # (updates bounded, not estimated, except where the bound does not decide).
    sfreq = 250.0
    env = _envelope(
        [(4.0, 1.0), (5.3, 0.4), (6.0, 0.2), (9.0, 2.0), (14.0, 1.0)],
        20.0,
        seed=seed,
        sfreq=sfreq,
        n_channels=2,
    )
    usable = np.ones(env.shape, dtype=bool)
    usable[1, 2400:2600] = False
    usable[0, 3600:3700] = False
    kw = {
        "min_on_s": 0.2,
        "min_off_s": 0.1,
        "min_baseline_s": 1.0,
        "update_s": 0.3,
        "max_on_s": 1.5,
        "baseline_s": baseline_s,
    }
    whole = _detect_all(ActivationDetector(sfreq, 2, **kw), env, usable)
    assert len(whole) >= 6
    blocks = _detect_all(ActivationDetector(sfreq, 2, **kw), env, usable, sizes)
    # Identical but for the rounding of the mean, which is summed block by block.
    assert [dataclasses.replace(a, mean_v=0.0) for a in blocks] == [
        dataclasses.replace(a, mean_v=0.0) for a in whole
    ]
    assert [a.mean_v for a in blocks] == pytest.approx([a.mean_v for a in whole], rel=1e-12)


@pytest.mark.parametrize("block", [250, 7919, None])
def test_thresholds_are_the_exact_robust_statistics_of_the_quiet_history(
    block: int | None,
) -> None:
    # At rest every usable sample on the 25 Hz grid is quiet, so after the last update the
    # baseline and noise are numpy's median and 1.4826 x MAD of the last 60 s of them,
    # bit for bit, however the stream was cut (in one block, rest is skipped over and
    # most updates are only bounded).
    sfreq, update_s, baseline_s = 250.0, 1.0, 60.0
    rng = np.random.default_rng(3)
    n = round(150 * sfreq) + 77
    env = REST_V * (1.0 + 0.1 * (rng.random((2, n)) - 0.5))  # never 30 % above rest
    usable = np.ones((2, n), dtype=bool)
    usable[1, round(100 * sfreq) : round(103 * sfreq)] = False
    usable[1, rng.integers(0, n, 50)] = False
    det = ActivationDetector(sfreq, 2, update_s=update_s, baseline_s=baseline_s)
    assert _detect_all(det, env, usable, None if block is None else [block]) == []
    decim = round(sfreq / 25.0)
    last_update = (n - 1) // round(update_s * sfreq) * round(update_s * sfreq)
    for c in range(2):
        grid = np.arange(0, last_update, decim)
        hist = env[c, grid[usable[c, grid]]][-round(baseline_s * 25.0) :]
        base = float(np.median(hist))
        noise = max(1.4826 * float(np.median(np.abs(hist - base))), 0.1 * base)
        assert det.baseline_v[c] == base
        assert det.noise_v[c] == noise
        assert det.on_threshold_v[c] == base + 3.0 * noise
        assert det.off_threshold_v[c] == base + 1.5 * noise


def test_reset_and_empty_block() -> None:
    env = _envelope([(5.0, 1.0), (9.0, 1.0)], 12.0)
    det = ActivationDetector(SFREQ, 1)
    first = _detect_all(det, env)
    assert det.process(np.empty((1, 0))) == []
    det.reset()
    assert det.n_samples == 0
    assert np.isnan(det.baseline_v[0])
    assert np.isinf(det.on_threshold_v[0])
    assert _detect_all(det, env) == first
    with pytest.raises(dataclasses.FrozenInstanceError):
        first[0].start_sample = 0  # type: ignore[misc]


class _EveryUpdate(ActivationDetector):
    """Reference: an exact estimate at every update while skipping rest (no bounds)."""

    def _onset_bound(self, anchor: object, pushed: object) -> None:
        return None


def _near_threshold_envelope(
    rng: np.random.Generator, n_channels: int, duration_s: float, sfreq: float
) -> NDArray[np.float64]:
    """Rest with frequent bumps of random height around the onset threshold, and bursts."""
    n = round(duration_s * sfreq)
    x = rng.standard_normal((n_channels, n)) * REST_V
    env = MovingRms(sfreq, n_channels, window_s=RMS_WINDOW_S).process(x)
    width = round(0.2 * sfreq)
    for c in range(n_channels):
        for start in rng.integers(0, n - width, size=round(duration_s)):
            env[c, start : start + width] *= rng.uniform(1.0, 1.8)
        for start in rng.integers(0, n - 10 * width, size=round(duration_s / 20)):
            env[c, start : start + rng.integers(width, 10 * width)] *= 10.0
    return np.round(env, 7 if rng.random() < 0.5 else 30)  # ties in the history, or not


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    sizes=st.lists(st.integers(min_value=1, max_value=4000), min_size=1, max_size=5),
    baseline_s=st.sampled_from([3.0, 8.0]),
    unusable=st.booleans(),
)
def test_skipping_rest_gives_the_estimates_of_every_update(
    seed: int, sizes: list[int], baseline_s: float, unusable: bool
) -> None:
    # Bounding the onset threshold instead of estimating it changes nothing: the same
    # activations and, after every block, the same baseline and thresholds, bit for bit.
    rng = np.random.default_rng(seed)
    sfreq = 250.0
    env = _near_threshold_envelope(rng, 2, 60.0, sfreq)
    usable = np.ones(env.shape, dtype=bool)
    if unusable:
        for start in rng.integers(0, env.shape[1] - 200, size=6):
            usable[rng.integers(0, 2), start : start + rng.integers(1, 200)] = False
    kw: dict[str, object] = {
        "min_baseline_s": 1.0,
        "baseline_s": baseline_s,
        "update_s": 0.2,
        "max_on_s": 2.0,
        "min_brief_s": 0.05,
    }
    fast = ActivationDetector(sfreq, 2, **kw)  # type: ignore[arg-type]
    ref = _EveryUpdate(sfreq, 2, **kw)  # type: ignore[arg-type]
    pos, k = 0, 0
    got: list[Activation] = []
    want: list[Activation] = []
    while pos < env.shape[1]:
        stop = min(env.shape[1], pos + sizes[k % len(sizes)])
        got += fast.process(env[:, pos:stop], usable[:, pos:stop])
        want += ref.process(env[:, pos:stop], usable[:, pos:stop])
        for name in ("baseline_v", "noise_v", "on_threshold_v", "off_threshold_v"):
            np.testing.assert_array_equal(getattr(fast, name), getattr(ref, name))
        if k == 3:  # a relearnt rest restarts the history
            quiet = env[:, max(pos - 100, 0) : pos]
            assert fast.relearn(quiet) == ref.relearn(quiet)
        pos, k = stop, k + 1
    assert got + fast.flush() == want + ref.flush()
    assert len(want) >= 5


def test_onset_bounds_never_exceed_the_onset_threshold() -> None:
    # The bound from an earlier sorted history, for any values joining it since.
    rng = np.random.default_rng(7)
    for trial in range(300):
        cap = int(rng.integers(1, 60))
        det = ActivationDetector(
            25.0, 1, baseline_s=cap / 25.0, min_baseline_s=1 / 25.0, min_noise_fraction=0.05
        )
        assert det._capacity == cap
        history = det._channels[0].history
        scale = rng.uniform(0.5, 2.0) * REST_V
        history.push(np.round(rng.gamma(4.0, scale, size=rng.integers(1, 2 * cap)), 7))
        det._estimate_ahead(det._channels[0], [], np.empty(0), 0)
        anchor = history.anchor
        assert anchor is not None
        for _ in range(int(rng.integers(1, 4))):
            joined = rng.gamma(4.0, scale * rng.uniform(0.2, 5.0), size=rng.integers(0, cap))
            history.push(np.round(joined, 7 if trial % 2 else 30))
            base, mad = _rest_level(np.sort(history.values()))
            noise = max(1.4826 * mad, 0.05 * base, np.finfo(float).tiny)
            bound = det._onset_bound(anchor, history.pushed)
            if bound is not None:
                assert bound <= base + det.on_k * noise


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 10, 11, 1499, 1500])
def test_rest_level_is_numpy_median_and_mad(n: int) -> None:
    rng = np.random.default_rng(n)
    for values in (rng.random(n), np.round(rng.random(n), 1), np.full(n, 0.25)):
        base, mad = _rest_level(np.sort(values))
        assert base == float(np.median(values))
        assert mad == float(np.median(np.abs(values - np.median(values))))


# --------------------------------------------------------------------------- simulator


@lru_cache(maxsize=1)
def _bursts_run() -> tuple[list[Activation], int]:
    sim = BodySimulator(builtin_scenario("bursts"), sfreq=SFREQ, accel_sfreq=0.0, seed=1)
    raw, _ = sim.read(round(120 * SFREQ))
    pre = EmgPreprocessor(SFREQ, 2, mains_freq=50.0)
    out = pre.process(raw)
    det = ActivationDetector(SFREQ, 2)
    return _detect_all(det, out.envelope), out.first_sample


@pytest.mark.parametrize(("channel", "side"), [(0, "left"), (1, "right")])
def test_simulator_bursts_every_contraction_found(channel: int, side: str) -> None:
    acts, first_sample = _bursts_run()
    truth = [
        t
        for t in builtin_scenario("bursts").truth()
        if t.category == "contraction" and t.side in ("bilateral", side)
    ]
    assert len(truth) == 20
    mine = [a for a in acts if a.channel == channel]
    start = np.array([a.start_sample + first_sample for a in mine]) / SFREQ
    end = np.array([a.end_sample + first_sample for a in mine]) / SFREQ
    onset_errors = []
    matched: set[int] = set()
    for t in truth:
        hit = np.flatnonzero((start < t.onset_s + t.duration_s) & (end > t.onset_s))
        assert hit.size >= 1, f"missed {t}"
        matched.update(hit.tolist())
        onset_errors.append(start[hit[0]] - t.onset_s)
    errors = np.abs(onset_errors)
    # Envelope group delay (75 ms) plus the ramp of a voluntary contraction.
    assert np.median(errors) < 0.12
    assert errors.max() < 0.25
    assert len(mine) - len(matched) <= 3  # few false detections in 2 min


# --------------------------------------------------------------------------- real data


def test_emggo_sample_data_burst_count() -> None:
    data = np.load(SAMPLE_DATA)
    sfreq = float(data["fs"])
    emg = np.asarray(data["emg"], dtype=np.float64)[np.newaxis] * UV
    # The file repeats every sample (content up to 62.5 Hz): keep h_freq below 100 Hz.
    pre = EmgPreprocessor(sfreq, 1, h_freq=100.0, mains_freq=None, ecg_method="template")
    out = pre.process(emg)
    acts = _detect_all(ActivationDetector(sfreq, 1), out.envelope)
    # The emgGO authors state 56 activation bursts.
    assert abs(len(acts) - 56) <= 2
    durations = np.array([a.n_samples for a in acts]) / sfreq
    assert np.median(durations) == pytest.approx(1.9, abs=0.5)


# --------------------------------------------------------------------------- bad input


def test_bad_input() -> None:
    det = ActivationDetector(SFREQ, 2)
    good = np.full((2, 100), REST_V)
    with pytest.raises(ValueError, match="NaN"):
        det.process(np.where(np.arange(100) == 3, np.nan, good))
    with pytest.raises(ValueError, match="shape"):
        det.process(good[0])
    with pytest.raises(ValueError, match="channels"):
        det.process(good[:1])
    with pytest.raises(TypeError, match="integer"):
        det.process(np.ones((2, 100), dtype=np.int16))
    with pytest.raises(ValueError, match=">= 0"):
        det.process(-good)
    with pytest.raises(TypeError, match="boolean"):
        det.process(good, np.ones((2, 100)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="usable"):
        det.process(good, np.ones((2, 99), dtype=bool))
    assert det.n_samples == 0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"sfreq": 0.0}, ValueError),
        ({"sfreq": -250.0}, ValueError),
        ({"sfreq": None}, TypeError),
        ({"n_channels": 0}, ValueError),
        ({"n_channels": 1.5}, TypeError),
        ({"on_k": 0.0}, ValueError),
        ({"on_k": 2.0, "off_k": 3.0}, ValueError),
        ({"off_k": -1.0}, ValueError),
        ({"min_on_s": -0.1}, ValueError),
        ({"min_off_s": float("nan")}, ValueError),
        ({"merge_gap_s": "0.5"}, TypeError),
        ({"baseline_s": 0.0}, ValueError),
        ({"baseline_s": 10.0, "min_baseline_s": 20.0}, ValueError),
        ({"update_s": 0.0}, ValueError),
        ({"min_noise_fraction": -0.1}, ValueError),
        ({"max_on_s": 0.0}, ValueError),
        ({"max_on_s": 1.0, "min_baseline_s": 2.0}, ValueError),
    ],
)
def test_bad_parameters(kwargs: dict[str, object], error: type[Exception]) -> None:
    args: dict[str, object] = {"sfreq": SFREQ, "n_channels": 2, **kwargs}
    with pytest.raises(error):
        ActivationDetector(**args)  # type: ignore[arg-type]
