"""Simulated wearer: the body model behind the simulated spasmwatch device.

The simulator produces what the electrodes and the accelerometer of the wearable see during a
scripted day (volts at the differential EMG inputs, acceleration in g), together with
ground-truth labels of activities, contractions (voluntary and involuntary) and artefacts.
The device ADC, wire protocol and transports are built on top of it elsewhere.

Examples
--------
>>> from host.simulator import BodySimulator, builtin_scenario
>>> scenario = builtin_scenario("quick")
>>> body = BodySimulator(scenario, sfreq=1000.0, accel_sfreq=100.0, seed=1)
>>> emg_v, acc_g = body.read(500)
>>> emg_v.shape, acc_g.shape
((2, 500), (3, 50))
"""

from __future__ import annotations

from host.simulator.body import BodySimulator
from host.simulator.scenario import (
    ACTIVITIES,
    ARTEFACT_KINDS,
    CONTRACTION_KINDS,
    EPISODE_KINDS,
    INVOLUNTARY_KINDS,
    LYING_POSTURES,
    SIDES,
    Artefact,
    Episode,
    Scenario,
    ScenarioError,
    Segment,
    TruthEvent,
    Wearer,
    builtin_scenario,
    list_builtin_scenarios,
    load_scenario,
    loads_scenario,
    read_truth,
    resolve_scenario,
    write_truth,
)

__all__ = [
    "ACTIVITIES",
    "ARTEFACT_KINDS",
    "CONTRACTION_KINDS",
    "EPISODE_KINDS",
    "INVOLUNTARY_KINDS",
    "LYING_POSTURES",
    "SIDES",
    "Artefact",
    "BodySimulator",
    "Episode",
    "Scenario",
    "ScenarioError",
    "Segment",
    "TruthEvent",
    "Wearer",
    "builtin_scenario",
    "list_builtin_scenarios",
    "load_scenario",
    "resolve_scenario",
    "loads_scenario",
    "read_truth",
    "write_truth",
]
