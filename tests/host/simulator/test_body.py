"""BodySimulator: streaming contract, determinism, and agreement with the truth labels."""

from __future__ import annotations

import functools
import math
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import signal

from host.simulator import BodySimulator, Scenario, TruthEvent, builtin_scenario, loads_scenario
from host.simulator.realism import highpass, median_frequency

SFREQ = 1000.0
ACCEL_SFREQ = 100.0

# Six seconds that exercise every stateful path: a posture change, walking with heel
# strikes, a clonic episode that freezes the wearer, a cramp (spectral compression), a pop,
# a motion artefact, a lift-off, a saturating deflection and random artefacts.
SHORT = """
name = "short"
[wearer]
seed = 5
electrode_pop_per_h = 900.0
motion_artefact_per_h = 900.0

[[segment]]
activity = "sitting"
duration_s = 1.2
[[segment]]
activity = "walking"
duration_s = 3.0
[[segment]]
activity = "bending"
duration_s = 2.3
repetitions = 1

[[episode]]
start_s = 2.0
kind = "clonic"
side = "left"
duration_s = 1.2
peak_mvc = 0.4
[[episode]]
start_s = 4.5
kind = "cramp"
side = "right"
duration_s = 1.5
peak_mvc = 0.5

[[artefact]]
start_s = 0.5
kind = "electrode_pop"
[[artefact]]
start_s = 1.5
kind = "lift_off"
side = "right"
duration_s = 0.7
[[artefact]]
start_s = 3.1
kind = "saturation"
"""


@functools.cache
def _short() -> Scenario:
    return loads_scenario(SHORT)


@functools.cache
def _reference(
    sfreq: float, accel_sfreq: float, n_times: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    body = BodySimulator(_short(), sfreq=sfreq, accel_sfreq=accel_sfreq, seed=9)
    return body.read(n_times)


@functools.cache
def _quick() -> tuple[NDArray[np.float64], NDArray[np.float64], list[TruthEvent]]:
    scenario = builtin_scenario("quick")
    body = BodySimulator(scenario, sfreq=SFREQ, accel_sfreq=ACCEL_SFREQ, seed=1)
    emg, acc = body.read(body.n_times_total)
    return emg, acc, scenario.truth()


def _events(kind: str) -> list[TruthEvent]:
    return [e for e in _quick()[2] if e.kind == kind]


def _slice(event: TruthEvent, margin_s: float = 0.0, sfreq: float = SFREQ) -> slice:
    start = int(round((event.onset_s + margin_s) * sfreq))
    stop = int(round((event.offset_s - margin_s) * sfreq))
    return slice(start, stop)


def _rms(x: NDArray[np.float64]) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


# --------------------------------------------------------------------------- streaming


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    rates=st.sampled_from([(1000.0, 100.0), (1000.0, 30.0), (512.0, 52.5), (250.0, 0.0)]),
    blocks=st.lists(st.integers(min_value=0, max_value=1700), min_size=1, max_size=25),
)
def test_output_is_independent_of_block_sizes(
    rates: tuple[float, float], blocks: list[int]
) -> None:
    sfreq, accel_sfreq = rates
    total = sum(blocks)
    ref_emg, ref_acc = _reference(sfreq, accel_sfreq, 25 * 1700)
    body = BodySimulator(_short(), sfreq=sfreq, accel_sfreq=accel_sfreq, seed=9)
    emg_parts, acc_parts = [], []
    produced = 0
    for n in blocks:
        emg, acc = body.read(n)
        assert emg.shape == (2, n)
        assert emg.dtype == np.float64
        assert acc.dtype == np.float64
        n_acc = math.floor((produced + n) * accel_sfreq / sfreq) - math.floor(
            produced * accel_sfreq / sfreq
        )
        assert acc.shape == (3, n_acc)
        produced += n
        emg_parts.append(emg)
        acc_parts.append(acc)
    assert body.time_s == pytest.approx(total / sfreq)
    emg_all = np.concatenate(emg_parts, axis=1)
    acc_all = np.concatenate(acc_parts, axis=1)
    np.testing.assert_array_equal(emg_all, ref_emg[:, :total])
    np.testing.assert_array_equal(acc_all, ref_acc[:, : acc_all.shape[1]])


