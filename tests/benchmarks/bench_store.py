"""Benchmark of the recording store on a month of data (not a unit test).

Data: one store holding ``--days`` days (30 by default) of one wearer, one 24 h session a
day: 2 EMG channels at 1 kHz (int16 counts) and a 3-axis accelerometer at 100 Hz, written
through :class:`host.storage.RecordingStore` in the default 1 s blocks, with link drops
(20 a day, 0.5-12 s each: a gap in both streams and its link events), ~50 episodes a day
(JSON like ``Episode.to_dict()``), a few markers and labels. The device clock runs 50 ppm
fast, so block times are not exact multiples. Samples are random counts (the store does
not compress, so their content does not matter); a month is about 12 GB and takes a few
minutes to build, so it is built once and cached (``.cache/bench/`` by default).

Measured:

- append throughput into a fresh store, the pipeline's way: 50-sample EMG frames and
  5-sample accelerometer frames with a commit every second of data; and 1 s blocks (best
  of 3 runs of 20 minutes of data);
- opening the month's store (reader and writer);
- time-range queries by UTC time (``read_emg_between``) of 1 min, 1 h and 1 day of EMG at
  random places; episodes of a day and of the whole month; link events of a day;
- the same queries "cold", after evicting the file from the operating system's page cache
  with ``posix_fadvise(DONTNEED)`` (Linux), and "warm";
- the file size, per hour of recording, against the raw counts.

Run: ``.venv/bin/python tests/benchmarks/bench_store.py [--days 30] [--rebuild]``.
Prints a Markdown table; ``docs/storage.md`` records the numbers on the reference machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from host.storage import RecordingStore

SFREQ = 1000.0
ACCEL_SFREQ = 100.0
DAY_S = 86_400
#: 2024-03-01T00:00:00Z: the first session starts here.
T0_US = 1_709_251_200_000_000
#: The device clock runs this fast against UTC.
DRIFT = 50e-6
GAPS_PER_DAY = 20
EPISODES_PER_DAY = 50
MARKERS_PER_DAY = 5
#: Seconds of data between commits while building (the pipeline commits every second).
BUILD_COMMIT_S = 60
#: Bump when the generated content changes, so a cached store is rebuilt.
GENERATOR_VERSION = 1
REPO = Path(__file__).resolve().parents[2]


def log(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def utc_us(sample: int, sfreq: float, start_us: int) -> int:
    """UTC µs of a device sample with the clock running DRIFT fast."""
    return start_us + round(sample * 1e6 / sfreq * (1 + DRIFT))


def session_start_us(day: int) -> int:
    return T0_US + day * DAY_S * 1_000_000


def gaps_of_day(rng: np.random.Generator) -> list[tuple[int, int]]:
    """(first missing EMG sample, number missing) of the link drops of one day, in order."""
    starts = np.sort(rng.choice(np.arange(60, DAY_S - 60), GAPS_PER_DAY, replace=False))
    lengths = rng.integers(500, 12_000, GAPS_PER_DAY)
    return [
        (int(s) * 1000 + int(rng.integers(0, 1000)), int(n))
        for s, n in zip(starts, lengths, strict=True)
    ]


def runs(keep: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(start, stop) of the runs of True in ``keep``."""
    if keep.all():
        return [(0, keep.size)]
    edges = np.flatnonzero(np.diff(np.concatenate(([0], keep.view(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def episode_dict(rng: np.random.Generator, start: int, end: int) -> dict[str, Any]:
    involuntary = bool(rng.random() < 0.6)
    return {
        "start_s": start / SFREQ,
        "end_s": end / SFREQ,
        "duration_s": (end - start) / SFREQ,
        "start_sample": start,
        "end_sample": end,
        "side": str(rng.choice(["left", "right", "bilateral"])),
        "involuntary": involuntary,
        "kind": str(rng.choice(["tonic", "clonic", "cramp"])) if involuntary else "voluntary",
        "activity": "lying",
        "confidence": round(float(rng.uniform(0.5, 1.0)), 3),
        "unit": "uV",
        "peak": round(float(rng.uniform(20, 400)), 3),
        "mean": round(float(rng.uniform(10, 200)), 3),
        "area": round(float(rng.uniform(10, 5000)), 3),
        "peak_by_channel": [round(float(v), 3) for v in rng.uniform(10, 400, 2)],
        "median_freq_hz": round(float(rng.uniform(50, 120)), 3),
        "posture_before": "lying",
        "activity_before": "still",
        "quality_flags": [],
        "reasons": ["no_motion_before:+2.0", "sustained:+1.0"],
        "features": {f"feature_{i}": round(float(v), 4) for i, v in enumerate(rng.random(12))},
    }


def write_day(
    store: RecordingStore,
    day: int,
    emg_pool: NDArray[np.int16],
    acc_pool: NDArray[np.int16],
    rng: np.random.Generator,
) -> None:
    """One 24 h session of 1 s blocks, with gaps, episodes, link events, markers."""
    start_us = session_start_us(day)
    sid = store.start_session(
        source_url="ble://bench-wearable",
        sfreq=SFREQ,
        channel_names=("EMG L", "EMG R"),
        emg_volts_per_count=2.4 / 2**24 / 12,
        accel_sfreq=ACCEL_SFREQ,
        accel_g_per_count=1 / 4096,
        started_us=start_us,
    )
    gaps = gaps_of_day(rng)
    missing = np.zeros(DAY_S * 1000 + 1, dtype=bool)  # per EMG sample
    for first, n in gaps:
        missing[first : first + n] = True
    pool_s = emg_pool.shape[1] // 1000
    for second in range(DAY_S):
        s0 = second * 1000
        keep = ~missing[s0 : s0 + 1000]
        src = (second % pool_s) * 1000
        # EMG: the second's block, or its pieces around a gap.
        pieces = runs(keep)
        for a, b in pieces:
            store.append_emg(
                sid,
                s0 + a,
                emg_pool[:, src + a : src + b],
                utc_us(s0 + a, SFREQ, start_us),
                utc_us(s0 + b, SFREQ, start_us),
            )
        # Accelerometer: the samples whose EMG counterpart was received.
        acc_pieces = runs(keep[::10])
        a0 = second * 100
        asrc = (second % pool_s) * 100
        for a, b in acc_pieces:
            store.append_accel(
                sid,
                a0 + a,
                acc_pool[:, asrc + a : asrc + b],
                utc_us(a0 + a, ACCEL_SFREQ, start_us),
                utc_us(a0 + b, ACCEL_SFREQ, start_us),
            )
        if (second + 1) % BUILD_COMMIT_S == 0:
            store.commit()
    for first, n in gaps:
        t = utc_us(first, SFREQ, start_us)
        t_back = utc_us(first + n, SFREQ, start_us)
        store.add_link_event(sid, t, "disconnected", detail={"error": "link supervision timeout"})
        store.add_link_event(sid, t + 1_000_000, "reconnecting", detail={"attempt": 1})
        store.add_link_event(sid, t_back, "connected")
        store.add_link_event(sid, t, "gap", stream="emg", first_sample=first, n_samples=n)
        store.add_link_event(
            sid, t, "gap", stream="accel", first_sample=-(-first // 10), n_samples=n // 10
        )
    onsets = np.sort(rng.choice(np.arange(DAY_S - 120), EPISODES_PER_DAY, replace=False))
    for onset_s in onsets:
        start = int(onset_s) * 1000 + int(rng.integers(0, 1000))
        end = start + int(rng.integers(2_000, 60_000))
        eid = store.add_episode(
            sid,
            episode_dict(rng, start, end),
            start_us=utc_us(start, SFREQ, start_us),
            end_us=utc_us(end, SFREQ, start_us),
        )
        if rng.random() < 0.1:  # commits
            store.add_label(eid, "spasm" if rng.random() < 0.8 else "voluntary", author="wearer")
    for t_s in rng.uniform(0, DAY_S, MARKERS_PER_DAY):
        store.add_marker(start_us + int(t_s * 1e6), "woke up with pain", session_id=sid)
    store.end_session(sid, ended_us=start_us + DAY_S * 1_000_000)


def build_month(path: Path, days: int) -> float:
    """Write the month's store at ``path`` (through a temporary name); return seconds."""
    rng = np.random.default_rng(2024)
    emg_pool = rng.integers(-4000, 4000, (2, 600_000)).astype(np.int16)
    acc_pool = rng.integers(-4096, 4096, (3, 60_000)).astype(np.int16)
    part = path.with_name(path.stem + ".part.sqlite3")
    for leftover in part.parent.glob(part.name + "*"):
        leftover.unlink()
    t0 = time.perf_counter()
    with RecordingStore.open(part) as store:
        for day in range(days):
            write_day(store, day, emg_pool, acc_pool, rng)
            log(f"  built day {day + 1}/{days} ({time.perf_counter() - t0:.0f} s)")
    elapsed = time.perf_counter() - t0
    for leftover in part.parent.glob(part.name + "?*"):  # -wal, -shm, .lock
        leftover.unlink()
    part.replace(path)
    return elapsed


def evict(path: Path) -> bool:
    """Drop the file's pages from the OS page cache (Linux); False if not possible."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for file in [path, *path.parent.glob(path.name + "-*")]:
        fd = os.open(file, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return True


def bench_append(directory: Path, *, frames: bool, seconds: int) -> tuple[float, float]:
    """EMG sample times appended and committed per second of wall time and of CPU time,
    for ``seconds`` of 2 x 1 kHz EMG + 100 Hz accelerometer."""
    path = directory / "append.sqlite3"
    for leftover in directory.glob("append.sqlite3*"):
        leftover.unlink()
    rng = np.random.default_rng(5)
    emg = rng.integers(-4000, 4000, (2, 60_000)).astype(np.int16)
    acc = rng.integers(-4096, 4096, (3, 6_000)).astype(np.int16)
    with RecordingStore.open(path) as store:
        sid = store.start_session(
            source_url="sim://bench",
            sfreq=SFREQ,
            channel_names=("EMG L", "EMG R"),
            emg_volts_per_count=1e-7,
            accel_sfreq=ACCEL_SFREQ,
            accel_g_per_count=1 / 4096,
            started_us=T0_US,
        )
        emg_step, acc_step = (50, 5) if frames else (1000, 100)
        t0, c0 = time.perf_counter(), time.process_time()
        for second in range(seconds):
            for k in range(0, 1000, emg_step):
                n = second * 1000 + k
                src = n % 59_000
                store.append_emg(sid, n, emg[:, src : src + emg_step], T0_US + n * 1000)
            for k in range(0, 100, acc_step):
                n = second * 100 + k
                src = n % 5_900
                store.append_accel(sid, n, acc[:, src : src + acc_step], T0_US + n * 10_000)
            store.commit()
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        store.end_session(sid)
    for leftover in directory.glob("append.sqlite3*"):
        leftover.unlink()
    return seconds * 1000 / elapsed, seconds * 1000 / cpu


def median_time(fn: Callable[[int], Any], repeats: int, *, cold: Path | None) -> float:
    times = []
    for i in range(repeats):
        if cold is not None:
            evict(cold)
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fmt_s(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30, help="days of data in the store")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached store")
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "bench")
    parser.add_argument(
        "--append-s", type=int, default=1200, help="seconds of data per append run (best of 3)"
    )
    parser.add_argument("--repeats", type=int, default=9, help="queries per measurement")
    args = parser.parse_args()
    if args.days < 2:
        parser.error("--days must be at least 2 (a day-long query needs a whole day)")

    args.cache_dir.mkdir(parents=True, exist_ok=True)
    path = args.cache_dir / f"store_{args.days}d.sqlite3"
    meta_path = path.with_suffix(".json")
    meta = {"days": args.days, "generator": GENERATOR_VERSION}
    built_s: float | None = None
    if (
        args.rebuild
        or not path.exists()
        or not meta_path.exists()
        or (json.loads(meta_path.read_text()) != meta)
    ):
        log(f"building {path} ({args.days} days; a month takes a few minutes) ...")
        built_s = build_month(path, args.days)
        meta_path.write_text(json.dumps(meta))

    log("append throughput ...")
    frame_runs = [bench_append(args.cache_dir, frames=True, seconds=args.append_s) for _ in "abc"]
    block_runs = [bench_append(args.cache_dir, frames=False, seconds=args.append_s) for _ in "abc"]
    frames_rate, frames_cpu = (max(r[i] for r in frame_runs) for i in (0, 1))
    blocks_rate, blocks_cpu = (max(r[i] for r in block_runs) for i in (0, 1))

    rng = np.random.default_rng(7)
    n_days = args.days
    rows: list[tuple[str, str, str]] = []
    can_evict = evict(path)

    def opener(readonly: bool) -> Callable[[int], Any]:
        def open_close(_: int) -> None:
            RecordingStore.open(path, readonly=readonly).close()

        return open_close

    log("queries ...")
    open_ro = [median_time(opener(True), args.repeats, cold=path if c else None) for c in (1, 0)]
    open_rw = median_time(opener(False), args.repeats, cold=None)

    reader = RecordingStore.open(path, readonly=True)
    span_us = n_days * DAY_S * 1_000_000

    def emg_query(length_s: int) -> Callable[[int], Any]:
        starts = rng.integers(T0_US, T0_US + span_us - length_s * 1_000_000, args.repeats)

        def query(i: int) -> int:
            start = int(starts[i])
            segments = reader.read_emg_between(start, start + length_s * 1_000_000)
            return sum(s.n_times for s in segments)

        return query

    results: dict[str, tuple[float, float]] = {}
    for label, length_s in (("1 min", 60), ("1 h", 3600), ("1 day", DAY_S)):
        repeats = args.repeats if length_s < DAY_S else 3
        query = emg_query(length_s)  # the same places cold, then warm
        cold = median_time(query, repeats, cold=path if can_evict else None)
        warm = median_time(query, repeats, cold=None)
        results[label] = (cold, warm)

    def episodes_of_day(i: int) -> int:
        day = int(rng.integers(0, n_days))
        start = session_start_us(day)
        return len(reader.episodes(start_us=start, end_us=start + DAY_S * 1_000_000))

    def episodes_of_month(_: int) -> int:
        return len(reader.episodes(start_us=T0_US, end_us=T0_US + span_us))

    def links_of_day(_: int) -> int:
        start = session_start_us(int(rng.integers(0, n_days)))
        return len(reader.link_events(start_us=start, end_us=start + DAY_S * 1_000_000))

    n_episodes = episodes_of_month(0)
    n_links = len(reader.link_events())
    sessions = reader.list_sessions()
    annot = {}
    for label, fn in (
        ("episodes of a day", episodes_of_day),
        ("episodes of the month", episodes_of_month),
        ("link events of a day", links_of_day),
        ("list the sessions", lambda _: len(reader.list_sessions())),
    ):
        cold = median_time(fn, args.repeats, cold=path if can_evict else None)
        warm = median_time(fn, args.repeats, cold=None)
        annot[label] = (cold, warm)
    reader.close()

    size = path.stat().st_size
    hours = sum(s.duration_s for s in sessions) / 3600
    raw = sum(s.n_emg_samples * 2 * 2 + s.n_accel_samples * 3 * 2 for s in sessions)
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    n_blocks = conn.execute(
        "SELECT (SELECT count(*) FROM emg_blocks) + (SELECT count(*) FROM accel_blocks)"
    ).fetchone()[0]
    conn.close()

    cold_note = "cold / warm" if can_evict else "warm (no posix_fadvise here)"
    for label, rate, cpu in (
        ("append, 50-sample frames, commit every 1 s of data", frames_rate, frames_cpu),
        ("append, 1 s blocks, commit every block", blocks_rate, blocks_cpu),
    ):
        rows.append(
            (
                label,
                f"{rate:,.0f} samples/s ({rate / SFREQ:,.0f}x real time)",
                f"per CPU second: {cpu:,.0f} samples ({cpu / SFREQ:,.0f}x real time)",
            )
        )
    rows.append(
        ("open the month's store, reader", f"{fmt_s(open_ro[0])} / {fmt_s(open_ro[1])}", cold_note)
    )
    rows.append(("open the month's store, writer", fmt_s(open_rw), "warm"))
    for label, (cold, warm) in results.items():
        rows.append(
            (
                f"EMG of {label} (`read_emg_between`)",
                f"{fmt_s(cold)} / {fmt_s(warm)}",
                f"{cold_note}, 2 ch to float64 V",
            )
        )
    for label, (cold, warm) in annot.items():
        rows.append((label, f"{fmt_s(cold)} / {fmt_s(warm)}", cold_note))
    rows.append(
        (
            "file size",
            f"{size / 2**30:.2f} GiB",
            f"{size / hours / 2**20:.1f} MiB per hour; raw counts {raw / 2**30:.2f} GiB "
            f"(+{100 * (size / raw - 1):.1f} %)",
        )
    )

    print(
        f"Store: {n_days} days, {len(sessions)} sessions, {hours:,.0f} h, {n_blocks:,} blocks, "
        f"{n_episodes:,} episodes, {n_links:,} link events"
        + (f"; built in {built_s:.0f} s" if built_s is not None else " (cached)")
    )
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, numpy {np.__version__}; "
        f"queries: medians of {args.repeats} runs (3 for a day); load average "
        f"{os.getloadavg()[0]:.1f} at the end"
    )
    print()
    print("| what | time or rate | notes |")
    print("|---|---|---|")
    for what, value, note in rows:
        print(f"| {what} | {value} | {note} |")


if __name__ == "__main__":
    main()
