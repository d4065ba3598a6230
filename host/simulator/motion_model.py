"""Trunk kinematics seen by an accelerometer on the lower back.

Sensor axes (right-handed, fixed to the trunk at L3-L4):

* ``x``: up along the spine (cranial),
* ``y``: to the wearer's left,
* ``z``: anterior (from the back towards the belly).

The accelerometer measures specific force in g, so a wearer standing still reads
``(+1, 0, 0)``, lying supine ``(0, 0, +1)``, prone ``(0, 0, -1)``, on the left side
``(0, -1, 0)`` and on the right side ``(0, +1, 0)``.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "LYING_ROLL_RAD",
    "gait_acceleration",
    "lying_up_vector",
    "minimum_jerk",
    "nlerp",
    "trunk_up_vector",
    "von_mises_bump",
]

#: Roll about the spine axis of each lying posture, radians (0 = supine).
LYING_ROLL_RAD: Final[dict[str, float]] = {
    "supine": 0.0,
    "left_side": np.pi / 2.0,
    "prone": np.pi,
    "right_side": -np.pi / 2.0,
}

#: Head-up incline of a lying trunk (pillow, mattress), radians.
_LYING_INCLINE_RAD: Final = np.deg2rad(6.0)


def trunk_up_vector(
    flexion_rad: NDArray[np.float64], lateral_rad: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Return the gravity reaction (world up) in sensor axes for an upright-ish trunk.

    Parameters
    ----------
    flexion_rad : ndarray of float, shape (n_times,)
        Forward flexion of the trunk from vertical (negative: extension).
    lateral_rad : ndarray of float, shape (n_times,)
        Lateral bend, positive to the wearer's right.

    Returns
    -------
    up : ndarray of float, shape (3, n_times)
        Unit vectors ``(cos f cos l, sin l, -sin f cos l)``.
    """
    cos_lat = np.cos(lateral_rad)
    return np.stack(
        (np.cos(flexion_rad) * cos_lat, np.sin(lateral_rad), -np.sin(flexion_rad) * cos_lat)
    )


