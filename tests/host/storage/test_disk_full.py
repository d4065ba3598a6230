"""A full disk stops recording with a clear error; everything committed before stays readable."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from host.errors import StorageFullError
from host.storage import RecordingStore


def test_size_limit_hits_sqlite_full(store_file: Path, start_session: Callable[..., int]) -> None:
    """``max_size_bytes`` is SQLite's ``max_page_count``: the same SQLITE_FULL path as a
    full disk."""
    rng = np.random.default_rng(12)
    store = RecordingStore.open(store_file, max_size_bytes=300_000)
    sid = start_session(store)
    scale = store.session(sid).emg_volts_per_count
    written = []

    def record_until_full() -> None:
        for second in range(1000):
            counts = rng.integers(-3000, 3000, (2, 1000))
            written.append(counts)
            store.append_emg(sid, second * 1000, counts, second * 10**6)
            store.add_link_event(sid, second * 10**6, "heartbeat")
            store.commit()

    with pytest.raises(StorageFullError) as info:
        record_until_full()
    committed_seconds = len(written) - 1  # the last second was not committed
    message = str(info.value)
    assert str(store_file) in message
    assert "disk is full" in message
    assert "everything committed before this moment is kept" in message
    assert 10 < committed_seconds < 1000

    # The writer still reads what was committed; what was pending is gone, nothing else.
    want = np.hstack(written[:committed_seconds]) * scale
    np.testing.assert_array_equal(store.read_emg(sid).data, want)
    assert len(store.link_events(kind="heartbeat")) == committed_seconds
    # The pipeline ends the session as failed (an UPDATE needs no new page) and stops.
    store.end_session(sid, "failed", "disk full")
    store.close()

    with RecordingStore.open(store_file, readonly=True) as reader:
        rec = reader.session(sid)
        assert (rec.status, rec.reason) == ("failed", "disk full")
        assert rec.n_emg_samples == 1000 * committed_seconds
        np.testing.assert_array_equal(reader.read_emg(sid).data, want)
        assert reader.integrity_check() == []


def test_full_while_opening_a_new_store(store_file: Path) -> None:
    with pytest.raises(StorageFullError, match="disk is full"):
        RecordingStore.open(store_file, max_size_bytes=4096)


# The operating system refuses to grow the files (RLIMIT_FSIZE, the per-process file size
# limit: write() fails with EFBIG, SQLite reports a disk I/O error) while the store records.
CHILD = textwrap.dedent(
    """
    import json
    import os
    import resource
    import signal
    import sys

    import numpy as np

    from host.errors import StorageFullError
    from host.storage import RecordingStore

    path = sys.argv[1]
    store = RecordingStore.open(path)
    sid = store.start_session(
        source_url="sim://full", sfreq=1000.0, channel_names=("L", "R"),
        emg_volts_per_count=1e-7, started_us=0,
    )
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    sizes = [os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p)]
    limit = max(sizes) + 200_000
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    rng = np.random.default_rng(13)
    committed = 0
    try:
        for second in range(10_000):
            store.append_emg(sid, second * 1000, rng.integers(-3000, 3000, (2, 1000)),
                             second * 1_000_000)
            store.commit()
            committed = second + 1
    except StorageFullError as exc:
        seg = store.read_emg(sid)
        report = {"committed": committed, "message": str(exc),
                  "readable": seg.n_times - seg.n_missing}
        try:
            store.close()
        except StorageFullError:
            report["close_failed"] = True
        print(json.dumps(report), flush=True)
        sys.exit(0)
    sys.exit(3)
    """
)


def test_operating_system_refuses_to_write(store_file: Path) -> None:
    store_file.parent.mkdir(parents=True)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(store_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert "disk I/O error" in report["message"]
    assert "the disk is full, failing or was removed" in report["message"]
    assert str(store_file) in report["message"]
    committed = report["committed"]
    assert committed > 5
    assert report["readable"] == 1000 * committed

    rng = np.random.default_rng(13)
    want = np.hstack([rng.integers(-3000, 3000, (2, 1000)) for _ in range(committed)]) * 1e-7
    with RecordingStore.open(store_file) as store:  # without the limit: recovers
        (rec,) = store.list_sessions()
        assert rec.status == "interrupted"
        assert rec.n_emg_samples == 1000 * committed
        assert rec.ended_us == committed * 1_000_000
        np.testing.assert_array_equal(store.read_emg(rec.id).data, want)
        assert store.integrity_check(quick=False) == []
