"""Straight-line least squares from running sums, with a Gaussian prior on the slope.

Private helper of :mod:`host.timing.clock_sync`. Points are added and removed one at a
time (a sliding window) in O(1); the sums are kept relative to a reference point so that
they stay well conditioned, and :meth:`RunningLine.rebuild` recomputes them exactly from
the points still in the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["LineFit", "RunningLine", "fit_line", "lower_envelope_line"]


@dataclass(frozen=True)
class LineFit:
    """A fitted line ``y = c + m * (x - xc)`` and what its uncertainty needs.

    Attributes
    ----------
    xc : float
        Mean abscissa of the points (the fit's pivot).
    c : float
        Fitted ordinate at ``xc`` (the mean ordinate).
    m : float
        Fitted slope.
    n : int
        Number of points.
    sxx : float
        Centred sum of squares of the abscissae plus the prior's weight ``lam``.
    rss : float
        Residual sum of squares.
    """

    xc: float
    c: float
    m: float
    n: int
    sxx: float
    rss: float

    def predict(self, x: NDArray[np.float64] | float) -> NDArray[np.float64] | float:
        """Evaluate the line at ``x``."""
        return self.c + self.m * (x - self.xc)


def _solve(
    n: int,
    sx: float,
    sy: float,
    sxx: float,
    sxy: float,
    syy: float,
    m0: float,
    lam: float,
    m_max: float,
) -> tuple[float, float, float, float, float]:
    """Return ``(dx_mean, dy_mean, m, sxx_eff, rss)`` from sums about a reference point."""
    mx = sx / n
    my = sy / n
    cxx = max(sxx - sx * mx, 0.0)
    cxy = sxy - sx * my
    cyy = max(syy - sy * my, 0.0)
    sxx_eff = cxx + lam
    m = min(max((cxy + lam * m0) / sxx_eff, -m_max), m_max)
    rss = max(cyy - 2.0 * m * cxy + m * m * cxx, 0.0)
    return mx, my, m, sxx_eff, rss


def fit_line(
    x: NDArray[np.float64], y: NDArray[np.float64], *, m0: float, lam: float, m_max: float
) -> LineFit:
    """Fit ``y = c + m (x - mean(x))`` minimising ``sum(r**2) + lam * (m - m0)**2``.

    Parameters
    ----------
    x, y : ndarray of float, shape (n_points,)
        The points; at least one.
    m0 : float
        Prior slope.
    lam : float
        Weight of the prior (``residual variance / prior slope variance``), > 0.
    m_max : float
        The slope is clipped to ``[-m_max, m_max]`` (a physical bound).

    Returns
    -------
    LineFit
        The fit.
    """
    x0 = float(x[0])
    y0 = float(y[0])
    dx = x - x0
    dy = y - y0
    n = int(x.size)
    mx, my, m, sxx_eff, rss = _solve(
        n,
        float(dx.sum()),
        float(dy.sum()),
        float(dx @ dx),
        float(dx @ dy),
        float(dy @ dy),
        m0,
        lam,
        m_max,
    )
    return LineFit(x0 + mx, y0 + my, m, n, sxx_eff, rss)


def lower_envelope_line(
    x: NDArray[np.float64], y: NDArray[np.float64], *, m_max: float
) -> tuple[float, float, float]:
    """Return the line below every point that is highest at their mean abscissa.

    This is the linear programme of Moon, Skelly & Towsley (1999) for clock skew from
    one-way delays: it is insensitive to any number of points far above the floor. The
    objective ``min_i(y_i - m (x_i - xc))`` is concave in the slope ``m``, which is found
    by golden-section search on ``[-m_max, m_max]``.

    Parameters
    ----------
    x, y : ndarray of float, shape (n_points,)
        The points; at least one.
    m_max : float
        Bound on the absolute slope.

    Returns
    -------
    xc, c, m : float
        The line ``y = c + m (x - xc)``, with ``xc`` the mean abscissa.
    """
    xc = float(x.mean())
    dx = x - xc

    def height(m: float) -> float:
        return float(np.min(y - m * dx))

    lo, hi = -m_max, m_max
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a = hi - ratio * (hi - lo)
    b = lo + ratio * (hi - lo)
    fa, fb = height(a), height(b)
    for _ in range(80):
        if fa < fb:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = height(b)
        else:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = height(a)
    m = (lo + hi) / 2.0
    return xc, height(m), m


class RunningLine:
    """Sums of a sliding set of points, for :func:`fit_line` in O(1) per update."""

    __slots__ = ("_cache", "_ops", "n", "sx", "sxx", "sxy", "sy", "syy", "x0", "y0")

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every point."""
        self.n = 0
        self.x0 = 0.0
        self.y0 = 0.0
        self.sx = self.sy = self.sxx = self.sxy = self.syy = 0.0
        self._ops = 0
        self._cache: tuple[float, float, float, LineFit] | None = None

    @property
    def ops_since_rebuild(self) -> int:
        """Additions and removals since the sums were last computed from scratch."""
        return self._ops

    def add(self, x: float, y: float) -> None:
        """Add the point ``(x, y)``."""
        if self.n == 0:
            self.x0, self.y0 = x, y
            self.sx = self.sy = self.sxx = self.sxy = self.syy = 0.0
        dx = x - self.x0
        dy = y - self.y0
        self.n += 1
        self.sx += dx
        self.sy += dy
        self.sxx += dx * dx
        self.sxy += dx * dy
        self.syy += dy * dy
        self._ops += 1
        self._cache = None

    def remove(self, x: float, y: float) -> None:
        """Remove the point ``(x, y)``, which must have been added."""
        self.n -= 1
        if self.n <= 0:
            self.clear()
            return
        dx = x - self.x0
        dy = y - self.y0
        self.sx -= dx
        self.sy -= dy
        self.sxx -= dx * dx
        self.sxy -= dx * dy
        self.syy -= dy * dy
        self._ops += 1
        self._cache = None

    def rebuild(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> None:
        """Recompute the sums exactly from the points ``x, y`` (the first is the reference)."""
        self.clear()
        if x.size == 0:
            return
        self.x0 = float(x[0])
        self.y0 = float(y[0])
        dx = x - self.x0
        dy = y - self.y0
        self.n = int(x.size)
        self.sx = float(dx.sum())
        self.sy = float(dy.sum())
        self.sxx = float(dx @ dx)
        self.sxy = float(dx @ dy)
        self.syy = float(dy @ dy)

    def fit(self, *, m0: float, lam: float, m_max: float) -> LineFit:
        """Return the fit of the current points (``self.n >= 1``), as :func:`fit_line`."""
        cache = self._cache
        if cache is not None and cache[0] == m0 and cache[1] == lam and cache[2] == m_max:
            return cache[3]
        mx, my, m, sxx_eff, rss = _solve(
            self.n, self.sx, self.sy, self.sxx, self.sxy, self.syy, m0, lam, m_max
        )
        fit = LineFit(self.x0 + mx, self.y0 + my, m, self.n, sxx_eff, rss)
        self._cache = (m0, lam, m_max, fit)
        return fit
