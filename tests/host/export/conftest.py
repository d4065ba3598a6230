"""Stores built directly through RecordingStore for the export tests (fast, deterministic)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from host.storage import RecordingStore

T0_US = 1_714_550_400_123_456  # 2024-05-01T08:00:00.123456Z


@dataclass(frozen=True)
class Built:
    """A test store and what it holds."""

    path: Path
    session_id: int
    gap_s: tuple[int, int] | None
    n_seconds: int
    episode_ids: tuple[int, ...]


def build_store(
    path: Path,
    *,
    sample_format: str = "int16",
    n_seconds: int = 40,
    gap_s: tuple[int, int] | None = (20, 22),
    accel: bool = True,
    seed: int = 0,
    t0_us: int = T0_US,
) -> Built:
    """Write a session: 2 EMG channels at 1 kHz, accelerometer at 100 Hz, events."""
    rng = np.random.default_rng(seed)
    high = 30_000 if sample_format == "int16" else 8_000_000
    scale = 0.195e-6 if sample_format == "int16" else 2.4 / 6 / 2**23
    with RecordingStore.open(path) as store:
        sid = store.start_session(
            source_url="sim://test",
            sfreq=1000.0,
            channel_names=["L", "R"],
            emg_volts_per_count=scale,
            sample_format=sample_format,
            accel_sfreq=100.0 if accel else None,
            accel_g_per_count=1 / 4096 if accel else None,
            started_us=t0_us,
        )
        for sec in range(n_seconds):
            if gap_s is not None and gap_s[0] <= sec < gap_s[1]:
                continue
            t = t0_us + sec * 1_000_000
            counts = rng.integers(-high, high, (2, 1000))
            store.append_emg(sid, sec * 1000, counts, t, t + 1_000_000)
            if accel:
                store.append_accel(
                    sid, sec * 100, rng.integers(-8000, 8000, (3, 100)), t, t + 1_000_000
                )
        store.commit()
        if gap_s is not None:
            n = (gap_s[1] - gap_s[0]) * 1000
            store.add_link_event(
                sid,
                t0_us + gap_s[0] * 1_000_000,
                "gap",
                stream="emg",
                first_sample=gap_s[0] * 1000,
                n_samples=n,
            )
        episodes = []
        for start, side, invol in ((5_500, "left", True), (30_250, "right", False)):
            episodes.append(
                store.add_episode(
                    sid,
                    {
                        "start_sample": start,
                        "end_sample": start + 2_750,
                        "involuntary": invol,
                        "kind": "spasm" if invol else "voluntary",
                        "side": side,
                        "confidence": 0.875,
                    },
                )
            )
        store.add_marker(t0_us + 12_000_000, "pain\t7/10", session_id=sid)
        store.commit()
        store.add_label(episodes[0], "spasm", author="clinician")
        store.end_session(sid)
    return Built(path, sid, gap_s, n_seconds, tuple(episodes))


@pytest.fixture
def make_store(tmp_path: Path) -> Callable[..., Built]:
    """Return a builder of test stores in ``tmp_path``."""
    counter = iter(range(1000))

    def make(**kwargs: object) -> Built:
        return build_store(tmp_path / f"store{next(counter)}.sqlite3", **kwargs)  # type: ignore[arg-type]

    return make
