"""Fixtures of the recording store tests: a store file, a writer, a session factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from host.storage import RecordingStore

#: 2024-03-01T00:00:00Z in microseconds: sessions in the tests start around here.
T0_US = 1_709_251_200_000_000
#: The default stream: 2 EMG channels at 1 kHz, a 100 Hz accelerometer.
SFREQ = 1000.0
ACCEL_SFREQ = 100.0
VOLTS_PER_COUNT = 2.4 / 2**24 / 12  # 24-bit ADC, 2.4 V reference, gain 12
G_PER_COUNT = 1 / 4096


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    """Path of a store that does not exist yet, in a directory that does not either."""
    return tmp_path / "data" / "alice.sqlite3"


@pytest.fixture
def writer(store_file: Path) -> Iterator[RecordingStore]:
    """An open writer store, closed after the test."""
    store = RecordingStore.open(store_file)
    yield store
    store.close()


@pytest.fixture
def start_session() -> Callable[..., int]:
    """Start a session with the default stream on a store; keyword arguments override."""

    def start(store: RecordingStore, **overrides: Any) -> int:
        params: dict[str, Any] = {
            "source_url": "sim://quick",
            "sfreq": SFREQ,
            "channel_names": ("EMG L", "EMG R"),
            "emg_volts_per_count": VOLTS_PER_COUNT,
            "accel_sfreq": ACCEL_SFREQ,
            "accel_g_per_count": G_PER_COUNT,
            "started_us": T0_US,
        }
        params.update(overrides)
        return store.start_session(**params)

    return start
