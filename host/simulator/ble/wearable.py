"""The simulated wearable as a Bluetooth LE peripheral on a virtual radio.

:class:`BleWearable` runs the firmware model (:class:`~host.simulator.device.SimulatedDevice`)
behind the GATT service of ``docs/protocol.md`` ("GATT service (BLE transport)"): it
advertises the spasmwatch service (name in the scan response), notifies every frame the
firmware makes on the data characteristic -- one encoded frame per notification once the
MTU allows it, split over several below that -- and answers COMMAND frames written to the
command characteristic. Device time keeps running while nobody is subscribed; what is
made then is discarded and counted, exactly as firmware with a full buffer does, and
every frame's fate is logged (:attr:`BleWearable.log`) so tests can check that the host
accounts for each one.

:class:`VirtualPeripheral` is any other device on the radio (a heart-rate strap, a
clone that advertises the spasmwatch service without implementing it), for tests of the
host's refusals.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from bumble import core, gatt
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.profiles.battery_service import BatteryService
from bumble.profiles.device_information_service import DeviceInformationService

from host.errors import ConfigError
from host.protocol import (
    PROTOCOL_VERSION,
    AccelFrame,
    CommandFrame,
    Frame,
    FrameType,
    SamplesFrame,
    StatusFrame,
    StreamDecoder,
    cobs_encode,
    crc32,
    encode_payload,
)
from host.protocol.gatt import (
    ADVERTISING_INTERVAL_FAST_MS,
    ATT_NOTIFICATION_OVERHEAD,
    COMMAND_CHAR_UUID,
    DATA_CHAR_UUID,
    MIN_ATT_MTU,
    SERVICE_UUID,
    advertised_name,
)
from host.simulator.ble.radio import VirtualRadio
from host.simulator.device import SimulatedDevice

__all__ = ["BleWearable", "FrameRecord", "VirtualPeripheral"]

logger = logging.getLogger(__name__)

#: Flags AD: LE General Discoverable Mode | BR/EDR Not Supported.
_FLAGS = bytes([0x06])
#: Notifications queued in the virtual controller beyond which an unpaced
#: (``speed=0``) wearable waits for the link to drain.
_UNPACED_QUEUE_LIMIT = 32


@dataclass(frozen=True)
class FrameRecord:
    """What became of one frame the firmware made.

    Attributes
    ----------
    seq : int
        Its sequence number.
    frame_type : FrameType
        Its type.
    n_times : int
        Sample times it carries (SAMPLES and ACCEL), else 0.
    delivered : bool
        True if it was handed to the radio as notifications; False if nobody was
        subscribed and it was discarded.
    """

    seq: int
    frame_type: FrameType
    n_times: int
    delivered: bool


def _advertising_data(service_uuids: Sequence[str]) -> bytes:
    uuids = b"".join(core.UUID(u).to_bytes() for u in service_uuids if len(u) == 36)
    structures: list[tuple[int, bytes]] = [(AdvertisingData.Type.FLAGS, _FLAGS)]
    if uuids:
        structures.append(
            (AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, uuids)
        )
    return bytes(AdvertisingData(structures))


def _scan_response(name: str) -> bytes:
    return bytes(
        AdvertisingData([(AdvertisingData.Type.COMPLETE_LOCAL_NAME, name.encode("utf-8"))])
    )


class VirtualPeripheral:
    """A connectable peripheral on a virtual radio, with any GATT services.

    Parameters
    ----------
    radio : VirtualRadio
        Where it lives.
    name : str
        Its Complete Local Name (sent in the scan response).
    address : str
        Its static random address.
    services : sequence of bumble.gatt.Service
        Its GATT database (GAP and GATT services are added by bumble).
    advertised_uuids : sequence of str
        128-bit service UUIDs put in the advertising data.
    advertising_interval_ms : float
        Advertising interval in milliseconds.
    max_mtu : int
        Largest ATT MTU it accepts in an MTU exchange.
    """

    def __init__(
        self,
        radio: VirtualRadio,
        *,
        name: str,
        address: str,
        services: Sequence[gatt.Service] = (),
        advertised_uuids: Sequence[str] = (),
        advertising_interval_ms: float = ADVERTISING_INTERVAL_FAST_MS,
        max_mtu: int = MIN_ATT_MTU,
    ) -> None:
        if not 23 <= max_mtu <= 517:
            raise ConfigError(f"max_mtu must be in 23..517 (ATT), got {max_mtu}")
        self.radio = radio
        self.name = name
        self.address = address
        self.max_mtu = max_mtu
        self.advertising_interval_ms = advertising_interval_ms
        self._services = list(services)
        self._advertised_uuids = list(advertised_uuids)
        self._bumble: Device | None = None
        self._connection: Connection | None = None
        self._refuse_until = 0.0
        self._refuse_timer: asyncio.TimerHandle | None = None
        self._running = False
        self._adv_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        #: Connections accepted so far.
        self.connections = 0
        #: Links that ended (dropped by the radio or closed by either side).
        self.disconnections = 0
        #: ATT MTU of each exchange, in order.
        self.exchanged_mtus: list[int] = []

    # ------------------------------------------------------------------ public API
    @property
    def connected(self) -> bool:
        """True while a central is connected."""
        return self._connection is not None

    @property
    def mtu(self) -> int:
        """ATT MTU of the current link (23 before an exchange, 0 without a link)."""
        return int(self._connection.att_mtu) if self._connection is not None else 0

    @property
    def advertising(self) -> bool:
        """True while advertising (connectable)."""
        return self._bumble is not None and bool(self._bumble.is_advertising)

    async def start(self) -> None:
        """Power on, publish the GATT database and start advertising."""
        if self._bumble is not None:
            return
        device = self.radio.add_device(self.name, self.address)
        self.radio.attach(self)
        device.gatt_server.max_mtu = self.max_mtu
        device.add_services(self._services)
        device.on(device.EVENT_CONNECTION, self._on_connection)
        self._bumble = device
        await device.power_on()
        self._running = True
        await self._update_advertising()

    async def stop(self) -> None:
        """Stop advertising and drop the link (idempotent)."""
        self._running = False
        if self._refuse_timer is not None:
            self._refuse_timer.cancel()
        if self._tasks:
            # Let advertising updates finish: a bumble HCI command cancelled midway leaves
            # its late response to upset the next one.
            _, pending = await asyncio.wait(set(self._tasks), timeout=1.0)
            for task in pending:
                task.cancel()
        if self._bumble is not None:
            self.radio.drop(self.address)
            await self._update_advertising()

    def drop_link(self, refuse_for_s: float = 0.0) -> bool:
        """Lose the link, as when the wearer walks out of range.

        Parameters
        ----------
        refuse_for_s : float
            Then stay unreachable (not advertising) for this long, in seconds.

        Returns
        -------
        bool
            True if there was a link to lose.
        """
        if refuse_for_s > 0:
            self.refuse_connections(refuse_for_s)
        return self.radio.drop(self.address) > 0

    def refuse_connections(self, duration_s: float) -> None:
        """Stop advertising for ``duration_s`` seconds (no central can connect meanwhile).

        Parameters
        ----------
        duration_s : float
            How long, in seconds.
        """
        loop = asyncio.get_running_loop()
        self._refuse_until = max(self._refuse_until, loop.time() + duration_s)
        if self._refuse_timer is not None:
            self._refuse_timer.cancel()
        self._refuse_timer = loop.call_at(self._refuse_until, self._kick_advertising)
        self._kick_advertising()

    def accept_connections(self) -> None:
        """End a refusal now: advertise again unless connected."""
        self._refuse_until = 0.0
        if self._refuse_timer is not None:
            self._refuse_timer.cancel()
            self._refuse_timer = None
        self._kick_advertising()

    # ----------------------------------------------------------------- internals
    def _refusing(self) -> bool:
        return asyncio.get_running_loop().time() < self._refuse_until

    def _kick_advertising(self) -> None:
        self._spawn(self._update_advertising())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _update_advertising(self) -> None:
        device = self._bumble
        if device is None:
            return
        async with self._adv_lock:
            want = self._running and self._connection is None and not self._refusing()
            try:
                if want and not device.is_advertising:
                    await device.start_advertising(
                        advertising_data=_advertising_data(self._advertised_uuids),
                        scan_response_data=_scan_response(self.name),
                        advertising_interval_min=self.advertising_interval_ms,
                        advertising_interval_max=self.advertising_interval_ms,
                        auto_restart=False,
                    )
                elif not want and device.is_advertising:
                    await device.stop_advertising()
            except Exception as err:  # the virtual controller refused: retried on next kick
                logger.debug("%s: advertising update failed: %r", self.name, err)

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        self.connections += 1
        connection.on(
            connection.EVENT_DISCONNECTION,
            lambda reason: self._on_disconnection(connection, reason),
        )
        connection.on(
            connection.EVENT_CONNECTION_ATT_MTU_UPDATE,
            lambda: self.exchanged_mtus.append(int(connection.att_mtu)),
        )
        logger.info("%s: connected to %s", self.name, connection.peer_address)

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        if self._connection is connection:
            self._connection = None
        self.disconnections += 1
        logger.info("%s: link ended (reason 0x%02x)", self.name, reason)
        self._kick_advertising()


class BleWearable(VirtualPeripheral):
    """The simulated spasmwatch wearable, serving its frames over GATT.

    Parameters
    ----------
    device : SimulatedDevice
        The firmware model to run.
    radio : VirtualRadio
        Where the wearable lives.
    name : str, optional
        Advertised name; ``spasmwatch-XXXX`` from the device ID by default.
    address : str, optional
        Static random address; derived from the device ID by default.
    speed : float
        1.0 runs device time in real time (20 SAMPLES frames/s at 1 kHz), 10.0 ten times
        faster; 0 streams as fast as the link takes the notifications (device time then
        runs in real time while nobody is subscribed or the device is not sampling).
    max_mtu : int
        Largest ATT MTU the wearable accepts (247 fits every frame in one notification).
    advertising_interval_ms : float
        Advertising interval, in milliseconds.
    protocol_version : int
        Version byte written into every frame (another value than 1 tests how a host
        treats a device speaking another protocol version).
    keep_log : bool
        Keep a :class:`FrameRecord` per frame in :attr:`log` (tests); counters are kept
        either way.
    """

    def __init__(
        self,
        device: SimulatedDevice,
        radio: VirtualRadio,
        *,
        name: str | None = None,
        address: str | None = None,
        speed: float = 1.0,
        max_mtu: int = MIN_ATT_MTU,
        advertising_interval_ms: float = ADVERTISING_INTERVAL_FAST_MS,
        protocol_version: int = PROTOCOL_VERSION,
        keep_log: bool = True,
    ) -> None:
        if speed < 0:
            raise ConfigError(f"speed must be >= 0 (0 = as fast as the link goes), got {speed}")
        if not 0 <= protocol_version <= 255:
            raise ConfigError(f"protocol_version must be a byte, got {protocol_version}")
        device_id = device.config.device_id
        self.device = device
        self.speed = speed
        self.protocol_version = protocol_version
        self.keep_log = keep_log
        self._data_char = gatt.Characteristic(
            DATA_CHAR_UUID,
            gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.Permissions(0),
            b"",
        )
        self._command_char: gatt.Characteristic[bytes] = gatt.Characteristic(
            COMMAND_CHAR_UUID,
            gatt.Characteristic.Properties.WRITE,
            gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue[bytes](write=self._on_command),
        )
        self._battery = BatteryService(lambda _connection: self.battery_pct)
        info = DeviceInformationService(
            manufacturer_name="spasmwatch",
            model_number=device.config.board,
            serial_number=f"{device_id:016X}",
        )
        super().__init__(
            radio,
            name=name or advertised_name(device_id),
            address=address or _address_from_id(device_id),
            services=[
                gatt.Service(SERVICE_UUID, [self._data_char, self._command_char]),
                self._battery,
                info,
            ],
            advertised_uuids=[SERVICE_UUID],
            advertising_interval_ms=advertising_interval_ms,
            max_mtu=max_mtu,
        )
        self._data_char.on(self._data_char.EVENT_SUBSCRIPTION, self._on_subscription)
        self._subscriber: Connection | None = None
        self._send_lock = asyncio.Lock()
        self._pump: asyncio.Task[None] | None = None
        #: Battery state of charge from the latest STATUS frame, in percent.
        self.battery_pct = 100
        #: One record per frame made, in order (when ``keep_log``).
        self.log: list[FrameRecord] = []
        #: COMMAND frames received, in order.
        self.commands: list[CommandFrame] = []
        self.frames_delivered = 0
        self.frames_discarded = 0
        self.notifications = 0

    @property
    def subscribed(self) -> bool:
        """True while a central has notifications of the data characteristic enabled."""
        return self._subscriber is not None

    async def start(self) -> None:
        """Power on, advertise and start the firmware's clock."""
        await super().start()
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(
                self._run(), name=f"ble-wearable {self.name}"
            )

    async def stop(self) -> None:
        """Stop the firmware's clock, advertising and the link (idempotent)."""
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
        await super().stop()

    # ----------------------------------------------------------------- internals
    def _on_subscription(
        self, connection: Connection, notify_enabled: bool, indicate_enabled: bool
    ) -> None:
        self._subscriber = connection if notify_enabled else None
        logger.info("%s: notifications %s", self.name, "on" if notify_enabled else "off")

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        if self._subscriber is connection:
            self._subscriber = None
        super()._on_disconnection(connection, reason)

    async def _on_command(self, connection: Connection, value: bytes) -> None:
        for item in StreamDecoder().feed(bytes(value) + b"\x00"):
            if isinstance(item, CommandFrame):
                logger.debug("%s: command %s (seq %d)", self.name, item.command.name, item.seq)
                self.commands.append(item)
                self.device.handle(item)
        async with self._send_lock:
            await self._send(self.device.take_pending())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        device = self.device
        started = loop.time()
        origin_s = device.true_seconds(device.time_us)
        while True:
            if self.speed == 0 and self._subscriber is not None and device.streaming:
                # Unpaced: as fast as the link takes the notifications.
                started, origin_s = loop.time(), device.true_seconds(device.time_us)
                if self._link_busy():
                    await asyncio.sleep(0.001)
                    continue
            else:
                speed = self.speed or 1.0  # unpaced with nobody to send to: real time
                due_s = (loop.time() - started) * speed
                ahead_s = device.true_seconds(device.time_us) - origin_s - due_s
                if ahead_s > 0:
                    await asyncio.sleep(min(ahead_s / speed, 0.02))
                    continue
            async with self._send_lock:
                await self._send(device.step())
            await asyncio.sleep(0)  # let the radio and the host run

    def _link_busy(self) -> bool:
        connection = self._subscriber
        if connection is None:
            return False
        queue = connection.data_packet_queue
        return queue is not None and queue.pending > _UNPACED_QUEUE_LIMIT

    async def _send(self, frames: list[Frame]) -> None:
        device = self._bumble
        for frame in frames:
            delivered = False
            connection = self._subscriber
            if connection is not None and device is not None:
                data = self._encode(frame)
                room = int(connection.att_mtu) - ATT_NOTIFICATION_OVERHEAD
                try:
                    for start in range(0, len(data), room):
                        chunk = data[start : start + room]
                        await device.notify_subscriber(connection, self._data_char, chunk)
                        self.notifications += 1
                    delivered = True
                except Exception as err:  # the link ended under us
                    logger.debug("%s: notification failed: %r", self.name, err)
            if delivered:
                self.frames_delivered += 1
            else:
                self.frames_discarded += 1
                if frame.frame_type is FrameType.SAMPLES:
                    self.device.discard_samples(1)
            if self.keep_log:
                n_times = frame.n_times if isinstance(frame, SamplesFrame | AccelFrame) else 0
                self.log.append(FrameRecord(frame.seq, frame.frame_type, n_times, delivered))
            if isinstance(frame, StatusFrame) and frame.battery_pct <= 100:
                if frame.battery_pct != self.battery_pct:
                    self.battery_pct = frame.battery_pct
                    if device is not None:
                        await device.notify_subscribers(self._battery.battery_level_characteristic)

    def _encode(self, frame: Frame) -> bytes:
        payload = encode_payload(frame)
        if self.protocol_version != PROTOCOL_VERSION:
            body = bytes([self.protocol_version]) + payload[1:-4]
            payload = body + struct.pack("<I", crc32(body))
        return cobs_encode(payload) + b"\x00"


def _address_from_id(device_id: int) -> str:
    """Make a static random address (top two bits set) from the low 40 bits of the ID."""
    low = (device_id & 0xFF_FFFF_FFFF).to_bytes(5, "big")
    return ":".join(f"{b:02X}" for b in (0xC1, *low))
