"""Calibration and amplitude normalisation of surface EMG: rest, reference contraction, %MVC.

Surface-EMG amplitude in µV depends on electrode placement, skin and subcutaneous fat as
much as on the muscle, so amplitudes are compared between sessions and people only after
normalisation to a reference contraction (Burden 2010). The recipe here:

1. :class:`CalibrationRecorder` takes trials of the wearer relaxed (``add_rest``) and of
   reference contractions (``add_reference``: maximal, MVC, or a submaximal reference
   voluntary contraction, RVC, with its nominal level if known), band-passes each trial
   like the live amplitude pipeline (causal Butterworth ``l_freq``-``h_freq``, optional
   mains notch) and measures

   * the noise floor ``noise_rms_v``: 10th percentile of the 250 ms window RMS at rest (the
     quietest windows: amplifier and electrode noise plus the least resting tone, no QRS);
   * the resting tone ``rest_rms_v``: median of the same window RMS (robust to a brief
     movement during the rest recording);
   * the reference ``reference_rms_v``: MVC, the peak of a 0.5 s moving RMS over all MVC
     trials (Konrad 2005; Burden 2010); RVC, the median of the 0.5 s moving RMS of each
     trial (the level held), averaged over trials.

2. :meth:`CalibrationRecorder.result` checks the data (enough rest and contraction, the
   contraction clearly above rest, no clipping) and returns an immutable
   :class:`Calibration` (``to_dict``/``from_dict`` for storage).

3. :class:`Normaliser` expresses an amplitude (RMS in volts in the same band) as a
   percentage of the reference after removing the noise floor in quadrature,
   ``sqrt(max(rms**2 - noise**2, 0))`` (Clancy et al. 2002). Without a calibration it
   returns noise-corrected µV labelled ``calibrated=False`` (see :class:`Normaliser`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import signal

from dsp._validation import (
    check_block,
    check_option,
    check_positive,
    check_sfreq,
    check_signal,
)
from dsp.filters import (
    DEFAULT_H_FREQ,
    DEFAULT_L_FREQ,
    MAX_EDGE_FRACTION,
    design_bandpass,
    design_mains_notch,
)

__all__ = [
    "CALIBRATION_FORMAT",
    "REFERENCE_KINDS",
    "Calibration",
    "CalibrationRecorder",
    "Normaliser",
]

logger = logging.getLogger(__name__)

#: Reference contraction kinds: maximal or submaximal (reference) voluntary contraction.
REFERENCE_KINDS: Final = ("MVC", "RVC")
#: Identifier and version written by :meth:`Calibration.to_dict`.
CALIBRATION_FORMAT: Final = "spasmwatch.calibration"
_FORMAT_VERSION: Final = 1
_UV: Final = 1e-6
#: A sample is clipped within this fraction of the clip level.
_CLIP_TOLERANCE: Final = 0.002
#: Largest fraction of clipped samples accepted in a calibration trial.
_MAX_CLIP_FRACTION: Final = 0.001


def _uv(value_v: float) -> str:
    return f"{value_v / _UV:.3g} µV"


def _as_float_tuple(name: str, values: Any) -> tuple[float, ...]:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be a non-empty sequence of numbers, got {values!r}")
    out = tuple(float(v) for v in arr)
    if not all(math.isfinite(v) and v >= 0.0 for v in out):
        raise ValueError(f"{name} must hold finite values >= 0 V, got {out!r}")
    return out


@dataclass(frozen=True)
class Calibration:
    """Result of a calibration session, per channel, immutable.

    Parameters
    ----------
    sfreq : float
        Sampling rate of the calibration recordings, Hz.
    l_freq, h_freq : float
        Band in which every RMS was measured, Hz (the live amplitude must use the same).
    mains_freq : float | None
        Mains notch applied before the RMS (Hz), or ``None``.
    noise_rms_v : tuple of float, length n_channels
        Noise floor σ_noise at rest, V RMS.
    rest_rms_v : tuple of float, length n_channels
        Resting tone, V RMS (median of the window RMS at rest).
    reference_rms_v : tuple of float, length n_channels
        Reference contraction amplitude, V RMS (not noise-corrected).
    reference_kind : {"MVC", "RVC"}
        Maximal or submaximal reference voluntary contraction.
    reference_level : float | None
        Nominal level of the reference as a fraction of MVC: 1.0 for an MVC; for an RVC
        the level asked for (e.g. 0.4) or ``None`` if unknown.
    reference_window_s : float
        Length of the moving-RMS window used on the reference, s.
    n_rest_times, n_reference_times : int
        Samples of rest and of reference contraction the calibration was made from.

    Raises
    ------
    ValueError
        On inconsistent values (channel counts, a reference not above the noise floor,
        an unknown kind, a level outside (0, 1]).
    """

    sfreq: float
    l_freq: float
    h_freq: float
    mains_freq: float | None
    noise_rms_v: tuple[float, ...]
    rest_rms_v: tuple[float, ...]
    reference_rms_v: tuple[float, ...]
    reference_kind: str
    reference_level: float | None
    reference_window_s: float
    n_rest_times: int
    n_reference_times: int

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "sfreq", check_sfreq(self.sfreq))
        set_(self, "l_freq", check_positive("l_freq", self.l_freq))
        set_(self, "h_freq", check_positive("h_freq", self.h_freq))
        if self.l_freq >= self.h_freq:
            raise ValueError(f"l_freq ({self.l_freq:g} Hz) must be below h_freq ({self.h_freq:g})")
        if self.mains_freq is not None:
            set_(self, "mains_freq", check_positive("mains_freq", self.mains_freq))
        for name in ("noise_rms_v", "rest_rms_v", "reference_rms_v"):
            set_(self, name, _as_float_tuple(name, getattr(self, name)))
        n = len(self.noise_rms_v)
        if not len(self.rest_rms_v) == len(self.reference_rms_v) == n:
            raise ValueError(
                "noise_rms_v, rest_rms_v and reference_rms_v must have one value per channel, "
                f"got lengths {n}, {len(self.rest_rms_v)} and {len(self.reference_rms_v)}"
            )
        check_option("reference_kind", self.reference_kind, REFERENCE_KINDS)
        level = self.reference_level
        if self.reference_kind == "MVC":
            if level is not None and float(level) != 1.0:
                raise ValueError(f"An MVC reference has reference_level 1.0, got {level!r}")
            set_(self, "reference_level", 1.0)
        elif level is not None:
            level = check_positive("reference_level", level)
            if level > 1.0:
                raise ValueError(
                    f"reference_level is a fraction of MVC in (0, 1], got {level!r} instead"
                )
            set_(self, "reference_level", level)
        set_(
            self,
            "reference_window_s",
            check_positive("reference_window_s", self.reference_window_s),
        )
        for name in ("n_rest_times", "n_reference_times"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r} instead")
            set_(self, name, int(value))
        for c, (noise, ref) in enumerate(zip(self.noise_rms_v, self.reference_rms_v, strict=True)):
            if not ref > noise:
                raise ValueError(
                    f"channel {c}: reference_rms_v ({_uv(ref)}) must be above the noise floor "
                    f"noise_rms_v ({_uv(noise)})"
                )

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.noise_rms_v)

    @property
    def unit(self) -> str:
        """Unit of normalised amplitudes: ``"%MVC"`` or ``"%RVC"``."""
        return f"%{self.reference_kind}"

    @property
    def reference_corrected_v(self) -> tuple[float, ...]:
        """Noise-corrected reference amplitude, ``sqrt(reference**2 - noise**2)``, V."""
        return tuple(
            math.sqrt(r * r - s * s)
            for r, s in zip(self.reference_rms_v, self.noise_rms_v, strict=True)
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary (lists for the per-channel values)."""
        out: dict[str, Any] = {"format": CALIBRATION_FORMAT, "version": _FORMAT_VERSION}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        """Rebuild a calibration written by :meth:`to_dict`.

        Raises
        ------
        ValueError
            If the format or version is not recognised, keys are missing or unknown, or
            values are invalid.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"data must be a mapping, got {type(data).__name__}")
        if data.get("format") != CALIBRATION_FORMAT:
            raise ValueError(
                f"Not a spasmwatch calibration: format {data.get('format')!r}, expected "
                f"{CALIBRATION_FORMAT!r}"
            )
        if data.get("version") != _FORMAT_VERSION:
            raise ValueError(
                f"Unsupported calibration version {data.get('version')!r}; this version of "
                f"spasmwatch reads version {_FORMAT_VERSION}"
            )
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in data]
        unknown = sorted(set(data) - set(names) - {"format", "version"})
        if missing or unknown:
            raise ValueError(
                f"Invalid calibration dictionary: missing keys {missing}, unknown keys {unknown}"
            )
        return cls(**{n: data[n] for n in names})


def _check_trial(recorder: CalibrationRecorder, block: Any, what: str) -> NDArray[np.float64]:
    x = check_block(block, n_channels=recorder.n_channels)
    need = recorder._settle + recorder._window
    if x.shape[1] < need:
        raise ValueError(
            f"{what} trial too short: {x.shape[1]} samples ({x.shape[1] / recorder.sfreq:.2f} "
            f"s); each trial needs at least {need} samples ({need / recorder.sfreq:.2f} s: "
            f"{recorder.settle_s:g} s of filter settling plus one {recorder._window} sample "
            "window). Pass a whole contiguous trial per call."
        )
    if recorder.clip_level_v is not None:
        clipped = np.mean(np.abs(x) >= recorder.clip_level_v * (1.0 - _CLIP_TOLERANCE), axis=1)
        bad = np.flatnonzero(clipped > _MAX_CLIP_FRACTION)
        if bad.size:
            detail = ", ".join(f"{recorder.ch_names[c]} {100 * clipped[c]:.1f} %" for c in bad)
            raise ValueError(
                f"{what} trial clips at ±{recorder.clip_level_v / 1e-3:g} mV ({detail} of "
                "samples): the amplitude would be underestimated; check the electrodes and "
                "repeat the trial"
            )
    return x


class CalibrationRecorder:
    """Build a :class:`Calibration` from rest and reference-contraction trials.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    n_channels : int
        Number of channels (rows) of every trial.
    l_freq : float
        Lower edge of the amplitude band, Hz (20 Hz: the live pipeline's band).
    h_freq : float | None
        Upper edge, Hz; ``None``: 450 Hz or 90 % of Nyquist, whichever is lower.
    mains_freq : None | 50 | 60
        Notch the mains (and harmonics) before the RMS, as the live pipeline does.
    clip_level_v : float | None
        Clip level of the front end referred to the input (V); trials clipping more than
        0.1 % of their samples are refused.
    window_s : float
        Window of the rest RMS statistics, s.
    reference_window_s : float
        Moving-RMS window on the reference contraction, s (0.5 s; Konrad 2005 suggests
        0.5-1 s around the peak).
    noise_percentile : float
        Percentile of the rest window RMS taken as the noise floor.
    settle_s : float
        Start of every trial discarded while the band-pass settles, s.
    min_rest_s, min_reference_s : float
        Least total rest and reference-contraction data for :meth:`result`, s.
    min_reference_ratio : float
        The reference RMS must be at least this many times the rest RMS on every channel.
    ch_names : sequence of str | None
        Names used in messages; default ``("left", "right")`` for two channels.

    Notes
    -----
    Each call to :meth:`add_rest` or :meth:`add_reference` is one contiguous trial, filtered
    on its own from a settled state (buffer a streamed trial and pass it whole). An MVC is
    the highest 0.5 s moving RMS over all MVC trials; an RVC the median moving RMS of each
    trial, averaged over trials (Burden 2010 recommends a sustained submaximal reference
    when maximal efforts are unsafe or unreliable, as in people with back pain; for the
    lumbar extensors e.g. a Biering-Sørensen hold). One reference kind (and RVC level) per
    recorder.

    References: Burden A (2010) How should we normalize electromyograms obtained from
    healthy participants? What we have learned from over 25 years of research. J
    Electromyogr Kinesiol 20(6):1023-1035. Konrad P (2005) The ABC of EMG: a practical
    introduction to kinesiological electromyography. Noraxon. Clancy EA, Morin EL, Merletti
    R (2002) Sampling, noise-reduction and amplitude estimation issues in surface
    electromyography. J Electromyogr Kinesiol 12(1):1-16.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> rec = CalibrationRecorder(1000.0, 2)
    >>> rec.add_rest(3e-6 * rng.standard_normal((2, 6000)))
    >>> rec.add_reference(300e-6 * rng.standard_normal((2, 3000)), kind="MVC")
    >>> cal = rec.result()
    >>> cal.unit, cal.n_channels
    ('%MVC', 2)
    """

    def __init__(
        self,
        sfreq: float,
        n_channels: int,
        *,
        l_freq: float = DEFAULT_L_FREQ,
        h_freq: float | None = None,
        mains_freq: float | None = None,
        clip_level_v: float | None = None,
        window_s: float = 0.25,
        reference_window_s: float = 0.5,
        noise_percentile: float = 10.0,
        settle_s: float = 0.25,
        min_rest_s: float = 5.0,
        min_reference_s: float = 1.0,
        min_reference_ratio: float = 3.0,
        ch_names: Sequence[str] | None = None,
    ) -> None:
        self.sfreq = check_sfreq(sfreq)
        if isinstance(n_channels, bool) or not isinstance(n_channels, int) or n_channels < 1:
            raise ValueError(f"n_channels must be a positive integer, got {n_channels!r}")
        self.n_channels = n_channels
        self.l_freq = check_positive("l_freq", l_freq)
        limit = MAX_EDGE_FRACTION * self.sfreq / 2.0
        if h_freq is None:
            h_freq = min(DEFAULT_H_FREQ, limit)
        h_freq = check_positive("h_freq", h_freq)
        check_option("mains_freq", mains_freq, (None, 50.0, 60.0))
        self.mains_freq = None if mains_freq is None else float(mains_freq)
        sos = design_bandpass(self.sfreq, self.l_freq, h_freq)  # warns if clipped
        self.h_freq = min(h_freq, limit)
        if self.mains_freq is not None:
            sos = np.vstack([sos, design_mains_notch(self.sfreq, self.mains_freq)])
        self._sos = sos
        self._zi_unit = signal.sosfilt_zi(sos)
        self.clip_level_v = (
            None if clip_level_v is None else check_positive("clip_level_v", clip_level_v)
        )
        self.window_s = check_positive("window_s", window_s)
        self.reference_window_s = check_positive("reference_window_s", reference_window_s)
        pct = check_positive("noise_percentile", noise_percentile, allow_zero=True)
        if pct > 100.0:
            raise ValueError(f"noise_percentile must be in [0, 100], got {pct!r} instead")
        self.noise_percentile = pct
        self.settle_s = check_positive("settle_s", settle_s, allow_zero=True)
        self.min_rest_s = check_positive("min_rest_s", min_rest_s)
        self.min_reference_s = check_positive("min_reference_s", min_reference_s)
        self.min_reference_ratio = check_positive("min_reference_ratio", min_reference_ratio)
        if self.min_reference_ratio <= 1.0:
            raise ValueError(
                f"min_reference_ratio must be > 1, got {min_reference_ratio!r} instead"
            )
        if ch_names is None:
            names = (
                ("left", "right")
                if n_channels == 2
                else tuple(f"channel {i}" for i in range(n_channels))
            )
        else:
            names = tuple(str(n) for n in ch_names)
            if len(names) != n_channels:
                raise ValueError(f"ch_names must have {n_channels} names, got {names!r}")
        self.ch_names: tuple[str, ...] = names
        self._window = max(1, int(round(self.window_s * self.sfreq)))
        self._ref_window = max(1, int(round(self.reference_window_s * self.sfreq)))
        self._settle = int(round(self.settle_s * self.sfreq))
        self.reset()

    def reset(self) -> None:
        """Forget every trial."""
        self._rest_rms: list[NDArray[np.float64]] = []  # (n_channels, n_windows) per trial
        self._ref_values: list[NDArray[np.float64]] = []  # (n_channels,) per trial
        self._n_rest = 0
        self._n_ref = 0
        self._kind: str | None = None
        self._level: float | None = None

    @property
    def rest_s(self) -> float:
        """Rest recorded so far, s."""
        return self._n_rest / self.sfreq

    @property
    def reference_s(self) -> float:
        """Reference contraction recorded so far, s."""
        return self._n_ref / self.sfreq

    def _filtered(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        # Causal, like the live pipeline, started in the steady state of the first sample
        # (as SosFilter(seed_from_first_sample=True) does) so a DC offset does not ring.
        zi = self._zi_unit[:, None, :] * x[:, 0][None, :, None]
        y, _ = signal.sosfilt(self._sos, x, axis=-1, zi=zi)
        out: NDArray[np.float64] = y[:, self._settle :]
        return out

    def add_rest(self, block: NDArray[np.float64]) -> None:
        """Add one contiguous trial of the wearer relaxed (lying, or sitting supported).

        Parameters
        ----------
        block : ndarray of float, shape (n_channels, n_times)
            Raw volts, at least ``settle_s + window_s`` long.
        """
        x = _check_trial(self, block, "rest")
        y = self._filtered(x)
        n_win = y.shape[1] // self._window
        if n_win == 0:  # pragma: no cover - excluded by _check_trial
            raise ValueError("rest trial too short")
        w = y[:, : n_win * self._window].reshape(self.n_channels, n_win, self._window)
        self._rest_rms.append(np.sqrt(np.mean(w**2, axis=-1)))
        self._n_rest += x.shape[1]

    def add_reference(
        self, block: NDArray[np.float64], kind: str = "MVC", level: float | None = None
    ) -> None:
        """Add one contiguous reference-contraction trial.

        Parameters
        ----------
        block : ndarray of float, shape (n_channels, n_times)
            Raw volts of the whole trial (ramps included), at least ``settle_s +
            reference_window_s`` long.
        kind : {"MVC", "RVC"}
            Maximal or submaximal reference voluntary contraction.
        level : float | None
            For an RVC, its nominal level as a fraction of MVC if known (e.g. 0.4). An MVC
            has level 1 (``None`` or ``1.0``).

        Raises
        ------
        ValueError
            On a short or clipped trial, or a kind or level different from earlier trials.
        """
        check_option("kind", kind, REFERENCE_KINDS)
        if kind == "MVC":
            if level is not None and float(level) != 1.0:
                raise ValueError(
                    f"An MVC is 100 % of MVC: level must be None or 1.0, got {level!r}; use "
                    "kind='RVC' for a submaximal reference"
                )
            level = 1.0
        elif level is not None:
            level = check_positive("level", level)
            if level > 1.0:
                raise ValueError(f"level is a fraction of MVC in (0, 1], got {level!r}")
        if self._kind is not None and (kind, level) != (self._kind, self._level):
            raise ValueError(
                f"All reference trials must be of one kind and level: earlier trials were "
                f"{self._kind} (level {self._level}), this one is {kind} (level {level})"
            )
        x = _check_trial(self, block, "reference")
        if x.shape[1] < self._settle + self._ref_window:
            raise ValueError(
                f"reference trial too short: {x.shape[1] / self.sfreq:.2f} s; it needs at "
                f"least {(self._settle + self._ref_window) / self.sfreq:.2f} s"
            )
        y = self._filtered(x)
        csum = np.concatenate([np.zeros((self.n_channels, 1)), np.cumsum(y**2, axis=1)], axis=1)
        w = self._ref_window
        moving = np.sqrt(np.maximum((csum[:, w:] - csum[:, :-w]) / w, 0.0))
        value = moving.max(axis=1) if kind == "MVC" else np.median(moving, axis=1)
        self._ref_values.append(value)
        self._kind, self._level = kind, level
        self._n_ref += x.shape[1]

    def result(self) -> Calibration:
        """Check the trials and return the calibration.

        Returns
        -------
        calibration : Calibration
            Noise floor, resting tone and reference per channel.

        Raises
        ------
        ValueError
            With an explanation, if rest or reference is missing or too short, or the
            reference is not clearly above rest on some channel.
        """
        if not self._rest_rms:
            raise ValueError(
                f"No rest recorded: call add_rest() with at least {self.min_rest_s:g} s of "
                "the wearer relaxed (lying, or sitting supported) before the reference "
                "contraction"
            )
        if self.rest_s < self.min_rest_s - 1e-9:
            raise ValueError(
                f"Rest recording too short: {self.rest_s:.1f} s recorded, at least "
                f"{self.min_rest_s:g} s are needed (add more with add_rest())"
            )
        if not self._ref_values or self._kind is None:
            raise ValueError(
                "No reference contraction recorded: call add_reference() with at least "
                f"{self.min_reference_s:g} s of a maximal (kind='MVC') or submaximal "
                "(kind='RVC') back extension"
            )
        if self.reference_s < self.min_reference_s - 1e-9:
            raise ValueError(
                f"Reference contraction too short: {self.reference_s:.1f} s recorded, at "
                f"least {self.min_reference_s:g} s are needed"
            )
        rest_rms = np.concatenate(self._rest_rms, axis=1)
        noise = np.percentile(rest_rms, self.noise_percentile, axis=1)
        rest = np.median(rest_rms, axis=1)
        values = np.stack(self._ref_values, axis=0)
        ref = values.max(axis=0) if self._kind == "MVC" else values.mean(axis=0)
        low = np.flatnonzero(ref < self.min_reference_ratio * rest)
        if low.size:
            detail = "; ".join(
                f"{self.ch_names[c]}: reference contraction RMS {_uv(ref[c])} is not above "
                f"rest {_uv(rest[c])}"
                for c in low
            )
            raise ValueError(
                f"{detail} (the reference must reach at least {self.min_reference_ratio:g} "
                "times the rest RMS): was the muscle contracted? Check the electrodes and "
                "repeat the reference contraction"
            )
        cal = Calibration(
            sfreq=self.sfreq,
            l_freq=self.l_freq,
            h_freq=self.h_freq,
            mains_freq=self.mains_freq,
            noise_rms_v=tuple(noise.tolist()),
            rest_rms_v=tuple(rest.tolist()),
            reference_rms_v=tuple(ref.tolist()),
            reference_kind=self._kind,
            reference_level=self._level,
            reference_window_s=self._ref_window / self.sfreq,
            n_rest_times=self._n_rest,
            n_reference_times=self._n_ref,
        )
        logger.info(
            "Calibration: noise %s, rest %s, %s %s",
            [_uv(v) for v in cal.noise_rms_v],
            [_uv(v) for v in cal.rest_rms_v],
            cal.reference_kind,
            [_uv(v) for v in cal.reference_rms_v],
        )
        return cal


class Normaliser:
    """Express EMG amplitude as a percentage of the reference contraction.

    Parameters
    ----------
    calibration : Calibration | None
        The wearer's calibration. Without one, amplitudes stay in µV, labelled
        ``calibrated=False`` (see Notes).
    n_channels : int | None
        Number of channels; needed only without a calibration and without
        ``noise_rms_v``.
    noise_rms_v : array-like of float, shape (n_channels,) | None
        Noise floor to remove (V RMS), overriding the calibration's; e.g. the running
        noise floor of :class:`dsp.quality.SignalQuality` when electrode noise has changed
        since calibration. Default: the calibration's ``noise_rms_v``, or none (0) without
        a calibration.

    Attributes
    ----------
    calibrated : bool
        Whether outputs are relative to a measured reference.
    unit : str
        ``"%MVC"``, ``"%RVC"`` or ``"uV"`` (uncalibrated).

    Notes
    -----
    ``normalise(rms) = 100 * sqrt(max(rms**2 - noise**2, 0)) / sqrt(ref**2 - noise_cal**2)``:
    additive noise is uncorrelated with the EMG, so powers subtract (Clancy et al. 2002);
    the reference is corrected with the calibration-time noise it was recorded with. The
    input amplitude must be measured in the calibration's band (``l_freq``-``h_freq``, with
    the same notch).

    Why no population-default MVC: lumbar erector spinae MVC amplitudes range from about
    100 to over 1000 µV RMS between people and electrode sites (skin, subcutaneous fat,
    inter-electrode distance), so a default would be wrong by a factor of 2-5 while looking
    like a calibrated %MVC. Uncalibrated output is therefore plain noise-corrected µV.

    An RVC with a known level gives an estimate of %MVC as ``%RVC * reference_level``,
    assuming amplitude proportional to force, which holds only roughly for the trunk
    extensors (Burden 2010); it is left to the caller.
    """

    def __init__(
        self,
        calibration: Calibration | None = None,
        *,
        n_channels: int | None = None,
        noise_rms_v: ArrayLike | None = None,
    ) -> None:
        if calibration is not None and not isinstance(calibration, Calibration):
            raise TypeError(
                f"calibration must be a Calibration or None, got {type(calibration).__name__}"
            )
        self.calibration = calibration
        if n_channels is not None and (
            isinstance(n_channels, bool) or not isinstance(n_channels, int) or n_channels < 1
        ):
            raise ValueError(f"n_channels must be a positive integer, got {n_channels!r}")
        if calibration is not None:
            if n_channels is not None and n_channels != calibration.n_channels:
                raise ValueError(
                    f"n_channels={n_channels} does not match the calibration's "
                    f"{calibration.n_channels} channels"
                )
            n_channels = calibration.n_channels
        if noise_rms_v is not None:
            noise = np.asarray(_as_float_tuple("noise_rms_v", noise_rms_v))
            if n_channels is not None and noise.size != n_channels:
                raise ValueError(f"noise_rms_v must have {n_channels} values, got {noise.size}")
            n_channels = noise.size
        elif calibration is not None:
            noise = np.asarray(calibration.noise_rms_v)
        elif n_channels is not None:
            noise = np.zeros(n_channels)
        else:
            raise ValueError("n_channels is needed without a calibration or noise_rms_v")
        self.n_channels: int = int(n_channels) if n_channels is not None else noise.size
        self.noise_rms_v: NDArray[np.float64] = noise
        self.noise_rms_v.setflags(write=False)
        self.calibrated = calibration is not None
        if calibration is None:
            self.unit = "uV"
            self._scale = np.full(self.n_channels, 1.0 / _UV)
        else:
            self.unit = calibration.unit
            self._scale = 100.0 / np.asarray(calibration.reference_corrected_v)

    def __repr__(self) -> str:
        return (
            f"<Normaliser | {self.n_channels} channels, unit {self.unit!r}, "
            f"calibrated={self.calibrated}>"
        )

    def normalise(
        self, rms_v: NDArray[np.float64], *, noise_rms_v: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Noise-correct and normalise amplitudes.

        Parameters
        ----------
        rms_v : ndarray of float, shape (n_channels, n_times)
            Amplitude (RMS, V) per channel in the calibration's band. NaN (a gap) stays
            NaN; negative values are refused.
        noise_rms_v : array-like of float, shape (n_channels,) | None
            Noise floor for this call (V RMS), overriding the normaliser's.

        Returns
        -------
        ndarray of float64, shape (n_channels, n_times)
            Amplitude in :attr:`unit` (``%MVC``/``%RVC``, or µV when uncalibrated).
        """
        x = check_signal(rms_v, name="rms_v", n_channels=self.n_channels, allow_nan=True)
        if np.any(x < 0):
            raise ValueError("rms_v must be an amplitude (RMS >= 0 V); got negative values")
        if noise_rms_v is None:
            noise = self.noise_rms_v
        else:
            noise = np.asarray(_as_float_tuple("noise_rms_v", noise_rms_v))
            if noise.size != self.n_channels:
                raise ValueError(
                    f"noise_rms_v must have {self.n_channels} values, got {noise.size}"
                )
        power = x**2 - (noise**2)[:, None]
        # np.maximum propagates NaN (a gap stays a gap).
        out: NDArray[np.float64] = np.sqrt(np.maximum(power, 0.0)) * self._scale[:, None]
        return out
