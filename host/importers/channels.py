"""Which channels of a recording are EMG, which are the accelerometer, and in what units.

Pure functions over labels, unit strings and sampling rates: no file access. Every
reader (EDF/BDF, CSV/TSV, ``.sw1``) describes its channels as three parallel lists
(label, unit, sampling rate) and calls :func:`select_channels`; the rules below are
therefore the same for every format.

Labels are split into tokens on anything that is not a letter or digit, between a
letter and a digit, and where a lower-case letter is followed by an upper-case one
(``"EMG_R"`` -> ``emg, r``; ``"EMG1"`` -> ``emg, 1``; ``"accZ"`` -> ``acc, z``;
``"L-ES EMG"`` -> ``l, es, emg``). Matching is case-insensitive.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from host.errors import ConfigError, RecordingError

__all__ = [
    "ACCEL_UNITS",
    "EMG_UNITS",
    "STANDARD_GRAVITY",
    "ChannelSelection",
    "accel_g_per_unit",
    "accel_axis",
    "emg_side",
    "emg_volts_per_unit",
    "finish_selection",
    "infer_accel_unit",
    "is_emg_label",
    "label_tokens",
    "looks_like_volts",
    "select_channels",
    "split_label_unit",
]

#: Standard acceleration of gravity, m/s² per g (CGPM 1901; ISO 80000-3).
STANDARD_GRAVITY = 9.80665

#: Volts per unit of every EMG unit spelling understood (keys lower case; both micro
#: signs, U+00B5 and U+03BC, and the ASCII ``u``).
EMG_UNITS: dict[str, float] = {
    "v": 1.0,
    "mv": 1e-3,
    "uv": 1e-6,
    "\u00b5v": 1e-6,
    "\u03bcv": 1e-6,
    "nv": 1e-9,
}

#: g per unit of every accelerometer unit spelling understood (keys lower case).
ACCEL_UNITS: dict[str, float] = {
    "g": 1.0,
    "mg": 1e-3,
    "m/s^2": 1.0 / STANDARD_GRAVITY,
    "m/s\u00b2": 1.0 / STANDARD_GRAVITY,
    "m/s2": 1.0 / STANDARD_GRAVITY,
    "m/s**2": 1.0 / STANDARD_GRAVITY,
    "ms^-2": 1.0 / STANDARD_GRAVITY,
    "m s^-2": 1.0 / STANDARD_GRAVITY,
    "ms-2": 1.0 / STANDARD_GRAVITY,
}

_LEFT = frozenset({"l", "left", "lt", "sin"})
_RIGHT = frozenset({"r", "right", "rt", "dx"})
_ACC_WORDS = frozenset({"acc", "accel", "accelerometer", "acceleration", "accl"})
_ACC_GLUED = re.compile(r"^(acc|accel|accelerometer|acceleration|accl)([xyz])$")
_AXES = ("x", "y", "z")
_TOKEN = re.compile(r"[A-Z]*[a-z]+|[A-Z]+|[0-9]+")
_BRACKET_UNIT = re.compile(r"^(?P<label>.*?)\s*[(\[]\s*(?P<unit>[^()\[\]]*?)\s*[)\]]\s*$")
_SUFFIX_SPLIT = re.compile(r"^(?P<label>.*?)[\s_]+(?P<unit>[^\s_]+)$")

#: Range of the median accelerometer magnitude (in the file's unit) taken as "at rest
#: on Earth" for each unit when the file does not say: g, m/s² and mg.
_MAGNITUDE_RANGES: tuple[tuple[str, float, float], ...] = (
    ("g", 0.5, 2.0),
    ("m/s^2", 0.5 * STANDARD_GRAVITY, 2.0 * STANDARD_GRAVITY),
    ("mg", 500.0, 2000.0),
)


def label_tokens(label: str) -> tuple[str, ...]:
    """Split a channel label into lower-case tokens.

    Parameters
    ----------
    label : str
        A channel label such as ``"EMG L"``, ``"emg_left_ES"`` or ``"accZ"``.

    Returns
    -------
    tuple of str
        The tokens, lower case: runs of letters (split where a lower-case letter is
        followed by an upper-case one) and runs of digits.

    Examples
    --------
    >>> label_tokens("L-ES EMG1")
    ('l', 'es', 'emg', '1')
    >>> label_tokens("accZ")
    ('acc', 'z')
    """
    return tuple(tok.lower() for tok in _TOKEN.findall(label))


def is_emg_label(label: str) -> bool:
    """Return whether a label names an EMG channel (it holds the token ``EMG``)."""
    return "emg" in label_tokens(label)


def emg_side(label: str) -> str | None:
    """Return the body side a label names, or None when it names none or both.

    Parameters
    ----------
    label : str
        A channel label.

    Returns
    -------
    {"left", "right"} or None
        ``"left"`` for a token ``l``, ``left``, ``lt`` or ``sin`` (sinister), ``"right"``
        for ``r``, ``right``, ``rt`` or ``dx`` (dexter); None when neither or both occur.
    """
    tokens = set(label_tokens(label))
    left, right = bool(tokens & _LEFT), bool(tokens & _RIGHT)
    if left == right:
        return None
    return "left" if left else "right"


def accel_axis(label: str) -> str | None:
    """Return the accelerometer axis a label names, or None if it is no accelerometer axis.

    Parameters
    ----------
    label : str
        A channel label such as ``"Accel X"``, ``"ACC_Y"``, ``"accZ"`` or ``"acc-z"``.

    Returns
    -------
    {"x", "y", "z"} or None
        The axis, when the label holds an accelerometer word (``acc``, ``accel``,
        ``accelerometer``, ``acceleration``) and exactly one axis token; None otherwise.
    """
    tokens = label_tokens(label)
    axes: list[str] = []
    has_acc = False
    for tok in tokens:
        glued = _ACC_GLUED.match(tok)
        if glued:
            has_acc = True
            axes.append(glued.group(2))
        elif tok in _ACC_WORDS:
            has_acc = True
        elif tok in _AXES:
            axes.append(tok)
    if not has_acc or len(axes) != 1:
        return None
    return axes[0]


def _unit_key(unit: str) -> str:
    return unit.strip().lower()


def emg_volts_per_unit(unit: str) -> float | None:
    """Return volts per unit for an EMG unit string, or None if it is not a voltage unit.

    Parameters
    ----------
    unit : str
        ``V``, ``mV``, ``uV``, ``µV`` (either micro sign) or ``nV``; case-insensitive.

    Returns
    -------
    float or None
        The factor that turns values in ``unit`` into volts.
    """
    return EMG_UNITS.get(_unit_key(unit))


def accel_g_per_unit(unit: str) -> float | None:
    """Return g per unit for an accelerometer unit string, or None if unknown.

    Parameters
    ----------
    unit : str
        ``g``, ``mg``, ``m/s^2``, ``m/s²``, ``m/s2`` or ``ms^-2``; case-insensitive.

    Returns
    -------
    float or None
        The factor that turns values in ``unit`` into g (1 g = 9.80665 m/s²).
    """
    return ACCEL_UNITS.get(_unit_key(unit))


def _is_unit(token: str) -> bool:
    return emg_volts_per_unit(token) is not None or accel_g_per_unit(token) is not None


def split_label_unit(name: str) -> tuple[str, str]:
    """Split a column header into a channel label and a unit.

    Parameters
    ----------
    name : str
        A header such as ``"EMG L (uV)"``, ``"acc_x [g]"``, ``"emg_left_mV"`` or
        ``"EMG R"``.

    Returns
    -------
    label : str
        The header without its unit.
    unit : str
        The unit in round or square brackets at the end, or a known EMG/accelerometer
        unit after the last ``_`` or space; ``""`` when there is none.

    Examples
    --------
    >>> split_label_unit("ACC X (m/s^2)")
    ('ACC X', 'm/s^2')
    >>> split_label_unit("emg_left_mV")
    ('emg_left', 'mV')
    >>> split_label_unit("EMG R")
    ('EMG R', '')
    """
    name = name.strip()
    bracket = _BRACKET_UNIT.match(name)
    if bracket and bracket.group("label"):
        return bracket.group("label").strip(), bracket.group("unit").strip()
    suffix = _SUFFIX_SPLIT.match(name)
    if suffix and suffix.group("label") and _is_unit(suffix.group("unit")):
        return suffix.group("label").strip(), suffix.group("unit")
    return name, ""


def looks_like_volts(values: ArrayLike) -> bool:
    """Return whether EMG values without a unit are plausibly in volts.

    Parameters
    ----------
    values : array_like
        Samples of one channel (NaN ignored).

    Returns
    -------
    bool
        True when the largest magnitude is below 0.1 and the median magnitude below
        1e-3: surface EMG in volts rarely exceeds a few mV, while the same signal
        written in mV or µV has a median magnitude of 1e-3 .. 1e3.

    Notes
    -----
    Surface EMG amplitudes range from about 10 µV to 5 mV (De Luca 1997, J Appl
    Biomech 13:135). A channel with no finite value does not look like anything.
    """
    arr = np.abs(np.asarray(values, dtype=np.float64))
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return False
    return bool(arr.max() < 0.1 and np.median(arr) < 1e-3)


def infer_accel_unit(median_magnitude: float) -> tuple[str, float] | None:
    """Guess an accelerometer's unit from its median magnitude.

    Parameters
    ----------
    median_magnitude : float
        Median of ``sqrt(x² + y² + z²)`` over the samples, in the file's unit.

    Returns
    -------
    (unit, g_per_unit) or None
        ``("g", 1.0)`` for a magnitude in [0.5, 2], ``("m/s^2", 1/9.80665)`` in
        [4.9, 19.6], ``("mg", 1e-3)`` in [500, 2000]; None otherwise.

    Notes
    -----
    A body-worn accelerometer measures gravity plus movement; over minutes the median
    magnitude stays close to 1 g whatever the wearer does.
    """
    if not np.isfinite(median_magnitude):
        return None
    for unit, low, high in _MAGNITUDE_RANGES:
        if low <= median_magnitude <= high:
            return unit, ACCEL_UNITS[unit]
    return None


@dataclass(frozen=True)
class ChannelSelection:
    """The channels a reader uses, and how to turn their values into volts and g.

    Indices refer to the channel lists given to :func:`select_channels`.

    Attributes
    ----------
    emg : tuple of int
        EMG channels (one or two), in the order they are returned.
    sides : tuple of str
        ``"left"`` or ``"right"``, one per EMG channel.
    emg_volts_per_unit : tuple of (float or None)
        Volts per file unit, one per EMG channel; None when the file gives no unit (the
        reader decides from the values with :func:`looks_like_volts`).
    sfreq : float
        The EMG sampling rate in Hz.
    accel : tuple of int or None
        Accelerometer channels in x, y, z order, or None without accelerometer.
    accel_g_per_unit : tuple of float or None
        g per file unit for x, y and z; None when the accelerometer is used but its unit
        has to be inferred from the values (:func:`infer_accel_unit`).
    accel_sfreq : float or None
        The accelerometer rate in Hz, None without accelerometer.
    other : tuple of int
        Every other channel.
    warnings : tuple of str
        What was assumed.
    """

    emg: tuple[int, ...]
    sides: tuple[str, ...]
    emg_volts_per_unit: tuple[float | None, ...]
    sfreq: float
    accel: tuple[int, int, int] | None
    accel_g_per_unit: tuple[float, float, float] | None
    accel_sfreq: float | None
    other: tuple[int, ...]
    warnings: tuple[str, ...]


def _listing(labels: Sequence[str]) -> str:
    if not labels:
        return "no channels"
    return ", ".join(f"{i}: {label!r}" for i, label in enumerate(labels))


def _resolve(spec: Sequence[str | int], labels: Sequence[str], option: str) -> tuple[int, ...]:
    """Turn labels (exact, case-insensitive) or indices into channel indices."""
    if isinstance(spec, str):
        raise ConfigError(
            f"{option}= expects a sequence of labels or indices, got the string {spec!r} "
            f"(write {option}=[{spec!r}])"
        )
    keys = [label.strip().lower() for label in labels]
    out: list[int] = []
    for item in spec:
        if isinstance(item, bool):
            raise ConfigError(f"{option}= holds {item!r}; expected a label or an index")
        if isinstance(item, int | np.integer):
            index = int(item)
            if not 0 <= index < len(labels):
                raise RecordingError(
                    f"{option}= index {index} is out of range: the recording has "
                    f"{len(labels)} channels ({_listing(labels)})"
                )
        elif isinstance(item, str):
            matches = [i for i, key in enumerate(keys) if key == item.strip().lower()]
            if not matches:
                raise RecordingError(
                    f"{option}= names {item!r}, which is not a channel of this recording "
                    f"({_listing(labels)})"
                )
            if len(matches) > 1:
                raise RecordingError(
                    f"{option}= names {item!r}, which labels channels {matches}; pick one by index"
                )
            index = matches[0]
        else:
            raise ConfigError(f"{option}= holds {item!r}; expected a label (str) or an index (int)")
        if index in out:
            raise ConfigError(f"{option}= names channel {index} ({labels[index]!r}) twice")
        out.append(index)
    return tuple(out)


def _rates_text(indices: Sequence[int], labels: Sequence[str], sfreqs: Sequence[float]) -> str:
    return ", ".join(f"{labels[i]!r} {sfreqs[i]:g} Hz" for i in indices)


def _pick_emg(labels: Sequence[str], emg: Sequence[str | int] | None) -> tuple[int, ...]:
    if emg is not None:
        chosen = _resolve(emg, labels, "emg")
        if not 1 <= len(chosen) <= 2:
            raise ConfigError(
                f"emg= must name one or two channels (left and right), got {len(chosen)}"
            )
        return chosen
    found = tuple(i for i, label in enumerate(labels) if is_emg_label(label))
    if not found:
        raise RecordingError(
            "no EMG channel found: no label holds the word 'EMG' "
            f"(channels: {_listing(labels)}); name the EMG channels with "
            "emg=[LABEL, ...] (--emg LABEL[,LABEL] on the command line)"
        )
    if len(found) > 2:
        names = ", ".join(repr(labels[i]) for i in found)
        raise RecordingError(
            f"{len(found)} EMG channels found ({names}); analysis uses one or two "
            "(left and right lumbar): pick them with emg=[LABEL, LABEL] "
            "(--emg LABEL[,LABEL] on the command line)"
        )
    return found


def _assign_sides(
    chosen: tuple[int, ...], labels: Sequence[str], sides: Sequence[str] | None
) -> tuple[tuple[str, ...], list[str]]:
    notes: list[str] = []
    names = [labels[i] for i in chosen]
    if sides is not None:
        if isinstance(sides, str):
            sides = [sides]
        given = tuple(str(s).strip().lower() for s in sides)
        if len(given) != len(chosen):
            raise ConfigError(
                f"sides= gives {len(given)} sides for {len(chosen)} EMG channels {names}"
            )
        for side in given:
            if side not in ("left", "right"):
                raise ConfigError(
                    f"Invalid value for the 'sides' parameter. Allowed values are 'left' "
                    f"and 'right', but got {side!r} instead."
                )
        if len(given) == 2 and given[0] == given[1]:
            raise ConfigError(f"sides= gives both EMG channels the side {given[0]!r}")
        return given, notes
    detected = [emg_side(name) for name in names]
    if len(chosen) == 1:
        if detected[0] is None:
            notes.append(
                f"EMG channel {names[0]!r} names no side; assumed 'left' (set sides= to change)"
            )
            return ("left",), notes
        return (detected[0],), notes
    first, second = detected
    if first is not None and second is not None:
        if first == second:
            raise RecordingError(
                f"both EMG channels {names[0]!r} and {names[1]!r} look like the {first} "
                "side; say which is which with sides=['left', 'right'] "
                "(--sides left,right on the command line)"
            )
        return (first, second), notes
    if first is None and second is None:
        notes.append(
            f"EMG channels {names[0]!r} and {names[1]!r} name no side; assumed the first "
            "is left and the second right (set sides= to change)"
        )
        return ("left", "right"), notes
    known = first if first is not None else second
    assert known is not None
    other = "right" if known == "left" else "left"
    result = (known, other) if first is not None else (other, known)
    unnamed = names[1] if first is not None else names[0]
    notes.append(f"EMG channel {unnamed!r} names no side; assumed {other!r}")
    return result, notes


def _pick_accel(
    labels: Sequence[str],
    accel: Sequence[str | int] | None,
    taken: tuple[int, ...],
) -> tuple[tuple[int, int, int] | None, list[str]]:
    notes: list[str] = []
    if accel is not None:
        chosen = _resolve(accel, labels, "accel")
        if not chosen:
            return None, notes
        if len(chosen) != 3:
            raise ConfigError(
                f"accel= must name three channels (x, y, z), or none to ignore the "
                f"accelerometer; got {len(chosen)}"
            )
        clash = [labels[i] for i in chosen if i in taken]
        if clash:
            raise ConfigError(f"accel= names EMG channel(s) {clash}")
        return (chosen[0], chosen[1], chosen[2]), notes
    by_axis: dict[str, list[int]] = {axis: [] for axis in _AXES}
    for i, label in enumerate(labels):
        if i in taken:
            continue
        axis = accel_axis(label)
        if axis is not None:
            by_axis[axis].append(i)
    found = [i for axis in _AXES for i in by_axis[axis]]
    if not found:
        return None, notes
    names = ", ".join(repr(labels[i]) for i in found)
    if any(len(by_axis[axis]) > 1 for axis in _AXES):
        notes.append(
            f"accelerometer ignored: several channels per axis ({names}); pick x, y and z "
            "with accel=[X, Y, Z]"
        )
        return None, notes
    missing = [axis for axis in _AXES if not by_axis[axis]]
    if missing:
        notes.append(
            f"accelerometer ignored: found {names} but no {'/'.join(missing)} axis; "
            "all three axes are needed"
        )
        return None, notes
    return (by_axis["x"][0], by_axis["y"][0], by_axis["z"][0]), notes


def _emg_scales(
    chosen: tuple[int, ...],
    labels: Sequence[str],
    units: Sequence[str],
    emg_unit: str | None,
) -> tuple[float | None, ...]:
    if emg_unit is not None:
        scale = emg_volts_per_unit(emg_unit)
        if scale is None:
            raise ConfigError(
                f"Invalid value for the 'emg_unit' parameter. Allowed values are V, mV, uV, "
                f"µV and nV, but got {emg_unit!r} instead."
            )
        return tuple(scale for _ in chosen)
    scales: list[float | None] = []
    for i in chosen:
        unit = units[i].strip()
        if not unit:
            scales.append(None)
            continue
        scale = emg_volts_per_unit(unit)
        if scale is None:
            raise RecordingError(
                f"EMG channel {labels[i]!r} has unit {unit!r}, which is not a voltage unit "
                "(expected V, mV, uV, µV or nV); if the values are voltages, give their "
                "unit with emg_unit= (--emg-unit on the command line)"
            )
        scales.append(scale)
    return tuple(scales)


def _accel_scales(
    chosen: tuple[int, int, int],
    labels: Sequence[str],
    units: Sequence[str],
    accel_unit: str | None,
) -> tuple[tuple[float, float, float] | None, list[str]]:
    if accel_unit is not None:
        scale = accel_g_per_unit(accel_unit)
        if scale is None:
            raise ConfigError(
                "Invalid value for the 'accel_unit' parameter. Allowed values are g, mg, "
                f"m/s^2, m/s² and ms^-2, but got {accel_unit!r} instead."
            )
        return (scale, scale, scale), []
    found = [accel_g_per_unit(units[i]) for i in chosen]
    if found[0] is not None and found[1] is not None and found[2] is not None:
        return (found[0], found[1], found[2]), []
    return None, []


def select_channels(
    labels: Sequence[str],
    units: Sequence[str],
    sfreqs: Sequence[float],
    *,
    emg: Sequence[str | int] | None = None,
    sides: Sequence[str] | None = None,
    accel: Sequence[str | int] | None = None,
    emg_unit: str | None = None,
    accel_unit: str | None = None,
) -> ChannelSelection:
    """Choose the EMG and accelerometer channels of a recording.

    Parameters
    ----------
    labels : sequence of str
        Channel labels in file order (time columns and annotation signals excluded).
    units : sequence of str
        The unit string of each channel (``""`` when the file gives none).
    sfreqs : sequence of float
        The sampling rate of each channel in Hz.
    emg : sequence of str or int, optional
        The EMG channels (one or two), by label (exact, case-insensitive) or index into
        ``labels``. Default: every channel whose label holds the token ``EMG``.
    sides : sequence of {"left", "right"}, optional
        The side of each EMG channel. Default: from the labels (see :func:`emg_side`).
    accel : sequence of str or int, optional
        Three accelerometer channels in x, y, z order; an empty sequence ignores the
        accelerometer. Default: channels whose label names an accelerometer axis.
    emg_unit : str, optional
        The unit of every EMG channel, overriding the file's.
    accel_unit : str, optional
        The unit of every accelerometer channel, overriding the file's.

    Returns
    -------
    ChannelSelection
        The chosen channels, their scales and the assumptions made.

    Raises
    ------
    RecordingError
        If no EMG channel is found, more than two are found without ``emg=``, an EMG
        unit is not a voltage, two EMG channels look like the same side, EMG channels
        differ in rate, accelerometer axes differ in rate, or an ``emg=``/``accel=``
        label or index does not exist.
    ConfigError
        If an option is malformed (wrong count, unknown side or unit).
    """
    if not len(labels) == len(units) == len(sfreqs):
        raise ConfigError(
            f"labels, units and sfreqs must have one entry per channel, got "
            f"{len(labels)}, {len(units)} and {len(sfreqs)}"
        )
    notes: list[str] = []
    chosen = _pick_emg(labels, emg)
    rates = {float(sfreqs[i]) for i in chosen}
    if len(rates) > 1:
        raise RecordingError(
            "EMG channels must share one sampling rate: " + _rates_text(chosen, labels, sfreqs)
        )
    side_tuple, side_notes = _assign_sides(chosen, labels, sides)
    notes += side_notes
    scales = _emg_scales(chosen, labels, units, emg_unit)
    acc, acc_notes = _pick_accel(labels, accel, chosen)
    notes += acc_notes
    acc_scales: tuple[float, float, float] | None = None
    acc_sfreq: float | None = None
    if acc is not None:
        acc_rates = {float(sfreqs[i]) for i in acc}
        if len(acc_rates) > 1:
            raise RecordingError(
                "accelerometer axes must share one sampling rate: "
                + _rates_text(acc, labels, sfreqs)
            )
        acc_sfreq = float(sfreqs[acc[0]])
        acc_scales, unit_notes = _accel_scales(acc, labels, units, accel_unit)
        notes += unit_notes
    used = set(chosen) | set(acc or ())
    other = tuple(i for i in range(len(labels)) if i not in used)
    return ChannelSelection(
        emg=chosen,
        sides=side_tuple,
        emg_volts_per_unit=scales,
        sfreq=float(sfreqs[chosen[0]]),
        accel=acc,
        accel_g_per_unit=acc_scales,
        accel_sfreq=acc_sfreq,
        other=other,
        warnings=tuple(notes),
    )


def finish_selection(
    selection: ChannelSelection,
    labels: Sequence[str],
    units: Sequence[str],
    emg_probe: NDArray[np.float64] | None,
    accel_probe: NDArray[np.float64] | None,
) -> ChannelSelection:
    """Settle the units a file does not give, from a stretch of its values.

    Parameters
    ----------
    selection : ChannelSelection
        The result of :func:`select_channels`.
    labels, units : sequence of str
        The labels and units given to :func:`select_channels`.
    emg_probe : ndarray, shape (n_emg, n_times), optional
        The first samples of the EMG channels, in the file's unit; needed when an EMG
        scale is None.
    accel_probe : ndarray, shape (3, n_accel), optional
        The first accelerometer samples, in the file's unit; needed when the
        accelerometer scales are None.

    Returns
    -------
    ChannelSelection
        The selection with every EMG scale set. The accelerometer scales are set too,
        or, when no unit fits the values, the accelerometer is dropped (moved to
        ``other``) with a warning.

    Raises
    ------
    RecordingError
        If an EMG channel without unit holds values that do not look like volts
        (:func:`looks_like_volts`).
    """
    notes = list(selection.warnings)
    scales: list[float | None] = list(selection.emg_volts_per_unit)
    for row, (index, scale) in enumerate(zip(selection.emg, scales, strict=True)):
        if scale is not None:
            continue
        values = np.empty(0) if emg_probe is None else emg_probe[row]
        finite = np.abs(values[np.isfinite(values)])
        if not looks_like_volts(values):
            described = (
                f"median |value| {np.median(finite):.4g}, largest {finite.max():.4g}"
                if finite.size
                else "no finite value in the first samples"
            )
            raise RecordingError(
                f"EMG channel {labels[index]!r} gives no unit and its values "
                f"({described}) do not look like volts; give the unit with emg_unit= "
                "(--emg-unit uV, mV or V on the command line)"
            )
        notes.append(
            f"EMG channel {labels[index]!r} gives no unit; its values look like volts "
            f"(largest |value| {finite.max():.3g}), so volts were assumed"
        )
        scales[row] = 1.0
    done = replace(selection, emg_volts_per_unit=tuple(scales), warnings=tuple(notes))
    if selection.accel is None or selection.accel_g_per_unit is not None:
        return done
    magnitude = np.empty(0)
    if accel_probe is not None and accel_probe.size:
        magnitude = np.sqrt(np.sum(accel_probe**2, axis=0))
        magnitude = magnitude[np.isfinite(magnitude)]
    median = float(np.median(magnitude)) if magnitude.size else float("nan")
    guess = infer_accel_unit(median)
    names = ", ".join(f"{labels[i]!r} ({units[i].strip()!r})" for i in selection.accel)
    if guess is None:
        notes.append(
            f"accelerometer ignored: its unit is not known and its median magnitude "
            f"({median:.4g}) fits neither g, m/s^2 nor mg; give it with accel_unit= "
            f"({names})"
        )
        other = tuple(sorted(selection.other + selection.accel))
        return replace(
            done,
            accel=None,
            accel_g_per_unit=None,
            accel_sfreq=None,
            other=other,
            warnings=tuple(notes),
        )
    unit, g_per_unit = guess
    notes.append(
        f"accelerometer unit taken as {unit} from its median magnitude {median:.3g} ({names})"
    )
    return replace(
        done, accel_g_per_unit=(g_per_unit, g_per_unit, g_per_unit), warnings=tuple(notes)
    )
