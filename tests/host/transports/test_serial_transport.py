"""SerialTransport against real pseudo-terminals and real pyserial (no mocks)."""

from __future__ import annotations

import asyncio
import os
import select
import sys
import threading
import time
import tty
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import serial

from host.errors import (
    ConfigError,
    DeviceDisconnectedError,
    DeviceTimeoutError,
    PortBusyError,
    PortNotFoundError,
    TransportError,
)
from host.protocol import (
    Command,
    CommandFrame,
    DecodeIssue,
    DeviceInfoFrame,
    Frame,
    FrameGap,
    SampleGap,
    SamplesFrame,
    StreamDecoder,
    cobs_encode,
    encode_frame,
    encode_payload,
)
from host.transports import LinkEvent, SerialTransport, Transport, TransportItem, probe_device

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")


class FakePort:
    """One pseudo-terminal: the transport opens ``slave_path``, the test drives ``master``.

    The test keeps its own descriptor of the slave end open (in raw mode) so that reading
    the master never fails with EIO while the transport is between connections.

    With ``link``, a stable symlink to the slave is made and removed on :meth:`unplug`,
    as udev does for ``/dev/serial/by-id``. Tests that unplug use it, never the
    ``/dev/pts/N`` path itself: the kernel hands that number to the next pseudo-terminal
    opened by any process, and a reconnecting transport would happily open it.
    """

    def __init__(self, link: Path | None = None) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.slave_path = os.ttyname(self._slave)
        self.link = link
        if link is not None:
            point_symlink(link, self.slave_path)
        self.received = bytearray()
        self._decoder = StreamDecoder()
        self._commands: list[CommandFrame] = []
        self.plugged = True

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.master, view)
            view = view[n:]

    def write_frames(self, frames: Sequence[Frame]) -> int:
        data = b"".join(encode_frame(f) for f in frames)
        self.write(data)
        return len(data)

    def read_commands(self, n: int, timeout_s: float = 5.0) -> list[CommandFrame]:
        """Block until ``n`` command frames in total were received from the transport."""
        deadline = time.monotonic() + timeout_s
        while len(self._commands) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"only {len(self._commands)} of {n} commands within {timeout_s} s"
                )
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                chunk = os.read(self.master, 4096)
                self.received += chunk
                for item in self._decoder.feed(chunk):
                    if isinstance(item, CommandFrame):
                        self._commands.append(item)
        return list(self._commands[:n])

    def unplug(self) -> None:
        """Close both ends: the transport's next read fails as for a pulled cable."""
        if self.plugged:
            self.plugged = False
            if self.link is not None:
                self.link.unlink(missing_ok=True)
            os.close(self.master)
            os.close(self._slave)


@pytest.fixture
def make_port() -> Iterator[Callable[..., FakePort]]:
    ports: list[FakePort] = []

    def make(link: Path | None = None) -> FakePort:
        port = FakePort(link)
        ports.append(port)
        return port

    yield make
    for port in ports:
        port.unplug()


@pytest.fixture
def fake_port(make_port: Callable[..., FakePort]) -> FakePort:
    return make_port()


@pytest.fixture
def pluggable_port(make_port: Callable[..., FakePort], tmp_path: Path) -> FakePort:
    """A port reached through a symlink that disappears when it is unplugged."""
    return make_port(tmp_path / "usb-spasmwatch-if00")


def fast_reconnecting(port: str, *, max_reconnect_s: float) -> SerialTransport:
    """Fast backoff keeps the tests quick; the defaults (0.1 s doubling to 2 s) are for people."""
    return SerialTransport(
        port,
        reconnect_initial_s=0.02,
        reconnect_max_interval_s=0.1,
        max_reconnect_s=max_reconnect_s,
    )


def point_symlink(link: Path, target: str) -> None:
    """Atomically (re)point ``link`` at ``target``, as udev does for /dev/serial/by-id."""
    tmp = link.with_name(link.name + ".new")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)


