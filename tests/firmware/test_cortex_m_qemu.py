"""Firmware in the loop on Cortex-M: the portable core on QEMU's mps2-an385 (Cortex-M3).

``firmware/qemu`` builds the core with a bare-metal board layer: SysTick paces sampling,
the "ADC" reads a signal file over ARM semihosting (the row at each sample's device time),
a second file feeds the accelerometer, and UART0 is a TCP server. One QEMU run per module
plays a scripted session (IDENTIFY, START, streaming, malformed and unknown commands,
SET_RATE, STOP) through pyserial's ``socket://`` URL and the host's
:class:`~host.protocol.StreamDecoder`; the tests then check what the host decoded against
the signal files sample by sample.

The tests fail (never skip) when ``make``, ``arm-none-eabi-gcc`` or ``qemu-system-arm`` is
missing.
"""

from __future__ import annotations

import re
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest
import serial
from numpy.typing import NDArray

from host.protocol import (
    AccelFrame,
    Command,
    CommandFrame,
    CommandReplyFrame,
    DeviceInfoFrame,
    ReplyCode,
    SamplesFrame,
    StatusFrame,
    StreamDecoder,
    cobs_encode,
    crc32,
    encode_frame,
)
from host.protocol.decoder import DecoderItem

_F = TypeVar("_F")

QEMU_DIR = Path(__file__).resolve().parents[2] / "firmware" / "qemu"
ELF = QEMU_DIR / "build" / "spasmwatch_qemu.elf"
ADC_BITS = 12
MID = 1 << (ADC_BITS - 1)
EMG_ROWS = 20_000  # 20 s at 1 kHz, longer than the session: no wrap-around in the check
ACCEL_ROWS = 2_000
STREAM_SAMPLES = 2000  # sample times to collect at 1 kHz (device time, not wall time)
RATE_SAMPLES = 500  # and at 500 Hz after SET_RATE
TOOLS = ("make", "arm-none-eabi-gcc", "qemu-system-arm")


def _require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"the Cortex-M firmware test needs {', '.join(missing)} on PATH; install the "
            "Debian packages gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm "
            "(.ci/run lists them)"
        )


def _build() -> subprocess.CompletedProcess[str]:
    _require_tools()
    result = subprocess.run(
        ["make", "-C", str(QEMU_DIR)], capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"make -C firmware/qemu failed:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class Session:
    """What the host received during the scripted QEMU session, phase by phase."""

    emg_raw: NDArray[np.uint16]
    accel: NDArray[np.int16]
    phases: dict[str, list[DecoderItem]] = field(default_factory=dict)
    decoder: StreamDecoder = field(default_factory=StreamDecoder)
    wall_s: float = 0.0

    def frames(self, phase: str, kind: type[_F]) -> list[_F]:
        return [item for item in self.phases[phase] if isinstance(item, kind)]

    def replies(self, phase: str) -> list[CommandReplyFrame]:
        return [i for i in self.phases[phase] if isinstance(i, CommandReplyFrame)]


def _raw_command(seq: int, code: int, args: bytes) -> bytes:
    """An encoded COMMAND frame with any code and arguments (for malformed requests)."""
    payload = struct.pack("<BBIQ", 1, 0x10, seq, 0) + bytes([code]) + args
    payload += struct.pack("<I", crc32(payload))
    return cobs_encode(payload) + b"\x00"


def _signals(rng: np.random.Generator) -> tuple[NDArray[np.uint16], NDArray[np.int16]]:
    """EMG codes: channel 0 reaches both ADC limits, channel 1 never does."""
    emg = np.empty((EMG_ROWS, 2), dtype=np.uint16)
    emg[:, 0] = rng.integers(0, 1 << ADC_BITS, size=EMG_ROWS)
    emg[::97, 0] = 0
    emg[50::97, 0] = (1 << ADC_BITS) - 1
    emg[:, 1] = rng.integers(1, (1 << ADC_BITS) - 1, size=EMG_ROWS)
    accel = rng.integers(-32768, 32768, size=(ACCEL_ROWS, 3)).astype(np.int16)
    return emg, accel


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """Build the image, run it in QEMU and play the scripted session once."""
    _build()
    tmp = tmp_path_factory.mktemp("qemu")
    emg, accel = _signals(np.random.default_rng(20240611))
    emg_path, accel_path = tmp / "emg.bin", tmp / "accel.bin"
    emg.astype("<u2").tofile(emg_path)
    accel.astype("<i2").tofile(accel_path)
    port = _free_port()
    log_path = tmp / "qemu.log"
    argv = [
        "qemu-system-arm",
        "-M",
        "mps2-an385",
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        f"tcp:127.0.0.1:{port},server=on,wait=on",
        "-semihosting-config",
        f"enable=on,target=native,arg=spasmwatch,arg={emg_path},arg={accel_path}",
        "-kernel",
        str(ELF),
    ]
    rec = Session(emg_raw=emg, accel=accel)
    started = time.monotonic()
    with log_path.open("w") as log:
        qemu = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        link = None
        try:
            deadline = time.monotonic() + 10.0
            while link is None:
                try:
                    link = serial.serial_for_url(f"socket://127.0.0.1:{port}", timeout=0.05)
                except serial.SerialException:
                    if qemu.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"QEMU did not open its UART socket: {log_path.read_text()}")
                    time.sleep(0.05)
            _play(rec, link, qemu, log_path)
        finally:
            if link is not None:
                link.close()
            qemu.kill()
            qemu.wait(timeout=10)
    rec.wall_s = time.monotonic() - started
    return rec


