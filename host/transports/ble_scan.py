"""Finding spasmwatch wearables over Bluetooth LE: scans filtered by the spasmwatch service.

A wearable advertises the spasmwatch service UUID (:data:`~host.protocol.gatt.SERVICE_UUID`)
and its name (``spasmwatch-XXXX``, in the scan response), so a scan filtered by that
UUID lists wearables only (:func:`scan_ble_devices`), and :func:`find_ble_device` picks
one by address or name. bleak's exceptions do not leave this module: they become
:class:`~host.errors.TransportError` subclasses whose message says what is missing (no
adapter, adapter off, no Bluetooth service on the system) in one line.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from urllib.parse import quote

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
)

from host.errors import (
    ConfigError,
    DeviceNotFoundError,
    DeviceTimeoutError,
    SpasmwatchError,
    TransportError,
)
from host.protocol.gatt import SERVICE_UUID, is_ble_address

__all__ = ["BleDeviceInfo", "ble_url", "find_ble_device", "matches_target", "scan_ble_devices"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BleDeviceInfo:
    """One wearable heard advertising the spasmwatch service.

    Attributes
    ----------
    address : str
        Its Bluetooth address (a UUID on macOS), as bleak reports it.
    name : str or None
        Its advertised name (``spasmwatch-XXXX``), None if the scan response was missed.
    rssi : int
        Received signal strength of the latest advertisement, in dBm.
    """

    address: str
    name: str | None
    rssi: int

    @property
    def label(self) -> str:
        """``name (address)``, or the address alone."""
        return f"{self.name} ({self.address})" if self.name else self.address

    @property
    def url(self) -> str:
        """The ``ble://`` URL that reaches this wearable: by name if it has one, else address.

        A name survives a change of computer (an address on macOS does not); when two
        wearables share a name, use :func:`ble_url` with the address instead.
        """
        return ble_url(self.name or self.address)

    def as_dict(self) -> dict[str, object]:
        """Return the fields, and :attr:`url`, as a JSON-ready dictionary."""
        return {**asdict(self), "url": self.url}


def ble_url(target: str) -> str:
    """Return the transport URL of a wearable, ``ble://<address or name>``.

    Parameters
    ----------
    target : str
        Its address (``C0:98:E5:49:00:01``, a UUID on macOS) or advertised name.

    Returns
    -------
    str
        The URL, unusual characters percent-encoded as
        :meth:`~host.transports.ble.BleTransport.from_url` expects.

    Raises
    ------
    ConfigError
        If ``target`` is empty.
    """
    if not target.strip():
        raise ConfigError("a BLE target (address or name) must not be empty")
    return "ble://" + quote(target.strip(), safe=":-_.")


def _info(device: BLEDevice, adv: AdvertisementData) -> BleDeviceInfo:
    return BleDeviceInfo(device.address, adv.local_name or device.name, int(adv.rssi))


#: What to do about each reason bleak gives for Bluetooth being unavailable.
_UNAVAILABLE_ADVICE: dict[BleakBluetoothNotAvailableReason, str] = {
    BleakBluetoothNotAvailableReason.NO_BLUETOOTH: (
        "this computer has no Bluetooth adapter: plug in a Bluetooth 4.0+ (LE) dongle, or "
        "use the USB cable"
    ),
    BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE: (
        "the Bluetooth adapter cannot act as an LE central: use a Bluetooth 4.0+ (LE) adapter"
    ),
    BleakBluetoothNotAvailableReason.POWERED_OFF: (
        "switch the Bluetooth adapter on and allow this program to use it"
    ),
}
_PERMISSION_ADVICE = "allow this program (the terminal or Python) to use Bluetooth"


def _translate_scan_error(err: Exception) -> TransportError:
    if isinstance(err, BleakBluetoothNotAvailableError):
        advice = _UNAVAILABLE_ADVICE.get(err.reason, _PERMISSION_ADVICE)
        return TransportError(
            f"Bluetooth is not available ({err.reason.name.lower().replace('_', ' ')}): {advice}"
        )
    if isinstance(err, BleakDBusError) and err.dbus_error.endswith(
        (".ServiceUnknown", ".NameHasNoOwner")
    ):
        return TransportError(
            "Bluetooth is not available (the BlueZ service is not running): start it "
            "(systemctl start bluetooth) or install BlueZ"
        )
    if isinstance(err, TimeoutError):
        return DeviceTimeoutError("the Bluetooth adapter did not start or stop scanning in time")
    if isinstance(err, OSError) and sys.platform.startswith("linux"):
        # bleak's BlueZ backend talks to bluetoothd over the D-Bus system bus; without a
        # bus socket (containers, minimal systems) connecting to it fails with an OSError.
        return TransportError(
            "Bluetooth is not available (BlueZ cannot be reached over the D-Bus system "
            f"bus: {err.strerror or err}): start D-Bus and bluetoothd, or use the USB cable"
        )
    return TransportError(f"Bluetooth scan failed: {type(err).__name__}: {err}")


async def _scan(
    timeout_s: float,
    scanner_backend: type[BaseBleakScanner] | None,
    stop_when: Callable[[BLEDevice, AdvertisementData], bool] | None,
) -> tuple[BLEDevice | None, dict[str, BleDeviceInfo]]:
    """Scan for the spasmwatch service; return the first match (if any) and all seen."""
    if not timeout_s > 0:
        raise ConfigError(f"the scan timeout must be positive, got {timeout_s} s")
    seen: dict[str, BleDeviceInfo] = {}
    found: asyncio.Future[BLEDevice] = asyncio.get_running_loop().create_future()

    def on_advertisement(device: BLEDevice, adv: AdvertisementData) -> None:
        # bleak calls this on the event loop. Backends filter on a best-effort basis:
        # check the service again.
        if SERVICE_UUID not in [u.lower() for u in adv.service_uuids]:
            return
        seen[device.address] = _info(device, adv)
        if stop_when is not None and not found.done() and stop_when(device, adv):
            found.set_result(device)

    try:
        scanner = BleakScanner(
            on_advertisement, service_uuids=[SERVICE_UUID], backend=scanner_backend
        )
        async with scanner:
            await asyncio.wait({found}, timeout=timeout_s)
    except SpasmwatchError:
        raise
    except Exception as err:
        raise _translate_scan_error(err) from None
    return (found.result() if found.done() else None), seen


async def scan_ble_devices(
    timeout_s: float = 5.0, *, scanner_backend: type[BaseBleakScanner] | None = None
) -> list[BleDeviceInfo]:
    """List the wearables advertising the spasmwatch service.

    Parameters
    ----------
    timeout_s : float
        How long to listen, in seconds.
    scanner_backend : type of bleak.backends.scanner.BaseBleakScanner, optional
        bleak's ``backend=`` (the platform's by default).

    Returns
    -------
    list of BleDeviceInfo
        Strongest signal first.

    Raises
    ------
    TransportError
        If Bluetooth is unavailable or the scan fails.
    """
    _, seen = await _scan(timeout_s, scanner_backend, None)
    return sorted(seen.values(), key=lambda info: (-info.rssi, info.address))


def matches_target(target: str, device: BLEDevice, adv: AdvertisementData) -> bool:
    """Tell whether an advertiser is the one ``target`` names (address or name).

    Parameters
    ----------
    target : str
        A Bluetooth address (case-insensitive) or an advertised name (exact).
    device : bleak.backends.device.BLEDevice
        The advertiser.
    adv : bleak.backends.scanner.AdvertisementData
        Its advertisement.

    Returns
    -------
    bool
        True for a match.
    """
    if is_ble_address(target):
        return device.address.upper() == target.upper()
    return target in (adv.local_name, device.name)


async def find_ble_device(
    target: str,
    timeout_s: float = 10.0,
    *,
    scanner_backend: type[BaseBleakScanner] | None = None,
) -> tuple[BLEDevice, BleDeviceInfo]:
    """Scan for the wearable ``target`` names, until it is heard or ``timeout_s`` passes.

    Parameters
    ----------
    target : str
        Its address (``C0:98:E5:49:00:01``, or a UUID on macOS) or advertised name
        (``spasmwatch-1A2B``).
    timeout_s : float
        Longest scan, in seconds.
    scanner_backend : type of bleak.backends.scanner.BaseBleakScanner, optional
        bleak's ``backend=`` (the platform's by default).

    Returns
    -------
    device : bleak.backends.device.BLEDevice
        What to pass to ``BleakClient``.
    info : BleDeviceInfo
        Its address, name and signal strength.

    Raises
    ------
    DeviceNotFoundError
        If no wearable advertising the spasmwatch service matches ``target``; the
        message lists the wearables that were heard.
    TransportError
        If Bluetooth is unavailable or the scan fails.
    """
    if not target:
        raise ConfigError("a BLE target (address or name) must not be empty")
    device, seen = await _scan(
        timeout_s, scanner_backend, lambda d, a: matches_target(target, d, a)
    )
    if device is not None:
        return device, seen[device.address]
    kind = "address" if is_ble_address(target) else "name"
    heard = (
        "heard: " + ", ".join(info.label for info in seen.values())
        if seen
        else "no spasmwatch wearable was heard at all"
    )
    raise DeviceNotFoundError(
        f"no spasmwatch wearable with {kind} {target!r} was found in {timeout_s:g} s of "
        f"scanning for the spasmwatch service ({heard}). Is it switched on, charged, within "
        "range and not connected to another computer or phone? 'spasmwatch devices' "
        "lists the wearables in range."
    )
