"""Tests of dsp.quality: every flag on synthetic and simulated signals, streaming contract."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import signal

from dsp.quality import QualityReport, QualityThresholds, SignalQuality
from host.simulator import BodySimulator, builtin_scenario
from host.simulator.device import DeviceConfig

SFREQ = 1000.0
CLIP_V = 1.65e-3
UV = 1e-6

_FLAGS = ("usable", "electrode_off", "saturated", "flat_line", "motion", "mains")
_NUMBERS = (
    "emg_uv",
    "low_uv",
    "low_ratio",
    "hum_uv",
    "hum_ratio",
    "hum_freq",
    "slope_uv_per_s",
    "excursion_uv",
    "offset_uv",
    "clip_fraction",
    "clip_run_s",
    "noise_floor_uv",
)


# --------------------------------------------------------------------------- helpers


def _adc(volts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Quantise and clip as the device ADC does (16 bit, +-1.65 mV at the electrodes)."""
    vpc = DeviceConfig().volts_per_count
    return np.clip(np.rint(volts / vpc), -32768, 32767) * vpc


def _emg(rng: np.random.Generator, n_times: int, rms_v: float, sfreq: float = SFREQ) -> NDArray:
    """Band-limited Gaussian noise (EMG-like, 20-450 Hz) of a given RMS, shape (n_times,)."""
    high = min(450.0, 0.45 * sfreq)
    sos = signal.butter(4, [20.0, high], btype="bandpass", fs=sfreq, output="sos")
    x = signal.sosfilt(sos, rng.standard_normal(n_times + 2000))[2000:]
    return np.asarray(rms_v * x / np.sqrt(np.mean(x**2)))


def _lowband(rng: np.random.Generator, n_times: int, rms_v: float) -> NDArray:
    """Motion-artefact-like noise, 1-15 Hz, of a given RMS, shape (n_times,)."""
    sos = signal.butter(2, [1.0, 15.0], btype="bandpass", fs=SFREQ, output="sos")
    x = signal.sosfilt(sos, rng.standard_normal(n_times + 5000))[5000:]
    return np.asarray(rms_v * x / np.sqrt(np.mean(x**2)))


def _rest(rng: np.random.Generator, n_times: int) -> NDArray[np.float64]:
    """Two channels at rest: 4 uV EMG-band noise plus a little white noise."""
    return np.vstack([_emg(rng, n_times, 4 * UV) for _ in range(2)]) + 0.5 * UV * (
        rng.standard_normal((2, n_times))
    )


def _mains(n_times: int, rms_v: float, freq: float = 50.0, start: int = 0) -> NDArray:
    """Mains with 3rd (35 %) and 5th (15 %) harmonics, total RMS ``rms_v``."""
    t = (start + np.arange(n_times)) / SFREQ
    rel = ((1, 1.0), (3, 0.35), (5, 0.15))
    x = sum(a * np.sin(2 * np.pi * k * freq * t + 0.3 * k) for k, a in rel)
    norm = np.sqrt(sum(a**2 for _, a in rel) / 2)
    return np.asarray(rms_v * x / norm)


def _run(sq: SignalQuality, x: NDArray[np.float64], block: int = 20) -> list[QualityReport]:
    out: list[QualityReport] = []
    for i in range(0, x.shape[1], block):
        out.extend(sq.process(x[:, i : i + block]))
    return out


def _stack(reports: list[QualityReport], name: str) -> NDArray:
    return np.array([getattr(r, name) for r in reports])


@lru_cache(maxsize=2)
def _simulated(name: str) -> tuple[NDArray[np.float64], tuple[object, ...]]:
    scenario = builtin_scenario(name)
    body = BodySimulator(scenario, sfreq=SFREQ, accel_sfreq=0.0, seed=1)
    emg, _ = body.read(body.n_times_total)
    return _adc(emg), tuple(scenario.truth())


def _assert_same(a: list[QualityReport], b: list[QualityReport]) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b, strict=True):
        assert (ra.start, ra.stop) == (rb.start, rb.stop)
        assert ra.reasons == rb.reasons
        for name in _FLAGS:
            np.testing.assert_array_equal(getattr(ra, name), getattr(rb, name))
        for name in _NUMBERS:
            np.testing.assert_allclose(
                getattr(ra, name), getattr(rb, name), rtol=1e-9, atol=1e-12, equal_nan=True
            )


