"""Timeline: sessions, the data's extent, episodes with bands and gaps, decimated signal."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query

from dsp.envelope import MovingRms
from dsp.filterbank import EmgFilterBank
from dsp.filters import DEFAULT_H_FREQ, MAX_EDGE_FRACTION
from host.dashboard.bands import activity_band, quality_band
from host.dashboard.decimate import MinMaxBins
from host.dashboard.deps import Range, ReadStore
from host.dashboard.errors import ApiError
from host.dashboard.review import episode_view, latest_labels
from host.storage import RecordingStore, SessionRecord

__all__ = ["FILTER_MAX_S", "READ_CHUNK_US", "router"]

router = APIRouter(tags=["timeline"])

#: Longest span whose signal is also filtered for display (longer: raw min/max only), s.
FILTER_MAX_S = 3600.0
#: Long spans are read in chunks of this length, µs.
READ_CHUNK_US = 600 * 1_000_000


def session_view(s: SessionRecord) -> dict[str, Any]:
    """Return a session as JSON."""
    return {
        "id": s.id,
        "status": s.status,
        "reason": s.reason,
        "source_url": s.source_url,
        "started_us": s.started_us,
        "end_us": s.ended_us if s.ended_us is not None else s.data_end_us,
        "sfreq": s.sfreq,
        "channels": list(s.channel_names),
        "accel_sfreq": s.accel_sfreq,
        "duration_s": round(s.duration_s, 1),
    }


@router.get("/api/sessions")
def sessions(store: ReadStore, rng: Range) -> dict[str, Any]:
    """Return the recording sessions (overlapping the range, if one is given)."""
    found = store.list_sessions(start_us=rng.start_us, end_us=rng.end_us)
    return {"sessions": [session_view(s) for s in found]}


@router.get("/api/extent")
def extent(store: ReadStore) -> dict[str, Any]:
    """First and last recorded time (None for an empty store), for the default views."""
    found = store.list_sessions()
    if not found:
        return {"start_us": None, "end_us": None, "n_sessions": 0}
    ends = [s.ended_us or s.data_end_us or s.started_us for s in found]
    return {"start_us": found[0].started_us, "end_us": max(ends), "n_sessions": len(found)}


def _gaps(
    store: RecordingStore, found: list[SessionRecord], start_us: int, end_us: int
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for s in found:
        for gap in store.gaps(s.id, "emg"):
            if gap.t_end_us > start_us and gap.t_start_us < end_us:
                out.append(
                    {
                        "session_id": s.id,
                        "start_us": gap.t_start_us,
                        "end_us": gap.t_end_us,
                        "n_samples": gap.n_samples,
                    }
                )
    return out


@router.get("/api/timeline")
def timeline(
    store: ReadStore,
    rng: Range,
    bins: Annotated[int, Query(ge=1, le=1000, description="bands' resolution")] = 144,
    bands: Annotated[bool, Query(description="compute activity and quality bands")] = True,
) -> dict[str, Any]:
    """Episodes, sessions, link gaps and the activity and quality bands of a range."""
    start_us, end_us = rng.bounded()
    found = store.list_sessions(start_us=start_us, end_us=end_us)
    episodes = store.episodes(start_us=start_us, end_us=end_us)
    labels = latest_labels(store.labels())
    events = store.link_events(start_us=start_us, end_us=end_us)
    out: dict[str, Any] = {
        "start_us": start_us,
        "end_us": end_us,
        "sessions": [session_view(s) for s in found],
        "episodes": [episode_view(e, labels.get(e.id)) for e in episodes],
        "gaps": _gaps(store, found, start_us, end_us),
        "link_events": [
            {"t_us": e.t_us, "kind": e.kind, "session_id": e.session_id}
            for e in events
            if e.kind != "gap"
        ],
        "bands": None,
    }
    if bands and found:
        out["bands"] = {
            "n_bins": bins,
            "bin_us": (end_us - start_us) / bins,
            "activity": activity_band(store, found, start_us, end_us, bins),
            "quality": quality_band(store, found, start_us, end_us, bins),
        }
    return out


def _rounded(values: np.ndarray, digits: int = 2) -> list[list[float | None]]:
    rows: list[list[float | None]] = []
    for row in np.round(values, digits):
        rows.append([None if not np.isfinite(v) else float(v) for v in row])
    return rows


@router.get("/api/signal")
def signal(
    store: ReadStore,
    rng: Range,
    points: Annotated[int, Query(ge=10, le=20000, description="bins across the range")] = 1500,
) -> dict[str, Any]:
    """Raw (and, up to an hour, filtered) EMG and the accelerometer, min/max per bin.

    Values in µV (EMG) and g; a bin without samples (a gap) is null.
    """
    start_us, end_us = rng.bounded()
    found = store.list_sessions(start_us=start_us, end_us=end_us)
    if not found:
        raise ApiError(404, "no_data", "nothing was recorded in this range: choose another time")
    names = list(found[0].channel_names)
    n_ch = len(names)
    filtered = (end_us - start_us) / 1e6 <= FILTER_MAX_S
    raw = MinMaxBins(start_us, end_us, points, n_ch)
    filt = MinMaxBins(start_us, end_us, points, n_ch) if filtered else None
    env = MinMaxBins(start_us, end_us, points, n_ch) if filtered else None
    accel = MinMaxBins(start_us, end_us, points, 3)
    any_accel = False
    t = start_us
    while t < end_us:
        stop = min(end_us, t + READ_CHUNK_US)
        for seg in store.read_emg_between(t, stop):
            if seg.n_channels != n_ch or seg.n_times == 0:
                continue
            t0 = seg.t_start_us
            assert t0 is not None
            uv = seg.data
            uv *= 1e6  # to µV in place: the segment's array is ours
            raw.add(t0, seg.sfreq, uv)
            if filt is not None and env is not None:
                f, e = _filter_runs(uv, seg.sfreq)
                filt.add(t0, seg.sfreq, f)
                env.add(t0, seg.sfreq, e)
        for seg in store.read_accel_between(t, stop):
            if seg.n_channels == 3 and seg.n_times and seg.t_start_us is not None:
                accel.add(seg.t_start_us, seg.sfreq, seg.data)
                any_accel = True
        t = stop
    r = raw.result()
    out: dict[str, Any] = {
        "start_us": start_us,
        "end_us": end_us,
        "bin_us": (end_us - start_us) / points,
        "t_us": [int(x) for x in r["t_us"]],
        "channels": names,
        "raw": {"min": _rounded(r["min"]), "max": _rounded(r["max"])},
        "filtered": None,
        "envelope": None,
        "accel": None,
    }
    if filt is not None and env is not None:
        fr, er = filt.result(), env.result()
        out["filtered"] = {"min": _rounded(fr["min"]), "max": _rounded(fr["max"])}
        out["envelope"] = _rounded(er["max"])
    if any_accel:
        a = accel.result()
        out["accel"] = {"min": _rounded(a["min"], 3), "max": _rounded(a["max"], 3)}
    return out


def _filter_runs(volts: np.ndarray, sfreq: float) -> tuple[np.ndarray, np.ndarray]:
    """Band-pass and envelope each run between gaps (NaN stays NaN), in the input's unit."""
    n_ch, n = volts.shape
    filtered = np.full((n_ch, n), np.nan)
    envelope = np.full((n_ch, n), np.nan)
    ok = np.isfinite(volts).all(axis=0)
    edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
    h_freq = min(DEFAULT_H_FREQ, MAX_EDGE_FRACTION * sfreq / 2.0)
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        bank = EmgFilterBank(sfreq, n_ch, h_freq=h_freq)
        f = bank.process(volts[:, a:b])
        filtered[:, a:b] = f
        envelope[:, a:b] = MovingRms(sfreq, n_ch).process(f)
    return filtered, envelope
