"""Dependencies of the API routes: the settings, the store (reader or writer), time ranges.

Routes that read the store are plain functions (FastAPI runs them in its thread pool), so
SQLite never blocks the event loop the recording pipeline runs in. Each request opens its
own store object (a reader costs well under a millisecond); readers never wait for the
recorder (``docs/storage.md``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request

from host.dashboard.errors import ApiError
from host.dashboard.settings import DashboardSettings
from host.errors import StorageError, StoreVersionError
from host.storage import RecordingStore

__all__ = [
    "MAX_SPAN_US",
    "Range",
    "ReadStore",
    "Settings",
    "TimeRange",
    "WriteStore",
    "get_settings",
    "parse_time",
    "read_store",
    "time_range",
    "write_store",
]

#: The longest range one request may ask for (a clinician's review spans weeks), µs.
MAX_SPAN_US = 400 * 86_400 * 1_000_000


def get_settings(request: Request) -> DashboardSettings:
    """Return the app's settings."""
    settings: DashboardSettings = request.app.state.settings
    return settings


Settings = Annotated[DashboardSettings, Depends(get_settings)]


def _no_store(settings: DashboardSettings) -> ApiError:
    return ApiError(
        404,
        "no_store",
        f"no recordings yet: the store {settings.store_path.name} does not exist. Record a "
        "session first (spasmwatch run or spasmwatch demo).",
    )


def read_store(settings: Settings) -> Iterator[RecordingStore]:
    """Open the store read-only for one request.

    Raises
    ------
    ApiError
        404 ``no_store`` if there is no store yet.
    StorageError
        If it cannot be read (mapped to 503).
    """
    path = settings.store_path
    if not path.exists():
        raise _no_store(settings)
    try:
        store = RecordingStore.open(path, readonly=True)
    except StoreVersionError:
        # An older schema: one writer open upgrades it, then read as usual.
        RecordingStore.open(path).close()
        store = RecordingStore.open(path, readonly=True)
    except StorageError:
        if not path.exists():
            raise _no_store(settings) from None
        raise
    try:
        yield store
    finally:
        store.close()


def write_store(settings: Settings) -> Iterator[RecordingStore]:
    """Open the store for writing (labels, calibrations) for one request.

    Raises
    ------
    ApiError
        404 ``no_store`` if there is no store yet.
    StorageError
        If it cannot be opened (mapped to 503).
    """
    if not settings.store_path.exists():
        raise _no_store(settings)
    store = RecordingStore.open(settings.store_path)
    try:
        yield store
    finally:
        store.close()


ReadStore = Annotated[RecordingStore, Depends(read_store)]
WriteStore = Annotated[RecordingStore, Depends(write_store)]


def parse_time(value: str | None, name: str) -> int | None:
    """Parse a time parameter: UTC µs since the epoch, or ISO 8601 (UTC unless it says).

    Parameters
    ----------
    value : str | None
        ``"1709251200000000"``, ``"2024-03-01T08:00:00Z"``, ``"2024-03-01"``, or None.
    name : str
        The parameter's name, for the message.

    Returns
    -------
    int | None
        UTC µs.

    Raises
    ------
    ApiError
        400 if the value is neither.
    """
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if math.isfinite(number):
        return int(number)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            400,
            "invalid_parameter",
            f"invalid value for '{name}': {value!r} is not a time; expected UTC microseconds "
            "since 1970 or an ISO 8601 date and time such as 2024-03-01T08:00:00Z",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return round(parsed.timestamp() * 1e6)


class TimeRange:
    """A ``[start_us, end_us)`` range from the ``start`` and ``end`` query parameters.

    Parameters
    ----------
    start_us, end_us : int | None
        Bounds; None leaves that side open.
    """

    def __init__(self, start_us: int | None, end_us: int | None) -> None:
        self.start_us = start_us
        self.end_us = end_us

    def bounded(self) -> tuple[int, int]:
        """Return both bounds, or raise 400 if one is missing."""
        if self.start_us is None or self.end_us is None:
            raise ApiError(
                400, "invalid_parameter", "both 'start' and 'end' are needed for this request"
            )
        return self.start_us, self.end_us


def time_range(
    start: Annotated[str | None, Query(description="UTC µs or ISO 8601")] = None,
    end: Annotated[str | None, Query(description="UTC µs or ISO 8601")] = None,
) -> TimeRange:
    """Read and check ``start`` and ``end``.

    Raises
    ------
    ApiError
        400 if a bound is not a time, ``end`` is not after ``start``, or the span is longer
        than :data:`MAX_SPAN_US`.
    """
    start_us, end_us = parse_time(start, "start"), parse_time(end, "end")
    if start_us is not None and end_us is not None:
        if end_us <= start_us:
            raise ApiError(
                400, "invalid_parameter", f"'end' ({end}) must be after 'start' ({start})"
            )
        if end_us - start_us > MAX_SPAN_US:
            raise ApiError(
                400,
                "invalid_parameter",
                f"the range is {(end_us - start_us) / 86_400e6:.0f} days long; at most "
                f"{MAX_SPAN_US // 86_400_000_000} days can be asked at once",
            )
    return TimeRange(start_us, end_us)


Range = Annotated[TimeRange, Depends(time_range)]