def lying_up_vector(roll_rad: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the gravity reaction in sensor axes for a lying trunk.

    Parameters
    ----------
    roll_rad : ndarray of float, shape (n_times,)
        Roll about the spine: 0 supine, pi/2 on the left side, pi prone, -pi/2 on the
        right side.

    Returns
    -------
    up : ndarray of float, shape (3, n_times)
        Unit vectors, including a small head-up incline.
    """
    cos_inc = np.cos(_LYING_INCLINE_RAD)
    return np.stack(
        (
            np.full_like(roll_rad, np.sin(_LYING_INCLINE_RAD)),
            -cos_inc * np.sin(roll_rad),
            cos_inc * np.cos(roll_rad),
        )
    )


def minimum_jerk(fraction: NDArray[np.float64]) -> NDArray[np.float64]:
    """Evaluate the minimum-jerk position profile.

    Parameters
    ----------
    fraction : ndarray of float
        Normalised time; values are clipped to [0, 1].

    Returns
    -------
    position : ndarray of float
        ``10 x^3 - 15 x^4 + 6 x^5``, from 0 to 1.

    Notes
    -----
    Flash T, Hogan N (1985). The coordination of arm movements: an experimentally confirmed
    mathematical model. J Neurosci 5(7):1688-1703.
    """
    x = np.clip(fraction, 0.0, 1.0)
    return np.asarray(x**3 * (10.0 + x * (-15.0 + 6.0 * x)), dtype=np.float64)


def minimum_jerk_acceleration(fraction: NDArray[np.float64]) -> NDArray[np.float64]:
    """Second derivative of :func:`minimum_jerk` with respect to normalised time.

    Parameters
    ----------
    fraction : ndarray of float
        Normalised time; 0 outside (0, 1).

    Returns
    -------
    acceleration : ndarray of float
        ``60 x - 180 x^2 + 120 x^3``: divide by the movement time squared (and multiply by
        the amplitude) for a physical acceleration.
    """
    x = np.asarray(fraction, dtype=np.float64)
    inside = (x > 0.0) & (x < 1.0)
    return np.where(inside, x * (60.0 + x * (-180.0 + 120.0 * x)), 0.0)


def nlerp(
    start: NDArray[np.float64], stop: NDArray[np.float64], weight: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Blend unit vectors along the sphere (normalised linear interpolation).

    Parameters
    ----------
    start, stop : ndarray of float, shape (3, n_times) or (3, 1)
        Unit vectors.
    weight : ndarray of float, shape (n_times,)
        0 gives ``start``, 1 gives ``stop``.

    Returns
    -------
    blended : ndarray of float, shape (3, n_times)
        Unit vectors. Nearly opposite vectors are blended through an intermediate vector
        perpendicular to both (the wearer rolls over the left side rather than through
        the centre of the Earth).
    """
    start = np.broadcast_to(start, (3, weight.size))
    stop = np.broadcast_to(stop, (3, weight.size))
    mid = start + stop
    norm_mid = np.linalg.norm(mid, axis=0)
    opposite = norm_mid < 0.3
    if np.any(opposite):
        # Perpendicular to start, preferring the sensor's y (lateral) direction.
        helper = np.where(np.abs(start[1:2]) < 0.9, [[0.0], [1.0], [0.0]], [[1.0], [0.0], [0.0]])
        perp = helper - np.sum(helper * start, axis=0) * start
        perp /= np.linalg.norm(perp, axis=0)
        mid = np.where(opposite, perp, mid / np.maximum(norm_mid, 1e-12))
        first = weight < 0.5
        w2 = np.where(first, 2.0 * weight, 2.0 * weight - 1.0)
        a = np.where(first, start, mid)
        b = np.where(first, mid, stop)
        out = (1.0 - w2) * a + w2 * b
    else:
        out = (1.0 - weight) * start + weight * stop
    return np.asarray(out / np.linalg.norm(out, axis=0), dtype=np.float64)


def von_mises_bump(phase: NDArray[np.float64], kappa: float) -> NDArray[np.float64]:
    """Return a periodic bump of height 1 at integer phases.

    Parameters
    ----------
    phase : ndarray of float
        Phase in cycles.
    kappa : float
        Concentration; the full width at half maximum is about ``0.265 / sqrt(kappa)``
        cycles for large ``kappa``.

    Returns
    -------
    bump : ndarray of float
        ``exp(kappa (cos(2 pi phase) - 1))``.
    """
    return np.asarray(np.exp(kappa * (np.cos(2.0 * np.pi * phase) - 1.0)), dtype=np.float64)


def gait_acceleration(
    step_phase: NDArray[np.float64], cadence_hz: float, amplitude: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Return the dynamic trunk acceleration of walking in sensor axes.

    Parameters
    ----------
    step_phase : ndarray of float, shape (n_times,)
        Gait phase in steps: integers at heel strikes, even ones left, odd ones right.
    cadence_hz : float
        Steps per second.
    amplitude : ndarray of float, shape (n_times,)
        Scale between 0 (standing still) and 1 (steady walking).

    Returns
    -------
    acc : ndarray of float, shape (3, n_times)
        Zero-mean acceleration in g: vertical about +-0.3 g at the step frequency with a
        sharp peak after each heel strike, antero-posterior about +-0.15 g at the step
        frequency, medio-lateral about +-0.1 g at the stride frequency.

    Notes
    -----
    Amplitudes and phases follow lower-trunk accelerometry of normal walking (Zijlstra &
    Hof 2003, Gait Posture 18(2):1-10; Moe-Nilssen 1998, Clin Biomech 13(4-5):320-327) and
    scale with the square of cadence, as the inverted-pendulum model predicts.
    """
    scale = amplitude * (cadence_hz / 1.8) ** 2
    p = 2.0 * np.pi * step_phase
    vertical = 0.22 * np.cos(p - 0.5) + 0.08 * np.cos(2.0 * p - 1.0)
    # Heel-strike jolt: a brief positive transient right after each contact (20 ms decay).
    since_hs_s = np.mod(step_phase, 1.0) / cadence_hz
    jolt = 0.15 * np.exp(-since_hs_s / 0.02) * np.sin(2.0 * np.pi * 12.0 * since_hs_s)
    jolt_mean = 0.15 * _damped_sine_mean(12.0, 0.02, 1.0 / cadence_hz)
    anterior = 0.13 * np.cos(p + 0.9)
    lateral = 0.09 * np.sin(p / 2.0)
    return np.asarray(
        np.stack(((vertical + jolt - jolt_mean) * scale, lateral * scale, anterior * scale)),
        dtype=np.float64,
    )


def _damped_sine_mean(freq_hz: float, tau_s: float, period_s: float) -> float:
    """Mean over one period of ``exp(-t / tau) sin(2 pi f t)``."""
    w = 2.0 * np.pi * freq_hz
    a = 1.0 / tau_s
    t = period_s
    integral = (w - np.exp(-a * t) * (a * np.sin(w * t) + w * np.cos(w * t))) / (a**2 + w**2)
    return float(integral / t)