# --------------------------------------------------------------------------- clean signals


def test_clean_rest_is_usable_and_unflagged() -> None:
    rng = np.random.default_rng(0)
    reports = _run(SignalQuality(SFREQ, 2, clip_level_v=CLIP_V, mains_freq=50), _rest(rng, 20000))
    assert len(reports) == 80
    for name in ("electrode_off", "saturated", "flat_line", "motion", "mains"):
        assert not _stack(reports, name).any(), name
    assert _stack(reports, "usable").all()
    assert all(r.reason == "" for r in reports)
    np.testing.assert_allclose(_stack(reports, "emg_uv").mean(axis=0), 4.0, rtol=0.1)


def test_tonic_spasm_300uv_is_not_an_artefact() -> None:
    rng = np.random.default_rng(1)
    n = 30000
    x = _rest(rng, n)
    x[0, 5000:25000] += _emg(rng, 20000, 300 * UV)  # tonic spasm, 300 uV RMS, left
    x[1, 5000:25000] += _emg(rng, 20000, 60 * UV)  # 20 % on the other side
    x += _mains(n, 5 * UV)
    for mains_freq in (50, None):
        sq = SignalQuality(SFREQ, 2, clip_level_v=CLIP_V, mains_freq=mains_freq)
        reports = _run(sq, _adc(x))
        assert _stack(reports, "usable").all()
        for name in ("electrode_off", "saturated", "flat_line", "motion", "mains"):
            assert not _stack(reports, name).any(), (mains_freq, name)
        emg = _stack(reports, "emg_uv")[24:96, 0]
        np.testing.assert_allclose(np.median(emg), 300.0, rtol=0.05)
        # Broadband power mistaken for hum stays far below the EMG.
        assert _stack(reports, "hum_uv")[24:96, 0].max() < 100.0
        assert _stack(reports, "hum_ratio")[24:96, 0].max() < 0.2


# --------------------------------------------------------------------------- mains


@pytest.mark.parametrize("freq", [50.0, 60.0])
@pytest.mark.parametrize("told", [True, False])
def test_hum_measured_in_uv_and_flagged(freq: float, told: bool) -> None:
    rng = np.random.default_rng(2)
    n = 8000
    x = _rest(rng, n) + np.vstack([_mains(n, 80 * UV, freq), _mains(n, 10 * UV, freq)])
    sq = SignalQuality(SFREQ, 2, mains_freq=freq if told else None)
    reports = _run(sq, x)
    hum = _stack(reports, "hum_uv")
    np.testing.assert_allclose(np.median(hum[:, 0]), 80.0, rtol=0.05)
    np.testing.assert_allclose(np.median(hum[:, 1]), 10.0, rtol=0.15)
    assert (_stack(reports, "hum_freq")[:, 0] == freq).all()
    assert _stack(reports, "mains")[:, 0].all()
    assert not _stack(reports, "mains")[:, 1].any()
    # Mains alone leaves the channel usable: the notch removes it.
    assert _stack(reports, "usable").all()
    assert reports[-1].reasons[0] == "left mains hum 80 µV"
    assert _stack(reports, "hum_ratio")[:, 0].min() > 100.0
    # The EMG band is measured without the mains lines.
    np.testing.assert_allclose(np.median(_stack(reports, "emg_uv"), axis=0), 4.0, rtol=0.15)


def test_grid_frequency_off_nominal_still_measured() -> None:
    rng = np.random.default_rng(3)
    n = 8000
    t = np.arange(n) / SFREQ
    hum = 100 * UV * np.sqrt(2) * np.sin(2 * np.pi * 50.2 * t)
    reports = _run(SignalQuality(SFREQ, 2, mains_freq=50), _rest(rng, n) + hum)
    np.testing.assert_allclose(np.median(_stack(reports, "hum_uv")), 100.0, rtol=0.05)


