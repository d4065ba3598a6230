"""Tests of dsp.calibration: recorder, immutable calibration, normaliser."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import signal

from dsp.calibration import CALIBRATION_FORMAT, Calibration, CalibrationRecorder, Normaliser
from dsp.filters import design_bandpass, design_mains_notch
from host.simulator import BodySimulator, loads_scenario

SFREQ = 1000.0
UV = 1e-6


def _sine(n_times: int, amp_v: float, freq: float = 132.0, n_channels: int = 2) -> NDArray:
    t = np.arange(n_times) / SFREQ
    return np.tile(amp_v * np.sin(2 * np.pi * freq * t), (n_channels, 1))


def _calibration(**changes: Any) -> Calibration:
    values: dict[str, Any] = {
        "sfreq": SFREQ,
        "l_freq": 20.0,
        "h_freq": 450.0,
        "mains_freq": 50.0,
        "noise_rms_v": (3 * UV, 4 * UV),
        "rest_rms_v": (5 * UV, 6 * UV),
        "reference_rms_v": (300 * UV, 400 * UV),
        "reference_kind": "MVC",
        "reference_level": 1.0,
        "reference_window_s": 0.5,
        "n_rest_times": 10000,
        "n_reference_times": 3000,
    }
    values.update(changes)
    return Calibration(**values)


def _recorder_with_rest(**kwargs: Any) -> CalibrationRecorder:
    rec = CalibrationRecorder(SFREQ, 2, **kwargs)
    rec.add_rest(_sine(6000, 10 * UV))
    return rec


# --------------------------------------------------------------------------- recorder


def test_recorder_on_known_sines() -> None:
    rec = CalibrationRecorder(SFREQ, 2, mains_freq=50)
    rec.add_rest(_sine(6000, 10 * UV))  # 7.07 uV RMS at 132 Hz, between mains harmonics
    rec.add_reference(_sine(3000, 500 * UV), kind="MVC")  # 353.6 uV RMS
    cal = rec.result()
    rms_rest, rms_ref = 10 * UV / np.sqrt(2), 500 * UV / np.sqrt(2)
    np.testing.assert_allclose(cal.noise_rms_v, rms_rest, rtol=0.01)
    np.testing.assert_allclose(cal.rest_rms_v, rms_rest, rtol=0.01)
    np.testing.assert_allclose(cal.reference_rms_v, rms_ref, rtol=0.01)
    assert cal.reference_kind == "MVC"
    assert cal.reference_level == 1.0
    assert cal.unit == "%MVC"
    assert (cal.n_rest_times, cal.n_reference_times) == (6000, 3000)
    assert (cal.l_freq, cal.h_freq, cal.mains_freq, cal.sfreq) == (20.0, 450.0, 50.0, SFREQ)
    assert rec.rest_s == 6.0
    assert rec.reference_s == 3.0
    # Normalised: a 250 uV sine is 50 % MVC after noise correction.
    norm = Normaliser(cal)
    out = norm.normalise(np.full((2, 1), 250 * UV / np.sqrt(2)))
    expected = 100 * np.sqrt(0.5 * 250**2 - 0.5 * 10**2) / np.sqrt(0.5 * 500**2 - 0.5 * 10**2)
    np.testing.assert_allclose(out, expected, rtol=0.01)
    np.testing.assert_allclose(norm.normalise(np.full((2, 1), rms_rest)), 0.0, atol=1.0)


def test_noise_floor_and_rest_tone_differ() -> None:
    rng = np.random.default_rng(0)
    n = 20000
    x = 3 * UV * rng.standard_normal((2, n))
    # Resting tone waxing and waning: half of the windows are louder.
    gain = np.repeat(np.tile([1.0, 4.0], n // 500), 250)
    x = x * gain[None, :]
    rec = CalibrationRecorder(SFREQ, 2)
    rec.add_rest(x)
    rec.add_reference(300 * UV * rng.standard_normal((2, 2000)))
    cal = rec.result()
    band = np.sqrt((450 - 20) / 500)  # white noise in the 20-450 Hz band
    np.testing.assert_allclose(cal.noise_rms_v, 3 * UV * band, rtol=0.1)
    assert all(r > 2 * s for r, s in zip(cal.rest_rms_v, cal.noise_rms_v, strict=True))


def test_mvc_is_peak_of_moving_rms_over_trials() -> None:
    rec = _recorder_with_rest()
    trial = _sine(4000, 200 * UV)
    trial[:, 2000:2600] *= 2.0  # 0.6 s burst at 400 uV: the 0.5 s window fits in it
    rec.add_reference(trial, kind="MVC")
    rec.add_reference(_sine(3000, 300 * UV), kind="MVC")
    cal = rec.result()
    np.testing.assert_allclose(cal.reference_rms_v, 400 * UV / np.sqrt(2), rtol=0.02)
    assert cal.n_reference_times == 7000


def test_rvc_is_held_level_averaged_over_trials() -> None:
    rec = _recorder_with_rest()
    for amp in (100 * UV, 140 * UV):
        trial = _sine(4000, amp)
        trial[:, :300] *= np.linspace(0, 1, 300)  # ramp up
        rec.add_reference(trial, kind="RVC", level=0.4)
    cal = rec.result()
    np.testing.assert_allclose(cal.reference_rms_v, 120 * UV / np.sqrt(2), rtol=0.02)
    assert cal.reference_kind == "RVC"
    assert cal.reference_level == 0.4
    assert cal.unit == "%RVC"
    assert Normaliser(cal).unit == "%RVC"


def test_rvc_level_unknown() -> None:
    rec = _recorder_with_rest()
    rec.add_reference(_sine(2000, 100 * UV), kind="RVC")
    assert rec.result().reference_level is None


def test_recorder_on_simulated_calibration_session() -> None:
    scenario = loads_scenario(
        """
        name = "calibration"
        [wearer]
        seed = 3
        mvc_uv_left = 360.0
        mvc_uv_right = 330.0
        electrode_pop_per_h = 0.0
        lift_off_per_h = 0.0
        motion_artefact_per_h = 0.0
        saturation_per_h = 0.0
        [[segment]]
        activity = "lying"
        duration_s = 40.0
        posture = "prone"
        [[episode]]
        start_s = 12.0
        kind = "voluntary"
        side = "bilateral"
        duration_s = 5.0
        peak_mvc = 1.0
        [[episode]]
        start_s = 25.0
        kind = "voluntary"
        side = "bilateral"
        duration_s = 6.0
        peak_mvc = 0.4
        """
    )
    body = BodySimulator(scenario, sfreq=SFREQ, accel_sfreq=0.0, seed=2)
    x, _ = body.read(body.n_times_total)
    rec = CalibrationRecorder(SFREQ, 2, mains_freq=50, clip_level_v=1.65e-3)
    rec.add_rest(x[:, :10000])
    rec.add_reference(x[:, 11500:17500], kind="MVC")
    cal = rec.result()
    # Peak of a 0.5 s moving RMS: the simulated MVC plus its 15 % force fluctuation.
    ratio = np.array(cal.reference_rms_v) / (np.array([360.0, 330.0]) * UV)
    assert np.all((ratio > 0.95) & (ratio < 1.25))
    # Rest: 0.8 % MVC tone and 1.5 uV of electrode noise.
    assert np.all((np.array(cal.noise_rms_v) > 1.5 * UV) & (np.array(cal.noise_rms_v) < 4 * UV))
    # The 40 % MVC hold, measured with the live pipeline's causal filter, reads about 40 %
    # of the MVC (a little less: the MVC is a peak, the hold an average).
    sos = np.vstack([design_bandpass(SFREQ, 20.0, 450.0), design_mains_notch(SFREQ, 50.0)])
    y = signal.sosfilt(sos, x, axis=-1)
    hold = np.sqrt(np.mean(y[:, 26000:30000] ** 2, axis=1))[:, None]
    pct = Normaliser(cal).normalise(hold)
    assert np.all((pct > 30.0) & (pct < 42.0))
    rest = np.sqrt(np.mean(y[:, 35000:40000] ** 2, axis=1))[:, None]
    assert np.all(Normaliser(cal).normalise(rest) < 2.0)


@pytest.mark.parametrize("mains_freq", [None, 50.0])
def test_calibration_band_is_the_live_filter_bank(mains_freq: float | None) -> None:
    """The RMS the recorder measures is the RMS of EmgFilterBank's output."""
    from dsp.filterbank import EmgFilterBank

    rng = np.random.default_rng(1)
    x = 20 * UV * rng.standard_normal((2, 3000)) + 1e-3  # with a DC offset to settle
    rec = CalibrationRecorder(SFREQ, 2, mains_freq=mains_freq)
    bank = EmgFilterBank(SFREQ, 2, mains_freq=mains_freq)
    np.testing.assert_allclose(rec._filtered(x), bank.process(x)[:, 250:], rtol=1e-9, atol=1e-15)


