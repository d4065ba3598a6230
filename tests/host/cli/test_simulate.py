"""``spasmwatch simulate`` in file mode and live mode, as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import serial

from host.protocol import Command, CommandFrame, SamplesFrame, StreamDecoder, encode_frame
from host.protocol.capture import read_capture
from host.simulator.scenario import read_truth

CLI = [sys.executable, "-m", "host.cli"]


def test_files_mode_writes_a_readable_capture_and_truth(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            *CLI,
            "simulate",
            "--scenario",
            "quick",
            "--duration",
            "20",
            "--out",
            str(tmp_path),
            "--drop",
            "0.02",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    record = json.loads(result.stdout.strip().splitlines()[-1])
    capture = read_capture(record["capture"])
    assert capture.emg_v.shape[0] == 2
    assert abs(capture.emg_v.shape[1] / capture.sfreq - 20.0) < 0.2
    assert np.isnan(capture.emg_v[0]).sum() == record["injected"]["lost_samples"]
    rms_uv = np.sqrt(np.nanmean(capture.emg_v**2, axis=1)) * 1e6
    assert np.all((rms_uv > 0.5) & (rms_uv < 500))  # physiological range
    events = read_truth(record["events"])
    assert events
    assert all(e.onset_s < 20 for e in events)


def test_bad_arguments_give_clear_errors(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "simulate", "--scenario", "no-such-scenario", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no-such-scenario" in result.stderr
    assert "quick" in result.stderr
    result = subprocess.run(
        [*CLI, "simulate", "--rate", "333", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "333" in result.stderr
    assert "1000" in result.stderr
    result = subprocess.run(
        [*CLI, "simulate", "--drop", "1.5"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "probability" in result.stderr


def test_live_mode_serves_a_pty(tmp_path: Path) -> None:
    link = tmp_path / "wearable"
    proc = subprocess.Popen(
        [*CLI, "simulate", "--link", str(link), "--speed", "5", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["event"] == "ready"
        assert ready["path"] == str(link)
        decoder = StreamDecoder()
        samples = 0
        with serial.Serial(str(link), timeout=0.1) as port:
            port.write(
                b"\x00" + encode_frame(CommandFrame(seq=0, timestamp_us=0, command=Command.START))
            )
            deadline = time.monotonic() + 20
            while samples < 40:
                assert time.monotonic() < deadline
                data = port.read(max(1, port.in_waiting))
                samples += sum(isinstance(i, SamplesFrame) for i in decoder.feed(data))
        assert decoder.stats.corrupt_frames == 0
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["event"] == "stopped"
    assert not os.path.lexists(link)
