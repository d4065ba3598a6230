"""Shared test fixtures."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray


class KnownBody:
    """Sine waves on the EMG channels, constant gravity on the accelerometer.

    Left: ``amp_v`` at ``freq_hz``; right: half of it. Accelerometer: 1 g on x.
    """

    channel_names = ("EMG L", "EMG R")

    def __init__(
        self,
        sfreq: float,
        accel_sfreq: float,
        *,
        duration_s: float = 3600.0,
        amp_v: float = 100e-6,
        freq_hz: float = 50.0,
    ) -> None:
        self.sfreq = sfreq
        self.accel_sfreq = accel_sfreq
        self.duration_s = duration_s
        self.amp_v = amp_v
        self.freq_hz = freq_hz
        self._n = 0

    @property
    def time_s(self) -> float:
        return self._n / self.sfreq

    @property
    def finished(self) -> bool:
        return self._n >= round(self.duration_s * self.sfreq)

    def read(self, n_times: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        t = (self._n + np.arange(n_times)) / self.sfreq
        left = self.amp_v * np.sin(2 * np.pi * self.freq_hz * t)
        start, end = self._n, self._n + n_times
        n_acc = int(end * self.accel_sfreq // self.sfreq) - int(
            start * self.accel_sfreq // self.sfreq
        )
        acc = np.zeros((3, n_acc))
        acc[0] = 1.0
        self._n = end
        return np.vstack([left, left / 2]), acc


def _known_factory(duration_s: float = 3600.0, amp_v: float = 100e-6):  # type: ignore[no-untyped-def]
    def make(scenario, sfreq, accel_sfreq, seed):  # type: ignore[no-untyped-def]
        return KnownBody(sfreq, accel_sfreq, duration_s=duration_s, amp_v=amp_v)

    return make


@pytest.fixture
def known_factory():  # type: ignore[no-untyped-def]
    """Factory of body-model factories with known content (see :class:`KnownBody`)."""
    return _known_factory
