"""GATT layout of a spasmwatch wearable on Bluetooth LE: UUIDs, MTU, advertising.

The normative text is ``docs/protocol.md``, section "GATT service (BLE transport)". In
short: one primary service (:data:`SERVICE_UUID`) with a *data* characteristic
(notify; every notification carries exactly one COBS-encoded protocol v1 frame, its
0x00 delimiter included) and a *command* characteristic (write with response; one
encoded COMMAND frame per write), next to the standard Battery Service and, optionally,
Device Information. UUIDs are given as lower-case 128-bit strings, the form bleak uses.
"""

from __future__ import annotations

import re

from host.errors import ConfigError
from host.protocol.frames import MAX_ENCODED_LEN

__all__ = [
    "ADVERTISING_INTERVAL_FAST_MS",
    "ADVERTISING_INTERVAL_SLOW_MS",
    "ATT_NOTIFICATION_OVERHEAD",
    "BATTERY_LEVEL_UUID",
    "BATTERY_SERVICE_UUID",
    "COMMAND_CHAR_UUID",
    "CONNECTION_INTERVAL_MAX_MS",
    "CONNECTION_INTERVAL_MIN_MS",
    "DATA_CHAR_UUID",
    "DEFAULT_ATT_MTU",
    "DEVICE_INFORMATION_SERVICE_UUID",
    "FAST_ADVERTISING_S",
    "FIRMWARE_REVISION_UUID",
    "MANUFACTURER_NAME_UUID",
    "MIN_ATT_MTU",
    "MODEL_NUMBER_UUID",
    "NAME_PREFIX",
    "PREFERRED_ATT_MTU",
    "SERIAL_NUMBER_UUID",
    "SERVICE_UUID",
    "SUPERVISION_TIMEOUT_MS",
    "advertised_name",
    "is_ble_address",
    "uuid16",
]


def uuid16(value: int) -> str:
    """Return the 128-bit form of a 16-bit Bluetooth SIG UUID.

    Parameters
    ----------
    value : int
        The assigned number, e.g. ``0x180F`` for the Battery Service.

    Returns
    -------
    str
        ``"0000xxxx-0000-1000-8000-00805f9b34fb"`` (the Bluetooth base UUID), lower case.
    """
    if not 0 <= value <= 0xFFFF:
        raise ConfigError(f"a 16-bit UUID must be in 0..0xFFFF, got {value:#x}")
    return f"0000{value:04x}-0000-1000-8000-00805f9b34fb"


# -- spasmwatch service (a fixed random 128-bit base; the 2nd and 3rd bytes count) ------

#: The spasmwatch primary service; also advertised, so scanners can filter on it.
SERVICE_UUID = "472a0001-3a20-47c3-a6a5-242350c64704"
#: Data characteristic (notify): one encoded protocol v1 frame per notification.
DATA_CHAR_UUID = "472a0002-3a20-47c3-a6a5-242350c64704"
#: Command characteristic (write with response): one encoded COMMAND frame per write.
COMMAND_CHAR_UUID = "472a0003-3a20-47c3-a6a5-242350c64704"

# -- standard services (Bluetooth SIG assigned numbers) ---------------------------------

#: Battery Service.
BATTERY_SERVICE_UUID = uuid16(0x180F)
#: Battery Level (u8, 0..100 %), read and notify.
BATTERY_LEVEL_UUID = uuid16(0x2A19)
#: Device Information Service (optional).
DEVICE_INFORMATION_SERVICE_UUID = uuid16(0x180A)
#: Manufacturer Name String (UTF-8).
MANUFACTURER_NAME_UUID = uuid16(0x2A29)
#: Model Number String (UTF-8): the board name of DEVICE_INFO.
MODEL_NUMBER_UUID = uuid16(0x2A24)
#: Serial Number String (UTF-8): the 64-bit ``device_id`` in 16 hex digits.
SERIAL_NUMBER_UUID = uuid16(0x2A25)
#: Firmware Revision String (UTF-8): ``major.minor.patch``.
FIRMWARE_REVISION_UUID = uuid16(0x2A26)

# -- MTU ----------------------------------------------------------------------------

#: ATT MTU before any exchange (Bluetooth Core, Vol 3 Part F, 3.2.8).
DEFAULT_ATT_MTU = 23
#: Bytes of a Handle Value Notification before its value (opcode + handle).
ATT_NOTIFICATION_OVERHEAD = 3
#: Smallest ATT MTU at which every encoded frame fits one notification (247).
MIN_ATT_MTU = MAX_ENCODED_LEN + ATT_NOTIFICATION_OVERHEAD
#: MTU a central asks for (the largest ATT allows); the exchange settles on the smaller
#: of both sides' values, so a device offering :data:`MIN_ATT_MTU` gets exactly that.
PREFERRED_ATT_MTU = 517

# -- advertising and connection parameters (recommendations) -------------------------

#: Prefix of the advertised Complete Local Name; see :func:`advertised_name`.
NAME_PREFIX = "spasmwatch-"
#: Advertising interval for the first :data:`FAST_ADVERTISING_S` after power-up or a
#: disconnection, so a host that lost the link finds the device again within a second.
ADVERTISING_INTERVAL_FAST_MS = 20.0
#: Advertising interval after that, to save power.
ADVERTISING_INTERVAL_SLOW_MS = 152.5
#: How long to advertise fast, in seconds.
FAST_ADVERTISING_S = 30.0
#: Connection interval range the device requests: enough events for ~31 notifications/s
#: with several per event, short enough to keep latency low.
CONNECTION_INTERVAL_MIN_MS = 15.0
CONNECTION_INTERVAL_MAX_MS = 30.0
#: Supervision timeout: a link silent this long is declared lost by both sides.
SUPERVISION_TIMEOUT_MS = 4000.0

_ADDRESS = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
_APPLE_ID = re.compile(r"^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")


def advertised_name(device_id: int) -> str:
    """Return the Complete Local Name a wearable advertises.

    Parameters
    ----------
    device_id : int
        The 64-bit identifier of DEVICE_INFO.

    Returns
    -------
    str
        ``"spasmwatch-XXXX"``: the prefix and the low 16 bits of ``device_id`` in four
        upper-case hex digits, so two wearables in one room are told apart.
    """
    return f"{NAME_PREFIX}{device_id & 0xFFFF:04X}"


def is_ble_address(text: str) -> bool:
    """Tell whether a string is a Bluetooth address rather than a device name.

    Parameters
    ----------
    text : str
        ``"C0:98:E5:49:00:01"`` (a MAC-style address, as BlueZ and Windows report it)
        or a macOS peripheral identifier (a UUID string) is an address; anything else is
        taken as a name.

    Returns
    -------
    bool
        True for an address.
    """
    return bool(_ADDRESS.match(text) or _APPLE_ID.match(text))