def test_open_input_is_electrode_off() -> None:
    rng = np.random.default_rng(4)
    n = 6000
    x = _rest(rng, n)
    # Right input open: mV of mains, drift, clipped by the ADC.
    drift = 800 * UV * np.sin(2 * np.pi * 0.3 * np.arange(n) / SFREQ)
    x[1] += _mains(n, 8e-3) + drift + 15 * UV * rng.standard_normal(n)
    sq = SignalQuality(SFREQ, 2, clip_level_v=CLIP_V, mains_freq=50)
    reports = _run(sq, _adc(x))
    off = _stack(reports, "electrode_off")
    assert off[:, 1].all()
    assert not off[:, 0].any()
    assert not _stack(reports, "usable")[:, 1].any()
    assert _stack(reports, "usable")[:, 0].all()
    assert reports[0].reasons[1].startswith("right electrode lost contact")
    assert reports[0].reasons[0] == ""
    assert "right electrode lost contact" in reports[0].reason


def test_large_unclipped_hum_is_electrode_off_without_clip_level() -> None:
    rng = np.random.default_rng(5)
    x = _rest(rng, 4000)
    x[0] += _mains(4000, 400 * UV)
    reports = _run(SignalQuality(SFREQ, 2, mains_freq=None), x)
    assert _stack(reports, "electrode_off")[:, 0].all()
    assert reports[0].reasons[0] == "left electrode lost contact (mains 400 µV)"
    np.testing.assert_allclose(np.median(_stack(reports, "hum_uv")[:, 0]), 400.0, rtol=0.02)


def test_rail_to_rail_without_clip_level() -> None:
    rng = np.random.default_rng(6)
    x = _rest(rng, 4000)
    x[0] = np.clip(x[0] + _mains(4000, 5e-3), -1.2e-3, 1.2e-3)
    reports = _run(SignalQuality(SFREQ, 2), x)
    assert _stack(reports, "electrode_off")[:, 0].all()
    assert "rail to rail" in reports[1].reasons[0]


# --------------------------------------------------------------------------- clipping


def _saturation_pulse(n: int, onset: int, length: int, amp_v: float) -> NDArray:
    """Fast rise, flat top, exponential return (a cable tug), unclipped."""
    k = np.arange(n) - onset
    rise = np.clip(k / (0.1 * length), 0, 1)
    tail = np.where(k > length, np.exp(-(k - length) / (0.1 * length)), 1.0)
    return np.asarray(np.where(k >= 0, amp_v * np.sin(0.5 * np.pi * rise) * tail, 0.0))


def test_saturation_with_known_clip_level() -> None:
    rng = np.random.default_rng(7)
    n = 4000
    x = _rest(rng, n)
    x += _saturation_pulse(n, 2000, 400, 5e-3)[None, :] * np.array([[1.0], [-0.8]])
    reports = _run(SignalQuality(SFREQ, 2, clip_level_v=CLIP_V), _adc(x))
    sat = _stack(reports, "saturated")
    windows = np.flatnonzero(sat.any(axis=1))
    assert windows.min() == 8  # 2.00-2.25 s
    assert sat[8:10].all()
    assert not sat[:8].any()
    assert _stack(reports, "clip_fraction")[8].min() > 0.9  # rise in 40 ms, then the rail
    assert "channel saturated" in reports[8].reasons[0]
    assert not _stack(reports, "electrode_off").any()


def test_flat_topping_without_clip_level() -> None:
    rng = np.random.default_rng(8)
    x = _rest(rng, 3000)
    x[0, 1000:2000] += _emg(rng, 1000, 600 * UV)
    x[0] = np.clip(x[0], -0.7e-3, 0.7e-3)  # an amplifier stage saturating, level unknown
    reports = _run(SignalQuality(SFREQ, 2), x)
    sat = _stack(reports, "saturated")
    assert sat[4:8, 0].all()
    assert not sat[:4].any()
    assert not sat[8:].any()
    assert not sat[:, 1].any()
    assert "flat-topped" in reports[5].reasons[0]
    clip = _stack(reports, "clip_fraction")
    assert clip[4:8, 0].min() > 0.1
    assert clip[:4].max() == 0.0
    assert clip[:, 1].max() == 0.0


def test_strong_emg_grazing_the_rail_is_not_saturation() -> None:
    rng = np.random.default_rng(9)
    x = _rest(rng, 10000)
    x[0] += _emg(rng, 10000, 450 * UV)  # peaks touch +-1.65 mV now and then
    reports = _run(SignalQuality(SFREQ, 2, clip_level_v=CLIP_V), _adc(x))
    assert _stack(reports, "clip_fraction")[:, 0].max() > 0.0
    assert not _stack(reports, "saturated").any()
    assert _stack(reports, "usable").all()


