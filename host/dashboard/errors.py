"""HTTP errors of the dashboard's API: a status code and a sentence a person can act on.

Every error response is JSON ``{"detail": <message>, "code": <short identifier>}``;
the browser shows the message in an empty state, never a stack trace.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from host.errors import ConfigError, StorageError

__all__ = ["ApiError", "install_error_handlers"]

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the API reports with a status code.

    Parameters
    ----------
    status_code : int
        HTTP status.
    code : str
        Short machine-readable identifier (``"no_store"``, ``"not_found"``, ...).
    detail : str
        What went wrong and what to do, in plain words.
    headers : dict | None
        Extra response headers (``Retry-After``).
    """

    def __init__(
        self, status_code: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.code = code
        self.detail = detail
        self.headers = headers


def _response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map the project's exceptions to HTTP responses on an app.

    Parameters
    ----------
    app : FastAPI
        The dashboard app.
    """

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _response(exc.status_code, exc.code, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(str(x) for x in error.get("loc", ()) if x not in ("query", "body"))
            problems.append(f"invalid value for '{where}': {error.get('msg', 'invalid')}")
        return _response(400, "invalid_parameter", "; ".join(problems) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else "http_error"
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"nothing at {request.url.path}"
        return _response(exc.status_code, code, detail, getattr(exc, "headers", None))

    @app.exception_handler(ConfigError)
    async def _config(request: Request, exc: ConfigError) -> JSONResponse:
        return _response(400, "invalid_parameter", str(exc))

    @app.exception_handler(StorageError)
    async def _storage(request: Request, exc: StorageError) -> JSONResponse:
        logger.warning("store unavailable for %s: %s", request.url.path, exc)
        return _response(
            503,
            "store_unavailable",
            f"the recording store cannot be read just now: {exc}",
            {"Retry-After": "2"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error in %s", request.url.path)
        return _response(
            500,
            "internal_error",
            f"the dashboard failed on {request.url.path} ({type(exc).__name__}); "
            "the log has the details",
        )
