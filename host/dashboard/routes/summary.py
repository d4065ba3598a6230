"""The clinician's summary of a range (printable from the browser)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from host.dashboard.deps import Range, ReadStore
from host.dashboard.review import latest_labels, summarise

__all__ = ["router"]

router = APIRouter(tags=["summary"])


@router.get("/api/summary")
def summary(
    store: ReadStore,
    rng: Range,
    tz_offset_min: Annotated[
        int, Query(ge=-14 * 60, le=14 * 60, description="the viewer's UTC offset, minutes")
    ] = 0,
) -> dict[str, Any]:
    """Spasms per day, durations, severity, sides, time of day, activity before, trend."""
    start_us, end_us = rng.bounded()
    tz = dt.timezone(dt.timedelta(minutes=tz_offset_min))
    episodes = store.episodes(start_us=start_us, end_us=end_us)
    labels = latest_labels(store.labels())
    out = summarise(episodes, labels, start_us=start_us, end_us=end_us, tz=tz)
    found = store.list_sessions(start_us=start_us, end_us=end_us)
    recorded = 0.0
    for s in found:
        end = s.ended_us if s.ended_us is not None else s.data_end_us
        if end is not None:
            recorded += max(0, min(end, end_us) - max(s.started_us, start_us)) / 1e6
    out["recorded_h"] = round(recorded / 3600.0, 2)
    out["n_sessions"] = len(found)
    calibrations = store.calibrations()
    out["calibrated"] = bool(calibrations)
    return out
