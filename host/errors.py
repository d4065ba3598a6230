"""The one exception hierarchy of the host side.

Every error that leaves ``host`` is a :class:`SpasmwatchError`. Library exceptions
(pyserial's ``SerialException``, bleak's ``BleakError``, ``OSError`` from a vanished
port) are translated at the transport boundary and never leak out of
``host.transports``.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "CrcError",
    "DeviceDisconnectedError",
    "DeviceNotFoundError",
    "DeviceTimeoutError",
    "ForeignDeviceError",
    "FrameError",
    "FramingError",
    "MalformedFrameError",
    "PortBusyError",
    "PortNotFoundError",
    "ProtocolError",
    "RecordingError",
    "SpasmwatchError",
    "StorageError",
    "StorageFullError",
    "StoragePermissionError",
    "StoreCorruptError",
    "StoreVersionError",
    "TransportError",
    "UnknownFrameTypeError",
    "UnsupportedVersionError",
]


class SpasmwatchError(Exception):
    """Base class of every error raised by spasmwatch."""


class ConfigError(SpasmwatchError, ValueError):
    """A parameter, option or configuration value is out of range or malformed."""


class RecordingError(SpasmwatchError, ValueError):
    """A recording file cannot be read or does not hold what analysis needs."""


class ProtocolError(SpasmwatchError, ValueError):
    """Bytes or values that do not follow wire protocol v1 (``docs/protocol.md``)."""


class FrameError(ProtocolError):
    """One received frame cannot be decoded; a stream decoder counts and skips it."""


class FramingError(FrameError):
    """The COBS block is invalid, empty, or longer than the protocol allows."""


class CrcError(FrameError):
    """The frame's CRC-32 does not match its contents."""


class UnsupportedVersionError(FrameError):
    """The frame announces a protocol version this host does not speak."""


class UnknownFrameTypeError(FrameError):
    """The frame type byte is not defined by the protocol version in use."""

    def __init__(self, message: str, *, seq: int) -> None:
        super().__init__(message)
        self.seq = seq


class MalformedFrameError(FrameError):
    """The CRC is right but the body contradicts itself (lengths, counts, ranges)."""

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class TransportError(SpasmwatchError):
    """A link to a device could not be opened, or failed while open."""


class PortNotFoundError(TransportError):
    """The serial port (or matching USB device) does not exist."""


class PortBusyError(TransportError):
    """The serial port exists but another process holds it or access is denied."""


class DeviceDisconnectedError(TransportError):
    """The device went away while the link was open (cable pulled, port vanished)."""


class DeviceTimeoutError(TransportError):
    """The device did not answer within the allotted time."""


class DeviceNotFoundError(TransportError):
    """No device matching the address or name was found (a BLE scan came back empty)."""


class ForeignDeviceError(TransportError):
    """The device answered but is not a spasmwatch wearable (no spasmwatch service)."""


class StorageError(SpasmwatchError):
    """The recording store could not be opened, read or written."""


class StoreCorruptError(StorageError):
    """The store file is damaged or is not a spasmwatch store (another SQLite database)."""


class StoreVersionError(StorageError):
    """The store was written by a newer spasmwatch whose schema this version cannot read."""


class StorageFullError(StorageError):
    """The disk (or the store's size limit) is full: recording stopped, earlier data is kept."""


class StoragePermissionError(StorageError):
    """The data directory or store file cannot be created or written (permissions)."""
