"""Serving the dashboard with uvicorn in the caller's event loop (next to the pipeline).

:class:`DashboardServer` runs ``uvicorn.Server`` as a task of the running loop: the
recording pipeline and the dashboard share one loop, and the live hub is read without
threads. It leaves the process's signal handling to its caller (``spasmwatch run`` stops
the pipeline on Ctrl-C and then the server). WebSocket compression is off: the live
frames are float32 samples, which deflate barely shrinks, at a cost on every frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from host.dashboard.settings import DashboardSettings
from host.errors import ConfigError

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "DashboardServer", "is_loopback", "new_token", "serve"]

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """Return a fresh random access token (URL-safe, 128 bits)."""
    return secrets.token_urlsafe(16)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the caller owns the signals
        yield


class DashboardServer:
    """The dashboard app served on one address, in the running event loop.

    Parameters
    ----------
    app : FastAPI
        From :func:`host.dashboard.create_app`.
    host : str
        Address to bind (127.0.0.1 by default; any other needs the app's token).
    port : int
        TCP port; 0 picks a free one (see :attr:`port` once started).

    Raises
    ------
    ConfigError
        If ``host`` is not a loopback address and the app has no token.
    """

    def __init__(self, app: FastAPI, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        settings: DashboardSettings = app.state.settings
        if not is_loopback(host) and settings.token is None:
            raise ConfigError(
                f"the dashboard would be reachable from other computers on {host}; that "
                "needs an access token (create_app(token=...), or --token); bind to "
                "127.0.0.1 to keep it on this computer"
            )
        if not 0 <= int(port) <= 65535:
            raise ConfigError(f"port must be 0-65535, got {port}")
        self.app = app
        self.host = host
        config = uvicorn.Config(
            app,
            host=host,
            port=int(port),
            log_level="warning",
            ws_per_message_deflate=False,
            timeout_graceful_shutdown=2,
            lifespan="on",
        )
        self._server = _Server(config)
        self._port = int(port)

    @property
    def port(self) -> int:
        """The port (for port 0, the one chosen once :meth:`serve` has bound it)."""
        return self._port

    @property
    def url(self) -> str:
        """The address to open in a browser."""
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}/"

    @property
    def started(self) -> bool:
        """Whether it is accepting connections."""
        return bool(self._server.started)

    async def serve(self, ready: asyncio.Event | None = None) -> None:
        """Serve until :meth:`stop` (or cancellation); set ``ready`` once accepting.

        Cancelling the task that runs it shuts the server down cleanly (the app's
        lifespan ends, open WebSockets are closed) before the cancellation goes on.

        Raises
        ------
        ConfigError
            If the address cannot be bound (port in use, address not on this computer).
        """
        sock = self._bind()
        self._port = int(sock.getsockname()[1])
        task = asyncio.create_task(self._server.serve(sockets=[sock]))
        try:
            while not self._server.started and not task.done():
                await asyncio.wait({task}, timeout=0.01)
            if not self._server.started:
                await task  # its error
                raise ConfigError(f"the dashboard did not start on {self.url}")
            if ready is not None:
                ready.set()
            await asyncio.shield(task)
        except asyncio.CancelledError:
            self._server.should_exit = True
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
            raise

    def _bind(self) -> socket.socket:
        host = "127.0.0.1" if self.host == "localhost" else self.host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, self._port))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"the dashboard cannot listen on {self.host}:{self._port}: {exc.strerror or exc}"
                " (another program may use that port: choose another with --port)"
            ) from exc
        sock.set_inheritable(True)
        return sock

    def stop(self) -> None:
        """Ask the server to finish (open WebSockets are closed)."""
        self._server.should_exit = True


async def serve(
    app: FastAPI,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve the dashboard in the running event loop until cancelled.

    Parameters
    ----------
    app : FastAPI
        From :func:`host.dashboard.create_app`.
    host, port : str, int
        Address; see :class:`DashboardServer`.
    ready : asyncio.Event | None
        Set once connections are accepted.
    """
    await DashboardServer(app, host, port).serve(ready)
