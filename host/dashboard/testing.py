"""A real recording with a real dashboard, for tests, benchmarks and screenshots.

:class:`LiveDashboard` runs, in the current event loop, the recording pipeline over a
simulated wearable (``sim://quick?speed=1``, or any transport URL) into a store, and the
dashboard on 127.0.0.1 on a free port, the way ``spasmwatch run --dashboard`` does::

    async with LiveDashboard(tmp_path / "w.sqlite3") as live:
        ...  # live.url, live.hub, live.pipeline, live.store_path
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from host.dashboard.app import create_app
from host.dashboard.server import DashboardServer
from host.pipeline.hub import LiveHub
from host.pipeline.pipeline import Pipeline
from host.storage import RecordingStore
from host.transports import open_transport

__all__ = ["LiveDashboard"]


class LiveDashboard:
    """Pipeline + dashboard in the running loop, stopped on exit.

    Parameters
    ----------
    store_path : Path
        The store to record into.
    source : str
        Transport URL (default: the quick scenario in real time).
    port : int
        Port; 0 for a free one.
    token : str | None
        The dashboard's token.
    duration_s : float | None
        Stop recording after this much signal (the dashboard keeps serving).
    """

    def __init__(
        self,
        store_path: Path,
        source: str = "sim://quick?speed=1",
        *,
        port: int = 0,
        token: str | None = None,
        duration_s: float | None = None,
    ) -> None:
        self.store_path = Path(store_path)
        self.hub = LiveHub()
        self.transport = open_transport(source)
        self.pipeline = Pipeline(
            self.transport, open_store=lambda: RecordingStore.open(self.store_path), hub=self.hub
        )
        self.app = create_app(
            store_path=self.store_path,
            hub=self.hub,
            pipeline_info=self._info,
            token=token,
        )
        self.server = DashboardServer(self.app, "127.0.0.1", port)
        self._duration_s = duration_s
        self._tasks: list[asyncio.Task[Any]] = []

    def _info(self) -> dict[str, Any]:
        stats = self.transport.stats
        return {
            "source_url": self.transport.url,
            "transport": self.transport.url.split(":", 1)[0],
            "crc_errors": stats.crc_errors,
            "frames_lost": stats.frames_lost,
        }

    @property
    def url(self) -> str:
        """The dashboard's address."""
        return self.server.url

    @property
    def recording(self) -> asyncio.Task[Any]:
        """The pipeline's task."""
        return self._tasks[0]

    async def __aenter__(self) -> Self:
        ready = asyncio.Event()
        self._tasks.append(asyncio.create_task(self.pipeline.run(duration_s=self._duration_s)))
        self._tasks.append(asyncio.create_task(self.server.serve(ready)))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait([waiter, self._tasks[1]], return_when=asyncio.FIRST_COMPLETED)
        if not ready.is_set():
            waiter.cancel()
            await self.__aexit__(None, None, None)
            self._tasks[1].result()  # raises the server's error
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.pipeline.stop()
        self.server.stop()
        for task in self._tasks:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=15.0)
