"""Plain-language advice about the wearable, from the pipeline's status and the store.

Each rule turns one measured fact into one sentence a wearer can act on ("left electrode
lost contact: press it back on or replace its gel pad"). Signal problems come from the
pipeline's signal-quality report per channel (:class:`dsp.quality.SignalQuality` reasons),
the rest from the link counters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from host.importers.channels import emg_side

__all__ = [
    "LOSS_WARN_PCT",
    "LOW_BATTERY_PCT",
    "STALE_S",
    "channel_advice",
    "device_advice",
]

#: Below this charge the battery is called low, %.
LOW_BATTERY_PCT = 20
#: Above this share of samples lost the link is called poor, %.
LOSS_WARN_PCT = 1.0
#: With no status for this long the wearable is called silent, s.
STALE_S = 5.0
#: Drift of the device clock beyond which it is worth a word, ppm.
DRIFT_WARN_PPM = 200.0

_RULES: tuple[tuple[str, str, str], ...] = (
    (
        "lost contact",
        "error",
        "{who} electrode lost contact: press it back on firmly or replace its gel pad.",
    ),
    (
        "saturated",
        "error",
        "{who} channel is saturating: check the electrode and its cable; strong interference "
        "nearby can do this too.",
    ),
    ("flat", "error", "{who} signal is flat: its cable may be unplugged or broken."),
    (
        "mains hum",
        "warning",
        "{who} channel picks up mains hum: check the reference electrode's contact and keep "
        "the cable away from power cords.",
    ),
    (
        "motion artefact",
        "warning",
        "{who} electrode moves with the body: tape the cable down near the electrode.",
    ),
    (
        "electrode pop",
        "warning",
        "{who} electrode popped or shifted: press it on firmly.",
    ),
    ("settling", "info", "{who} signal is settling after an artefact."),
)


def _who(name: str) -> str:
    side = emg_side(name)
    return side.capitalize() if side else f"Channel {name}"


def channel_advice(name: str, quality: str) -> dict[str, str]:
    """Return the advice for one channel's quality report.

    Parameters
    ----------
    name : str
        Channel name (``"EMG L"``).
    quality : str
        ``"ok"`` or the quality reason (``"EMG L electrode lost contact (rail to rail)"``).

    Returns
    -------
    dict
        ``level`` (``"ok"``, ``"info"``, ``"warning"``, ``"error"``), ``text`` and
        ``contact`` (``"good"``, ``"poor"``, ``"lost"``).
    """
    if not quality or quality == "ok":
        return {"level": "ok", "text": f"{_who(name)} electrode: good contact.", "contact": "good"}
    lowered = quality.lower()
    for key, level, text in _RULES:
        if key in lowered:
            contact = {"error": "lost", "warning": "poor"}.get(level, "good")
            return {"level": level, "text": text.format(who=_who(name)), "contact": contact}
    return {"level": "warning", "text": f"{_who(name)}: {quality}.", "contact": "poor"}


def device_advice(facts: Mapping[str, Any]) -> list[dict[str, str]]:
    """Return the advice for the whole device, most serious first.

    Parameters
    ----------
    facts : mapping
        What the device page shows: ``state``, ``status_age_s``, ``battery_pct``,
        ``loss_pct``, ``reconnects``, ``drift_ppm``, ``crc_errors`` and ``channels``
        (each with its ``advice`` from :func:`channel_advice`); missing facts are skipped.

    Returns
    -------
    list of dict
        ``level`` and ``text``; one ``ok`` item when there is nothing to say.
    """
    out: list[dict[str, str]] = []
    state = facts.get("state")
    age = facts.get("status_age_s")
    if state in ("disconnected", "reconnecting"):
        out.append(
            {
                "level": "error",
                "text": "The wearable is not connected: check that it is switched on, charged "
                "and within reach (a cable, or a few metres for Bluetooth).",
            }
        )
    elif isinstance(age, int | float) and age > STALE_S:
        out.append(
            {
                "level": "error",
                "text": f"Nothing received from the wearable for {age:.0f} s: check that it is "
                "switched on and within reach.",
            }
        )
    for channel in facts.get("channels") or []:
        advice = channel.get("advice") or {}
        if advice.get("level") in ("error", "warning", "info"):
            out.append({"level": advice["level"], "text": advice["text"]})
    battery = facts.get("battery_pct")
    if isinstance(battery, int | float) and 0 <= battery <= LOW_BATTERY_PCT:
        out.append(
            {
                "level": "warning",
                "text": f"Battery low ({battery:.0f} %): charge the wearable soon.",
            }
        )
    loss = facts.get("loss_pct")
    if isinstance(loss, int | float) and loss > LOSS_WARN_PCT:
        out.append(
            {
                "level": "warning",
                "text": f"{loss:.1f} % of the samples were lost on the way: bring the wearable "
                "closer to the computer or check the cable.",
            }
        )
    crc = facts.get("crc_errors")
    if isinstance(crc, int) and crc > 0:
        out.append(
            {
                "level": "info",
                "text": f"{crc} damaged frames were detected and skipped (interference on the "
                "link); nothing else was affected.",
            }
        )
    reconnects = facts.get("reconnects")
    if isinstance(reconnects, int) and reconnects > 0:
        out.append(
            {
                "level": "info",
                "text": f"The link dropped and came back {reconnects} time(s); the missing "
                "stretches show as gaps in the timeline.",
            }
        )
    drift = facts.get("drift_ppm")
    if isinstance(drift, int | float) and abs(drift) > DRIFT_WARN_PPM:
        out.append(
            {
                "level": "info",
                "text": f"The wearable's clock runs {drift:+.0f} ppm off; times are corrected "
                "for it.",
            }
        )
    order = {"error": 0, "warning": 1, "info": 2}
    out.sort(key=lambda a: order.get(a["level"], 3))
    return out or [
        {
            "level": "ok",
            "text": "All good: the wearable is connected and both electrodes are in contact.",
        }
    ]
