"""Finding serial ports, spotting likely spasmwatch devices, and asking a device who it is."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeAlias

from serial.tools import list_ports

from host.errors import ConfigError, DeviceTimeoutError, PortNotFoundError, TransportError
from host.protocol import Command, DeviceInfoFrame
from host.transports.base import LinkEvent, Transport

__all__ = [
    "KNOWN_USB_VENDORS",
    "Likelihood",
    "SerialPortInfo",
    "describe_available_ports",
    "find_serial_port",
    "format_vid_pid",
    "list_serial_ports",
    "parse_vid_pid",
    "probe_device",
]

logger = logging.getLogger(__name__)

Likelihood: TypeAlias = Literal["yes", "maybe", "no"]

#: USB vendor IDs of the microcontroller boards (and their USB-serial bridges) the
#: firmware runs on. A port with one of these IDs *may* be a spasmwatch; only a port
#: whose USB strings name spasmwatch, or a ``--probe`` answer, says so for sure.
KNOWN_USB_VENDORS: dict[int, str] = {
    0x2341: "Arduino",
    0x2E8A: "Raspberry Pi (RP2040)",
    0x239A: "Adafruit",
    0x303A: "Espressif (native USB)",
    0x1915: "Nordic Semiconductor",
    0x2886: "Seeed Studio",
    0x0483: "STMicroelectronics",
    0x10C4: "Silicon Labs CP210x bridge",
    0x1A86: "WCH CH340 bridge",
}

_PRODUCT_NAME = "spasmwatch"


@dataclass(frozen=True)
class SerialPortInfo:
    """One serial port of this computer.

    Attributes
    ----------
    path : str
        Device path (``/dev/ttyACM0``, ``COM3``).
    description : str
        Human-readable description from the operating system.
    vid, pid : int or None
        USB vendor and product IDs, None for non-USB ports.
    serial_number, manufacturer, product : str or None
        USB descriptor strings, when available.
    likely_spasmwatch : {"yes", "maybe", "no"}
        ``"yes"`` when the USB strings name spasmwatch, ``"maybe"`` for a USB ID of a
        board family the firmware runs on, ``"no"`` otherwise.
    reason : str
        Why the port was marked, empty for ``"no"``.
    """

    path: str
    description: str
    vid: int | None
    pid: int | None
    serial_number: str | None
    manufacturer: str | None
    product: str | None
    likely_spasmwatch: Likelihood
    reason: str

    @property
    def vid_pid(self) -> str | None:
        """``"VVVV:PPPP"`` in hexadecimal, or None for non-USB ports."""
        if self.vid is None or self.pid is None:
            return None
        return format_vid_pid(self.vid, self.pid)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary (``vid_pid`` included)."""
        out = asdict(self)
        out["vid_pid"] = self.vid_pid
        return out


def format_vid_pid(vid: int, pid: int) -> str:
    """Return ``"VVVV:PPPP"`` (lower-case hexadecimal) for a USB vendor and product ID."""
    return f"{vid:04x}:{pid:04x}"


def parse_vid_pid(text: str) -> tuple[int, int]:
    """Parse a USB ID written ``VVVV:PPPP`` in hexadecimal.

    Parameters
    ----------
    text : str
        For example ``"2341:0043"``.

    Returns
    -------
    vid, pid : int
        Vendor and product ID.

    Raises
    ------
    ConfigError
        If ``text`` is not two hexadecimal numbers of at most 4 digits around a colon.
    """
    parts = text.strip().split(":")
    try:
        if len(parts) != 2 or not all(0 < len(p) <= 4 for p in parts):
            raise ValueError
        vid, pid = (int(p, 16) for p in parts)
    except ValueError:
        raise ConfigError(
            f"Invalid USB ID {text!r}: expected VID:PID as two hexadecimal numbers of at "
            "most 4 digits, e.g. 2341:0043"
        ) from None
    return vid, pid


def _classify(port: Any) -> tuple[Likelihood, str]:
    strings = " ".join(
        s for s in (port.product, port.manufacturer, port.description, port.interface) if s
    )
    if _PRODUCT_NAME in strings.lower():
        return "yes", "its USB strings name spasmwatch"
    if port.vid is not None and port.vid in KNOWN_USB_VENDORS:
        return "maybe", f"USB vendor {port.vid:04x} ({KNOWN_USB_VENDORS[port.vid]})"
    return "no", ""