def samples_frame(seq: int, n_times: int = 10, n_channels: int = 2) -> SamplesFrame:
    """A samples frame whose first sample index follows from its sequence number."""
    first = seq * n_times
    counts = (
        np.arange(n_channels * n_times, dtype=np.int32).reshape(n_channels, n_times) + first
    ) % 1000
    return SamplesFrame(seq=seq, timestamp_us=first * 1000, first_sample=first, counts=counts)


async def collect(
    transport: Transport,
    until: Callable[[list[TransportItem]], bool],
    timeout_s: float = 5.0,
) -> list[TransportItem]:
    """Iterate ``transport`` until ``until(items)`` holds (bounded wait)."""
    items: list[TransportItem] = []
    async with asyncio.timeout(timeout_s):
        async for item in transport:
            items.append(item)
            if until(items):
                break
    return items


async def drain(transport: Transport, items: list[TransportItem], timeout_s: float = 5.0) -> None:
    """Iterate ``transport`` to its end, appending to ``items`` (bounded wait)."""
    async with asyncio.timeout(timeout_s):
        async for item in transport:
            items.append(item)


def frames_of(items: list[TransportItem]) -> list[SamplesFrame]:
    return [i for i in items if isinstance(i, SamplesFrame)]


def links(items: list[TransportItem]) -> list[str]:
    return [i.kind for i in items if isinstance(i, LinkEvent)]


def device_info(seq: int = 0) -> DeviceInfoFrame:
    return DeviceInfoFrame(
        seq=seq,
        timestamp_us=0,
        firmware_version=(1, 2, 3),
        device_id=0xABCDEF,
        emg_sfreq=1000.0,
        channel_names=("L_ES", "R_ES"),
        adc_bits=16,
        adc_bipolar=True,
        vref_v=2.4,
        gain=12.0,
        board="pty-test",
    )


# -- data path -----------------------------------------------------------------------------


async def test_frames_arrive_decoded_in_order_and_commands_reach_the_device(
    fake_port: FakePort,
) -> None:
    async with SerialTransport(fake_port.slave_path) as transport:
        commands = await asyncio.to_thread(fake_port.read_commands, 2)
        # The flush byte comes first, then IDENTIFY and START with the host's own counter.
        assert fake_port.received[:1] == b"\x00"
        assert [c.command for c in commands] == [Command.IDENTIFY, Command.START]
        assert [c.seq for c in commands] == [0, 1]
        sent = [samples_frame(seq) for seq in range(50)]
        n_bytes = fake_port.write_frames(sent)
        items = await collect(transport, lambda items: len(frames_of(items)) == 50)
        assert isinstance(items[0], LinkEvent)
        assert items[0].kind == "connected"
        assert fake_port.slave_path in items[0].detail
        assert frames_of(items) == sent
        assert not [i for i in items if isinstance(i, FrameGap | SampleGap | DecodeIssue)]
        assert transport.stats.frames_received == 50
        assert transport.stats.frames_lost == 0
        assert transport.link.bytes_received == n_bytes
        assert transport.link.bytes_sent == len(fake_port.received)
        assert transport.link.connects == 1
        assert transport.is_connected
        assert transport.port == fake_port.slave_path


async def test_device_info_is_remembered(fake_port: FakePort) -> None:
    async with SerialTransport(fake_port.slave_path) as transport:
        assert transport.device_info is None
        await asyncio.to_thread(fake_port.read_commands, 2)
        fake_port.write_frames([device_info(seq=0)])
        await collect(transport, lambda items: isinstance(items[-1], DeviceInfoFrame))
        assert transport.device_info == device_info(seq=0)


