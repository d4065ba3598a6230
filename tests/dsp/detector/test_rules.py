"""Tests of dsp.detector.rules: hand-built evidence through the additive log-odds rules."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsp.detector import EPISODE_KINDS, Decision, EmgEvidence, MotionEvidence, RuleParams, classify

_WEIGHT = re.compile(r"\(([+-]\d+\.\d)\)$")


def tonic_emg(**changes: Any) -> EmgEvidence:
    """A 6 s one-sided steady contraction with an abrupt onset, 9x rest."""
    ev = EmgEvidence(
        duration_s=6.0,
        strength=np.array([9.0, 0.3]),
        peak_v=np.array([60e-6, 6e-6]),
        mean_v=np.array([45e-6, 5e-6]),
        area_vs=np.array([2.4e-4, 1e-6]),
        active_fraction=np.array([0.95, 0.0]),
        asymmetry=0.93,
        gait_hz=float("nan"),
        gait_strength=0.0,
        clonic_hz=float("nan"),
        clonic_strength=0.0,
        duty=0.9,
        n_bursts=1,
        rise_s=0.1,
        steadiness=0.1,
    )
    return replace(ev, **changes)


def still(**changes: Any) -> MotionEvidence:
    """A trunk at rest, upright, throughout and before."""
    ev = MotionEvidence(
        moving_fraction=0.0,
        walking_fraction=0.0,
        turning_fraction=0.0,
        tilt_change_deg=2.0,
        walking_before=0.0,
        posture_before="upright",
        activity_before="still",
        coverage=1.0,
    )
    return replace(ev, **changes)


def fired(decision: Decision, text: str) -> bool:
    """Whether a reason containing ``text`` fired."""
    return any(text in r for r in decision.reasons)


def weights(decision: Decision) -> list[float]:
    """The signed weights printed at the end of the reasons."""
    out = []
    for r in decision.reasons:
        m = _WEIGHT.search(r)
        if m:
            out.append(float(m.group(1)))
    return out


def test_tonic_contraction_at_rest_is_involuntary_tonic() -> None:
    d = classify(tonic_emg(), still())
    assert d.involuntary
    assert d.kind == "tonic"
    assert d.activity == "rest"
    assert d.confidence > 0.95
    for text in (
        "sustained",
        "one-sided",
        "abrupt onset",
        "trunk still throughout",
    ):
        assert fired(d, text), text
    for text in ("walking", "trunk moving", "trunk turned", "no accelerometer", "weak"):
        assert not fired(d, text), text
    assert sum(weights(d)) == pytest.approx(d.log_odds)


def test_walking_is_voluntary() -> None:
    emg = tonic_emg(
        duration_s=20.0,
        strength=np.array([4.0, 3.8]),
        asymmetry=0.05,
        gait_hz=1.8,
        gait_strength=0.7,
        duty=0.5,
        n_bursts=36,
        steadiness=0.6,
    )
    d = classify(emg, still(moving_fraction=0.95, walking_fraction=0.9))
    assert not d.involuntary
    assert d.kind == "voluntary"
    assert d.activity == "walking"
    assert fired(d, "like gait")
    assert fired(d, "walking")
    assert fired(d, "symmetric on both sides")
    assert d.log_odds < 0


def test_gait_rhythm_counts_only_when_the_trunk_walks() -> None:
    emg = tonic_emg(duration_s=8.0, gait_hz=1.8, gait_strength=0.7, steadiness=0.6)
    assert not fired(classify(emg, still()), "like gait")
    assert fired(classify(emg, still(walking_fraction=0.5, moving_fraction=0.5)), "like gait")
    assert fired(classify(emg, None), "like gait")  # without accelerometer: EMG decides


def test_gait_rhythm_needs_a_long_enough_train() -> None:
    emg = tonic_emg(duration_s=4.0, gait_hz=1.8, gait_strength=0.7)
    assert not fired(classify(emg, None), "like gait")


def test_clonic_rhythm_at_rest_is_clonic() -> None:
    emg = tonic_emg(
        duration_s=4.0,
        clonic_hz=5.0,
        clonic_strength=0.6,
        gait_strength=0.1,
        duty=0.4,
        n_bursts=20,
        steadiness=0.8,
    )
    d = classify(emg, still())
    assert d.involuntary
    assert d.kind == "clonic"  # not myoclonic, although bursts are many and duty low
    assert fired(d, "clonic rhythm at 5.0 Hz")


def test_a_clonic_rhythm_outranks_a_slower_gait_like_one() -> None:
    # A slow envelope periodicity can come from the contraction's own shape.
    emg = tonic_emg(duration_s=6.0, clonic_hz=5.0, clonic_strength=0.4, gait_strength=0.5)
    d = classify(emg, still())
    assert fired(d, "clonic rhythm")
    assert not fired(d, "like gait")
    assert d.kind == "clonic"


def test_gait_rhythm_counts_only_without_a_clonic_one() -> None:
    emg = tonic_emg(duration_s=6.0, clonic_strength=0.1, gait_strength=0.5, gait_hz=1.8)
    assert fired(classify(emg, None), "like gait")
    # With an accelerometer, only a walking trunk makes it gait.
    assert not fired(classify(emg, still()), "like gait")


def test_train_of_brief_bursts_with_low_duty_is_myoclonic() -> None:
    emg = tonic_emg(
        duration_s=4.0,
        strength=np.array([7.0, 6.0]),
        asymmetry=0.1,
        duty=0.2,
        n_bursts=6,
        clonic_strength=0.1,
        steadiness=1.2,
    )
    d = classify(emg, still())
    assert d.involuntary
    assert d.kind == "myoclonic"


def test_many_bursts_with_a_high_duty_cycle_stay_tonic() -> None:
    d = classify(tonic_emg(n_bursts=4, duty=0.7), still())
    assert d.kind == "tonic"


@pytest.mark.parametrize("duration_s", [0.3, 0.8, 1.19])
def test_below_the_episode_threshold_at_rest_is_a_twitch(duration_s: float) -> None:
    d = classify(tonic_emg(duration_s=duration_s), still())
    assert d.involuntary
    assert d.kind == "twitch"
    assert d.activity == "rest"
    assert "episode threshold" in d.reasons[-1]
    assert not fired(d, "brief")  # length is the threshold itself, not evidence


def test_below_the_episode_threshold_while_moving_is_voluntary() -> None:
    d = classify(tonic_emg(duration_s=0.8), still(moving_fraction=0.9))
    assert not d.involuntary
    assert d.kind == "voluntary"
    assert d.activity == "movement"
    assert "episode threshold" in d.reasons[-1]


def test_the_episode_threshold_is_a_parameter() -> None:
    emg = tonic_emg(duration_s=0.8)
    assert classify(emg, still()).kind == "twitch"
    d = classify(emg, still(), RuleParams(min_episode_s=0.5))
    assert d.kind != "twitch"
    assert not fired(d, "episode threshold")
    assert fired(d, "brief 0.8 s burst")  # an episode that short needs a pattern


def test_emg_only_lowers_the_log_odds_by_the_bias() -> None:
    emg = tonic_emg()
    neutral = classify(emg, None, RuleParams(emg_only_bias=0.0))
    default = classify(emg, None)
    assert default.log_odds == pytest.approx(neutral.log_odds + RuleParams().emg_only_bias)
    assert fired(default, "no accelerometer (-1.0)")
    stricter = classify(emg, None, RuleParams(emg_only_bias=-2.5))
    assert stricter.log_odds == pytest.approx(neutral.log_odds - 2.5)
    assert fired(stricter, "no accelerometer (-2.5)")
    assert not fired(classify(emg, still()), "no accelerometer")


def test_emg_only_bias_can_flip_a_marginal_decision() -> None:
    # 4 s, neither one-sided nor symmetric, ordinary onset: +1 from the duration alone.
    emg = tonic_emg(duration_s=4.0, rise_s=0.5, asymmetry=0.4)
    assert classify(emg, None, RuleParams(emg_only_bias=0.0)).involuntary
    assert not classify(emg, None).involuntary


def test_weak_contraction_is_a_tone_change() -> None:
    weak = tonic_emg(duration_s=2.5, strength=np.array([1.5, 1.2]), asymmetry=0.1)
    d = classify(weak, still())
    assert fired(d, "weak: 1.5x rest")
    assert not d.involuntary
    assert d.kind == "voluntary"
    assert d.activity == "postural tone"
    strong = classify(replace(weak, strength=np.array([9.0, 8.0])), still())
    assert d.log_odds == pytest.approx(strong.log_odds - 6.0)


def test_trunk_movement_makes_it_voluntary() -> None:
    d = classify(tonic_emg(), still(moving_fraction=0.6))
    assert not d.involuntary
    assert d.activity == "movement"
    assert fired(d, "trunk moving for 60% of it")
    assert not fired(d, "trunk still")


def test_trunk_rotation_is_a_posture_change() -> None:
    d = classify(tonic_emg(), still(moving_fraction=0.3, tilt_change_deg=40.0))
    assert fired(d, "trunk turned 40 deg")
    assert d.activity == "posture change"
    assert d.log_odds == pytest.approx(
        classify(tonic_emg(), still(moving_fraction=0.3)).log_odds - 2.0
    )


def test_walking_stopped_at_onset_adds_evidence() -> None:
    base = classify(tonic_emg(), still())
    frozen = classify(tonic_emg(), still(walking_before=0.8))
    assert fired(frozen, "walking stopped at onset")
    assert frozen.log_odds == pytest.approx(base.log_odds + 1.0)
    # Only counted when the trunk is still during the contraction.
    moving = classify(tonic_emg(), still(walking_before=0.8, moving_fraction=0.6))
    assert not fired(moving, "walking stopped at onset")


def test_signal_artefact_lowers_the_log_odds() -> None:
    base = classify(tonic_emg(), still())
    noisy = classify(tonic_emg(artefact_fraction=0.5), still())
    assert fired(noisy, "signal artefact")
    assert noisy.log_odds < base.log_odds
    assert not fired(classify(tonic_emg(artefact_fraction=0.1), still()), "signal artefact")


def test_spikes_in_artefact_are_not_taken_for_jerks_or_clonus() -> None:
    jerks = {"duration_s": 2.0, "n_bursts": 4, "duty": 0.2, "asymmetry": 1.0}
    clean = classify(tonic_emg(**jerks), still())
    assert clean.involuntary
    assert clean.kind == "myoclonic"
    spiky = classify(tonic_emg(artefact_fraction=0.8, **jerks), still())
    assert not fired(spiky, "brief jerks")
    assert not spiky.involuntary
    clonus = {"clonic_strength": 0.6, "clonic_hz": 5.0}
    assert fired(classify(tonic_emg(**clonus), still()), "clonic rhythm")
    assert not fired(classify(tonic_emg(artefact_fraction=0.8, **clonus), still()), "clonic")


def test_longer_and_more_gradual_contractions() -> None:
    long = classify(tonic_emg(duration_s=30.0), still())
    assert fired(long, "sustained 30 s")
    assert long.log_odds > classify(tonic_emg(), still()).log_odds
    gradual = classify(tonic_emg(rise_s=1.5), still())
    assert fired(gradual, "gradual onset")
    assert not fired(gradual, "abrupt onset")


def test_single_channel_evidence_has_no_asymmetry_rule() -> None:
    emg = tonic_emg(
        strength=np.array([9.0]),
        peak_v=np.array([60e-6]),
        mean_v=np.array([45e-6]),
        area_vs=np.array([2.4e-4]),
        active_fraction=np.array([0.95]),
        asymmetry=float("nan"),
    )
    d = classify(emg, still())
    assert d.involuntary
    assert not fired(d, "one-sided")
    assert not fired(d, "symmetric")


_nan_or = st.one_of(st.just(float("nan")), st.floats(0.0, 1.0))


@st.composite
def evidence(draw: st.DrawFn) -> tuple[EmgEvidence, MotionEvidence | None]:
    n_ch = draw(st.sampled_from([1, 2]))
    strength = np.array(draw(st.lists(st.floats(0.0, 30.0), min_size=n_ch, max_size=n_ch)))
    emg = tonic_emg(
        duration_s=draw(st.floats(0.1, 120.0)),
        strength=strength,
        peak_v=strength * 5e-6,
        mean_v=strength * 4e-6,
        area_vs=strength * 1e-5,
        active_fraction=np.full(n_ch, 0.5),
        asymmetry=draw(_nan_or) if n_ch == 2 else float("nan"),
        gait_hz=1.5,
        gait_strength=draw(st.floats(0.0, 1.0)),
        clonic_hz=5.0,
        clonic_strength=draw(st.floats(0.0, 1.0)),
        duty=draw(st.floats(0.0, 1.0)),
        n_bursts=draw(st.integers(0, 40)),
        rise_s=draw(st.one_of(st.just(float("nan")), st.floats(0.0, 5.0))),
        steadiness=draw(st.one_of(st.just(float("nan")), st.floats(0.0, 3.0))),
        artefact_fraction=draw(st.floats(0.0, 1.0)),
    )
    if draw(st.booleans()):
        return emg, None
    moving = draw(st.floats(0.0, 1.0))
    motion = still(
        moving_fraction=moving,
        walking_fraction=draw(st.floats(0.0, moving)),
        tilt_change_deg=draw(st.floats(0.0, 120.0)),
        walking_before=draw(st.floats(0.0, 1.0)),
    )
    return emg, motion


@settings(max_examples=300, deadline=None)
@given(evidence())
def test_every_decision_is_consistent(case: tuple[EmgEvidence, MotionEvidence | None]) -> None:
    emg, motion = case
    d = classify(emg, motion)
    assert 0.5 <= d.confidence <= 1.0
    assert d.confidence == pytest.approx(1.0 / (1.0 + math.exp(-abs(d.log_odds))), abs=1e-3)
    assert d.involuntary == (d.log_odds > 0)
    assert sum(weights(d)) == pytest.approx(d.log_odds, abs=1e-9)
    assert d.kind in EPISODE_KINDS
    if emg.duration_s < RuleParams().min_episode_s:
        assert d.kind == ("twitch" if d.involuntary else "voluntary")
    elif d.involuntary:
        assert d.kind in ("tonic", "clonic", "myoclonic")
    else:
        assert d.kind == "voluntary"
    assert (motion is None) == fired(d, "no accelerometer")
