"""Bluetooth LE transport: the wearable's GATT service, through bleak.

On :meth:`BleTransport.open` the transport scans for the spasmwatch service
(:func:`~host.transports.ble_scan.find_ble_device`), connects with ``BleakClient``,
learns the ATT MTU the connection settled on, checks that the device exposes the
spasmwatch service (``docs/protocol.md``, "GATT service (BLE transport)"), subscribes to
the data characteristic, reads the battery level and writes the same connect commands
as the serial transport (IDENTIFY, START), one encoded COMMAND frame per write. Every
notification is handed, as bytes stamped with their arrival time, to the base class's
decoder on the event loop; the notification callback does nothing else.

When the link drops, a ``LinkEvent("disconnected")`` is emitted and the wearable is
scanned for and reconnected with exponential backoff; the same decoder is kept, so the
frames the wearable made meanwhile show up as one :class:`~host.protocol.FrameGap` and
their samples as :class:`~host.protocol.SampleGap` (nothing is joined, nothing
duplicated). bleak's exceptions (and those of whatever backend runs under it) never
leave this module: they become :class:`~host.errors.TransportError` subclasses.

Both bleak entry points take a ``backend=`` class; :class:`BleTransport` passes its
``client_backend`` and ``scanner_backend`` on, which is how the tests run this code
unchanged against the virtual wearable of :mod:`host.simulator.ble`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, unquote, urlsplit

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
)

from host.errors import (
    ConfigError,
    DeviceDisconnectedError,
    DeviceNotFoundError,
    DeviceTimeoutError,
    ForeignDeviceError,
    SpasmwatchError,
    TransportError,
)
from host.protocol import Command, Frame, encode_frame
from host.protocol.gatt import (
    BATTERY_LEVEL_UUID,
    BATTERY_SERVICE_UUID,
    COMMAND_CHAR_UUID,
    DATA_CHAR_UUID,
    DEFAULT_ATT_MTU,
    MIN_ATT_MTU,
    SERVICE_UUID,
    is_ble_address,
)
from host.transports.base import DEFAULT_QUEUE_SIZE, LinkEvent, Transport, frame_name
from host.transports.ble_scan import find_ble_device

__all__ = ["BLE_URL_OPTIONS", "BleTransport"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Query options a ``ble://`` URL accepts (see :meth:`BleTransport.from_url`).
BLE_URL_OPTIONS = ("scan_timeout_s", "connect_timeout_s", "max_reconnect_s")
#: Longest a disconnection may take before the client is abandoned.
_DISCONNECT_TIMEOUT_S = 5.0
#: Longest :meth:`BleTransport.close` waits for the supervisor task.
_CLOSE_TIMEOUT_S = 5.0


class _Session:
    """One connection: its client, what was learnt, and the state of its link."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.client: BleakClient | None = None
        self.address: str | None = None
        self.name: str | None = None
        self.data_char: BleakGATTCharacteristic | None = None
        self.command_char: BleakGATTCharacteristic | None = None
        self.mtu = DEFAULT_ATT_MTU
        self.battery_pct: int | None = None
        #: Notifications (bytes, arrival UTC s) received before the session is live
        #: (None once it is).
        self.held: list[tuple[bytes, float]] | None = []
        self.lost = asyncio.Event()
        self.reason = ""


