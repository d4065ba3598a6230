"""bleak backends that run on a :class:`~host.simulator.ble.radio.VirtualRadio`.

:class:`BumbleBleakClient` and :class:`BumbleBleakScanner` implement bleak's backend
contracts (``bleak.backends.client.BaseBleakClient`` and
``bleak.backends.scanner.BaseBleakScanner``) with a bumble central device, so that code
written against ``BleakClient`` and ``BleakScanner`` -- connecting, exchanging the MTU,
discovering services, subscribing to notifications, writing, being disconnected -- runs
unchanged against virtual peripherals. Pass them as ``backend=``; use the classes a radio
hands out (:attr:`VirtualRadio.client_backend`, :attr:`VirtualRadio.scanner_backend`),
which are bound to it.

As bleak's own backends do, these raise only ``BleakError`` (and its subclasses) for
failures of the link or the peer: bumble's exceptions do not cross this module.
Like Android's backend, the client requests a large ATT MTU while connecting
(:data:`~host.protocol.gatt.PREFERRED_ATT_MTU`); the peripheral's limit settles it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Literal, TypeVar

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES, CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import (
    AdvertisementData,
    AdvertisementDataCallback,
    BaseBleakScanner,
)
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_str
from bumble import att, core, hci
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt_client import CharacteristicProxy

from host.protocol.gatt import DEFAULT_ATT_MTU, PREFERRED_ATT_MTU
from host.simulator.ble.radio import VirtualRadio

__all__ = ["BumbleBleakClient", "BumbleBleakScanner", "advertisement_data"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

_AD = AdvertisingData.Type


def _uuid_text(uuid: core.UUID) -> str:
    """Write a bumble UUID in bleak's form (lower-case, 128-bit, dashed)."""
    return normalize_uuid_str(uuid.to_hex_str("-"))


def _properties(flags: int) -> list[CharacteristicPropertyName]:
    return [name for bit, name in CHARACTERISTIC_PROPERTIES.items() if flags & bit]


def _uuids(structures: list[tuple[int, bytes]], types: tuple[int, ...], size: int) -> list[str]:
    out: list[str] = []
    for kind, data in structures:
        if kind in types:
            for offset in range(0, len(data) - size + 1, size):
                raw = data[offset : offset + size]
                out.append(_uuid_text(core.UUID.from_bytes(raw)))
    return out


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """Convert a bumble advertisement (advertising data + scan response) to bleak's form.

    Parameters
    ----------
    advertisement : bumble.device.Advertisement
        What the central received.

    Returns
    -------
    bleak.backends.scanner.AdvertisementData
        Local name, manufacturer data, service data, service UUIDs, TX power and RSSI;
        ``platform_data`` holds the bumble advertisement.
    """
    structures = [(int(kind), bytes(data)) for kind, data in advertisement.data.ad_structures]
    local_name: str | None = None
    manufacturer: dict[int, bytes] = {}
    service_data: dict[str, bytes] = {}
    tx_power: int | None = None
    for kind, data in structures:
        if kind in (_AD.COMPLETE_LOCAL_NAME, _AD.SHORTENED_LOCAL_NAME):
            if local_name is None or kind == _AD.COMPLETE_LOCAL_NAME:
                local_name = data.decode("utf-8", errors="replace")
        elif kind == _AD.MANUFACTURER_SPECIFIC_DATA and len(data) >= 2:
            manufacturer[int.from_bytes(data[:2], "little")] = data[2:]
        elif kind == _AD.TX_POWER_LEVEL and len(data) == 1:
            tx_power = int.from_bytes(data, "little", signed=True)
        else:
            for ad_type, size in (
                (_AD.SERVICE_DATA_16_BIT_UUID, 2),
                (_AD.SERVICE_DATA_32_BIT_UUID, 4),
                (_AD.SERVICE_DATA_128_BIT_UUID, 16),
            ):
                if kind == ad_type and len(data) >= size:
                    service_data[_uuid_text(core.UUID.from_bytes(data[:size]))] = data[size:]
    service_uuids = (
        _uuids(
            structures,
            (
                _AD.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                _AD.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            ),
            2,
        )
        + _uuids(
            structures,
            (
                _AD.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
                _AD.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
            ),
            4,
        )
        + _uuids(
            structures,
            (
                _AD.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                _AD.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            ),
            16,
        )
    )
    return AdvertisementData(
        local_name=local_name,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=list(dict.fromkeys(service_uuids)),
        tx_power=tx_power,
        rssi=int(advertisement.rssi),
        platform_data=(advertisement,),
    )