# --------------------------------------------------------------------------- recorder errors


def test_result_without_rest() -> None:
    rec = CalibrationRecorder(SFREQ, 2)
    rec.add_reference(_sine(2000, 300 * UV))
    with pytest.raises(ValueError, match="No rest recorded: call add_rest"):
        rec.result()


def test_result_with_short_rest() -> None:
    rec = CalibrationRecorder(SFREQ, 2)
    rec.add_rest(_sine(3000, 10 * UV))
    rec.add_reference(_sine(2000, 300 * UV))
    with pytest.raises(ValueError, match=r"Rest recording too short: 3.0 s recorded, at least 5"):
        rec.result()
    rec.add_rest(_sine(2000, 10 * UV))  # two trials add up
    rec.result()


def test_result_without_reference() -> None:
    with pytest.raises(ValueError, match="No reference contraction recorded"):
        _recorder_with_rest().result()


def test_result_with_short_reference() -> None:
    rec = _recorder_with_rest()
    rec.add_reference(_sine(800, 300 * UV))
    with pytest.raises(ValueError, match="Reference contraction too short: 0.8 s"):
        rec.result()


def test_reference_below_rest() -> None:
    rec = _recorder_with_rest()
    ref = _sine(2000, 12 * UV)
    ref[1] *= 50.0  # the right side did contract
    rec.add_reference(ref)
    with pytest.raises(ValueError, match="left: reference contraction RMS") as info:
        rec.result()
    message = str(info.value)
    assert "8.49 µV is not above rest 7.07 µV" in message
    assert "was the muscle contracted?" in message
    assert "right" not in message