class BleTransport(Transport):
    """Link to a wearable over Bluetooth LE, with automatic reconnection.

    Parameters
    ----------
    target : str
        The wearable's address (``C0:98:E5:49:00:01``; a UUID on macOS) or advertised
        name (``spasmwatch-1A2B``).
    scan_timeout_s : float
        Longest scan for the wearable, in seconds (on opening and on every reconnection
        attempt).
    connect_timeout_s : float
        Longest wait for a connection once the wearable is heard, in seconds.
    connect_commands : sequence of Command
        Commands written after every (re)connection, in order.
    reconnect_initial_s : float
        Wait before the first reconnection attempt, in seconds; doubled after every
        failed attempt...
    reconnect_max_interval_s : float
        ...up to this interval, in seconds.
    max_reconnect_s : float or None
        Give up reconnecting after this long, in seconds (``LinkEvent("gave_up")``, then
        :class:`~host.errors.DeviceDisconnectedError` from iteration); None (the
        default) keeps trying, because a wearer walking out of range for an hour is
        normal over a day. 0 makes one attempt.
    write_timeout_s : float
        Longest a command write (or the battery read) may take, in seconds.
    queue_size : int
        Items buffered for a slow consumer (see :class:`~host.transports.base.Transport`).
    client_backend : type of bleak.backends.client.BaseBleakClient, optional
        bleak's ``BleakClient(backend=)``; the platform's by default.
    scanner_backend : type of bleak.backends.scanner.BaseBleakScanner, optional
        bleak's ``BleakScanner(backend=)``; the platform's by default.

    Notes
    -----
    bleak offers no call to request an MTU: every backend exchanges one while connecting
    (the operating system does it on Linux, macOS and Windows; bleak's Android backend
    asks for 517). The transport reads what was agreed (on BlueZ through bleak's
    ``_acquire_mtu``, which bleak documents for exactly this), logs it, and warns below
    247, where frames arrive split over several notifications (they are reassembled, but
    throughput suffers).

    Examples
    --------
    >>> async def main() -> None:  # doctest: +SKIP
    ...     async with BleTransport("spasmwatch-1A2B") as transport:
    ...         async for item in transport:
    ...             print(item)
    """

    def __init__(
        self,
        target: str,
        *,
        scan_timeout_s: float = 10.0,
        connect_timeout_s: float = 20.0,
        connect_commands: Sequence[Command] = (Command.IDENTIFY, Command.START),
        reconnect_initial_s: float = 0.25,
        reconnect_max_interval_s: float = 5.0,
        max_reconnect_s: float | None = None,
        write_timeout_s: float = 2.0,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        client_backend: type[BaseBleakClient] | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
    ) -> None:
        super().__init__(queue_size=queue_size)
        target = target.strip()
        if not target:
            raise ConfigError(
                "a BLE target must be the wearable's address (C0:98:E5:49:00:01) or "
                "advertised name (spasmwatch-1A2B), got an empty string"
            )
        for name, value in (
            ("scan_timeout_s", scan_timeout_s),
            ("connect_timeout_s", connect_timeout_s),
            ("reconnect_initial_s", reconnect_initial_s),
            ("write_timeout_s", write_timeout_s),
        ):
            if not value > 0:
                raise ConfigError(f"{name} must be positive, got {value}")
        if reconnect_max_interval_s < reconnect_initial_s:
            raise ConfigError(
                f"reconnect_max_interval_s ({reconnect_max_interval_s}) must be at least "
                f"reconnect_initial_s ({reconnect_initial_s})"
            )
        if max_reconnect_s is not None and not max_reconnect_s >= 0:
            raise ConfigError(f"max_reconnect_s must be >= 0 or None, got {max_reconnect_s}")
        self._target = target
        self._scan_timeout_s = scan_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._connect_commands = tuple(Command(c) for c in connect_commands)
        self._backoff_initial_s = reconnect_initial_s
        self._backoff_max_s = reconnect_max_interval_s
        self._max_reconnect_s = max_reconnect_s
        self._write_timeout_s = write_timeout_s
        self._client_backend = client_backend
        self._scanner_backend = scanner_backend
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: _Session | None = None
        self._last: _Session | None = None
        self._supervisor: asyncio.Task[None] | None = None

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> BleTransport:
        """Create (not yet open) a transport from a ``ble://`` URL.

        Parameters
        ----------
        url : str
            ``ble://C0:98:E5:49:00:01`` (an address), ``ble://spasmwatch-1A2B`` (an
            advertised name; percent-encode unusual characters), with options in the
            query: ``?scan_timeout_s=10``, ``?connect_timeout_s=20``,
            ``?max_reconnect_s=600`` (``none`` to retry forever, the default).
        **kwargs
            Further keyword arguments of :class:`BleTransport` (backends, ...).

        Returns
        -------
        BleTransport
            Use it as ``async with BleTransport.from_url(url) as transport: ...``.

        Raises
        ------
        ConfigError
            If the URL is not ``ble://``, names no target, or has unknown or malformed
            options.
        """
        parts = urlsplit(url)
        if parts.scheme.lower() != "ble":
            raise ConfigError(
                f"Invalid BLE transport URL {url!r}: expected ble://<address or name>"
            )
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(query) - set(BLE_URL_OPTIONS))
        if unknown:
            raise ConfigError(
                f"Invalid option(s) {', '.join(unknown)} in {url!r}: ble:// URLs accept "
                f"{', '.join(BLE_URL_OPTIONS)}"
            )
        options = {key: values[-1] for key, values in query.items()}
        for key in ("scan_timeout_s", "connect_timeout_s", "max_reconnect_s"):
            if key not in options:
                continue
            text = options[key].strip().lower()
            if key == "max_reconnect_s" and text in ("none", "inf"):
                kwargs[key] = None  # retry forever
                continue
            try:
                kwargs[key] = float(text)
            except ValueError:
                forever = " (or 'none' to retry forever)" if key == "max_reconnect_s" else ""
                raise ConfigError(
                    f"Invalid value {options[key]!r} for {key!r} in {url!r}: expected a "
                    f"number of seconds{forever}"
                ) from None
        target = unquote(parts.netloc) + unquote(parts.path)
        target = target.strip("/") if not parts.netloc else target
        if not target.strip():
            raise ConfigError(
                f"Invalid transport URL {url!r}: expected ble://<address or name>, e.g. "
                "ble://spasmwatch-1A2B or ble://C0:98:E5:49:00:01"
            )
        return cls(target, **kwargs)

    # -- what the transport tells --------------------------------------------------------

    @property
    def url(self) -> str:
        """``ble://<address or name>``, as given."""
        return "ble://" + quote(self._target, safe=":-_.")

    @property
    def target(self) -> str:
        """The address or name the transport looks for."""
        return self._target

    @property
    def address(self) -> str | None:
        """Address of the wearable currently (or last) connected, None before."""
        session = self._session or self._last
        return session.address if session is not None else None

    @property
    def name(self) -> str | None:
        """Advertised name of the wearable currently (or last) connected, if heard."""
        session = self._session or self._last
        return session.name if session is not None else None

    @property
    def mtu(self) -> int | None:
        """ATT MTU of the current (or last) connection, None before the first."""
        session = self._session or self._last
        return session.mtu if session is not None else None

    @property
    def battery_pct(self) -> int | None:
        """Battery level read at the latest connection, in percent (None if unknown)."""
        session = self._session or self._last
        return session.battery_pct if session is not None else None

    # -- life cycle ----------------------------------------------------------------------

    async def open(self) -> None:
        """Find the wearable, connect, subscribe and send the connect commands.

        A transport is opened once: after :meth:`close`, or once it has given up
        reconnecting, create a new one.

        Raises
        ------
        DeviceNotFoundError
            If no wearable advertising the spasmwatch service matches the target.
        ForeignDeviceError
            If the device found does not expose the spasmwatch service.
        DeviceTimeoutError
            If connecting or a GATT operation timed out.
        TransportError
            If Bluetooth is unavailable or the connection failed otherwise.
        """
        if self._closed:
            raise TransportError(f"{self.url}: a closed transport cannot be reopened")
        if self._opened:
            return
        loop = asyncio.get_running_loop()
        self._loop = loop
        session = await self._connect(first=True)
        self._mark_open()
        self._go_live(session, f"connected to {self._describe(session)}")
        self._supervisor = loop.create_task(self._supervise(), name=f"spasmwatch {self.url}")

    async def close(self) -> None:
        """Disconnect and stop reconnecting; safe to call any number of times."""
        if self._closed:
            return
        self._mark_closed()
        task, self._supervisor = self._supervisor, None
        if task is not None:
            await _cancel_and_wait(task, _CLOSE_TIMEOUT_S)
        session, self._session = self._session, None
        if session is not None:
            self._last = session
            await self._disconnect_quietly(session)

    async def send(self, frame: Frame) -> None:
        """Write one encoded frame to the command characteristic (with response).

        Parameters
        ----------
        frame : Frame
            Usually a :class:`~host.protocol.CommandFrame`.

        Raises
        ------
        DeviceDisconnectedError
            If the link is down (the transport may be reconnecting).
        DeviceTimeoutError
            If the wearable does not acknowledge the write within ``write_timeout_s``.
        TransportError
            If the transport is not open, or the wearable refused the write.
        """
        what = frame_name(frame)
        if not self._opened or self._closed:
            raise TransportError(f"{self.url}: cannot send {what}: not open")
        session = self._session
        if session is None or session.lost.is_set():
            raise DeviceDisconnectedError(
                f"cannot send {what} to {self._target}: the link is down (reconnecting)"
            )
        await self._write(session, encode_frame(frame), what)

    # -- connecting ----------------------------------------------------------------------

    async def _connect(self, *, first: bool) -> _Session:
        """Scan for the target and connect to it; raise a TransportError on failure."""
        try:
            device, info = await find_ble_device(
                self._target, self._scan_timeout_s, scanner_backend=self._scanner_backend
            )
        except DeviceNotFoundError as not_found:
            if not (first and is_ble_address(self._target)):
                raise
            # Not heard advertising the spasmwatch service. An address may still be that
            # of a device which does not advertise it: connecting tells what it is.
            try:
                return await self._open_session(
                    self._target,
                    self._target,
                    timeout_s=min(self._connect_timeout_s, self._scan_timeout_s),
                )
            except ForeignDeviceError:
                raise
            except TransportError as err:
                logger.debug("%s: direct connection failed: %s", self.url, err)
                raise not_found from None
        session = await self._open_session(device, info.label, timeout_s=self._connect_timeout_s)
        session.name = info.name
        return session

    async def _open_session(
        self, device: BLEDevice | str, label: str, *, timeout_s: float
    ) -> _Session:
        session = _Session(label)
        session.address = device.address if isinstance(device, BLEDevice) else device
        try:
            client = BleakClient(
                device,
                disconnected_callback=lambda _client: self._post(self._on_link_lost, session),
                services=[SERVICE_UUID, BATTERY_SERVICE_UUID],
                timeout=timeout_s,
                backend=self._client_backend,
            )
        except Exception as err:
            raise _translate(err, f"setting up a Bluetooth client for {label}") from None
        session.client = client
        try:
            await self._bleak(f"connecting to {label}", client.connect())
            session.mtu = await self._read_mtu(client, label)
            session.data_char, session.command_char = _characteristics(client, label)
            await self._bleak(
                f"subscribing to the data characteristic of {label}",
                client.start_notify(session.data_char, self._notification_handler(session)),
            )
            session.battery_pct = await self._read_battery(client, label)
            for command in self._connect_commands:
                frame = self._next_command(command)
                await self._write(session, encode_frame(frame), f"{command.name} command")
            if session.lost.is_set():
                raise DeviceDisconnectedError(f"{label} dropped the link while connecting")
        except BaseException:
            await self._disconnect_quietly(session)
            raise
        return session

    async def _read_mtu(self, client: BleakClient, label: str) -> int:
        # bleak has no MTU request: backends exchange it while connecting. BlueZ needs
        # bleak's documented workaround to *read* what was agreed.
        backend = getattr(client, "_backend", None)
        acquire = getattr(backend, "_acquire_mtu", None)
        if callable(acquire):
            try:
                await acquire()
            except Exception as err:  # the MTU stays unknown; 23 is then assumed
                logger.debug("%s: reading the MTU failed: %r", self.url, err)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # BlueZ warns when it could not tell
            try:
                mtu = int(client.mtu_size)
            except Exception as err:
                logger.debug("%s: MTU unknown: %r", self.url, err)
                mtu = DEFAULT_ATT_MTU
        if mtu < MIN_ATT_MTU:
            logger.warning(
                "%s: ATT MTU %d with %s, below %d: frames arrive split over several "
                "notifications (reassembled, at a lower throughput)",
                self.url,
                mtu,
                label,
                MIN_ATT_MTU,
            )
        else:
            logger.info("%s: ATT MTU %d with %s", self.url, mtu, label)
        return mtu

    async def _read_battery(self, client: BleakClient, label: str) -> int | None:
        try:
            service = client.services.get_service(BATTERY_SERVICE_UUID)
        except BleakError as err:  # several battery services: do without
            logger.info("%s: %s: %s", self.url, label, err)
            service = None
        char = service.get_characteristic(BATTERY_LEVEL_UUID) if service is not None else None
        if char is None:
            logger.info("%s: %s has no Battery Service", self.url, label)
            return None
        try:
            async with asyncio.timeout(self._write_timeout_s):
                value = await client.read_gatt_char(char)
        except Exception as err:  # informational: STATUS frames carry the battery too
            logger.warning("%s: reading the battery level of %s failed: %r", self.url, label, err)
            return None
        if len(value) != 1 or value[0] > 100:
            logger.warning("%s: %s reports a malformed battery level %r", self.url, label, value)
            return None
        return int(value[0])

    def _notification_handler(
        self, session: _Session
    ) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
        post, deliver = self._post, self._deliver

        def on_notification(_sender: BleakGATTCharacteristic, data: bytearray) -> None:
            # May run on a backend's thread: only hand the bytes (and when they came) to
            # the event loop.
            post(deliver, session, bytes(data), time.time())

        return on_notification

    # -- on the event loop ---------------------------------------------------------------

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        """Run ``callback(*args)`` on the event loop, from any thread."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            pass

    def _deliver(self, session: _Session, data: bytes, arrival_utc_s: float) -> None:
        if session.held is not None:
            session.held.append((data, arrival_utc_s))  # not live yet: keep the order
        elif session is self._session:
            self._receive_bytes(data, arrival_utc_s)

    def _on_link_lost(self, session: _Session) -> None:
        if not session.lost.is_set():
            session.reason = (
                f"the link to {session.label} was lost (out of range, switched off or reset)"
            )
            session.lost.set()

    def _go_live(self, session: _Session, detail: str) -> None:
        self._session = session
        self._last = session
        self._emit(LinkEvent("connected", detail, time.monotonic()))
        held, session.held = session.held or [], None
        for data, arrival_utc_s in held:
            self._receive_bytes(data, arrival_utc_s)

    def _stopped(self) -> bool:
        """Tell whether :meth:`close` has run (a call: mypy must not narrow it across awaits)."""
        return self._closed

    def _describe(self, session: _Session) -> str:
        battery = f"{session.battery_pct} %" if session.battery_pct is not None else "unknown"
        return f"{session.label}: ATT MTU {session.mtu}, battery {battery}"

    async def _supervise(self) -> None:
        """Wait for the link to drop, then reconnect; until closed or given up."""
        try:
            while not self._stopped():
                session = self._session
                if session is None:
                    return
                await session.lost.wait()
                if self._stopped():
                    return
                self._session = None
                await self._disconnect_quietly(session)
                self._emit(LinkEvent("disconnected", session.reason, time.monotonic()))
                if not await self._reconnect(session.reason):
                    return
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug: report it rather than hang the consumer
            logger.exception("%s: supervisor failed", self.url)
            self._fail(TransportError(f"{self.url}: the BLE link supervisor failed (see the log)"))

    async def _reconnect(self, reason: str) -> bool:
        """Reconnect with exponential backoff; False when giving up."""
        started = time.monotonic()
        limit = math.inf if self._max_reconnect_s is None else self._max_reconnect_s
        delay = self._backoff_initial_s
        last_error = reason
        attempt = 0
        while True:
            remaining = limit - (time.monotonic() - started)
            await asyncio.sleep(max(0.0, min(delay, remaining)))
            if self._stopped():
                return False
            attempt += 1
            elapsed = time.monotonic() - started
            detail = (
                f"attempt {attempt} to reach {self._target}, {elapsed:.2f} s after the link broke"
            )
            if attempt > 1:
                detail += f" (last attempt: {last_error})"
            self._emit(LinkEvent("reconnecting", detail, time.monotonic()))
            try:
                session = await self._connect(first=False)
            except TransportError as err:
                last_error = str(err)
                logger.debug("%s: reconnection attempt %d failed: %s", self.url, attempt, err)
            else:
                if self._stopped():
                    await self._disconnect_quietly(session)
                    return False
                elapsed = time.monotonic() - started
                self._go_live(
                    session,
                    f"reconnected {elapsed:.2f} s after the link broke (attempt {attempt}) to "
                    f"{self._describe(session)}",
                )
                return True
            if time.monotonic() - started >= limit:
                message = (
                    f"{self._target} did not come back within {limit:g} s ({attempt} "
                    f"attempts); last error: {last_error}"
                )
                self._emit(LinkEvent("gave_up", message, time.monotonic()))
                self._fail(DeviceDisconnectedError(message))
                return False
            delay = min(2.0 * delay, self._backoff_max_s)

    # -- bleak calls ---------------------------------------------------------------------

    async def _bleak(self, what: str, awaitable: Awaitable[_T]) -> _T:
        """Await a bleak call; its exceptions become TransportError subclasses."""
        try:
            return await awaitable
        except SpasmwatchError:
            raise
        except Exception as err:
            raise _translate(err, what) from None

    async def _write(self, session: _Session, data: bytes, what: str) -> None:
        client, char = session.client, session.command_char
        if client is None or char is None:
            raise DeviceDisconnectedError(f"cannot send {what} to {session.label}: not connected")
        try:
            async with asyncio.timeout(self._write_timeout_s):
                await client.write_gatt_char(char, data, response=True)
        except TimeoutError:
            raise DeviceTimeoutError(
                f"{session.label} did not acknowledge {what} ({len(data)} bytes) within "
                f"{self._write_timeout_s:g} s"
            ) from None
        except SpasmwatchError:
            raise
        except Exception as err:
            if session.lost.is_set() or not client.is_connected:
                raise DeviceDisconnectedError(
                    f"sending {what} to {session.label} failed: the link is down"
                ) from None
            raise _translate(err, f"sending {what} to {session.label}") from None
        self._link.bytes_sent += len(data)

    async def _disconnect_quietly(self, session: _Session) -> None:
        client = session.client
        if client is None:
            return
        try:
            async with asyncio.timeout(_DISCONNECT_TIMEOUT_S):
                # Shielded: a second cancellation (see _cancel_and_wait) must not leave
                # the link half torn down.
                await asyncio.shield(client.disconnect())
        except asyncio.CancelledError:
            raise
        except Exception as err:  # already gone, or the adapter vanished
            logger.debug("%s: disconnecting from %s: %r", self.url, session.label, err)


async def _cancel_and_wait(task: asyncio.Task[None], timeout_s: float) -> None:
    """Cancel ``task`` and wait for it to end, cancelling again if it does not.

    Before Python 3.12, ``asyncio.wait_for`` swallows a cancellation that arrives as the
    awaited future completes (CPython issue 86296); Bluetooth stacks use it for every
    command, so one ``cancel()`` is not always enough.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not task.done():
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=min(0.1, max(0.0, deadline - loop.time())))
        if not done and loop.time() >= deadline:
            logger.warning("%s did not stop within %g s", task.get_name(), timeout_s)
            return


