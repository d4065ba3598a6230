"""Binding, tokens and the command line."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from host.cli import build_parser
from host.dashboard import DashboardServer, create_app
from host.dashboard.server import is_loopback
from host.errors import ConfigError

TOKEN = "s3cret-token-123"


def test_another_address_needs_a_token(tmp_path: Path) -> None:
    app = create_app(store_path=tmp_path / "w.sqlite3")
    with pytest.raises(ConfigError, match="needs an access token"):
        DashboardServer(app, "0.0.0.0", 8000)
    DashboardServer(create_app(store_path=tmp_path / "w.sqlite3", token=TOKEN), "0.0.0.0", 0)
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("192.168.1.4")
    with pytest.raises(ConfigError, match="at least 8"):
        create_app(store_path=tmp_path / "w.sqlite3", token="short")


def test_token_is_required_and_accepted_three_ways(tmp_path: Path) -> None:
    app = create_app(store_path=tmp_path / "w.sqlite3", token=TOKEN)
    with TestClient(app, follow_redirects=False) as c:
        refused = c.get("/api/live")
        assert refused.status_code == 401
        assert refused.json()["code"] == "token_required"
        page = c.get("/")
        assert page.status_code == 401
        assert "Access token needed" in page.text
        assert c.get("/api/live", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert (
            c.get("/api/live", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
        )
        login = c.get(f"/?token={TOKEN}")
        assert login.status_code == 303
        assert login.headers["location"] == "/"
        assert "HttpOnly" in login.headers["set-cookie"]
        assert c.get("/api/live").status_code == 200  # the cookie now


async def test_server_runs_in_the_callers_loop_and_stops(tmp_path: Path) -> None:
    server = DashboardServer(create_app(store_path=tmp_path / "w.sqlite3"), "127.0.0.1", 0)
    ready = asyncio.Event()
    task = asyncio.create_task(server.serve(ready))
    await asyncio.wait_for(ready.wait(), 10)
    assert server.port > 0
    assert server.url.endswith(f":{server.port}/")
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/api/live")).json()["live"] is False
    server.stop()
    await asyncio.wait_for(task, 10)


async def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = DashboardServer(create_app(store_path=tmp_path / "w.sqlite3"), "127.0.0.1", port)
        with pytest.raises(ConfigError, match="cannot listen on 127.0.0.1"):
            await server.serve()


def test_the_command_is_registered() -> None:
    args = build_parser().parse_args(["dashboard", "--wearer", "alice", "--port", "8123"])
    assert (args.host, args.port, args.token, args.wearer) == ("127.0.0.1", 8123, None, "alice")