def _play(rec: Session, link: serial.Serial, qemu: subprocess.Popen[bytes], log_path: Path) -> None:
    seq = 0

    def send(data: bytes) -> None:
        link.write(data)

    def command(code: Command, rate_hz: float = 0.0) -> bytes:
        nonlocal seq
        frame = encode_frame(CommandFrame(seq=seq, timestamp_us=0, command=code, rate_hz=rate_hz))
        seq += 1
        return frame

    def collect(phase: str, until: Callable[[list[DecoderItem]], bool], timeout_s: float) -> None:
        items = rec.phases.setdefault(phase, [])
        deadline = time.monotonic() + timeout_s
        while not until(items):
            if qemu.poll() is not None:
                pytest.fail(f"QEMU exited during '{phase}': {log_path.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out in phase '{phase}'; received {items[-5:]}")
            items.extend(rec.decoder.feed(link.read(4096)))

    def n_replies(n: int) -> Callable[[list[DecoderItem]], bool]:
        return lambda items: sum(isinstance(i, CommandReplyFrame) for i in items) >= n

    def streamed(duration_s: float) -> Callable[[list[DecoderItem]], bool]:
        t_end = time.monotonic() + duration_s
        return lambda items: time.monotonic() >= t_end

    def sampled(n_times: int, after: type | None = None) -> Callable[[list[DecoderItem]], bool]:
        """True once n_times sample times arrived (after the first `after` item, if given)."""

        def done(items: list[DecoderItem]) -> bool:
            start = 0
            if after is not None:
                marks = [i for i, item in enumerate(items) if isinstance(item, after)]
                if not marks:
                    return False
                start = marks[0]
            got = sum(i.n_times for i in items[start:] if isinstance(i, SamplesFrame))
            return got >= n_times

        return done

    send(b"\x00" + command(Command.IDENTIFY))
    collect("identify", lambda items: any(isinstance(i, DeviceInfoFrame) for i in items[1:]), 5)
    send(command(Command.START))
    collect("stream", n_replies(1), 5)
    # QEMU's clock follows the host's only loosely (slower on a busy machine): wait for a
    # number of samples, never for a wall-clock duration.
    collect("stream", sampled(STREAM_SAMPLES), 30)
    # Requests the device must refuse, while it streams.
    send(_raw_command(seq, 0x7F, b""))  # unknown command code
    send(_raw_command(seq + 1, int(Command.IDENTIFY), b"\x01"))  # IDENTIFY takes no argument
    send(_raw_command(seq + 2, int(Command.SET_RATE), struct.pack("<I", 333_000)))
    seq += 3
    send(command(Command.START))  # already streaming
    collect("refused", n_replies(4), 5)
    send(command(Command.SET_RATE, rate_hz=500.0))
    collect("rate", n_replies(1), 5)
    collect("rate", sampled(RATE_SAMPLES, after=DeviceInfoFrame), 30)
    send(command(Command.STOP))
    collect("stop", n_replies(1), 5)
    collect("after_stop", streamed(0.5), 5)


