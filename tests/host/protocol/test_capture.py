"""Capture files: raw device bytes read back into volts with NaN gaps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from host.errors import ProtocolError
from host.protocol import encode_frame
from host.protocol.capture import read_capture
from host.simulator.device import SimulatedDevice
from host.simulator.link import FaultInjector, LinkFaults
from host.simulator.scenario import builtin_scenario


def write_capture(
    path: Path, known_factory: Any, faults: LinkFaults, n_steps: int
) -> FaultInjector:
    device = SimulatedDevice(
        builtin_scenario("quick"), body_factory=known_factory(), autostart=True
    )
    injector = FaultInjector(faults)
    clean = FaultInjector(LinkFaults())
    with open(path, "wb") as fh:
        for chunk, _ in clean.apply(device.take_pending()):
            fh.write(chunk)
        for _ in range(n_steps):
            for chunk, _ in injector.apply(device.step()):
                fh.write(chunk)
        fh.write(injector.release_held())
        for chunk, _ in clean.apply(device.step()):  # a clean last frame closes any gap
            fh.write(chunk)
    return injector


def test_gaps_become_nan_runs_of_the_right_length(tmp_path: Path, known_factory: Any) -> None:
    path = tmp_path / "rec.sw1"
    injector = write_capture(
        path, known_factory, LinkFaults(drop=0.05, corrupt=0.02, reorder=0.02, seed=5), 400
    )
    capture = read_capture(path)
    n_total = 401 * 50
    assert capture.emg_v.shape == (2, n_total)
    missing = np.isnan(capture.emg_v[0])
    assert missing.sum() == injector.record.lost_samples
    assert np.array_equal(missing, np.isnan(capture.emg_v[1]))
    # Where samples are present they are the known sine, to within one ADC step.
    t = np.arange(n_total) / 1000.0
    expected = 100e-6 * np.sin(2 * np.pi * 50.0 * t)
    ok = ~missing
    assert np.max(np.abs(capture.emg_v[0, ok] - expected[ok])) <= capture.info.volts_per_count
    assert capture.sfreq == 1000.0
    assert capture.ch_names == ("EMG L", "EMG R")
    assert capture.accel_g.shape[0] == 3
    assert np.nanmax(np.abs(capture.accel_g[0] - 1.0)) == 0.0
    assert sum(g.n_missing for g in capture.sample_gaps if g.frame_type == 1) >= missing.sum()


def test_capture_without_device_info_is_refused(tmp_path: Path, known_factory: Any) -> None:
    device = SimulatedDevice(
        builtin_scenario("quick"), body_factory=known_factory(), autostart=True
    )
    device.take_pending()  # lose the DEVICE_INFO frames
    path = tmp_path / "headless.sw1"
    path.write_bytes(b"".join(encode_frame(f) for _ in range(3) for f in device.step()))
    with pytest.raises(ProtocolError, match="no DEVICE_INFO"):
        read_capture(path)


def test_garbage_file_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sw1"
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(ProtocolError, match="DEVICE_INFO"):
        read_capture(path)
