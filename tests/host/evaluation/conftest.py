"""Fixtures of the evaluation tests: tiny corpus items and fake detectors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from host.evaluation.corpus import CorpusItem, ItemTags
from host.evaluation.scoring import scored_truth
from host.simulator.scenario import TruthEvent, loads_scenario

# Two minutes: sitting with a tonic spasm and a twitch, standing up, walking with a clonic
# spasm, standing with a cramp and a scripted voluntary contraction.
TINY_A = """
name = "tiny-a"
[wearer]
seed = 3
mains_hz = 50.0
electrode_pop_per_h = 0.0
lift_off_per_h = 0.0
motion_artefact_per_h = 0.0
saturation_per_h = 0.0

[[segment]]
activity = "sitting"
duration_s = 40.0
[[segment]]
activity = "sit_to_stand"
duration_s = 5.0
[[segment]]
activity = "walking"
duration_s = 35.0
cadence_hz = 1.8
[[segment]]
activity = "standing"
duration_s = 40.0

[[episode]]
start_s = 8.0
kind = "tonic"
side = "left"
duration_s = 6.0
peak_mvc = 0.4
[[episode]]
start_s = 30.0
kind = "twitch"
side = "right"
duration_s = 0.2
peak_mvc = 0.06
[[episode]]
start_s = 58.0
kind = "clonic"
side = "bilateral"
duration_s = 4.0
peak_mvc = 0.35
rate_hz = 5.0
[[episode]]
start_s = 88.0
kind = "cramp"
side = "right"
duration_s = 12.0
peak_mvc = 0.5
[[episode]]
start_s = 108.0
kind = "voluntary"
side = "bilateral"
duration_s = 3.0
peak_mvc = 0.3
"""

# Ninety seconds lying at 60 Hz mains with a myoclonic burst.
TINY_B = """
name = "tiny-b"
[wearer]
seed = 4
mains_hz = 60.0
electrode_pop_per_h = 0.0
lift_off_per_h = 0.0
motion_artefact_per_h = 0.0
saturation_per_h = 0.0

[[segment]]
activity = "lying"
duration_s = 90.0
posture = "supine"

[[episode]]
start_s = 30.0
kind = "myoclonic"
side = "left"
duration_s = 5.0
peak_mvc = 0.4
rate_hz = 2.0
"""


def make_item(text: str, sfreq: float, accel_sfreq: float, mains_hz: float) -> CorpusItem:
    scenario = loads_scenario(text)
    return CorpusItem(
        name=scenario.name,
        scenario=scenario,
        scenario_toml=text,
        sfreq=sfreq,
        accel_sfreq=accel_sfreq,
        seed=1,
        tags=ItemTags(mains_hz=mains_hz, snr="high", electrode="good", style="day", routine="test"),
    )


@pytest.fixture(scope="session")
def tiny_items() -> list[CorpusItem]:
    """Two short recordings (2 min at 500 Hz, 1.5 min at 1 kHz) with every scored kind."""
    return [make_item(TINY_A, 500.0, 50.0, 50.0), make_item(TINY_B, 1000.0, 100.0, 60.0)]


@dataclass(frozen=True)
class FakeEpisode:
    """A detection as the detector returns it."""

    start_s: float
    end_s: float
    involuntary: bool = True
    kind: str = "tonic"
    side: str = "left"
    confidence: float = 0.9


@dataclass(frozen=True)
class FakeResult:
    episodes: list[FakeEpisode]


@dataclass
class FakeDetector:
    """Returns the scored truth of whichever tiny item it is given (known by its length)."""

    truth_by_duration: dict[float, list[TruthEvent]]
    empty: bool = False
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(
        self,
        emg_v: NDArray[np.float64],
        sfreq: float,
        *,
        accel_g: NDArray[np.float64] | None = None,
        accel_sfreq: float | None = None,
    ) -> FakeResult:
        duration = round(emg_v.shape[1] / sfreq, 3)
        self.calls.append(
            {
                "duration_s": duration,
                "emg_shape": emg_v.shape,
                "accel_shape": None if accel_g is None else accel_g.shape,
                "accel_sfreq": accel_sfreq,
            }
        )
        if self.empty:
            return FakeResult([])
        return FakeResult(
            [
                FakeEpisode(t.onset_s, t.offset_s, True, t.kind, t.side)
                for t in scored_truth(self.truth_by_duration[duration])
            ]
        )


@pytest.fixture
def fake_detector(tiny_items: list[CorpusItem]) -> Callable[..., FakeDetector]:
    """Factory of fake detectors for the tiny items (``empty=True``: finds nothing)."""

    def make(*, empty: bool = False) -> FakeDetector:
        truth = {round(i.duration_s, 3): i.truth() for i in tiny_items}
        return FakeDetector(truth, empty=empty)

    return make
