"""The virtual radio, wearable and bumble-backed bleak backends, through bleak's own API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError
from bumble import hci
from bumble.core import AdvertisingData
from bumble.device import Advertisement

from host.errors import ConfigError
from host.protocol import Command, CommandFrame, StreamDecoder, encode_frame
from host.protocol.gatt import (
    BATTERY_LEVEL_UUID,
    BATTERY_SERVICE_UUID,
    COMMAND_CHAR_UUID,
    DATA_CHAR_UUID,
    DEVICE_INFORMATION_SERVICE_UUID,
    SERIAL_NUMBER_UUID,
    SERVICE_UUID,
    advertised_name,
    is_ble_address,
    uuid16,
)
from host.simulator.ble import BleWearable, VirtualRadio
from host.simulator.ble.backend import advertisement_data
from host.simulator.device import DeviceConfig, SimulatedDevice
from host.simulator.scenario import builtin_scenario

DEVICE_ID = 0x0123_4567_89AB_CDEF


@pytest.fixture
async def radio() -> AsyncIterator[VirtualRadio]:
    radio = VirtualRadio()
    yield radio
    await radio.close()


@pytest.fixture
async def wearable(radio: VirtualRadio, known_factory: Any) -> BleWearable:
    device = SimulatedDevice(
        builtin_scenario("quick"), DeviceConfig(device_id=DEVICE_ID), body_factory=known_factory()
    )
    wearable = BleWearable(device, radio, speed=0)
    await wearable.start()
    return wearable  # the radio stops it


async def test_gatt_database_through_bleak(radio: VirtualRadio, wearable: BleWearable) -> None:
    device = await BleakScanner.find_device_by_name(
        wearable.name, timeout=2.0, backend=radio.scanner_backend
    )
    assert device is not None
    assert device.address == wearable.address
    async with BleakClient(device, backend=radio.client_backend) as client:
        assert client.mtu_size == 247
        service = client.services.get_service(SERVICE_UUID)
        assert service is not None
        assert service.get_characteristic(DATA_CHAR_UUID).properties == ["notify"]
        assert service.get_characteristic(COMMAND_CHAR_UUID).properties == ["write"]
        assert client.services.get_service(BATTERY_SERVICE_UUID) is not None
        info = client.services.get_service(DEVICE_INFORMATION_SERVICE_UUID)
        assert info is not None
        serial = await client.read_gatt_char(info.get_characteristic(SERIAL_NUMBER_UUID))
        assert serial.decode() == f"{DEVICE_ID:016X}"
        assert (await client.read_gatt_char(BATTERY_LEVEL_UUID)) == bytearray([100])

        decoder = StreamDecoder()
        received: list[bytes] = []
        await client.start_notify(DATA_CHAR_UUID, lambda _c, data: received.append(bytes(data)))
        command = CommandFrame(seq=7, timestamp_us=0, command=Command.START)
        await client.write_gatt_char(COMMAND_CHAR_UUID, encode_frame(command), response=True)
        deadline = time.monotonic() + 5.0
        while len(received) < 30:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        await client.stop_notify(DATA_CHAR_UUID)
    # one frame, delimiter last, per notification
    assert all(chunk.endswith(b"\x00") and chunk.count(0) == 1 for chunk in received)
    items = [item for chunk in received for item in decoder.feed(chunk)]
    assert decoder.stats.corrupt_frames == 0
    assert any(getattr(i, "request_seq", None) == 7 for i in items)
    assert wearable.commands == [command]


async def test_passive_scan_misses_the_name(radio: VirtualRadio, wearable: BleWearable) -> None:
    active = await BleakScanner.discover(0.2, return_adv=True, backend=radio.scanner_backend)
    passive = await BleakScanner.discover(
        0.2, return_adv=True, scanning_mode="passive", backend=radio.scanner_backend
    )
    assert active[wearable.address][1].local_name == wearable.name
    assert passive[wearable.address][1].local_name is None  # the name is in the scan response
    assert passive[wearable.address][1].service_uuids == [SERVICE_UUID]


async def test_connect_to_a_silent_address_times_out_cleanly(
    radio: VirtualRadio, wearable: BleWearable
) -> None:
    started = time.monotonic()
    with pytest.raises(BleakError, match="timed out"):
        await BleakClient("C3:00:00:00:00:07", timeout=0.3, backend=radio.client_backend).connect()
    assert time.monotonic() - started < 2.0
    # the central is free again: a real connection goes through
    async with BleakClient(wearable.address, backend=radio.client_backend) as client:
        assert client.is_connected
    assert not client.is_connected


async def test_drop_ends_both_sides_and_calls_back(
    radio: VirtualRadio, wearable: BleWearable
) -> None:
    lost = asyncio.Event()
    client = BleakClient(
        wearable.address, disconnected_callback=lambda _c: lost.set(), backend=radio.client_backend
    )
    await client.connect()
    assert wearable.connected
    assert radio.drop(wearable.address) == 2
    await asyncio.wait_for(lost.wait(), 2.0)
    assert not client.is_connected
    assert not wearable.connected
    with pytest.raises(BleakError, match="not connected"):
        await client.write_gatt_char(COMMAND_CHAR_UUID, b"\x00", response=True)
    await client.disconnect()  # idempotent after a drop


async def test_refused_then_accepted(radio: VirtualRadio, wearable: BleWearable) -> None:
    wearable.refuse_connections(10.0)
    await asyncio.sleep(0.05)
    assert not wearable.advertising
    assert (
        await BleakScanner.find_device_by_address(
            wearable.address, timeout=0.2, backend=radio.scanner_backend
        )
        is None
    )
    wearable.accept_connections()
    found = await BleakScanner.find_device_by_address(
        wearable.address, timeout=1.0, backend=radio.scanner_backend
    )
    assert found is not None


def test_advertisement_conversion() -> None:
    raw = bytes(
        AdvertisingData(
            [
                (AdvertisingData.Type.SHORTENED_LOCAL_NAME, b"sw"),
                (AdvertisingData.Type.COMPLETE_LOCAL_NAME, b"spasmwatch-1A2B"),
                (AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, b"\x0f\x18"),
                (AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA, b"\x59\x00\x01\x02"),
                (AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID, b"\x0f\x18\x55"),
                (AdvertisingData.Type.TX_POWER_LEVEL, b"\xf8"),
            ]
        )
    )
    adv = advertisement_data(
        Advertisement(address=hci.Address("C0:00:00:00:00:01"), rssi=-61, data_bytes=raw)
    )
    assert adv.local_name == "spasmwatch-1A2B"
    assert adv.service_uuids == [uuid16(0x180F)]
    assert adv.manufacturer_data == {0x0059: b"\x01\x02"}
    assert adv.service_data == {uuid16(0x180F): b"\x55"}
    assert (adv.tx_power, adv.rssi) == (-8, -61)


def test_gatt_helpers() -> None:
    assert uuid16(0x2A19) == "00002a19-0000-1000-8000-00805f9b34fb"
    with pytest.raises(ConfigError, match="16-bit"):
        uuid16(0x1_0000)
    assert advertised_name(DEVICE_ID) == "spasmwatch-CDEF"
    assert is_ble_address("c0:98:e5:49:00:01")
    assert is_ble_address("6F1A2B3C-0000-4000-8000-00805F9B34FB")
    assert not is_ble_address("spasmwatch-CDEF")


async def test_wearable_parameters(radio: VirtualRadio, known_factory: Any) -> None:
    device = SimulatedDevice(builtin_scenario("quick"), body_factory=known_factory())
    with pytest.raises(ConfigError, match="speed"):
        BleWearable(device, radio, speed=-1.0)
    with pytest.raises(ConfigError, match="max_mtu"):
        BleWearable(device, radio, max_mtu=20)
    with pytest.raises(ConfigError, match="protocol_version"):
        BleWearable(device, radio, protocol_version=256)
