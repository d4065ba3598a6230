"""Readers query continuously while the recorder writes: no "database is locked", no torn reads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from host.storage import RecordingStore

FRAME = 100
DURATION_S = 3.0


def _counts(first: int, n: int) -> np.ndarray:
    """The signal is a function of the sample index, so a reader can check every value."""
    ch0 = (np.arange(first, first + n) % 2001) - 1000
    return np.vstack([ch0, -ch0])


def test_readers_never_wait_for_the_writer(
    store_file: Path, start_session: Callable[..., int]
) -> None:
    writer = RecordingStore.open(store_file)
    sid = start_session(writer, started_us=0)
    scale = writer.session(sid).emg_volts_per_count
    stop = threading.Event()
    errors: list[BaseException] = []
    queries = [0, 0, 0]
    written = [0]

    def write() -> None:
        try:
            n = 0
            while not stop.is_set():
                writer.append_emg(sid, n, _counts(n, FRAME), n * 1000)
                n += FRAME
                if n % 500 == 0:
                    writer.commit()
                if n % 5000 == 0:
                    writer.add_episode(
                        sid,
                        {
                            "start_sample": n - 3000,
                            "end_sample": n - 1000,
                            "involuntary": True,
                            "kind": "tonic",
                            "side": "left",
                        },
                    )
                    writer.add_link_event(sid, n * 1000, "heartbeat", detail={"n": n})
                time.sleep(0.0005)
            writer.commit()
            written[0] = n
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    def read(index: int) -> None:
        try:
            with RecordingStore.open(store_file, readonly=True, busy_timeout_s=5.0) as reader:
                last_seen = 0
                while not stop.is_set():
                    rec = reader.session(sid)
                    assert rec.n_emg_samples >= last_seen  # never goes back in time
                    last_seen = rec.n_emg_samples
                    tail_s = max(0.0, rec.n_emg_samples / 1000 - 0.8)
                    seg = reader.read_emg(sid, tail_s)
                    assert seg.n_missing == 0
                    want = _counts(seg.first_sample, seg.n_times) * scale
                    np.testing.assert_array_equal(seg.data, want)
                    reader.episodes(session_id=sid)
                    reader.link_events(start_us=0, end_us=10**12)
                    reader.read_emg_between(max(0, rec.n_emg_samples * 1000 - 300_000), 10**12)
                    reader.list_sessions()
                    assert reader.gaps(sid) == []
                    queries[index] += 1
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=write)]
    threads += [threading.Thread(target=read, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    time.sleep(DURATION_S)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    writer.close()
    assert errors == []
    assert min(queries) > 20
    assert written[0] > 20_000
    with RecordingStore.open(store_file, readonly=True) as reader:
        seg = reader.read_emg(sid)
        assert seg.n_times == written[0]
        np.testing.assert_array_equal(seg.data, _counts(0, written[0]) * scale)
