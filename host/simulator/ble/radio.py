"""An in-process Bluetooth LE radio: virtual controllers that hear each other.

:class:`VirtualRadio` wraps one bumble ``LocalLink``: every virtual controller attached
to it receives the others' advertisements and exchanges link-layer packets with its
peers, all on the current asyncio event loop, with no radio hardware. On top of what
bumble models it adds the one fault a wearable link suffers most: :meth:`drop`, a link
lost to the supervision timeout (the wearer walked away, a body blocked the signal), seen
by both sides exactly as a real controller reports it.

The radio also owns the host's side: one central device (the computer's adapter) shared
by the bleak backends of :mod:`host.simulator.ble.backend`, which :attr:`client_backend`
and :attr:`scanner_backend` return bound to this radio.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

from bumble import hci, ll
from bumble.controller import Controller
from bumble.device import Device, DeviceConfiguration
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

if TYPE_CHECKING:
    from host.simulator.ble.backend import BumbleBleakClient, BumbleBleakScanner

__all__ = ["CENTRAL_ADDRESS", "VirtualRadio"]


class _Stoppable(Protocol):
    async def stop(self) -> None: ...


logger = logging.getLogger(__name__)

#: Address of the host's virtual adapter (a static random address: top bits 11).
CENTRAL_ADDRESS = "C0:5A:00:00:00:01"


class _Controller(Controller):
    """bumble's virtual controller, with Data Length Extension and two procedures fixed.

    - *LE Create Connection Cancel*: bumble's controller acknowledges it but keeps the
      attempt pending, so a timed-out attempt would complete later behind everyone's
      back. Here the attempt ends and the host gets *LE Connection Complete* with status
      *Unknown Connection Identifier* (Bluetooth Core Vol 4 Part E 7.8.13).
    - Active scanning: bumble's controller answers a scannable advertisement with a
      scan response that repeats the advertising data. Here it carries the advertiser's
      scan response data (where devices put their name, the advertising PDU having
      room for 31 bytes only), and only an active scanner gets it (Vol 6 Part B 4.4.3).
    """

    #: LE Data Length Extension (Core Vol 6 Part B 4.5.10): one 251-byte LL payload holds
    #: a whole 247-byte ATT notification with its L2CAP header, as docs/protocol.md advises.
    le_acl_data_packet_length = 251

    _active_scan = True

    def on_hci_le_set_extended_scan_parameters_command(
        self, command: hci.HCI_LE_Set_Extended_Scan_Parameters_Command
    ) -> hci.HCI_StatusReturnParameters:
        types = list(command.scan_types)
        self._active_scan = bool(types) and types[0] == 1
        return super().on_hci_le_set_extended_scan_parameters_command(command)

    def on_hci_le_set_scan_parameters_command(
        self, command: hci.HCI_LE_Set_Scan_Parameters_Command
    ) -> hci.HCI_StatusReturnParameters:
        self._active_scan = command.le_scan_type == 1
        return super().on_hci_le_set_scan_parameters_command(command)

    def on_advertising_pdu(self, pdu: ll.AdvInd | ll.AdvExtInd) -> None:
        if not self.le_scan_enable or getattr(pdu, "target_address", None) is not None:
            super().on_advertising_pdu(pdu)
            return
        self._report_advertisement(pdu)
        # The rest (periodic sync, a pending connection) as bumble does it, minus the report.
        self.le_scan_enable = False
        try:
            super().on_advertising_pdu(pdu)
        finally:
            self.le_scan_enable = True

    def _advertiser_state(self, address: hci.Address) -> tuple[bool, bool, bytes]:
        """Return (connectable, scannable, scan response data) of the advertiser."""
        for controller in self.link.controllers:
            legacy = controller.le_legacy_advertiser
            if legacy.enabled and bytes(legacy.address) == bytes(address):
                kind = legacy.advertising_type
                return kind in (0, 1), kind in (0, 2), bytes(legacy.scan_response_data)
            for adv_set in controller.advertising_sets.values():
                set_address = adv_set.address
                if adv_set.enabled and set_address is not None:
                    if bytes(set_address) == bytes(address) and adv_set.parameters is not None:
                        properties = int(adv_set.parameters.advertising_event_properties)
                        return (
                            bool(properties & 0x01),
                            bool(properties & 0x02),
                            bytes(adv_set.scan_response_data),
                        )
        return True, False, b""

    def _report_advertisement(self, pdu: ll.AdvInd | ll.AdvExtInd) -> None:
        connectable, scannable, scan_response = self._advertiser_state(pdu.advertiser_address)
        reports = [(False, bytes(pdu.data))]
        if scannable and self._active_scan:
            reports.append((True, scan_response))
        for is_response, data in reports:
            if self.le_features & hci.LeFeatureMask.LE_EXTENDED_ADVERTISING:
                flags = hci.HCI_LE_Extended_Advertising_Report_Event.EventType
                event_type = flags.LEGACY_ADVERTISING_PDU_USED
                if connectable:
                    event_type |= flags.CONNECTABLE_ADVERTISING
                if scannable:
                    event_type |= flags.SCANNABLE_ADVERTISING
                if is_response:
                    event_type |= flags.SCAN_RESPONSE
                report = hci.HCI_LE_Extended_Advertising_Report_Event.Report(
                    event_type=event_type,
                    address_type=pdu.advertiser_address.address_type,
                    address=pdu.advertiser_address,
                    primary_phy=hci.Phy.LE_1M,
                    secondary_phy=hci.Phy.LE_1M,
                    advertising_sid=0,
                    tx_power=0,
                    rssi=-50,
                    periodic_advertising_interval=0,
                    direct_address_type=0,
                    direct_address=hci.Address.ANY,
                    data=data,
                )
                self.send_hci_packet(hci.HCI_LE_Extended_Advertising_Report_Event([report]))
            else:
                kinds = hci.HCI_LE_Advertising_Report_Event.EventType
                if is_response:
                    kind = kinds.SCAN_RSP
                elif connectable:
                    kind = kinds.ADV_IND
                elif scannable:
                    kind = kinds.ADV_SCAN_IND
                else:
                    kind = kinds.ADV_NONCONN_IND
                legacy_report = hci.HCI_LE_Advertising_Report_Event.Report(
                    event_type=kind,
                    address_type=pdu.advertiser_address.address_type,
                    address=pdu.advertiser_address,
                    data=data,
                    rssi=-50,
                )
                self.send_hci_packet(hci.HCI_LE_Advertising_Report_Event([legacy_report]))

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        event = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
            connection_handle=0,
            role=hci.Role.CENTRAL,
            peer_address_type=pending.peer_address.address_type,
            peer_address=pending.peer_address,
            connection_interval=0,
            peripheral_latency=0,
            supervision_timeout=0,
            central_clock_accuracy=0,
        )
        # After the Command Complete the caller is about to send.
        asyncio.get_running_loop().call_soon(self.send_hci_packet, event)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)


class VirtualRadio:
    """Virtual Bluetooth LE controllers on one in-process link.

    Create it inside a running event loop; every device on it lives on that loop.

    Examples
    --------
    >>> async def main() -> None:  # doctest: +SKIP
    ...     radio = VirtualRadio()
    ...     wearable = BleWearable(SimulatedDevice(scenario), radio)
    ...     await wearable.start()
    ...     transport = BleTransport(
    ...         wearable.name,
    ...         client_backend=radio.client_backend,
    ...         scanner_backend=radio.scanner_backend,
    ...     )
    """

    def __init__(self) -> None:
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self._devices: list[tuple[Device, Controller]] = []
        self._peripherals: list[_Stoppable] = []
        self._central: Device | None = None
        self._central_lock = asyncio.Lock()
        self._client_backend: type[BumbleBleakClient] | None = None
        self._scanner_backend: type[BumbleBleakScanner] | None = None
        self.drops = 0

    def add_device(self, name: str, address: str) -> Device:
        """Attach a new virtual controller and return its (not yet powered) device.

        Parameters
        ----------
        name : str
            Name of the device (its GAP Device Name).
        address : str
            Its static random address, ``"C0:..."`` style.

        Returns
        -------
        bumble.device.Device
            Call ``await device.power_on()`` before use.
        """
        controller = _Controller(name, link=self.link, public_address=address)
        config = DeviceConfiguration()
        config.name = name
        config.address = hci.Address(address)
        device = Device(config=config, host=Host(controller, AsyncPipeSink(controller)))
        self._devices.append((device, controller))
        return device

    def attach(self, peripheral: _Stoppable) -> None:
        """Have :meth:`close` stop ``peripheral`` (anything with an async ``stop()``)."""
        if peripheral not in self._peripherals:
            self._peripherals.append(peripheral)

    async def central(self) -> Device:
        """Return the host's adapter (created and powered on at the first call)."""
        async with self._central_lock:
            if self._central is None:
                central = self.add_device("spasmwatch host", CENTRAL_ADDRESS)
                await central.power_on()
                self._central = central
            return self._central

    @property
    def client_backend(self) -> type[BumbleBleakClient]:
        """A bleak client backend class bound to this radio (``BleakClient(backend=)``)."""
        if self._client_backend is None:
            from host.simulator.ble.backend import BumbleBleakClient

            self._client_backend = type(
                "BoundBumbleBleakClient", (BumbleBleakClient,), {"radio": self}
            )
        return self._client_backend

    @property
    def scanner_backend(self) -> type[BumbleBleakScanner]:
        """A bleak scanner backend class bound to this radio (``BleakScanner(backend=)``)."""
        if self._scanner_backend is None:
            from host.simulator.ble.backend import BumbleBleakScanner

            self._scanner_backend = type(
                "BoundBumbleBleakScanner", (BumbleBleakScanner,), {"radio": self}
            )
        return self._scanner_backend

    def drop(self, address: str) -> int:
        """Lose every link of the device at ``address``, as a supervision timeout does.

        Both ends' controllers report *Disconnection Complete* with reason 0x08
        (connection timeout) to their hosts; packets still in the air are lost.

        Parameters
        ----------
        address : str
            Address of one end of the links to drop.

        Returns
        -------
        int
            How many link ends were dropped (2 per link).
        """
        target = hci.Address(address)
        dropped = 0
        for controller in list(self.link.controllers):
            for connection in list(controller.le_connections.values()):
                ends = (connection.self_address, connection.peer_address)
                if any(bytes(end) == bytes(target) for end in ends):
                    controller.on_le_disconnected(
                        connection, hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR
                    )
                    dropped += 1
        if dropped:
            self.drops += 1
            logger.info("virtual radio: links of %s lost (%d ends)", address, dropped)
        return dropped

    async def close(self) -> None:
        """Stop the attached peripherals, drop every link, stop advertising and scanning."""
        for peripheral in self._peripherals:
            await peripheral.stop()
        self._peripherals.clear()
        for device, _ in self._devices:
            self.drop(device.random_address.to_string(False))
        await asyncio.sleep(0)
        for device, _ in self._devices:
            if not device.powered_on:
                continue
            try:
                if device.is_advertising:
                    await device.stop_advertising()
                if device.is_scanning:
                    await device.stop_scanning()
                await device.power_off()
            except Exception as err:  # best effort at teardown
                logger.debug("closing virtual device %s: %r", device.name, err)
        for _, controller in self._devices:
            if controller in self.link.controllers:
                self.link.remove_controller(controller)
        self._devices.clear()
        self._central = None
