"""A recorder killed with SIGKILL: the store reopens cleanly, only uncommitted samples are lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from host.storage import RecordingStore

# Records 2 x 1 kHz in 50-sample frames (sample n due at n ms), committing once per second
# of data, and prints the number of committed seconds after each commit.
CHILD = textwrap.dedent(
    """
    import sys
    import time

    import numpy as np

    from host.storage import RecordingStore

    path, stop_after = sys.argv[1], int(sys.argv[2])
    store = RecordingStore.open(path)
    sid = store.start_session(
        source_url="sim://kill", sfreq=1000.0, channel_names=("L", "R"),
        emg_volts_per_count=1e-7, started_us=0,
    )
    rng = np.random.default_rng(11)
    n = 0
    while True:
        for _ in range(20):
            store.append_emg(sid, n, rng.integers(-3000, 3000, (2, 50)), n * 1000)
            n += 50
        store.commit()
        print(n // 1000, flush=True)
        if n // 1000 == stop_after:
            for _ in range(10):  # half a second more, never committed
                store.append_emg(sid, n, rng.integers(-3000, 3000, (2, 50)), n * 1000)
                n += 50
            print("pending", flush=True)
            time.sleep(600)
    """
)


def _expected_counts(n_times: int) -> np.ndarray:
    rng = np.random.default_rng(11)
    return np.hstack([rng.integers(-3000, 3000, (2, 50)) for _ in range(n_times // 50)])


def _start_child(path: Path, stop_after: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(stop_after)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_when(proc: subprocess.Popen[str], line: str) -> list[str]:
    assert proc.stdout is not None
    seen = []
    while True:
        got = proc.stdout.readline().strip()
        if not got:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"the recorder ended before printing {line!r}: {err}")
        seen.append(got)
        if got == line:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return seen


def test_sigkill_loses_only_the_uncommitted_samples(store_file: Path) -> None:
    proc = _start_child(store_file, stop_after=5)
    _kill_when(proc, "pending")
    with RecordingStore.open(store_file) as store:  # a writer recovers the session
        (rec,) = store.list_sessions()
        assert rec.status == "interrupted"
        assert "killed" in rec.reason
        assert rec.ended_us == 5_000_000  # end of the last committed block
        assert rec.n_emg_samples == 5000
        seg = store.read_emg(rec.id)
        assert seg.n_missing == 0
        np.testing.assert_array_equal(seg.data, _expected_counts(5000) * 1e-7)
        assert store.integrity_check() == []
        assert store.gaps(rec.id) == []


def test_sigkill_while_writing(store_file: Path) -> None:
    proc = _start_child(store_file, stop_after=10_000)  # never pauses
    seen = _kill_when(proc, "8")
    with RecordingStore.open(store_file, readonly=True) as reader:
        (rec,) = reader.list_sessions()
        assert rec.status == "recording"  # readers report, only a writer recovers
    with RecordingStore.open(store_file) as store:
        assert store.integrity_check(quick=False) == []
        (rec,) = store.list_sessions()
        assert rec.status == "interrupted"
        # Every commit is one whole second; nothing before the kill is missing.
        assert rec.n_emg_samples % 1000 == 0
        assert rec.n_emg_samples >= 1000 * int(seen[-1])
        assert rec.ended_us == rec.n_emg_samples * 1000
        seg = store.read_emg(rec.id)
        np.testing.assert_array_equal(seg.data, _expected_counts(seg.n_times) * 1e-7)
        # The next session records normally.
        sid = store.start_session(
            source_url="sim://again", sfreq=1000.0, channel_names=("L", "R"), emg_volts_per_count=1
        )
        store.append_emg(sid, 0, np.ones((2, 10), dtype=np.int16), 0)
        store.end_session(sid)
        assert store.session(sid).n_emg_samples == 10


def test_a_live_recording_is_not_taken_for_a_dead_one(
    store_file: Path, start_session: Callable[..., int]
) -> None:
    with RecordingStore.open(store_file) as recorder:
        sid = start_session(recorder)
        recorder.append_emg(sid, 0, np.zeros((2, 100), dtype=np.int16), 0)
        recorder.commit()
        with RecordingStore.open(store_file) as other:  # e.g. the dashboard, to add labels
            assert other.session(sid).status == "recording"
        recorder.append_emg(sid, 100, np.zeros((2, 100), dtype=np.int16), 100_000)
        recorder.end_session(sid)
        assert recorder.session(sid).status == "stopped"
        assert recorder.session(sid).n_emg_samples == 200
