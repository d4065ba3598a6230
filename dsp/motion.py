"""Trunk motion and posture from a lower-back 3-axis accelerometer, causal and streaming.

:class:`MotionTracker` turns acceleration in g, shape ``(3, n_times)``, into one
:class:`MotionFrames` summary per frame (0.1 s by default): the gravity estimate, the
body-acceleration magnitude, how fast the trunk rotates, its inclination and posture, and
an activity label (still, moving, walking) with the step cadence while walking. It is the
motion context of the spasm detector: a spasm usually strikes at rest or freezes movement,
while walking, lifting, bending, getting up and turning in bed come with trunk motion.

Everything that decides between still, moving and walking is invariant to how the sensor
is mounted (magnitudes, angles between gravity estimates, acceleration along gravity).
Only the posture *names* use the sensor axes of the spasmwatch belt: ``x`` up along the
spine, ``y`` to the wearer's left, ``z`` anterior (standing still reads ``(+1, 0, 0)`` g,
supine ``(0, 0, +1)``, prone ``(0, 0, -1)``, on the left side ``(0, -1, 0)``, on the right
side ``(0, +1, 0)``). A sensor mounted differently must be rotated into these axes first
for the posture names to be right.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import signal

from dsp._validation import check_block, check_positive, check_sfreq
from dsp.sosfilter import SosFilter

__all__ = [
    "ACTIVITIES",
    "BENT_MAX_DEG",
    "DEFAULT_CADENCE_RANGE_HZ",
    "DEFAULT_CADENCE_WINDOW_S",
    "DEFAULT_DYNAMIC_WINDOW_S",
    "DEFAULT_FRAME_S",
    "DEFAULT_GRAVITY_CUTOFF_HZ",
    "DEFAULT_MIN_STEP_REGULARITY",
    "DEFAULT_STILL_DYNAMIC_G",
    "DEFAULT_STILL_TILT_RATE_DEG_S",
    "DEFAULT_TILT_WINDOW_S",
    "DEFAULT_WALKING_MIN_G",
    "GRAVITY_RANGE_G",
    "LYING_MIN_DEG",
    "MIN_ACCEL_SFREQ",
    "POSTURES",
    "SIDE_ROLL_DEG",
    "UPRIGHT_MAX_DEG",
    "MotionFrames",
    "MotionTracker",
    "activity_name",
    "angle_between_deg",
    "posture_name",
]

#: Posture names; :attr:`MotionFrames.posture` holds indices into this tuple.
POSTURES: Final[tuple[str, ...]] = (
    "unknown",
    "upright",
    "bent",
    "reclined",
    "supine",
    "prone",
    "left_side",
    "right_side",
)
#: Activity names; :attr:`MotionFrames.activity` holds indices into this tuple.
ACTIVITIES: Final[tuple[str, ...]] = ("unknown", "still", "moving", "walking")

_UNKNOWN: Final = 0
_UPRIGHT: Final = 1
_BENT: Final = 2
_RECLINED: Final = 3
_SUPINE: Final = 4
_PRONE: Final = 5
_LEFT_SIDE: Final = 6
_RIGHT_SIDE: Final = 7
_STILL: Final = 1
_MOVING: Final = 2
_WALKING: Final = 3

#: Frame length, s: 10 summaries per second, finer than any trunk movement needs.
DEFAULT_FRAME_S: Final = 0.1
#: Cut-off of the gravity low-pass, Hz (Karantonis et al. 2006 and Mathie et al. 2004 use
#: 0.25 Hz to split gravity from body acceleration at the waist).
DEFAULT_GRAVITY_CUTOFF_HZ: Final = 0.3
#: Trailing window of the body-acceleration RMS, s (1 s windows are usual for telling rest
#: from activity at the waist, e.g. Karantonis et al. 2006).
DEFAULT_DYNAMIC_WINDOW_S: Final = 1.0
#: Trailing window over which the tilt rate is averaged, s.
DEFAULT_TILT_WINDOW_S: Final = 0.5
#: Trailing window of the step autocorrelation, s (at least two strides of slow gait).
DEFAULT_CADENCE_WINDOW_S: Final = 4.0
#: Still below this body-acceleration RMS, g: above quiet standing sway (well under
#: 0.02 g RMS at the lower trunk) and the sensor noise of sitting or lying (about 0.005 g),
#: below a third of the trunk acceleration of ordinary walking (0.1-0.3 g RMS).
DEFAULT_STILL_DYNAMIC_G: Final = 0.03
#: Still below this tilt rate, deg/s: a 90 degree posture change spread over 18 s.
DEFAULT_STILL_TILT_RATE_DEG_S: Final = 5.0
#: Walking needs at least this body-acceleration RMS, g (half the lower end of walking),
#: over the last second and along gravity over the cadence window.
DEFAULT_WALKING_MIN_G: Final = 0.05
#: Step frequencies accepted as walking, steps/s (72-156 steps/min: slow to fast gait).
DEFAULT_CADENCE_RANGE_HZ: Final[tuple[float, float]] = (1.2, 2.6)
#: Lowest autocorrelation at the step lag accepted as walking (step regularity,
#: Moe-Nilssen & Helbostad 2004).
DEFAULT_MIN_STEP_REGULARITY: Final = 0.5
#: Largest inclination (gravity from +x) still called upright, degrees.
UPRIGHT_MAX_DEG: Final = 30.0
#: Largest inclination of a forward lean called bent (beyond it: prone), degrees.
BENT_MAX_DEG: Final = 70.0
#: Smallest inclination of a backward or sideways lean called lying, degrees (below it and
#: above :data:`UPRIGHT_MAX_DEG`: reclined backwards, unknown sideways).
LYING_MIN_DEG: Final = 60.0
#: Half-width of the roll sectors around supine, left side, prone and right side, degrees.
SIDE_ROLL_DEG: Final = 45.0
#: Gravity estimates outside this magnitude range (g) give posture ``"unknown"``.
GRAVITY_RANGE_G: Final[tuple[float, float]] = (0.5, 1.5)
#: Lowest accelerometer sampling rate accepted, Hz.
MIN_ACCEL_SFREQ: Final = 10.0

#: Order of the Butterworth gravity low-pass (one second-order section).
_GRAVITY_ORDER: Final = 2
#: The gravity estimate counts as settled once a step response stays within this fraction.
_SETTLE_TOLERANCE: Final = 0.05
#: Body acceleration along gravity is averaged down to at least this rate for the step
#: autocorrelation, Hz (the step fundamental and its first harmonic stay below Nyquist).
_CADENCE_MIN_RATE_HZ: Final = 20.0
#: Frames handled per internal pass; bounds temporary memory. Output does not depend on it.
_MAX_PASS_FRAMES: Final = 4096
_TINY: Final = float(np.finfo(np.float64).tiny)


def posture_name(code: int | np.integer[Any]) -> str:
    """Return the name of a posture code.

    Parameters
    ----------
    code : int
        Index into :data:`POSTURES` (a Python or numpy integer, e.g. an element of
        :attr:`MotionFrames.posture`).

    Returns
    -------
    str
        The posture name.

    Raises
    ------
    TypeError
        If ``code`` is not an integer.
    ValueError
        If ``code`` is not a valid index.
    """
    return _name(code, POSTURES, "posture")


def activity_name(code: int | np.integer[Any]) -> str:
    """Return the name of an activity code.

    Parameters
    ----------
    code : int
        Index into :data:`ACTIVITIES` (a Python or numpy integer, e.g. an element of
        :attr:`MotionFrames.activity`).

    Returns
    -------
    str
        The activity name.

    Raises
    ------
    TypeError
        If ``code`` is not an integer.
    ValueError
        If ``code`` is not a valid index.
    """
    return _name(code, ACTIVITIES, "activity")


def _name(code: Any, names: tuple[str, ...], what: str) -> str:
    if isinstance(code, bool) or not isinstance(code, int | np.integer):
        raise TypeError(f"{what} code must be an integer, got {type(code).__name__} ({code!r})")
    if not 0 <= int(code) < len(names):
        raise ValueError(
            f"{what} code must be in 0..{len(names) - 1} ({', '.join(names)}), got {code!r}"
        )
    return names[int(code)]


def angle_between_deg(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """Return the angle between 3-D vectors, in degrees.

    Parameters
    ----------
    a, b : array-like of float, shape (3, ...)
        Vectors along the first axis; the other axes broadcast against each other. They
        need not be unit vectors.

    Returns
    -------
    ndarray of float64, shape (...)
        Angles in [0, 180] degrees; NaN where either vector is zero or not finite.

    Raises
    ------
    ValueError
        If the first axis of ``a`` or ``b`` does not have length 3.

    Notes
    -----
    Computed as ``atan2(|a x b|, a . b)``, which stays accurate for nearly parallel and
    nearly opposite vectors, where ``arccos`` of the normalised dot product loses half of
    its significant digits.
    """
    va = np.asarray(a, dtype=np.float64)
    vb = np.asarray(b, dtype=np.float64)
    for name, v in (("a", va), ("b", vb)):
        if v.ndim == 0 or v.shape[0] != 3:
            raise ValueError(
                f"{name} must hold 3-D vectors along its first axis, shape (3, ...), got "
                f"shape {v.shape} instead"
            )
    ax, ay, az = va[0], va[1], va[2]
    bx, by, bz = vb[0], vb[1], vb[2]
    cross = np.sqrt((ay * bz - az * by) ** 2 + (az * bx - ax * bz) ** 2 + (ax * by - ay * bx) ** 2)
    dot = ax * bx + ay * by + az * bz
    degenerate = ((ax == 0) & (ay == 0) & (az == 0)) | ((bx == 0) & (by == 0) & (bz == 0))
    out = np.degrees(np.arctan2(cross, dot))
    return np.asarray(np.where(degenerate, np.nan, out), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class MotionFrames:
    """Trunk motion and posture summaries of consecutive frames.

    Frame ``k`` covers accelerometer samples ``[k * hop, (k + 1) * hop)`` counted from the
    first sample given to the tracker (since its last reset); its time is the *end* of
    that span, ``(k + 1) * frame_s`` seconds. Every value is causal: it uses samples up to
    the end of its frame only.

    Attributes
    ----------
    first_frame : int
        Index of the first frame held.
    frame_s : float
        Frame length, s.
    gravity : ndarray of float64, shape (3, n_frames)
        Low-passed acceleration at the end of each frame (the gravity estimate), g.
    dynamic_g : ndarray of float64, shape (n_frames,)
        RMS of ``|a - gravity|`` (the body-acceleration magnitude, orientation changes
        faster than the gravity low-pass included) over the trailing
        ``dynamic_window_s``, g.
    tilt_rate_deg_s : ndarray of float64, shape (n_frames,)
        Angular speed of the gravity direction (how fast the trunk rotates about any
        horizontal axis), averaged over the trailing ``tilt_window_s``, deg/s.
    inclination_deg : ndarray of float64, shape (n_frames,)
        Angle between gravity and the sensor's +x axis (0 upright, 90 lying), degrees.
    posture : ndarray of int8, shape (n_frames,)
        Indices into :data:`POSTURES`.
    activity : ndarray of int8, shape (n_frames,)
        Indices into :data:`ACTIVITIES`.
    cadence_hz : ndarray of float64, shape (n_frames,)
        Step frequency while walking, steps/s; NaN in every other frame.
    valid : ndarray of bool, shape (n_frames,)
        False in frames holding a NaN sample (a gap), during the warm-up after a gap or
        the start, and in the incomplete last frame returned by
        :meth:`MotionTracker.flush`. Invalid frames have posture and activity
        ``"unknown"`` and no cadence; their numbers are NaN in gaps and provisional during
        the warm-up.
    """

    first_frame: int
    frame_s: float
    gravity: NDArray[np.float64]
    dynamic_g: NDArray[np.float64]
    tilt_rate_deg_s: NDArray[np.float64]
    inclination_deg: NDArray[np.float64]
    posture: NDArray[np.int8]
    activity: NDArray[np.int8]
    cadence_hz: NDArray[np.float64]
    valid: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.valid.size)

    def time_s(self) -> NDArray[np.float64]:
        """Return the time of each frame (the end of its span), s from the first sample.

        Returns
        -------
        ndarray of float64, shape (n_frames,)
            ``(first_frame + arange(n_frames) + 1) * frame_s``.
        """
        index = self.first_frame + np.arange(len(self), dtype=np.float64) + 1.0
        return np.asarray(index * self.frame_s, dtype=np.float64)

    @classmethod
    def empty(cls, first_frame: int, frame_s: float) -> MotionFrames:
        """Return a summary holding no frame.

        Parameters
        ----------
        first_frame : int
            Index the next frame would have.
        frame_s : float
            Frame length, s.

        Returns
        -------
        MotionFrames
            Zero frames.
        """
        return _allocate(first_frame, frame_s, 0)

    @classmethod
    def concatenate(cls, parts: Sequence[MotionFrames]) -> MotionFrames:
        """Join consecutive summaries (as returned by successive calls) into one.

        Parameters
        ----------
        parts : sequence of MotionFrames
            At least one; each must start where the previous one ends, with the same
            ``frame_s``.

        Returns
        -------
        MotionFrames
            All frames, starting at ``parts[0].first_frame``.

        Raises
        ------
        ValueError
            If ``parts`` is empty or the parts are not consecutive.
        """
        if not parts:
            raise ValueError("parts must hold at least one MotionFrames, got none")
        expected = parts[0].first_frame
        for part in parts:
            if part.first_frame != expected or part.frame_s != parts[0].frame_s:
                raise ValueError(
                    f"parts must be consecutive with one frame_s: expected first_frame "
                    f"{expected} and frame_s {parts[0].frame_s}, got {part.first_frame} and "
                    f"{part.frame_s} instead"
                )
            expected += len(part)
        return MotionFrames(
            first_frame=parts[0].first_frame,
            frame_s=parts[0].frame_s,
            gravity=np.concatenate([p.gravity for p in parts], axis=1),
            dynamic_g=np.concatenate([p.dynamic_g for p in parts]),
            tilt_rate_deg_s=np.concatenate([p.tilt_rate_deg_s for p in parts]),
            inclination_deg=np.concatenate([p.inclination_deg for p in parts]),
            posture=np.concatenate([p.posture for p in parts]),
            activity=np.concatenate([p.activity for p in parts]),
            cadence_hz=np.concatenate([p.cadence_hz for p in parts]),
            valid=np.concatenate([p.valid for p in parts]),
        )


def _allocate(first_frame: int, frame_s: float, n: int) -> MotionFrames:
    """Return ``n`` invalid frames (NaN numbers, unknown codes) to be filled in place."""
    return MotionFrames(
        first_frame=first_frame,
        frame_s=frame_s,
        gravity=np.full((3, n), np.nan),
        dynamic_g=np.full(n, np.nan),
        tilt_rate_deg_s=np.full(n, np.nan),
        inclination_deg=np.full(n, np.nan),
        posture=np.zeros(n, dtype=np.int8),
        activity=np.zeros(n, dtype=np.int8),
        cadence_hz=np.full(n, np.nan),
        valid=np.zeros(n, dtype=bool),
    )


class MotionTracker:
    """Summarise trunk motion and posture from a lower-back accelerometer, frame by frame.

    Parameters
    ----------
    accel_sfreq : float
        Accelerometer sampling rate in Hz (at least :data:`MIN_ACCEL_SFREQ`).
    frame_s : float
        Requested frame length, s. The frame is ``hop = max(1, round(accel_sfreq *
        frame_s))`` samples; :attr:`frame_s` is the effective ``hop / accel_sfreq``.
    gravity_cutoff_hz : float
        -3 dB cut-off of the gravity low-pass (Butterworth, order 2), Hz.
    dynamic_window_s : float
        Trailing window of the body-acceleration RMS, s (rounded to whole frames).
    tilt_window_s : float
        Trailing window over which the tilt rate is averaged, s (whole frames).
    cadence_window_s : float
        Trailing window of the step autocorrelation, s (whole frames); must hold two steps
        at the slowest cadence.
    still_dynamic_g : float
        A frame is still when ``dynamic_g`` is below this (g) ...
    still_tilt_rate_deg_s : float
        ... and ``tilt_rate_deg_s`` is below this (deg/s).
    walking_min_g : float
        Least ``dynamic_g``, and least RMS of the vertical acceleration over the cadence
        window, of a walking frame, g.
    min_step_regularity : float
        Least autocorrelation at the step lag of a walking frame, in (0, 1).
    cadence_range_hz : tuple of float
        Step frequencies accepted as walking, ``(low, high)`` steps/s.

    Attributes
    ----------
    accel_sfreq : float
        Sampling rate, Hz.
    hop : int
        Samples per frame.
    frame_s : float
        Effective frame length, s.
    warmup_s : float
        Time from the first complete frame after a gap (or the start) to the first valid
        frame, s (see Notes).

    Notes
    -----
    **Gravity and body acceleration.** A low-pass at ``gravity_cutoff_hz`` = 0.3 Hz
    (Butterworth order 2, one SOS run by :class:`~dsp.sosfilter.SosFilter`) separates the
    gravity component of the acceleration from the body acceleration, the classic split of
    waist accelerometry (Veltink et al. 1996; Mathie et al. 2004; Karantonis et al. 2006
    use 0.25 Hz). The filter starts, at the start and after a gap, in the steady state of
    the mean of the first complete frame (not from zero, not from one noisy sample).
    ``dynamic_g`` is the RMS of ``|a - gravity|`` over the trailing ``dynamic_window_s``:
    the magnitude of the body-acceleration vector (Bouten et al. 1997 integrate its
    modulus), which also holds orientation changes faster than the low-pass follows.

    **Tilt rate and posture.** ``tilt_rate_deg_s`` is the angle swept by the gravity
    estimate between consecutive frame ends, divided by ``frame_s`` and averaged over
    ``tilt_window_s``; it follows rotations slower than the cut-off, late by the
    low-pass's group delay (0.75 s at 0.3 Hz). ``inclination_deg`` is the angle between
    the gravity estimate and +x (Karantonis et al. 2006 tell upright from lying by the
    same angle). The posture is read from a table: the roll about x, ``atan2(-y, z)``,
    picks one of four 90-degree sectors centred on supine (0), left side (90), prone
    (180) and right side (-90), and the inclination one of four bands:

    ==========  ==========  ==========  ==========  ==========
    sector      < 30        30 - 60     60 - 70     >= 70
    ==========  ==========  ==========  ==========  ==========
    supine      upright     reclined    supine      supine
    left side   upright     unknown     left_side   left_side
    prone       upright     bent        bent        prone
    right side  upright     unknown     right_side  right_side
    ==========  ==========  ==========  ==========  ==========

    (:data:`UPRIGHT_MAX_DEG`, :data:`LYING_MIN_DEG`, :data:`BENT_MAX_DEG`). Upright covers
    standing and sitting, which one trunk sensor cannot tell apart (Lyons et al. 2005 add
    a thigh sensor for that); a sideways lean of 30-60 degrees is neither upright nor
    lying; a forward bend beyond 70 degrees reads prone, which has the same trunk
    orientation: only duration and motion tell them apart. A gravity estimate outside
    :data:`GRAVITY_RANGE_G` (a fault, free fall) gives ``"unknown"``.

    **Activity.** ``still`` when ``dynamic_g < still_dynamic_g`` **and**
    ``tilt_rate_deg_s < still_tilt_rate_deg_s``. The 0.03 g threshold sits above quiet
    standing (postural sway, well under 0.02 g RMS at the lower trunk) and the sensor
    noise of sitting or lying (about 0.005 g), and below a third of ordinary walking
    (0.1-0.3 g RMS; trunk accelerometry of standing and walking: Moe-Nilssen 1998;
    Zijlstra & Hof 2003). 5 deg/s is a 90-degree posture change spread over 18 s.
    Otherwise ``walking`` when the trunk moves periodically at a step frequency, else
    ``moving``.

    The step rhythm is sought in the body acceleration along the gravity estimate (the
    vertical trunk acceleration, which peaks once per step: Zijlstra & Hof 2003),
    averaged down to about 20 Hz. Its normalised autocorrelation over the trailing
    ``cadence_window_s`` (Moe-Nilssen & Helbostad 2004; in real time: Yang et al. 2011)
    is computed as the correlation coefficient between the window and its copy ``lag``
    samples earlier. The step period is the first dominant peak: the first local maximum
    reaching ``min_step_regularity`` after the autocorrelation has first dropped below
    zero, refined by a parabola through its neighbours. Walking needs that period to be a
    step (``1 / lag`` within ``cadence_range_hz``), so a faster rhythm such as clonus at
    3-7 Hz, whose first peak comes earlier, is not walking even though its later peaks
    fall at step lags; it also needs gait-sized motion (``dynamic_g`` and the RMS of the
    vertical acceleration over the window both ``>= walking_min_g``) and a full cadence
    window since the last gap. ``cadence_hz`` is ``1 / lag``, NaN in any frame that is
    not walking.

    None of these decisions depends on the sensor's axis convention: magnitudes, angles
    between successive gravity estimates and the projection on the gravity estimate are
    unchanged by a rotation of the sensor. Posture names do depend on it.

    **Gaps and warm-up.** A frame holding any NaN sample is a gap: it is invalid and every
    state is reset, so the filter and the windows restart at the next complete finite
    frame (the finite samples of a frame holding a NaN are not used). Frames are valid
    again once the dynamic and tilt windows are full and the gravity low-pass has settled
    (its step response within 5 %), ``warmup_s`` after the start of that frame: 1.6 s with
    the defaults, so the first valid frame ends at most ``warmup_s + frame_s`` after the
    last NaN sample. Walking needs a full ``cadence_window_s`` (4 s) after the gap.

    **Latency.** Values at a frame's end use trailing windows: ``dynamic_g`` reacts to a
    jolt within a frame but holds it for ``dynamic_window_s``; the gravity estimate lags
    by the low-pass's group delay and overshoots by 4 %, so after a posture change the
    frames stay ``moving`` for about 2-3 s. Walking is recognised 1-4 s after the first
    steps, and its end is reported within ``dynamic_window_s``.

    **Cost.** Vectorised per block: one SOS pass over three channels, a few numpy passes
    per sample and about 20 multiply-adds per 20 Hz sample for the autocorrelation, plus a
    fixed cost of about 0.2 ms per call. The output does not depend on how the recording
    is split into blocks (bit-identical).

    References
    ----------
    Bouten CVC, Koekkoek KTM, Verduin M, Kodde R, Janssen JD (1997). A triaxial
    accelerometer and portable data processing unit for the assessment of daily physical
    activity. IEEE Trans Biomed Eng 44(3):136-147.

    Karantonis DM, Narayanan MR, Mathie M, Lovell NH, Celler BG (2006). Implementation of
    a real-time human movement classifier using a triaxial accelerometer for ambulatory
    monitoring. IEEE Trans Inf Technol Biomed 10(1):156-167.

    Lyons GM, Culhane KM, Hilton D, Grace PA, Lyons D (2005). A description of an
    accelerometer-based mobility monitoring technique. Med Eng Phys 27(6):497-504.

    Mathie MJ, Celler BG, Lovell NH, Coster ACF (2004). Classification of basic daily
    movements using a triaxial accelerometer. Med Biol Eng Comput 42(5):679-687.

    Moe-Nilssen R (1998). Test-retest reliability of trunk accelerometry during standing
    and walking. Arch Phys Med Rehabil 79(11):1377-1385.

    Moe-Nilssen R, Helbostad JL (2004). Estimation of gait cycle characteristics by trunk
    accelerometry. J Biomech 37(1):121-126.

    Veltink PH, Bussmann HBJ, de Vries W, Martens WLJ, van Lummel RC (1996). Detection of
    static and dynamic activities using uniaxial accelerometers. IEEE Trans Rehabil Eng
    4(4):375-385.

    Yang CC, Hsu YL, Shih KS, Lu JM (2011). Real-time gait cycle parameter recognition
    using a wearable accelerometry system. Sensors 11(8):7314-7326.

    Zijlstra W, Hof AL (2003). Assessment of spatio-temporal gait parameters from trunk
    accelerations during human walking. Gait Posture 18(2):1-10.

    Examples
    --------
    >>> import numpy as np
    >>> tracker = MotionTracker(100.0)
    >>> acc = np.zeros((3, 500))
    >>> acc[0] = 1.0  # standing still
    >>> frames = tracker.process(acc)
    >>> len(frames), posture_name(frames.posture[-1]), activity_name(frames.activity[-1])
    (50, 'upright', 'still')
    """

    def __init__(
        self,
        accel_sfreq: float,
        *,
        frame_s: float = DEFAULT_FRAME_S,
        gravity_cutoff_hz: float = DEFAULT_GRAVITY_CUTOFF_HZ,
        dynamic_window_s: float = DEFAULT_DYNAMIC_WINDOW_S,
        tilt_window_s: float = DEFAULT_TILT_WINDOW_S,
        cadence_window_s: float = DEFAULT_CADENCE_WINDOW_S,
        still_dynamic_g: float = DEFAULT_STILL_DYNAMIC_G,
        still_tilt_rate_deg_s: float = DEFAULT_STILL_TILT_RATE_DEG_S,
        walking_min_g: float = DEFAULT_WALKING_MIN_G,
        min_step_regularity: float = DEFAULT_MIN_STEP_REGULARITY,
        cadence_range_hz: tuple[float, float] = DEFAULT_CADENCE_RANGE_HZ,
    ) -> None:
        self.accel_sfreq = check_sfreq(accel_sfreq)
        if self.accel_sfreq < MIN_ACCEL_SFREQ:
            raise ValueError(
                f"accel_sfreq must be at least {MIN_ACCEL_SFREQ:g} Hz to follow trunk motion "
                f"and step cadence, got {accel_sfreq!r} instead"
            )
        requested_frame_s = check_positive("frame_s", frame_s)
        self.hop = max(1, round(self.accel_sfreq * requested_frame_s))
        self.frame_s = self.hop / self.accel_sfreq
        self.gravity_cutoff_hz = check_positive("gravity_cutoff_hz", gravity_cutoff_hz)
        if self.gravity_cutoff_hz >= 0.25 * self.accel_sfreq:
            raise ValueError(
                f"gravity_cutoff_hz must be below a quarter of accel_sfreq "
                f"({0.25 * self.accel_sfreq:g} Hz), got {gravity_cutoff_hz!r} instead"
            )
        self.dynamic_window_s = check_positive("dynamic_window_s", dynamic_window_s)
        self.tilt_window_s = check_positive("tilt_window_s", tilt_window_s)
        self.cadence_window_s = check_positive("cadence_window_s", cadence_window_s)
        self.still_dynamic_g = check_positive("still_dynamic_g", still_dynamic_g)
        self.still_tilt_rate_deg_s = check_positive("still_tilt_rate_deg_s", still_tilt_rate_deg_s)
        self.walking_min_g = check_positive("walking_min_g", walking_min_g, allow_zero=True)
        self.min_step_regularity = check_positive("min_step_regularity", min_step_regularity)
        if self.min_step_regularity >= 1.0:
            raise ValueError(
                f"min_step_regularity must be in (0, 1) (an autocorrelation), got "
                f"{min_step_regularity!r} instead"
            )
        self.cadence_range_hz = self._check_cadence_range(cadence_range_hz)

        self._n_dynamic = max(1, round(self.dynamic_window_s / self.frame_s))
        self._n_tilt = max(1, round(self.tilt_window_s / self.frame_s))
        self._n_cadence = max(1, round(self.cadence_window_s / self.frame_s))
        if self._n_cadence * self.frame_s * self.cadence_range_hz[0] < 2.0:
            raise ValueError(
                f"cadence_window_s must hold two steps at the slowest cadence "
                f"({2.0 / self.cadence_range_hz[0]:g} s for {self.cadence_range_hz[0]:g} "
                f"steps/s), got {cadence_window_s!r} instead"
            )
        # Body acceleration along gravity is averaged over groups of `_decim` samples (a
        # divisor of the hop, so that groups never straddle frames) for the autocorrelation.
        divisors = [d for d in range(1, self.hop + 1) if self.hop % d == 0]
        fast_enough = [d for d in divisors if self.accel_sfreq / d >= _CADENCE_MIN_RATE_HZ]
        self._decim = max(fast_enough) if fast_enough else 1
        self._per_frame = self.hop // self._decim
        self._cadence_rate = self.accel_sfreq / self._decim
        low_lag = math.floor(self._cadence_rate / self.cadence_range_hz[1])
        high_lag = math.ceil(self._cadence_rate / self.cadence_range_hz[0])
        if low_lag < 3:
            raise ValueError(
                f"accel_sfreq={accel_sfreq!r} Hz is too low for a cadence of up to "
                f"{self.cadence_range_hz[1]:g} steps/s (3 samples per step needed)"
            )
        # Lags computed: from 1 to the search range's end plus a neighbour for the parabola.
        self._lags = np.arange(1, high_lag + 2)
        self._max_lag = int(self._lags[-1])

        sos: NDArray[np.float64] = signal.butter(
            _GRAVITY_ORDER,
            self.gravity_cutoff_hz,
            btype="lowpass",
            output="sos",
            fs=self.accel_sfreq,
        )
        self._gravity_filter = SosFilter(sos, 3, seed_from_first_sample=False)
        self._zi_unit: NDArray[np.float64] = signal.sosfilt_zi(sos)  # (n_sections, 2)
        settle_s = _settling_time_s(sos, self.accel_sfreq, self.gravity_cutoff_hz)
        settle_frames = math.ceil(settle_s / self.frame_s)
        self._n_warmup = max(self._n_dynamic, self._n_tilt, settle_frames)
        self.warmup_s = self._n_warmup * self.frame_s
        self.reset()

    @staticmethod
    def _check_cadence_range(cadence_range_hz: Any) -> tuple[float, float]:
        try:
            low, high = cadence_range_hz
        except (TypeError, ValueError):
            raise ValueError(
                f"cadence_range_hz must be a pair (low, high) of steps/s, got "
                f"{cadence_range_hz!r} instead"
            ) from None
        low_f = check_positive("cadence_range_hz[0]", low)
        high_f = check_positive("cadence_range_hz[1]", high)
        if high_f <= low_f:
            raise ValueError(
                f"cadence_range_hz must be increasing (low < high), got {cadence_range_hz!r}"
            )
        return low_f, high_f

    # ------------------------------------------------------------------ public

    @property
    def n_frames(self) -> int:
        """Number of frames returned since the last :meth:`reset`."""
        return self._next_frame

    def reset(self) -> None:
        """Forget everything, as for a new recording; the next sample starts frame 0."""
        self._pending: NDArray[np.float64] = np.empty((3, 0))
        self._next_frame = 0
        self._restart()

    def process(self, accel_g: ArrayLike) -> MotionFrames:
        """Advance the tracker by one block of acceleration.

        Parameters
        ----------
        accel_g : array-like of float, shape (3, n_times)
            The next samples in g, rows the sensor's x, y, z (any ``n_times``, including
            0). NaN samples mark a gap.

        Returns
        -------
        MotionFrames
            The frames completed by this block (possibly none).

        Raises
        ------
        TypeError
            If ``accel_g`` is not a floating-point array (integer raw counts are refused).
        ValueError
            If it does not have shape (3, n_times) or holds infinite values.
        """
        x = self._check_accel(accel_g)
        if self._pending.shape[1]:
            x = np.concatenate((self._pending, x), axis=1)
        n_full = x.shape[1] // self.hop
        self._pending = x[:, n_full * self.hop :].copy()
        first = self._next_frame
        out = _allocate(first, self.frame_s, n_full)
        for start in range(0, n_full, _MAX_PASS_FRAMES):
            stop = min(n_full, start + _MAX_PASS_FRAMES)
            self._process_frames(x[:, start * self.hop : stop * self.hop], out, start)
        self._next_frame += n_full
        return out

    def flush(self) -> MotionFrames:
        """End the recording: return the incomplete last frame, if any, and reset.

        Returns
        -------
        MotionFrames
            One invalid frame if samples of an incomplete frame were pending (so that the
            frames cover every sample given), else none. The tracker is then reset: the
            next sample starts frame 0 of a new recording.
        """
        n = 1 if self._pending.shape[1] else 0
        out = _allocate(self._next_frame, self.frame_s, n)
        self.reset()
        return out

    def __repr__(self) -> str:
        return (
            f"MotionTracker(accel_sfreq={self.accel_sfreq:g}, frame_s={self.frame_s:g}, "
            f"gravity_cutoff_hz={self.gravity_cutoff_hz:g}, n_frames={self._next_frame})"
        )

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _check_accel(accel_g: Any) -> NDArray[np.float64]:
        arr = np.asarray(accel_g)
        if np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
            raise TypeError(
                f"accel_g must be floating-point acceleration in g, got an integer array "
                f"(dtype {arr.dtype}) instead; convert raw counts to g first"
            )
        return check_block(arr, n_channels=3, name="accel_g", allow_nan=True)

    def _restart(self) -> None:
        """Forget the filter and window states (start of a recording or after a gap)."""
        self._gravity_filter.reset()
        self._run = 0  # complete finite frames since the last gap
        self._prev_dir = np.zeros(3)
        self._dyn_cum = np.zeros(self._n_dynamic)
        self._tilt_cum = np.zeros(self._n_tilt)
        self._lag_cum = np.zeros((self._n_cadence, self._lags.size))
        self._u_hist = np.zeros(self._max_lag)
        # Running sum of u^2 over the last cadence window plus the longest lag.
        self._u2_cum = np.zeros(self._n_cadence * self._per_frame + self._max_lag)

    def _process_frames(self, x: NDArray[np.float64], out: MotionFrames, offset: int) -> None:
        """Fill ``out`` from ``offset`` with the frames of ``x`` (whole frames)."""
        n_frames = x.shape[1] // self.hop
        finite_samples = np.isfinite(x)
        if finite_samples.all():
            self._process_run(x, out, offset)
            return
        finite: NDArray[np.bool_] = np.asarray(
            finite_samples.all(axis=0).reshape(n_frames, self.hop).all(axis=1), dtype=bool
        )
        k = 0
        while k < n_frames:
            if not finite[k]:
                self._restart()
                k += 1
                continue
            bad = np.flatnonzero(~finite[k:])
            stop = n_frames if bad.size == 0 else k + int(bad[0])
            self._process_run(x[:, k * self.hop : stop * self.hop], out, offset + k)
            k = stop

    def _process_run(self, x: NDArray[np.float64], out: MotionFrames, offset: int) -> None:
        """Process finite whole frames that continue the current run."""
        hop = self.hop
        n = x.shape[1] // hop
        if self._run == 0:
            # Start in the steady state of the first frame's mean, not from zero.
            mean = x[:, :hop].mean(axis=1)
            self._gravity_filter.state = self._zi_unit[:, None, :] * mean[None, :, None]
            norm = float(np.sqrt(np.sum(mean * mean)))
            self._prev_dir = mean / norm if norm > 0 else np.zeros(3)
        g = self._gravity_filter.process(x)
        # Once the run is `_n_warmup` frames old, every frame of this call is valid and its
        # dynamic and tilt windows are full: the per-frame counts below are constants.
        steady = self._run >= self._n_warmup
        run_index = self._run + np.arange(n)
        sl = slice(offset, offset + n)

        # Body acceleration magnitude: RMS of |a - g| over the trailing window.
        d = x - g
        d *= d
        sq_frames = _group_sums(np.add.reduce(d, axis=0), hop)
        dyn_sum = _running_sums(self._dyn_cum, sq_frames)
        self._dyn_cum = dyn_sum[n:].copy()
        dynamic = np.subtract(dyn_sum[self._n_dynamic :], dyn_sum[:n], out=dyn_sum[:n])
        np.maximum(dynamic, 0.0, out=dynamic)
        if steady:
            dynamic /= self._n_dynamic * hop
        else:
            dynamic /= np.minimum(run_index + 1, self._n_dynamic) * hop
        np.sqrt(dynamic, out=dynamic)

        # Gravity at frame ends: direction, inclination, tilt rate.
        g_end = g[:, hop - 1 :: hop]
        norm_end = np.sqrt(np.add.reduce(g_end * g_end, axis=0))
        zero_norm = norm_end == 0
        unit = g_end / np.where(zero_norm, 1.0, norm_end) if zero_norm.any() else g_end / norm_end
        previous = np.empty_like(unit)
        previous[:, 0] = self._prev_dir
        previous[:, 1:] = unit[:, :-1]
        # Angle between unit vectors from their chord (accurate for small steps).
        chord = np.sqrt(np.add.reduce((unit - previous) ** 2, axis=0))
        step_deg = np.degrees(2.0 * np.arcsin(np.minimum(0.5 * chord, 1.0)))
        step_deg[zero_norm | ~previous.any(axis=0)] = 0.0
        self._prev_dir = unit[:, -1].copy()
        step_deg /= self.frame_s
        tilt = _running_sums(self._tilt_cum, step_deg)
        self._tilt_cum = tilt[n:].copy()
        tilt = np.subtract(tilt[self._n_tilt :], tilt[:n], out=tilt[:n])
        if steady:
            tilt /= self._n_tilt
        else:
            tilt /= np.minimum(run_index + 1, self._n_tilt)
        inclination = np.degrees(np.arctan2(np.hypot(g_end[1], g_end[2]), g_end[0]))

        still = (dynamic < self.still_dynamic_g) & (tilt < self.still_tilt_rate_deg_s)
        # Only valid frames with enough body acceleration can be walking: the step
        # search is run for them only (the others need its running sums, not its result).
        could_walk = ~still & (dynamic >= self.walking_min_g)
        valid = None
        if not steady:
            valid = run_index + 1 >= self._n_warmup
            could_walk &= valid
        cadence = self._cadence(x, g, n, run_index, could_walk)
        # `cadence` is finite exactly in the walking frames.
        activity = np.full(n, _MOVING, dtype=np.int8)
        activity[np.isfinite(cadence)] = _WALKING
        activity[still] = _STILL
        posture = _posture_codes(g_end, norm_end, inclination)
        if valid is None:
            out.valid[sl] = True
        else:
            posture[~valid] = _UNKNOWN
            activity[~valid] = _UNKNOWN
            out.valid[sl] = valid
        out.gravity[:, sl] = g_end
        out.dynamic_g[sl] = dynamic
        out.tilt_rate_deg_s[sl] = tilt
        out.inclination_deg[sl] = inclination
        out.posture[sl] = posture
        out.activity[sl] = activity
        out.cadence_hz[sl] = cadence
        self._run += n

    def _cadence(
        self,
        x: NDArray[np.float64],
        g: NDArray[np.float64],
        n: int,
        run_index: NDArray[np.int_],
        wanted: NDArray[np.bool_],
    ) -> NDArray[np.float64]:
        """Step frequency of each frame from the autocorrelation (NaN: not periodic).

        Only the ``wanted`` frames are searched (NaN elsewhere); the running sums are
        updated for all.
        """
        # Body acceleration along gravity (sensor-independent), per sample, then averaged
        # over groups of `_decim` samples.
        g_norm = np.sqrt(np.add.reduce(g * g, axis=0))
        zero = g_norm == 0
        if zero.any():
            g_norm[zero] = 1.0
        vertical = np.add.reduce(x * g, axis=0)
        vertical /= g_norm
        vertical -= g_norm
        u = _group_sums(vertical, self._decim)
        u /= self._decim
        m = self._max_lag
        per_frame = self._per_frame
        u_ext = np.concatenate((self._u_hist, u))
        self._u_hist = u_ext[u_ext.size - m :].copy()
        # Lagged products summed per frame, then over the trailing window: column i of
        # `partners` is the signal `lags[i] = i + 1` samples earlier.
        stride = u_ext.itemsize
        partners = np.ndarray(
            (u.size, m),
            dtype=u_ext.dtype,
            buffer=u_ext,
            offset=(m - 1) * stride,
            strides=(stride, -stride),
        )
        products = _group_sums(partners * u[:, None], per_frame)
        lag_cum = _running_sums(self._lag_cum, products)
        w = self._n_cadence
        self._lag_cum = lag_cum[n:].copy()
        # Energy of the window and of each lagged copy, from the running sum of u^2.
        u *= u
        u2_cum = _running_sums(self._u2_cum, u)
        self._u2_cum = u2_cum[u.size :].copy()
        out = np.full(n, np.nan)
        rows = np.flatnonzero(wanted)
        if rows.size == 0:
            return out
        lagged = lag_cum[rows + w] - lag_cum[rows]
        ends = self._u2_cum.size + (rows + 1) * per_frame - 1
        span = self._n_cadence * per_frame
        energy = np.maximum(u2_cum[ends] - u2_cum[ends - span], 0.0)[:, None]
        shifted = ends[:, None] - self._lags[None, :]
        partner_energy = np.maximum(u2_cum[shifted] - u2_cum[shifted - span], 0.0)
        denom = np.sqrt(energy * partner_energy)
        r = np.divide(lagged, denom, out=np.zeros_like(lagged), where=denom > _TINY)
        lag_s = _step_lag(r, self._lags, self.min_step_regularity)
        cadence = self._cadence_rate / lag_s
        low, high = self.cadence_range_hz
        # The periodic signal must be gait-sized, not a rhythm in sensor noise.
        vertical_rms = np.sqrt(energy[:, 0] / span)
        ok = (run_index[rows] + 1 >= self._n_cadence) & (cadence >= low) & (cadence <= high)
        ok &= vertical_rms >= self.walking_min_g
        out[rows] = np.where(ok, cadence, np.nan)
        return out


def _group_sums(values: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """Sum consecutive groups of ``size`` rows (along axis 0; length a multiple of it).

    The rows of a group are added in a fixed order (strided slices, one after the other):
    faster than a reduction over a short axis, and independent of the number of groups.
    """
    out = values[0::size].copy()
    for j in range(1, size):
        out += values[j::size]
    return out


def _running_sums(history: NDArray[np.float64], new: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the running sum carried over ``history`` and extended over ``new``.

    ``history`` holds the running sums at the last ``w`` rows (zeros before a run); the
    result ``c`` has ``w + len(new)`` rows: ``history`` followed by the running sum
    continued, row by row, over ``new``. The sums over the trailing ``w`` rows are
    ``c[w:] - c[:-w]`` and the next history is ``c[len(new):]``. The running sum is
    accumulated sequentially from the carried value, so the result does not depend on how
    the rows are split into calls.
    """
    w = history.shape[0]
    out = np.concatenate((history, new), axis=0)
    tail = out[w - 1 :]
    np.cumsum(tail, axis=0, out=tail)
    return out