def _bleak_error(what: str, err: BaseException) -> BleakError:
    """Turn a bumble exception into the BleakError a bleak backend raises."""
    if isinstance(err, BleakError):
        return err
    if isinstance(err, att.ATT_Error):
        return BleakGATTProtocolError(int(err.error_code))
    if isinstance(err, core.TimeoutError | TimeoutError):
        return BleakError(f"{what}: timed out")
    return BleakError(f"{what}: {type(err).__name__}: {err}")


class BumbleBleakClient(BaseBleakClient):
    """A bleak client backend on a virtual radio's central device.

    Parameters
    ----------
    address_or_ble_device : BLEDevice or str
        The peripheral, as found by :class:`BumbleBleakScanner`, or its address.
    disconnected_callback : callable or None
        Called (scheduled on the event loop) when the peripheral or the radio ends the
        link; not when :meth:`disconnect` does.
    timeout : float
        Longest a connection attempt waits for the peripheral to be connectable, in
        seconds.
    services : set of str, optional
        Only these services are discovered (bleak passes them normalised).
    **kwargs
        Platform arguments bleak passes to every backend (``bluez``, ``winrt``); ignored.
    """

    #: The radio the central lives on (set on the class by :attr:`VirtualRadio.client_backend`).
    radio: ClassVar[VirtualRadio | None] = None
    #: ATT MTU asked for while connecting.
    requested_mtu: ClassVar[int] = PREFERRED_ATT_MTU

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        services: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        if self.radio is None:
            raise BleakError(
                "BumbleBleakClient is not bound to a virtual radio: pass "
                "backend=radio.client_backend"
            )
        self._radio: VirtualRadio = self.radio
        self._name = (
            address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._service_filter = sorted(services) if services else None
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._disconnecting = False
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}

    # -- what bleak asks ---------------------------------------------------------------

    @property
    def name(self) -> str:
        """The advertised name when known, else the address."""
        return self._name or self.address

    @property
    def mtu_size(self) -> int:
        """The ATT MTU of the connection (23 before the exchange or while disconnected)."""
        connection = self._connection
        return int(connection.att_mtu) if connection is not None else DEFAULT_ATT_MTU

    @property
    def is_connected(self) -> bool:
        """True between a successful :meth:`connect` and the end of the link."""
        return self._connection is not None

    # -- connection --------------------------------------------------------------------

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, exchange the MTU and discover the services.

        Parameters
        ----------
        pair : bool
            Pairing is not modelled; True is refused.
        **kwargs
            Ignored.
        """
        if pair:
            raise BleakError("the virtual radio does not model pairing")
        if self._connection is not None:
            return
        central = await self._radio.central()
        try:
            address = hci.Address(self.address)
        except (core.InvalidArgumentError, ValueError):
            raise BleakError(f"{self.address!r} is not a Bluetooth address") from None
        connection = await self._guard(
            f"connecting to {self.address}", self._connect_le(central, address)
        )
        self._connection = connection
        self._disconnecting = False
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        peer = Peer(connection)
        self._peer = peer
        try:
            mtu = await self._guard("exchanging the ATT MTU", peer.request_mtu(self.requested_mtu))
            logger.debug("virtual central: ATT MTU %d with %s", mtu, self.address)
            self.services = await self._guard("discovering services", self._discover(peer))
        except BaseException:
            await self._abandon()
            raise

    async def disconnect(self) -> None:
        """End the link (no disconnected callback for this one); idempotent."""
        connection = self._connection
        if connection is None:
            return
        self._disconnecting = True
        try:
            await connection.disconnect()
        except Exception as err:  # already gone: nothing left to end
            logger.debug("virtual central: disconnect from %s: %r", self.address, err)
        self._forget()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Pairing is not modelled by the virtual radio."""
        raise BleakError("the virtual radio does not model pairing")

    async def unpair(self) -> None:
        """Pairing is not modelled by the virtual radio."""
        raise BleakError("the virtual radio does not model pairing")

    # -- GATT --------------------------------------------------------------------------

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a characteristic's value."""
        peer = self._require_peer("read")
        value = await self._guard(
            f"reading {characteristic.uuid}", peer.read_value(characteristic.handle)
        )
        return bytearray(value)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a descriptor's value."""
        peer = self._require_peer("read")
        value = await self._guard(
            f"reading descriptor {descriptor.uuid}", peer.read_value(descriptor.handle)
        )
        return bytearray(value)

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        """Write a characteristic (a Write Request when ``response``, else a Command)."""
        peer = self._require_peer("write")
        await self._guard(
            f"writing {characteristic.uuid}",
            peer.write_value(characteristic.handle, bytes(data), with_response=response),
        )

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        """Write a descriptor."""
        peer = self._require_peer("write")
        await self._guard(
            f"writing descriptor {descriptor.uuid}",
            peer.write_value(descriptor.handle, bytes(data), with_response=True),
        )

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Enable notifications (or indications) and route their values to ``callback``."""
        peer = self._require_peer("subscribe")
        proxy = characteristic.obj
        if not isinstance(proxy, CharacteristicProxy):
            raise BleakError(f"characteristic {characteristic.uuid} is not from this client")

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        self._subscriptions[characteristic.handle] = on_value
        await self._guard(f"subscribing to {characteristic.uuid}", peer.subscribe(proxy, on_value))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Disable notifications on a characteristic."""
        peer = self._require_peer("unsubscribe")
        on_value = self._subscriptions.pop(characteristic.handle, None)
        await self._guard(
            f"unsubscribing from {characteristic.uuid}",
            peer.unsubscribe(characteristic.obj, on_value),
        )

    # -- internals ---------------------------------------------------------------------

    async def _connect_le(self, central: Device, address: hci.Address) -> Connection:
        try:
            connection: Connection = await central.connect(address, timeout=self._timeout)
        except asyncio.CancelledError:
            # Leave no attempt pending in the controller, nor a link nobody owns.
            await asyncio.shield(self._cancel_attempt(central, address))
            raise
        return connection

    async def _cancel_attempt(self, central: Device, address: hci.Address) -> None:
        try:
            await central.send_sync_command(hci.HCI_LE_Create_Connection_Cancel_Command())
        except Exception as err:  # nothing was pending any more
            logger.debug("virtual central: cancelling the attempt on %s: %r", address, err)
        await asyncio.sleep(0)
        orphan = central.find_connection_by_bd_addr(address)
        if orphan is not None:
            try:
                await orphan.disconnect()
            except Exception as err:  # already gone
                logger.debug("virtual central: dropping an orphan link: %r", err)

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        wanted = [core.UUID(u) for u in self._service_filter] if self._service_filter else []
        services = await peer.discover_services(wanted)
        collection = BleakGATTServiceCollection()
        for service in services:
            await service.discover_characteristics()
            bleak_service = BleakGATTService(service, service.handle, _uuid_text(service.uuid))
            collection.add_service(bleak_service)
            for proxy in service.characteristics:
                await peer.discover_descriptors(proxy)
                characteristic = BleakGATTCharacteristic(
                    proxy,
                    proxy.handle,
                    _uuid_text(proxy.uuid),
                    _properties(int(proxy.properties)),
                    self._max_write_without_response,
                    bleak_service,
                )
                collection.add_characteristic(characteristic)
                for descriptor in proxy.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor,
                            descriptor.handle,
                            _uuid_text(descriptor.type),
                            characteristic,
                        )
                    )
        return collection

    def _max_write_without_response(self) -> int:
        return self.mtu_size - 3

    def _require_peer(self, what: str) -> Peer:
        if self._peer is None:
            raise BleakError(f"cannot {what}: not connected to {self.address}")
        return self._peer

    async def _guard(self, what: str, awaitable: Awaitable[_T]) -> _T:
        """Await a bumble operation; its failures (the link's end included) -> BleakError."""
        try:
            return await awaitable
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # our caller is being cancelled: let it be
            # bumble cancels a pending GATT request when the link ends under it.
            raise BleakError(f"{what}: the link to {self.address} ended") from None
        except Exception as err:
            raise _bleak_error(f"{what} ({self.address})", err) from err

    def _on_disconnection(self, reason: int) -> None:
        solicited = self._disconnecting
        self._forget()
        logger.debug(
            "virtual central: %s disconnected (reason 0x%02x%s)",
            self.address,
            reason,
            ", requested" if solicited else "",
        )
        callback = self._disconnected_callback
        if not solicited and callback is not None:
            asyncio.get_running_loop().call_soon(callback)

    def _forget(self) -> None:
        connection = self._connection
        if connection is not None:
            connection.remove_listener(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._connection = None
        self._peer = None
        self._subscriptions.clear()

    async def _abandon(self) -> None:
        """Drop a half-made connection (shielded: runs even while being cancelled)."""
        connection = self._connection
        if connection is None:
            return
        self._disconnecting = True
        self._forget()
        try:
            await asyncio.shield(connection.disconnect())
        except BaseException as err:  # noqa: B036 - cleanup only; the cause is re-raised
            logger.debug("virtual central: abandoning %s: %r", self.address, err)


class BumbleBleakScanner(BaseBleakScanner):
    """A bleak scanner backend on a virtual radio's central device.

    Parameters
    ----------
    detection_callback : callable or None
        Called with ``(BLEDevice, AdvertisementData)`` for every advertisement.
    service_uuids : list of str or None
        Only advertisements listing one of these services are reported.
    scanning_mode : {"active", "passive"}
        Active scanning also asks for scan responses (where names usually are).
    **kwargs
        Platform arguments bleak passes to every backend (``bluez``, ``cb``); ignored.
    """

    #: The radio the central lives on (set on the class by :attr:`VirtualRadio.scanner_backend`).
    radio: ClassVar[VirtualRadio | None] = None

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        if self.radio is None:
            raise BleakError(
                "BumbleBleakScanner is not bound to a virtual radio: pass "
                "backend=radio.scanner_backend"
            )
        self._radio: VirtualRadio = self.radio
        self._active = scanning_mode != "passive"
        self._central: Device | None = None

    async def start(self) -> None:
        """Start scanning (forgetting what an earlier scan saw)."""
        central = await self._radio.central()
        self.seen_devices = {}
        central.on(central.EVENT_ADVERTISEMENT, self._on_advertisement)
        self._central = central
        try:
            if central.is_scanning:
                await central.stop_scanning()
            await central.start_scanning(active=self._active, filter_duplicates=False)
        except Exception as err:
            central.remove_listener(central.EVENT_ADVERTISEMENT, self._on_advertisement)
            self._central = None
            raise _bleak_error("starting a scan", err) from err

    async def stop(self) -> None:
        """Stop scanning; idempotent."""
        central, self._central = self._central, None
        if central is None:
            return
        central.remove_listener(central.EVENT_ADVERTISEMENT, self._on_advertisement)
        try:
            if central.is_scanning:
                await central.stop_scanning()
        except Exception as err:
            raise _bleak_error("stopping a scan", err) from err

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        data = advertisement_data(advertisement)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = advertisement.address.to_string(False)
        device = self.create_or_update_device(
            address, address, data.local_name, advertisement, data
        )
        self.call_detection_callbacks(device, data)