async def test_send_command_continues_the_host_sequence(fake_port: FakePort) -> None:
    async with SerialTransport(fake_port.slave_path) as transport:
        sent = await transport.send_command(Command.SET_RATE, rate_hz=500.0)
        commands = await asyncio.to_thread(fake_port.read_commands, 3)
    assert commands[2] == sent
    assert (sent.seq, sent.command, sent.rate_hz) == (2, Command.SET_RATE, 500.0)


async def test_garbage_and_corrupt_frames_are_counted_and_skipped(fake_port: FakePort) -> None:
    async with SerialTransport(fake_port.slave_path) as transport:
        await asyncio.to_thread(fake_port.read_commands, 2)
        payload = bytearray(encode_payload(samples_frame(2)))
        payload[20] ^= 0x55  # one flipped bit pattern in the body: the CRC no longer matches
        corrupt = cobs_encode(bytes(payload)) + b"\x00"
        fake_port.write(
            encode_frame(samples_frame(0))
            + b"line noise \xff\xfe\x00"  # garbage between frames
            + encode_frame(samples_frame(1))
            + bytes(corrupt)
            + b"\x00\x00"  # empty blocks are only delimiters
            + encode_frame(samples_frame(3))
        )
        items = await collect(transport, lambda items: len(frames_of(items)) == 3)
        assert [f.seq for f in frames_of(items)] == [0, 1, 3]
        stats = transport.stats
        assert stats.crc_errors == 1
        assert stats.framing_errors + stats.crc_errors + stats.malformed >= 2
        assert stats.frames_lost == 1  # the corrupt frame's sequence number never arrived
        assert [i.kind for i in items if isinstance(i, DecodeIssue)][-1] == "crc"
        # ...and the stream goes on.
        fake_port.write_frames([samples_frame(4)])
        more = await collect(transport, lambda items: len(frames_of(items)) == 1)
        assert [f.seq for f in frames_of(more)] == [4]


async def test_slow_consumer_drops_oldest_items_but_keeps_link_events(
    fake_port: FakePort,
) -> None:
    async with SerialTransport(fake_port.slave_path, queue_size=8) as transport:
        await asyncio.to_thread(fake_port.read_commands, 2)
        n_bytes = fake_port.write_frames([samples_frame(seq) for seq in range(30)])
        async with asyncio.timeout(5):
            while transport.link.bytes_received < n_bytes:  # the reader never waits for us
                await asyncio.sleep(0.005)
        assert transport.link.items_dropped == 23
        items = await collect(transport, lambda items: len(items) == 8)
    assert links(items) == ["connected"]
    assert [f.seq for f in frames_of(items)] == list(range(23, 30))
    assert transport.stats.frames_received == 30  # the decoder saw everything


# -- reconnection --------------------------------------------------------------------------


async def test_reconnects_through_a_repointed_symlink_and_accounts_for_the_outage(
    make_port: Callable[..., FakePort], tmp_path: Path
) -> None:
    link = tmp_path / "usb-spasmwatch-if00"
    first = make_port(link)
    async with fast_reconnecting(str(link), max_reconnect_s=10.0) as transport:
        await asyncio.to_thread(first.read_commands, 2)
        first.write_frames([samples_frame(seq) for seq in range(5)])
        # A half-sent frame when the cable is pulled: discarded, not mistaken for data.
        first.write(encode_frame(samples_frame(5))[:20])
        before = await collect(transport, lambda items: len(frames_of(items)) == 5)
        first.unplug()
        down = await collect(transport, lambda items: "disconnected" in links(items))
        second = make_port(link)  # plugged back: udev points the stable name at it
        commands = await asyncio.to_thread(second.read_commands, 2)
        assert [c.command for c in commands] == [Command.IDENTIFY, Command.START]
        # Frames 5..9 were "sent while unplugged"; the device carries on at 10.
        second.write_frames([samples_frame(seq) for seq in range(10, 15)])
        after = await collect(transport, lambda items: len(frames_of(items)) == 5)

    assert [f.seq for f in frames_of(before)] == list(range(5))
    assert links(before) == ["connected"]
    assert links(down)[-1] == "disconnected"
    assert "connected" in links(after)
    assert [f.seq for f in frames_of(after)] == list(range(10, 15))
    gaps = [i for i in after if isinstance(i, FrameGap)]
    assert gaps == [FrameGap(first_missing_seq=5, n_missing=5, next_seq=10)]
    sample_gaps = [i for i in after if isinstance(i, SampleGap)]
    assert [(g.first_missing_sample, g.n_missing) for g in sample_gaps] == [(50, 50)]
    assert not [i for i in after if isinstance(i, DecodeIssue)]  # the half frame was dropped
    stats = transport.stats
    assert (stats.frames_received, stats.frames_lost, stats.samples_lost) == (10, 5, 50)
    link_counters = transport.link
    assert (link_counters.connects, link_counters.disconnects, link_counters.reconnects) == (
        2,
        1,
        1,
    )
    assert link_counters.reconnect_attempts >= 1
    connected = [i for i in after if isinstance(i, LinkEvent) and i.kind == "connected"][0]
    disconnected = [i for i in down if isinstance(i, LinkEvent) and i.kind == "disconnected"][0]
    assert 0 < connected.monotonic_s - disconnected.monotonic_s < 5


