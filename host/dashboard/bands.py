"""The timeline's bands: activity and signal quality per time bin, from probes of the store.

Reading a week of EMG to colour a band would take minutes; a band needs one word per bin.
Each bin is judged from a short probe of the store at its middle (2 s of accelerometer,
1 s of EMG: two indexed reads of about a millisecond each), so a band costs the same for
an hour as for a week. A probe that falls in a gap says so (``"no data"``), which is also
what the wearer needs to see there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from host.storage import RecordingStore, SessionRecord

__all__ = [
    "ACTIVITY_MOVING_G",
    "ACTIVITY_STILL_G",
    "FLAT_UV",
    "activity_band",
    "quality_band",
]

#: Below this SD of the acceleration's magnitude over the probe the trunk is still, g.
ACTIVITY_STILL_G = 0.03
#: At or above this SD it is active (walking, lifting); between the two: moving, g.
ACTIVITY_MOVING_G = 0.15
#: A channel whose SD over the probe is below this is flat (stuck or shorted input), µV.
FLAT_UV = 0.3
#: Fraction of full scale at which a sample counts as clipped.
_CLIP_FRACTION = 0.98
_ACCEL_PROBE_US = 2_000_000
_EMG_PROBE_US = 1_000_000


def _centres(start_us: int, end_us: int, n_bins: int) -> list[int]:
    width = (end_us - start_us) / n_bins
    return [round(start_us + (k + 0.5) * width) for k in range(n_bins)]


def _session_at(sessions: list[SessionRecord], t_us: int) -> SessionRecord | None:
    for s in sessions:
        end = s.ended_us if s.ended_us is not None else s.data_end_us
        if s.started_us <= t_us and (end is None or t_us < end):
            return s
    return None


def activity_band(
    store: RecordingStore, sessions: list[SessionRecord], start_us: int, end_us: int, n_bins: int
) -> list[str]:
    """Return ``"still"``, ``"moving"``, ``"active"``, ``"no data"`` or ``"none"`` per bin.

    ``"none"``: no session was recording; ``"no data"``: a session was, but the probe holds
    no accelerometer samples (a gap, or a device without accelerometer).
    """
    out: list[str] = []
    for t in _centres(start_us, end_us, n_bins):
        session = _session_at(sessions, t)
        if session is None:
            out.append("none")
            continue
        if not session.has_accel:
            out.append("no data")
            continue
        half = _ACCEL_PROBE_US // 2
        segments = [
            s for s in store.read_accel_between(t - half, t + half) if s.session_id == session.id
        ]
        if not segments or segments[0].n_times - segments[0].n_missing < 10:
            out.append("no data")
            continue
        g = segments[0].data
        g = g[:, np.isfinite(g).all(axis=0)]
        sd = float(np.std(np.sqrt((g * g).sum(axis=0))))
        out.append(
            "still" if sd < ACTIVITY_STILL_G else "moving" if sd < ACTIVITY_MOVING_G else "active"
        )
    return out


def quality_band(
    store: RecordingStore, sessions: list[SessionRecord], start_us: int, end_us: int, n_bins: int
) -> list[dict[str, Any]]:
    """Return per bin the signal quality: ``{"state": ..., "channels": [...]}``.

    ``state`` is ``"ok"``, ``"flat"`` (a channel flat: electrode off or input shorted),
    ``"saturated"`` (a channel at the rails), ``"no data"`` (a gap) or ``"none"`` (not
    recording); ``channels`` names the channels concerned.
    """
    out: list[dict[str, Any]] = []
    for t in _centres(start_us, end_us, n_bins):
        session = _session_at(sessions, t)
        if session is None:
            out.append({"state": "none", "channels": []})
            continue
        half = _EMG_PROBE_US // 2
        segments = [
            s for s in store.read_emg_between(t - half, t + half) if s.session_id == session.id
        ]
        if not segments or segments[0].n_times - segments[0].n_missing < 10:
            out.append({"state": "no data", "channels": []})
            continue
        seg = segments[0]
        x = seg.data[:, np.isfinite(seg.data).all(axis=0)]
        bits = 24 if session.sample_format == "int24" else 16
        clip_v = session.emg_volts_per_count * (1 << (bits - 1)) * _CLIP_FRACTION
        flat = [n for n, row in zip(seg.ch_names, x, strict=True) if np.std(row) * 1e6 < FLAT_UV]
        saturated = [
            n
            for n, row in zip(seg.ch_names, x, strict=True)
            if np.mean(np.abs(row) >= clip_v) > 0.01
        ]
        if saturated:
            out.append({"state": "saturated", "channels": saturated})
        elif flat:
            out.append({"state": "flat", "channels": flat})
        else:
            out.append({"state": "ok", "channels": []})
    return out
