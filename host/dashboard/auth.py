"""Access token check for every request and WebSocket (pure ASGI middleware).

A dashboard bound to the loopback address needs no token (only this computer can reach
it). On any other address a token is required: requests carry it as
``Authorization: Bearer <token>``, in the ``sw_token`` cookie, or once as ``?token=``
on a page address, which sets the cookie (HttpOnly, SameSite=Strict) and redirects to
the same address without it, so the token does not stay in the address bar or history.
"""

from __future__ import annotations

import hmac
import json
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["COOKIE", "TokenMiddleware"]

#: Name of the cookie that holds the token.
COOKIE = "sw_token"


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


class TokenMiddleware:
    """Refuse requests without the right token.

    Parameters
    ----------
    app : ASGI app
        The app to protect.
    token : str
        The token (compared in constant time).
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    def _ok(self, candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(
            candidate.encode("utf-8"), self.token.encode("utf-8")
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on if it carries the token, else answer 401 (or set the cookie)."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        auth = headers.get("authorization", "")
        bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        cookies = SimpleCookie()
        cookies.load(headers.get("cookie", ""))
        cookie = cookies[COOKIE].value if COOKIE in cookies else None
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        given = next((v for k, v in query if k == "token"), None)
        if self._ok(bearer) or self._ok(cookie):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            if self._ok(given):
                await self.app(scope, receive, send)
                return
            await send({"type": "websocket.close", "code": 1008, "reason": "token required"})
            return
        if self._ok(given) and scope.get("method") == "GET":
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            location = scope["path"] + (f"?{rest}" if rest else "")
            await _send(
                send,
                303,
                b"",
                [
                    (b"location", location.encode("latin-1")),
                    (
                        b"set-cookie",
                        f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/".encode(),
                    ),
                ],
            )
            return
        if scope["path"].startswith("/api/"):
            body = json.dumps(
                {
                    "detail": "this dashboard needs its access token: open the address "
                    "spasmwatch printed when it started (it ends in ?token=...)",
                    "code": "token_required",
                }
            ).encode()
            await _send(send, 401, body, [(b"content-type", b"application/json")])
            return
        page = (
            b"<!doctype html><html lang=en><meta charset=utf-8><title>spasmwatch</title>"
            b"<body style='font-family:sans-serif;max-width:40em;margin:4em auto'>"
            b"<h1>Access token needed</h1><p>This dashboard is reachable from other "
            b"computers, so it asks for its access token. Open the address that "
            b"<code>spasmwatch dashboard</code> printed when it started; it ends in "
            b"<code>?token=...</code>.</p></body></html>"
        )
        await _send(send, 401, page, [(b"content-type", b"text/html; charset=utf-8")])


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    start: dict[str, Any] = {
        "type": "http.response.start",
        "status": status,
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})