def list_serial_ports() -> list[SerialPortInfo]:
    """Return the serial ports of this computer, likely spasmwatch devices first.

    Returns
    -------
    list of SerialPortInfo
        Sorted by likelihood, then by path; empty when there are none.

    Raises
    ------
    TransportError
        If the operating system cannot be asked for its ports.
    """
    try:
        raw = list_ports.comports()
    except OSError as err:
        raise TransportError(f"could not list the serial ports of this computer: {err}") from None
    ports: list[SerialPortInfo] = []
    for port in raw:
        likely, reason = _classify(port)
        description = port.description if port.description not in (None, "n/a") else ""
        ports.append(
            SerialPortInfo(
                path=port.device,
                description=description,
                vid=port.vid,
                pid=port.pid,
                serial_number=port.serial_number,
                manufacturer=port.manufacturer,
                product=port.product,
                likely_spasmwatch=likely,
                reason=reason,
            )
        )
    rank = {"yes": 0, "maybe": 1, "no": 2}
    ports.sort(key=lambda p: (rank[p.likely_spasmwatch], p.path))
    return ports


def describe_available_ports() -> str:
    """Return the available ports as one line of text for error messages."""
    try:
        ports = list_serial_ports()
    except TransportError:
        return "(could not be listed)"
    if not ports:
        return "none"
    out = []
    for port in ports:
        extra = ", ".join(s for s in (port.description, port.vid_pid) if s)
        out.append(f"{port.path} ({extra})" if extra else port.path)
    return ", ".join(out)


def find_serial_port(vid: int, pid: int, serial_number: str | None = None) -> str:
    """Return the path of the USB serial device with this vendor and product ID.

    Parameters
    ----------
    vid, pid : int
        USB vendor and product ID.
    serial_number : str or None
        Pick the device with this USB serial number when several match.

    Returns
    -------
    str
        The device path; the lowest one when several devices match (a warning is logged).

    Raises
    ------
    PortNotFoundError
        If no connected device matches.
    """
    matches = sorted(
        (p for p in list_serial_ports() if p.vid == vid and p.pid == pid),
        key=lambda p: p.path,
    )
    if serial_number is not None:
        matches = [p for p in matches if p.serial_number == serial_number]
    wanted = format_vid_pid(vid, pid)
    if serial_number is not None:
        wanted += f" with serial number {serial_number}"
    if not matches:
        raise PortNotFoundError(
            f"no USB serial device {wanted} is connected; available ports: "
            f"{describe_available_ports()}"
        )
    if len(matches) > 1:
        logger.warning(
            "%d devices match USB ID %s (%s); using %s. Give a serial number to choose.",
            len(matches),
            wanted,
            ", ".join(p.path for p in matches),
            matches[0].path,
        )
    return matches[0].path


async def probe_device(transport: Transport, *, timeout_s: float = 1.0) -> DeviceInfoFrame:
    """Connect, send IDENTIFY and return the device's DEVICE_INFO answer.

    The transport is opened and closed here; create it without connect commands (for a
    serial port: ``SerialTransport(path, connect_commands=(), max_reconnect_s=0)``) so
    that probing does not start streaming.

    Parameters
    ----------
    transport : Transport
        A transport that is not open yet.
    timeout_s : float
        How long to wait for the answer, in seconds.

    Returns
    -------
    DeviceInfoFrame
        What the device says about itself.

    Raises
    ------
    DeviceTimeoutError
        If no DEVICE_INFO frame arrives within ``timeout_s``.
    TransportError
        If the port cannot be opened (not found, busy) or the link breaks.
    """
    if timeout_s <= 0:
        raise ConfigError(f"timeout_s must be positive, got {timeout_s}")
    async with transport:
        await transport.send_command(Command.IDENTIFY)
        try:
            async with asyncio.timeout(timeout_s):
                async for item in transport:
                    if isinstance(item, DeviceInfoFrame):
                        return item
                    if isinstance(item, LinkEvent) and item.kind == "disconnected":
                        break
        except TimeoutError:
            pass
    raise DeviceTimeoutError(
        f"no DEVICE_INFO answer from {transport.url} within {timeout_s:g} s: expected a "
        "spasmwatch running protocol v1 (is it another kind of device, or busy booting?)"
    )
