"""Links to a device: one contract (:class:`Transport`), one module per backend.

Today there is a serial backend (:class:`SerialTransport`); BLE, replay and simulator
backends will follow behind the same contract, chosen by URL with :func:`open_transport`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from host.errors import ConfigError
from host.transports.base import (
    DEFAULT_QUEUE_SIZE,
    LinkCounters,
    LinkEvent,
    LinkEventKind,
    Transport,
    TransportItem,
)
from host.transports.discovery import (
    SerialPortInfo,
    find_serial_port,
    list_serial_ports,
    parse_vid_pid,
    probe_device,
)
from host.transports.serial import DEFAULT_BAUDRATE, SerialTransport

__all__ = [
    "DEFAULT_BAUDRATE",
    "DEFAULT_QUEUE_SIZE",
    "SUPPORTED_SCHEMES",
    "LinkCounters",
    "LinkEvent",
    "LinkEventKind",
    "SerialPortInfo",
    "SerialTransport",
    "Transport",
    "TransportItem",
    "find_serial_port",
    "list_serial_ports",
    "open_transport",
    "parse_vid_pid",
    "probe_device",
]

#: URL schemes :func:`open_transport` understands.
SUPPORTED_SCHEMES = ("serial",)

_SERIAL_OPTIONS = ("baudrate", "serial_number", "max_reconnect_s")


def open_transport(url: str) -> Transport:
    """Create (not yet open) the transport a URL names.

    Parameters
    ----------
    url : str
        ``serial:///dev/ttyACM0`` (a device path, symlinks included),
        ``serial://COM3``, or ``serial://2341:0043`` (a USB VID:PID, looked up on every
        connection). Options go in the query: ``?baudrate=921600``,
        ``?serial_number=...`` (with a VID:PID), ``?max_reconnect_s=60``.

    Returns
    -------
    Transport
        Use it as ``async with open_transport(url) as transport: ...``.

    Raises
    ------
    ConfigError
        If the scheme is not supported or the URL or its options are malformed.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SUPPORTED_SCHEMES:
        raise ConfigError(
            f"Invalid transport URL {url!r}: supported schemes are "
            f"{', '.join(s + '://' for s in SUPPORTED_SCHEMES)}, but got "
            f"{(scheme + '://') if scheme else 'no scheme'} instead"
        )
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(query) - set(_SERIAL_OPTIONS))
    if unknown:
        raise ConfigError(
            f"Invalid option(s) {', '.join(unknown)} in {url!r}: serial:// URLs accept "
            f"{', '.join(_SERIAL_OPTIONS)}"
        )
    options = {key: values[-1] for key, values in query.items()}
    kwargs: dict[str, Any] = {}
    try:
        if "baudrate" in options:
            kwargs["baudrate"] = int(options["baudrate"])
        if "max_reconnect_s" in options:
            kwargs["max_reconnect_s"] = float(options["max_reconnect_s"])
    except ValueError:
        raise ConfigError(
            f"Invalid number among the options of {url!r}: baudrate must be an integer, "
            "max_reconnect_s a number of seconds"
        ) from None
    netloc = unquote(parts.netloc)
    path = unquote(parts.path)
    serial_number = options.get("serial_number")
    if netloc and ":" in netloc and not path:
        return SerialTransport(vid_pid=netloc, serial_number=serial_number, **kwargs)
    port = netloc + path
    if not port:
        raise ConfigError(
            f"Invalid transport URL {url!r}: expected a device path "
            "(serial:///dev/ttyACM0, serial://COM3) or a USB ID (serial://2341:0043)"
        )
    if serial_number is not None:
        raise ConfigError(f"'serial_number' in {url!r} needs a USB VID:PID, not a device path")
    return SerialTransport(port, **kwargs)
