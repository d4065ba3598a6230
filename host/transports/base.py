"""The transport contract: how the host receives frames from, and sends commands to, a device.

A transport owns one link (a serial port today; BLE, a replayed recording or the simulator
later) and turns it into an asynchronous stream of *items*: everything the protocol
decoder produces (frames, :class:`~host.protocol.FrameGap`, :class:`~host.protocol.SampleGap`,
...) plus :class:`LinkEvent` when the link itself changes state. Every backend follows the
same life cycle::

    async with SerialTransport("/dev/ttyACM0") as transport:   # open(): connects, or raises
        async for item in transport:                            # frames and link events
            ...
    # close(): idempotent, stops the backend promptly

Iteration ends (``StopAsyncIteration``) once the transport is closed, and raises
:class:`~host.errors.DeviceDisconnectedError` after the backend has given up reconnecting
(a ``LinkEvent("gave_up")`` is delivered first).

The decoder's counters (:attr:`Transport.stats`) and the link counters
(:attr:`Transport.link`) are only ever updated on the event loop's thread, so reading them
from a coroutine always gives a consistent snapshot. The item queue is bounded (the oldest
items are dropped for a consumer that awaits too rarely), but decoding happens on the event
loop: a consumer that blocks the loop itself stalls everything.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import math
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Literal, Self, TypeAlias, get_args

from host.errors import ConfigError, TransportError
from host.protocol import (
    Command,
    CommandFrame,
    DeviceInfoFrame,
    Frame,
    LateFrame,
    LinkStats,
    StreamDecoder,
)
from host.protocol.decoder import DecoderItem

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "LinkCounters",
    "LinkEvent",
    "LinkEventKind",
    "Transport",
    "TransportItem",
    "frame_name",
]

logger = logging.getLogger(__name__)

#: Items buffered between the link and a slow consumer before the oldest are dropped.
DEFAULT_QUEUE_SIZE = 4096

LinkEventKind: TypeAlias = Literal["connected", "disconnected", "reconnecting", "gave_up"]
_LINK_EVENT_KINDS: tuple[str, ...] = get_args(LinkEventKind)


@dataclass(frozen=True)
class LinkEvent:
    """A change of state of the link itself (not of the data flowing over it).

    Attributes
    ----------
    kind : {"connected", "disconnected", "reconnecting", "gave_up"}
        ``"connected"`` after every successful (re)connection, the first included;
        ``"disconnected"`` when an open link broke (device unplugged, port vanished);
        ``"reconnecting"`` before each attempt to reopen it; ``"gave_up"`` when the
        reconnection budget is spent (iteration then raises
        :class:`~host.errors.DeviceDisconnectedError`).
    detail : str
        Human-readable detail: the port, the attempt number, the error.
    monotonic_s : float
        ``time.monotonic()`` of the host when the event happened, in seconds.
    """

    kind: LinkEventKind
    detail: str
    monotonic_s: float

    def __post_init__(self) -> None:
        if self.kind not in _LINK_EVENT_KINDS:
            raise ConfigError(
                f"Invalid value for the 'kind' parameter. Allowed values are "
                f"{', '.join(map(repr, _LINK_EVENT_KINDS))}, but got {self.kind!r} instead."
            )


#: What iterating a transport yields.
TransportItem: TypeAlias = DecoderItem | LinkEvent


@dataclass
class LinkCounters:
    """Counters of the link itself, next to the decoder's :class:`~host.protocol.LinkStats`.

    Attributes
    ----------
    connects : int
        Successful connections, the first one included.
    disconnects : int
        Times an open link broke.
    reconnects : int
        Successful connections after a disconnection (``connects - 1`` at most).
    reconnect_attempts : int
        Attempts to reopen the link, successful or not.
    bytes_received : int
        Bytes read from the link.
    bytes_sent : int
        Bytes written to the link (flush byte and commands).
    items_dropped : int
        Items discarded because the consumer did not keep up (oldest first).
    """

    connects: int = 0
    disconnects: int = 0
    reconnects: int = 0
    reconnect_attempts: int = 0
    bytes_received: int = 0
    bytes_sent: int = 0
    items_dropped: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counters as a JSON-ready dictionary."""
        return asdict(self)