def test_reference_trial_too_short_for_window() -> None:
    rec = CalibrationRecorder(SFREQ, 2)
    with pytest.raises(ValueError, match="reference trial too short"):
        rec.add_reference(_sine(600, 300 * UV))
    with pytest.raises(ValueError, match="rest trial too short"):
        rec.add_rest(np.zeros((2, 0)))


def test_clipped_trial_refused() -> None:
    rec = CalibrationRecorder(SFREQ, 2, clip_level_v=1.65e-3)
    with pytest.raises(
        ValueError, match=r"clips at ±1.65 mV \(left 62.4 %, right 62.4 % of samples\)"
    ):
        rec.add_reference(np.clip(_sine(2000, 3e-3), -1.65e-3, 1.65e-3))


def test_reference_kinds_and_levels() -> None:
    rec = _recorder_with_rest()
    with pytest.raises(ValueError, match="Invalid value for the 'kind' parameter"):
        rec.add_reference(_sine(2000, 300 * UV), kind="max")
    with pytest.raises(ValueError, match="use kind='RVC'"):
        rec.add_reference(_sine(2000, 300 * UV), kind="MVC", level=0.5)
    with pytest.raises(ValueError, match="fraction of MVC"):
        rec.add_reference(_sine(2000, 300 * UV), kind="RVC", level=1.5)
    rec.add_reference(_sine(2000, 300 * UV), kind="RVC", level=0.3)
    with pytest.raises(ValueError, match="one kind and level"):
        rec.add_reference(_sine(2000, 300 * UV), kind="MVC")
    with pytest.raises(ValueError, match="one kind and level"):
        rec.add_reference(_sine(2000, 300 * UV), kind="RVC", level=0.5)
    rec.reset()
    assert rec.rest_s == 0.0
    assert rec.reference_s == 0.0
    rec.add_rest(_sine(6000, 10 * UV))
    rec.add_reference(_sine(2000, 300 * UV), kind="MVC")  # allowed after reset
    assert rec.result().reference_kind == "MVC"


