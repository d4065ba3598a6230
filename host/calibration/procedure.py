"""The guided calibration procedure: a state machine timed by samples, not by a clock.

The wearer first relaxes (default 10 s), then performs ``n_trials`` reference
contractions on cue (default 3 x 5 s, 10 s of rest from one "release" to the next "go"),
each announced by a countdown. :class:`CalibrationProcedure` is fed the EMG as it arrives
and says what to tell the wearer (:class:`Prompt`) at exact sample indices; at the end it
hands the rest and the trials to :class:`dsp.calibration.CalibrationRecorder` and returns
its :class:`~dsp.calibration.Calibration`.

Time line of the default plan (seconds from the first sample; ``k`` = 1, 2, 3)::

    0        relax             rest recorded from 0 to 10 s
    10       trial 1: "3", 11 "2", 12 "1"
    13       "go"              trial 1 recorded from 13 to 18 s
    18       "release"         then 7 s of rest
    25       trial 2: "3" ...  "go" at 28, "release" at 33
    40       trial 3: "3" ...  "go" at 43, "release" and "calibration complete" at 48

A prompt due at sample ``s`` is returned by the call that brings the samples received to
``s`` (the opening prompt, at 0, by :meth:`CalibrationProcedure.start` or the first call),
so what is said, and when, does not depend on how the stream is cut into blocks.

Gaps (a jump of ``first_sample``, NaN columns, or :meth:`CalibrationProcedure.gap`) never
enter a recording: a gap during the rest starts the rest again; a gap during a trial (or
its countdown, or the rest before it) discards that trial, and it is repeated after a full
rest. A trial the recorder rejects (clipping) is repeated the same way. After
``max_interruptions`` such repeats the procedure fails with a message saying what to check.

References: Burden A (2010) How should we normalize electromyograms obtained from healthy
participants? What we have learned from over 25 years of research. J Electromyogr
Kinesiol 20(6):1023-1035 (reference contractions, repeated maximal efforts with rest in
between). Konrad P (2005) The ABC of EMG: a practical introduction to kinesiological
electromyography. Noraxon (repeated maximal efforts of a few seconds).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dsp.calibration import REFERENCE_KINDS, Calibration, CalibrationRecorder
from dsp.filters import DEFAULT_H_FREQ
from dsp.mains import MainsDetector
from host.analysis.engine import H_FREQ_FRACTION
from host.errors import ConfigError, SpasmwatchError

__all__ = [
    "MIN_CONTRACT_S",
    "MIN_REST_S",
    "PHASES",
    "PROMPT_KINDS",
    "CalibrationError",
    "CalibrationPlan",
    "CalibrationProcedure",
    "Prompt",
]

logger = logging.getLogger(__name__)

#: Phases of the procedure: the rest recording, the rest before a trial, its countdown,
#: the contraction, and the two ends.
PHASES: Final = ("rest", "wait", "prepare", "contract", "done", "failed")
#: Kinds of :class:`Prompt`.
PROMPT_KINDS: Final = ("relax", "ready", "count", "go", "release", "repeat", "done", "failed")
#: Shortest rest recording, s (the recorder's ``min_rest_s``).
MIN_REST_S: Final = 5.0
#: Shortest contraction trial, s (the recorder's ``min_reference_s``).
MIN_CONTRACT_S: Final = 1.0
_RECORDED: Final = ("rest", "contract")


class CalibrationError(SpasmwatchError, ValueError):
    """The calibration could not be completed; the message says what to do."""


def _number(name: str, value: Any, minimum: float, unit: str = "s") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ConfigError(f"{name} must be a number, got {value!r} instead")
    out = float(value)
    if not (math.isfinite(out) and out >= minimum):
        raise ConfigError(f"{name} must be at least {minimum:g} {unit}, got {value!r} instead")
    return out


def _count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r} instead")
    return int(value)


@dataclass(frozen=True)
class CalibrationPlan:
    """What the wearer is asked to do, and for how long.

    Parameters
    ----------
    rest_s : float
        Rest recorded first, s (at least :data:`MIN_REST_S`).
    n_trials : int
        Reference contractions.
    contract_s : float
        Length of each contraction, from "go" to "release", s (at least
        :data:`MIN_CONTRACT_S`).
    between_s : float
        Rest from one "release" to the next "go", countdown included, s.
    countdown_s : int
        Seconds counted down ("3", "2", "1") before each "go"; 0 for none.
    kind : {"MVC", "RVC"}
        Maximal or submaximal reference voluntary contraction.
    level : float | None
        For an RVC, the level asked for as a fraction of MVC (e.g. 0.4), or None when
        the reference is a fixed task (a Biering-Sørensen hold). None for an MVC.
    max_interruptions : int
        Repeats (after a gap or a rejected trial) allowed before the procedure fails.

    Raises
    ------
    ConfigError
        If a value is out of range.
    """

    rest_s: float = 10.0
    n_trials: int = 3
    contract_s: float = 5.0
    between_s: float = 10.0
    countdown_s: int = 3
    kind: str = "MVC"
    level: float | None = None
    max_interruptions: int = 3

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "rest_s", _number("rest_s", self.rest_s, MIN_REST_S))
        set_(self, "n_trials", _count("n_trials", self.n_trials, 1))
        set_(self, "contract_s", _number("contract_s", self.contract_s, MIN_CONTRACT_S))
        set_(self, "countdown_s", _count("countdown_s", self.countdown_s, 0))
        set_(self, "between_s", _number("between_s", self.between_s, 0.0))
        if self.between_s < self.countdown_s:
            raise ConfigError(
                f"between_s ({self.between_s:g} s) must leave room for the countdown "
                f"(countdown_s = {self.countdown_s} s)"
            )
        set_(self, "max_interruptions", _count("max_interruptions", self.max_interruptions, 0))
        if self.kind not in REFERENCE_KINDS:
            raise ConfigError(
                f"Invalid value for the 'kind' parameter. Allowed values are "
                f"{', '.join(repr(k) for k in REFERENCE_KINDS)}, but got {self.kind!r} instead."
            )
        if self.kind == "MVC":
            if self.level is not None and self.level != 1.0:
                raise ConfigError(
                    f"An MVC is 100 % of MVC: level must be None, got {self.level!r}; use "
                    "kind='RVC' for a submaximal reference"
                )
            set_(self, "level", None)
        elif self.level is not None:
            level = _number("level", self.level, 0.0, unit="(fraction of MVC)")
            if not 0.0 < level <= 1.0:
                raise ConfigError(
                    f"level is a fraction of MVC in (0, 1], got {self.level!r} instead"
                )
            set_(self, "level", level)

    @property
    def duration_s(self) -> float:
        """Length of the procedure without interruptions, s."""
        trial = self.countdown_s + self.contract_s
        return self.rest_s + trial + (self.n_trials - 1) * (self.between_s + self.contract_s)


@dataclass(frozen=True)
class Prompt:
    """One thing to tell the wearer, at one sample.

    Attributes
    ----------
    sample : int
        Sample index on the procedure's time line (0: the first sample received).
    time_s : float
        ``sample / sfreq``.
    kind : str
        One of :data:`PROMPT_KINDS`: ``relax`` (rest starts), ``ready`` (a trial's
        countdown starts), ``count`` (the next number), ``go``, ``release``, ``repeat``
        (after a gap or a rejected recording), ``done``, ``failed``.
    text : str
        The sentence to show or say.
    phase : str
        The phase the procedure is in from this prompt on (one of :data:`PHASES`).
    trial : int | None
        The trial it concerns (1-based), or None.
    """

    sample: int
    time_s: float
    kind: str
    text: str
    phase: str
    trial: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the prompt as a JSON-ready dictionary."""
        return {
            "sample": self.sample,
            "time_s": round(self.time_s, 6),
            "kind": self.kind,
            "text": self.text,
            "phase": self.phase,
            "trial": self.trial,
        }