def test_accelerometer_sample_k_is_at_k_over_accel_sfreq() -> None:
    scenario = loads_scenario(
        "[[segment]]\nactivity = 'standing'\nduration_s = 2.0\n"
        "[[segment]]\nactivity = 'lying'\nduration_s = 4.0\nposture = 'prone'\n"
    )
    for accel_sfreq in (100.0, 37.0):
        body = BodySimulator(scenario, sfreq=SFREQ, accel_sfreq=accel_sfreq, seed=1)
        _, acc = body.read(6000)
        assert acc.shape[1] == math.floor(6000 * accel_sfreq / SFREQ)
        t = np.arange(acc.shape[1]) / accel_sfreq
        assert np.all(acc[0, t < 1.9] > 0.95)  # standing: gravity along +x (up the spine)
        assert np.all(acc[2, (t > 3.6) & (t < 5.9)] < -0.95)  # prone: gravity along -z


def test_same_seed_same_output_and_different_seed_differs() -> None:
    scenario = _short()
    a = BodySimulator(scenario, sfreq=SFREQ, accel_sfreq=ACCEL_SFREQ, seed=3).read(4000)
    b = BodySimulator(scenario, sfreq=SFREQ, accel_sfreq=ACCEL_SFREQ, seed=3).read(4000)
    c = BodySimulator(scenario, sfreq=SFREQ, accel_sfreq=ACCEL_SFREQ, seed=4).read(4000)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(a[0], c[0])
    # The script (truth) belongs to the scenario: the noise seed does not move it.
    assert (
        BodySimulator(scenario, sfreq=SFREQ, accel_sfreq=ACCEL_SFREQ, seed=3).truth()
        == BodySimulator(scenario, sfreq=SFREQ, accel_sfreq=ACCEL_SFREQ, seed=4).truth()
        == scenario.truth()
    )


def test_reset_repeats_the_stream() -> None:
    body = BodySimulator(_short(), sfreq=SFREQ, accel_sfreq=ACCEL_SFREQ, seed=2)
    first = body.read(2500)
    body.reset()
    assert body.time_s == 0.0
    again = body.read(2500)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


def test_reading_past_the_end_pads_with_rest() -> None:
    scenario = loads_scenario("[[segment]]\nactivity = 'walking'\nduration_s = 3.0\n")
    body = BodySimulator(scenario, sfreq=SFREQ, accel_sfreq=ACCEL_SFREQ, seed=1)
    assert body.n_times_total == 3000
    body.read(2999)
    finished_early = body.finished
    body.read(1)
    assert not finished_early
    assert body.finished
    emg, acc = body.read(5000)
    assert body.finished
    assert body.time_s == pytest.approx(8.0)
    assert np.all(np.isfinite(emg))
    # At rest: gravity only (standing posture), no gait oscillation.
    assert np.max(np.abs(np.linalg.norm(acc[:, 100:], axis=0) - 1.0)) < 0.03
    assert float(np.std(acc[0, 100:])) < 0.01


def test_invalid_arguments() -> None:
    scenario = _short()
    with pytest.raises(ValueError, match="sfreq"):
        BodySimulator(scenario, sfreq=10.0, accel_sfreq=1.0)
    with pytest.raises(ValueError, match="accel_sfreq"):
        BodySimulator(scenario, sfreq=SFREQ, accel_sfreq=2000.0)
    body = BodySimulator(scenario, sfreq=SFREQ, accel_sfreq=ACCEL_SFREQ)
    with pytest.raises(ValueError, match="n_times"):
        body.read(-1)
    emg, acc = body.read(0)
    assert emg.shape == (2, 0)
    assert acc.shape == (3, 0)
    assert body.channel_names == ("EMG L", "EMG R")


def test_generation_is_faster_than_50x_real_time() -> None:
    body = BodySimulator(builtin_scenario("quick"), sfreq=SFREQ, accel_sfreq=ACCEL_SFREQ, seed=4)
    start = time.perf_counter()
    body.read(int(90 * SFREQ))  # lying, turning, a cramp, standing up, walking with clonus
    elapsed = time.perf_counter() - start
    assert 90.0 / elapsed >= 50.0


