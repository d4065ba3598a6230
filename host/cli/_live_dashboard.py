"""The live dashboard next to a recording (``spasmwatch run --dashboard``, ``demo``).

One helper for both commands: the options (``--host``, ``--port``, ``--token``) and
:func:`live_dashboard`, which serves the dashboard in the recording's event loop for as
long as the recording runs, fed by its live hub.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from host.pipeline.hub import LiveHub
from host.transports.base import Transport

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "add_dashboard_arguments", "live_dashboard"]

#: The dashboard listens on this computer only unless told otherwise.
DEFAULT_HOST = "127.0.0.1"
#: The dashboard's default port.
DEFAULT_PORT = 8000


def add_dashboard_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--host``, ``--port`` and ``--token`` for the live dashboard.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.
    """
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"dashboard address (default {DEFAULT_HOST}: this computer only; another "
        "address requires a token)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"dashboard port (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--token",
        help="access token for the dashboard (generated when --host is not a loopback "
        "address and none is given)",
    )


def _pipeline_info(transport: Transport, wearer: str | None) -> dict[str, Any]:
    stats = transport.stats
    return {
        "source_url": transport.url,
        "transport": transport.url.split(":", 1)[0],
        "wearer": wearer,
        "crc_errors": stats.crc_errors,
        "framing_errors": stats.framing_errors,
        "frames_lost": stats.frames_lost,
        "reconnects": transport.link.reconnects,
    }


@contextlib.asynccontextmanager
async def live_dashboard(
    args: argparse.Namespace,
    *,
    hub: LiveHub,
    store: Path,
    transport: Transport,
    wearer: str | None = None,
) -> AsyncIterator[str]:
    """Serve the live dashboard while the body runs; yield the URL to open.

    Parameters
    ----------
    args : argparse.Namespace
        ``host``, ``port`` and ``token`` (:func:`add_dashboard_arguments`).
    hub : LiveHub
        The recording's live hub.
    store : Path
        The wearer's store the recording writes.
    transport : Transport
        The recording's source (shown on the device page).
    wearer : str | None
        The wearer's name (shown on the device page).

    Yields
    ------
    str
        The dashboard's URL (with the token, when there is one).

    Raises
    ------
    ConfigError
        If the port is taken or another address is asked for without a way to protect it.
    """
    from host.dashboard import DashboardServer, create_app
    from host.dashboard.server import is_loopback, new_token

    token = args.token
    if token is None and not is_loopback(args.host):
        token = new_token()
    app = create_app(
        store_path=store,
        hub=hub,
        pipeline_info=lambda: _pipeline_info(transport, wearer),
        token=token,
    )
    server = DashboardServer(app, args.host, args.port)
    ready = asyncio.Event()
    task = asyncio.create_task(server.serve(ready), name="spasmwatch dashboard")
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    if not ready.is_set():
        waiter.cancel()
        await task  # raises why it could not start
    url = server.url
    if args.host in ("0.0.0.0", "::"):  # every address: name this computer instead
        url = f"http://{socket.gethostname()}:{server.port}/"
    url += f"?token={token}" if token else ""
    try:
        yield url
    finally:
        server.stop()
        await task
