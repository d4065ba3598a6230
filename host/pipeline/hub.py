"""The live hub: what the pipeline publishes for live viewers (the dashboard, the status line).

Publishing never blocks and never fails: each subscriber has its own bounded buffer, and a
subscriber that does not keep up loses its oldest messages (counted in
:attr:`Subscription.dropped`), never the pipeline's time. All methods are meant to be
called from the event loop's thread.

Topics
------
Every subscriber receives the event topics (``"status"`` once a second, ``"episode"``,
``"link"``, ``"gap"``, ``"device"``, ``"session"``). The signal itself is published only to
subscribers that ask for it by name (:data:`SIGNAL_TOPICS`), and only while one does
(:meth:`LiveHub.wants`), so a recording without live viewers pays nothing for it:

``"emg"``
    Each frame of EMG as it is received: ``first_sample`` (int, the session's sample
    index), ``sfreq`` (Hz), ``t0_utc_s`` (UTC of the first sample, from the device clock),
    ``channels`` (names), ``volts`` (float64 array, ``(n_channels, n_times)``) and
    ``received_s`` (:func:`time.monotonic` when the pipeline handled the frame, to measure
    display latency).
``"accel"``
    The same for the accelerometer, with ``g`` (float64, ``(3, n_times)``) in place of
    ``volts``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Self

from host.errors import ConfigError

__all__ = ["SIGNAL_TOPICS", "LiveHub", "Message", "Subscription"]

#: Topics delivered only to subscribers that name them (high rate, arrays in the payload).
SIGNAL_TOPICS = frozenset({"emg", "accel"})

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """One published message.

    Attributes
    ----------
    topic : str
        ``"status"`` (once a second), ``"episode"``, ``"link"``, ``"gap"``, ...
    payload : dict
        Content: JSON-ready for event topics; signal topics carry numpy arrays.
    """

    topic: str
    payload: dict[str, Any] = field(default_factory=dict)


class Subscription:
    """A subscriber's buffer; iterate it with ``async for`` (ends when closed).

    Parameters
    ----------
    hub : LiveHub
        The hub it belongs to.
    maxlen : int
        Messages held before the oldest are dropped.
    signals : frozenset of str
        The signal topics (:data:`SIGNAL_TOPICS`) it receives besides the event topics.
    """

    def __init__(self, hub: LiveHub, maxlen: int, signals: frozenset[str] = frozenset()) -> None:
        self._hub = hub
        self.signals = signals
        self._buffer: deque[Message] = deque(maxlen=maxlen)
        self._event = asyncio.Event()
        self._closed = False
        self.dropped = 0

    def _push(self, message: Message) -> None:
        if len(self._buffer) == self._buffer.maxlen:
            self.dropped += 1
        self._buffer.append(message)
        self._event.set()

    def close(self) -> None:
        """Stop receiving; iteration ends after the buffered messages."""
        self._closed = True
        self._hub._remove(self)
        self._event.set()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Message:
        while True:
            if self._buffer:
                return self._buffer.popleft()
            if self._closed:
                raise StopAsyncIteration
            self._event.clear()
            await self._event.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LiveHub:
    """Fan-out of live messages to any number of subscribers.

    Parameters
    ----------
    maxlen : int
        Default buffer length of each subscription.
    """

    def __init__(self, maxlen: int = 256) -> None:
        if maxlen < 1:
            raise ConfigError(f"maxlen must be at least 1, got {maxlen}")
        self._maxlen = maxlen
        self._subscribers: list[Subscription] = []
        self.published = 0
        self.latest: dict[str, Message] = {}

    @property
    def n_subscribers(self) -> int:
        """Open subscriptions."""
        return len(self._subscribers)

    def subscribe(self, maxlen: int | None = None, *, signals: Iterable[str] = ()) -> Subscription:
        """Start receiving the messages published from now on.

        Parameters
        ----------
        maxlen : int | None
            Buffer length; the hub's default when None.
        signals : iterable of str
            Signal topics to receive as well (``"emg"``, ``"accel"``).

        Returns
        -------
        Subscription

        Raises
        ------
        ConfigError
            If a name in ``signals`` is not a signal topic.
        """
        wanted = frozenset(signals)
        unknown = wanted - SIGNAL_TOPICS
        if unknown:
            raise ConfigError(
                f"unknown signal topic(s) {sorted(unknown)}; expected some of "
                f"{sorted(SIGNAL_TOPICS)}"
            )
        sub = Subscription(self, maxlen or self._maxlen, wanted)
        self._subscribers.append(sub)
        return sub

    def wants(self, topic: str) -> bool:
        """Whether any subscriber receives ``topic`` (always True for event topics).

        Parameters
        ----------
        topic : str
            A topic name.

        Returns
        -------
        bool
        """
        if topic not in SIGNAL_TOPICS:
            return bool(self._subscribers)
        return any(topic in sub.signals for sub in self._subscribers)

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Send a message to every subscriber; never blocks.

        Parameters
        ----------
        topic : str
            What kind of message it is.
        payload : dict
            JSON-ready content (numpy arrays for signal topics).
        """
        message = Message(topic, payload)
        self.published += 1
        if topic in SIGNAL_TOPICS:
            for sub in self._subscribers:
                if topic in sub.signals:
                    sub._push(message)
            return
        self.latest[topic] = message
        for sub in self._subscribers:
            sub._push(message)

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)