def test_pinned_at_rail_becomes_electrode_off() -> None:
    rng = np.random.default_rng(10)
    x = _rest(rng, 6000)
    x[1, 1000:] = 3e-3  # drifts off to the rail and stays
    reports = _run(SignalQuality(SFREQ, 2, clip_level_v=CLIP_V), _adc(x))
    off = _stack(reports, "electrode_off")[:, 1]
    sat = _stack(reports, "saturated")[:, 1]
    assert sat[4:].all()
    assert not off[:11].any()  # 2 s pinned (8 windows) from window 4
    assert off[11:].all()
    assert "pinned at the rail" in reports[-1].reasons[1]
    assert not _stack(reports, "flat_line")[:, 1].any()  # explained by the rail


# --------------------------------------------------------------------------- flat line


@pytest.mark.parametrize("level_v", [0.0, 0.3e-3])
def test_flat_line(level_v: float) -> None:
    rng = np.random.default_rng(11)
    x = _rest(rng, 3000)
    x[0, 1000:2000] = level_v
    sq = SignalQuality(SFREQ, 2, clip_level_v=CLIP_V)
    reports = _run(sq, x)
    flat = _stack(reports, "flat_line")[:, 0]
    assert flat[4:8].all()
    assert not flat[:4].any()
    assert not flat[8:].any()
    assert not _stack(reports, "usable")[4:9, 0].any()  # + hold-off
    assert reports[5].reasons[0] == "left signal flat (stuck or shorted input)"


def test_stuck_value_run_is_flat_line() -> None:
    rng = np.random.default_rng(12)
    x = _rest(rng, 1000)
    x[1, 250:400] = x[1, 250]  # 150 identical samples: 60 % of the window
    reports = _run(SignalQuality(SFREQ, 2), x)
    assert _stack(reports, "flat_line")[:, 1].tolist() == [False, True, False, False]


@pytest.mark.parametrize(("run", "flat"), [(125, True), (124, False)])
def test_stuck_run_length_threshold_is_exact(run: int, flat: bool) -> None:
    # 250-sample windows, flat_run_fraction 0.5: a stuck value needs 125 samples.
    rng = np.random.default_rng(18)
    x = _rest(rng, 500)
    value = x[0, 300]
    x[0, 300 : 300 + run] = value
    assert x[0, 299] != value
    assert x[0, 300 + run] != value
    # Many isolated repeats (sample and hold of every other sample), no long run.
    x[1, 1:250:2] = x[1, 0:250:2]
    reports = _run(SignalQuality(SFREQ, 2), x)
    assert _stack(reports, "flat_line")[:, 0].tolist() == [False, flat]
    assert not _stack(reports, "flat_line")[:, 1].any()


# --------------------------------------------------------------------------- motion


def test_motion_burst_flagged_contraction_not() -> None:
    rng = np.random.default_rng(13)
    n = 8000
    x = _rest(rng, n)
    x[0, 2000:3500] += _lowband(rng, 1500, 300 * UV) * np.hanning(1500)
    x[1, 2000:6000] += _emg(rng, 4000, 300 * UV)
    reports = _run(SignalQuality(SFREQ, 2, clip_level_v=CLIP_V), _adc(x))
    motion = _stack(reports, "motion")
    assert motion[9:13, 0].all()
    assert not motion[:8, 0].any()
    assert not motion[15:, 0].any()
    assert not motion[:, 1].any()
    assert _stack(reports, "low_ratio")[9:24, 1].max() < 0.2
    assert "left motion artefact" in reports[10].reasons[0]


def test_electrode_pop_step_flagged() -> None:
    rng = np.random.default_rng(14)
    n = 4000
    x = _rest(rng, n)
    k = np.arange(n) - 2100
    x[0] += np.where(k >= 0, 800 * UV * np.exp(-np.maximum(k, 0) / 300.0), 0.0)
    reports = _run(SignalQuality(SFREQ, 2, clip_level_v=CLIP_V), _adc(x))
    motion = _stack(reports, "motion")[:, 0]
    assert motion[8]
    assert not motion[:8].any()
    assert _stack(reports, "slope_uv_per_s")[8, 0] > 1000.0
    assert _stack(reports, "low_uv")[8, 0] > 100.0