class CalibrationProcedure:
    """Guide a wearer through rest and reference contractions; return the calibration.

    Parameters
    ----------
    sfreq : float
        EMG rate, Hz.
    n_channels : int
        EMG channels.
    plan : CalibrationPlan | None
        Timing and kind of reference; the default plan when None.
    clip_level_v : float | None
        Full scale of the front end at the electrodes, V (trials that clip are repeated).
    h_freq : float | None
        Upper edge of the amplitude band, Hz; None: the live analysis band (450 Hz or
        0.4 ``sfreq``, whichever is lower), so calibrated and live amplitudes match.
    mains_freq : None | 50 | 60
        Mains notch for the amplitudes; None detects it from the rest recording
        (:class:`dsp.mains.MainsDetector`), as the live analysis does from the signal.
    ch_names : sequence of str | None
        Channel names for messages (default ``left``/``right`` for two channels).

    Attributes
    ----------
    prompts : list of Prompt
        Every prompt returned so far.
    interruptions : int
        Gaps and rejected recordings so far.

    Notes
    -----
    Feed every EMG block in order with :meth:`process` (``first_sample`` counts samples
    on the stream's time line; a jump forward is a gap, an overlap is dropped) and report
    gaps the stream announces with :meth:`gap`. The recordings are cut on sample indices,
    so the calibration does not depend on the block sizes either. See the module notes for
    the time line and how gaps are handled.

    Examples
    --------
    >>> import numpy as np
    >>> proc = CalibrationProcedure(1000.0, 2)
    >>> [p.kind for p in proc.start()]
    ['relax']
    >>> proc.plan.duration_s
    48.0
    """

    def __init__(
        self,
        sfreq: float,
        n_channels: int,
        *,
        plan: CalibrationPlan | None = None,
        clip_level_v: float | None = None,
        h_freq: float | None = None,
        mains_freq: float | None = None,
        ch_names: Sequence[str] | None = None,
    ) -> None:
        self.sfreq = _number("sfreq", sfreq, 0.0, unit="Hz")
        if self.sfreq <= 0.0:
            raise ConfigError(f"sfreq must be > 0 Hz, got {sfreq!r} instead")
        self.n_channels = _count("n_channels", n_channels, 1)
        if plan is not None and not isinstance(plan, CalibrationPlan):
            raise ConfigError(f"plan must be a CalibrationPlan, got {type(plan).__name__}")
        self.plan = plan or CalibrationPlan()
        self.h_freq = (
            min(DEFAULT_H_FREQ, H_FREQ_FRACTION * self.sfreq) if h_freq is None else h_freq
        )
        self.clip_level_v = clip_level_v
        self._fixed_mains = mains_freq
        self.ch_names = None if ch_names is None else tuple(ch_names)
        # Build one recorder now, so a bad rate, band or name list fails before any prompt.
        self._new_recorder(mains_freq)
        p = self.plan
        self._n_rest = self._samples(p.rest_s)
        self._n_contract = self._samples(p.contract_s)
        self._n_prepare = self._samples(p.countdown_s)
        self._n_wait = self._samples(p.between_s) - self._n_prepare
        self.reset()

    # ------------------------------------------------------------------ state

    def reset(self) -> None:
        """Forget everything and wait for the first sample again."""
        self.prompts: list[Prompt] = []
        self.interruptions = 0
        self._reasons: list[str] = []
        self._pos = 0
        self._origin: int | None = None
        self._started = False
        self._phase = "rest"
        self._phase_end = 0
        self._trial = 0  # 0-based index of the trial under way or next
        self._pending: list[Prompt] = []
        self._buffer: list[NDArray[np.float64]] = []
        self._gap_n = 0
        self._gap_reason: str | None = None
        self._gap_pending = False
        self._recorder: CalibrationRecorder | None = None
        self._calibration: Calibration | None = None
        self._error: str | None = None
        self._mains: float | None = None

    @property
    def phase(self) -> str:
        """The current phase (one of :data:`PHASES`)."""
        return self._phase

    @property
    def trial(self) -> int | None:
        """The trial under way or next (1-based); None during the first rest and at the end."""
        if self._phase in ("rest", "done", "failed"):
            return None
        return self._trial + 1

    @property
    def finished(self) -> bool:
        """True once the procedure has completed or failed."""
        return self._phase in ("done", "failed")

    @property
    def failed(self) -> bool:
        """True if the procedure failed (:meth:`result` raises the reason)."""
        return self._phase == "failed"

    @property
    def n_times(self) -> int:
        """Sample times received so far (gaps included)."""
        return self._pos + self._gap_n

    @property
    def mains_freq(self) -> float | None:
        """Mains frequency notched in the calibration (known once the rest is recorded)."""
        return self._mains

    @property
    def remaining_s(self) -> float:
        """Signal still needed to finish without further interruptions, s."""
        if self.finished:
            return 0.0
        n, k = self.plan.n_trials, self._trial
        cycle = self._n_wait + self._n_prepare + self._n_contract
        left = self._phase_end - self._pos if self._started else self._n_rest
        if self._phase == "rest":
            left += self._n_prepare + self._n_contract + (n - 1) * cycle
        elif self._phase == "wait":
            left += self._n_prepare + self._n_contract + (n - 1 - k) * cycle
        elif self._phase == "prepare":
            left += self._n_contract + (n - 1 - k) * cycle
        else:
            left += (n - 1 - k) * cycle
        return left / self.sfreq

    # ------------------------------------------------------------------ input

    def start(self) -> list[Prompt]:
        """Begin (if not yet begun) and return the prompts due now: the first "relax".

        Returns
        -------
        list of Prompt
        """
        out: list[Prompt] = []
        self._begin(out)
        return out

    def process(self, volts: ArrayLike, first_sample: int | None = None) -> list[Prompt]:
        """Take the next EMG samples and return the prompts they make due.

        Parameters
        ----------
        volts : array-like of float, shape (n_channels, n_times)
            Raw EMG, V. NaN columns are gaps.
        first_sample : int | None
            Index of the first column on the stream's (unwrapped) time line; None: it
            follows the previous block. A jump forward is a gap; columns before the
            expected index (already received) are dropped.

        Returns
        -------
        list of Prompt
            In order of their samples (:attr:`Prompt.sample`).

        Raises
        ------
        ConfigError
            If the block does not have ``n_channels`` rows.
        """
        x = np.asarray(volts, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != self.n_channels:
            raise ConfigError(
                f"EMG block must have shape ({self.n_channels}, n_times), got {x.shape}"
            )
        out: list[Prompt] = []
        self._begin(out)
        if first_sample is not None:
            first = int(first_sample)
            expected = self.n_times
            if self._origin is None:
                self._origin = first - expected
            rel = first - self._origin
            if rel > expected:
                self._add_gap(rel - expected, None)
            elif rel < expected:
                cut = expected - rel
                if cut >= x.shape[1]:
                    return out
                x = x[:, cut:]
        bad: NDArray[np.bool_] = np.asarray(~np.isfinite(x).all(axis=0), dtype=bool)
        if not bad.any():
            self._feed(x, out)
            return out
        edges = np.flatnonzero(np.diff(bad.astype(np.int8))) + 1
        bounds = [0, *edges.tolist(), x.shape[1]]
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            if bad[lo]:
                self._add_gap(hi - lo, None)
            else:
                self._feed(x[:, lo:hi], out)
        return out

    def gap(self, n_times: int, reason: str | None = None) -> list[Prompt]:
        """Report ``n_times`` missing samples at the current position (or an interruption).

        The gap is acted on when the signal resumes (the next samples), so a gap reported
        in pieces counts once.

        Parameters
        ----------
        n_times : int
            Missing sample times (0 for an interruption that loses no samples, such as a
            device restart).
        reason : str | None
            What happened, for the prompt (default "Signal lost for X s").

        Returns
        -------
        list of Prompt
            Always empty; the prompts come with the next samples.
        """
        n = _count("n_times", n_times, 0)
        self._add_gap(n, reason)
        return []

    def result(self) -> Calibration:
        """Return the calibration.

        Returns
        -------
        Calibration

        Raises
        ------
        CalibrationError
            If the procedure failed (the message says why and what to do) or has not
            finished.
        """
        if self._phase == "failed":
            assert self._error is not None
            raise CalibrationError(self._error)
        if self._calibration is None:
            where = "the rest" if self.trial is None else f"trial {self.trial}"
            raise CalibrationError(
                f"The calibration has not finished: it stopped during {where}, with "
                f"{self.remaining_s:.1f} s of signal still needed. Run it again and keep the "
                "wearable connected until 'calibration complete'."
            )
        return self._calibration

    # ------------------------------------------------------------------ internals

    def _samples(self, seconds: float) -> int:
        return int(round(seconds * self.sfreq))

    def _new_recorder(self, mains_freq: float | None) -> CalibrationRecorder:
        try:
            return CalibrationRecorder(
                self.sfreq,
                self.n_channels,
                h_freq=self.h_freq,
                mains_freq=mains_freq,
                clip_level_v=self.clip_level_v,
                min_rest_s=MIN_REST_S,
                min_reference_s=MIN_CONTRACT_S,
                ch_names=self.ch_names,
            )
        except ValueError as err:
            raise ConfigError(f"cannot calibrate this signal: {err}") from err

    def _begin(self, out: list[Prompt]) -> None:
        if self._started:
            return
        self._started = True
        self._enter("rest", out)

    def _prompt(
        self, kind: str, text: str, *, sample: int | None = None, trial: int | None = None
    ) -> Prompt:
        at = self._pos if sample is None else sample
        return Prompt(at, at / self.sfreq, kind, text, self._phase, trial)

    def _emit(self, out: list[Prompt]) -> None:
        while self._pending and self._pending[0].sample <= self._pos:
            prompt = self._pending.pop(0)
            self.prompts.append(prompt)
            out.append(prompt)

    def _say(self, out: list[Prompt], prompt: Prompt) -> None:
        self._pending.append(prompt)
        self._emit(out)

    def _enter(self, phase: str, out: list[Prompt], note: str | None = None) -> None:
        """Start ``phase`` at the current sample; zero-length phases are passed through."""
        self._phase = phase
        self._buffer = []
        length = {
            "rest": self._n_rest,
            "wait": self._n_wait,
            "prepare": self._n_prepare,
            "contract": self._n_contract,
        }[phase]
        self._phase_end = self._pos + length
        k = self._trial + 1
        if phase == "rest":
            p = self.plan
            text = note or (
                "Relax: lie or sit supported, let your back muscles go loose and keep still "
                f"({p.rest_s:g} s)."
            )
            self._pending.append(self._prompt("repeat" if note else "relax", text))
        elif phase == "prepare":
            count = self.plan.countdown_s
            for i in range(count):
                at = self._pos + self._samples(i)
                if i == 0:
                    text = (
                        f"Trial {k} of {self.plan.n_trials}: get ready to {self._task()} — {count}"
                    )
                    self._pending.append(self._prompt("ready", text, sample=at, trial=k))
                else:
                    self._pending.append(self._prompt("count", str(count - i), sample=at, trial=k))
        elif phase == "contract":
            text = f"Go! {self._task(go=True)} ({self.plan.contract_s:g} s)."
            self._pending.append(self._prompt("go", text, trial=k))
        self._emit(out)
        if length == 0:
            self._complete(out)

    def _task(self, *, go: bool = False) -> str:
        p = self.plan
        if p.kind == "MVC":
            return "Contract as hard as you can and hold" if go else "contract as hard as you can"
        if p.level is not None:
            pct = f"{100 * p.level:g} %"
            if go:
                return f"Contract to about {pct} of your maximum and hold it steady"
            return f"contract to about {pct} of your maximum"
        return "Hold the reference contraction steady" if go else "hold the reference contraction"

    def _feed(self, x: NDArray[np.float64], out: list[Prompt]) -> None:
        if x.shape[1] == 0:
            return
        if self._gap_pending:
            self._flush_gap(out)
        i, m = 0, x.shape[1]
        while i < m and not self.finished:
            take = min(m - i, self._phase_end - self._pos)
            if self._phase in _RECORDED:
                self._buffer.append(x[:, i : i + take])
            self._pos += take
            i += take
            self._emit(out)
            if self._pos == self._phase_end:
                self._complete(out)
        self._pos += m - i  # after the end: counted, not used

    def _add_gap(self, n: int, reason: str | None) -> None:
        if self.finished:
            self._pos += n
            return
        self._gap_n += n
        self._gap_pending = True
        if reason is not None:
            self._gap_reason = reason

    def _flush_gap(self, out: list[Prompt]) -> None:
        n, reason = self._gap_n, self._gap_reason
        self._pos += n
        self._gap_n, self._gap_reason, self._gap_pending = 0, None, False
        what = reason or "Signal lost"
        if n:
            what += f" for {n / self.sfreq:.3g} s"
        if self._phase == "rest":
            where = "during the rest"
        elif self._phase == "contract":
            where = f"during trial {self._trial + 1}"
        else:
            where = f"before trial {self._trial + 1}"
        logger.info("calibration interrupted at sample %d: %s %s", self._pos, what, where)
        self._interrupt(f"{what} {where}", out)

    def _interrupt(self, what: str, out: list[Prompt]) -> None:
        """Restart the current step after a gap or a rejected recording (or fail)."""
        self._pending.clear()
        self._buffer = []
        self.interruptions += 1
        self._reasons.append(what)
        p = self.plan
        if self.interruptions > p.max_interruptions:
            self._fail(
                f"The calibration was interrupted {self.interruptions} times, more than the "
                f"{p.max_interruptions} allowed ({'; '.join(self._reasons)}). Check the link "
                "to the wearable (distance, battery) and the electrodes, then run the "
                "calibration again.",
                out,
            )
            return
        if self._phase == "rest":
            note = f"{what}. Keep relaxing: the rest recording starts again ({p.rest_s:g} s)."
            self._enter("rest", out, note=note)
            return
        k = self._trial + 1
        if self._phase == "contract":
            text = f"{what}. Release and relax: trial {k} is repeated in {p.between_s:g} s."
        else:
            text = f"{what}. Keep relaxing: trial {k} starts in {p.between_s:g} s."
        self._phase = "wait"
        self._say(out, self._prompt("repeat", text, trial=k))
        self._enter("wait", out)

    def _complete(self, out: list[Prompt]) -> None:
        """Record the phase whose samples are all in, and move on to the next."""
        phase, p = self._phase, self.plan
        if phase == "rest":
            rest = np.concatenate(self._buffer, axis=1)
            mains = self._fixed_mains if self._fixed_mains is not None else self._detect(rest)
            recorder = self._new_recorder(mains)
            try:
                recorder.add_rest(rest)
            except ValueError as err:
                self._interrupt(f"Rest recording rejected: {err}", out)
                return
            self._recorder, self._mains = recorder, mains
            self._trial = 0
            self._enter("prepare", out)
        elif phase == "wait":
            self._enter("prepare", out)
        elif phase == "prepare":
            self._enter("contract", out)
        elif phase == "contract":
            assert self._recorder is not None
            k = self._trial + 1
            try:
                self._recorder.add_reference(
                    np.concatenate(self._buffer, axis=1), kind=p.kind, level=p.level
                )
            except ValueError as err:
                self._interrupt(f"Trial {k} rejected: {err}", out)
                return
            if k < p.n_trials:
                self._phase = "wait"
                text = f"Release and relax. Trial {k + 1} in {p.between_s:g} s."
                self._say(out, self._prompt("release", text, trial=k))
                self._trial += 1
                self._enter("wait", out)
                return
            self._finish(out, k)

    def _finish(self, out: list[Prompt], k: int) -> None:
        assert self._recorder is not None
        try:
            calibration = self._recorder.result()
        except ValueError as err:
            self._phase = "failed"
            self._say(out, self._prompt("release", "Release and relax.", trial=k))
            self._fail(f"Not enough contraction: {err}. {self._advice()}", out)
            return
        self._calibration = calibration
        self._phase = "done"
        self._say(out, self._prompt("release", "Release and relax.", trial=k))
        self._say(out, self._prompt("done", "Calibration complete."))

    def _advice(self) -> str:
        if self.plan.kind == "MVC":
            how = "contract your back as hard as you can until 'release'"
        else:
            how = "hold the reference contraction until 'release'"
        return f"Run the calibration again: relax completely during the rest and, on 'go', {how}."

    def _fail(self, message: str, out: list[Prompt]) -> None:
        self._phase = "failed"
        self._error = message
        self._pending.clear()
        self._buffer = []
        logger.warning("calibration failed: %s", message)
        self._say(out, self._prompt("failed", "Stop and relax: the calibration failed."))

    def _detect(self, rest: NDArray[np.float64]) -> float | None:
        """Mains frequency of the rest recording, or None (undecided, or rate too low)."""
        try:
            detector = MainsDetector(self.sfreq, self.n_channels)
        except ValueError:
            return None
        detector.process(rest)
        return detector.mains_freq
