"""Benchmark of the signal-processing core against NeuroKit2 and BioSPPy, same data, one run.

Data: one hour of 2-channel 1 kHz lumbar EMG from the simulated wearer's day (activities,
spasms, ECG, mains, artefacts), in volts. Measured:

- one-shot throughput of spasmwatch's cleaning chain (EMG band-pass + 50 Hz notch, ECG
  suppression, moving-RMS envelope), side by side with NeuroKit2 ``emg_process`` (clean,
  amplitude, activation) and BioSPPy ``emg`` (filter, onsets), each on both channels;
- streaming cost in 20 ms blocks: mean and p99 block latency and share of one core, for
  the chain alone and for the full front end (chain + mains detector + signal quality).

Run with ``make bench`` (installs the peers) or ``.venv/bin/python tests/benchmarks/bench_dsp.py``.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import platform
import time
import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from dsp.mains import MainsDetector
from dsp.preprocess import EmgPreprocessor
from dsp.quality import SignalQuality
from host.simulator import BodySimulator, builtin_scenario

SFREQ = 1000.0


def make_data(seconds: float) -> NDArray[np.float64]:
    # The day starts at 07:00: the first hour is waking, dressing, breakfast, commuting.
    body = BodySimulator(builtin_scenario("day"), sfreq=SFREQ, accel_sfreq=0.0, seed=1)
    emg, _ = body.read(int(seconds * SFREQ))
    return emg


def timed(fn: Callable[[], object], repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return float(best)


def ours(x: NDArray[np.float64], ecg_method: str) -> None:
    EmgPreprocessor(SFREQ, x.shape[0], mains_freq=50.0, ecg_method=ecg_method).process(x)


def neurokit(x: NDArray[np.float64]) -> None:
    import neurokit2 as nk

    for row in x:
        nk.emg_process(row, sampling_rate=int(SFREQ))


def biosppy(x: NDArray[np.float64]) -> None:
    from biosppy.signals import emg

    for row in x:
        emg.emg(signal=row, sampling_rate=SFREQ, show=False)


def streaming(x: NDArray[np.float64], full: bool, block: int) -> NDArray[np.float64]:
    chain = EmgPreprocessor(SFREQ, x.shape[0], mains_freq=50.0)
    mains = MainsDetector(SFREQ, x.shape[0]) if full else None
    quality = SignalQuality(SFREQ, x.shape[0], mains_freq=50.0) if full else None
    times = []
    for start in range(0, x.shape[1], block):
        part = x[:, start : start + block]
        t0 = time.perf_counter()
        chain.process(part)
        if mains is not None and quality is not None:
            mains.process(part)
            quality.process(part)
        times.append(time.perf_counter() - t0)
    return np.asarray(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3600.0, help="length of the data")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of our runs (best)")
    parser.add_argument("--stream-seconds", type=float, default=600.0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the peers warn about their own internals
    t0 = time.perf_counter()
    x = make_data(args.seconds)
    made = time.perf_counter() - t0
    hours = args.seconds / 3600.0
    rows: list[tuple[str, float]] = []
    rows.append(
        ("spasmwatch chain (template ECG)", timed(lambda: ours(x, "template"), args.repeats))
    )
    rows.append(
        ("spasmwatch chain (30 Hz high-pass ECG)", timed(lambda: ours(x, "highpass"), args.repeats))
    )
    rows.append(("NeuroKit2 emg_process", timed(lambda: neurokit(x), 1)))
    rows.append(("BioSPPy emg", timed(lambda: biosppy(x), 1)))
    nk_time = rows[2][1]

    machine = platform.processor() or platform.machine()
    versions = ", ".join(f"{p} {md.version(p)}" for p in ("numpy", "scipy", "neurokit2", "biosppy"))
    print(f"machine: {machine}; Python {platform.python_version()}; {versions}")  # noqa: T201
    print(
        f"data: {hours:g} h x 2 ch x {SFREQ:g} Hz from the simulated day (made in {made:.0f} s)\n"
    )  # noqa: T201
    print("| pipeline | time | x real time | 24 h (extrapolated) | NeuroKit2 time / this |")  # noqa: T201
    print("|---|---|---|---|---|")  # noqa: T201
    for name, seconds in rows:
        print(  # noqa: T201
            f"| {name} | {seconds:.2f} s | {args.seconds / seconds:,.0f}x | "
            f"{seconds * 24 / hours:.0f} s | {nk_time / seconds:.1f} |"
        )

    n_stream = int(args.stream_seconds * SFREQ)
    block = int(0.02 * SFREQ)
    print(  # noqa: T201
        f"\nstreaming, {block}-sample (20 ms) blocks over {args.stream_seconds:g} s, "
        f"best of {args.repeats} runs:\n"
    )
    print("| stages | mean per block | p99 | max | share of one core |")  # noqa: T201
    print("|---|---|---|---|---|")  # noqa: T201
    for name, full in (("chain", False), ("chain + mains detector + signal quality", True)):
        # Best of three runs by mean block time (like timeit), to keep other load out.
        runs = [streaming(x[:, :n_stream], full, block) * 1e6 for _ in range(args.repeats)]
        t = min(runs, key=lambda r: float(r.mean()))
        print(  # noqa: T201
            f"| {name} | {t.mean():.0f} µs | {np.percentile(t, 99):.0f} µs | {t.max():.0f} µs | "
            f"{t.mean() / (block / SFREQ * 1e6) * 100:.2f} % |"
        )


if __name__ == "__main__":
    main()