@pytest.mark.parametrize("onset", [2000, 2003, 2249, 2250])
def test_pop_at_any_position_in_the_window(onset: int) -> None:
    rng = np.random.default_rng(21)
    x = _rest(rng, 4000)
    k = np.arange(4000) - onset
    x[1] -= np.where(k >= 0, 300 * UV * np.exp(-np.maximum(k, 0) / 100.0), 0.0)
    reports = _run(SignalQuality(SFREQ, 2, mains_freq=50), x)
    motion = _stack(reports, "motion")[:, 1]
    assert motion[onset // 250 : onset // 250 + 2].any()
    assert not motion[: onset // 250].any()
    assert not _stack(reports, "motion")[:, 0].any()
    text = {r.reasons[1].split(" (")[0] for r in reports} - {"", "right settling after an artefact"}
    assert text <= {"right electrode pop or movement step", "right motion artefact"}
    assert text


def test_small_pop_reads_as_step() -> None:
    rng = np.random.default_rng(24)
    x = _rest(rng, 3000)
    k = np.arange(3000) - 1500
    x[0] += np.where(k >= 0, 150 * UV * np.exp(-np.maximum(k, 0) / 300.0), 0.0)
    reports = _run(SignalQuality(SFREQ, 2, mains_freq=50), x)
    assert _stack(reports, "motion")[:, 0].tolist() == [False] * 6 + [True] + [False] * 5
    assert reports[6].reasons[0].startswith("left electrode pop or movement step (1")
    assert _stack(reports, "excursion_uv")[6, 0] > 120.0


def test_emg_bursts_are_not_steps() -> None:
    """Myoclonic jerks and walking bursts: short, strong EMG bursts at rest."""
    rng = np.random.default_rng(22)
    n = 20000
    x = _rest(rng, n)
    for onset in range(500, n - 500, 430):  # 2.3 jerks/s, 12-35 ms, up to 360 uV RMS
        width = int(rng.integers(12, 36))
        x[0, onset : onset + width] += _emg(rng, width, 360 * UV) * np.hanning(width)
    x[1, :] += _emg(rng, n, 40 * UV) * (1 + np.sin(2 * np.pi * 0.9 * np.arange(n) / SFREQ))
    reports = _run(SignalQuality(SFREQ, 2, clip_level_v=CLIP_V), _adc(x))
    assert not _stack(reports, "motion").any()
    assert _stack(reports, "usable").all()


def _qrs_train(n_times: int, r_uv: float, rr_s: float = 0.9) -> NDArray:
    """A crude ECG: Gaussian Q, R, S waves every ``rr_s`` (R amplitude ``r_uv``)."""
    t = np.arange(n_times) / SFREQ
    out = np.zeros(n_times)
    for beat in np.arange(0.3, t[-1], rr_s):
        for lag, width, amp in ((-0.025, 0.010, -0.15), (0.0, 0.010, 1.0), (0.025, 0.010, -0.3)):
            out += amp * np.exp(-0.5 * ((t - beat - lag) / width) ** 2)
        out += 0.25 * np.exp(-0.5 * ((t - beat - 0.3) / 0.05) ** 2)  # T wave
    return r_uv * UV * out


def test_large_ecg_is_learnt_as_background_motion_still_flagged() -> None:
    rng = np.random.default_rng(23)
    n = 150000
    x = _rest(rng, n)
    x[0] += _qrs_train(n, 250.0)  # a large ECG on the left, e.g. a lean wearer
    x[1] += _qrs_train(n, 40.0)
    burst = _lowband(rng, 1500, 300 * UV) * np.hanning(1500)
    x[:, 120000:121500] += burst
    reports = _run(SignalQuality(SFREQ, 2, clip_level_v=CLIP_V, mains_freq=50), x, block=1000)
    usable = _stack(reports, "usable")
    # The left QRS complexes read as steps until a minute of background has been seen...
    assert not usable[:240, 0].all()
    # ...and not after, while the motion burst at 120 s is still caught on both sides.
    learnt = np.r_[240:478, 488:600]
    assert usable[learnt].all()
    assert _stack(reports, "motion")[480:486].any(axis=0).all()
    assert usable[:, 1][np.r_[0:478, 488:600]].all()


def test_hold_off_after_artefact() -> None:
    rng = np.random.default_rng(15)
    x = _rest(rng, 3000)
    x[0, 1000:1250] = 0.0  # one flat window (window 4)
    for hold_s, expected in ((0.0, 4), (0.25, 5), (0.6, 7)):
        sq = SignalQuality(SFREQ, 2, thresholds=QualityThresholds(hold_s=hold_s))
        reports = _run(sq, x)
        unusable = np.flatnonzero(~_stack(reports, "usable")[:, 0])
        assert unusable.tolist() == list(range(4, expected + 1))
        if expected > 4:
            assert reports[5].reasons[0] == "left settling after an artefact"


# --------------------------------------------------------------------------- noise floor


def test_noise_floor_is_the_exact_percentile_of_the_previous_usable_windows() -> None:
    # History of 3 s = 12 windows of 0.25 s; every window of clean rest is usable.
    rng = np.random.default_rng(17)
    x = _rest(rng, 10000)
    x[:, 4000:6000] *= 3.0  # a louder stretch moves the floor up, then out of the history
    thresholds = QualityThresholds(noise_history_s=3.0, noise_min_s=0.5)
    reports = _run(SignalQuality(SFREQ, 2, thresholds=thresholds), x, block=700)
    assert all(r.usable.all() for r in reports)
    emg = _stack(reports, "emg_uv")
    floor = _stack(reports, "noise_floor_uv")
    assert np.isnan(floor[:2]).all()
    for w in range(2, len(reports)):
        held = emg[max(w - 12, 0) : w]
        k = int(0.1 * (len(held) - 1))
        np.testing.assert_array_equal(floor[w], np.sort(held, axis=0)[k])


def test_noise_floor_tracks_quiet_windows() -> None:
    rng = np.random.default_rng(16)
    n = 60000
    x = np.vstack([_emg(rng, n, 3 * UV), _emg(rng, n, 6 * UV)])
    x[:, 20000:35000] += _emg(rng, 15000, 200 * UV)  # a long contraction
    x[0, 40000:42000] = 0.0  # a flat stretch must not pull the floor down
    reports = _run(SignalQuality(SFREQ, 2), x, block=1000)
    floor = _stack(reports, "noise_floor_uv")
    assert np.isnan(floor[:3]).all()  # 1 s of data needed
    assert np.isfinite(floor[4:]).all()
    np.testing.assert_allclose(floor[-1], [3.0, 6.0], rtol=0.15)
    assert np.nanmax(floor[:, 0]) < 3.5
    assert np.nanmin(floor[:, 0]) > 2.5


# --------------------------------------------------------------------------- simulator


def _artefact_windows(
    truth: tuple[object, ...], reports: list[QualityReport], margin_s: float = 0.0
) -> tuple[NDArray[np.bool_], list[tuple[object, NDArray[np.bool_]]]]:
    start = np.array([r.start_s for r in reports])
    stop = np.array([r.stop_s for r in reports])
    sides = {"left": [0], "right": [1], "bilateral": [0, 1]}
    mask = np.zeros((len(reports), 2), dtype=bool)
    events = []
    for e in truth:
        if getattr(e, "category") != "artefact":  # noqa: B009
            continue
        onset, offset = e.onset_s, e.offset_s  # type: ignore[attr-defined]
        chans = sides[e.side]  # type: ignore[attr-defined]
        near = (stop > onset - margin_s) & (start < offset + margin_s)
        for c in chans:
            mask[near, c] = True
        inside = (stop > onset) & (start < offset)
        events.append((e, ~_stack(reports, "usable")[inside][:, chans]))
    return mask, events


def test_simulated_quick_flags_labelled_artefacts_only() -> None:
    x, truth = _simulated("quick")
    reports = SignalQuality(SFREQ, 2, clip_level_v=CLIP_V, mains_freq=50).process(x)
    assert len(reports) == 720
    near_artefact, events = _artefact_windows(truth, reports, margin_s=0.5)
    assert {e.kind for e, _ in events} == {  # type: ignore[attr-defined]
        "electrode_pop",
        "motion",
        "lift_off",
        "saturation",
    }
    for event, bad in events:
        assert bad.any(), event
    unusable = ~_stack(reports, "usable")
    # No flag anywhere else: rest, walking, bending, lifting, every spasm and cramp.
    assert not unusable[~near_artefact].any()
    for name in ("electrode_off", "saturated", "flat_line", "motion", "mains"):
        assert not _stack(reports, name)[~near_artefact].any(), name
    # The lift-off reads as lost contact, the saturation as saturation.
    lift = [r for r in reports if 171.0 <= r.start_s < 173.0]
    assert all(r.electrode_off[1] and not r.electrode_off[0] for r in lift)
    assert "right electrode lost contact" in lift[0].reason
    assert any(r.saturated.all() for r in reports if 176.0 <= r.start_s < 176.5)
    # The tonic spasm at rest (5-13 s, 0.45 MVC, left) is usable throughout.
    spasm = [r for r in reports if 5.0 <= r.start_s < 12.75]
    assert all(r.usable.all() for r in spasm)
    assert np.median([r.emg_uv[0] for r in spasm]) > 100.0
    # Noise floor near the simulated rest level (0.8 % MVC tone + 1.5 uV noise).
    floor = reports[-1].noise_floor_uv
    assert np.all((floor > 1.5) & (floor < 6.0))


# --------------------------------------------------------------------------- streaming


@lru_cache(maxsize=1)
def _invariance_signal() -> NDArray[np.float64]:
    x, _ = _simulated("quick")
    return np.ascontiguousarray(x[:, 170000:178300])  # lift-off, pops, saturation


_CONFIGS = {
    "device": {"clip_level_v": CLIP_V, "mains_freq": 50},
    # Unknown clip level and mains, short histories: the adaptive paths run too.
    "adaptive": {
        "thresholds": QualityThresholds(noise_history_s=3.0, background_min_s=1.0),
    },
}


@pytest.mark.parametrize("config", sorted(_CONFIGS))
@settings(max_examples=20, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=8300), max_size=30))
def test_block_size_invariance(config: str, cuts: list[int]) -> None:
    x = _invariance_signal()
    kwargs: dict[str, object] = dict(_CONFIGS[config])
    whole = SignalQuality(SFREQ, 2, **kwargs).process(x)  # type: ignore[arg-type]
    sq = SignalQuality(SFREQ, 2, **kwargs)  # type: ignore[arg-type]
    edges = [0, *sorted(cuts), x.shape[1]]
    parts: list[QualityReport] = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        parts.extend(sq.process(x[:, a:b]))
    assert len(whole) == 33  # the last 50 samples do not complete a window
    _assert_same(whole, parts)


