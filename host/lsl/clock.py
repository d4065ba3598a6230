"""UTC (the pipeline's time line) to the Lab Streaming Layer clock.

LSL time stamps are seconds of :func:`pylsl.local_clock`, a monotonic clock of the
computer with an arbitrary origin; inlets on other computers map it to their own clock
(``StreamInlet.time_correction``). The pipeline times every sample in UTC from the
device clock (:mod:`host.timing`), so a sample's LSL time stamp is its UTC time minus the
offset between the two clocks of this computer, ``time.time() - local_clock()``.

:class:`UtcToLslClock` measures that offset from a few closely spaced readings (the one
with the shortest bracket of ``local_clock`` readings wins) and measures it again every
``remeasure_s`` of monotonic time, so a wall clock that NTP slews or steps is followed
within that time, while time stamps stay steady in between.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable
from types import ModuleType

from host.errors import ConfigError

__all__ = ["DEFAULT_REMEASURE_S", "UtcToLslClock", "require_pylsl"]

#: Seconds between measurements of the UTC - LSL offset.
DEFAULT_REMEASURE_S = 10.0
#: Readings per measurement.
_READINGS = 5


def require_pylsl() -> ModuleType:
    """Return the ``pylsl`` module, or raise a ConfigError that says how to install it."""
    try:
        return importlib.import_module("pylsl")
    except (ImportError, RuntimeError) as err:  # RuntimeError: liblsl not found
        raise ConfigError(
            f"LSL streaming needs the 'pylsl' package and its liblsl library ({err}); "
            "install it with: pip install pylsl"
        ) from None


def _local_clock() -> float:
    return float(require_pylsl().local_clock())


class UtcToLslClock:
    """Convert UTC seconds to :func:`pylsl.local_clock` seconds of this computer.

    Parameters
    ----------
    remeasure_s : float
        Seconds (of ``monotonic``) after which the offset is measured again.
    wall : callable
        The UTC clock, ``time.time``.
    lsl : callable
        The LSL clock, ``pylsl.local_clock``.
    monotonic : callable
        The clock that paces re-measurement, ``time.monotonic``.

    Attributes
    ----------
    offset_s : float
        ``UTC - LSL`` in seconds, as last measured.
    uncertainty_s : float
        Half the bracket of LSL readings around the UTC reading of the last measurement.
    measurements : int
        How many times the offset was measured.
    """

    def __init__(
        self,
        *,
        remeasure_s: float = DEFAULT_REMEASURE_S,
        wall: Callable[[], float] = time.time,
        lsl: Callable[[], float] = _local_clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (remeasure_s > 0 and math.isfinite(remeasure_s)):
            raise ConfigError(
                f"remeasure_s must be a positive number of seconds, got {remeasure_s}"
            )
        self.remeasure_s = float(remeasure_s)
        self._wall = wall
        self._lsl = lsl
        self._monotonic = monotonic
        self.offset_s = math.nan
        self.uncertainty_s = math.nan
        self.measurements = 0
        self._next = -math.inf

    def measure(self) -> float:
        """Measure the offset now and return it (``UTC - LSL``, s)."""
        best: tuple[float, float] | None = None
        for _ in range(_READINGS):
            before = self._lsl()
            utc = self._wall()
            after = self._lsl()
            bracket = after - before
            if best is None or bracket < best[0]:
                best = (bracket, utc - (before + after) / 2.0)
        assert best is not None
        self.uncertainty_s = best[0] / 2.0
        self.offset_s = best[1]
        self.measurements += 1
        self._next = self._monotonic() + self.remeasure_s
        return self.offset_s

    def offset(self) -> float:
        """Return the offset, measuring it first when it is due."""
        if self._monotonic() >= self._next:
            self.measure()
        return self.offset_s

    def to_lsl(self, utc_s: float) -> float:
        """Return the LSL time of a UTC time (s).

        Parameters
        ----------
        utc_s : float
            Seconds since the Unix epoch.

        Returns
        -------
        float
            The same instant on :func:`pylsl.local_clock`.
        """
        return utc_s - self.offset()
