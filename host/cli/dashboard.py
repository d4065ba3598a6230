"""``spasmwatch dashboard``: review a wearer's recordings in the browser.

Serves the dashboard (live view, timeline, episodes and labels, the clinician's summary,
device, calibration and export) for the wearer's recording store on 127.0.0.1 (this
computer only). Another address makes it reachable from other computers and needs an
access token (``--token``, or one is generated): the address to open is printed with it.
The store may be recording meanwhile (``spasmwatch run``): the dashboard reads what is
committed, about once a second.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
from typing import Any

from host.cli._store_options import add_store_arguments
from host.dashboard import DEFAULT_HOST, DEFAULT_PORT, DashboardServer, create_app, new_token
from host.dashboard.server import is_loopback
from host.storage import store_path

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register the subcommand."""
    parser = subparsers.add_parser(
        "dashboard",
        help="review a wearer's recordings in the browser",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    add_store_arguments(parser)
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this computer only)",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument(
        "--token",
        help="access token every request must carry (required, and generated if not given, "
        "when --host is not a loopback address)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the subcommand."""
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    path = store_path(args.wearer, args.data_dir)
    token = args.token
    if token is None and not is_loopback(args.host):
        token = new_token()
    app = create_app(store_path=path, token=token)
    server = DashboardServer(app, args.host, args.port)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, server.stop)
    ready = asyncio.Event()
    task = asyncio.create_task(server.serve(ready))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    if ready.is_set():
        url = server.url
        if args.host in ("0.0.0.0", "::"):  # every address: name this computer instead
            url = f"http://{socket.gethostname()}:{server.port}/"
        url += f"?token={token}" if token else ""
        sys.stderr.write(f"dashboard of {path}\nopen {url}\n(Ctrl-C to stop)\n")
        sys.stderr.flush()
    else:
        waiter.cancel()
    await task
    return 0
