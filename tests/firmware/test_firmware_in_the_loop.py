"""Firmware in the loop: the real Uno ELF in simavr, read through a pseudo-terminal.

Both builds of the Uno port run: the bare avr-libc image and the same board logic on the
Arduino core (the sketch, built with plain avr-gcc against Debian's arduino-core-avr).

The harness (firmware/sim/sw_simavr.c) feeds the ADC pins A0/A1 from a signal file at the
moment each conversion starts and bridges the emulated USART to a pty; the host reads it
with the project's serial transport (pyserial underneath). Every decoded sample is compared
with what the ADC was given, at the device time the frame says it was taken.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import serial
from numpy.typing import NDArray

from host.protocol import (
    Command,
    CommandFrame,
    CommandReplyFrame,
    DeviceInfoFrame,
    FrameGap,
    ReplyCode,
    SampleGap,
    SamplesFrame,
    StatusFrame,
    StreamDecoder,
    encode_frame,
)
from host.transports.serial import SerialTransport

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
HARNESS = FIRMWARE / "build" / "sim" / "sw_simavr"
#: The Uno port's two builds: make target and ELF.
BUILDS = {
    "bare": ("uno", FIRMWARE / "build" / "uno" / "spasmwatch-uno.elf"),
    "arduino": ("uno-arduino", FIRMWARE / "build" / "uno-arduino" / "spasmwatch-uno-arduino.elf"),
}
ARDUINO_AVR = Path("/usr/share/arduino/hardware/arduino/avr")

SFREQ = 1000.0
PERIOD_US = 1000
BAUD = 250_000
VREF_MV = 5000
N_RECORDS = 30_000  # 30 s of signal, then it repeats
#: Where channel R is driven past the 5 V rail (the ADC clips there).
CLIP_START, CLIP_STOP = 2_500, 2_520


def _require_toolchain(build: str) -> None:
    tools = ["make", "cc", "avr-gcc", "pkg-config"]
    if build == "arduino":
        tools.append("avr-g++")
        if not (ARDUINO_AVR / "cores" / "arduino" / "Arduino.h").exists():
            pytest.fail(f"the Arduino AVR core is not in {ARDUINO_AVR}: install arduino-core-avr")
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.fail(
            f"firmware-in-the-loop needs {', '.join(missing)} on PATH (see docs/firmware.md)"
        )
    probe = subprocess.run(
        ["pkg-config", "--cflags", "simavr"], capture_output=True, text=True, check=False
    )
    include = [flag[2:] for flag in probe.stdout.split() if flag.startswith("-I")]
    if probe.returncode != 0 or not any((Path(d) / "sim_avr.h").exists() for d in include):
        pytest.fail(
            "simavr headers not found (pkg-config simavr / sim_avr.h): install libsimavr-dev "
            "and libelf-dev"
        )


def _signal_mv(seed: int) -> NDArray[np.int16]:
    """Simulated EMG at the front ends' outputs in millivolts, shape (N_RECORDS, 2).

    Mid-supply bias (2.5 V), Gaussian noise whose amplitude follows bursts of activity
    (channel L bursts every 2 s, channel R every 3 s), and one stretch where R exceeds the
    5 V rail so the ADC clips.
    """
    rng = np.random.default_rng(seed)
    t_s = np.arange(N_RECORDS) / SFREQ
    left_env = 40 + 360 * (np.sin(2 * np.pi * t_s / 2.0) > 0.6)
    right_env = 30 + 300 * (np.sin(2 * np.pi * t_s / 3.0 + 1.0) > 0.7)
    noise = rng.standard_normal((N_RECORDS, 2))
    mv = 2500 + noise * np.stack([left_env, right_env], axis=1)
    mv = np.clip(mv, 10, 4990)  # within the rails: 6 sigma of the loudest burst
    mv[CLIP_START:CLIP_STOP, 1] = 5600
    return np.rint(mv).astype("<i2")


def _expected_counts(mv: NDArray[np.int16]) -> NDArray[np.int64]:
    """Counts the firmware should send: simavr's 10-bit conversion, minus mid-scale 512."""
    code = np.minimum(mv.astype(np.int64) * 1023 // VREF_MV, 1023)
    return code - 512


@pytest.fixture(scope="module", params=sorted(BUILDS))
def elf(request: pytest.FixtureRequest) -> Path:
    """Build one of the Uno ELFs (with -Werror) and the harness once for this module."""
    build = str(request.param)
    _require_toolchain(build)
    target, path = BUILDS[build]
    result = subprocess.run(
        ["make", "-C", str(FIRMWARE), "sim", target], capture_output=True, text=True, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"make -C firmware sim {target} failed:\n{output}"
    assert HARNESS.exists()
    assert path.exists()
    return path


@dataclass
class Harness:
    """A running sw_simavr process."""

    process: subprocess.Popen[str]
    pty: str
    signal_mv: NDArray[np.int16]
    stats_path: Path
    stats: dict[str, float] = field(default_factory=dict)

    def finish(self) -> dict[str, float]:
        """Stop the emulator and return its statistics."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stats = json.loads(self.stats_path.read_text())
        return self.stats


@pytest.fixture
def harness(elf: Path, tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    """Factory: start the harness in a bridge mode with a seeded signal."""
    started: list[Harness] = []

    def start(mode: str, seed: int, max_sim_s: float = 3600.0) -> Harness:
        mv = _signal_mv(seed)
        signal_path = tmp_path / f"signal_{seed}.bin"
        mv.tofile(signal_path)
        stats_path = tmp_path / f"stats_{len(started)}.json"
        process = subprocess.Popen(
            [
                str(HARNESS), "--elf", str(elf), "--signal", str(signal_path),
                "--mode", mode, "--period-us", str(PERIOD_US), "--max-sim-s", str(max_sim_s),
                "--max-wall-s", "60", "--stats", str(stats_path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        assert process.stdout is not None
        pty = ""
        deadline = time.monotonic() + 10
        while not pty and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith("PTY "):
                pty = line.split()[1]
        assert pty, "the harness did not report its pseudo-terminal"
        h = Harness(process, pty, mv, stats_path)
        started.append(h)
        return h

    yield start
    for h in started:
        if h.process.poll() is None:
            h.process.kill()
            h.process.wait()
        elif not h.stats and h.stats_path.exists():  # ended on its own: say why
            logging.getLogger(__name__).warning("harness ended: %s", h.stats_path.read_text())
        if h.process.stdout is not None:
            h.process.stdout.close()


def _check_samples_exact(frames: list[SamplesFrame], mv: NDArray[np.int16]) -> int:
    """Every sample equals what the ADC converted at the frame's device time; returns count."""
    expected = _expected_counts(mv)
    n = 0
    for frame in frames:
        # Exactly 1 kHz by the device clock: sample i of sample index j is at j ms after
        # the stream's first sample, which is itself on the 1 ms tick grid.
        k = frame.timestamp_us // PERIOD_US + np.arange(frame.n_times)
        assert frame.timestamp_us % PERIOD_US == 0
        want = expected[k % len(mv)].T
        np.testing.assert_array_equal(frame.counts, want)
        n += frame.n_times
    return n


async def _collect(
    transport: SerialTransport, until: Callable[[list[object]], bool], timeout_s: float
) -> list[object]:
    items: list[object] = []
    deadline = time.monotonic() + timeout_s
    while not until(items):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out; got {len(items)} items"
        items.append(await asyncio.wait_for(transport.__anext__(), remaining))
    return items


def _n_samples(items: list[object]) -> int:
    return sum(i.n_times for i in items if isinstance(i, SamplesFrame))


async def test_adc_to_host_sample_by_sample(harness: Callable[..., Harness]) -> None:
    h = harness("block", seed=7)
    wall_start = time.monotonic()
    transport = SerialTransport(h.pty, baudrate=BAUD, max_reconnect_s=0)
    async with transport:
        items = await _collect(transport, lambda it: _n_samples(it) >= 8000, timeout_s=30)
        await transport.send_command(Command.IDENTIFY)
        await transport.send_command(Command.START)  # already streaming
        items += await _collect(
            transport,
            lambda it: sum(isinstance(i, CommandReplyFrame) for i in it) >= 2,
            timeout_s=10,
        )
        await transport.send_command(Command.STOP)
        items += await _collect(
            transport,
            lambda it: any(isinstance(i, CommandReplyFrame) for i in it),
            timeout_s=10,
        )
        # After STOP's reply only the flushed rest of the stream may follow: take what
        # arrives until the link has been quiet for half a second.
        try:
            while True:
                items.append(await asyncio.wait_for(transport.__anext__(), 0.5))
        except TimeoutError:
            pass
        stats = transport.stats
    wall_s = time.monotonic() - wall_start
    sim = h.finish()

    infos = [i for i in items if isinstance(i, DeviceInfoFrame)]
    assert infos, "no DEVICE_INFO"
    info = infos[-1]
    assert (info.board, info.emg_sfreq, info.adc_bits, info.adc_bipolar) == (
        "uno",
        SFREQ,
        10,
        False,
    )
    assert info.vref_v == 5.0
    assert info.channel_names == ("EMG L", "EMG R")
    # power-up, IDENTIFY, START (connect) and IDENTIFY again
    assert len(infos) == 4

    replies = [i for i in items if isinstance(i, CommandReplyFrame)]
    assert [(Command(r.command), r.result) for r in replies] == [
        (Command.IDENTIFY, ReplyCode.OK),
        (Command.START, ReplyCode.OK),
        (Command.IDENTIFY, ReplyCode.OK),
        (Command.START, ReplyCode.OK),
        (Command.STOP, ReplyCode.OK),
    ]
    assert replies[3].message == "already streaming"

    frames = [i for i in items if isinstance(i, SamplesFrame)]
    assert not [i for i in items if isinstance(i, (SampleGap, FrameGap))]
    assert stats.frames_lost == 0
    assert stats.crc_errors == 0
    assert stats.framing_errors == 0
    # Continuous: first_sample runs 0, 50, 100, ... with no hole and no overlap.
    firsts = np.array([f.first_sample for f in frames])
    sizes = np.array([f.n_times for f in frames])
    assert firsts[0] == 0
    np.testing.assert_array_equal(firsts[1:], np.cumsum(sizes)[:-1])
    # Whole frames of 50 until STOP; then the flush of what was buffered (one conversion
    # may still finish during the flush and follow in a frame of its own).
    stop_at = next(
        n for n, i in enumerate(items) if isinstance(i, CommandReplyFrame) and i.command == 3
    )
    n_before_stop = sum(isinstance(i, SamplesFrame) for i in items[:stop_at])
    assert (sizes[:n_before_stop] == 50).all()
    assert len(sizes) - n_before_stop in (1, 2)
    assert sizes[n_before_stop:].sum() <= 64 + 1  # the Uno's ring, one conversion in flight
    # ... and the device clock advances exactly 1 ms per sample.
    stamps = np.array([f.timestamp_us for f in frames])
    np.testing.assert_array_equal(stamps - stamps[0], firsts * PERIOD_US)
    n = _check_samples_exact(frames, h.signal_mv)
    assert n >= 8000

    counts = _expected_counts(h.signal_mv)
    clipped = np.flatnonzero((counts <= -512).any(axis=1) | (counts >= 511).any(axis=1))
    assert clipped.min() == CLIP_START
    assert clipped.max() == CLIP_STOP - 1
    statuses = [i for i in items if isinstance(i, StatusFrame)]
    assert all(s.overflow_samples == 0 for s in statuses)
    clip_s = CLIP_START * PERIOD_US
    after_clip = [s for s in statuses if s.timestamp_us > clip_s + 50_000]
    assert after_clip
    assert after_clip[0].saturation_mask == 0b10
    assert all(s.saturation_mask == 0 for s in after_clip[1:3])
    assert [s.timestamp_us // 1_000_000 for s in statuses[:5]] == sorted(
        {s.timestamp_us // 1_000_000 for s in statuses[:5]}
    )  # about one per second of device time

    device_s = (stamps[-1] - stamps[0]) / 1e6
    bytes_per_s = stats.bytes_received / max(device_s, 1e-9)
    assert bytes_per_s < 0.25 * BAUD / 10  # 8N1: 10 bits per byte; the stream needs < 25 %
    assert sim["bytes_dropped"] == 0
    assert sim["speed"] > 1.0, sim
    assert wall_s < 30


def test_host_that_stops_reading(harness: Callable[..., Harness]) -> None:
    """The host stops reading: the device holds, overflows into STATUS and does not hang."""
    h = harness("hold", seed=11)
    decoder = StreamDecoder()
    items: list[object] = []
    with serial.Serial(h.pty, BAUD, timeout=0.05) as port:
        port.write(
            b"\x00"
            + encode_frame(CommandFrame(seq=0, timestamp_us=0, command=Command.IDENTIFY))
            + encode_frame(CommandFrame(seq=1, timestamp_us=0, command=Command.START))
        )

        def read_for(seconds: float) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                items.extend(decoder.feed(port.read(65536)))

        read_for(1.0)
        time.sleep(3.0)  # the reader stalls; the emulator keeps running
        read_for(1.5)
        port.write(encode_frame(CommandFrame(seq=2, timestamp_us=0, command=Command.STATUS)))
        read_for(1.0)
    sim = h.finish()

    assert sim["hold_events"] >= 1, sim
    assert sim["held_sim_s"] > 1.0, sim
    assert sim["bytes_dropped"] == 0
    # No hang: device time kept running while nobody read (3 s of wall time at > 1x).
    assert sim["sim_s"] > 5.5, sim

    frames = [i for i in items if isinstance(i, SamplesFrame)]
    gaps = [i for i in items if isinstance(i, SampleGap)]
    statuses = [i for i in items if isinstance(i, StatusFrame)]
    replies = [i for i in items if isinstance(i, CommandReplyFrame)]
    assert decoder.stats.frames_lost == 0
    assert decoder.stats.crc_errors == 0
    assert replies[-1].command == Command.STATUS
    assert replies[-1].result == ReplyCode.OK
    overflow = statuses[-1].overflow_samples
    assert overflow > 500
    # The samples the device discarded are exactly the samples the host sees missing.
    assert sum(g.n_missing for g in gaps) == overflow
    # What did arrive, before and after the gap, is still exactly what the ADC saw.
    assert _check_samples_exact(frames, h.signal_mv) > 2000
