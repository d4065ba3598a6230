"""Serial-port transport (USB CDC-ACM, USB-serial bridges, UARTs, pseudo-terminals).

pyserial is blocking, so one background thread per transport owns the port: it opens
it, reads whatever arrives and hands the bytes to the event loop with
``loop.call_soon_threadsafe`` (never blocking on a slow consumer), and when the device
vanishes it reopens the same path or USB ID with exponential backoff. Decoding, the
item queue and every counter live on the event loop's thread (see
:class:`~host.transports.base.Transport`).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import serial

from host.errors import (
    ConfigError,
    DeviceDisconnectedError,
    DeviceTimeoutError,
    PortBusyError,
    PortNotFoundError,
    TransportError,
)
from host.protocol import Command, Frame, encode_frame
from host.transports.base import (
    DEFAULT_QUEUE_SIZE,
    LinkEvent,
    LinkEventKind,
    Transport,
    frame_name,
)
from host.transports.discovery import (
    describe_available_ports,
    find_serial_port,
    format_vid_pid,
    parse_vid_pid,
)

__all__ = ["DEFAULT_BAUDRATE", "SerialTransport"]

logger = logging.getLogger(__name__)

#: Line rate for UART links (the Uno firmware's: exact at 16 MHz, 18 % of it used by the
#: 2-channel 1 kHz stream); USB CDC-ACM devices ignore it.
DEFAULT_BAUDRATE = 250_000
#: Longest a blocking read waits before the reader thread checks whether to stop.
_READ_TIMEOUT_S = 0.25
#: Longest ``close()`` waits for the reader thread.
_JOIN_TIMEOUT_S = 2.0

_NOT_FOUND = {errno.ENOENT, errno.ENODEV, errno.ENXIO}
_BUSY = {errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK}
_DENIED = {errno.EACCES, errno.EPERM}


class SerialTransport(Transport):
    """Link to a device on a serial port, with automatic reconnection.

    On every (re)connection the port is opened exclusively, one 0x00 byte is written
    (it ends whatever half-frame the device's receiver holds) and then the
    ``connect_commands`` (IDENTIFY and START by default), stamped with the host's
    sequence counter. When the link breaks, a ``LinkEvent("disconnected")`` is emitted
    and the port is reopened with exponential backoff; the same decoder is kept, so the
    frames sent while the device was away show up as one
    :class:`~host.protocol.FrameGap`.

    Parameters
    ----------
    port : str or None
        Device path: ``/dev/ttyACM0``, a stable symlink such as
        ``/dev/serial/by-id/usb-...``, a pseudo-terminal, or ``COM3``. Give either
        ``port`` or ``vid_pid``.
    vid_pid : str or tuple of int or None
        USB vendor and product ID, ``"2341:0043"`` or ``(0x2341, 0x0043)``; the port is
        looked up again on every reconnection (its name may change).
    serial_number : str or None
        With ``vid_pid``: the USB serial number of the device to pick among several.
    baudrate : int
        Line rate in bit/s (ignored by USB CDC-ACM devices).
    connect_commands : sequence of Command
        Commands sent after every (re)connection, in order.
    reconnect_initial_s : float
        Wait before the first reconnection attempt, in seconds; doubled after every
        failed attempt...
    reconnect_max_interval_s : float
        ...up to this interval, in seconds.
    max_reconnect_s : float or None
        Give up reconnecting after this long, in seconds (``LinkEvent("gave_up")``, then
        :class:`~host.errors.DeviceDisconnectedError` from iteration). 0 makes one
        attempt; None retries forever.
    write_timeout_s : float
        Longest a write may take before :class:`~host.errors.DeviceTimeoutError`.
    queue_size : int
        Items buffered for a slow consumer (see :class:`~host.transports.base.Transport`).

    Examples
    --------
    >>> async def main() -> None:  # doctest: +SKIP
    ...     async with SerialTransport("/dev/ttyACM0") as transport:
    ...         async for item in transport:
    ...             print(item)
    """

    def __init__(
        self,
        port: str | None = None,
        *,
        vid_pid: str | tuple[int, int] | None = None,
        serial_number: str | None = None,
        baudrate: int = DEFAULT_BAUDRATE,
        connect_commands: Sequence[Command] = (Command.IDENTIFY, Command.START),
        reconnect_initial_s: float = 0.1,
        reconnect_max_interval_s: float = 2.0,
        max_reconnect_s: float | None = 30.0,
        write_timeout_s: float = 1.0,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        super().__init__(queue_size=queue_size)
        if (port is None) == (vid_pid is None):
            raise ConfigError(
                "give exactly one of 'port' (a device path) or 'vid_pid' (a USB ID such as "
                f"2341:0043), got port={port!r} and vid_pid={vid_pid!r}"
            )
        if serial_number is not None and vid_pid is None:
            raise ConfigError("'serial_number' selects among USB devices: give 'vid_pid' too")
        self._port = port
        self._usb_id = parse_vid_pid(vid_pid) if isinstance(vid_pid, str) else vid_pid
        self._serial_number = serial_number
        _check_positive("baudrate", baudrate)
        _check_positive("reconnect_initial_s", reconnect_initial_s)
        _check_positive("write_timeout_s", write_timeout_s)
        if reconnect_max_interval_s < reconnect_initial_s:
            raise ConfigError(
                f"reconnect_max_interval_s ({reconnect_max_interval_s}) must be at least "
                f"reconnect_initial_s ({reconnect_initial_s})"
            )
        if max_reconnect_s is not None and not max_reconnect_s >= 0:
            raise ConfigError(f"max_reconnect_s must be >= 0 or None, got {max_reconnect_s}")
        self._baudrate = baudrate
        self._connect_commands = tuple(Command(c) for c in connect_commands)
        self._backoff_initial_s = reconnect_initial_s
        self._backoff_max_s = reconnect_max_interval_s
        self._max_reconnect_s = max_reconnect_s
        self._write_timeout_s = write_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._io_lock = threading.Lock()  # guards self._serial: swaps, writes, cancel_read
        self._serial: Any = None  # the open serial.Serial, None while disconnected
        self._port_path: str | None = None  # the path currently (or last) open

    @property
    def url(self) -> str:
        """``serial:///dev/ttyACM0``, or ``serial://2341:0043`` for a USB ID."""
        if self._port is not None:
            return f"serial://{self._port}"
        assert self._usb_id is not None
        return f"serial://{format_vid_pid(*self._usb_id)}"

    @property
    def port(self) -> str | None:
        """The device path currently (or last) open, None before the first connection."""
        return self._port_path

    # -- life cycle ----------------------------------------------------------------------

    async def open(self) -> None:
        """Open the port, send the connect commands and start the reader thread.

        A transport is opened once: after :meth:`close`, or once it has given up
        reconnecting, create a new one.

        Raises
        ------
        PortNotFoundError
            If the path does not exist, or no device has the USB ID.
        PortBusyError
            If another process holds the port, or access is denied.
        TransportError
            For any other failure to open or configure the port.
        """
        if self._closed:
            raise TransportError(f"{self.url}: a closed transport cannot be reopened")
        if self._opened:
            return
        loop = asyncio.get_running_loop()
        self._loop = loop
        future = loop.run_in_executor(None, self._connect)
        try:
            ser = await asyncio.shield(future)
        except asyncio.CancelledError:
            # The port may still open in the worker: close it when it does.
            future.add_done_callback(self._release_abandoned)
            raise
        self._mark_open()
        self._emit(LinkEvent("connected", f"opened {ser.port}", time.monotonic()))
        self._thread = threading.Thread(
            target=self._reader_main, args=(ser,), name=f"spasmwatch-serial {ser.port}", daemon=True
        )
        self._thread.start()

    async def close(self) -> None:
        """Stop the reader thread and close the port; safe to call any number of times."""
        if self._closed:
            return
        self._stop.set()
        self._mark_closed()
        with self._io_lock:
            if self._serial is not None:
                try:
                    self._serial.cancel_read()  # wakes the reader out of its read
                except (serial.SerialException, OSError):
                    pass
        thread = self._thread
        if thread is not None and thread.is_alive():
            await asyncio.to_thread(thread.join, _JOIN_TIMEOUT_S)
            if thread.is_alive():
                logger.warning(
                    "%s: reader thread did not stop within %s s", self.url, _JOIN_TIMEOUT_S
                )

    async def send(self, frame: Frame) -> None:
        """Write one encoded frame to the device.

        Parameters
        ----------
        frame : Frame
            Usually a :class:`~host.protocol.CommandFrame`.

        Raises
        ------
        DeviceDisconnectedError
            If the link is down (the transport may be reconnecting).
        DeviceTimeoutError
            If the device does not take the bytes within ``write_timeout_s``.
        TransportError
            If the transport is not open.
        """
        if not self._opened or self._closed:
            raise TransportError(f"{self.url}: cannot send {frame_name(frame)}: not open")
        data = encode_frame(frame)
        await asyncio.to_thread(self._write, data, frame_name(frame))
        self._link.bytes_sent += len(data)

    # -- worker side (reader thread and executor threads) --------------------------------

    def _target(self) -> str:
        if self._port is not None:
            return self._port
        assert self._usb_id is not None
        return f"USB device {format_vid_pid(*self._usb_id)}"

    def _resolve(self, *, list_ports: bool) -> str:
        if self._port is None:
            assert self._usb_id is not None
            return find_serial_port(*self._usb_id, serial_number=self._serial_number)
        if sys.platform != "win32" and not os.path.exists(self._port):
            available = f"; available ports: {describe_available_ports()}" if list_ports else ""
            raise PortNotFoundError(f"serial port {self._port} does not exist{available}")
        return self._port

    def _connect(self, list_ports: bool = True) -> Any:
        """Open the port exclusively and send the flush byte and connect commands.

        ``list_ports`` adds the available ports to a not-found message (not while
        reconnecting, where the message repeats).
        """
        path = self._resolve(list_ports=list_ports)
        ser = serial.Serial()
        ser.port = path
        ser.baudrate = self._baudrate
        ser.timeout = _READ_TIMEOUT_S
        ser.write_timeout = self._write_timeout_s
        ser.exclusive = True
        try:
            ser.open()
        except (serial.SerialException, OSError) as err:
            raise _translate_open_error(err, path) from None
        except ValueError as err:
            raise ConfigError(f"serial port {path} rejects its settings: {err}") from None
        hello = b"\x00" + b"".join(
            encode_frame(self._next_command(command)) for command in self._connect_commands
        )
        try:
            ser.write(hello)
        except (serial.SerialException, OSError) as err:
            _close_quietly(ser)
            raise DeviceDisconnectedError(
                f"serial port {path} opened but writing the connect commands failed: {err}"
            ) from None
        with self._io_lock:
            self._serial = ser
            self._port_path = path
        self._post(self._count_sent, len(hello))
        return ser

    def _count_sent(self, n: int) -> None:
        self._link.bytes_sent += n

    def _write(self, data: bytes, what: str) -> None:
        with self._io_lock:
            ser = self._serial
            if ser is None:
                raise DeviceDisconnectedError(
                    f"cannot send {what} to {self._target()}: the link is down"
                    + (" (reconnecting)" if not self._stop.is_set() else "")
                )
            try:
                ser.write(data)
            except serial.SerialTimeoutException:
                raise DeviceTimeoutError(
                    f"{self._target()} did not accept {what} ({len(data)} bytes) within "
                    f"{self._write_timeout_s:g} s"
                ) from None
            except (serial.SerialException, OSError) as err:
                raise DeviceDisconnectedError(
                    f"writing {what} to {self._target()} failed: {err}"
                ) from None

    def _post(self, callback: Callable[..., None], *args: Any) -> bool:
        """Run ``callback(*args)`` on the event loop; False once the loop is gone."""
        loop = self._loop
        assert loop is not None
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self._stop.set()
            return False
        return True

    def _event(self, kind: LinkEventKind, detail: str) -> None:
        self._post(self._emit, LinkEvent(kind, detail, time.monotonic()))

    def _release_abandoned(self, future: asyncio.Future[Any]) -> None:
        """Close a port whose opening finished after ``open()`` was cancelled."""
        if not future.cancelled() and future.exception() is None:
            self._release(future.result())

    def _release(self, ser: Any) -> None:
        with self._io_lock:
            if self._serial is ser:
                self._serial = None
            _close_quietly(ser)

    def _reader_main(self, ser: Any) -> None:
        try:
            while ser is not None:
                reason = self._pump(ser)
                self._release(ser)
                if reason is None or self._stop.is_set():
                    return
                logger.info("%s: link broke: %s", self.url, reason)
                self._event("disconnected", reason)
                ser = self._reconnect(reason)
        except Exception:  # pragma: no cover - a bug: report it rather than hang the consumer
            logger.exception("%s: reader thread failed", self.url)
            self._post(
                self._fail, TransportError(f"{self.url}: reader thread failed (see the log)")
            )
        finally:
            with self._io_lock:
                if self._serial is not None:
                    _close_quietly(self._serial)
                    self._serial = None

    def _pump(self, ser: Any) -> str | None:
        """Read until the link breaks (return why) or the transport stops (None)."""
        stop = self._stop
        while not stop.is_set():
            try:
                waiting = ser.in_waiting
                data = ser.read(waiting or 1)
                if data and not waiting:
                    more = ser.in_waiting
                    if more:
                        data += ser.read(more)
            except (serial.SerialException, OSError) as err:
                if stop.is_set():
                    return None
                return f"the device on {ser.port} went away (unplugged?): reading failed: {err}"
            if data and not self._post(self._receive_bytes, data):
                return None
        return None

    def _reconnect(self, reason: str) -> Any:
        """Reopen the port with exponential backoff; None when stopped or giving up."""
        started = time.monotonic()
        limit = math.inf if self._max_reconnect_s is None else self._max_reconnect_s
        delay = self._backoff_initial_s
        last_error = reason
        attempt = 0
        while True:
            remaining = limit - (time.monotonic() - started)
            if self._stop.wait(max(0.0, min(delay, remaining))):
                return None
            attempt += 1
            elapsed = time.monotonic() - started
            detail = f"attempt {attempt} to reopen {self._target()}, {elapsed:.2f} s after it broke"
            if attempt > 1:
                detail += f" (last attempt: {last_error})"
            self._event("reconnecting", detail)
            try:
                ser = self._connect(list_ports=False)
            except TransportError as err:
                last_error = str(err)
                logger.debug("%s: reconnection attempt %d failed: %s", self.url, attempt, err)
            else:
                if self._stop.is_set():
                    self._release(ser)
                    return None
                elapsed = time.monotonic() - started
                self._event(
                    "connected",
                    f"reopened {ser.port} {elapsed:.2f} s after the link broke (attempt {attempt})",
                )
                return ser
            if time.monotonic() - started >= limit:
                message = (
                    f"{self._target()} did not come back within {limit:g} s "
                    f"({attempt} attempts); last error: {last_error}"
                )
                self._event("gave_up", message)
                self._post(self._fail, DeviceDisconnectedError(message))
                return None
            delay = min(2.0 * delay, self._backoff_max_s)


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ConfigError(f"{name} must be positive, got {value}")


def _close_quietly(ser: Any) -> None:
    try:
        ser.close()
    except (serial.SerialException, OSError) as err:
        logger.debug("closing %s: %s", getattr(ser, "port", "?"), err)


def _translate_open_error(err: Exception, path: str) -> TransportError:
    """Turn pyserial's or the OS's complaint about opening ``path`` into our own."""
    code = getattr(err, "errno", None)
    text = str(err)
    if code in _NOT_FOUND or "FileNotFoundError" in text:
        return PortNotFoundError(
            f"serial port {path} does not exist (or its device has gone); available ports: "
            f"{describe_available_ports()}"
        )
    if code in _BUSY or "exclusively lock" in text:
        return PortBusyError(
            f"port {path} is busy (held by another process?): it could not be opened "
            "exclusively; close the other program (serial monitor, ModemManager, another "
            "spasmwatch) and try again"
        )
    if code in _DENIED or "PermissionError" in text or "Access is denied" in text:
        return PortBusyError(
            f"permission denied opening port {path}: expected read/write access (on Linux, "
            "add your user to the group owning the port, usually 'dialout', and log in "
            "again), or another program holds it"
        )
    return TransportError(f"could not open serial port {path}: {text}")
