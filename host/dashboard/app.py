"""The dashboard's FastAPI app: the API per resource, the live WebSocket, the pages.

:func:`create_app` builds it for one wearer's store, with the recording pipeline's live
hub when it runs in the same process (``spasmwatch run --dashboard``, ``spasmwatch
demo``) or without one to review a store (``spasmwatch dashboard``). The app reads the
store and the hub, never a transport.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from host.dashboard.auth import TokenMiddleware
from host.dashboard.calibration_run import CalibrationRunner
from host.dashboard.errors import install_error_handlers
from host.dashboard.live import LiveBroadcaster
from host.dashboard.routes import (
    calibration,
    device,
    episodes,
    export,
    live,
    summary,
    timeline,
)
from host.dashboard.settings import DashboardSettings
from host.errors import ConfigError
from host.pipeline.hub import LiveHub

__all__ = ["STATIC_DIR", "create_app"]

logger = logging.getLogger(__name__)

#: The pages, scripts, styles and vendored uPlot.
STATIC_DIR = Path(__file__).parent / "static"


def create_app(
    *,
    store_path: str | Path,
    hub: LiveHub | None = None,
    pipeline_info: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    token: str | None = None,
) -> FastAPI:
    """Build the dashboard for one wearer's store.

    Parameters
    ----------
    store_path : str | Path
        The wearer's recording store (``host.storage.store_path(wearer, data_dir)``); it
        may not exist yet (the pages then say there is nothing recorded).
    hub : LiveHub | None
        The recording pipeline's live hub, in the same event loop; None to review only.
    pipeline_info : mapping | callable | None
        Shown on the device page (``source_url``, ``transport``, ``wearer``, the decoder's
        counters such as ``crc_errors``): a mapping, or a function returning one on each
        request (for counters that change).
    token : str | None
        Access token every request must carry; required by :class:`DashboardServer`
        when binding to an address other than the loopback.

    Returns
    -------
    FastAPI
    """
    if token is not None and (not isinstance(token, str) or len(token) < 8):
        raise ConfigError("the dashboard's token must be a string of at least 8 characters")
    settings = DashboardSettings(
        store_path=Path(store_path),
        hub=hub,
        pipeline_info=pipeline_info if isinstance(pipeline_info, Mapping) else {},
        token=token,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        broadcaster = app.state.broadcaster
        if broadcaster is not None:
            broadcaster.start()
        try:
            yield
        finally:
            if broadcaster is not None:
                await broadcaster.stop()
            await app.state.calibration.cancel()

    app = FastAPI(
        title="spasmwatch dashboard",
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.pipeline_info_fn = pipeline_info if callable(pipeline_info) else None
    app.state.broadcaster = LiveBroadcaster(hub) if hub is not None else None
    app.state.calibration = CalibrationRunner(settings)
    install_error_handlers(app)
    for module in (live, timeline, episodes, summary, device, calibration, export):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    if token is not None:
        app.add_middleware(TokenMiddleware, token=token)
    return app
