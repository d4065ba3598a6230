"""What the two file replays share: a producer task fed from a file, and no commands.

:class:`~host.transports.replay.ReplayTransport` (``.sw1`` captures) and
:class:`~host.transports.recording_replay.RecordingReplayTransport` (EDF, BDF, CSV, WFDB)
differ in how they read; starting, stopping and refusing commands are the same.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import time
from pathlib import Path

from host.errors import TransportError
from host.protocol import Frame
from host.transports.base import LinkEvent, Transport

__all__ = ["PlaybackTransport"]

logger = logging.getLogger(__name__)


class PlaybackTransport(Transport):
    """A transport that plays a file back through a producer task.

    Subclasses set ``_path``, open their source, then call :meth:`_start_playback`;
    they implement :meth:`_produce` (feed the items) and :meth:`_close_source`.
    """

    _path: Path
    _task: asyncio.Task[None] | None = None

    def _start_playback(self) -> None:
        """Mark the transport open, announce it and start the producer."""
        self._mark_open()
        self._emit(LinkEvent("connected", f"replaying {self._path}", time.monotonic()))
        self._task = asyncio.create_task(self._produce(), name=f"spasmwatch {self.url}")

    @abc.abstractmethod
    async def _produce(self) -> None:
        """Feed the file's items until its end or until closed."""

    @abc.abstractmethod
    def _close_source(self) -> None:
        """Release the file (called once, after the producer has stopped)."""

    async def close(self) -> None:
        """Stop replaying and close the file; safe to call any number of times."""
        if self._closed:
            return
        self._mark_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._close_source()

    async def send(self, frame: Frame) -> None:
        """Commands go nowhere: a recording cannot be commanded (they are ignored)."""
        if not self._opened or self._closed:
            raise TransportError(f"{self.url}: cannot send: not open")
        logger.debug("%s: ignoring %s sent to a replay", self.url, type(frame).__name__)
