"""Channel detection: EMG, sides, accelerometer axes, units, and the selection rules."""

from __future__ import annotations

import numpy as np
import pytest

from host.errors import ConfigError, RecordingError
from host.importers.channels import (
    STANDARD_GRAVITY,
    accel_axis,
    accel_g_per_unit,
    emg_side,
    emg_volts_per_unit,
    finish_selection,
    infer_accel_unit,
    is_emg_label,
    label_tokens,
    looks_like_volts,
    select_channels,
    split_label_unit,
)


@pytest.mark.parametrize(
    ("label", "tokens"),
    [
        ("EMG L", ("emg", "l")),
        ("EMG_R", ("emg", "r")),
        ("L-ES EMG", ("l", "es", "emg")),
        ("EMG1", ("emg", "1")),
        ("accZ", ("acc", "z")),
        ("AccelX", ("accel", "x")),
        ("EMGleft", ("emgleft",)),
        ("sEMG right", ("s", "emg", "right")),
    ],
)
def test_label_tokens(label: str, tokens: tuple[str, ...]) -> None:
    assert label_tokens(label) == tokens


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("EMG L", True),
        ("EMG_R", True),
        ("EMG left ES", True),
        ("L-ES EMG", True),
        ("EMG1", True),
        ("emg", True),
        ("sEMG", True),
        ("ECG", False),
        ("EEG Fpz-Cz", False),
        ("Accel X", False),
        ("MEGA", False),
        ("EMGL", False),
    ],
)
def test_emg_labels(label: str, expected: bool) -> None:
    assert is_emg_label(label) is expected


@pytest.mark.parametrize(
    ("label", "side"),
    [
        ("EMG L", "left"),
        ("EMG_R", "right"),
        ("EMG left ES", "left"),
        ("L-ES EMG", "left"),
        ("EMG Lt", "left"),
        ("EMG rt", "right"),
        ("EMG sin", "left"),
        ("EMG dx", "right"),
        ("Right erector EMG", "right"),
        ("EMG1", None),
        ("EMG", None),
        ("EMG L-R", None),  # both sides named: undecided
        ("EMG Lumbar", None),  # 'lumbar' is not 'l'
    ],
)
def test_sides(label: str, side: str | None) -> None:
    assert emg_side(label) == side


@pytest.mark.parametrize(
    ("label", "axis"),
    [
        ("Accel X", "x"),
        ("ACC_Y", "y"),
        ("accZ", "z"),
        ("acc-z", "z"),
        ("ACCX", "x"),
        ("Accelerometer y", "y"),
        ("acceleration_z", "z"),
        ("Gyro X", None),
        ("X", None),
        ("Accel", None),
        ("Acc X Y", None),
        ("Accuracy X", None),
    ],
)
def test_accel_axes(label: str, axis: str | None) -> None:
    assert accel_axis(label) == axis


@pytest.mark.parametrize(
    ("unit", "volts"),
    [
        ("V", 1.0),
        ("mV", 1e-3),
        ("uV", 1e-6),
        ("\u00b5V", 1e-6),
        ("\u03bcV", 1e-6),
        ("nV", 1e-9),
        (" UV ", 1e-6),
        ("degC", None),
        ("", None),
        ("g", None),
    ],
)
def test_emg_units(unit: str, volts: float | None) -> None:
    assert emg_volts_per_unit(unit) == volts


@pytest.mark.parametrize(
    ("unit", "g"),
    [
        ("g", 1.0),
        ("G", 1.0),
        ("mg", 1e-3),
        ("m/s^2", 1 / STANDARD_GRAVITY),
        ("m/s\u00b2", 1 / STANDARD_GRAVITY),
        ("m/s2", 1 / STANDARD_GRAVITY),
        ("ms^-2", 1 / STANDARD_GRAVITY),
        ("uV", None),
        ("", None),
    ],
)
def test_accel_units(unit: str, g: float | None) -> None:
    assert accel_g_per_unit(unit) == g