def _characteristics(
    client: BleakClient, label: str
) -> tuple[BleakGATTCharacteristic, BleakGATTCharacteristic]:
    """Return the data and command characteristics, or raise ForeignDeviceError."""
    try:
        services = client.services
        service = services.get_service(SERVICE_UUID)
    except BleakError as err:
        raise ForeignDeviceError(
            f"device {label} has an unusable GATT database ({err}); is it a spasmwatch wearable?"
        ) from None
    if service is None:
        others = (
            ", ".join(s.uuid if s.description == "Unknown" else s.description for s in services)
            or "none of those asked for"
        )
        raise ForeignDeviceError(
            f"device {label} does not expose the spasmwatch service {SERVICE_UUID}; is it "
            f"a spasmwatch wearable? (services found: {others}). Check the address or "
            "name in the URL; 'spasmwatch devices' lists the wearables in range."
        )
    data = service.get_characteristic(DATA_CHAR_UUID)
    command = service.get_characteristic(COMMAND_CHAR_UUID)
    problems = []
    if data is None or not {"notify", "indicate"} & set(data.properties):
        problems.append(f"a data characteristic {DATA_CHAR_UUID} that notifies")
    if command is None or "write" not in command.properties:
        problems.append(f"a command characteristic {COMMAND_CHAR_UUID} written with response")
    if problems or data is None or command is None:
        raise ForeignDeviceError(
            f"device {label} exposes the spasmwatch service but lacks "
            f"{' and '.join(problems)}: its firmware does not follow the GATT layout of "
            "protocol v1 (docs/protocol.md); update the firmware or the host"
        )
    return data, command


def _translate(err: Exception, what: str) -> TransportError:
    """Turn bleak's (or its backend's) complaint about ``what`` into one of ours."""
    if isinstance(err, TransportError):
        return err
    if isinstance(err, BleakBluetoothNotAvailableError):
        reason = err.reason.name.lower().replace("_", " ")
        return TransportError(
            f"{what} failed: Bluetooth is not available ({reason}): switch the Bluetooth "
            "adapter on and allow this program to use it"
        )
    if isinstance(err, BleakDeviceNotFoundError):
        return DeviceNotFoundError(
            f"{what} failed: the Bluetooth stack does not know device {err.identifier}; "
            "it must be heard advertising first (is it on and in range?)"
        )
    if isinstance(err, TimeoutError):
        return DeviceTimeoutError(f"{what} timed out")
    if isinstance(err, BleakGATTProtocolError):
        return TransportError(f"{what} failed: the device refused ({err.code.name})")
    return TransportError(f"{what} failed: {type(err).__name__}: {err}")
