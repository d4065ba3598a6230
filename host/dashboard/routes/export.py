"""Export: the formats on offer, and a range in one of them as a download."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import FileResponse

from host.dashboard.deps import Range, ReadStore
from host.dashboard.errors import ApiError
from host.dashboard.exporting import available_formats, export_range
from host.errors import ConfigError

__all__ = ["router"]

router = APIRouter(tags=["export"])


@router.get("/api/export/formats")
def formats() -> dict[str, Any]:
    """Return the formats this installation can write."""
    return {
        "formats": [
            {"name": f.name, "title": f.title, "description": f.description}
            for f in available_formats()
        ]
    }


@router.get("/api/export")
def export(
    store: ReadStore,
    rng: Range,
    background: BackgroundTasks,
    format: Annotated[str, Query(max_length=20)] = "labels-csv",  # noqa: A002
) -> FileResponse:
    """Write the range in the format and send it as a file."""
    start_us, end_us = rng.bounded()
    try:
        path, filename, cleanup = export_range(store, format, start_us, end_us)
    except ConfigError as exc:
        status = 400 if "format" in str(exc) and "invalid" in str(exc) else 404
        raise ApiError(
            status, "invalid_parameter" if status == 400 else "no_data", str(exc)
        ) from exc
    background.add_task(cleanup)
    return FileResponse(path, filename=filename)