def _step_lag(
    r: NDArray[np.float64], lags: NDArray[np.int_], min_regularity: float
) -> NDArray[np.float64]:
    """Refined lag (in samples) of the fundamental period of each row of ``r``, or NaN.

    ``r`` has shape (n_frames, lags.size) with ``lags = 1, 2, ...``. The period is the first
    local maximum reaching ``min_regularity`` after the autocorrelation first drops below
    zero (the first dominant peak), refined by a parabola through its neighbours.
    """
    rows = np.arange(r.shape[0])
    centre = r[:, 1:-1]
    negative = r < 0
    first_negative = np.where(negative.any(axis=1), np.argmax(negative, axis=1), r.shape[1])
    after = np.arange(1, r.shape[1] - 1)[None, :] > first_negative[:, None]
    peaks = (centre >= r[:, :-2]) & (centre >= r[:, 2:]) & (centre >= min_regularity) & after
    idx = np.argmax(peaks, axis=1) + 1
    y0, y1, y2 = r[rows, idx - 1], r[rows, idx], r[rows, idx + 1]
    curvature = y0 - 2.0 * y1 + y2
    shift = np.divide(0.5 * (y0 - y2), curvature, out=np.zeros_like(y1), where=curvature < 0)
    lag = lags[idx] + np.clip(shift, -0.5, 0.5)
    return np.where(peaks.any(axis=1), lag, np.nan)