# --------------------------------------------------------------------------- truth vs signal


def test_resting_emg_is_a_few_microvolts() -> None:
    emg, _, _ = _quick()
    lying = _events("lying")[0]  # supine, 0-20 s; the tonic spasm starts at 5 s
    x = highpass(emg[:, :4500], SFREQ)
    assert lying.onset_s == 0.0
    for ch in range(2):
        # 20 Hz high-passed rest: EMG tone, amplifier noise and the ECG's QRS.
        rms = np.median(np.sqrt(np.mean(x[ch, 500:4500].reshape(-1, 250) ** 2, axis=1)))
        assert 1e-6 < rms < 15e-6


def test_tonic_episode_is_far_above_rest_on_its_side() -> None:
    emg, _, _ = _quick()
    (tonic,) = _events("tonic")
    assert tonic.side == "left"
    x = highpass(emg, SFREQ)
    during = _rms(x[0, _slice(tonic, 0.5)])
    rest = _rms(x[0, 500:4500])
    other = _rms(x[1, _slice(tonic, 0.5)])
    assert during > 8.0 * rest
    assert during > 3.0 * other
    assert 0.2 * 360e-6 < during < 0.6 * 360e-6  # peak 0.45 MVC, waxing and waning


def test_voluntary_repetitions_match_their_labels() -> None:
    emg, _, truth = _quick()
    x = highpass(emg, SFREQ)
    reps = [e for e in truth if e.kind == "voluntary" and "lifting" in e.description]
    assert len(reps) == 3
    quiet = _rms(x[:, 170_500:170_900])  # standing between the extension and the lift-off
    for rep in reps:
        assert _rms(x[:, _slice(rep)]) > 5.0 * quiet


def test_walking_envelope_is_stride_periodic() -> None:
    emg, _, _ = _quick()
    (walk,) = _events("walking")
    segment = highpass(emg[0, int(86 * SFREQ) : int(104 * SFREQ)], SFREQ)
    sos = signal.butter(2, 6.0, fs=SFREQ, output="sos")
    envelope = signal.sosfiltfilt(sos, np.abs(segment))[::10]  # 100 Hz
    envelope = envelope - envelope.mean()
    freqs, psd = signal.periodogram(envelope, fs=100.0)
    band = (freqs > 0.5) & (freqs < 3.0)
    peak = float(freqs[band][np.argmax(psd[band])])
    cadence = 1.8  # steps/s in quick.toml; strides at half of that
    assert walk.description.startswith("cadence 1.8")
    assert peak == pytest.approx(cadence / 2.0, abs=0.1) or peak == pytest.approx(cadence, abs=0.1)


def test_walking_vertical_acceleration() -> None:
    _, acc, _ = _quick()
    x = acc[0, int(88 * ACCEL_SFREQ) : int(104 * ACCEL_SFREQ)]
    assert 0.2 < (np.percentile(x, 99) - np.percentile(x, 1)) / 2.0 < 0.5
    freqs, psd = signal.periodogram(x - x.mean(), fs=ACCEL_SFREQ)
    assert float(freqs[np.argmax(psd)]) == pytest.approx(1.8, abs=0.1)


def test_wearer_freezes_during_a_spasm() -> None:
    _, acc, _ = _quick()
    (clonic,) = _events("clonic")  # 105-110 s, while walking
    before = acc[0, int(99 * ACCEL_SFREQ) : int(104 * ACCEL_SFREQ)]
    during = acc[0, int(106 * ACCEL_SFREQ) : int(109 * ACCEL_SFREQ)]
    assert clonic.involuntary
    assert np.std(during) < 0.1 * np.std(before)