@pytest.mark.parametrize(
    ("header", "split"),
    [
        ("EMG L (uV)", ("EMG L", "uV")),
        ("emg_left_mV", ("emg_left", "mV")),
        ("acc_x [g]", ("acc_x", "g")),
        ("ACC X (m/s^2)", ("ACC X", "m/s^2")),
        ("EMG R \u00b5V", ("EMG R", "\u00b5V")),
        ("EMG R", ("EMG R", "")),
        ("time_s", ("time_s", "")),
        ("time (s)", ("time", "s")),
        ("  EMG_V  ", ("EMG", "V")),
        ("(uV)", ("(uV)", "")),
    ],
)
def test_split_label_unit(header: str, split: tuple[str, str]) -> None:
    assert split_label_unit(header) == split


def test_volts_heuristic() -> None:
    rng = np.random.default_rng(1)
    volts = rng.normal(0, 50e-6, 5000)
    assert looks_like_volts(volts)
    assert not looks_like_volts(volts * 1e6)  # µV
    assert not looks_like_volts(volts * 1e3)  # mV: median |x| ~ 0.03
    assert not looks_like_volts(np.full(10, np.nan))
    spiky = volts.copy()
    spiky[10] = 0.5  # a single half-volt value is no EMG in volts
    assert not looks_like_volts(spiky)
    with_gaps = volts.copy()
    with_gaps[::3] = np.nan
    assert looks_like_volts(with_gaps)


@pytest.mark.parametrize(
    ("magnitude", "unit"),
    [(1.0, "g"), (0.93, "g"), (9.81, "m/s^2"), (1000.0, "mg"), (3.0, None), (float("nan"), None)],
)
def test_accel_unit_inference(magnitude: float, unit: str | None) -> None:
    guess = infer_accel_unit(magnitude)
    assert (guess[0] if guess else None) == unit
    if guess is not None:
        assert magnitude * guess[1] == pytest.approx(1.0, rel=0.1)


LABELS = ["EMG L", "EMG R", "Accel X", "Accel Y", "Accel Z", "ECG"]
UNITS = ["uV", "uV", "g", "g", "g", "mV"]
RATES = [1000.0, 1000.0, 100.0, 100.0, 100.0, 250.0]


def test_detects_everything_in_a_typical_recording() -> None:
    sel = select_channels(LABELS, UNITS, RATES)
    assert sel.emg == (0, 1)
    assert sel.sides == ("left", "right")
    assert sel.emg_volts_per_unit == (1e-6, 1e-6)
    assert sel.sfreq == 1000.0
    assert sel.accel == (2, 3, 4)
    assert sel.accel_g_per_unit == (1.0, 1.0, 1.0)
    assert sel.accel_sfreq == 100.0
    assert sel.other == (5,)
    assert sel.warnings == ()


def test_sides_follow_labels_not_order() -> None:
    sel = select_channels(["EMG right", "EMG left"], ["uV", "uV"], [1000.0, 1000.0])
    assert sel.sides == ("right", "left")


def test_accel_axes_are_returned_in_xyz_order() -> None:
    labels = ["acc_z", "EMG L", "acc_x", "acc_y"]
    sel = select_channels(labels, ["g", "uV", "g", "g"], [50.0, 500.0, 50.0, 50.0])
    assert sel.accel == (2, 3, 0)


def test_two_emg_without_sides_assume_left_then_right() -> None:
    sel = select_channels(["EMG1", "EMG2"], ["uV", "uV"], [1000.0, 1000.0])
    assert sel.sides == ("left", "right")
    assert any("first is left" in w for w in sel.warnings)


def test_one_named_side_implies_the_other() -> None:
    sel = select_channels(["EMG1", "EMG R"], ["uV", "uV"], [1000.0, 1000.0])
    assert sel.sides == ("left", "right")
    assert any("'EMG1'" in w and "'left'" in w for w in sel.warnings)


def test_single_channel_without_side_is_left_with_a_warning() -> None:
    sel = select_channels(["EMG"], ["uV"], [1000.0])
    assert sel.sides == ("left",)
    assert any("assumed 'left'" in w for w in sel.warnings)
    sel = select_channels(["EMG R"], ["uV"], [1000.0])
    assert sel.sides == ("right",)
    assert sel.warnings == ()


def test_same_side_twice_is_refused() -> None:
    with pytest.raises(RecordingError, match=r"both EMG channels .* left side.*sides="):
        select_channels(["EMG L1", "EMG L2"], ["uV", "uV"], [1000.0, 1000.0])