@pytest.mark.parametrize(
    ("block", "error", "match"),
    [
        (np.full((2, 2000), np.nan), ValueError, "NaN"),
        (np.full((2, 2000), np.inf), ValueError, "infinite"),
        (np.zeros(2000), ValueError, "shape"),
        (np.zeros((2, 2000), dtype=np.int32), TypeError, "integer"),
        (np.zeros((1, 2000)), ValueError, "2 channels"),
    ],
)
def test_recorder_bad_blocks(block: NDArray, error: type[Exception], match: str) -> None:
    rec = CalibrationRecorder(SFREQ, 2)
    with pytest.raises(error, match=match):
        rec.add_rest(block)
    with pytest.raises(error, match=match):
        rec.add_reference(block)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sfreq": 0.0}, ValueError, "sfreq"),
        ({"sfreq": -1.0}, ValueError, "sfreq"),
        ({"sfreq": "1000"}, TypeError, "sfreq"),
        ({"n_channels": 0}, ValueError, "n_channels"),
        ({"mains_freq": 55}, ValueError, "mains_freq"),
        ({"min_reference_ratio": 1.0}, ValueError, "min_reference_ratio"),
        ({"noise_percentile": 101.0}, ValueError, "noise_percentile"),
        ({"ch_names": ["a"]}, ValueError, "ch_names"),
        ({"window_s": 0.0}, ValueError, "window_s"),
    ],
)
def test_recorder_bad_arguments(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    args: dict[str, Any] = {"sfreq": SFREQ, "n_channels": 2}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        CalibrationRecorder(**args)


def test_recorder_at_low_rate_uses_band_below_nyquist() -> None:
    rec = CalibrationRecorder(500.0, 1)
    assert rec.h_freq == pytest.approx(225.0)


# --------------------------------------------------------------------------- calibration


def test_round_trip_through_json() -> None:
    cal = _calibration(reference_kind="RVC", reference_level=0.4, mains_freq=None)
    data = json.loads(json.dumps(cal.to_dict()))
    assert data["format"] == CALIBRATION_FORMAT
    assert data["version"] == 1
    assert data["noise_rms_v"] == [3e-6, 4e-6]
    back = Calibration.from_dict(data)
    assert back == cal
    assert hash(back) == hash(cal)
    assert Calibration.from_dict(_calibration().to_dict()) == _calibration()


def test_calibration_is_immutable_and_coerced() -> None:
    cal = _calibration(noise_rms_v=[3e-6, 4e-6], n_rest_times=np.int64(10000))
    assert cal.noise_rms_v == (3e-6, 4e-6)
    assert isinstance(cal.n_rest_times, int)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cal.sfreq = 500.0  # type: ignore[misc]
    assert cal.n_channels == 2
    np.testing.assert_allclose(
        cal.reference_corrected_v, np.sqrt(np.array([300.0**2 - 9, 400.0**2 - 16])) * UV
    )


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"format": "other"}, "Not a spasmwatch calibration"),
        ({"version": 2}, "Unsupported calibration version 2"),
        ({"extra": 1}, r"unknown keys \['extra'\]"),
        ({"sfreq": None}, "sfreq"),
    ],
)
def test_from_dict_refuses(data: dict[str, Any], match: str) -> None:
    good = _calibration().to_dict()
    good.update(data)
    with pytest.raises((ValueError, TypeError), match=match):
        Calibration.from_dict(good)