def test_clonic_bursts_at_their_rate() -> None:
    emg, _, _ = _quick()
    (clonic,) = _events("clonic")
    x = highpass(emg[0, _slice(clonic, 0.3)], SFREQ)
    sos = signal.butter(2, 15.0, fs=SFREQ, output="sos")
    envelope = signal.sosfiltfilt(sos, np.abs(x))[::10]
    freqs, psd = signal.periodogram(envelope - envelope.mean(), fs=100.0, nfft=2048)
    band = freqs > 1.0
    assert float(freqs[band][np.argmax(psd[band])]) == pytest.approx(5.0, abs=0.5)


def test_cramp_compresses_the_spectrum() -> None:
    emg, _, _ = _quick()
    (cramp,) = _events("cramp")  # right side, 48-60 s
    late = highpass(emg[1, int(54 * SFREQ) : int(59 * SFREQ)], SFREQ)
    reps = [e for e in _quick()[2] if "bending" in e.description]
    fresh = np.concatenate([highpass(emg[1, _slice(r)], SFREQ) for r in reps])
    f1, p1 = signal.welch(late, fs=SFREQ, nperseg=512)
    f2, p2 = signal.welch(fresh, fs=SFREQ, nperseg=512)
    band1, band2 = (f1 >= 20) & (f1 <= 450), (f2 >= 20) & (f2 <= 450)
    mdf_cramp = median_frequency(f1[band1], p1[band1])
    mdf_fresh = median_frequency(f2[band2], p2[band2])
    assert cramp.side == "right"
    assert mdf_cramp < 0.8 * mdf_fresh
    assert 70.0 < mdf_fresh < 100.0


def test_gravity_direction_follows_posture() -> None:
    _, acc, _ = _quick()

    def mean_acc(event: TruthEvent) -> NDArray[np.float64]:
        sl = _slice(event, 2.0, ACCEL_SFREQ)
        return np.asarray(acc[:, sl].mean(axis=1), dtype=np.float64)

    supine, left_side = _events("lying")
    standing = _events("standing")[0]
    np.testing.assert_allclose(mean_acc(supine), [0.1, 0.0, 1.0], atol=0.06)
    np.testing.assert_allclose(mean_acc(left_side), [0.1, -1.0, 0.0], atol=0.06)
    np.testing.assert_allclose(mean_acc(standing), [1.0, 0.0, 0.0], atol=0.06)


def test_accelerometer_magnitude_is_one_g_at_rest() -> None:
    _, acc, truth = _quick()
    for event in truth:
        if event.kind in ("lying", "sitting", "standing"):
            sl = _slice(event, 2.0, ACCEL_SFREQ)
            magnitude = np.linalg.norm(acc[:, sl], axis=0)
            assert float(np.median(magnitude)) == pytest.approx(1.0, abs=0.01)


def test_bending_tilts_gravity_towards_minus_z() -> None:
    _, acc, _ = _quick()
    reps = [e for e in _quick()[2] if "bending" in e.description]
    for rep in reps:
        sl = _slice(rep, 0.0, ACCEL_SFREQ)
        assert float(np.min(acc[2, sl])) < -0.9  # 85 deg of flexion
        assert float(np.max(acc[0, sl])) > 0.95  # starts upright


def test_artefacts_appear_where_labelled() -> None:
    emg, _, _ = _quick()
    (pop,) = _events("electrode_pop")
    (lift_off,) = _events("lift_off")
    (saturation,) = _events("saturation")
    k = int(pop.onset_s * SFREQ)
    assert emg[0, k + 2] - emg[0, k - 2] > 500e-6  # an 800 uV step on the left
    assert np.max(np.abs(emg[1, _slice(lift_off)])) > 1.6e-3  # saturates the ADC
    assert np.max(np.abs(emg[:, _slice(saturation)])) > 1.6e-3
    # Outside artefacts the input stays well inside the ADC range.
    assert np.max(np.abs(emg[:, : int(33 * SFREQ)])) < 1.6e-3


