"""Tests of dsp.detector.machine: the SpasmDetector state machine on synthetic recordings.

The recordings are white noise at a resting level with contractions inserted (the noise
scaled up), enveloped with the same moving RMS as the live chain, and an accelerometer
reading 1 g on x (upright) whose gravity vector turns during scripted trunk movements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest
from numpy.typing import NDArray

from dsp.detector import Episode, SpasmDetector
from dsp.envelope import MovingRms

FS = 1000.0  # EMG rate, Hz
FA = 100.0  # accelerometer rate, Hz
REST_V = 5e-6  # resting EMG RMS, V
RMS_WINDOW_S = 0.15
ONSET_TOL_S = 0.25


@dataclass(frozen=True)
class Burst:
    """A contraction: the noise on ``channel`` (0, 1 or "both") scaled by ``gain``."""

    channel: int | str
    start_s: float
    duration_s: float
    gain: float
    ramp_s: float = 0.05


@dataclass(frozen=True)
class Move:
    """A trunk rotation of ``angle_deg`` (x towards z) over ``duration_s``.

    ``hold=False``: there and back (a bend); ``hold=True``: to a new posture, held.
    """

    start_s: float
    duration_s: float
    angle_deg: float
    hold: bool = False


@dataclass(frozen=True)
class Recording:
    cleaned: NDArray[np.float64]
    envelope: NDArray[np.float64]
    accel: NDArray[np.float64]

    @property
    def n_times(self) -> int:
        return int(self.cleaned.shape[1])


def _plateau(t: NDArray[np.float64], on: float, off: float, ramp: float) -> NDArray[np.float64]:
    return np.minimum(np.clip((t - on) / ramp, 0.0, 1.0), np.clip((off - t) / ramp, 0.0, 1.0))


def synth(
    duration_s: float,
    bursts: Sequence[Burst] = (),
    moves: Sequence[Move] = (),
    *,
    tone: Sequence[tuple[float, float]] = (),
    seed: int = 0,
) -> Recording:
    """Build a recording; ``tone`` lists ``(time_s, factor)`` steps of the resting level."""
    rng = np.random.default_rng(seed)
    n = round(duration_s * FS)
    t = np.arange(n) / FS
    level = np.ones(n)
    for at_s, factor in tone:
        level *= 1.0 + (factor - 1.0) * np.clip((t - at_s) / 0.5, 0.0, 1.0)
    gain = np.ones((2, n))
    for b in bursts:
        rows = [0, 1] if b.channel == "both" else [int(b.channel)]
        shape = _plateau(t, b.start_s, b.start_s + b.duration_s, b.ramp_s)
        for r in rows:
            gain[r] += (b.gain - 1.0) * shape
    cleaned = rng.normal(0.0, REST_V, (2, n)) * gain * level
    envelope = MovingRms(FS, 2, window_s=RMS_WINDOW_S).process(cleaned)
    m = round(duration_s * FA)
    ta = np.arange(m) / FA
    angle = np.zeros(m)
    for mv in moves:
        phase = np.clip((ta - mv.start_s) / mv.duration_s, 0.0, 1.0)
        if mv.hold:
            angle += mv.angle_deg * 0.5 * (1.0 - np.cos(np.pi * phase))
        else:
            angle += mv.angle_deg * 0.5 * (1.0 - np.cos(2.0 * np.pi * phase))
    rad = np.deg2rad(angle)
    accel = np.vstack([np.cos(rad), np.zeros(m), np.sin(rad)]) + rng.normal(0.0, 0.003, (3, m))
    return Recording(cleaned, envelope, accel)


def block_bounds(n: int, block: int) -> list[int]:
    return [*range(0, n, block), n]


def random_bounds(n: int, seed: int, max_block: int) -> list[int]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, max_block + 1, size=4 * n // max_block + 100)
    edges = np.concatenate([[0], np.cumsum(sizes)])
    assert edges[-1] >= n
    return [int(e) for e in edges[edges < n]] + [n]


def run(
    rec: Recording,
    bounds: Sequence[int] | None = None,
    *,
    accel: bool = True,
    detector: SpasmDetector | None = None,
    sample_offset: int = 0,
) -> tuple[list[Episode], SpasmDetector]:
    """Feed ``rec`` in the blocks given by ``bounds`` (1 s blocks by default) and flush.

    Before each EMG block the accelerometer samples of the same span are fed, as the
    analysis engine does.
    """
    det = detector or SpasmDetector(
        FS, 2, accel_sfreq=FA if accel else None, sample_offset=sample_offset
    )
    edges = block_bounds(rec.n_times, round(FS)) if bounds is None else list(bounds)
    out: list[Episode] = []
    ratio = round(FS / FA)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if accel:
            out.extend(det.process_accel(rec.accel[:, a // ratio : b // ratio]))
        out.extend(det.process(rec.envelope[:, a:b], rec.cleaned[:, a:b]))
    out.extend(det.flush())
    return out, det


def overlapping(episodes: Sequence[Episode], start_s: float, end_s: float) -> list[Episode]:
    return [e for e in episodes if e.start_s < end_s and e.end_s > start_s]


def key(episodes: Sequence[Episode]) -> list[tuple[object, ...]]:
    return [
        (e.start_sample, e.end_sample, e.side, e.kind, e.involuntary, e.activity, e.confidence)
        for e in sorted(episodes, key=lambda e: (e.start_sample, e.end_sample))
    ]


# --------------------------------------------------------------------------- decisions


@pytest.mark.parametrize(("channel", "side"), [(0, "left"), (1, "right")])
def test_unilateral_tonic_burst_at_rest_is_one_involuntary_tonic_episode(
    channel: int, side: str
) -> None:
    rec = synth(60.0, [Burst(channel, 30.0, 6.0, 10.0)])
    episodes, _ = run(rec)
    assert len(episodes) == 1
    ep = episodes[0]
    assert ep.involuntary
    assert ep.kind == "tonic"
    assert ep.side == side
    assert ep.activity == "rest"
    assert abs(ep.start_s - 30.0) <= ONSET_TOL_S
    assert abs(ep.end_s - 36.0) <= 0.5
    assert ep.confidence > 0.9
    assert ep.unit == "uV"
    # Envelope of noise at 10x a 5 uV rest: about 50 uV on the contracting side only.
    assert 40.0 < ep.peak < 75.0
    assert 40.0 < ep.mean < ep.peak
    assert ep.peak_by_channel[channel] == ep.peak
    assert ep.peak_by_channel[1 - channel] < 15.0
    assert 100.0 < ep.median_freq_hz < 450.0  # white noise: mid-spectrum
    assert ep.posture_before == "upright"
    assert ep.activity_before == "still"
    assert "short_baseline" in ep.quality_flags  # onset in the first minute
    assert "no_accelerometer" not in ep.quality_flags
    assert any("trunk still" in r for r in ep.reasons)
    assert ep.features["asymmetry"] > 0.9


def test_emg_only_tonic_burst_is_involuntary_with_the_flag() -> None:
    rec = synth(60.0, [Burst(0, 30.0, 6.0, 10.0)])
    episodes, _ = run(rec, accel=False)
    assert len(episodes) == 1
    ep = episodes[0]
    assert ep.involuntary
    assert ep.side == "left"
    assert abs(ep.start_s - 30.0) <= ONSET_TOL_S
    assert "no_accelerometer" in ep.quality_flags
    assert ep.posture_before == "unknown"
    assert any("no accelerometer" in r for r in ep.reasons)


def test_bilateral_burst_with_trunk_rotation_is_voluntary() -> None:
    rec = synth(60.0, [Burst("both", 30.0, 4.0, 8.0)], [Move(30.2, 3.5, 60.0)])
    episodes, _ = run(rec)
    found = overlapping(episodes, 30.0, 34.0)
    assert found
    assert not any(e.involuntary for e in episodes)
    main = max(found, key=lambda e: e.duration_s)
    assert main.side == "bilateral"
    assert main.activity in ("movement", "posture change")
    assert main.features["moving_fraction"] > 0.5


def test_twitch_at_rest_is_reported_as_a_twitch() -> None:
    rec = synth(60.0, [Burst(1, 45.0, 0.3, 8.0)])
    episodes, _ = run(rec)
    assert len(episodes) == 1
    ep = episodes[0]
    assert ep.kind == "twitch"
    assert ep.involuntary
    assert ep.side == "right"
    assert abs(ep.start_s - 45.0) <= ONSET_TOL_S
    assert ep.duration_s < 1.0


def test_twitch_during_trunk_movement_is_not_reported() -> None:
    rec = synth(60.0, [Burst(1, 45.0, 0.3, 8.0)], [Move(44.0, 2.5, 60.0)])
    episodes, _ = run(rec)
    assert not [e for e in episodes if e.kind == "twitch"]


def test_weak_blip_is_not_a_twitch() -> None:
    rec = synth(60.0, [Burst(1, 45.0, 0.3, 2.5)])
    episodes, _ = run(rec)
    assert episodes == []


def test_quiet_recording_gives_no_episode() -> None:
    episodes, det = run(synth(60.0))
    assert episodes == []
    assert not det.state.active.any()
    assert det.n_samples == round(60.0 * FS)


def test_rest_is_relearnt_after_a_posture_change() -> None:
    """Lying down changes the resting tone; afterwards, spasms count from the new rest."""
    rec = synth(
        90.0,
        [Burst(0, 70.0, 6.0, 10.0)],
        [Move(40.0, 2.0, 80.0, hold=True)],
        tone=[(41.0, 2.5)],
    )
    episodes, det = run(rec)
    assert det.n_rebases >= 1
    # Only the movement itself and the spasm: the new tone is not a contraction.
    assert all(e.end_s < 47.0 or e.start_s > 69.0 for e in episodes)
    assert not [e for e in overlapping(episodes, 38.0, 47.0) if e.involuntary]
    spasm = overlapping(episodes, 70.0, 76.0)
    assert len(spasm) == 1
    assert spasm[0].involuntary
    assert spasm[0].kind == "tonic"
    assert spasm[0].side == "left"
    assert abs(spasm[0].start_s - 70.0) <= ONSET_TOL_S
    assert spasm[0].posture_before == "supine"  # 80 deg back from upright, gravity on +z


def test_without_accelerometer_a_tone_change_is_not_relearnt() -> None:
    """The reason for rebaselining: EMG alone takes the higher tone for a contraction."""
    rec = synth(90.0, moves=[Move(40.0, 2.0, 80.0, hold=True)], tone=[(41.0, 2.5)])
    episodes, det = run(rec, accel=False)
    assert det.n_rebases == 0
    assert any(e.duration_s > 30.0 for e in episodes)


# --------------------------------------------------------------------------- streaming


def _mixed_recording() -> Recording:
    return synth(
        85.0,
        [
            Burst(0, 20.0, 6.0, 10.0),  # tonic spasm, left
            Burst(1, 32.0, 0.3, 8.0),  # twitch, right
            Burst(1, 55.0, 5.0, 9.0),  # tonic spasm, right, after the posture change
            Burst(0, 70.2, 3.0, 6.0),  # left effort while bending: voluntary
        ],
        [Move(40.0, 2.0, 60.0, hold=True), Move(70.0, 3.5, 40.0)],
        tone=[(41.0, 2.0)],
        seed=3,
    )


@pytest.fixture(scope="module")
def mixed() -> tuple[Recording, list[Episode]]:
    rec = _mixed_recording()
    reference, _ = run(rec)
    return rec, reference


def test_mixed_reference_holds_what_was_scripted(mixed: tuple[Recording, list[Episode]]) -> None:
    _, episodes = mixed
    left = overlapping(episodes, 20.0, 26.0)
    assert [(e.side, e.kind, e.involuntary) for e in left] == [("left", "tonic", True)]
    assert [e.kind for e in overlapping(episodes, 32.0, 32.3)] == ["twitch"]
    right = overlapping(episodes, 55.0, 60.0)
    assert [(e.side, e.involuntary) for e in right] == [("right", True)]
    assert not [e for e in overlapping(episodes, 70.0, 74.0) if e.involuntary]


@pytest.mark.parametrize(
    ("seed", "max_block"), [(0, 40), (1, 700), (2, 3000), (3, 12_000), (4, 20_000)]
)
def test_any_block_sizes_give_the_same_episodes(
    mixed: tuple[Recording, list[Episode]], seed: int, max_block: int
) -> None:
    rec, reference = mixed
    episodes, _ = run(rec, random_bounds(rec.n_times, seed, max_block))
    assert key(episodes) == key(reference)
    for got, ref in zip(episodes, reference, strict=True):
        assert got.peak == pytest.approx(ref.peak, rel=1e-9)
        assert got.area == pytest.approx(ref.area, rel=1e-9)


def test_emg_only_block_sizes_give_the_same_episodes() -> None:
    rec = _mixed_recording()
    reference, _ = run(rec, accel=False)
    episodes, _ = run(rec, random_bounds(rec.n_times, 7, 2000), accel=False)
    assert key(episodes) == key(reference)
    assert reference


def test_episodes_come_out_soon_after_they_end() -> None:
    rec = synth(60.0, [Burst(0, 30.0, 6.0, 10.0)])
    det = SpasmDetector(FS, 2, accel_sfreq=FA)
    when = None
    edges = block_bounds(rec.n_times, 100)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        det.process_accel(rec.accel[:, a // 10 : b // 10])
        if det.process(rec.envelope[:, a:b], rec.cleaned[:, a:b]) and when is None:
            when = b / FS
    assert when is not None
    assert 36.0 < when < 39.0  # ends at 36 s; out after the merge gap and motion margin


def test_flush_closes_an_ongoing_episode() -> None:
    rec = synth(40.0, [Burst(0, 34.0, 10.0, 10.0)])  # still contracting when data end
    det = SpasmDetector(FS, 2, accel_sfreq=FA)
    seen: list[Episode] = []
    seen.extend(det.process_accel(rec.accel))
    seen.extend(det.process(rec.envelope, rec.cleaned))
    assert seen == []
    assert det.state.active[0]
    closed = det.flush()
    assert len(closed) == 1
    ep = closed[0]
    assert ep.side == "left"
    assert abs(ep.start_s - 34.0) <= ONSET_TOL_S
    assert ep.end_s == pytest.approx(40.0, abs=0.2)
    assert "interrupted" in ep.quality_flags
    assert det.flush() == []  # nothing left


def test_sample_offset_shifts_every_episode() -> None:
    rec = synth(60.0, [Burst(0, 30.0, 6.0, 10.0), Burst(1, 45.0, 0.3, 8.0)])
    plain, _ = run(rec, accel=False)
    shifted, _ = run(rec, accel=False, sample_offset=-123)
    assert len(plain) == 2
    assert [e.start_sample - 123 for e in plain] == [e.start_sample for e in shifted]
    assert [e.end_sample - 123 for e in plain] == [e.end_sample for e in shifted]
    assert [e.kind for e in plain] == [e.kind for e in shifted]


def test_reset_forgets_the_recording() -> None:
    rec = synth(60.0, [Burst(0, 30.0, 6.0, 10.0)])
    first, det = run(rec)
    det.reset()
    assert det.n_samples == 0
    again, _ = run(rec, detector=det)
    assert key(again) == key(first)


def test_unusable_signal_ends_an_episode_and_none_spans_it() -> None:
    rec = synth(60.0, [Burst(0, 30.0, 8.0, 10.0)])
    usable = np.ones(rec.n_times, dtype=bool)
    usable[33_000:34_000] = False
    det = SpasmDetector(FS, 2, accel_sfreq=FA)
    episodes: list[Episode] = []
    edges = block_bounds(rec.n_times, 1000)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        episodes.extend(det.process_accel(rec.accel[:, a // 10 : b // 10]))
        episodes.extend(det.process(rec.envelope[:, a:b], rec.cleaned[:, a:b], usable[a:b]))
    episodes.extend(det.flush())
    assert not any(e.start_s < 33.0 and e.end_s > 34.0 for e in episodes)
    before = [e for e in episodes if e.start_s < 33.0]
    assert len(before) == 1
    assert "interrupted" in before[0].quality_flags
    assert before[0].end_s <= 33.0


# --------------------------------------------------------------------------- live state


def test_state_suspects_a_long_still_contraction() -> None:
    rec = synth(60.0, [Burst(0, 30.0, 10.0, 10.0)])
    det = SpasmDetector(FS, 2, accel_sfreq=FA)
    checks = {29.0: None, 31.0: False, 35.0: True, 39.5: True, 45.0: None}
    pos = 0
    for at_s, expected in checks.items():
        stop = round(at_s * FS)
        det.process_accel(rec.accel[:, pos // 10 : stop // 10])
        det.process(rec.envelope[:, pos:stop], rec.cleaned[:, pos:stop])
        pos = stop
        state = det.state
        if expected is None:
            assert not state.active.any(), at_s
            assert state.onset_sample is None
            assert not state.suspected_involuntary
        else:
            assert state.active[0], at_s
            assert not state.active[1], at_s
            assert state.onset_sample is not None
            assert abs(state.onset_sample / FS - 30.0) <= ONSET_TOL_S
            assert state.suspected_involuntary is expected, at_s
        assert state.baseline_v[0] == pytest.approx(REST_V, rel=0.2)
        assert (state.on_threshold_v > state.off_threshold_v).all()
        assert (state.off_threshold_v > state.baseline_v).all()


def test_state_emg_only_suspects_after_the_tonic_time() -> None:
    rec = synth(60.0, [Burst(0, 30.0, 10.0, 10.0)])
    det = SpasmDetector(FS, 2)
    det.process(rec.envelope[:, :32_000], rec.cleaned[:, :32_000])
    assert det.state.active[0]
    assert not det.state.suspected_involuntary
    det.process(rec.envelope[:, 32_000:34_000], rec.cleaned[:, 32_000:34_000])
    assert det.state.suspected_involuntary


def test_state_does_not_suspect_a_contraction_with_the_trunk_moving() -> None:
    rec = synth(60.0, [Burst("both", 30.0, 6.0, 8.0)], [Move(30.2, 5.5, 60.0)])
    det = SpasmDetector(FS, 2, accel_sfreq=FA)
    stop = 34_500
    det.process_accel(rec.accel[:, : stop // 10])
    det.process(rec.envelope[:, :stop], rec.cleaned[:, :stop])
    state = det.state
    assert state.active.all()
    assert not state.suspected_involuntary


# --------------------------------------------------------------------------- validation


def test_more_than_two_channels_is_refused() -> None:
    with pytest.raises(ValueError, match="1 or 2 EMG channels"):
        SpasmDetector(FS, 3, sides=("left", "right", "left"))


def test_the_same_side_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="different sides"):
        SpasmDetector(FS, 2, sides=("left", "left"))


@pytest.mark.parametrize("sides", [("left",), ("left", "middle"), ("left", "right", "left")])
def test_sides_must_match_the_channels(sides: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="sides must give 'left' or 'right'"):
        SpasmDetector(FS, 2, sides=sides)


def test_one_channel_detector_reports_its_side() -> None:
    rec = synth(60.0, [Burst(0, 30.0, 6.0, 10.0)])
    det = SpasmDetector(FS, 1, sides=("right",))
    episodes = det.process(rec.envelope[:1], rec.cleaned[:1]) + det.flush()
    assert len(episodes) == 1
    assert episodes[0].side == "right"
    assert episodes[0].involuntary


def test_sfreq_is_required_and_positive() -> None:
    with pytest.raises(TypeError, match="sfreq"):
        SpasmDetector(None, 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sfreq"):
        SpasmDetector(-1.0, 2)


def test_wrong_block_shapes_are_refused() -> None:
    det = SpasmDetector(FS, 2)
    good = np.full((2, 100), REST_V)
    with pytest.raises(ValueError, match="envelope must have 2 channels"):
        det.process(np.full((3, 100), REST_V), good)
    with pytest.raises(ValueError, match="envelope must have shape"):
        det.process(np.full(100, REST_V), good)
    with pytest.raises(ValueError, match="cleaned must have the shape of envelope"):
        det.process(good, np.full((2, 99), REST_V))
    with pytest.raises(ValueError, match="usable must have shape"):
        det.process(good, good, np.ones((2, 50), dtype=bool))
    with pytest.raises(TypeError, match="usable must be a boolean array"):
        det.process(good, good, np.ones((2, 100)))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="integer array"):
        det.process(np.ones((2, 100), dtype=np.int16), good)
    assert det.n_samples == 0  # nothing was consumed by refused blocks


def test_process_accel_without_an_accelerometer_is_refused() -> None:
    det = SpasmDetector(FS, 2)
    with pytest.raises(ValueError, match="without an accelerometer"):
        det.process_accel(np.zeros((3, 10)))


# --------------------------------------------------------------------------- known bugs


def test_bug_region_onset_is_the_first_activation_emitted_not_the_earliest() -> None:
    """A bilateral spasm fed in small blocks gets the onset of the later side.

    Left contracts from 30.0 s to 36.3 s, right from 31.0 s to 36.0 s. The right
    activation ends first, so in small blocks it is emitted first and opens the region;
    the left one then merges (``_assemble``) without lowering ``reg.start``, and the
    episode starts at about 30.94 s instead of 29.94 s. In one block both come sorted by
    onset and the onset is right.
    """
    rec = synth(50.0, [Burst(0, 30.0, 6.3, 10.0), Burst(1, 31.0, 5.0, 10.0)])
    for bounds in (None, block_bounds(rec.n_times, 100)):
        episodes, _ = run(rec, bounds)
        assert len(episodes) == 1
        assert abs(episodes[0].start_s - 30.0) <= ONSET_TOL_S, bounds is None


def test_bug_open_activation_does_not_bridge_a_region_within_one_call() -> None:
    """Overlapping activations of both sides must form one candidate.

    Left contracts from 30 s to 40 s (6x rest) while right jerks at 31-32 s and 35-36 s.
    Both right activations are emitted while the left one is still open; ``_assemble``
    closes the first region as soon as the second, non-overlapping right activation
    arrives, although the open left activation overlaps both. The spasm comes out as a
    1.1 s "voluntary" episode at 31 s plus a 5 s tonic one at 35 s.
    """
    rec = synth(
        50.0, [Burst(0, 30.0, 10.0, 6.0), Burst(1, 31.0, 1.0, 10.0), Burst(1, 35.0, 1.0, 10.0)]
    )
    episodes, _ = run(rec)  # 1 s blocks
    assert len(episodes) == 1
    assert episodes[0].start_s <= 31.0
    assert episodes[0].end_s >= 39.5
    assert episodes[0].involuntary


def test_bug_rebase_is_lost_when_settling_and_the_next_move_share_an_accel_block() -> None:
    """Rest relearning after a posture change must not depend on the accelerometer blocks.

    ``_schedule_rebases`` checks for a completed settling period only at the end of each
    batch of motion frames; when the same batch also holds the next movement, the loop
    overwrites ``_settle_from`` and the relearning is never scheduled. Here: lie down at
    40-41.5 s (resting tone x2.5), bend at 47-50 s. With 1 s blocks the rest is relearnt
    after lying down; with 10 s blocks (the analysis block) or one block it is not, and the
    new tone is taken for a contraction until the second movement.
    """
    rec = synth(
        70.0, moves=[Move(40.0, 1.5, 80.0, hold=True), Move(47.0, 3.0, 40.0)], tone=[(41.0, 2.5)]
    )
    small, det_small = run(rec, block_bounds(rec.n_times, 1000))
    for block in (10_000, rec.n_times):
        large, det_large = run(rec, block_bounds(rec.n_times, block))
        assert det_large.n_rebases == det_small.n_rebases, block
        assert key(large) == key(small), block