def test_sides_override() -> None:
    sel = select_channels(
        ["EMG L1", "EMG L2"], ["uV", "uV"], [1000.0, 1000.0], sides=["Right", "left"]
    )
    assert sel.sides == ("right", "left")
    with pytest.raises(ConfigError, match="'up'"):
        select_channels(["EMG L", "EMG R"], ["uV"] * 2, [1.0] * 2, sides=["left", "up"])
    with pytest.raises(ConfigError, match="1 sides for 2 EMG channels"):
        select_channels(["EMG L", "EMG R"], ["uV"] * 2, [1.0] * 2, sides=["left"])
    with pytest.raises(ConfigError, match="both EMG channels the side 'left'"):
        select_channels(["EMG L", "EMG R"], ["uV"] * 2, [1.0] * 2, sides=["left", "left"])


def test_no_emg_lists_labels_and_suggests_the_option() -> None:
    with pytest.raises(RecordingError) as info:
        select_channels(["EEG Fpz", "ECG"], ["uV", "mV"], [100.0, 100.0])
    message = str(info.value)
    assert "no EMG channel" in message
    assert "0: 'EEG Fpz'" in message
    assert "1: 'ECG'" in message
    assert "--emg LABEL[,LABEL]" in message


def test_more_than_two_emg_needs_a_choice() -> None:
    labels = ["EMG L", "EMG R", "EMG chin"]
    with pytest.raises(RecordingError, match=r"3 EMG channels found .*'EMG chin'.*emg="):
        select_channels(labels, ["uV"] * 3, [1000.0] * 3)
    sel = select_channels(labels, ["uV"] * 3, [1000.0] * 3, emg=["emg r", 0])
    assert sel.emg == (1, 0)
    assert sel.sides == ("right", "left")
    assert sel.other == (2,)
    with pytest.raises(ConfigError, match="one or two"):
        select_channels(labels, ["uV"] * 3, [1000.0] * 3, emg=[0, 1, 2])


def test_emg_override_errors() -> None:
    with pytest.raises(RecordingError, match=r"'EMG X'.*not a channel.*0: 'EMG L'"):
        select_channels(["EMG L"], ["uV"], [1.0], emg=["EMG X"])
    with pytest.raises(RecordingError, match="index 3 is out of range"):
        select_channels(["EMG L"], ["uV"], [1.0], emg=[3])
    with pytest.raises(ConfigError, match="twice"):
        select_channels(["EMG L", "EMG R"], ["uV"] * 2, [1.0] * 2, emg=[0, "emg l"])
    with pytest.raises(ConfigError, match=r"emg=\['EMG L'\]"):
        select_channels(["EMG L"], ["uV"], [1.0], emg="EMG L")
    with pytest.raises(RecordingError, match="pick one by index"):
        select_channels(["EMG", "EMG"], ["uV"] * 2, [1.0] * 2, emg=["EMG"])


def test_emg_override_may_name_any_channel() -> None:
    sel = select_channels(["Ch1", "Ch2", "Ch3"], ["uV"] * 3, [500.0] * 3, emg=["ch3"])
    assert sel.emg == (2,)
    assert sel.other == (0, 1)


def test_mismatched_emg_rates_are_named() -> None:
    with pytest.raises(RecordingError) as info:
        select_channels(["EMG L", "EMG R"], ["uV", "uV"], [1000.0, 500.0])
    assert str(info.value) == (
        "EMG channels must share one sampling rate: 'EMG L' 1000 Hz, 'EMG R' 500 Hz"
    )


def test_unknown_emg_unit_names_channel_and_unit() -> None:
    with pytest.raises(RecordingError, match=r"'EMG R' has unit 'degC'.*emg_unit="):
        select_channels(["EMG L", "EMG R"], ["uV", "degC"], [1.0, 1.0])
    sel = select_channels(["EMG L", "EMG R"], ["uV", "degC"], [1.0, 1.0], emg_unit="mV")
    assert sel.emg_volts_per_unit == (1e-3, 1e-3)
    with pytest.raises(ConfigError, match="'emg_unit'.*'furlong'"):
        select_channels(["EMG L"], ["uV"], [1.0], emg_unit="furlong")


def test_missing_emg_unit_is_left_to_the_values() -> None:
    sel = select_channels(["EMG L", "EMG R"], ["", "mV"], [1.0, 1.0])
    assert sel.emg_volts_per_unit == (None, 1e-3)