def test_mains_frequency_and_ecg_side() -> None:
    text = (
        "[wearer]\nmains_hz = 60.0\nmains_uv = 20.0\necg_uv_left = 60.0\necg_uv_right = 15.0\n"
        "[[segment]]\nactivity = 'lying'\nduration_s = 20.0\n"
    )
    body = BodySimulator(loads_scenario(text), sfreq=SFREQ, accel_sfreq=ACCEL_SFREQ, seed=1)
    emg, _ = body.read(20_000)
    freqs, psd = signal.welch(emg[0], fs=SFREQ, nperseg=2000)
    assert float(freqs[np.argmax(psd)]) == pytest.approx(60.0, abs=0.5)
    # ECG: bigger on the left; the heart rate of a resting wearer.
    sos = signal.butter(2, (8.0, 30.0), btype="bandpass", fs=SFREQ, output="sos")
    ecg = signal.sosfiltfilt(sos, emg, axis=1)
    assert np.percentile(np.abs(ecg[0]), 99.5) > 2.0 * np.percentile(np.abs(ecg[1]), 99.5)
    peaks, _ = signal.find_peaks(ecg[0], height=0.5 * ecg[0].max(), distance=400)
    assert 45.0 < 60.0 * peaks.size / 20.0 < 90.0


def test_repetitions_after_a_freeze_are_labelled_where_they_happen() -> None:
    text = (
        "[[segment]]\nactivity = 'bending'\nduration_s = 40.0\nrepetitions = 4\n"
        "[[episode]]\nstart_s = 12.0\nkind = 'tonic'\nside = 'right'\nduration_s = 6.0\n"
        "peak_mvc = 0.4\n"
    )
    scenario = loads_scenario(text)
    reps = [e for e in scenario.truth() if e.kind == "voluntary"]
    # Period 10 s, lead 0.5 s: repetition 2 would start at 10.5 s; it is under way when the
    # spasm strikes at 12 s, so it is held and finishes late; repetition 3 starts about the
    # frozen time (6 s minus the ramps) after 20.5 s.
    assert reps[0].onset_s == pytest.approx(0.5)
    assert reps[1].onset_s == pytest.approx(10.5)
    assert reps[1].duration_s > 4.0 + 4.5
    assert 20.5 + 4.5 < reps[2].onset_s < 20.5 + 6.0
    body = BodySimulator(scenario, sfreq=SFREQ, accel_sfreq=ACCEL_SFREQ, seed=1)
    _, acc = body.read(body.n_times_total)
    t = np.arange(acc.shape[1]) / ACCEL_SFREQ
    bent = t[acc[2] < -0.9]  # 80 deg of flexion
    for rep in reps:
        inside = (bent >= rep.onset_s) & (bent <= rep.offset_s)
        assert np.any(inside)
    labelled = np.zeros(t.size, dtype=bool)
    for rep in reps:
        labelled |= (t >= rep.onset_s) & (t <= rep.offset_s)
    assert not np.any((acc[2] < -0.5) & ~labelled)


def test_voluntary_contraction_moves_the_trunk_only_when_scripted() -> None:
    text = """
name = "reach"
[wearer]
seed = 5
[[segment]]
activity = "standing"
duration_s = 30.0
[[episode]]
start_s = 5.0
kind = "voluntary"
side = "bilateral"
duration_s = 4.5
peak_mvc = 0.3
trunk_deg = 20.0
[[episode]]
start_s = 18.0
kind = "voluntary"
side = "bilateral"
duration_s = 4.5
peak_mvc = 0.3
"""
    sim = BodySimulator(loads_scenario(text), SFREQ, ACCEL_SFREQ, 0)
    _, acc = sim.read(sim.n_times_total)

    def tilt_deg(rest_s: float, hold_s: float) -> float:
        a = acc[:, int(rest_s * ACCEL_SFREQ) : int((rest_s + 1.0) * ACCEL_SFREQ)].mean(axis=1)
        b = acc[:, int(hold_s * ACCEL_SFREQ) : int((hold_s + 1.0) * ACCEL_SFREQ)].mean(axis=1)
        cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        return math.degrees(math.acos(min(1.0, cos)))

    assert tilt_deg(3.0, 6.7) == pytest.approx(20.0, abs=2.0)  # reaching: held forward
    assert tilt_deg(3.0, 11.0) < 2.0  # and back afterwards
    assert tilt_deg(16.0, 19.7) < 2.0  # bracing is isometric