async def test_send_while_disconnected_raises_device_disconnected(
    pluggable_port: FakePort,
) -> None:
    async with fast_reconnecting(str(pluggable_port.link), max_reconnect_s=10.0) as transport:
        await asyncio.to_thread(pluggable_port.read_commands, 2)
        pluggable_port.unplug()
        await collect(transport, lambda items: "disconnected" in links(items))
        assert not transport.is_connected
        with pytest.raises(DeviceDisconnectedError, match="link is down"):
            await transport.send_command(Command.STATUS)


async def test_gives_up_after_max_reconnect_s(pluggable_port: FakePort) -> None:
    transport = fast_reconnecting(str(pluggable_port.link), max_reconnect_s=0.2)
    items: list[TransportItem] = []
    async with transport:
        await asyncio.to_thread(pluggable_port.read_commands, 2)
        pluggable_port.unplug()
        with pytest.raises(DeviceDisconnectedError, match="did not come back within 0.2 s"):
            await drain(transport, items)
        kinds = links(items)
        assert kinds[:2] == ["connected", "disconnected"]
        assert kinds[-1] == "gave_up"
        assert set(kinds[2:-1]) == {"reconnecting"}
        assert transport.link.reconnect_attempts == len(kinds) - 3
        gave_up = items[-1]
        disconnected = items[1]
        assert isinstance(gave_up, LinkEvent)
        assert isinstance(disconnected, LinkEvent)
        assert 0.2 <= gave_up.monotonic_s - disconnected.monotonic_s < 2.0
        with pytest.raises(DeviceDisconnectedError):  # and keeps saying so
            await anext(transport)


# -- errors --------------------------------------------------------------------------------


async def test_nonexistent_port_raises_port_not_found(tmp_path: Path) -> None:
    path = str(tmp_path / "ttyUSB9")
    with pytest.raises(PortNotFoundError, match="does not exist") as info:
        await SerialTransport(path).open()
    assert path in str(info.value)
    assert "available ports" in str(info.value)


async def test_unknown_usb_id_raises_port_not_found() -> None:
    with pytest.raises(PortNotFoundError, match="fffe:fffd"):
        await SerialTransport(vid_pid="fffe:fffd").open()


async def test_port_held_exclusively_elsewhere_raises_port_busy(fake_port: FakePort) -> None:
    holder = serial.Serial(fake_port.slave_path, exclusive=True)
    try:
        with pytest.raises(PortBusyError, match="busy") as info:
            await SerialTransport(fake_port.slave_path).open()
        assert fake_port.slave_path in str(info.value)
    finally:
        holder.close()


