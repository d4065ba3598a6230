"""Device: connection, link, rates, battery and electrodes, with plain-language advice.

Connection state, transport, sample rate, loss, CRC errors, reconnects, clock drift,
battery, per-channel electrode contact and noise.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from host.dashboard.advice import channel_advice, device_advice
from host.dashboard.bands import quality_band
from host.dashboard.deps import Settings
from host.dashboard.live import LiveBroadcaster, json_ready
from host.dashboard.routes.live import pipeline_info
from host.errors import StorageError
from host.storage import RecordingStore, SessionRecord

__all__ = ["router"]

router = APIRouter(tags=["device"])

_DOWN = ("disconnected", "reconnecting", "gave_up")


def _latest_session(
    settings: Settings,
) -> tuple[SessionRecord | None, dict[str, int], list[dict[str, Any]]]:
    """Return the latest session, its link-event counts and (not live) channel quality."""
    if not settings.store_path.exists():
        return None, {}, []
    try:
        with RecordingStore.open(settings.store_path, readonly=True) as store:
            found = store.list_sessions()
            if not found:
                return None, {}, []
            session = found[-1]
            counts: dict[str, int] = {}
            for event in store.link_events(session_id=session.id):
                counts[event.kind] = counts.get(event.kind, 0) + 1
            missing = sum(g.n_samples for g in store.gaps(session.id, "emg"))
            counts["missing_samples"] = missing
            quality: list[dict[str, Any]] = []
            end = session.data_end_us
            if not settings.live and end is not None:
                (probe,) = quality_band(store, [session], end - 2_000_000, end - 500_000, 1)
                for name in session.channel_names:
                    bad = name in probe["channels"]
                    reason = (
                        f"{name} {'signal flat' if probe['state'] == 'flat' else probe['state']}"
                    )
                    quality.append({"name": name, "quality": reason if bad else "ok"})
            return session, counts, quality
    except StorageError:
        return None, {}, []


@router.get("/api/device")
def device(request: Request, settings: Settings) -> dict[str, Any]:
    """Return what the wearable is doing and what to do about it."""
    info = pipeline_info(request)
    session, counts, stored_quality = _latest_session(settings)
    facts: dict[str, Any] = {
        "live": settings.live,
        "transport": info.get("transport")
        or info.get("source_url")
        or (session.source_url if session else None),
        "source_url": info.get("source_url") or (session.source_url if session else None),
        "sfreq": session.sfreq if session else None,
        "accel_sfreq": session.accel_sfreq if session else None,
        "session": None
        if session is None
        else {"id": session.id, "status": session.status, "started_us": session.started_us},
        "pipeline": info,
    }
    decoder: dict[str, Any] = info["decoder"] if isinstance(info.get("decoder"), dict) else {}
    crc = info.get("crc_errors", decoder.get("crc_errors"))
    channels: list[dict[str, Any]] = []
    hub = settings.hub
    if hub is not None:
        broadcaster: LiveBroadcaster = request.app.state.broadcaster
        status = hub.latest.get("status")
        payload = dict(status.payload) if status is not None else {}
        seen = broadcaster.last_seen.get("status")
        age = None if seen is None else time.monotonic() - seen
        link_msg = hub.latest.get("link")
        link_kind = link_msg.payload.get("kind") if link_msg is not None else None
        state = "waiting"
        if status is not None:
            state = "connected"
        if link_kind in _DOWN and (seen is None or broadcaster.last_seen.get("link", 0) > seen):
            state = str(link_kind)
        samples = int(payload.get("samples", 0))
        missing = max(int(payload.get("missing_samples", 0)), 0)
        link = payload.get("link") or {}
        battery_msg = hub.latest.get("device")
        battery = battery_msg.payload.get("battery_pct") if battery_msg is not None else None
        rest = broadcaster.rest_levels_uv()
        envelope = payload.get("envelope_uv") or {}
        for k, (name, quality) in enumerate((payload.get("quality") or {}).items()):
            channels.append(
                {
                    "name": name,
                    "quality": quality,
                    "envelope_uv": envelope.get(name),
                    "rest_uv": rest.get(str(k)),
                    "advice": channel_advice(name, str(quality)),
                }
            )
        facts.update(
            state=state,
            status_age_s=None if age is None else round(age, 1),
            samples=samples,
            missing_samples=missing,
            loss_pct=round(100.0 * missing / (samples + missing), 3) if samples + missing else None,
            reconnects=int(link.get("reconnects", 0)),
            frames_lost=payload.get("frames_lost"),
            drift_ppm=payload.get("drift_ppm"),
            mains_hz=payload.get("mains_hz"),
            battery_pct=None if battery in (None, 255) else battery,
            crc_errors=crc if crc is not None else counts.get("crc_error", 0),
            detector=payload.get("detector"),
            motion=broadcaster.motion(),
        )
    else:
        stored = session.n_emg_samples if session else 0
        missing = counts.get("missing_samples", 0)
        for row in stored_quality:
            channels.append({**row, "advice": channel_advice(row["name"], row["quality"])})
        facts.update(
            state="not live" if session is not None else "no recordings",
            samples=stored,
            missing_samples=missing,
            loss_pct=round(100.0 * missing / (stored + missing), 3) if stored + missing else None,
            reconnects=counts.get("disconnected", 0) if session is not None else None,
            crc_errors=crc if crc is not None else counts.get("crc_error", 0),
        )
    facts["channels"] = channels
    advice = device_advice(facts)
    if not settings.live:
        advice = [a for a in advice if "not connected" not in a["text"]]
        advice.insert(
            0,
            {
                "level": "info",
                "text": "No wearable is streaming to this dashboard: this page shows the last "
                "recorded session. Start a recording with spasmwatch run --dashboard to see it "
                "live.",
            },
        )
    facts["advice"] = advice
    out: dict[str, Any] = json_ready(facts)
    return out
