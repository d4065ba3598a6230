"""Live view: the WebSocket of binary signal frames and JSON events, and a state snapshot.

``/ws/live`` sends, to each browser, the hub's events as JSON text (``{"type": "status",
...}``, ``"episode"``, ``"link"``, ``"gap"``, ``"device"``, ``"motion"``) and the signal as
binary frames (:mod:`host.dashboard.wire`). The browser may send ``{"type": "ping", "t":
<its clock>}``; the answer ``{"type": "pong", "t": ..., "server_s": time.monotonic()}``
lets it place the frames' ``received_s`` on its own clock to measure the latency from a
sample's arrival to its drawing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect

from host.dashboard.deps import Settings
from host.dashboard.live import LiveBroadcaster, LiveClient, json_ready

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter(tags=["live"])


def pipeline_info(request: Request) -> dict[str, Any]:
    """Return what the recorder told about itself (evaluated now when it is a function)."""
    fn = request.app.state.pipeline_info_fn
    info = fn() if fn is not None else request.app.state.settings.pipeline_info
    return dict(info or {})


@router.get("/api/live")
def live_state(request: Request, settings: Settings) -> dict[str, Any]:
    """Whether a recording is live, and its latest status, device and detector state."""
    hub = settings.hub
    if hub is None:
        return {"live": False, "status": None, "pipeline": pipeline_info(request)}
    latest = {topic: dict(m.payload) for topic, m in hub.latest.items()}
    broadcaster: LiveBroadcaster = request.app.state.broadcaster
    out: dict[str, Any] = json_ready(
        {
            "live": True,
            "status": latest.get("status"),
            "device": latest.get("device"),
            "link": latest.get("link"),
            "episode": latest.get("episode"),
            "pipeline": pipeline_info(request),
            "broadcast": broadcaster.stats(),
            "server_s": time.monotonic(),
        }
    )
    return out


async def _send_loop(websocket: WebSocket, client: LiveClient) -> None:
    while True:
        await client.wait()
        while client.events:
            await websocket.send_text(client.events.popleft())
            client.sent += 1
        while client.batches:
            await websocket.send_bytes(client.batches.popleft())
            client.sent += 1
            if client.events:
                break


async def _receive_loop(websocket: WebSocket, client: LiveClient) -> None:
    while True:
        text = await websocket.receive_text()
        try:
            message = json.loads(text)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("type") == "ping":
            client.put_event(
                json.dumps({"type": "pong", "t": message.get("t"), "server_s": time.monotonic()})
            )


@router.websocket("/ws/live")
async def live_socket(websocket: WebSocket) -> None:
    """Stream the live hub to one browser until it goes away."""
    app = websocket.app
    broadcaster: LiveBroadcaster | None = app.state.broadcaster
    await websocket.accept()
    if broadcaster is None:
        await websocket.send_text(
            json.dumps(
                {
                    "type": "idle",
                    "detail": "no recording is running in this dashboard: it shows the store "
                    "only (start one with spasmwatch run --dashboard)",
                }
            )
        )
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()
        return
    client = LiveClient()
    broadcaster.add_client(client)
    tasks = [
        asyncio.create_task(_send_loop(websocket, client)),
        asyncio.create_task(_receive_loop(websocket, client)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        broadcaster.remove_client(client)
        for task in tasks:
            task.cancel()
        for task in tasks:
            # A browser that goes away ends its loops with a disconnect or a closed socket.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await websocket.close()
