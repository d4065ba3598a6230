"""``spasmwatch sessions``: the listing tells whether a session's recorder is still alive.

A recorder killed with SIGKILL cannot end its session: the store says ``recording`` until a
writer opens it again. The listing checks the recorder lock and shows the truth.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from host.cli import main
from host.cli.sessions import RECORDER_GONE
from host.errors import StorageError
from host.storage import RecordingStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock-based lock probe")


def sessions(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> str:
    """Run ``spasmwatch sessions ARGS`` in this process; return what it printed."""
    status = main(["sessions", "--data-dir", str(data_dir), *args])
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


def listing(capsys: pytest.CaptureFixture[str], data_dir: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(sessions(capsys, data_dir, "--json"))
    return report


class Recorder:
    """``spasmwatch run`` on the simulator in a subprocess, reading its JSON status lines."""

    def __init__(self, data_dir: Path) -> None:
        env = {**os.environ, "SPASMWATCH_DATA_DIR": str(data_dir)}
        cmd = [
            sys.executable,
            "-m",
            "host.cli",
            "run",
            "--source",
            "sim://quick?speed=10",
            "--no-detect",
            "--json",
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)

    def wait_for_samples(self, n_samples: int) -> int:
        """Block until a status line reports at least ``n_samples`` stored; return it."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            record = json.loads(line)
            if record.get("event") == "status" and record["samples"] >= n_samples:
                return int(record["samples"])
        raise AssertionError(f"the recorder ended early (status {self.proc.wait(5)})")

    def kill(self) -> int:
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(timeout=30)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[Recorder]:
    process = Recorder(tmp_path)
    yield process
    process.close()


def test_sigkilled_recorder_shows_as_interrupted_not_recording(
    recorder: Recorder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_file = tmp_path / "default.sqlite3"
    lock_file = tmp_path / "default.sqlite3.lock"
    recorder.wait_for_samples(5000)

    # While the recorder lives, its session is recording.
    report = listing(capsys, tmp_path)
    assert report["recorder_running"] is True
    (live,) = report["sessions"]
    assert (live["status"], live["stored_status"], live["recorder_running"]) == (
        "recording",
        "recording",
        True,
    )
    assert live["reason"] == ""
    assert "*" not in sessions(capsys, tmp_path)

    assert recorder.kill() == -signal.SIGKILL
    lock_before = lock_file.read_bytes()

    report = listing(capsys, tmp_path)
    assert report["recorder_running"] is False
    (dead,) = report["sessions"]
    assert (dead["status"], dead["stored_status"], dead["recorder_running"]) == (
        "interrupted",
        "recording",
        False,
    )
    assert dead["reason"] == RECORDER_GONE
    assert dead["samples"] > 0  # what was committed before the kill
    assert dead["duration_s"] > 0

    table = sessions(capsys, tmp_path).splitlines()
    row = next(line for line in table if line.split()[0] == str(dead["id"]))
    assert "interrupted*" in row.split()
    assert table[-1] == f"* {RECORDER_GONE}"

    detail = sessions(capsys, tmp_path, str(dead["id"]))
    assert f"interrupted ({RECORDER_GONE})" in detail
    detail_json = json.loads(sessions(capsys, tmp_path, str(dead["id"]), "--json"))
    assert (detail_json["status"], detail_json["reason"]) == ("interrupted", RECORDER_GONE)

    # Listing wrote nothing: the store still says recording, the lock file is as it was.
    with RecordingStore.open(store_file, readonly=True) as store:
        (session,) = store.list_sessions()
        assert session.status == "recording"
        assert session.ended_us is None
        assert session.n_emg_samples == dead["samples"]
        assert store.recorder_running() is False
    assert lock_file.read_bytes() == lock_before

    # A writer opening the store marks the session interrupted for good.
    RecordingStore.open(store_file).close()
    (recovered,) = listing(capsys, tmp_path)["sessions"]
    assert (recovered["status"], recovered["stored_status"]) == ("interrupted", "interrupted")
    assert recovered["recorder_running"] is None
    assert recovered["reason"] != RECORDER_GONE  # the store's own reason now
    assert "*" not in sessions(capsys, tmp_path)


def _start_session(store: RecordingStore) -> int:
    return store.start_session(
        source_url="sim://quick", sfreq=1000.0, channel_names=("L", "R"), emg_volts_per_count=1e-7
    )


def test_recorder_running_follows_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite3"
    with RecordingStore.open(path) as writer:
        assert writer.recorder_running() is False  # open, but not recording
        with RecordingStore.open(path, readonly=True) as reader:
            assert reader.recorder_running() is False
            session = _start_session(writer)
            assert writer.recorder_running() is True
            assert reader.recorder_running() is True  # another open file, same process
            # The probe does not disturb the recorder.
            started_us = writer.session(session).started_us
            writer.append_emg(session, 0, np.zeros((2, 100), dtype=np.int32), started_us)
            writer.commit()
            writer.end_session(session, "stopped")
            assert reader.recorder_running() is False
            assert reader.session(session).n_emg_samples == 100


def test_two_stopped_and_one_live_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "default.sqlite3"
    with RecordingStore.open(path) as writer:
        for _ in range(2):
            writer.end_session(_start_session(writer), "stopped")
        live = _start_session(writer)
        rows = listing(capsys, tmp_path)["sessions"]
        assert [(r["status"], r["recorder_running"]) for r in rows] == [
            ("stopped", None),
            ("stopped", None),
            ("recording", True),
        ]
        assert [r["id"] for r in rows][-1] == live
    # Closing the writer ended the live session itself.
    rows = listing(capsys, tmp_path)["sessions"]
    assert [r["status"] for r in rows] == ["stopped", "stopped", "interrupted"]
    assert rows[-1]["stored_status"] == "interrupted"


def test_without_a_lock_file_no_recorder_runs(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite3"
    RecordingStore.open(path).close()
    (tmp_path / "w.sqlite3.lock").unlink()
    with RecordingStore.open(path, readonly=True) as reader:
        assert reader.recorder_running() is False
    assert not (tmp_path / "w.sqlite3.lock").exists()  # the probe created nothing


def test_recorder_running_on_a_closed_store_is_an_error(tmp_path: Path) -> None:
    store = RecordingStore.open(tmp_path / "w.sqlite3")
    store.close()
    with pytest.raises(StorageError, match="closed"):
        store.recorder_running()