def test_incomplete_or_ambiguous_accelerometer_is_ignored_with_a_warning() -> None:
    sel = select_channels(["EMG L", "acc x", "acc y"], ["uV", "g", "g"], [1.0] * 3)
    assert sel.accel is None
    assert sel.other == (1, 2)
    assert any("no z axis" in w for w in sel.warnings)
    labels = ["EMG L", "acc x", "acc y", "acc z", "acc2 x"]
    sel = select_channels(labels, ["uV"] + ["g"] * 4, [1.0] * 5)
    assert sel.accel is None
    assert any("several channels per axis" in w for w in sel.warnings)


def test_accelerometer_rate_mismatch() -> None:
    labels = ["EMG L", "acc x", "acc y", "acc z"]
    with pytest.raises(RecordingError) as info:
        select_channels(labels, ["uV", "g", "g", "g"], [1000.0, 100.0, 100.0, 50.0])
    assert str(info.value) == (
        "accelerometer axes must share one sampling rate: "
        "'acc x' 100 Hz, 'acc y' 100 Hz, 'acc z' 50 Hz"
    )


def test_accel_override_and_units() -> None:
    labels = ["EMG L", "X", "Y", "Z"]
    sel = select_channels(labels, ["uV", "m/s^2"] * 2, [1.0] * 4, accel=["x", "y", "z"])
    assert sel.accel == (1, 2, 3)
    assert sel.accel_g_per_unit is None  # 'uV' is no acceleration: inferred later
    sel = select_channels(labels, ["uV", "", "", ""], [1.0] * 4, accel=[1, 2, 3], accel_unit="mg")
    assert sel.accel_g_per_unit == (1e-3, 1e-3, 1e-3)
    sel = select_channels(LABELS, UNITS, RATES, accel=[])
    assert sel.accel is None
    assert sel.other == (2, 3, 4, 5)
    with pytest.raises(ConfigError, match="three channels"):
        select_channels(labels, ["uV"] * 4, [1.0] * 4, accel=["x", "y"])
    with pytest.raises(ConfigError, match="EMG channel"):
        select_channels(labels, ["uV"] * 4, [1.0] * 4, accel=["EMG L", "y", "z"])
    with pytest.raises(ConfigError, match="'accel_unit'"):
        select_channels(LABELS, UNITS, RATES, accel_unit="knots")


def test_finish_selection_settles_units_from_values() -> None:
    rng = np.random.default_rng(2)
    labels = ["EMG L", "EMG R", "acc x", "acc y", "acc z"]
    units = ["", "uV", "", "", ""]
    sel = select_channels(labels, units, [1.0] * 5)
    emg = np.vstack([rng.normal(0, 1e-4, 500), rng.normal(0, 100, 500)])
    accel = np.vstack([np.zeros(50), np.zeros(50), np.full(50, STANDARD_GRAVITY)])
    done = finish_selection(sel, labels, units, emg, accel)
    assert done.emg_volts_per_unit == (1.0, 1e-6)
    assert done.accel_g_per_unit == pytest.approx((1 / STANDARD_GRAVITY,) * 3)
    assert any("'EMG L' gives no unit" in w and "volts" in w for w in done.warnings)
    assert any("m/s^2" in w and "9.81" in w for w in done.warnings)


def test_finish_selection_refuses_unitless_emg_that_is_not_volts() -> None:
    labels, units = ["EMG L"], [""]
    sel = select_channels(labels, units, [1.0])
    with pytest.raises(RecordingError, match=r"'EMG L' gives no unit .*emg_unit="):
        finish_selection(sel, labels, units, np.full((1, 10), 120.0), None)
    with pytest.raises(RecordingError, match="no finite value"):
        finish_selection(sel, labels, units, np.full((1, 10), np.nan), None)


def test_finish_selection_drops_an_accelerometer_it_cannot_read() -> None:
    labels, units = ["EMG L", "acc x", "acc y", "acc z"], ["uV", "", "", ""]
    sel = select_channels(labels, units, [1.0] * 4)
    done = finish_selection(sel, labels, units, np.zeros((1, 10)), np.full((3, 10), 40.0))
    assert done.accel is None
    assert done.accel_sfreq is None
    assert done.other == (1, 2, 3)
    assert any("accelerometer ignored" in w and "accel_unit=" in w for w in done.warnings)