#: Posture by roll sector (rows: supine, left side, prone, right side) and inclination band
#: (columns: below UPRIGHT_MAX_DEG, below LYING_MIN_DEG, below BENT_MAX_DEG, beyond).
_POSTURE_TABLE: Final = np.array(
    [
        [_UPRIGHT, _RECLINED, _SUPINE, _SUPINE],
        [_UPRIGHT, _UNKNOWN, _LEFT_SIDE, _LEFT_SIDE],
        [_UPRIGHT, _BENT, _BENT, _PRONE],
        [_UPRIGHT, _UNKNOWN, _RIGHT_SIDE, _RIGHT_SIDE],
    ],
    dtype=np.int8,
)
_INCLINATION_BANDS_DEG: Final = np.array([UPRIGHT_MAX_DEG, LYING_MIN_DEG, BENT_MAX_DEG])


def _posture_codes(
    g: NDArray[np.float64], norm: NDArray[np.float64], inclination: NDArray[np.float64]
) -> NDArray[np.int8]:
    """Posture code of each gravity vector, shape (3, n) in the belt's sensor axes."""
    roll = np.degrees(np.arctan2(-g[1], g[2]))  # 0 supine, 90 left, +-180 prone, -90 right
    sector = np.floor((roll + SIDE_ROLL_DEG) / 90.0).astype(np.intp) % 4
    band = np.searchsorted(_INCLINATION_BANDS_DEG, inclination, side="right")
    code = _POSTURE_TABLE[sector, band]
    in_range = (norm >= GRAVITY_RANGE_G[0]) & (norm <= GRAVITY_RANGE_G[1])
    return np.asarray(np.where(in_range, code, _UNKNOWN), dtype=np.int8)


def _settling_time_s(sos: NDArray[np.float64], sfreq: float, cutoff_hz: float) -> float:
    """Time after which the step response of ``sos`` stays within the settling tolerance."""
    n = int(math.ceil(sfreq * 10.0 / cutoff_hz))
    step = signal.sosfilt(sos, np.ones(n))
    outside = np.flatnonzero(np.abs(step - 1.0) > _SETTLE_TOLERANCE)
    return 0.0 if outside.size == 0 else float(outside[-1] + 1) / sfreq
