"""``spasmwatch stream`` in a subprocess against a wearable played on a pseudo-terminal."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
import tty
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import serial

from host.cli import main, stream
from host.protocol import (
    Command,
    CommandFrame,
    DeviceInfoFrame,
    SampleFormat,
    SamplesFrame,
    StreamDecoder,
    encode_frame,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")

SFREQ = 1000.0
SAMPLES_PER_FRAME = 50
AMPLITUDE_COUNTS = (1000, 400)  # peak amplitude of the sine on each channel
SINE_HZ = (50.0, 30.0)  # whole periods in every 100 ms (two frames)
SKIP_EVERY = 10  # every 10th samples frame is "lost on the air"
INFO = DeviceInfoFrame(
    seq=0,
    timestamp_us=0,
    firmware_version=(1, 2, 3),
    device_id=0x5A5A,
    emg_sfreq=SFREQ,
    channel_names=("L_ES", "R_ES"),
    adc_bits=16,
    adc_bipolar=True,
    vref_v=2.4,
    gain=12.0,
    samples_per_frame=SAMPLES_PER_FRAME,
    board="pty-wearable",
)


class PtyWearable:
    """Plays a spasmwatch on a pseudo-terminal, in a thread of the test process.

    Answers IDENTIFY with :data:`INFO` from the ``answer_from``-th one on (never when
    None) and, after START, streams two sines in real time, skipping every
    ``SKIP_EVERY``-th samples frame.
    """

    def __init__(self, *, answer_from: int | None = 1) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self.answer_from = answer_from
        self.identify_count = 0
        self.samples_frames_sent = 0
        self.skipped_seqs: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self.master)
        os.close(self._slave)

    def _run(self) -> None:
        decoder = StreamDecoder()
        streaming_since: float | None = None
        seq = 1  # seq 0 is the DEVICE_INFO frame
        k = 0
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.005)
            if ready:
                for item in decoder.feed(os.read(self.master, 4096)):
                    if not isinstance(item, CommandFrame):
                        continue
                    if item.command is Command.IDENTIFY:
                        self.identify_count += 1
                        if self.answer_from and self.identify_count >= self.answer_from:
                            os.write(self.master, encode_frame(INFO))
                    elif item.command is Command.START and streaming_since is None:
                        streaming_since = time.monotonic()
            if streaming_since is None:
                continue
            # Real time: frame k is due once its last sample has been "measured".
            while time.monotonic() >= streaming_since + (k + 1) * SAMPLES_PER_FRAME / SFREQ:
                if k % SKIP_EVERY == SKIP_EVERY - 1:
                    self.skipped_seqs.append(seq)
                else:
                    os.write(self.master, encode_frame(samples_frame(seq, k)))
                    self.samples_frames_sent += 1
                seq += 1
                k += 1


def samples_frame(seq: int, k: int) -> SamplesFrame:
    t = (k * SAMPLES_PER_FRAME + np.arange(SAMPLES_PER_FRAME)) / SFREQ
    counts = np.stack(
        [
            np.round(a * np.sin(2 * np.pi * f * t))
            for a, f in zip(AMPLITUDE_COUNTS, SINE_HZ, strict=True)
        ]
    ).astype(np.int32)
    return SamplesFrame(
        seq=seq,
        timestamp_us=int(t[0] * 1e6),
        first_sample=k * SAMPLES_PER_FRAME,
        counts=counts,
    )


@pytest.fixture
def wearable() -> Iterator[PtyWearable]:
    device = PtyWearable()
    yield device
    device.close()


@pytest.fixture
def silent_wearable() -> Iterator[PtyWearable]:
    device = PtyWearable(answer_from=None)
    yield device
    device.close()


def spasmwatch(*args: str, timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "host.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def run_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``spasmwatch ARGS`` in this process; return (status, stdout, stderr)."""
    try:
        status = main(list(args))
    except SystemExit as exit_:  # argparse rejects the command line
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def records(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_json_lines_report_rms_in_microvolts_and_the_loss(wearable: PtyWearable) -> None:
    result = spasmwatch("stream", "--port", wearable.path, "--duration", "2", "--json")
    assert result.returncode == 0, result.stderr
    lines = records(result.stdout)
    kinds = [r["type"] for r in lines]
    assert kinds[0] == "link"
    assert lines[0]["kind"] == "connected"
    assert kinds.count("device_info") == 1
    assert kinds[-1] == "summary"
    assert kinds.count("tick") == 2
    info = next(r for r in lines if r["type"] == "device_info")
    assert (info["board"], info["firmware"], info["channel_names"]) == (
        "pty-wearable",
        "1.2.3",
        ["L_ES", "R_ES"],
    )

    # RMS of a sine is its amplitude over sqrt(2); counts to microvolts via DEVICE_INFO.
    expected_uv = {
        name: a / math.sqrt(2) * INFO.volts_per_count * 1e6
        for name, a in zip(INFO.channel_names, AMPLITUDE_COUNTS, strict=True)
    }
    ticks = [r for r in lines if r["type"] == "tick"]
    for tick in ticks:
        assert tick["rms_unit"] == "uV"
        assert tick["connected"] is True
        for name, value in expected_uv.items():
            assert tick["rms"][name] == pytest.approx(value, rel=0.10)
        assert 0 < tick["frames_per_s"] <= 1.2 * SFREQ / SAMPLES_PER_FRAME + 1
        assert 0 < tick["sample_rate_hz"] <= 1.2 * SFREQ

    # Every skipped frame that was followed by another one is counted lost, no more.
    summary = lines[-1]
    received, lost = summary["frames_received"], summary["frames_lost"]
    last_seq = received + lost - 1  # the device's counter ran 0 .. last_seq
    expected_lost = sum(1 for s in wearable.skipped_seqs if s < last_seq)
    assert lost == expected_lost >= 2
    assert summary["loss_pct"] == pytest.approx(100.0 * lost / (received + lost), abs=1e-3)
    assert summary["gaps"] == lost
    assert summary["samples_received"] == SAMPLES_PER_FRAME * (received - 1)
    assert summary["crc_errors"] == 0
    assert summary["stats"]["samples_lost"] == SAMPLES_PER_FRAME * lost
    assert summary["link"]["connects"] == 1
    assert ticks[-1]["loss_pct"] <= summary["loss_pct"] + 1e-9


def test_human_output_says_counts_until_device_info(
    silent_wearable: PtyWearable, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_in_process(
        capsys, "stream", "--port", silent_wearable.path, "--duration", "1"
    )
    assert status == 0, err
    assert f"streaming from serial://{silent_wearable.path}" in out
    assert "link connected" in out
    assert "RMS counts (no DeviceInfo yet)" in out
    assert "ch0" in out
    assert out.splitlines()[-1].startswith("summary: 1.0 s")


def test_device_info_is_asked_again_until_it_arrives(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "_INTERVAL_S", 0.3)  # ticks of 0.3 s keep the test short
    device = PtyWearable(answer_from=2)  # "still booting" when the first IDENTIFY came
    try:
        status, out, err = run_in_process(
            capsys, "stream", "--port", device.path, "--duration", "1.2", "--json"
        )
    finally:
        device.close()
    assert status == 0, err
    ticks = [r for r in records(out) if r["type"] == "tick"]
    # IDENTIFY is sent again after every third tick while DEVICE_INFO is missing.
    assert [t["rms_unit"] for t in ticks] == ["counts", "counts", "counts", "uV"]
    assert device.identify_count == 2


def test_ctrl_c_ends_with_a_summary_and_status_0(wearable: PtyWearable) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "host.cli", "stream", "--port", wearable.path, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 20
        while True:  # wait for the first tick
            ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
            assert ready, "no tick within 20 s"
            if json.loads(proc.stdout.readline())["type"] == "tick":
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:  # pragma: no cover - only when the test already failed
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert records(out)[-1]["type"] == "summary"


def test_nonexistent_port_exits_2_with_a_clear_message() -> None:
    result = spasmwatch("stream", "--port", "/dev/ttyNOPE42", "--duration", "1")
    assert result.returncode == 2
    assert "/dev/ttyNOPE42 does not exist" in result.stderr
    assert "available ports" in result.stderr
    assert "Traceback" not in result.stderr


def test_busy_port_exits_2_with_a_clear_message(
    wearable: PtyWearable, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = serial.Serial(wearable.path, exclusive=True)
    try:
        status, _, err = run_in_process(capsys, "stream", "--port", wearable.path)
    finally:
        holder.close()
    assert status == 2
    assert f"spasmwatch stream: error: port {wearable.path} is busy" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "/dev/null", "--duration", "0"], "--duration must be a positive"),
        (["--vid-pid", "arduino"], "expected VID:PID"),
        (["--port", "/dev/null", "--max-reconnect-s", "-1"], "--max-reconnect-s must be >= 0"),
    ],
)
def test_bad_options_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_in_process(capsys, "stream", *args)
    assert status == 2
    assert message in err


