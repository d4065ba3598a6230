"""Measure artefact detection and false flags of the signal-quality monitor on the simulator.

Run from the repository root with the project's virtual environment::

    .venv/bin/python docs/scripts/quality_evaluation.py            # quick and stress
    .venv/bin/python docs/scripts/quality_evaluation.py bursts     # any scenarios
    .venv/bin/python docs/scripts/quality_evaluation.py --all      # + day, night, bursts

It prints the Markdown table of "Measured on the simulator" in the section "Signal quality
and calibration" of ``docs/dsp.md``. A scenario is a built-in name or ``stress``
(``docs/scripts/quality_stress.toml``, a 1 h activity mix with artefacts at 40x the day's
rates) or the path of a scenario file.

Each scenario runs through :class:`host.simulator.BodySimulator` (seed 1, 1 kHz, no
accelerometer) in 60 s chunks, through the device's ADC model (rounded to
``DeviceConfig().volts_per_count`` steps, 0.05 µV, and clipped to the 16-bit range,
±1.65 mV at the electrodes) and into :class:`dsp.quality.SignalQuality` (250 ms windows,
``clip_level_v=1.65e-3``, the scenario's mains frequency, default thresholds). Only the
per-window ``usable`` flags are kept, so the 24 h day runs in bounded memory.

Scoring against ``scenario.truth()``:

* a labelled artefact is *detected* when at least one window overlapping it is unusable on
  a side it affects; its *coverage* is the fraction of its windows that are (the table gives
  the mean over the artefacts of a kind);
* *false* = unusable channel-windows farther than 0.5 s from every labelled artefact on that
  channel, over all such windows, those overlapping a contraction and those overlapping an
  involuntary contraction (spasm, cramp, twitch).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from dsp.quality import SignalQuality
from host.simulator import BodySimulator, Scenario, builtin_scenario, load_scenario
from host.simulator.device import DeviceConfig

SFREQ = 1000.0
SEED = 1
WINDOW_S = 0.25
CHUNK_S = 60.0
CLIP_LEVEL_V = 1.65e-3
MARGIN_S = 0.5
STRESS_TOML = Path(__file__).with_name("quality_stress.toml")
DEFAULT_SCENARIOS = ("quick", "stress")
ALL_SCENARIOS = ("quick", "day", "night", "stress", "bursts")
#: Table columns: artefact kind -> header.
COLUMNS = {
    "electrode_pop": "electrode pop",
    "motion": "motion burst",
    "lift_off": "lift-off",
    "saturation": "saturation",
}
#: Channels (0 left, 1 right) a label's side affects.
SIDE_CHANNELS = {"left": [0], "right": [1], "bilateral": [0, 1], "none": [0, 1]}


@dataclass
class Result:
    """Scores of one scenario."""

    name: str
    duration_s: float
    detected: dict[str, list[bool]]
    coverage: dict[str, list[float]]
    false_counts: tuple[int, ...]
    clean_counts: tuple[int, ...]
    elapsed_s: float


def get_scenario(name: str) -> Scenario:
    """Return a built-in scenario, the stress scenario or one loaded from a TOML file."""
    if name == "stress":
        return load_scenario(STRESS_TOML)
    if name.endswith(".toml"):
        return load_scenario(name)
    return builtin_scenario(name)


def adc(emg_v: NDArray[np.float64], config: DeviceConfig) -> NDArray[np.float64]:
    """Quantise electrode voltages as the device does, returned in volts."""
    low, high = -(1 << (config.adc_bits - 1)), (1 << (config.adc_bits - 1)) - 1
    counts = np.clip(np.rint(emg_v / config.volts_per_count), low, high)
    return counts * config.volts_per_count


def run_quality(scenario: Scenario) -> tuple[NDArray[np.float64], NDArray[np.bool_], float]:
    """Stream a scenario through the ADC model and SignalQuality.

    Returns
    -------
    start_s : ndarray of float, shape (n_windows,)
        Window starts in seconds.
    usable : ndarray of bool, shape (n_windows, 2)
        The per-channel ``usable`` flags.
    elapsed_s : float
        Wall-clock time of the whole run.
    """
    config = DeviceConfig()
    body = BodySimulator(scenario, sfreq=SFREQ, accel_sfreq=0.0, seed=SEED)
    quality = SignalQuality(
        SFREQ, 2, window_s=WINDOW_S, clip_level_v=CLIP_LEVEL_V, mains_freq=scenario.mains_hz
    )
    chunk = int(round(CHUNK_S * SFREQ))
    starts: list[float] = []
    usable: list[NDArray[np.bool_]] = []
    t0 = time.perf_counter()
    while not body.finished:
        emg_v, _ = body.read(min(chunk, body.n_times_total - body.n_times_read))
        for report in quality.process(adc(emg_v, config)):
            starts.append(report.start_s)
            usable.append(np.asarray(report.usable, dtype=bool))
    elapsed_s = time.perf_counter() - t0
    return np.asarray(starts), np.asarray(usable, dtype=bool).reshape(-1, 2), elapsed_s


def evaluate(name: str) -> Result:
    """Run one scenario and score it against its truth labels."""
    scenario = get_scenario(name)
    start, usable, elapsed_s = run_quality(scenario)
    stop = start + WINDOW_S
    bad = ~usable
    near_artefact = np.zeros_like(bad)
    contraction = np.zeros_like(bad)
    involuntary = np.zeros_like(bad)
    detected: dict[str, list[bool]] = {kind: [] for kind in COLUMNS}
    coverage: dict[str, list[float]] = {kind: [] for kind in COLUMNS}
    for event in scenario.truth():
        channels = SIDE_CHANNELS[event.side]
        side = np.isin(np.arange(2), channels)
        overlap = (stop > event.onset_s) & (start < event.offset_s)
        if event.category == "artefact":
            near = (stop > event.onset_s - MARGIN_S) & (start < event.offset_s + MARGIN_S)
            near_artefact |= near[:, np.newaxis] & side
            hit = bad[overlap][:, channels].any(axis=1)
            detected.setdefault(event.kind, []).append(bool(hit.any()))
            coverage.setdefault(event.kind, []).append(float(hit.mean()) if hit.size else 0.0)
        elif event.category == "contraction":
            contraction |= overlap[:, np.newaxis] & side
            if event.involuntary:
                involuntary |= overlap[:, np.newaxis] & side
    clean = ~near_artefact
    groups = (clean, clean & contraction, clean & involuntary)
    return Result(
        name=name,
        duration_s=scenario.duration_s,
        detected=detected,
        coverage=coverage,
        false_counts=tuple(int((bad & g).sum()) for g in groups),
        clean_counts=tuple(int(g.sum()) for g in groups),
        elapsed_s=elapsed_s,
    )


def _duration(duration_s: float) -> str:
    if duration_s >= 3600.0 and duration_s % 3600.0 == 0:
        return f"{duration_s / 3600.0:.0f} h"
    if duration_s >= 60.0 and duration_s % 60.0 == 0:
        return f"{duration_s / 60.0:.0f} min"
    return f"{duration_s:g} s"


def _count(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def table_row(result: Result) -> str:
    """Format one scenario as a row of the doc's table."""
    cells = [f"{result.name} ({_duration(result.duration_s)})"]
    for kind in COLUMNS:
        hits, cover = result.detected[kind], result.coverage[kind]
        if hits:
            cells.append(f"{sum(hits)}/{len(hits)} ({np.mean(cover):.2f})")
        else:
            cells.append("—")
    false = [
        f"{_count(n_false)} / {_count(n_clean)}" if n_clean else "—"
        for n_false, n_clean in zip(result.false_counts, result.clean_counts, strict=True)
    ]
    cells.append(" · ".join(false))
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> None:
    """Run the requested scenarios and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenarios",
        nargs="*",
        help=f"built-in names, 'stress' or .toml paths (default: {' '.join(DEFAULT_SCENARIOS)})",
    )
    parser.add_argument("--all", action="store_true", help="add day, night and bursts")
    args = parser.parse_args(argv)
    names = list(args.scenarios) or list(DEFAULT_SCENARIOS)
    if args.all:
        names += [name for name in ALL_SCENARIOS if name not in names]

    results = [evaluate(name) for name in names]
    header = ["scenario", *COLUMNS.values(), "false unusable (all / contractions / involuntary)"]
    print("| " + " | ".join(header) + " |")  # noqa: T201
    print("|" + "---|" * len(header))  # noqa: T201
    for result in results:
        print(table_row(result))  # noqa: T201

    n_hits = sum(sum(hits) for result in results for hits in result.detected.values())
    n_events = sum(len(hits) for result in results for hits in result.detected.values())
    n_false = sum(result.false_counts[0] for result in results)
    n_clean = sum(result.clean_counts[0] for result in results)
    print()  # noqa: T201
    if n_events:
        percent = 100 * n_hits / n_events
        print(  # noqa: T201
            f"Sensitivity {n_hits}/{n_events} labelled artefacts ({percent:.1f} %), "
            f"false flags {_count(n_false)} in {_count(n_clean)} clean channel-windows."
        )
    for result in results:
        print(f"{result.name}: {result.duration_s:.0f} s in {result.elapsed_s:.1f} s")  # noqa: T201


if __name__ == "__main__":
    main()
