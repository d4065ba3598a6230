"""Timing: the UTC time of every sample, from device timestamps and arrival times.

:class:`ClockSync` maps the device's sample indices and microsecond clock to host UTC,
estimating the crystal's drift over a sliding window and ignoring the one-sided jitter of
USB and BLE delivery. :func:`annotate_gap` places the decoder's missing-sample runs on the
same timeline. Nothing here reads a clock: arrival times are passed in. The method and its
measured accuracy are described in ``docs/timing.md``.
"""

from __future__ import annotations

from host.timing.clock_sync import ClockSync, ClockSyncStatus
from host.timing.gaps import GapAnnotation, annotate_gap

__all__ = ["ClockSync", "ClockSyncStatus", "GapAnnotation", "annotate_gap"]
