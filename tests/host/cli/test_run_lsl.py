"""``spasmwatch run --lsl``: a recording streamed live into Lab Streaming Layer."""

from __future__ import annotations

import json
import threading
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