async def test_our_exclusive_open_keeps_others_out(fake_port: FakePort) -> None:
    async with SerialTransport(fake_port.slave_path):
        with pytest.raises(PortBusyError):
            await SerialTransport(fake_port.slave_path).open()


async def test_iterating_before_open_is_an_error(fake_port: FakePort) -> None:
    transport = SerialTransport(fake_port.slave_path)
    with pytest.raises(TransportError, match="not open"):
        await anext(transport)
    with pytest.raises(TransportError, match="not open"):
        await transport.send_command(Command.STATUS)


def test_bad_arguments_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        SerialTransport()
    with pytest.raises(ConfigError, match="exactly one"):
        SerialTransport("/dev/ttyACM0", vid_pid="2341:0043")
    with pytest.raises(ConfigError, match="VID:PID"):
        SerialTransport(vid_pid="arduino")
    with pytest.raises(ConfigError, match="baudrate"):
        SerialTransport("/dev/ttyACM0", baudrate=0)
    with pytest.raises(ConfigError, match="max_reconnect_s"):
        SerialTransport("/dev/ttyACM0", max_reconnect_s=-1.0)


# -- closing -------------------------------------------------------------------------------


async def test_close_is_idempotent_prompt_and_ends_iteration(fake_port: FakePort) -> None:
    transport = SerialTransport(fake_port.slave_path)
    await transport.open()
    await asyncio.to_thread(fake_port.read_commands, 2)
    waiter = asyncio.create_task(collect(transport, lambda items: False))
    await asyncio.sleep(0.05)  # let the waiter block on an empty queue
    started = time.monotonic()
    await transport.close()
    elapsed = time.monotonic() - started
    await transport.close()
    items = await waiter  # iteration ended instead of hanging
    assert links(items) == ["connected"]
    assert elapsed < 0.5
    assert not transport.is_connected
    assert not [t for t in threading.enumerate() if t.name.startswith("spasmwatch-serial")]
    # The port is free again.
    serial.Serial(fake_port.slave_path, exclusive=True).close()
    with pytest.raises(TransportError, match="cannot be reopened"):
        await transport.open()


async def test_close_during_backoff_is_prompt(pluggable_port: FakePort) -> None:
    transport = SerialTransport(
        str(pluggable_port.link), reconnect_initial_s=5.0, reconnect_max_interval_s=5.0
    )
    await transport.open()
    pluggable_port.unplug()
    await collect(transport, lambda items: "disconnected" in links(items))
    started = time.monotonic()
    await transport.close()
    assert time.monotonic() - started < 0.5


# -- probing -------------------------------------------------------------------------------


def answer_identify(port: FakePort, info: DeviceInfoFrame) -> threading.Thread:
    """Play a device that answers IDENTIFY with its DEVICE_INFO."""

    def run() -> None:
        commands = port.read_commands(1)
        assert commands[0].command is Command.IDENTIFY
        port.write_frames([info])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


async def test_probe_returns_device_info_without_starting_the_stream(
    fake_port: FakePort,
) -> None:
    responder = answer_identify(fake_port, device_info())
    transport = SerialTransport(fake_port.slave_path, connect_commands=(), max_reconnect_s=0)
    info = await probe_device(transport, timeout_s=5.0)
    await asyncio.to_thread(responder.join, 5)
    assert info == device_info()
    assert info.board == "pty-test"
    assert fake_port.received.count(b"\x00") >= 2  # flush byte + one frame
    assert [c.command for c in fake_port.read_commands(1)] == [Command.IDENTIFY]


async def test_probe_times_out_on_a_silent_port(fake_port: FakePort) -> None:
    transport = SerialTransport(fake_port.slave_path, connect_commands=())
    started = time.monotonic()
    with pytest.raises(DeviceTimeoutError, match="no DEVICE_INFO answer"):
        await probe_device(transport, timeout_s=0.2)
    assert time.monotonic() - started < 1.0
