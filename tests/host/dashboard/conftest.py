"""Fixtures of the dashboard's API tests: a small store built through the public API."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # starlette's TestClient asks for the httpx2 package and warns once, at import, when
    # it runs on httpx (the dependency the project declares); the client works the same.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from host.dashboard import create_app
from host.storage import RecordingStore

#: 2024-03-04T08:00:00Z (a Monday) in µs.
T0_US = 1_709_539_200_000_000
SFREQ = 1000.0
ACCEL_SFREQ = 100.0
VOLTS_PER_COUNT = 0.1e-6  # 0.1 µV per count
G_PER_COUNT = 1 / 4096
DURATION_S = 120
GAP = (60_000, 3_000)  # EMG samples 60 000-62 999 missing (a 3 s link gap)


@dataclass
class Recorded:
    """What the fixture store holds."""

    path: Path
    session_id: int
    episode_ids: list[int]
    emg_counts: np.ndarray  # (2, n) with the gap's columns never stored


def _episode(start_s: float, dur_s: float, side: str, kind: str, involuntary: bool) -> dict:
    return {
        "start_sample": round(start_s * SFREQ),
        "end_sample": round((start_s + dur_s) * SFREQ),
        "involuntary": involuntary,
        "kind": kind,
        "side": side,
        "confidence": 0.9,
        "unit": "uV",
        "peak": 150.0,
        "activity_before": "still",
        "posture_before": "supine",
        "quality_flags": [],
    }


def build_store(path: Path) -> Recorded:
    rng = np.random.default_rng(5)
    n = round(DURATION_S * SFREQ)
    counts = rng.normal(0, 30, (2, n)).round().astype(np.int64)  # 3 µV noise
    burst = slice(10_000, 18_000)  # a left burst 10-18 s
    counts[0, burst] += rng.normal(0, 1500, burst.stop - burst.start).round().astype(np.int64)
    acc = np.zeros((3, round(DURATION_S * ACCEL_SFREQ)), dtype=np.int64)
    acc[0] = 4096  # 1 g on x: still, upright
    with RecordingStore.open(path) as store:
        sid = store.start_session(
            source_url="sim://test",
            sfreq=SFREQ,
            channel_names=("EMG L", "EMG R"),
            emg_volts_per_count=VOLTS_PER_COUNT,
            accel_sfreq=ACCEL_SFREQ,
            accel_g_per_count=G_PER_COUNT,
            started_us=T0_US,
        )
        g0, gn = GAP
        for first in range(0, n, 1000):
            if g0 <= first < g0 + gn:
                continue
            store.append_emg(sid, first, counts[:, first : first + 1000], T0_US + first * 1000)
        for first in range(0, acc.shape[1], 100):
            store.append_accel(sid, first, acc[:, first : first + 100], T0_US + first * 10_000)
        store.add_link_event(
            sid, T0_US + g0 * 1000, "gap", stream="emg", first_sample=g0, n_samples=gn
        )
        ids = [
            store.add_episode(
                sid,
                _episode(10.0, 8.0, "left", "tonic", True),
                start_us=T0_US + 10_000_000,
                end_us=T0_US + 18_000_000,
            ),
            store.add_episode(
                sid,
                _episode(40.0, 3.0, "bilateral", "voluntary", False),
                start_us=T0_US + 40_000_000,
                end_us=T0_US + 43_000_000,
            ),
            store.add_episode(
                sid,
                _episode(90.0, 70.0, "right", "cramp", True),
                start_us=T0_US + 90_000_000,
                end_us=T0_US + 160_000_000,
            ),
        ]
        store.commit()
        store.end_session(sid)
    stored = counts.copy()
    return Recorded(path, sid, ids, stored)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """A store with one 120 s session, a 3 s gap and three episodes (built once)."""
    return build_store(tmp_path_factory.mktemp("dash") / "w.sqlite3")


@pytest.fixture
def fresh(tmp_path: Path) -> Recorded:
    """The same store, built for one test (for tests that write labels)."""
    return build_store(tmp_path / "w.sqlite3")


@pytest.fixture
def client(recorded: Recorded) -> Iterator[TestClient]:
    """A client of a review dashboard (no live hub) of the shared store."""
    with TestClient(create_app(store_path=recorded.path)) as c:
        yield c


@pytest.fixture
def writable_client(fresh: Recorded) -> Iterator[TestClient]:
    """A client of a dashboard of a store of its own."""
    with TestClient(create_app(store_path=fresh.path)) as c:
        yield c
