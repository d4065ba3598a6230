"""The transport contract, the URL factory and port discovery (no device needed)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from host.errors import ConfigError, DeviceDisconnectedError
from host.protocol import Command, CommandFrame, Frame, SamplesFrame, encode_frame
from host.transports import (
    SUPPORTED_SCHEMES,
    LinkEvent,
    SerialTransport,
    Transport,
    TransportItem,
    list_serial_ports,
    open_transport,
    parse_vid_pid,
)
from host.transports.discovery import describe_available_ports, format_vid_pid


class MemoryTransport(Transport):
    """The smallest backend: bytes are pushed in by the test, sent frames are kept."""

    def __init__(self, queue_size: int = 16) -> None:
        super().__init__(queue_size=queue_size)
        self.sent: list[Frame] = []

    @property
    def url(self) -> str:
        return "memory://test"

    async def open(self) -> None:
        self._mark_open()
        self._emit(LinkEvent("connected", "memory", time.monotonic()))

    async def close(self) -> None:
        self._mark_closed()

    async def send(self, frame: Frame) -> None:
        self.sent.append(frame)


def samples(seq: int) -> SamplesFrame:
    return SamplesFrame(
        seq=seq, timestamp_us=seq, first_sample=4 * seq, counts=np.full((2, 4), seq)
    )


async def test_items_flow_through_the_base_class() -> None:
    async with MemoryTransport() as transport:
        transport._receive_bytes(b"".join(encode_frame(samples(s)) for s in (0, 1, 3)))
        items = [await anext(transport) for _ in range(6)]
    assert isinstance(items[0], LinkEvent)
    assert [type(i).__name__ for i in items[1:]] == [
        "SamplesFrame",
        "SamplesFrame",
        "FrameGap",
        "SampleGap",
        "SamplesFrame",
    ]
    assert transport.stats.frames_received == 3
    assert transport.stats.frames_lost == 1
    assert transport.link.connects == 1


async def test_send_command_stamps_a_host_sequence() -> None:
    async with MemoryTransport() as transport:
        first = await transport.send_command(Command.IDENTIFY)
        second = await transport.send_command(Command.SET_RATE, rate_hz=250.0)
    assert transport.sent == [first, second]
    assert isinstance(second, CommandFrame)
    assert (first.seq, second.seq, second.rate_hz) == (0, 1, 250.0)
    assert second.timestamp_us >= first.timestamp_us


async def test_full_queue_drops_oldest_data_and_counts_it() -> None:
    async with MemoryTransport(queue_size=4) as transport:
        transport._receive_bytes(b"".join(encode_frame(samples(s)) for s in range(10)))
        items: list[TransportItem] = [await anext(transport) for _ in range(4)]
    assert isinstance(items[0], LinkEvent)
    assert [i.seq for i in items[1:] if isinstance(i, SamplesFrame)] == [7, 8, 9]
    assert transport.link.items_dropped == 7


async def test_failure_is_raised_after_the_queued_items() -> None:
    transport = MemoryTransport()
    await transport.open()
    transport._emit(LinkEvent("gave_up", "gone", time.monotonic()))
    transport._fail(DeviceDisconnectedError("device gone"))
    assert (await anext(transport)).kind == "connected"  # type: ignore[union-attr]
    assert (await anext(transport)).kind == "gave_up"  # type: ignore[union-attr]
    with pytest.raises(DeviceDisconnectedError, match="device gone"):
        await anext(transport)
    await transport.close()
    with pytest.raises(StopAsyncIteration):
        await anext(transport)


def test_link_event_rejects_unknown_kinds() -> None:
    with pytest.raises(ConfigError, match="'kind'"):
        LinkEvent("exploded", "", 0.0)  # type: ignore[arg-type]


def test_link_counters_are_json_ready() -> None:
    counters = MemoryTransport().link
    assert json.loads(json.dumps(counters.as_dict()))["reconnects"] == 0


# -- URL factory ---------------------------------------------------------------------------


def test_open_transport_serial_path() -> None:
    transport = open_transport("serial:///dev/serial/by-id/usb-x-if00?baudrate=921600")
    assert isinstance(transport, SerialTransport)
    assert transport.url == "serial:///dev/serial/by-id/usb-x-if00"
    assert transport._baudrate == 921600


def test_open_transport_usb_id_and_windows_port() -> None:
    assert open_transport("serial://2341:0043").url == "serial://2341:0043"
    assert open_transport("serial://COM3").url == "serial://COM3"


@pytest.mark.parametrize("url", ["usb://AA:BB", "/dev/ttyACM0", "http://example.org"])
def test_open_transport_names_the_supported_schemes(url: str) -> None:
    with pytest.raises(ConfigError, match="supported schemes are serial://, sim://, replay://"):
        open_transport(url)
    assert {"serial", "sim", "replay"} <= set(SUPPORTED_SCHEMES)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("serial://", "expected a device path"),
        ("serial:///dev/ttyACM0?speed=9600", "speed"),
        ("serial:///dev/ttyACM0?baudrate=fast", "'baudrate' .* expected an integer"),
        ("sim://", "expected a scenario"),
        ("sim://no-such-scenario", "'no-such-scenario'.*'quick'"),
        ("sim://quick?speed=-1", "speed must be a real-time factor"),
        ("sim://quick?loop=maybe", "expected 0 or 1"),
        ("sim://quick?rate=3", "sim:// URLs accept speed"),
        ("replay://", "expected a capture file"),
        ("replay:///tmp/x.bin", "expected a capture file ending in .sw1"),
        ("replay:///tmp/x.sw1?speed=fast", "expected a number"),
        ("serial:///dev/ttyACM0?serial_number=123", "needs a USB VID:PID"),
        ("serial://zz:0043", "VID:PID"),
    ],
)
def test_open_transport_rejects_malformed_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_transport(url)


# -- discovery -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2341:0043", (0x2341, 0x0043)), ("2E8A:a", (0x2E8A, 0xA)), (" 0483:5740 ", (0x483, 0x5740))],
)
def test_parse_vid_pid(text: str, expected: tuple[int, int]) -> None:
    assert parse_vid_pid(text) == expected
    assert parse_vid_pid(format_vid_pid(*expected)) == expected


@pytest.mark.parametrize("text", ["", "2341", "2341:", "2341:0043:1", "12345:1", "xyz:0043"])
def test_parse_vid_pid_rejects_malformed_ids(text: str) -> None:
    with pytest.raises(ConfigError, match="expected VID:PID"):
        parse_vid_pid(text)


def test_list_serial_ports_is_json_ready() -> None:
    ports = list_serial_ports()
    for port in ports:
        entry = json.loads(json.dumps(port.as_dict()))
        assert entry["path"] == port.path
        assert entry["likely_spasmwatch"] in ("yes", "maybe", "no")
    assert isinstance(describe_available_ports(), str)
