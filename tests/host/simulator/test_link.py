"""Fault injection: what the injector records is exactly what a decoder counts."""

from __future__ import annotations

from typing import Any

import pytest

from host.errors import ConfigError
from host.protocol import StreamDecoder
from host.simulator.device import SimulatedDevice
from host.simulator.link import FaultInjector, LinkFaults
from host.simulator.scenario import builtin_scenario


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_decoder_statistics_match_injected_faults(seed: int, known_factory: Any) -> None:
    device = SimulatedDevice(
        builtin_scenario("quick"), body_factory=known_factory(), autostart=True
    )
    faults = LinkFaults(drop=0.01, corrupt=0.005, duplicate=0.003, reorder=0.003, seed=seed)
    injector = FaultInjector(faults)
    decoder = StreamDecoder()
    frames = device.take_pending()
    for _ in range(6000):  # 5 minutes of device time
        frames += device.step()
        for chunk, _ in injector.apply(frames):
            decoder.feed(chunk)
        frames = []
    # A last clean frame closes any trailing gap.
    clean = FaultInjector(LinkFaults())
    for chunk, _ in clean.apply(device.step()):
        decoder.feed(chunk)
    decoder.feed(injector.release_held())
    rec, stats = injector.record, decoder.stats
    assert rec.dropped > 50
    assert rec.corrupted > 20
    assert stats.frames_lost == rec.dropped + rec.corrupted
    assert stats.crc_errors + stats.framing_errors == rec.corrupted
    assert stats.duplicates == rec.duplicated
    assert stats.reordered == rec.reordered
    assert stats.samples_lost == rec.lost_samples
    assert stats.frames_received == rec.frames_in - rec.frames_lost + clean.record.frames_in


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"drop": 1.5}, "probability"),
        ({"drop": 0.6, "corrupt": 0.6}, "must not exceed"),
        ({"delay_s": -1.0}, ">= 0"),
    ],
)
def test_fault_validation(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        LinkFaults(**kwargs)  # type: ignore[arg-type]
