"""Calibration wizard: stored calibrations, and a guided calibration on the live EMG."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from host.dashboard.calibration_run import CalibrationRunner, calibration_view
from host.dashboard.deps import Settings
from host.errors import StorageError
from host.storage import RecordingStore

__all__ = ["router"]

router = APIRouter(tags=["calibration"])


def _stored(settings: Settings) -> list[dict[str, Any]]:
    if not settings.store_path.exists():
        return []
    try:
        with RecordingStore.open(settings.store_path, readonly=True) as store:
            sessions = store.list_sessions()
            names = sessions[-1].channel_names if sessions else ()
            return [
                calibration_view(r.id, r.created_us, r.data, names) for r in store.calibrations()
            ]
    except StorageError:
        return []


@router.get("/api/calibration")
def calibration_state(request: Request, settings: Settings) -> dict[str, Any]:
    """Return the wizard's state and the stored calibrations (latest last)."""
    runner: CalibrationRunner = request.app.state.calibration
    return {**runner.view(), "calibrations": _stored(settings)}


@router.post("/api/calibration/start", status_code=202)
async def start(request: Request) -> dict[str, Any]:
    """Start a guided calibration on the live EMG (409 when not live or already running)."""
    runner: CalibrationRunner = request.app.state.calibration
    runner.start()
    return runner.view()


@router.post("/api/calibration/cancel")
async def cancel(request: Request) -> dict[str, Any]:
    """Stop the calibration in progress; nothing is saved."""
    runner: CalibrationRunner = request.app.state.calibration
    await runner.cancel()
    return runner.view()