def test_one_sample_blocks_and_reset() -> None:
    x = _invariance_signal()[:, :3000]
    sq = SignalQuality(SFREQ, 2, clip_level_v=CLIP_V, mains_freq=50)
    whole = sq.process(x)
    sq.reset()
    single = [r for i in range(x.shape[1]) for r in sq.process(x[:, i : i + 1])]
    _assert_same(whole, single)
    assert [r.start for r in whole] == list(range(0, 3000, 250))
    assert whole[1].start_s == 0.25
    assert whole[1].stop_s == 0.5


def test_window_not_a_whole_number_of_samples() -> None:
    rng = np.random.default_rng(17)
    sq = SignalQuality(512.0, 2, window_s=0.25, mains_freq=60)
    assert sq.n_window == 128
    assert sq.window_s == 0.25
    sq = SignalQuality(300.0, 2, window_s=0.25, mains_freq=60)
    assert sq.n_window == 75
    x = np.vstack([_emg(rng, 3000, 5 * UV, sfreq=300.0) for _ in range(2)])
    reports = _run(sq, x)
    assert len(reports) == 40
    assert _stack(reports, "usable").all()


@pytest.mark.parametrize("sfreq", [250.0, 500.0, 2000.0])
def test_other_rates(sfreq: float) -> None:
    rng = np.random.default_rng(18)
    n = int(4 * sfreq)
    t = np.arange(n) / sfreq
    clean = np.vstack([_emg(rng, n, 5 * UV, sfreq=sfreq) for _ in range(2)])
    clean[1] += 400 * UV * np.sqrt(2) * np.sin(2 * np.pi * 50.0 * t)
    sq = SignalQuality(sfreq, 2, mains_freq=50)
    reports = _run(sq, clean, block=int(0.02 * sfreq))
    assert _stack(reports, "usable")[:, 0].all()
    assert _stack(reports, "electrode_off")[:, 1].all()
    np.testing.assert_allclose(np.median(_stack(reports, "hum_uv")[:, 1]), 400.0, rtol=0.03)


