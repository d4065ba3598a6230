"""The deterministic timeline of a scenario: what the body does at any instant.

:class:`Script` turns a :class:`~host.simulator.scenario.Scenario` into pure functions of
time: trunk orientation, dynamic trunk acceleration, erector-spinae activation per side,
spectral compression, movement intensity, heart-rate target and the deterministic part of
the artefacts. Nothing here is random at evaluation time: the scenario's
:attr:`~host.simulator.scenario.Wearer.seed` fixes every random choice when the script is
built, so the truth labels (:meth:`Script.truth`) are a property of the scenario alone.
The noise realisations are added by :class:`~host.simulator.body.BodySimulator`.

Physiology used (details in ``docs/simulator.md``):

* erector spinae activity rises with trunk flexion and falls silent near full flexion (the
  flexion-relaxation phenomenon: Floyd & Silver 1955; Colloca & Hinrichs 2005), is larger
  when extending back up and with a load (McGill & Kippers 1994);
* in walking each side bursts around both heel strikes, more at the contralateral one
  (Thorstensson et al. 1982);
* trunk movements follow minimum-jerk profiles (Flash & Hogan 1985);
* during a spasm the wearer freezes: the movement clock of the current activity stops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from host.simulator.artefacts import electrode_pop, plateau_envelope, saturation_pulse
from host.simulator.motion_model import (
    LYING_ROLL_RAD,
    gait_acceleration,
    lying_up_vector,
    minimum_jerk,
    minimum_jerk_acceleration,
    nlerp,
    trunk_up_vector,
    von_mises_bump,
)
from host.simulator.scenario import (
    ARTEFACT_KINDS,
    Artefact,
    Episode,
    Scenario,
    Segment,
    TruthEvent,
)

__all__ = ["Script", "ScriptState"]

_G: Final = 9.81
#: Distance from the hip joint to the sensor along the spine, m.
_SENSOR_RADIUS_M: Final = 0.15
#: Finite-difference step for trunk angular velocity and acceleration, s.
_DIFF_STEP_S: Final = 0.01
#: Transition blend at the start of a segment, s (shortened for short segments).
_TRANSITION_S: Final = 1.5
#: Posture changes larger than this get a voluntary-contraction label, degrees.
_LABELLED_TRANSITION_DEG: Final = 30.0

_DEFAULT_TONE: Final[dict[str, float]] = {
    "lying": 0.0,
    "sitting": 0.012,
    "standing": 0.025,
    "walking": 0.025,
    "lifting": 0.03,
    "bending": 0.025,
    "sit_to_stand": 0.025,
    "turning_in_bed": 0.0,
    "_rest": 0.0,
}
_DEFAULT_FLEXION_DEG: Final[dict[str, float]] = {
    "sitting": 10.0,
    "bending": 80.0,
    "lifting": 65.0,
    "sit_to_stand": 35.0,
}
_HR_OFFSET_BPM: Final[dict[str, float]] = {
    "lying": 0.0,
    "sitting": 4.0,
    "standing": 9.0,
    "walking": 22.0,
    "lifting": 20.0,
    "bending": 14.0,
    "sit_to_stand": 10.0,
    "turning_in_bed": 4.0,
    "_rest": 0.0,
}
#: Relative likelihood of a random motion artefact during each activity.
_MOTION_ARTEFACT_WEIGHT: Final[dict[str, float]] = {
    "lying": 0.3,
    "sitting": 0.5,
    "standing": 1.0,
    "walking": 3.0,
    "lifting": 3.0,
    "bending": 3.0,
    "sit_to_stand": 3.0,
    "turning_in_bed": 3.0,
}

_SIT_TO_STAND_LEAN_S: Final = 1.0
_SIT_TO_STAND_RISE_S: Final = 1.3
_TURN_DELAY_S: Final = 0.3
_TURN_S: Final = 2.5


@dataclass
class ScriptState:
    """The body at a set of sample times (all arrays share ``n_times``).

    Attributes
    ----------
    activation : ndarray, shape (2, n_times)
        Erector-spinae activation (fraction of MVC), left and right, resting tone included.
    compression : ndarray, shape (2, n_times)
        Spectral compression weight in [0, 1] (1: median frequency times the wearer's
        ``cramp_median_ratio``).
    motion : ndarray, shape (n_times,)
        Movement intensity driving motion artefacts (about 1 for brisk movement).
    heel_strike : ndarray, shape (n_times,)
        Unit heel-strike transient (damped 6 Hz oscillation after each step).
    freeze : ndarray, shape (n_times,)
        How frozen the wearer is (0 moving freely, 1 frozen by a spasm).
    contact_loss : ndarray, shape (2, n_times)
        Electrode lift-off envelope per side (1: no skin contact).
    motion_event_uv : ndarray, shape (2, n_times)
        Envelope of discrete motion artefacts, microvolts RMS.
    deterministic_uv : ndarray, shape (2, n_times)
        Electrode pops and saturating deflections, microvolts.
    up : ndarray, shape (3, n_times) or None
        Gravity reaction in sensor axes (unit vectors), if requested.
    dynamic_g : ndarray, shape (3, n_times) or None
        Trunk acceleration in sensor axes, g, if requested.
    """

    activation: NDArray[np.float64]
    compression: NDArray[np.float64]
    motion: NDArray[np.float64]
    heel_strike: NDArray[np.float64]
    freeze: NDArray[np.float64]
    contact_loss: NDArray[np.float64]
    motion_event_uv: NDArray[np.float64]
    deterministic_uv: NDArray[np.float64]
    up: NDArray[np.float64] | None = None
    dynamic_g: NDArray[np.float64] | None = None


@dataclass
class _Kinematics:
    up: NDArray[np.float64]
    activation: NDArray[np.float64]
    dynamic_g: NDArray[np.float64]
    motion: NDArray[np.float64]
    heel_strike: NDArray[np.float64]
    fatigue: NDArray[np.float64] | None = None


@dataclass
class _SegmentPlan:
    index: int
    activity: str
    start_s: float
    end_s: float
    tone: float
    flexion_rad: float = 0.0
    start_flexion_rad: float = 0.0
    cadence_hz: float = 1.8
    roll_rad: float = 0.0
    from_roll_rad: float = 0.0
    repetitions: int = 0
    period_s: float = 0.0
    lead_s: float = 0.0
    down_s: float = 0.0
    hold_s: float = 0.0
    up_s: float = 0.0
    gain: float = 0.0
    fr_floor: float = 0.05
    fatigue_per_rep: float = 0.0
    side_gain: tuple[float, float] = (1.0, 1.0)
    sway_freq_hz: tuple[float, float] = (0.2, 0.3)
    sway_phase: tuple[float, float] = (0.0, 0.0)
    gait_mod: tuple[tuple[float, float, float], ...] = ()
    hr_offset_bpm: float = 0.0
    end_up: NDArray[np.float64] = field(default_factory=lambda: np.array([1.0, 0.0, 0.0]))
    end_activation: NDArray[np.float64] = field(default_factory=lambda: np.zeros(2))
    prev_up: NDArray[np.float64] | None = None
    prev_activation: NDArray[np.float64] | None = None
    transition_s: float = 0.0
    transition_rad: float = 0.0
    posture: str = ""


@dataclass
class _EpisodePlan:
    episode: Episode
    side_gain: NDArray[np.float64]
    wax_freq_hz: NDArray[np.float64]
    wax_phase: NDArray[np.float64]
    burst_times_s: NDArray[np.float64]
    burst_amp: NDArray[np.float64]
    burst_width_s: NDArray[np.float64]
    freeze_knots: tuple[float, float, float, float] | None


@dataclass
class _ArtefactPlan:
    kind: str
    onset_s: float
    duration_s: float
    truth_duration_s: float
    side: str
    amplitude_uv: float
    tau_s: float
    channel_gain: NDArray[np.float64]
    scripted: bool

    @property
    def end_s(self) -> float:
        return self.onset_s + self.truth_duration_s


def _side_vector(side: str, other: float) -> NDArray[np.float64]:
    if side == "left":
        return np.array([1.0, other])
    if side == "right":
        return np.array([other, 1.0])
    return np.array([1.0, 1.0])


class Script:
    """Pure-function timeline of a scenario.

    Parameters
    ----------
    scenario : Scenario
        The validated scenario.

    Notes
    -----
    Evaluation past :attr:`Scenario.duration_s` returns the wearer at rest in the final
    posture, with no further episodes or artefacts.
    """

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.duration_s = scenario.duration_s
        seed = scenario.wearer.seed
        self._episodes = self._plan_episodes(np.random.default_rng([seed, 2]))
        self._build_freeze_tables()
        self._segments = self._plan_segments(np.random.default_rng([seed, 1]))
        self._seg_starts = np.array([s.start_s for s in self._segments])
        self._ep_starts = np.array([p.episode.start_s for p in self._episodes])
        self._ep_ends = np.array([p.episode.end_s for p in self._episodes])
        self.artefacts = self._plan_artefacts(seed)
        self._art_onsets = np.array([a.onset_s for a in self.artefacts])
        self._art_ends = np.array([a.onset_s + 2.0 * a.truth_duration_s for a in self.artefacts])

    # ------------------------------------------------------------------ planning

    def _plan_episodes(self, rng: np.random.Generator) -> list[_EpisodePlan]:
        plans = []
        for ep in self.scenario.episodes:
            # Fixed number of draws per episode keeps later episodes stable under edits.
            wax_freq = rng.uniform(0.05, 0.4, size=3)
            wax_phase = rng.uniform(0.0, 2.0 * np.pi, size=3)
            bilateral_other = rng.uniform(0.8, 1.0)
            burst_rng = np.random.default_rng(rng.integers(2**63))
            if ep.side == "bilateral":
                side_gain = np.array([1.0, bilateral_other])
            elif ep.kind == "twitch":
                side_gain = _side_vector(ep.side, 0.05)
            else:
                side_gain = _side_vector(ep.side, 0.2)
            times, amps, widths = self._plan_bursts(ep, burst_rng)
            knots: tuple[float, float, float, float] | None = None
            if ep.freezes:
                s = min(1.0, ep.duration_s / 1.2)
                knots = (
                    ep.start_s + 0.15 * s,
                    ep.start_s + 0.45 * s,
                    ep.end_s - 0.5 * s,
                    ep.end_s,
                )
            plans.append(
                _EpisodePlan(ep, side_gain, wax_freq, wax_phase, times, amps, widths, knots)
            )
        return plans

    @staticmethod
    def _plan_bursts(
        ep: Episode, rng: np.random.Generator
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        if ep.kind == "clonic":
            rate = ep.rate_hz if ep.rate_hz is not None else 5.0
            width = 0.16 / rate
            n = max(1, int(math.floor((ep.duration_s - 4.0 * width) * rate)) + 1)
            times = ep.start_s + 2.0 * width + np.arange(n) / rate
            times = times + rng.normal(0.0, 0.06 / rate, size=n)
            times = np.clip(times, ep.start_s + 2.0 * width, ep.end_s - 2.0 * width)
            amps = ep.peak_mvc * rng.uniform(0.7, 1.0, size=n)
            return times, amps, np.full(n, width)
        if ep.kind == "myoclonic":
            rate = ep.rate_hz if ep.rate_hz is not None else 2.0
            gaps = 0.08 + rng.exponential(
                max(1.0 / rate - 0.08, 0.02), size=int(ep.duration_s * rate * 3) + 4
            )
            times = ep.start_s + 0.1 + np.cumsum(gaps) - gaps[0]
            times = times[times < ep.end_s - 0.1]
            if times.size == 0:
                times = np.array([ep.start_s + ep.duration_s / 2.0])
            n = times.size
            amps = ep.peak_mvc * rng.uniform(0.4, 1.0, size=n)
            amps[int(rng.integers(n))] = ep.peak_mvc
            widths = rng.uniform(0.012, 0.035, size=n)
            widths = np.minimum(widths, ep.duration_s / 6.0)
            return times, amps, widths
        if ep.kind == "twitch":
            return (
                np.array([ep.start_s + ep.duration_s / 2.0]),
                np.array([ep.peak_mvc]),
                np.array([ep.duration_s / 5.0]),
            )
        empty = np.zeros(0)
        return empty, empty, empty

    def _build_freeze_tables(self) -> None:
        knots = [p.freeze_knots for p in self._episodes if p.freeze_knots is not None]
        self._fz = np.array(knots, dtype=np.float64).reshape(-1, 4)
        areas = (self._fz[:, 2] + self._fz[:, 3]) / 2.0 - (self._fz[:, 0] + self._fz[:, 1]) / 2.0
        self._fz_cum = np.concatenate(([0.0], np.cumsum(areas)))

    def _plan_segments(self, rng: np.random.Generator) -> list[_SegmentPlan]:
        plans: list[_SegmentPlan] = []
        onsets = self.scenario.segment_onsets_s
        previous_roll = 0.0
        previous_sitting_flexion = np.deg2rad(_DEFAULT_FLEXION_DEG["sitting"])
        for i, (seg, start) in enumerate(zip(self.scenario.segments, onsets, strict=True)):
            sway_freq = rng.uniform(0.08, 0.35, size=2)
            sway_phase = rng.uniform(0.0, 2.0 * np.pi, size=2)
            side_gain = rng.uniform(0.9, 1.1, size=2)
            gait = tuple(
                (float(f), float(a), float(p))
                for f, a, p in zip(
                    rng.uniform(0.03, 0.25, size=3),
                    rng.uniform(0.004, 0.012, size=3),
                    rng.uniform(0.0, 2.0 * np.pi, size=3),
                    strict=True,
                )
            )
            plan = self._resolve_segment(seg, i, start, previous_roll, previous_sitting_flexion)
            plan.sway_freq_hz = (float(sway_freq[0]), float(sway_freq[1]))
            plan.sway_phase = (float(sway_phase[0]), float(sway_phase[1]))
            plan.side_gain = (float(side_gain[0]), float(side_gain[1]))
            plan.gait_mod = gait
            if seg.activity in ("lying", "turning_in_bed"):
                previous_roll = plan.roll_rad
            if seg.activity == "sitting":
                previous_sitting_flexion = plan.flexion_rad
            plans.append(plan)
        # End states (no blending needed: every transition ends inside its segment).
        for plan in plans:
            at_end = np.array([plan.end_s - 1e-6])
            kin = self._segment_kinematics(plan, at_end, need_acc=False, blend=False)
            plan.end_up = kin.up[:, 0].copy()
            plan.end_activation = kin.activation[:, 0].copy()
        for prev, plan in zip(plans[:-1], plans[1:], strict=True):
            at_start = np.array([plan.start_s])
            own = self._segment_kinematics(plan, at_start, need_acc=False, blend=False)
            plan.prev_up = prev.end_up
            plan.prev_activation = prev.end_activation
            plan.transition_s = min(_TRANSITION_S, 0.25 * (plan.end_s - plan.start_s))
            cos_angle = float(np.clip(np.dot(prev.end_up, own.up[:, 0]), -1.0, 1.0))
            plan.transition_rad = math.acos(cos_angle)
        last = plans[-1]
        rest = _SegmentPlan(
            index=len(plans),
            activity="_rest",
            start_s=last.end_s,
            end_s=math.inf,
            tone=0.0,
            end_up=last.end_up,
            end_activation=np.zeros(2),
        )
        plans.append(rest)
        return plans

    def _resolve_segment(
        self,
        seg: Segment,
        index: int,
        start: float,
        previous_roll: float,
        previous_sitting_flexion: float,
    ) -> _SegmentPlan:
        activity = seg.activity
        tone = seg.tone_mvc if seg.tone_mvc is not None else _DEFAULT_TONE[activity]
        plan = _SegmentPlan(
            index=index,
            activity=activity,
            start_s=start,
            end_s=start + seg.duration_s,
            tone=tone,
            hr_offset_bpm=_HR_OFFSET_BPM[activity],
        )
        flexion_deg = seg.flexion_deg
        if flexion_deg is None:
            flexion_deg = _DEFAULT_FLEXION_DEG.get(activity, 0.0)
        plan.flexion_rad = float(np.deg2rad(flexion_deg))
        if activity == "walking":
            plan.cadence_hz = seg.cadence_hz if seg.cadence_hz is not None else 1.8
            plan.hr_offset_bpm *= (plan.cadence_hz / 1.8) ** 2
        elif activity == "lying":
            plan.posture = seg.posture or "supine"
            plan.roll_rad = LYING_ROLL_RAD[plan.posture]
        elif activity == "turning_in_bed":
            plan.posture = seg.posture or "supine"
            plan.roll_rad = LYING_ROLL_RAD[plan.posture]
            plan.from_roll_rad = (
                LYING_ROLL_RAD[seg.from_posture] if seg.from_posture else previous_roll
            )
            delta = (plan.roll_rad - plan.from_roll_rad + np.pi) % (2.0 * np.pi) - np.pi
            if abs(abs(delta) - np.pi) < 1e-9:
                delta = np.pi  # supine <-> prone: roll over the left side
            plan.roll_rad = plan.from_roll_rad + delta
        elif activity == "sit_to_stand":
            plan.start_flexion_rad = previous_sitting_flexion
        elif activity in ("bending", "lifting"):
            duration = seg.duration_s
            reps = seg.repetitions if seg.repetitions is not None else max(1, int(duration // 6.0))
            period = duration / reps
            plan.repetitions = reps
            plan.period_s = period
            plan.lead_s = min(0.5, 0.1 * period)
            if activity == "bending":
                plan.down_s = min(1.5, 0.25 * period)
                plan.up_s = min(1.5, 0.25 * period)
                hold = seg.hold_s if seg.hold_s is not None else 1.0
                plan.gain = 0.22
                plan.fr_floor = 0.05
                plan.fatigue_per_rep = 0.01
            else:
                load = seg.load_kg if seg.load_kg is not None else 10.0
                plan.down_s = min(1.2, 0.22 * period)
                plan.up_s = min(1.5, 0.25 * period)
                hold = seg.hold_s if seg.hold_s is not None else 0.6
                plan.gain = 0.22 + 0.025 * load
                plan.fr_floor = min(0.6, 0.05 + 0.03 * load)
                plan.fatigue_per_rep = 0.01 + 0.002 * load
                plan.hr_offset_bpm += 0.5 * load
            plan.hold_s = min(hold, 0.2 * period)
        return plan

    # ------------------------------------------------------------------ movement clock

    def freeze(self, times_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return how frozen the wearer is (0..1) at the given times."""
        out = np.zeros(times_s.size)
        if self._fz.shape[0] == 0:
            return out
        k = np.searchsorted(self._fz[:, 3], times_s, side="right")
        active = k < self._fz.shape[0]
        if np.any(active):
            kk = k[active]
            t = times_s[active]
            a, b, c, d = (self._fz[kk, j] for j in range(4))
            rise = np.clip((t - a) / np.maximum(b - a, 1e-9), 0.0, 1.0)
            fall = np.clip((d - t) / np.maximum(d - c, 1e-9), 0.0, 1.0)
            out[active] = np.minimum(rise, fall)
        return out

    def movement_time(self, times_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the movement clock: time minus the time spent frozen so far."""
        if self._fz.shape[0] == 0:
            return np.asarray(times_s, dtype=np.float64)
        k = np.searchsorted(self._fz[:, 3], times_s, side="right")
        frozen = self._fz_cum[k].copy()
        active = k < self._fz.shape[0]
        if np.any(active):
            kk = k[active]
            t = times_s[active]
            a, b, c, d = (self._fz[kk, j] for j in range(4))
            wb = np.maximum(b - a, 1e-9)
            wd = np.maximum(d - c, 1e-9)
            part = np.clip(t - a, 0.0, wb) ** 2 / (2.0 * wb) + np.maximum(t - b, 0.0)
            part -= np.clip(t - c, 0.0, wd) ** 2 / (2.0 * wd) + np.maximum(t - d, 0.0)
            frozen[active] += part
        return np.asarray(times_s - frozen, dtype=np.float64)

    def _real_time_of(self, movement_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Invert the movement clock (earliest real time reaching each value)."""
        lo = np.asarray(movement_s, dtype=np.float64).copy()
        hi = lo + float(self._fz_cum[-1]) + 1.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            below = self.movement_time(mid) < movement_s
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        return hi

    # ------------------------------------------------------------------ segment kinematics

    def _segment_kinematics(
        self,
        plan: _SegmentPlan,
        times_s: NDArray[np.float64],
        *,
        need_acc: bool,
        blend: bool = True,
        freeze: NDArray[np.float64] | None = None,
    ) -> _Kinematics:
        n = times_s.size
        if freeze is None:
            freeze = self.freeze(times_s)
        if plan.activity == "_rest":
            kin = _Kinematics(
                up=np.repeat(plan.end_up[:, None], n, axis=1),
                activation=np.zeros((2, n)),
                dynamic_g=np.zeros((3, n)),
                motion=np.zeros(n),
                heel_strike=np.zeros(n),
            )
            return kin
        u = self.movement_time(times_s) - float(self.movement_time(np.array([plan.start_s]))[0])
        moving = 1.0 - freeze
        if plan.activity in ("lying", "turning_in_bed"):
            kin = self._lying(plan, u, moving)
        elif plan.activity == "walking":
            kin = self._walking(plan, times_s, u, moving)
        else:
            kin = self._upright(plan, u, moving, need_acc)
        if blend and plan.prev_up is not None and plan.prev_activation is not None:
            self._apply_transition(plan, times_s, kin)
        return kin

    def _apply_transition(
        self, plan: _SegmentPlan, times_s: NDArray[np.float64], kin: _Kinematics
    ) -> None:
        if plan.transition_s <= 0.0 or plan.prev_up is None or plan.prev_activation is None:
            return
        x = (times_s - plan.start_s) / plan.transition_s
        if np.all(x >= 1.0):
            return
        w = minimum_jerk(x)
        kin.up = nlerp(plan.prev_up[:, None], kin.up, w)
        inside = (x > 0.0) & (x < 1.0)
        burst = _transition_burst_mvc(plan.transition_rad) * np.sin(np.pi * x) ** 2
        burst = np.where(inside, burst, 0.0)
        kin.activation = (1.0 - w) * plan.prev_activation[:, None] + w * kin.activation + burst
        # Speed of the blend: minimum-jerk peak velocity is 1.875 / T.
        speed = 30.0 * x**2 * (1.0 - x) ** 2 / plan.transition_s * plan.transition_rad
        kin.motion = kin.motion + np.where(inside, speed, 0.0)

    def _sway(self, plan: _SegmentPlan, u: NDArray[np.float64], which: int) -> NDArray[np.float64]:
        return np.asarray(
            np.sin(2.0 * np.pi * plan.sway_freq_hz[which] * u + plan.sway_phase[which]),
            dtype=np.float64,
        )

    def _flexion(self, plan: _SegmentPlan, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """Trunk flexion in rad as a function of segment movement time."""
        act = plan.activity
        if act == "sitting":
            return np.asarray(plan.flexion_rad + np.deg2rad(1.0) * self._sway(plan, u, 0))
        if act == "standing":
            return np.asarray(np.deg2rad(2.0) + np.deg2rad(0.6) * self._sway(plan, u, 0))
        if act == "sit_to_stand":
            lean = plan.start_flexion_rad + (plan.flexion_rad - plan.start_flexion_rad) * (
                minimum_jerk(u / _SIT_TO_STAND_LEAN_S)
            )
            rise = minimum_jerk((u - _SIT_TO_STAND_LEAN_S) / _SIT_TO_STAND_RISE_S)
            upright = np.deg2rad(2.0) + np.deg2rad(0.6) * self._sway(plan, u, 0)
            return np.asarray(lean + (upright - lean) * rise)
        # bending, lifting: repetitions
        k = np.clip(np.floor(u / plan.period_s), 0, plan.repetitions - 1)
        v = u - k * plan.period_s - plan.lead_s
        down = minimum_jerk(v / plan.down_s)
        up = minimum_jerk((v - plan.down_s - plan.hold_s) / plan.up_s)
        base = np.deg2rad(2.0) + np.deg2rad(0.6) * self._sway(plan, u, 0)
        return np.asarray(base + (plan.flexion_rad - base) * (down - up))

    def _upright(
        self,
        plan: _SegmentPlan,
        u: NDArray[np.float64],
        moving: NDArray[np.float64],
        need_acc: bool,
    ) -> _Kinematics:
        h = _DIFF_STEP_S
        theta = self._flexion(plan, u)
        theta_p = self._flexion(plan, u + h)
        theta_m = self._flexion(plan, u - h)
        lateral = np.deg2rad(0.5) * self._sway(plan, u, 1)
        # Angular velocity and acceleration in real time (the movement clock runs at
        # ``moving`` times real time).
        omega = (theta_p - theta_m) / (2.0 * h) * moving
        alpha = (theta_p - 2.0 * theta + theta_m) / h**2 * moving**2
        up = trunk_up_vector(theta, lateral)
        n = u.size
        side = np.array(plan.side_gain)[:, None]
        activation = np.full((2, n), plan.tone)
        fatigue: NDArray[np.float64] | None = None
        if plan.activity in ("bending", "lifting"):
            flex = np.clip(theta, 0.0, None)
            fr_onset = np.deg2rad(68.0 if plan.activity == "bending" else 72.0)
            relax = 1.0 - (1.0 - plan.fr_floor) / (
                1.0 + np.exp(-(flex - fr_onset) / np.deg2rad(4.0))
            )
            peak_speed = 1.875 * max(plan.flexion_rad, 1e-3) / plan.up_s
            rising = np.clip(-omega / peak_speed, 0.0, 1.0)
            vol = plan.gain * np.sin(flex) * relax * (1.0 + 0.6 * rising)
            activation = activation + side * vol
            # Localised fatigue over a bout of repetitions compresses the spectrum
            # (De Luca 1984): a few percent per repetition, more with a load.
            done = np.clip(u / plan.period_s, 0.0, plan.repetitions)
            fatigue = np.minimum(0.5, plan.fatigue_per_rep * done)
        elif plan.activity == "sit_to_stand":
            stand = minimum_jerk((u - _SIT_TO_STAND_LEAN_S) / _SIT_TO_STAND_RISE_S)
            tone_sit = _DEFAULT_TONE["sitting"]
            activation = np.full((2, n), 0.0) + (tone_sit + (plan.tone - tone_sit) * stand)
            centre = _SIT_TO_STAND_LEAN_S + 0.35 * _SIT_TO_STAND_RISE_S
            activation = activation + side * 0.22 * np.exp(-0.5 * ((u - centre) / 0.3) ** 2)
        dynamic = np.zeros((3, n))
        if need_acc:
            r = _SENSOR_RADIUS_M / _G
            dynamic[0] = -r * omega**2
            dynamic[2] = r * alpha
            if plan.activity == "sit_to_stand":
                centre = _SIT_TO_STAND_LEAN_S + 0.2
                dynamic[0] += 0.18 * np.exp(-0.5 * ((u - centre) / 0.18) ** 2) * moving
                dynamic[0] -= 0.10 * np.exp(-0.5 * ((u - centre - 0.55) / 0.22) ** 2) * moving
        motion = np.abs(omega)
        return _Kinematics(up, activation, dynamic, motion, np.zeros(n), fatigue)

    def _lying(
        self, plan: _SegmentPlan, u: NDArray[np.float64], moving: NDArray[np.float64]
    ) -> _Kinematics:
        n = u.size
        if plan.activity == "lying":
            roll = np.full(n, plan.roll_rad)
            activation = np.full((2, n), plan.tone)
            return _Kinematics(
                lying_up_vector(roll), activation, np.zeros((3, n)), np.zeros(n), np.zeros(n)
            )
        x = (u - _TURN_DELAY_S) / _TURN_S
        roll = plan.from_roll_rad + (plan.roll_rad - plan.from_roll_rad) * minimum_jerk(x)
        inside = (x > 0.0) & (x < 1.0)
        speed = np.where(
            inside,
            30.0 * x**2 * (1.0 - x) ** 2 * abs(plan.roll_rad - plan.from_roll_rad) / _TURN_S,
            0.0,
        )
        side = np.array(plan.side_gain)[:, None]
        burst = np.where(inside, 0.12 * np.sin(np.pi * x) ** 2, 0.0)
        activation = plan.tone + side * burst
        dynamic = np.zeros((3, n))
        return _Kinematics(lying_up_vector(roll), activation, dynamic, speed * moving, np.zeros(n))

    def _walking(
        self,
        plan: _SegmentPlan,
        times_s: NDArray[np.float64],
        u: NDArray[np.float64],
        moving: NDArray[np.float64],
    ) -> _Kinematics:
        cadence = plan.cadence_hz
        phase = cadence * u
        for freq, rel, ph in plan.gait_mod:
            phase = phase + rel * cadence / (2.0 * np.pi * freq) * np.sin(
                2.0 * np.pi * freq * u + ph
            )
        start_ramp = minimum_jerk(u / 1.5)
        stop_ramp = minimum_jerk((plan.end_s - times_s) / 1.0)
        amp = start_ramp * stop_ramp * moving
        stride = phase / 2.0
        left = 0.55 * von_mises_bump(stride, 10.0) + von_mises_bump(stride - 0.5, 10.0)
        right = 0.55 * von_mises_bump(stride - 0.5, 10.0) + von_mises_bump(stride, 10.0)
        burst_mvc = 0.12 * (cadence / 1.8)
        side = np.array(plan.side_gain)[:, None]
        activation = plan.tone + side * burst_mvc * amp * np.stack((left, right))
        flexion = np.deg2rad(4.0) + np.deg2rad(1.5) * amp * np.cos(2.0 * np.pi * phase)
        lateral = np.deg2rad(2.0) * amp * np.sin(np.pi * phase)
        up = trunk_up_vector(flexion, lateral)
        dynamic = gait_acceleration(phase, cadence, amp)
        since_hs = np.mod(phase, 1.0) / cadence
        heel = amp * np.exp(-since_hs / 0.03) * np.sin(2.0 * np.pi * 6.0 * since_hs)
        motion = 0.6 * amp
        return _Kinematics(up, activation, dynamic, motion, heel)

    # ------------------------------------------------------------------ episodes

    def _episode_contributions(
        self,
        times_s: NDArray[np.float64],
        activation: NDArray[np.float64],
        compression: NDArray[np.float64],
        tilt: NDArray[np.float64],
        jolt: NDArray[np.float64],
    ) -> None:
        if not self._episodes:
            return
        t0, t1 = float(times_s[0]), float(times_s[-1])
        first = int(np.searchsorted(self._ep_ends, t0, side="left"))
        last = int(np.searchsorted(self._ep_starts, t1, side="right"))
        for plan in self._episodes[first:last]:
            ep = plan.episode
            inside = (times_s >= ep.start_s) & (times_s < ep.end_s)
            if not np.any(inside):
                continue
            idx = np.flatnonzero(inside)
            t = times_s[idx]
            env, comp = self._episode_envelope(plan, t)
            activation[:, idx] += plan.side_gain[:, None] * env
            compression[:, idx] = np.maximum(
                compression[:, idx], (plan.side_gain[:, None] >= 0.5) * comp
            )
            if ep.kind in ("tonic", "cramp"):
                level = env / max(ep.peak_mvc, 1e-6)
                if ep.side == "left":
                    tilt[1, idx] -= np.deg2rad(8.0) * ep.peak_mvc * level
                elif ep.side == "right":
                    tilt[1, idx] += np.deg2rad(8.0) * ep.peak_mvc * level
                else:
                    tilt[0, idx] -= np.deg2rad(6.0) * ep.peak_mvc * level
            if ep.trunk_deg != 0.0:
                angle, angular_acc = _voluntary_trunk_move(ep, t)
                tilt[0, idx] += angle
                # Tangential acceleration of the sensor about the hip, along the anterior axis.
                jolt[2, idx] += angular_acc * _SENSOR_RADIUS_M / _G
            self._burst_jolts(plan, t, idx, jolt)

    def _bursts(self, plan: _EpisodePlan, t: NDArray[np.float64]) -> NDArray[np.float64]:
        lo = np.searchsorted(plan.burst_times_s, t[0] - 5.0 * plan.burst_width_s.max())
        hi = np.searchsorted(plan.burst_times_s, t[-1] + 5.0 * plan.burst_width_s.max())
        if hi <= lo:
            return np.zeros(t.size)
        centres = plan.burst_times_s[lo:hi, None]
        widths = plan.burst_width_s[lo:hi, None]
        amps = plan.burst_amp[lo:hi, None]
        return np.asarray(
            np.sum(amps * np.exp(-0.5 * ((t[None, :] - centres) / widths) ** 2), axis=0)
        )

    def _burst_jolts(
        self,
        plan: _EpisodePlan,
        t: NDArray[np.float64],
        idx: NDArray[np.intp],
        jolt: NDArray[np.float64],
    ) -> None:
        if plan.burst_times_s.size == 0:
            return
        lo = np.searchsorted(plan.burst_times_s, t[0] - 0.3)
        hi = np.searchsorted(plan.burst_times_s, t[-1] + 0.3)
        if hi <= lo:
            return
        centres = plan.burst_times_s[lo:hi, None]
        amps = plan.burst_amp[lo:hi, None]
        width = 0.03
        x = (t[None, :] - centres) / width
        # Biphasic: the trunk is jerked backwards and stopped (first derivative of a Gaussian).
        shape = -x * np.exp(0.5 - 0.5 * x**2)
        jolt[2, idx] += -0.25 * np.sum(amps * shape, axis=0)

    def _episode_envelope(
        self, plan: _EpisodePlan, t: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        ep = plan.episode
        lag = t - ep.start_s
        wax = (
            np.sum(
                np.sin(
                    2.0 * np.pi * plan.wax_freq_hz[:, None] * lag[None, :] + plan.wax_phase[:, None]
                ),
                axis=0,
            )
            / plan.wax_freq_hz.size
        )
        zeros = np.zeros(t.size)
        if ep.kind == "tonic":
            rise = np.clip(lag / 0.2, 0.0, 1.0)
            fall_s = min(1.5, 0.3 * ep.duration_s)
            fall = np.clip((ep.end_s - t) / fall_s, 0.0, 1.0)
            env = ep.peak_mvc * np.sin(0.5 * np.pi * rise) * (0.5 - 0.5 * np.cos(np.pi * fall))
            env = env * (0.75 + 0.25 * wax)
            return env, 0.3 * env / ep.peak_mvc
        if ep.kind == "cramp":
            rise = minimum_jerk(lag / min(1.5, 0.2 * ep.duration_s))
            fall = minimum_jerk((ep.end_s - t) / min(2.0, 0.25 * ep.duration_s))
            env = ep.peak_mvc * rise * fall * (0.85 + 0.15 * wax)
            build = np.clip(lag / (0.3 * ep.duration_s), 0.0, 1.0)
            return env, build * fall
        if ep.kind == "voluntary":
            ramp = min(0.5, ep.duration_s / 4.0)
            env = ep.peak_mvc * plateau_envelope(t, ep.start_s, ep.duration_s, ramp)
            return env, zeros
        bursts = self._bursts(plan, t)
        if ep.kind == "clonic":
            background = 0.1 * ep.peak_mvc * plateau_envelope(t, ep.start_s, ep.duration_s, 0.3)
            return bursts + background, zeros
        return bursts, zeros

    def _episode_hr(self, times_s: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.zeros(times_s.size)
        if not self._episodes:
            return out
        k = np.searchsorted(self._ep_starts, times_s, side="right") - 1
        valid = k >= 0
        kk = np.clip(k, 0, None)
        inside = valid & (times_s < self._ep_ends[kk])
        peaks = np.array(
            [
                p.episode.peak_mvc if p.episode.involuntary and p.episode.kind != "twitch" else 0.0
                for p in self._episodes
            ]
        )
        out[inside] = 15.0 * peaks[kk[inside]]
        return out

    # ------------------------------------------------------------------ artefacts

    def _plan_artefacts(self, seed: int) -> list[_ArtefactPlan]:
        plans = [
            self._scripted_artefact(a, np.random.default_rng([seed, 4, i]))
            for i, a in enumerate(self.scenario.artefacts)
        ]
        wearer = self.scenario.wearer
        rates = {
            "electrode_pop": wearer.electrode_pop_per_h,
            "lift_off": wearer.lift_off_per_h,
            "motion": wearer.motion_artefact_per_h,
            "saturation": wearer.saturation_per_h,
        }
        for k, kind in enumerate(ARTEFACT_KINDS):
            rng = np.random.default_rng([seed, 3, k])
            count = int(rng.poisson(rates[kind] * self.duration_s / 3600.0))
            onsets = self._random_onsets(rng, count, kind)
            for onset in onsets:
                plans.append(self._random_artefact(kind, float(onset), rng))
        plans = [p for p in plans if p.onset_s < self.duration_s]
        plans.sort(key=lambda p: p.onset_s)
        return plans

    def _random_onsets(
        self, rng: np.random.Generator, count: int, kind: str
    ) -> NDArray[np.float64]:
        if count == 0:
            return np.zeros(0)
        if kind != "motion":
            return np.sort(rng.uniform(0.0, self.duration_s, size=count))
        weights = np.array(
            [_MOTION_ARTEFACT_WEIGHT[s.activity] * s.duration_s for s in self.scenario.segments]
        )
        cdf = np.concatenate(([0.0], np.cumsum(weights))) / weights.sum()
        draws = rng.uniform(0.0, 1.0, size=count)
        seg = np.clip(np.searchsorted(cdf, draws, side="right") - 1, 0, weights.size - 1)
        within = (draws - cdf[seg]) / np.maximum(cdf[seg + 1] - cdf[seg], 1e-12)
        starts = np.array(self.scenario.segment_onsets_s)
        durations = np.array([s.duration_s for s in self.scenario.segments])
        return np.sort(starts[seg] + within * durations[seg])

    def _random_artefact(self, kind: str, onset: float, rng: np.random.Generator) -> _ArtefactPlan:
        side = "left" if rng.uniform() < 0.5 else "right"
        polarity = 1.0 if rng.uniform() < 0.5 else -1.0
        gain = np.array([polarity, polarity * rng.uniform(0.6, 1.0)])
        if kind == "electrode_pop":
            amp = float(np.exp(rng.uniform(np.log(150.0), np.log(1500.0))))
            tau = float(rng.uniform(0.1, 0.5))
            return _ArtefactPlan(kind, onset, 5.0 * tau, 5.0 * tau, side, amp, tau, gain, False)
        if kind == "lift_off":
            dur = float(np.exp(rng.uniform(np.log(1.0), np.log(20.0))))
            amp = float(np.exp(rng.uniform(np.log(5000.0), np.log(30000.0))))
            return _ArtefactPlan(kind, onset, dur, dur + 1.5, side, amp, 0.3, gain, False)
        if kind == "motion":
            dur = float(rng.uniform(0.5, 3.0))
            amp = float(np.exp(rng.uniform(np.log(100.0), np.log(600.0))))
            if rng.uniform() < 0.6:
                side = "bilateral"
            return _ArtefactPlan(kind, onset, dur, dur, side, amp, 0.0, gain, False)
        dur = float(rng.uniform(0.1, 0.8))
        amp = float(np.exp(rng.uniform(np.log(2500.0), np.log(10000.0))))
        return _ArtefactPlan(kind, onset, dur, 1.5 * dur, "bilateral", amp, 0.0, gain, False)

    @staticmethod
    def _scripted_artefact(artefact: Artefact, rng: np.random.Generator) -> _ArtefactPlan:
        kind = artefact.kind
        polarity = 1.0 if rng.uniform() < 0.5 else -1.0
        gain = np.array([polarity, polarity * rng.uniform(0.6, 1.0)])
        side = artefact.side
        if kind == "electrode_pop":
            dur = artefact.duration_s if artefact.duration_s is not None else 1.5
            amp = artefact.amplitude_uv if artefact.amplitude_uv is not None else 800.0
            side = "left" if side == "bilateral" else side
            return _ArtefactPlan(kind, artefact.start_s, dur, dur, side, amp, dur / 5.0, gain, True)
        if kind == "lift_off":
            dur = artefact.duration_s if artefact.duration_s is not None else 5.0
            amp = artefact.amplitude_uv if artefact.amplitude_uv is not None else 20000.0
            return _ArtefactPlan(kind, artefact.start_s, dur, dur + 1.5, side, amp, 0.3, gain, True)
        if kind == "motion":
            dur = artefact.duration_s if artefact.duration_s is not None else 1.5
            amp = artefact.amplitude_uv if artefact.amplitude_uv is not None else 300.0
            return _ArtefactPlan(kind, artefact.start_s, dur, dur, side, amp, 0.0, gain, True)
        dur = artefact.duration_s if artefact.duration_s is not None else 0.5
        amp = artefact.amplitude_uv if artefact.amplitude_uv is not None else 5000.0
        return _ArtefactPlan(
            kind, artefact.start_s, dur, 1.5 * dur, "bilateral", amp, 0.0, gain, True
        )

    def _artefact_contributions(self, times_s: NDArray[np.float64], state: ScriptState) -> None:
        if not self.artefacts:
            return
        t0, t1 = float(times_s[0]), float(times_s[-1])
        hits = np.flatnonzero((self._art_onsets <= t1) & (self._art_ends >= t0))
        for i in hits:
            art = self.artefacts[int(i)]
            mask = _side_vector(art.side, 0.0)
            if art.kind == "electrode_pop":
                channel = 0 if art.side == "left" else 1
                pop = electrode_pop(
                    times_s,
                    np.array([art.onset_s]),
                    np.array([art.amplitude_uv * art.channel_gain[0]]),
                    np.array([art.tau_s]),
                )
                state.deterministic_uv[channel] += pop
            elif art.kind == "saturation":
                pulse = saturation_pulse(times_s, art.onset_s, art.duration_s)
                state.deterministic_uv += art.amplitude_uv * art.channel_gain[:, None] * pulse
            elif art.kind == "motion":
                env = plateau_envelope(times_s, art.onset_s, art.duration_s, 0.3 * art.duration_s)
                state.motion_event_uv += mask[:, None] * art.amplitude_uv * env
            else:  # lift_off
                env = plateau_envelope(times_s, art.onset_s, art.duration_s, 0.15)
                for ch in np.flatnonzero(mask):
                    state.contact_loss[ch] = np.maximum(state.contact_loss[ch], env)
                    # The electrode settles back with a pop as contact returns.
                    state.deterministic_uv[ch] += electrode_pop(
                        times_s,
                        np.array([art.onset_s + art.duration_s]),
                        np.array([600.0 * art.channel_gain[0]]),
                        np.array([art.tau_s]),
                    )

    def lift_off_amplitude_uv(self, times_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the mains amplitude (uV) of open electrodes per side, shape (2, n_times)."""
        out = np.zeros((2, times_s.size))
        if not self.artefacts:
            return out
        t0, t1 = float(times_s[0]), float(times_s[-1])
        hits = np.flatnonzero((self._art_onsets <= t1) & (self._art_ends >= t0))
        for i in hits:
            art = self.artefacts[int(i)]
            if art.kind != "lift_off":
                continue
            env = plateau_envelope(times_s, art.onset_s, art.duration_s, 0.15)
            mask = _side_vector(art.side, 0.0)
            out += mask[:, None] * art.amplitude_uv * env
        return out

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, times_s: NDArray[np.float64], *, need_acc: bool) -> ScriptState:
        """Evaluate the body at increasing sample times.

        Parameters
        ----------
        times_s : ndarray of float, shape (n_times,)
            Increasing sample times in s (a block of a stream).
        need_acc : bool
            Whether to compute the trunk orientation and acceleration.

        Returns
        -------
        state : ScriptState
            The body at those times.
        """
        n = times_s.size
        freeze = self.freeze(times_s)
        activation = np.zeros((2, n))
        up = np.zeros((3, n))
        dynamic = np.zeros((3, n))
        motion = np.zeros(n)
        heel = np.zeros(n)
        compression = np.zeros((2, n))
        seg_idx = np.searchsorted(self._seg_starts, times_s, side="right") - 1
        seg_idx = np.clip(seg_idx, 0, len(self._segments) - 1)
        for k in np.unique(seg_idx):
            sel = np.flatnonzero(seg_idx == k)
            kin = self._segment_kinematics(
                self._segments[int(k)], times_s[sel], need_acc=need_acc, freeze=freeze[sel]
            )
            activation[:, sel] = kin.activation
            up[:, sel] = kin.up
            dynamic[:, sel] = kin.dynamic_g
            motion[sel] = kin.motion
            heel[sel] = kin.heel_strike
            if kin.fatigue is not None:
                compression[:, sel] = kin.fatigue
        activation += self.scenario.wearer.rest_mvc
        tilt = np.zeros((2, n))
        jolt = np.zeros((3, n))
        self._episode_contributions(times_s, activation, compression, tilt, jolt)
        state = ScriptState(
            activation=np.clip(activation, 0.0, 1.2),
            compression=np.clip(compression, 0.0, 1.0),
            motion=motion,
            heel_strike=heel,
            freeze=freeze,
            contact_loss=np.zeros((2, n)),
            motion_event_uv=np.zeros((2, n)),
            deterministic_uv=np.zeros((2, n)),
        )
        self._artefact_contributions(times_s, state)
        if need_acc:
            state.up = _tilt(up, tilt)
            state.dynamic_g = dynamic + jolt
        return state

    def heart_rate_target(self, times_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the heart rate (bpm) the body is heading for at the given times."""
        seg_idx = np.searchsorted(self._seg_starts, times_s, side="right") - 1
        seg_idx = np.clip(seg_idx, 0, len(self._segments) - 1)
        offsets = np.array([s.hr_offset_bpm for s in self._segments])
        return np.asarray(
            self.scenario.wearer.heart_rate_bpm + offsets[seg_idx] + self._episode_hr(times_s)
        )

    # ------------------------------------------------------------------ truth

    def truth(self) -> list[TruthEvent]:
        """Return the ground-truth labels (see :meth:`Scenario.truth`)."""
        events: list[TruthEvent] = []
        for plan in self._segments[:-1]:
            events.append(self._activity_event(plan))
            events.extend(self._voluntary_events(plan))
        for ep_plan in self._episodes:
            ep = ep_plan.episode
            events.append(
                TruthEvent(
                    onset_s=ep.start_s,
                    duration_s=ep.duration_s,
                    category="contraction",
                    kind=ep.kind,
                    side=ep.side,
                    involuntary=ep.involuntary,
                    peak_mvc=ep.peak_mvc,
                    description=ep.description,
                )
            )
        for art in self.artefacts:
            origin = "scripted" if art.scripted else "random"
            events.append(
                TruthEvent(
                    onset_s=art.onset_s,
                    duration_s=min(art.truth_duration_s, self.duration_s - art.onset_s),
                    category="artefact",
                    kind=art.kind,
                    side=art.side,
                    description=f"{origin}, {art.amplitude_uv:.0f} uV",
                )
            )
        order = {"activity": 0, "contraction": 1, "artefact": 2}
        events.sort(key=lambda e: (e.onset_s, order[e.category]))
        return events

    def _activity_event(self, plan: _SegmentPlan) -> TruthEvent:
        description = plan.posture
        if plan.activity == "walking":
            description = f"cadence {plan.cadence_hz:g} steps/s"
        elif plan.activity in ("bending", "lifting"):
            description = f"{plan.repetitions} x {np.rad2deg(plan.flexion_rad):.0f} deg"
        return TruthEvent(
            onset_s=plan.start_s,
            duration_s=plan.end_s - plan.start_s,
            category="activity",
            kind=plan.activity,
            description=description,
        )

    def _voluntary_events(self, plan: _SegmentPlan) -> list[TruthEvent]:
        windows: list[tuple[float, float, str]] = []  # movement-clock (start, stop) in segment
        if plan.activity in ("bending", "lifting"):
            for k in range(plan.repetitions):
                u0 = k * plan.period_s + plan.lead_s
                u1 = u0 + plan.down_s + plan.hold_s + plan.up_s
                windows.append((u0, u1, f"{plan.activity} repetition {k + 1}"))
        elif plan.activity == "sit_to_stand":
            centre = _SIT_TO_STAND_LEAN_S + 0.35 * _SIT_TO_STAND_RISE_S
            windows.append((centre - 0.75, centre + 0.75, "standing up"))
        elif plan.activity == "turning_in_bed":
            windows.append((_TURN_DELAY_S, _TURN_DELAY_S + _TURN_S, f"turning to {plan.posture}"))
        events = []
        seg_u0 = float(self.movement_time(np.array([plan.start_s]))[0])
        if windows:
            bounds = np.array([[w[0], w[1]] for w in windows]) + seg_u0
            real = self._real_time_of(bounds.ravel()).reshape(-1, 2)
            for (t_on, t_off), (_, _, label) in zip(real, windows, strict=True):
                t_on = round(max(float(t_on), plan.start_s), 4)
                t_off = round(min(float(t_off), plan.end_s), 4)
                if t_off - t_on < 0.2:
                    continue
                grid = np.linspace(t_on, t_off, 200)
                kin = self._segment_kinematics(plan, grid, need_acc=False)
                # Peak of the contraction above the activity's background tone.
                peak = float(np.max(kin.activation)) - plan.tone
                events.append(
                    TruthEvent(
                        onset_s=t_on,
                        duration_s=round(t_off - t_on, 4),
                        category="contraction",
                        kind="voluntary",
                        side="bilateral",
                        peak_mvc=round(peak, 4),
                        description=label,
                    )
                )
        if plan.transition_rad >= np.deg2rad(_LABELLED_TRANSITION_DEG) and plan.transition_s > 0.2:
            peak = _transition_burst_mvc(plan.transition_rad)
            events.append(
                TruthEvent(
                    onset_s=plan.start_s,
                    duration_s=plan.transition_s,
                    category="contraction",
                    kind="voluntary",
                    side="bilateral",
                    peak_mvc=round(peak, 4),
                    description=f"posture change into {plan.activity} "
                    f"({np.rad2deg(plan.transition_rad):.0f} deg)",
                )
            )
        return events


def _voluntary_trunk_move(
    ep: Episode, t: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Trunk flexion (rad) and its angular acceleration (rad/s^2) of a moving contraction.

    Out with a minimum-jerk profile over the first third of the contraction (at most 1 s),
    held, and back over the last third.
    """
    move_s = min(1.0, ep.duration_s / 3.0)
    amplitude = np.deg2rad(ep.trunk_deg)
    out = (t - ep.start_s) / move_s
    back = (ep.end_s - t) / move_s
    angle = amplitude * minimum_jerk(out) * minimum_jerk(back)
    # The two movements do not overlap, so the product's second derivative is the sum of
    # each one's while the other is at 1.
    acc = amplitude / move_s**2 * (minimum_jerk_acceleration(out) + minimum_jerk_acceleration(back))
    return angle, acc


def _transition_burst_mvc(angle_rad: float) -> float:
    """Peak erector-spinae burst (fraction of MVC) of a posture change through an angle."""
    return 0.15 * min(angle_rad / (np.pi / 2.0), 1.5)


def _tilt(up: NDArray[np.float64], tilt: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rotate gravity vectors by a flexion (tilt[0]) then a lateral bend (tilt[1])."""
    if not np.any(tilt):
        return up
    cf, sf = np.cos(tilt[0]), np.sin(tilt[0])
    x = cf * up[0] + sf * up[2]
    z = -sf * up[0] + cf * up[2]
    cl, sl = np.cos(tilt[1]), np.sin(tilt[1])
    x2 = cl * x - sl * up[1]
    y2 = sl * x + cl * up[1]
    return np.stack((x2, y2, z))
