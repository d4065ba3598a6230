"""Benchmarks of the link layer: frame encoding, stream decoding, simulated wearable.

Run with ``make bench`` (or ``.venv/bin/python tests/benchmarks/bench_link.py``). Prints
a Markdown table; docs/benchmarks.md records the numbers on the reference machine.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import numpy as np

from host.protocol import SamplesFrame, StreamDecoder, encode_frame
from host.simulator.device import SimulatedDevice
from host.simulator.scenario import builtin_scenario

STREAM_BYTES_PER_S = 5440  # the default 2 x 1 kHz EMG + 100 Hz accelerometer stream


def best_of(repeats: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(repeats))


def bench_encode(n_frames: int) -> float:
    rng = np.random.default_rng(0)
    counts = rng.integers(-2000, 2000, size=(2, 50)).astype(np.int32)
    frames = [
        SamplesFrame(seq=i, timestamp_us=i * 50_000, first_sample=i * 50, counts=counts)
        for i in range(n_frames)
    ]
    t0 = time.perf_counter()
    for f in frames:
        encode_frame(f)
    return time.perf_counter() - t0


def make_stream(n_frames: int) -> bytes:
    rng = np.random.default_rng(1)
    return b"".join(
        encode_frame(
            SamplesFrame(
                seq=i,
                timestamp_us=i * 50_000,
                first_sample=i * 50,
                counts=rng.integers(-2000, 2000, size=(2, 50)).astype(np.int32),
            )
        )
        for i in range(n_frames)
    )


def bench_decode(stream: bytes, chunk: int) -> float:
    decoder = StreamDecoder()
    t0 = time.perf_counter()
    for start in range(0, len(stream), chunk):
        decoder.feed(stream[start : start + chunk])
    elapsed = time.perf_counter() - t0
    assert decoder.stats.frames_lost == 0
    assert decoder.stats.corrupt_frames == 0
    return elapsed


def bench_simulator(seconds: float) -> float:
    device = SimulatedDevice(builtin_scenario("quick"), autostart=True, loop=True)
    steps = int(seconds / device.frame_period_s)
    t0 = time.perf_counter()
    for _ in range(steps):
        for f in device.step():
            encode_frame(f)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--frames", type=int, default=20_000, help="frames per run (20 000 = 1000 s)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = args.frames
    stream = make_stream(n)
    stream_s = n * 0.05
    rows = []
    enc = best_of(args.repeats, lambda: bench_encode(n))
    rows.append(
        (
            "encode SAMPLES frame (2 ch x 50)",
            f"{enc / n * 1e6:.1f} µs/frame",
            f"{stream_s / enc:,.0f}x",
        )
    )
    for chunk in (64, 4096, 1 << 20):
        dec = best_of(args.repeats, lambda c=chunk: bench_decode(stream, c))
        rows.append(
            (
                f"decode stream, {chunk}-byte chunks",
                f"{len(stream) / dec / 1e6:.2f} MB/s, {n / dec:,.0f} frames/s",
                f"{stream_s / dec:,.0f}x",
            )
        )
    sim_s = 120.0
    sim = best_of(1, lambda: bench_simulator(sim_s))
    rows.append(
        (
            "simulated wearable (body + ADC + framing)",
            f"{sim_s / sim:.1f} s of signal per s",
            f"{sim_s / sim:,.0f}x",
        )
    )
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, Python {platform.python_version()}, numpy {np.__version__}")  # noqa: T201
    print("| what | throughput | x real time (2 ch, 1 kHz) |")  # noqa: T201
    print("|---|---|---|")  # noqa: T201
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")  # noqa: T201


if __name__ == "__main__":
    main()
