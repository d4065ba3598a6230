"""``spasmwatch run`` with live viewers: Lab Streaming Layer and the dashboard."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pylsl
import pytest

from host.cli import main


def test_run_with_lsl_streams_the_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got: dict[str, object] = {}

    def receive() -> None:
        # The recording runs in the main thread (it installs signal handlers); the
        # receiving lab software here.
        found = pylsl.resolve_byprop("type", "EMG", minimum=2, timeout=20.0)
        (raw,) = [s for s in found if s.nominal_srate() == 1000.0]
        inlet = pylsl.StreamInlet(raw)
        info = inlet.info(timeout=5.0)
        channel = info.desc().child("channels").child("channel")
        labels, units = [], []
        while not channel.empty():
            labels.append(channel.child_value("label"))
            units.append(channel.child_value("unit"))
            channel = channel.next_sibling()
        n = 0
        for _ in range(30):
            samples, _stamps = inlet.pull_chunk(timeout=0.1)
            n += len(samples)
        got.update(labels=labels, units=units, n=n)

    receiver = threading.Thread(target=receive)
    receiver.start()
    status = main(
        [
            "run",
            "--source",
            "sim://quick?speed=4",
            "--duration",
            "12",
            "--lsl",
            "--json",
            "--data-dir",
            str(tmp_path),
            "--wearer",
            "lsl",
        ]
    )
    receiver.join(timeout=30.0)
    assert status == 0
    assert got["labels"] == ["EMG L", "EMG R"]
    assert got["units"] == ["microvolts", "microvolts"]
    assert isinstance(got["n"], int)
    assert got["n"] > 1000  # seconds of 1 kHz EMG arrived while recording
    out = capsys.readouterr().out
    final = json.loads(out.strip().splitlines()[-1])
    assert final["samples"] >= 8000


def test_run_with_dashboard_serves_the_recording_live(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    seen: dict[str, object] = {}

    def browse() -> None:
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/live", timeout=2) as r:
                    live = json.load(r)
            except OSError:
                time.sleep(0.1)
                continue
            seen["live"] = live
            if live.get("status"):
                return
            time.sleep(0.2)

    browser = threading.Thread(target=browse)
    browser.start()
    argv = ["run", "--source", "sim://quick?speed=4", "--duration", "12", "--json"]
    argv += ["--dashboard", "--port", str(port), "--data-dir", str(tmp_path), "--wearer", "w"]
    status = main(argv)
    browser.join(timeout=30.0)
    assert status == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"event": "dashboard", "url": f"http://127.0.0.1:{port}/"} in out
    live = seen["live"]
    assert isinstance(live, dict)
    assert live["live"] is True
    assert live["status"]["samples"] > 0  # the recording's own status, read live
    assert live["pipeline"]["source_url"].startswith("sim://quick")