def test_from_dict_missing_key() -> None:
    data = _calibration().to_dict()
    del data["rest_rms_v"]
    with pytest.raises(ValueError, match=r"missing keys \['rest_rms_v'\]"):
        Calibration.from_dict(data)
    with pytest.raises(TypeError, match="mapping"):
        Calibration.from_dict([1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"rest_rms_v": (5e-6,)}, "one value per channel"),
        ({"reference_rms_v": (2e-6, 400e-6)}, "must be above the noise floor"),
        ({"reference_kind": "max"}, "reference_kind"),
        ({"reference_level": 0.5}, "MVC reference has reference_level 1.0"),
        ({"reference_kind": "RVC", "reference_level": 2.0}, "fraction of MVC"),
        ({"noise_rms_v": (float("nan"), 4e-6)}, "finite"),
        ({"noise_rms_v": ()}, "non-empty"),
        ({"n_rest_times": -1}, "n_rest_times"),
        ({"l_freq": 500.0}, "l_freq"),
    ],
)
def test_calibration_validation(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _calibration(**changes)


# --------------------------------------------------------------------------- normaliser


def test_normaliser_numbers() -> None:
    cal = _calibration()
    norm = Normaliser(cal)
    assert norm.calibrated
    assert norm.unit == "%MVC"
    assert norm.n_channels == 2
    rms = np.array([[3e-6, 150e-6, 300e-6, 1e-6], [4e-6, 200e-6, 400e-6, np.nan]])
    out = norm.normalise(rms)
    assert out.shape == (2, 4)
    expected_left = (
        100 * np.sqrt(np.maximum(np.array([3, 150, 300, 1]) ** 2 - 9, 0)) / np.sqrt(300**2 - 9)
    )
    np.testing.assert_allclose(out[0], expected_left)
    np.testing.assert_allclose(
        out[1, :3], [0.0, 100 * np.sqrt(200**2 - 16) / np.sqrt(400**2 - 16), 100.0]
    )
    assert np.isnan(out[1, 3])  # a gap stays a gap
    assert "calibrated=True" in repr(norm)


def test_normaliser_noise_override() -> None:
    norm = Normaliser(_calibration())
    rms = np.full((2, 1), 150e-6)
    fresh = norm.normalise(rms, noise_rms_v=[0.0, 0.0])
    np.testing.assert_allclose(
        fresh[:, 0], [100 * 150 / np.sqrt(300**2 - 9), 100 * 150 / np.sqrt(400**2 - 16)]
    )
    live = Normaliser(_calibration(), noise_rms_v=[0.0, 0.0]).normalise(rms)
    np.testing.assert_allclose(live, fresh)


def test_uncalibrated_is_labelled_microvolts() -> None:
    norm = Normaliser(n_channels=2)
    assert not norm.calibrated
    assert norm.unit == "uV"
    np.testing.assert_allclose(norm.normalise(np.full((2, 3), 50e-6)), 50.0)
    corrected = Normaliser(noise_rms_v=[3e-6, 4e-6])
    assert corrected.n_channels == 2
    assert corrected.unit == "uV"
    np.testing.assert_allclose(corrected.normalise(np.array([[5e-6], [5e-6]]))[:, 0], [4.0, 3.0])
    assert corrected.normalise(np.zeros((2, 0))).shape == (2, 0)


@pytest.mark.parametrize(
    ("rms", "error", "match"),
    [
        (np.full((2, 1), -1e-6), ValueError, "negative"),
        (np.full((2, 1), np.inf), ValueError, "infinite"),
        (np.zeros(2), ValueError, "shape"),
        (np.zeros((3, 1)), ValueError, "2 channels"),
        (np.zeros((2, 1), dtype=int), TypeError, "integer"),
    ],
)
def test_normaliser_bad_input(rms: NDArray, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        Normaliser(_calibration()).normalise(rms)


def test_normaliser_bad_construction() -> None:
    with pytest.raises(ValueError, match="n_channels is needed"):
        Normaliser()
    with pytest.raises(ValueError, match="does not match"):
        Normaliser(_calibration(), n_channels=3)
    with pytest.raises(ValueError, match="2 values"):
        Normaliser(_calibration(), noise_rms_v=[1e-6])
    with pytest.raises(TypeError, match="Calibration"):
        Normaliser({"noise_rms_v": [1e-6]})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="noise_rms_v"):
        Normaliser(_calibration()).normalise(np.zeros((2, 1)), noise_rms_v=[-1.0, 0.0])