class Transport(abc.ABC):
    """Abstract link to one device: an async iterator of items and a command sender.

    Subclasses implement :meth:`open`, :meth:`close`, :meth:`send` and :attr:`url`. They
    hand received bytes to :meth:`_receive_bytes`, link changes to :meth:`_emit` and a
    terminal error to :meth:`_fail`, always on the event loop's thread (from another
    thread, through ``loop.call_soon_threadsafe``). The base class decodes, buffers,
    counts and serves the items.

    Parameters
    ----------
    queue_size : int
        Items held for a consumer that does not keep up. When full, the oldest item that
        is not a :class:`LinkEvent` is dropped and counted in
        :attr:`LinkCounters.items_dropped`; the link is never slowed down.
    """

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        if queue_size < 1:
            raise ConfigError(f"queue_size must be at least 1, got {queue_size}")
        self._queue_size = queue_size
        self._decoder = StreamDecoder()
        self._link = LinkCounters()
        self._items: deque[TransportItem] = deque()
        self._arrivals: deque[float] = deque()
        self._last_arrival_utc_s = math.nan
        self._wakeup = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._error: TransportError | None = None
        self._opened = False
        self._closed = False
        self._ended = False
        # Sources that can wait (replays, the simulator) set this: they never drop items,
        # they wait for room before producing more (:meth:`_wait_for_room`).
        self._lossless = False
        self._connected = False
        self._device_info: DeviceInfoFrame | None = None
        self._command_seq = 0
        self._command_lock = threading.Lock()

    # -- what every transport tells ------------------------------------------------------

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """Where the link goes, as a transport URL (e.g. ``serial:///dev/ttyACM0``)."""

    @property
    def stats(self) -> LinkStats:
        """The decoder's counters: frames received and lost, CRC errors, gaps, ..."""
        return self._decoder.stats

    @property
    def link(self) -> LinkCounters:
        """Counters of the link itself: connects, disconnects, reconnects, bytes."""
        return self._link

    @property
    def device_info(self) -> DeviceInfoFrame | None:
        """The most recent DEVICE_INFO frame received, or None before the first."""
        return self._device_info

    @property
    def last_arrival_utc_s(self) -> float:
        """Host UTC time (s) at which the bytes of the item last handed out arrived.

        Wall-clock time (``time.time()``) for live links; simulated and replayed sources
        give the time the item would have arrived from a live device. NaN before the first
        item. The pipeline pairs it with each frame's device timestamp to map device time
        to UTC (:mod:`host.timing`).
        """
        return self._last_arrival_utc_s

    @property
    def is_connected(self) -> bool:
        """True while the link is up (between ``connected`` and ``disconnected``)."""
        return self._connected

    # -- life cycle ----------------------------------------------------------------------

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect to the device, or raise a :class:`~host.errors.TransportError`.

        Raises
        ------
        PortNotFoundError
            If the device does not exist.
        PortBusyError
            If it exists but cannot be opened exclusively.
        TransportError
            For any other failure to connect.
        """

    @abc.abstractmethod
    async def close(self) -> None:
        """Disconnect and stop the backend; safe to call any number of times."""

    @abc.abstractmethod
    async def send(self, frame: Frame) -> None:
        """Write one frame to the device, as it is.

        Parameters
        ----------
        frame : Frame
            Usually a :class:`~host.protocol.CommandFrame`; see :meth:`send_command`.

        Raises
        ------
        DeviceDisconnectedError
            If the link is down.
        DeviceTimeoutError
            If the device does not accept the bytes in time.
        """

    async def send_command(self, command: Command, *, rate_hz: float = 0.0) -> CommandFrame:
        """Send a command stamped with the host's sequence counter and clock.

        Parameters
        ----------
        command : Command
            What the device should do.
        rate_hz : float
            The new EMG rate in Hz, for :attr:`Command.SET_RATE` only.

        Returns
        -------
        CommandFrame
            The frame sent; a :class:`~host.protocol.CommandReplyFrame` answering it
            carries its ``seq`` as ``request_seq``.
        """
        frame = self._next_command(command, rate_hz=rate_hz)
        await self.send(frame)
        return frame

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> TransportItem:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._items:
                self._last_arrival_utc_s = self._arrivals.popleft()
                if len(self._items) <= self._queue_size // 2:
                    self._room.set()
                return self._items.popleft()
            if self._error is not None:
                raise type(self._error)(*self._error.args)
            if self._ended:
                raise StopAsyncIteration
            if not self._opened:
                raise TransportError(
                    f"transport {self.url} is not open: use 'async with' or await open() "
                    "before iterating"
                )
            self._wakeup.clear()
            await self._wakeup.wait()

    # -- for subclasses (event loop thread only) -----------------------------------------

    def _next_command(self, command: Command, *, rate_hz: float = 0.0) -> CommandFrame:
        """Return a command frame with the next host sequence number (any thread)."""
        with self._command_lock:
            seq = self._command_seq
            self._command_seq = (seq + 1) & 0xFFFFFFFF
        return CommandFrame(
            seq=seq, timestamp_us=time.monotonic_ns() // 1000, command=command, rate_hz=rate_hz
        )

    def _receive_bytes(self, data: bytes, arrival_utc_s: float | None = None) -> None:
        """Decode bytes read from the link and queue the resulting items.

        ``arrival_utc_s`` is when they arrived (host UTC seconds); now when None.
        """
        self._link.bytes_received += len(data)
        arrival = time.time() if arrival_utc_s is None else arrival_utc_s
        for item in self._decoder.feed(data):
            if isinstance(item, DeviceInfoFrame):
                self._device_info = item
            elif isinstance(item, LateFrame) and self._device_info is None:
                if isinstance(item.frame, DeviceInfoFrame):
                    self._device_info = item.frame
            self._put(item, arrival)

    def _emit(self, event: LinkEvent) -> None:
        """Account for a link event and queue it."""
        link = self._link
        if event.kind == "connected":
            if link.connects:
                link.reconnects += 1
            link.connects += 1
            self._connected = True
        elif event.kind == "disconnected":
            link.disconnects += 1
            self._connected = False
            # Whatever half-frame was in flight is gone; the sequence numbers of what
            # follows account for its loss. The decoder is kept, so gaps across the
            # outage are counted.
            self._decoder.discard_partial()
        elif event.kind == "reconnecting":
            link.reconnect_attempts += 1
        else:
            self._connected = False
        logger.info("%s: %s (%s)", self.url, event.kind, event.detail)
        self._put(event)

    def _fail(self, error: TransportError) -> None:
        """End iteration with ``error`` once the queued items are consumed."""
        self._error = error
        self._connected = False
        self._wakeup.set()

    def _end_of_stream(self) -> None:
        """Mark the end of the source's data: iteration stops after the queued items."""
        self._ended = True
        self._connected = False
        self._wakeup.set()

    def _mark_open(self) -> None:
        """Record that :meth:`open` succeeded."""
        self._opened = True
        self._closed = False

    def _mark_closed(self) -> None:
        """Record that :meth:`close` ran: iteration stops, waiters wake up."""
        self._closed = True
        self._connected = False
        self._wakeup.set()
        self._room.set()

    async def _wait_for_room(self) -> None:
        """Wait until the consumer has taken at least half of a full queue.

        For sources that can wait (a replayed file, the simulator): they set
        ``_lossless`` and call this before producing more, so nothing is dropped however
        fast they run (the queue may exceed its size by one chunk of items). A live link
        never waits; its oldest items are dropped instead (:meth:`_put`).
        """
        while len(self._items) >= self._queue_size and not self._closed:
            self._room.clear()
            await self._room.wait()

    def _put(self, item: TransportItem, arrival_utc_s: float | None = None) -> None:
        items = self._items
        if len(items) >= self._queue_size and not self._lossless:
            self._drop_oldest()
        items.append(item)
        self._arrivals.append(time.time() if arrival_utc_s is None else arrival_utc_s)
        self._wakeup.set()

    def _drop_oldest(self) -> None:
        items = self._items
        for index, old in enumerate(items):
            if not isinstance(old, LinkEvent):
                del items[index]
                del self._arrivals[index]
                break
        else:  # nothing but link events: drop the oldest of those
            items.popleft()
            self._arrivals.popleft()
        if self._link.items_dropped == 0:
            logger.warning(
                "%s: the consumer does not keep up; dropping the oldest items "
                "(counted in link.items_dropped)",
                self.url,
            )
        self._link.items_dropped += 1


def frame_name(frame: Frame) -> str:
    """Name a frame for messages: ``"START command"``, ``"SAMPLES frame"``."""
    command = getattr(frame, "command", None)
    if isinstance(command, Command):
        return f"{command.name} command"
    return f"{frame.frame_type.name} frame"
