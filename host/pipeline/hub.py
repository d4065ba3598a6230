"""The live hub: what the pipeline publishes for live viewers (the dashboard, the status line).

Publishing never blocks and never fails: each subscriber has its own bounded buffer, and a
subscriber that does not keep up loses its oldest messages (counted in
:attr:`Subscription.dropped`), never the pipeline's time. All methods are meant to be
called from the event loop's thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Self

from host.errors import ConfigError

__all__ = ["LiveHub", "Message", "Subscription"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """One published message.

    Attributes
    ----------
    topic : str
        ``"status"`` (once a second), ``"episode"``, ``"link"``, ``"gap"``, ...
    payload : dict
        JSON-ready content.
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
    """

    def __init__(self, hub: LiveHub, maxlen: int) -> None:
        self._hub = hub
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

    def subscribe(self, maxlen: int | None = None) -> Subscription:
        """Start receiving every message published from now on.

        Parameters
        ----------
        maxlen : int | None
            Buffer length; the hub's default when None.

        Returns
        -------
        Subscription
        """
        sub = Subscription(self, maxlen or self._maxlen)
        self._subscribers.append(sub)
        return sub

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Send a message to every subscriber; never blocks.

        Parameters
        ----------
        topic : str
            What kind of message it is.
        payload : dict
            JSON-ready content.
        """
        message = Message(topic, payload)
        self.published += 1
        self.latest[topic] = message
        for sub in self._subscribers:
            sub._push(message)

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)