def test_port_and_vid_pid_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_in_process(
        capsys, "stream", "--port", "/dev/null", "--vid-pid", "2341:0043"
    )
    assert status == 2
    assert "not allowed with argument" in err


def test_monitor_removes_the_offset_and_scales_to_microvolts() -> None:
    from host.cli.stream import StreamMonitor
    from host.transports import SerialTransport

    transport = SerialTransport("/dev/null")  # never opened: only its decoder is used
    monitor = StreamMonitor(transport, start_s=0.0)
    rng = np.random.default_rng(0)
    counts = np.round(rng.normal(0.0, 100.0, size=(2, 36))).astype(np.int32)
    offset = 8_000_000  # a large electrode offset on a 24-bit ADC
    frame = SamplesFrame(
        seq=1,
        timestamp_us=0,
        first_sample=0,
        counts=counts + offset,
        sample_format=SampleFormat.INT24,
    )
    transport._receive_bytes(encode_frame(frame))
    monitor.observe(frame)
    rms, unit = monitor.rms()
    assert unit == "counts"
    expected = counts.std(axis=-1)  # offset removed
    assert [rms["ch0"], rms["ch1"]] == pytest.approx(expected, rel=1e-9)

    transport._receive_bytes(encode_frame(dataclasses.replace(INFO, seq=2)))
    rms, unit = monitor.rms()
    assert unit == "uV"
    assert rms["L_ES"] == pytest.approx(expected[0] * INFO.volts_per_count * 1e6, rel=1e-9)
    tick = monitor.tick(1.0)
    assert (tick["frames_per_s"], tick["sample_rate_hz"]) == (1.0, 36.0)
    assert monitor.tick(2.0)["rms"] == {}  # a new interval starts empty