# --------------------------------------------------------------------------- API


def test_report_is_immutable() -> None:
    rng = np.random.default_rng(19)
    report = SignalQuality(SFREQ, 2).process(_rest(rng, 250))[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.start = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        report.usable[0] = False
    with pytest.raises(ValueError, match="read-only"):
        report.emg_uv[0] = 0.0
    assert report.ch_names == ("left", "right")
    assert report.emg_uv.shape == (2,)
    assert report.usable.dtype == np.bool_


def test_channel_names_and_more_channels() -> None:
    rng = np.random.default_rng(20)
    x = np.vstack([_emg(rng, 500, 4 * UV) for _ in range(3)])
    x[2] = 0.0
    reports = SignalQuality(SFREQ, 3).process(x)
    assert reports[0].ch_names == ("channel 0", "channel 1", "channel 2")
    assert reports[0].reasons[2] == "channel 2 signal flat (stuck or shorted input)"
    named = SignalQuality(SFREQ, 3, ch_names=["a", "b", "c"]).process(x)
    assert named[0].reasons[2].startswith("c signal flat")


def test_empty_block_gives_no_report() -> None:
    sq = SignalQuality(SFREQ, 2)
    assert sq.process(np.zeros((2, 0))) == []
    assert sq.process(np.zeros((2, 249))) == []


@pytest.mark.parametrize(
    ("block", "error", "match"),
    [
        (np.full((2, 10), np.nan), ValueError, "NaN"),
        (np.full((2, 10), np.inf), ValueError, "infinite"),
        (np.zeros(10), ValueError, "shape"),
        (np.zeros((2, 10), dtype=np.int16), TypeError, "integer"),
        (np.zeros((1, 10)), ValueError, "2 channels"),
        (np.zeros((3, 10)), ValueError, "2 channels"),
        (np.zeros((2, 10), dtype=complex), TypeError, "real-valued"),
    ],
)
def test_bad_blocks(block: NDArray, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        SignalQuality(SFREQ, 2).process(block)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sfreq": 0.0}, ValueError, "sfreq"),
        ({"sfreq": -1000.0}, ValueError, "sfreq"),
        ({"sfreq": None}, TypeError, "sfreq"),
        ({"sfreq": 100.0}, ValueError, "at least 200"),
        ({"n_channels": 0}, ValueError, "n_channels"),
        ({"n_channels": 2.0}, ValueError, "n_channels"),
        ({"window_s": 0.01}, ValueError, "window_s"),
        ({"window_s": 5.0}, ValueError, "window_s"),
        ({"window_s": -0.25}, ValueError, "window_s"),
        ({"mains_freq": 55.0}, ValueError, "mains_freq"),
        ({"clip_level_v": 0.0}, ValueError, "clip_level_v"),
        ({"l_freq": 500.0}, ValueError, "l_freq"),
        ({"ch_names": ("left",)}, ValueError, "ch_names"),
        ({"thresholds": {"hold_s": 1.0}}, TypeError, "QualityThresholds"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    args: dict[str, object] = {"sfreq": SFREQ, "n_channels": 2}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        SignalQuality(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"off_mains_uv": 0.0}, "off_mains_uv"),
        ({"hold_s": -1.0}, "hold_s"),
        ({"max_clip_fraction": 1.5}, "max_clip_fraction"),
        ({"noise_percentile": 120.0}, "noise_percentile"),
        ({"motion_ratio": float("nan")}, "motion_ratio"),
    ],
)
def test_bad_thresholds(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        QualityThresholds(**kwargs)


def test_h_freq_lowered_below_nyquist() -> None:
    sq = SignalQuality(500.0, 2, h_freq=450.0)
    assert sq.h_freq == pytest.approx(225.0)