def _check_samples(rec: Session, frames: list[SamplesFrame], period_us: int) -> int:
    """Contiguous indices from 0, exact device-clock spacing, counts equal to the file."""
    assert frames, "no SAMPLES frames"
    t0 = frames[0].timestamp_us
    expected_first = 0
    n = 0
    for frame in frames:
        assert frame.first_sample == expected_first, "sample indices are not contiguous"
        assert frame.timestamp_us == t0 + frame.first_sample * period_us, "device clock drift"
        times = frame.timestamp_us + period_us * np.arange(frame.n_times)
        rows = (times // 1000) % EMG_ROWS
        expected = rec.emg_raw[rows].T.astype(np.int32) - MID
        np.testing.assert_array_equal(np.asarray(frame.counts, dtype=np.int32), expected)
        expected_first += frame.n_times
        n += frame.n_times
    return n


def test_build_fits_and_reports_size() -> None:
    result = _build()
    match = re.search(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+[0-9a-f]+\s+\S+$", result.stdout, re.M)
    assert match, f"no arm-none-eabi-size line in: {result.stdout}"
    text, data = int(match.group(1)), int(match.group(2))
    # The core and its bare-metal board need no more than 16 KiB of code.
    assert 1_000 < text + data < 16 * 1024


def test_identify_answered_with_device_info(session: Session) -> None:
    replies = session.replies("identify")
    assert [(r.command, r.result) for r in replies] == [(int(Command.IDENTIFY), ReplyCode.OK)]
    info = session.frames("identify", DeviceInfoFrame)[-1]
    assert info.board == "qemu-mps2-an385"
    assert info.channel_names == ("EMG L", "EMG R")
    assert (info.emg_sfreq, info.adc_bits, info.adc_bipolar) == (1000.0, ADC_BITS, False)
    assert info.accel_sfreq == 100.0


def _split_at_rate_change(session: Session) -> tuple[list[SamplesFrame], list[SamplesFrame]]:
    """SAMPLES frames at 1 kHz (before SET_RATE took effect) and at 500 Hz (after)."""
    before: list[SamplesFrame] = []
    after: list[SamplesFrame] = []
    target = before
    for phase in ("stream", "refused", "rate", "stop"):
        for item in session.phases[phase]:
            if phase == "rate" and isinstance(item, DeviceInfoFrame):
                target = after
            elif isinstance(item, SamplesFrame):
                target.append(item)
    return before, after


def test_stream_is_exact_and_lossless(session: Session) -> None:
    frames, _ = _split_at_rate_change(session)
    n = _check_samples(session, frames, period_us=1000)
    assert n >= STREAM_SAMPLES
    stats = session.decoder.stats
    assert stats.frames_lost == 0
    assert stats.crc_errors == 0
    assert stats.framing_errors == 0
    assert stats.samples_lost == 0


def test_sequence_numbers_are_continuous(session: Session) -> None:
    seqs = [
        item.seq
        for phase in session.phases.values()
        for item in phase
        if isinstance(item, SamplesFrame | AccelFrame | StatusFrame | DeviceInfoFrame)
        or isinstance(item, CommandReplyFrame)
    ]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_accelerometer_follows_its_file(session: Session) -> None:
    frames = session.frames("stream", AccelFrame)
    assert frames, "no ACCEL frames"
    expected_first = 0
    for frame in frames:
        assert frame.first_sample == expected_first
        times = frame.timestamp_us + 10_000 * np.arange(frame.n_times)
        assert np.all(times % 10_000 == 0)
        expected = session.accel[(times // 10_000) % ACCEL_ROWS].T
        np.testing.assert_array_equal(np.asarray(frame.counts), expected)
        expected_first += frame.n_times


def test_status_reports_clipping_of_the_clipping_channel_only(session: Session) -> None:
    statuses = session.frames("stream", StatusFrame)
    assert len(statuses) >= 2
    assert all(s.overflow_samples == 0 for s in statuses)
    assert any(s.saturation_mask & 0b01 for s in statuses)
    assert not any(s.saturation_mask & 0b10 for s in statuses)
    gaps = np.diff([s.timestamp_us for s in statuses])
    assert np.all(gaps <= 1_100_000), "STATUS not sent every second while streaming"


def test_bad_requests_are_refused(session: Session) -> None:
    replies = {r.command: r for r in session.replies("refused")}
    assert replies[0x7F].result == ReplyCode.UNKNOWN_COMMAND
    assert replies[int(Command.IDENTIFY)].result == ReplyCode.BAD_ARGUMENT
    assert replies[int(Command.SET_RATE)].result == ReplyCode.BAD_ARGUMENT
    assert replies[int(Command.START)].result == ReplyCode.OK
    assert replies[int(Command.START)].message == "already streaming"


def test_set_rate_restarts_at_the_new_rate(session: Session) -> None:
    (reply,) = session.replies("rate")
    assert reply.result == ReplyCode.OK
    info = session.frames("rate", DeviceInfoFrame)
    assert info
    assert info[-1].emg_sfreq == 500.0
    _, frames = _split_at_rate_change(session)
    n = _check_samples(session, frames, period_us=2000)
    assert n >= RATE_SAMPLES


def test_stop_ends_sampling(session: Session) -> None:
    (reply,) = session.replies("stop")
    assert reply.result == ReplyCode.OK
    late = [
        f
        for f in session.frames("stop", SamplesFrame) + session.frames("after_stop", SamplesFrame)
        if f.timestamp_us + 2000 * (f.n_times - 1) > reply.timestamp_us
    ]
    assert late == [], "samples taken after STOP was answered"
    assert session.frames("after_stop", SamplesFrame) == []


def test_session_is_fast(session: Session) -> None:
    # 3.5 s of device time; QEMU runs near real time, slower when the machine is busy.
    assert session.wall_s < 40.0
