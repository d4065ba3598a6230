"""Advice, severity and the calibration wizard on a live hub."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from host.calibration import CalibrationPlan
from host.dashboard.advice import channel_advice, device_advice
from host.dashboard.calibration_run import CalibrationRunner
from host.dashboard.errors import ApiError
from host.dashboard.review import severity
from host.dashboard.settings import DashboardSettings
from host.pipeline.hub import LiveHub
from host.storage import EpisodeRecord, RecordingStore


def _episode(duration_s: float, **data: object) -> EpisodeRecord:
    return EpisodeRecord(
        1, 1, 0, 1, 0, round(duration_s * 1e6), True, "tonic", "left", 0.9, dict(data)
    )


def test_severity_by_amplitude_when_calibrated_else_by_duration() -> None:
    assert severity(_episode(5.0, unit="%MVC", peak=12.0)) == "mild"
    assert severity(_episode(5.0, unit="%MVC", peak=35.0)) == "moderate"
    assert severity(_episode(5.0, unit="%MVC", peak=70.0)) == "severe"
    assert severity(_episode(5.0, unit="uV", peak=900.0)) == "mild"
    assert severity(_episode(30.0)) == "moderate"
    assert severity(_episode(90.0)) == "severe"


def test_advice_in_plain_words() -> None:
    lost = channel_advice("EMG L", "EMG L electrode lost contact (rail to rail)")
    assert lost["level"] == "error"
    assert lost["contact"] == "lost"
    assert lost["text"].startswith("Left electrode lost contact")
    assert channel_advice("EMG R", "ok") == {
        "level": "ok",
        "text": "Right electrode: good contact.",
        "contact": "good",
    }
    assert "mains hum" in channel_advice("EMG R", "EMG R mains hum 40 µV")["text"]
    items = device_advice(
        {
            "state": "connected",
            "battery_pct": 12,
            "loss_pct": 3.5,
            "reconnects": 2,
            "crc_errors": 4,
            "channels": [{"advice": lost}],
        }
    )
    assert [a["level"] for a in items] == ["error", "warning", "warning", "info", "info"]
    assert "Battery low (12 %)" in items[1]["text"]
    assert device_advice({"state": "connected", "channels": []})[0]["level"] == "ok"
    silent = device_advice({"state": "connected", "status_age_s": 30})
    assert "Nothing received from the wearable for 30 s" in silent[0]["text"]


async def test_calibration_on_the_live_emg_is_saved(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite3"
    RecordingStore.open(path).close()
    hub = LiveHub()
    runner = CalibrationRunner(DashboardSettings(store_path=path, hub=hub))
    plan = CalibrationPlan(rest_s=5.0, n_trials=1, contract_s=2.0, between_s=3.0, countdown_s=1)
    runner.start(plan)
    assert runner.view()["state"] == "running"
    rng = np.random.default_rng(6)
    sfreq, first = 1000.0, 0
    contract = (round(6.0 * sfreq), round(8.0 * sfreq))  # "go" after the rest and "1"
    while first < plan.duration_s * sfreq + 1000 and runner.state == "running":
        volts = rng.normal(0, 4e-6, (2, 100))
        idx = first + np.arange(100)
        on = (idx >= contract[0]) & (idx < contract[1])
        volts[:, on] = rng.normal(0, 300e-6, (2, int(on.sum())))
        hub.publish(
            "emg",
            {
                "first_sample": first,
                "sfreq": sfreq,
                "channels": ("EMG L", "EMG R"),
                "volts": volts,
                "received_s": time.monotonic(),
            },
        )
        first += 100
        await asyncio.sleep(0)
    for _ in range(100):
        if runner.state != "running":
            break
        await asyncio.sleep(0.02)
    view = runner.view()
    assert view["state"] == "done", view
    assert [p["kind"] for p in view["prompts"]][0] == "relax"
    assert "go" in [p["kind"] for p in view["prompts"]]
    result = view["result"]
    assert [c["name"] for c in result["channels"]] == ["EMG L", "EMG R"]
    assert result["channels"][0]["reference_uv"] > 20 * result["channels"][0]["rest_uv"]
    with RecordingStore.open(path, readonly=True) as store:
        (stored,) = store.calibrations()
    assert stored.id == result["id"]
    assert not hub.wants("emg")


async def test_calibration_needs_a_live_recording(tmp_path: Path) -> None:
    runner = CalibrationRunner(DashboardSettings(store_path=tmp_path / "w.sqlite3"))
    with pytest.raises(ApiError, match="spasmwatch run --dashboard") as info:
        runner.start()
    assert info.value.status_code == 409
