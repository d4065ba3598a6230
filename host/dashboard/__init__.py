"""The dashboard: a FastAPI app reading the wearer's store and the live hub.

Pages: live signal, timeline, episodes (labelling), the clinician's summary, the device,
the calibration wizard and export. It reads the recording store and the pipeline's live
hub; it never talks to a transport. ``docs/dashboard.md`` describes it.

Serving it next to a recording, in the same event loop::

    hub = LiveHub()
    app = create_app(store_path=path, hub=hub, pipeline_info={"source_url": url})
    server = DashboardServer(app, "127.0.0.1", 8000)
    task = asyncio.create_task(server.serve())
    ...                       # Pipeline(transport, hub=hub, ...).run()
    server.stop(); await task
"""

from __future__ import annotations

from host.dashboard.app import create_app
from host.dashboard.server import DEFAULT_HOST, DEFAULT_PORT, DashboardServer, new_token, serve

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "DashboardServer", "create_app", "new_token", "serve"]
